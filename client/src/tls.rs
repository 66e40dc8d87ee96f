//! Explicit FTPS (RFC 4217) on the client side: whom to trust, the TLS handshake, and TLS
//! streams for the control and data connections.
//!
//! Trust, in this order: `--tls-insecure` trusts anyone (named so on purpose); a pinned
//! `--tls-fingerprint SHA256:…` trusts exactly that certificate; otherwise the system's root
//! certificates decide, and a certificate they do not vouch for (a self-signed lab server)
//! is shown with its fingerprint and, in the interactive shell, accepted or refused by the
//! user (trust on first use). One rustls `ClientConfig` per session keeps one session cache,
//! so each data connection resumes the control connection's TLS session (RFC 4217 §10), as
//! vsftpd's `require_ssl_reuse` demands. `SSLKEYLOGFILE` is honoured.

use crate::error::ClientError;
use ftp_proto::security::{SHA256_LEN, format_sha256_fingerprint};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    ClientConfig, ClientConnection, DigitallySignedStruct, HandshakeKind, RootCertStore,
    SignatureScheme, StreamOwned,
};
use sha2::{Digest, Sha256};
use std::fmt;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};

/// What the user chose about TLS (`--tls`, `--prot`, `--tls-fingerprint`, `--tls-insecure`).
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// AUTH TLS right after the greeting.
    pub enabled: bool,
    /// PROT C: keep data connections in clear (for the lab that shows what that leaks).
    pub clear_data: bool,
    /// Trust exactly the certificate with this SHA-256 fingerprint.
    pub fingerprint: Option<[u8; SHA256_LEN]>,
    /// Trust any certificate.
    pub insecure: bool,
    /// Ask the user about a certificate the system does not trust (interactive shell only).
    pub ask: bool,
}

/// Asks whether to trust a certificate; gets its fingerprint and why it is not trusted.
pub type TrustPrompt = dyn Fn(&str, &str) -> bool + Send + Sync;

/// The certificate checks of a session.
struct Verifier {
    /// The system's roots; `None` when none could be loaded.
    web_pki: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
    /// `--tls-fingerprint`: the only certificate trusted.
    pinned: Option<[u8; SHA256_LEN]>,
    /// Certificates the user accepted in this session.
    accepted: Mutex<Vec<[u8; SHA256_LEN]>>,
    insecure: bool,
    ask: Option<Arc<TrustPrompt>>,
    /// The last certificate presented and why it was refused, for the error message.
    refused: Mutex<Option<(String, String)>>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field(
                "pinned",
                &self.pinned.map(|d| format_sha256_fingerprint(&d)),
            )
            .field("insecure", &self.insecure)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    fn refuse(&self, shown: String, why: String) -> rustls::Error {
        let error = rustls::Error::General(why.clone());
        *self.refused.lock().unwrap_or_else(|e| e.into_inner()) = Some((shown, why));
        error
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let digest: [u8; SHA256_LEN] = Sha256::digest(end_entity.as_ref()).into();
        let shown = format_sha256_fingerprint(&digest);
        if self.insecure {
            return Ok(ServerCertVerified::assertion());
        }
        if let Some(pinned) = self.pinned {
            return if pinned == digest {
                Ok(ServerCertVerified::assertion())
            } else {
                Err(self.refuse(
                    shown,
                    format!(
                        "its fingerprint is not the pinned {}",
                        format_sha256_fingerprint(&pinned)
                    ),
                ))
            };
        }
        let accepted = self.accepted.lock().unwrap_or_else(|e| e.into_inner());
        if accepted.contains(&digest) {
            return Ok(ServerCertVerified::assertion());
        }
        drop(accepted);
        let why = match &self.web_pki {
            Some(web_pki) => match web_pki.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            ) {
                Ok(verified) => return Ok(verified),
                Err(error) => describe_certificate_error(&error),
            },
            None => "no system root certificates could be loaded".to_owned(),
        };
        if let Some(ask) = &self.ask
            && ask(&shown, &why)
        {
            self.accepted
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(digest);
            return Ok(ServerCertVerified::assertion());
        }
        Err(self.refuse(shown, why))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A certificate error in words (rustls' own say "invalid peer certificate: UnknownIssuer").
fn describe_certificate_error(error: &rustls::Error) -> String {
    use rustls::CertificateError::*;
    match error {
        rustls::Error::InvalidCertificate(UnknownIssuer) => {
            "no certificate authority known to this system signed it (self-signed?)".to_owned()
        }
        rustls::Error::InvalidCertificate(NotValidForName)
        | rustls::Error::InvalidCertificate(NotValidForNameContext { .. }) => {
            "it is not made out to the name or address you connected to".to_owned()
        }
        rustls::Error::InvalidCertificate(Expired)
        | rustls::Error::InvalidCertificate(ExpiredContext { .. }) => "it has expired".to_owned(),
        other => other.to_string(),
    }
}

/// The TLS side of a session: one configuration (one session cache) for all its connections.
#[derive(Clone)]
pub struct ClientTls {
    config: Arc<ClientConfig>,
    verifier: Arc<Verifier>,
    /// Where `SSLKEYLOGFILE` sends the secrets, if it is set.
    pub keylog: Option<String>,
}

impl fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTls")
            .field("verifier", &self.verifier)
            .field("keylog", &self.keylog)
            .finish_non_exhaustive()
    }
}

