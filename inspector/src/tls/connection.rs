//! One TLS connection followed from both directions: records cut from the stream, the
//! handshake read for its facts (version, cipher suite, SNI, certificate), and, with a key
//! log, the records decrypted into the application data they carry.
//!
//! TLS 1.2 (RFC 5246 §7.1): each direction switches to its keys at its ChangeCipherSpec, with
//! sequence number 0. TLS 1.3 (RFC 8446 §2): after the ServerHello both directions use their
//! handshake traffic keys; each switches to its application traffic keys after its own
//! Finished, and to the next ones after a KeyUpdate.

use super::keylog::KeyLog;
use super::keys::{self, DecryptError, DirectionKeys, Suite};
use super::record::{NotTls, Record, RecordReader, content};
use crate::reassembly::Chunk;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// The random a ServerHello carries when it is really a HelloRetryRequest (RFC 8446 §4.1.3).
const HELLO_RETRY_RANDOM: [u8; 32] = [
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
];

/// A handshake message longer than this is not buffered (certificate chains are far smaller).
const MAX_HANDSHAKE: usize = 1 << 18;

/// What the handshake tells anyone who watches, key log or not (1.3 certificates only with it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// Frame of the ClientHello.
    pub client_hello_frame: Option<u64>,
    /// Frame of the ServerHello.
    pub server_hello_frame: Option<u64>,
    /// The ClientHello's random: what the key log is searched by.
    pub client_random: Option<Vec<u8>>,
    /// The ServerHello's random.
    pub server_random: Option<Vec<u8>>,
    /// The session id the client offered (TLS 1.2 resumption).
    pub offered_session_id: Option<Vec<u8>>,
    /// Negotiated version (0x0303 TLS 1.2, 0x0304 TLS 1.3).
    pub version: Option<u16>,
    /// Negotiated cipher suite.
    pub cipher_suite: Option<u16>,
    /// Server name the client asked for (SNI, RFC 6066 §3).
    pub sni: Option<String>,
    /// Subject of the server's certificate.
    pub certificate_subject: Option<String>,
    /// SHA-256 of the server's certificate (DER), hex.
    pub certificate_sha256: Option<String>,
    /// The server resumed an earlier session (1.2 session id or ticket, 1.3 PSK).
    pub resumed: bool,
}

/// Whether the records can be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decryption {
    /// No `--keylog` given.
    NoKeyLog,
    /// The ServerHello has not been seen yet.
    Waiting,
    /// The ClientHello is not in the capture, so there is no client random to look up.
    NoClientHello,
    /// The key log has no (or not every needed) secret for this connection's client random.
    NoSecret {
        /// What is missing.
        missing: &'static str,
    },
    /// A cipher suite whose records this inspector cannot decrypt.
    UnsupportedSuite(u16),
    /// Records are being decrypted.
    Decrypting,
    /// A record did not decrypt: the secret is wrong or records are missing.
    Failed {
        /// Frame of the first record that failed.
        frame: u64,
        /// Why.
        reason: String,
    },
}

impl Decryption {
    /// A short text for tables and JSON.
    pub fn describe(&self) -> String {
        match self {
            Decryption::NoKeyLog => "encrypted; no key log given".to_owned(),
            Decryption::Waiting => "encrypted; handshake not complete in the capture".to_owned(),
            Decryption::NoClientHello => {
                "encrypted; ClientHello not in the capture (no client random to look up)".to_owned()
            }
            Decryption::NoSecret { missing } => {
                format!(
                    "encrypted; the key log has no {missing} for this connection's client random"
                )
            }
            Decryption::UnsupportedSuite(id) => format!(
                "encrypted; cipher suite {} cannot be decrypted here (AES-GCM and ChaCha20-Poly1305 only)",
                suite_name(*id)
            ),
            Decryption::Decrypting => "decrypted with key log".to_owned(),
            Decryption::Failed { frame, reason } => {
                format!("decryption failed at frame {frame}: {reason}")
            }
        }
    }
}

/// What one chunk of stream gave.
#[derive(Debug, Default)]
pub struct Pushed {
    /// Application data decrypted from it.
    pub plaintext: Vec<u8>,
    /// Bytes that follow the end of TLS in this direction (clear text after CCC).
    pub clear: Vec<u8>,
}

