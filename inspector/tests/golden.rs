//! Golden snapshots (insta) of the table and the JSON for every capture shipped in `captures/`,
//! broken ones included. After an intended change: `cargo insta review` (or INSTA_UPDATE=always).

use std::path::PathBuf;
use std::process::Command;

const INSPECTOR: &str = env!("CARGO_BIN_EXE_inspector");

fn captures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../captures")
}

/// Runs the inspector from `captures/` so the paths in its output are stable.
fn inspect(args: &[&str]) -> String {
    let out = Command::new(INSPECTOR)
        .current_dir(captures())
        .env_remove("NO_COLOR")
        .arg("read")
        .args(args)
        .output()
        .expect("run inspector");
    format!(
        "exit code: {}\n--- stdout ---\n{}--- stderr ---\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn golden(name: &str, file: &str, extra: &[&str]) {
    let mut args = extra.to_vec();
    args.push(file);
    insta::assert_snapshot!(format!("{name}-table"), inspect(&args));
    let mut json = vec!["--json"];
    json.extend(&args);
    insta::assert_snapshot!(format!("{name}-json"), inspect(&json));
}

#[test]
fn ftplab_curl() {
    golden("ftplab-curl", "ftplab-curl.pcap", &["--port", "2121"]);
}

#[test]
fn ftplab_curl_found_by_content_without_port() {
    insta::assert_snapshot!(
        "ftplab-curl-no-port",
        inspect(&["--json", "ftplab-curl.pcap"])
    );
}

#[test]
fn pyftpdlib_lftp_any() {
    golden(
        "pyftpdlib-lftp-any",
        "pyftpdlib-lftp-any.pcapng",
        &["--port", "2122"],
    );
}

#[test]
fn broken_truncated() {
    golden(
        "broken-truncated",
        "broken/truncated.pcap",
        &["--port", "2121"],
    );
}

#[test]
fn broken_not_a_capture() {
    golden("broken-not-a-capture", "broken/not-a-capture.pcap", &[]);
}

/// The labs' shipped captures, read without `--port` as a student's first try would: every
/// control connection is found by its content (lab4's locked-out connections by their 421).
#[test]
fn lab_captures() {
    for lab in 0..=4 {
        golden(&format!("lab{lab}"), &format!("lab{lab}.pcapng"), &[]);
    }
}

/// FTPS (`make-ftps.sh`): without the key log the upgrade, the handshakes, sizes and leaks;
/// with it every command, password and file, marked as decrypted.
#[test]
fn ftps_pyftpdlib() {
    golden(
        "ftps-pyftpdlib",
        "ftps-pyftpdlib.pcapng",
        &["--port", "2144"],
    );
    golden(
        "ftps-pyftpdlib-keylog",
        "ftps-pyftpdlib.pcapng",
        &["--port", "2144", "--keylog", "ftps-pyftpdlib.keys"],
    );
}
