//! Lab 0: the doctor, and why sniffing needs CAP_NET_RAW.

use super::{
    Action, Answer, Expectation, Expected, Lab, NOT_THIS_CAPTURE, Seen, ServerSpec, answer, client,
    expect,
};
use crate::events::Events;
use crate::seed::Secrets;

pub(super) static LAB: Lab = Lab {
    number: 0,
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
        1 => vec![Action::Doctor],
        2 => vec![Action::Privilege],
        3 => vec![client(0, &s.password, "ls", true)],
        _ => Vec::new(),
    }
}

fn expectations(seen: &Seen, s: &Secrets) -> Vec<Expectation> {
    vec![
        expect(
            "a session with the lab's server",
            seen.events.kind("session").next().is_some(),
        ),
        expect(
            format!("the login of {} with its password, in clear text", s.user),
            seen.events.accepted_login(&s.user, &s.password).is_some(),
        ),
    ]
}

fn answers(events: &Events, s: &Secrets) -> Vec<Answer> {
    vec![
        answer(
            "capability",
            "Which Linux capability lets a program capture packets?",
            Expected::OneOf(vec!["cap_net_raw", "net_raw"]),
        ),
        answer(
            "offline_option",
            "Which option runs a lab from a shipped capture instead?",
            Expected::OneOf(vec!["--offline", "offline"]),
        ),
        answer(
            "user",
            "Which user name logged in, in the capture?",
            if events.accepted_login(&s.user, &s.password).is_some() {
                Expected::Text(s.user.clone())
            } else {
                Expected::Unknown(NOT_THIS_CAPTURE)
            },
        ),
    ]
}
