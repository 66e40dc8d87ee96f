//! The control connection loop: read a line, let the [`Session`] decide, do the I/O it asks
//! for (write replies, check a login, run a transfer), repeat.
//!
//! While a transfer runs, the loop keeps reading the control connection so ABOR works
//! (RFC 959 §4.1.3); other commands that arrive meanwhile wait until the transfer is over.
//!
//! After `AUTH TLS` ([`Action::StartTls`]) the same loop runs over a TLS stream: the control
//! connection is taken apart into its TCP stream, handed to rustls, and split again.

use crate::config::ServerConfig;
use crate::data_channel::{self, Outcome};
use crate::login_guard::LoginGuard;
use crate::session::{Action, DataSetup, LoginState, Session, SessionError, TransferPlan};
use crate::user_store::UserStore;
use ftp_proto::line::{LineStatus, decode_line, next_line};
use ftp_proto::{DataDirection, LineError, MAX_LINE_LEN, Reply, ReplyCode};
use std::collections::VecDeque;
use std::io::{self, Read};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::server::TlsStream;

/// The longest a client may take for the TLS handshake on the control connection.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// What every session shares.
pub struct Shared {
    /// The configuration.
    pub config: Arc<ServerConfig>,
    /// Where users are checked.
    pub store: Arc<dyn UserStore>,
    /// Failed-login counting and lockout.
    pub guard: LoginGuard,
    /// The TLS configuration (certificate, session cache, key log) when FTPS is on.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// The same for data connections ([`crate::tls::data_config`]).
    pub tls_data: Option<Arc<rustls::ServerConfig>>,
}

/// The reading side of the control connection: TCP, or TLS after AUTH TLS.
enum ControlRead {
    Plain(OwnedReadHalf),
    Tls(ReadHalf<TlsStream<TcpStream>>),
    /// Handed to the TLS handshake.
    Detached,
}

/// The writing side of the control connection.
enum ControlWrite {
    Plain(OwnedWriteHalf),
    Tls(WriteHalf<TlsStream<TcpStream>>),
}

impl ControlRead {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            ControlRead::Plain(half) => half.read(buf).await,
            ControlRead::Tls(half) => half.read(buf).await,
            ControlRead::Detached => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the control connection was lost in a TLS handshake",
            )),
        }
    }
}

impl ControlWrite {
    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            ControlWrite::Plain(half) => half.write_all(bytes).await,
            ControlWrite::Tls(half) => {
                half.write_all(bytes).await?;
                half.flush().await
            }
        }
    }
}

/// One incoming line, or why there is none.
type Incoming = Result<String, LineError>;

/// Reads lines from the control connection, bounded by [`MAX_LINE_LEN`].
struct ControlReader {
    half: ControlRead,
    buf: Vec<u8>,
    /// Skipping the rest of an over-long line.
    discarding: bool,
    /// Lines read during a transfer, handled after it.
    deferred: VecDeque<Incoming>,
    /// The peer closed its side; lines still in `buf` are handled first.
    eof: bool,
    /// What each read(2) fills, kept for the whole session: a fresh zeroed 4 KiB array for
    /// each of the two reads per command was a fifth of a session's instructions.
    chunk: Box<[u8]>,
}

/// Bytes asked for per read of the control connection.
const READ_CHUNK: usize = 4096;

impl ControlReader {
    /// The next line, or `None` at end of stream.
    async fn next(&mut self) -> io::Result<Option<Incoming>> {
        if let Some(line) = self.deferred.pop_front() {
            return Ok(Some(line));
        }
        loop {
            if let Some(line) = self.take_line() {
                return Ok(Some(line));
            }
            if self.eof {
                return Ok(None);
            }
            let n = self.half.read(&mut self.chunk).await?;
            if n == 0 {
                return Ok(None);
            }
            self.buf.extend_from_slice(&self.chunk[..n]);
            self.drain_ready()?;
        }
    }

    /// The bytes read but not yet handled: lines, or the start of one.
    fn has_pending_bytes(&self) -> bool {
        !self.buf.is_empty() || !self.deferred.is_empty()
    }

