//! Helpers shared by the integration tests: real FTP servers (our `ftp-server`, pyftpdlib,
//! vsftpd) on ephemeral loopback ports with throw-away roots, `ftp-client` runs with a time limit,
//! files with known sha256, and a scripted fake server for the cases real ones do not produce.
#![allow(
    dead_code,
    reason = "each test file uses a different subset of these helpers"
)]

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use testkit::ftp_server::{FtpServerProcess, ServeOptions};
use testkit::peers::{Pyftpdlib, Vsftpd, VsftpdAccess};

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

/// The server process behind a [`Peer`], killed on drop.
enum Process {
    Ours(FtpServerProcess),
    Other(testkit::peers::Peer),
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
    /// `--tls --tls-fingerprint SHA256:…` when the server speaks FTPS, else nothing.
    pub tls_args: Vec<String>,
    /// Holds the test's local folders.
    temp: tempfile::TempDir,
    process: Process,
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

    /// Starts the server of `kind` with FTPS required on control and data connections and a
    /// self-signed certificate; [`Peer::client`] then passes `--tls --tls-fingerprint …`.
    pub fn start_tls(kind: Kind) -> Peer {
        match kind {
            Kind::Ours => {
                let options = ServeOptions {
                    extra: &["--tls", "required"],
                    tls: true,
                    ..ServeOptions::default()
                };
                let server = FtpServerProcess::start(&server_bin(), options);
                let fingerprint = server
                    .stdout()
                    .split_whitespace()
                    .find(|w| w.starts_with("SHA256:"))
                    .map(str::to_owned)
                    .expect("ftp-server serve --tls-cert prints the certificate's fingerprint");
                let mut peer = Peer::from_ours(server);
                peer.tls_args = vec!["--tls".into(), "--tls-fingerprint".into(), fingerprint];
                peer
            }
            Kind::Pyftpdlib | Kind::Vsftpd => {
                let temp = tempfile::tempdir().expect("temp dir");
                let (cert, key, fingerprint) = demo_certificate(temp.path());
                let mut peer = if kind == Kind::Vsftpd {
                    let started = Vsftpd {
                        access: VsftpdAccess::UploadsInPub,
                        ..Vsftpd::default()
                    }
                    .start_with_tls(&cert, &key);
                    Peer::from_vsftpd(started)
                } else {
                    Peer::from_pyftpdlib(Pyftpdlib::default().start_with_tls(&cert, &key))
                };
                peer.temp = temp;
                peer.tls_args = vec!["--tls".into(), "--tls-fingerprint".into(), fingerprint];
                peer
            }
        }
    }

    /// Our server, user1/pass1, with `extra` options for `serve`.
    pub fn ours(extra: &[&str]) -> Peer {
        Peer::ours_at("127.0.0.1:0", extra)
    }

    /// Our server listening on `listen` (`[::1]:0` for IPv6).
    pub fn ours_at(listen: &str, extra: &[&str]) -> Peer {
        let options = ServeOptions {
            listen: Some(listen),
            extra,
            ..ServeOptions::default()
        };
        Peer::from_ours(FtpServerProcess::start(&server_bin(), options))
    }

    fn from_ours(server: FtpServerProcess) -> Peer {
        Peer {
            tls_args: Vec::new(),
            kind: Kind::Ours,
            port: server.port,
            user: "user1".into(),
            password: "pass1".into(),
            dir: server.root(1),
            remote_dir: "/".into(),
            temp: tempfile::tempdir().expect("temp dir"),
            process: Process::Ours(server),
        }
    }

    /// pyftpdlib on port 0, user `bench`/`bench` with full rights in a temp folder.
    pub fn pyftpdlib() -> Peer {
        Peer::from_pyftpdlib(Pyftpdlib::default().start())
    }

    fn from_pyftpdlib(peer: testkit::peers::Peer) -> Peer {
        Peer {
            tls_args: Vec::new(),
            kind: Kind::Pyftpdlib,
            port: peer.port(),
            user: peer.user.clone(),
            password: peer.password.clone(),
            dir: peer.root.clone(),
            remote_dir: "/".into(),
            temp: tempfile::tempdir().expect("temp dir"),
            process: Process::Other(peer),
        }
    }

    /// vsftpd (needs root) with anonymous access, uploads allowed in `/pub`.
    pub fn vsftpd() -> Peer {
        Peer::from_vsftpd(
            Vsftpd {
                access: VsftpdAccess::UploadsInPub,
                ..Vsftpd::default()
            }
            .start(),
        )
    }

    fn from_vsftpd(peer: testkit::peers::Peer) -> Peer {
        Peer {
            tls_args: Vec::new(),
            kind: Kind::Vsftpd,
            port: peer.port(),
            user: peer.user.clone(),
            password: peer.password.clone(),
            dir: peer.root.join("pub"),
            remote_dir: "pub".into(),
            temp: tempfile::tempdir().expect("temp dir"),
            process: Process::Other(peer),
        }
    }

    /// A folder for the test's local files.
    pub fn local_dir(&self, name: &str) -> PathBuf {
        let dir = self.temp.path().join(name);
        fs::create_dir_all(&dir).expect("create local dir");
        let out = run(Command::new("chmod").arg("777").arg(&dir));
        assert_success(&out, "chmod");
        dir
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        match &self.process {
            Process::Ours(server) => server.output(),
            Process::Other(peer) => peer.output(),
        }
    }

    /// Runs `ftp-client 127.0.0.1 PORT -u USER --password-stdin -c "cd DIR; COMMANDS"` in `cwd`.
    pub fn client(&self, cwd: &Path, commands: &str, extra: &[&str]) -> Output {
        let script = format!("cd {}; {commands}", self.remote_dir);
        let mut cmd = Command::new(CLIENT_BIN);
        cmd.current_dir(cwd)
            .args(["127.0.0.1", &self.port.to_string()])
            .args(["--user", &self.user, "--password-stdin", "-c", &script])
            .args(&self.tls_args)
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

/// A self-signed certificate and key made by `ftp-server init --demo` in `dir`, with the
/// fingerprint it printed.
pub fn demo_certificate(dir: &Path) -> (PathBuf, PathBuf, String) {
    let db = format!("sqlite://{}/certs.db", dir.display());
    let out = run(Command::new(server_bin())
        .args(["--db", &db, "init", "--demo"])
        .arg(dir.join("base")));
    assert_success(&out, "ftp-server init --demo");
    let fingerprint = stdout(&out)
        .lines()
        .find_map(|l| l.strip_prefix("fingerprint: ").map(str::to_owned))
        .expect("init prints `fingerprint: SHA256:…`");
    let tls = dir.join("base").join("tls");
    (tls.join("cert.pem"), tls.join("key.pem"), fingerprint)
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
