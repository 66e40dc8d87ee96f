//! A class end to end through the real binary: `teacher init`, a roster, the tokens, each
//! student's live `lab 1 --auto` with their token, their answers, `submit`, then `teacher
//! grade` over the collected files: the CSV's scores and flags (a wrong answer, a classmate's
//! capture, an edit after submission, a submission handed in twice, a student who handed in
//! nothing, late work) and the free-text answers gathered per question.

mod common;
use common::{runner_at as runner_in, stdout};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use testkit::process::{describe, run};

/// The course file and each student's token, from `teacher init` and `teacher roster --out`.
fn class(dir: &Path, ids: &[&str]) -> (PathBuf, PathBuf, BTreeMap<String, String>) {
    let course = dir.join("course.toml");
    let out = run(runner_in(dir)
        .args(["teacher", "init", "--out"])
        .arg(&course));
    assert!(out.status.success(), "{}", describe(&out));
    let roster = dir.join("roster.csv");
    let mut text = String::from("id,name,email\n");
    for id in ids {
        text.push_str(&format!("{id},\"Student, {id}\",{id}@example.org\n"));
    }
    std::fs::write(&roster, text).expect("roster");
    let tokens_file = dir.join("tokens.csv");
    let out = run(runner_in(dir)
        .args(["teacher", "roster", "--course"])
        .arg(&course)
        .arg(&roster)
        .arg("--out")
        .arg(&tokens_file));
    assert!(out.status.success(), "{}", describe(&out));
    let tokens = std::fs::read_to_string(&tokens_file)
        .expect("tokens.csv")
        .lines()
        .skip(1)
        .filter_map(|l| {
            let (id, _) = l.split_once(',')?;
            Some((id.to_string(), l.rsplit(',').next()?.to_string()))
        })
        .collect::<BTreeMap<_, _>>();
    assert_eq!(tokens.len(), ids.len());
    (course, roster, tokens)
}

/// One student's live lab 1 with their token; false where live capture is not possible.
fn live_lab1(work: &Path, token: &str) -> bool {
    let out = run(runner_in(work).args(["lab", "1", "--auto", "--student", token]));
    let err = String::from_utf8_lossy(&out.stderr);
    if !out.status.success()
        && (err.contains("no `live` subcommand") || err.contains("CAP_NET_RAW"))
    {
        testkit::guard::missing(testkit::guard::SKIP_LIVE, "live lab 1 needs CAP_NET_RAW");
        return false;
    }
    assert!(out.status.success(), "{}", describe(&out));
    true
}

/// The teacher's key for a student's capture: a filled answers file.
fn key(dir: &Path, course: &Path, id: &str, capture: &Path) -> String {
    let out = run(runner_in(dir)
        .args(["key", "1", "--student", id, "--course"])
        .arg(course)
        .arg("--capture")
        .arg(capture));
    assert!(out.status.success(), "{}", describe(&out));
    stdout(&out)
}

/// `submit lab1` in `work`, written to `out`.
fn submit(work: &Path, out: &Path) {
    let o = run(runner_in(work).args(["submit", "lab1", "--out"]).arg(out));
    assert!(o.status.success(), "{}", describe(&o));
}

/// The value of `key = …` in an answers file.
fn value<'a>(answers: &'a str, key: &str) -> &'a str {
    answers
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key} = ")))
        .map(|v| v.split("  #").next().unwrap_or(v).trim())
        .unwrap_or_else(|| panic!("no {key} in\n{answers}"))
}

/// The CSV as one map per row, by column name (RFC 4180 quoting; no field spans lines here).
fn read_csv(text: &str) -> Vec<BTreeMap<String, String>> {
    fn fields(line: &str) -> Vec<String> {
        let mut out = vec![String::new()];
        let mut quoted = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            let field = out.last_mut().expect("one field at least");
            match (quoted, c) {
                (true, '"') if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                (true, '"') => quoted = false,
                (false, '"') => quoted = true,
                (false, ',') => out.push(String::new()),
                (_, c) => field.push(c),
            }
        }
        out
    }
    let mut lines = text.lines();
    let header = fields(lines.next().expect("a header"));
    lines
        .map(|l| {
            let row = fields(l);
            assert_eq!(row.len(), header.len(), "{l}");
            header.iter().cloned().zip(row).collect()
        })
        .collect()
}

