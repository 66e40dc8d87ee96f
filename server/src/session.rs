//! One client's session: the RFC 959 state machine that turns a command into a reply.
//!
//! [`Session::handle`] decides and does no network I/O: it owns no socket and needs no runtime.
//! It returns an [`Action`] — a reply, a login to check against the user store, a passive
//! listener to open, or a transfer to run — and the connection loop in [`crate::connection`]
//! performs it and reports back where the session needs the result ([`Session::finish_login`],
//! [`Session::passive_opened`]). Commands that only touch the file system (MKD, DELE, SIZE…) are
//! answered here directly. `AUTH TLS` fits the same seam: the session answers 234 with
//! [`Action::StartTls`], the loop runs the TLS handshake and reports back
//! ([`Session::tls_started`]); `PROT P` marks each later [`TransferPlan`] as protected.
//!
//! The gates are checked once, at the top of [`Session::handle`], not in every command: login
//! (RFC 959 §5.4, "530 Not logged in"), TLS before login when the server requires it (530), and
//! TLS on data connections when the server requires it (RFC 4217 §10.2, 521).

use crate::config::ServerConfig;
use crate::data_channel::Job;
pub use crate::error::{SessionError, describe_io};
use crate::logging::PeerName;
use crate::paths::{Jail, Resolved};
use crate::tls::TlsSummary;
use ftp_proto::{Command, DataDirection, Reply, ReplyCode};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::sync::Arc;

/// Where the session is in the login sequence (RFC 959 §6, the USER/PASS state diagram).
#[derive(Debug)]
pub enum LoginState {
    /// Waiting for USER.
    AwaitingUser,
    /// USER was accepted; waiting for PASS.
    AwaitingPassword {
        /// The name given with USER.
        username: String,
    },
    /// Logged in.
    LoggedIn {
        /// Who, and where their files are.
        user: LoggedInUser,
    },
}

/// A logged-in user.
#[derive(Debug)]
pub struct LoggedInUser {
    /// Login name (`anonymous` for anonymous users).
    pub name: String,
    /// Root folder and working directory.
    pub jail: Jail,
    /// Anonymous users may only read.
    pub read_only: bool,
}

/// The representation type in force (TYPE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Representation {
    /// TYPE A: text with CRLF line ends on the wire.
    Ascii,
    /// TYPE I: bytes as they are.
    Image,
}

/// Where the session is with FTPS (RFC 4217): is the control connection inside TLS?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// No AUTH TLS (yet): commands, replies and files cross in clear.
    Clear,
    /// AUTH TLS was answered 234; the connection loop runs the handshake.
    Handshaking {
        /// What data connections get once it is done.
        data: DataProtection,
    },
    /// The control connection is inside TLS.
    Protected {
        /// What data connections get.
        data: DataProtection,
    },
}

/// What data connections get after AUTH TLS (RFC 2228 §3: PBSZ, then PROT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataProtection {
    /// No PBSZ yet, so no PROT either: data connections are clear (PROT C is the default).
    AwaitingPbsz,
    /// PROT C (or none): files cross in clear.
    Clear,
    /// PROT P: every data connection is a TLS connection.
    Private,
}

/// What the connection loop must do after a command.
#[derive(Debug)]
pub enum Action {
    /// Send this reply, then read the next command.
    Reply(Reply),
    /// Send this reply, then close the control connection.
    Close(Reply),
    /// Check these credentials with the user store, then call [`Session::finish_login`].
    Authenticate {
        /// From USER.
        name: String,
        /// From PASS.
        password: String,
    },
    /// Open a passive listener, then call [`Session::passive_opened`] and send its reply.
    OpenPassive(PassiveRequest),
    /// Open the data connection and run a transfer.
    Transfer(Box<TransferPlan>),
    /// Send this reply (234), then run the TLS handshake on the control connection and call
    /// [`Session::tls_started`]; a failed handshake ends the connection.
    StartTls(Reply),
}

