//! Real FTP servers other than ours: pyftpdlib and vsftpd on loopback ports of their own with
//! throw-away roots, killed on drop.

use std::fs;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use crate::control::Control;
use crate::free_port_on;
use crate::process::{assert_success, run};
use crate::spawn::{START_TIMEOUT, Spawned};

/// A running pyftpdlib or vsftpd.
pub struct Peer {
    /// The control connection address.
    pub addr: SocketAddr,
    /// The user to log in as.
    pub user: String,
    /// That user's password.
    pub password: String,
    /// The local folder served as the user's login folder.
    pub root: PathBuf,
    /// Holds the root (unless the caller gave one) and the configuration.
    pub dir: tempfile::TempDir,
    process: Spawned,
}

impl Peer {
    /// The control port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// What the server printed so far.
    pub fn output(&self) -> String {
        self.process.output()
    }
}

/// pyftpdlib (`pip install pyftpdlib`), one user with full rights in its root.
#[derive(Debug, Clone)]
pub struct Pyftpdlib {
    /// The address to listen on (port 0: pyftpdlib picks one and prints it).
    pub ip: IpAddr,
    /// The user…
    pub user: String,
    /// …and password.
    pub password: String,
    /// The folder to serve; a new empty one when `None`.
    pub root: Option<PathBuf>,
    /// Also let `anonymous` in, with the same root.
    pub anonymous: bool,
    /// The greeting's text; pyftpdlib's own (with its version) when `None`.
    pub banner: Option<String>,
}

impl Default for Pyftpdlib {
    fn default() -> Self {
        Pyftpdlib {
            ip: IpAddr::from([127, 0, 0, 1]),
            user: "bench".into(),
            password: "bench".into(),
            root: None,
            anonymous: false,
            banner: None,
        }
    }
}

/// Serves `sys.argv[4]` to `sys.argv[2]`/`sys.argv[3]` on `sys.argv[1]`, port 0, and prints
/// `port N`. Failed logins are answered at once (`auth_failed_timeout = 0`).
const PYFTPDLIB_SCRIPT: &str = r#"
import logging, sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer
logging.basicConfig(level=logging.WARNING)
ip, user, password, root, anonymous, banner, certfile, keyfile = sys.argv[1:9]
auth = DummyAuthorizer()
auth.add_user(user, password, root, perm="elradfmwMT")
if anonymous == "yes":
    auth.add_anonymous(root)
Base = FTPHandler
if certfile:
    from pyftpdlib.handlers import TLS_FTPHandler as Base
class Handler(Base):
    authorizer = auth
    auth_failed_timeout = 0
if banner:
    Handler.banner = banner
if certfile:
    Handler.certfile = certfile
    Handler.keyfile = keyfile
    Handler.tls_control_required = True
    Handler.tls_data_required = True
server = FTPServer((ip, 0), Handler)
print("port", server.socket.getsockname()[1], flush=True)
server.serve_forever()
"#;

impl Pyftpdlib {
    /// Starts it and waits until it has said its port.
    pub fn start(&self) -> Peer {
        self.start_with(None)
    }

    /// Starts it with FTPS required on control and data connections (`TLS_FTPHandler`, which
    /// needs pyOpenSSL: `pip install pyopenssl`), with this certificate and key (PEM files).
    pub fn start_with_tls(&self, cert: &Path, key: &Path) -> Peer {
        self.start_with(Some((cert, key)))
    }

    fn start_with(&self, tls: Option<(&Path, &Path)>) -> Peer {
        let dir = tempfile::tempdir().expect("create temp dir");
        let root = self.root.clone().unwrap_or_else(|| dir.path().join("root"));
        fs::create_dir_all(&root).unwrap_or_else(|e| panic!("create {}: {e}", root.display()));
        let mut cmd = Command::new("python3");
        cmd.args(["-c", PYFTPDLIB_SCRIPT, &self.ip.to_string(), &self.user])
            .arg(&self.password)
            .arg(&root)
            .arg(if self.anonymous { "yes" } else { "no" })
            .arg(self.banner.as_deref().unwrap_or(""));
        match tls {
            Some((cert, key)) => cmd.arg(cert).arg(key),
            None => cmd.args(["", ""]),
        };
        let mut process = Spawned::start(&mut cmd, "python3 (apt-get install python3)");
        let port = process.wait_for_port(
            "pyftpdlib did not start (pip install pyftpdlib, or apt-get install python3-pyftpdlib; \
             with TLS also pip install pyopenssl)",
            |line| line.trim().strip_prefix("port ")?.parse().ok(),
        );
        Peer {
            addr: SocketAddr::new(self.ip, port),
            user: self.user.clone(),
            password: self.password.clone(),
            root,
            dir,
            process,
        }
    }
}

/// What the anonymous user of a [`Vsftpd`] may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VsftpdAccess {
    /// Read the root; no password asked (`no_anon_password=YES`); vsftpd runs as the launching
    /// user, so this works without root.
    ReadOnly,
    /// Read the root and write in its `pub/` folder (any password); passive ports from a range
    /// of 20 free ones. Needs root (vsftpd chroots and switches to the `ftp` user).
    UploadsInPub,
}

/// vsftpd (`apt-get install vsftpd`) with anonymous access only: it has no users of its own.
#[derive(Debug, Clone)]
pub struct Vsftpd {
    /// The IPv4 address to listen on.
    pub ip: IpAddr,
    /// What the anonymous user may do.
    pub access: VsftpdAccess,
    /// The greeting's text; vsftpd's own when `None`.
    pub banner: Option<String>,
}