/// One TLS connection, both directions.
#[derive(Debug)]
pub struct TlsConnection {
    client_dir: Option<usize>,
    readers: [RecordReader; 2],
    handshake: [Vec<u8>; 2],
    keys: [Option<DirectionKeys>; 2],
    /// TLS 1.2: keys taken into use at this direction's ChangeCipherSpec.
    pending12: [Option<DirectionKeys>; 2],
    /// TLS 1.3: the application traffic secret this direction switches to after its Finished.
    next13: [Option<Vec<u8>>; 2],
    /// TLS 1.3 without keys: this direction's own encrypted handshake is over.
    handshake_done: [bool; 2],
    suite: Option<Suite>,
    keylog: Option<Arc<KeyLog>>,
    /// What the handshake showed.
    pub facts: Facts,
    /// Whether the records can be read.
    pub decryption: Decryption,
    /// Application data bytes as sent (encrypted record payloads) per direction, handshake
    /// records excluded as far as they can be told apart.
    pub app_bytes: [u64; 2],
    /// Frame of the first application data record.
    pub first_app_frame: Option<u64>,
    /// This direction is no longer TLS (after CCC, or it never was).
    pub cleared: [bool; 2],
    /// Bytes of this direction are missing from the capture: records after that are lost.
    pub lost: [bool; 2],
    /// A whole record came in this direction (so bytes that are no record after it are the
    /// clear text that follows TLS, as after CCC).
    records_seen: [bool; 2],
    /// This direction sent close_notify (RFC 8446 §6.1): what it sent before is all it sent,
    /// whatever RST follows.
    pub close_notify: [bool; 2],
}

/// The IANA name of a cipher suite (tls-parser's table), or its number.
pub fn suite_name(id: u16) -> String {
    tls_parser::TlsCipherSuite::from_id(id)
        .map(|c| c.name.to_owned())
        .unwrap_or_else(|| format!("0x{id:04X}"))
}

/// `TLS 1.2`, `TLS 1.3`…
pub fn version_name(v: u16) -> &'static str {
    match v {
        0x0300 => "SSL 3.0",
        0x0301 => "TLS 1.0",
        0x0302 => "TLS 1.1",
        0x0303 => "TLS 1.2",
        0x0304 => "TLS 1.3",
        _ => "unknown TLS version",
    }
}

/// The extensions of a hello: (type, data) pairs, as far as they parse.
fn extensions(mut bytes: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while let [a, b, c, d, rest @ ..] = bytes {
        let kind = u16::from_be_bytes([*a, *b]);
        let len = usize::from(u16::from_be_bytes([*c, *d]));
        let Some((data, next)) = rest.split_at_checked(len) else {
            break;
        };
        out.push((kind, data));
        bytes = next;
    }
    out
}

/// RFC 6066 §3: the host_name of a server_name extension.
fn sni(data: &[u8]) -> Option<String> {
    // list length (2), then entries: type (1), length (2), name.
    let list = data.get(2..)?;
    let (kind, rest) = list.split_first()?;
    let len = usize::from(u16::from_be_bytes([*rest.first()?, *rest.get(1)?]));
    let name = rest.get(2..2 + len)?;
    (*kind == 0).then(|| String::from_utf8_lossy(name).into_owned())
}

/// The first certificate (DER) of a Certificate message; TLS 1.3 adds a request context and
/// per-entry extensions (RFC 8446 §4.4.2).
fn first_certificate(body: &[u8], tls13: bool) -> Option<&[u8]> {
    let body = if tls13 {
        let ctx_len = usize::from(*body.first()?);
        body.get(1 + ctx_len..)?
    } else {
        body
    };
    // list length (3), then cert length (3) and the DER.
    let len = usize::try_from(u32::from_be_bytes([
        0,
        *body.get(3)?,
        *body.get(4)?,
        *body.get(5)?,
    ]))
    .ok()?;
    body.get(6..6 + len)
}