/// How the next data connection will be made (RFC 959 §3.2), as PORT/EPRT or PASV/EPSV set it up.
/// Only the terms: the passive listener itself belongs to the connection loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataSetup {
    /// Active mode: the server connects to this address of the client.
    Active(SocketAddr),
    /// Passive mode: the client connects to the listener bound to this address.
    Passive(SocketAddr),
}

/// A passive listener the session wants (PASV or EPSV).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassiveRequest {
    /// Where to listen: the control connection's local address.
    pub ip: IpAddr,
    /// Ports to pick from; `None`: any free port.
    pub ports: Option<RangeInclusive<u16>>,
    /// Which reply announces it.
    pub announce: PassiveReply,
}

/// The reply that announces a passive listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassiveReply {
    /// PASV: `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)` with this IPv4 address.
    Pasv(Ipv4Addr),
    /// EPSV: `229 Entering Extended Passive Mode (|||port|)` (RFC 2428).
    Epsv,
}

/// A transfer ready to go: the data connection to open and the job to run on it.
#[derive(Debug)]
pub struct TransferPlan {
    /// How the data connection is made.
    pub endpoint: DataSetup,
    /// The bytes to move.
    pub job: Job,
    /// The 150 reply sent before the data connection opens.
    pub opening: Reply,
    /// Which way the bytes go (download, upload, listing).
    pub kind: DataDirection,
    /// The command, for logs (`RETR /pub/a.bin`).
    pub description: String,
    /// PROT P: the data connection is a TLS connection (the server is the TLS server, RFC 4217
    /// §7, in passive and active mode alike).
    pub protected: bool,
}

/// A session's state. Owned by its connection task; never shared.
pub struct Session {
    /// Session number, for logs.
    pub id: u64,
    /// The client's address on the control connection.
    pub peer: SocketAddr,
    /// The same as logged (`peer=…`), formatted once for the session's ten or so lines.
    pub peer_name: PeerName,
    /// Our address on the control connection.
    pub local: SocketAddr,
    pub(crate) config: Arc<ServerConfig>,
    pub(crate) state: LoginState,
    pub(crate) representation: Representation,
    pub(crate) data: Option<DataSetup>,
    pub(crate) restart_offset: u64,
    pub(crate) rename_from: Option<Resolved>,
    /// After `EPSV ALL` only EPSV may set up data connections (RFC 2428 §4).
    pub(crate) epsv_all: bool,
    /// The last data connection, for STAT.
    pub(crate) last_data: Option<String>,
    /// FTPS state (AUTH TLS, PBSZ, PROT).
    pub(crate) security: Security,
    /// What the control connection's handshake agreed on, for STAT.
    pub(crate) control_tls: Option<TlsSummary>,
}

/// The outcome of handling one command.
pub type Handled = Result<Action, SessionError>;

impl Session {
    /// A new session for a control connection from `peer` to `local`.
    pub fn new(id: u64, peer: SocketAddr, local: SocketAddr, config: Arc<ServerConfig>) -> Session {
        Session {
            id,
            peer,
            peer_name: PeerName::new(peer),
            local,
            config,
            state: LoginState::AwaitingUser,
            representation: Representation::Ascii,
            data: None,
            restart_offset: 0,
            rename_from: None,
            epsv_all: false,
            last_data: None,
            security: Security::Clear,
            control_tls: None,
        }
    }

    /// Handles one command line (already split off the stream and decoded).
    pub fn handle_line(&mut self, line: &str) -> Action {
        let result = Command::parse(line)
            .map_err(SessionError::from)
            .and_then(|c| self.handle(c));
        result.unwrap_or_else(|error| Action::Reply(error.into_reply()))
    }

