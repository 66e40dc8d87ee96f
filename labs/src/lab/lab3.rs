//! Lab 3: the data connection: passive and active mode, rebuilding a file, ASCII vs binary
//! (RFC 959 §3.1.1.1 ASCII type, §3.2 establishing data connections, §3.3 data connection
//! management).

use super::{
    Action, Answer, ClientRun, Expectation, Expected, Lab, Level, NOT_THIS_CAPTURE, Question, Seen,
    ServerSpec, announced_port, data_syn, expect, number_or_unknown, q, word_or_unknown,
};
use crate::events::{Events, number, text};
use crate::packets::{Packet, Packets};
use crate::seed::Secrets;
use serde_json::Value;

pub(super) static LAB: Lab = Lab {
    number: 3,
    servers,
    script,
    observe_step: 4,
    extract: true,
    expect: expectations,
    questions: QUESTIONS,
    answers,
    secret_password: false,
    third_party: false,
};

static QUESTIONS: &[Question] = &[
    Question {
        key: "notes_sha256",
        question: "The sha256 of notes.txt rebuilt from the capture (64 hex digits)",
        level: Level::Table,
        hints: &[
            "Step 4 rebuilds the files from the capture into your work folder.",
            "`sha256sum` of the extracted notes.txt; `inspector read CAPTURE --json | grep notes.txt` has it too.",
        ],
    },
    Question {
        key: "pasv_port",
        question: "Step 1: which port did the 227 reply announce? Compute it from the six numbers.",
        level: Level::Packet,
        hints: &[
            "Find the 227 reply of step 1's session: `(h1,h2,h3,h4,p1,p2)`.",
            "RFC 959 §4.1.2 (PASV) and §5.3.2 (host-port): the port is p1 × 256 + p2. Check your result \
             against the destination port of the next SYN.",
        ],
    },
    Question {
        key: "passive_syn_frame",
        question: "In which frame is the SYN that opened notes.txt's data connection?",
        level: Level::Packet,
        hints: &[
            "It comes after the 227 reply and goes to the port you computed.",
            "`tshark -r CAPTURE -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 0 && tcp.dstport == PORT'`, \
             or `inspector frame CAPTURE N` on the frames right after the 227.",
        ],
    },
    Question {
        key: "passive_syn_from",
        question: "Who sent that SYN: the client or the server?",
        level: Level::Packet,
        hints: &[
            "Compare the SYN's source address and port with the control connection's two ends.",
            "The control connection's client port is in the inspector's session row; the server's \
             address is the lab's. The side whose address the 227 named is the one that listened.",
        ],
    },
    Question {
        key: "active_port",
        question: "Step 2: which port did the client name in its PORT command? Compute it.",
        level: Level::Packet,
        hints: &[
            "Find PORT in step 2's session: `h1,h2,h3,h4,p1,p2`.",
            "p1 × 256 + p2, as for the 227 reply.",
        ],
    },
    Question {
        key: "active_syn_from",
        question: "Who sent the SYN that opened photo.bin's data connection in step 2?",
        level: Level::Packet,
        hints: &[
            "The SYN goes to the port you computed for `active_port`.",
            "Which side had that port open? Look at the SYN's destination and source.",
        ],
    },
    Question {
        key: "active_syn_src_port",
        question: "What is the TCP source port of that SYN?",
        level: Level::Packet,
        hints: &[
            "The same SYN's TCP header.",
            "`inspector frame CAPTURE N` or Wireshark: Transmission Control Protocol ▸ Source Port.",
        ],
    },
    Question {
        key: "ascii_wire_bytes",
        question: "Step 3: how many bytes of photo.bin crossed the data connection in ASCII mode?",
        level: Level::Table,
        hints: &[
            "The inspector counts the bytes of every transfer; there are two of photo.bin.",
            "The transfer row whose sha256 differs from the original's; compare with `ls -l` of the \
             original: the difference is what ASCII mode added.",
        ],
    },
    Question {
        key: "first_cr_offset",
        question: "At which byte offset (counting from 0) of that ASCII data stream is the first CR that ASCII mode inserted?",
        level: Level::Packet,
        hints: &[
            "Compare the bytes on the wire with the original file, from the start: they agree until \
             the first line end that ASCII mode changed.",
            "`xxd FILES/photo.bin | head` against Wireshark's Follow ▸ TCP Stream (Show data as: Hex \
             Dump) of the ASCII transfer, or `inspector frame CAPTURE N` of its first data segment. \
             RFC 959 §3.1.1.1: ASCII mode sends every end of line as CR LF (0d 0a).",
        ],
    },
];

