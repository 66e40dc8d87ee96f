//! Helpers shared by the integration tests of `ftp-server`, `ftp-client` and `inspector`.
//!
//! # Layout
//! - [`control`]: a raw control connection whose replies are framed by `ftp_proto::ReplyDecoder`.
//! - [`process`]: run a program with a time limit and capture its output.
//! - [`ftp_server`]: our `ftp-server` as a process with demo users, on port 0.
//! - [`peers`]: pyftpdlib and vsftpd, the real servers we compare with.
//! - [`spawn`]: a long-running program with its output collected, waited for until it says its port.
//! - [`files`]: files of random bytes with their sha256.
//! - [`guard`]: a test that lacks MariaDB, CAP_NET_RAW or root fails unless skipped on purpose.
//! - [`free_port`], [`free_port_on`] and [`workspace_bin`].
//!
//! A test starts a server ([`ftp_server`] or [`peers`], both on [`spawn`]), talks to it through
//! [`control`] or a real client run by [`process`], and checks the files [`files`] made.
//!
//! Test code: panics on failure are the point, so they carry the details a person needs.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers panic with context on purpose"
)]

pub mod control;
pub mod files;
pub mod ftp_server;
pub mod guard;
pub mod peers;
pub mod process;
pub mod spawn;

use std::net::{IpAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// One MiB.
pub const MIB: usize = 1024 * 1024;

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    free_port_on(IpAddr::from([127, 0, 0, 1]))
}

/// A TCP port on `ip` nobody listens on right now (for servers that cannot be told to use
/// port 0).
pub fn free_port_on(ip: IpAddr) -> u16 {
    TcpListener::bind((ip, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("bind {ip}:0: {e}"))
}

/// A binary of this workspace (`ftp-server`, `ftp-client`, `inspector`), from the target folder
/// the running test lives in; built with cargo first if this test run did not build it.
pub fn workspace_bin(name: &str) -> PathBuf {
    static BUILD: Mutex<()> = Mutex::new(());
    let exe = std::env::current_exe().expect("the test knows its own path");
    // target/<profile>/deps/<test>-<hash>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary in target/<profile>/deps");
    let bin = profile_dir.join(name);
    let _guard = BUILD.lock().unwrap_or_else(|p| p.into_inner());
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        // From the workspace root with --workspace: run inside another member's folder, a bare
        // `--bin` would only look at that package.
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("testkit sits in the workspace root");
        let mut cmd = Command::new(cargo);
        cmd.current_dir(root)
            .args(["build", "--workspace", "--bin", name]);
        if profile_dir.ends_with("release") {
            cmd.arg("--release");
        }
        let out = process::run(&mut cmd);
        process::assert_success(&out, &format!("cargo build --bin {name}"));
    }
    bin
}
