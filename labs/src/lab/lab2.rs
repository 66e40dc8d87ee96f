//! Lab 2: reading the conversation: commands, reply codes and their families (RFC 959 §4.2),
//! and verbs in any case (RFC 959 §5.3).

use super::{
    Action, Answer, Expectation, Expected, Lab, Level, NOT_THIS_CAPTURE, Question, Seen,
    ServerSpec, client, elapsed, expect, passive_reply_before, q, server_ip,
};
use crate::events::{Events, number, text};
use crate::packets::{self, Packets};
use crate::seed::Secrets;
use serde_json::Value;

pub(super) static LAB: Lab = Lab {
    number: 2,
    servers,
    script,
    observe_step: 5,
    extract: false,
    expect: expectations,
    questions: QUESTIONS,
    answers,
    secret_password: false,
    third_party: false,
};

/// The lower-case PORT the student sends: the client's own address (127.0.0.1), port 50441.
pub(super) const LOWERCASE_PORT: &str = "quote port 127,0,0,1,197,9";
const PORT_ARG: &str = "127,0,0,1,197,9";

static QUESTIONS: &[Question] = &[
    Question {
        key: "failed_login_code",
        question: "Which reply code refused the wrong password?",
        level: Level::Table,
        hints: &[
            "Step 1's session: the reply right after PASS.",
            "`inspector read CAPTURE`: the reply rows show code and text; the credential row says refused.",
        ],
    },
    Question {
        key: "missing_file_code",
        question: "Which reply code answered RETR of a file that does not exist?",
        level: Level::Table,
        hints: &[
            "Step 2's session: find RETR missing.txt, then the next reply in the same session.",
            "`inspector read CAPTURE --json | grep -A1 RETR`; the family is 5yz, the subject x5z (file system).",
        ],
    },
    Question {
        key: "bad_sequence_code",
        question: "Which reply code answered RNTO without RNFR?",
        level: Level::Table,
        hints: &[
            "Step 3's session: the reply after RNTO.",
            "The second digit 0 means syntax or sequence; RFC 959 §4.2 lists the code as \"Bad sequence of commands\".",
        ],
    },
    Question {
        key: "lowercase_port_code",
        question: "Which reply code answered the lower-case `port` command?",
        level: Level::Table,
        hints: &[
            "Step 4's session: the inspector shows the command as PORT.",
            "The reply right after it; a 2yz code means the server accepted the verb in lower case.",
        ],
    },
    Question {
        key: "family_5yz",
        question: "Is a reply whose first digit is 5 a transient or a permanent negative reply?",
        level: Level::Concept,
        hints: &[
            "The first digit is the family: the table in the lab's background.",
            "RFC 959 §4.2: the first digit 4 is transient negative, 5 permanent negative.",
        ],
    },
    Question {
        key: "family_4yz",
        question: "And one whose first digit is 4?",
        level: Level::Concept,
        hints: &[
            "Same table, first digit 4.",
            "RFC 959 §4.2: could the same command work later?",
        ],
    },
    Question {
        key: "port_on_wire",
        question: "The first four bytes of step 4's command on the wire, in hex (8 hex digits)?",
        level: Level::Packet,
        hints: &[
            "The inspector upper-cases verbs when it decodes them; the frame's bytes do not.",
            "Find the frame the inspector names for that command and read its TCP payload: \
             `inspector frame CAPTURE N` (hex and text), or Wireshark's bytes pane. ASCII letters: \
             upper case A-Z are 41-5a, lower case a-z are 61-7a.",
        ],
    },
    Question {
        key: "missing_reply_us",
        question: "How many microseconds passed between RETR missing.txt and its reply?",
        level: Level::Packet,
        hints: &[
            "Both frames are in the inspector's table; their times are in the frames.",
            "Subtract the RETR frame's capture time from the reply frame's (`inspector frame CAPTURE N` \
             or Wireshark's frame.time_epoch), then multiply by 1 000 000. A few µs either way is fine.",
        ],
    },
    Question {
        key: "data_end",
        question: "The data connection opened for `get missing.txt` carried no file: did it end with a FIN or a RST?",
        level: Level::Packet,
        hints: &[
            "The client opened it after the 229 reply; take the port from `(|||PORT|)`.",
            "Show every segment of it: `tshark -r CAPTURE -Y 'tcp.port == PORT'` and read the flags of \
             the last ones (or `inspector frame CAPTURE N` on each).",
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
        1 => vec![client(0, &s.wrong_password, "pwd", false)],
        2 => vec![client(0, &s.password, "get missing.txt", false)],
        3 => vec![client(0, &s.password, "quote RNTO nothing.txt", false)],
        4 => vec![client(0, &s.password, LOWERCASE_PORT, true)],
        _ => Vec::new(),
    }
}

fn command<'a>(ev: &'a Events, verb: &'a str, arg: &str) -> Option<&'a Value> {
    ev.commands(verb)
        .find(|c| text(c, "arg").is_some_and(|a| a.contains(arg)))
}

/// The final reply code to the first command `verb` whose argument contains `arg`.
fn code_after(ev: &Events, verb: &str, arg: &str) -> Option<i64> {
    ev.reply_to(command(ev, verb, arg)?)
        .and_then(|r| number(r, "code"))
}

fn failed_login_code(ev: &Events, s: &Secrets) -> Option<i64> {
    let cmd = ev
        .commands("PASS")
        .find(|c| text(c, "arg") == Some(&s.wrong_password))?;
    ev.reply_to(cmd).and_then(|r| number(r, "code"))
}

fn expectations(seen: &Seen, s: &Secrets) -> Vec<Expectation> {
    let ev = &seen.events;
    let refused = |c: Option<i64>| c.is_some_and(|c| c >= 400);
    vec![
        expect(
            "your capture has a refused login",
            refused(failed_login_code(ev, s)),
        ),
        expect(
            "your capture has a refused download of missing.txt",
            refused(code_after(ev, "RETR", "missing.txt")),
        ),
        expect(
            "your capture has RNTO without RNFR, refused",
            refused(code_after(ev, "RNTO", "nothing.txt")),
        ),
        expect(
            "your capture has the lower-case `port`, accepted",
            code_after(ev, "PORT", PORT_ARG).is_some_and(|c| (200..300).contains(&c)),
        ),
    ]
}

/// The first four bytes of the command on the wire (its verb as typed), in hex.
fn verb_on_wire(ev: &Events, packets: &Packets) -> Option<String> {
    let cmd = command(ev, "PORT", PORT_ARG)?;
    let frame = u64::try_from(number(cmd, "frame")?).ok()?;
    let p = packets.frame(frame)?;
    // The segment that completed the line may hold only its end: look back for the start.
    let start = packets
        .0
        .iter()
        .filter(|x| x.frame <= frame && x.src == p.src && x.dst == p.dst)
        .rev()
        .find(|x| {
            x.payload
                .get(..4)
                .is_some_and(|b| b.eq_ignore_ascii_case(b"port"))
        })?;
    Some(hex::encode(start.payload.get(..4)?))
}

fn data_end(ev: &Events, packets: &Packets) -> Option<&'static str> {
    let retr = command(ev, "RETR", "missing.txt")?;
    let session = number(retr, "session")?;
    let (reply_frame, port) = passive_reply_before(ev, session, number(retr, "frame")?)?;
    let to = std::net::SocketAddr::new(server_ip(ev, session)?, port);
    let after = u64::try_from(reply_frame).ok()?;
    let syn = packets.syn_to(to, after, u64::MAX)?;
    packets::ending(packets, syn.src, syn.dst).map(packets::Ending::word)
}

