//! The user commands of the shell and of scripts: parsing a typed line, `help`, and running a
//! command on a [`Session`].

use crate::data::DataMode;
use crate::error::ClientError;
use crate::session::{ListKind, Outcome, PutMode, Session};
use ftp_proto::Command;

/// One entry of `help`: the command, its aliases, usage, what it does, what it sends.
#[derive(Debug)]
pub struct HelpEntry {
    /// The name typed.
    pub name: &'static str,
    /// Other names for the same command.
    pub aliases: &'static [&'static str],
    /// Arguments, `[optional]`.
    pub usage: &'static str,
    /// What it does.
    pub summary: &'static str,
    /// The FTP commands it sends (RFC 959 unless noted).
    pub sends: &'static str,
}

const fn entry(
    name: &'static str,
    aliases: &'static [&'static str],
    usage: &'static str,
    summary: &'static str,
    sends: &'static str,
) -> HelpEntry {
    HelpEntry {
        name,
        aliases,
        usage,
        summary,
        sends,
    }
}

const DATA: &str = "a data connection: EPSV (PASV if refused) in passive mode, EPRT (PORT if \
                    refused) in active mode";

/// Every command, in the order `help` lists them.
pub const HELP: &[HelpEntry] = &[
    entry(
        "open",
        &[],
        "HOST [PORT]",
        "connect to a server (port 21 by default)",
        "nothing until the server's 220 greeting; then `user`",
    ),
    entry(
        "user",
        &["login"],
        "NAME [PASSWORD]",
        "log in (asks the password without echo)",
        "USER NAME, then PASS when the server replies 331",
    ),
    entry(
        "close",
        &["disconnect"],
        "",
        "end the session, stay in the shell",
        "QUIT",
    ),
    entry("pwd", &[], "", "show the remote folder", "PWD"),
    entry("cd", &["cwd"], "DIR", "change the remote folder", "CWD DIR"),
    entry("cdup", &[], "", "go to the parent remote folder", "CDUP"),
    entry(
        "ls",
        &["dir", "list"],
        "[PATH]",
        "list a remote folder, long form",
        "LIST [PATH] over a data connection",
    ),
    entry(
        "nls",
        &["nlist"],
        "[PATH]",
        "list names only",
        "NLST [PATH] over a data connection",
    ),
    entry(
        "mls",
        &["mlsd"],
        "[PATH]",
        "list with machine-readable facts (RFC 3659)",
        "MLSD [PATH] over a data connection",
    ),
    entry(
        "get",
        &["recv"],
        "REMOTE [LOCAL|-]",
        "download a file (to LOCAL.part, renamed when complete; - is stdout)",
        "TYPE, then RETR REMOTE over a data connection",
    ),
    entry(
        "put",
        &["send"],
        "LOCAL [REMOTE]",
        "upload a file",
        "TYPE, then STOR REMOTE over a data connection",
    ),
    entry(
        "mget",
        &[],
        "PATTERN...",
        "download every remote file matching a glob (*.txt, pub/a?.bin)",
        "NLST of the folder to match names, then RETR for each",
    ),
    entry(
        "mput",
        &[],
        "PATTERN...",
        "upload every local file matching a glob",
        "STOR for each file",
    ),
    entry(
        "append",
        &[],
        "LOCAL [REMOTE]",
        "add a local file to the end of a remote one",
        "APPE REMOTE over a data connection",
    ),
    entry(
        "reget",
        &[],
        "REMOTE [LOCAL]",
        "resume a download from the size of LOCAL.part (or LOCAL)",
        "REST OFFSET (RFC 3659), then RETR REMOTE",
    ),
    entry(
        "reput",
        &[],
        "LOCAL [REMOTE]",
        "resume an upload from the remote file's size",
        "SIZE REMOTE, REST OFFSET, then STOR REMOTE",
    ),
    entry(
        "delete",
        &["rm", "del"],
        "PATH",
        "delete a remote file",
        "DELE PATH",
    ),
    entry("mkdir", &["mkd"], "DIR", "make a remote folder", "MKD DIR"),
    entry(
        "rmdir",
        &["rmd"],
        "DIR",
        "remove an empty remote folder",
        "RMD DIR",
    ),
    entry(
        "rename",
        &["mv"],
        "FROM TO",
        "rename a remote file or folder",
        "RNFR FROM, then RNTO TO",
    ),
    entry(
        "size",
        &[],
        "PATH",
        "size of a remote file in bytes",
        "TYPE I, then SIZE PATH (RFC 3659)",
    ),
    entry(
        "modtime",
        &["mdtm"],
        "PATH",
        "last modification time of a remote file",
        "MDTM PATH (RFC 3659)",
    ),
    entry(
        "binary",
        &["image"],
        "",
        "transfer bytes as they are (the default)",
        "TYPE I",
    ),
    entry(
        "ascii",
        &[],
        "",
        "transfer text, converting line ends",
        "TYPE A",
    ),
    entry(
        "passive",
        &[],
        "",
        "the server listens, we connect (the default; works behind NAT)",
        "nothing now; EPSV (or PASV) before each transfer",
    ),
    entry(
        "active",
        &[],
        "",
        "we listen, the server connects",
        "nothing now; EPRT (or PORT) before each transfer",
    ),
    entry(
        "status",
        &[],
        "",
        "connection, transfer type, mode and the last data-connection addresses",
        "nothing (local)",
    ),
    entry(
        "system",
        &["syst"],
        "",
        "the server's operating system type",
        "SYST",
    ),
    entry("noop", &[], "", "check the connection is alive", "NOOP"),
    entry(
        "quote",
        &["literal"],
        "LINE",
        "send any command line as typed (for labs)",
        "LINE itself",
    ),
    entry(
        "debug",
        &[],
        "[on|off]",
        "show every command sent, reply received and data connection",
        "nothing",
    ),
    entry(
        "lcd",
        &[],
        "[DIR]",
        "change or show the local folder",
        "nothing (local)",
    ),
    entry(
        "help",
        &["?"],
        "[COMMAND]",
        "list commands, or explain one",
        "nothing",
    ),
    entry(
        "bye",
        &["quit", "exit"],
        "",
        "end the session and leave",
        "QUIT",
    ),
];

