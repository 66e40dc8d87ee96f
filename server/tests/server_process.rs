//! The `ftp-server serve` process as an operator sees it: several listeners (IPv4 and IPv6),
//! the sha256 log lines, JSON logs, read-only anonymous access, and stopping on SIGTERM.

mod common;

use std::fs;
use std::process::Command;
use std::time::Duration;

use common::{Control, MIB, TestServer, random_file, run, sha256_file, sha256_hex};

fn curl(server: &TestServer, args: &[&str]) -> Vec<u8> {
    let out = run(Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "60"])
        .args(args));
    server.assert_success(&out, &format!("curl {args:?}"));
    out.stdout
}

/// The `<64 hex>` after `sha256=` in a log line, if there is one (a placeholder like
/// `sha256=-` is not a hash).
fn logged_sha256(line: &str) -> Option<&str> {
    let start = line.find("sha256=")? + "sha256=".len();
    let hash = line.get(start..start + 64)?;
    hash.bytes().all(|b| b.is_ascii_hexdigit()).then_some(hash)
}

#[test]
fn ipv6_listener_serves_passive_and_active_transfers() {
    let server = TestServer::start(&["--listen", "[::1]:0"]);
    let line = server
        .wait_for_stdout_line(Duration::from_secs(10), |l| {
            l.starts_with("listening on ftp://[::1]:")
        })
        .unwrap_or_else(|| panic!("no IPv6 listening line:\n{}", server.stdout()));
    let port: u16 = line
        .trim()
        .trim_start_matches("listening on ftp://[::1]:")
        .trim_end_matches('/')
        .parse()
        .unwrap_or_else(|e| panic!("{line}: {e}"));

    let expected = fs::read(server.root(1).join("welcome.txt")).unwrap();
    let url = format!("ftp://user1:pass1@[::1]:{port}/welcome.txt");
    // curl uses EPSV (RFC 2428) in passive and EPRT |2|::1|…| in active mode over IPv6.
    assert_eq!(curl(&server, &[&url]), expected, "IPv6 passive");
    assert_eq!(
        curl(&server, &["--ftp-port", "::1", &url]),
        expected,
        "IPv6 active"
    );
}

#[test]
fn downloads_are_logged_with_sha256_only_with_hash_downloads() {
    let hashed = TestServer::start(&["--hash-downloads"]);
    let hash = random_file(&hashed.root(1).join("hashed.bin"), MIB);
    let got = curl(&hashed, &[&format!("{}hashed.bin", hashed.url(1))]);
    assert_eq!(sha256_hex(&got), hash);
    let line = hashed
        .wait_for_log_line(Duration::from_secs(5), |l| {
            l.contains("hashed.bin") && l.contains("sha256=")
        })
        .unwrap_or_else(|| panic!("no download hash line:\n{}", hashed.stderr()));
    assert!(line.contains(&format!("sha256={hash}")), "{line}");
    assert!(line.contains(&format!("size={MIB}")), "{line}");

    let plain = TestServer::start(&[]);
    random_file(&plain.root(1).join("plain.bin"), 1000);
    curl(&plain, &[&format!("{}plain.bin", plain.url(1))]);
    std::thread::sleep(Duration::from_millis(300));
    let log = plain.stderr();
    assert!(
        !log.lines()
            .any(|l| l.contains("plain.bin") && logged_sha256(l).is_some()),
        "download hashed without --hash-downloads:\n{log}"
    );
}

#[test]
fn json_log_format_writes_one_json_object_per_line_with_the_upload_hash() {
    let server = TestServer::start_global(&["--log-format", "json"], &[]);
    let local = tempfile::tempdir().unwrap();
    let src = local.path().join("j.bin");
    let hash = random_file(&src, 5000);
    curl(
        &server,
        &[
            "-T",
            src.to_str().unwrap(),
            &format!("{}j.bin", server.url(1)),
        ],
    );
    assert_eq!(sha256_file(&server.root(1).join("j.bin")), hash);

    let found = server.wait_for_log_line(Duration::from_secs(5), |l| l.contains(&hash));
    assert!(
        found.is_some(),
        "no log line with the hash:\n{}",
        server.stderr()
    );
    let log = server.stderr();
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        let value: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert!(value.is_object(), "{line}");
    }
}

