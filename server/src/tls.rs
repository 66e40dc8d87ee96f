//! FTPS (RFC 4217) plumbing: the rustls configuration from `--tls-cert`/`--tls-key`, the demo
//! certificate of `init`, the `--tls-keylog` writer, and words for what a handshake did.
//!
//! The session decides when TLS starts (`AUTH TLS` → [`crate::session::Action::StartTls`],
//! `PROT P` → a protected [`crate::session::TransferPlan`]); the connection loop uses the
//! [`rustls::ServerConfig`] built here for the control connection and every data connection.
//! One config means one session cache: a data connection's handshake can resume the control
//! connection's TLS session, as RFC 4217 §10 suggests and vsftpd's `require_ssl_reuse` wants.

use ftp_proto::security::format_sha256_fingerprint;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::ServerSessionMemoryCache;
use rustls::{HandshakeKind, KeyLog, ServerConnection};
use sha2::{Digest, Sha256};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// TLS sessions remembered for resumption: one per control connection is plenty, and the
/// cache evicts the oldest when full.
const SESSION_CACHE: usize = 4096;

/// Why the TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    /// A file could not be read or written.
    #[error("cannot {action} {}: {source}", path.display())]
    File {
        /// What was tried.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A PEM file holds nothing usable.
    #[error("{}: {what}", path.display())]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        what: String,
    },
    /// rustls refused the pair (e.g. the key does not match the certificate).
    #[error("the certificate and key cannot be used together: {0}")]
    Rustls(#[from] rustls::Error),
    /// rcgen could not make the demo certificate.
    #[error("cannot create the demo certificate: {0}")]
    Generate(#[from] rcgen::Error),
}

/// The configuration for data connections: the control connection's (same certificate, same
/// session cache, so a data connection can resume the control connection's session) minus
/// TLS 1.3 session tickets. A client that uploads never reads its data connection, so tickets
/// sent there would wait unread in its socket, and closing a socket with unread bytes sends a
/// TCP reset that can destroy the end of the upload.
pub fn data_config(control: &Arc<rustls::ServerConfig>) -> Arc<rustls::ServerConfig> {
    let mut config = rustls::ServerConfig::clone(control);
    config.send_tls13_tickets = 0;
    Arc::new(config)
}

/// The rustls crypto provider: *ring* (quick to build, no C toolchain beyond cc).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds the server's TLS configuration from PEM files; with `keylog`, every session's secrets
/// are appended to that file in the NSS key log format.
pub fn server_config(
    cert: &Path,
    key: &Path,
    keylog: Option<&Path>,
) -> Result<Arc<rustls::ServerConfig>, TlsSetupError> {
    let chain = read_certificates(cert)?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsSetupError::Pem {
        path: key.to_owned(),
        what: format!("no usable private key ({e}); expected a PEM PRIVATE KEY block"),
    })?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.session_storage = ServerSessionMemoryCache::new(SESSION_CACHE);
    if let Some(path) = keylog {
        config.key_log = Arc::new(KeyLogToFile::create(path)?);
    }
    Ok(Arc::new(config))
}

/// The certificates of a PEM file, end-entity first.
fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let pem_error = |what: String| TlsSetupError::Pem {
        path: path.to_owned(),
        what,
    };
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(|e| match e {
            rustls::pki_types::pem::Error::Io(source) => TlsSetupError::File {
                action: "read the certificate",
                path: path.to_owned(),
                source,
            },
            other => pem_error(format!("not a PEM certificate file ({other})")),
        })?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(format!("broken PEM ({e})")))?;
    if chain.is_empty() {
        return Err(pem_error("no CERTIFICATE block in it".to_owned()));
    }
    Ok(chain)
}

/// The SHA-256 fingerprint of a certificate (its DER bytes), as `SHA256:AB:CD:…`.
pub fn fingerprint(der: &[u8]) -> String {
    format_sha256_fingerprint(&Sha256::digest(der).into())
}

/// The fingerprint of the first certificate in a PEM file.
pub fn fingerprint_of_file(cert: &Path) -> Result<String, TlsSetupError> {
    let chain = read_certificates(cert)?;
    Ok(chain.first().map(|c| fingerprint(c)).unwrap_or_default())
}

/// A self-signed certificate and key for the demo, in `dir/cert.pem` and `dir/key.pem`.
#[derive(Debug, Clone)]
pub struct DemoCertificate {
    /// `cert.pem`.
    pub cert: PathBuf,
    /// `key.pem` (mode 0600).
    pub key: PathBuf,
    /// Its SHA-256 fingerprint, what clients pin or compare at their first connection.
    pub fingerprint: String,
    /// False when an existing pair was kept.
    pub created: bool,
}

