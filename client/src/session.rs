//! A session with one server: the state of the control connection and the FTP command sequences
//! behind each user command (login, transfers, listings, files).

mod transfers;

pub use transfers::{base_name, part_path};

use crate::control::ControlConnection;
use crate::data::{DataAddresses, DataMode};
use crate::error::ClientError;
use crate::tls::{ClientTls, TlsOptions, TrustPrompt};
use crate::trace::Trace;
use ftp_proto::size_reply::parse_size_reply;
use ftp_proto::{Command, QuotedPath, Reply, ReplyCode, TimeVal, TransferType};
use serde::Serialize;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Settings the user can change during a session.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Passive or active data connections.
    pub mode: DataMode,
    /// TYPE I (true) or TYPE A.
    pub binary: bool,
    /// How long to wait for a connection or a reply.
    pub timeout: Duration,
    /// At most this many bytes per second per transfer.
    pub limit_rate: Option<u64>,
    /// Show progress bars (only ever on a terminal).
    pub progress: bool,
    /// Use EPSV/EPRT (RFC 2428) first; false sends only PASV/PORT, as RFC 959 clients do.
    pub extended: bool,
    /// Explicit FTPS (RFC 4217).
    pub tls: TlsOptions,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            mode: DataMode::Passive,
            binary: true,
            timeout: Duration::from_secs(30),
            limit_rate: None,
            progress: false,
            extended: true,
            tls: TlsOptions::default(),
        }
    }
}

/// A reply as it appears in JSON output.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReplySummary {
    /// The reply code.
    pub code: u16,
    /// All lines of text, joined with `\n`.
    pub text: String,
}

impl From<&Reply> for ReplySummary {
    fn from(reply: &Reply) -> Self {
        ReplySummary {
            code: reply.code.0,
            text: reply.text(),
        }
    }
}

/// What a user command produced, beyond the replies already shown.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    /// The last reply of the command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply: Option<ReplySummary>,
    /// Bytes transferred.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Seconds the transfer took.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    /// Files transferred (mget, mput, get, put).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// A listing, in JSON mode (otherwise it went to stdout as it arrived).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// A line for the user (`status`, `pwd`, transfer summary…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Outcome {
    fn reply(reply: &Reply) -> Outcome {
        Outcome {
            reply: Some(reply.into()),
            ..Outcome::default()
        }
    }
}

/// How `put` writes the remote file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutMode {
    /// STOR: create or replace.
    Store,
    /// APPE: add to the end.
    Append,
    /// SIZE, REST, STOR: continue an interrupted upload.
    Resume,
}

/// Which listing command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    /// LIST: a human-readable listing (`ls -l` style on most servers).
    List,
    /// NLST: names only.
    Nlst,
    /// MLSD: machine-readable facts (RFC 3659).
    Mlsd,
}

/// One session: at most one control connection, and the settings that outlive it.
#[derive(Debug)]
pub struct Session {
    control: Option<ControlConnection>,
    /// What is printed of the protocol.
    pub trace: Trace,
    /// User settings.
    pub settings: Settings,
    type_sent: Option<bool>,
    try_epsv: bool,
    try_eprt: bool,
    last_data: Option<DataAddresses>,
    server: Option<String>,
    user: Option<String>,
    local_dir: PathBuf,
    /// The TLS configuration, made at the first `--tls` connection and kept: its session cache
    /// lets data connections resume the control connection's TLS session.
    tls: Option<ClientTls>,
    /// The name or address TLS checks the certificate against (the host as given).
    tls_host: String,
    /// PROT P is in force: data connections are TLS connections.
    data_tls: bool,
}

impl Session {
    /// A session without a connection; local paths are relative to the current directory.
    pub fn new(trace: Trace, settings: Settings) -> Session {
        let extended = settings.extended;
        Session {
            control: None,
            trace,
            settings,
            type_sent: None,
            try_epsv: extended,
            try_eprt: extended,
            last_data: None,
            server: None,
            user: None,
            local_dir: PathBuf::from("."),
            tls: None,
            tls_host: String::new(),
            data_tls: false,
        }
    }

    /// True while a control connection is open.
    pub fn is_connected(&self) -> bool {
        self.control.is_some()
    }

    fn control(&mut self) -> Result<&mut ControlConnection, ClientError> {
        self.control.as_mut().ok_or(ClientError::NotConnected)
    }

