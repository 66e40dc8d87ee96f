//! Lab 7's incident report (`my-work/lab7/report.md`, from the template
//! `labs/answers/lab7.md`): Markdown a person reads, whose `- Field: value` lines the checker
//! reads as answers.

use crate::lab::{Answer, Expected, REPORT_FIELDS};

/// The report template (tracked; copied, never written).
pub const TEMPLATE: &str = include_str!("../answers/lab7.md");

/// What an empty field holds in the template.
const BLANK: &str = "____";

/// The lines that say what the report is about: (answers-file key, label).
const HEADER: [(&str, &str); 3] = [
    ("capture", "Capture"),
    ("seed", "Seed"),
    ("student", "Student"),
];

fn labels() -> impl Iterator<Item = (&'static str, &'static str)> {
    HEADER.into_iter().chain(REPORT_FIELDS.iter().copied())
}

/// The value of a `- Label: value` line, if `line` is that label's line.
fn field<'a>(line: &'a str, label: &str) -> Option<&'a str> {
    let rest = line.trim_start().strip_prefix("- ")?.trim_start();
    let value = rest.strip_prefix(label)?.strip_prefix(':')?;
    Some(value.trim())
}

/// The report's fields as an answers table: every answer a string (empty when not filled in),
/// `seed` a number when it is one. Lines that are no field are prose and ignored; a field
/// written twice counts as written the first time.
pub fn parse(text: &str) -> toml::Table {
    let mut table = toml::Table::new();
    for line in text.lines() {
        for (key, label) in labels() {
            let Some(value) = field(line, label) else {
                continue;
            };
            if table.contains_key(key) {
                break;
            }
            let value = value.trim_matches('`').trim();
            let value = if value.chars().all(|c| c == '_') {
                ""
            } else {
                value
            };
            let v = match (key, value.parse::<i64>()) {
                ("seed", Ok(n)) => toml::Value::Integer(n),
                ("seed", Err(_)) if value.is_empty() => break,
                _ => toml::Value::String(value.to_string()),
            };
            table.insert(key.to_string(), v);
            break;
        }
    }
    table
}

/// `text` with the field `label` set to `value` (the first such line), or a `Student` line in
/// place of `Seed`.
fn set(text: &str, label: &str, value: &str) -> String {
    let mut done = false;
    let mut out: Vec<String> = text
        .lines()
        .map(|l| {
            if !done && field(l, label).is_some() {
                done = true;
                format!("- {label}: {value}")
            } else {
                l.to_string()
            }
        })
        .collect();
    out.push(String::new());
    out.join("\n")
}

/// The template with what the report is about filled in: the capture, and the seed or the
/// student id (graded work) the answers are for.
pub fn header(
    template: &str,
    capture: Option<&str>,
    seed: Option<u64>,
    student: Option<&str>,
) -> String {
    let mut text = template.to_string();
    if let Some(c) = capture {
        text = set(&text, "Capture", c);
    }
    if let Some(s) = seed {
        text = set(&text, "Seed", &s.to_string());
    } else if let Some(id) = student {
        text = text.replace("- Seed: ____", &format!("- Student: {id}"));
    }
    text
}

/// A filled report (the teacher's key): each answer as the student would write it.
pub fn render(
    answers: &[Answer],
    capture: &str,
    seed: Option<u64>,
    student: Option<&str>,
) -> String {
    let mut text = header(TEMPLATE, Some(capture), seed, student);
    for a in answers {
        let Some(label) = REPORT_FIELDS
            .iter()
            .find(|(k, _)| *k == a.key)
            .map(|(_, l)| *l)
        else {
            continue;
        };
        let value = match &a.expected {
            Expected::Text(t) | Expected::Exact(t) => t.clone(),
            Expected::Number(n) | Expected::Near { value: n, .. } => n.to_string(),
            Expected::AnyNumber(ns) => ns.first().map(i64::to_string).unwrap_or_default(),
            Expected::AnyText(t) => t.first().cloned().unwrap_or_default(),
            Expected::OneOf(w) => w.first().map(|w| w.to_string()).unwrap_or_default(),
            Expected::Unknown(_) => BLANK.to_string(),
        };
        text = set(&text, label, &value);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_has_every_field_blank() {
        let t = parse(TEMPLATE);
        for (key, _) in REPORT_FIELDS {
            assert_eq!(t.get(*key).and_then(|v| v.as_str()), Some(""), "{key}");
        }
        assert_eq!(
            t.get("capture").and_then(|v| v.as_str()),
            Some("captures/lab7.pcapng")
        );
        assert!(t.get("seed").is_none());
    }

    #[test]
    fn filled_fields_are_read_with_labels_that_hold_colons() {
        let text = header(TEMPLATE, Some("my-work/lab7/lab7.pcapng"), Some(7), None)
            .replace("- Password used: ____", "- Password used: `Pa ss`")
            .replace(
                "- Time of the successful PASS (UTC, HH:MM:SS): ____",
                "- Time of the successful PASS (UTC, HH:MM:SS): 21:03:27",
            );
        let t = parse(&text);
        assert_eq!(t.get("password").and_then(|v| v.as_str()), Some("Pa ss"));
        assert_eq!(
            t.get("login_time").and_then(|v| v.as_str()),
            Some("21:03:27")
        );
        assert_eq!(t.get("seed").and_then(|v| v.as_integer()), Some(7));
        assert_eq!(
            t.get("capture").and_then(|v| v.as_str()),
            Some("my-work/lab7/lab7.pcapng")
        );
    }

    #[test]
    fn a_student_line_takes_the_place_of_the_seed() {
        let t = parse(&header(TEMPLATE, None, None, Some("s001")));
        assert_eq!(t.get("student").and_then(|v| v.as_str()), Some("s001"));
        assert!(t.get("seed").is_none());
    }
}
