//! RFC 2228 and RFC 4217 (FTP over TLS, "FTPS"): the arguments of AUTH, PBSZ and PROT, and the
//! `SHA256:AB:CD:…` form in which a certificate's fingerprint is shown and pinned.
//!
//! The sequence is: `AUTH TLS` → `234` → TLS handshake on the control connection; from then on
//! every command and reply is inside TLS. `PBSZ 0` (TLS needs no buffer size, RFC 4217 §9) and
//! `PROT P` ask for TLS on each data connection too; `PROT C` leaves the files in clear.
//! `CCC` would turn the control connection back to clear text (RFC 4217 §5).

use std::fmt;

/// The argument of AUTH (RFC 2228 §3), as far as TLS goes (RFC 4217 §4, §8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMechanism {
    /// `TLS` (RFC 4217), and the older names clients still send: `SSL` (FileZilla tries it when
    /// `TLS` is refused), `TLS-C`.
    Tls,
    /// `TLS-P`: an old draft's "TLS, and PROT P from the start".
    TlsPrivate,
    /// Any other mechanism (`GSSAPI`, `KERBEROS_V4`…), kept upper-case.
    Other(String),
}

impl AuthMechanism {
    /// Reads the argument of AUTH (any case, surrounding spaces ignored).
    ///
    /// ```
    /// use ftp_proto::security::AuthMechanism;
    /// assert_eq!(AuthMechanism::parse("tls"), AuthMechanism::Tls);
    /// assert_eq!(AuthMechanism::parse("SSL"), AuthMechanism::Tls);
    /// ```
    pub fn parse(text: &str) -> AuthMechanism {
        let upper = text.trim().to_ascii_uppercase();
        match upper.as_str() {
            "TLS" | "SSL" | "TLS-C" => AuthMechanism::Tls,
            "TLS-P" => AuthMechanism::TlsPrivate,
            _ => AuthMechanism::Other(upper),
        }
    }
}

/// The data channel protection level of PROT (RFC 2228 §3; RFC 4217 §9 allows only C and P).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProtectionLevel {
    /// `C`: Clear. Data connections carry the files as they are.
    Clear,
    /// `S`: Safe (integrity only). Not possible with TLS.
    Safe,
    /// `E`: Confidential (secrecy only). Not possible with TLS.
    Confidential,
    /// `P`: Private. Each data connection is a TLS connection.
    Private,
}

impl ProtectionLevel {
    /// Reads the argument of PROT (one letter, any case), `None` for anything else.
    pub fn parse(text: &str) -> Option<ProtectionLevel> {
        match text.trim().to_ascii_uppercase().as_str() {
            "C" => Some(ProtectionLevel::Clear),
            "S" => Some(ProtectionLevel::Safe),
            "E" => Some(ProtectionLevel::Confidential),
            "P" => Some(ProtectionLevel::Private),
            _ => None,
        }
    }

    /// The letter on the wire.
    pub fn letter(self) -> &'static str {
        match self {
            ProtectionLevel::Clear => "C",
            ProtectionLevel::Safe => "S",
            ProtectionLevel::Confidential => "E",
            ProtectionLevel::Private => "P",
        }
    }
}

impl fmt::Display for ProtectionLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.letter())
    }
}

/// Reads the argument of PBSZ (RFC 2228 §3: a decimal integer of at most 32 bits).
pub fn parse_pbsz(text: &str) -> Option<u32> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Length of a SHA-256 digest.
pub const SHA256_LEN: usize = 32;

/// A SHA-256 digest as people compare it: `SHA256:AB:CD:…` (32 hex pairs, upper-case).
///
/// ```
/// use ftp_proto::security::format_sha256_fingerprint;
/// let text = format_sha256_fingerprint(&[0xab; 32]);
/// assert!(text.starts_with("SHA256:AB:AB:"));
/// ```
pub fn format_sha256_fingerprint(digest: &[u8; SHA256_LEN]) -> String {
    let pairs: Vec<String> = digest.iter().map(|b| format!("{b:02X}")).collect();
    format!("SHA256:{}", pairs.join(":"))
}

