//! Recognising FTP from a few bytes, for capture readers: a server's first reply, a client's
//! USER, and the data ports announced on a control connection.
//!
//! A capture may start in the middle of things or use ports nobody named, so a reader looks at
//! the first bytes of a TCP connection to tell who is the server, and at single segments of a
//! control connection to learn which data connections to keep.

use crate::command::split_line;
use crate::host_port;
use crate::reply_code::ReplyCode;

/// Whether `bytes` start like a server's first reply: RFC 959 §5.4 allows 120 (ready soon), 220
/// (ready) and 421 (not available: a full or locking-out server sends only this, then closes),
/// each followed by a space or a hyphen (a multi-line greeting).
///
/// ```
/// use ftp_proto::sniff::is_greeting;
/// assert!(is_greeting(b"220-Welcome\r\n"));
/// assert!(!is_greeting(b"2200 bytes"));
/// ```
pub fn is_greeting(bytes: &[u8]) -> bool {
    [
        ReplyCode::SERVICE_READY_LATER,
        ReplyCode::SERVICE_READY,
        ReplyCode::SERVICE_NOT_AVAILABLE,
    ]
    .iter()
    .any(|code| {
        bytes.starts_with(code.to_string().as_bytes()) && matches!(bytes.get(3), Some(b' ' | b'-'))
    })
}

/// Whether `bytes` start with a USER command (`USER ` in any case): what a client sends first.
pub fn starts_with_user(bytes: &[u8]) -> bool {
    bytes
        .get(..5)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case(b"USER "))
}

/// The data port one control connection line announces, if any: the port of a PORT or EPRT
/// command, or of a 227 or 229 reply (single-line). `line` is without its line end; bytes that
/// are not UTF-8 announce nothing.
///
/// ```
/// use ftp_proto::sniff::announced_data_port;
/// assert_eq!(announced_data_port(b"227 Entering Passive Mode (127,0,0,1,195,80)."), Some(50000));
/// assert_eq!(announced_data_port(b"EPRT |1|127.0.0.1|6275|"), Some(6275));
/// assert_eq!(announced_data_port(b"RETR a.bin"), None);
/// ```
pub fn announced_data_port(line: &[u8]) -> Option<u16> {
    let line = std::str::from_utf8(line).ok()?;
    if let Some(text) = reply_text(line, ReplyCode::ENTERING_PASSIVE) {
        return host_port::parse_pasv_reply(text).ok().map(|a| a.port());
    }
    if let Some(text) = reply_text(line, ReplyCode::ENTERING_EXTENDED_PASSIVE) {
        return host_port::parse_epsv_reply(text).ok();
    }
    let (verb, argument) = split_line(line);
    let argument = argument.unwrap_or_default().trim();
    if verb.eq_ignore_ascii_case("PORT") {
        host_port::parse_port_argument(argument)
            .ok()
            .map(|a| a.port())
    } else if verb.eq_ignore_ascii_case("EPRT") {
        host_port::parse_eprt_argument(argument)
            .ok()
            .map(|a| a.port())
    } else {
        None
    }
}

/// Whether one control connection line is the server's `234` to AUTH (RFC 2228): the bytes
/// after it are TLS, so the data ports announced from then on cannot be read.
///
/// ```
/// use ftp_proto::sniff::accepts_security_exchange;
/// assert!(accepts_security_exchange(b"234 AUTH TLS successful"));
/// assert!(!accepts_security_exchange(b"2345 bytes"));
/// ```
pub fn accepts_security_exchange(line: &[u8]) -> bool {
    let code = ReplyCode::SECURITY_EXCHANGE_DONE.to_string();
    line.starts_with(code.as_bytes()) && matches!(line.get(3), None | Some(b' ' | b'-'))
}

/// The text of a single-line reply with `code` (`227 text`), or `None`.
fn reply_text(line: &str, code: ReplyCode) -> Option<&str> {
    let rest = line.strip_prefix(code.to_string().as_str())?;
    if rest.is_empty() {
        return Some(rest);
    }
    rest.strip_prefix(' ')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn greetings_are_120_220_and_421() {
        for bytes in [
            &b"220 ready"[..],
            b"220-",
            b"120 soon",
            b"421 Too many users",
        ] {
            assert!(is_greeting(bytes), "{bytes:?}");
        }
        for bytes in [
            &b"220"[..],
            b"2200",
            b"230 ok",
            b"USER x",
            b"",
            b"\xff\xfe220 ",
        ] {
            assert!(!is_greeting(bytes), "{bytes:?}");
        }
    }

    #[test]
    fn user_is_recognised_in_any_case() {
        assert!(starts_with_user(b"USER bob\r\n"));
        assert!(starts_with_user(b"user "));
        assert!(!starts_with_user(b"USER"));
        assert!(!starts_with_user(b"USERS x"));
        assert!(!starts_with_user(b"\xffUSER "));
    }

    #[test]
    fn data_ports_are_learned_from_commands_and_replies() {
        assert_eq!(
            announced_data_port(b"229 Entering Extended Passive Mode (|||50001|)"),
            Some(50001)
        );
        assert_eq!(announced_data_port(b"227 (127,0,0,1,195,90)"), Some(50010));
        assert_eq!(announced_data_port(b"port 127,0,0,1,4,1"), Some(1025));
        assert_eq!(announced_data_port(b"PORT  127,0,0,1,4,1 "), Some(1025));
        assert_eq!(announced_data_port(b"EPRT |2|::1|6446|"), Some(6446));
    }

    #[test]
    fn other_lines_announce_nothing() {
        for line in [
            &b""[..],
            b"227",
            b"2270 (127,0,0,1,195,90)",
            b"227-(127,0,0,1,195,90)",
            b"226 (127,0,0,1,195,90)",
            b"PORT",
            b"PORT 1,2,3",
            b"EPRT |9|x|1|",
            b"\xff\xfePORT 127,0,0,1,4,1",
        ] {
            assert_eq!(announced_data_port(line), None, "{line:?}");
        }
    }

    proptest! {
        #[test]
        fn port_of_an_encoded_port_command_is_learned(ip: u32, port: u16) {
            let addr = std::net::SocketAddrV4::new(ip.into(), port);
            let command = crate::Command::Port { addr }.to_string();
            prop_assert_eq!(announced_data_port(command.as_bytes()), Some(port));
            let reply = crate::Reply::new(ReplyCode::ENTERING_PASSIVE, host_port::format_pasv_reply(addr));
            let wire = reply.encode();
            prop_assert_eq!(announced_data_port(wire.trim_end().as_bytes()), Some(port));
        }

        #[test]
        fn sniffing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = is_greeting(&bytes);
            let _ = starts_with_user(&bytes);
            let _ = announced_data_port(&bytes);
        }
    }
}
