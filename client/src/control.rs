//! The control connection: commands out (encoded by `ftp_proto::Command`), replies in (decoded by
//! `ftp_proto::ReplyDecoder`, multi-line aware).

use crate::error::ClientError;
use crate::trace::Trace;
use ftp_proto::reply::skip_line;
use ftp_proto::{Command, Reply, ReplyDecoder, ReplyError};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// A connected control connection (RFC 959 §2.3).
#[derive(Debug)]
pub struct ControlConnection {
    stream: TcpStream,
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
                        stream,
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
            .set_read_timeout(Some(timeout))
            .map_err(|source| ClientError::ControlIo { source })
    }

    /// Sends one command line plus CRLF.
    pub fn send(&mut self, command: &Command, trace: &Trace) -> Result<(), ClientError> {
        trace.command(command);
        let line = format!("{command}\r\n");
        self.stream
            .write_all(line.as_bytes())
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
