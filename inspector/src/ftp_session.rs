//! FTP reconstruction: control connections decoded with `ftp-proto`, logins, TLS upgrades, and
//! data connections tied to the commands they serve.
//!
//! RFC 959 §5.4 pairs every command with one final reply (preceded by any number of 1xx
//! preliminary replies), and the server's first reply, the 220 greeting, answers the connection
//! itself. So the tracker keeps a queue of commands waiting for their final reply.

use crate::event::{
    CommandEvent, CredentialEvent, Event, ReplyEvent, SessionEvent, TlsEvent, WarningEvent,
};
use crate::extract::ExtractSink;
use crate::reassembly::Chunk;
use crate::transfer::{DataMode, Transfer, TransferId, TransferState};
use ftp_proto::command::split_line;
use ftp_proto::line::{LineStatus, next_line, strip_telnet};
use ftp_proto::reply::{LineOutcome, ReplyLines, skip_line};
use ftp_proto::size_reply::parse_size_reply;
use ftp_proto::{
    Command, DataDirection, MAX_LINE_LEN, Reply, ReplyCode, TransferType, host_port, transfer_size,
};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;

/// Most reply text kept: of one reply line, and of all the lines of a multi-line reply. The
/// rest is skipped, each byte looked at once, with a warning.
const MAX_REPLY: usize = 1 << 16;

/// Which end of a control connection sent some bytes.
#[derive(Debug, Clone, Copy)]
enum Side {
    Client,
    Server,
}

/// What a connection is to the tracker, settled once by the flow table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionRole {
    /// Control connection `session` (an index); `client_dir` is the direction (0 or 1) the
    /// client sends in.
    Control {
        /// Index of the session.
        session: usize,
        /// Direction of the flow the client sends in.
        client_dir: usize,
    },
    /// The data connection of transfer `transfer`.
    Data {
        /// Index of the transfer.
        transfer: TransferId,
    },
}

/// Where and when a piece of stream completed: the frame that carried its last byte.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ctx {
    /// Wireshark frame number.
    pub frame: u64,
    /// Seconds since the Unix epoch.
    pub time: f64,
}

/// How far the login has got (RFC 959 §5.4, USER → 331 → PASS → 230/530).
#[derive(Debug, Clone, PartialEq, Eq)]
enum LoginState {
    AwaitingUser,
    AwaitingPassword { username: String },
    LoggedIn { user: String },
}

/// A command waiting for its final reply.
#[derive(Debug, Clone)]
struct Pending {
    /// The command; `None` when the line did not parse (`RETR` without a path).
    command: Option<Command>,
    /// The data connection it opens, also for a line that did not parse: its reply still ends
    /// the transfer.
    direction: Option<DataDirection>,
}

/// A login attempt being followed: USER, then maybe PASS, then the reply.
#[derive(Debug, Clone)]
struct Attempt {
    user: String,
    password: Option<String>,
    frames: Vec<u64>,
    frame: u64,
    /// Read from TLS with the key log.
    decrypted: bool,
}

/// One control connection.
#[derive(Debug)]
pub struct Session {
    /// 1-based number.
    pub id: usize,
    /// The FTP client.
    pub client: SocketAddr,
    /// The FTP server.
    pub server: SocketAddr,
    /// First frame of the control connection.
    pub first_frame: u64,
    client_buf: Vec<u8>,
    server_buf: Vec<u8>,
    /// Bytes at the start of `server_buf` known to hold no line end (not searched again).
    server_scanned: usize,
    /// The rest of an over-long line is being skipped, per side (client, server): its tail
    /// must not be read as a command or reply of its own.
    skipping_line: [bool; 2],
    /// The server's replies, decoded a line at a time.
    replies: ReplyLines,
    pending: VecDeque<Pending>,
    login: LoginState,
    attempt: Option<Attempt>,
    /// Frame of the 234 reply after which everything is TLS.
    pub encrypted: Option<u64>,
    /// The 220 greeting and its frame.
    pub banner: Option<(String, u64)>,
    /// The FEAT reply lines and frame.
    pub feat: Option<(Vec<String>, u64)>,
    /// AUTH was sent (the frame), whatever the reply.
    pub auth_sent: Option<u64>,
    /// PROT C sent after a successful AUTH (the frame).
    pub prot_clear: Option<u64>,
    /// Addresses named by PORT/EPRT, with their frames.
    pub port_addresses: Vec<(SocketAddr, u64)>,
    /// Frames of control connection segments whose bytes differ from an earlier copy (the first
    /// copy was read), at most 64.
    pub conflicting_frames: Vec<u64>,
    /// Passive ports connected to from another address than the client's, at most 64.
    pub passive_thefts: Vec<PassiveTheft>,
    ascii: bool,
    rest: Option<u64>,
    sizes: HashMap<String, u64>,
    transfer: Option<usize>,
    unbound_data: Option<usize>,
}

/// A passive port (227/229) that another host than the client connected to first (RFC 2577
/// §8, port stealing): that host gets the file, or sends its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PassiveTheft {
    /// The server's passive port.
    pub listener: SocketAddr,
    /// Who connected to it.
    pub connector: SocketAddr,
    /// Frame of the 227/229 reply that announced the port.
    pub announced: u64,
    /// Frame of the connection's first segment (its SYN when captured).
    pub opened: u64,
    /// Bytes that crossed that connection, both ways (0: the server refused the connection,
    /// or the capture does not show its data).
    pub bytes: u64,
}

/// A data connection announced but not seen yet.
#[derive(Debug, Clone, Copy)]
struct Expected {
    /// Index of the session.
    session: usize,
    mode: DataMode,
    /// Frame of the command (PORT/EPRT) or reply (227/229) that announced it.
    frame: u64,
}

/// All sessions, transfers and events of one capture.
#[derive(Default)]
pub struct Tracker {
    /// Control connections, in order of discovery.
    pub sessions: crate::slots::Slots<Session>,
    /// Data connections and transfers.
    pub transfers: crate::slots::Slots<Transfer>,
    /// Everything found so far (not sorted).
    pub events: Vec<Event>,
    /// Data connections announced but not yet seen: listener address → who announced it.
    expected: HashMap<SocketAddr, Expected>,
    /// Where transfer content goes (`--extract`), if anywhere.
    extract: Option<Box<dyn ExtractSink>>,
    /// TLS control and data connections (FTPS, RFC 4217) and the key log.
    pub tls: crate::tls::TlsState,
    /// Sessions whose control connection ended, for the reader to take (a streaming reader
    /// reports and drops them).
    pub ended: Vec<usize>,
    /// Data connections opened by another host than the client: transfer → (session index,
    /// index in its `passive_thefts`), to count their bytes.
    thefts: HashMap<TransferId, (usize, usize)>,
}

