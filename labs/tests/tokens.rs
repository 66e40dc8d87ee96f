//! Course secret and student tokens end to end: `teacher init` and `teacher roster` as the
//! teacher runs them, two students' parameters in every lab, what one token does not yield, the
//! token saved in the work folder, a live lab and its check per student, and the key that needs
//! the course file. Every run gets its own work folder (`FTPLAB_MY_WORK`).

mod common;
use common::{runner_at as runner_in, stdout};

use labs::course::{Course, Token};
use labs::seed::Secrets;
use std::path::Path;
use std::process::{Command, Output};
use testkit::process::{describe, run};

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `teacher init` then `teacher roster` for two students in `dir`: the course file and the
/// tokens (`id`, token text) as the roster printed them.
fn class_of_two(dir: &Path) -> (std::path::PathBuf, Vec<(String, String)>) {
    let course = dir.join("course.toml");
    let out = run(runner_in(dir)
        .args(["teacher", "init", "--out"])
        .arg(&course));
    assert!(out.status.success(), "{}", describe(&out));
    let roster = dir.join("roster.csv");
    std::fs::write(
        &roster,
        "id,name,email\nalice1,\"Martin, Alice\",alice@example.org\nbob2,Bob,bob@example.org\n",
    )
    .expect("write roster");
    let out = run(runner_in(dir)
        .args(["teacher", "roster", "--course"])
        .arg(&course)
        .arg(&roster));
    assert!(out.status.success(), "{}", describe(&out));
    let text = stdout(&out);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("id,name,email,token"), "{text}");
    let tokens = lines
        .filter_map(|l| {
            let (id, rest) = l.split_once(',')?;
            Some((id.to_string(), rest.rsplit(',').next()?.to_string()))
        })
        .collect::<Vec<_>>();
    assert_eq!(tokens.len(), 2, "{text}");
    (course, tokens)
}

#[test]
fn init_writes_a_private_course_file_and_never_overwrites_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (course, _) = class_of_two(dir.path());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&course)
        .expect("course file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let before = std::fs::read(&course).expect("read");
    let out = run(runner_in(dir.path())
        .args(["teacher", "init", "--out"])
        .arg(&course));
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        stderr(&out).contains("never overwritten"),
        "{}",
        describe(&out)
    );
    assert_eq!(std::fs::read(&course).expect("read"), before);
    // Two courses have two secrets.
    let other = dir.path().join("other.toml");
    let out = run(runner_in(dir.path())
        .args(["teacher", "init", "--out"])
        .arg(&other));
    assert!(out.status.success(), "{}", describe(&out));
    assert_ne!(Course::load(&course).ok(), Course::load(&other).ok());
}

#[test]
fn init_refuses_a_path_git_would_commit_and_warns_for_an_ignored_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(dir.path())
            .args(args)
            .output()
    };
    match git(&["init", "-q"]) {
        Ok(o) if o.status.success() => {}
        _ => {
            eprintln!("skipped: git is not installed");
            return;
        }
    }
    std::fs::write(dir.path().join(".gitignore"), "*.course.toml\n").expect("gitignore");
    let tracked = dir.path().join("secret.toml");
    let out = run(runner_in(dir.path())
        .args(["teacher", "init", "--out"])
        .arg(&tracked));
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        stderr(&out).contains("would be committed"),
        "{}",
        describe(&out)
    );
    assert!(!tracked.exists());
    let ignored = dir.path().join("fall.course.toml");
    let out = run(runner_in(dir.path())
        .args(["teacher", "init", "--out"])
        .arg(&ignored));
    assert!(out.status.success(), "{}", describe(&out));
    assert!(stderr(&out).contains("warning"), "{}", describe(&out));
    assert!(ignored.is_file());
}

#[test]
fn the_repository_ignores_course_files_and_token_lists() {
    let gitignore = include_str!("../../.gitignore");
    for pattern in ["course.toml", "*.course.toml", "tokens.csv"] {
        assert!(gitignore.lines().any(|l| l == pattern), "{pattern}");
    }
}

