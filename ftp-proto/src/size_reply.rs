//! RFC 3659 §4.2: the text of the 213 reply to SIZE, the file's size in octets in decimal.
//!
//! The size is that of the file as it would be transferred in the current TYPE; servers and
//! clients alike ask in TYPE I, where it is the byte count.

/// The text of a 213 reply to SIZE: `1234`.
pub fn format_size_reply(size: u64) -> String {
    size.to_string()
}

/// The size in the text of a 213 reply to SIZE; surrounding spaces are ignored, anything else
/// around the number makes it `None`.
///
/// ```
/// use ftp_proto::size_reply::{format_size_reply, parse_size_reply};
/// assert_eq!(parse_size_reply(&format_size_reply(1234)), Some(1234));
/// assert_eq!(parse_size_reply("1234 bytes"), None);
/// ```
pub fn parse_size_reply(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn odd_texts_have_no_size() {
        for text in [
            "",
            " ",
            "-1",
            "1.5",
            "12 bytes",
            "0x10",
            "18446744073709551616",
            "\u{0}",
        ] {
            assert_eq!(parse_size_reply(text), None, "{text:?}");
        }
        assert_eq!(parse_size_reply(" 7 \r\n"), Some(7));
    }

    proptest! {
        #[test]
        fn parse_of_format_is_identity(size: u64) {
            prop_assert_eq!(parse_size_reply(&format_size_reply(size)), Some(size));
        }

        #[test]
        fn parse_never_panics(text in "\\PC{0,30}") {
            let _ = parse_size_reply(&text);
        }
    }
}
