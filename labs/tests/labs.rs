//! The lab runner end to end: every lab offline and live with `--auto` (and no answer in its
//! output), `check` with right and wrong answers against the student's own capture, the work
//! folder (answers from the template, numbered captures, resume hints), hints, seeds, and Ctrl-C
//! leaving nothing behind. Every run gets a work folder of its own (`FTPLAB_MY_WORK`): tests never
//! read or write the student's `my-work/`.

mod common;
use common::{runner as runner_in, stdout};

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use testkit::process::{describe, run, run_with_stdin};

/// One answer of the teacher's key: key, value as written, where it is found, and whether it is
/// one of the words the question offers (`client`/`server`, `fin`/`rst`…).
struct KeyLine {
    key: String,
    value: String,
    level: String,
    choice: bool,
}

/// The filled answers file of lab `n` for a capture and seed (the hidden teacher command).
fn key(work: &Path, n: &str, extra: &[&str]) -> String {
    let out = run(runner_in(work).args(["key", n]).args(extra));
    assert!(out.status.success(), "key {n}\n{}", describe(&out));
    stdout(&out)
}

fn key_lines(text: &str) -> Vec<KeyLine> {
    text.lines()
        .filter(|l| !l.starts_with("capture") && !l.starts_with("seed") && !l.starts_with('#'))
        .filter_map(|l| {
            let (k, rest) = l.split_once(" = ")?;
            let (v, comment) = rest.split_once("  # ")?;
            Some(KeyLine {
                key: k.to_string(),
                value: v.trim_matches('"').to_string(),
                level: comment.split(',').next()?.trim().to_string(),
                choice: comment.contains("choice"),
            })
        })
        .collect()
}

/// Where `needle` stands in `output` as a whole word: the line it is on.
fn find_word(output: &str, needle: &str) -> Option<String> {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut from = 0;
    while let Some(i) = output.get(from..).and_then(|s| s.find(needle)) {
        let at = from + i;
        let before = output.get(..at).and_then(|s| s.chars().last());
        let after = output
            .get(at + needle.len()..)
            .and_then(|s| s.chars().next());
        let starts_word = needle.chars().next().is_some_and(is_word);
        let ends_word = needle.chars().last().is_some_and(is_word);
        let inside_a_word = (starts_word && before.is_some_and(is_word))
            || (ends_word && after.is_some_and(is_word));
        if !inside_a_word {
            let start = output
                .get(..at)
                .map_or(0, |s| s.rfind('\n').map_or(0, |p| p + 1));
            return output
                .get(start..)
                .and_then(|s| s.lines().next())
                .map(str::to_string);
        }
        from = at + needle.len();
    }
    None
}

/// Where the answer `value` to question `key` would show if the output gave it away: as a word
/// anywhere for values of 3 characters or more; short numbers (which also count steps, frames
/// and milliseconds) in the phrase that would name them for this question.
fn leaks(output: &str, key: &str, value: &str) -> Option<String> {
    if value.len() >= 3 {
        return find_word(output, value);
    }
    let phrases: Vec<String> = if key.ends_with("_frame") {
        vec![format!("frame {value}"), format!("#{value}")]
    } else if key.ends_with("_ms") {
        vec![format!("{value} ms")]
    } else if key.ends_with("_us") {
        vec![format!("{value} µs")]
    } else if key.ends_with("_seq") {
        vec![
            format!("seq {value}"),
            format!("seq={value}"),
            format!("Seq: {value}"),
        ]
    } else if key.ends_with("_ack") {
        vec![
            format!("ack {value}"),
            format!("ack={value}"),
            format!("Ack: {value}"),
        ]
    } else if key.ends_with("_offset") {
        vec![format!("offset {value}")]
    } else {
        vec![
            format!("{value} connections"),
            format!("{value} guesses"),
            format!("{value} bytes"),
            format!("= {value}"),
        ]
    };
    phrases.iter().find_map(|p| find_word(output, p))
}

/// Asserts that no answer at `levels` appears in `output`.
fn assert_no_answer_in(output: &str, answers: &str, levels: &[&str], what: &str) {
    let lines = key_lines(answers);
    assert!(!lines.is_empty(), "no answers parsed from\n{answers}");
    for a in lines {
        if a.choice || !levels.contains(&a.level.as_str()) {
            continue;
        }
        if let Some(line) = leaks(output, &a.key, &a.value) {
            panic!(
                "{what}: the answer to `{}` ({}) shows in the runner's output: {line:?}\n{output}",
                a.key, a.value
            );
        }
    }
}