impl TlsConnection {
    /// A connection whose client sends in direction `client_dir` (when known), decrypted with
    /// `keylog` when given.
    pub fn new(client_dir: Option<usize>, keylog: Option<Arc<KeyLog>>) -> TlsConnection {
        TlsConnection {
            client_dir: client_dir.map(|d| d.min(1)),
            readers: Default::default(),
            handshake: Default::default(),
            keys: Default::default(),
            pending12: Default::default(),
            next13: Default::default(),
            handshake_done: [false; 2],
            suite: None,
            decryption: if keylog.is_some() {
                Decryption::Waiting
            } else {
                Decryption::NoKeyLog
            },
            keylog,
            facts: Facts::default(),
            app_bytes: [0; 2],
            first_app_frame: None,
            cleared: [false; 2],
            lost: [false; 2],
            records_seen: [false; 2],
            close_notify: [false; 2],
        }
    }

    /// The direction the TLS client sends in, once known.
    pub fn client_dir(&self) -> Option<usize> {
        self.client_dir
    }

    /// True while records are being decrypted.
    pub fn decrypting(&self) -> bool {
        self.decryption == Decryption::Decrypting
    }

    /// Takes a chunk of direction `dir` (0 or 1), completed by frame `frame`.
    pub fn push(&mut self, dir: usize, chunk: Chunk<'_>, frame: u64) -> Pushed {
        let mut out = Pushed::default();
        let d = dir.min(1);
        match chunk {
            Chunk::Gap { .. } if self.cleared[d] => {}
            Chunk::Gap { .. } => {
                // Record boundaries and sequence numbers are lost with the bytes.
                self.lost[d] = true;
                self.readers[d].clear();
                self.keys[d] = None;
            }
            Chunk::Data(bytes) if self.cleared[d] => out.clear.extend_from_slice(bytes),
            Chunk::Data(bytes) if self.lost[d] => self.app_bytes[d] += bytes.len() as u64,
            Chunk::Data(bytes) => {
                self.readers[d].push(bytes);
                // Bounded: each pass consumes a record or stops.
                loop {
                    match self.readers[d].next_record() {
                        Ok(Some(record)) => {
                            self.records_seen[d] = true;
                            self.record(d, record, frame, &mut out);
                        }
                        Ok(None) => break,
                        Err(NotTls) if self.records_seen[d] => {
                            self.cleared[d] = true;
                            out.clear = self.readers[d].take_rest();
                            break;
                        }
                        Err(NotTls) => {
                            // Never TLS in this direction: unreadable, counted only.
                            self.lost[d] = true;
                            self.app_bytes[d] += self.readers[d].take_rest().len() as u64;
                            break;
                        }
                    }
                }
            }
        }
        out
    }

    fn tls13(&self) -> bool {
        self.facts.version == Some(0x0304)
    }

    fn record(&mut self, dir: usize, record: Record, frame: u64, out: &mut Pushed) {
        match record.content_type() {
            content::CHANGE_CIPHER_SPEC => {
                // TLS 1.3 sends one only for middlebox compatibility (RFC 8446 §D.4).
                if !self.tls13()
                    && let Some(keys) = self.pending12[dir].take()
                {
                    self.keys[dir] = Some(keys);
                }
            }
            content::HANDSHAKE if self.keys[dir].is_some() && !self.tls13() => {
                if let Some((_, plain)) = self.decrypt(dir, &record, frame) {
                    self.handshake_bytes(dir, &plain, frame);
                }
            }
            content::HANDSHAKE => self.handshake_bytes(dir, &record.body, frame),
            content::ALERT if self.keys[dir].is_some() && !self.tls13() => {
                if let Some((_, plain)) = self.decrypt(dir, &record, frame) {
                    self.alert(dir, &plain);
                }
            }
            // A TLS 1.2 alert after ChangeCipherSpec that cannot be decrypted: at the end of a
            // connection it is the close_notify (anything else would be followed by nothing
            // useful either).
            content::ALERT if record.body.len() > 2 => self.close_notify[dir] = true,
            content::ALERT => self.alert(dir, &record.body),
            content::APPLICATION_DATA => self.application_record(dir, record, frame, out),
            _ => {}
        }
    }

