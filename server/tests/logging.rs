//! The log as an operator reads it, written by the log writer thread: every session's lines
//! complete and in order, PASS masked, nothing lost when SIGTERM stops the server, in text and
//! in JSON.

mod common;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use common::{TestServer, run};

/// Sessions run at once by the client script, so that their lines interleave.
const SESSIONS: usize = 20;

/// `SESSIONS` ftplib sessions on threads: login, LIST, QUIT.
const CLIENTS: &str = r#"
import ftplib, sys, threading
port, count = int(sys.argv[1]), int(sys.argv[2])
errors = []
def session():
    try:
        ftp = ftplib.FTP()
        ftp.connect('127.0.0.1', port, timeout=60)
        ftp.login('user1', 'pass1')
        ftp.retrlines('LIST', lambda line: None)
        ftp.quit()
    except Exception as e:
        errors.append(repr(e))
threads = [threading.Thread(target=session) for _ in range(count)]
for t in threads: t.start()
for t in threads: t.join()
if errors:
    sys.exit('failed sessions: ' + '; '.join(errors))
"#;

/// What one log line says: its session, and the message (or `command=LINE` for commands).
struct Line {
    session: u64,
    what: String,
}

/// Runs the clients, stops the server with SIGTERM right after, and returns its whole log.
fn log_of_sessions_then_sigterm(global: &[&str]) -> String {
    let mut server = TestServer::start_global(global, &[]);
    let out = run(Command::new("python3")
        .arg("-c")
        .arg(CLIENTS)
        .arg(server.port.to_string())
        .arg(SESSIONS.to_string()));
    server.assert_success(&out, "python3 ftplib sessions");
    let status = server
        .terminate(Duration::from_secs(15))
        .unwrap_or_else(|| panic!("still running 15 s after SIGTERM:\n{}", server.stderr()));
    assert!(status.success(), "exit status after SIGTERM: {status}");
    // The process is gone; its stderr reader may still be draining the pipe.
    server.wait_for_log_line(Duration::from_secs(5), |l| l.contains("shutting down"));
    server.stderr()
}

/// Checks that every session logged connect, USER, masked PASS, login ok, LIST, QUIT, close, in
/// that order, and that the password appears nowhere.
fn assert_complete_sessions(log: &str, lines: &[Line]) {
    assert!(!log.contains("pass1"), "password in the log:\n{log}");
    let mut sessions: BTreeMap<u64, Vec<&str>> = BTreeMap::new();
    for line in lines {
        sessions.entry(line.session).or_default().push(&line.what);
    }
    assert_eq!(sessions.len(), SESSIONS, "sessions in the log:\n{log}");
    for (id, events) in &sessions {
        let want = [
            "connected",
            "command=USER user1",
            "command=PASS ****",
            "login ok",
            "command=LIST",
            "command=QUIT",
            "session closed",
        ];
        let mut at = 0;
        for event in events {
            if at < want.len() && *event == want[at] {
                at += 1;
            }
        }
        assert_eq!(
            at,
            want.len(),
            "session {id} logged {events:?}, want {want:?} in this order"
        );
        assert_eq!(
            events.first(),
            Some(&"connected"),
            "session {id}: {events:?}"
        );
        assert_eq!(
            events.last(),
            Some(&"session closed"),
            "session {id}: {events:?}"
        );
    }
}

#[test]
fn text_log_has_every_sessions_lines_in_order_after_sigterm() {
    let log = log_of_sessions_then_sigterm(&[]);
    let mut lines = Vec::new();
    for line in log.lines() {
        // `TIME LEVEL target: message session=N peer=ADDR [command=LINE | user=NAME …]`
        let Some((_, rest)) = line.split_once(": ") else {
            continue;
        };
        let Some((message, fields)) = rest.split_once(" session=") else {
            continue;
        };
        let (id, fields) = fields.split_once(' ').unwrap_or((fields, ""));
        let Ok(session) = id.parse() else {
            continue;
        };
        let what = match fields.split_once("command=") {
            Some((_, command)) if message == "command" => format!("command={command}"),
            _ => message.to_owned(),
        };
        lines.push(Line { session, what });
    }
    assert_complete_sessions(&log, &lines);
    let last = log.lines().last().unwrap_or("");
    assert!(
        last.contains(" INFO ftp_server: shutting down"),
        "the last line is the shutdown: {last}\n{log}"
    );
}

#[test]
fn json_log_has_every_sessions_lines_in_order_after_sigterm() {
    let log = log_of_sessions_then_sigterm(&["--log-format", "json"]);
    let mut lines = Vec::new();
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        let value: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert!(value["timestamp"].is_string(), "{line}");
        assert!(value["level"].is_string(), "{line}");
        assert!(value["target"].is_string(), "{line}");
        let fields = &value["fields"];
        let Some(session) = fields["session"].as_u64() else {
            continue;
        };
        let message = fields["message"].as_str().unwrap_or_default();
        let what = match fields["command"].as_str() {
            Some(command) if message == "command" => format!("command={command}"),
            _ => message.to_owned(),
        };
        assert!(fields["peer"].is_string(), "{line}");
        lines.push(Line { session, what });
    }
    assert_complete_sessions(&log, &lines);
}
