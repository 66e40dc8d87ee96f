//! Helpers shared by the integration tests: real FTP servers (our `ftp-server`, pyftpdlib,
//! vsftpd) on ephemeral loopback ports with throw-away roots, `ftp-client` runs with a time limit,
//! files with known sha256, and a scripted fake server for the cases real ones do not produce.
#![allow(
    dead_code,
    reason = "each test file uses a different subset of these helpers"
)]

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

#[allow(unused_imports, reason = "each test file uses a different subset")]
pub use testkit::files::{random_bytes, random_file, sha256_file, sha256_hex};
#[allow(unused_imports, reason = "each test file uses a different subset")]
pub use testkit::process::{
    RUN_TIMEOUT as CLIENT_TIMEOUT, assert_success, describe, run, run_with_stdin,
};
#[allow(unused_imports, reason = "each test file uses a different subset")]
pub use testkit::{MIB, free_port};

/// `ftp-server`, next to `ftp-client` in the target folder (built when missing).
pub fn server_bin() -> std::path::PathBuf {
    testkit::workspace_bin("ftp-server")
}

/// The binary under test.
pub const CLIENT_BIN: &str = env!("CARGO_BIN_EXE_ftp-client");

/// How long a server may take to start.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Which server a [`Peer`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Our `ftp-server`.
    Ours,
    /// pyftpdlib (PyPI).
    Pyftpdlib,
    /// vsftpd (Debian).
    Vsftpd,
}