    fn application_record(&mut self, dir: usize, record: Record, frame: u64, out: &mut Pushed) {
        if self.keys[dir].is_none() {
            // Without keys a TLS 1.3 record's real type is hidden: count what follows each
            // side's own handshake flight (the server's ends when the client's Finished comes).
            // 2 bytes of alert, its type and a 16-byte tag: a TLS 1.3 alert, at the end of a
            // connection its close_notify (application data of 2 bytes is rare enough).
            if self.tls13() && record.body.len() == 19 && self.handshake_done[dir] {
                self.close_notify[dir] = true;
                return;
            }
            let counted = if self.tls13() {
                let client = self.client_dir.unwrap_or(0);
                if dir == client {
                    let done = self.handshake_done[dir];
                    self.handshake_done[dir] = true;
                    if let Some(s) = self.handshake_done.get_mut(1 - dir) {
                        *s = true;
                    }
                    done
                } else {
                    self.handshake_done[dir]
                }
            } else {
                true
            };
            if counted {
                self.app_bytes[dir] += record.body.len() as u64;
                self.first_app_frame.get_or_insert(frame);
            }
            return;
        }
        let Some((kind, plain)) = self.decrypt(dir, &record, frame) else {
            self.app_bytes[dir] += record.body.len() as u64;
            return;
        };
        match kind {
            content::APPLICATION_DATA => {
                self.app_bytes[dir] += record.body.len() as u64;
                self.first_app_frame.get_or_insert(frame);
                out.plaintext.extend_from_slice(&plain);
            }
            content::HANDSHAKE => self.handshake_bytes(dir, &plain, frame),
            content::ALERT => self.alert(dir, &plain),
            _ => {}
        }
    }

    /// An alert (level, description); description 0 is close_notify.
    fn alert(&mut self, dir: usize, body: &[u8]) {
        if body.get(1) == Some(&0) {
            self.close_notify[dir] = true;
        }
    }

    /// Every direction that sent application data ended it with close_notify.
    pub fn closed_cleanly(&self) -> bool {
        (0..2).all(|d| self.app_bytes[d] == 0 || self.close_notify[d])
    }

    /// Decrypts with this direction's keys; a TLS 1.3 record that fails with the handshake
    /// keys is tried with the application keys once (a Finished that was not seen).
    fn decrypt(&mut self, dir: usize, record: &Record, frame: u64) -> Option<(u8, Vec<u8>)> {
        let keys = self.keys[dir].as_mut()?;
        let error = match keys.decrypt(record.header, &record.body) {
            Ok(plain) => return Some(plain),
            Err(e) => e,
        };
        if let (Some(suite), Some(secret)) = (self.suite, self.next13[dir].clone())
            && let Some(mut next) = keys::tls13_keys(suite, &secret)
            && let Ok(plain) = next.decrypt(record.header, &record.body)
        {
            self.keys[dir] = Some(next);
            self.next13[dir] = None;
            return Some(plain);
        }
        self.fail(dir, frame, error);
        None
    }

    fn fail(&mut self, dir: usize, frame: u64, error: DecryptError) {
        self.keys[dir] = None;
        if self.decryption == Decryption::Decrypting {
            self.decryption = Decryption::Failed {
                frame,
                reason: error.to_string(),
            };
        }
    }

    /// Handshake bytes (plain or decrypted) of direction `dir`, cut into messages.
    fn handshake_bytes(&mut self, dir: usize, bytes: &[u8], frame: u64) {
        self.handshake[dir].extend_from_slice(bytes);
        loop {
            let buf = self.handshake[dir].as_slice();
            let &[_, a, b, c, ..] = buf else {
                return;
            };
            let len = usize::try_from(u32::from_be_bytes([0, a, b, c])).unwrap_or(usize::MAX);
            if len > MAX_HANDSHAKE {
                self.handshake[dir].clear();
                return;
            }
            if buf.len() < 4 + len {
                return;
            }
            let message: Vec<u8> = self.handshake[dir].drain(..4 + len).collect();
            self.handshake_message(dir, &message, frame);
        }
    }