fn offline_auto(n: &str) {
    let work = tempfile::tempdir().expect("temp dir");
    let out = run(runner_in(work.path()).args(["lab", n, "--offline", "--auto"]));
    assert!(
        out.status.success(),
        "lab {n} --offline --auto\n{}",
        describe(&out)
    );
    let text = stdout(&out);
    assert!(text.contains("What you should have seen"), "{text}");
    assert!(text.contains("  ✓ "), "{text}");
    assert!(!text.contains("  ✗ "), "an expectation failed\n{text}");
    // Nothing in the runner's output answers a question about the capture.
    let answers = key(work.path(), n, &[]);
    assert_no_answer_in(
        &text,
        &answers,
        &["table", "packet"],
        &format!("lab {n} offline"),
    );
    // The answers file was made from the template in the work folder, and check reads it.
    let file = work.path().join(format!("lab{n}")).join("answers.toml");
    assert!(file.is_file(), "no answers file made\n{text}");
    std::fs::write(&file, &answers).expect("fill in the answers");
    let out = run(runner_in(work.path()).args(["check", n]));
    assert!(out.status.success(), "check {n}\n{}", describe(&out));
}

#[test]
fn lab0_offline_auto_gives_no_answer_away_and_check_reads_the_work_folder() {
    offline_auto("0");
}

#[test]
fn lab1_offline_auto_gives_no_answer_away_and_check_reads_the_work_folder() {
    offline_auto("1");
}

#[test]
fn lab2_offline_auto_gives_no_answer_away_and_check_reads_the_work_folder() {
    offline_auto("2");
}

#[test]
fn lab3_offline_auto_gives_no_answer_away_and_check_reads_the_work_folder() {
    offline_auto("3");
}

#[test]
fn lab4_offline_auto_gives_no_answer_away_and_check_reads_the_work_folder() {
    offline_auto("4");
}

#[test]
fn lab5_offline_auto_gives_no_answer_away_and_check_reads_the_work_folder() {
    offline_auto("5");
}

#[test]
fn lab6_offline_auto_gives_no_answer_away_and_check_reads_the_work_folder() {
    offline_auto("6");
}

/// `lab N --auto` live in `work`; None where live capture is not possible (skipped unless
/// FTPLAB_SKIP_LIVE is unset, then it fails).
fn live_run(work: &Path, n: &str) -> Option<Output> {
    let out = run(runner_in(work).args(["lab", n, "--auto"]));
    let err = String::from_utf8_lossy(&out.stderr);
    if !out.status.success()
        && (err.contains("no `live` subcommand") || err.contains("CAP_NET_RAW"))
    {
        let why = format!("lab {n} --auto (live) needs CAP_NET_RAW: {}", err.trim());
        testkit::guard::missing(testkit::guard::SKIP_LIVE, &why);
        return None;
    }
    assert!(out.status.success(), "lab {n} --auto\n{}", describe(&out));
    assert!(!stdout(&out).contains("  ✗ "), "{}", describe(&out));
    Some(out)
}

