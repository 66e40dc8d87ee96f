//! FTPS (RFC 4217) as an eavesdropper sees it: after `AUTH TLS` and its `234` the control
//! connection carries TLS records, and with `PROT P` so does every data connection. Without a
//! key log the handshake still tells version, cipher suite, server name and (TLS 1.2)
//! certificate, and the records still tell sizes, directions and timing; with one (the NSS
//! format that `SSLKEYLOGFILE` writes) the records are decrypted and the FTP inside is read as
//! if it were clear text, each event marked "decrypted with key log".
//!
//! # Layout
//! - [`record`]: records cut out of the reassembled stream.
//! - [`keylog`]: the key log file.
//! - [`keys`]: TLS 1.2 PRF and TLS 1.3 HKDF-Expand-Label, AEAD record decryption.
//! - [`connection`]: one TLS connection, both directions: handshake facts and decryption.
//! - `tracker`: the glue to [`crate::ftp_session::Tracker`]: control and data connections,
//!   data connections tied to their session when the replies that announce them are hidden.
//! - [`findings`]: what still leaks (PROT C, TLS after USER, AUTH offered and not used, CCC)
//!   and what the key log did or could not do.
//!
//! Data flow: control/data chunk → [`connection::TlsConnection::push`] → decrypted bytes back
//! into the tracker's FTP parsing, facts into [`TlsHandshakeEvent`] and [`TransferTls`].

pub mod connection;
pub mod findings;
pub mod keylog;
pub mod keys;
pub mod record;
mod tracker;

use crate::transfer::TransferId;
use connection::TlsConnection;
pub use keylog::KeyLog;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;

/// The TLS of one control connection.
#[derive(Debug)]
pub struct ControlTls {
    /// The connection (client is direction 0, server 1).
    pub conn: TlsConnection,
    /// Its [`TlsHandshakeEvent`] was emitted.
    reported: bool,
    /// Bytes came out of it that the FTP parser can read (decrypted, or clear after CCC).
    readable: bool,
}

/// The TLS (or not) of one data connection of a TLS session.
#[derive(Debug, Default)]
pub struct DataTls {
    /// The connection, when the data connection is TLS (PROT P).
    pub conn: Option<Box<TlsConnection>>,
    /// Tied to its session by addresses and timing, not by a reply seen.
    pub guessed: bool,
    /// Its first bytes were looked at.
    decided: bool,
}

/// Everything TLS the tracker keeps.
#[derive(Debug, Default)]
pub struct TlsState {
    /// `--keylog`, when given.
    pub keylog: Option<Arc<KeyLog>>,
    /// Control connections in TLS, by session index.
    pub control: BTreeMap<usize, ControlTls>,
    /// Data connections looked at, by transfer.
    pub data: HashMap<TransferId, DataTls>,
    /// Control connections that ended, by session index (no data connection is tied to them
    /// by guess any more).
    closed_controls: HashSet<usize>,
    /// (opener, listener) of connections whose SYN was seen and that nobody announced.
    openers: HashSet<(SocketAddr, SocketAddr)>,
}

impl TlsState {
    /// Session `s` was reported and dropped: its control connection's state goes too.
    pub(crate) fn forget_control(&mut self, s: usize) {
        self.control.remove(&s);
        self.closed_controls.remove(&s);
    }

    /// True once the control connection of session index `s` gives bytes the FTP parser can
    /// read after its 234 (decrypted with the key log, or clear after CCC).
    pub fn readable(&self, s: usize) -> bool {
        self.control.get(&s).is_some_and(|c| c.readable)
    }

    /// True while the control connection of session index `s` is being decrypted.
    pub fn decrypting(&self, s: usize) -> bool {
        self.control.get(&s).is_some_and(|c| c.conn.decrypting())
    }
}

/// What is known about a data connection of a TLS session (`"tls"` in a transfer event).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TransferTls {
    /// The data connection itself is TLS (PROT P); false: its content crossed in clear.
    pub encrypted: bool,
    /// `TLS 1.2`, `TLS 1.3`, or null.
    pub version: Option<&'static str>,
    /// The negotiated cipher suite (IANA number), or null.
    pub cipher_suite: Option<u16>,
    /// The TLS session of the control connection (or an earlier one) was resumed.
    pub resumed: bool,
    /// The content was decrypted with the key log.
    pub decrypted_with_keylog: bool,
    /// `announced`: tied by a PASV/EPSV/PORT/EPRT seen (or decrypted); `guessed`: by addresses
    /// and timing, since the control connection could not be read.
    pub tie: &'static str,
    /// Application data bytes the client sent, as encrypted records (what an eavesdropper
    /// counts).
    pub encrypted_bytes_to_server: u64,
    /// Application data bytes the server sent, as encrypted records.
    pub encrypted_bytes_to_client: u64,
    /// Bytes of the TLS stream are missing from the capture: records after them are lost.
    pub records_lost: bool,
}

/// A control connection's TLS handshake (`"kind":"tls_handshake"`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TlsHandshakeEvent {
    /// Session number.
    pub session: usize,
    /// Frame of the ServerHello (of the ClientHello when the ServerHello is missing).
    pub frame: u64,
    /// The FTP client, `ip:port`.
    pub client: String,
    /// The FTP server, `ip:port`.
    pub server: String,
    /// `TLS 1.2`, `TLS 1.3`, or null when no ServerHello was seen.
    pub version: Option<&'static str>,
    /// The cipher suite from the ServerHello (IANA name), or null.
    pub cipher_suite: Option<String>,
    /// Server name the client asked for (SNI), or null.
    pub sni: Option<String>,
    /// The server certificate's subject (from a TLS 1.2 handshake, or decrypted 1.3), or null.
    pub certificate_subject: Option<String>,
    /// SHA-256 of the server certificate (DER), hex, or null.
    pub certificate_sha256: Option<String>,
    /// An earlier TLS session was resumed.
    pub resumed: bool,
    /// The control connection was decrypted with the key log.
    pub decrypted_with_keylog: bool,
    /// What could be read: `decrypted with key log`, or why not.
    pub decryption: String,
}