fn servers(_: &Secrets) -> Vec<ServerSpec> {
    vec![ServerSpec {
        label: "server",
        args: Vec::new(),
    }]
}

fn run(s: &Secrets, commands: &str) -> Action {
    // RFC 959 PASV and PORT only: the data addresses show in 227 replies and PORT commands.
    Action::Client(ClientRun {
        server: 0,
        user: None,
        password: s.password.clone(),
        commands: commands.to_string(),
        args: vec!["--no-extended"],
        expect_ok: true,
    })
}

fn script(s: &Secrets, step: usize) -> Vec<Action> {
    match step {
        1 => vec![run(s, "binary; get notes.txt")],
        2 => vec![run(s, "binary; active; get photo.bin")],
        3 => vec![run(s, "ascii; get photo.bin photo-ascii.bin")],
        _ => Vec::new(),
    }
}

fn mode(t: &Value) -> Option<&str> {
    text(t, "mode")
}

fn notes<'a>(ev: &'a Events, s: &Secrets) -> Option<&'a Value> {
    let sha = Secrets::sha256(&s.notes);
    ev.transfers("notes.txt")
        .find(|t| text(t, "sha256") == Some(sha.as_str()))
}

/// The photo sent in binary mode: exactly the original bytes.
fn photo_binary<'a>(ev: &'a Events, s: &Secrets) -> Option<&'a Value> {
    let sha = Secrets::sha256(&s.photo);
    ev.transfers("photo.bin")
        .find(|t| text(t, "sha256") == Some(sha.as_str()))
}

/// The photo sent in ASCII mode: other bytes than the original.
fn photo_ascii<'a>(ev: &'a Events, s: &Secrets) -> Option<&'a Value> {
    let sha = Secrets::sha256(&s.photo);
    ev.transfers("photo.bin").find(|t| {
        t.get("complete").and_then(Value::as_bool) == Some(true)
            && text(t, "sha256") != Some(sha.as_str())
    })
}

fn expectations(seen: &Seen, s: &Secrets) -> Vec<Expectation> {
    let ev = &seen.events;
    let notes_sha = Secrets::sha256(&s.notes);
    vec![
        expect(
            "your capture has notes.txt over a passive data connection, complete",
            notes(ev, s).and_then(mode) == Some("passive"),
        ),
        expect(
            "the notes.txt rebuilt from your capture is the original, byte for byte",
            seen.extracted.iter().any(|(_, sha)| *sha == notes_sha),
        ),
        expect(
            "your capture has photo.bin over an active data connection, byte for byte",
            photo_binary(ev, s).and_then(mode) == Some("active"),
        ),
        expect(
            "your capture has photo.bin in ASCII mode, changed on the way",
            photo_ascii(ev, s).is_some(),
        ),
    ]
}

/// The announced port of the 227 reply / PORT command that set up a transfer's data connection.
fn setup_port(ev: &Events, transfer: &Value, verb_or_code: Setup) -> Option<u16> {
    let session = number(transfer, "session")?;
    let frame = number(transfer, "frame")?;
    match verb_or_code {
        Setup::Pasv => super::passive_reply_before(ev, session, frame).map(|(_, p)| p),
        Setup::Port => ev
            .commands("PORT")
            .filter(|c| {
                number(c, "session") == Some(session)
                    && number(c, "frame").is_some_and(|f| f < frame)
            })
            .last()
            .and_then(|c| announced_port(text(c, "arg")?)),
    }
}