impl std::fmt::Debug for Tracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracker")
            .field("sessions", &self.sessions)
            .field("transfers", &self.transfers)
            .field("events", &self.events.len())
            .field("extract", &self.extract.is_some())
            .finish_non_exhaustive()
    }
}

fn expected(session: usize, mode: DataMode, ctx: Ctx) -> Expected {
    Expected {
        session,
        mode,
        frame: ctx.frame,
    }
}

fn peer(a: SocketAddr) -> String {
    a.to_string()
}

impl Tracker {
    /// A tracker that hands transfer content to `extract` when given.
    pub fn new(extract: Option<Box<dyn ExtractSink>>) -> Tracker {
        Tracker {
            extract,
            ..Tracker::default()
        }
    }

    /// Takes the extract sink back (after [`Tracker::finish`]).
    pub fn take_extract(&mut self) -> Option<Box<dyn ExtractSink>> {
        self.extract.take()
    }

    /// Starts a session for a control connection; returns its index.
    pub fn open_session(
        &mut self,
        client: SocketAddr,
        server: SocketAddr,
        found_by: &'static str,
        ctx: Ctx,
    ) -> usize {
        let id = self.sessions.len() + 1;
        self.sessions.push(Session {
            id,
            client,
            server,
            first_frame: ctx.frame,
            client_buf: Vec::new(),
            server_buf: Vec::new(),
            server_scanned: 0,
            skipping_line: [false; 2],
            replies: ReplyLines::with_limit(MAX_REPLY),
            pending: VecDeque::new(),
            login: LoginState::AwaitingUser,
            attempt: None,
            encrypted: None,
            banner: None,
            feat: None,
            auth_sent: None,
            prot_clear: None,
            port_addresses: Vec::new(),
            conflicting_frames: Vec::new(),
            passive_thefts: Vec::new(),
            ascii: false,
            rest: None,
            sizes: HashMap::new(),
            transfer: None,
            unbound_data: None,
        });
        self.events.push(Event::Session(SessionEvent {
            session: id,
            frame: ctx.frame,
            time: ctx.time,
            client: peer(client),
            server: peer(server),
            found_by,
            decode_as: (server.port() != crate::FTP_PORT)
                .then(|| format!("tcp.port=={},ftp", server.port())),
        }));
        id - 1
    }

    fn warn(&mut self, frame: u64, message: String) {
        self.events
            .push(Event::Warning(WarningEvent::new(frame, message)));
    }

    /// Appends a chunk of one side of control connection `s` to that side's line buffer.
    /// False when there is nothing to parse: the connection is encrypted, or bytes are missing
    /// (the buffer is dropped, since a line cut by a gap cannot be trusted; a warning says so).
    fn buffer_control_bytes(&mut self, s: usize, side: Side, chunk: Chunk<'_>, ctx: Ctx) -> bool {
        if self.sessions.get(s).is_some_and(|x| x.encrypted.is_some()) {
            // After 234: TLS records, readable only through the key log (or after CCC).
            let client = matches!(side, Side::Client);
            let plain = self.tls_control_bytes(s, client, chunk, ctx);
            let (Some(plain), Some(session)) = (plain, self.sessions.get_mut(s)) else {
                return false;
            };
            match side {
                Side::Client => session.client_buf.extend_from_slice(&plain),
                Side::Server => session.server_buf.extend_from_slice(&plain),
            }
            return true;
        }
        let Some(session) = self.sessions.get_mut(s) else {
            return false;
        };
        let (buf, sender, lost) = match side {
            Side::Client => (&mut session.client_buf, "client", "commands"),
            Side::Server => (&mut session.server_buf, "server", "replies"),
        };
        match chunk {
            Chunk::Gap { len } => {
                buf.clear();
                // A line or reply cut by the gap cannot be finished: start afresh.
                match side {
                    Side::Client => session.skipping_line[0] = false,
                    Side::Server => {
                        session.server_scanned = 0;
                        session.skipping_line[1] = false;
                        session.replies = ReplyLines::with_limit(MAX_REPLY);
                    }
                }
                let id = session.id;
                self.warn(
                    ctx.frame,
                    format!("session {id}: {len} bytes sent by the {sender} are not in the capture; {lost} may be missing"),
                );
                false
            }
            Chunk::Data(d) => {
                buf.extend_from_slice(d);
                true
            }
        }
    }

    /// Bytes the client sent on control connection `s`.
    pub fn client_bytes(&mut self, s: usize, chunk: Chunk<'_>, ctx: Ctx) {
        if !self.buffer_control_bytes(s, Side::Client, chunk, ctx) {
            return;
        }
        let mut start = 0;
        loop {
            let Some(session) = self.sessions.get_mut(s) else {
                return;
            };
            if session.encrypted.is_some() && !self.tls.readable(s) {
                session.client_buf.clear();
                return;
            }
            let buf = session.client_buf.get(start..).unwrap_or_default();
            if session.skipping_line[0] {
                // The tail of an over-long command line: up to its line end.
                match skip_line(buf) {
                    Some(n) => {
                        start += n;
                        session.skipping_line[0] = false;
                        continue;
                    }
                    None => {
                        start += buf.len();
                        break;
                    }
                }
            }
            match next_line(buf, MAX_LINE_LEN) {
                LineStatus::Complete { content, consumed } => {
                    let line = strip_telnet(buf.get(..content).unwrap_or_default());
                    let text = String::from_utf8_lossy(&line).into_owned();
                    start += consumed;
                    if !text.trim().is_empty() {
                        self.command(s, &text, ctx);
                    }
                }
                LineStatus::Incomplete => break,
                LineStatus::TooLong => {
                    let id = session.id;
                    match skip_line(buf) {
                        Some(n) => start += n,
                        None => {
                            start += buf.len();
                            session.skipping_line[0] = true;
                        }
                    }
                    self.warn(
                        ctx.frame,
                        format!(
                            "session {id}: command line longer than {MAX_LINE_LEN} bytes skipped"
                        ),
                    );
                }
            }
        }
        if let Some(session) = self.sessions.get_mut(s) {
            session
                .client_buf
                .drain(..start.min(session.client_buf.len()));
        }
    }