    fn handshake_message(&mut self, dir: usize, message: &[u8], frame: u64) {
        let (Some(&kind), Some(body)) = (message.first(), message.get(4..)) else {
            return;
        };
        match kind {
            1 => self.client_hello(dir, body, frame),
            2 => self.server_hello(dir, body, frame),
            11 if Some(dir) != self.client_dir && self.facts.certificate_sha256.is_none() => {
                if let Some(der) = first_certificate(body, self.tls13()) {
                    self.facts.certificate_sha256 = Some(hex::encode(Sha256::digest(der)));
                    self.facts.certificate_subject = x509_parser::parse_x509_certificate(der)
                        .ok()
                        .map(|(_, cert)| cert.subject().to_string());
                }
            }
            // Finished: in TLS 1.3 this direction moves to its application traffic keys.
            20 if self.tls13() => {
                self.handshake_done[dir] = true;
                if let (Some(suite), Some(secret)) = (self.suite, self.next13[dir].take()) {
                    self.keys[dir] = keys::tls13_keys(suite, &secret);
                }
            }
            // KeyUpdate (RFC 8446 §4.6.3): the sender's next traffic secret.
            24 if self.tls13() => {
                if let Some(suite) = self.suite
                    && let Some(current) = self.keys[dir].as_ref()
                    && let Some(secret) = keys::tls13_next_secret(suite, &current.secret)
                {
                    self.keys[dir] = keys::tls13_keys(suite, &secret);
                }
            }
            _ => {}
        }
    }

    fn client_hello(&mut self, dir: usize, body: &[u8], frame: u64) {
        let Ok((_, hello)) = tls_parser::parse_tls_handshake_client_hello(body) else {
            return;
        };
        if self.client_dir.is_none() {
            self.client_dir = Some(dir);
        }
        // After a HelloRetryRequest the second ClientHello keeps the random (RFC 8446 §4.1.2).
        if self.facts.client_random.is_none() {
            self.facts.client_random = Some(hello.random.to_vec());
            self.facts.client_hello_frame = Some(frame);
        }
        self.facts.offered_session_id = hello.session_id.map(<[u8]>::to_vec);
        for (kind, data) in extensions(hello.ext.unwrap_or_default()) {
            if kind == 0 {
                self.facts.sni = sni(data);
            }
        }
    }

    fn server_hello(&mut self, dir: usize, body: &[u8], frame: u64) {
        let Ok((_, hello)) = tls_parser::parse_tls_handshake_server_hello(body) else {
            return;
        };
        if hello.random == HELLO_RETRY_RANDOM {
            return;
        }
        if self.client_dir.is_none() {
            self.client_dir = Some(1 - dir.min(1));
        }
        let mut version = hello.version.0;
        let mut psk = false;
        for (kind, data) in extensions(hello.ext.unwrap_or_default()) {
            match (kind, data) {
                // supported_versions (RFC 8446 §4.2.1): the real version.
                (43, [hi, lo]) => version = u16::from_be_bytes([*hi, *lo]),
                // pre_shared_key: the server accepted a PSK, i.e. resumption.
                (41, _) => psk = true,
                _ => {}
            }
        }
        self.facts.server_hello_frame = Some(frame);
        self.facts.server_random = Some(hello.random.to_vec());
        self.facts.version = Some(version);
        self.facts.cipher_suite = Some(hello.cipher.0);
        self.facts.resumed = if version == 0x0304 {
            psk
        } else {
            hello.session_id.is_some_and(|s| {
                self.facts.offered_session_id.as_deref() == Some(s) && !s.is_empty()
            })
        };
        self.install_keys();
    }