/// A running FTP server with a user who may read and write `dir`, reached after `cd remote_dir`.
pub struct Peer {
    pub kind: Kind,
    pub port: u16,
    pub user: String,
    pub password: String,
    /// The local folder that the user's writable remote folder maps to.
    pub dir: PathBuf,
    /// The remote folder to `cd` into first ("/" or "pub").
    pub remote_dir: String,
    temp: tempfile::TempDir,
    child: Child,
    log: Arc<Mutex<String>>,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Peer {
    /// Starts the server of `kind`.
    pub fn start(kind: Kind) -> Peer {
        match kind {
            Kind::Ours => Peer::ours(&[]),
            Kind::Pyftpdlib => Peer::pyftpdlib(),
            Kind::Vsftpd => Peer::vsftpd(),
        }
    }

    /// Our server, user1/pass1, with `extra` options for `serve`.
    pub fn ours(extra: &[&str]) -> Peer {
        Peer::ours_at("127.0.0.1:0", extra)
    }

    /// Our server listening on `listen` (`[::1]:0` for IPv6).
    pub fn ours_at(listen: &str, extra: &[&str]) -> Peer {
        let temp = tempfile::tempdir().expect("temp dir");
        let db = format!("sqlite://{}/users.db", temp.path().display());
        let base = temp.path().join("base");
        let out = run(Command::new(server_bin())
            .args(["--db", &db, "init", "--demo"])
            .arg(&base));
        assert_success(&out, "ftp-server init --demo");
        let mut cmd = Command::new(server_bin());
        cmd.args(["--db", &db, "serve", "--listen", listen])
            .args(["--login-failure-delay-ms", "0"])
            .args(extra);
        let (child, log, port) = spawn_and_wait(cmd, |line| {
            line.trim()
                .strip_prefix("listening on ftp://")
                .and_then(|addr| addr.trim_end_matches('/').rsplit_once(':'))
                .and_then(|(_, p)| p.parse().ok())
        });
        Peer {
            kind: Kind::Ours,
            port,
            user: "user1".into(),
            password: "pass1".into(),
            dir: base.join("root1"),
            remote_dir: "/".into(),
            temp,
            child,
            log,
        }
    }

    /// pyftpdlib on port 0, user `bench`/`bench` with full rights in a temp folder.
    pub fn pyftpdlib() -> Peer {
        let temp = tempfile::tempdir().expect("temp dir");
        let dir = temp.path().join("root");
        fs::create_dir_all(&dir).expect("create root");
        let script = r#"
import logging, sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer
logging.basicConfig(level=logging.WARNING)
auth = DummyAuthorizer()
auth.add_user("bench", "bench", sys.argv[1], perm="elradfmwMT")
handler = FTPHandler
handler.authorizer = auth
handler.auth_failed_timeout = 0
server = FTPServer(("127.0.0.1", 0), handler)
print("port", server.socket.getsockname()[1], flush=True)
server.serve_forever()
"#;
        let mut cmd = Command::new("python3");
        cmd.args(["-c", script]).arg(&dir);
        let (child, log, port) = spawn_and_wait(cmd, |line| {
            line.trim()
                .strip_prefix("port ")
                .and_then(|p| p.parse().ok())
        });
        Peer {
            kind: Kind::Pyftpdlib,
            port,
            user: "bench".into(),
            password: "bench".into(),
            dir,
            remote_dir: "/".into(),
            temp,
            child,
            log,
        }
    }

    /// vsftpd (needs root) with anonymous access, uploads allowed in `/pub`.
    pub fn vsftpd() -> Peer {
        let temp = tempfile::tempdir().expect("temp dir");
        let root = temp.path().join("anon");
        let pub_dir = root.join("pub");
        fs::create_dir_all(&pub_dir).expect("create anon root");
        // vsftpd refuses an anonymous root that the ftp user can write; pub/ is writable.
        chmod(temp.path(), "755");
        chmod(&root, "555");
        chmod(&pub_dir, "777");
        fs::create_dir_all("/var/run/vsftpd/empty").expect("create vsftpd's secure_chroot_dir");
        let port = free_port();
        let (pasv_min, pasv_max) = free_port_range(20);
        let conf = temp.path().join("vsftpd.conf");
        fs::write(
            &conf,
            format!(
                "listen=YES\nlisten_address=127.0.0.1\nlisten_port={port}\nbackground=NO\n\
                 seccomp_sandbox=NO\nanonymous_enable=YES\nlocal_enable=NO\nwrite_enable=YES\n\
                 anon_root={root}\nno_anon_password=NO\nanon_upload_enable=YES\n\
                 anon_mkdir_write_enable=YES\nanon_other_write_enable=YES\n\
                 anon_world_readable_only=NO\nanon_umask=022\npasv_enable=YES\n\
                 pasv_min_port={pasv_min}\npasv_max_port={pasv_max}\nport_enable=YES\n\
                 connect_from_port_20=NO\nxferlog_enable=NO\nsyslog_enable=NO\n\
                 vsftpd_log_file=/dev/null\nsecure_chroot_dir=/var/run/vsftpd/empty\n\
                 max_per_ip=50\n",
                root = root.display()
            ),
        )
        .expect("write vsftpd.conf");
        let bin = ["/usr/sbin/vsftpd", "/usr/bin/vsftpd"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("vsftpd is not installed: apt-get install vsftpd (see .ci/run)");
        let mut child = Command::new(bin)
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn vsftpd");
        let log = Arc::new(Mutex::new(String::new()));
        collect(child.stdout.take().expect("piped"), log.clone(), None);
        collect(child.stderr.take().expect("piped"), log.clone(), None);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut line = String::new();
                if BufReader::new(stream).read_line(&mut line).is_ok() && line.starts_with("220") {
                    break;
                }
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "vsftpd exited with {status} (is this root?)\n{}",
                    log.lock().unwrap()
                );
            }
            assert!(
                Instant::now() < deadline,
                "vsftpd did not greet within {START_TIMEOUT:?}"
            );
            thread::sleep(Duration::from_millis(50));
        }
        Peer {
            kind: Kind::Vsftpd,
            port,
            user: "anonymous".into(),
            password: "test@".into(),
            dir: pub_dir,
            remote_dir: "pub".into(),
            temp,
            child,
            log,
        }
    }

    /// A folder for the test's local files.
    pub fn local_dir(&self, name: &str) -> PathBuf {
        let dir = self.temp.path().join(name);
        fs::create_dir_all(&dir).expect("create local dir");
        chmod(&dir, "777");
        dir
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Runs `ftp-client 127.0.0.1 PORT -u USER --password-stdin -c "cd DIR; COMMANDS"` in `cwd`.
    pub fn client(&self, cwd: &Path, commands: &str, extra: &[&str]) -> Output {
        let script = format!("cd {}; {commands}", self.remote_dir);
        let mut cmd = Command::new(CLIENT_BIN);
        cmd.current_dir(cwd)
            .args(["127.0.0.1", &self.port.to_string()])
            .args(["--user", &self.user, "--password-stdin", "-c", &script])
            .args(extra);
        run_with_stdin(&mut cmd, format!("{}\n", self.password).as_bytes())
    }

    /// Like [`Peer::client`], panicking with both sides' output unless it exits 0.
    pub fn client_ok(&self, cwd: &Path, commands: &str, extra: &[&str]) -> Output {
        let out = self.client(cwd, commands, extra);
        assert!(
            out.status.success(),
            "ftp-client -c {commands:?} {extra:?} against {:?} failed\n{}\n--- server log ---\n{}",
            self.kind,
            describe(&out),
            self.log()
        );
        out
    }
}

fn chmod(path: &Path, mode: &str) {
    let out = run(Command::new("chmod").arg(mode).arg(path));
    assert_success(&out, "chmod");
}