    /// Bytes the server sent on control connection `s`. Each byte is looked at once: a line
    /// is searched for its end only past what earlier calls searched, and a reply is decoded a
    /// line at a time ([`ReplyLines`]), so a reply that never ends costs linear time and at
    /// most `MAX_REPLY` (64 KiB) bytes of memory.
    pub fn server_bytes(&mut self, s: usize, chunk: Chunk<'_>, ctx: Ctx) {
        if !self.buffer_control_bytes(s, Side::Server, chunk, ctx) {
            return;
        }
        let mut start = 0;
        loop {
            let Some(session) = self.sessions.get_mut(s) else {
                return;
            };
            if session.encrypted.is_some() && !self.tls.readable(s) {
                session.server_buf.clear();
                session.server_scanned = 0;
                return;
            }
            let id = session.id;
            let buf = session.server_buf.get(start..).unwrap_or_default();
            let from = session.server_scanned.min(buf.len());
            let lf = buf
                .get(from..)
                .unwrap_or_default()
                .iter()
                .position(|&b| b == b'\n')
                .map(|i| from + i);
            if session.skipping_line[1] {
                // The tail of an over-long reply line: up to its line end.
                match lf {
                    Some(lf) => {
                        start += lf + 1;
                        session.skipping_line[1] = false;
                        session.server_scanned = 0;
                        continue;
                    }
                    None => {
                        start += buf.len();
                        session.server_scanned = 0;
                        break;
                    }
                }
            }
            let outcome = match lf {
                Some(lf) => {
                    let raw = buf.get(..lf).unwrap_or_default();
                    let line = raw.strip_suffix(b"\r").unwrap_or(raw);
                    let outcome = session.replies.push_line(line);
                    start += lf + 1;
                    session.server_scanned = 0;
                    outcome
                }
                None if buf.len() > MAX_REPLY => {
                    // No line end within the limit: keep the head (a 227's address is at its
                    // start), skip the rest of the line.
                    let outcome = session
                        .replies
                        .push_line(buf.get(..MAX_REPLY).unwrap_or_default());
                    start += buf.len();
                    session.server_scanned = 0;
                    session.skipping_line[1] = true;
                    self.warn(
                        ctx.frame,
                        format!(
                            "session {id}: reply line longer than {MAX_REPLY} bytes; its first \
                             {MAX_REPLY} bytes read, the rest skipped"
                        ),
                    );
                    outcome
                }
                None => {
                    session.server_scanned = buf.len();
                    break;
                }
            };
            match outcome {
                LineOutcome::Reply { reply, .. } => self.reply(s, reply, ctx),
                LineOutcome::Partial | LineOutcome::Dropped => {}
                LineOutcome::LimitReached { limit } => self.warn(
                    ctx.frame,
                    format!(
                        "session {id}: multi-line reply longer than {limit} bytes; the lines \
                         after that are skipped up to its last line"
                    ),
                ),
                LineOutcome::NotAReply { text } => self.warn(
                    ctx.frame,
                    format!("session {id}: not an FTP reply line: {text:?}; line skipped"),
                ),
            }
        }
        if let Some(session) = self.sessions.get_mut(s) {
            let used = start.min(session.server_buf.len());
            session.server_buf.drain(..used);
        }
    }

    fn command(&mut self, s: usize, line: &str, ctx: Ctx) {
        let parsed = Command::parse(line);
        // The verb and argument exactly as sent (what Wireshark shows as ftp.request.arg).
        let (sent_verb, raw_arg) = split_line(line);
        let raw_arg = raw_arg.map(str::to_owned);
        let (verb, direction) = match &parsed {
            Ok(c) => (c.verb().to_owned(), c.data_direction()),
            Err(_) => (
                sent_verb.to_ascii_uppercase(),
                DataDirection::of_verb(sent_verb),
            ),
        };
        let Some(session) = self.sessions.get_mut(s) else {
            return;
        };
        self.events.push(Event::Command(CommandEvent {
            session: session.id,
            frame: ctx.frame,
            time: ctx.time,
            command: verb.clone(),
            arg: raw_arg.clone(),
            decrypted_with_keylog: self.tls.decrypting(s),
        }));
        let command = parsed.ok();
        match &command {
            Some(Command::User { name }) => {
                // A new USER before the last login attempt ended (RFC 959 §4.1.1 allows it):
                // the earlier name (and password, if sent) crossed the wire in clear as well,
                // so it is reported as its own attempt, with no outcome.
                if let Some(earlier) = session.attempt.take() {
                    let event = credential(session, earlier, None);
                    self.events.push(Event::Credential(Box::new(event)));
                }
                session.attempt = Some(Attempt {
                    user: name.clone(),
                    password: None,
                    frames: vec![ctx.frame],
                    frame: ctx.frame,
                    decrypted: self.tls.decrypting(s),
                });
            }
            Some(Command::Pass { password }) => {
                let attempt = session.attempt.get_or_insert_with(|| Attempt {
                    user: match &session.login {
                        LoginState::AwaitingPassword { username } => username.clone(),
                        _ => String::new(),
                    },
                    password: None,
                    frames: Vec::new(),
                    frame: ctx.frame,
                    decrypted: false,
                });
                attempt.password = Some(password.clone());
                attempt.frames.push(ctx.frame);
                attempt.frame = ctx.frame;
                attempt.decrypted |= self.tls.decrypting(s);
            }
            Some(Command::Port { addr }) => {
                let addr = SocketAddr::V4(*addr);
                session.port_addresses.push((addr, ctx.frame));
                self.expected
                    .insert(addr, expected(s, DataMode::Active, ctx));
            }
            Some(Command::Eprt { addr }) => {
                session.port_addresses.push((*addr, ctx.frame));
                self.expected
                    .insert(*addr, expected(s, DataMode::Active, ctx));
            }
            Some(Command::Rest { offset }) => session.rest = Some(*offset),
            Some(Command::Type { transfer_type }) => {
                session.ascii = *transfer_type == TransferType::Ascii;
            }
            Some(Command::Auth { .. }) => session.auth_sent = Some(ctx.frame),
            Some(Command::Prot { level })
                if level.trim().eq_ignore_ascii_case("C") && session.auth_sent.is_some() =>
            {
                session.prot_clear = Some(ctx.frame);
            }
            _ => {}
        }
        if let Some(direction) = direction {
            let path = command.as_ref().and_then(Command::argument);
            let rest = session.rest.take();
            let ascii = session.ascii;
            let expected = match (&path, direction) {
                (Some(p), DataDirection::Download) => session.sizes.get(p).copied(),
                _ => None,
            };
            let idx = match session.unbound_data.take() {
                Some(idx) => idx,
                None => {
                    let idx = self.transfers.len();
                    self.transfers.push(Transfer::new(idx, Some(session.id)));
                    idx
                }
            };
            session.transfer = Some(idx);
            if let Some(t) = self.transfers.get_mut(idx) {
                t.command = Some(verb.clone());
                t.command_frame = Some(ctx.frame);
                t.name = path;
                t.direction = Some(direction);
                t.rest = rest;
                t.ascii = ascii;
                t.expected_bytes = t.expected_bytes.or(expected);
            }
        }
        if let Some(session) = self.sessions.get_mut(s) {
            session.pending.push_back(Pending { command, direction });
        }
    }

