//! The lab runner end to end: every lab offline and live with `--auto`, `check` with right and
//! wrong answers, seeds, and Ctrl-C leaving nothing behind.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use testkit::process::{describe, run};

/// The runner, with the programs it starts built next to it.
fn runner() -> Command {
    for name in ["ftp-server", "ftp-client", "inspector"] {
        testkit::workspace_bin(name);
    }
    Command::new(env!("CARGO_BIN_EXE_ftplab-lab"))
}

fn lab(args: &[&str]) -> Output {
    run(runner().arg("lab").args(args))
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn offline_auto(n: &str, must_show: &[&str]) {
    let out = lab(&[n, "--offline", "--auto"]);
    assert!(
        out.status.success(),
        "lab {n} --offline --auto\n{}",
        describe(&out)
    );
    let text = stdout(&out);
    assert!(text.contains("What you should have seen"), "{text}");
    assert!(!text.contains("  ✗ "), "an expectation failed\n{text}");
    for m in must_show {
        assert!(text.contains(m), "lab {n} should show {m:?}\n{text}");
    }
}

#[test]
fn lab0_offline_auto_runs_the_doctor_and_reads_the_capture() {
    offline_auto(
        "0",
        &["Rust toolchain", "CAP_NET_RAW", "✓ the login of user1"],
    );
}

#[test]
fn lab1_offline_auto_shows_the_leaked_password() {
    offline_auto(
        "1",
        &[
            "password `pass1`, accepted",
            "✓ the finding cleartext-credentials",
        ],
    );
}

#[test]
fn lab2_offline_auto_shows_the_reply_codes() {
    offline_auto("2", &["✓ 550 after RETR missing.txt", "✓ 503 after RNTO"]);
}

#[test]
fn lab3_offline_auto_rebuilds_the_file_with_its_sha256() {
    offline_auto(
        "3",
        &["✓ the extracted notes.txt has the original's sha256"],
    );
}

#[test]
fn lab4_offline_auto_shows_the_attack_findings() {
    offline_auto(
        "4",
        &["✓ the finding brute-force", "✓ the finding bounce-attack"],
    );
}

/// `lab N --auto` live; fails where live capture is not possible unless FTPLAB_SKIP_LIVE=1.
fn live_auto(n: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = run(runner()
        .env("FTPLAB_MY_CAPTURES", dir.path())
        .args(["lab", n, "--auto"]));
    let err = String::from_utf8_lossy(&out.stderr);
    if !out.status.success()
        && (err.contains("no `live` subcommand") || err.contains("CAP_NET_RAW"))
    {
        let why = format!("lab {n} --auto (live) needs CAP_NET_RAW: {}", err.trim());
        testkit::guard::missing(testkit::guard::SKIP_LIVE, &why);
        return;
    }
    assert!(out.status.success(), "lab {n} --auto\n{}", describe(&out));
    assert!(!stdout(&out).contains("  ✗ "), "{}", describe(&out));
    // The student's own capture is saved and `check` can grade answers about it.
    let capture = dir.path().join(format!("lab{n}.pcapng"));
    assert!(capture.is_file(), "no capture saved\n{}", describe(&out));
    let capture_arg = capture.to_str().expect("temp paths are UTF-8");
    let answers = dir.path().join("answers.toml");
    std::fs::write(&answers, key(n, &["--capture", capture_arg])).expect("write answers");
    let out = check(n, &answers, &[]);
    assert!(out.status.success(), "{}", describe(&out));
}

#[test]
fn lab0_live_auto() {
    live_auto("0");
}

#[test]
fn lab1_live_auto() {
    live_auto("1");
}

#[test]
fn lab2_live_auto() {
    live_auto("2");
}

#[test]
fn lab3_live_auto() {
    live_auto("3");
}

#[test]
fn lab4_live_auto() {
    live_auto("4");
}

/// The filled answers file of lab `n` for a capture and seed (the hidden teacher command).
fn key(n: &str, extra: &[&str]) -> String {
    let out = run(runner().args(["key", n]).args(extra));
    assert!(out.status.success(), "key {n}\n{}", describe(&out));
    stdout(&out)
}

fn check(n: &str, answers: &Path, extra: &[&str]) -> Output {
    run(runner()
        .args(["check", n, "--answers"])
        .arg(answers)
        .args(extra))
}

#[test]
fn check_passes_with_the_right_answers_of_every_lab() {
    let dir = tempfile::tempdir().expect("temp dir");
    for n in ["lab0", "lab1", "lab2", "lab3", "lab4"] {
        let file = dir.path().join(format!("{n}.toml"));
        std::fs::write(&file, key(n, &[])).expect("write answers");
        let out = check(n, &file, &[]);
        assert!(out.status.success(), "check {n}\n{}", describe(&out));
        assert!(!stdout(&out).contains('✗'), "{}", describe(&out));
    }
}

fn replace_answer(answers: &str, key: &str, value: &str) -> String {
    answers
        .lines()
        .map(|l| {
            if l.starts_with(&format!("{key} =")) {
                format!("{key} = {value}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn check_fails_naming_the_question_without_showing_the_right_answer() {
    let dir = tempfile::tempdir().expect("temp dir");
    let right = key("lab1", &[]);
    let wrong = replace_answer(&right, "password", "\"hunter2\"");
    let wrong = replace_answer(&wrong, "pass_frame", "1");
    let file = dir.path().join("lab1.toml");
    std::fs::write(&file, wrong).expect("write answers");
    let out = check("lab1", &file, &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(text.contains("✗ password"), "{text}");
    assert!(text.contains("✗ pass_frame"), "{text}");
    assert!(text.contains("✓ user"), "{text}");
    assert!(
        !text.contains("pass1"),
        "the right password leaked:\n{text}"
    );
}

#[test]
fn the_shipped_answer_templates_parse_and_are_not_yet_answered() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for n in ["lab0", "lab1", "lab2", "lab3", "lab4"] {
        let out = check(n, &root.join("answers").join(format!("{n}.toml")), &[]);
        assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
        let text = stdout(&out);
        assert!(text.contains("no answer yet"), "{text}");
        assert!(text.contains("0 of"), "{text}");
    }
}

#[test]
fn offline_with_a_seed_needs_a_capture_made_for_it() {
    let out = lab(&["1", "--offline", "--auto", "--seed", "3"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--capture"),
        "{}",
        describe(&out)
    );
}

fn can_record() -> bool {
    let root = rustix::process::geteuid().is_root();
    let tools = ["tcpdump", "editcap"].iter().all(|t| {
        Command::new(t)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    });
    root && tools
}

#[test]
fn a_seed_changes_the_answers_and_check_follows_it() {
    if !can_record() {
        testkit::guard::missing(
            testkit::guard::SKIP_PRIVILEGED,
            "recording seeded captures needs root, tcpdump and editcap",
        );
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let mut keys = Vec::new();
    for seed in ["7", "8"] {
        let out_dir = dir.path().join(seed);
        let out = run(runner()
            .args(["captures", "--lab", "1", "--seed", seed, "--out"])
            .arg(&out_dir));
        assert!(
            out.status.success(),
            "captures --seed {seed}\n{}",
            describe(&out)
        );
        let capture = out_dir.join("lab1.pcapng");
        let capture_arg = capture.to_str().expect("temp paths are UTF-8");
        keys.push(key("lab1", &["--capture", capture_arg, "--seed", seed]));
        // The lab runs offline from the student's seeded capture.
        let out = lab(&[
            "1",
            "--offline",
            "--auto",
            "--seed",
            seed,
            "--capture",
            capture_arg,
        ]);
        assert!(out.status.success(), "{}", describe(&out));
    }
    assert_ne!(keys[0], keys[1]);
    let file = dir.path().join("answers7.toml");
    std::fs::write(&file, &keys[0]).expect("write answers");
    assert!(check("lab1", &file, &[]).status.success());
    // Seed 7's answers against seed 8's capture are wrong.
    let capture8 = dir.path().join("8").join("lab1.pcapng");
    let out = check(
        "lab1",
        &file,
        &[
            "--seed",
            "8",
            "--capture",
            capture8.to_str().expect("UTF-8"),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(stdout(&out).contains("✗ password"), "{}", describe(&out));
}

#[test]
fn ctrl_c_stops_the_servers_and_removes_the_temporary_folder() {
    let mut child = runner()
        .args(["lab", "1", "--offline"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the runner");
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut stdout = stdout;
        let mut buf = [0u8; 4096];
        while let Ok(n) = std::io::Read::read(&mut stdout, &mut buf) {
            if n == 0
                || tx
                    .send(String::from_utf8_lossy(&buf[..n]).into_owned())
                    .is_err()
            {
                break;
            }
        }
    });
    // The prompt has no line end: collect everything until it shows.
    let mut seen = String::new();
    while !seen.contains("waiting for you") {
        let chunk = rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|e| panic!("the runner should wait for the student ({e}):\n{seen}"));
        seen.push_str(&chunk);
    }
    let mut port = None;
    let mut log = None;
    for line in seen.lines() {
        if let Some(rest) = line.trim().strip_prefix("server: ftp://127.0.0.1:") {
            let (p, l) = rest.split_once("  (log: ").expect("header names the log");
            port = p.parse::<u16>().ok();
            log = Some(PathBuf::from(l.trim_end_matches(')')));
        }
    }
    let port = port.expect("the header names the server's port");
    let work = log
        .and_then(|l| l.parent().map(Path::to_path_buf))
        .expect("log path");
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    assert!(work.is_dir());
    let pid = rustix::process::Pid::from_raw(i32::try_from(child.id()).expect("pid fits"))
        .expect("a child pid is not 0");
    rustix::process::kill_process(pid, rustix::process::Signal::INT).expect("send SIGINT");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the runner ignored Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(130));
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the server still listens after Ctrl-C"
    );
    assert!(!work.exists(), "{} is left behind", work.display());
}
