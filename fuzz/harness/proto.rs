//! Fuzz entry points for ftp-proto's parsers, shared by `fuzz/fuzz_targets/` and the corpus
//! replay in `ftp-proto/tests/fuzz_corpus.rs`: each takes any bytes, must not panic, and checks
//! that whatever parses encodes to something that parses to the same value.

use ftp_proto::host_port::{
    format_eprt_argument, format_epsv_reply, format_host_port, format_pasv_reply,
    parse_eprt_argument, parse_epsv_reply, parse_pasv_reply, parse_port_argument,
};
use ftp_proto::reply::skip_line;
use ftp_proto::{Command, ReplyDecoder};

/// `Command::parse` on each line of `data`; a parsed command survives `to_string` and `parse`.
pub fn command_parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for line in text.split("\r\n") {
        if let Ok(command) = Command::parse(line) {
            let again = Command::parse(&command.to_string());
            assert_eq!(again.as_ref(), Ok(&command), "{line:?} → {command}");
        }
    }
}

/// `ReplyDecoder::decode` over `data` as a reply stream, skipping lines that are no reply lines
/// as the inspector does; a decoded reply survives `encode` and `decode`.
pub fn reply_decode(data: &[u8]) {
    let decoder = ReplyDecoder::default();
    let mut rest = data;
    while !rest.is_empty() {
        match decoder.decode(rest) {
            Ok(Some((reply, used))) => {
                assert!(
                    used > 0 && used <= rest.len(),
                    "used {used} of {}",
                    rest.len()
                );
                let wire = reply.encode();
                let again = decoder.decode(wire.as_bytes());
                assert_eq!(again, Ok(Some((reply, wire.len()))), "{wire:?}");
                rest = rest.get(used..).unwrap_or_default();
            }
            Ok(None) => break,
            Err(_) => match skip_line(rest) {
                Some(used) if used > 0 => rest = rest.get(used..).unwrap_or_default(),
                _ => break,
            },
        }
    }
}

/// The PORT, EPRT, 227 and 229 parsers on `data`; what parses formats back to the same address.
pub fn host_port(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(addr) = parse_port_argument(text) {
        assert_eq!(parse_port_argument(&format_host_port(addr)), Ok(addr));
    }
    if let Ok(addr) = parse_pasv_reply(text) {
        assert_eq!(parse_pasv_reply(&format_pasv_reply(addr)), Ok(addr));
    }
    if let Ok(addr) = parse_eprt_argument(text) {
        assert_eq!(parse_eprt_argument(&format_eprt_argument(addr)), Ok(addr));
    }
    if let Ok(port) = parse_epsv_reply(text) {
        assert_eq!(parse_epsv_reply(&format_epsv_reply(port)), Ok(port));
    }
}

/// The FTPS argument parsers (AUTH, PROT, PBSZ) and the `SHA256:…` fingerprint form on each line
/// of `data`; whatever parses survives writing it back and parsing again.
pub fn security_args(data: &[u8]) {
    use ftp_proto::security::{
        AuthMechanism, ProtectionLevel, format_sha256_fingerprint, parse_pbsz,
        parse_sha256_fingerprint,
    };
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for line in text.split('\n') {
        let _ = AuthMechanism::parse(line);
        if let Some(level) = ProtectionLevel::parse(line) {
            assert_eq!(ProtectionLevel::parse(level.letter()), Some(level));
        }
        if let Some(size) = parse_pbsz(line) {
            assert_eq!(parse_pbsz(&size.to_string()), Some(size));
        }
        if let Ok(digest) = parse_sha256_fingerprint(line) {
            let shown = format_sha256_fingerprint(&digest);
            assert_eq!(parse_sha256_fingerprint(&shown), Ok(digest), "{line:?}");
        }
    }
}
