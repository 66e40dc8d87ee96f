//! Command lines fit for logs and traces: the password of PASS never shows, it is `PASS ****`.
//!
//! RFC 959 sends the password in clear (§4.1.1, and RFC 2577 §6 on why that hurts); a log file
//! or a screen recording must not repeat it.

use crate::command::{Command, split_line};
use std::borrow::Cow;

/// What a PASS command looks like in a log.
pub const MASKED_PASS: &str = "PASS ****";

/// `line` as it may be logged: a PASS command (any case, any argument or none) becomes
/// [`MASKED_PASS`], every other line stays as it is.
///
/// A line is a PASS command exactly when [`Command::parse`] would read it as one, so leading
/// spaces do not smuggle a password into the log.
///
/// ```
/// use ftp_proto::loggable_line;
/// assert_eq!(loggable_line("pass secret"), "PASS ****");
/// assert_eq!(loggable_line("RETR a.bin"), "RETR a.bin");
/// ```
pub fn loggable_line(line: &str) -> Cow<'_, str> {
    let (verb, _) = split_line(line);
    if verb.eq_ignore_ascii_case("PASS") {
        Cow::Borrowed(MASKED_PASS)
    } else {
        Cow::Borrowed(line)
    }
}

impl Command {
    /// The command line as it may be logged: like `Display`, but PASS is [`MASKED_PASS`].
    pub fn loggable(&self) -> Cow<'static, str> {
        match self {
            Command::Pass { .. } => Cow::Borrowed(MASKED_PASS),
            other => Cow::Owned(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn pass_lines_of_any_case_are_masked() {
        for line in [
            "PASS secret",
            "pass secret",
            "PaSs two words",
            "PASS",
            "PASS ",
            "  PASS x",
        ] {
            assert_eq!(loggable_line(line), MASKED_PASS, "{line:?}");
        }
    }

    #[test]
    fn other_lines_are_unchanged() {
        for line in [
            "USER bob",
            "PASSX secret",
            "RETR PASS",
            "",
            "pas secret",
            "\u{fffd}PASS x",
        ] {
            assert_eq!(loggable_line(line), line, "{line:?}");
        }
    }

    #[test]
    fn commands_mask_like_their_lines() {
        let pass = Command::Pass {
            password: "hunter2".into(),
        };
        assert_eq!(pass.loggable(), MASKED_PASS);
        assert_eq!(Command::Pwd.loggable(), "PWD");
    }

    proptest! {
        #[test]
        fn every_password_is_masked(password in "\\PC{0,30}") {
            let line = Command::Pass { password }.to_string();
            prop_assert_eq!(loggable_line(&line), MASKED_PASS);
        }

        #[test]
        fn a_line_is_masked_exactly_when_it_parses_as_pass(line in "[ a-zA-Z]{0,12}") {
            let is_pass = matches!(Command::parse(&line), Ok(Command::Pass { .. }));
            prop_assert_eq!(loggable_line(&line) == MASKED_PASS, is_pass);
            if let Ok(command) = Command::parse(&line) {
                prop_assert_eq!(command.loggable() == MASKED_PASS, is_pass);
            }
        }
    }
}
