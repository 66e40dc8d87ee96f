//! `ftp-server` command line: parses arguments and calls the library.

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use ftp_server::config::{ServerConfig, TlsPolicies, TlsPolicy};
use ftp_server::login_guard::FailureBackend;
use ftp_server::user_store::{SqlUserStore, UserStore, mask_password};
use ftp_server::{Server, tls, user_admin};
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// An RFC 959 FTP server for teaching network security. Users live in a SQL table.
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
struct Cli {
    /// Where users live: sqlite://FILE.db (created on first use) or mysql://USER:PASS@HOST:PORT/DB.
    #[arg(
        long,
        global = true,
        env = "FTPLAB_DB",
        default_value = "sqlite://ftplab.db"
    )]
    db: String,
    /// Log format on stderr.
    #[arg(long, global = true, env = "FTPLAB_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Commands,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
enum Commands {
    /// Serve FTP.
    Serve(ServeArgs),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Create the demo users user1..user4 (passwords pass1..pass4) with roots BASE/root1..root4,
    /// and a self-signed TLS certificate in BASE/tls/ (kept if it is already there).
    Init {
        /// Folder that gets root1..root4.
        #[arg(long, value_name = "BASE")]
        demo: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Add a user; the password is asked on the terminal.
    Add {
        /// Login name.
        name: String,
        /// The folder that is "/" for this user (created if missing).
        #[arg(long)]
        root: PathBuf,
        /// Read the password as one line from stdin instead of the terminal.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users and their roots.
    List,
    /// Remove a user (their files stay).
    Remove {
        /// Login name.
        name: String,
    },
    /// Change a user's password.
    Passwd {
        /// Login name.
        name: String,
        /// Read the password as one line from stdin instead of the terminal.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(clap::Args, Debug)]
struct ServeArgs {
    /// Address to listen on; repeat for several (e.g. 127.0.0.1:2121 and [::1]:2121).
    #[arg(
        long,
        env = "FTPLAB_LISTEN",
        value_delimiter = ',',
        default_value = "127.0.0.1:2121"
    )]
    listen: Vec<SocketAddr>,
    /// Ports for passive data connections, e.g. 50000-50100 (default: any free port).
    #[arg(long, env = "FTPLAB_PASSIVE_PORTS", value_parser = parse_port_range)]
    passive_ports: Option<RangeInclusive<u16>>,
    /// Address to advertise in 227 replies (behind NAT); default: the control connection's.
    #[arg(long, env = "FTPLAB_PASSIVE_ADDRESS")]
    passive_address: Option<IpAddr>,
    /// Allow anonymous login (users "anonymous" and "ftp"), read-only, in this folder.
    #[arg(long, env = "FTPLAB_ANONYMOUS")]
    anonymous: Option<PathBuf>,
    /// WEAKENS SECURITY: accept PORT/EPRT to any address (for the FTP bounce lab).
    #[arg(long, env = "FTPLAB_ALLOW_FOREIGN_DATA_ADDRESS")]
    allow_foreign_data_address: bool,
    /// WEAKENS SECURITY: accept a passive data connection from any address, not only from the
    /// client's (for the port-stealing lab, RFC 2577 §8).
    #[arg(long, env = "FTPLAB_ALLOW_FOREIGN_PASSIVE_PEER")]
    allow_foreign_passive_peer: bool,
    /// Failed logins from one address, whatever the user names, before the address is locked out
    /// (0: never).
    #[arg(long, env = "FTPLAB_MAX_LOGIN_FAILURES", default_value_t = 50)]
    max_login_failures: u32,
    /// Failed logins for one user name from one address before that name is locked out there;
    /// other users behind the same address go on (0: never).
    #[arg(long, env = "FTPLAB_MAX_USER_LOGIN_FAILURES", default_value_t = 5)]
    max_user_login_failures: u32,
    /// Window for counting failures, and how long a lockout lasts.
    #[arg(long, env = "FTPLAB_LOCKOUT_SECS", default_value_t = 300)]
    lockout_secs: u64,
    /// Where failed logins are counted: memory (this process only), database (tables in --db,
    /// shared by every ftp-server on it), or auto (database for MySQL/MariaDB, memory for
    /// SQLite). Instances that share the database should share the lockout options too.
    #[arg(long, env = "FTPLAB_LOCKOUT_STORE", value_enum, default_value_t = LockoutStore::Auto)]
    lockout_store: LockoutStore,
    /// Pause before answering a wrong password.
    #[arg(long, env = "FTPLAB_LOGIN_FAILURE_DELAY_MS", default_value_t = 1000)]
    login_failure_delay_ms: u64,
    /// Close control connections idle this long.
    #[arg(long, env = "FTPLAB_IDLE_TIMEOUT_SECS", default_value_t = 300)]
    idle_timeout_secs: u64,
    /// Give up on data connections that stall this long.
    #[arg(long, env = "FTPLAB_DATA_TIMEOUT_SECS", default_value_t = 60)]
    data_timeout_secs: u64,
    /// Most sessions at once.
    #[arg(long, env = "FTPLAB_MAX_SESSIONS", default_value_t = 2000)]
    max_sessions: usize,
    /// Most sessions at once from one address.
    #[arg(long, env = "FTPLAB_MAX_SESSIONS_PER_ADDRESS", default_value_t = 100)]
    max_sessions_per_address: usize,
    /// Log the sha256 of every download too (uploads are always hashed).
    #[arg(long, env = "FTPLAB_HASH_DOWNLOADS")]
    hash_downloads: bool,
    /// TLS certificate chain (PEM) for FTPS, e.g. BASE/tls/cert.pem made by `init --demo BASE`.
    #[arg(
        long,
        env = "FTPLAB_TLS_CERT",
        requires = "tls_key",
        value_name = "PEM"
    )]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(
        long,
        env = "FTPLAB_TLS_KEY",
        requires = "tls_cert",
        value_name = "PEM"
    )]
    tls_key: Option<PathBuf>,
    /// TLS on the control connection: off, optional (AUTH TLS when the client asks), required
    /// (USER before AUTH TLS gets 530). Default: optional with a certificate, else off.
    #[arg(long, env = "FTPLAB_TLS", value_enum)]
    tls: Option<TlsArg>,
    /// TLS on data connections: optional (PROT P when the client asks) or required (transfers
    /// without PROT P get 521). Default: as --tls.
    #[arg(long, env = "FTPLAB_TLS_DATA", value_enum)]
    tls_data: Option<TlsArg>,
    /// WEAKENS SECURITY: append every TLS session's secrets to FILE (NSS key log format, for
    /// Wireshark): whoever has the file reads passwords and files.
    #[arg(long, env = "FTPLAB_TLS_KEYLOG", value_name = "FILE")]
    tls_keylog: Option<PathBuf>,
}

