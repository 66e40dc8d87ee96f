//! The inspector's JSON lines (schema: inspector/JSON.md) and the questions labs ask of them.

use crate::error::LabError;
use crate::procs;
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// How long `inspector read` may take on a lab capture.
const READ_LIMIT: Duration = Duration::from_secs(60);

/// Events in frame order.
#[derive(Debug, Clone, Default)]
pub struct Events(pub Vec<Value>);

/// A string field.
pub fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// A number field.
pub fn number(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(Value::as_i64)
}

impl Events {
    /// Parses JSON lines, skipping lines that are not JSON objects.
    pub fn parse(lines: &str) -> Self {
        Self(lines.lines().filter_map(parse_line).collect())
    }

    /// Events of one kind.
    pub fn kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.0.iter().filter(move |v| text(v, "kind") == Some(kind))
    }

    /// Credentials (`accepted`: Some(true) 230, Some(false) refused).
    pub fn credentials(&self) -> impl Iterator<Item = &Value> {
        self.kind("credential")
    }

    /// The first credential with this user and password that the server accepted.
    pub fn accepted_login(&self, user: &str, password: &str) -> Option<&Value> {
        self.credentials().find(|c| {
            text(c, "user") == Some(user)
                && text(c, "password") == Some(password)
                && c.get("accepted").and_then(Value::as_bool) == Some(true)
        })
    }

    /// Whether a finding with this id was reported.
    pub fn has_finding(&self, id: &str) -> bool {
        self.kind("finding").any(|f| text(f, "id") == Some(id))
    }

    /// Replies with this code.
    pub fn replies(&self, code: i64) -> impl Iterator<Item = &Value> {
        self.kind("reply")
            .filter(move |r| number(r, "code") == Some(code))
    }

    /// Commands with this verb (upper-case, as the inspector reports it).
    pub fn commands<'a>(&'a self, verb: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.kind("command")
            .filter(move |c| text(c, "command") == Some(verb))
    }

    /// The final reply to `command` (the first reply after it in its session that is not a
    /// 1yz preliminary reply: FTP answers commands in order, RFC 959 §4.2).
    pub fn reply_to(&self, command: &Value) -> Option<&Value> {
        let frame = number(command, "frame")?;
        let session = number(command, "session")?;
        self.kind("reply").find(|r| {
            number(r, "session") == Some(session)
                && number(r, "frame").is_some_and(|f| f >= frame)
                && number(r, "code").is_some_and(|c| c >= 200)
        })
    }

    /// Transfers whose name ends with `name`.
    pub fn transfers<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.kind("transfer")
            .filter(move |t| text(t, "name").is_some_and(|n| n.ends_with(name)))
    }
}

fn parse_line(line: &str) -> Option<Value> {
    let v: Value = serde_json::from_str(line.trim()).ok()?;
    v.is_object().then_some(v)
}

/// Runs `inspector read FILE --json` and returns its events. Exit code 1 (something skipped,
/// e.g. a truncated last record of a capture still being written) still gives events.
pub fn read_capture(inspector: &Path, capture: &Path) -> Result<Events, LabError> {
    if !capture.is_file() {
        return Err(LabError::NoCapture {
            path: capture.to_path_buf(),
        });
    }
    let first = read_once(inspector, capture, &[])?;
    // A connection refused at once (a 421 greeting during a lockout) has no 220 and no USER, so
    // the inspector only finds it on a named port: name the ports of the sessions it found.
    let mut ports: Vec<u16> = first
        .kind("session")
        .filter_map(|s| text(s, "server"))
        .filter_map(|a| a.rsplit(':').next()?.parse().ok())
        .collect();
    ports.sort_unstable();
    ports.dedup();
    if ports.is_empty() {
        return Ok(first);
    }
    read_once(inspector, capture, &ports)
}

fn read_once(inspector: &Path, capture: &Path, ports: &[u16]) -> Result<Events, LabError> {
    let mut cmd = Command::new(inspector);
    cmd.arg("read").arg(capture).arg("--json");
    for p in ports {
        cmd.arg("--port").arg(p.to_string());
    }
    let out = procs::run_bounded("inspector read", &mut cmd, b"", READ_LIMIT)?;
    match out.status.and_then(|s| s.code()) {
        Some(0 | 1) => Ok(Events::parse(&out.stdout)),
        _ => Err(LabError::Inspector {
            capture: capture.to_path_buf(),
            stderr: out.stderr.trim().to_owned(),
        }),
    }
}

