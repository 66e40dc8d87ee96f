//! Record keys from key log secrets, and record decryption: the TLS 1.2 PRF (RFC 5246 §5) and
//! key block (§6.3), the TLS 1.3 key schedule's HKDF-Expand-Label (RFC 8446 §7.1, §7.3), and
//! the AEAD nonces and additional data of each version (RFC 5288 §3 for AES-GCM in 1.2,
//! RFC 7905 §2 for ChaCha20-Poly1305 in 1.2, RFC 8446 §5.2–5.3 for 1.3). The primitives are
//! RustCrypto's (hkdf, hmac, sha2, aes-gcm, chacha20poly1305); this file is only the glue.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes128Gcm, Aes256Gcm};
use chacha20poly1305::ChaCha20Poly1305;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::{Sha256, Sha384};

/// The hash of a cipher suite (for the PRF or HKDF).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlg {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
}

impl HashAlg {
    /// Output length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            HashAlg::Sha256 => 32,
            HashAlg::Sha384 => 48,
        }
    }
}

/// The AEAD of a cipher suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AeadAlg {
    /// AES-128-GCM.
    Aes128Gcm,
    /// AES-256-GCM.
    Aes256Gcm,
    /// ChaCha20-Poly1305.
    ChaCha20Poly1305,
}

impl AeadAlg {
    fn key_len(self) -> usize {
        match self {
            AeadAlg::Aes128Gcm => 16,
            AeadAlg::Aes256Gcm | AeadAlg::ChaCha20Poly1305 => 32,
        }
    }
}

/// A cipher suite this inspector can decrypt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suite {
    /// IANA number.
    pub id: u16,
    /// The record protection.
    pub aead: AeadAlg,
    /// The PRF (1.2) or HKDF (1.3) hash.
    pub hash: HashAlg,
    /// A TLS 1.3 suite.
    pub tls13: bool,
}

impl Suite {
    /// The suite numbered `id`, when it is one with an AEAD this inspector supports (AES-GCM or
    /// ChaCha20-Poly1305, any key exchange: the key log gives the secret after it).
    pub fn from_id(id: u16) -> Option<Suite> {
        use AeadAlg::*;
        use HashAlg::*;
        let (aead, hash, tls13) = match id {
            0x1301 => (Aes128Gcm, Sha256, true),
            0x1302 => (Aes256Gcm, Sha384, true),
            0x1303 => (ChaCha20Poly1305, Sha256, true),
            // ECDHE-ECDSA, ECDHE-RSA, DHE-RSA, RSA with AES-128-GCM-SHA256
            0xC02B | 0xC02F | 0x009E | 0x009C => (Aes128Gcm, Sha256, false),
            // … with AES-256-GCM-SHA384
            0xC02C | 0xC030 | 0x009F | 0x009D => (Aes256Gcm, Sha384, false),
            // ECDHE-RSA, ECDHE-ECDSA, DHE-RSA with ChaCha20-Poly1305 (RFC 7905)
            0xCCA8..=0xCCAA => (ChaCha20Poly1305, Sha256, false),
            _ => return None,
        };
        Some(Suite {
            id,
            aead,
            hash,
            tls13,
        })
    }

    /// Bytes an encrypted record adds to its content: TLS 1.2 AES-GCM's explicit nonce and tag,
    /// the tag alone for ChaCha20-Poly1305, and in 1.3 the tag and the inner content type
    /// (padding, which OpenSSL does not add by default, comes on top).
    pub fn overhead(self) -> u64 {
        match (self.tls13, self.aead) {
            (true, _) => 17,
            (false, AeadAlg::ChaCha20Poly1305) => 16,
            (false, _) => 24,
        }
    }
}

enum Cipher {
    Aes128(Box<Aes128Gcm>),
    Aes256(Box<Aes256Gcm>),
    ChaCha(Box<ChaCha20Poly1305>),
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Cipher::Aes128(_) => "AES-128-GCM",
            Cipher::Aes256(_) => "AES-256-GCM",
            Cipher::ChaCha(_) => "ChaCha20-Poly1305",
        })
    }
}

