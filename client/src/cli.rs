//! Command-line arguments (clap) and the `ftp://USER@HOST:PORT/PATH` target form.

use crate::error::ClientError;
use clap::Parser;
use std::path::PathBuf;

/// `ftp-client [HOST [PORT]] [OPTIONS]`, or `ftp-client ftp://USER@HOST:PORT/PATH`.
#[derive(Debug, Parser)]
#[command(
    name = "ftp-client",
    version,
    about = "An FTP client that shows what crosses the wire: interactive, or scripted with -c/--script.",
    after_help = "Examples:\n  ftp-client 127.0.0.1 2121 --user user1\n  ftp-client ftp://user1@127.0.0.1:2121/ --debug\n  \
                  echo pass1 | ftp-client 127.0.0.1 2121 -u user1 --password-stdin -c 'cd pub; get a.bin; put b.bin'\n\n\
                  Exit status: 0 all commands succeeded, 1 a command failed, 2 bad input, 3 no connection or login."
)]
pub struct Cli {
    /// Server: HOST, or ftp://[USER[:PASSWORD]@]HOST[:PORT][/PATH]
    // The line above is clap's help text, not rustdoc: its brackets are not links.
    #[allow(rustdoc::broken_intra_doc_links)]
    pub target: Option<String>,
    /// Control port (default 21)
    pub port: Option<u16>,
    /// User name (default: asked in the shell; `anonymous` in scripts)
    #[arg(short, long)]
    pub user: Option<String>,
    /// Read the password from the first line of standard input instead of asking
    #[arg(long)]
    pub password_stdin: bool,
    /// Run these commands (separated by `;`) and exit; stops at the first that fails
    #[arg(
        short = 'c',
        long = "commands",
        value_name = "COMMANDS",
        conflicts_with = "script"
    )]
    pub commands: Option<String>,
    /// Run the commands in FILE (one a line, `#` comments) and exit; stops at the first failure
    #[arg(long, value_name = "FILE")]
    pub script: Option<PathBuf>,
    /// Print one JSON object per command result on stdout (for graders)
    #[arg(long)]
    pub json: bool,
    /// Print every command sent, reply received and data connection opened
    #[arg(short, long)]
    pub debug: bool,
    /// Show the real password in the debug trace instead of ****
    #[arg(long)]
    pub show_password: bool,
    /// Start in active mode (EPRT/PORT) instead of passive (EPSV/PASV)
    #[arg(long)]
    pub active: bool,
    /// Use only PASV and PORT (RFC 959), never EPSV and EPRT (RFC 2428): the data address then
    /// shows in clear in every 227 reply and PORT command
    #[arg(long)]
    pub no_extended: bool,
    /// Seconds to wait for a connection or a reply
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub timeout: u64,
    /// At most this many bytes per second per transfer (suffixes K, M, G), to watch progress
    #[arg(long, value_name = "RATE", value_parser = parse_rate)]
    pub limit_rate: Option<u64>,
    /// Never show progress bars
    #[arg(long)]
    pub no_progress: bool,
    /// Explicit FTPS (RFC 4217): AUTH TLS after the greeting, then PBSZ 0 and PROT P after
    /// login, so the password, the commands and the files are encrypted
    #[arg(long)]
    pub tls: bool,
    /// Data connection protection with --tls: p (private, TLS) or c (clear: files readable on
    /// the wire, for the lab)
    #[arg(long, value_enum, default_value_t = Prot::P, requires = "tls")]
    pub prot: Prot,
    /// Trust exactly the server certificate with this SHA-256 fingerprint (SHA256:AB:CD:…, as
    /// `ftp-server init` prints it) instead of the system's certificate authorities
    #[arg(long, value_name = "SHA256:…", requires = "tls")]
    pub tls_fingerprint: Option<String>,
    /// INSECURE: accept any server certificate; anyone on the path can then read and change
    /// everything (TLS without authentication)
    #[arg(long, requires = "tls", conflicts_with = "tls_fingerprint")]
    pub tls_insecure: bool,
}

/// `--prot`: the PROT level asked for after login (RFC 4217 §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Prot {
    /// Private: data connections in TLS.
    P,
    /// Clear: data connections in clear text.
    C,
}

