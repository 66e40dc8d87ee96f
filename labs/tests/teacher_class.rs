//! The teacher's class-wide commands through the real binary: `teacher provision` (each
//! student's account and root on a class server's database, then the real server and curl
//! logging in with the derived passwords) and `teacher captures --roster` (every student's own
//! offline capture, several recorded at once).

mod common;
use common::{runner_at as runner_in, stdout};

use labs::course::Token;
use labs::seed::Secrets;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use testkit::ftp_server::{FtpServerProcess, ServeOptions};
use testkit::process::{describe, run};

/// `teacher init` and a roster of `ids`: the course file, the roster and each id's token.
fn class(dir: &Path, ids: &[&str]) -> (PathBuf, PathBuf, BTreeMap<String, Token>) {
    let course = dir.join("course.toml");
    let out = run(runner_in(dir)
        .args(["teacher", "init", "--out"])
        .arg(&course));
    assert!(out.status.success(), "{}", describe(&out));
    let roster = dir.join("roster.csv");
    let mut text = String::from("id,name,email\n");
    for id in ids {
        text.push_str(&format!("{id},Student {id},{id}@example.org\n"));
    }
    std::fs::write(&roster, text).expect("roster");
    let out = run(runner_in(dir)
        .args(["teacher", "roster", "--course"])
        .arg(&course)
        .arg(&roster));
    assert!(out.status.success(), "{}", describe(&out));
    let tokens = stdout(&out)
        .lines()
        .skip(1)
        .filter_map(|l| {
            let id = l.split(',').next()?;
            let token = Token::parse(l.rsplit(',').next()?).ok()?;
            Some((id.to_string(), token))
        })
        .collect::<BTreeMap<_, _>>();
    assert_eq!(tokens.len(), ids.len());
    (course, roster, tokens)
}

/// curl downloads `file` as `user`/`password`: the bytes, or curl's exit code.
fn curl_get(port: u16, user: &str, password: &str, file: &str) -> Result<Vec<u8>, Option<i32>> {
    let out = run(Command::new("curl")
        .args(["-sS", "--max-time", "20", "--user"])
        .arg(format!("{user}:{password}"))
        .arg(format!("ftp://127.0.0.1:{port}/{file}")));
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(out.status.code())
    }
}

#[test]
fn provisioned_students_log_in_with_their_own_password_only() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    let (course, roster, tokens) = class(dir, &["ana", "ben", "cy"]);
    let db = format!("sqlite://{}", dir.join("class.db").display());
    let roots = dir.join("roots");
    let provision = || {
        run(runner_in(dir)
            .args(["teacher", "provision", "--lab", "3", "--course"])
            .arg(&course)
            .arg("--roster")
            .arg(&roster)
            .args(["--db", &db, "--root-base"])
            .arg(&roots))
    };
    let out = provision();
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(
        stdout(&out).matches("ok      ").count(),
        3,
        "{}",
        describe(&out)
    );
    // Run again (a teacher re-provisioning): the accounts are reset, not refused.
    let out = provision();
    assert!(out.status.success(), "{}", describe(&out));
    assert!(!stdout(&out).contains("FAILED"), "{}", describe(&out));

    let server = FtpServerProcess::start(
        &testkit::workspace_bin("ftp-server"),
        ServeOptions {
            db_url: Some(db.clone()),
            ..ServeOptions::default()
        },
    );
    let ana = Secrets::for_student(&tokens["ana"], 3);
    let ben = Secrets::for_student(&tokens["ben"], 3);
    assert_ne!(ana.user, ben.user);
    // Ana's derived password gets Ana's own notes.txt, from her root.
    let notes = curl_get(server.port, &ana.user, &ana.password, "notes.txt");
    assert_eq!(
        notes.as_deref().ok(),
        Some(ana.notes.as_slice()),
        "{notes:?}"
    );
    assert!(roots.join("lab3").join("ana").join("photo.bin").is_file());
    // Ben's password does not open Ana's account (curl 67: the login was refused).
    let refused = curl_get(server.port, &ana.user, &ben.password, "notes.txt");
    assert_eq!(refused, Err(Some(67)));
    // Ben's own works, and his file is his.
    let notes = curl_get(server.port, &ben.user, &ben.password, "notes.txt");
    assert_eq!(notes.as_deref().ok(), Some(ben.notes.as_slice()));
    assert_ne!(ana.notes, ben.notes);
}

fn can_record() -> bool {
    let tools = ["tcpdump", "editcap"].iter().all(|t| {
        Command::new(t)
            .arg("--version")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok()
    });
    rustix::process::geteuid().is_root() && tools
}

#[test]
fn captures_for_a_roster_are_each_students_own_and_recorded_side_by_side() {
    if !can_record() {
        testkit::guard::missing(
            testkit::guard::SKIP_PRIVILEGED,
            "recording the class's captures needs root, tcpdump and editcap",
        );
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    let ids = ["ana", "ben", "cy"];
    let (course, roster, tokens) = class(dir, &ids);
    let out_dir = dir.join("captures");
    let out = run(runner_in(dir)
        .args([
            "teacher", "captures", "--lab", "1", "--jobs", "3", "--course",
        ])
        .arg(&course)
        .arg("--roster")
        .arg(&roster)
        .arg("--out")
        .arg(&out_dir));
    assert!(out.status.success(), "{}", describe(&out));
    let has = |bytes: &[u8], text: &str| bytes.windows(text.len()).any(|w| w == text.as_bytes());
    for id in ids {
        let file = out_dir.join(id).join("lab1.pcapng");
        let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        // Each capture holds its student's login and no classmate's, though they were
        // recorded at the same time on one loopback interface.
        for other in ids {
            let s = Secrets::for_student(&tokens[other], 1);
            assert_eq!(
                has(&bytes, &format!("PASS {}\r\n", s.password)),
                other == id,
                "{other}'s password in {id}'s capture"
            );
        }
    }
    // A student's offline lab runs from the capture made for them.
    let work = dir.join("w");
    let capture = out_dir.join("ben").join("lab1.pcapng");
    let out = run(runner_in(&work)
        .args(["lab", "1", "--offline", "--auto", "--student"])
        .arg(tokens["ben"].to_string())
        .arg("--capture")
        .arg(&capture));
    assert!(out.status.success(), "{}", describe(&out));
}

#[test]
fn captures_without_root_say_what_is_needed() {
    let bin = env!("CARGO_BIN_EXE_ftplab-lab");
    let args = [
        "teacher",
        "captures",
        "--course",
        "/nonexistent/course.toml",
        "--roster",
        "/nonexistent/roster.csv",
        "--out",
        "/nonexistent/out",
    ];
    // As root, drop to `nobody` for this run (setpriv, util-linux).
    let mut cmd = if rustix::process::geteuid().is_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", bin]);
        c
    } else {
        Command::new(bin)
    };
    let out = run(cmd.args(args).current_dir("/"));
    let err = String::from_utf8_lossy(&out.stderr);
    if err.contains("setpriv") || out.status.code() == Some(126) {
        eprintln!("SKIPPED: cannot run the runner as nobody here: {err}");
        return;
    }
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        err.contains("needs root") && err.contains("sudo"),
        "{}",
        describe(&out)
    );
}
