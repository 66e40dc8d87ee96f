//! The five labs as data: which servers they start, what the scripted student does at each step,
//! what the student must see, and the answers to their questions.

mod lab0;
mod lab1;
mod lab2;
mod lab3;
mod lab4;

use crate::events::{Events, number};
use crate::seed::Secrets;
use serde_json::Value;

/// Number of labs.
pub const COUNT: usize = 5;

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
#[derive(Debug, Clone)]
pub struct Seen {
    /// The inspector's events (live, or from the capture).
    pub events: Events,
    /// Files the inspector extracted, as (file name, sha256).
    pub extracted: Vec<(String, String)>,
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
    /// A number.
    Number(i64),
    /// Any of these words, compared trimmed and case-insensitively.
    OneOf(Vec<&'static str>),
    /// The capture does not show what the question is about (wrong capture or seed): the reason.
    Unknown(&'static str),
}

/// A question of a lab and its right answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Key in `labs/answers/labN.toml`.
    pub key: &'static str,
    /// The question as the student reads it.
    pub question: &'static str,
    /// The right answer.
    pub expected: Expected,
}

fn answer(key: &'static str, question: &'static str, expected: Expected) -> Answer {
    Answer {
        key,
        question,
        expected,
    }
}

/// What the capture shows does not belong to this seed.
const NOT_THIS_CAPTURE: &str =
    "the capture does not show this lab's session for this seed: check `capture` and `seed`";

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
    /// What the student must see.
    pub expect: fn(&Seen, &Secrets) -> Vec<Expectation>,
    /// Right answers to the questions, from what was seen and the seed.
    pub answers: fn(&Events, &Secrets) -> Vec<Answer>,
}

/// Lab `n` (0-4).
pub fn get(n: u8) -> &'static Lab {
    match n {
        0 => &lab0::LAB,
        1 => &lab1::LAB,
        2 => &lab2::LAB,
        3 => &lab3::LAB,
        _ => &lab4::LAB,
    }
}

fn client(server: usize, password: &str, commands: &str, expect_ok: bool) -> Action {
    Action::Client(ClientRun {
        server,
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