#[test]
fn a_class_of_five_is_graded_with_the_right_scores_and_flags() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    let ids = ["s1", "s2", "s3", "s4", "s5", "s6"];
    let (course, roster, tokens) = class(dir, &ids);
    let work = |id: &str| dir.join("work").join(id);
    let capture = |id: &str| work(id).join("lab1").join("lab1.pcapng");
    let handin = dir.join("handin");
    std::fs::create_dir_all(&handin).expect("hand-in folder");

    // Five students run lab 1 live with their tokens (s6 does nothing), one after another:
    // each run sniffs the loopback interface for its own ports.
    for id in &ids[..5] {
        if !live_lab1(&work(id), &tokens[*id]) {
            return;
        }
        assert!(capture(id).is_file(), "{id} has no capture");
    }
    let keys: BTreeMap<&str, String> = ids[..5]
        .iter()
        .map(|id| (*id, key(dir, &course, id, &capture(id))))
        .collect();
    let answers_file = |id: &str| work(id).join("lab1").join("answers.toml");
    let free =
        "why_plain = \"PASS crosses the control connection in clear text, \\\"as typed\\\"\"\n";

    // s1: every answer right, and a free-text answer.
    std::fs::write(answers_file("s1"), format!("{}{free}", keys["s1"])).expect("s1");
    submit(&work("s1"), &handin.join("lab1-s1.ftplab.toml"));
    // s2: one wrong answer (the PASS frame), one free-text answer.
    let frame = value(&keys["s2"], "pass_frame");
    let wrong_frame: i64 = frame.parse::<i64>().expect("a frame number") + 1;
    let s2 = keys["s2"].replace(
        &format!("pass_frame = {frame}"),
        &format!("pass_frame = {wrong_frame}"),
    );
    assert_ne!(s2, keys["s2"]);
    std::fs::write(answers_file("s2"), format!("{s2}why_plain = \"no TLS\"\n")).expect("s2");
    submit(&work("s2"), &handin.join("lab1-s2.ftplab.toml"));
    // s3: hands in s1's capture and s1's answers under their own name.
    let copied = work("s3").join("lab1").join("from-s1.pcapng");
    std::fs::copy(capture("s1"), &copied).expect("copy s1's capture");
    let s3 = keys["s1"]
        .replace("student = \"s1\"", "student = \"s3\"")
        .replace(
            &capture("s1").display().to_string(),
            &copied.display().to_string(),
        );
    std::fs::write(answers_file("s3"), s3).expect("s3");
    submit(&work("s3"), &handin.join("lab1-s3.ftplab.toml"));
    // s4: right answers, then the submission file edited after submission.
    std::fs::write(answers_file("s4"), &keys["s4"]).expect("s4");
    let s4 = handin.join("lab1-s4.ftplab.toml");
    submit(&work("s4"), &s4);
    let text = std::fs::read_to_string(&s4).expect("s4's submission");
    let line = format!("reject_code = {}", value(&keys["s4"], "reject_code"));
    assert!(text.contains(&line), "{text}");
    std::fs::write(&s4, text.replacen(&line, "reject_code = 550", 1)).expect("edit");
    // s5: right answers, handed in twice (a copy in a folder of its own).
    std::fs::write(answers_file("s5"), &keys["s5"]).expect("s5");
    let s5 = handin.join("lab1-s5.ftplab.toml");
    submit(&work("s5"), &s5);
    std::fs::create_dir_all(handin.join("again")).expect("mkdir");
    std::fs::copy(&s5, handin.join("again").join("lab1-s5.ftplab.toml")).expect("copy");

    let grades = dir.join("out").join("grades.csv");
    let free_dir = dir.join("free");
    let out = run(runner_in(dir)
        .args(["teacher", "grade", "--course"])
        .arg(&course)
        .arg("--roster")
        .arg(&roster)
        .arg(&handin)
        .arg("--out")
        .arg(&grades)
        .arg("--free-text-dir")
        .arg(&free_dir)
        .args(["--deadline", "2999-01-01T00:00:00Z"]));
    assert!(out.status.success(), "{}", describe(&out));
    let summary = stdout(&out);
    // The summary: per question, how many of the graded submissions got it right.
    assert!(summary.contains("lab1.pass_frame"), "{summary}");
    assert!(summary.contains("success"), "{summary}");
    let csv = std::fs::read_to_string(&grades).expect("grades.csv");
    let rows = read_csv(&csv);
    assert_eq!(
        rows.iter().map(|r| r["id"].as_str()).collect::<Vec<_>>(),
        ids,
        "{csv}"
    );
    let row = |id: &str| {
        rows.iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("no row {id}\n{csv}"))
    };
    let questions = [
        "reject_code",
        "pass_frame",
        "pass_seq",
        "pass_ack",
        "reply_ms",
    ];
    assert_eq!(row("s1")["max"], "5", "{csv}");
    assert_eq!(row("s1")["name"], "Student, s1", "{csv}");
    // Flags: exactly the ones each student earned.
    let flags = |id: &str| {
        [
            "missing",
            "late",
            "tampered",
            "capture_not_theirs",
            "duplicate_capture",
            "duplicate_submission",
        ]
        .into_iter()
        .filter(|f| !row(id)[*f].is_empty())
        .collect::<Vec<_>>()
    };
    // s1: all right; the capture s3 copied is flagged on both.
    assert_eq!(row("s1")["total"], "5", "{csv}");
    for q in questions {
        assert_eq!(row("s1")[&format!("lab1.{q}")], "1", "{q}\n{csv}");
    }
    assert_eq!(flags("s1"), ["duplicate_capture"], "{csv}");
    assert!(row("s1")["notes"].contains("same capture as s3"), "{csv}");
    // s2: loses exactly the question answered wrong.
    assert_eq!(row("s2")["total"], "4", "{csv}");
    for q in questions {
        let want = if q == "pass_frame" { "0" } else { "1" };
        assert_eq!(row("s2")[&format!("lab1.{q}")], want, "{q}\n{csv}");
    }
    assert!(flags("s2").is_empty(), "{csv}");
    // s3: a classmate's capture scores nothing and says why.
    assert_eq!(row("s3")["total"], "0", "{csv}");
    assert_eq!(
        flags("s3"),
        ["capture_not_theirs", "duplicate_capture"],
        "{csv}"
    );
    assert_eq!(row("s3")["capture_not_theirs"], "lab1", "{csv}");
    // s4: the edited file is not graded.
    assert_eq!(flags("s4"), ["tampered"], "{csv}");
    assert_eq!(row("s4")["total"], "0", "{csv}");
    assert_eq!(row("s4")["lab1.reject_code"], "", "{csv}");
    assert!(
        row("s4")["notes"].contains("edited after submission"),
        "{csv}"
    );
    // s5: graded once, the second copy flagged.
    assert_eq!(flags("s5"), ["duplicate_submission"], "{csv}");
    assert_eq!(row("s5")["total"], "5", "{csv}");
    assert!(row("s5")["notes"].contains("identical"), "{csv}");
    // s6: nothing handed in.
    assert_eq!(flags("s6"), ["missing"], "{csv}");
    assert_eq!(row("s6")["total"], "0", "{csv}");
    // Free text: one file for the question, both students' answers in it, quotes kept.
    let why = std::fs::read_to_string(free_dir.join("lab1-why_plain.md")).expect("free text");
    assert!(why.contains("## s1 (Student, s1)"), "{why}");
    assert!(why.contains("in clear text, \"as typed\""), "{why}");
    assert!(
        why.contains("## s2 (Student, s2)") && why.contains("no TLS"),
        "{why}"
    );
    assert_eq!(std::fs::read_dir(&free_dir).expect("free dir").count(), 1);

    // The same folder against a deadline long past: everything handed in is late.
    let out = run(runner_in(dir)
        .args(["teacher", "grade", "--lab", "1", "--course"])
        .arg(&course)
        .arg("--roster")
        .arg(&roster)
        .arg(&handin)
        .arg("--out")
        .arg(&grades)
        .args(["--deadline", "2001-01-01T00:00:00Z"]));
    assert!(out.status.success(), "{}", describe(&out));
    let csv = std::fs::read_to_string(&grades).expect("grades.csv");
    let rows = read_csv(&csv);
    let late: Vec<&str> = rows
        .iter()
        .filter(|r| r["late"] == "lab1")
        .map(|r| r["id"].as_str())
        .collect();
    // s4's edited file cannot be trusted for its time either: not graded, not "late".
    assert_eq!(late, ["s1", "s2", "s3", "s5"], "{csv}");
}

