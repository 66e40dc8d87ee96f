//! `ftp-client --tls` against our server: whom it trusts (a pinned fingerprint, the user at the
//! terminal, `--tls-insecure`, never an unknown certificate in a script), `SSLKEYLOGFILE`,
//! `--prot c`, and a server without FTPS. The real-server round trips over TLS are in
//! `real_servers.rs` (`over_tls`).

mod common;

use common::{CLIENT_BIN, Peer, describe, run_with_stdin, stderr};
use std::process::{Command, Output};
use std::thread;
use std::time::{Duration, Instant};
use testkit::ftp_server::{FtpServerProcess, ServeOptions};

/// Our server with the demo certificate, FTPS optional, and the fingerprint it announced.
fn tls_server(extra: &[&str]) -> (FtpServerProcess, String) {
    let server = FtpServerProcess::start(
        &common::server_bin(),
        ServeOptions {
            extra,
            tls: true,
            ..ServeOptions::default()
        },
    );
    let fingerprint = server
        .stdout()
        .split_whitespace()
        .find(|w| w.starts_with("SHA256:"))
        .map(str::to_owned)
        .expect("serve prints the certificate's fingerprint");
    (server, fingerprint)
}

/// `ftp-client 127.0.0.1 PORT -u user1 --password-stdin ARGS -c COMMANDS`.
fn client(server: &FtpServerProcess, args: &[&str], commands: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    run_with_stdin(
        Command::new(CLIENT_BIN)
            .current_dir(dir.path())
            .args(["127.0.0.1", &server.port.to_string()])
            .args(["-u", "user1", "--password-stdin"])
            .args(args)
            .args(["-c", commands]),
        b"pass1\n",
    )
}

#[test]
fn a_script_refuses_an_unknown_certificate_naming_its_fingerprint_and_the_way_out() {
    let (server, fingerprint) = tls_server(&[]);
    let out = client(&server, &["--tls"], "pwd");
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let said = stderr(&out);
    for part in [
        &fingerprint[..],
        "--tls-fingerprint",
        "--tls-insecure",
        "self-signed",
    ] {
        assert!(said.contains(part), "{part:?} missing:\n{said}");
    }
    assert!(
        server
            .wait_for_log_line(Duration::from_secs(5), |l| l.contains("TLS handshake"))
            .is_some(),
        "the server saw the handshake fail:\n{}",
        server.log_tail(20)
    );
    assert!(
        !server.stderr().contains("USER"),
        "no USER may be sent before TLS is up"
    );
}

#[test]
fn a_pinned_fingerprint_is_trusted_and_a_different_one_refused() {
    let (server, fingerprint) = tls_server(&[]);
    let out = client(
        &server,
        &["--tls", "--tls-fingerprint", &fingerprint, "--debug"],
        "get welcome.txt -",
    );
    assert!(out.status.success(), "{}", describe(&out));
    assert!(common::stdout(&out).starts_with("Welcome to ftplab"));
    assert!(stderr(&out).contains("data connection encrypted: TLS"));

    let wrong = format!("SHA256:{}", ["00"; 32].join(":"));
    let out = client(&server, &["--tls", "--tls-fingerprint", &wrong], "pwd");
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(
        stderr(&out).contains("not the pinned"),
        "{}",
        describe(&out)
    );

    let out = client(&server, &["--tls", "--tls-fingerprint", "SHA256:12"], "pwd");
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
}

#[test]
fn tls_insecure_connects_and_sslkeylogfile_receives_the_secrets() {
    let (server, _) = tls_server(&[]);
    let dir = tempfile::tempdir().unwrap();
    let keylog = dir.path().join("keys.log");
    let out = run_with_stdin(
        Command::new(CLIENT_BIN)
            .current_dir(dir.path())
            .env("SSLKEYLOGFILE", &keylog)
            .args(["127.0.0.1", &server.port.to_string()])
            .args(["-u", "user1", "--password-stdin", "--tls", "--tls-insecure"])
            .args(["-c", "ls; get welcome.txt"]),
        b"pass1\n",
    );
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        stderr(&out).contains("SSLKEYLOGFILE is set"),
        "{}",
        describe(&out)
    );
    let secrets = std::fs::read_to_string(&keylog).expect("the key log was written");
    // TLS 1.3: one handshake and one traffic secret pair per connection, control and data.
    let traffic = secrets
        .lines()
        .filter(|l| l.starts_with("CLIENT_TRAFFIC_SECRET_0 "))
        .count();
    assert!(traffic >= 3, "control + 2 data connections:\n{secrets}");
    let line = server
        .wait_for_log_line(Duration::from_secs(5), |l| {
            l.contains("transfer complete") && l.contains("RETR /welcome.txt")
        })
        .expect("transfer logged");
    assert!(line.contains("protection=TLS"), "{line}");
}

