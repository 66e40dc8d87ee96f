//! Memory stays bounded however many sessions a capture holds: 100,000 closed sessions are
//! read in every output mode under 64 MiB peak RSS. The capture (about 1.9 million frames) is
//! written once to a temporary file by the synthetic writer; the peak RSS of the inspector is
//! the kernel's `ru_maxrss` of a child, read through Python's `resource` module (std has no
//! getrusage and the workspace forbids unsafe).

mod common;
mod synth;

use common::INSPECTOR;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const SESSIONS: u32 = 100_000;
const LIMIT_KIB: u64 = 64 * 1024;

/// The capture of [`SESSIONS`] sessions, written on first use and shared by the tests (kept
/// at `$INSPECTOR_KEEP_CAPTURE` when that is set, to measure other readers on it by hand).
fn capture() -> &'static Path {
    static FILE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = FILE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = std::env::var_os("INSPECTOR_KEEP_CAPTURE")
            .map(PathBuf::from)
            .unwrap_or_else(|| dir.path().join("many-sessions.pcap"));
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        synth::many_sessions(SESSIONS, &mut out).unwrap();
        out.flush().unwrap();
        (dir, path)
    });
    path
}

/// Runs the inspector with `args` and the capture; returns (exit code, stdout lines, peak RSS
/// in KiB).
fn run_measured(args: &[&str]) -> (i32, u64, u64) {
    let script = "import resource, subprocess, sys\n\
        p = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)\n\
        lines = 0\n\
        for chunk in iter(lambda: p.stdout.read(1 << 16), b''):\n    lines += chunk.count(b'\\n')\n\
        code = p.wait()\n\
        print(code, lines, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n";
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(INSPECTOR)
        .arg("read")
        .args(args)
        .arg(capture())
        .output()
        .expect("python3 runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<i64> = text
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert_eq!(
        fields.len(),
        3,
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (fields[0] as i32, fields[1] as u64, fields[2] as u64)
}

#[test]
fn a_hundred_thousand_closed_sessions_stay_under_64_mib_with_json() {
    let (code, lines, peak) = run_measured(&["--json"]);
    assert_eq!(code, 0);
    // A session event, its commands, replies, credentials, transfers, findings: many lines.
    assert!(lines > u64::from(SESSIONS) * 10, "{lines} lines");
    eprintln!("--json: {lines} lines, peak RSS {} KiB", peak);
    assert!(peak < LIMIT_KIB, "peak RSS {peak} KiB");
}

#[test]
fn a_hundred_thousand_closed_sessions_stay_under_64_mib_with_tables() {
    let (code, lines, peak) = run_measured(&[]);
    assert_eq!(code, 0);
    assert!(lines > u64::from(SESSIONS) * 10, "{lines} lines");
    eprintln!("tables: {lines} lines, peak RSS {} KiB", peak);
    assert!(peak < LIMIT_KIB, "peak RSS {peak} KiB");
}