    /// Handles one command.
    pub fn handle(&mut self, command: Command) -> Handled {
        if !self.is_logged_in() && needs_login(&command) {
            return Err(SessionError::NotLoggedIn);
        }
        if matches!(command, Command::User { .. } | Command::Pass { .. }) {
            self.check_login_protection()?;
        }
        if command.data_direction().is_some() {
            self.check_data_protection()?;
        }
        // RNFR must be followed directly by RNTO (RFC 959 §4.1.3).
        let rename_from = self.rename_from.take();
        // RFC 959 wants REST right before the transfer it restarts, but clients send PASV or
        // TYPE in between, and real servers keep the offset until a transfer uses it. Silently
        // dropping it would send a whole file where a client expects the rest of it.
        let restart_offset = if command.data_direction().is_some() {
            std::mem::take(&mut self.restart_offset)
        } else {
            self.restart_offset
        };
        use Command::*;
        match command {
            // Access control (RFC 959 §4.1.1)
            User { name } => self.user(name),
            Pass { password } => self.pass(password),
            Acct { .. } => reply(ReplyCode::SUPERFLUOUS, "ACCT not needed on this server."),
            Cwd { path } => self.cwd(&path),
            Cdup => self.cwd(".."),
            Rein => self.rein(),
            Quit => Ok(Action::Close(Reply::new(
                ReplyCode::CLOSING_CONTROL,
                "Goodbye.",
            ))),
            // Transfer parameters (§4.1.2)
            Port { addr } => self.port(addr.into()),
            Eprt { addr } => self.port(addr),
            Pasv => self.pasv(false, None),
            Epsv { argument } => self.pasv(true, argument),
            Type { transfer_type } => self.type_(transfer_type),
            Stru { structure } => self.stru(&structure),
            Mode { mode } => self.mode(&mode),
            // Service commands (§4.1.3)
            Retr { path } => self.retr(&path, restart_offset),
            Stor { path } => self.stor(&path, restart_offset),
            Stou => self.stou(),
            Appe { path } => self.appe(&path),
            Allo { .. } => reply(ReplyCode::SUPERFLUOUS, "ALLO not needed on this server."),
            Rest { offset } => self.rest(offset),
            Rnfr { path } => self.rnfr(&path),
            Rnto { path } => self.rnto(&path, rename_from),
            Abor => reply(ReplyCode::DATA_OPEN_NO_TRANSFER, "No transfer to abort."),
            Dele { path } => self.dele(&path),
            Rmd { path } => self.rmd(&path),
            Mkd { path } => self.mkd(&path),
            Pwd => self.pwd(),
            List { path } => self.list(path.as_deref()),
            Nlst { path } => self.nlst(path.as_deref()),
            Mlsd { path } => self.mlsd(path.as_deref()),
            Mlst { path } => self.mlst(path.as_deref()),
            Size { path } => self.size(&path),
            Mdtm { path } => self.mdtm(&path),
            Syst => reply(ReplyCode::SYSTEM_TYPE, "UNIX Type: L8"),
            Stat { path: None } => self.stat(),
            Stat { path: Some(path) } => self.stat_path(&path),
            Help { topic } => self.help(topic.as_deref()),
            Feat => self.feat(),
            Opts { option } => self.opts(&option),
            Noop => reply(ReplyCode::OK, "NOOP ok."),
            // Security extensions (RFC 2228, RFC 4217)
            Auth { mechanism } => self.auth(&mechanism),
            Pbsz { size } => self.pbsz(&size),
            Prot { level } => self.prot(&level),
            Ccc => self.ccc(),
            Unknown { verb, .. } if matches!(verb.as_str(), "SITE" | "SMNT") => reply(
                ReplyCode::NOT_IMPLEMENTED,
                format!("{verb} not implemented."),
            ),
            Unknown { verb, .. } => reply(
                ReplyCode::SYNTAX_ERROR,
                format!("Unknown command {verb:?}; HELP lists the commands."),
            ),
        }
    }

    /// The data connection set up by the last PORT/EPRT/PASV/EPSV, if any is pending.
    ///
    /// The connection loop closes its passive listener when this no longer names it (USER,
    /// REIN, PORT after PASV…), so no port stays open for a transfer that will not come.
    pub fn data_setup(&self) -> Option<DataSetup> {
        self.data
    }