impl Cli {
    /// The TLS options these arguments ask for.
    pub fn tls_options(&self) -> Result<crate::tls::TlsOptions, ClientError> {
        let fingerprint = self
            .tls_fingerprint
            .as_deref()
            .map(ftp_proto::security::parse_sha256_fingerprint)
            .transpose()
            .map_err(|e| ClientError::Usage(e.to_string()))?;
        Ok(crate::tls::TlsOptions {
            enabled: self.tls,
            clear_data: self.prot == Prot::C,
            fingerprint,
            insecure: self.tls_insecure,
            ask: false,
        })
    }
}

/// `10M` → 10485760.
fn parse_rate(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, factor) = match text.char_indices().last() {
        Some((i, 'k' | 'K')) => (&text[..i], 1u64 << 10),
        Some((i, 'm' | 'M')) => (&text[..i], 1 << 20),
        Some((i, 'g' | 'G')) => (&text[..i], 1 << 30),
        _ => (text, 1),
    };
    digits
        .parse::<u64>()
        .map(|n| n.saturating_mul(factor))
        .map_err(|_| format!("{text:?} is not a rate like 500K or 10M"))
}

/// Where to connect and as whom, from the positional arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    /// Host name or address (without brackets).
    pub host: String,
    /// Control port.
    pub port: u16,
    /// User from the URL.
    pub user: Option<String>,
    /// Password from the URL (it shows in the process list: labs show why that is bad).
    pub password: Option<String>,
    /// Folder to `cd` into after login.
    pub path: Option<String>,
}

impl Target {
    /// Reads `HOST` or an `ftp://` URL, with `port` from the second positional argument.
    pub fn parse(text: &str, port: Option<u16>) -> Result<Target, ClientError> {
        let bad = |why: &str| ClientError::Usage(format!("cannot read {text:?}: {why}"));
        let Some(rest) = text
            .strip_prefix("ftp://")
            .or_else(|| text.strip_prefix("FTP://"))
        else {
            if text.contains('/') {
                return Err(bad("give HOST or ftp://USER@HOST:PORT/"));
            }
            return Ok(Target {
                host: text.trim_matches(['[', ']']).to_owned(),
                port: port.unwrap_or(21),
                ..Target::default()
            });
        };
        let (authority, path) = match rest.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (rest, None),
        };
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (user, password) = match userinfo {
            Some(u) => match u.split_once(':') {
                Some((u, p)) => (Some(percent_decode(u)), Some(percent_decode(p))),
                None => (Some(percent_decode(u)), None),
            },
            None => (None, None),
        };
        let (host, url_port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or_else(|| bad("unclosed ["))?;
            (host, after.strip_prefix(':'))
        } else {
            match hostport.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let url_port = match url_port {
            Some(p) => Some(p.parse().map_err(|_| bad("the port is not a number"))?),
            None => None,
        };
        let path = path
            .map(percent_decode)
            .filter(|p| !p.is_empty())
            .map(|p| format!("/{p}"));
        Ok(Target {
            host: host.to_owned(),
            port: port.or(url_port).unwrap_or(21),
            user,
            password,
            path,
        })
    }
}

/// `%40` → `@` (RFC 3986); anything malformed is kept as written.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes.get(i), hex) {
            (Some(b'%'), Some(b)) => {
                out.push(b);
                i += 3;
            }
            (Some(&b), _) => {
                out.push(b);
                i += 1;
            }
            (None, _) => break,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_gives_user_host_port_and_path() {
        let t = Target::parse("ftp://user1@127.0.0.1:2121/pub/dir", None).ok();
        assert_eq!(
            t,
            Some(Target {
                host: "127.0.0.1".into(),
                port: 2121,
                user: Some("user1".into()),
                password: None,
                path: Some("/pub/dir".into()),
            })
        );
    }

    #[test]
    fn url_password_is_percent_decoded_and_ipv6_hosts_work() {
        let t = Target::parse("ftp://a%40b:p%3Ass@[::1]:21/", None).ok();
        assert_eq!(
            t.map(|t| (t.user, t.password, t.host, t.path)),
            Some((Some("a@b".into()), Some("p:ss".into()), "::1".into(), None))
        );
    }

    #[test]
    fn plain_host_takes_the_second_argument_as_port() {
        let t = Target::parse("localhost", Some(2121)).ok();
        assert_eq!(
            t.map(|t| (t.host, t.port)),
            Some(("localhost".into(), 2121))
        );
        assert!(Target::parse("host/path", None).is_err());
    }

    #[test]
    fn rates_take_suffixes() {
        assert_eq!(parse_rate("10M"), Ok(10 << 20));
        assert_eq!(parse_rate("512"), Ok(512));
        assert!(parse_rate("fast").is_err());
    }
}
