//! Non-interactive use: `-c`, `--script`, `--json`, the URL form, the debug trace and `help`.

mod common;

use common::{CLIENT_BIN, Peer, run, run_with_stdin, stderr, stdout};
use std::fs;
use std::process::Command;

#[test]
fn json_prints_one_object_per_command_and_stops_at_the_first_failure() {
    let peer = Peer::ours(&[]);
    let dir = peer.local_dir("down");
    let out = run_with_stdin(
        Command::new(CLIENT_BIN)
            .current_dir(&dir)
            .args([
                "127.0.0.1",
                &peer.port.to_string(),
                "-u",
                "user1",
                "--password-stdin",
            ])
            .args(["--json", "-c", "pwd; nls; get welcome.txt; get nope; pwd"]),
        b"pass1\n",
    );
    assert_eq!(out.status.code(), Some(1), "{}", common::describe(&out));
    let objects: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
        .collect();
    let commands: Vec<&str> = objects
        .iter()
        .filter_map(|o| o["command"].as_str())
        .collect();
    assert_eq!(
        commands,
        [
            "open 127.0.0.1 ".to_owned() + &peer.port.to_string(),
            "user user1".into(),
            "pwd".into(),
            "nls".into(),
            "get welcome.txt".into(),
            "get nope".into()
        ]
    );
    assert_eq!(objects[2]["message"], "/");
    assert!(
        objects[3]["output"]
            .as_str()
            .unwrap_or("")
            .contains("welcome.txt")
    );
    assert_eq!(
        objects[4]["bytes"],
        fs::metadata(dir.join("welcome.txt"))
            .map(|m| m.len())
            .unwrap_or(0)
    );
    assert_eq!(objects[5]["ok"], false);
    assert_eq!(objects[5]["reply"]["code"], 550);
}

#[test]
fn script_file_runs_in_order_and_stops_at_the_first_failure() {
    let peer = Peer::ours(&[]);
    let dir = peer.local_dir("work");
    let script = dir.join("steps.ftp");
    fs::write(&script, "# make folders\nmkdir a\n\nmkdir a\nmkdir b\n").expect("write script");
    let out = run_with_stdin(
        Command::new(CLIENT_BIN)
            .args([
                "127.0.0.1",
                &peer.port.to_string(),
                "-u",
                "user1",
                "--password-stdin",
            ])
            .arg("--script")
            .arg(&script),
        b"pass1\n",
    );
    assert_eq!(out.status.code(), Some(1), "{}", common::describe(&out));
    assert!(
        stderr(&out).contains("`mkdir a` failed: MKD a: the server replied"),
        "{}",
        stderr(&out)
    );
    assert!(peer.dir.join("a").is_dir());
    assert!(!peer.dir.join("b").exists());
}

#[test]
fn url_form_logs_in_and_changes_to_its_path() {
    let peer = Peer::ours(&[]);
    fs::create_dir_all(peer.dir.join("sub")).expect("mkdir");
    let out = run_with_stdin(
        Command::new(CLIENT_BIN)
            .arg(format!("ftp://user1@127.0.0.1:{}/sub", peer.port))
            .args(["--password-stdin", "-c", "pwd"]),
        b"pass1\n",
    );
    assert!(out.status.success(), "{}", common::describe(&out));
    assert!(stdout(&out).contains("257 \"/sub\""), "{}", stdout(&out));
}

#[test]
fn debug_trace_masks_the_password_unless_show_password() {
    let peer = Peer::ours(&[]);
    let dir = peer.local_dir("d");
    let traced = |extra: &[&str]| {
        let out = run_with_stdin(
            Command::new(CLIENT_BIN)
                .current_dir(&dir)
                .args([
                    "127.0.0.1",
                    &peer.port.to_string(),
                    "-u",
                    "user1",
                    "--password-stdin",
                    "-c",
                    "ls",
                ])
                .args(extra),
            b"pass1\n",
        );
        assert!(out.status.success(), "{}", common::describe(&out));
        stderr(&out)
    };
    let masked = traced(&["--debug"]);
    assert!(
        masked.contains("--> PASS ****") && !masked.contains("pass1"),
        "{masked}"
    );
    assert!(masked.contains("<-- 230"), "{masked}");
    assert!(
        masked.contains("data: data connection open: passive via EPSV"),
        "{masked}"
    );
    let shown = traced(&["--debug", "--show-password"]);
    assert!(shown.contains("--> PASS pass1"), "{shown}");
}

#[test]
fn reput_and_append_continue_remote_files() {
    let peer = Peer::ours(&[]);
    let dir = peer.local_dir("up");
    let hash = common::random_file(&dir.join("f.bin"), 3 * common::MIB);
    let bytes = fs::read(dir.join("f.bin")).expect("read");
    fs::write(peer.dir.join("f.bin"), &bytes[..common::MIB]).expect("write half");
    let out = peer.client_ok(&dir, "reput f.bin", &["--debug"]);
    assert!(
        stderr(&out).contains(&format!("--> REST {}", common::MIB)),
        "{}",
        stderr(&out)
    );
    assert_eq!(common::sha256_file(&peer.dir.join("f.bin")), hash);
    fs::write(dir.join("tail.txt"), "tail\n").expect("write");
    fs::write(peer.dir.join("log.txt"), "head\n").expect("write");
    peer.client_ok(&dir, "append tail.txt log.txt", &[]);
    assert_eq!(
        fs::read_to_string(peer.dir.join("log.txt")).ok().as_deref(),
        Some("head\ntail\n")
    );
}

#[test]
fn help_needs_no_server_and_names_the_ftp_commands_sent() {
    let out = run(Command::new(CLIENT_BIN).args(["-c", "help; help get; help mget"]));
    assert!(out.status.success(), "{}", common::describe(&out));
    let text = stdout(&out);
    assert!(text.contains("commands (help CMD"), "{text}");
    assert!(text.contains("sends: TYPE, then RETR REMOTE"), "{text}");
    assert!(text.contains("EPSV (PASV if refused)"), "{text}");
    assert!(text.contains("NLST of the folder"), "{text}");
}

#[test]
fn get_to_dash_writes_only_the_file_to_stdout() {
    let peer = Peer::ours(&[]);
    let dir = peer.local_dir("d");
    let out = peer.client_ok(&dir, "get welcome.txt -", &[]);
    let expected = fs::read(peer.dir.join("welcome.txt")).expect("read welcome.txt");
    assert_eq!(out.stdout, expected, "{}", common::describe(&out));
    assert!(
        stderr(&out).contains("226"),
        "replies go to stderr: {}",
        stderr(&out)
    );
}

#[test]
fn quote_sends_the_line_verbatim_and_the_server_accepts_a_lower_case_verb() {
    let peer = Peer::ours(&[]);
    let dir = peer.local_dir("q");
    let out = run_with_stdin(
        Command::new(CLIENT_BIN).current_dir(&dir).args([
            "127.0.0.1",
            &peer.port.to_string(),
            "-u",
            "user1",
            "--password-stdin",
            "--debug",
            "-c",
            "quote port 127,0,0,1,200,10; quote noop",
        ]),
        b"pass1\n",
    );
    assert!(out.status.success(), "{}", common::describe(&out));
    let trace = stderr(&out);
    // RFC 959 §5.3: verbs in any case; the client sends them as typed, the server accepts them.
    assert!(trace.contains("--> port 127,0,0,1,200,10\n"), "{trace}");
    assert!(trace.contains("--> noop\n"), "{trace}");
    assert!(!trace.contains("--> PORT"), "{trace}");
    assert!(trace.contains("<-- 200"), "{trace}");
}
