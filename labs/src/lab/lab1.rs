//! Lab 1: passwords on the wire (RFC 959 §4.1.1 USER and PASS, RFC 2577 §4 "Protecting
//! Passwords").

use super::{
    Action, Answer, Expectation, Expected, Lab, Level, NOT_THIS_CAPTURE, Question, Seen,
    ServerSpec, client, credential_reply_code, elapsed, expect, number_or_unknown, q,
    seq_or_unknown,
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
    questions: QUESTIONS,
    answers,
    secret_password: false,
    third_party: false,
};

static QUESTIONS: &[Question] = &[
    Question {
        key: "reject_code",
        question: "Which reply code refused the wrong password?",
        level: Level::Table,
        hints: &[
            "The inspector's table lists every reply; find the one right after the first PASS.",
            "`inspector read CAPTURE`: the credential rows say refused or accepted; the reply row \
             after the refused PASS has the code (three digits, family 5yz).",
        ],
    },
    Question {
        key: "pass_frame",
        question: "Which frame carried the accepted password (the PASS command)?",
        level: Level::Table,
        hints: &[
            "The inspector names the frame of every command; the accepted login is the second one.",
            "`inspector read CAPTURE --json | grep credential`: `frame` is the frame of PASS, and \
             `frames` lists USER, PASS and the reply.",
        ],
    },
    Question {
        key: "pass_seq",
        question: "What is the TCP sequence number of that PASS segment (relative, as Wireshark shows it)?",
        level: Level::Packet,
        hints: &[
            "The number is in the TCP header of the frame you found for `pass_frame`.",
            "`inspector frame CAPTURE N` or Wireshark's details pane (Transmission Control Protocol ▸ \
             Sequence Number). Relative means counted from the client's SYN: the SYN is 0, the first \
             byte it sends is 1. Check it: 1 + the bytes of `USER name\\r\\n`.",
        ],
    },
    Question {
        key: "pass_ack",
        question: "What is its acknowledgement number (relative)?",
        level: Level::Packet,
        hints: &[
            "Same frame, same header: the field after the sequence number.",
            "It is the next byte the client expects from the server: 1 + every byte of the 220 \
             greeting and the 331 reply, CRLFs included. `inspector frame CAPTURE N` shows it.",
        ],
    },
    Question {
        key: "reply_ms",
        question: "How many milliseconds passed between that PASS and the server's reply to it (rounded)?",
        level: Level::Packet,
        hints: &[
            "Every frame has a capture time; the reply to PASS is the next segment from the server \
             carrying data on that connection.",
            "Subtract the PASS frame's time from the reply frame's time (Wireshark: View ▸ Time \
             Display Format ▸ Seconds Since Previous Displayed Packet, with a filter on the two \
             frames; `inspector frame` prints each frame's time). Most of it is the server checking \
             the password hash.",
        ],
    },
];

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
            "your capture has a refused login, password in clear text",
            refused(ev, s).is_some(),
        ),
        expect(
            "your capture has an accepted login, password in clear text",
            ev.accepted_login(&s.user, &s.password).is_some(),
        ),
        expect(
            "the inspector reported clear-text credentials",
            ev.has_finding("cleartext-credentials"),
        ),
    ]
}

fn answers(seen: &Seen, s: &Secrets) -> Vec<Answer> {
    let ev = &seen.events;
    let ok = ev.accepted_login(&s.user, &s.password);
    let pass_frame = ok.and_then(|c| number(c, "frame"));
    let pass = pass_frame
        .and_then(|f| u64::try_from(f).ok())
        .and_then(|f| seen.packets.frame(f));
    let relative = |pick: fn(&crate::packets::Packet) -> u32, of_client: bool| {
        let p = pass?;
        let isn = if of_client {
            seen.packets.isn(p.src, p.dst)?
        } else {
            seen.packets.isn(p.dst, p.src)?
        };
        Some((pick(p).wrapping_sub(isn), pick(p)))
    };
    let reply_frame = ok
        .and_then(|c| c.get("frames")?.get(2)?.as_i64())
        .and_then(|r| {
            // The first segment of the reply: the reply event names the frame that completed it.
            let p = pass?;
            seen.packets
                .0
                .iter()
                .find(|x| {
                    x.frame > p.frame
                        && i64::try_from(x.frame).is_ok_and(|f| f <= r)
                        && x.src == p.dst
                        && x.dst == p.src
                        && !x.payload.is_empty()
                })
                .and_then(|x| i64::try_from(x.frame).ok())
        });
    let ms = pass_frame
        .zip(reply_frame)
        .and_then(|(a, b)| elapsed(&seen.packets, a, b))
        .map(|us| i64::try_from((us + 500) / 1000).unwrap_or(i64::MAX));
    vec![
        q(QUESTIONS, "reject_code").answer(number_or_unknown(
            refused(ev, s).and_then(|c| credential_reply_code(ev, c)),
        )),
        q(QUESTIONS, "pass_frame").answer(number_or_unknown(pass_frame)),
        q(QUESTIONS, "pass_seq").answer(seq_or_unknown(relative(|p| p.seq, true))),
        q(QUESTIONS, "pass_ack").answer(seq_or_unknown(relative(|p| p.ack, false))),
        q(QUESTIONS, "reply_ms").answer(ms.map_or(Expected::Unknown(NOT_THIS_CAPTURE), |value| {
            Expected::Near { value, within: 1 }
        })),
    ]
}