#[derive(Clone, Copy)]
enum Setup {
    Pasv,
    Port,
}

/// "client" when the SYN went to the port the server announced, "server" when to the port the
/// client named.
fn syn_sender(
    syn: &Packet,
    server_announced: Option<u16>,
    client_named: Option<u16>,
) -> Option<&'static str> {
    if server_announced == Some(syn.dst.port()) {
        Some("client")
    } else if client_named == Some(syn.dst.port()) {
        Some("server")
    } else {
        None
    }
}

/// Offset of the first byte where `wire` differs from `original` and is a CR.
fn first_inserted_cr(wire: &[u8], original: &[u8]) -> Option<usize> {
    let i = wire
        .iter()
        .zip(original)
        .position(|(w, o)| w != o)
        .or_else(|| (wire.len() > original.len()).then_some(original.len()))?;
    (wire.get(i) == Some(&b'\r')).then_some(i)
}

fn ascii_stream(packets: &Packets, syn: &Packet) -> Vec<u8> {
    let a = packets.stream(syn.src, syn.dst);
    let b = packets.stream(syn.dst, syn.src);
    if a.len() >= b.len() { a } else { b }
}

fn answers(seen: &Seen, s: &Secrets) -> Vec<Answer> {
    let ev = &seen.events;
    let pk = &seen.packets;
    let to_i64 = |v: Option<u64>| v.and_then(|v| i64::try_from(v).ok());
    let passive = notes(ev, s);
    let pasv_port = passive.and_then(|t| setup_port(ev, t, Setup::Pasv));
    let passive_syn = passive.and_then(|t| data_syn(pk, t));
    let active = photo_binary(ev, s);
    let active_port = active.and_then(|t| setup_port(ev, t, Setup::Port));
    let active_syn = active.and_then(|t| data_syn(pk, t));
    let ascii = photo_ascii(ev, s);
    let ascii_syn = ascii.and_then(|t| data_syn(pk, t));
    vec![
        q(QUESTIONS, "notes_sha256").answer(match passive.and_then(|t| text(t, "sha256")) {
            Some(sha) => Expected::Text(sha.to_string()),
            None => Expected::Unknown(NOT_THIS_CAPTURE),
        }),
        q(QUESTIONS, "pasv_port").answer(number_or_unknown(pasv_port.map(i64::from))),
        q(QUESTIONS, "passive_syn_frame")
            .answer(number_or_unknown(to_i64(passive_syn.map(|p| p.frame)))),
        q(QUESTIONS, "passive_syn_from").answer(word_or_unknown(
            passive_syn.and_then(|p| syn_sender(p, pasv_port, None)),
        )),
        q(QUESTIONS, "active_port").answer(number_or_unknown(active_port.map(i64::from))),
        q(QUESTIONS, "active_syn_from").answer(word_or_unknown(
            active_syn.and_then(|p| syn_sender(p, None, active_port)),
        )),
        q(QUESTIONS, "active_syn_src_port").answer(number_or_unknown(
            active_syn.map(|p| i64::from(p.src.port())),
        )),
        q(QUESTIONS, "ascii_wire_bytes")
            .answer(number_or_unknown(ascii.and_then(|t| number(t, "bytes")))),
        q(QUESTIONS, "first_cr_offset").answer(number_or_unknown(
            ascii_syn
                .and_then(|syn| first_inserted_cr(&ascii_stream(pk, syn), &s.photo))
                .and_then(|i| i64::try_from(i).ok()),
        )),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_inserted_cr_is_where_the_wire_leaves_the_file() {
        assert_eq!(first_inserted_cr(b"ab\r\ncd", b"ab\ncd"), Some(2));
        assert_eq!(first_inserted_cr(b"a\r\nb\r\r\n", b"a\r\nb\r\n"), Some(5));
        assert_eq!(first_inserted_cr(b"same", b"same"), None);
        assert_eq!(first_inserted_cr(b"axc", b"abc"), None);
    }
}