    /// Looks the connection up in the key log once the ServerHello named version and suite.
    fn install_keys(&mut self) {
        let Some(log) = self.keylog.clone() else {
            return;
        };
        let (Some(client_random), Some(server_random), Some(id), Some(client)) = (
            self.facts.client_random.clone(),
            self.facts.server_random.clone(),
            self.facts.cipher_suite,
            self.client_dir,
        ) else {
            self.decryption = Decryption::NoClientHello;
            return;
        };
        let server = 1 - client.min(1);
        let Some(suite) = Suite::from_id(id) else {
            self.decryption = Decryption::UnsupportedSuite(id);
            return;
        };
        self.suite = Some(suite);
        let Some(secrets) = log.secrets(&client_random) else {
            self.decryption = Decryption::NoSecret {
                missing: "line at all",
            };
            return;
        };
        if self.tls13() {
            let (Some(ch), Some(sh), Some(ct), Some(st)) = (
                &secrets.client_handshake,
                &secrets.server_handshake,
                &secrets.client_traffic,
                &secrets.server_traffic,
            ) else {
                self.decryption = Decryption::NoSecret {
                    missing: "complete set of TLS 1.3 traffic secrets",
                };
                return;
            };
            self.keys[client] = keys::tls13_keys(suite, ch);
            self.keys[server] = keys::tls13_keys(suite, sh);
            self.next13[client] = Some(ct.clone());
            self.next13[server] = Some(st.clone());
        } else {
            let Some(master) = &secrets.master else {
                self.decryption = Decryption::NoSecret {
                    missing: "CLIENT_RANDOM (master secret)",
                };
                return;
            };
            let Some((c, s)) = keys::tls12_keys(suite, master, &client_random, &server_random)
            else {
                self.decryption = Decryption::NoSecret {
                    missing: "usable master secret",
                };
                return;
            };
            self.pending12[client] = Some(c);
            self.pending12[server] = Some(s);
        }
        self.decryption = Decryption::Decrypting;
    }
}

/// Hand-made handshake records for tests (no network, no key log).
#[cfg(test)]
pub(crate) mod testdata {
    fn handshake_record(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut msg = vec![kind, 0, (body.len() >> 8) as u8, body.len() as u8];
        msg.extend_from_slice(body);
        let mut rec = vec![22, 3, 1, (msg.len() >> 8) as u8, msg.len() as u8];
        rec.extend(msg);
        rec
    }

    fn ext(kind: u16, data: &[u8]) -> Vec<u8> {
        let mut e = kind.to_be_bytes().to_vec();
        e.extend((data.len() as u16).to_be_bytes());
        e.extend_from_slice(data);
        e
    }

    fn with_exts(mut body: Vec<u8>, exts: &[u8]) -> Vec<u8> {
        body.extend((exts.len() as u16).to_be_bytes());
        body.extend_from_slice(exts);
        body
    }

    /// A TLS 1.3 ClientHello record with random `[r; 32]`, offering 0x1301, naming `sni`.
    pub fn client_hello(r: u8, sni: &str) -> Vec<u8> {
        let mut body = vec![3, 3];
        body.extend([r; 32]);
        body.extend([0, 0, 2, 0x13, 0x01, 1, 0]);
        let mut name = vec![0];
        name.extend((sni.len() as u16).to_be_bytes());
        name.extend(sni.as_bytes());
        let mut list = (name.len() as u16).to_be_bytes().to_vec();
        list.extend(name);
        let mut exts = ext(0, &list);
        exts.extend(ext(43, &[2, 3, 4]));
        handshake_record(1, &with_exts(body, &exts))
    }

    /// A ServerHello record: `version` 0x0304 (in supported_versions) or 0x0303, `suite`.
    pub fn server_hello(version: u16, suite: u16) -> Vec<u8> {
        let mut body = vec![3, 3];
        body.extend([0x5a; 32]);
        body.push(0);
        body.extend(suite.to_be_bytes());
        body.push(0);
        let exts = if version == 0x0304 {
            ext(43, &[3, 4])
        } else {
            Vec::new()
        };
        handshake_record(2, &with_exts(body, &exts))
    }
}

#[cfg(test)]
mod tests {
    use super::testdata::*;
    use super::*;
    use proptest::prelude::*;

    fn push(c: &mut TlsConnection, dir: usize, bytes: &[u8], frame: u64) -> Pushed {
        c.push(dir, Chunk::Data(bytes), frame)
    }