fn answers(seen: &Seen, s: &Secrets) -> Vec<Answer> {
    let ev = &seen.events;
    let n = super::number_or_unknown;
    let retr = command(ev, "RETR", "missing.txt");
    let reply_us = retr.and_then(|c| {
        let r = ev.reply_to(c)?;
        let us = elapsed(&seen.packets, number(c, "frame")?, number(r, "frame")?)?;
        i64::try_from(us).ok()
    });
    vec![
        q(QUESTIONS, "failed_login_code").answer(n(failed_login_code(ev, s))),
        q(QUESTIONS, "missing_file_code").answer(n(code_after(ev, "RETR", "missing.txt"))),
        q(QUESTIONS, "bad_sequence_code").answer(n(code_after(ev, "RNTO", "nothing.txt"))),
        q(QUESTIONS, "lowercase_port_code").answer(n(code_after(ev, "PORT", PORT_ARG))),
        q(QUESTIONS, "family_5yz").answer(Expected::OneOf(vec![
            "permanent",
            "permanent negative",
            "5yz",
            "5",
        ])),
        q(QUESTIONS, "family_4yz").answer(Expected::OneOf(vec![
            "transient",
            "transient negative",
            "4yz",
            "4",
        ])),
        q(QUESTIONS, "port_on_wire").answer(
            verb_on_wire(ev, &seen.packets)
                .map_or(Expected::Unknown(NOT_THIS_CAPTURE), Expected::Text),
        ),
        q(QUESTIONS, "missing_reply_us").answer(
            reply_us.map_or(Expected::Unknown(NOT_THIS_CAPTURE), |value| {
                Expected::Near { value, within: 3 }
            }),
        ),
        q(QUESTIONS, "data_end").answer(super::word_or_unknown(data_end(ev, &seen.packets))),
    ]
}
