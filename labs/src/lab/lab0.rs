//! Lab 0: the doctor, and why sniffing needs CAP_NET_RAW.

use super::{
    Action, Answer, Expectation, Expected, Lab, Level, Question, Seen, ServerSpec, client,
    data_syn, expect, number_or_unknown, q,
};
use crate::seed::Secrets;

pub(super) static LAB: Lab = Lab {
    number: 0,
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
        key: "capability",
        question: "Which Linux capability lets a program capture packets?",
        level: Level::Concept,
        hints: &[
            "Step 2 tried live capture twice: read the message of the run that was refused.",
            "It is written in capitals and starts with CAP_; `man 7 capabilities` lists them all.",
        ],
    },
    Question {
        key: "offline_option",
        question: "Which option runs a lab from a shipped capture instead?",
        level: Level::Concept,
        hints: &[
            "The first line of every lab text says how to run it without sniffing.",
            "It is an option of `just labN`, starting with two dashes.",
        ],
    },
    Question {
        key: "connections",
        question: "How many TCP connections does the capture hold (count the segments that open one)?",
        level: Level::Packet,
        hints: &[
            "A TCP connection opens with a segment whose SYN flag is set and ACK flag is not.",
            "In Wireshark or tshark: `tshark -r CAPTURE -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 0'`, \
             then count the lines. With our tools: `inspector frame CAPTURE N` shows the flags of frame N.",
        ],
    },
    Question {
        key: "data_syn_frame",
        question: "In which frame does the data connection that carried the listing (`ls`) open (its SYN)?",
        level: Level::Packet,
        hints: &[
            "The listing crossed a second connection, opened after the reply that announced its port \
             (229 or 227) and before the listing's bytes.",
            "Take the port from the 229 reply `(|||PORT|)`; the SYN is the first segment to that port: \
             `tshark -r CAPTURE -Y 'tcp.port == PORT && tcp.flags.syn == 1'`.",
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
        1 => vec![Action::Doctor],
        2 => vec![Action::Privilege],
        3 => vec![client(0, &s.password, "ls", true)],
        _ => Vec::new(),
    }
}

fn expectations(seen: &Seen, s: &Secrets) -> Vec<Expectation> {
    vec![
        expect(
            "your capture has a session with the lab's server",
            seen.events.kind("session").next().is_some(),
        ),
        expect(
            "your capture has your login, in clear text",
            seen.events.accepted_login(&s.user, &s.password).is_some(),
        ),
        expect(
            "your capture has the listing's data connection",
            seen.events.kind("transfer").next().is_some(),
        ),
    ]
}

fn answers(seen: &Seen, _: &Secrets) -> Vec<Answer> {
    let opened = seen.packets.0.iter().filter(|p| p.opens()).count();
    let listing = seen
        .events
        .kind("transfer")
        .find(|t| crate::events::text(t, "direction") == Some("listing"));
    vec![
        q(QUESTIONS, "capability").answer(Expected::OneOf(vec!["cap_net_raw", "net_raw"])),
        q(QUESTIONS, "offline_option").answer(Expected::OneOf(vec!["--offline", "offline"])),
        q(QUESTIONS, "connections").answer(number_or_unknown(
            i64::try_from(opened).ok().filter(|n| *n > 0),
        )),
        q(QUESTIONS, "data_syn_frame").answer(number_or_unknown(
            listing
                .and_then(|t| data_syn(&seen.packets, t))
                .and_then(|p| i64::try_from(p.frame).ok()),
        )),
    ]
}
