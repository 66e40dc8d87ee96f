//! RFC 959 §4.1 and §5.3: commands, a verb of up to four letters and an optional argument.
//!
//! Verbs are case-insensitive (`retr`, `RETR` and `Retr` are the same command, §5.3) and are
//! separated from their argument by one space; the argument runs to the end of the line, so a
//! path may itself contain spaces. [`Command::parse`] turns a line into a [`Command`]; `Display`
//! writes the canonical line back (without CRLF).

use crate::host_port::{self, HostPortError};
use std::fmt;
use std::net::{SocketAddr, SocketAddrV4};

/// The representation type of TYPE (RFC 959 §3.1.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferType {
    /// `A` (optionally `A N`): text, lines end in CRLF on the wire.
    Ascii,
    /// `I` (or `L 8`): bytes as they are.
    Image,
    /// Anything else (`E`, `A T`, `L 36`…), kept as written.
    Other(String),
}

impl TransferType {
    fn parse(text: &str) -> TransferType {
        let upper = text.trim().to_ascii_uppercase();
        let words: Vec<&str> = upper.split_whitespace().collect();
        match words.as_slice() {
            ["A"] | ["A", "N"] => TransferType::Ascii,
            ["I"] | ["L", "8"] => TransferType::Image,
            _ => TransferType::Other(text.trim().to_owned()),
        }
    }
}

impl fmt::Display for TransferType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransferType::Ascii => f.write_str("A"),
            TransferType::Image => f.write_str("I"),
            TransferType::Other(text) => f.write_str(text),
        }
    }
}

/// A command as a client sends it. Variants are the verbs; `Unknown` keeps anything else.
///
/// The X-variants of RFC 775 (XPWD, XMKD, XRMD, XCWD, XCUP) are decoded as their RFC 959 twins.
#[allow(
    missing_docs,
    reason = "each field is the verb's one argument, named after it"
)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    User {
        name: String,
    },
    Pass {
        password: String,
    },
    Acct {
        account: String,
    },
    Rein,
    Quit,
    Noop,
    Syst,
    Stat {
        path: Option<String>,
    },
    Help {
        topic: Option<String>,
    },
    Feat,
    Opts {
        option: String,
    },
    Type {
        transfer_type: TransferType,
    },
    Mode {
        mode: String,
    },
    Stru {
        structure: String,
    },
    Port {
        addr: SocketAddrV4,
    },
    Pasv,
    Eprt {
        addr: SocketAddr,
    },
    Epsv {
        argument: Option<String>,
    },
    Retr {
        path: String,
    },
    Stor {
        path: String,
    },
    Stou,
    Appe {
        path: String,
    },
    Rest {
        offset: u64,
    },
    Size {
        path: String,
    },
    Mdtm {
        path: String,
    },
    List {
        path: Option<String>,
    },
    Nlst {
        path: Option<String>,
    },
    Mlsd {
        path: Option<String>,
    },
    Mlst {
        path: Option<String>,
    },
    Cwd {
        path: String,
    },
    Cdup,
    Pwd,
    Mkd {
        path: String,
    },
    Rmd {
        path: String,
    },
    Dele {
        path: String,
    },
    Rnfr {
        path: String,
    },
    Rnto {
        path: String,
    },
    Abor,
    Allo {
        argument: String,
    },
    Auth {
        mechanism: String,
    },
    Pbsz {
        size: String,
    },
    Prot {
        level: String,
    },
    Ccc,
    Unknown {
        verb: String,
        argument: Option<String>,
    },
}

/// A line that names a known verb but whose argument is missing or malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// The line is empty.
    #[error("empty command line")]
    Empty,
    /// The verb needs an argument and none was given.
    #[error("{verb} needs an argument")]
    MissingArgument {
        /// The verb, upper-case.
        verb: &'static str,
    },
    /// The argument is not of the form the verb takes.
    #[error("{verb}: bad argument {text:?}")]
    BadArgument {
        /// The verb, upper-case.
        verb: &'static str,
        /// The argument as given.
        text: String,
    },
    /// PORT or EPRT address that cannot be parsed.
    #[error("{verb}: {source}")]
    BadAddress {
        /// The verb, upper-case.
        verb: &'static str,
        /// Why the address is bad.
        source: HostPortError,
    },
}

