//! The labs as data: which servers they start, what the scripted student does at each step,
//! what the student must see, and the answers to their questions.

mod lab0;
mod lab1;
mod lab2;
mod lab3;
mod lab4;
mod lab5;
pub(crate) mod lab6;
mod lab7;

pub use lab4::{BOUNCE_PASSWORD, BOUNCE_USER, THIRD_PARTY_IP};
pub use lab7::FIELDS as REPORT_FIELDS;

use crate::events::{Events, number, text};
use crate::packets::Packets;
use crate::seed::Secrets;
use serde_json::Value;

/// The loopback address of a live FTPS lab's server: its frames alone go into the student's
/// capture (see [`Lab::tls`]).
pub const TLS_LAB_HOST: &str = "127.0.0.5";

/// Number of labs.
pub const COUNT: usize = 7;

/// The capstone (lab 7): a forensic case answered in an incident report (`report.md`, see
/// [`crate::report`]) about a capture the runner makes for the student ([`crate::scene`]).
pub const CAPSTONE: u8 = 7;

/// Every lab's number: the numbered labs, then the capstone.
pub fn numbers() -> impl Iterator<Item = u8> {
    (0..COUNT)
        .filter_map(|n| u8::try_from(n).ok())
        .chain(std::iter::once(CAPSTONE))
}

/// One `ftp-server serve` a lab starts (on a free loopback port).
#[derive(Debug, Clone)]
pub struct ServerSpec {
    /// What the student calls it ("weak server").
    pub label: &'static str,
    /// Options after `serve --listen HOST:0`.
    pub args: Vec<String>,
}

/// One scripted `ftp-client` run: `-u USER --password-stdin -c COMMANDS HOST PORT`.
#[derive(Debug, Clone)]
pub struct ClientRun {
    /// Index into the lab's servers.
    pub server: usize,
    /// Another user than the lab's (lab 4's bounce uses a demo account).
    pub user: Option<&'static str>,
    /// The password typed.
    pub password: String,
    /// The `-c` commands.
    pub commands: String,
    /// More options (`--no-extended`, `--active`).
    pub args: Vec<&'static str>,
    /// Whether every command should succeed (exit 0) or the run should fail.
    pub expect_ok: bool,
}

/// What the runner does for the student at a step with `--auto` (and when recording captures).
#[derive(Debug, Clone)]
pub enum Action {
    /// Run the client.
    Client(ClientRun),
    /// Run the doctor's checks (lab 0).
    Doctor,
    /// Try live capture without and with CAP_NET_RAW (lab 0).
    Privilege,
}

/// What the student should have seen, after the lab.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// The inspector's events (live, or from the capture).
    pub events: Events,
    /// Files the inspector extracted, as (file name, sha256).
    pub extracted: Vec<(String, String)>,
    /// The capture's TCP segments.
    pub packets: Packets,
    /// The inspector's events read with the key log next to the capture (labs with
    /// [`Lab::tls`]; empty otherwise): what whoever holds the key log sees.
    pub decrypted: Events,
    /// The capture's ARP messages (lab 6).
    pub arp: Vec<crate::packets::Arp>,
    /// The TCP segments of the client's own capture next to it (lab 6, see
    /// [`client_capture_for`]; empty otherwise).
    pub client: Packets,
}

/// One expectation and whether it was met.
#[derive(Debug, Clone)]
pub struct Expectation {
    /// What the student should see, in words.
    pub what: String,
    /// Met?
    pub met: bool,
}

fn expect(what: impl Into<String>, met: bool) -> Expectation {
    Expectation {
        what: what.into(),
        met,
    }
}

/// The right answer to a question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// Text, compared trimmed and case-insensitively.
    Text(String),
    /// Text exactly as it was on the wire: case and spaces matter (passwords, verbs).
    Exact(String),
    /// A number.
    Number(i64),
    /// Any of these numbers (a sequence number relative, as Wireshark shows it, or absolute).
    AnyNumber(Vec<i64>),
    /// A number within `within` of `value` (times, where rounding differs).
    Near {
        /// The value.
        value: i64,
        /// How far off an answer may be.
        within: i64,
    },
    /// Any of these words, compared trimmed and case-insensitively.
    OneOf(Vec<&'static str>),
    /// Any of these spellings of one value (`TLS 1.3`, `TLSv1.3`), compared trimmed and
    /// case-insensitively: not a choice offered by the question.
    AnyText(Vec<String>),
    /// The capture does not show what the question is about (wrong capture or seed): the reason.
    Unknown(&'static str),
}

/// Where the answer to a question is found: questions go from the inspector's table to headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Knowledge, from the lab text or the RFC: the same in every capture.
    Concept,
    /// In the inspector's table (or its live `[inspector]` lines).
    Table,
    /// Only in the frames' headers or bytes (`inspector frame`, Wireshark, tshark).
    Packet,
}

/// A question of a lab and its right answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Key in the answers file.
    pub key: &'static str,
    /// The question as the student reads it.
    pub question: &'static str,
    /// Where the answer is found.
    pub level: Level,
    /// Graded hints: first where to look, then how to read it; never the value.
    pub hints: &'static [&'static str],
    /// The right answer.
    pub expected: Expected,
}

