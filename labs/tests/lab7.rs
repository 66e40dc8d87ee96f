//! Lab 7, the capstone, end to end: offline and live `--auto`, the incident report checked with
//! right and wrong facts (the wrong field named, the right value never shown), and two seeds
//! giving two different incidents. Every run has its own work folder (`FTPLAB_MY_WORK`).

mod common;
use common::{runner as runner_in, stdout};

use std::path::Path;
use std::process::{Command, Output};
use testkit::process::{describe, run};

/// The teacher's key of lab 7: the filled report.
fn key(work: &Path, extra: &[&str]) -> String {
    let out = run(runner_in(work).args(["key", "lab7"]).args(extra));
    assert!(out.status.success(), "key lab7\n{}", describe(&out));
    stdout(&out)
}

/// The value of a report field (`- Label: value`).
fn field(report: &str, label: &str) -> String {
    report
        .lines()
        .find_map(|l| l.strip_prefix(&format!("- {label}: ")))
        .unwrap_or_else(|| panic!("no field {label:?} in\n{report}"))
        .trim()
        .to_string()
}

fn with_field(report: &str, label: &str, value: &str) -> String {
    let old = format!("- {label}: {}", field(report, label));
    report.replace(&old, &format!("- {label}: {value}"))
}

/// Labels of the facts that must never appear in the runner's output.
const SECRET_FIELDS: [&str; 7] = [
    "Attacker address",
    "Login address",
    "Password used",
    "File downloaded in two parts",
    "File uploaded",
    "SHA-256 of the uploaded file",
    "Account",
];

fn assert_no_fact_in(output: &str, report: &str) {
    for label in SECRET_FIELDS {
        let value = field(report, label);
        assert!(
            value != "____" && !value.is_empty(),
            "{label} not in the key"
        );
        assert!(
            !output.contains(&value),
            "the runner's output shows {label} ({value}):\n{output}"
        );
    }
}

/// Writes the report, runs `check lab7`, returns its output.
fn check(work: &Path, report: &str, extra: &[&str]) -> Output {
    let file = work.join("lab7").join("report.md");
    std::fs::create_dir_all(work.join("lab7")).expect("work folder");
    std::fs::write(&file, report).expect("write the report");
    run(runner_in(work).args(["check", "lab7"]).args(extra))
}