    fn reply(&mut self, s: usize, reply: Reply, ctx: Ctx) {
        let Some(session) = self.sessions.get_mut(s) else {
            return;
        };
        let code = reply.code;
        let text = reply.text();
        // A final reply answers the oldest command still waiting (RFC 959 §5.4).
        let answered = session
            .pending
            .front()
            .and_then(|p| p.command.as_ref())
            .map(Command::verb);
        self.events.push(Event::Reply(ReplyEvent {
            session: session.id,
            frame: ctx.frame,
            time: ctx.time,
            code: code.0,
            text: text.clone(),
            meaning: match answered {
                Some(verb) => code.meaning_after(verb),
                None => code.meaning(),
            },
            decrypted_with_keylog: self.tls.decrypting(s),
        }));
        if code.is_positive_preliminary() {
            if let Some(t) = session.transfer.and_then(|i| self.transfers.get_mut(i))
                && t.expected_bytes.is_none()
            {
                t.expected_bytes = transfer_size(&text);
            }
            return;
        }
        let Some(mut pending) = session.pending.pop_front() else {
            if code == ReplyCode::SERVICE_READY && session.banner.is_none() {
                session.banner = Some((text, ctx.frame));
            }
            return;
        };
        // No transfer ends with this code (RFC 959 §5.4): the transfer's own reply was lost in a
        // gap of the capture, and this one answers a later command (221 to QUIT, say). The
        // transfer keeps "no final reply" rather than borrowing another command's.
        while pending.direction.is_some() && !code.can_end_a_transfer() {
            let Some(next) = session.pending.pop_front() else {
                break;
            };
            session.transfer = None;
            pending = next;
        }
        let positive = code.is_positive_completion() || code.is_positive_intermediate();
        match (&pending.command, code) {
            (Some(Command::User { .. }), ReplyCode::NEED_PASSWORD | ReplyCode::NEED_ACCOUNT) => {
                if let Some(a) = &session.attempt {
                    session.login = LoginState::AwaitingPassword {
                        username: a.user.clone(),
                    };
                }
            }
            (Some(Command::User { .. }), _) => self.conclude_login(s, code, ctx),
            // 332: an account is needed (ACCT); the login is not over yet.
            (Some(Command::Pass { .. }), code) if code != ReplyCode::NEED_ACCOUNT => {
                self.conclude_login(s, code, ctx)
            }
            (
                Some(Command::Auth { mechanism }),
                ReplyCode::SECURITY_EXCHANGE_DONE | ReplyCode::SECURITY_DATA_NEEDED,
            ) => {
                session.encrypted = Some(ctx.frame);
                session.client_buf.clear();
                session.server_buf.clear();
                session.server_scanned = 0;
                let mechanism = mechanism.clone();
                let id = session.id;
                self.events.push(Event::Tls(TlsEvent {
                    session: id,
                    frame: ctx.frame,
                    mechanism,
                }));
            }
            (Some(Command::Pasv), ReplyCode::ENTERING_PASSIVE) => {
                if let Ok(addr) = host_port::parse_pasv_reply(&text) {
                    let addr = SocketAddr::V4(addr);
                    self.expected
                        .insert(addr, expected(s, DataMode::Passive, ctx));
                    // Behind NAT the announced address differs: the port on the control
                    // connection's server address is the likelier one.
                    let local = SocketAddr::new(session.server.ip(), addr.port());
                    self.expected
                        .insert(local, expected(s, DataMode::Passive, ctx));
                }
            }
            (Some(Command::Epsv { .. }), ReplyCode::ENTERING_EXTENDED_PASSIVE) => {
                if let Ok(port) = host_port::parse_epsv_reply(&text) {
                    let addr = SocketAddr::new(session.server.ip(), port);
                    self.expected
                        .insert(addr, expected(s, DataMode::Passive, ctx));
                }
            }
            (Some(Command::Size { path }), ReplyCode::FILE_STATUS) => {
                if let Some(n) = parse_size_reply(&text) {
                    session.sizes.insert(path.clone(), n);
                }
            }
            (Some(Command::Feat), ReplyCode::SYSTEM_STATUS) => {
                session.feat = Some((reply.lines.clone(), ctx.frame));
            }
            _ if pending.direction.is_some() => {
                if let Some(idx) = session.transfer.take() {
                    self.transfer_reply(idx, code, ctx, positive);
                }
            }
            _ => {}
        }
    }

    fn conclude_login(&mut self, s: usize, code: ReplyCode, ctx: Ctx) {
        let Some(session) = self.sessions.get_mut(s) else {
            return;
        };
        let accepted = if code.is_positive_completion() {
            Some(true)
        } else if code.is_negative() {
            Some(false)
        } else {
            None
        };
        let Some(mut attempt) = session.attempt.take() else {
            return;
        };
        attempt.frames.push(ctx.frame);
        session.login = match accepted {
            Some(true) => LoginState::LoggedIn {
                user: attempt.user.clone(),
            },
            _ => LoginState::AwaitingUser,
        };
        let event = credential(session, attempt, accepted);
        self.events.push(Event::Credential(Box::new(event)));
    }

    fn transfer_reply(&mut self, idx: TransferId, code: ReplyCode, ctx: Ctx, positive: bool) {
        let Some(t) = self.transfers.get_mut(idx) else {
            return;
        };
        t.final_reply = Some((code, ctx.frame));
        match t.state {
            // Refused before any data connection (550 no such file…): reported as refused.
            TransferState::AwaitingConnection if !positive => {
                let event = t.finish(self.extract.as_deref_mut());
                self.events.push(Event::Transfer(Box::new(event)));
            }
            TransferState::Closed { .. } => {
                let event = t.finish(self.extract.as_deref_mut());
                self.events.push(Event::Transfer(Box::new(event)));
            }
            _ => {}
        }
    }