/// Finds a help entry by name or alias.
pub fn help_entry(name: &str) -> Option<&'static HelpEntry> {
    let name = name.to_ascii_lowercase();
    HELP.iter()
        .find(|e| e.name == name || e.aliases.contains(&name.as_str()))
}

/// All names and aliases, for tab completion.
pub fn command_names() -> Vec<&'static str> {
    HELP.iter()
        .flat_map(|e| std::iter::once(e.name).chain(e.aliases.iter().copied()))
        .collect()
}

/// The text of `help` (all commands) or `help CMD`.
pub fn help_text(topic: Option<&str>) -> Result<String, ClientError> {
    match topic {
        None => {
            let mut out =
                String::from("commands (help CMD tells more and which FTP commands it sends):\n");
            for e in HELP {
                out.push_str(&format!("  {:<9}{:<20}{}\n", e.name, e.usage, e.summary));
            }
            Ok(out.trim_end().to_owned())
        }
        Some(name) => {
            let e = help_entry(name).ok_or_else(|| unknown(name))?;
            let mut out = format!(
                "{} {}\n  {}\n  sends: {}",
                e.name, e.usage, e.summary, e.sends
            );
            if e.sends.contains("data connection") {
                out.push_str(&format!("\n  (with {DATA})"));
            }
            if !e.aliases.is_empty() {
                out.push_str(&format!("\n  also: {}", e.aliases.join(", ")));
            }
            Ok(out)
        }
    }
}

fn unknown(name: &str) -> ClientError {
    ClientError::Usage(format!(
        "unknown command {name:?}: `help` lists the commands; `quote {name} ...` sends a raw FTP line"
    ))
}