#[test]
fn sigterm_stops_the_server_and_idle_sessions_get_421() {
    let mut server = TestServer::start(&[]);
    let mut c = server.login(1);
    let status = server
        .terminate(Duration::from_secs(15))
        .unwrap_or_else(|| panic!("still running 15 s after SIGTERM:\n{}", server.stderr()));
    assert!(status.success(), "exit status after SIGTERM: {status}");
    let reply = c.try_read_reply();
    assert!(
        matches!(&reply, Ok(r) if r.code == 421),
        "idle session at shutdown: {reply:?}"
    );
    assert!(
        std::net::TcpStream::connect(server.addr()).is_err(),
        "still accepting connections after SIGTERM"
    );
}

#[test]
fn anonymous_access_is_read_only_and_announced() {
    let public = tempfile::tempdir().unwrap();
    fs::write(public.path().join("notes.txt"), b"public notes").unwrap();
    let server = TestServer::start(&["--anonymous", public.path().to_str().unwrap()]);
    let warning = server
        .wait_for_log_line(Duration::from_secs(5), |l| l.contains("WARNING"))
        .unwrap_or_else(|| panic!("no WARNING for --anonymous:\n{}", server.stderr()));
    assert!(
        warning.to_ascii_lowercase().contains("anonymous"),
        "{warning}"
    );

    let mut c = Control::connect(server.addr());
    let greeting = c.read_reply();
    assert_eq!(greeting.code, 220, "{greeting:?}");
    assert!(greeting.text.contains("WARNING"), "{greeting:?}");
    c.expect("USER anonymous", 331);
    c.expect("PASS guest@example.org", 230);
    let (first, bytes, _) = c.retr("notes.txt");
    assert!(matches!(first.code, 125 | 150), "{first:?}");
    assert_eq!(bytes, b"public notes");

    for cmd in ["MKD new", "DELE notes.txt", "RNFR notes.txt", "STOR up.txt"] {
        let mut data = None;
        if cmd.starts_with("STOR") {
            data = Some(c.open_passive());
        }
        let reply = c.cmd(cmd);
        drop(data);
        assert!(
            (500..600).contains(&reply.code),
            "{cmd} as anonymous must be refused: {reply:?}"
        );
    }
    assert_eq!(
        common::dir_names(public.path()),
        ["notes.txt"],
        "nothing changed"
    );
    assert_eq!(
        fs::read(public.path().join("notes.txt")).unwrap(),
        b"public notes"
    );
}

#[test]
fn anonymous_login_is_refused_by_default() {
    let server = TestServer::start(&[]);
    let mut c = server.connect();
    let user = c.cmd("USER anonymous");
    if user.code == 331 {
        let pass = c.cmd("PASS guest@example.org");
        assert_eq!(pass.code, 530, "{pass:?}");
    } else {
        assert_eq!(user.code, 530, "{user:?}");
    }
}

#[test]
fn idle_session_gets_421_and_is_closed_after_the_idle_timeout() {
    let server = TestServer::start(&["--idle-timeout-secs", "1"]);
    let mut c = server.login(1);
    let start = std::time::Instant::now();
    let reply = c.read_reply();
    let waited = start.elapsed();
    assert_eq!(reply.code, 421, "{reply:?}");
    assert!(
        waited >= Duration::from_millis(800) && waited < Duration::from_secs(10),
        "421 after {waited:?}, want about 1 s"
    );
    assert!(
        c.try_read_reply().is_err(),
        "connection still open after 421"
    );
}

#[test]
fn passive_transfer_nobody_connects_to_fails_with_425_after_the_data_timeout() {
    let server = TestServer::start(&["--data-timeout-secs", "1"]);
    let mut c = server.login(1);
    c.expect("TYPE I", 200);
    let _addr = c.pasv();
    let first = c.cmd("RETR welcome.txt");
    // Either the server waits for the data connection before its preliminary reply, or it
    // sends 150 first; in both cases the transfer ends with 425 once the timeout passes.
    let end = if matches!(first.code, 125 | 150) {
        c.read_reply()
    } else {
        first
    };
    assert_eq!(end.code, 425, "{end:?}");
    c.expect("NOOP", 200);
}