impl Default for Vsftpd {
    fn default() -> Self {
        Vsftpd {
            ip: IpAddr::from([127, 0, 0, 1]),
            access: VsftpdAccess::ReadOnly,
            banner: None,
        }
    }
}

impl Vsftpd {
    /// Starts it and waits until it greets with 220. The peer's user is `anonymous`, its
    /// password `test@`, its root the anonymous root.
    pub fn start(&self) -> Peer {
        self.start_with(None)
    }

    /// Like [`Vsftpd::start`], with FTPS forced for the anonymous user's login and data
    /// (`ssl_enable`, `force_anon_logins_ssl`, `force_anon_data_ssl`, and `require_ssl_reuse`:
    /// data connections must resume the control connection's TLS session), with this
    /// certificate and key (PEM files).
    pub fn start_with_tls(&self, cert: &Path, key: &Path) -> Peer {
        self.start_with(Some((cert, key)))
    }

    fn start_with(&self, tls: Option<(&Path, &Path)>) -> Peer {
        let bin = ["/usr/sbin/vsftpd", "/usr/bin/vsftpd"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("vsftpd is not installed: apt-get install vsftpd (see .ci/run)");
        let dir = tempfile::tempdir().expect("create temp dir");
        let root = dir.path().join("anon");
        fs::create_dir_all(&root).expect("create the anonymous root");
        let port = free_port_on(self.ip);
        let mut conf = format!(
            "listen=YES\nlisten_ipv6=NO\nlisten_address={ip}\nlisten_port={port}\nbackground=NO\n\
             seccomp_sandbox=NO\nanonymous_enable=YES\nlocal_enable=NO\nanon_root={root}\n\
             pasv_enable=YES\nport_enable=YES\nconnect_from_port_20=NO\nxferlog_enable=NO\n",
            ip = self.ip,
            root = root.display()
        );
        match self.access {
            VsftpdAccess::ReadOnly => {
                let empty = dir.path().join("empty");
                fs::create_dir_all(&empty).expect("create secure_chroot_dir");
                conf.push_str(&format!(
                    "write_enable=NO\nno_anon_password=YES\nrun_as_launching_user=YES\n\
                     secure_chroot_dir={}\n",
                    empty.display()
                ));
            }
            VsftpdAccess::UploadsInPub => {
                let pub_dir = root.join("pub");
                fs::create_dir_all(&pub_dir).expect("create pub/");
                // vsftpd refuses an anonymous root that the ftp user can write; pub/ is writable.
                chmod(dir.path(), "755");
                chmod(&root, "555");
                chmod(&pub_dir, "777");
                fs::create_dir_all("/var/run/vsftpd/empty")
                    .expect("create vsftpd's secure_chroot_dir (this needs root)");
                let (pasv_min, pasv_max) = free_port_range(20);
                conf.push_str(&format!(
                    "write_enable=YES\nno_anon_password=NO\nanon_upload_enable=YES\n\
                     anon_mkdir_write_enable=YES\nanon_other_write_enable=YES\n\
                     anon_world_readable_only=NO\nanon_umask=022\n\
                     pasv_min_port={pasv_min}\npasv_max_port={pasv_max}\nsyslog_enable=NO\n\
                     vsftpd_log_file=/dev/null\nsecure_chroot_dir=/var/run/vsftpd/empty\n\
                     max_per_ip=50\n"
                ));
            }
        }
        if let Some(banner) = &self.banner {
            conf.push_str(&format!("ftpd_banner={banner}\n"));
        }
        if let Some((cert, key)) = tls {
            conf.push_str(&format!(
                "ssl_enable=YES\nrsa_cert_file={}\nrsa_private_key_file={}\nallow_anon_ssl=YES\n\
                 force_anon_logins_ssl=YES\nforce_anon_data_ssl=YES\nrequire_ssl_reuse=YES\n",
                cert.display(),
                key.display()
            ));
        }
        let conf_path = dir.path().join("vsftpd.conf");
        fs::write(&conf_path, conf).expect("write vsftpd.conf");
        let mut process = Spawned::start(
            Command::new(bin).arg(&conf_path),
            "vsftpd (apt-get install vsftpd)",
        );
        let addr = SocketAddr::new(self.ip, port);
        wait_for_greeting(&mut process, addr);
        Peer {
            addr,
            user: "anonymous".into(),
            password: "test@".into(),
            root,
            dir,
            process,
        }
    }
}

/// Waits until a server that cannot say its port (vsftpd) answers on `addr` with 220.
fn wait_for_greeting(process: &mut Spawned, addr: SocketAddr) {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Ok(stream) = std::net::TcpStream::connect(addr) {
            let mut control = Control::from_stream(stream);
            let _ = control
                .stream()
                .set_read_timeout(Some(Duration::from_secs(5)));
            if control.try_read_reply().is_ok_and(|r| r.code == 220) {
                return;
            }
        }
        if let Some(status) = process.try_wait() {
            panic!(
                "vsftpd exited with {status} (UploadsInPub needs root; is vsftpd installed?)\n{}",
                process.output()
            );
        }
        assert!(
            Instant::now() < deadline,
            "vsftpd did not greet on {addr} within {START_TIMEOUT:?}\n{}",
            process.output()
        );
        thread::sleep(Duration::from_millis(50));
    }
}

fn chmod(path: &Path, mode: &str) {
    let out = run(Command::new("chmod").arg(mode).arg(path));
    assert_success(&out, "chmod");
}

/// `n` consecutive free loopback ports, for vsftpd's passive range.
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