/// One line a student can read for an event, or None for events not worth a line.
pub fn describe(v: &Value) -> Option<String> {
    let frame = number(v, "frame").unwrap_or(0);
    let s = |k| text(v, k).unwrap_or("?");
    Some(match text(v, "kind")? {
        "session" => format!(
            "frame {frame}: new session {} → {}",
            s("client"),
            s("server")
        ),
        "command" => match text(v, "arg") {
            Some(arg) => format!("frame {frame}: --> {} {arg}", s("command")),
            None => format!("frame {frame}: --> {}", s("command")),
        },
        "reply" => format!(
            "frame {frame}: <-- {} {}",
            number(v, "code").unwrap_or(0),
            s("text").lines().next().unwrap_or("")
        ),
        "credential" => format!(
            "frame {frame}: CREDENTIAL user {} password {} ({})",
            s("user"),
            text(v, "password").unwrap_or("(none)"),
            match v.get("accepted").and_then(Value::as_bool) {
                Some(true) => "accepted",
                Some(false) => "refused",
                None => "no reply seen",
            }
        ),
        "transfer" if number(v, "reply").is_some_and(|c| c >= 400) => format!(
            "frame {frame}: TRANSFER {} {} refused by the server (reply {}): no file crossed",
            s("direction"),
            text(v, "name").unwrap_or("(listing)"),
            number(v, "reply").unwrap_or(0)
        ),
        "transfer" => format!(
            "frame {frame}: TRANSFER {} {} ({} bytes, {} mode, sha256 {})",
            s("direction"),
            text(v, "name").unwrap_or("(listing)"),
            number(v, "bytes").unwrap_or(0),
            text(v, "mode").unwrap_or("unknown"),
            text(v, "sha256").map_or("unknown", |h| h.get(..16).unwrap_or(h))
        ),
        "finding" => format!("FINDING {} ({}): {}", s("id"), s("severity"), s("message")),
        "warning" => format!("warning: {}", s("message")),
        _ => return None,
    })
}

/// Findings grouped by id, in the order first seen: one line per id with its count and the
/// first one's message (twenty `tls-not-used` lines would bury the rest).
pub fn grouped_findings(events: &[Value]) -> Vec<String> {
    let mut groups: Vec<(&str, usize, &Value)> = Vec::new();
    for f in events.iter().filter(|v| text(v, "kind") == Some("finding")) {
        let id = text(f, "id").unwrap_or("?");
        match groups.iter_mut().find(|(g, _, _)| *g == id) {
            Some((_, n, _)) => *n += 1,
            None => groups.push((id, 1, f)),
        }
    }
    groups
        .into_iter()
        .map(|(id, n, first)| {
            let severity = text(first, "severity").unwrap_or("?");
            let message = text(first, "message").unwrap_or("");
            if n == 1 {
                format!("FINDING {id} ({severity}): {message}")
            } else {
                format!("FINDING {id} ({severity}) ×{n}, the first: {message}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_of_one_kind_are_one_line_with_a_count() {
        let ev = Events::parse(
            r#"{"kind":"finding","id":"tls-not-used","severity":"medium","message":"a"}
{"kind":"finding","id":"brute-force","severity":"high","message":"b"}
{"kind":"finding","id":"tls-not-used","severity":"medium","message":"c"}"#,
        );
        assert_eq!(
            grouped_findings(&ev.0),
            vec![
                "FINDING tls-not-used (medium) ×2, the first: a".to_string(),
                "FINDING brute-force (high): b".to_string(),
            ]
        );
    }

    #[test]
    fn a_refused_transfer_says_so() {
        let v: Value = serde_json::from_str(
            r#"{"kind":"transfer","frame":33,"direction":"download","name":"missing.txt","bytes":0,"reply":550}"#,
        )
        .expect("json");
        let line = describe(&v).expect("a line");
        assert!(line.contains("refused"), "{line}");
        assert!(!line.contains("sha256"), "{line}");
    }

    const SAMPLE: &str = r#"{"kind":"session","frame":1,"session":1,"client":"127.0.0.1:5","server":"127.0.0.1:21"}
{"kind":"command","frame":4,"session":1,"command":"RETR","arg":"x"}
{"kind":"reply","frame":5,"session":1,"code":150,"text":"ok"}
{"kind":"reply","frame":9,"session":1,"code":550,"text":"no"}
not json
{"kind":"credential","frame":3,"session":1,"user":"u","password":"p","accepted":true}"#;

    #[test]
    fn reply_to_skips_preliminary_replies() {
        let ev = Events::parse(SAMPLE);
        let retr = ev.commands("RETR").next().expect("sample has a RETR");
        assert_eq!(ev.reply_to(retr).and_then(|r| number(r, "code")), Some(550));
    }

    #[test]
    fn lines_that_are_not_json_are_skipped() {
        let ev = Events::parse(SAMPLE);
        assert_eq!(ev.0.len(), 5);
        assert!(ev.accepted_login("u", "p").is_some());
        assert!(ev.accepted_login("u", "q").is_none());
    }
}
