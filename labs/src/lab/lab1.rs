//! Lab 1: passwords on the wire (RFC 959 §4.1.1 USER/PASS, RFC 2577 §7).

use super::{
    Action, Answer, Expectation, Expected, Lab, NOT_THIS_CAPTURE, Seen, ServerSpec, answer, client,
    credential_reply_code, expect, number_or_unknown,
};
use crate::events::{Events, number, text};
use crate::seed::Secrets;
use serde_json::Value;

pub(super) static LAB: Lab = Lab {
    number: 1,
    servers,
    script,
    observe_step: 4,
    extract: false,
    expect: expectations,
    answers,
};

fn servers(_: &Secrets) -> Vec<ServerSpec> {
    vec![ServerSpec {
        label: "server",
        args: Vec::new(),
    }]
}

fn script(s: &Secrets, step: usize) -> Vec<Action> {
    match step {
        2 => vec![client(0, &s.wrong_password, "pwd", false)],
        3 => vec![client(0, &s.password, "pwd; ls", true)],
        _ => Vec::new(),
    }
}

fn refused<'a>(events: &'a Events, s: &Secrets) -> Option<&'a Value> {
    events.credentials().find(|c| {
        text(c, "user") == Some(&s.user)
            && text(c, "password") == Some(&s.wrong_password)
            && c.get("accepted").and_then(Value::as_bool) == Some(false)
    })
}

fn expectations(seen: &Seen, s: &Secrets) -> Vec<Expectation> {
    let ev = &seen.events;
    vec![
        expect(
            format!("the refused password `{}` in clear text", s.wrong_password),
            refused(ev, s).is_some(),
        ),
        expect(
            format!("user {} with password `{}`, accepted", s.user, s.password),
            ev.accepted_login(&s.user, &s.password).is_some(),
        ),
        expect(
            "the finding cleartext-credentials",
            ev.has_finding("cleartext-credentials"),
        ),
    ]
}

fn answers(ev: &Events, s: &Secrets) -> Vec<Answer> {
    let ok = ev.accepted_login(&s.user, &s.password);
    let known = |t: &str| match ok {
        Some(_) => Expected::Text(t.to_string()),
        None => Expected::Unknown(NOT_THIS_CAPTURE),
    };
    vec![
        answer("user", "Which user name crossed the wire?", known(&s.user)),
        answer(
            "password",
            "Which password was accepted?",
            known(&s.password),
        ),
        answer(
            "pass_frame",
            "Which frame carried the accepted password (PASS)?",
            number_or_unknown(ok.and_then(|c| number(c, "frame"))),
        ),
        answer(
            "accept_code",
            "Which reply code accepted it?",
            number_or_unknown(ok.and_then(|c| credential_reply_code(ev, c))),
        ),
        answer(
            "reject_code",
            "Which reply code refused the wrong password?",
            number_or_unknown(refused(ev, s).and_then(|c| credential_reply_code(ev, c))),
        ),
    ]
}