#[test]
fn roster_tokens_are_a_function_of_the_secret_and_the_id() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (course_file, tokens) = class_of_two(dir.path());
    let course = Course::load(&course_file).expect("course file");
    for (id, text) in &tokens {
        let token = Token::parse(text).expect("the roster's tokens parse");
        assert_eq!(token.id(), id);
        assert_eq!(course.token(id).expect("valid id"), token);
    }
    assert_ne!(tokens[0].1, tokens[1].1);
    // Written to a file instead: the same tokens, mode 0600.
    let out_file = dir.path().join("tokens.csv");
    let out = run(runner_in(dir.path())
        .args(["teacher", "roster", "--course"])
        .arg(&course_file)
        .arg(dir.path().join("roster.csv"))
        .arg("--out")
        .arg(&out_file));
    assert!(out.status.success(), "{}", describe(&out));
    let written = std::fs::read_to_string(&out_file).expect("tokens.csv");
    assert!(written.contains(&tokens[0].1) && written.contains(&tokens[1].1));
    assert!(written.contains("\"Martin, Alice\""), "{written}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&out_file)
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn a_malformed_roster_names_its_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let course = dir.path().join("c.toml");
    assert!(
        run(runner_in(dir.path())
            .args(["teacher", "init", "--out"])
            .arg(&course))
        .status
        .success()
    );
    for (text, says) in [
        (
            "id,name,email\nok1,Ann,ann@x.org\nbad id,Bo,bo@x.org\n",
            "line 3: student id",
        ),
        ("id,name,email\nok1,Ann\n", "line 2: 2 fields"),
        ("name,email\n", "line 1: the header"),
    ] {
        let roster = dir.path().join("r.csv");
        std::fs::write(&roster, text).expect("write");
        let out = run(runner_in(dir.path())
            .args(["teacher", "roster", "--course"])
            .arg(&course)
            .arg(&roster));
        assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
        assert!(stderr(&out).contains(says), "{says}\n{}", describe(&out));
        assert!(stdout(&out).is_empty(), "tokens printed for a bad roster");
    }
}

#[test]
fn two_students_get_different_passwords_and_files_in_every_lab() {
    let course = Course::generate();
    let (a, b) = (course.token("alice1"), course.token("bob2"));
    let (Ok(a), Ok(b)) = (a, b) else {
        panic!("valid ids")
    };
    for lab in 0..6 {
        let (sa, sb) = (Secrets::for_student(&a, lab), Secrets::for_student(&b, lab));
        // Same token, same values: the teacher remakes them from the course file.
        assert_eq!(sa, Secrets::for_student(&a, lab));
        let again = course.token("alice1").expect("valid id");
        assert_eq!(sa, Secrets::for_student(&again, lab));
        assert_ne!(sa.password, sb.password, "lab {lab}");
        assert_ne!(sa.notes, sb.notes, "lab {lab}");
        assert_ne!(sa.photo, sb.photo, "lab {lab}");
        assert_ne!(sa.words, sb.words, "lab {lab}");
        let demo = Secrets::new(None);
        assert_ne!(sa.password, demo.password);
    }
}

#[test]
fn one_token_does_not_yield_a_classmates_parameters() {
    let course = Course::generate();
    let a = course.token("alice1").expect("valid id");
    let b_real = course.token("bob2").expect("valid id");
    let real = Secrets::for_student(&b_real, 1);
    // What alice has: her token's text and her own lab seeds. Used as a course secret (the
    // only way the code makes a token for an id), none gives bob's token or values.
    let text = a.to_string();
    let mut guesses: Vec<[u8; 32]> = vec![[0; 32], a.lab_seed(1), a.lab_seed(0)];
    use sha2::Digest;
    guesses.push(sha2::Sha256::digest(text.as_bytes()).into());
    let mut padded = [0u8; 32];
    for (p, t) in padded.iter_mut().zip(text.bytes()) {
        *p = t;
    }
    guesses.push(padded);
    for secret in guesses {
        let forged = Course::from_secret(secret).token("bob2").expect("valid id");
        assert_ne!(forged, b_real);
        let s = Secrets::for_student(&forged, 1);
        assert_ne!(s.password, real.password);
        assert_ne!(s.notes, real.notes);
    }
    // Another course's token for bob is not bob's either.
    let other = Course::generate().token("bob2").expect("valid id");
    assert_ne!(Secrets::for_student(&other, 1), real);
    // Alice's token with bob's id does not even parse (its check covers the id).
    let swapped = text.replacen("alice1", "bob2", 1);
    assert!(Token::parse(&swapped).is_err());
}

