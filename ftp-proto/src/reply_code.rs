//! RFC 959 §4.2: reply codes, three digits whose first digit says how the command went.
//!
//! `1yz` positive preliminary (more replies follow), `2yz` positive completion, `3yz` positive
//! intermediate (send the next command of the sequence), `4yz` transient negative (try again),
//! `5yz` permanent negative. The second digit groups the subject: `x0z` syntax, `x1z`
//! information, `x2z` connections, `x3z` authentication, `x5z` file system.

use std::fmt;

/// A reply code. A newtype, not an enum: real servers send codes nobody listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReplyCode(pub u16);

macro_rules! codes {
    ($( $(#[$doc:meta])* $name:ident = $value:literal, $meaning:literal; )*) => {
        impl ReplyCode {
            $( $(#[$doc])* pub const $name: ReplyCode = ReplyCode($value); )*

            /// The meaning RFC 959 §4.2.1 (or the RFC that added the code) gives this code,
            /// or `None` for codes nobody standardised.
            pub fn meaning(self) -> Option<&'static str> {
                match self.0 {
                    $( $value => Some($meaning), )*
                    _ => None,
                }
            }
        }
    };
}

codes! {
    /// Restart marker reply.
    RESTART_MARKER = 110, "Restart marker reply";
    /// Service ready in nnn minutes.
    SERVICE_READY_LATER = 120, "Service ready in nnn minutes";
    /// Data connection already open; transfer starting.
    DATA_ALREADY_OPEN = 125, "Data connection already open; transfer starting";
    /// File status okay; about to open data connection.
    ABOUT_TO_OPEN_DATA = 150, "File status okay; about to open data connection";
    /// Command okay.
    OK = 200, "Command okay";
    /// Command not implemented, superfluous at this site.
    SUPERFLUOUS = 202, "Command not implemented, superfluous at this site";
    /// System status, or system help reply.
    SYSTEM_STATUS = 211, "System status, or system help reply";
    /// Directory status.
    DIRECTORY_STATUS = 212, "Directory status";
    /// File status.
    FILE_STATUS = 213, "File status";
    /// Help message.
    HELP = 214, "Help message";
    /// NAME system type.
    SYSTEM_TYPE = 215, "NAME system type";
    /// Service ready for new user.
    SERVICE_READY = 220, "Service ready for new user";
    /// Service closing control connection.
    CLOSING_CONTROL = 221, "Service closing control connection";
    /// Data connection open; no transfer in progress.
    DATA_OPEN_NO_TRANSFER = 225, "Data connection open; no transfer in progress";
    /// Closing data connection; requested file action successful.
    CLOSING_DATA = 226, "Closing data connection; requested file action successful";
    /// Entering Passive Mode (h1,h2,h3,h4,p1,p2).
    ENTERING_PASSIVE = 227, "Entering Passive Mode";
    /// Entering Extended Passive Mode (RFC 2428).
    ENTERING_EXTENDED_PASSIVE = 229, "Entering Extended Passive Mode (RFC 2428)";
    /// User logged in, proceed.
    LOGGED_IN = 230, "User logged in, proceed";
    /// Security data exchange complete (RFC 2228).
    SECURITY_EXCHANGE_DONE = 234, "Security data exchange complete (RFC 2228)";
    /// Requested file action okay, completed.
    FILE_ACTION_OK = 250, "Requested file action okay, completed";
    /// "PATHNAME" created (MKD); PWD's reply uses it too, see [`ReplyCode::meaning_after`].
    PATH_CREATED = 257, "\"PATHNAME\" created";
    /// User name okay, need password.
    NEED_PASSWORD = 331, "User name okay, need password";
    /// Need account for login.
    NEED_ACCOUNT = 332, "Need account for login";
    /// Requested file action pending further information.
    FILE_ACTION_PENDING = 350, "Requested file action pending further information";
    /// Service not available, closing control connection.
    SERVICE_NOT_AVAILABLE = 421, "Service not available, closing control connection";
    /// Can't open data connection.
    CANT_OPEN_DATA = 425, "Can't open data connection";
    /// Connection closed; transfer aborted.
    TRANSFER_ABORTED = 426, "Connection closed; transfer aborted";
    /// Requested file action not taken; file unavailable (e.g., file busy).
    FILE_BUSY = 450, "Requested file action not taken; file unavailable";
    /// Requested action aborted: local error in processing.
    LOCAL_ERROR = 451, "Requested action aborted: local error in processing";
    /// Requested action not taken; insufficient storage space in system.
    INSUFFICIENT_STORAGE = 452, "Requested action not taken; insufficient storage space";
    /// Syntax error, command unrecognized.
    SYNTAX_ERROR = 500, "Syntax error, command unrecognized";
    /// Syntax error in parameters or arguments.
    SYNTAX_ERROR_ARGS = 501, "Syntax error in parameters or arguments";
    /// Command not implemented.
    NOT_IMPLEMENTED = 502, "Command not implemented";
    /// Bad sequence of commands.
    BAD_SEQUENCE = 503, "Bad sequence of commands";
    /// Command not implemented for that parameter.
    NOT_IMPLEMENTED_FOR_PARAMETER = 504, "Command not implemented for that parameter";
    /// Network protocol not supported (RFC 2428, EPRT/EPSV).
    PROTOCOL_NOT_SUPPORTED = 522, "Network protocol not supported (RFC 2428)";
    /// Not logged in.
    NOT_LOGGED_IN = 530, "Not logged in";
    /// Need account for storing files.
    NEED_ACCOUNT_TO_STORE = 532, "Need account for storing files";
    /// Requested action not taken; file unavailable (e.g., file not found, no access).
    FILE_UNAVAILABLE = 550, "Requested action not taken; file unavailable";
    /// Requested action aborted: page type unknown.
    PAGE_TYPE_UNKNOWN = 551, "Requested action aborted: page type unknown";
    /// Requested file action aborted; exceeded storage allocation.
    EXCEEDED_STORAGE = 552, "Requested file action aborted; exceeded storage allocation";
    /// Requested action not taken; file name not allowed.
    FILE_NAME_NOT_ALLOWED = 553, "Requested action not taken; file name not allowed";
    /// Requested action not taken: invalid REST parameter (RFC 3659).
    INVALID_REST = 554, "Requested action not taken: invalid REST parameter (RFC 3659)";
}

impl ReplyCode {
    /// The meaning of this code as the reply to `verb`: [`ReplyCode::meaning`], except where
    /// RFC 959 gives one code two uses. 257 is listed as `"PATHNAME" created` (§4.2.1), the
    /// reply to MKD; the reply to PWD uses the same code to name the current directory (§5.4,
    /// Appendix II).
    pub fn meaning_after(self, verb: &str) -> Option<&'static str> {
        match (self, verb.to_ascii_uppercase().as_str()) {
            (ReplyCode::PATH_CREATED, "PWD" | "XPWD") => {
                Some("\"PATHNAME\" is the current working directory")
            }
            _ => self.meaning(),
        }
    }
}

// RFC 2228 (FTP security extensions). Named for matching only: `meaning` leaves them out so
// that the inspector's `meaning` column, which follows RFC 959's table, stays as it is.
impl ReplyCode {
    /// Security data is acceptable, more is needed (RFC 2228, e.g. AUTH GSSAPI).
    pub const SECURITY_DATA_NEEDED: ReplyCode = ReplyCode(334);
    /// Need some unavailable resource to process security (RFC 2228; e.g. no certificate).
    pub const SECURITY_RESOURCE_UNAVAILABLE: ReplyCode = ReplyCode(431);
    /// The data connection cannot be opened with this PROT setting (RFC 4217 §10.2: the server
    /// wants `PROT P`).
    pub const PROTECTION_REQUIRED: ReplyCode = ReplyCode(521);
    /// Command protected by integrity required, or denied for policy reasons (RFC 2228).
    pub const COMMAND_PROTECTION_DENIED: ReplyCode = ReplyCode(533);
    /// Request denied for policy reasons (RFC 2228).
    pub const DENIED_FOR_POLICY: ReplyCode = ReplyCode(534);
    /// Failed security check (RFC 2228).
    pub const FAILED_SECURITY_CHECK: ReplyCode = ReplyCode(535);
    /// Requested PROT level not supported by mechanism (RFC 2228).
    pub const PROT_LEVEL_NOT_SUPPORTED: ReplyCode = ReplyCode(536);
}

impl ReplyCode {
    /// Whether this code may be the final reply to RETR, STOR, STOU, APPE, LIST, NLST or MLSD
    /// (RFC 959 §5.4, RFC 2228 §5, RFC 3659 §7, RFC 4217 §10.2): 226 or 250 when all went well, or one of the
    /// failures the RFCs list for those commands.
    pub fn can_end_a_transfer(self) -> bool {
        matches!(
            self.0,
            226 | 250 | 421 | 425 | 426 | 450 | 451 | 452 | 500..=504 | 521 | 530 | 532 | 534 | 535 | 550..=553
        )
    }

    /// `1yz`: the command was accepted and another reply will follow.
    pub fn is_positive_preliminary(self) -> bool {
        (100..200).contains(&self.0)
    }
    /// `2yz`: the command succeeded.
    pub fn is_positive_completion(self) -> bool {
        (200..300).contains(&self.0)
    }
    /// `3yz`: accepted, waiting for the next command of a sequence (PASS after USER, RNTO after RNFR).
    pub fn is_positive_intermediate(self) -> bool {
        (300..400).contains(&self.0)
    }
    /// `4yz`: failed, but trying again later may work.
    pub fn is_transient_negative(self) -> bool {
        (400..500).contains(&self.0)
    }
    /// `5yz`: failed, and repeating the same command will fail again.
    pub fn is_permanent_negative(self) -> bool {
        (500..600).contains(&self.0)
    }
    /// `4yz` or `5yz`.
    pub fn is_negative(self) -> bool {
        self.is_transient_negative() || self.is_permanent_negative()
    }
}

impl fmt::Display for ReplyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:03}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pwds_257_names_the_current_directory_and_mkds_a_created_one() {
        let pwd = ReplyCode::PATH_CREATED.meaning_after("pwd");
        assert!(
            pwd.is_some_and(|m| m.contains("current working directory")),
            "{pwd:?}"
        );
        assert_eq!(
            ReplyCode::PATH_CREATED.meaning_after("MKD"),
            ReplyCode::PATH_CREATED.meaning()
        );
        assert_eq!(ReplyCode::OK.meaning_after("PWD"), ReplyCode::OK.meaning());
    }

    #[test]
    fn classes_follow_the_first_digit() {
        assert!(ReplyCode::ABOUT_TO_OPEN_DATA.is_positive_preliminary());
        assert!(ReplyCode::LOGGED_IN.is_positive_completion());
        assert!(ReplyCode::NEED_PASSWORD.is_positive_intermediate());
        assert!(ReplyCode::CANT_OPEN_DATA.is_transient_negative());
        assert!(ReplyCode::NOT_LOGGED_IN.is_permanent_negative());
        assert!(!ReplyCode::OK.is_negative());
    }

    #[test]
    fn transfers_end_with_226_250_or_a_listed_failure() {
        for code in [226, 250, 421, 425, 426, 451, 501, 530, 534, 550, 553] {
            assert!(ReplyCode(code).can_end_a_transfer(), "{code}");
        }
        for code in [150, 200, 221, 227, 331, 350, 505, 554] {
            assert!(!ReplyCode(code).can_end_a_transfer(), "{code}");
        }
    }

    #[test]
    fn unknown_codes_are_kept_and_have_no_meaning() {
        assert_eq!(ReplyCode(299).meaning(), None);
        assert_eq!(ReplyCode(530).meaning(), Some("Not logged in"));
        assert_eq!(ReplyCode(7).to_string(), "007");
    }
}