/// A right report passes; a wrong password and a wrong frame are named, their right values not.
fn right_then_wrong(work: &Path, report: &str) {
    let out = check(work, report, &[]);
    assert!(out.status.success(), "a right report\n{}", describe(&out));
    assert!(
        stdout(&out).contains("16 of 16 right"),
        "{}",
        describe(&out)
    );
    let password = field(report, "Password used");
    let frame = field(report, "Frame of the successful PASS");
    let wrong_frame = (frame.parse::<i64>().expect("a frame number") + 1).to_string();
    let wrong = with_field(report, "Password used", &format!("{password}x"));
    let wrong = with_field(&wrong, "Frame of the successful PASS", &wrong_frame);
    let out = check(work, &wrong, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let text = stdout(&out);
    assert!(text.contains("✗ password: not right"), "{text}");
    assert!(text.contains("✗ pass_frame: not right"), "{text}");
    assert!(text.contains("✓ attacker_ip: right"), "{text}");
    assert!(text.contains("14 of 16 right"), "{text}");
    assert!(
        !text.contains(&password),
        "check shows the password\n{text}"
    );
    assert!(
        !text.contains(&format!("frame {frame}")) && !text.contains(&format!(" {frame}\n")),
        "check shows the right frame\n{text}"
    );
}

#[test]
fn lab7_offline_auto_passes_and_check_names_wrong_facts_without_the_right_ones() {
    let work = tempfile::tempdir().expect("temp dir");
    let out = run(runner_in(work.path()).args(["lab", "7", "--offline", "--auto"]));
    assert!(
        out.status.success(),
        "lab 7 --offline --auto\n{}",
        describe(&out)
    );
    let text = stdout(&out);
    assert!(text.contains("What you should have seen"), "{text}");
    assert!(!text.contains("  ✗ "), "an expectation failed\n{text}");
    let made = work.path().join("lab7").join("report.md");
    let template = std::fs::read_to_string(&made).expect("the report made from the template");
    assert!(template.contains("- Password used: ____"), "{template}");
    let report = key(work.path(), &[]);
    assert_no_fact_in(&text, &report);
    right_then_wrong(work.path(), &report);
}

#[test]
fn lab7_hints_never_hold_a_fact_of_the_shipped_case() {
    let work = tempfile::tempdir().expect("temp dir");
    let report = key(work.path(), &[]);
    for n in 1..=16 {
        for level in ["1", "2"] {
            let out = run(runner_in(work.path()).args([
                "hint",
                "lab7",
                &n.to_string(),
                "--level",
                level,
            ]));
            assert!(out.status.success(), "{}", describe(&out));
            assert_no_fact_in(&stdout(&out), &report);
        }
    }
}

/// `lab 7 --auto --seed N` live; None where capturing is not allowed (skipped unless
/// FTPLAB_SKIP_LIVE is unset, then it fails).
fn live(work: &Path, seed: &str) -> Option<String> {
    let out = run(runner_in(work).args(["lab", "7", "--auto", "--seed", seed]));
    let err = String::from_utf8_lossy(&out.stderr);
    if !out.status.success()
        && (err.contains("CAP_NET_RAW") || err.contains("no `live` subcommand"))
    {
        testkit::guard::missing(
            testkit::guard::SKIP_LIVE,
            &format!("lab 7 live: {}", err.trim()),
        );
        return None;
    }
    assert!(
        out.status.success(),
        "lab 7 --auto --seed {seed}\n{}",
        describe(&out)
    );
    assert!(!stdout(&out).contains("  ✗ "), "{}", describe(&out));
    let capture = work.join("lab7").join("lab7.pcapng");
    assert!(capture.is_file(), "no capture\n{}", describe(&out));
    let report = key(
        work,
        &[
            "--capture",
            capture.to_str().expect("UTF-8 temp path"),
            "--seed",
            seed,
        ],
    );
    assert_no_fact_in(&stdout(&out), &report);
    // The report the run made names the capture and the seed; filled in, it is all right.
    let made = std::fs::read_to_string(work.join("lab7").join("report.md")).expect("report made");
    assert!(
        made.contains("lab7/lab7.pcapng") && made.contains(&format!("- Seed: {seed}")),
        "{made}"
    );
    right_then_wrong(work, &report);
    Some(report)
}

#[test]
fn lab7_live_auto_makes_each_seed_its_own_incident_and_check_follows_it() {
    let (a, b) = (
        tempfile::tempdir().expect("temp"),
        tempfile::tempdir().expect("temp"),
    );
    let Some(first) = live(a.path(), "11") else {
        return;
    };
    let Some(second) = live(b.path(), "12") else {
        return;
    };
    for label in [
        "Attacker address",
        "Login address",
        "Password used",
        "Account",
        "FTP server port",
        "SHA-256 of the uploaded file",
    ] {
        assert_ne!(field(&first, label), field(&second, label), "{label}");
    }
}

#[test]
fn lab7_with_a_token_makes_the_students_own_case_and_check_uses_the_saved_token() {
    let work = tempfile::tempdir().expect("temp dir");
    let course = work.path().join("course.toml");
    let out = run(runner_in(work.path())
        .args(["teacher", "init", "--out"])
        .arg(&course));
    assert!(out.status.success(), "{}", describe(&out));
    let roster = work.path().join("roster.csv");
    std::fs::write(&roster, "id,name,email\nalice1,Alice,alice@example.org\n").expect("roster");
    let out = run(runner_in(work.path())
        .args(["teacher", "roster", "--course"])
        .arg(&course)
        .arg(&roster));
    assert!(out.status.success(), "{}", describe(&out));
    let token = stdout(&out)
        .lines()
        .nth(1)
        .and_then(|l| l.rsplit(',').next())
        .expect("a token row")
        .to_string();
    let out = run(runner_in(work.path()).args(["lab", "7", "--auto", "--student", &token]));
    let err = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && err.contains("CAP_NET_RAW") {
        testkit::guard::missing(testkit::guard::SKIP_LIVE, "lab 7 live needs CAP_NET_RAW");
        return;
    }
    assert!(out.status.success(), "{}", describe(&out));
    let made = std::fs::read_to_string(work.path().join("lab7").join("report.md")).expect("report");
    assert!(made.contains("- Student: alice1"), "{made}");
    let capture = work.path().join("lab7").join("lab7.pcapng");
    let capture = capture.to_str().expect("UTF-8 temp path");
    let course = course.to_str().expect("UTF-8 temp path");
    let report = key(
        work.path(),
        &[
            "--capture",
            capture,
            "--student",
            "alice1",
            "--course",
            course,
        ],
    );
    assert!(report.contains("- Student: alice1"), "{report}");
    assert_no_fact_in(&stdout(&out), &report);
    let out = check(work.path(), &report, &[]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        stdout(&out).contains("(student alice1)"),
        "{}",
        describe(&out)
    );
    // The report is what is handed in, with the capture it is about.
    let out = run(runner_in(work.path()).args(["submit", "lab7"]));
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        stdout(&out).contains("lab7/lab7.pcapng"),
        "{}",
        describe(&out)
    );
    // The teacher grades it: every fact of the report right, nothing flagged.
    let grades = work.path().join("grades.csv");
    let out = run(runner_in(work.path())
        .args(["teacher", "grade", "--course", course, "--roster"])
        .arg(&roster)
        .arg(work.path().join("submissions"))
        .arg("--out")
        .arg(&grades));
    assert!(out.status.success(), "{}", describe(&out));
    let csv = std::fs::read_to_string(&grades).expect("grades.csv");
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("a header").split(',').collect();
    let row: Vec<&str> = lines.next().expect("alice's row").split(',').collect();
    let cell = |name: &str| {
        let i = header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("{name}: {csv}"));
        row[i]
    };
    assert_eq!(cell("id"), "alice1", "{csv}");
    assert!(cell("max").parse::<u32>().expect("max") >= 10, "{csv}");
    assert_eq!(cell("lab7.total"), cell("max"), "{csv}");
    for flag in [
        "missing",
        "late",
        "tampered",
        "capture_not_theirs",
        "duplicate_capture",
    ] {
        assert_eq!(cell(flag), "", "{flag}: {csv}");
    }
    // The shipped (demo) case's facts are not this student's.
    let demo = key(work.path(), &[]);
    assert_ne!(
        field(&demo, "Password used"),
        field(&report, "Password used")
    );
}