impl ClientTls {
    /// Builds the configuration; `ask` is called for certificates the system does not trust
    /// when `options.ask` is set.
    pub fn new(options: &TlsOptions, ask: Option<Arc<TrustPrompt>>) -> Result<Self, ClientError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let web_pki = if options.insecure || options.fingerprint.is_some() {
            None
        } else {
            let mut roots = RootCertStore::empty();
            let loaded = rustls_native_certs::load_native_certs();
            let (added, _ignored) = roots.add_parsable_certificates(loaded.certs);
            if added == 0 {
                None
            } else {
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .ok()
            }
        };
        let verifier = Arc::new(Verifier {
            web_pki,
            provider: provider.clone(),
            pinned: options.fingerprint,
            accepted: Mutex::new(Vec::new()),
            insecure: options.insecure,
            ask: ask.filter(|_| options.ask),
            refused: Mutex::new(None),
        });
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ClientError::Tls(format!("cannot set up TLS: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(verifier.clone())
            .with_no_client_auth();
        let keylog = std::env::var("SSLKEYLOGFILE")
            .ok()
            .filter(|p| !p.is_empty());
        if keylog.is_some() {
            config.key_log = Arc::new(rustls::KeyLogFile::new());
        }
        Ok(ClientTls {
            config: Arc::new(config),
            verifier,
            keylog,
        })
    }

    /// Runs the TLS handshake as client on `tcp` for `host` (a name or an address).
    pub fn handshake(&self, host: &str, tcp: TcpStream) -> Result<TlsStream, ClientError> {
        let name = ServerName::try_from(host.to_owned())
            .map_err(|_| ClientError::Tls(format!("{host:?} is not a host name or address")))?;
        let connection = ClientConnection::new(self.config.clone(), name)
            .map_err(|e| ClientError::Tls(format!("cannot start TLS: {e}")))?;
        let mut stream = StreamOwned::new(connection, tcp);
        while stream.conn.is_handshaking() {
            match stream.conn.complete_io(&mut stream.sock) {
                Ok((0, 0)) if stream.conn.is_handshaking() => {
                    return Err(ClientError::Tls(
                        "the server closed the connection during the TLS handshake".into(),
                    ));
                }
                Ok(_) => {}
                Err(error) => return Err(self.handshake_error(error)),
            }
        }
        Ok(TlsStream {
            inner: Box::new(stream),
        })
    }

    fn handshake_error(&self, error: io::Error) -> ClientError {
        let refused = self
            .verifier
            .refused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        match refused {
            Some((fingerprint, reason)) => ClientError::UntrustedCertificate {
                fingerprint,
                reason,
            },
            None => ClientError::Tls(format!("TLS handshake failed: {error}")),
        }
    }
}

/// A TLS connection (control or data) over TCP.
pub struct TlsStream {
    inner: Box<StreamOwned<ClientConnection, TcpStream>>,
}

impl fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsStream")
            .field("tcp", &self.inner.sock)
            .finish_non_exhaustive()
    }
}

