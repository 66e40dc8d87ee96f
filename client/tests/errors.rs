//! Error paths: each failure says what happened and what to do, exits non-zero, and never
//! leaves a partial download under the final name.

mod common;

use common::{CLIENT_BIN, FakeScript, FakeServer, Peer, run_with_stdin, stderr};
use std::fs;
use std::process::{Command, Output};

/// `ftp-client 127.0.0.1 PORT -u user1 --password-stdin -c COMMANDS` in `cwd`.
fn client_at(
    port: u16,
    cwd: &std::path::Path,
    password: &str,
    commands: &str,
    extra: &[&str],
) -> Output {
    let mut cmd = Command::new(CLIENT_BIN);
    cmd.current_dir(cwd)
        .args([
            "127.0.0.1",
            &port.to_string(),
            "-u",
            "user1",
            "--password-stdin",
        ])
        .args(["-c", commands])
        .args(extra);
    run_with_stdin(&mut cmd, format!("{password}\n").as_bytes())
}

#[test]
fn connection_refused_says_nothing_listens_and_exits_3() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = client_at(common::free_port(), dir.path(), "x", "ls", &[]);
    assert_eq!(out.status.code(), Some(3), "{}", common::describe(&out));
    assert!(
        stderr(&out).contains("Nothing listens there"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn wrong_password_gets_530_with_a_hint_and_exits_3() {
    let peer = Peer::ours(&[]);
    let dir = peer.local_dir("down");
    let out = client_at(peer.port, &dir, "wrong", "ls", &[]);
    assert_eq!(out.status.code(), Some(3), "{}", common::describe(&out));
    let err = stderr(&out);
    assert!(err.contains("530"), "{err}");
    assert!(err.contains("check the user name and password"), "{err}");
}

#[test]
fn missing_remote_file_gets_550_and_leaves_no_local_file() {
    let peer = Peer::ours(&[]);
    let dir = peer.local_dir("down");
    let out = client_at(peer.port, &dir, "pass1", "get nope.bin", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", common::describe(&out));
    let err = stderr(&out);
    assert!(
        err.contains("550") && err.contains("`ls` shows what is there"),
        "{err}"
    );
    assert_eq!(fs::read_dir(&dir).map(Iterator::count).unwrap_or(99), 0);
}

#[test]
fn unwritable_local_file_is_reported_before_retr_is_sent() {
    let peer = Peer::ours(&[]);
    let dir = peer.local_dir("down");
    let out = client_at(
        peer.port,
        &dir,
        "pass1",
        "get welcome.txt /nonexistent/dir/w.txt",
        &["--debug"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", common::describe(&out));
    let err = stderr(&out);
    assert!(
        err.contains("cannot create local file /nonexistent/dir/w.txt.part"),
        "{err}"
    );
    assert!(!err.contains("--> RETR"), "RETR must not be sent:\n{err}");
}

#[test]
fn data_connection_that_cannot_be_opened_suggests_the_other_mode() {
    let fake = FakeServer::start(FakeScript {
        dead_passive_port: true,
        ..FakeScript::default()
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let out = client_at(fake.port, dir.path(), "x", "get x.bin", &["--timeout", "5"]);
    assert_eq!(out.status.code(), Some(1), "{}", common::describe(&out));
    let err = stderr(&out);
    assert!(
        err.contains("cannot open the data connection (passive"),
        "{err}"
    );
    assert!(err.contains("try `active` mode"), "{err}");
    assert!(!fake.received().iter().any(|l| l.starts_with("RETR")));
}

#[test]
fn refused_epsv_falls_back_to_pasv_and_a_nat_address_is_reported_and_bypassed() {
    let fake = FakeServer::start(FakeScript {
        refuse_epsv: true,
        pasv_ip: [10, 1, 2, 3],
        ..FakeScript::default()
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let out = client_at(fake.port, dir.path(), "x", "get x.bin", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", common::describe(&out));
    let err = stderr(&out);
    assert!(
        err.contains("refused EPSV (500): falling back to PASV"),
        "{err}"
    );
    assert!(err.contains("advertises 10.1.2.3:"), "{err}");
    assert!(err.contains("Connecting to 127.0.0.1:"), "{err}");
    assert_eq!(
        fs::read(dir.path().join("x.bin")).ok(),
        Some(b"hello\n".to_vec())
    );
    let verbs: Vec<String> = fake
        .received()
        .iter()
        .map(|l| l.split(' ').next().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        verbs,
        ["USER", "PASS", "TYPE", "EPSV", "PASV", "RETR", "QUIT"]
    );
}

#[test]
fn our_servers_passive_address_is_reported_as_nat_with_pasv_only() {
    let peer = Peer::ours(&["--passive-address", "10.9.8.7"]);
    let dir = peer.local_dir("down");
    let out = client_at(
        peer.port,
        &dir,
        "pass1",
        "get welcome.txt",
        &["--no-extended"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", common::describe(&out));
    assert!(
        stderr(&out).contains("advertises 10.9.8.7:"),
        "{}",
        stderr(&out)
    );
    assert!(dir.join("welcome.txt").exists());
}

#[test]
fn broken_download_keeps_the_bytes_only_in_the_part_file() {
    let fake = FakeServer::start(FakeScript {
        retr_bytes: vec![7u8; 5000],
        retr_final: "426 Connection closed; transfer aborted.".into(),
        ..FakeScript::default()
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let out = client_at(fake.port, dir.path(), "x", "get x.bin", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", common::describe(&out));
    let err = stderr(&out);
    assert!(
        err.contains("426") && err.contains("`reget` resumes"),
        "{err}"
    );
    assert!(
        !dir.path().join("x.bin").exists(),
        "no file under the final name"
    );
    assert_eq!(
        fs::metadata(dir.path().join("x.bin.part"))
            .map(|m| m.len())
            .ok(),
        Some(5000)
    );
}

#[test]
fn unknown_command_and_missing_argument_get_one_line_hints_and_exit_2() {
    let peer = Peer::ours(&[]);
    let dir = peer.local_dir("down");
    let out = client_at(peer.port, &dir, "pass1", "frobnicate x", &[]);
    assert_eq!(out.status.code(), Some(2), "{}", common::describe(&out));
    assert!(
        stderr(&out).contains("`help` lists the commands"),
        "{}",
        stderr(&out)
    );
    let out = client_at(peer.port, &dir, "pass1", "pwd; get", &[]);
    assert_eq!(out.status.code(), Some(2), "{}", common::describe(&out));
    assert!(
        stderr(&out).contains("usage: get REMOTE"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("panicked"));
}