    /// Sends a command and reads one reply, whatever it is. A closed connection ends the session.
    fn exchange(&mut self, command: &Command) -> Result<Reply, ClientError> {
        let trace = self.trace.clone();
        let result = self.control()?.command(command, &trace);
        self.forget_on_close(result)
    }

    fn read_reply(&mut self) -> Result<Reply, ClientError> {
        let trace = self.trace.clone();
        let result = self.control()?.read_reply(&trace);
        self.forget_on_close(result)
    }

    fn forget_on_close<T>(&mut self, result: Result<T, ClientError>) -> Result<T, ClientError> {
        if matches!(
            result,
            Err(ClientError::ConnectionClosed | ClientError::ControlIo { .. })
        ) {
            self.control = None;
        }
        result
    }

    /// Sends a command whose reply must be a positive completion (2xx).
    fn simple(&mut self, command: Command) -> Result<Reply, ClientError> {
        let reply = self.exchange(&command)?;
        if reply.code == ReplyCode::SERVICE_NOT_AVAILABLE {
            self.control = None;
        }
        if reply.code.is_positive_completion() {
            Ok(reply)
        } else {
            Err(self.refused(&command, reply))
        }
    }

    fn refused(&self, command: &Command, reply: Reply) -> ClientError {
        ClientError::Refused {
            command: self.trace.shown(command),
            reply,
        }
    }

    /// Opens the control connection and reads the greeting (RFC 959 §5.4: 120 may come before
    /// 220; 421 means the server will not serve us).
    pub fn open(&mut self, host: &str, port: u16) -> Result<Outcome, ClientError> {
        self.close_quietly();
        let control = ControlConnection::connect(host, port, self.settings.timeout)?;
        self.trace.data(&format!(
            "control connection {} (us) <-> {} (server)",
            control.local(),
            control.peer()
        ));
        self.control = Some(control);
        self.server = Some(format!("{host}:{port}"));
        self.type_sent = None;
        self.try_epsv = self.settings.extended;
        self.try_eprt = self.settings.extended;
        self.data_tls = false;
        self.tls_host = host.to_owned();
        loop {
            let reply = self.read_reply()?;
            if reply.code.is_positive_preliminary() {
                continue;
            }
            if reply.code.is_positive_completion() {
                if self.settings.tls.enabled {
                    self.start_tls().inspect_err(|_| self.control = None)?;
                }
                return Ok(Outcome::reply(&reply));
            }
            self.control = None;
            return Err(ClientError::Refused {
                command: "connect".into(),
                reply,
            });
        }
    }

    /// AUTH TLS (RFC 4217 §4): after its 234 the control connection becomes a TLS connection.
    fn start_tls(&mut self) -> Result<(), ClientError> {
        if self.tls.is_none() {
            let ask: Arc<TrustPrompt> = Arc::new(crate::tls::ask_on_terminal);
            let tls = ClientTls::new(&self.settings.tls, Some(ask))?;
            if let Some(path) = &tls.keylog {
                self.trace.note(&format!(
                    "SSLKEYLOGFILE is set: the TLS secrets of this session go to {path}; whoever \
                     reads that file can decrypt a capture of it"
                ));
            }
            self.tls = Some(tls);
        }
        let auth = Command::Auth {
            mechanism: "TLS".into(),
        };
        let reply = self.exchange(&auth)?;
        if reply.code != ReplyCode::SECURITY_EXCHANGE_DONE {
            return Err(ClientError::Tls(format!(
                "the server refused AUTH TLS ({}): it offers no FTPS here. Without --tls the \
                 password and files cross in clear text",
                crate::error::reply_text(&reply)
            )));
        }
        let host = self.tls_host.clone();
        let Some(tls) = self.tls.clone() else {
            return Err(ClientError::Tls("TLS is not set up".into()));
        };
        let summary = self.control()?.start_tls(&tls, &host)?;
        self.trace.tls(&format!(
            "TLS handshake done ({summary}): from here on the control connection is encrypted"
        ));
        Ok(())
    }

    /// PBSZ 0 and PROT P (or C with `--prot c`) after login inside TLS (RFC 4217 §9).
    fn protect_data(&mut self) -> Result<(), ClientError> {
        if !self.control.as_ref().is_some_and(|c| c.is_tls()) {
            return Ok(());
        }
        self.simple(Command::Pbsz { size: "0".into() })?;
        let level = if self.settings.tls.clear_data {
            "C"
        } else {
            "P"
        };
        self.simple(Command::Prot {
            level: level.into(),
        })?;
        self.data_tls = !self.settings.tls.clear_data;
        if self.settings.tls.clear_data {
            self.trace.note(
                "PROT C: files and listings cross the data connections in clear text (--prot c)",
            );
        }
        Ok(())
    }