#[test]
fn a_malformed_token_gets_a_clear_error_and_nothing_is_saved() {
    let dir = tempfile::tempdir().expect("temp dir");
    for bad in [
        "alice1",
        "alice1.ABCD-EFGH",
        "alice1.0000-0000-0000-0000-0000-0000-0000-0000",
    ] {
        let out = run(runner_in(dir.path()).args(["lab", "1", "--auto", "--student", bad]));
        assert_eq!(out.status.code(), Some(2), "{bad}\n{}", describe(&out));
        assert!(
            stderr(&out).contains("a token looks like"),
            "{}",
            describe(&out)
        );
        assert!(!dir.path().join("token").exists());
    }
}

#[test]
fn the_token_is_saved_once_and_another_one_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_, tokens) = class_of_two(dir.path());
    let work = dir.path().join("work");
    // Offline with a token needs a capture made for it; the token is saved all the same.
    let out =
        run(runner_in(&work).args(["lab", "1", "--offline", "--auto", "--student", &tokens[0].1]));
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(stderr(&out).contains("--capture"), "{}", describe(&out));
    let saved = std::fs::read_to_string(work.join("token")).expect("token saved");
    assert_eq!(saved.trim(), tokens[0].1);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(work.join("token"))
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // Without --student the saved token is used (same refusal: it is not the demo user).
    let out = run(runner_in(&work).args(["lab", "1", "--offline", "--auto"]));
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(stderr(&out).contains("--capture"), "{}", describe(&out));
    // A classmate's token is not silently taken over.
    let out = run(runner_in(&work).args(["lab", "1", "--auto", "--student", &tokens[1].1]));
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        stderr(&out).contains("holds the token of alice1"),
        "{}",
        describe(&out)
    );
    // --seed still works for practice next to a saved token.
    let out = run(runner_in(&work).args(["lab", "1", "--offline", "--auto", "--seed", "3"]));
    assert!(stderr(&out).contains("--capture"), "{}", describe(&out));
}

#[test]
fn a_students_key_needs_the_course_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (course, _) = class_of_two(dir.path());
    let out = run(runner_in(dir.path()).args(["key", "1", "--student", "alice1"]));
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(stderr(&out).contains("--course"), "{}", describe(&out));
    let out = run(runner_in(dir.path())
        .args(["key", "1", "--student", "alice1", "--course"])
        .arg(&course));
    // The shipped capture is the demo user's: the key says so instead of inventing answers.
    assert!(
        stdout(&out).contains("student = \"alice1\""),
        "{}",
        describe(&out)
    );
    assert!(stdout(&out).contains("another seed"), "{}", describe(&out));
}

/// One student's live lab 1 with their token: (their capture, the key the teacher computes
/// for it from the course file). None where live capture is not possible.
fn live_lab1(work: &Path, course: &Path, id: &str, token: &str) -> Option<(String, String)> {
    let out = run(runner_in(work).args(["lab", "1", "--auto", "--student", token]));
    let err = stderr(&out);
    if !out.status.success()
        && (err.contains("no `live` subcommand") || err.contains("CAP_NET_RAW"))
    {
        testkit::guard::missing(testkit::guard::SKIP_LIVE, "live lab 1 needs CAP_NET_RAW");
        return None;
    }
    assert!(out.status.success(), "{}", describe(&out));
    let capture = work.join("lab1").join("lab1.pcapng");
    let capture = capture.to_str().expect("UTF-8 temp path").to_string();
    let answers = std::fs::read_to_string(work.join("lab1").join("answers.toml")).expect("answers");
    assert!(
        answers.contains(&format!("student = \"{id}\"")),
        "{answers}"
    );
    let key = run(runner_in(work)
        .args([
            "key",
            "1",
            "--capture",
            &capture,
            "--student",
            id,
            "--course",
        ])
        .arg(course));
    assert!(key.status.success(), "{}", describe(&key));
    Some((capture, stdout(&key)))
}