/// How a record's nonce and additional data are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Nonces {
    /// TLS 1.3 (and 1.2 ChaCha20): the IV XOR the sequence number.
    XorSequence { tls13: bool },
    /// TLS 1.2 AES-GCM: a 4-byte salt and the record's 8-byte explicit nonce.
    ExplicitGcm,
}

/// The keys of one direction of a connection and its record sequence number.
#[derive(Debug)]
pub struct DirectionKeys {
    cipher: Cipher,
    iv: [u8; 12],
    nonces: Nonces,
    /// Records decrypted so far (the next record's sequence number).
    pub seq: u64,
    /// The TLS 1.3 traffic secret these keys come from (for KeyUpdate).
    pub secret: Vec<u8>,
    suite: Suite,
}

/// A record could not be decrypted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecryptError {
    /// Shorter than its nonce and tag.
    #[error("record too short to be encrypted")]
    TooShort,
    /// The tag did not match: wrong secret, or records missing.
    #[error("authentication failed (wrong secret in the key log, or records missing)")]
    BadTag,
    /// Decrypted, but no content type inside (TLS 1.3).
    #[error("no content type inside the decrypted record")]
    NoContentType,
}

fn cipher(aead: AeadAlg, key: &[u8]) -> Option<Cipher> {
    Some(match aead {
        AeadAlg::Aes128Gcm => Cipher::Aes128(Box::new(Aes128Gcm::new_from_slice(key).ok()?)),
        AeadAlg::Aes256Gcm => Cipher::Aes256(Box::new(Aes256Gcm::new_from_slice(key).ok()?)),
        AeadAlg::ChaCha20Poly1305 => {
            Cipher::ChaCha(Box::new(ChaCha20Poly1305::new_from_slice(key).ok()?))
        }
    })
}

/// RFC 5246 §5: P_hash(secret, seed), `len` bytes.
fn p_hash<M: Mac + KeyInit + Clone>(secret: &[u8], seed: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 64);
    let Ok(base) = <M as KeyInit>::new_from_slice(secret) else {
        return out;
    };
    // A(1) = HMAC(secret, seed), A(i) = HMAC(secret, A(i-1)).
    let mut a = {
        let mut m = base.clone();
        m.update(seed);
        m.finalize().into_bytes().to_vec()
    };
    while out.len() < len {
        let mut m = base.clone();
        m.update(&a);
        m.update(seed);
        out.extend_from_slice(&m.finalize().into_bytes());
        let mut m = base.clone();
        m.update(&a);
        a = m.finalize().into_bytes().to_vec();
    }
    out.truncate(len);
    out
}

/// The TLS 1.2 PRF: `P_<hash>(secret, label + seed)`.
pub fn prf(hash: HashAlg, secret: &[u8], label: &[u8], seed: &[u8], len: usize) -> Vec<u8> {
    let mut s = label.to_vec();
    s.extend_from_slice(seed);
    match hash {
        HashAlg::Sha256 => p_hash::<Hmac<Sha256>>(secret, &s, len),
        HashAlg::Sha384 => p_hash::<Hmac<Sha384>>(secret, &s, len),
    }
}

/// RFC 8446 §7.1: HKDF-Expand-Label(secret, label, context, length), label prefixed "tls13 ".
pub fn hkdf_expand_label(
    hash: HashAlg,
    secret: &[u8],
    label: &[u8],
    context: &[u8],
    len: usize,
) -> Option<Vec<u8>> {
    let full_label_len = 6 + label.len();
    let mut info = Vec::with_capacity(4 + full_label_len + context.len());
    info.extend_from_slice(&u16::try_from(len).ok()?.to_be_bytes());
    info.push(u8::try_from(full_label_len).ok()?);
    info.extend_from_slice(b"tls13 ");
    info.extend_from_slice(label);
    info.push(u8::try_from(context.len()).ok()?);
    info.extend_from_slice(context);
    let mut out = vec![0; len];
    match hash {
        HashAlg::Sha256 => Hkdf::<Sha256>::from_prk(secret)
            .ok()?
            .expand(&info, &mut out)
            .ok()?,
        HashAlg::Sha384 => Hkdf::<Sha384>::from_prk(secret)
            .ok()?
            .expand(&info, &mut out)
            .ok()?,
    }
    Some(out)
}