/// Why a fingerprint could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{text:?} is not a SHA-256 fingerprint: expected SHA256: and 64 hex digits \
     (colons allowed), as `ftp-server init` prints"
)]
pub struct FingerprintError {
    /// The text as given.
    pub text: String,
}

/// Reads a fingerprint: `SHA256:AB:CD:…`, the same without the prefix or without colons, any
/// case (what `openssl x509 -fingerprint -sha256` prints after its `=` works too).
pub fn parse_sha256_fingerprint(text: &str) -> Result<[u8; SHA256_LEN], FingerprintError> {
    let error = || FingerprintError {
        text: text.to_owned(),
    };
    let trimmed = text.trim();
    let body = match trimmed.split_once(':') {
        Some((prefix, rest))
            if prefix.eq_ignore_ascii_case("SHA256") || prefix.eq_ignore_ascii_case("SHA-256") =>
        {
            rest
        }
        _ => trimmed,
    };
    let hex: Vec<u8> = body.bytes().filter(|&b| b != b':').collect();
    if hex.len() != 2 * SHA256_LEN {
        return Err(error());
    }
    let mut digest = [0u8; SHA256_LEN];
    for (slot, pair) in digest.iter_mut().zip(hex.chunks_exact(2)) {
        let pair = std::str::from_utf8(pair).map_err(|_| error())?;
        *slot = u8::from_str_radix(pair, 16).map_err(|_| error())?;
    }
    Ok(digest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn auth_names_tls_under_its_aliases() {
        for name in ["TLS", "tls", " Ssl ", "TLS-C"] {
            assert_eq!(AuthMechanism::parse(name), AuthMechanism::Tls, "{name}");
        }
        assert_eq!(AuthMechanism::parse("tls-p"), AuthMechanism::TlsPrivate);
        assert_eq!(
            AuthMechanism::parse("gssapi"),
            AuthMechanism::Other("GSSAPI".into())
        );
    }

    #[test]
    fn prot_levels_are_single_letters() {
        assert_eq!(ProtectionLevel::parse("p"), Some(ProtectionLevel::Private));
        assert_eq!(ProtectionLevel::parse(" C"), Some(ProtectionLevel::Clear));
        assert_eq!(ProtectionLevel::parse("PRIVATE"), None);
        assert_eq!(ProtectionLevel::parse(""), None);
        assert_eq!(ProtectionLevel::Confidential.to_string(), "E");
    }

    #[test]
    fn pbsz_is_a_32_bit_decimal() {
        assert_eq!(parse_pbsz("0"), Some(0));
        assert_eq!(parse_pbsz("4294967295"), Some(u32::MAX));
        assert_eq!(parse_pbsz("4294967296"), None);
        assert_eq!(parse_pbsz("-1"), None);
        assert_eq!(parse_pbsz("+1"), None);
        assert_eq!(parse_pbsz(""), None);
    }

    #[test]
    fn fingerprints_read_in_every_usual_form() {
        let digest: [u8; 32] = std::array::from_fn(|i| i as u8 * 7);
        let shown = format_sha256_fingerprint(&digest);
        assert_eq!(shown.len(), "SHA256:".len() + 32 * 3 - 1);
        assert_eq!(parse_sha256_fingerprint(&shown), Ok(digest));
        let bare = shown.trim_start_matches("SHA256:").replace(':', "");
        assert_eq!(parse_sha256_fingerprint(&bare.to_lowercase()), Ok(digest));
        assert!(parse_sha256_fingerprint("SHA256:AB").is_err());
        assert!(parse_sha256_fingerprint(&format!("{shown}:00")).is_err());
        assert!(parse_sha256_fingerprint(&"é".repeat(32)).is_err());
    }

    proptest! {
        #[test]
        fn fingerprint_round_trips(digest in any::<[u8; 32]>()) {
            prop_assert_eq!(parse_sha256_fingerprint(&format_sha256_fingerprint(&digest)), Ok(digest));
        }

        #[test]
        fn fingerprint_parse_never_panics(text in "\\PC{0,100}") {
            let _ = parse_sha256_fingerprint(&text);
        }
    }
}