#[test]
fn each_students_live_lab_is_checked_with_their_own_token() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (course, tokens) = class_of_two(dir.path());
    let (wa, wb) = (dir.path().join("a"), dir.path().join("b"));
    let Some((cap_a, key_a)) = live_lab1(&wa, &course, "alice1", &tokens[0].1) else {
        return;
    };
    let Some((cap_b, key_b)) = live_lab1(&wb, &course, "bob2", &tokens[1].1) else {
        return;
    };
    // The passwords on the wire differ, so the keys do.
    assert_ne!(key_a, key_b);
    let real_a = Secrets::for_student(&Token::parse(&tokens[0].1).expect("token"), 1);
    assert!(
        std::fs::read(&cap_a)
            .expect("capture a")
            .windows(real_a.password.len())
            .any(|w| w == real_a.password.as_bytes())
    );
    assert!(
        !std::fs::read(&cap_b)
            .expect("capture b")
            .windows(real_a.password.len())
            .any(|w| w == real_a.password.as_bytes())
    );
    // Alice's key (with her capture named) filled in: `just check lab1` follows her saved token.
    let file = wa.join("lab1").join("answers.toml");
    std::fs::write(&file, &key_a).expect("fill in");
    let out = run(runner_in(&wa).args(["check", "1"]));
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        stdout(&out).contains("(student alice1)"),
        "{}",
        describe(&out)
    );
    // Bob handing in alice's capture: checked with bob's token it is not his.
    let stolen = key_b.replace(&cap_b, &cap_a);
    let file = wb.join("lab1").join("answers.toml");
    std::fs::write(&file, stolen).expect("write");
    let out = run(runner_in(&wb).args(["check", "1"]));
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(stdout(&out).contains("another seed"), "{}", describe(&out));
}

fn can_record() -> bool {
    let tools = ["tcpdump", "editcap"].iter().all(|t| {
        Command::new(t)
            .arg("--version")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok()
    });
    rustix::process::geteuid().is_root() && tools
}

#[test]
fn a_teacher_made_offline_capture_works_for_its_student_only() {
    if !can_record() {
        testkit::guard::missing(
            testkit::guard::SKIP_PRIVILEGED,
            "recording a student's captures needs root, tcpdump and editcap",
        );
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let (course, tokens) = class_of_two(dir.path());
    let out_dir = dir.path().join("alice-captures");
    let out = run(runner_in(dir.path())
        .args(["captures", "--lab", "1", "--student", "alice1", "--out"])
        .arg(&out_dir)
        .arg("--course")
        .arg(&course));
    assert!(out.status.success(), "{}", describe(&out));
    let capture = out_dir.join("lab1.pcapng");
    let capture = capture.to_str().expect("UTF-8 temp path");
    let alice = Secrets::for_student(&Token::parse(&tokens[0].1).expect("token"), 1);
    let bytes = std::fs::read(capture).expect("capture");
    assert!(
        bytes
            .windows(alice.password.len())
            .any(|w| w == alice.password.as_bytes()),
        "alice's password is not in her capture"
    );
    // Alice: the lab runs offline from it, and her key checks right.
    let wa = dir.path().join("a");
    let out = run(runner_in(&wa).args([
        "lab",
        "1",
        "--offline",
        "--auto",
        "--capture",
        capture,
        "--student",
        &tokens[0].1,
    ]));
    assert!(out.status.success(), "{}", describe(&out));
    let key = run(runner_in(&wa)
        .args([
            "key",
            "1",
            "--capture",
            capture,
            "--student",
            "alice1",
            "--course",
        ])
        .arg(&course));
    assert!(key.status.success(), "{}", describe(&key));
    std::fs::write(wa.join("lab1").join("answers.toml"), stdout(&key)).expect("fill in");
    let out = run(runner_in(&wa).args(["check", "1"]));
    assert!(out.status.success(), "{}", describe(&out));
    // Bob with alice's capture and alice's answers: not his.
    let wb = dir.path().join("b");
    let answers = wb.join("answers.toml");
    std::fs::create_dir_all(&wb).expect("mkdir");
    std::fs::write(&answers, stdout(&key).replace("student = \"alice1\"", "")).expect("write");
    let out = run(runner_in(&wb)
        .args(["check", "1", "--student", &tokens[1].1, "--answers"])
        .arg(&answers));
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(stdout(&out).contains("another seed"), "{}", describe(&out));
}

#[test]
fn submit_needs_a_token_and_the_students_own_capture() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_, tokens) = class_of_two(dir.path());
    let work = dir.path().join("w");
    // No token: graded work only.
    let out = run(runner_in(&work).args(["submit", "lab1"]));
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        stderr(&out).contains("--student TOKEN"),
        "{}",
        describe(&out)
    );
    // The answers file naming the shipped (demo) capture is refused.
    let out = run(runner_in(&work).args(["check", "lab1", "--student", &tokens[0].1]));
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let out = run(runner_in(&work).args(["submit", "lab1"]));
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        stderr(&out).contains("shipped capture"),
        "{}",
        describe(&out)
    );
    assert!(!work.join("submissions").exists());
}