/// A question without its answer: what `hint` and the answers file need.
#[derive(Debug, Clone, Copy)]
pub struct Question {
    /// Key in the answers file.
    pub key: &'static str,
    /// The question.
    pub question: &'static str,
    /// Where the answer is found.
    pub level: Level,
    /// Graded hints.
    pub hints: &'static [&'static str],
}

impl Question {
    /// The question with its right answer.
    pub fn answer(self, expected: Expected) -> Answer {
        Answer {
            key: self.key,
            question: self.question,
            level: self.level,
            hints: self.hints,
            expected,
        }
    }
}

/// What the capture shows does not belong to this lab.
const NOT_THIS_CAPTURE: &str =
    "the capture does not show what this question is about: check `capture` in your answers file";

/// The capture's logins are another user's: it was made with another seed or token.
pub const OTHER_SEED: &str = "this capture was made with another seed or for another student: \
     check `seed`, `student` and `capture` in your answers file";

/// A lab: everything but its text.
pub struct Lab {
    /// Its number.
    pub number: u8,
    /// Servers it starts.
    pub servers: fn(&Secrets) -> Vec<ServerSpec>,
    /// Scripted actions at step `k` (1-based).
    pub script: fn(&Secrets, usize) -> Vec<Action>,
    /// The step after which the runner shows the inspector's report (offline: of the capture).
    pub observe_step: usize,
    /// Whether the inspector should extract files (lab 3).
    pub extract: bool,
    /// What the student must see: whether the capture holds each event, never its values.
    pub expect: fn(&Seen, &Secrets) -> Vec<Expectation>,
    /// The questions, in the order asked.
    pub questions: &'static [Question],
    /// Right answers to the questions, from what was seen and the seed.
    pub answers: fn(&Seen, &Secrets) -> Vec<Answer>,
    /// Whether the lab keeps the account's password out of the header (lab 4 finds it).
    pub secret_password: bool,
    /// Whether the lab needs a third party listening on 127.0.0.3 (lab 4's bounce).
    pub third_party: bool,
    /// Whether its servers run FTPS with a demo certificate and write a key log next to the
    /// capture (`labN.pcapng` → `labN.keys`, see [`keylog_for`]) (lab 5).
    pub tls: bool,
}

/// The key log that belongs to a capture: the same name with `.keys` (`captures/lab5.pcapng` →
/// `captures/lab5.keys`, `my-work/lab5/lab5-2.pcapng` → `my-work/lab5/lab5-2.keys`).
pub fn keylog_for(capture: &std::path::Path) -> std::path::PathBuf {
    capture.with_extension("keys")
}

/// The client's capture that belongs to an eavesdropper's capture (lab 6): `lab6.pcapng` →
/// `lab6.client.pcapng`.
pub fn client_capture_for(capture: &std::path::Path) -> std::path::PathBuf {
    capture.with_extension("client.pcapng")
}

/// The TCP segments of the client's capture next to `capture`, if there is one.
pub fn client_packets(capture: &std::path::Path) -> Packets {
    let client = client_capture_for(capture);
    if client.is_file() {
        Packets::read(&client).unwrap_or_default()
    } else {
        Packets::default()
    }
}

impl Lab {
    /// The answers for a capture, or "cannot check" for every capture-derived answer when the
    /// capture's logins belong to another seed's user.
    pub fn answers_for(&self, seen: &Seen, s: &Secrets) -> Vec<Answer> {
        let mut answers = (self.answers)(seen, s);
        if other_seed(&seen.events, s) {
            for a in &mut answers {
                if a.level != Level::Concept {
                    a.expected = Expected::Unknown(OTHER_SEED);
                }
            }
        }
        answers
    }

    /// What whoever holds the capture's key log sees: the inspector's events decrypted with
    /// [`keylog_for`]`(capture)`; empty for labs without TLS or when there is no key log.
    pub fn decrypted_events(
        &self,
        inspector: &std::path::Path,
        capture: &std::path::Path,
    ) -> Result<Events, crate::LabError> {
        let keylog = keylog_for(capture);
        if !self.tls || !keylog.is_file() {
            return Ok(Events::default());
        }
        crate::events::read_capture_with(inspector, capture, Some(&keylog))
    }

    /// The question with this key or 1-based number.
    pub fn question(&self, key: &str) -> Option<&'static Question> {
        let key = key.trim();
        match key.parse::<usize>() {
            Ok(n) => self.questions.get(n.checked_sub(1)?),
            Err(_) => self.questions.iter().find(|q| q.key == key),
        }
    }
}

/// True when the capture has logins but none by this seed's user.
pub fn other_seed(events: &Events, s: &Secrets) -> bool {
    let mut users = events
        .credentials()
        .filter_map(|c| text(c, "user"))
        .peekable();
    users.peek().is_some()
        && !events
            .credentials()
            .any(|c| text(c, "user") == Some(&s.user))
}

/// The question `key` of `questions` (a lab's own table; a missing key is a bug in the lab).
fn q(questions: &'static [Question], key: &str) -> Question {
    questions
        .iter()
        .find(|q| q.key == key)
        .copied()
        .unwrap_or(Question {
            key: "missing",
            question: "a question the lab forgot",
            level: Level::Concept,
            hints: &[],
        })
}