    /// Whether the control connection is inside TLS.
    pub fn is_protected(&self) -> bool {
        matches!(self.security, Security::Protected { .. })
    }

    /// Whether data connections are TLS connections (PROT P).
    pub fn data_protected(&self) -> bool {
        self.security
            == Security::Protected {
                data: DataProtection::Private,
            }
    }

    /// Moves to a new FTPS state, logged like the login state.
    pub(crate) fn set_security(&mut self, next: Security) {
        tracing::debug!(session = self.id, from = ?self.security, to = ?next, "security state");
        self.security = next;
    }

    /// Whether USER/PASS succeeded.
    pub fn is_logged_in(&self) -> bool {
        matches!(self.state, LoginState::LoggedIn { .. })
    }

    /// The logged-in user, or the 530 error.
    pub(crate) fn user_mut(&mut self) -> Result<&mut LoggedInUser, SessionError> {
        match &mut self.state {
            LoginState::LoggedIn { user } => Ok(user),
            _ => Err(SessionError::NotLoggedIn),
        }
    }

    /// The logged-in user's jail.
    pub(crate) fn jail(&mut self) -> Result<&mut Jail, SessionError> {
        Ok(&mut self.user_mut()?.jail)
    }

    /// The jail of a user allowed to change things.
    pub(crate) fn writable_jail(&mut self) -> Result<&mut Jail, SessionError> {
        let user = self.user_mut()?;
        if user.read_only {
            return Err(SessionError::ReadOnly);
        }
        Ok(&mut user.jail)
    }

    /// Moves to a new login state; every change goes through here so it is logged once.
    pub(crate) fn set_state(&mut self, next: LoginState) {
        tracing::debug!(
            session = self.id,
            from = state_name(&self.state),
            to = state_name(&next),
            "login state"
        );
        self.state = next;
    }
}

fn state_name(state: &LoginState) -> &'static str {
    match state {
        LoginState::AwaitingUser => "AwaitingUser",
        LoginState::AwaitingPassword { .. } => "AwaitingPassword",
        LoginState::LoggedIn { .. } => "LoggedIn",
    }
}

/// Commands allowed before login: the login itself, and harmless ones clients send first.
fn needs_login(command: &Command) -> bool {
    use Command::*;
    !matches!(
        command,
        User { .. }
            | Pass { .. }
            | Acct { .. }
            | Quit
            | Noop
            | Syst
            | Feat
            | Help { .. }
            | Opts { .. }
            | Auth { .. }
            | Pbsz { .. }
            | Prot { .. }
            | Ccc
            | Rein
            | Stat { path: None }
            | Abor
    )
}