/// `--tls` and `--tls-data` values.
/// The choices of `--lockout-store`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum LockoutStore {
    Auto,
    Memory,
    Database,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum TlsArg {
    Off,
    Optional,
    Required,
}

impl From<TlsArg> for TlsPolicy {
    fn from(arg: TlsArg) -> TlsPolicy {
        match arg {
            TlsArg::Off => TlsPolicy::Off,
            TlsArg::Optional => TlsPolicy::Optional,
            TlsArg::Required => TlsPolicy::Required,
        }
    }
}

fn parse_port_range(text: &str) -> Result<RangeInclusive<u16>, String> {
    let (low, high) = text
        .split_once('-')
        .ok_or("expected LOW-HIGH, e.g. 50000-50100")?;
    let low: u16 = low
        .trim()
        .parse()
        .map_err(|_| format!("bad port {low:?}"))?;
    let high: u16 = high
        .trim()
        .parse()
        .map_err(|_| format!("bad port {high:?}"))?;
    if low == 0 || low > high {
        return Err(format!(
            "{low}-{high} is not a range of ports (1-65535, low first)"
        ));
    }
    Ok(low..=high)
}

impl ServeArgs {
    /// The TLS policies these switches ask for, checked against having a certificate.
    fn tls_policies(&self) -> Result<TlsPolicies> {
        let has_cert = self.tls_cert.is_some();
        let default = if has_cert {
            TlsPolicy::Optional
        } else {
            TlsPolicy::Off
        };
        let control = self.tls.map_or(default, TlsPolicy::from);
        if control != TlsPolicy::Off && !has_cert {
            bail!(
                "--tls {} needs a certificate: add --tls-cert PEM --tls-key PEM \
                 (`ftp-server init --demo BASE` makes a demo pair in BASE/tls/)",
                control.name()
            );
        }
        let data = match (control, self.tls_data.map(TlsPolicy::from)) {
            (TlsPolicy::Off, Some(data)) if data != TlsPolicy::Off => {
                bail!(
                    "--tls-data {} needs TLS on the control connection (--tls)",
                    data.name()
                )
            }
            (TlsPolicy::Off, _) => TlsPolicy::Off,
            (_, Some(TlsPolicy::Off)) => {
                bail!("--tls-data off is not a choice: use --tls-data optional (PROT C allowed)")
            }
            (control, data) => data.unwrap_or(control),
        };
        if self.tls_keylog.is_some() && control == TlsPolicy::Off {
            bail!("--tls-keylog needs TLS (--tls-cert and --tls-key)");
        }
        Ok(TlsPolicies {
            control,
            data,
            keylog: self.tls_keylog.clone(),
        })
    }

