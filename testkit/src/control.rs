//! A raw control connection for tests that must control every byte; replies framed by
//! `ftp_proto::ReplyDecoder`, the same decoder the client and the inspector use.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use ftp_proto::ReplyDecoder;

/// One reply as it crossed the wire: its code and all its lines joined with `\n`, each line as
/// sent (codes and separators included, CRLF removed), e.g. `"211-Features:\n UTF8\n211 End"`.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The reply code.
    pub code: u16,
    /// Every line of the reply, as sent, joined with `\n`.
    pub text: String,
}

/// Decodes the first reply in `buf` with [`ReplyDecoder`]: the reply and the bytes it took,
/// `Ok(None)` when it is not complete yet, `InvalidData` for bytes that are not a reply.
pub fn decode_reply(buf: &[u8]) -> io::Result<Option<(Reply, usize)>> {
    match ReplyDecoder::default().decode(buf) {
        Ok(Some((reply, used))) => {
            let raw = String::from_utf8_lossy(&buf[..used]);
            let text = raw
                .split_terminator('\n')
                .map(|line| line.trim_end_matches('\r'))
                .collect::<Vec<_>>()
                .join("\n");
            Ok(Some((
                Reply {
                    code: reply.code.0,
                    text,
                },
                used,
            )))
        }
        Ok(None) => Ok(None),
        Err(e) => Err(io::Error::new(io::ErrorKind::InvalidData, e)),
    }
}

/// A raw control connection: send any bytes, read replies one at a time.
pub struct Control {
    stream: TcpStream,
    /// Bytes received and not yet taken by a reply.
    buf: Vec<u8>,
}

impl Control {
    /// Connects without reading the greeting.
    pub fn connect(addr: SocketAddr) -> Control {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
        Self::from_stream(stream)
    }

    /// Wraps an already connected stream (30 s read timeout).
    pub fn from_stream(stream: TcpStream) -> Control {
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("set a read timeout on a connected stream");
        Control {
            stream,
            buf: Vec::new(),
        }
    }

    /// The underlying stream (for abrupt shutdowns, linger settings, timeouts…).
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Reads one (possibly multi-line) reply, or the error that prevented it (EOF before the
    /// reply's last line is `UnexpectedEof`, bytes that are not a reply are `InvalidData`).
    pub fn try_read_reply(&mut self) -> io::Result<Reply> {
        loop {
            if let Some((reply, used)) = decode_reply(&self.buf)? {
                self.buf.drain(..used);
                return Ok(reply);
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Reads one reply; panics if the connection closed or timed out.
    pub fn read_reply(&mut self) -> Reply {
        self.try_read_reply()
            .unwrap_or_else(|e| panic!("reading a reply failed: {e}"))
    }

    /// Sends raw bytes as they are.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write to control");
    }

    /// Sends `line` + CRLF and reads the reply.
    pub fn cmd(&mut self, line: &str) -> Reply {
        self.send_raw(format!("{line}\r\n").as_bytes());
        self.read_reply()
    }

    /// Sends `line` + CRLF, reads the reply and checks its code.
    pub fn expect(&mut self, line: &str, code: u16) -> Reply {
        let reply = self.cmd(line);
        assert_eq!(reply.code, code, "reply to {line:?}: {reply:?}");
        reply
    }

    /// USER then PASS; expects 331 then 230.
    pub fn login(&mut self, user: &str, pass: &str) {
        self.expect(&format!("USER {user}"), 331);
        self.expect(&format!("PASS {pass}"), 230);
    }

    /// Sends PASV, expects 227 and returns the advertised address.
    pub fn pasv(&mut self) -> SocketAddr {
        let reply = self.expect("PASV", 227);
        parse_227(&reply.text).unwrap_or_else(|| panic!("unparsable 227: {reply:?}"))
    }

    /// Sends EPSV, expects 229 and returns 127.0.0.1 with the advertised port.
    pub fn epsv(&mut self) -> SocketAddr {
        let reply = self.expect("EPSV", 229);
        let port = parse_229(&reply.text).unwrap_or_else(|| panic!("unparsable 229: {reply:?}"));
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    /// Sends PASV and connects to the advertised address.
    pub fn open_passive(&mut self) -> TcpStream {
        let addr = self.pasv();
        let data = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("connect to passive address {addr}: {e}"));
        data.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("set a read timeout on a connected stream");
        data
    }

    /// Downloads `path` in passive mode, TYPE I; returns the first reply, the bytes and the
    /// final reply. The data is only read when the first reply is 125 or 150.
    pub fn retr(&mut self, path: &str) -> (Reply, Vec<u8>, Option<Reply>) {
        self.expect("TYPE I", 200);
        let mut data = self.open_passive();
        let first = self.cmd(&format!("RETR {path}"));
        if first.code != 125 && first.code != 150 {
            return (first, Vec::new(), None);
        }
        let mut bytes = Vec::new();
        data.read_to_end(&mut bytes).expect("read data connection");
        let last = self.read_reply();
        (first, bytes, Some(last))
    }

    /// Runs a listing command (`LIST`, `NLST`, `MLSD`) in passive mode; returns the first reply
    /// and the listing text (empty when the first reply refused it).
    pub fn listing(&mut self, command: &str) -> (Reply, String) {
        let mut data = self.open_passive();
        let first = self.cmd(command);
        if first.code != 125 && first.code != 150 {
            return (first, String::new());
        }
        let mut bytes = Vec::new();
        data.read_to_end(&mut bytes).expect("read listing");
        let last = self.read_reply();
        assert_eq!(last.code, 226, "end of {command:?}: {last:?}");
        (first, String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// Parses `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)`.
pub fn parse_227(text: &str) -> Option<SocketAddr> {
    let start = text.find('(')?;
    let end = text[start..].find(')')? + start;
    let nums: Vec<u8> = text[start + 1..end]
        .split(',')
        .map(|n| n.trim().parse().ok())
        .collect::<Option<_>>()?;
    if nums.len() != 6 {
        return None;
    }
    let ip = std::net::Ipv4Addr::new(nums[0], nums[1], nums[2], nums[3]);
    let port = u16::from(nums[4]) * 256 + u16::from(nums[5]);
    Some(SocketAddr::from((ip, port)))
}

/// Parses `229 Entering Extended Passive Mode (|||port|)`.
pub fn parse_229(text: &str) -> Option<u16> {
    let start = text.find("(|||")? + 4;
    let end = text[start..].find('|')? + start;
    text[start..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multi_line_reply_keeps_every_line_as_sent() {
        let wire = b"211-Features:\r\n UTF8\r\n211 End\r\n200 next";
        let (reply, used) = decode_reply(wire).unwrap().unwrap();
        assert_eq!(reply.code, 211);
        assert_eq!(reply.text, "211-Features:\n UTF8\n211 End");
        assert_eq!(used, wire.len() - "200 next".len());
    }

    #[test]
    fn an_incomplete_reply_needs_more_bytes() {
        assert!(
            decode_reply(b"211-Features:\r\n UTF8\r\n")
                .unwrap()
                .is_none()
        );
        assert!(decode_reply(b"226 Transfer compl").unwrap().is_none());
    }

    #[test]
    fn a_line_that_is_not_a_reply_is_invalid_data() {
        let err = decode_reply(b"hello\r\n").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }
}
