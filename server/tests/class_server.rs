//! A class server: two `ftp-server` instances on one database share the login lockouts, so
//! guesses spread across them are counted together. MariaDB (a fresh database per test on
//! 127.0.0.1:3306, skipped with FTPLAB_SKIP_MYSQL=1) and a shared SQLite file.

mod common;

use std::path::Path;
use std::thread;
use std::time::Duration;

use common::{Control, FtpServerProcess, MysqlDatabase, SERVER_BIN, ServeOptions, mariadb};

/// One instance of `ftp-server serve` on `db_url` with `extra` options.
fn instance(db_url: &str, extra: &[&str]) -> FtpServerProcess {
    FtpServerProcess::start(
        Path::new(SERVER_BIN),
        ServeOptions {
            db_url: Some(db_url.to_owned()),
            extra,
            ..ServeOptions::default()
        },
    )
}

/// Two instances on `db_url`, each with `extra` options.
fn two_instances(db_url: &str, extra: &[&str]) -> [FtpServerProcess; 2] {
    [0, 1].map(|_| instance(db_url, extra))
}

/// Logs in on a new connection; returns the reply code and text of PASS, or the greeting
/// when it is not 220 (a locked-out address gets 421 at connect).
fn try_login(server: &FtpServerProcess, user: &str, pass: &str) -> (u16, String) {
    let mut c = Control::connect(server.addr());
    let greeting = c.read_reply();
    if greeting.code != 220 {
        return (greeting.code, greeting.text);
    }
    let reply = c.cmd(&format!("USER {user}"));
    if reply.code != 331 {
        return (reply.code, reply.text);
    }
    let reply = c.cmd(&format!("PASS {pass}"));
    (reply.code, reply.text)
}

/// A wrong password that the server judged (not refused unchecked).
fn assert_judged_wrong(server: &FtpServerProcess, user: &str, what: &str) {
    let (code, text) = try_login(server, user, "wrong");
    assert_eq!(
        (code, text.contains("Login incorrect")),
        (530, true),
        "{what}: {code} {text}\n{}",
        server.log_tail(20)
    );
}

fn assert_address_locked(server: &FtpServerProcess, what: &str) {
    let (code, text) = try_login(server, "user1", "pass1");
    assert_eq!(code, 421, "{what}: {text}");
    assert!(
        text.contains("Too many failed logins from your address"),
        "{what}: {text}"
    );
}

/// Six wrong guesses, alternating between the instances (three on each), lock the address on
/// both: counted per instance, neither would have reached six.
fn guesses_across_instances_lock_the_address(db_url: &str, extra: &[&str]) {
    let mut options = vec![
        "--max-login-failures",
        "6",
        "--max-user-login-failures",
        "0",
    ];
    options.extend_from_slice(extra);
    let servers = two_instances(db_url, &options);
    for guess in 0..6 {
        let server = &servers[guess % 2];
        let user = format!("user{}", guess % 4 + 1);
        assert_judged_wrong(server, &user, &format!("guess {guess}"));
    }
    for (n, server) in servers.iter().enumerate() {
        assert_address_locked(server, &format!("instance {n} after 6 guesses in total"));
    }
    assert!(
        servers[0]
            .wait_for_log_line(Duration::from_secs(5), |l| l.contains("refused"))
            .is_some(),
        "{}",
        servers[0].log_tail(20)
    );
}

#[test]
fn an_address_guessing_across_two_mariadb_instances_is_locked_after_the_limit_in_total() {
    let Some(db) = MysqlDatabase::create() else {
        return;
    };
    guesses_across_instances_lock_the_address(&db.url(), &[]);
}

#[test]
fn two_instances_on_one_sqlite_file_share_lockouts_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/class.db", dir.path().display());
    guesses_across_instances_lock_the_address(&url, &["--lockout-store", "database"]);
}

#[test]
fn instances_on_one_sqlite_file_count_apart_by_default() {
    // The default for SQLite stays in memory: three guesses on each of two instances lock
    // neither address budget of six.
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/class.db", dir.path().display());
    let servers = two_instances(
        &url,
        &[
            "--max-login-failures",
            "6",
            "--max-user-login-failures",
            "0",
        ],
    );
    for guess in 0..6 {
        assert_judged_wrong(&servers[guess % 2], "user2", &format!("guess {guess}"));
    }
    for server in &servers {
        assert_eq!(try_login(server, "user1", "pass1").0, 230);
    }
}

#[test]
fn a_success_on_one_mariadb_instance_keeps_another_users_failures_from_the_other() {
    let Some(db) = MysqlDatabase::create() else {
        return;
    };
    let [a, b] = two_instances(
        &db.url(),
        &[
            "--max-login-failures",
            "100",
            "--max-user-login-failures",
            "3",
        ],
    );
    assert_judged_wrong(&a, "user2", "first guess at user2");
    assert_judged_wrong(&a, "user2", "second guess at user2");
    // The guesser's own account, on the other instance: forgives user1's failures only.
    assert_eq!(try_login(&b, "user1", "pass1").0, 230);
    assert_judged_wrong(&b, "user2", "third guess at user2");
    let (code, text) = try_login(&a, "user2", "pass2");
    assert_eq!(code, 530, "{text}");
    assert!(
        text.contains("Too many failed logins for user2"),
        "user2 should be locked from this address on both instances: {text}"
    );
    let (code, text) = try_login(&b, "user2", "pass2");
    assert_eq!(code, 530, "{text}");
    // The other users behind the address go on, on both instances.
    assert_eq!(try_login(&a, "user1", "pass1").0, 230);
    assert_eq!(try_login(&b, "user3", "pass3").0, 230);
}

