//! `ftplab-lab doctor` (and lab 0's first step): what this machine allows, and what to do when
//! something is missing.

use crate::live;
use crate::procs;
use crate::tools::Tools;
use std::process::Command;
use std::time::Duration;

enum Status {
    Ok,
    Warn,
    Fail,
}

fn line(status: Status, what: &str, detail: &str) -> bool {
    let (mark, ok) = match status {
        Status::Ok => ("✓", true),
        Status::Warn => ("!", true),
        Status::Fail => ("✗", false),
    };
    println!("  {mark} {what}: {detail}");
    ok
}

fn version(program: &str) -> Option<String> {
    let mut cmd = Command::new(program);
    cmd.arg("--version");
    let out = procs::run_bounded(program, &mut cmd, b"", Duration::from_secs(30)).ok()?;
    out.success()
        .then(|| out.stdout.lines().next().unwrap_or("").trim().to_string())
}

/// Whether this process has CAP_NET_RAW in its effective set (from /proc/self/status).
fn has_cap_net_raw() -> Option<bool> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))?
        .trim();
    let bits = u64::from_str_radix(hex, 16).ok()?;
    Some(bits & (1 << 13) != 0)
}

/// Prints every check; false when a lab cannot run at all (warnings allowed).
pub fn report(tools: Option<&Tools>) -> bool {
    let mut ok = true;
    ok &= match version("cargo") {
        Some(v) => line(Status::Ok, "Rust toolchain", &v),
        None => line(
            Status::Fail,
            "Rust toolchain",
            "cargo not found: install Rust from https://rustup.rs, open a new terminal, run `just doctor` again",
        ),
    };
    let located;
    let tools = match tools {
        Some(t) => Some(t),
        None => match Tools::locate() {
            Ok(t) => {
                located = t;
                Some(&located)
            }
            Err(e) => {
                ok &= line(Status::Fail, "lab programs", &format!("{e:#}"));
                None
            }
        },
    };
    if let Some(t) = tools {
        line(
            Status::Ok,
            "lab programs",
            &format!(
                "ftp-server, ftp-client, inspector in {}",
                t.server
                    .parent()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            ),
        );
    }
    ok &= match std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
        Ok(a) => line(
            Status::Ok,
            "loopback",
            &format!("free ports on 127.0.0.1 (e.g. {})", a.port()),
        ),
        Err(e) => line(
            Status::Fail,
            "loopback",
            &format!("cannot listen on 127.0.0.1: {e}"),
        ),
    };
    match has_cap_net_raw() {
        Some(true) => line(
            Status::Ok,
            "CAP_NET_RAW",
            "this shell has it (root, or granted)",
        ),
        Some(false) => line(
            Status::Warn,
            "CAP_NET_RAW",
            "this shell does not have it: capturing other programs' packets needs it",
        ),
        None => line(
            Status::Warn,
            "CAP_NET_RAW",
            "cannot tell (no /proc/self/status)",
        ),
    };
    match crate::netns::missing_privilege() {
        None => line(
            Status::Ok,
            "lab 6 network",
            "root and `ip`: lab 6 can build its network namespaces",
        ),
        Some(why) => line(Status::Warn, "lab 6 network", &why),
    };
    if let Some(t) = tools {
        match live::probe(t, false) {
            Ok(()) => line(
                Status::Ok,
                "live capture",
                "inspector live works: labs sniff loopback",
            ),
            Err(e) => line(
                Status::Warn,
                "live capture",
                &format!("{e}. Use `--offline` for every lab, e.g. `just lab1 --offline`"),
            ),
        };
    }
    let captures = crate::workspace_root().join("captures");
    let missing: Vec<String> = crate::lab::numbers()
        .map(|n| format!("lab{n}.pcapng"))
        .filter(|f| !captures.join(f).is_file())
        .collect();
    if missing.is_empty() {
        line(
            Status::Ok,
            "shipped captures",
            "captures/lab0.pcapng … lab7.pcapng (for --offline)",
        );
    } else {
        line(
            Status::Warn,
            "shipped captures",
            &format!(
                "missing {}: `just captures` (as root) makes them",
                missing.join(", ")
            ),
        );
    }
    match version("just") {
        Some(v) => line(Status::Ok, "just", &v),
        None => line(
            Status::Warn,
            "just",
            "not installed: `cargo install just` (then `just lab1`), or run target/debug/ftplab-lab directly",
        ),
    };
    match version("tcpdump") {
        Some(_) => line(
            Status::Ok,
            "tcpdump",
            "there (only `just captures` needs it)",
        ),
        None => line(
            Status::Warn,
            "tcpdump",
            "not installed (only `just captures` needs it: apt-get install tcpdump wireshark-common)",
        ),
    };
    ok
}

/// `ftplab-lab doctor`.
pub fn run() -> Result<bool, crate::error::LabError> {
    println!("ftplab doctor");
    let ok = report(None);
    println!(
        "{}",
        if ok {
            "Ready. Without live capture, add --offline to every lab."
        } else {
            "Fix the ✗ lines first."
        }
    );
    Ok(ok)
}
