//! Our `ftp-server` as a process: `init --demo` into a throw-away folder, then `serve` on port 0,
//! waited for until it prints `listening on ftp://ADDR`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output};
use std::thread;
use std::time::{Duration, Instant};

use crate::control::Control;
use crate::process::{assert_success, describe, run, run_with_stdin};
use crate::spawn::Spawned;

/// How to start a [`FtpServerProcess`]; `Default` is `127.0.0.1:0` with a new SQLite database.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions<'a> {
    /// `--listen`; `127.0.0.1:0` when `None`.
    pub listen: Option<&'a str>,
    /// `--db`; `sqlite://DIR/users.db` in the server's folder when `None`.
    pub db_url: Option<String>,
    /// Options before the subcommand (e.g. `--log-format json`).
    pub global: &'a [&'a str],
    /// Options after `serve`. Unless they set `--login-failure-delay-ms`, it is 0: failed logins
    /// must not slow the tests down.
    pub extra: &'a [&'a str],
    /// Serve FTPS with the demo certificate that `init --demo` made (`--tls-cert`, `--tls-key`;
    /// policies such as `--tls required` go in `extra`).
    pub tls: bool,
}

/// A running `ftp-server serve` with demo users `user1..user4` / `pass1..pass4` whose roots are
/// `base/root1..root4` in [`FtpServerProcess::dir`]. Killed when dropped.
pub struct FtpServerProcess {
    /// The control port of the first listener.
    pub port: u16,
    /// The control connection address.
    pub addr: SocketAddr,
    /// `--db` URL the server uses; the same URL works for the `user …` subcommands.
    pub db_url: String,
    /// Holds the database (for SQLite) and `base/root1..root4`.
    pub dir: tempfile::TempDir,
    bin: PathBuf,
    process: Spawned,
}

impl FtpServerProcess {
    /// Runs `BIN init --demo` and `BIN serve` as `options` say. `bin` is
    /// `env!("CARGO_BIN_EXE_ftp-server")` in the server's tests, [`crate::workspace_bin`]
    /// elsewhere.
    pub fn start(bin: &Path, options: ServeOptions<'_>) -> FtpServerProcess {
        let dir = tempfile::tempdir().expect("create temp dir");
        let db_url = options
            .db_url
            .unwrap_or_else(|| format!("sqlite://{}/users.db", dir.path().display()));
        let listen: SocketAddr = options
            .listen
            .unwrap_or("127.0.0.1:0")
            .parse()
            .expect("--listen is IP:PORT");
        let init = run(Command::new(bin)
            .args(["--db", &db_url, "init", "--demo"])
            .arg(dir.path().join("base")));
        assert_success(&init, "ftp-server init --demo");

        let delay: &[&str] = if options.extra.contains(&"--login-failure-delay-ms") {
            &[]
        } else {
            &["--login-failure-delay-ms", "0"]
        };
        let tls_dir = dir.path().join("base").join("tls");
        let mut command = Command::new(bin);
        command
            .args(["--db", &db_url])
            .args(options.global)
            .args(["serve", "--listen", &listen.to_string()])
            .args(delay);
        if options.tls {
            command
                .arg("--tls-cert")
                .arg(tls_dir.join("cert.pem"))
                .arg("--tls-key")
                .arg(tls_dir.join("key.pem"));
        }
        let mut process = Spawned::start(command.args(options.extra), "ftp-server serve");
        let port = process.wait_for_port(
            "ftp-server serve printed no `listening on ftp://ADDR` line",
            parse_listening_line,
        );
        FtpServerProcess {
            port,
            addr: SocketAddr::new(listen.ip(), port),
            db_url,
            dir,
            bin: bin.to_owned(),
            process,
        }
    }

    /// The server process's id (to look at its open descriptors in /proc).
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// `base/tls/cert.pem`, the self-signed demo certificate `init --demo` made (for clients'
    /// CA files; it names localhost, 127.0.0.1 and ::1).
    pub fn tls_cert(&self) -> PathBuf {
        self.dir.path().join("base").join("tls").join("cert.pem")
    }

    /// `base/rootN`, the root folder of demo user `userN`.
    pub fn root(&self, n: u8) -> PathBuf {
        self.dir.path().join("base").join(format!("root{n}"))
    }

    /// `ftp://userN:passN@127.0.0.1:PORT/`, for curl.
    pub fn url(&self, n: u8) -> String {
        format!("ftp://user{n}:pass{n}@127.0.0.1:{}/", self.port)
    }

    /// The control connection address (a method, for the tests written before the field).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Everything the server has logged so far.
    pub fn stderr(&self) -> String {
        self.process.stderr()
    }

    /// Everything the server has printed on stdout so far.
    pub fn stdout(&self) -> String {
        self.process.stdout()
    }

    /// stdout and stderr, labelled.
    pub fn output(&self) -> String {
        self.process.output()
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

    /// Waits up to `timeout` for a log line satisfying `pred`; returns it, or `None`.
    pub fn wait_for_log_line(
        &self,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Option<String> {
        wait_for_line(timeout, || self.stderr(), pred)
    }

    /// Waits up to `timeout` for a stdout line satisfying `pred`; returns it, or `None`.
    pub fn wait_for_stdout_line(
        &self,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Option<String> {
        wait_for_line(timeout, || self.stdout(), pred)
    }

    /// Sends SIGTERM and waits up to `timeout` for the process to end; `None` if it did not.
    pub fn terminate(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let kill = run(Command::new("kill")
            .arg("-TERM")
            .arg(self.process.pid().to_string()));
        assert_success(&kill, "kill -TERM");
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.process.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Runs `ftp-server --db <this server's db> ARGS…` (for `user add`, `user list`, …).
    pub fn admin(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = Command::new(&self.bin);
        cmd.args(["--db", &self.db_url]).args(args);
        match stdin {
            Some(input) => run_with_stdin(&mut cmd, input.as_bytes()),
            None => run(&mut cmd),
        }
    }

    /// Opens a control connection and reads the greeting, which must be 220.
    pub fn connect(&self) -> Control {
        let mut control = Control::connect(self.addr);
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

/// Extracts the port from `listening on ftp://ADDR:PORT` (IPv4 or `[IPv6]`).
fn parse_listening_line(line: &str) -> Option<u16> {
    let addr = line.trim().strip_prefix("listening on ftp://")?;
    let (_, port) = addr.trim_end_matches('/').rsplit_once(':')?;
    port.parse().ok()
}

fn wait_for_line(
    timeout: Duration,
    text: impl Fn() -> String,
    pred: impl Fn(&str) -> bool,
) -> Option<String> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(line) = text().lines().find(|l| pred(l)) {
            return Some(line.to_string());
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(50));
    }
}
