//! The README's quick start, run as written: every command of its shell blocks, in order,
//! in a scratch copy of the repository's README folder. Only two things are substituted: the
//! release binary path (cargo test builds its own) and the port 2121 (tests never use fixed
//! ports); `cargo build --release` is skipped for the same reason.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn quick_start_blocks() -> Vec<Vec<String>> {
    let readme = include_str!("../../README.md");
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with("Quick start"))
        .expect("README has a '## Quick start' section");
    section
        .split("```sh\n")
        .skip(1)
        .map(|block| {
            let body = block.split("```").next().unwrap_or_default();
            body.lines()
                .map(|l| l.split(" #").next().unwrap_or_default().trim().to_owned())
                .filter(|l| !l.is_empty())
                .collect()
        })
        .collect()
}

#[test]
fn readme_quick_start_works_as_written() {
    let blocks = quick_start_blocks();
    assert!(
        blocks.len() >= 2,
        "quick start needs a server block and a client block"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"),
        dir.path().join("README.md"),
    )
    .unwrap();
    let port = testkit::free_port().to_string();
    let binary = env!("CARGO_BIN_EXE_ftp-server");
    let client = testkit::workspace_bin("ftp-client")
        .to_string_lossy()
        .into_owned();
    let adapt = |line: &str| {
        line.replace("./target/release/ftp-server", binary)
            .replace("./target/release/ftp-client", &client)
            .replace("2121", &port)
    };

    let mut server = None;
    for line in &blocks[0] {
        if line.starts_with("cargo build") {
            continue;
        }
        let line = adapt(line);
        if line.contains(" serve") {
            let mut child = Command::new("bash")
                .arg("-c")
                .arg(format!("exec {line}"))
                .current_dir(dir.path())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let stdout = child.stdout.take().unwrap();
            let mut first = String::new();
            BufReader::new(stdout).read_line(&mut first).unwrap();
            assert!(
                first.contains(&format!("127.0.0.1:{port}")),
                "server said {first:?}"
            );
            server = Some(child);
        } else {
            let out = Command::new("bash")
                .arg("-c")
                .arg(&line)
                .current_dir(dir.path())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{line} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let mut server = server.expect("the quick start starts the server");

    let mut outputs = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    for line in &blocks[1] {
        let line = adapt(line);
        let out = Command::new("timeout")
            .args(["60", "bash", "-c", &line])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{line} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        outputs.push(String::from_utf8_lossy(&out.stdout).into_owned());
        assert!(Instant::now() < deadline);
    }
    server.kill().ok();
    server.wait().ok();

    let all = outputs.join("\n");
    assert!(
        all.contains("Welcome to ftplab, user1"),
        "download printed: {all}"
    );
    let uploaded = std::fs::read(dir.path().join("lab-files/root1/README.md")).unwrap();
    assert_eq!(
        uploaded,
        std::fs::read(dir.path().join("README.md")).unwrap()
    );
    assert!(all.contains("welcome.txt"), "listings: {all}");
    // The client's `get welcome.txt -` printed the file after curl did: two copies in all.
    assert_eq!(
        all.matches("Welcome to ftplab, user1").count(),
        2,
        "outputs: {all}"
    );
    let fetched =
        std::fs::read_to_string(dir.path().join("copy-of-welcome.txt")).unwrap_or_default();
    assert!(
        fetched.starts_with("Welcome to ftplab"),
        "lftp get wrote {fetched:?}"
    );
}