/// Live: the student's own capture is saved in the work folder, the output shows none of the
/// answers only its headers give, and `check` grades answers about that capture.
fn live_auto(n: &str) {
    let work = tempfile::tempdir().expect("temp dir");
    let Some(out) = live_run(work.path(), n) else {
        return;
    };
    let capture = work
        .path()
        .join(format!("lab{n}"))
        .join(format!("lab{n}.pcapng"));
    assert!(capture.is_file(), "no capture saved\n{}", describe(&out));
    let capture_arg = capture.to_str().expect("temp paths are UTF-8");
    let answers = key(work.path(), n, &["--capture", capture_arg]);
    // The live [inspector] lines are the inspector's table; the headers stay for the student.
    assert_no_answer_in(
        &stdout(&out),
        &answers,
        &["packet"],
        &format!("lab {n} live"),
    );
    // The answers file names this capture; filled in, check grades it right.
    let file = work.path().join(format!("lab{n}")).join("answers.toml");
    let template = std::fs::read_to_string(&file).expect("answers file made");
    assert!(
        template.contains(&format!("lab{n}/lab{n}.pcapng")),
        "{template}"
    );
    std::fs::write(&file, &answers).expect("fill in the answers");
    let out = run(runner_in(work.path()).args(["check", n]));
    assert!(out.status.success(), "{}", describe(&out));
    // A wrong packet answer is caught.
    let wrong = answers
        .lines()
        .map(|l| match l.split_once(" = ") {
            Some((k, _))
                if key_lines(l)
                    .iter()
                    .any(|a| a.level == "packet" && !a.choice) =>
            {
                format!("{k} = 1")
            }
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&file, wrong).expect("spoil the answers");
    let out = run(runner_in(work.path()).args(["check", n]));
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(stdout(&out).contains('✗'), "{}", describe(&out));
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

#[test]
fn lab5_live_auto() {
    live_auto("5");
}

#[test]
fn a_second_live_run_keeps_the_first_capture() {
    let work = tempfile::tempdir().expect("temp dir");
    if live_run(work.path(), "1").is_none() {
        return;
    }
    let dir = work.path().join("lab1");
    let first = std::fs::read(dir.join("lab1.pcapng")).expect("first capture");
    let answers_before = std::fs::read_to_string(dir.join("answers.toml")).expect("answers");
    let out = live_run(work.path(), "1").expect("live worked once");
    assert_eq!(
        std::fs::read(dir.join("lab1.pcapng")).expect("first capture still there"),
        first,
        "the second run changed the first capture"
    );
    let second = dir.join("lab1-2.pcapng");
    assert!(second.is_file(), "{}", describe(&out));
    assert!(stdout(&out).contains("lab1-2.pcapng"), "{}", describe(&out));
    // The student's answers file is left as it was.
    assert_eq!(
        std::fs::read_to_string(dir.join("answers.toml")).expect("answers"),
        answers_before
    );
}

#[test]
fn quitting_at_once_keeps_no_empty_capture_and_the_earlier_ones() {
    let work = tempfile::tempdir().expect("temp dir");
    let dir = work.path().join("lab1");
    std::fs::create_dir_all(&dir).expect("work folder");
    let earlier = dir.join("lab1.pcapng");
    std::fs::copy(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../captures/lab1.pcapng"),
        &earlier,
    )
    .expect("an earlier capture");
    let out = run_with_stdin(runner_in(work.path()).args(["lab", "1"]), b"q\n");
    let err = String::from_utf8_lossy(&out.stderr);
    if err.contains("CAP_NET_RAW") {
        testkit::guard::missing(testkit::guard::SKIP_LIVE, "live lab needs CAP_NET_RAW");
        return;
    }
    assert!(out.status.success(), "{}", describe(&out));
    assert!(earlier.is_file());
    let names: Vec<String> = std::fs::read_dir(&dir)
        .expect("work folder")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".pcapng"))
        .collect();
    // Either the quick run captured nothing (and left no file) or something real.
    for name in &names {
        let len = std::fs::metadata(dir.join(name))
            .map(|m| m.len())
            .unwrap_or(0);
        assert!(len > 100, "{name} is an empty capture ({len} bytes)");
    }
    assert!(
        stdout(&out).contains("`just lab1 --step 1`"),
        "{}",
        describe(&out)
    );
}

#[test]
fn resuming_keeps_offline_and_the_seed_and_a_command_gets_advice() {
    let work = tempfile::tempdir().expect("temp dir");
    let capture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../captures/lab1.pcapng");
    let out = run_with_stdin(
        runner_in(work.path())
            .args(["lab", "1", "--offline", "--seed", "4", "--capture"])
            .arg(&capture),
        b"\necho pass1 | ftp-client -u user1 127.0.0.1 2121\nq\n",
    );
    assert!(out.status.success(), "{}", describe(&out));
    let text = stdout(&out);
    assert!(text.contains("run it in a second terminal"), "{text}");
    assert!(
        text.contains(&format!(
            "`just lab1 --step 2 --offline --seed 4 --capture {}`",
            capture.display()
        )),
        "{text}"
    );
    let out = run_with_stdin(
        runner_in(work.path()).args(["lab", "2", "--offline", "--step", "3"]),
        b"q\n",
    );
    assert!(
        stdout(&out).contains("`just lab2 --step 3 --offline`"),
        "{}",
        describe(&out)
    );
}