impl Command {
    /// Parses one command line (without CRLF).
    ///
    /// ```
    /// use ftp_proto::Command;
    /// assert_eq!(
    ///     Command::parse("retr my file.txt"),
    ///     Ok(Command::Retr { path: "my file.txt".into() })
    /// );
    /// ```
    pub fn parse(line: &str) -> Result<Command, CommandError> {
        let (verb, argument) = split_line(line);
        if verb.is_empty() {
            return Err(CommandError::Empty);
        }
        let upper = verb.to_ascii_uppercase();
        let optional = || argument.map(str::to_owned);
        let required = |verb: &'static str| {
            argument
                .map(str::to_owned)
                .ok_or(CommandError::MissingArgument { verb })
        };
        let none = |command: Command| Ok(command);
        Ok(match upper.as_str() {
            "USER" => Command::User {
                name: required("USER")?,
            },
            // A password may legitimately be empty (anonymous clients sometimes send "PASS ").
            "PASS" => Command::Pass {
                password: argument.unwrap_or_default().to_owned(),
            },
            "ACCT" => Command::Acct {
                account: required("ACCT")?,
            },
            "REIN" => return none(Command::Rein),
            "QUIT" => return none(Command::Quit),
            "NOOP" => return none(Command::Noop),
            "SYST" => return none(Command::Syst),
            "STAT" => Command::Stat { path: optional() },
            "HELP" => Command::Help { topic: optional() },
            "FEAT" => return none(Command::Feat),
            "OPTS" => Command::Opts {
                option: required("OPTS")?,
            },
            "TYPE" => Command::Type {
                transfer_type: TransferType::parse(&required("TYPE")?),
            },
            "MODE" => Command::Mode {
                mode: required("MODE")?,
            },
            "STRU" => Command::Stru {
                structure: required("STRU")?,
            },
            "PORT" => Command::Port {
                addr: host_port::parse_port_argument(&required("PORT")?).map_err(|source| {
                    CommandError::BadAddress {
                        verb: "PORT",
                        source,
                    }
                })?,
            },
            "PASV" => return none(Command::Pasv),
            "EPRT" => Command::Eprt {
                addr: host_port::parse_eprt_argument(&required("EPRT")?).map_err(|source| {
                    CommandError::BadAddress {
                        verb: "EPRT",
                        source,
                    }
                })?,
            },
            "EPSV" => Command::Epsv {
                argument: optional(),
            },
            "RETR" => Command::Retr {
                path: required("RETR")?,
            },
            "STOR" => Command::Stor {
                path: required("STOR")?,
            },
            "STOU" => return none(Command::Stou),
            "APPE" => Command::Appe {
                path: required("APPE")?,
            },
            "REST" => {
                let text = required("REST")?;
                let offset = text
                    .trim()
                    .parse()
                    .map_err(|_| CommandError::BadArgument { verb: "REST", text })?;
                Command::Rest { offset }
            }
            "SIZE" => Command::Size {
                path: required("SIZE")?,
            },
            "MDTM" => Command::Mdtm {
                path: required("MDTM")?,
            },
            "LIST" => Command::List { path: optional() },
            "NLST" => Command::Nlst { path: optional() },
            "MLSD" => Command::Mlsd { path: optional() },
            "MLST" => Command::Mlst { path: optional() },
            "CWD" | "XCWD" => Command::Cwd {
                path: required("CWD")?,
            },
            "CDUP" | "XCUP" => return none(Command::Cdup),
            "PWD" | "XPWD" => return none(Command::Pwd),
            "MKD" | "XMKD" => Command::Mkd {
                path: required("MKD")?,
            },
            "RMD" | "XRMD" => Command::Rmd {
                path: required("RMD")?,
            },
            "DELE" => Command::Dele {
                path: required("DELE")?,
            },
            "RNFR" => Command::Rnfr {
                path: required("RNFR")?,
            },
            "RNTO" => Command::Rnto {
                path: required("RNTO")?,
            },
            "ABOR" => return none(Command::Abor),
            "ALLO" => Command::Allo {
                argument: required("ALLO")?,
            },
            "AUTH" => Command::Auth {
                mechanism: required("AUTH")?,
            },
            "PBSZ" => Command::Pbsz {
                size: required("PBSZ")?,
            },
            "PROT" => Command::Prot {
                level: required("PROT")?,
            },
            "CCC" => return none(Command::Ccc),
            _ => Command::Unknown {
                verb: upper,
                argument: optional(),
            },
        })
    }

    /// The verb as it goes on the wire, upper-case (`RETR`).
    pub fn verb(&self) -> &str {
        match self {
            Command::User { .. } => "USER",
            Command::Pass { .. } => "PASS",
            Command::Acct { .. } => "ACCT",
            Command::Rein => "REIN",
            Command::Quit => "QUIT",
            Command::Noop => "NOOP",
            Command::Syst => "SYST",
            Command::Stat { .. } => "STAT",
            Command::Help { .. } => "HELP",
            Command::Feat => "FEAT",
            Command::Opts { .. } => "OPTS",
            Command::Type { .. } => "TYPE",
            Command::Mode { .. } => "MODE",
            Command::Stru { .. } => "STRU",
            Command::Port { .. } => "PORT",
            Command::Pasv => "PASV",
            Command::Eprt { .. } => "EPRT",
            Command::Epsv { .. } => "EPSV",
            Command::Retr { .. } => "RETR",
            Command::Stor { .. } => "STOR",
            Command::Stou => "STOU",
            Command::Appe { .. } => "APPE",
            Command::Rest { .. } => "REST",
            Command::Size { .. } => "SIZE",
            Command::Mdtm { .. } => "MDTM",
            Command::List { .. } => "LIST",
            Command::Nlst { .. } => "NLST",
            Command::Mlsd { .. } => "MLSD",
            Command::Mlst { .. } => "MLST",
            Command::Cwd { .. } => "CWD",
            Command::Cdup => "CDUP",
            Command::Pwd => "PWD",
            Command::Mkd { .. } => "MKD",
            Command::Rmd { .. } => "RMD",
            Command::Dele { .. } => "DELE",
            Command::Rnfr { .. } => "RNFR",
            Command::Rnto { .. } => "RNTO",
            Command::Abor => "ABOR",
            Command::Allo { .. } => "ALLO",
            Command::Auth { .. } => "AUTH",
            Command::Pbsz { .. } => "PBSZ",
            Command::Prot { .. } => "PROT",
            Command::Ccc => "CCC",
            Command::Unknown { verb, .. } => verb,
        }
    }

    /// The argument as it goes on the wire, if any.
    pub fn argument(&self) -> Option<String> {
        match self {
            Command::User { name: s }
            | Command::Pass { password: s }
            | Command::Acct { account: s }
            | Command::Opts { option: s }
            | Command::Mode { mode: s }
            | Command::Stru { structure: s }
            | Command::Retr { path: s }
            | Command::Stor { path: s }
            | Command::Appe { path: s }
            | Command::Size { path: s }
            | Command::Mdtm { path: s }
            | Command::Cwd { path: s }
            | Command::Mkd { path: s }
            | Command::Rmd { path: s }
            | Command::Dele { path: s }
            | Command::Rnfr { path: s }
            | Command::Rnto { path: s }
            | Command::Allo { argument: s }
            | Command::Auth { mechanism: s }
            | Command::Pbsz { size: s }
            | Command::Prot { level: s } => Some(s.clone()),
            Command::Stat { path: o }
            | Command::Help { topic: o }
            | Command::Epsv { argument: o }
            | Command::List { path: o }
            | Command::Nlst { path: o }
            | Command::Mlsd { path: o }
            | Command::Mlst { path: o }
            | Command::Unknown { argument: o, .. } => o.clone(),
            Command::Type { transfer_type } => Some(transfer_type.to_string()),
            Command::Port { addr } => Some(host_port::format_host_port(*addr)),
            Command::Eprt { addr } => Some(host_port::format_eprt_argument(*addr)),
            Command::Rest { offset } => Some(offset.to_string()),
            Command::Rein
            | Command::Quit
            | Command::Noop
            | Command::Syst
            | Command::Feat
            | Command::Pasv
            | Command::Stou
            | Command::Cdup
            | Command::Pwd
            | Command::Abor
            | Command::Ccc => None,
        }
    }
}

