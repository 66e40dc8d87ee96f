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

/// What [`ReplyLines::push_line`] made of one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineOutcome {
    /// The line completed a reply. `lines_dropped` counts middle lines left out because the
    /// reply grew past the limit.
    Reply {
        /// The reply (its text holds at most the limit's worth of lines).
        reply: Reply,
        /// Middle lines left out.
        lines_dropped: u64,
    },
    /// A line of an unfinished multi-line reply, kept.
    Partial,
    /// The first middle line left out of a reply that grew past the limit (later ones are
    /// counted without saying so again).
    LimitReached {
        /// The limit in force.
        limit: usize,
    },
    /// A middle line left out after [`LineOutcome::LimitReached`].
    Dropped,
    /// The line is not a reply line (and no multi-line reply is open).
    NotAReply {
        /// The line, lossily decoded.
        text: String,
    },
}

/// A reply decoder fed one line at a time, for streams that may be hostile (the inspector):
/// every line is looked at once, however long the reply, and a multi-line reply keeps at most
/// `limit` bytes of text; the lines past that are dropped (and counted) up to its last line, so
/// the replies after it are still read in step with their commands. The grammar is the one of
/// [`ReplyDecoder`]: a first line `code-`, any lines, a last line `code `.
#[derive(Debug, Clone)]
pub struct ReplyLines {
    limit: usize,
    open: Option<OpenReply>,
}

#[derive(Debug, Clone)]
struct OpenReply {
    code: ReplyCode,
    lines: Vec<String>,
    bytes: usize,
    dropped: u64,
}

impl ReplyLines {
    /// A decoder that keeps at most `limit` bytes of a reply's text.
    pub fn with_limit(limit: usize) -> ReplyLines {
        ReplyLines { limit, open: None }
    }

    /// True while a multi-line reply is open (its last line not seen yet).
    pub fn is_open(&self) -> bool {
        self.open.is_some()
    }

    /// Takes one line, without its line end. A line the caller had to cut (longer than it
    /// reads) is passed as the part it kept.
    pub fn push_line(&mut self, line: &[u8]) -> LineOutcome {
        let Some(open) = &mut self.open else {
            let Some((code, sep)) = line_code(line) else {
                return LineOutcome::NotAReply { text: lossy(line) };
            };
            let text = lossy(line.get(4..).unwrap_or_default());
            if sep == b' ' {
                return LineOutcome::Reply {
                    reply: Reply::new(code, text),
                    lines_dropped: 0,
                };
            }
            self.open = Some(OpenReply {
                code,
                bytes: text.len(),
                lines: vec![text],
                dropped: 0,
            });
            return LineOutcome::Partial;
        };
        if let Some((c, b' ')) = line_code(line)
            && c == open.code
        {
            let (code, dropped) = (open.code, open.dropped);
            let mut lines = std::mem::take(&mut open.lines);
            self.open = None;
            lines.push(lossy(line.get(4..).unwrap_or_default()));
            return LineOutcome::Reply {
                reply: Reply::multiline(code, lines),
                lines_dropped: dropped,
            };
        }
        let text = line.strip_prefix(b" ").unwrap_or(line);
        if open.bytes + text.len() > self.limit {
            open.dropped += 1;
            return if open.dropped == 1 {
                LineOutcome::LimitReached { limit: self.limit }
            } else {
                LineOutcome::Dropped
            };
        }
        open.bytes += text.len();
        open.lines.push(lossy(text));
        LineOutcome::Partial
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

    fn feed(lines: &mut ReplyLines, wire: &[u8]) -> Vec<LineOutcome> {
        wire.split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| lines.push_line(l.strip_suffix(b"\r").unwrap_or(l)))
            .collect()
    }

    #[test]
    fn line_at_a_time_decoding_agrees_with_the_buffer_decoder() {
        let wire = b"211-Features:\r\n 211 not the end\r\n UTF8\r\n211 End\r\n226 Done.\r\n";
        let (first, used) = decode(wire).unwrap().unwrap();
        let (second, _) = decode(&wire[used..]).unwrap().unwrap();
        let mut lines = ReplyLines::with_limit(1 << 16);
        let got: Vec<Reply> = feed(&mut lines, wire)
            .into_iter()
            .filter_map(|o| match o {
                LineOutcome::Reply { reply, .. } => Some(reply),
                _ => None,
            })
            .collect();
        assert_eq!(got, vec![first, second]);
        assert!(!lines.is_open());
    }

    #[test]
    fn an_endless_multi_line_reply_is_cut_once_and_the_next_reply_still_read() {
        let mut lines = ReplyLines::with_limit(64);
        let mut wire = b"214-help\r\n".to_vec();
        for _ in 0..1000 {
            wire.extend(b"214-more help text\r\n");
        }
        wire.extend(b"214 end\r\n200 next\r\n");
        let got = feed(&mut lines, &wire);
        let limits = got
            .iter()
            .filter(|o| matches!(o, LineOutcome::LimitReached { limit: 64 }))
            .count();
        assert_eq!(limits, 1);
        let replies: Vec<(u16, u64, usize)> = got
            .iter()
            .filter_map(|o| match o {
                LineOutcome::Reply {
                    reply,
                    lines_dropped,
                } => Some((reply.code.0, *lines_dropped, reply.lines.len())),
                _ => None,
            })
            .collect();
        // 64 bytes hold the first line and three middle lines of 17 bytes.
        assert_eq!(replies, vec![(214, 997, 5), (200, 0, 1)]);
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
            prop_assert_eq!(&back, &reply);
            // The line-at-a-time decoder reads the same reply.
            let mut line_decoder = ReplyLines::with_limit(1 << 16);
            let last = feed(&mut line_decoder, wire.as_bytes()).pop();
            prop_assert_eq!(last, Some(LineOutcome::Reply { reply, lines_dropped: 0 }));
        }

        #[test]
        fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode(&bytes);
        }
    }
}