    /// USER, then PASS when the server asks for it (331). `password` is called only then.
    pub fn login(
        &mut self,
        name: &str,
        password: impl FnOnce() -> Result<String, ClientError>,
    ) -> Result<Outcome, ClientError> {
        let user = Command::User {
            name: name.to_owned(),
        };
        let reply = self.exchange(&user)?;
        let reply = match reply.code {
            ReplyCode::LOGGED_IN => reply,
            ReplyCode::NEED_PASSWORD => {
                let pass = Command::Pass {
                    password: password()?,
                };
                let reply = self.exchange(&pass)?;
                if !reply.code.is_positive_completion() {
                    return Err(self.refused(&pass, reply));
                }
                reply
            }
            _ => return Err(self.refused(&user, reply)),
        };
        self.user = Some(name.to_owned());
        self.type_sent = None;
        self.protect_data()?;
        Ok(Outcome::reply(&reply))
    }

    /// QUIT and close.
    pub fn close(&mut self) -> Result<Outcome, ClientError> {
        let reply = self.exchange(&Command::Quit);
        self.control = None;
        self.user = None;
        reply.map(|r| Outcome::reply(&r))
    }

    fn close_quietly(&mut self) {
        if self.control.is_some() {
            let _ = self.close();
        }
    }

    /// Any command whose reply must be 2xx, e.g. CWD, MKD, DELE, NOOP, SYST.
    pub fn run_simple(&mut self, command: Command) -> Result<Outcome, ClientError> {
        self.simple(command).map(|r| Outcome::reply(&r))
    }

    /// PWD, with the path from the 257 reply as the message.
    pub fn pwd(&mut self) -> Result<Outcome, ClientError> {
        let reply = self.simple(Command::Pwd)?;
        let mut outcome = Outcome::reply(&reply);
        outcome.message = QuotedPath::parse(&reply.text()).map(|quoted| quoted.0);
        Ok(outcome)
    }

    /// RNFR then RNTO (RFC 959 §4.1.3: RNFR's positive reply is 350).
    pub fn rename(&mut self, from: &str, to: &str) -> Result<Outcome, ClientError> {
        let rnfr = Command::Rnfr {
            path: from.to_owned(),
        };
        let reply = self.exchange(&rnfr)?;
        if reply.code != ReplyCode::FILE_ACTION_PENDING {
            return Err(self.refused(&rnfr, reply));
        }
        self.run_simple(Command::Rnto {
            path: to.to_owned(),
        })
    }

    /// SIZE (RFC 3659 §4), in TYPE I so that the size is the byte count.
    pub fn size(&mut self, path: &str) -> Result<(u64, Reply), ClientError> {
        self.ensure_type()?;
        let command = Command::Size {
            path: path.to_owned(),
        };
        let reply = self.simple(command.clone())?;
        match parse_size_reply(&reply.text()) {
            Some(size) => Ok((size, reply)),
            None => Err(self.refused(&command, reply)),
        }
    }

    /// MDTM (RFC 3659 §3), with the time made readable in the message.
    pub fn modtime(&mut self, path: &str) -> Result<Outcome, ClientError> {
        let reply = self.simple(Command::Mdtm {
            path: path.to_owned(),
        })?;
        let mut outcome = Outcome::reply(&reply);
        outcome.message = TimeVal::parse(&reply.text()).ok().map(readable);
        Ok(outcome)
    }

    /// Sends any line exactly as typed (`quote`: a lower-case `port` stays lower-case on the
    /// wire); `Command::parse` only tells what it means. 1xx replies are followed by the final one.
    pub fn quote(&mut self, line: &str) -> Result<Outcome, ClientError> {
        let line = line.trim_end_matches(['\r', '\n']);
        let command = Command::parse(line).unwrap_or_else(|_| {
            let (verb, argument) = match line.split_once(' ') {
                Some((v, a)) => (v.to_owned(), Some(a.to_owned())),
                None => (line.to_owned(), None),
            };
            Command::Unknown { verb, argument }
        });
        let trace = self.trace.clone();
        let sent = self.control()?.send_verbatim(line, &command, &trace);
        let mut reply = self
            .forget_on_close(sent)
            .and_then(|()| self.read_reply())?;
        while reply.code.is_positive_preliminary() {
            reply = self.read_reply()?;
        }
        if matches!(command, Command::Type { .. }) {
            self.type_sent = None;
        }
        if reply.code.is_negative() {
            return Err(self.refused(&command, reply));
        }
        Ok(Outcome::reply(&reply))
    }

