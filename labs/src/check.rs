//! `ftplab-lab check N`: the student's answers (`my-work/labN/answers.toml`) against the
//! answers computed from the student's capture and seed; says which are right without showing
//! right ones.

use crate::error::LabError;
use crate::events;
use crate::lab::{self, Answer, Expected, Seen};
use crate::packets::Packets;
use crate::seed::Secrets;
use crate::tools::Tools;
use std::path::{Path, PathBuf};

/// Options of `ftplab-lab check`.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// The lab: 0-6 (or lab0-lab6).
    #[arg(value_parser = crate::parse_lab)]
    pub lab: u8,
    /// Answers file (default my-work/labN/answers.toml, made from the template on first use).
    #[arg(long)]
    pub answers: Option<PathBuf>,
    /// Capture the answers are about (default: `capture` in the answers file, else the shipped one).
    #[arg(long)]
    pub capture: Option<PathBuf>,
    /// Practice seed (default: `seed` in the answers file).
    #[arg(long, conflicts_with = "student")]
    pub seed: Option<u64>,
    /// Your token (default: the one saved in my-work/token when the answers file names no seed).
    #[arg(long, value_name = "TOKEN")]
    pub student: Option<String>,
}

/// Options of `ftplab-lab key`.
#[derive(Debug, Clone, clap::Args)]
pub struct KeyArgs {
    /// The lab: 0-6 (or lab0-lab6).
    #[arg(value_parser = crate::parse_lab)]
    pub lab: u8,
    /// Capture (default: the shipped one).
    #[arg(long)]
    pub capture: Option<PathBuf>,
    /// Practice seed (its values are no secret: anyone can run `--seed N`).
    #[arg(long, conflicts_with_all = ["student", "course"])]
    pub seed: Option<u64>,
    /// The course file (`teacher init`): needed for a student's key.
    #[arg(long, requires = "student")]
    pub course: Option<PathBuf>,
    /// The student id whose key to print (with --course).
    #[arg(long, value_name = "ID")]
    pub student: Option<String>,
}

/// A relative path in an answers file is relative to the workspace root.
pub fn resolve(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        crate::workspace_root().join(path)
    }
}

/// The answers for a capture and the student's (or a seed's) secrets.
pub fn compute(lab: u8, capture: &Path, secrets: &Secrets) -> Result<Vec<Answer>, LabError> {
    let seen = read_seen(lab, capture)?;
    Ok(lab::get(lab).answers_for(&seen, secrets))
}

/// What a capture shows for lab `lab`: the inspector's events (decrypted too, with the key log
/// next to it) and its TCP segments.
pub fn read_seen(lab: u8, capture: &Path) -> Result<Seen, LabError> {
    let tools = Tools::locate()?;
    let lab = lab::get(lab);
    Ok(Seen {
        events: events::read_capture(&tools.inspector, capture)?,
        extracted: Vec::new(),
        packets: Packets::read(capture)?,
        decrypted: lab.decrypted_events(&tools.inspector, capture)?,
        arp: crate::packets::read_arp(capture).unwrap_or_default(),
        client: crate::lab::client_packets(capture),
    })
}

/// Verdict on one answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Right.
    Right,
    /// Wrong.
    Wrong,
    /// Left empty.
    Missing,
    /// The capture cannot tell (reason).
    Unknown(&'static str),
}

fn normalize(s: &str) -> String {
    s.trim().to_lowercase()
}

/// Judges one answer value from the TOML file.
pub fn judge(expected: &Expected, given: Option<&toml::Value>) -> Verdict {
    if let (Expected::Exact(want), Some(toml::Value::String(s))) = (expected, given) {
        // Passwords and bytes on the wire: case and spaces matter.
        return match s.as_str() {
            "" => Verdict::Missing,
            s if s == want => Verdict::Right,
            _ => Verdict::Wrong,
        };
    }
    let given = match given {
        None => return Verdict::Missing,
        Some(toml::Value::String(s)) if s.trim().is_empty() => return Verdict::Missing,
        Some(toml::Value::Integer(0)) => return Verdict::Missing,
        Some(toml::Value::String(s)) => normalize(s),
        Some(toml::Value::Integer(i)) => i.to_string(),
        Some(toml::Value::Boolean(b)) => b.to_string(),
        Some(other) => normalize(&other.to_string()),
    };
    let right = match expected {
        Expected::Unknown(why) => return Verdict::Unknown(why),
        // Hex may be written in groups: "70 6f 72 74", "70:6f:72:74".
        Expected::Text(t) => given == normalize(t) || given.replace([' ', ':'], "") == normalize(t),
        Expected::Exact(t) => given == *t,
        Expected::Number(n) => given.parse::<i64>().is_ok_and(|g| g == *n),
        Expected::AnyNumber(ns) => given.parse::<i64>().is_ok_and(|g| ns.contains(&g)),
        Expected::Near { value, within } => given
            .parse::<i64>()
            .is_ok_and(|g| g.abs_diff(*value) <= within.unsigned_abs()),
        Expected::OneOf(words) => words.iter().any(|w| normalize(w) == given),
        Expected::AnyText(spellings) => spellings.iter().any(|w| normalize(w) == given),
    };
    if right {
        Verdict::Right
    } else {
        Verdict::Wrong
    }
}

