//! RFC 959 §4.2: replies, single-line (`226 Done.`) and multi-line (`211-…` up to `211 …`).
//!
//! A multi-line reply starts with the code and a hyphen and ends with a line that starts with
//! the same code and a space. Lines in between may say anything; RFC 959 asks servers to indent
//! them when they begin with digits, so a client never mistakes them for the last line. We
//! always indent middle lines by one space (as vsftpd does in FEAT) and strip one space when
//! decoding.

use crate::reply_code::ReplyCode;
use std::fmt;

/// A reply: a code and one or more lines of text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit reply code.
    pub code: ReplyCode,
    /// The text lines, without code, separator or CRLF. One line for a single-line reply.
    pub lines: Vec<String>,
}

/// A reply that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    /// The line does not start with three digits and a space or hyphen.
    #[error("not an FTP reply line: {text:?}")]
    BadLine {
        /// The offending line (lossily decoded).
        text: String,
    },
    /// A multi-line reply grew beyond the limit without its last line.
    #[error("multi-line reply longer than {limit} bytes without its last line")]
    TooLong {
        /// The limit in force.
        limit: usize,
    },
}

impl Reply {
    /// A single-line reply.
    pub fn new(code: ReplyCode, text: impl Into<String>) -> Reply {
        Reply {
            code,
            lines: vec![text.into()],
        }
    }

    /// A multi-line reply; with one line it is encoded as a single-line reply.
    pub fn multiline(code: ReplyCode, lines: Vec<String>) -> Reply {
        Reply { code, lines }
    }

    /// The text of all lines joined with `\n`.
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }

    /// Encodes the reply as it goes on the wire, CRLF line ends included.
    pub fn encode(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = self.code;
        match self.lines.as_slice() {
            [] => write!(f, "{code} \r\n"),
            [only] => write!(f, "{code} {}\r\n", one_line(only)),
            [first, middle @ .., last] => {
                write!(f, "{code}-{}\r\n", one_line(first))?;
                for line in middle {
                    write!(f, " {}\r\n", one_line(line))?;
                }
                write!(f, "{code} {}\r\n", one_line(last))
            }
        }
    }
}