/// A plain reply.
pub(crate) fn reply(code: ReplyCode, text: impl Into<String>) -> Handled {
    Ok(Action::Reply(Reply::new(code, text)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data_channel::Job;

    fn logged_in(root: &std::path::Path) -> Session {
        let config = Arc::new(ServerConfig::default());
        let peer = "127.0.0.1:40000".parse().unwrap();
        let local = "127.0.0.1:2121".parse().unwrap();
        let mut session = Session::new(1, peer, local, config);
        let jail = Jail::new(root).unwrap();
        let user = LoggedInUser {
            name: "user1".into(),
            jail,
            read_only: false,
        };
        session.set_state(LoginState::LoggedIn { user });
        session
    }

    fn code(action: Action) -> u16 {
        match action {
            Action::Reply(reply) | Action::Close(reply) => reply.code.0,
            other => panic!("expected a reply, got {other:?}"),
        }
    }

    #[test]
    fn retr_before_login_is_refused_with_530() {
        let config = Arc::new(ServerConfig::default());
        let mut session = Session::new(
            1,
            "127.0.0.1:1".parse().unwrap(),
            "127.0.0.1:2".parse().unwrap(),
            config,
        );
        assert_eq!(code(session.handle_line("RETR x")), 530);
        assert_eq!(code(session.handle_line("NOOP")), 200);
        assert_eq!(code(session.handle_line("PASS x")), 503);
    }

    #[test]
    fn rest_offset_survives_port_and_type_until_the_transfer() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), b"0123456789").unwrap();
        let mut session = logged_in(dir.path());
        assert_eq!(code(session.handle_line("REST 4")), 350);
        assert_eq!(code(session.handle_line("TYPE I")), 200);
        assert_eq!(code(session.handle_line("PORT 127,0,0,1,195,80")), 200);
        match session.handle_line("RETR f") {
            Action::Transfer(plan) => {
                assert!(
                    matches!(plan.job, Job::SendFile { offset: 4, .. }),
                    "{:?}",
                    plan.job
                )
            }
            other => panic!("{other:?}"),
        }
        // Used up: the next RETR starts at 0.
        assert_eq!(code(session.handle_line("PORT 127,0,0,1,195,80")), 200);
        match session.handle_line("RETR f") {
            Action::Transfer(plan) => assert!(matches!(plan.job, Job::SendFile { offset: 0, .. })),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rnto_needs_rnfr_right_before_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), b"a").unwrap();
        let mut session = logged_in(dir.path());
        assert_eq!(code(session.handle_line("RNTO b")), 503);
        assert_eq!(code(session.handle_line("RNFR a")), 350);
        assert_eq!(code(session.handle_line("NOOP")), 200);
        assert_eq!(code(session.handle_line("RNTO b")), 503);
        assert_eq!(code(session.handle_line("RNFR a")), 350);
        assert_eq!(code(session.handle_line("RNTO b")), 250);
        assert!(dir.path().join("b").exists());
    }

    #[test]
    fn port_to_another_host_or_a_privileged_port_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut session = logged_in(dir.path());
        assert_eq!(code(session.handle_line("PORT 127,0,0,2,195,80")), 504);
        assert_eq!(code(session.handle_line("PORT 127,0,0,1,0,25")), 504);
        assert_eq!(code(session.handle_line("EPRT |1|10.0.0.1|5000|")), 504);
        assert_eq!(code(session.handle_line("EPRT |3|x|5000|")), 522);
        assert!(session.data.is_none());
    }

    fn reply_of(action: Action) -> Reply {
        match action {
            Action::Reply(reply) | Action::Close(reply) => reply,
            other => panic!("expected a reply, got {other:?}"),
        }
    }

    fn plan(action: Action) -> TransferPlan {
        match action {
            Action::Transfer(plan) => *plan,
            other => panic!("expected a transfer, got {other:?}"),
        }
    }

    fn passive_request(action: Action) -> PassiveRequest {
        match action {
            Action::OpenPassive(request) => request,
            other => panic!("expected a passive listener request, got {other:?}"),
        }
    }

    // These tests run without a tokio runtime and without sockets: the session decides, the
    // test plays the connection loop.

    #[test]
    fn login_then_pasv_then_retr_is_decided_without_any_io() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), b"0123456789").unwrap();
        let mut session = Session::new(
            1,
            "127.0.0.1:40000".parse().unwrap(),
            "127.0.0.1:2121".parse().unwrap(),
            Arc::new(ServerConfig::default()),
        );
        assert_eq!(code(session.handle_line("USER user1")), 331);
        match session.handle_line("PASS pass1") {
            Action::Authenticate { name, password } => {
                assert_eq!((name.as_str(), password.as_str()), ("user1", "pass1"))
            }
            other => panic!("{other:?}"),
        }
        let record = crate::user_store::UserRecord {
            name: "user1".into(),
            root: dir.path().to_path_buf(),
        };
        assert_eq!(session.finish_login(Ok(Some(record))).code.0, 230);

        let request = passive_request(session.handle_line("PASV"));
        assert_eq!(request.ip, "127.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(request.announce, PassiveReply::Pasv(Ipv4Addr::LOCALHOST));
        // Nothing is set up until the loop reports the listener.
        assert_eq!(session.data_setup(), None);
        let bound: SocketAddr = "127.0.0.1:50000".parse().unwrap();
        let reply = session.passive_opened(&request, Ok(bound));
        assert_eq!(reply.code.0, 227);
        assert!(reply.text().contains("(127,0,0,1,195,80)"), "{reply:?}");
        assert_eq!(session.data_setup(), Some(DataSetup::Passive(bound)));

        let plan = plan(session.handle_line("RETR f"));
        assert_eq!(plan.endpoint, DataSetup::Passive(bound));
        assert_eq!(plan.kind, DataDirection::Download);
        assert_eq!(plan.opening.code.0, 150);
        // Used up by the transfer.
        assert_eq!(session.data_setup(), None);
        assert_eq!(code(session.handle_line("RETR f")), 425);
    }

    #[test]
    fn epsv_then_stor_plans_an_upload_into_a_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut session = logged_in(dir.path());
        let request = passive_request(session.handle_line("EPSV"));
        assert_eq!(request.announce, PassiveReply::Epsv);
        let reply = session.passive_opened(&request, Ok("127.0.0.1:50001".parse().unwrap()));
        assert_eq!(reply.code.0, 229);
        assert!(reply.text().contains("(|||50001|)"), "{reply:?}");
        let plan = plan(session.handle_line("STOR up.bin"));
        assert_eq!(plan.kind, DataDirection::Upload);
        assert!(matches!(plan.job, Job::Receive { .. }));
        let names = |d: &std::path::Path| std::fs::read_dir(d).unwrap().count();
        assert_eq!(names(dir.path()), 1, "the temp file waits for the bytes");
        drop(plan);
        assert_eq!(
            names(dir.path()),
            0,
            "an upload that never ran leaves nothing"
        );
    }

    #[test]
    fn epsv_all_allows_only_epsv_and_epsv_checks_the_family() {
        let dir = tempfile::tempdir().unwrap();
        let mut session = logged_in(dir.path());
        assert_eq!(code(session.handle_line("EPSV 2")), 522);
        assert!(matches!(
            session.handle_line("EPSV 1"),
            Action::OpenPassive(_)
        ));
        assert_eq!(code(session.handle_line("EPSV ALL")), 200);
        assert_eq!(code(session.handle_line("PASV")), 503);
        assert_eq!(code(session.handle_line("PORT 127,0,0,1,195,80")), 503);
        assert_eq!(code(session.handle_line("EPRT |1|127.0.0.1|50000|")), 503);
        assert!(matches!(
            session.handle_line("EPSV"),
            Action::OpenPassive(_)
        ));
    }

    #[test]
    fn port_and_eprt_to_the_client_set_up_active_mode_and_replace_passive() {
        let dir = tempfile::tempdir().unwrap();
        let mut session = logged_in(dir.path());
        let request = passive_request(session.handle_line("PASV"));
        session.passive_opened(&request, Ok("127.0.0.1:50002".parse().unwrap()));
        assert_eq!(code(session.handle_line("PORT 127,0,0,1,195,80")), 200);
        assert_eq!(
            session.data_setup(),
            Some(DataSetup::Active("127.0.0.1:50000".parse().unwrap()))
        );
        assert_eq!(code(session.handle_line("EPRT |1|127.0.0.1|50003|")), 200);
        assert_eq!(
            session.data_setup(),
            Some(DataSetup::Active("127.0.0.1:50003".parse().unwrap()))
        );
        // A refused PORT keeps nothing of it.
        assert_eq!(code(session.handle_line("PORT 10,0,0,1,195,80")), 504);
    }

    #[test]
    fn a_passive_port_that_cannot_be_opened_gets_451_and_sets_nothing_up() {
        let dir = tempfile::tempdir().unwrap();
        let mut session = logged_in(dir.path());
        let request = passive_request(session.handle_line("PASV"));
        let error = std::io::Error::from(std::io::ErrorKind::AddrInUse);
        assert_eq!(session.passive_opened(&request, Err(error)).code.0, 451);
        assert_eq!(session.data_setup(), None);
        assert_eq!(code(session.handle_line("LIST")), 425);
    }

    #[test]
    fn pasv_on_an_ipv6_control_connection_says_use_epsv() {
        let dir = tempfile::tempdir().unwrap();
        let mut session = logged_in(dir.path());
        session.local = "[::1]:2121".parse().unwrap();
        session.peer = "[::1]:40000".parse().unwrap();
        let reply = reply_of(session.handle_line("PASV"));
        assert_eq!(reply.code.0, 500);
        let request = passive_request(session.handle_line("EPSV 2"));
        assert_eq!(request.ip, "::1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn abor_without_a_transfer_gets_225_before_and_after_login() {
        let config = Arc::new(ServerConfig::default());
        let peer = "127.0.0.1:40000".parse().unwrap();
        let local = "127.0.0.1:2121".parse().unwrap();
        let mut session = Session::new(1, peer, local, config);
        assert_eq!(code(session.handle_line("ABOR")), 225);
        let dir = tempfile::tempdir().unwrap();
        let mut session = logged_in(dir.path());
        let request = passive_request(session.handle_line("PASV"));
        session.passive_opened(&request, Ok("127.0.0.1:50004".parse().unwrap()));
        assert_eq!(code(session.handle_line("ABOR")), 225);
    }

    fn tls_config(control: crate::config::TlsPolicy) -> Arc<ServerConfig> {
        Arc::new(ServerConfig {
            tls: crate::config::TlsPolicies {
                control,
                data: control,
                keylog: None,
            },
            ..ServerConfig::default()
        })
    }

    fn protected_session(control: crate::config::TlsPolicy) -> Session {
        let mut session = Session::new(
            1,
            "127.0.0.1:40000".parse().unwrap(),
            "127.0.0.1:2121".parse().unwrap(),
            tls_config(control),
        );
        match session.handle_line("AUTH TLS") {
            Action::StartTls(reply) => assert_eq!(reply.code.0, 234),
            other => panic!("{other:?}"),
        }
        assert!(!session.is_protected(), "not before the handshake is done");
        session.tls_started(&TlsSummary {
            version: "TLSv1_3".into(),
            cipher_suite: "TLS13_AES_128_GCM_SHA256".into(),
            resumed: false,
        });
        assert!(session.is_protected());
        session
    }

    #[test]
    fn auth_is_refused_without_a_certificate_and_pbsz_prot_need_it() {
        let mut session = Session::new(
            1,
            "127.0.0.1:1".parse().unwrap(),
            "127.0.0.1:2".parse().unwrap(),
            Arc::new(ServerConfig::default()),
        );
        assert_eq!(code(session.handle_line("AUTH TLS")), 502);
        assert_eq!(code(session.handle_line("PBSZ 0")), 503);
        assert_eq!(code(session.handle_line("PROT P")), 503);
        assert_eq!(code(session.handle_line("CCC")), 503);
        let feat = reply_of(session.handle_line("FEAT")).text();
        assert!(!feat.contains("AUTH TLS"), "{feat}");
    }

    #[test]
    fn auth_pbsz_prot_follow_rfc_2228_order() {
        let mut session = protected_session(crate::config::TlsPolicy::Optional);
        assert_eq!(code(session.handle_line("AUTH TLS")), 503, "already in TLS");
        assert_eq!(code(session.handle_line("PROT P")), 503, "PBSZ first");
        assert_eq!(code(session.handle_line("PBSZ x")), 501);
        let pbsz = reply_of(session.handle_line("PBSZ 16384"));
        assert_eq!((pbsz.code.0, pbsz.text()), (200, "PBSZ=0".to_owned()));
        assert_eq!(code(session.handle_line("PROT S")), 536);
        assert_eq!(code(session.handle_line("PROT E")), 536);
        assert_eq!(code(session.handle_line("PROT X")), 504);
        assert_eq!(code(session.handle_line("PROT C")), 200);
        assert!(!session.data_protected());
        assert_eq!(code(session.handle_line("PROT P")), 200);
        assert!(session.data_protected());
        assert_eq!(code(session.handle_line("CCC")), 534);
        assert!(session.is_protected(), "CCC changes nothing");
        let feat = reply_of(session.handle_line("FEAT")).text();
        for line in ["AUTH TLS", "PBSZ", "PROT"] {
            assert!(feat.lines().any(|l| l.trim() == line), "{line} in {feat}");
        }
    }

    #[test]
    fn stat_says_what_tls_protects() {
        let mut session = Session::new(
            1,
            "127.0.0.1:1".parse().unwrap(),
            "127.0.0.1:2".parse().unwrap(),
            tls_config(crate::config::TlsPolicy::Optional),
        );
        let clear = reply_of(session.handle_line("STAT")).text();
        assert!(
            clear.contains("Control connection: NOT encrypted"),
            "{clear}"
        );
        let mut session = protected_session(crate::config::TlsPolicy::Optional);
        let text = reply_of(session.handle_line("STAT")).text();
        assert!(text.contains("Control connection: TLS (TLSv1_3"), "{text}");
        assert!(text.contains("data connections: NOT encrypted"), "{text}");
        session.handle_line("PBSZ 0");
        session.handle_line("PROT P");
        let text = reply_of(session.handle_line("STAT")).text();
        assert!(text.contains("data connections: TLS (PROT P)"), "{text}");
    }

    #[test]
    fn auth_mechanisms_other_than_tls_get_504_and_ssl_is_an_alias() {
        let mut session = Session::new(
            1,
            "127.0.0.1:1".parse().unwrap(),
            "127.0.0.1:2".parse().unwrap(),
            tls_config(crate::config::TlsPolicy::Optional),
        );
        assert_eq!(code(session.handle_line("AUTH GSSAPI")), 504);
        assert!(matches!(
            session.handle_line("AUTH SSL"),
            Action::StartTls(_)
        ));
    }

    #[test]
    fn tls_required_refuses_clear_logins_with_530_and_clear_transfers_with_521() {
        let mut session = Session::new(
            1,
            "127.0.0.1:40000".parse().unwrap(),
            "127.0.0.1:2121".parse().unwrap(),
            tls_config(crate::config::TlsPolicy::Required),
        );
        let refused = reply_of(session.handle_line("USER user1"));
        assert_eq!(refused.code.0, 530);
        assert!(refused.text().contains("AUTH TLS"), "{refused:?}");
        assert_eq!(code(session.handle_line("PASS x")), 530);

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), b"x").unwrap();
        let mut session = protected_session(crate::config::TlsPolicy::Required);
        assert_eq!(code(session.handle_line("USER user1")), 331);
        let user = LoggedInUser {
            name: "user1".into(),
            jail: Jail::new(dir.path()).unwrap(),
            read_only: false,
        };
        session.set_state(LoginState::LoggedIn { user });
        assert_eq!(code(session.handle_line("PORT 127,0,0,1,195,80")), 200);
        assert_eq!(code(session.handle_line("RETR f")), 521);
        assert_eq!(code(session.handle_line("PBSZ 0")), 200);
        assert_eq!(code(session.handle_line("PROT C")), 534);
        assert_eq!(code(session.handle_line("PROT P")), 200);
        assert!(plan(session.handle_line("RETR f")).protected);
    }

    #[test]
    fn auth_after_login_asks_for_the_login_again() {
        let dir = tempfile::tempdir().unwrap();
        let mut session = logged_in(dir.path());
        session.config = tls_config(crate::config::TlsPolicy::Optional);
        assert!(matches!(
            session.handle_line("AUTH TLS"),
            Action::StartTls(_)
        ));
        assert!(!session.is_logged_in());
        assert_eq!(code(session.handle_line("PWD")), 530);
    }

    #[test]
    fn transfer_without_port_or_pasv_gets_425() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), b"x").unwrap();
        let mut session = logged_in(dir.path());
        assert_eq!(code(session.handle_line("RETR f")), 425);
        assert_eq!(code(session.handle_line("RETR missing")), 550);
    }
}