/// Checks the answers; true when all are right.
pub fn run(args: &CheckArgs) -> Result<bool, LabError> {
    let n = args.lab;
    let file = match &args.answers {
        Some(f) => f.clone(),
        None => {
            let student = match args.seed {
                Some(_) => None,
                None => crate::work::student_token(args.student.as_deref())?,
            };
            let id = student.as_ref().map(|t| t.id());
            let (file, created) = crate::work::ensure(n, None, args.seed, id)?;
            if created {
                println!(
                    "Made your answers file {} from the template: fill it in, then `just check lab{n}` again.",
                    crate::work::shown(&file)
                );
            }
            file
        }
    };
    let raw = std::fs::read_to_string(&file).map_err(LabError::io(format!(
        "cannot read the answers file {}",
        file.display()
    )))?;
    let table: toml::Table = if n == lab::CAPSTONE {
        crate::report::parse(&raw)
    } else {
        raw.parse().map_err(|source| LabError::Toml {
            file: file.clone(),
            source,
        })?
    };
    let seed = match (args.seed, table.get("seed")) {
        (Some(s), _) => Some(s),
        (None, _) if args.student.is_some() => None,
        (None, Some(toml::Value::Integer(s))) => {
            Some(u64::try_from(*s).map_err(|source| LabError::NegativeSeed { source })?)
        }
        (None, None) => None,
        (None, Some(_)) => return Err(LabError::SeedNotNumber { file }),
    };
    // Graded: the token given, else the saved one when the file names a student or nothing.
    let named = table.get("student").and_then(|v| v.as_str());
    let secrets = match seed {
        Some(_) => Secrets::new(seed),
        None => match (crate::work::student_token(args.student.as_deref())?, named) {
            (Some(t), _) => Secrets::for_student(&t, n),
            (None, Some(id)) => {
                return Err(LabError::NoToken {
                    file,
                    id: id.to_string(),
                    token: crate::work::token_file(),
                });
            }
            (None, None) => Secrets::new(None),
        },
    };
    let capture = match (&args.capture, table.get("capture").and_then(|v| v.as_str())) {
        (Some(c), _) => c.clone(),
        (None, Some(c)) if !c.trim().is_empty() => resolve(Path::new(c)),
        _ => crate::runner::shipped_capture(n),
    };
    let answers = compute(n, &capture, &secrets)?;
    println!(
        "lab{n}: {} against {}{}",
        file.display(),
        capture.display(),
        match (seed, &secrets.student) {
            (Some(s), _) => format!(" (seed {s})"),
            (None, Some(id)) => format!(" (student {id})"),
            (None, None) => String::new(),
        }
    );
    let mut right = 0;
    for a in &answers {
        match judge(&a.expected, table.get(a.key)) {
            Verdict::Right => {
                right += 1;
                println!("  ✓ {}: right", a.key);
            }
            Verdict::Wrong => println!("  ✗ {}: not right. {}", a.key, a.question),
            Verdict::Missing => println!("  · {}: no answer yet. {}", a.key, a.question),
            Verdict::Unknown(why) => println!("  ? {}: cannot check: {why}", a.key),
        }
    }
    println!("{right} of {} right", answers.len());
    Ok(right == answers.len())
}

