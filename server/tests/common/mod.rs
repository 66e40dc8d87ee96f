//! Helpers shared by the integration tests: a real `ftp-server` process on an ephemeral port with
//! a throw-away database and demo roots, a raw control connection, files with known sha256, and
//! external clients run with a time limit.
#![allow(
    dead_code,
    reason = "each test file uses a different subset of these helpers"
)]

use std::fs;

use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::process::{Command, Output};

use rand::Rng;
#[allow(unused_imports, reason = "each test file uses a different subset")]
pub use testkit::control::{Control, Reply, decode_reply, parse_227, parse_229};
#[allow(unused_imports, reason = "each test file uses a different subset")]
pub use testkit::files::{random_bytes, random_file, sha256_file, sha256_hex};
#[allow(unused_imports, reason = "each test file uses a different subset")]
pub use testkit::ftp_server::{FtpServerProcess, ServeOptions};
#[allow(unused_imports, reason = "each test file uses a different subset")]
pub use testkit::process::{
    RUN_TIMEOUT as CLIENT_TIMEOUT, assert_success, describe, run, run_with_stdin,
};
#[allow(unused_imports, reason = "each test file uses a different subset")]
pub use testkit::{MIB, free_port};

/// Path of the binary under test, built by cargo for this test run.
pub const SERVER_BIN: &str = env!("CARGO_BIN_EXE_ftp-server");

/// A running `ftp-server serve` ([`FtpServerProcess`], whose methods it offers) plus the
/// MariaDB database it uses, if any; the server is killed before the database is dropped.
pub struct TestServer {
    server: FtpServerProcess,
    mysql: Option<MysqlDatabase>,
}

impl TestServer {
    /// Starts a server on `127.0.0.1:0` with a fresh SQLite database, no login failure delay,
    /// plus `extra` arguments for `serve`.
    pub fn start(extra: &[&str]) -> TestServer {
        Self::start_global(&[], extra)
    }

    /// Like [`TestServer::start`], with `global` options before the subcommand
    /// (e.g. `--log-format json`).
    pub fn start_global(global: &[&str], extra: &[&str]) -> TestServer {
        let options = ServeOptions {
            global,
            extra,
            ..ServeOptions::default()
        };
        TestServer {
            server: FtpServerProcess::start(Path::new(SERVER_BIN), options),
            mysql: None,
        }
    }

    /// Like [`TestServer::start`], with users in a new MariaDB database that is dropped at the
    /// end. Returns `None` (after saying so) when MariaDB is unreachable and
    /// `FTPLAB_SKIP_MYSQL=1`; panics when it is unreachable otherwise.
    pub fn start_mysql(extra: &[&str]) -> Option<TestServer> {
        let db = MysqlDatabase::create()?;
        let options = ServeOptions {
            db_url: Some(db.url()),
            extra,
            ..ServeOptions::default()
        };
        Some(TestServer {
            server: FtpServerProcess::start(Path::new(SERVER_BIN), options),
            mysql: Some(db),
        })
    }
}

impl Deref for TestServer {
    type Target = FtpServerProcess;

    fn deref(&self) -> &FtpServerProcess {
        &self.server
    }
}

impl DerefMut for TestServer {
    fn deref_mut(&mut self) -> &mut FtpServerProcess {
        &mut self.server
    }
}

/// A MariaDB database made for one test and dropped when this value is dropped.
pub struct MysqlDatabase {
    name: String,
}

impl MysqlDatabase {
    /// Picks a new name `ftplab_it_<random>` on 127.0.0.1:3306 (root, no password), after
    /// checking that MariaDB answers.
    pub fn create() -> Option<MysqlDatabase> {
        let probe = mariadb("SELECT 1");
        if !probe.status.success() {
            if std::env::var("FTPLAB_SKIP_MYSQL").as_deref() == Ok("1") {
                eprintln!("MariaDB unreachable and FTPLAB_SKIP_MYSQL=1: skipping this test");
                return None;
            }
            panic!(
                "MariaDB does not answer on 127.0.0.1:3306 as root with an empty password; \
                 start it (`start-stop-daemon --start --oknodo --background --exec \
                 /usr/sbin/mariadbd`, or run .ci/run) or set FTPLAB_SKIP_MYSQL=1 to skip.\n{}",
                describe(&probe)
            );
        }
        // Not created here: the server creates the database on first use.
        let name = format!("ftplab_it_{:016x}", rand::rng().random::<u64>());
        Some(MysqlDatabase { name })
    }

    /// The URL to pass as `--db`.
    pub fn url(&self) -> String {
        format!("mysql://root@127.0.0.1:3306/{}", self.name)
    }

    /// The database name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for MysqlDatabase {
    fn drop(&mut self) {
        let _ = mariadb(&format!("DROP DATABASE IF EXISTS `{}`", self.name));
    }
}

/// Runs one SQL statement with the `mariadb` command-line client (`mysql` where that is absent).
pub fn mariadb(sql: &str) -> Output {
    let client = if Path::new("/usr/bin/mariadb").exists() {
        "mariadb"
    } else {
        "mysql"
    };
    run(Command::new(client).args([
        "-uroot",
        "-h127.0.0.1",
        "-P3306",
        "--connect-timeout=5",
        "-N",
        "-e",
        sql,
    ]))
}

/// Names of the entries of `dir` (not recursive), sorted.
pub fn dir_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read_dir {}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// True if `dir` holds an entry whose name starts with `.ftplab-upload-`.
pub fn has_upload_temp_file(dir: &Path) -> bool {
    dir_names(dir)
        .iter()
        .any(|n| n.starts_with(".ftplab-upload-"))
}
