//! Helpers shared by the integration tests: a real `ftp-server` process on an ephemeral port with
//! a throw-away database and demo roots, a raw control connection, files with known sha256, and
//! external clients run with a time limit.
#![allow(
    dead_code,
    reason = "each test file uses a different subset of these helpers"
)]

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rand::Rng;
#[allow(unused_imports, reason = "each test file uses a different subset")]
pub use testkit::files::{random_bytes, random_file, sha256_file, sha256_hex};
#[allow(unused_imports, reason = "each test file uses a different subset")]
pub use testkit::process::{
    RUN_TIMEOUT as CLIENT_TIMEOUT, assert_success, describe, run, run_with_stdin,
};
#[allow(unused_imports, reason = "each test file uses a different subset")]
pub use testkit::{MIB, free_port};

/// Path of the binary under test, built by cargo for this test run.
pub const SERVER_BIN: &str = env!("CARGO_BIN_EXE_ftp-server");

/// How long the server may take to print its `listening on` line.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running `ftp-server serve` with demo users `user1..user4` / `pass1..pass4`.
/// The process is killed and its files removed when this value is dropped.
pub struct TestServer {
    /// The control port of the first listener.
    pub port: u16,
    /// `--db` URL the server uses; the same URL works for the `user …` subcommands.
    pub db_url: String,
    /// Holds the database (for SQLite) and `base/root1..root4`.
    pub dir: tempfile::TempDir,
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
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
        let dir = tempfile::tempdir().expect("create temp dir");
        let db_url = format!("sqlite://{}/users.db", dir.path().display());
        Self::start_with(dir, db_url, None, global, extra)
    }

    /// Like [`TestServer::start`], with users in a new MariaDB database that is dropped at the
    /// end. Returns `None` (after saying so) when MariaDB is unreachable and
    /// `FTPLAB_SKIP_MYSQL=1`; panics when it is unreachable otherwise.
    pub fn start_mysql(extra: &[&str]) -> Option<TestServer> {
        let db = MysqlDatabase::create()?;
        let dir = tempfile::tempdir().expect("create temp dir");
        let db_url = db.url();
        Some(Self::start_with(dir, db_url, Some(db), &[], extra))
    }

    fn start_with(
        dir: tempfile::TempDir,
        db_url: String,
        mysql: Option<MysqlDatabase>,
        global: &[&str],
        extra: &[&str],
    ) -> TestServer {
        let base = dir.path().join("base");
        let init = run(Command::new(SERVER_BIN)
            .args(["--db", &db_url, "init", "--demo"])
            .arg(&base));
        assert_success(&init, "ftp-server init --demo");

        // No failure delay unless the test sets one: failed logins must not slow the suite.
        let delay: &[&str] = if extra.contains(&"--login-failure-delay-ms") {
            &[]
        } else {
            &["--login-failure-delay-ms", "0"]
        };
        let mut child = Command::new(SERVER_BIN)
            .args(["--db", &db_url])
            .args(global)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(delay)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ftp-server serve");

        let stderr = Arc::new(Mutex::new(String::new()));
        collect(
            child.stderr.take().expect("piped stderr"),
            stderr.clone(),
            None,
        );
        let stdout = Arc::new(Mutex::new(String::new()));
        let (lines_tx, lines_rx) = mpsc::channel();
        collect(
            child.stdout.take().expect("piped stdout"),
            stdout.clone(),
            Some(lines_tx),
        );

        let deadline = Instant::now() + START_TIMEOUT;
        let port = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines_rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(port) = parse_listening_line(&line) {
                        break port;
                    }
                }
                Err(_) => {
                    let status = child.try_wait().ok().flatten();
                    let _ = child.kill();
                    let _ = child.wait();
                    thread::sleep(Duration::from_millis(200));
                    panic!(
                        "ftp-server serve printed no `listening on ftp://127.0.0.1:PORT` line \
                         within {START_TIMEOUT:?} (exit status: {status:?})\n--- stdout ---\n{}\n\
                         --- stderr ---\n{}",
                        stdout.lock().unwrap(),
                        stderr.lock().unwrap()
                    );
                }
            }
        };

        TestServer {
            port,
            db_url,
            dir,
            child,
            stdout,
            stderr,
            mysql,
        }
    }

    /// The server process's id (to look at its open descriptors in /proc).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `base/rootN`, the root folder of demo user `userN`.
    pub fn root(&self, n: u8) -> PathBuf {
        self.dir.path().join("base").join(format!("root{n}"))
    }

    /// `ftp://userN:passN@127.0.0.1:PORT/`, for curl.
    pub fn url(&self, n: u8) -> String {
        format!("ftp://user{n}:pass{n}@127.0.0.1:{}/", self.port)
    }

    /// The control connection address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Everything the server has logged so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// The last `n` lines the server has logged.
    pub fn log_tail(&self, n: usize) -> String {
        let log = self.stderr();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Panics with the command's output and the end of the server's log unless the command
    /// exited with status 0.
    pub fn assert_success(&self, out: &Output, what: &str) {
        assert!(
            out.status.success(),
            "{what} failed\n{}\n--- server log (last 40 lines) ---\n{}",
            describe(out),
            self.log_tail(40)
        );
    }

    /// Everything the server has printed on stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    /// Waits up to `timeout` for a log line satisfying `pred`; returns it, or `None`.
    pub fn wait_for_log_line(
        &self,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.stderr().lines().find(|l| pred(l)) {
                return Some(line.to_string());
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends SIGTERM and waits up to `timeout` for the process to end; `None` if it did not.
    pub fn terminate(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let kill = run(Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string()));
        assert_success(&kill, "kill -TERM");
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits up to `timeout` for a stdout line satisfying `pred`; returns it, or `None`.
    pub fn wait_for_stdout_line(
        &self,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.stdout().lines().find(|l| pred(l)) {
                return Some(line.to_string());
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs `ftp-server --db <this server's db> ARGS…` (for `user add`, `user list`, …).
    pub fn admin(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = Command::new(SERVER_BIN);
        cmd.args(["--db", &self.db_url]).args(args);
        match stdin {
            Some(input) => run_with_stdin(&mut cmd, input.as_bytes()),
            None => run(&mut cmd),
        }
    }

    /// Opens a control connection and reads the greeting, which must be 220.
    pub fn connect(&self) -> Control {
        let mut control = Control::connect(self.addr());
        let greeting = control.read_reply();
        assert_eq!(greeting.code, 220, "greeting: {greeting:?}");
        control
    }

    /// Opens a control connection, checks the greeting and logs in as `userN`.
    pub fn login(&self, n: u8) -> Control {
        let mut control = self.connect();
        control.login(&format!("user{n}"), &format!("pass{n}"));
        control
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The MySQL database (if any) is dropped after the server is gone.
        self.mysql.take();
    }
}

/// Extracts the port from `listening on ftp://127.0.0.1:PORT`.
fn parse_listening_line(line: &str) -> Option<u16> {
    let rest = line.trim().strip_prefix("listening on ftp://127.0.0.1:")?;
    rest.trim_end_matches('/').parse().ok()
}

/// Copies everything `source` yields into `sink`, line by line, also sending each line to
/// `lines` when given. Runs on its own thread until EOF.
fn collect(
    source: impl Read + Send + 'static,
    sink: Arc<Mutex<String>>,
    lines: Option<mpsc::Sender<String>>,
) {
    thread::spawn(move || {
        let mut reader = BufReader::new(source);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buf).into_owned();
                    sink.lock().unwrap().push_str(&line);
                    if let Some(tx) = &lines {
                        let _ = tx.send(line);
                    }
                }
            }
        }
    });
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

/// One reply: its code and all its text lines joined with `\n` (codes included).
#[derive(Debug, Clone)]
pub struct Reply {
    pub code: u16,
    pub text: String,
}

/// A raw control connection, for tests that must control every byte.
pub struct Control {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Control {
    /// Connects without reading the greeting.
    pub fn connect(addr: SocketAddr) -> Control {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
        Self::from_stream(stream)
    }

    /// Wraps an already connected stream.
    pub fn from_stream(stream: TcpStream) -> Control {
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let writer = stream.try_clone().unwrap();
        Control {
            reader: BufReader::new(stream),
            writer,
        }
    }

    /// The underlying stream (for abrupt shutdowns, linger settings…).
    pub fn stream(&self) -> &TcpStream {
        &self.writer
    }

    /// Reads one (possibly multi-line) reply, or the error that prevented it
    /// (EOF is `UnexpectedEof`).
    pub fn try_read_reply(&mut self) -> std::io::Result<Reply> {
        let first = self.read_line()?;
        let code: u16 = first.get(..3).and_then(|c| c.parse().ok()).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("not a reply line: {first:?}"),
            )
        })?;
        let mut text = first.clone();
        if first.as_bytes().get(3) == Some(&b'-') {
            let end = format!("{code} ");
            loop {
                let line = self.read_line()?;
                text.push('\n');
                text.push_str(&line);
                if line.starts_with(&end) || line == format!("{code}") {
                    break;
                }
            }
        }
        Ok(Reply { code, text })
    }

    fn read_line(&mut self) -> std::io::Result<String> {
        let mut buf = Vec::new();
        let n = self.reader.read_until(b'\n', &mut buf)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let line = String::from_utf8_lossy(&buf);
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }

    /// Reads one reply; panics if the connection closed or timed out.
    pub fn read_reply(&mut self) -> Reply {
        self.try_read_reply()
            .unwrap_or_else(|e| panic!("reading a reply failed: {e}"))
    }

    /// Sends raw bytes as they are.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write to control");
    }

    /// Sends `line` + CRLF and reads the reply.
    pub fn cmd(&mut self, line: &str) -> Reply {
        self.send_raw(format!("{line}\r\n").as_bytes());
        self.read_reply()
    }

    /// Sends `line` + CRLF, reads the reply and checks its code.
    pub fn expect(&mut self, line: &str, code: u16) -> Reply {
        let reply = self.cmd(line);
        assert_eq!(reply.code, code, "reply to {line:?}: {reply:?}");
        reply
    }

    /// USER then PASS; expects 331 then 230.
    pub fn login(&mut self, user: &str, pass: &str) {
        self.expect(&format!("USER {user}"), 331);
        self.expect(&format!("PASS {pass}"), 230);
    }

    /// Sends PASV, expects 227 and returns the advertised address.
    pub fn pasv(&mut self) -> SocketAddr {
        let reply = self.expect("PASV", 227);
        parse_227(&reply.text).unwrap_or_else(|| panic!("unparsable 227: {reply:?}"))
    }

    /// Sends EPSV, expects 229 and returns 127.0.0.1 with the advertised port.
    pub fn epsv(&mut self) -> SocketAddr {
        let reply = self.expect("EPSV", 229);
        let port = parse_229(&reply.text).unwrap_or_else(|| panic!("unparsable 229: {reply:?}"));
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    /// Sends PASV and connects to the advertised address.
    pub fn open_passive(&mut self) -> TcpStream {
        let addr = self.pasv();
        let data = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("connect to passive address {addr}: {e}"));
        data.set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        data
    }

    /// Downloads `path` in passive mode, TYPE I; returns the first reply, the bytes and the
    /// final reply. The data is only read when the first reply is 125 or 150.
    pub fn retr(&mut self, path: &str) -> (Reply, Vec<u8>, Option<Reply>) {
        self.expect("TYPE I", 200);
        let mut data = self.open_passive();
        let first = self.cmd(&format!("RETR {path}"));
        if first.code != 125 && first.code != 150 {
            return (first, Vec::new(), None);
        }
        let mut bytes = Vec::new();
        data.read_to_end(&mut bytes).expect("read data connection");
        let last = self.read_reply();
        (first, bytes, Some(last))
    }

    /// Runs a listing command (`LIST`, `NLST`, `MLSD`) in passive mode; returns the first reply
    /// and the listing text (empty when the first reply refused it).
    pub fn listing(&mut self, command: &str) -> (Reply, String) {
        let mut data = self.open_passive();
        let first = self.cmd(command);
        if first.code != 125 && first.code != 150 {
            return (first, String::new());
        }
        let mut bytes = Vec::new();
        data.read_to_end(&mut bytes).expect("read listing");
        let last = self.read_reply();
        assert_eq!(last.code, 226, "end of {command:?}: {last:?}");
        (first, String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// Parses `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)`.
pub fn parse_227(text: &str) -> Option<SocketAddr> {
    let start = text.find('(')?;
    let end = text[start..].find(')')? + start;
    let nums: Vec<u8> = text[start + 1..end]
        .split(',')
        .map(|n| n.trim().parse().ok())
        .collect::<Option<_>>()?;
    if nums.len() != 6 {
        return None;
    }
    let ip = std::net::Ipv4Addr::new(nums[0], nums[1], nums[2], nums[3]);
    let port = u16::from(nums[4]) * 256 + u16::from(nums[5]);
    Some(SocketAddr::from((ip, port)))
}

/// Parses `229 Entering Extended Passive Mode (|||port|)`.
pub fn parse_229(text: &str) -> Option<u16> {
    let start = text.find("(|||")? + 4;
    let end = text[start..].find('|')? + start;
    text[start..end].parse().ok()
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