#[test]
fn check_fails_naming_the_question_without_showing_the_right_answer() {
    let work = tempfile::tempdir().expect("temp dir");
    let right = key(work.path(), "lab1", &[]);
    let wrong = replace_answer(&right, "pass_seq", "14");
    let wrong = replace_answer(&wrong, "pass_frame", "1");
    let file = work.path().join("lab1.toml");
    std::fs::write(&file, wrong).expect("write answers");
    let out = check(work.path(), "lab1", &file, &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(text.contains("✗ pass_seq"), "{text}");
    assert!(text.contains("✗ pass_frame"), "{text}");
    assert!(text.contains("✓ reject_code"), "{text}");
    assert!(
        !text.contains(" 13"),
        "the right sequence number leaked:\n{text}"
    );
}

#[test]
fn passwords_are_checked_exactly() {
    let work = tempfile::tempdir().expect("temp dir");
    let right = key(work.path(), "lab4", &["--capture", &lab4_capture()]);
    let file = work.path().join("lab4.toml");
    for (given, verdict) in [("\"pass1\"", "✓"), ("\"PASS1\"", "✗"), ("\" pass1\"", "✗")] {
        std::fs::write(&file, replace_answer(&right, "found_password", given)).expect("write");
        let out = check(work.path(), "lab4", &file, &[]);
        assert!(
            stdout(&out).contains(&format!("{verdict} found_password")),
            "{given}\n{}",
            describe(&out)
        );
    }
}

/// Lab 4's capture with the bounce to the third party: the shipped one, or one recorded now.
fn lab4_capture() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../captures/lab4.pcapng")
        .display()
        .to_string()
}

fn check(work: &Path, n: &str, answers: &Path, extra: &[&str]) -> Output {
    run(runner_in(work)
        .args(["check", n, "--answers"])
        .arg(answers)
        .args(extra))
}

#[test]
fn check_passes_with_the_right_answers_of_every_lab() {
    let work = tempfile::tempdir().expect("temp dir");
    for n in ["lab0", "lab1", "lab2", "lab3", "lab4", "lab5", "lab6"] {
        let file = work.path().join(format!("{n}.toml"));
        std::fs::write(&file, key(work.path(), n, &[])).expect("write answers");
        let out = check(work.path(), n, &file, &[]);
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
fn the_shipped_answer_templates_parse_and_are_not_yet_answered() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let work = tempfile::tempdir().expect("temp dir");
    for n in ["lab0", "lab1", "lab2", "lab3", "lab4", "lab5", "lab6"] {
        let out = check(
            work.path(),
            n,
            &root.join("answers").join(format!("{n}.toml")),
            &[],
        );
        assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
        let text = stdout(&out);
        assert!(text.contains("no answer yet"), "{text}");
        assert!(text.contains("0 of"), "{text}");
    }
}

#[test]
fn answers_filled_in_the_work_folder_are_read_there_and_the_template_stays_empty() {
    let work = tempfile::tempdir().expect("temp dir");
    // First use: check makes the answers file from the template.
    let out = run(runner_in(work.path()).args(["check", "lab2"]));
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let file = work.path().join("lab2").join("answers.toml");
    assert!(
        stdout(&out).contains("from the template"),
        "{}",
        describe(&out)
    );
    std::fs::write(&file, key(work.path(), "lab2", &[])).expect("fill in");
    let out = run(runner_in(work.path()).args(["check", "lab2"]));
    assert!(out.status.success(), "{}", describe(&out));
    // The tracked template is untouched: still unanswered.
    let template = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("answers/lab2.toml");
    let out = check(work.path(), "lab2", &template, &[]);
    assert!(stdout(&out).contains("0 of"), "{}", describe(&out));
}

#[test]
fn hints_come_in_levels_and_never_hold_the_answer() {
    let work = tempfile::tempdir().expect("temp dir");
    let hint = |extra: &[&str]| {
        let out = run(runner_in(work.path()).args(["hint", "lab1"]).args(extra));
        assert!(out.status.success(), "{}", describe(&out));
        stdout(&out)
    };
    let first = hint(&["pass_seq"]);
    assert!(first.contains("hint 1 of 2"), "{first}");
    let second = hint(&["3"]);
    assert!(second.contains("hint 2 of 2"), "{second}");
    let again = hint(&["pass_seq", "--level", "1"]);
    assert!(again.contains("hint 1 of 2"), "{again}");
    assert!(hint(&[]).contains("reply_ms"));
    let answers = key(work.path(), "lab1", &[]);
    for text in [&first, &second] {
        assert_no_answer_in(text, &answers, &["table", "packet"], "hint");
    }
    let out = run(runner_in(work.path()).args(["hint", "lab1", "99"]));
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
}

#[test]
fn offline_with_a_seed_needs_a_capture_made_for_it() {
    let work = tempfile::tempdir().expect("temp dir");
    let out = run(runner_in(work.path()).args(["lab", "1", "--offline", "--auto", "--seed", "3"]));
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--capture"),
        "{}",
        describe(&out)
    );
}

