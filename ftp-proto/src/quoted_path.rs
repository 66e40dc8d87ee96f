//! RFC 959 Appendix II: the path in a 257 reply (PWD, MKD), in quotes, embedded quotes doubled.
//!
//! `257 "/a ""b""" is the current directory.` names the folder `/a "b"`. The quotes let the
//! path contain spaces and let the server add words after it; doubling lets it contain quotes.

use std::fmt;

/// A path as a 257 reply carries it. `Display` writes it quoted; [`QuotedPath::parse`] reads it
/// back from the text of a reply.
///
/// ```
/// use ftp_proto::QuotedPath;
/// let quoted = QuotedPath(r#"/a "b""#.into()).to_string();
/// assert_eq!(quoted, r#""/a ""b""""#);
/// let reply_text = format!("{quoted} is the current directory.");
/// assert_eq!(QuotedPath::parse(&reply_text), Some(QuotedPath(r#"/a "b""#.into())));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotedPath(pub String);

impl QuotedPath {
    /// Finds the quoted path in the text of a 257 reply: from the first quote to the quote that
    /// closes it, `""` standing for one quote. `None` when there is no quote or it never closes.
    pub fn parse(text: &str) -> Option<QuotedPath> {
        let (_, after_quote) = text.split_once('"')?;
        let mut path = String::new();
        let mut chars = after_quote.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '"' {
                path.push(c);
            } else if chars.next_if_eq(&'"').is_some() {
                path.push('"');
            } else {
                return Some(QuotedPath(path));
            }
        }
        None
    }
}

impl fmt::Display for QuotedPath {
    /// The path in quotes, each quote in it doubled.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.0.replace('"', "\"\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(text: &str) -> Option<String> {
        QuotedPath::parse(text).map(|q| q.0)
    }

    #[test]
    fn doubled_quotes_are_one_quote() {
        assert_eq!(
            parse(r#""/a ""b""" is the current directory"#).as_deref(),
            Some(r#"/a "b""#)
        );
        assert_eq!(parse(r#""""""#).as_deref(), Some(r#"""#));
    }

    #[test]
    fn encoding_matches_the_server() {
        assert_eq!(QuotedPath("/".into()).to_string(), r#""/""#);
        assert_eq!(
            QuotedPath(r#"say "hi""#.into()).to_string(),
            r#""say ""hi""""#
        );
        assert_eq!(QuotedPath(String::new()).to_string(), r#""""#);
    }

    #[test]
    fn text_around_the_path_is_ignored() {
        assert_eq!(
            parse(r#"MKD command successful: "/new dir" created."#).as_deref(),
            Some("/new dir")
        );
        assert_eq!(parse(r#""/é ü" ok"#).as_deref(), Some("/é ü"));
    }

    #[test]
    fn missing_or_unclosed_quotes_are_none() {
        for text in ["no quotes", "", "\"", "\"/unclosed", "\"/a \"\""] {
            assert_eq!(parse(text), None, "{text:?}");
        }
    }

    proptest! {
        #[test]
        fn parse_of_display_is_identity(path in "\\PC{0,40}") {
            let text = format!("{} is the current directory.", QuotedPath(path.clone()));
            prop_assert_eq!(parse(&text), Some(path));
        }

        #[test]
        fn parse_never_panics(text in "\\PC{0,60}") {
            let _ = QuotedPath::parse(&text);
        }
    }
}