    fn into_config(self, tls: TlsPolicies) -> ServerConfig {
        ServerConfig {
            listen: self.listen,
            passive_ports: self.passive_ports,
            passive_address: self.passive_address,
            anonymous_root: self.anonymous,
            allow_foreign_data_address: self.allow_foreign_data_address,
            allow_foreign_passive_peer: self.allow_foreign_passive_peer,
            max_login_failures: self.max_login_failures,
            max_user_login_failures: self.max_user_login_failures,
            lockout: Duration::from_secs(self.lockout_secs),
            login_failure_delay: Duration::from_millis(self.login_failure_delay_ms),
            idle_timeout: Duration::from_secs(self.idle_timeout_secs.max(1)),
            data_timeout: Duration::from_secs(self.data_timeout_secs.max(1)),
            max_sessions: self.max_sessions,
            max_sessions_per_address: self.max_sessions_per_address,
            hash_downloads: self.hash_downloads,
            tls,
            ..ServerConfig::default()
        }
    }
}

/// Sets up logging to stderr. Events are queued as typed fields and one writer thread formats
/// and writes them in batches ([`ftp_server::logging`]), so sessions do not format log lines;
/// the returned guard flushes at exit.
fn init_logging(format: LogFormat) -> ftp_server::logging::LogGuard {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FTPLAB_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal;
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let format = match format {
        LogFormat::Text => ftp_server::logging::Format::Text { colour },
        LogFormat::Json => ftp_server::logging::Format::Json,
    };
    ftp_server::logging::init(filter, format)
}