/// `n` consecutive free ports, for vsftpd's passive range.
fn free_port_range(n: u16) -> (u16, u16) {
    for _ in 0..200 {
        let base = 20000 + (rand::random::<u16>() % 30000);
        let free = (base..base + n).all(|p| TcpListener::bind(("127.0.0.1", p)).is_ok());
        if free {
            return (base, base + n - 1);
        }
    }
    panic!("no {n} consecutive free ports found");
}

/// Spawns `cmd`, collects its output, and waits until `port_of` finds the port in a stdout line.
fn spawn_and_wait(
    mut cmd: Command,
    port_of: impl Fn(&str) -> Option<u16>,
) -> (Child, Arc<Mutex<String>>, u16) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let log = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = mpsc::channel();
    collect(child.stdout.take().expect("piped"), log.clone(), Some(tx));
    collect(child.stderr.take().expect("piped"), log.clone(), None);
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                if let Some(port) = port_of(&line) {
                    return (child, log, port);
                }
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{cmd:?} did not say its port within {START_TIMEOUT:?}\n{}",
                    log.lock().unwrap()
                );
            }
        }
    }
}

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

/// stderr as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// stdout as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What a scripted fake server does with EPSV and PASV, and with RETR.
#[derive(Debug, Clone)]
pub struct FakeScript {
    /// Refuse EPSV with 500 (an RFC 959-only server).
    pub refuse_epsv: bool,
    /// The address written in 227 replies (the real listener is on 127.0.0.1).
    pub pasv_ip: [u8; 4],
    /// Advertise a passive port where nothing listens.
    pub dead_passive_port: bool,
    /// What RETR sends before its final reply.
    pub retr_bytes: Vec<u8>,
    /// The final reply of RETR.
    pub retr_final: String,
}

impl Default for FakeScript {
    fn default() -> Self {
        FakeScript {
            refuse_epsv: false,
            pasv_ip: [127, 0, 0, 1],
            dead_passive_port: false,
            retr_bytes: b"hello\n".to_vec(),
            retr_final: "226 Transfer complete.".into(),
        }
    }
}

/// A one-session fake FTP server on 127.0.0.1 that follows a [`FakeScript`] and records the
/// command lines it received.
pub struct FakeServer {
    pub port: u16,
    pub received: Arc<Mutex<Vec<String>>>,
}

impl FakeServer {
    /// Starts it on a thread; it serves one control connection.
    pub fn start(script: FakeScript) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind fake server");
        let port = listener.local_addr().expect("addr").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        thread::spawn(move || {
            if let Ok((stream, _)) = listener.accept() {
                let _ = fake_session(stream, &script, &log);
            }
        });
        FakeServer { port, received }
    }

    /// The lines received so far.
    pub fn received(&self) -> Vec<String> {
        self.received.lock().unwrap().clone()
    }
}

fn fake_session(
    stream: TcpStream,
    script: &FakeScript,
    log: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut passive: Option<TcpListener> = None;
    writer.write_all(b"220 fake server\r\n")?;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let line = line.trim_end().to_owned();
        log.lock().unwrap().push(line.clone());
        let verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
        let reply = match verb.as_str() {
            "USER" => "331 Password please.".to_owned(),
            "PASS" => "230 Logged in.".to_owned(),
            "TYPE" => "200 Type set.".to_owned(),
            "EPSV" if script.refuse_epsv => "500 EPSV not understood.".to_owned(),
            "EPSV" | "PASV" => {
                let listener = TcpListener::bind("127.0.0.1:0")?;
                let mut port = listener.local_addr()?.port();
                if script.dead_passive_port {
                    port = free_port();
                } else {
                    passive = Some(listener);
                }
                if verb == "EPSV" {
                    format!("229 Entering Extended Passive Mode (|||{port}|)")
                } else {
                    let [a, b, c, d] = script.pasv_ip;
                    format!(
                        "227 Entering Passive Mode ({a},{b},{c},{d},{},{})",
                        port >> 8,
                        port & 0xff
                    )
                }
            }
            "RETR" => {
                let Some(listener) = passive.take() else {
                    writer.write_all(b"425 Use PASV first.\r\n")?;
                    continue;
                };
                writer.write_all(b"150 Here it comes.\r\n")?;
                listener.set_nonblocking(false)?;
                let (mut data, _) = listener.accept()?;
                data.write_all(&script.retr_bytes)?;
                drop(data);
                script.retr_final.clone()
            }
            "QUIT" => {
                writer.write_all(b"221 Bye.\r\n")?;
                return Ok(());
            }
            _ => "502 Not implemented here.".to_owned(),
        };
        writer.write_all(format!("{reply}\r\n").as_bytes())?;
    }
}
