//! Everything an operator can set on `ftp-server serve`, with classroom-proof defaults.

use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

/// Settings of a running server. [`ServerConfig::default`] is safe (RFC 2577) and roomy.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Addresses to listen on for control connections.
    pub listen: Vec<SocketAddr>,
    /// Ports to use for passive data connections; `None` lets the OS choose.
    pub passive_ports: Option<RangeInclusive<u16>>,
    /// Address to advertise in 227 replies instead of the control connection's local address.
    pub passive_address: Option<IpAddr>,
    /// Serve this folder read-only to `anonymous`/`ftp` users; `None` refuses them.
    pub anonymous_root: Option<PathBuf>,
    /// WEAKENING: accept PORT/EPRT to addresses other than the client's (bounce-attack lab).
    pub allow_foreign_data_address: bool,
    /// WEAKENING: accept a passive data connection from any address, not only the control
    /// connection's client (port-stealing lab, RFC 2577 §8).
    pub allow_foreign_passive_peer: bool,
    /// Failed logins from one address (any user names), within `lockout`, before that address
    /// is refused altogether; 0 switches this budget off.
    pub max_login_failures: u32,
    /// Failed logins for one user name from one address, within `lockout`, before that name is
    /// refused from that address (other users there go on); 0 switches this budget off.
    pub max_user_login_failures: u32,
    /// How long failures are remembered, and how long an address stays refused.
    pub lockout: Duration,
    /// Pause before answering a failed PASS (slows down password guessing).
    pub login_failure_delay: Duration,
    /// Close a control connection that sends nothing for this long.
    pub idle_timeout: Duration,
    /// Give up on a data connection that does not connect or moves no bytes for this long.
    pub data_timeout: Duration,
    /// Most control connections at once.
    pub max_sessions: usize,
    /// Most control connections at once from one IP address.
    pub max_sessions_per_address: usize,
    /// Also compute and log the sha256 of every download (uploads are always hashed).
    pub hash_downloads: bool,
    /// How long running transfers may go on after Ctrl-C.
    pub shutdown_grace: Duration,
    /// After an upload's data connection ends, how long the control connection must stay open
    /// for the upload to count as meant (a killed client closes both at once).
    pub upload_confirm_grace: Duration,
    /// FTPS (RFC 4217): what AUTH TLS and PROT may and must do.
    pub tls: TlsPolicies,
}

/// Whether TLS is refused, offered or demanded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsPolicy {
    /// No TLS: AUTH TLS is refused (the server has no certificate).
    #[default]
    Off,
    /// TLS when the client asks for it (AUTH TLS, PROT P); clear text otherwise.
    Optional,
    /// Clear text refused: USER before AUTH TLS gets 530 (control), a transfer without
    /// PROT P gets 521 (data).
    Required,
}

impl TlsPolicy {
    /// `off`, `optional` or `required`.
    pub fn name(self) -> &'static str {
        match self {
            TlsPolicy::Off => "off",
            TlsPolicy::Optional => "optional",
            TlsPolicy::Required => "required",
        }
    }
}

/// The FTPS settings. The certificate itself lives with the connection loop (see
/// [`crate::tls`]); the session only needs to know what is allowed.
#[derive(Debug, Clone, Default)]
pub struct TlsPolicies {
    /// On the control connection.
    pub control: TlsPolicy,
    /// On data connections (PROT P).
    pub data: TlsPolicy,
    /// WEAKENING: the NSS key log file every TLS secret is written to (for Wireshark).
    pub keylog: Option<PathBuf>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: vec![SocketAddr::from(([127, 0, 0, 1], 2121))],
            passive_ports: None,
            passive_address: None,
            anonymous_root: None,
            allow_foreign_data_address: false,
            allow_foreign_passive_peer: false,
            max_login_failures: 50,
            max_user_login_failures: 5,
            lockout: Duration::from_secs(300),
            login_failure_delay: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(300),
            data_timeout: Duration::from_secs(60),
            max_sessions: 2000,
            max_sessions_per_address: 100,
            hash_downloads: false,
            shutdown_grace: Duration::from_secs(5),
            upload_confirm_grace: Duration::from_millis(25),
            tls: TlsPolicies::default(),
        }
    }
}

impl ServerConfig {
    /// The rules this configuration weakens, one sentence each, for the start-up banner,
    /// the 220 greeting and the log.
    pub fn weakenings(&self) -> Vec<&'static str> {
        let mut list = Vec::new();
        if self.tls.keylog.is_some() {
            list.push(
                "TLS session keys are written to a key log file (--tls-keylog): whoever reads it \
                 decrypts every FTPS session, passwords and files included",
            );
        }
        if self.allow_foreign_data_address {
            list.push("PORT/EPRT may name any address (FTP bounce attack possible, RFC 2577 §3)");
        }
        if self.allow_foreign_passive_peer {
            list.push(
                "passive data connections are accepted from any address (port stealing possible, \
                 RFC 2577 §8)",
            );
        }
        if self.anonymous_root.is_some() {
            list.push("anonymous login is allowed (read-only)");
        }
        list
    }
}