/// Creates the demo pair in `dir` unless both files are already there (then they are kept, so
/// clients that trusted the fingerprint keep trusting it). Names: `localhost`, `127.0.0.1`, `::1`.
pub fn ensure_demo_certificate(dir: &Path) -> Result<DemoCertificate, TlsSetupError> {
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    let file_error = |action, path: &Path| {
        let path = path.to_owned();
        move |source| TlsSetupError::File {
            action,
            path,
            source,
        }
    };
    let created = !(cert.is_file() && key.is_file());
    if created {
        std::fs::create_dir_all(dir).map_err(file_error("create", dir))?;
        let names = vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
        ];
        let pair = rcgen::generate_simple_self_signed(names)?;
        use std::os::unix::fs::OpenOptionsExt;
        let mut key_file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&key)
            .map_err(file_error("create", &key))?;
        key_file
            .write_all(pair.signing_key.serialize_pem().as_bytes())
            .map_err(file_error("write", &key))?;
        std::fs::write(&cert, pair.cert.pem()).map_err(file_error("write", &cert))?;
    }
    let fingerprint = fingerprint_of_file(&cert)?;
    Ok(DemoCertificate {
        cert,
        key,
        fingerprint,
        created,
    })
}

/// Writes TLS secrets in the NSS key log format (`LABEL CLIENT_RANDOM SECRET`, hex), the format
/// Wireshark's "(Pre)-Master-Secret log filename" and `SSLKEYLOGFILE` use.
struct KeyLogToFile {
    path: PathBuf,
    file: Mutex<File>,
}

impl KeyLogToFile {
    fn create(path: &Path) -> Result<KeyLogToFile, TlsSetupError> {
        use std::os::unix::fs::OpenOptionsExt;
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(path)
            .map_err(|source| TlsSetupError::File {
                action: "open the key log",
                path: path.to_owned(),
                source,
            })?;
        Ok(KeyLogToFile {
            path: path.to_owned(),
            file: Mutex::new(file),
        })
    }
}

impl fmt::Debug for KeyLogToFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyLogToFile")
            .field("path", &self.path)
            .finish()
    }
}

impl KeyLog for KeyLogToFile {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        let line = format!(
            "{label} {} {}\n",
            hex::encode(client_random),
            hex::encode(secret)
        );
        // A poisoned lock only means another thread panicked mid-write; the file is still there.
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(error) = file.write_all(line.as_bytes()) {
            tracing::error!(path = %self.path.display(), %error, "cannot write the TLS key log");
        }
    }
}

/// What a finished handshake agreed on, for logs and STAT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSummary {
    /// `TLSv1_3`, `TLSv1_2`.
    pub version: String,
    /// `TLS13_AES_256_GCM_SHA384`…
    pub cipher_suite: String,
    /// Whether the client resumed an earlier TLS session (the control connection's, for a data
    /// connection) instead of a full handshake.
    pub resumed: bool,
}

impl TlsSummary {
    /// The summary of a connection whose handshake is complete.
    pub fn of(connection: &ServerConnection) -> TlsSummary {
        TlsSummary {
            version: connection
                .protocol_version()
                .map(|v| format!("{v:?}"))
                .unwrap_or_default(),
            cipher_suite: connection
                .negotiated_cipher_suite()
                .map(|s| format!("{:?}", s.suite()))
                .unwrap_or_default(),
            resumed: connection.handshake_kind() == Some(HandshakeKind::Resumed),
        }
    }
}

impl fmt::Display for TlsSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}{}",
            self.version,
            self.cipher_suite,
            if self.resumed { ", resumed" } else { "" }
        )
    }
}

/// A failed handshake in words that say what the client probably did.
pub fn describe_handshake_error(error: &io::Error) -> String {
    use io::ErrorKind::*;
    let hint = match error.kind() {
        UnexpectedEof | ConnectionReset | BrokenPipe => {
            " (the client closed the connection during the TLS handshake)"
        }
        TimedOut | WouldBlock => " (the client sent no TLS handshake in time)",
        InvalidData => " (the client did not speak TLS after 234: not a TLS ClientHello)",
        _ => "",
    };
    format!("{error}{hint}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_certificate_is_made_once_and_loads() {
        let dir = tempfile::tempdir().unwrap();
        let first = ensure_demo_certificate(dir.path()).unwrap();
        assert!(first.created);
        assert!(first.fingerprint.starts_with("SHA256:"));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&first.key).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the key is private: {mode:o}");
        let again = ensure_demo_certificate(dir.path()).unwrap();
        assert!(!again.created);
        assert_eq!(again.fingerprint, first.fingerprint);
        let keylog = dir.path().join("keys.log");
        server_config(&first.cert, &first.key, Some(&keylog)).unwrap();
        assert!(keylog.exists());
    }

    #[test]
    fn a_key_that_is_not_a_key_is_refused_with_the_file_named() {
        let dir = tempfile::tempdir().unwrap();
        let pair = ensure_demo_certificate(dir.path()).unwrap();
        let error = server_config(&pair.cert, &pair.cert, None).unwrap_err();
        assert!(error.to_string().contains("cert.pem"), "{error}");
        let error = server_config(&pair.key, &pair.key, None).unwrap_err();
        assert!(error.to_string().contains("CERTIFICATE"), "{error}");
        let missing = dir.path().join("missing.pem");
        let error = server_config(&missing, &pair.key, None).unwrap_err();
        assert!(error.to_string().contains("missing.pem"), "{error}");
    }
}
