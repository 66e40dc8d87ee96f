//! The NSS key log format (`SSLKEYLOGFILE`, Wireshark's "(Pre)-Master-Secret log"): one secret
//! per line, found by the ClientHello's random.
//!
//! ```text
//! CLIENT_RANDOM <client random, 64 hex> <TLS 1.2 master secret, 96 hex>
//! CLIENT_HANDSHAKE_TRAFFIC_SECRET <client random> <secret>   (TLS 1.3, RFC 8446 §7.1)
//! SERVER_HANDSHAKE_TRAFFIC_SECRET <client random> <secret>
//! CLIENT_TRAFFIC_SECRET_0 <client random> <secret>
//! SERVER_TRAFFIC_SECRET_0 <client random> <secret>
//! ```
//!
//! Other labels (`EXPORTER_SECRET`, `CLIENT_EARLY_TRAFFIC_SECRET`, `RSA`) are accepted and not
//! needed; a line that cannot be read is kept with its number so the report can point at it.

use std::collections::HashMap;
use std::path::Path;

/// The secrets of one TLS connection, as far as the key log has them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    /// TLS 1.2 master secret (48 bytes).
    pub master: Option<Vec<u8>>,
    /// TLS 1.3 client handshake traffic secret.
    pub client_handshake: Option<Vec<u8>>,
    /// TLS 1.3 server handshake traffic secret.
    pub server_handshake: Option<Vec<u8>>,
    /// TLS 1.3 first client application traffic secret.
    pub client_traffic: Option<Vec<u8>>,
    /// TLS 1.3 first server application traffic secret.
    pub server_traffic: Option<Vec<u8>>,
}

/// A line of the key log that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

/// A parsed key log.
#[derive(Debug, Clone, Default)]
pub struct KeyLog {
    /// Where it was read from (for messages).
    pub name: String,
    secrets: HashMap<Vec<u8>, Secrets>,
    /// Lines that could not be used.
    pub bad_lines: Vec<BadLine>,
}

/// The key log file could not be read at all.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the key log {path}: {source} (give the file written through SSLKEYLOGFILE)")]
pub struct KeyLogError {
    /// The file named.
    pub path: String,
    /// Why.
    #[source]
    pub source: std::io::Error,
}

impl KeyLog {
    /// Reads and parses a key log file. Lines that are not key log lines are not an error here:
    /// they are listed in [`KeyLog::bad_lines`] and reported as a finding.
    pub fn load(path: &Path) -> Result<KeyLog, KeyLogError> {
        let bytes = std::fs::read(path).map_err(|source| KeyLogError {
            path: path.display().to_string(),
            source,
        })?;
        Ok(KeyLog::parse(
            &path.display().to_string(),
            &String::from_utf8_lossy(&bytes),
        ))
    }

    /// Parses the text of a key log.
    pub fn parse(name: &str, text: &str) -> KeyLog {
        let mut log = KeyLog {
            name: name.to_owned(),
            ..KeyLog::default()
        };
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Err(reason) = log.add(line) {
                log.bad_lines.push(BadLine {
                    line: i + 1,
                    reason,
                });
            }
        }
        log
    }

    fn add(&mut self, line: &str) -> Result<(), String> {
        let mut fields = line.split_ascii_whitespace();
        let (Some(label), Some(random), Some(secret), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err("expected three fields: LABEL CLIENT_RANDOM SECRET".to_owned());
        };
        let known = [
            "CLIENT_RANDOM",
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
            "SERVER_HANDSHAKE_TRAFFIC_SECRET",
            "CLIENT_TRAFFIC_SECRET_0",
            "SERVER_TRAFFIC_SECRET_0",
        ];
        let ignored = [
            "EXPORTER_SECRET",
            "CLIENT_EARLY_TRAFFIC_SECRET",
            "EARLY_EXPORTER_SECRET",
            "RSA",
        ];
        if ignored.contains(&label) {
            return Ok(());
        }
        if !known.contains(&label) {
            return Err(format!("unknown label {label:?}"));
        }
        let random = hex::decode(random).map_err(|e| format!("client random: {e}"))?;
        if random.len() != 32 {
            return Err(format!("client random has {} bytes, not 32", random.len()));
        }
        let secret = hex::decode(secret).map_err(|e| format!("secret: {e}"))?;
        let want: &[usize] = if label == "CLIENT_RANDOM" {
            &[48]
        } else {
            &[32, 48]
        };
        if !want.contains(&secret.len()) {
            return Err(format!(
                "{label} secret has {} bytes, not {}",
                secret.len(),
                if label == "CLIENT_RANDOM" {
                    "48"
                } else {
                    "32 or 48"
                }
            ));
        }
        let entry = self.secrets.entry(random).or_default();
        let slot = match label {
            "CLIENT_RANDOM" => &mut entry.master,
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET" => &mut entry.client_handshake,
            "SERVER_HANDSHAKE_TRAFFIC_SECRET" => &mut entry.server_handshake,
            "CLIENT_TRAFFIC_SECRET_0" => &mut entry.client_traffic,
            _ => &mut entry.server_traffic,
        };
        *slot = Some(secret);
        Ok(())
    }

    /// The secrets logged for the connection whose ClientHello carried `client_random`.
    pub fn secrets(&self, client_random: &[u8]) -> Option<&Secrets> {
        self.secrets.get(client_random)
    }

    /// Connections the key log has secrets for.
    pub fn len(&self) -> usize {
        self.secrets.len()
    }

    /// True when no line gave a secret.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tls12_and_tls13_lines_and_lists_bad_ones() {
        let r = "ab".repeat(32);
        let text = format!(
            "# comment\n\nCLIENT_RANDOM {r} {m}\nCLIENT_TRAFFIC_SECRET_0 {r} {s}\nEXPORTER_SECRET {r} {s}\n\
             CLIENT_RANDOM zz {m}\nCLIENT_RANDOM {r}\nNONSENSE {r} {s}\nCLIENT_RANDOM {r} {s}\n\u{ff}\n",
            m = "11".repeat(48),
            s = "22".repeat(32)
        );
        let log = KeyLog::parse("k", &text);
        let s = log.secrets(&[0xab; 32]).expect("logged");
        assert_eq!(s.master.as_deref(), Some(&[0x11; 48][..]));
        assert_eq!(s.client_traffic.as_deref(), Some(&[0x22; 32][..]));
        assert!(s.server_traffic.is_none());
        let lines: Vec<usize> = log.bad_lines.iter().map(|b| b.line).collect();
        assert_eq!(lines, [6, 7, 8, 9, 10], "{:?}", log.bad_lines);
        assert!(log.bad_lines[3].reason.contains("not 48"));
    }
}
