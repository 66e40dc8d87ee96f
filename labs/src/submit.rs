//! `ftplab-lab submit N`: one file to hand in for lab N: the answers file as written, the
//! student's own capture (hex) with its sha256, the lab 5 key log when there is one, the tool
//! version, timestamps, and a MAC keyed by the student's token over everything before it, so an
//! edit after submission shows. The teacher checks it with `teacher verify` and grades a folder
//! of them with `teacher grade`.
//!
//! The MAC proves the file is the one the token's holder made; it cannot prove *when* (the
//! student's clock writes the timestamps) and the student, who holds the token, could remake it.
//! Compare with the time your hand-in system recorded.

use crate::course::Token;
use crate::error::LabError;
use std::path::{Path, PathBuf};

/// Largest capture a submission carries (hex doubles it): a lab's capture is a few KiB.
pub const MAX_CAPTURE: u64 = 32 * 1024 * 1024;
/// Version of the submission format.
const FORMAT: i64 = 1;
/// The last line of a submission: `mac = "…"`.
const MAC_PREFIX: &str = "mac = \"";

/// Options of `ftplab-lab submit`.
#[derive(Debug, Clone, clap::Args)]
pub struct SubmitArgs {
    /// The lab: 0-6 (or lab0-lab6).
    #[arg(value_parser = crate::parse_lab)]
    pub lab: u8,
    /// Answers file (default my-work/labN/answers.toml).
    #[arg(long)]
    pub answers: Option<PathBuf>,
    /// Your token (default: the one saved in my-work/token).
    #[arg(long, value_name = "TOKEN")]
    pub student: Option<String>,
    /// Where to write the submission (default my-work/submissions/labN-ID.ftplab.toml).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Why a submission cannot be trusted or read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SubmissionError {
    /// No `mac = "…"` line at the end.
    #[error("no MAC at the end: not a submission made by `just submit`, or cut short")]
    NoMac,
    /// The MAC does not match: edited after submission, or made with another token.
    #[error(
        "the MAC does not match: the file was edited after submission (or made with another token)"
    )]
    Tampered,
    /// The body is not what `submit` writes.
    #[error("{0}")]
    Malformed(String),
    /// The capture's bytes do not have the sha256 the file states.
    #[error("the capture's sha256 is not the one stated")]
    CaptureHash,
}

/// A submission whose MAC checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// The lab.
    pub lab: u8,
    /// The student id.
    pub student: String,
    /// `ftplab-lab` version that made it.
    pub tool: String,
    /// When it was made (the student's clock, RFC 3339).
    pub created: String,
    /// The answers file, as written.
    pub answers: String,
    /// The capture's file name.
    pub capture_name: String,
    /// The capture.
    pub capture: Vec<u8>,
    /// Its sha256 (hex).
    pub capture_sha256: String,
    /// The TLS key log next to the capture (lab 5), if any.
    pub keylog: Option<Vec<u8>>,
}

fn rfc3339(t: std::time::SystemTime) -> String {
    let t = time::OffsetDateTime::from(t);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn modified(path: &Path) -> String {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .map(rfc3339)
        .unwrap_or_default()
}

/// The submission's text: a commented head, the fields, then the MAC line.
pub fn build(
    lab: u8,
    token: &Token,
    answers: &str,
    capture_name: &str,
    capture: &[u8],
    keylog: Option<&[u8]>,
    times: [String; 3],
) -> String {
    let [created, answers_modified, capture_modified] = times;
    let mut t = toml::Table::new();
    t.insert("format".into(), FORMAT.into());
    t.insert("lab".into(), i64::from(lab).into());
    t.insert("student".into(), token.id().into());
    t.insert(
        "tool".into(),
        format!("ftplab-lab {}", env!("CARGO_PKG_VERSION")).into(),
    );
    t.insert("created".into(), created.into());
    t.insert("answers_modified".into(), answers_modified.into());
    t.insert("capture_modified".into(), capture_modified.into());
    t.insert("answers".into(), answers.into());
    t.insert("capture_name".into(), capture_name.into());
    t.insert(
        "capture_sha256".into(),
        crate::seed::Secrets::sha256(capture).into(),
    );
    t.insert("capture_hex".into(), hex::encode(capture).into());
    if let Some(k) = keylog {
        t.insert("keylog_hex".into(), hex::encode(k).into());
    }
    let mut body = format!(
        "# ftplab submission: lab {lab}, student {}. Hand in this file as it is: the MAC on the\n\
         # last line covers every byte above it, so any edit shows.\n",
        token.id()
    );
    body.push_str(&toml::to_string(&t).unwrap_or_default());
    if !body.ends_with('\n') {
        body.push('\n');
    }
    let mac = hex::encode(token.submission_mac(body.as_bytes()));
    format!("{body}{MAC_PREFIX}{mac}\"\n")
}

/// The student id a submission claims (read before the MAC can be checked: the MAC's key is
/// that student's).
pub fn claimed_student(text: &str) -> Result<String, SubmissionError> {
    claimed(text, "student")?
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| SubmissionError::Malformed("no `student`".into()))
}