#[test]
fn a_capture_of_another_seed_cannot_be_checked() {
    let work = tempfile::tempdir().expect("temp dir");
    let answers = key(work.path(), "lab3", &[]);
    let file = work.path().join("lab3.toml");
    std::fs::write(&file, answers).expect("write");
    let out = check(work.path(), "lab3", &file, &["--seed", "5"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        text.contains("cannot check: this capture was made with another seed"),
        "{text}"
    );
    assert!(!text.contains("✗ notes_sha256"), "{text}");
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
    let work = tempfile::tempdir().expect("temp dir");
    let mut keys = Vec::new();
    for seed in ["7", "8"] {
        let out_dir = work.path().join(seed);
        let out = run(runner_in(work.path())
            .args(["captures", "--lab", "3", "--seed", seed, "--out"])
            .arg(&out_dir));
        assert!(
            out.status.success(),
            "captures --seed {seed}\n{}",
            describe(&out)
        );
        let capture = out_dir.join("lab3.pcapng");
        let capture_arg = capture.to_str().expect("temp paths are UTF-8");
        keys.push(key(
            work.path(),
            "lab3",
            &["--capture", capture_arg, "--seed", seed],
        ));
        // The lab runs offline from the student's seeded capture.
        let out = run(runner_in(work.path()).args([
            "lab",
            "3",
            "--offline",
            "--auto",
            "--seed",
            seed,
            "--capture",
            capture_arg,
        ]));
        assert!(out.status.success(), "{}", describe(&out));
    }
    assert_ne!(keys[0], keys[1]);
    let file = work.path().join("answers7.toml");
    std::fs::write(&file, &keys[0]).expect("write answers");
    assert!(check(work.path(), "lab3", &file, &[]).status.success());
    // Seed 7's answers checked as seed 8 against seed 8's capture are wrong.
    let capture8 = work.path().join("8").join("lab3.pcapng");
    let capture8 = capture8.to_str().expect("UTF-8");
    let out = check(
        work.path(),
        "lab3",
        &file,
        &["--seed", "8", "--capture", capture8],
    );
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        stdout(&out).contains("✗ notes_sha256"),
        "{}",
        describe(&out)
    );
    // Seed 7's capture checked as seed 8: another seed's capture, not a wrong answer.
    let capture7 = work.path().join("7").join("lab3.pcapng");
    let capture7 = capture7.to_str().expect("UTF-8");
    let out = check(
        work.path(),
        "lab3",
        &file,
        &["--seed", "8", "--capture", capture7],
    );
    assert!(
        stdout(&out).contains("made with another seed"),
        "{}",
        describe(&out)
    );
}

#[test]
fn ctrl_c_stops_the_servers_and_removes_the_temporary_folder() {
    let work = tempfile::tempdir().expect("temp dir");
    let mut child = runner_in(work.path())
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
    let port = seen
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: ftp://127.0.0.1:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|p| p.parse::<u16>().ok())
        .expect("the header names the server's port");
    // The temporary folder holds the servers' databases and files.
    let temp = seen
        .lines()
        .find_map(|l| l.trim().strip_prefix("temporary: "))
        .and_then(|rest| rest.split(" (").next())
        .map(PathBuf::from)
        .expect("the header names the temporary folder");
    assert!(temp.is_dir(), "{}", temp.display());
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
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
    assert!(!temp.exists(), "{} is left behind", temp.display());
    // The work folder stays: the student's files outlive the lab.
    assert!(work.path().join("lab1").is_dir());
}