/// Lab `n` (0-7).
pub fn get(n: u8) -> &'static Lab {
    match n {
        CAPSTONE => &lab7::LAB,
        0 => &lab0::LAB,
        1 => &lab1::LAB,
        2 => &lab2::LAB,
        3 => &lab3::LAB,
        4 => &lab4::LAB,
        6 => &lab6::LAB,
        _ => &lab5::LAB,
    }
}

fn client(server: usize, password: &str, commands: &str, expect_ok: bool) -> Action {
    Action::Client(ClientRun {
        server,
        user: None,
        password: password.to_string(),
        commands: commands.to_string(),
        args: Vec::new(),
        expect_ok,
    })
}

/// The code of the reply in `frames[2]` of a credential (USER, PASS, reply).
fn credential_reply_code(events: &Events, credential: &Value) -> Option<i64> {
    let frame = credential.get("frames")?.get(2)?.as_i64()?;
    let session = number(credential, "session")?;
    events
        .kind("reply")
        .find(|r| number(r, "frame") == Some(frame) && number(r, "session") == Some(session))
        .and_then(|r| number(r, "code"))
}

fn number_or_unknown(n: Option<i64>) -> Expected {
    n.map_or(Expected::Unknown(NOT_THIS_CAPTURE), Expected::Number)
}

fn word_or_unknown(w: Option<&'static str>) -> Expected {
    w.map_or(Expected::Unknown(NOT_THIS_CAPTURE), |w| {
        Expected::OneOf(vec![w])
    })
}

/// A sequence or acknowledgement number: relative (as Wireshark shows it) or absolute.
fn seq_or_unknown(relative_and_absolute: Option<(u32, u32)>) -> Expected {
    relative_and_absolute.map_or(Expected::Unknown(NOT_THIS_CAPTURE), |(r, a)| {
        Expected::AnyNumber(vec![i64::from(r), i64::from(a)])
    })
}

/// Microseconds between two frames' times, rounded to milliseconds or kept in µs.
fn elapsed(packets: &Packets, from: i64, to: i64) -> Option<u64> {
    let f = packets.frame(u64::try_from(from).ok()?)?;
    let t = packets.frame(u64::try_from(to).ok()?)?;
    t.micros.checked_sub(f.micros)
}

/// The SYN that opened the data connection of a transfer event (from its `data_frames`).
fn data_syn<'a>(packets: &'a Packets, transfer: &Value) -> Option<&'a crate::packets::Packet> {
    let first = transfer.get("data_frames")?.get(0)?.as_u64()?;
    packets.opening_syn(first)
}

/// The port a 227 (`(h1,h2,h3,h4,p1,p2)`) or 229 (`(|||port|)`) reply announces, or a PORT
/// argument names (`h1,h2,h3,h4,p1,p2`).
pub(crate) fn announced_port(text: &str) -> Option<u16> {
    if let Some(i) = text.find("|||") {
        let rest = text.get(i + 3..)?;
        return rest.split('|').next()?.trim().parse().ok();
    }
    let inner = match (text.find('('), text.find(')')) {
        (Some(a), Some(b)) if a < b => text.get(a + 1..b)?,
        _ => text
            .split_whitespace()
            .find(|w| w.matches(',').count() == 5)
            .unwrap_or(text),
    };
    let n: Vec<u16> = inner
        .split(',')
        .filter_map(|x| x.trim().parse().ok())
        .collect();
    match n.as_slice() {
        [_, _, _, _, p1, p2] if *p1 < 256 && *p2 < 256 => Some(p1 * 256 + p2),
        _ => None,
    }
}

/// The last 227/229 reply of `session` before frame `before`: (its frame, the announced port).
fn passive_reply_before(events: &Events, session: i64, before: i64) -> Option<(i64, u16)> {
    events
        .kind("reply")
        .filter(|r| {
            number(r, "session") == Some(session)
                && number(r, "frame").is_some_and(|f| f < before)
                && matches!(number(r, "code"), Some(227 | 229))
        })
        .last()
        .and_then(|r| Some((number(r, "frame")?, announced_port(text(r, "text")?)?)))
}

/// The server's IP address of a session.
fn server_ip(events: &Events, session: i64) -> Option<std::net::IpAddr> {
    let s = events
        .kind("session")
        .find(|s| number(s, "session") == Some(session))?;
    text(s, "server")?
        .parse::<std::net::SocketAddr>()
        .ok()
        .map(|a| a.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announced_ports_are_read_from_227_229_and_port() {
        assert_eq!(
            announced_port("Entering Passive Mode (127,0,0,33,152,124)."),
            Some(152 * 256 + 124)
        );
        assert_eq!(
            announced_port("Entering Extended Passive Mode (|||39014|)"),
            Some(39014)
        );
        assert_eq!(announced_port("127,0,0,1,200,10"), Some(51210));
        assert_eq!(announced_port("127,0,0,1,300,10"), None);
        assert_eq!(announced_port("no numbers"), None);
    }
}