/// TLS 1.3 record keys from a traffic secret (RFC 8446 §7.3).
pub fn tls13_keys(suite: Suite, secret: &[u8]) -> Option<DirectionKeys> {
    let key = hkdf_expand_label(suite.hash, secret, b"key", b"", suite.aead.key_len())?;
    let iv = hkdf_expand_label(suite.hash, secret, b"iv", b"", 12)?;
    Some(DirectionKeys {
        cipher: cipher(suite.aead, &key)?,
        iv: iv.try_into().ok()?,
        nonces: Nonces::XorSequence { tls13: true },
        seq: 0,
        secret: secret.to_vec(),
        suite,
    })
}

/// The TLS 1.3 traffic secret after a KeyUpdate (RFC 8446 §7.2).
pub fn tls13_next_secret(suite: Suite, secret: &[u8]) -> Option<Vec<u8>> {
    hkdf_expand_label(
        suite.hash,
        secret,
        b"traffic upd",
        b"",
        suite.hash.output_len(),
    )
}

/// TLS 1.2 record keys of the client and of the server, from the master secret and both
/// randoms (RFC 5246 §6.3: key_block = PRF(master, "key expansion", server_random +
/// client_random); AEAD suites have no MAC keys).
pub fn tls12_keys(
    suite: Suite,
    master: &[u8],
    client_random: &[u8],
    server_random: &[u8],
) -> Option<(DirectionKeys, DirectionKeys)> {
    let key_len = suite.aead.key_len();
    let iv_len = match suite.aead {
        AeadAlg::ChaCha20Poly1305 => 12,
        _ => 4,
    };
    let mut seed = server_random.to_vec();
    seed.extend_from_slice(client_random);
    let block = prf(
        suite.hash,
        master,
        b"key expansion",
        &seed,
        2 * key_len + 2 * iv_len,
    );
    let (client_key, rest) = block.split_at_checked(key_len)?;
    let (server_key, rest) = rest.split_at_checked(key_len)?;
    let (client_iv, server_iv) = rest.split_at_checked(iv_len)?;
    let nonces = match suite.aead {
        AeadAlg::ChaCha20Poly1305 => Nonces::XorSequence { tls13: false },
        _ => Nonces::ExplicitGcm,
    };
    let make = |key: &[u8], iv: &[u8]| -> Option<DirectionKeys> {
        let mut full = [0u8; 12];
        full.get_mut(..iv.len())?.copy_from_slice(iv);
        Some(DirectionKeys {
            cipher: cipher(suite.aead, key)?,
            iv: full,
            nonces,
            seq: 0,
            secret: Vec::new(),
            suite,
        })
    };
    Some((make(client_key, client_iv)?, make(server_key, server_iv)?))
}

impl DirectionKeys {
    /// The suite these keys belong to.
    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// Decrypts one record (`header` is its 5-byte header, `body` its payload) and advances
    /// the sequence number. Returns the content type and the content (TLS 1.3: the inner type,
    /// padding removed; 1.2: the outer type).
    pub fn decrypt(&mut self, header: [u8; 5], body: &[u8]) -> Result<(u8, Vec<u8>), DecryptError> {
        let seq = self.seq.to_be_bytes();
        let mut nonce = self.iv;
        let (ciphertext, aad) = match self.nonces {
            Nonces::XorSequence { tls13 } => {
                for (n, s) in nonce.iter_mut().skip(4).zip(seq) {
                    *n ^= s;
                }
                if tls13 {
                    // RFC 8446 §5.2: the additional data is the record header.
                    (body, header.to_vec())
                } else {
                    (body, self.aad12(header, body.len().checked_sub(16)))
                }
            }
            Nonces::ExplicitGcm => {
                let (explicit, rest) = body.split_at_checked(8).ok_or(DecryptError::TooShort)?;
                if let Some(tail) = nonce.get_mut(4..) {
                    tail.copy_from_slice(explicit);
                }
                (rest, self.aad12(header, rest.len().checked_sub(16)))
            }
        };
        if ciphertext.len() < 16 {
            return Err(DecryptError::TooShort);
        }
        let payload = Payload {
            msg: ciphertext,
            aad: &aad,
        };
        let plain = match &self.cipher {
            Cipher::Aes128(c) => c.decrypt(aes_gcm::Nonce::from_slice(&nonce), payload),
            Cipher::Aes256(c) => c.decrypt(aes_gcm::Nonce::from_slice(&nonce), payload),
            Cipher::ChaCha(c) => c.decrypt(chacha20poly1305::Nonce::from_slice(&nonce), payload),
        }
        .map_err(|_| DecryptError::BadTag)?;
        self.seq = self.seq.wrapping_add(1);
        match self.nonces {
            Nonces::XorSequence { tls13: true } => {
                // RFC 8446 §5.4: content, then the real type, then zero padding.
                let mut plain = plain;
                while plain.last() == Some(&0) {
                    plain.pop();
                }
                let kind = plain.pop().ok_or(DecryptError::NoContentType)?;
                Ok((kind, plain))
            }
            _ => Ok((header[0], plain)),
        }
    }