/// Splits a command line into its verb and its argument exactly as sent: leading spaces are
/// skipped, the first space ends the verb, and an empty argument (`LIST `) counts as none.
/// The verb keeps its case. [`Command::parse`] starts here; a capture reader uses it to show
/// what a client sent even when the line does not parse.
///
/// ```
/// use ftp_proto::command::split_line;
/// assert_eq!(split_line("  stor my  file"), ("stor", Some("my  file")));
/// assert_eq!(split_line("LIST "), ("LIST", None));
/// ```
pub fn split_line(line: &str) -> (&str, Option<&str>) {
    let line = line.trim_start_matches(' ');
    match line.split_once(' ') {
        Some((verb, argument)) => (verb, Some(argument).filter(|a| !a.is_empty())),
        None => (line, None),
    }
}

impl fmt::Display for Command {
    /// The command line as it goes on the wire, without CRLF.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.argument() {
            Some(argument) => write!(f, "{} {argument}", self.verb()),
            None => f.write_str(self.verb()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn verbs_are_case_insensitive() {
        for line in ["RETR a", "retr a", "Retr a", "rEtR a"] {
            assert_eq!(Command::parse(line), Ok(Command::Retr { path: "a".into() }));
        }
    }

    #[test]
    fn arguments_keep_their_spaces() {
        assert_eq!(
            Command::parse("STOR  two  spaces .txt"),
            Ok(Command::Stor {
                path: " two  spaces .txt".into()
            })
        );
        assert_eq!(
            Command::parse("CWD My Documents").unwrap().to_string(),
            "CWD My Documents"
        );
    }

    #[test]
    fn x_variants_map_to_rfc_959_commands() {
        assert_eq!(Command::parse("XPWD"), Ok(Command::Pwd));
        assert_eq!(
            Command::parse("xmkd d"),
            Ok(Command::Mkd { path: "d".into() })
        );
        assert_eq!(
            Command::parse("XRMD d"),
            Ok(Command::Rmd { path: "d".into() })
        );
    }

    #[test]
    fn missing_and_bad_arguments_are_errors() {
        assert_eq!(
            Command::parse("RETR"),
            Err(CommandError::MissingArgument { verb: "RETR" })
        );
        assert_eq!(
            Command::parse("RETR "),
            Err(CommandError::MissingArgument { verb: "RETR" })
        );
        assert!(matches!(
            Command::parse("REST x"),
            Err(CommandError::BadArgument { .. })
        ));
        assert!(matches!(
            Command::parse("PORT 1,2,3"),
            Err(CommandError::BadAddress { .. })
        ));
        assert!(matches!(
            Command::parse("EPRT |9|x|1|"),
            Err(CommandError::BadAddress { .. })
        ));
        assert_eq!(Command::parse(""), Err(CommandError::Empty));
    }

    #[test]
    fn type_forms() {
        let ty = |line| match Command::parse(line) {
            Ok(Command::Type { transfer_type }) => transfer_type,
            other => panic!("{other:?}"),
        };
        assert_eq!(ty("TYPE A"), TransferType::Ascii);
        assert_eq!(ty("type a n"), TransferType::Ascii);
        assert_eq!(ty("TYPE I"), TransferType::Image);
        assert_eq!(ty("TYPE L 8"), TransferType::Image);
        assert_eq!(ty("TYPE E"), TransferType::Other("E".into()));
    }

    #[test]
    fn unknown_verbs_are_kept() {
        assert_eq!(
            Command::parse("site chmod 644 f"),
            Ok(Command::Unknown {
                verb: "SITE".into(),
                argument: Some("chmod 644 f".into())
            })
        );
        // The private dialect of the project this grew from: unknown, not PORT.
        assert!(matches!(
            Command::parse("port"),
            Err(CommandError::MissingArgument { .. })
        ));
    }

    #[test]
    fn empty_password_is_allowed() {
        assert_eq!(
            Command::parse("PASS"),
            Ok(Command::Pass {
                password: String::new()
            })
        );
    }

    fn path() -> impl Strategy<Value = String> {
        "[!-~][ -~]{0,30}"
    }

    fn command() -> impl Strategy<Value = Command> {
        let addr4 = any::<(u32, u16)>()
            .prop_map(|(ip, port)| SocketAddrV4::new(std::net::Ipv4Addr::from(ip), port));
        prop_oneof![
            path().prop_map(|name| Command::User { name }),
            path().prop_map(|path| Command::Retr { path }),
            path().prop_map(|path| Command::Stor { path }),
            path().prop_map(|path| Command::Rnto { path }),
            proptest::option::of(path()).prop_map(|path| Command::List { path }),
            proptest::option::of(path()).prop_map(|path| Command::Mlsd { path }),
            any::<u64>().prop_map(|offset| Command::Rest { offset }),
            addr4.prop_map(|addr| Command::Port { addr }),
            any::<(u32, u16)>().prop_map(|(ip, port)| Command::Eprt {
                addr: SocketAddr::new(std::net::Ipv4Addr::from(ip).into(), port)
            }),
            Just(Command::Pasv),
            Just(Command::Quit),
            Just(Command::Type {
                transfer_type: TransferType::Image
            }),
            "[A-Z]{3,4}"
                .prop_filter("known verbs", |v| {
                    matches!(Command::parse(v), Ok(Command::Unknown { .. }))
                })
                .prop_map(|verb| Command::Unknown {
                    verb,
                    argument: None
                }),
        ]
    }

    proptest! {
        #[test]
        fn parse_of_display_is_identity(command in command()) {
            prop_assert_eq!(Command::parse(&command.to_string()), Ok(command));
        }

        #[test]
        fn parse_never_panics(line in "\\PC{0,60}") {
            let _ = Command::parse(&line);
        }
    }
}