    /// A new TCP connection: is it a data connection somebody announced? `candidates` are the
    /// side that was connected to (or both sides when the SYN was not captured); `ends` the
    /// connection's two addresses, seen first in `ctx`.
    pub fn match_data(
        &mut self,
        candidates: &[SocketAddr],
        ends: (SocketAddr, SocketAddr),
        ctx: Ctx,
    ) -> Option<TransferId> {
        let (
            listener,
            Expected {
                session: s,
                mode,
                frame,
            },
        ) = candidates
            .iter()
            .find_map(|a| Some((*a, self.expected.remove(a)?)))?;
        let session = self.sessions.get_mut(s)?;
        let connector = if listener == ends.1 { ends.0 } else { ends.1 };
        let theft = (mode == DataMode::Passive
            && connector.ip() != session.client.ip()
            && session.passive_thefts.len() < 64)
            .then(|| {
                session.passive_thefts.push(PassiveTheft {
                    listener,
                    connector,
                    announced: frame,
                    opened: ctx.frame,
                    bytes: 0,
                });
                session.passive_thefts.len() - 1
            });
        let bound = session.transfer.filter(|&i| {
            self.transfers
                .get(i)
                .is_some_and(|t| t.state == TransferState::AwaitingConnection)
        });
        let idx = match bound {
            Some(idx) => idx,
            None => {
                let idx = self.transfers.len();
                self.transfers.push(Transfer::new(idx, Some(session.id)));
                session.unbound_data = Some(idx);
                idx
            }
        };
        if let Some(t) = self.transfers.get_mut(idx) {
            t.state = TransferState::Open;
            t.mode = Some(mode);
        }
        if let Some(k) = theft {
            self.thefts.insert(idx, (s, k));
        }
        Some(idx)
    }

    /// A data connection nobody announced (its control connection is not in the capture).
    pub fn orphan_data(&mut self) -> ConnectionRole {
        let idx = self.transfers.len();
        let mut t = Transfer::new(idx, None);
        t.state = TransferState::Open;
        self.transfers.push(t);
        ConnectionRole::Data { transfer: idx }
    }

    /// A chunk of direction `dir` of a connection whose role is settled.
    pub fn deliver(&mut self, role: ConnectionRole, dir: usize, chunk: Chunk<'_>, ctx: Ctx) {
        match role {
            ConnectionRole::Control {
                session,
                client_dir,
            } if dir == client_dir => self.client_bytes(session, chunk, ctx),
            ConnectionRole::Control { session, .. } => self.server_bytes(session, chunk, ctx),
            ConnectionRole::Data { transfer } => self.data_bytes(transfer, dir, chunk, ctx),
        }
    }

    /// A segment (frame `ctx.frame`) of a connection whose role is settled brought bytes that
    /// differ from an earlier copy of them; the first copy was kept.
    pub fn segment_conflict(&mut self, role: ConnectionRole, ctx: Ctx) {
        match role {
            ConnectionRole::Data { transfer } => {
                if let Some(t) = self.transfers.get_mut(transfer) {
                    t.note_conflict(ctx.frame);
                }
            }
            ConnectionRole::Control { session, .. } => {
                if let Some(s) = self.sessions.get_mut(session)
                    && s.conflicting_frames.len() < 64
                {
                    s.conflicting_frames.push(ctx.frame);
                }
            }
        }
    }

    /// A connection whose role is settled has ended (a control connection's end changes
    /// nothing: its commands and replies are already counted).
    pub fn closed(&mut self, role: ConnectionRole, reset: bool, ends_seen: [bool; 2]) {
        match role {
            ConnectionRole::Data { transfer } => {
                let reset = reset && !self.tls_closed_cleanly(transfer);
                self.data_closed(transfer, reset, ends_seen);
            }
            ConnectionRole::Control { session, .. } => {
                self.tls_control_closed(session);
                self.ended.push(session);
            }
        }
    }

    /// Bytes on data connection `idx`, direction `dir`.
    pub fn data_bytes(&mut self, idx: TransferId, dir: usize, chunk: Chunk<'_>, ctx: Ctx) {
        // A TLS data connection (PROT P) gives its decrypted content instead, if any.
        let plain = self.tls_data_bytes(idx, dir, &chunk, ctx);
        let chunk = match &plain {
            Some(p) if p.is_empty() => return,
            Some(p) => Chunk::Data(p),
            None => chunk,
        };
        if let Some(&(s, k)) = self.thefts.get(&idx)
            && let Some(theft) = self
                .sessions
                .get_mut(s)
                .and_then(|x| x.passive_thefts.get_mut(k))
        {
            theft.bytes += match chunk {
                Chunk::Data(d) => d.len() as u64,
                Chunk::Gap { len } => len,
            };
        }
        if let Some(t) = self.transfers.get_mut(idx) {
            t.push(dir, chunk, ctx.frame, self.extract.as_deref_mut());
        }
    }

    /// Data connection `idx` has ended; `ends_seen` says, per direction, whether its FIN was
    /// captured (then the stream's length is known).
    pub fn data_closed(&mut self, idx: TransferId, reset: bool, ends_seen: [bool; 2]) {
        let Some(t) = self.transfers.get_mut(idx) else {
            return;
        };
        if t.state == TransferState::Reported {
            return;
        }
        t.close(reset, ends_seen);
        let ready = t.final_reply.is_some() || t.session.is_none();
        if ready {
            if t.session.is_none() && (t.two_way || t.bytes() == 0) {
                // Not an FTP data connection after all.
                t.state = TransferState::Reported;
                if let Some(sink) = self.extract.as_deref_mut() {
                    sink.discard(idx);
                }
                return;
            }
            let event = t.finish(self.extract.as_deref_mut());
            self.events.push(Event::Transfer(Box::new(event)));
        }
    }

    /// End of the capture: whatever is still open is reported as far as it got.
    pub fn finish(&mut self) {
        self.tls_finish();
        for idx in 0..self.transfers.len() {
            self.finish_transfer(idx);
        }
        for s in &mut self.sessions {
            if let Some(attempt) = s.attempt.take() {
                let event = credential(s, attempt, None);
                self.events.push(Event::Credential(Box::new(event)));
            }
        }
    }
}

