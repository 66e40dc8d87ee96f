//! `ftp-server`: an RFC 959 FTP server on tokio for teaching, safe by default (RFC 2577).
//!
//! Users live in a SQL table (SQLite file or MySQL/MariaDB) with argon2id password hashes;
//! each is jailed in their own root folder.
//!
//! # Layout
//! - [`config`]: the operator's settings and their safe defaults.
//! - [`listener`]: listen sockets, session limits.
//! - [`connection`]: the control connection loop (lines in, replies out, transfers).
//! - [`session`]: the per-session state machine; [`commands`] holds one file per command family;
//!   [`error`]: the errors and the one place that turns them into replies.
//! - [`data_channel`]: opening data connections and moving bytes (sendfile for downloads);
//!   [`upload`]: where an upload's bytes wait until the client confirms it.
//! - [`paths`]: the root jail. [`listing_format`]: LIST/NLST/MLSD formats.
//! - [`login_guard`]: failed-login budgets per address and per (address, user), and lockout,
//!   in memory or shared by every instance on the database.
//! - [`tls`]: FTPS (RFC 4217): the rustls configuration, the demo certificate, the key log.
//! - [`user_store`]: the users table; [`user_admin`]: the `user` and `init` subcommands.
//! - [`logging`]: log events queued as typed fields, formatted and written on one thread.
//!
//! Data flow: accept → limits → one task per control connection → line →
//! [`session::Session::handle`] → [`session::Action`] → replies and data connections.

pub mod commands;
pub mod config;
pub mod connection;
pub mod data_channel;
pub mod error;
pub mod listener;
pub mod listing_format;
pub mod logging;
pub mod login_guard;
pub mod paths;
pub mod session;
pub mod tls;
pub mod upload;
pub mod user_admin;
pub mod user_store;

use config::ServerConfig;
use connection::Shared;
use ftp_proto::{Reply, ReplyCode};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use user_store::UserStore;

/// A bound server, ready to [`Server::run`].
pub struct Server {
    listeners: Vec<TcpListener>,
    shared: Arc<Shared>,
}

impl Server {
    /// Binds every `--listen` address.
    ///
    /// `tls` is the rustls configuration ([`tls::server_config`]) when `config.tls` allows TLS.
    /// `failures` says where failed logins are counted: [`login_guard::FailureBackend::Shared`]
    /// shares the lockouts with every instance on the same database.
    pub fn bind(
        config: ServerConfig,
        store: Arc<dyn UserStore>,
        failures: login_guard::FailureBackend,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> std::io::Result<Server> {
        let open_files = listener::raise_open_file_limit();
        tracing::debug!(?open_files, "open file limit");
        let listeners = config
            .listen
            .iter()
            .map(|addr| {
                listener::bind(*addr).map_err(|e| {
                    std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let guard = login_guard::LoginGuard::with_backend(
            config.max_login_failures,
            config.max_user_login_failures,
            config.lockout,
            failures,
        );
        let shared = Arc::new(Shared {
            config: Arc::new(config),
            store,
            guard,
            tls_data: tls.as_ref().map(tls::data_config),
            tls,
        });
        Ok(Server { listeners, shared })
    }

    /// The addresses actually bound (port 0 resolved).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .collect()
    }

    /// Serves until `shutdown` completes; then stops accepting, tells idle sessions goodbye,
    /// and gives running transfers `shutdown_grace` to finish.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let config = Arc::clone(&self.shared.config);
        let limits =
            listener::SessionLimits::new(config.max_sessions, config.max_sessions_per_address);
        let (stop_tx, stop_rx) = watch::channel(false);
        // Every session holds a sender; when all are dropped, all sessions are over.
        let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
        let next_id = Arc::new(AtomicU64::new(1));
        let mut accept_tasks = Vec::new();
        for listener in self.listeners {
            let shared = Arc::clone(&self.shared);
            let limits = Arc::clone(&limits);
            let stop_rx = stop_rx.clone();
            let alive_tx = alive_tx.clone();
            let next_id = Arc::clone(&next_id);
            accept_tasks.push(tokio::spawn(async move {
                loop {
                    let (stream, peer) = match listener.accept().await {
                        Ok(accepted) => accepted,
                        Err(error) => {
                            // EMFILE and friends: wait a moment instead of spinning.
                            tracing::error!(%error, "accept failed");
                            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let id = next_id.fetch_add(1, Ordering::Relaxed);
                    let shared = Arc::clone(&shared);
                    let limits = Arc::clone(&limits);
                    let stop_rx = stop_rx.clone();
                    let alive = alive_tx.clone();
                    tokio::spawn(async move {
                        let _alive = alive;
                        admit_and_serve(stream, peer, id, shared, &limits, stop_rx).await;
                    });
                }
            }));
        }
        drop(alive_tx);
        shutdown.await;
        tracing::info!("shutting down: no new connections");
        for task in &accept_tasks {
            task.abort();
        }
        stop_tx.send(true).ok();
        let grace = config.shutdown_grace;
        if tokio::time::timeout(grace, alive_rx.recv()).await.is_err() {
            tracing::warn!("transfers still running after {grace:?}; exiting anyway");
        }
    }
}

async fn admit_and_serve(
    mut stream: tokio::net::TcpStream,
    peer: SocketAddr,
    id: u64,
    shared: Arc<Shared>,
    limits: &Arc<listener::SessionLimits>,
    stop_rx: watch::Receiver<bool>,
) {
    let local = match stream.local_addr() {
        Ok(local) => local,
        Err(_) => return,
    };
    let refusal = shared
        .guard
        .address_locked_for(peer.ip())
        .await
        .map(login_guard::lockout_message);
    let permit = match (refusal, limits.admit(peer.ip())) {
        (Some(text), _) => Err(text),
        (None, Err(listener::Refusal::TooManySessions)) => {
            Err("Too many users connected; try again later.".to_owned())
        }
        (None, Err(listener::Refusal::TooManyFromAddress)) => {
            Err("Too many connections from your address; try again later.".to_owned())
        }
        (None, Ok(permit)) => Ok(permit),
    };
    let _permit = match permit {
        Ok(permit) => permit,
        Err(text) => {
            tracing::warn!(session = id, %peer, "refused: {text}");
            let reply = Reply::new(ReplyCode::SERVICE_NOT_AVAILABLE, text);
            stream.write_all(reply.encode().as_bytes()).await.ok();
            return;
        }
    };
    stream.set_nodelay(true).ok();
    // Clients send ABOR (and Telnet Synch) as TCP urgent data; ftplib even sends the whole
    // "ABOR\r\n" urgent. Keeping urgent bytes in the stream, as vsftpd does, means no byte of
    // the command line goes missing.
    socket2::SockRef::from(&stream)
        .set_out_of_band_inline(true)
        .ok();
    let session = session::Session::new(id, peer, local, Arc::clone(&shared.config));
    tracing::info!(session = id, peer = %session.peer_name, "connected");
    connection::serve(stream, session, shared, stop_rx).await;
}
