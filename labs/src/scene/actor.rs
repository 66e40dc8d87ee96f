//! An actor of the incident: an FTP client on a loopback source address of its own, its lines
//! encoded and its replies decoded with `ftp-proto` (RFC 959 §4).

use ftp_proto::{Command, Reply, ReplyDecoder};
use socket2::{Domain, Protocol, Socket, Type};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

/// How long one socket operation of an actor may take.
const IO_LIMIT: Duration = Duration::from_secs(10);
/// Receive buffer of the actors' data connections: small, so a download takes many segments
/// and an interrupted one is interrupted while the server is still sending.
const DATA_RCVBUF: usize = 4096;

/// A TCP connection from `from` (any port) to `to`; with `rcvbuf`, a small receive buffer.
pub(super) fn connect_from(
    from: Ipv4Addr,
    to: SocketAddr,
    rcvbuf: Option<usize>,
) -> std::io::Result<TcpStream> {
    let s = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    if let Some(n) = rcvbuf {
        s.set_recv_buffer_size(n)?;
    }
    s.bind(&SocketAddr::from((from, 0)).into())?;
    s.connect_timeout(&to.into(), IO_LIMIT)?;
    let t: TcpStream = s.into();
    t.set_read_timeout(Some(IO_LIMIT))?;
    t.set_write_timeout(Some(IO_LIMIT))?;
    Ok(t)
}

/// An actor's control connection.
pub(super) struct Ftp {
    ip: Ipv4Addr,
    ctrl: TcpStream,
    buf: Vec<u8>,
}

/// An error of an actor's session, in words.
pub(super) fn bad(what: String) -> std::io::Error {
    std::io::Error::other(what)
}

impl Ftp {
    pub(super) fn open(ip: Ipv4Addr, server: SocketAddr) -> std::io::Result<(Self, Reply)> {
        let ctrl = connect_from(ip, server, None)?;
        let mut ftp = Self {
            ip,
            ctrl,
            buf: Vec::new(),
        };
        let greeting = ftp.reply()?;
        Ok((ftp, greeting))
    }

    fn reply(&mut self) -> std::io::Result<Reply> {
        let decoder = ReplyDecoder::default();
        // Bounded: each round reads at least one byte or fails (read timeout, closed).
        loop {
            match decoder.decode(&self.buf) {
                Ok(Some((reply, used))) => {
                    self.buf.drain(..used);
                    return Ok(reply);
                }
                Ok(None) => {}
                Err(e) => return Err(bad(format!("not an FTP reply: {e}"))),
            }
            let mut chunk = [0u8; 4096];
            let n = self.ctrl.read(&mut chunk)?;
            if n == 0 {
                return Err(bad("the server closed the control connection".into()));
            }
            self.buf
                .extend_from_slice(chunk.get(..n).unwrap_or_default());
        }
    }

    pub(super) fn send(&mut self, cmd: &Command) -> std::io::Result<Reply> {
        self.ctrl.write_all(format!("{cmd}\r\n").as_bytes())?;
        self.reply()
    }

    /// Sends `cmd` and wants a reply of `code`.
    pub(super) fn want(&mut self, cmd: &Command, code: u16) -> std::io::Result<Reply> {
        let r = self.send(cmd)?;
        if r.code.0 != code {
            return Err(bad(format!(
                "`{}` got {} {}, not {code}",
                cmd.verb(),
                r.code.0,
                r.text()
            )));
        }
        Ok(r)
    }

    /// Sends `cmd` and wants a positive completion (2yz).
    pub(super) fn ok(&mut self, cmd: &Command) -> std::io::Result<Reply> {
        let r = self.send(cmd)?;
        if !r.code.is_positive_completion() {
            return Err(bad(format!(
                "`{}` got {} {}",
                cmd.verb(),
                r.code.0,
                r.text()
            )));
        }
        Ok(r)
    }

    pub(super) fn login(&mut self, user: &str, password: &str) -> std::io::Result<Reply> {
        self.want(
            &Command::User {
                name: user.to_string(),
            },
            331,
        )?;
        self.send(&Command::Pass {
            password: password.to_string(),
        })
    }

    /// PASV, then the data connection from this actor's address.
    fn data(&mut self) -> std::io::Result<TcpStream> {
        let r = self.want(&Command::Pasv, 227)?;
        let addr = ftp_proto::host_port::parse_pasv_reply(&r.text())
            .map_err(|e| bad(format!("227 without an address: {e}")))?;
        connect_from(self.ip, SocketAddr::V4(addr), Some(DATA_RCVBUF))
    }

    /// A transfer into memory (RETR, LIST); with `limit`, the data connection is dropped after
    /// that many bytes (an interrupted download). Returns the bytes and the final reply.
    pub(super) fn fetch(
        &mut self,
        cmd: &Command,
        limit: Option<usize>,
    ) -> std::io::Result<(Vec<u8>, Reply)> {
        let mut data = self.data()?;
        let first = self.send(cmd)?;
        if !first.code.is_positive_preliminary() {
            return Err(bad(format!("`{}` got {}", cmd.verb(), first.code.0)));
        }
        let mut out = Vec::new();
        let mut chunk = [0u8; 2048];
        // Bounded: each read brings bytes, or ends (EOF, timeout).
        loop {
            let want = limit.map_or(chunk.len(), |l| (l - out.len()).min(chunk.len()));
            if want == 0 {
                break;
            }
            let n = data.read(chunk.get_mut(..want).unwrap_or_default())?;
            if n == 0 {
                break;
            }
            out.extend_from_slice(chunk.get(..n).unwrap_or_default());
        }
        drop(data);
        Ok((out, self.reply()?))
    }

    pub(super) fn store(&mut self, name: &str, contents: &[u8]) -> std::io::Result<Reply> {
        let mut data = self.data()?;
        let first = self.send(&Command::Stor {
            path: name.to_string(),
        })?;
        if !first.code.is_positive_preliminary() {
            return Err(bad(format!("STOR got {}", first.code.0)));
        }
        data.write_all(contents)?;
        data.shutdown(std::net::Shutdown::Write)?;
        // Wait for the server's close so the upload ends with its FIN.
        let mut rest = [0u8; 64];
        let _ = data.read(&mut rest);
        drop(data);
        self.reply()
    }

    pub(super) fn quit(mut self) {
        let _ = self.send(&Command::Quit);
    }
}