/// A parsed user command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserCommand {
    /// `open HOST [PORT]`
    Open { host: String, port: u16 },
    /// `user NAME [PASSWORD]`
    User {
        name: String,
        password: Option<String>,
    },
    /// `close`
    Close,
    /// `pwd`
    Pwd,
    /// `cd DIR`
    Cd { path: String },
    /// `cdup`
    Cdup,
    /// `ls`, `nls`, `mls`
    List {
        kind: ListKind,
        path: Option<String>,
    },
    /// `get`, `reget`
    Get {
        remote: String,
        local: Option<String>,
        resume: bool,
    },
    /// `put`, `append`, `reput`
    Put {
        local: String,
        remote: Option<String>,
        mode: PutMode,
    },
    /// `mget PATTERN...`
    Mget { patterns: Vec<String> },
    /// `mput PATTERN...`
    Mput { patterns: Vec<String> },
    /// `delete PATH`
    Delete { path: String },
    /// `mkdir DIR`
    Mkdir { path: String },
    /// `rmdir DIR`
    Rmdir { path: String },
    /// `rename FROM TO`
    Rename { from: String, to: String },
    /// `size PATH`
    Size { path: String },
    /// `modtime PATH`
    Modtime { path: String },
    /// `binary` / `ascii`
    Binary(bool),
    /// `passive` / `active`
    Mode(DataMode),
    /// `status`
    Status,
    /// `system`
    System,
    /// `noop`
    Noop,
    /// `quote LINE`
    Quote { line: String },
    /// `debug [on|off]`
    Debug(Option<bool>),
    /// `lcd [DIR]`
    Lcd { path: Option<String> },
    /// `help [CMD]`
    Help { topic: Option<String> },
    /// `bye`
    Quit,
}