    /// TLS 1.2 additional data (RFC 5246 §6.2.3.3): seq_num + type + version + length of the
    /// plaintext.
    fn aad12(&self, header: [u8; 5], plain_len: Option<usize>) -> Vec<u8> {
        let len = u16::try_from(plain_len.unwrap_or(0)).unwrap_or(u16::MAX);
        let mut aad = self.seq.to_be_bytes().to_vec();
        aad.extend_from_slice(&header[..3]);
        aad.extend_from_slice(&len.to_be_bytes());
        aad
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls12_prf_sha256_matches_the_published_test_vector() {
        // The widely used P_SHA256 test vector (IETF TLS list, 2009).
        let secret = hex::decode("9bbe436ba940f017b17652849a71db35").unwrap();
        let seed = hex::decode("a0ba9f936cda311827a6f796ffd5198c").unwrap();
        let out = prf(HashAlg::Sha256, &secret, b"test label", &seed, 100);
        assert_eq!(
            hex::encode(&out[..32]),
            "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a"
        );
        assert_eq!(out.len(), 100);
    }

    #[test]
    fn tls13_key_and_iv_match_rfc8448() {
        // RFC 8448 §3 (simple 1-RTT handshake): server handshake traffic secret → key, iv.
        let secret =
            hex::decode("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38")
                .unwrap();
        let s = Suite::from_id(0x1301).unwrap();
        let key = hkdf_expand_label(s.hash, &secret, b"key", b"", 16).unwrap();
        let iv = hkdf_expand_label(s.hash, &secret, b"iv", b"", 12).unwrap();
        assert_eq!(hex::encode(key), "3fce516009c21727d0f2e4e86ee403bc");
        assert_eq!(hex::encode(iv), "5d313eb2671276ee13000b30");
    }

    #[test]
    fn a_record_encrypted_with_the_same_keys_round_trips_and_a_flipped_bit_fails() {
        let s = Suite::from_id(0x1303).unwrap();
        let secret = [7u8; 32];
        let mut enc = tls13_keys(s, &secret).unwrap();
        let mut dec = tls13_keys(s, &secret).unwrap();
        // Encrypt by hand with the same construction.
        let key = hkdf_expand_label(s.hash, &secret, b"key", b"", 32).unwrap();
        let c = ChaCha20Poly1305::new_from_slice(&key).unwrap();
        let inner = b"USER alice\r\n\x17".to_vec();
        let len = (inner.len() + 16) as u16;
        let header = [23, 3, 3, (len >> 8) as u8, len as u8];
        let body = c
            .encrypt(
                chacha20poly1305::Nonce::from_slice(&enc.iv),
                Payload {
                    msg: &inner,
                    aad: &header,
                },
            )
            .unwrap();
        enc.seq += 1;
        assert_eq!(
            dec.decrypt(header, &body).unwrap(),
            (23, b"USER alice\r\n".to_vec())
        );
        let mut bad = body.clone();
        bad[0] ^= 1;
        let mut dec = tls13_keys(s, &secret).unwrap();
        assert_eq!(dec.decrypt(header, &bad), Err(DecryptError::BadTag));
        assert_eq!(dec.decrypt(header, &[1, 2]), Err(DecryptError::TooShort));
    }
}
