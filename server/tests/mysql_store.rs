//! The server with its users in MariaDB (a fresh database per test on 127.0.0.1:3306): login,
//! round trips, a wrong password, and users managed with the `user` subcommands.
//! Fails when MariaDB is unreachable, unless FTPLAB_SKIP_MYSQL=1.

mod common;

use std::fs;
use std::process::Command;

use common::{MIB, TestServer, describe, random_file, run, sha256_file};

fn round_trip(active: bool) {
    let Some(server) = TestServer::start_mysql(&[]) else {
        return;
    };
    let local = tempfile::tempdir().unwrap();
    let src = local.path().join("src.bin");
    let back = local.path().join("back.bin");
    let hash = random_file(&src, MIB);
    let url = format!("{}mysql.bin", server.url(3));
    let mode: &[&str] = if active {
        &["--ftp-port", "127.0.0.1"]
    } else {
        &[]
    };

    let up = run(Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "60"])
        .args(mode)
        .args(["-T", src.to_str().unwrap(), &url]));
    server.assert_success(&up, "curl upload");
    assert_eq!(
        sha256_file(&server.root(3).join("mysql.bin")),
        hash,
        "on disk"
    );

    let down = run(Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "60"])
        .args(mode)
        .args(["-o", back.to_str().unwrap(), &url]));
    server.assert_success(&down, "curl download");
    assert_eq!(sha256_file(&back), hash, "downloaded");
}

#[test]
fn mysql_users_log_in_and_round_trip_1_mib_in_passive_mode() {
    round_trip(false);
}

#[test]
fn mysql_users_log_in_and_round_trip_1_mib_in_active_mode() {
    round_trip(true);
}

#[test]
fn mysql_wrong_password_is_refused_with_530() {
    let Some(server) = TestServer::start_mysql(&[]) else {
        return;
    };
    let mut c = server.connect();
    c.expect("USER user2", 331);
    c.expect("PASS pass1", 530);
    c.expect("USER user2", 331);
    c.expect("PASS pass2", 230);
}

#[test]
fn mysql_database_holds_the_demo_users_without_plain_passwords() {
    let Some(server) = TestServer::start_mysql(&[]) else {
        return;
    };
    let name = server.db_url.rsplit('/').next().unwrap().to_string();
    let dump = run(Command::new("mariadb-dump").args([
        "-uroot",
        "-h127.0.0.1",
        "-P3306",
        "--skip-comments",
        &name,
    ]));
    server.assert_success(&dump, "mariadb-dump");
    let dump = String::from_utf8_lossy(&dump.stdout);
    for n in 1..=4 {
        assert!(
            dump.contains(&format!("'user{n}'")),
            "user{n} missing from the dump"
        );
        assert!(
            !dump.contains(&format!("'pass{n}'")),
            "pass{n} stored in clear text"
        );
    }
}

#[test]
fn mysql_user_add_passwd_and_remove_take_effect_on_a_running_server() {
    let Some(server) = TestServer::start_mysql(&[]) else {
        return;
    };
    let root = server.dir.path().join("alice-root");
    fs::create_dir(&root).unwrap();
    fs::write(root.join("hello.txt"), b"hi alice").unwrap();

    let out = server.admin(
        &[
            "user",
            "add",
            "alice",
            "--root",
            root.to_str().unwrap(),
            "--password-stdin",
        ],
        Some("s3cret-alice\n"),
    );
    server.assert_success(&out, "user add");
    let list = server.admin(&["user", "list"], None);
    server.assert_success(&list, "user list");
    assert!(
        String::from_utf8_lossy(&list.stdout).contains("alice"),
        "{}",
        describe(&list)
    );

    let mut c = server.connect();
    c.login("alice", "s3cret-alice");
    let (first, bytes, _) = c.retr("hello.txt");
    assert!(matches!(first.code, 125 | 150), "{first:?}");
    assert_eq!(bytes, b"hi alice");
    drop(c);

    let out = server.admin(
        &["user", "passwd", "alice", "--password-stdin"],
        Some("new-pw\n"),
    );
    server.assert_success(&out, "user passwd");
    let mut c = server.connect();
    c.expect("USER alice", 331);
    c.expect("PASS s3cret-alice", 530);
    c.expect("USER alice", 331);
    c.expect("PASS new-pw", 230);
    drop(c);

    let out = server.admin(&["user", "remove", "alice"], None);
    server.assert_success(&out, "user remove");
    let mut c = server.connect();
    c.expect("USER alice", 331);
    c.expect("PASS new-pw", 530);
}