/// The lab a submission claims, unchecked (to file a rejected submission under its lab).
pub fn claimed_lab(text: &str) -> Option<u8> {
    claimed(text, "lab")
        .ok()?
        .as_integer()
        .and_then(|l| u8::try_from(l).ok())
}

fn claimed(text: &str, key: &str) -> Result<toml::Value, SubmissionError> {
    let (body, _) = split(text)?;
    let mut t: toml::Table = body
        .parse()
        .map_err(|_| SubmissionError::Malformed("not TOML".into()))?;
    t.remove(key)
        .ok_or_else(|| SubmissionError::Malformed(format!("no `{key}`")))
}

/// Checks a submission with the course: the token of the student it names (remade from the
/// course secret) must have made its MAC. What `teacher verify` and `teacher grade` both do.
pub fn verify_for_course(
    text: &str,
    course: &crate::course::Course,
) -> Result<Submission, SubmissionError> {
    let id = claimed_student(text)?;
    let token = course
        .token(&id)
        .map_err(|e| SubmissionError::Malformed(e.to_string()))?;
    verify(text, &token)
}

fn split(text: &str) -> Result<(&str, &str), SubmissionError> {
    let trimmed = text.trim_end_matches('\n');
    let at = trimmed.rfind('\n').map_or(0, |i| i + 1);
    let last = trimmed.get(at..).unwrap_or("");
    let mac = last
        .strip_prefix(MAC_PREFIX)
        .and_then(|r| r.strip_suffix('"'))
        .ok_or(SubmissionError::NoMac)?;
    Ok((text.get(..at).unwrap_or(""), mac))
}

/// Checks a submission's MAC with `token` and reads it.
pub fn verify(text: &str, token: &Token) -> Result<Submission, SubmissionError> {
    let (body, mac) = split(text)?;
    let tag = hex::decode(mac).map_err(|_| SubmissionError::Tampered)?;
    if !token.verify_submission_mac(body.as_bytes(), &tag) {
        return Err(SubmissionError::Tampered);
    }
    let t: toml::Table = body
        .parse()
        .map_err(|_| SubmissionError::Malformed("not TOML".into()))?;
    let text_field = |k: &str| {
        t.get(k)
            .and_then(toml::Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| SubmissionError::Malformed(format!("no `{k}`")))
    };
    let hex_field = |k: &str| -> Result<Option<Vec<u8>>, SubmissionError> {
        match t.get(k).and_then(toml::Value::as_str) {
            None => Ok(None),
            Some(h) => hex::decode(h)
                .map(Some)
                .map_err(|_| SubmissionError::Malformed(format!("`{k}` is not hex"))),
        }
    };
    if t.get("format").and_then(toml::Value::as_integer) != Some(FORMAT) {
        return Err(SubmissionError::Malformed("unknown `format`".into()));
    }
    let lab = t
        .get("lab")
        .and_then(toml::Value::as_integer)
        .and_then(|l| u8::try_from(l).ok())
        .ok_or_else(|| SubmissionError::Malformed("no `lab`".into()))?;
    let student = text_field("student")?;
    if student != token.id() {
        return Err(SubmissionError::Tampered);
    }
    let capture = hex_field("capture_hex")?
        .ok_or_else(|| SubmissionError::Malformed("no `capture_hex`".into()))?;
    let capture_sha256 = text_field("capture_sha256")?;
    if crate::seed::Secrets::sha256(&capture) != capture_sha256 {
        return Err(SubmissionError::CaptureHash);
    }
    Ok(Submission {
        lab,
        student,
        tool: text_field("tool")?,
        created: text_field("created")?,
        answers: text_field("answers")?,
        capture_name: text_field("capture_name")?,
        capture,
        capture_sha256,
        keylog: hex_field("keylog_hex")?,
    })
}

/// `my-work/submissions/labN-ID.ftplab.toml`.
pub fn default_out(lab: u8, id: &str) -> PathBuf {
    crate::work::root()
        .join("submissions")
        .join(format!("lab{lab}-{id}.ftplab.toml"))
}