/// Prints a filled answers file (for teachers and tests).
pub fn key(args: &KeyArgs) -> Result<bool, LabError> {
    let capture = args
        .capture
        .clone()
        .unwrap_or_else(|| crate::runner::shipped_capture(args.lab));
    let secrets = match (&args.course, &args.student) {
        (Some(course), Some(id)) => {
            let token = crate::course::Course::load(course)?.token(id)?;
            Secrets::for_student(&token, args.lab)
        }
        (None, Some(_)) => return Err(LabError::KeyNeedsCourse),
        _ => Secrets::new(args.seed),
    };
    let answers = compute(args.lab, &capture, &secrets)?;
    if args.lab == lab::CAPSTONE {
        // Lab 7's key is its incident report, filled in.
        let shown = crate::work::shown(&capture);
        let complete = answers
            .iter()
            .all(|a| !matches!(a.expected, Expected::Unknown(_)));
        let seed = args.seed;
        print!(
            "{}",
            crate::report::render(&answers, &shown, seed, secrets.student.as_deref())
        );
        return Ok(complete);
    }
    println!("capture = {:?}", capture.display().to_string());
    if let Some(s) = args.seed {
        println!("seed = {s}");
    }
    if let Some(id) = &secrets.student {
        println!("student = {id:?}");
    }
    let mut complete = true;
    for a in answers {
        // The comment says where the answer is found and whether it is one of the words the
        // question offers (tests look for leaks of the values that are not).
        let level = match a.level {
            lab::Level::Concept => "concept",
            lab::Level::Table => "table",
            lab::Level::Packet => "packet",
        };
        match a.expected {
            Expected::Text(t) | Expected::Exact(t) => {
                println!("{} = {:?}  # {level}", a.key, t)
            }
            Expected::Number(n) | Expected::Near { value: n, .. } => {
                println!("{} = {n}  # {level}", a.key)
            }
            Expected::AnyNumber(ns) => {
                println!(
                    "{} = {}  # {level}",
                    a.key,
                    ns.first().copied().unwrap_or(0)
                )
            }
            Expected::AnyText(t) => println!(
                "{} = {:?}  # {level}",
                a.key,
                t.first().map_or("", String::as_str)
            ),
            Expected::OneOf(w) => println!(
                "{} = {:?}  # {level}, choice",
                a.key,
                w.first().copied().unwrap_or("")
            ),
            Expected::Unknown(why) => {
                complete = false;
                println!("# {}: {why}", a.key);
            }
        }
    }
    Ok(complete)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_answers_mind_case_and_spaces() {
        let e = Expected::Exact("Pass1".into());
        let v = |s: &str| toml::Value::String(s.into());
        assert_eq!(judge(&e, Some(&v("Pass1"))), Verdict::Right);
        assert_eq!(judge(&e, Some(&v("pass1"))), Verdict::Wrong);
        assert_eq!(judge(&e, Some(&v(" Pass1"))), Verdict::Wrong);
        assert_eq!(judge(&e, Some(&v(""))), Verdict::Missing);
    }

    #[test]
    fn near_and_any_number_accept_what_they_list() {
        let near = Expected::Near {
            value: 18,
            within: 1,
        };
        assert_eq!(
            judge(&near, Some(&toml::Value::Integer(17))),
            Verdict::Right
        );
        assert_eq!(
            judge(&near, Some(&toml::Value::Integer(20))),
            Verdict::Wrong
        );
        let any = Expected::AnyNumber(vec![13, 4_000_000_013]);
        assert_eq!(judge(&any, Some(&toml::Value::Integer(13))), Verdict::Right);
        assert_eq!(
            judge(&any, Some(&toml::Value::Integer(4_000_000_013))),
            Verdict::Right
        );
        assert_eq!(judge(&any, Some(&toml::Value::Integer(14))), Verdict::Wrong);
    }

    #[test]
    fn text_answers_ignore_case_and_spaces() {
        let e = Expected::Text("User1".into());
        assert_eq!(
            judge(&e, Some(&toml::Value::String(" user1 ".into()))),
            Verdict::Right
        );
        assert_eq!(
            judge(&e, Some(&toml::Value::String("user2".into()))),
            Verdict::Wrong
        );
    }

    #[test]
    fn hex_may_be_written_in_groups() {
        let e = Expected::Text("706f7274".into());
        for given in ["706f7274", "70 6F 72 74", "70:6f:72:74"] {
            assert_eq!(
                judge(&e, Some(&toml::Value::String(given.into()))),
                Verdict::Right,
                "{given}"
            );
        }
        assert_eq!(
            judge(&e, Some(&toml::Value::String("504f5254".into()))),
            Verdict::Wrong
        );
    }

    #[test]
    fn numbers_may_be_written_as_text() {
        let e = Expected::Number(230);
        assert_eq!(judge(&e, Some(&toml::Value::Integer(230))), Verdict::Right);
        assert_eq!(
            judge(&e, Some(&toml::Value::String("230".into()))),
            Verdict::Right
        );
        assert_eq!(judge(&e, Some(&toml::Value::Integer(530))), Verdict::Wrong);
    }

    #[test]
    fn empty_and_zero_are_not_answered() {
        let e = Expected::Number(12);
        assert_eq!(judge(&e, None), Verdict::Missing);
        assert_eq!(judge(&e, Some(&toml::Value::Integer(0))), Verdict::Missing);
        assert_eq!(
            judge(&e, Some(&toml::Value::String(String::new()))),
            Verdict::Missing
        );
    }

    #[test]
    fn one_of_accepts_each_listed_word() {
        let e = Expected::OneOf(vec!["transient", "4yz"]);
        assert_eq!(
            judge(&e, Some(&toml::Value::String("4YZ".into()))),
            Verdict::Right
        );
        assert_eq!(
            judge(&e, Some(&toml::Value::String("permanent".into()))),
            Verdict::Wrong
        );
    }
}