impl Tracker {
    /// Transfer `idx`, unless reported already, reported as far as it got.
    fn finish_transfer(&mut self, idx: TransferId) {
        let Some(t) = self.transfers.get_mut(idx) else {
            return;
        };
        if t.state == TransferState::Reported {
            return;
        }
        let encrypted = t
            .tls
            .is_some_and(|x| x.encrypted_bytes_to_server + x.encrypted_bytes_to_client > 0);
        if t.session.is_none() && (t.two_way || t.bytes() == 0)
            || t.command.is_none() && t.bytes() == 0 && !encrypted
        {
            // Not an FTP data connection, or nothing of it captured.
            if let Some(sink) = self.extract.as_deref_mut() {
                sink.discard(t.id);
            }
            return;
        }
        let event = t.finish(self.extract.as_deref_mut());
        self.events.push(Event::Transfer(Box::new(event)));
    }

    /// Session `s` is over (its control connection ended and no data connection of it is
    /// open): what [`Tracker::finish`] would report of it is reported now, and it and its
    /// transfers are dropped, so that memory does not grow with the number of sessions.
    /// Its events must be taken from [`Tracker::events`] before the next call.
    pub fn end_session(&mut self, s: usize) {
        self.tls_finish_control(s);
        let Some(id) = self.sessions.get(s).map(|x| x.id) else {
            return;
        };
        let transfers = self.transfers_of(id);
        for &idx in &transfers {
            self.finish_transfer(idx);
        }
        if let Some(session) = self.sessions.get_mut(s)
            && let Some(attempt) = session.attempt.take()
        {
            let event = credential(session, attempt, None);
            self.events.push(Event::Credential(Box::new(event)));
        }
    }

    /// The transfers of the session with `id`.
    fn transfers_of(&self, id: usize) -> Vec<TransferId> {
        self.transfers
            .iter()
            .filter(|t| t.session == Some(id))
            .map(|t| t.id)
            .collect()
    }

    /// Drops session `s` and its transfers (after [`Tracker::end_session`] and its findings).
    pub fn drop_session(&mut self, s: usize) {
        let Some(id) = self.sessions.get(s).map(|x| x.id) else {
            return;
        };
        let transfers = self.transfers_of(id);
        for idx in transfers {
            self.transfers.retire(idx);
            self.tls.data.remove(&idx);
        }
        self.thefts.retain(|_, (session, _)| *session != s);
        self.sessions.retire(s);
        self.tls.forget_control(s);
    }

    /// True while a data connection of session `s` is open (its content still coming).
    pub fn data_open(&self, s: usize) -> bool {
        let id = s + 1;
        self.transfers
            .iter()
            .any(|t| t.session == Some(id) && t.state == TransferState::Open)
    }

    /// Transfers of no session that are over: dropped (their events are out already).
    pub fn drop_orphans(&mut self) {
        let done: Vec<TransferId> = self
            .transfers
            .iter()
            .filter(|t| t.session.is_none() && t.state == TransferState::Reported)
            .map(|t| t.id)
            .collect();
        for idx in done {
            self.transfers.retire(idx);
            self.tls.data.remove(&idx);
        }
    }
}