async fn open_store(url: &str) -> Result<SqlUserStore> {
    SqlUserStore::connect(url).await.with_context(|| {
        format!(
            "cannot open the user database {}: check --db (or FTPLAB_DB); for MySQL, is the server running and the user allowed?",
            mask_password(url)
        )
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let _log_guard = init_logging(cli.log_format);
    match cli.command {
        Commands::Serve(args) => serve(&cli.db, args).await,
        Commands::Init { demo } => {
            let store = open_store(&cli.db).await?;
            let users = user_admin::init_demo(&store, &demo).await?;
            println!("demo users in {}:", mask_password(&cli.db));
            print!("{}", user_admin::format_user_table(&users));
            println!("passwords: user1/pass1 … user4/pass4 (lab use only!)");
            let pair = tls::ensure_demo_certificate(&demo.join("tls"))
                .context("cannot create the demo TLS certificate")?;
            println!(
                "TLS certificate ({}, self-signed for localhost, 127.0.0.1, ::1): {}",
                if pair.created { "new" } else { "kept" },
                pair.cert.display()
            );
            println!("TLS key: {}", pair.key.display());
            println!("fingerprint: {}", pair.fingerprint);
            println!(
                "FTPS: ftp-server serve --tls-cert {} --tls-key {}",
                pair.cert.display(),
                pair.key.display()
            );
            Ok(())
        }
        Commands::User(command) => user_command(&cli.db, command).await,
    }
}

async fn user_command(db: &str, command: UserCommand) -> Result<()> {
    let store = open_store(db).await?;
    match command {
        UserCommand::Add {
            name,
            root,
            password_stdin,
        } => {
            let password =
                user_admin::read_password(password_stdin, &format!("Password for {name}: "))?;
            let root = user_admin::add_user(&store, &name, &root, &password).await?;
            println!("added {name} with root {}", root.display());
        }
        UserCommand::List => {
            let users = store.list_users().await?;
            print!("{}", user_admin::format_user_table(&users));
        }
        UserCommand::Remove { name } => {
            store.remove_user(&name).await?;
            println!("removed {name} (their files stay where they are)");
        }
        UserCommand::Passwd {
            name,
            password_stdin,
        } => {
            let password =
                user_admin::read_password(password_stdin, &format!("New password for {name}: "))?;
            store.set_password(&name, &password).await?;
            println!("password of {name} changed");
        }
    }
    Ok(())
}

async fn serve(db: &str, args: ServeArgs) -> Result<()> {
    let policies = args.tls_policies()?;
    let tls_files = args.tls_cert.clone().zip(args.tls_key.clone());
    let lockout_store = args.lockout_store;
    let config = args.into_config(policies);
    let tls_config = match &tls_files {
        Some((cert, key)) if config.tls.control != TlsPolicy::Off => {
            let tls_config = tls::server_config(cert, key, config.tls.keylog.as_deref())
                .context("cannot use the TLS certificate: check --tls-cert and --tls-key")?;
            let fingerprint = tls::fingerprint_of_file(cert)?;
            println!(
                "FTPS: TLS {} on the control connection, {} on data connections; \
                 certificate {fingerprint}",
                config.tls.control.name(),
                config.tls.data.name()
            );
            Some(tls_config)
        }
        _ => None,
    };
    if let Some(root) = &config.anonymous_root
        && !root.is_dir()
    {
        bail!(
            "--anonymous {}: not a folder; create it or point to an existing one",
            root.display()
        );
    }
    let sql_store = open_store(db).await?;
    let shared = match lockout_store {
        LockoutStore::Auto => sql_store.is_mysql(),
        LockoutStore::Memory => false,
        LockoutStore::Database => true,
    };
    let failures = if shared {
        println!(
            "login failures are counted in the database, shared with every ftp-server on {}",
            mask_password(db)
        );
        FailureBackend::Shared(sql_store.failure_log())
    } else {
        FailureBackend::Memory
    };
    let store: Arc<dyn UserStore> = Arc::new(sql_store);
    for weakening in config.weakenings() {
        eprintln!("WARNING: {weakening}");
        tracing::warn!("weakened rule in force: {weakening}");
    }
    let server = Server::bind(config, store, failures, tls_config)
        .context("cannot start: is another server on that port?")?;
    for addr in server.local_addrs() {
        println!("listening on ftp://{addr}");
        if let Some(warning) = exposure_warning(addr) {
            eprintln!("{warning}");
        }
    }
    tracing::info!(db = %mask_password(db), "ftp-server ready; Ctrl-C stops it");
    server.run(shutdown_signal()).await;
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// The warning for a listener other computers can reach (anything but loopback).
fn exposure_warning(addr: SocketAddr) -> Option<String> {
    (!addr.ip().is_loopback()).then(|| {
        format!(
            "WARNING: listening on {addr}, not on loopback: other computers can reach this lab \
             server (clear-text passwords, weakened rules); use it only on a network you trust, \
             and stop it when the lab is over"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_listener_off_loopback_is_warned_about() {
        assert!(exposure_warning("127.0.0.1:2121".parse().unwrap()).is_none());
        assert!(exposure_warning("[::1]:2121".parse().unwrap()).is_none());
        let w = exposure_warning("0.0.0.0:2121".parse().unwrap()).unwrap();
        assert!(
            w.contains("0.0.0.0:2121") && w.contains("other computers"),
            "{w}"
        );
        assert!(exposure_warning("10.66.0.2:2121".parse().unwrap()).is_some());
    }
}
