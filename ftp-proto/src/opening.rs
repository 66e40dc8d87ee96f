//! The text of the 150 reply that opens a download, and the size many servers put in it.
//!
//! RFC 959 fixes only the code of the 150 reply (§4.2), not its text. BSD ftpd started the habit
//! of naming the file and its size, `Opening BINARY mode data connection for a.bin (1234 bytes).`,
//! and vsftpd, ProFTPD and our server kept it; clients use the size for a progress bar and capture
//! readers to tell a complete download from a cut one. [`RetrOpening`] is our server's text in
//! both directions; [`transfer_size`] reads the size from any server's text.

use std::fmt;

/// The 150 text of a RETR: `Opening BINARY mode data connection for /pub/a.bin (1234 bytes).`
///
/// ```
/// use ftp_proto::RetrOpening;
/// let opening = RetrOpening { ascii: false, path: "/pub/a.bin".into(), size: 1234 };
/// let text = opening.to_string();
/// assert_eq!(text, "Opening BINARY mode data connection for /pub/a.bin (1234 bytes).");
/// assert_eq!(RetrOpening::parse(&text), Some(opening));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrOpening {
    /// TYPE A is in force (`ASCII mode`); otherwise TYPE I (`BINARY mode`).
    pub ascii: bool,
    /// The file as the client sees it.
    pub path: String,
    /// Bytes that will cross the data connection (the file's size minus any REST offset).
    pub size: u64,
}

const PREFIX: &str = "Opening ";
const ASCII: &str = "ASCII";
const BINARY: &str = "BINARY";
const MIDDLE: &str = " mode data connection for ";
const SUFFIX: &str = " bytes).";

impl RetrOpening {
    /// Reads our server's 150 text back; `None` for any other text (use [`transfer_size`]
    /// when only the size matters).
    ///
    /// The path may itself contain ` (5 bytes)`, so the size is taken from the end.
    pub fn parse(text: &str) -> Option<RetrOpening> {
        let rest = text.strip_prefix(PREFIX)?;
        let (ascii, rest) = if let Some(rest) = rest.strip_prefix(ASCII) {
            (true, rest)
        } else {
            (false, rest.strip_prefix(BINARY)?)
        };
        let rest = rest.strip_prefix(MIDDLE)?;
        let rest = rest.strip_suffix(SUFFIX)?;
        let (path, digits) = rest.rsplit_once(" (")?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(RetrOpening {
            ascii,
            path: path.to_owned(),
            size: digits.parse().ok()?,
        })
    }
}

impl fmt::Display for RetrOpening {
    /// Exactly the text `ftp-server` sends.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let representation = if self.ascii { ASCII } else { BINARY };
        write!(
            f,
            "{PREFIX}{representation}{MIDDLE}{} ({}{SUFFIX}",
            self.path, self.size
        )
    }
}

/// The size a 150 reply announces, from any server's wording: the last `(N bytes)` in the text.
///
/// Tolerated: spaces inside the parentheses, `byte`/`Bytes`, no closing period. Text after the
/// size (`(5 bytes) (restarted)`) is skipped from the right until a `(N bytes` is found.
///
/// ```
/// use ftp_proto::transfer_size;
/// assert_eq!(transfer_size("Opening BINARY mode data connection for a (1234 bytes)."), Some(1234));
/// assert_eq!(transfer_size("Here comes the directory listing."), None);
/// ```
pub fn transfer_size(text: &str) -> Option<u64> {
    text.rmatch_indices('(').find_map(|(open, _)| {
        let inner = text.get(open + 1..)?;
        let mut words = inner.split_whitespace();
        let size = words.next()?.parse().ok()?;
        words
            .next()
            .is_some_and(|w| w.to_ascii_lowercase().starts_with("byte"))
            .then_some(size)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn our_servers_text_is_exact() {
        let opening = RetrOpening {
            ascii: true,
            path: "/notes.txt".into(),
            size: 0,
        };
        assert_eq!(
            opening.to_string(),
            "Opening ASCII mode data connection for /notes.txt (0 bytes)."
        );
    }

    #[test]
    fn sizes_of_other_servers_are_read() {
        // vsftpd, ProFTPD (no period), odd spacing and case, a size followed by more text.
        for (text, size) in [
            (
                "Opening BINARY mode data connection for a.bin (1048576 bytes).",
                1_048_576,
            ),
            ("Opening BINARY mode data connection for a.bin (7 bytes)", 7),
            ("Opening data connection for x ( 12  Bytes )", 12),
            ("here (1 byte)", 1),
            ("here (5 bytes) (restarted)", 5),
            ("for a (1).txt (10 bytes).", 10),
        ] {
            assert_eq!(transfer_size(text), Some(size), "{text}");
        }
    }

    #[test]
    fn texts_without_a_size_have_none() {
        for text in [
            "File status okay.",
            "",
            "(",
            "(bytes)",
            "(12)",
            "(12 octets)",
            "(-3 bytes)",
            "(99999999999999999999999 bytes)",
            "FILE: ftplab-0123456789abcdef",
            "\u{0}(\u{ffff}",
        ] {
            assert_eq!(transfer_size(text), None, "{text:?}");
        }
    }

    #[test]
    fn other_texts_are_not_our_opening() {
        for text in [
            "Opening BINARY mode data connection for a.bin (x bytes).",
            "Opening BINARY mode data connection for a.bin ( bytes).",
            "Opening BINARY mode data connection for a.bin (1 bytes)",
            "Opening EBCDIC mode data connection for a.bin (1 bytes).",
            "Ok to send data for a.bin.",
        ] {
            assert_eq!(RetrOpening::parse(text), None, "{text}");
        }
    }

    #[test]
    fn a_path_with_a_size_in_its_name_keeps_it() {
        let text = "Opening BINARY mode data connection for /x (3 bytes).txt (9 bytes).";
        assert_eq!(
            RetrOpening::parse(text),
            Some(RetrOpening {
                ascii: false,
                path: "/x (3 bytes).txt".into(),
                size: 9
            })
        );
        assert_eq!(transfer_size(text), Some(9));
    }

    proptest! {
        #[test]
        fn parse_of_display_is_identity(ascii: bool, path in "\\PC{0,40}", size: u64) {
            let opening = RetrOpening { ascii, path, size };
            let text = opening.to_string();
            prop_assert_eq!(transfer_size(&text), Some(size));
            prop_assert_eq!(RetrOpening::parse(&text), Some(opening));
        }

        #[test]
        fn transfer_size_never_panics(text in "\\PC{0,60}") {
            let _ = transfer_size(&text);
            let _ = RetrOpening::parse(&text);
        }
    }
}