impl UserCommand {
    /// Parses a typed line. Words are split like a shell (quotes keep spaces); `quote` keeps the
    /// rest of the line exactly. `Ok(None)` for an empty line or a comment.
    pub fn parse(line: &str) -> Result<Option<UserCommand>, ClientError> {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return Ok(None);
        }
        let (first, rest) = match line.split_once(char::is_whitespace) {
            Some((f, r)) => (f, r.trim_start()),
            None => (line, ""),
        };
        let Some(entry) = help_entry(first) else {
            return Err(unknown(first));
        };
        if entry.name == "quote" {
            if rest.is_empty() {
                return Err(usage(entry));
            }
            return Ok(Some(UserCommand::Quote {
                line: rest.to_owned(),
            }));
        }
        let args = shlex::split(rest)
            .ok_or_else(|| ClientError::Usage(format!("unbalanced quotes in {line:?}")))?;
        let n = args.len();
        let arg = |i: usize| args.get(i).cloned();
        let need = |min: usize, max: usize| {
            if n < min || n > max {
                Err(usage(entry))
            } else {
                Ok(())
            }
        };
        let required = |i: usize| arg(i).ok_or_else(|| usage(entry));
        let command = match entry.name {
            "open" => {
                need(1, 2)?;
                let port = match arg(1) {
                    Some(p) => p.parse().map_err(|_| {
                        ClientError::Usage(format!("{p:?} is not a port number (1-65535)"))
                    })?,
                    None => 21,
                };
                UserCommand::Open {
                    host: required(0)?,
                    port,
                }
            }
            "user" => {
                need(1, 2)?;
                UserCommand::User {
                    name: required(0)?,
                    password: arg(1),
                }
            }
            "close" => simple(need(0, 0), UserCommand::Close)?,
            "pwd" => simple(need(0, 0), UserCommand::Pwd)?,
            "cd" => {
                need(1, 1)?;
                UserCommand::Cd { path: required(0)? }
            }
            "cdup" => simple(need(0, 0), UserCommand::Cdup)?,
            "ls" | "nls" | "mls" => {
                need(0, 1)?;
                let kind = match entry.name {
                    "ls" => ListKind::List,
                    "nls" => ListKind::Nlst,
                    _ => ListKind::Mlsd,
                };
                UserCommand::List { kind, path: arg(0) }
            }
            "get" | "reget" => {
                need(1, 2)?;
                UserCommand::Get {
                    remote: required(0)?,
                    local: arg(1),
                    resume: entry.name == "reget",
                }
            }
            "put" | "append" | "reput" => {
                need(1, 2)?;
                let mode = match entry.name {
                    "put" => PutMode::Store,
                    "append" => PutMode::Append,
                    _ => PutMode::Resume,
                };
                UserCommand::Put {
                    local: required(0)?,
                    remote: arg(1),
                    mode,
                }
            }
            "mget" | "mput" => {
                if n == 0 {
                    return Err(usage(entry));
                }
                if entry.name == "mget" {
                    UserCommand::Mget {
                        patterns: args.clone(),
                    }
                } else {
                    UserCommand::Mput {
                        patterns: args.clone(),
                    }
                }
            }
            "delete" => {
                need(1, 1)?;
                UserCommand::Delete { path: required(0)? }
            }
            "mkdir" => {
                need(1, 1)?;
                UserCommand::Mkdir { path: required(0)? }
            }
            "rmdir" => {
                need(1, 1)?;
                UserCommand::Rmdir { path: required(0)? }
            }
            "rename" => {
                need(2, 2)?;
                UserCommand::Rename {
                    from: required(0)?,
                    to: required(1)?,
                }
            }
            "size" => {
                need(1, 1)?;
                UserCommand::Size { path: required(0)? }
            }
            "modtime" => {
                need(1, 1)?;
                UserCommand::Modtime { path: required(0)? }
            }
            "binary" => simple(need(0, 0), UserCommand::Binary(true))?,
            "ascii" => simple(need(0, 0), UserCommand::Binary(false))?,
            "passive" => simple(need(0, 0), UserCommand::Mode(DataMode::Passive))?,
            "active" => simple(need(0, 0), UserCommand::Mode(DataMode::Active))?,
            "status" => simple(need(0, 0), UserCommand::Status)?,
            "system" => simple(need(0, 0), UserCommand::System)?,
            "noop" => simple(need(0, 0), UserCommand::Noop)?,
            "debug" => {
                need(0, 1)?;
                let on = match arg(0).as_deref() {
                    None => None,
                    Some("on") => Some(true),
                    Some("off") => Some(false),
                    Some(_) => return Err(usage(entry)),
                };
                UserCommand::Debug(on)
            }
            "lcd" => {
                need(0, 1)?;
                UserCommand::Lcd { path: arg(0) }
            }
            "help" => {
                need(0, 1)?;
                UserCommand::Help { topic: arg(0) }
            }
            "bye" => simple(need(0, 0), UserCommand::Quit)?,
            other => return Err(unknown(other)),
        };
        Ok(Some(command))
    }
}

fn simple(
    check: Result<(), ClientError>,
    command: UserCommand,
) -> Result<UserCommand, ClientError> {
    check.map(|()| command)
}

fn usage(entry: &HelpEntry) -> ClientError {
    ClientError::Usage(format!(
        "usage: {} {} ({})",
        entry.name, entry.usage, entry.summary
    ))
}

/// Where a password comes from when `user` needs one.
pub trait PasswordSource {
    /// Asks for (or reads) the password for `user`.
    fn password(&mut self, user: &str) -> Result<String, ClientError>;
}

