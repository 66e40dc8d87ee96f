//! Data connections as commands name them: which commands open one and which way the bytes flow
//! (RFC 959 §3.2, §4.1.3), and the argument of EPSV (RFC 2428 §3).

use crate::command::Command;
use std::fmt;

/// Which way a data connection carries its bytes, from the command that opened it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataDirection {
    /// RETR: a file, server to client.
    Download,
    /// STOR, STOU, APPE: a file, client to server.
    Upload,
    /// LIST, NLST, MLSD: a directory listing, server to client, as text.
    Listing,
}

impl DataDirection {
    /// The direction a verb implies (any case), `None` for verbs that open no data connection.
    ///
    /// [`Command::data_direction`] is the usual way in; this is for lines that did not parse
    /// (`RETR` without a path), which a capture reader still wants to pair with their reply.
    pub fn of_verb(verb: &str) -> Option<DataDirection> {
        const VERBS: [(&str, DataDirection); 7] = [
            ("RETR", DataDirection::Download),
            ("STOR", DataDirection::Upload),
            ("STOU", DataDirection::Upload),
            ("APPE", DataDirection::Upload),
            ("LIST", DataDirection::Listing),
            ("NLST", DataDirection::Listing),
            ("MLSD", DataDirection::Listing),
        ];
        VERBS
            .iter()
            .find(|(v, _)| v.eq_ignore_ascii_case(verb))
            .map(|(_, direction)| *direction)
    }

    /// `download`, `upload` or `listing`.
    pub fn as_str(self) -> &'static str {
        match self {
            DataDirection::Download => "download",
            DataDirection::Upload => "upload",
            DataDirection::Listing => "listing",
        }
    }
}

/// The argument of EPSV (RFC 2428 §3): a network protocol for the data connection, or `ALL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EpsvArgument {
    /// `ALL`: from now on the client sends only EPSV (no PORT, PASV, EPRT), so NATs may relax.
    All,
    /// `1`: an IPv4 data connection.
    Ipv4,
    /// `2`: an IPv6 data connection.
    Ipv6,
    /// Any other protocol number or word, trimmed, kept as written (the server answers 522).
    Other(String),
}

impl EpsvArgument {
    /// Reads the argument of EPSV: `ALL` in any case, `1`, `2`, surrounding spaces ignored.
    pub fn parse(text: &str) -> EpsvArgument {
        match text.trim() {
            "1" => EpsvArgument::Ipv4,
            "2" => EpsvArgument::Ipv6,
            all if all.eq_ignore_ascii_case("ALL") => EpsvArgument::All,
            other => EpsvArgument::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for EpsvArgument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EpsvArgument::All => f.write_str("ALL"),
            EpsvArgument::Ipv4 => f.write_str("1"),
            EpsvArgument::Ipv6 => f.write_str("2"),
            EpsvArgument::Other(text) => f.write_str(text),
        }
    }
}

impl Command {
    /// The direction of the data connection this command opens, `None` when it opens none.
    ///
    /// ```
    /// use ftp_proto::{Command, DataDirection};
    /// assert_eq!(Command::Stou.data_direction(), Some(DataDirection::Upload));
    /// assert_eq!(Command::Pasv.data_direction(), None);
    /// ```
    pub fn data_direction(&self) -> Option<DataDirection> {
        match self {
            Command::Retr { .. } => Some(DataDirection::Download),
            Command::Stor { .. } | Command::Stou | Command::Appe { .. } => {
                Some(DataDirection::Upload)
            }
            Command::List { .. } | Command::Nlst { .. } | Command::Mlsd { .. } => {
                Some(DataDirection::Listing)
            }
            _ => None,
        }
    }

    /// The argument of an EPSV command, typed; `None` for a bare EPSV or another command.
    pub fn epsv_argument(&self) -> Option<EpsvArgument> {
        match self {
            Command::Epsv {
                argument: Some(text),
            } => Some(EpsvArgument::parse(text)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn transfer_commands_have_a_direction() {
        let direction = |line| Command::parse(line).unwrap().data_direction();
        assert_eq!(direction("retr a"), Some(DataDirection::Download));
        assert_eq!(direction("STOR a"), Some(DataDirection::Upload));
        assert_eq!(direction("STOU"), Some(DataDirection::Upload));
        assert_eq!(direction("appe a"), Some(DataDirection::Upload));
        assert_eq!(direction("LIST"), Some(DataDirection::Listing));
        assert_eq!(direction("NLST -la"), Some(DataDirection::Listing));
        assert_eq!(direction("MLSD /"), Some(DataDirection::Listing));
        for line in [
            "MLST a",
            "SIZE a",
            "PASV",
            "EPSV",
            "PORT 1,2,3,4,5,6",
            "SITE RETR",
        ] {
            assert_eq!(direction(line), None, "{line}");
        }
    }

    #[test]
    fn verbs_of_lines_that_did_not_parse_have_a_direction() {
        assert_eq!(
            DataDirection::of_verb("retr"),
            Some(DataDirection::Download)
        );
        assert_eq!(DataDirection::of_verb("Stor"), Some(DataDirection::Upload));
        assert_eq!(DataDirection::of_verb("RETRX"), None);
        assert_eq!(DataDirection::of_verb(""), None);
    }

    #[test]
    fn direction_of_verb_agrees_with_direction_of_command() {
        for line in [
            "RETR a", "STOR a", "STOU", "APPE a", "LIST", "NLST", "MLSD", "MLST", "CWD a",
        ] {
            let command = Command::parse(line).unwrap();
            assert_eq!(
                DataDirection::of_verb(command.verb()),
                command.data_direction()
            );
        }
    }

    #[test]
    fn epsv_arguments_are_typed() {
        let argument = |line| Command::parse(line).unwrap().epsv_argument();
        assert_eq!(argument("EPSV"), None);
        assert_eq!(argument("EPSV ALL"), Some(EpsvArgument::All));
        assert_eq!(argument("epsv all"), Some(EpsvArgument::All));
        assert_eq!(argument("EPSV 1"), Some(EpsvArgument::Ipv4));
        assert_eq!(argument("EPSV  2 "), Some(EpsvArgument::Ipv6));
        assert_eq!(argument("EPSV 3"), Some(EpsvArgument::Other("3".into())));
        assert_eq!(argument("EPSV 01"), Some(EpsvArgument::Other("01".into())));
        assert_eq!(argument("EPSV  "), Some(EpsvArgument::Other(String::new())));
        assert_eq!(Command::Pasv.epsv_argument(), None);
    }

    fn epsv_argument() -> impl Strategy<Value = EpsvArgument> {
        prop_oneof![
            Just(EpsvArgument::All),
            Just(EpsvArgument::Ipv4),
            Just(EpsvArgument::Ipv6),
            "[!-~]([ -~]{0,8}[!-~])?"
                .prop_filter("not a named argument", |t| {
                    !matches!(t.as_str(), "1" | "2") && !t.eq_ignore_ascii_case("ALL")
                })
                .prop_map(EpsvArgument::Other),
        ]
    }

    proptest! {
        #[test]
        fn parse_of_display_is_identity(argument in epsv_argument()) {
            prop_assert_eq!(EpsvArgument::parse(&argument.to_string()), argument.clone());
            let command = Command::parse(&format!("EPSV {argument}")).unwrap();
            prop_assert_eq!(command.epsv_argument(), Some(argument));
        }
    }
}
