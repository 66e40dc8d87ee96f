//! Lab 2: reading the conversation: commands, reply codes and their families (RFC 959 §4.2).

use super::{Action, Answer, Expectation, Expected, Lab, Seen, ServerSpec, answer, client, expect};
use crate::events::{Events, number, text};
use crate::seed::Secrets;
use serde_json::Value;

pub(super) static LAB: Lab = Lab {
    number: 2,
    servers,
    script,
    observe_step: 5,
    extract: false,
    expect: expectations,
    answers,
};

/// The lower-case PORT the student sends: the client's own address (127.0.0.1), port 51210.
pub(super) const LOWERCASE_PORT: &str = "quote port 127,0,0,1,200,10";

fn servers(_: &Secrets) -> Vec<ServerSpec> {
    vec![ServerSpec {
        label: "server",
        args: Vec::new(),
    }]
}

fn script(s: &Secrets, step: usize) -> Vec<Action> {
    match step {
        1 => vec![client(0, &s.wrong_password, "pwd", false)],
        2 => vec![client(0, &s.password, "get missing.txt", false)],
        3 => vec![client(0, &s.password, "quote RNTO nothing.txt", false)],
        4 => vec![client(0, &s.password, LOWERCASE_PORT, true)],
        _ => Vec::new(),
    }
}

/// The final reply code to the first command `verb` whose argument contains `arg`.
fn code_after(ev: &Events, verb: &str, arg: &str) -> Option<i64> {
    code_and_frame(ev, verb, arg).map(|(c, _)| c)
}

fn code_and_frame(ev: &Events, verb: &str, arg: &str) -> Option<(i64, i64)> {
    let cmd = ev
        .commands(verb)
        .find(|c| text(c, "arg").is_some_and(|a| a.contains(arg)))?;
    let reply: &Value = ev.reply_to(cmd)?;
    Some((number(reply, "code")?, number(reply, "frame")?))
}

fn failed_login_code(ev: &Events, s: &Secrets) -> Option<i64> {
    let cmd = ev
        .commands("PASS")
        .find(|c| text(c, "arg") == Some(&s.wrong_password))?;
    ev.reply_to(cmd).and_then(|r| number(r, "code"))
}

fn expectations(seen: &Seen, s: &Secrets) -> Vec<Expectation> {
    let ev = &seen.events;
    vec![
        expect(
            "530 after the wrong password",
            failed_login_code(ev, s) == Some(530),
        ),
        expect(
            "550 after RETR missing.txt",
            code_after(ev, "RETR", "missing.txt") == Some(550),
        ),
        expect(
            "503 after RNTO without RNFR",
            code_after(ev, "RNTO", "nothing.txt") == Some(503),
        ),
        expect(
            "200 after the lower-case `port` command (shown as PORT)",
            code_after(ev, "PORT", "127,0,0,1,200,10") == Some(200),
        ),
    ]
}

fn answers(ev: &Events, s: &Secrets) -> Vec<Answer> {
    let n = super::number_or_unknown;
    vec![
        answer(
            "failed_login_code",
            "Which reply code refused the wrong password?",
            n(failed_login_code(ev, s)),
        ),
        answer(
            "missing_file_code",
            "Which reply code answered RETR of a file that does not exist?",
            n(code_after(ev, "RETR", "missing.txt")),
        ),
        answer(
            "missing_file_frame",
            "In which frame is that reply?",
            n(code_and_frame(ev, "RETR", "missing.txt").map(|(_, f)| f)),
        ),
        answer(
            "bad_sequence_code",
            "Which reply code answered RNTO without RNFR?",
            n(code_after(ev, "RNTO", "nothing.txt")),
        ),
        answer(
            "lowercase_port_code",
            "Which reply code answered the lower-case `port` command?",
            n(code_after(ev, "PORT", "127,0,0,1,200,10")),
        ),
        answer(
            "family_550",
            "Is 550 a transient or a permanent negative reply?",
            Expected::OneOf(vec!["permanent", "permanent negative", "5yz", "5"]),
        ),
        answer(
            "family_450",
            "Is 450 a transient or a permanent negative reply?",
            Expected::OneOf(vec!["transient", "transient negative", "4yz", "4"]),
        ),
    ]
}