    /// Sets TYPE A or I now (when connected) and for later transfers.
    pub fn set_binary(&mut self, binary: bool) -> Result<Outcome, ClientError> {
        self.settings.binary = binary;
        if self.control.is_some() {
            self.type_sent = None;
            let reply = self.ensure_type()?;
            return Ok(reply.map(|r| Outcome::reply(&r)).unwrap_or_default());
        }
        Ok(Outcome::default())
    }

    fn ensure_type(&mut self) -> Result<Option<Reply>, ClientError> {
        if self.type_sent == Some(self.settings.binary) {
            return Ok(None);
        }
        let transfer_type = if self.settings.binary {
            TransferType::Image
        } else {
            TransferType::Ascii
        };
        let reply = self.simple(Command::Type { transfer_type })?;
        self.type_sent = Some(self.settings.binary);
        Ok(Some(reply))
    }

    /// The local status: connection, user, type, mode and the last data connection.
    pub fn status(&self) -> Outcome {
        let mut lines = Vec::new();
        match (&self.server, &self.control) {
            (Some(server), Some(control)) => lines.push(format!(
                "connected to {server} ({} us <-> {} server), user {}",
                control.local(),
                control.peer(),
                self.user.as_deref().unwrap_or("(not logged in)")
            )),
            _ => lines.push("not connected".to_owned()),
        }
        lines.push(format!(
            "transfer type: {}; mode: {} ({}); structure: file; transfer mode: stream",
            if self.settings.binary {
                "binary (TYPE I)"
            } else {
                "ascii (TYPE A)"
            },
            self.settings.mode,
            match self.settings.mode {
                DataMode::Passive if self.try_epsv => "EPSV, PASV if refused",
                DataMode::Passive => "PASV",
                DataMode::Active if self.try_eprt => "EPRT, PORT if refused",
                DataMode::Active => "PORT",
            }
        ));
        lines.push(match (&self.control, self.data_tls) {
            (Some(c), true) if c.is_tls() => {
                "TLS: control connection and data connections encrypted (PROT P)".to_owned()
            }
            (Some(c), false) if c.is_tls() => {
                "TLS: control connection encrypted; data connections in clear".to_owned()
            }
            _ => "TLS: none, everything crosses in clear text".to_owned(),
        });
        lines.push(match &self.last_data {
            Some(addresses) => format!("last data connection: {addresses}"),
            None => "last data connection: none yet".to_owned(),
        });
        lines.push(format!(
            "debug: {}; local folder: {}",
            if self.trace.debug { "on" } else { "off" },
            self.local_dir.display()
        ));
        Outcome {
            message: Some(lines.join("\n")),
            ..Outcome::default()
        }
    }

    /// The last data connection's addresses.
    pub fn last_data(&self) -> Option<&DataAddresses> {
        self.last_data.as_ref()
    }

    /// Changes the local folder (`lcd`).
    pub fn lcd(&mut self, path: &str) -> Result<Outcome, ClientError> {
        let target = self.local_path(path);
        let canonical = fs::canonicalize(&target).map_err(|source| ClientError::LocalFile {
            action: "open folder",
            path: target.clone(),
            source,
        })?;
        if !canonical.is_dir() {
            return Err(ClientError::Usage(format!(
                "{} is not a folder",
                canonical.display()
            )));
        }
        self.local_dir = canonical;
        Ok(Outcome {
            message: Some(format!("local folder: {}", self.local_dir.display())),
            ..Outcome::default()
        })
    }

    fn local_path(&self, path: &str) -> PathBuf {
        let p = Path::new(path);
        if p.is_absolute() {
            p.to_owned()
        } else {
            self.local_dir.join(p)
        }
    }
}

/// An MDTM time (RFC 3659 time-val, always UTC) for people: `2026-11-25 12:00:00 UTC`.
fn readable(t: TimeVal) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mdtm_time_is_made_readable() {
        let t = TimeVal::parse("20261125120000.123").unwrap();
        assert_eq!(readable(t), "2026-11-25 12:00:00 UTC");
        assert_eq!(
            readable(TimeVal::parse("00010203040506").unwrap()),
            "0001-02-03 04:05:06 UTC"
        );
    }
}
