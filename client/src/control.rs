//! The control connection: commands out (encoded by `ftp_proto::Command`), replies in (decoded by
//! `ftp_proto::ReplyDecoder`, multi-line aware); in clear, or inside TLS after `AUTH TLS`.

use crate::error::ClientError;
use crate::tls::{ClientTls, TlsStream};
use crate::trace::Trace;
use ftp_proto::reply::skip_line;
use ftp_proto::{Command, Reply, ReplyDecoder, ReplyError};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// The bytes of the control connection: TCP, or TLS after AUTH TLS.
#[derive(Debug)]
enum ControlStream {
    Plain(TcpStream),
    Tls(TlsStream),
    /// Handed to a TLS handshake that failed.
    Lost,
}

impl ControlStream {
    fn tcp(&self) -> Option<&TcpStream> {
        match self {
            ControlStream::Plain(tcp) => Some(tcp),
            ControlStream::Tls(tls) => Some(tls.tcp()),
            ControlStream::Lost => None,
        }
    }
}

fn lost() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::NotConnected,
        "the control connection was lost in a failed TLS handshake",
    )
}

impl Read for ControlStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            ControlStream::Plain(tcp) => tcp.read(buf),
            ControlStream::Tls(tls) => tls.read(buf),
            ControlStream::Lost => Err(lost()),
        }
    }
}

impl Write for ControlStream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            ControlStream::Plain(tcp) => tcp.write(buf),
            ControlStream::Tls(tls) => tls.write(buf),
            ControlStream::Lost => Err(lost()),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            ControlStream::Plain(tcp) => tcp.flush(),
            ControlStream::Tls(tls) => tls.flush(),
            ControlStream::Lost => Err(lost()),
        }
    }
}

/// A connected control connection (RFC 959 §2.3).
#[derive(Debug)]
pub struct ControlConnection {
    stream: ControlStream,
    buf: Vec<u8>,
    decoder: ReplyDecoder,
    peer: SocketAddr,
    local: SocketAddr,
}

impl ControlConnection {
    /// Connects to `host:port`, trying each address the name resolves to, each within `timeout`.
    /// Does not read the greeting.
    pub fn connect(host: &str, port: u16, timeout: Duration) -> Result<Self, ClientError> {
        let shown = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let connect_error = |source| ClientError::Connect {
            addr: shown.clone(),
            source,
        };
        let addrs = (host, port).to_socket_addrs().map_err(connect_error)?;
        let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no address for host");
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, timeout) {
                Ok(stream) => {
                    let local = stream.local_addr().map_err(connect_error)?;
                    stream
                        .set_read_timeout(Some(timeout))
                        .map_err(connect_error)?;
                    stream
                        .set_write_timeout(Some(timeout))
                        .map_err(connect_error)?;
                    let _ = stream.set_nodelay(true);
                    return Ok(ControlConnection {
                        stream: ControlStream::Plain(stream),
                        buf: Vec::new(),
                        decoder: ReplyDecoder::default(),
                        peer: addr,
                        local,
                    });
                }
                Err(e) => last = e,
            }
        }
        Err(connect_error(last))
    }

    /// The server's address, as reached by this connection.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Our end of the connection: the address the server sees us at.
    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// Changes how long a reply may take (e.g. the 226 after a long upload).
    pub fn set_timeout(&self, timeout: Duration) -> Result<(), ClientError> {
        self.stream
            .tcp()
            .ok_or_else(|| ClientError::ControlIo { source: lost() })?
            .set_read_timeout(Some(timeout))
            .map_err(|source| ClientError::ControlIo { source })
    }

    /// Whether the control connection is inside TLS.
    pub fn is_tls(&self) -> bool {
        matches!(self.stream, ControlStream::Tls(_))
    }

    /// After `234`: the TLS handshake on this connection, as client of `host`. Returns what it
    /// agreed on. A failed handshake leaves the connection unusable.
    pub fn start_tls(&mut self, tls: &ClientTls, host: &str) -> Result<String, ClientError> {
        if !self.buf.is_empty() {
            // Bytes the server sent after 234 in clear cannot be part of the TLS session.
            return Err(ClientError::Tls(
                "the server sent more after 234 before the TLS handshake".into(),
            ));
        }
        let ControlStream::Plain(tcp) = std::mem::replace(&mut self.stream, ControlStream::Lost)
        else {
            return Err(ClientError::Tls(
                "the control connection is already in TLS".into(),
            ));
        };
        let stream = tls.handshake(host, tcp)?;
        let summary = stream.summary();
        self.stream = ControlStream::Tls(stream);
        Ok(summary)
    }

    /// Sends one command line plus CRLF.
    pub fn send(&mut self, command: &Command, trace: &Trace) -> Result<(), ClientError> {
        trace.command(command);
        let line = format!("{command}\r\n");
        self.stream
            .write_all(line.as_bytes())
            .and_then(|()| self.stream.flush())
            .map_err(|source| ClientError::ControlIo { source })
    }

    /// Sends `line` plus CRLF exactly as typed (`quote`: RFC 959 §5.3 lets the server read the
    /// verb in any case, so the client must not change it); `command` is what it means, for the
    /// trace (PASS masked).
    pub fn send_verbatim(
        &mut self,
        line: &str,
        command: &Command,
        trace: &Trace,
    ) -> Result<(), ClientError> {
        if matches!(command, Command::Pass { .. }) {
            trace.command(command);
        } else {
            trace.line(line);
        }
        self.stream
            .write_all(format!("{line}\r\n").as_bytes())
            .and_then(|()| self.stream.flush())
            .map_err(|source| ClientError::ControlIo { source })
    }

    /// Reads the next complete reply (all lines of a multi-line one).
    pub fn read_reply(&mut self, trace: &Trace) -> Result<Reply, ClientError> {
        loop {
            match self.decoder.decode(&self.buf) {
                Ok(Some((reply, used))) => {
                    self.buf.drain(..used);
                    trace.reply(&reply);
                    return Ok(reply);
                }
                Ok(None) => {}
                Err(ReplyError::BadLine { text }) => {
                    // Be lax with what we accept: show the stray line and go on.
                    trace.note(&format!("ignoring a line that is not a reply: {text:?}"));
                    let used = skip_line(&self.buf).unwrap_or(self.buf.len());
                    self.buf.drain(..used);
                    continue;
                }
                Err(source) => return Err(ClientError::BadReply { source }),
            }
            let mut chunk = [0u8; 4096];
            let n = self
                .stream
                .read(&mut chunk)
                .map_err(|source| ClientError::ControlIo { source })?;
            if n == 0 {
                return Err(ClientError::ConnectionClosed);
            }
            self.buf
                .extend_from_slice(chunk.get(..n).unwrap_or_default());
        }
    }

    /// Sends a command and reads its reply.
    pub fn command(&mut self, command: &Command, trace: &Trace) -> Result<Reply, ClientError> {
        self.send(command, trace)?;
        self.read_reply(trace)
    }
}
