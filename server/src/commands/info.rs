//! RFC 959 §4.1.3, RFC 2389 and RFC 2640: STAT, HELP, FEAT, OPTS.

use crate::config::TlsPolicy;
use crate::session::{
    Action, DataProtection, DataSetup, Handled, LoginState, Representation, Security, Session,
    reply,
};
use ftp_proto::{Reply, ReplyCode};

/// Every command the server implements, with a one-line description for HELP.
const COMMANDS: &[(&str, &str)] = &[
    ("ABOR", "abort the transfer in progress"),
    ("ACCT", "send account information (not needed here)"),
    ("ALLO", "allocate storage (not needed here)"),
    ("APPE", "<path>: append uploaded data to a file"),
    (
        "AUTH",
        "<TLS|SSL>: start TLS on the control connection (RFC 4217)",
    ),
    ("CCC", "clear the control connection (always refused)"),
    ("CDUP", "go to the parent folder"),
    ("CWD", "<path>: change the working folder"),
    ("DELE", "<path>: delete a file"),
    (
        "EPRT",
        "|af|address|port|: active mode, IPv4 or IPv6 (RFC 2428)",
    ),
    ("EPSV", "[ALL]: passive mode, IPv4 or IPv6 (RFC 2428)"),
    ("FEAT", "list the extensions this server supports"),
    ("HELP", "[command]: this list, or help on one command"),
    (
        "LIST",
        "[path]: long listing (ls -l style) over the data connection",
    ),
    ("MDTM", "<path>: modification time of a file (UTC)"),
    ("MKD", "<path>: make a folder (also XMKD)"),
    ("MLSD", "[path]: machine-readable folder listing (RFC 3659)"),
    (
        "MLST",
        "[path]: machine-readable facts of one entry (RFC 3659)",
    ),
    ("MODE", "<S>: transfer mode (stream only)"),
    ("NLST", "[path]: names only over the data connection"),
    ("NOOP", "do nothing, answer 200"),
    ("OPTS", "<UTF8 ON|MLST facts>: set options"),
    ("PASS", "<password>: the password (sent in clear text!)"),
    ("PBSZ", "<0>: protection buffer size, 0 with TLS (RFC 4217)"),
    (
        "PASV",
        "passive mode: the server listens, the client connects",
    ),
    (
        "PORT",
        "h1,h2,h3,h4,p1,p2: active mode: the server connects to the client",
    ),
    ("PROT", "<P|C>: data connections in TLS (P) or in clear (C)"),
    ("PWD", "print the working folder (also XPWD)"),
    ("QUIT", "log out and close the connection"),
    ("REIN", "log out, keep the connection"),
    ("REST", "<offset>: start the next RETR/STOR at this byte"),
    ("RETR", "<path>: download a file"),
    ("RMD", "<path>: remove an empty folder (also XRMD)"),
    ("RNFR", "<path>: rename from (then RNTO)"),
    ("RNTO", "<path>: rename to"),
    ("SIZE", "<path>: size of a file in bytes"),
    (
        "STAT",
        "[path]: session status, or a listing over the control connection",
    ),
    ("STOR", "<path>: upload a file"),
    ("STOU", "upload a file under a unique name"),
    ("STRU", "<F>: file structure (file only)"),
    ("SYST", "the system type"),
    ("TYPE", "<A|I>: ASCII (CRLF line ends) or binary (image)"),
    ("USER", "<name>: the user name (sent in clear text!)"),
];

impl Session {
    pub(crate) fn stat(&mut self) -> Handled {
        let who = match &self.state {
            LoginState::LoggedIn { user } => format!("Logged in as {}", user.name),
            LoginState::AwaitingPassword { username } => {
                format!("Waiting for the password of {username}")
            }
            LoginState::AwaitingUser => "Not logged in".to_owned(),
        };
        let representation = match self.representation {
            Representation::Ascii => "ASCII",
            Representation::Image => "BINARY",
        };
        let data = match &self.data {
            Some(DataSetup::Active(addr)) => format!("active, to {addr}"),
            Some(DataSetup::Passive(addr)) => format!("passive, listening on {addr}"),
            None => "none set up".to_owned(),
        };
        let mut lines = vec![
            "ftplab ftp-server status:".to_owned(),
            format!("Connected from {}", self.peer),
            who,
            format!("TYPE: {representation}, MODE: Stream, STRUcture: File"),
            format!("Data connection: {data}"),
            self.security_status(),
        ];
        if let Some(last) = &self.last_data {
            lines.push(format!("Last transfer: {last}"));
        }
        lines.push("End of status.".to_owned());
        Ok(Action::Reply(Reply::multiline(
            ReplyCode::SYSTEM_STATUS,
            lines,
        )))
    }

    /// One STAT line on what TLS protects in this session.
    fn security_status(&self) -> String {
        let control = match (&self.security, &self.control_tls) {
            (Security::Protected { .. }, Some(tls)) => format!("Control connection: TLS ({tls})"),
            _ => "Control connection: NOT encrypted".to_owned(),
        };
        let data = match self.security {
            Security::Protected {
                data: DataProtection::Private,
            } => "data connections: TLS (PROT P)",
            _ => "data connections: NOT encrypted",
        };
        format!("{control}; {data}.")
    }

    pub(crate) fn help(&mut self, topic: Option<&str>) -> Handled {
        if let Some(topic) = topic {
            let verb = topic.trim().to_ascii_uppercase();
            return match COMMANDS.iter().find(|(name, _)| *name == verb) {
                Some((name, text)) => reply(ReplyCode::HELP, format!("{name} {text}")),
                None => reply(
                    ReplyCode::SYNTAX_ERROR_ARGS,
                    format!("Unknown command {verb:?}."),
                ),
            };
        }
        let mut lines = vec!["The following commands are recognized:".to_owned()];
        for chunk in COMMANDS.chunks(8) {
            let names: Vec<String> = chunk.iter().map(|(name, _)| format!("{name:<5}")).collect();
            lines.push(names.join(" ").trim_end().to_owned());
        }
        lines.push("Help OK. HELP <command> explains one.".to_owned());
        Ok(Action::Reply(Reply::multiline(ReplyCode::HELP, lines)))
    }

    pub(crate) fn feat(&mut self) -> Handled {
        // RFC 4217 §6: a server that offers TLS lists AUTH TLS, PBSZ and PROT.
        let tls: &[&str] = if self.config.tls.control == TlsPolicy::Off {
            &[]
        } else {
            &["AUTH TLS", "PBSZ", "PROT"]
        };
        let lines = ["Features:"].iter().chain(tls).chain(&[
            "EPRT",
            "EPSV",
            "MDTM",
            "MLST type*;size*;modify*;perm*;unix.mode*;",
            "PASV",
            "REST STREAM",
            "SIZE",
            "TVFS",
            "UTF8",
            "End",
        ]);
        Ok(Action::Reply(Reply::multiline(
            ReplyCode::SYSTEM_STATUS,
            lines.map(|l| (*l).to_owned()).collect(),
        )))
    }

    pub(crate) fn opts(&mut self, option: &str) -> Handled {
        let upper = option.trim().to_ascii_uppercase();
        if upper == "UTF8 ON" || upper == "UTF8" {
            reply(ReplyCode::OK, "Always in UTF8 mode.")
        } else if upper.starts_with("MLST") {
            // Facts are always all sent; acknowledging keeps clients that ask happy.
            reply(ReplyCode::OK, "MLST OPTS type;size;modify;perm;unix.mode;")
        } else {
            reply(
                ReplyCode::SYNTAX_ERROR_ARGS,
                format!("Option {option:?} not understood."),
            )
        }
    }
}