/// tshark's fields `fields` of the shipped capture's frames matching `filter`, the FTP port
/// decoded as FTP (Decode As), one row per frame.
fn tshark(port: &str, filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
    let capture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../captures/lab7.pcapng");
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(&capture).args([
        "-d",
        &format!("tcp.port=={port},ftp"),
        "-Y",
        filter,
        "-T",
        "fields",
    ]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd
        .stderr(std::process::Stdio::null())
        .output()
        .expect("tshark (apt-get install tshark) reads the shipped capture");
    assert!(out.status.success(), "tshark -Y {filter}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// The reference reader agrees with the key: tshark, told the port by Decode As, finds the
/// same attack, PASS, PORT and STOR frames, the lost segments, and the DNS around them.
#[test]
fn lab7_facts_agree_with_tshark() {
    let work = tempfile::tempdir().expect("temp dir");
    let report = key(work.path(), &[]);
    let port = field(&report, "FTP server port");
    let attacker = field(&report, "Attacker address");
    let tried = tshark(
        &port,
        &format!("ftp.request.command == \"PASS\" && ip.src == {attacker}"),
        &["frame.number"],
    );
    assert_eq!(tried.len().to_string(), field(&report, "Passwords tried"));
    let pass = tshark(
        &port,
        &format!(
            "frame.number == {}",
            field(&report, "Frame of the successful PASS")
        ),
        &["ip.src", "ftp.request.command", "ftp.request.arg"],
    );
    let want = vec![
        field(&report, "Login address"),
        "PASS".to_string(),
        field(&report, "Password used"),
    ];
    assert_eq!(pass, vec![want]);
    let port_cmd = tshark(&port, "ftp.request.command == \"PORT\"", &["frame.number"]);
    assert_eq!(
        port_cmd,
        vec![vec![field(&report, "Frame of the refused PORT")]]
    );
    let stor = tshark(
        &port,
        "ftp.request.command == \"STOR\"",
        &["frame.number", "ftp.request.arg"],
    );
    assert_eq!(
        stor,
        vec![vec![
            field(&report, "Frame of the STOR"),
            field(&report, "File uploaded")
        ]]
    );
    let refused = tshark(&port, "ftp.response.code == 504", &["frame.number"]);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(field(&report, "Reply code to that PORT"), "504");
    assert!(!tshark(&port, "tcp.analysis.lost_segment", &["frame.number"]).is_empty());
    assert!(!tshark(&port, "dns.a", &["dns.a"]).is_empty());
    assert!(!tshark(&port, "http.request", &["frame.number"]).is_empty());
}

/// The case is played once: quitting names a resume command that reads the capture made, and
/// resuming with it makes no second one.
#[test]
fn lab7_resumes_on_the_capture_it_made() {
    let work = tempfile::tempdir().expect("temp dir");
    let out = testkit::process::run_with_stdin(
        runner_in(work.path()).args(["lab", "7", "--seed", "21"]),
        b"q",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && err.contains("CAP_NET_RAW") {
        testkit::guard::missing(testkit::guard::SKIP_LIVE, "lab 7 live needs CAP_NET_RAW");
        return;
    }
    assert!(out.status.success(), "{}", describe(&out));
    let text = stdout(&out);
    let resume = text
        .lines()
        .find_map(|l| {
            l.split('`')
                .nth(1)
                .filter(|c| c.starts_with("just lab7 --step"))
        })
        .unwrap_or_else(|| panic!("no resume command in\n{text}"));
    assert!(resume.contains("--offline --capture "), "{resume}");
    // The report to fill in during the steps is there already, naming the case's capture.
    let made = std::fs::read_to_string(work.path().join("lab7").join("report.md"))
        .expect("the report made before the first step");
    assert!(
        made.contains("lab7/lab7.pcapng") && made.contains("- Seed: 21"),
        "{made}"
    );
    let args: Vec<&str> = resume.split_whitespace().skip(2).collect();
    let out = run(runner_in(work.path())
        .args(["lab", "7"])
        .args(&args)
        .arg("--auto"));
    assert!(out.status.success(), "{resume}\n{}", describe(&out));
    assert!(!stdout(&out).contains("  ✗ "), "{}", describe(&out));
    assert!(!work.path().join("lab7").join("lab7-2.pcapng").exists());
}