fn credential(session: &Session, attempt: Attempt, accepted: Option<bool>) -> CredentialEvent {
    CredentialEvent {
        decrypted_with_keylog: attempt.decrypted,
        session: session.id,
        client: peer(session.client),
        server: peer(session.server),
        user: attempt.user,
        password: attempt.password,
        accepted,
        frame: attempt.frame,
        filter: crate::report::frame_filter(&attempt.frames),
        frames: attempt.frames,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(frame: u64) -> Ctx {
        Ctx { frame, time: 0.0 }
    }

    fn tracker_with_session() -> Tracker {
        let mut t = Tracker::new(None);
        let c = "127.0.0.1:40000".parse().unwrap();
        let s = "127.0.0.1:21".parse().unwrap();
        t.open_session(c, s, "port", ctx(1));
        t
    }

    fn credentials(t: &Tracker) -> Vec<&CredentialEvent> {
        t.events
            .iter()
            .filter_map(|e| match e {
                Event::Credential(c) => Some(c.as_ref()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn failed_then_successful_login_gives_two_credentials() {
        let mut t = tracker_with_session();
        t.server_bytes(0, Chunk::Data(b"220 hi\r\n"), ctx(2));
        t.client_bytes(0, Chunk::Data(b"USER bob\r\n"), ctx(3));
        t.server_bytes(0, Chunk::Data(b"331 pw\r\n"), ctx(4));
        t.client_bytes(0, Chunk::Data(b"PASS wrong\r\n"), ctx(5));
        t.server_bytes(0, Chunk::Data(b"530 no\r\n"), ctx(6));
        t.client_bytes(0, Chunk::Data(b"USER bob\r\nPA"), ctx(7));
        t.client_bytes(0, Chunk::Data(b"SS right\r\n"), ctx(8));
        t.server_bytes(0, Chunk::Data(b"331 pw\r\n230 ok\r\n"), ctx(9));
        let c = credentials(&t);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].password.as_deref(), Some("wrong"));
        assert_eq!(c[0].accepted, Some(false));
        assert_eq!(
            c[0].filter,
            "frame.number == 3 || frame.number == 5 || frame.number == 6"
        );
        assert_eq!(c[1].password.as_deref(), Some("right"));
        assert_eq!(c[1].accepted, Some(true));
        assert_eq!(c[1].frame, 8);
    }

    #[test]
    fn pwds_257_is_the_current_directory_and_a_refused_retr_is_no_file() {
        let mut t = tracker_with_session();
        t.server_bytes(0, Chunk::Data(b"220 hi\r\n"), ctx(2));
        t.client_bytes(0, Chunk::Data(b"PWD\r\n"), ctx(3));
        t.server_bytes(
            0,
            Chunk::Data(b"257 \"/\" is the current directory\r\n"),
            ctx(4),
        );
        t.client_bytes(0, Chunk::Data(b"MKD d\r\n"), ctx(5));
        t.server_bytes(0, Chunk::Data(b"257 \"/d\" created\r\n"), ctx(6));
        t.client_bytes(0, Chunk::Data(b"RETR missing.txt\r\n"), ctx(7));
        t.server_bytes(0, Chunk::Data(b"550 no such file\r\n"), ctx(8));
        t.finish();
        let meanings: Vec<_> = t
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Reply(r) if r.code == 257 => r.meaning,
                _ => None,
            })
            .collect();
        assert_eq!(
            meanings,
            [
                "\"PATHNAME\" is the current working directory",
                "\"PATHNAME\" created"
            ]
        );
        let refused: Vec<_> = t
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Transfer(x) => Some(x),
                _ => None,
            })
            .collect();
        assert_eq!(refused.len(), 1, "{refused:?}");
        assert!(refused[0].refused);
        assert_eq!(refused[0].sha256, None);
        assert_eq!(refused[0].bytes, 0);
        assert_eq!(refused[0].reply, Some(550));
        assert_eq!(refused[0].name.as_deref(), Some("missing.txt"));
    }

    #[test]
    fn a_user_name_replaced_by_another_user_is_reported_too() {
        let mut t = tracker_with_session();
        t.server_bytes(0, Chunk::Data(b"220 hi\r\n"), ctx(2));
        t.client_bytes(0, Chunk::Data(b"USER a\r\n"), ctx(3));
        t.server_bytes(0, Chunk::Data(b"331 pw\r\n"), ctx(4));
        t.client_bytes(0, Chunk::Data(b"USER b\r\n"), ctx(5));
        t.server_bytes(0, Chunk::Data(b"331 pw\r\n"), ctx(6));
        t.client_bytes(0, Chunk::Data(b"PASS x\r\n"), ctx(7));
        t.server_bytes(0, Chunk::Data(b"230 ok\r\n"), ctx(8));
        // Pipelined: both USER lines before any reply.
        t.client_bytes(0, Chunk::Data(b"USER c\r\nUSER d\r\nPASS y\r\n"), ctx(9));
        t.server_bytes(0, Chunk::Data(b"331 pw\r\n331 pw\r\n530 no\r\n"), ctx(10));
        t.finish();
        let c = credentials(&t);
        let seen: Vec<_> = c
            .iter()
            .map(|c| (c.user.as_str(), c.password.as_deref(), c.accepted, c.frame))
            .collect();
        assert_eq!(
            seen,
            [
                ("a", None, None, 3),
                ("b", Some("x"), Some(true), 7),
                ("c", None, None, 9),
                ("d", Some("y"), Some(false), 9),
            ]
        );
        assert_eq!(c[0].filter, "frame.number == 3");
        assert_eq!(
            c[1].filter,
            "frame.number == 5 || frame.number == 7 || frame.number == 8"
        );
    }

    #[test]
    fn multi_line_reply_is_one_reply_event() {
        let mut t = tracker_with_session();
        t.server_bytes(
            0,
            Chunk::Data(b"220-Welcome\r\n220-to\r\n220 the lab\r\n"),
            ctx(2),
        );
        let replies: Vec<_> = t
            .events
            .iter()
            .filter(|e| matches!(e, Event::Reply(_)))
            .collect();
        assert_eq!(replies.len(), 1);
        assert_eq!(
            t.sessions[0].banner.as_ref().unwrap().0,
            "Welcome\n220-to\nthe lab",
            "ftp-proto keeps middle lines as sent"
        );
    }

    #[test]
    fn after_234_nothing_more_is_parsed() {
        let mut t = tracker_with_session();
        t.client_bytes(0, Chunk::Data(b"AUTH TLS\r\n"), ctx(2));
        t.server_bytes(0, Chunk::Data(b"234 go\r\n\x16\x03\x01garbage"), ctx(3));
        t.client_bytes(0, Chunk::Data(b"USER hidden\r\n"), ctx(4));
        assert!(t.events.iter().any(|e| matches!(e, Event::Tls(_))));
        assert!(credentials(&t).is_empty());
        assert_eq!(t.sessions[0].encrypted, Some(3));
    }

    /// The first transfer event the tracker emitted.
    fn first_transfer(t: &Tracker) -> &crate::event::TransferEvent {
        t.events
            .iter()
            .find_map(|e| match e {
                Event::Transfer(x) => Some(x.as_ref()),
                _ => None,
            })
            .expect("a transfer")
    }

    /// A logged-in session after PASV and its 227, with the data connection it announced
    /// already matched (its index is the second value).
    fn tracker_with_passive_data() -> (Tracker, usize) {
        let mut t = tracker_with_session();
        t.client_bytes(0, Chunk::Data(b"PASV\r\n"), ctx(2));
        t.server_bytes(
            0,
            Chunk::Data(b"227 Entering Passive Mode (127,0,0,1,200,10).\r\n"),
            ctx(3),
        );
        let listener: SocketAddr = "127.0.0.1:51210".parse().unwrap();
        let client: SocketAddr = "127.0.0.1:40001".parse().unwrap();
        let idx = t
            .match_data(&[listener], (client, listener), ctx(4))
            .expect("announced");
        (t, idx)
    }

    #[test]
    fn pasv_reply_announces_the_data_connection() {
        let (mut t, idx) = tracker_with_passive_data();
        t.client_bytes(0, Chunk::Data(b"RETR a.txt\r\n"), ctx(4));
        t.data_bytes(idx, 1, Chunk::Data(b"hello"), ctx(5));
        t.data_closed(idx, false, [true, true]);
        t.server_bytes(0, Chunk::Data(b"150 ok\r\n226 done\r\n"), ctx(6));
        let transfer = first_transfer(&t);
        assert_eq!(transfer.name.as_deref(), Some("a.txt"));
        assert_eq!(transfer.bytes, 5);
        assert!(transfer.complete, "{transfer:?}");
        assert_eq!(transfer.mode, Some("passive"));
    }

    #[test]
    fn a_passive_port_opened_from_another_address_is_a_theft_and_from_the_client_is_not() {
        let (t, _) = tracker_with_passive_data();
        assert_eq!(t.sessions.get(0).map(|s| s.passive_thefts.len()), Some(0));
        let mut t = tracker_with_session();
        t.client_bytes(0, Chunk::Data(b"EPSV\r\n"), ctx(2));
        t.server_bytes(
            0,
            Chunk::Data(b"229 Entering Extended Passive Mode (|||51210|)\r\n"),
            ctx(3),
        );
        let listener: SocketAddr = "127.0.0.1:51210".parse().unwrap();
        let eve: SocketAddr = "127.0.0.14:50000".parse().unwrap();
        // The SYN was not captured: both ends are candidates, the listener is recognised.
        let idx = t
            .match_data(&[eve, listener], (listener, eve), ctx(5))
            .expect("announced");
        t.data_bytes(idx, 0, Chunk::Data(b"the secret"), ctx(6));
        let theft = PassiveTheft {
            listener,
            connector: eve,
            announced: 3,
            opened: 5,
            bytes: 10,
        };
        assert_eq!(
            t.sessions.get(0).map(|s| s.passive_thefts.clone()),
            Some(vec![theft])
        );
    }

    /// RETR a.bin over a passive data connection that carries `chunks`, the server announcing
    /// 10 bytes in its 150 and confirming with 226; `ends_seen` as the flow layer reports it.
    fn download_of_ten_bytes(
        chunks: &[Chunk<'_>],
        ends_seen: [bool; 2],
    ) -> crate::event::TransferEvent {
        download_of_ten_bytes_ending(chunks, ends_seen, Some(b"226 done\r\n"))
    }

    /// The same with `last` as the final reply (`None`: lost with the end of the capture).
    fn download_of_ten_bytes_ending(
        chunks: &[Chunk<'_>],
        ends_seen: [bool; 2],
        last: Option<&[u8]>,
    ) -> crate::event::TransferEvent {
        let (mut t, idx) = tracker_with_passive_data();
        t.client_bytes(0, Chunk::Data(b"TYPE I\r\nRETR a.bin\r\n"), ctx(4));
        t.server_bytes(
            0,
            Chunk::Data(b"200 ok\r\n150 Opening data connection for a.bin (10 bytes)\r\n"),
            ctx(5),
        );
        for chunk in chunks {
            let chunk = match chunk {
                Chunk::Data(d) => Chunk::Data(d),
                Chunk::Gap { len } => Chunk::Gap { len: *len },
            };
            t.data_bytes(idx, 1, chunk, ctx(6));
        }
        t.data_closed(idx, false, ends_seen);
        if let Some(last) = last {
            t.server_bytes(0, Chunk::Data(last), ctx(7));
        }
        t.finish();
        first_transfer(&t).clone()
    }

    fn assert_reason(t: &crate::event::TransferEvent, text: &str) {
        assert!(
            t.incomplete_reason
                .as_deref()
                .is_some_and(|r| r.contains(text)),
            "{text:?} not in {t:?}"
        );
    }

    #[test]
    fn a_confirmed_download_whose_tail_and_fin_were_lost_ends_in_a_gap_to_the_announced_size() {
        let t = download_of_ten_bytes(&[Chunk::Data(b"hello")], [false, false]);
        assert_eq!(t.gaps, vec![[5, 5]], "{t:?}");
        assert_eq!(t.bytes, 5);
        assert!(!t.complete && t.sha256.is_none(), "{t:?}");
        assert_reason(&t, "5 bytes missing in 1 gap");
    }

    #[test]
    fn a_trailing_gap_one_past_the_announced_size_loses_the_fins_sequence_number() {
        // The FIN was lost, the peer's ACK of it was not: the reassembler's tail gap reaches
        // one past the data.
        let t = download_of_ten_bytes(
            &[Chunk::Data(b"hello"), Chunk::Gap { len: 6 }],
            [false, false],
        );
        assert_eq!(t.gaps, vec![[5, 5]], "{t:?}");
    }

    #[test]
    fn with_its_fin_captured_a_short_download_is_short_not_gapped() {
        // The stream's end is known: the missing bytes never crossed the wire.
        let t = download_of_ten_bytes(&[Chunk::Data(b"hello")], [false, true]);
        assert!(t.gaps.is_empty(), "{t:?}");
        assert!(!t.complete, "{t:?}");
        assert_reason(&t, "5 of 10 announced bytes");
    }

    #[test]
    fn after_rest_a_150_announcing_the_bytes_that_cross_or_the_whole_file_is_complete() {
        for announced in ["5", "10"] {
            let (mut t, idx) = tracker_with_passive_data();
            t.client_bytes(0, Chunk::Data(b"REST 5\r\n"), ctx(2));
            t.server_bytes(0, Chunk::Data(b"350 Restarting at 5.\r\n"), ctx(3));
            t.client_bytes(0, Chunk::Data(b"RETR a.bin\r\n"), ctx(4));
            let opening = format!("150 here ({announced} bytes)\r\n");
            t.server_bytes(0, Chunk::Data(opening.as_bytes()), ctx(5));
            t.data_bytes(idx, 1, Chunk::Data(b"world"), ctx(6));
            t.data_closed(idx, false, [true, true]);
            t.server_bytes(0, Chunk::Data(b"226 done\r\n"), ctx(7));
            t.finish();
            let transfer = first_transfer(&t);
            assert_eq!(transfer.rest, Some(5), "{transfer:?}");
            assert!(transfer.complete, "{announced}: {transfer:?}");
        }
    }

    #[test]
    fn a_reply_no_transfer_ends_with_is_not_taken_for_the_lost_226() {
        let (mut t, idx) = tracker_with_passive_data();
        t.client_bytes(0, Chunk::Data(b"RETR a.bin\r\n"), ctx(4));
        t.server_bytes(0, Chunk::Data(b"150 here (5 bytes)\r\n"), ctx(5));
        t.data_bytes(idx, 1, Chunk::Data(b"hello"), ctx(6));
        t.data_closed(idx, false, [true, true]);
        // The 226 is lost; the client's QUIT and its 221 are captured.
        t.server_bytes(0, Chunk::Gap { len: 10 }, ctx(7));
        t.client_bytes(0, Chunk::Data(b"QUIT\r\n"), ctx(8));
        t.server_bytes(0, Chunk::Data(b"221 bye\r\n"), ctx(9));
        t.finish();
        let transfer = first_transfer(&t);
        assert_eq!(transfer.reply, None, "{transfer:?}");
        assert!(!transfer.complete, "{transfer:?}");
        assert_reason(transfer, "no final reply");
    }

    #[test]
    fn without_the_226_a_gap_past_the_size_is_trimmed_but_no_tail_is_invented() {
        let t = download_of_ten_bytes_ending(
            &[Chunk::Data(b"hello"), Chunk::Gap { len: 6 }],
            [false, false],
            None,
        );
        assert_eq!(t.gaps, vec![[5, 5]], "{t:?}");
        // Nobody said the rest was sent: no gap, the shortfall is said in words.
        let t = download_of_ten_bytes_ending(&[Chunk::Data(b"hello")], [false, false], None);
        assert!(t.gaps.is_empty(), "{t:?}");
        assert_reason(&t, "5 of 10 announced bytes");
    }
}