/// Writes the submission of lab N.
pub fn run(args: &SubmitArgs) -> Result<bool, LabError> {
    let n = args.lab;
    let token = crate::work::student_token(args.student.as_deref())?.ok_or_else(|| {
        LabError::Submit(format!(
            "a submission is graded work and needs your token: `just lab{n} --student TOKEN` \
             (once; it is saved in {})",
            crate::work::shown(&crate::work::token_file())
        ))
    })?;
    let file = args
        .answers
        .clone()
        .unwrap_or_else(|| crate::work::answers_file(n));
    let answers = std::fs::read_to_string(&file).map_err(LabError::io(format!(
        "cannot read your answers file {} (`just lab{n}` makes it)",
        file.display()
    )))?;
    let table: toml::Table = if n == crate::lab::CAPSTONE {
        crate::report::parse(&answers)
    } else {
        answers.parse().map_err(|source| LabError::Toml {
            file: file.clone(),
            source,
        })?
    };
    if table.contains_key("seed") {
        return Err(LabError::Submit(format!(
            "{} is for a practice seed: graded answers are about your token's run \
             (`just lab{n}` live, then answer about that capture)",
            file.display()
        )));
    }
    let named = table.get("student").and_then(toml::Value::as_str);
    if let Some(id) = named.filter(|id| *id != token.id()) {
        return Err(LabError::Submit(format!(
            "{} is for student {id}, your token is {}'s",
            file.display(),
            token.id()
        )));
    }
    let capture = match table.get("capture").and_then(toml::Value::as_str) {
        Some(c) if !c.trim().is_empty() => crate::check::resolve(Path::new(c)),
        _ => crate::runner::shipped_capture(n),
    };
    if capture == crate::runner::shipped_capture(n) {
        return Err(LabError::Submit(format!(
            "{} names the shipped capture, which is the demo user's: graded work is about your \
             own capture (`just lab{n}` live, or --offline --capture with the one your teacher made)",
            file.display()
        )));
    }
    let size = std::fs::metadata(&capture)
        .map_err(LabError::io(format!(
            "cannot read the capture {}",
            capture.display()
        )))?
        .len();
    if size > MAX_CAPTURE {
        return Err(LabError::Submit(format!(
            "{} has {size} bytes, more than a submission carries ({MAX_CAPTURE}): name the lab's \
             own capture in `capture`",
            capture.display()
        )));
    }
    let bytes = std::fs::read(&capture).map_err(LabError::io(format!(
        "cannot read the capture {}",
        capture.display()
    )))?;
    let keylog_file = crate::lab::keylog_for(&capture);
    let keylog = std::fs::read(&keylog_file).ok();
    let name = capture
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let text = build(
        n,
        &token,
        &answers,
        &name,
        &bytes,
        keylog.as_deref(),
        [
            rfc3339(std::time::SystemTime::now()),
            modified(&file),
            modified(&capture),
        ],
    );
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_out(n, token.id()));
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)
            .map_err(LabError::io(format!("cannot create {}", dir.display())))?;
    }
    std::fs::write(&out, text).map_err(LabError::io(format!("cannot write {}", out.display())))?;
    println!(
        "Wrote {}: your answers, {} ({} bytes, sha256 {}){}, signed with your token. Hand in \
         this file as it is; `just submit lab{n}` again after a change makes a new one.",
        crate::work::shown(&out),
        crate::work::shown(&capture),
        bytes.len(),
        crate::seed::Secrets::sha256(&bytes),
        if keylog.is_some() {
            " and its key log"
        } else {
            ""
        }
    );
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(id: &str) -> Token {
        crate::course::Course::from_secret([5; 32])
            .token(id)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn sample(t: &Token) -> String {
        let times = [
            "2026-01-01T00:00:00Z".to_string(),
            String::new(),
            String::new(),
        ];
        build(
            1,
            t,
            "capture = \"x.pcapng\"\nwhy = \"a \\\"quoted\\\" line\nand more\"\n",
            "x.pcapng",
            b"\x0a\x0d\x0d\x0a capture bytes",
            None,
            times,
        )
    }

    #[test]
    fn a_submission_verifies_with_its_token_and_reads_back() {
        let t = token("s1");
        let text = sample(&t);
        assert_eq!(claimed_student(&text).ok().as_deref(), Some("s1"));
        let s = verify(&text, &t).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(s.lab, 1);
        assert_eq!(s.capture, b"\x0a\x0d\x0d\x0a capture bytes");
        assert!(s.answers.contains("and more"));
        assert!(s.tool.starts_with("ftplab-lab "));
    }

    #[test]
    fn any_edit_or_another_token_fails() {
        let t = token("s1");
        let text = sample(&t);
        // Every single-byte change above the MAC line is caught.
        let (body, _) = split(&text).unwrap_or_else(|e| panic!("{e}"));
        for i in (0..body.len()).step_by(7) {
            let mut b = text.clone().into_bytes();
            b[i] ^= 0x01;
            let edited = String::from_utf8_lossy(&b);
            assert!(verify(&edited, &t).is_err(), "edit at {i} not caught");
        }
        assert_eq!(verify(&text, &token("s2")), Err(SubmissionError::Tampered));
        let cut = text.lines().take(3).collect::<Vec<_>>().join("\n");
        assert_eq!(verify(&cut, &t), Err(SubmissionError::NoMac));
    }
}