    #[test]
    fn hellos_give_version_suite_and_sni_even_cut_into_pieces() {
        let mut c = TlsConnection::new(None, Some(Arc::new(KeyLog::default())));
        let hello = client_hello(7, "ftp.example.org");
        let (a, b) = hello.split_at(9);
        push(&mut c, 1, a, 3);
        push(&mut c, 1, b, 4);
        push(&mut c, 0, &server_hello(0x0304, 0x1303), 5);
        assert_eq!(c.client_dir(), Some(1));
        assert_eq!(c.facts.sni.as_deref(), Some("ftp.example.org"));
        assert_eq!(c.facts.client_random.as_deref(), Some(&[7u8; 32][..]));
        assert_eq!(c.facts.client_hello_frame, Some(4));
        assert_eq!(c.facts.version, Some(0x0304));
        assert_eq!(
            suite_name(c.facts.cipher_suite.unwrap()),
            "TLS_CHACHA20_POLY1305_SHA256"
        );
        assert_eq!(
            c.decryption,
            Decryption::NoSecret {
                missing: "line at all"
            }
        );
    }

    #[test]
    fn a_suite_without_aead_support_is_named_not_decrypted() {
        let mut c = TlsConnection::new(Some(0), Some(Arc::new(KeyLog::default())));
        push(&mut c, 0, &client_hello(1, "x"), 1);
        // TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA
        push(&mut c, 1, &server_hello(0x0303, 0xC013), 2);
        assert_eq!(c.decryption, Decryption::UnsupportedSuite(0xC013));
        assert!(
            c.decryption.describe().contains("AES_128_CBC"),
            "{}",
            c.decryption.describe()
        );
    }

    #[test]
    fn clear_text_after_tls_records_is_handed_back_and_clear_text_alone_is_not() {
        let mut c = TlsConnection::new(Some(0), None);
        push(&mut c, 0, &client_hello(1, "x"), 1);
        let out = push(&mut c, 0, b"USER after-ccc\r\n", 2);
        assert_eq!(out.clear, b"USER after-ccc\r\n");
        assert!(c.cleared[0]);
        let out = push(&mut c, 1, b"200 never was TLS\r\n", 3);
        assert!(out.clear.is_empty() && !c.cleared[1] && c.lost[1]);
    }

    #[test]
    fn a_gap_loses_the_records_after_it() {
        let mut c = TlsConnection::new(Some(0), None);
        push(&mut c, 0, &client_hello(1, "x"), 1);
        c.push(0, Chunk::Gap { len: 100 }, 2);
        push(&mut c, 0, &[23, 3, 3, 0, 5, 1, 2, 3, 4, 5], 3);
        assert!(c.lost[0]);
        assert_eq!(c.app_bytes[0], 10, "counted as bytes, not parsed");
    }

    proptest! {
        #[test]
        fn any_bytes_after_a_handshake_never_panic(
            chunks in proptest::collection::vec((0usize..2, proptest::collection::vec(any::<u8>(), 0..300)), 0..30),
            tls13 in any::<bool>(),
        ) {
            let r = "01".repeat(32);
            let log = KeyLog::parse("k", &format!(
                "CLIENT_RANDOM {r} {m}\nCLIENT_HANDSHAKE_TRAFFIC_SECRET {r} {s}\nSERVER_HANDSHAKE_TRAFFIC_SECRET {r} {s}\n\
                 CLIENT_TRAFFIC_SECRET_0 {r} {s}\nSERVER_TRAFFIC_SECRET_0 {r} {s}\n",
                m = "ab".repeat(48), s = "cd".repeat(32)));
            let mut c = TlsConnection::new(Some(0), Some(Arc::new(log)));
            push(&mut c, 0, &client_hello(1, "x"), 1);
            let (v, s) = if tls13 { (0x0304, 0x1301) } else { (0x0303, 0xC02F) };
            push(&mut c, 1, &server_hello(v, s), 2);
            prop_assert_eq!(&c.decryption, &Decryption::Decrypting);
            for (i, (dir, bytes)) in chunks.iter().enumerate() {
                // Half the chunks dressed as records so they reach the decryption.
                let mut data = bytes.clone();
                if i % 2 == 0 {
                    let mut rec = vec![if i % 4 == 0 { 23 } else { 20 }, 3, 3];
                    rec.extend((data.len() as u16).to_be_bytes());
                    rec.extend(data);
                    data = rec;
                }
                let _ = push(&mut c, *dir, &data, 3 + i as u64);
            }
        }
    }
}