    /// Reads whatever else is waiting, without waiting.
    ///
    /// Urgent data (clients send ABOR that way) makes the kernel end a read at the urgent
    /// mark although more bytes are there; tokio takes a short read to mean "drained" and
    /// would wait for a new wake-up that never comes. So read on until the socket says so.
    fn drain_ready(&mut self) -> io::Result<()> {
        // Inside TLS there is no urgent data to step over: rustls hands out whole records.
        let ControlRead::Plain(half) = &self.half else {
            return Ok(());
        };
        let chunk = &mut self.chunk;
        // Straight to the socket: tokio's own `try_read` answers "would block" from its cached
        // readiness without asking the kernel, which is exactly the state we must get out of.
        let socket = socket2::SockRef::from(half.as_ref());
        while self.buf.len() < 4 * MAX_LINE_LEN {
            match (&*socket).read(chunk) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// A complete line from the buffer, if there is one.
    fn take_line(&mut self) -> Option<Incoming> {
        if self.discarding {
            match self.buf.iter().position(|&b| b == b'\n') {
                Some(lf) => {
                    self.buf.drain(..=lf);
                    self.discarding = false;
                }
                None => {
                    self.buf.clear();
                    return None;
                }
            }
        }
        match next_line(&self.buf, MAX_LINE_LEN) {
            LineStatus::Complete { content, consumed } => {
                let line = decode_line(&self.buf[..content]);
                self.buf.drain(..consumed);
                Some(line)
            }
            LineStatus::TooLong => {
                let len = self.buf.len();
                self.discarding = true;
                Some(Err(LineError::TooLong {
                    len,
                    limit: MAX_LINE_LEN,
                }))
            }
            LineStatus::Incomplete => None,
        }
    }

    /// Whether the peer has closed the control connection (FIN or RST), asking the kernel
    /// now: tokio's cached readiness may not have seen a FIN that arrived microseconds ago.
    /// Bytes that are waiting are kept for later.
    fn poll_closed(&mut self) -> bool {
        if self.eof {
            return true;
        }
        let ControlReader {
            half, buf, chunk, ..
        } = self;
        let ControlRead::Plain(half) = half else {
            return false;
        };
        let stream: &TcpStream = half.as_ref();
        // try_io clears tokio's readiness when the kernel says "would block", so a later
        // `readable()` really waits for news.
        let result = stream.try_io(tokio::io::Interest::READABLE, || {
            loop {
                if buf.len() >= 4 * MAX_LINE_LEN {
                    return Ok(false);
                }
                match (&*socket2::SockRef::from(stream)).read(chunk) {
                    Ok(0) => return Ok(true),
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        });
        match result {
            Ok(closed) => {
                self.eof |= closed;
                closed
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => false,
            Err(_) => {
                self.eof = true;
                true
            }
        }
    }

    /// Whether the peer closes the control connection within `grace`.
    ///
    /// A client killed mid-upload has both its connections closed by the kernel, one after the
    /// other; the data connection's FIN looks exactly like the end of a complete upload, so
    /// only a control connection still open a moment later tells the two apart.
    async fn closes_within(&mut self, grace: std::time::Duration) -> bool {
        let half = match &mut self.half {
            ControlRead::Plain(_) => None,
            ControlRead::Tls(half) => Some(half),
            ControlRead::Detached => return true,
        };
        if let Some(half) = half {
            // A TLS record can only be read, not peeked at: what arrives is kept for later.
            if self.eof {
                return true;
            }
            let mut chunk = [0u8; 4096];
            return match tokio::time::timeout(grace, half.read(&mut chunk)).await {
                Err(_elapsed) => false,
                Ok(Ok(0)) | Ok(Err(_)) => {
                    self.eof = true;
                    true
                }
                Ok(Ok(n)) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    false
                }
            };
        }
        let deadline = Instant::now() + grace;
        loop {
            if self.poll_closed() {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            let ControlRead::Plain(half) = &self.half else {
                return false;
            };
            match tokio::time::timeout(left, half.readable()).await {
                Err(_elapsed) => return self.poll_closed(),
                Ok(Err(_)) => return true,
                Ok(Ok(())) => {}
            }
        }
    }
}

/// Serves one control connection until QUIT, an error, a timeout or shutdown.
pub async fn serve(
    stream: TcpStream,
    mut session: Session,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let (half, writer) = stream.into_split();
    let mut conn = Connection {
        reader: ControlReader {
            half: ControlRead::Plain(half),
            buf: Vec::new(),
            discarding: false,
            deferred: VecDeque::new(),
            eof: false,
            chunk: vec![0u8; READ_CHUNK].into_boxed_slice(),
        },
        writer: Some(ControlWrite::Plain(writer)),
        passive: None,
    };
    let result = conn.run(&mut session, &shared, &mut shutdown).await;
    let tls = session.is_protected();
    match result {
        Ok(()) => {
            tracing::info!(session = session.id, peer = %session.peer_name, tls, "session closed")
        }
        Err(error) => {
            tracing::info!(session = session.id, peer = %session.peer_name, tls, %error, "session ended")
        }
    }
    // Inside TLS, say goodbye with close_notify so the client sees a clean end.
    if let Some(ControlWrite::Tls(mut writer)) = conn.writer.take() {
        tokio::time::timeout(Duration::from_secs(1), writer.shutdown())
            .await
            .ok();
    }
}

struct Connection {
    reader: ControlReader,
    /// `None` only while the TLS handshake has the connection.
    writer: Option<ControlWrite>,
    /// The passive listener the session's [`DataSetup::Passive`] names; the session only knows
    /// its address.
    passive: Option<(SocketAddr, TcpListener)>,
}

impl Connection {
    async fn send(&mut self, reply: &Reply) -> io::Result<()> {
        match &mut self.writer {
            Some(writer) => writer.write_all(reply.encode().as_bytes()).await,
            None => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the control connection was lost in a TLS handshake",
            )),
        }
    }

    /// AUTH TLS: sends 234, then runs the TLS handshake on the control connection.
    /// An error ends the session: after a failed handshake the bytes on the connection make
    /// sense neither as TLS nor as FTP.
    async fn start_tls(
        &mut self,
        session: &mut Session,
        shared: &Shared,
        reply: &Reply,
    ) -> io::Result<()> {
        let (id, peer) = (session.id, session.peer_name.clone());
        let Some(config) = shared.tls.clone() else {
            // The session offers AUTH TLS only when a certificate is loaded.
            return self
                .send(&Reply::new(
                    ReplyCode::SECURITY_RESOURCE_UNAVAILABLE,
                    "TLS is not available: no certificate.",
                ))
                .await;
        };
        // A client must wait for 234 before its ClientHello (RFC 4217 §4.1). Lines sent before
        // that were written in clear: taking them as protected would let a man in the middle
        // inject commands into the TLS session (the STARTTLS injection flaw, CVE-2011-0411).
        if self.reader.has_pending_bytes() {
            tracing::warn!(session = id, %peer,
                "bytes followed AUTH TLS before its reply; closing (possible command injection)");
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "client sent more after AUTH TLS without waiting for 234",
            ));
        }
        self.send(reply).await?;
        let halves = (
            std::mem::replace(&mut self.reader.half, ControlRead::Detached),
            self.writer.take(),
        );
        let (ControlRead::Plain(read), Some(ControlWrite::Plain(write))) = halves else {
            // The session answers AUTH TLS with 503 once it is protected.
            return Err(io::Error::other("AUTH TLS on a connection already in TLS"));
        };
        let stream = read.reunite(write).map_err(io::Error::other)?;
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await;
        let tls = match handshake {
            Ok(Ok(tls)) => tls,
            Ok(Err(error)) => {
                let why = crate::tls::describe_handshake_error(&error);
                tracing::warn!(session = id, %peer, "TLS handshake on the control connection failed: {why}");
                return Err(io::Error::new(error.kind(), why));
            }
            Err(_elapsed) => {
                tracing::warn!(session = id, %peer,
                    "TLS handshake on the control connection timed out after {HANDSHAKE_TIMEOUT:?}");
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "TLS handshake timed out",
                ));
            }
        };
        let summary = crate::tls::TlsSummary::of(tls.get_ref().1);
        session.tls_started(&summary);
        let (read, write) = tokio::io::split(tls);
        self.reader.half = ControlRead::Tls(read);
        self.writer = Some(ControlWrite::Tls(write));
        Ok(())
    }

    async fn run(
        &mut self,
        session: &mut Session,
        shared: &Shared,
        shutdown: &mut watch::Receiver<bool>,
    ) -> io::Result<()> {
        let config = &shared.config;
        self.send(&greeting(config)).await?;
        loop {
            let incoming = tokio::select! {
                incoming = tokio::time::timeout(config.idle_timeout, self.reader.next()) => incoming,
                _ = shutdown.changed() => {
                    let bye = Reply::new(ReplyCode::SERVICE_NOT_AVAILABLE, "Server shutting down.");
                    return self.send(&bye).await;
                }
            };
            let line = match incoming {
                Err(_elapsed) => {
                    let bye = Reply::new(
                        ReplyCode::SERVICE_NOT_AVAILABLE,
                        "Timeout: closing control connection.",
                    );
                    return self.send(&bye).await;
                }
                Ok(Ok(None)) => return Ok(()),
                Ok(Err(error)) => return Err(error),
                Ok(Ok(Some(Err(error)))) => {
                    tracing::info!(session = session.id, peer = %session.peer_name, %error, "bad command line");
                    self.send(&SessionError::from(error).into_reply()).await?;
                    continue;
                }
                Ok(Ok(Some(Ok(line)))) => line,
            };
            tracing::info!(session = session.id, peer = %session.peer_name, command = %ftp_proto::loggable_line(&line), "command");
            match session.handle_line(&line) {
                Action::Reply(reply) => self.send(&reply).await?,
                Action::Close(reply) => return self.send(&reply).await,
                Action::Authenticate { name, password } => {
                    if !self.authenticate(session, shared, name, password).await? {
                        return Ok(());
                    }
                }
                Action::OpenPassive(request) => {
                    // The old listener goes first, so its port can be picked again.
                    self.passive = None;
                    let bound = data_channel::bind_passive(request.ip, request.ports.as_ref())
                        .and_then(|listener| {
                            let addr = listener.local_addr()?;
                            self.passive = Some((addr, listener));
                            Ok(addr)
                        });
                    let reply = session.passive_opened(&request, bound);
                    self.send(&reply).await?;
                }
                Action::Transfer(plan) => {
                    self.transfer(session, config, shared.tls_data.as_ref(), *plan)
                        .await?
                }
                Action::StartTls(reply) => self.start_tls(session, shared, &reply).await?,
            }
            self.forget_unwanted_listener(session);
        }
    }

    /// Closes the passive listener once the session no longer expects a connection on it.
    fn forget_unwanted_listener(&mut self, session: &Session) {
        let wanted = match session.data_setup() {
            Some(DataSetup::Passive(addr)) => Some(addr),
            _ => None,
        };
        let held = self.passive.as_ref().map(|(addr, _)| *addr);
        if held.is_some() && held != wanted {
            self.passive = None;
        }
    }

    /// Checks a login. Returns false when the connection must close (lockout).
    ///
    /// The attempt takes its place in the failure budgets before the password is checked, so
    /// guesses sent in parallel cannot all be judged before the first failure counts.
    async fn authenticate(
        &mut self,
        session: &mut Session,
        shared: &Shared,
        name: String,
        password: String,
    ) -> io::Result<bool> {
        let ip = session.peer.ip();
        let attempt = match shared.guard.begin(ip, &name).await {
            Ok(attempt) => attempt,
            Err(lockout) => {
                tracing::warn!(session = session.id, peer = %session.peer_name, user = %name,
                    ?lockout, "login refused without checking the password");
                session.set_state(LoginState::AwaitingUser);
                // Refusals cost the guesser the same time as failures (RFC 2577 §5).
                tokio::time::sleep(shared.config.login_failure_delay).await;
                let error = SessionError::Locked {
                    lockout,
                    user: name,
                };
                self.send(&error.into_reply()).await?;
                return Ok(!lockout.closes_connection());
            }
        };
        let result = shared.store.authenticate(&name, &password).await;
        let store_failed = result.is_err();
        let password_ok = matches!(result, Ok(Some(_)));
        let reply = session.finish_login(result);
        if store_failed {
            // A database outage is nobody's guess: it must not lock the class out.
            attempt.undecided().await;
        } else if password_ok {
            attempt.succeeded().await;
            tracing::info!(session = session.id, peer = %session.peer_name, user = %name, "login ok");
        } else {
            let locked = attempt.failed().await;
            tracing::warn!(session = session.id, peer = %session.peer_name, user = %name, ?locked, "login failed");
            // The pause makes each guess cost the guesser time (RFC 2577 §5).
            tokio::time::sleep(shared.config.login_failure_delay).await;
        }
        self.send(&reply).await?;
        Ok(true)
    }

    /// Runs a transfer while reading the control connection: ABOR stops it (RFC 959 §4.1.3),
    /// other commands wait for its end, and a vanished client stops it too.
    /// Returns the transfer's result, whether ABOR came, and whether the client is gone.
    async fn watch_control(
        &mut self,
        work: impl std::future::Future<Output = io::Result<Outcome>>,
        stop: impl Fn(),
        session: &Session,
        description: &str,
    ) -> (io::Result<Outcome>, bool, bool) {
        let (id, peer) = (session.id, session.peer_name.clone());
        let mut aborted = false;
        let mut control_gone = false;
        tokio::pin!(work);
        let result = loop {
            tokio::select! {
                result = &mut work => break result,
                incoming = self.reader.next(), if !control_gone => match incoming {
                    Ok(Some(Ok(line))) if line.trim().eq_ignore_ascii_case("ABOR") => {
                        tracing::info!(session = id, %peer, "ABOR during {description}");
                        aborted = true;
                        stop();
                    }
                    Ok(Some(line)) => self.reader.deferred.push_back(line),
                    Ok(None) | Err(_) => {
                        // The client is gone: nobody wants these bytes, and an upload from a
                        // vanished client must not land.
                        control_gone = true;
                        stop();
                    }
                },
            }
        };
        (result, aborted, control_gone)
    }

    async fn transfer(
        &mut self,
        session: &mut Session,
        config: &ServerConfig,
        tls: Option<&Arc<rustls::ServerConfig>>,
        plan: TransferPlan,
    ) -> io::Result<()> {
        let TransferPlan {
            endpoint,
            job,
            opening,
            kind,
            description,
            protected,
        } = plan;
        // PROT P is only reachable after AUTH TLS, which needs the configuration.
        let tls = match (protected, tls) {
            (true, Some(tls)) => Some(Arc::clone(tls)),
            (true, None) => {
                return self
                    .send(&SessionError::DataProtectionRequired.into_reply())
                    .await;
            }
            (false, _) => None,
        };
        let (id, peer) = (session.id, session.peer_name.clone());
        let (endpoint, endpoint_text) = match endpoint {
            DataSetup::Active(addr) => (
                data_channel::DataEndpoint::Active(addr),
                format!("active to {addr}"),
            ),
            DataSetup::Passive(addr) => match self.passive.take() {
                Some((held, listener)) if held == addr => (
                    data_channel::DataEndpoint::Passive(listener),
                    format!("passive on {addr}"),
                ),
                _ => return self.send(&SessionError::PassivePortGone.into_reply()).await,
            },
        };
        self.send(&opening).await?;
        let stream = match data_channel::open(
            endpoint,
            session.peer.ip(),
            session.local.ip(),
            config.data_timeout,
            config.allow_foreign_passive_peer,
        )
        .await
        {
            Ok(stream) => stream,
            Err(error) => {
                tracing::warn!(session = id, %peer, %error, "cannot open data connection");
                return self
                    .send(&SessionError::DataConnection(error).into_reply())
                    .await;
            }
        };
        let data_peer = stream
            .peer_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let protection = if tls.is_some() { "TLS" } else { "clear" };
        session.last_data = Some(format!(
            "{description} ({endpoint_text}, client side {data_peer}, {protection})"
        ));
        let started = Instant::now();
        let timeout = config.data_timeout;
        let (result, aborted, control_gone) = if let Some(tls) = tls {
            // TLS needs user space for every byte: no sendfile, a blocking thread with rustls.
            let stream = stream.into_std()?;
            let killer = stream.try_clone()?;
            let worker = tokio::task::spawn_blocking(move || {
                data_channel::run_job_tls(job, stream, tls, timeout)
            });
            let work = async move { worker.await.unwrap_or_else(|e| Err(io::Error::other(e))) };
            let stop = || {
                killer.shutdown(std::net::Shutdown::Both).ok();
            };
            self.watch_control(work, stop, session, &description).await
        } else if job.runs_in_place() {
            // Binary downloads and listings need no CPU of ours: sendfile on this task.
            let work = data_channel::run_job_in_place(job, &stream, timeout);
            let stop = || {
                socket2::SockRef::from(&stream)
                    .shutdown(std::net::Shutdown::Both)
                    .ok();
            };
            self.watch_control(work, stop, session, &description).await
        } else {
            let stream = stream.into_std()?;
            let killer = stream.try_clone()?;
            let worker =
                tokio::task::spawn_blocking(move || data_channel::run_job(job, stream, timeout));
            let work = async move { worker.await.unwrap_or_else(|e| Err(io::Error::other(e))) };
            let stop = || {
                killer.shutdown(std::net::Shutdown::Both).ok();
            };
            self.watch_control(work, stop, session, &description).await
        };
        let elapsed = started.elapsed();
        if aborted {
            self.send(&Reply::new(
                ReplyCode::TRANSFER_ABORTED,
                "Connection closed; transfer aborted.",
            ))
            .await?;
            return self
                .send(&Reply::new(ReplyCode::CLOSING_DATA, "ABOR successful."))
                .await;
        }
        let outcome = match result {
            Ok(outcome) => outcome,
            Err(error) => {
                tracing::warn!(session = id, %peer, %error, "transfer failed: {description}");
                if control_gone {
                    return Err(io::Error::new(
                        io::ErrorKind::ConnectionAborted,
                        "client vanished mid-transfer",
                    ));
                }
                return self
                    .send(&SessionError::TransferFailed(error).into_reply())
                    .await;
            }
        };
        let Outcome {
            bytes,
            sha256,
            upload,
            tls,
        } = outcome;
        let protection = match &tls {
            Some(summary) => format!("TLS ({summary})"),
            None => "clear".to_owned(),
        };
        if let Some(upload) = upload {
            if control_gone || self.reader.closes_within(config.upload_confirm_grace).await {
                // Dropping the upload deletes its temp file.
                drop(upload);
                tracing::warn!(session = id, %peer, bytes, "client vanished before {description} was confirmed; upload discarded");
                return Err(io::Error::new(
                    io::ErrorKind::ConnectionAborted,
                    "client vanished",
                ));
            }
            let landed = tokio::task::spawn_blocking(move || upload.land())
                .await
                .unwrap_or_else(|e| Err(io::Error::other(e)));
            if let Err(error) = landed {
                tracing::error!(session = id, %peer, %error, "cannot store {description}");
                return self
                    .send(&SessionError::CannotStore(error).into_reply())
                    .await;
            }
        }
        let rate = bytes as f64 / elapsed.as_secs_f64().max(1e-6) / 1e6;
        let sha = sha256.as_deref().unwrap_or("-");
        match kind {
            DataDirection::Listing => {
                tracing::debug!(session = id, %peer, size = bytes, %protection, "{description} sent")
            }
            _ => tracing::info!(session = id, %peer, size = bytes, ms = elapsed.as_millis() as u64,
                mb_per_s = %format!("{rate:.1}"), sha256 = %sha, %protection,
                "transfer complete: {description}"),
        }
        if control_gone {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "client vanished",
            ));
        }
        self.send(&Reply::new(ReplyCode::CLOSING_DATA, "Transfer complete."))
            .await
    }
}

/// The 220 greeting. Weakened rules are announced here too: whoever connects must know.
/// No software version: banners that name versions help attackers pick exploits.
fn greeting(config: &ServerConfig) -> Reply {
    let weakenings = config.weakenings();
    if weakenings.is_empty() {
        return Reply::new(ReplyCode::SERVICE_READY, "ftplab ftp-server ready.");
    }
    let mut lines = vec!["ftplab ftp-server: THIS SERVER IS WEAKENED FOR A LAB.".to_owned()];
    lines.extend(weakenings.iter().map(|w| format!("WARNING: {w}")));
    lines.push("ftplab ftp-server ready.".to_owned());
    Reply::multiline(ReplyCode::SERVICE_READY, lines)
}