/// Runs `tmux` on a socket of its own.
fn tmux(socket: &str, args: &[&str]) -> Output {
    run(Command::new("tmux").args(["-L", socket]).args(args))
}

fn pane(socket: &str) -> String {
    stdout(&tmux(
        socket,
        &["capture-pane", "-p", "-S", "-200", "-t", "lab"],
    ))
}

/// Waits (bounded) until the pane shows `what`.
fn wait_pane(socket: &str, what: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let text = pane(socket);
        if text.contains(what) {
            return text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the lab window never showed {what:?}:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn in_a_terminal_q_quits_without_enter_and_a_typed_command_gets_advice() {
    if Command::new("tmux").arg("-V").output().is_err() {
        testkit::guard::missing(testkit::guard::SKIP_LIVE, "tmux is needed for a terminal");
        return;
    }
    let work = tempfile::tempdir().expect("temp dir");
    for name in ["ftp-server", "ftp-client", "inspector"] {
        testkit::workspace_bin(name);
    }
    let socket = format!("ftplab-lab-test-{}", std::process::id());
    let command = format!(
        "FTPLAB_MY_WORK={} {} lab 1 --offline; echo RUNNER-EXIT-$?; sleep 30",
        work.path().display(),
        env!("CARGO_BIN_EXE_ftplab-lab")
    );
    let out = tmux(
        &socket,
        &[
            "new-session",
            "-d",
            "-s",
            "lab",
            "-x",
            "200",
            "-y",
            "50",
            &command,
        ],
    );
    assert!(out.status.success(), "{}", describe(&out));
    wait_pane(&socket, "waiting for you");
    tmux(
        &socket,
        &["send-keys", "-t", "lab", "-l", "just check lab1"],
    );
    tmux(&socket, &["send-keys", "-t", "lab", "Enter"]);
    wait_pane(&socket, "run it in a second terminal");
    // One key, no Enter.
    tmux(&socket, &["send-keys", "-t", "lab", "-l", "q"]);
    let text = wait_pane(&socket, "RUNNER-EXIT-");
    tmux(&socket, &["kill-server"]);
    assert!(text.contains("RUNNER-EXIT-0"), "{text}");
    assert!(
        text.contains("Stopped at step 1: `just lab1 --step 1 --offline`"),
        "{text}"
    );
}

/// The shipped lab 5 capture and its key log.
fn lab5_shipped() -> (PathBuf, PathBuf) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../captures");
    (dir.join("lab5.pcapng"), dir.join("lab5.keys"))
}

/// The value of `key` in a filled answers file.
fn answer_of(answers: &str, key: &str) -> String {
    key_lines(answers)
        .into_iter()
        .find(|a| a.key == key)
        .map(|a| a.value)
        .unwrap_or_else(|| panic!("no {key} in\n{answers}"))
}

/// tshark's frames matching `filter` on the shipped lab 5 capture, `extra` options added.
fn lab5_tshark(port: &str, extra: &[&str], filter: &str) -> Vec<String> {
    let (capture, _) = lab5_shipped();
    let out = Command::new("tshark")
        .arg("-r")
        .arg(&capture)
        .args(["-d", &format!("tcp.port=={port},ftp")])
        .args(extra)
        .args(["-Y", filter, "-T", "fields", "-e", "frame.number"])
        .stderr(Stdio::null())
        .output()
        .expect("tshark (apt-get install tshark) reads the shipped capture");
    assert!(out.status.success(), "tshark -Y {filter}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn lab5_answers_agree_with_tshark_with_and_without_the_key_log() {
    let work = tempfile::tempdir().expect("temp dir");
    let answers = key(work.path(), "lab5", &[]);
    let (capture, keys) = lab5_shipped();
    // The control port, from the inspector's session rows.
    let out = run(Command::new(testkit::workspace_bin("inspector"))
        .arg("read")
        .arg(&capture)
        .arg("--json"));
    let port = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.contains(r#""kind":"session""#))
        .and_then(|l| l.split(r#""server":""#).nth(1))
        .and_then(|s| s.split('"').next())
        .and_then(|a| a.rsplit(':').next())
        .map(str::to_string)
        .expect("a session in the shipped capture");
    let hellos = lab5_tshark(
        &port,
        &[],
        &format!("tls.handshake.type == 1 && tcp.port == {port}"),
    );
    // The first ClientHello on the control port is hello_frame.
    assert_eq!(
        hellos.first().map(String::as_str),
        Some(answer_of(&answers, "hello_frame").as_str()),
        "{answers}"
    );
    // Without the key log tshark sees one PASS (the clear login of step 1); with it, step 2's
    // PASS appears, in the frame the key says.
    let pass = "ftp.request.command == \"PASS\"";
    let clear = lab5_tshark(&port, &[], pass);
    assert_eq!(clear.len(), 1, "{clear:?}");
    let keylog = format!("tls.keylog_file:{}", keys.display());
    let decrypted = lab5_tshark(&port, &["-o", &keylog], pass);
    assert_eq!(decrypted.len(), 3, "{decrypted:?}");
    assert_eq!(decrypted.get(1), Some(&answer_of(&answers, "pass_frame")));
    // The encrypted data connection: tshark decrypts it only with ftp-data turned off, and
    // then reads notes.txt in it.
    let data_port = answer_of(&answers, "tls_data_port");
    let files = lab5_tshark(
        &port,
        &["-o", &keylog, "--disable-protocol", "ftp-data"],
        &format!("tcp.port == {data_port} && data.data contains \"Meeting notes\""),
    );
    assert_eq!(files.len(), 1, "{files:?}");
}

#[test]
fn lab5_without_its_key_log_the_decrypted_answers_cannot_be_checked() {
    let work = tempfile::tempdir().expect("temp dir");
    let (capture, _) = lab5_shipped();
    let alone = work.path().join("lab5.pcapng");
    std::fs::copy(&capture, &alone).expect("copy the capture without its key log");
    let alone = alone.to_str().expect("UTF-8");
    let out = run(runner_in(work.path()).args(["key", "lab5", "--capture", alone]));
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let text = stdout(&out);
    assert!(text.contains("# pass_frame: no key log"), "{text}");
    // What the eavesdropper sees needs no key log.
    assert!(text.contains("hello_frame = "), "{text}");
    assert!(text.contains("tls_overhead = "), "{text}");
}

#[test]
fn lab5_with_a_seed_records_its_own_key_log_and_check_follows_it() {
    if !can_record() {
        testkit::guard::missing(
            testkit::guard::SKIP_PRIVILEGED,
            "recording seeded captures needs root, tcpdump and editcap",
        );
        return;
    }
    let work = tempfile::tempdir().expect("temp dir");
    let out_dir = work.path().join("9");
    let out = run(runner_in(work.path())
        .args(["captures", "--lab", "5", "--seed", "9", "--out"])
        .arg(&out_dir));
    assert!(out.status.success(), "{}", describe(&out));
    assert!(out_dir.join("lab5.keys").is_file(), "{}", describe(&out));
    let capture = out_dir.join("lab5.pcapng");
    let capture = capture.to_str().expect("UTF-8");
    let answers = key(work.path(), "lab5", &["--capture", capture, "--seed", "9"]);
    assert!(
        !answers.lines().any(|l| l.starts_with('#')),
        "every answer known\n{answers}"
    );
    let file = work.path().join("answers.toml");
    std::fs::write(&file, &answers).expect("write answers");
    assert!(check(work.path(), "lab5", &file, &[]).status.success());
}

#[test]
fn lab5_hints_come_in_levels_and_never_hold_the_answer() {
    let work = tempfile::tempdir().expect("temp dir");
    let answers = key(work.path(), "lab5", &[]);
    let questions = key_lines(&answers);
    assert_eq!(questions.len(), 9, "{answers}");
    for q in &questions {
        for level in ["1", "2"] {
            let out = run(runner_in(work.path()).args(["hint", "lab5", &q.key, "--level", level]));
            assert!(out.status.success(), "{}", describe(&out));
            let text = stdout(&out);
            assert!(text.contains(&format!("hint {level} of 2")), "{text}");
            assert_no_answer_in(&text, &answers, &["table", "packet"], "lab5 hint");
        }
    }
}
