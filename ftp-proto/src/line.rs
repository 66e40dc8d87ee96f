//! Splitting a control connection into lines (RFC 959 §4.1: commands end with `<CRLF>`).
//!
//! Real peers are sloppy: some end lines with a bare LF, and clients that abort a transfer
//! send Telnet "Interrupt Process" and "Synch" sequences (`IAC IP IAC DM`, RFC 959 §4.1.3 on
//! ABOR) in front of the command. This module finds line boundaries, enforces a length limit
//! and strips Telnet control sequences, without ever panicking on odd bytes.

/// The longest command line the server accepts, terminator excluded (4 KiB).
///
/// RFC 959 sets no limit; real commands are a verb and one path, far below this.
pub const MAX_LINE_LEN: usize = 4096;

/// Telnet "Interpret As Command" byte (RFC 854).
const IAC: u8 = 0xFF;

/// What [`next_line`] found at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineStatus {
    /// A whole line: `content` bytes of text (terminator excluded), then `consumed` bytes in all.
    Complete {
        /// Length of the line's text, without CR/LF.
        content: usize,
        /// Bytes to drop from the buffer, terminator included.
        consumed: usize,
    },
    /// No line end yet and the buffer is within the limit: read more bytes.
    Incomplete,
    /// No line end within `limit` bytes: the peer sent an over-long line.
    TooLong,
}

/// Errors a line can have once it is complete.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    /// The line was longer than the limit.
    #[error("line too long: {len} bytes, the limit is {limit}")]
    TooLong {
        /// Length seen so far.
        len: usize,
        /// The limit in force.
        limit: usize,
    },
    /// The line is not valid UTF-8 (RFC 2640 makes UTF-8 the path encoding).
    #[error("line is not valid UTF-8 (at byte {valid_up_to})")]
    NotUtf8 {
        /// Bytes that were valid before the first bad one.
        valid_up_to: usize,
    },
}

/// Finds the first line in `buf`. A line ends at LF; a CR right before the LF is dropped.
///
/// ```
/// use ftp_proto::line::{next_line, LineStatus};
/// assert_eq!(next_line(b"NOOP\r\nQUIT", 4096), LineStatus::Complete { content: 4, consumed: 6 });
/// assert_eq!(next_line(b"NOO", 4096), LineStatus::Incomplete);
/// ```
pub fn next_line(buf: &[u8], limit: usize) -> LineStatus {
    let search = &buf[..buf.len().min(limit.saturating_add(2))];
    match search.iter().position(|&b| b == b'\n') {
        Some(lf) => {
            let content = if lf > 0 && search[lf - 1] == b'\r' {
                lf - 1
            } else {
                lf
            };
            if content > limit {
                LineStatus::TooLong
            } else {
                LineStatus::Complete {
                    content,
                    consumed: lf + 1,
                }
            }
        }
        None if buf.len() > limit + 1 => LineStatus::TooLong,
        None => LineStatus::Incomplete,
    }
}

/// Removes Telnet command sequences (`IAC x`) from a line; `IAC IAC` stands for one 0xFF byte.
///
/// lftp and other clients send `IAC IP IAC DM ABOR` to interrupt a transfer; the server must
/// see plain `ABOR`. Bytes that are not part of an IAC sequence are kept as they are.
pub fn strip_telnet(line: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if !line.contains(&IAC) {
        return std::borrow::Cow::Borrowed(line);
    }
    let mut out = Vec::with_capacity(line.len());
    let mut bytes = line.iter().copied();
    while let Some(b) = bytes.next() {
        if b != IAC {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(IAC) => out.push(IAC),
            // WILL/WONT/DO/DONT carry one option byte after them.
            Some(251..=254) => {
                bytes.next();
            }
            // A byte below 240 is not a Telnet command: the IAC was stray (or its partner
            // went out of band as TCP urgent data, as DM does), so keep the byte.
            Some(plain @ 0..=239) => out.push(plain),
            Some(_) | None => {}
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Turns one line (terminator already removed) into text: Telnet sequences stripped, UTF-8 checked.
pub fn decode_line(line: &[u8]) -> Result<String, LineError> {
    let stripped = strip_telnet(line);
    match std::str::from_utf8(&stripped) {
        Ok(text) => Ok(text.to_owned()),
        Err(e) => Err(LineError::NotUtf8 {
            valid_up_to: e.valid_up_to(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_and_bare_lf_both_end_a_line() {
        assert_eq!(
            next_line(b"USER a\r\n", 100),
            LineStatus::Complete {
                content: 6,
                consumed: 8
            }
        );
        assert_eq!(
            next_line(b"USER a\nX", 100),
            LineStatus::Complete {
                content: 6,
                consumed: 7
            }
        );
    }

    #[test]
    fn a_lone_cr_is_not_a_line_end() {
        assert_eq!(next_line(b"USER a\rPASS", 100), LineStatus::Incomplete);
        assert_eq!(
            next_line(b"A\rB\r\n", 100),
            LineStatus::Complete {
                content: 3,
                consumed: 5
            }
        );
    }

    #[test]
    fn a_10_kib_line_is_too_long_before_its_end_arrives() {
        let long = vec![b'A'; 10 * 1024];
        assert_eq!(next_line(&long, MAX_LINE_LEN), LineStatus::TooLong);
        let mut with_end = long.clone();
        with_end.extend_from_slice(b"\r\n");
        assert_eq!(next_line(&with_end, MAX_LINE_LEN), LineStatus::TooLong);
    }

    #[test]
    fn a_line_exactly_at_the_limit_is_accepted() {
        let mut line = vec![b'A'; 16];
        line.extend_from_slice(b"\r\n");
        assert_eq!(
            next_line(&line, 16),
            LineStatus::Complete {
                content: 16,
                consumed: 18
            }
        );
        assert_eq!(next_line(&line[..17], 16), LineStatus::Incomplete);
    }

    #[test]
    fn telnet_interrupt_and_synch_before_abor_are_removed() {
        assert_eq!(&*strip_telnet(b"\xff\xf4\xff\xf2ABOR"), b"ABOR");
        assert_eq!(&*strip_telnet(b"\xff\xf4\xffABOR"), b"ABOR");
        assert_eq!(&*strip_telnet(b"a\xff\xffb"), b"a\xffb");
        assert_eq!(&*strip_telnet(b"\xff\xfb\x01X"), b"X");
        assert_eq!(&*strip_telnet(b"X\xff"), b"X");
    }

    #[test]
    fn non_utf8_bytes_are_an_error_not_a_panic() {
        assert_eq!(
            decode_line(b"RETR \xc3\x28"),
            Err(LineError::NotUtf8 { valid_up_to: 5 })
        );
        assert_eq!(decode_line("RETR é".as_bytes()).as_deref(), Ok("RETR é"));
    }
}