#[test]
fn a_mariadb_lockout_ends_after_lockout_secs_on_both_instances() {
    let Some(db) = MysqlDatabase::create() else {
        return;
    };
    let servers = two_instances(
        &db.url(),
        &[
            "--max-login-failures",
            "2",
            "--max-user-login-failures",
            "0",
            "--lockout-secs",
            "1",
        ],
    );
    assert_judged_wrong(&servers[0], "user1", "first guess");
    assert_judged_wrong(&servers[1], "user1", "second guess");
    assert_address_locked(&servers[0], "instance 0");
    assert_address_locked(&servers[1], "instance 1");
    thread::sleep(Duration::from_millis(1300));
    for server in &servers {
        let (code, text) = try_login(server, "user1", "pass1");
        assert_eq!(code, 230, "lockout should be over: {text}");
    }
    // The budget starts afresh: one failure does not lock again.
    assert_judged_wrong(&servers[0], "user2", "after the lockout");
    assert_eq!(try_login(&servers[1], "user1", "pass1").0, 230);
}

#[test]
fn unreadable_lockout_tables_refuse_logins_with_530_and_a_log_line() {
    let Some(db) = MysqlDatabase::create() else {
        return;
    };
    let [a, b] = two_instances(&db.url(), &[]);
    assert_eq!(try_login(&a, "user1", "pass1").0, 230);
    let drop = mariadb(&format!("DROP TABLE `{}`.ftplab_login_failures", db.name()));
    assert!(drop.status.success(), "{}", common::describe(&drop));
    for server in [&a, &b] {
        let (code, text) = try_login(server, "user1", "pass1");
        assert_eq!(code, 530, "{text}");
        assert!(
            text.contains("login failure database is unavailable"),
            "{text}"
        );
        assert!(
            server
                .wait_for_log_line(Duration::from_secs(5), |l| l
                    .contains("cannot read the login failure tables"))
                .is_some(),
            "{}",
            server.log_tail(20)
        );
        // Still serving: the greeting comes, nothing panicked.
        let mut c = Control::connect(server.addr());
        assert_eq!(c.read_reply().code, 220);
        assert!(!server.stderr().contains("panicked"));
    }
}

#[test]
fn parallel_guesses_split_over_two_mariadb_instances_judge_no_more_than_the_limit() {
    let Some(db) = MysqlDatabase::create() else {
        return;
    };
    let limit = 6;
    let servers = two_instances(
        &db.url(),
        &[
            "--max-login-failures",
            "6",
            "--max-user-login-failures",
            "0",
            "--max-sessions-per-address",
            "200",
        ],
    );
    let mut sessions: Vec<Control> = (0..40)
        .map(|i| {
            let mut c = Control::connect(servers[i % 2].addr());
            assert_eq!(c.read_reply().code, 220);
            c.expect("USER user1", 331);
            c
        })
        .collect();
    // All guesses leave at once, half to each instance.
    for (i, c) in sessions.iter_mut().enumerate() {
        c.send_raw(format!("PASS guess{i}\r\n").as_bytes());
    }
    let mut judged = 0;
    let mut refused = 0;
    for c in &mut sessions {
        let reply = c.read_reply();
        match reply.code {
            530 if reply.text.contains("Login incorrect") => judged += 1,
            421 => refused += 1,
            _ => panic!("unexpected reply {reply:?}"),
        }
    }
    eprintln!("judged {judged}, refused {refused}");
    // Checks in flight are rows in the shared tables: an instance lets one through beyond
    // the limit only when the other's insert was not yet visible to it.
    assert!(judged >= limit, "{judged} judged");
    assert!(
        judged <= limit + 2,
        "{judged} wrong guesses judged, limit {limit}"
    );
    assert_eq!(judged + refused, 40);
    for server in &servers {
        assert_address_locked(server, "after the parallel guesses");
    }
}

#[test]
fn a_mariadb_lockout_outlives_a_restart_of_the_instance() {
    let Some(db) = MysqlDatabase::create() else {
        return;
    };
    let options = [
        "--max-login-failures",
        "2",
        "--max-user-login-failures",
        "0",
    ];
    let [mut a, _b] = two_instances(&db.url(), &options);
    assert_judged_wrong(&a, "user1", "first guess");
    assert_judged_wrong(&a, "user1", "second guess");
    assert_address_locked(&a, "before the restart");
    assert!(a.terminate(Duration::from_secs(10)).is_some());
    let restarted = instance(&db.url(), &options);
    assert_address_locked(&restarted, "after the restart");
}