/// Runs one command. `collect` keeps listings in the outcome (JSON mode) instead of printing
/// them. `Quit` is handled by the caller.
pub fn execute(
    session: &mut Session,
    command: &UserCommand,
    passwords: &mut dyn PasswordSource,
    collect: bool,
) -> Result<Outcome, ClientError> {
    match command {
        UserCommand::Open { host, port } => session.open(host, *port),
        UserCommand::User { name, password } => session.login(name, || match password {
            Some(p) => Ok(p.clone()),
            None => passwords.password(name),
        }),
        UserCommand::Close => session.close(),
        UserCommand::Pwd => session.pwd(),
        UserCommand::Cd { path } => session.run_simple(Command::Cwd { path: path.clone() }),
        UserCommand::Cdup => session.run_simple(Command::Cdup),
        UserCommand::List { kind, path } => session.list(*kind, path.as_deref(), collect),
        UserCommand::Get {
            remote,
            local,
            resume,
        } => session.get(remote, local.as_deref(), *resume),
        UserCommand::Put {
            local,
            remote,
            mode,
        } => session.put(local, remote.as_deref(), *mode),
        UserCommand::Mget { patterns } => session.mget(patterns),
        UserCommand::Mput { patterns } => session.mput(patterns),
        UserCommand::Delete { path } => session.run_simple(Command::Dele { path: path.clone() }),
        UserCommand::Mkdir { path } => session.run_simple(Command::Mkd { path: path.clone() }),
        UserCommand::Rmdir { path } => session.run_simple(Command::Rmd { path: path.clone() }),
        UserCommand::Rename { from, to } => session.rename(from, to),
        UserCommand::Size { path } => session.size(path).map(|(size, reply)| Outcome {
            reply: Some((&reply).into()),
            bytes: Some(size),
            ..Outcome::default()
        }),
        UserCommand::Modtime { path } => session.modtime(path),
        UserCommand::Binary(binary) => session.set_binary(*binary),
        UserCommand::Mode(mode) => {
            session.settings.mode = *mode;
            Ok(message(format!("{mode} mode")))
        }
        UserCommand::Status => Ok(session.status()),
        UserCommand::System => session.run_simple(Command::Syst),
        UserCommand::Noop => session.run_simple(Command::Noop),
        UserCommand::Quote { line } => session.quote(line),
        UserCommand::Debug(on) => {
            session.trace.debug = on.unwrap_or(!session.trace.debug);
            Ok(message(format!(
                "debug {}",
                if session.trace.debug { "on" } else { "off" }
            )))
        }
        UserCommand::Lcd { path } => session.lcd(path.as_deref().unwrap_or(".")),
        UserCommand::Help { topic } => help_text(topic.as_deref()).map(message),
        UserCommand::Quit => {
            if session.is_connected() {
                session.close()
            } else {
                Ok(Outcome::default())
            }
        }
    }
}

fn message(text: String) -> Outcome {
    Outcome {
        message: Some(text),
        ..Outcome::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_split_like_a_shell() {
        assert_eq!(
            UserCommand::parse(r#"get "my file.txt" copy.txt"#)
                .ok()
                .flatten(),
            Some(UserCommand::Get {
                remote: "my file.txt".into(),
                local: Some("copy.txt".into()),
                resume: false
            })
        );
    }

    #[test]
    fn quote_keeps_the_line_as_typed() {
        assert_eq!(
            UserCommand::parse("quote SITE  chmod 644 \"x\"")
                .ok()
                .flatten(),
            Some(UserCommand::Quote {
                line: "SITE  chmod 644 \"x\"".into()
            })
        );
    }

    #[test]
    fn missing_argument_gets_a_usage_line() {
        let error = UserCommand::parse("get").err().map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some(
                "usage: get REMOTE [LOCAL|-] (download a file (to LOCAL.part, renamed when complete; - is stdout))"
            )
        );
    }

    #[test]
    fn unknown_command_gets_a_hint() {
        let error = UserCommand::parse("frobnicate x")
            .err()
            .map(|e| e.to_string());
        assert!(error.is_some_and(|e| e.contains("`help` lists the commands")));
    }

    #[test]
    fn aliases_and_case_are_accepted() {
        assert_eq!(
            UserCommand::parse("DIR pub").ok().flatten(),
            Some(UserCommand::List {
                kind: ListKind::List,
                path: Some("pub".into())
            })
        );
        assert_eq!(UserCommand::parse("  # a comment").ok().flatten(), None);
    }

    #[test]
    fn help_says_which_ftp_commands_are_sent() {
        let text = help_text(Some("reget")).unwrap_or_default();
        assert!(text.contains("REST OFFSET"), "{text}");
        for entry in HELP {
            assert!(help_text(Some(entry.name)).is_ok());
        }
    }
}