#[test]
fn prot_c_leaves_the_data_connection_in_clear_and_says_so() {
    let (server, fingerprint) = tls_server(&[]);
    let out = client(
        &server,
        &[
            "--tls",
            "--tls-fingerprint",
            &fingerprint,
            "--prot",
            "c",
            "--debug",
        ],
        "get welcome.txt",
    );
    assert!(out.status.success(), "{}", describe(&out));
    let trace = stderr(&out);
    assert!(trace.contains("--> PROT C"), "{trace}");
    assert!(trace.contains("in clear text (--prot c)"), "{trace}");
    assert!(!trace.contains("data connection encrypted"), "{trace}");
    let line = server
        .wait_for_log_line(Duration::from_secs(5), |l| {
            l.contains("transfer complete") && l.contains("RETR /welcome.txt")
        })
        .expect("transfer logged");
    assert!(line.contains("protection=clear"), "{line}");

    // A server that requires TLS on data connections refuses PROT C.
    let (strict, fingerprint) = tls_server(&["--tls", "required"]);
    let out = client(
        &strict,
        &["--tls", "--tls-fingerprint", &fingerprint, "--prot", "c"],
        "pwd",
    );
    assert!(!out.status.success(), "{}", describe(&out));
    assert!(stderr(&out).contains("534"), "{}", describe(&out));
}

#[test]
fn tls_against_a_server_without_ftps_stops_before_the_password() {
    let peer = Peer::ours(&[]);
    let dir = tempfile::tempdir().unwrap();
    let out = run_with_stdin(
        Command::new(CLIENT_BIN)
            .current_dir(dir.path())
            .args(["127.0.0.1", &peer.port.to_string()])
            .args(["-u", "user1", "--password-stdin", "--tls", "--debug"])
            .args(["-c", "pwd"]),
        b"pass1\n",
    );
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let said = stderr(&out);
    assert!(said.contains("offers no FTPS"), "{said}");
    assert!(!said.contains("--> USER"), "{said}");
}

/// A detached tmux session on its own server socket, killed on drop.
struct Terminal {
    socket: String,
}

impl Terminal {
    fn start(command: &str) -> Terminal {
        let socket = format!("ftps-test-{}-{}", std::process::id(), rand::random::<u32>());
        let out = common::run(
            Command::new("tmux")
                .args(["-L", &socket, "-f", "/dev/null", "new-session", "-d"])
                .args(["-s", "t", "-x", "200", "-y", "50"])
                .arg(format!("{command}; sleep 30")),
        );
        common::assert_success(&out, "tmux new-session (is tmux installed?)");
        Terminal { socket }
    }

    fn line(&self, line: &str) {
        for keys in [&["-l", line][..], &["Enter"]] {
            let out = common::run(
                Command::new("tmux")
                    .args(["-L", &self.socket, "send-keys", "-t", "t"])
                    .args(keys),
            );
            common::assert_success(&out, "tmux send-keys");
        }
    }

    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let out = common::run(Command::new("tmux").args([
                "-L",
                &self.socket,
                "capture-pane",
                "-p",
                "-J",
                "-t",
                "t",
                "-S",
                "-300",
            ]));
            let screen = common::stdout(&out);
            if screen.contains(text) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "the terminal never showed {text:?}:\n{screen}"
            );
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = common::run(Command::new("tmux").args(["-L", &self.socket, "kill-server"]));
    }
}

#[test]
fn the_shell_shows_an_unknown_certificate_and_trusts_it_only_when_told() {
    let (server, fingerprint) = tls_server(&[]);
    let url = format!("ftp://user1:pass1@127.0.0.1:{}/", server.port);

    let term = Terminal::start(&format!("{CLIENT_BIN} --tls {url}"));
    let screen = term.wait_for("Trust this certificate for this session? [y/N]");
    assert!(screen.contains(&fingerprint), "{screen}");
    term.line("y");
    term.wait_for("230 Login successful.");
    term.line("get welcome.txt -");
    term.wait_for("Welcome to ftplab, user1.");
    term.line("status");
    term.wait_for("TLS: control connection and data connections encrypted (PROT P)");
    term.line("bye");
    term.wait_for("221");

    let refused = Terminal::start(&format!("{CLIENT_BIN} --tls {url}"));
    refused.wait_for("Trust this certificate for this session? [y/N]");
    refused.line("n");
    refused.wait_for("--tls-fingerprint");
}