#[test]
fn a_submission_verifies_for_its_student_and_an_edit_after_it_shows() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (course, tokens) = class_of_two(dir.path());
    let wa = dir.path().join("a");
    let Some((capture, key)) = live_lab1(&wa, &course, "alice1", &tokens[0].1) else {
        return;
    };
    let answers = wa.join("lab1").join("answers.toml");
    std::fs::write(&answers, &key).expect("fill in");
    let out = run(runner_in(&wa).args(["submit", "lab1"]));
    assert!(out.status.success(), "{}", describe(&out));
    let file = wa.join("submissions").join("lab1-alice1.ftplab.toml");
    let text = std::fs::read_to_string(&file).expect("submission written");
    // What it carries: the answers as written, the capture and its sha256, the tool, the times.
    let token = Token::parse(&tokens[0].1).expect("token");
    let s = labs::submit::verify(&text, &token).expect("verifies with alice's token");
    assert_eq!(s.answers, key);
    assert_eq!(s.capture, std::fs::read(&capture).expect("capture"));
    assert_eq!(s.capture_sha256, Secrets::sha256(&s.capture));
    assert_eq!((s.lab, s.student.as_str()), (1, "alice1"));
    assert!(
        s.tool.starts_with("ftplab-lab ") && s.created.starts_with("20"),
        "{s:?}"
    );
    // The teacher checks it with the course file.
    let verify = |f: &Path| {
        run(runner_in(dir.path())
            .args(["teacher", "verify", "--course"])
            .arg(&course)
            .arg(f))
    };
    let out = verify(&file);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(stdout(&out).contains("ok") && stdout(&out).contains("lab1 by alice1"));
    // An answer edited after submission, or the file passed off as bob's, is rejected.
    let line = key
        .lines()
        .find(|l| l.starts_with("pass_frame = "))
        .expect("lab 1 asks for the PASS frame");
    let edited = dir.path().join("edited.toml");
    std::fs::write(&edited, text.replacen(line, "pass_frame = 1", 1)).expect("write");
    assert_ne!(std::fs::read_to_string(&edited).ok(), Some(text.clone()));
    let out = verify(&edited);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(stdout(&out).contains("REJECTED") && stdout(&out).contains("edited after submission"));
    let as_bob = dir.path().join("bob.toml");
    std::fs::write(&as_bob, text.replace("alice1", "bob2")).expect("write");
    let out = verify(&as_bob);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    // With another course's secret nothing verifies.
    let other = dir.path().join("other.toml");
    assert!(
        run(runner_in(dir.path())
            .args(["teacher", "init", "--out"])
            .arg(&other))
        .status
        .success()
    );
    let out = run(runner_in(dir.path())
        .args(["teacher", "verify", "--course"])
        .arg(&other)
        .arg(&file));
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
}