impl TlsStream {
    /// The TCP connection underneath (for timeouts and addresses).
    pub fn tcp(&self) -> &TcpStream {
        &self.inner.sock
    }

    /// What the handshake agreed on: `TLSv1_3 TLS13_AES_256_GCM_SHA384`, `resumed` when the
    /// session was resumed, and the server certificate's fingerprint.
    pub fn summary(&self) -> String {
        let conn = &self.inner.conn;
        let version = conn
            .protocol_version()
            .map(|v| format!("{v:?}"))
            .unwrap_or_default();
        let suite = conn
            .negotiated_cipher_suite()
            .map(|s| format!("{:?}", s.suite()))
            .unwrap_or_default();
        let mut text = format!("{version} {suite}");
        if conn.handshake_kind() == Some(HandshakeKind::Resumed) {
            text.push_str(", resumed session");
        }
        if let Some(cert) = conn.peer_certificates().and_then(|c| c.first()) {
            let digest: [u8; SHA256_LEN] = Sha256::digest(cert.as_ref()).into();
            text.push_str(&format!(
                ", server certificate {}",
                format_sha256_fingerprint(&digest)
            ));
        }
        text
    }

    /// Whether this connection resumed an earlier TLS session.
    pub fn resumed(&self) -> bool {
        self.inner.conn.handshake_kind() == Some(HandshakeKind::Resumed)
    }

    /// Ends the TLS session with close_notify (so the server knows an upload is complete and
    /// not cut off), then reads what the server still sends until it closes too. TLS 1.3
    /// servers send session tickets on every connection; a socket closed with such unread
    /// bytes sends a TCP reset, which can make the server lose the end of an upload.
    pub fn close(mut self) -> io::Result<()> {
        self.inner.conn.send_close_notify();
        while self.inner.conn.wants_write() {
            self.inner.conn.write_tls(&mut self.inner.sock)?;
        }
        let _ = self.inner.sock.shutdown(std::net::Shutdown::Write);
        let mut sink = [0u8; 4096];
        // Bounded by the socket's read timeout; the server's own close ends it at once.
        for _ in 0..1024 {
            match self.inner.read(&mut sink) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        Ok(())
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            // Some servers close data connections without close_notify; the reply on the
            // (protected) control connection still says whether the transfer was complete.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
            other => other,
        }
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A data connection: TCP as it is (PROT C), or TLS (PROT P).
#[derive(Debug)]
pub enum DataStream {
    /// Clear.
    Plain(TcpStream),
    /// Inside TLS.
    Tls(TlsStream),
}

impl DataStream {
    /// The TCP connection underneath.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            DataStream::Plain(tcp) => tcp,
            DataStream::Tls(tls) => tls.tcp(),
        }
    }

    /// Closes it; inside TLS with close_notify first.
    pub fn close(self) -> io::Result<()> {
        match self {
            DataStream::Plain(_) => Ok(()),
            DataStream::Tls(tls) => tls.close(),
        }
    }
}

impl Read for DataStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            DataStream::Plain(tcp) => tcp.read(buf),
            DataStream::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for DataStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            DataStream::Plain(tcp) => tcp.write(buf),
            DataStream::Tls(tls) => tls.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            DataStream::Plain(tcp) => tcp.flush(),
            DataStream::Tls(tls) => tls.flush(),
        }
    }
}

/// Asks on the terminal whether to trust a certificate (the shell's trust on first use).
pub fn ask_on_terminal(fingerprint: &str, why: &str) -> bool {
    eprintln!("The server's TLS certificate is not trusted: {why}.");
    eprintln!("Its fingerprint: {fingerprint}");
    eprintln!(
        "Compare it with the one the server's operator gave you (`ftp-server init` prints it)."
    );
    eprint!("Trust this certificate for this session? [y/N] ");
    let _ = io::stderr().flush();
    let mut answer = String::new();
    if io::stdin().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes")
}