/// Replies must not smuggle line breaks (a file name with CR/LF must not end the reply early).
fn one_line(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains(['\r', '\n']) {
        std::borrow::Cow::Owned(text.replace(['\r', '\n'], " "))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// Parses the code of a reply line: three ASCII digits then a space, a hyphen or the line end.
/// Returns the code and the separator (`b' '` for a last line, `b'-'` for a first line of a
/// multi-line reply). Continuation lines of a multi-line reply may also start with digits
/// (RFC 959 §4.2): only the decoder, which knows the first line, can tell them apart.
pub fn line_code(line: &[u8]) -> Option<(ReplyCode, u8)> {
    let digits = line.get(..3)?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let code = digits
        .iter()
        .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'));
    let separator = line.get(3).copied().unwrap_or(b' ');
    matches!(separator, b' ' | b'-').then_some((ReplyCode(code), separator))
}

/// Incremental reply decoder for a byte stream (client and inspector side).
///
/// Feed it the bytes received so far with [`ReplyDecoder::decode`]; it returns a reply once all
/// its lines are there, and how many bytes it used. "Need more bytes" is `Ok(None)`, not an error.
#[derive(Debug, Clone)]
pub struct ReplyDecoder {
    limit: usize,
}

impl Default for ReplyDecoder {
    fn default() -> Self {
        ReplyDecoder { limit: 1 << 20 }
    }
}

impl ReplyDecoder {
    /// A decoder that gives up on replies larger than `limit` bytes.
    pub fn with_limit(limit: usize) -> ReplyDecoder {
        ReplyDecoder { limit }
    }

    /// Decodes the first reply in `buf`. Returns the reply and the bytes it took, `Ok(None)` when
    /// the reply is not complete yet, or an error for a line that is not a reply line (the
    /// error's line can be skipped with [`skip_line`]).
    pub fn decode(&self, buf: &[u8]) -> Result<Option<(Reply, usize)>, ReplyError> {
        let mut pos = 0;
        let mut lines = Vec::new();
        let mut code = None;
        loop {
            let rest = buf.get(pos..).unwrap_or_default();
            let Some(lf) = rest.iter().position(|&b| b == b'\n') else {
                if buf.len() > self.limit {
                    return Err(ReplyError::TooLong { limit: self.limit });
                }
                return Ok(None);
            };
            let raw = &rest[..lf];
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            pos += lf + 1;
            match code {
                None => {
                    let Some((first_code, sep)) = line_code(raw) else {
                        return Err(ReplyError::BadLine { text: lossy(raw) });
                    };
                    lines.push(lossy(raw.get(4..).unwrap_or_default()));
                    if sep == b' ' {
                        return Ok(Some((
                            Reply {
                                code: first_code,
                                lines,
                            },
                            pos,
                        )));
                    }
                    code = Some(first_code);
                }
                Some(expected) => match line_code(raw) {
                    Some((c, b' ')) if c == expected => {
                        lines.push(lossy(raw.get(4..).unwrap_or_default()));
                        return Ok(Some((
                            Reply {
                                code: expected,
                                lines,
                            },
                            pos,
                        )));
                    }
                    _ => {
                        let text = raw.strip_prefix(b" ").unwrap_or(raw);
                        lines.push(lossy(text));
                    }
                },
            }
            if pos > self.limit {
                return Err(ReplyError::TooLong { limit: self.limit });
            }
        }
    }
}

/// How many bytes to drop to skip the first line of `buf` (after a [`ReplyError::BadLine`]).
pub fn skip_line(buf: &[u8]) -> Option<usize> {
    buf.iter().position(|&b| b == b'\n').map(|lf| lf + 1)
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode(bytes: &[u8]) -> Result<Option<(Reply, usize)>, ReplyError> {
        ReplyDecoder::default().decode(bytes)
    }

    #[test]
    fn single_line_reply_round_trips() {
        let reply = Reply::new(ReplyCode::CLOSING_DATA, "Transfer complete.");
        assert_eq!(reply.encode(), "226 Transfer complete.\r\n");
        assert_eq!(
            decode(b"226 Transfer complete.\r\n").unwrap(),
            Some((reply, 24))
        );
    }

    #[test]
    fn multi_line_reply_with_lines_starting_with_digits() {
        let wire =
            b"211-Features:\r\n EPRT\r\n 211 is not the end\r\n211-neither\r\n211 End\r\nNEXT";
        let (reply, used) = decode(wire).unwrap().unwrap();
        assert_eq!(reply.code, ReplyCode(211));
        assert_eq!(
            reply.lines,
            [
                "Features:",
                "EPRT",
                "211 is not the end",
                "211-neither",
                "End"
            ]
        );
        assert_eq!(used, wire.len() - 4);
    }

    #[test]
    fn another_code_inside_a_multi_line_reply_does_not_end_it() {
        let wire = b"230-Welcome\r\n220 old banner\r\n230 Logged in\r\n";
        let (reply, _) = decode(wire).unwrap().unwrap();
        assert_eq!(reply.lines.len(), 3);
        assert_eq!(reply.code, ReplyCode::LOGGED_IN);
    }

    #[test]
    fn incomplete_replies_ask_for_more_bytes() {
        assert_eq!(decode(b"226 Transfer").unwrap(), None);
        assert_eq!(decode(b"211-Features:\r\n EPRT\r\n").unwrap(), None);
    }

    #[test]
    fn lf_only_and_bare_code_lines_are_accepted() {
        let (reply, used) = decode(b"200\n").unwrap().unwrap();
        assert_eq!(
            (reply.code, reply.lines, used),
            (ReplyCode::OK, vec![String::new()], 4)
        );
    }

    #[test]
    fn garbage_is_an_error_that_can_be_skipped() {
        let wire = b"SSH-2.0-OpenSSH\r\n220 ok\r\n";
        assert!(matches!(decode(wire), Err(ReplyError::BadLine { .. })));
        let skip = skip_line(wire).unwrap();
        assert_eq!(
            decode(&wire[skip..]).unwrap().unwrap().0.code,
            ReplyCode::SERVICE_READY
        );
    }

    #[test]
    fn non_utf8_text_is_decoded_lossily() {
        let (reply, _) = decode(b"550 \xff\xfe missing\r\n").unwrap().unwrap();
        assert!(reply.lines[0].ends_with("missing"));
    }

    #[test]
    fn line_breaks_in_text_cannot_end_a_reply_early() {
        let reply = Reply::new(ReplyCode::FILE_UNAVAILABLE, "a\r\n230 b");
        assert_eq!(reply.encode(), "550 a  230 b\r\n");
    }

    #[test]
    fn oversized_multi_line_reply_is_an_error() {
        let mut wire = b"211-start\r\n".to_vec();
        wire.extend(std::iter::repeat_n(b"x\r\n".as_slice(), 100).flatten());
        assert!(matches!(
            ReplyDecoder::with_limit(64).decode(&wire),
            Err(ReplyError::TooLong { limit: 64 })
        ));
    }

    proptest! {
        #[test]
        fn decode_of_encode_is_identity(
            code in 100u16..600,
            lines in proptest::collection::vec("[ -~]{0,40}", 1..6),
        ) {
            let reply = Reply::multiline(ReplyCode(code), lines);
            let wire = reply.encode();
            let (back, used) = decode(wire.as_bytes()).unwrap().unwrap();
            prop_assert_eq!(used, wire.len());
            prop_assert_eq!(back, reply);
        }

        #[test]
        fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode(&bytes);
        }
    }
}