#[test]
fn grading_says_what_is_wrong_with_its_inputs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    let (course, roster, _) = class(dir, &["s1"]);
    // No submission at all and no --lab: nothing to grade, said so.
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).expect("mkdir");
    std::fs::write(empty.join("notes.txt"), "not a submission").expect("write");
    let grade = |extra: &[&str], folder: &Path| {
        run(runner_in(dir)
            .args(["teacher", "grade", "--course"])
            .arg(&course)
            .arg("--roster")
            .arg(&roster)
            .arg(folder)
            .arg("--out")
            .arg(dir.join("g.csv"))
            .args(extra))
    };
    let out = grade(&[], &empty);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--lab"),
        "{}",
        describe(&out)
    );
    // With --lab: a sheet where everyone is missing, and the stray file named.
    let out = grade(&["--lab", "2"], &empty);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        stdout(&out).contains("notes.txt: not a submission"),
        "{}",
        describe(&out)
    );
    let rows = read_csv(&std::fs::read_to_string(dir.join("g.csv")).expect("csv"));
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["missing"], "lab2");
    assert!(rows[0].contains_key("lab2.failed_login_code"));
    // A deadline that is not RFC 3339 is refused before anything is read.
    let out = grade(&["--deadline", "friday"], &empty);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("RFC 3339"),
        "{}",
        describe(&out)
    );
}
