//! Lab 3: the data connection: passive and active mode, rebuilding a file, ASCII vs binary
//! (RFC 959 §3.1.1 data types, §3.2 establishing data connections).

use super::{
    Action, Answer, ClientRun, Expectation, Expected, Lab, Seen, ServerSpec, answer, expect,
};
use crate::events::{Events, number, text};
use crate::seed::Secrets;
use serde_json::Value;

pub(super) static LAB: Lab = Lab {
    number: 3,
    servers,
    script,
    observe_step: 4,
    extract: true,
    expect: expectations,
    answers,
};

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
            "notes.txt rebuilt from the passive data connection, same sha256 as the original",
            notes(ev, s).and_then(mode) == Some("passive"),
        ),
        expect(
            "the extracted notes.txt has the original's sha256",
            seen.extracted.iter().any(|(_, sha)| *sha == notes_sha),
        ),
        expect(
            "photo.bin over an active data connection, byte for byte",
            photo_binary(ev, s).and_then(mode) == Some("active"),
        ),
        expect(
            "photo.bin in ASCII mode: more bytes on the wire than the file has",
            photo_ascii(ev, s)
                .and_then(|t| number(t, "bytes"))
                .is_some_and(|b| usize::try_from(b).is_ok_and(|b| b > s.photo.len())),
        ),
    ]
}

fn answers(ev: &Events, s: &Secrets) -> Vec<Answer> {
    let n = super::number_or_unknown;
    vec![
        answer(
            "passive_connects",
            "In passive mode, who connects to whom: does the client or the server open the data connection?",
            Expected::OneOf(vec!["client"]),
        ),
        answer(
            "active_connects",
            "In active mode, who opens the data connection?",
            Expected::OneOf(vec!["server"]),
        ),
        answer(
            "notes_sha256",
            "The sha256 of notes.txt rebuilt from the capture",
            match notes(ev, s).and_then(|t| text(t, "sha256")) {
                Some(sha) => Expected::Text(sha.to_string()),
                None => Expected::Unknown(super::NOT_THIS_CAPTURE),
            },
        ),
        answer(
            "photo_binary_bytes",
            "How many bytes of photo.bin crossed the data connection in binary mode?",
            n(photo_binary(ev, s).and_then(|t| number(t, "bytes"))),
        ),
        answer(
            "photo_ascii_bytes",
            "And in ASCII mode?",
            n(photo_ascii(ev, s).and_then(|t| number(t, "bytes"))),
        ),
    ]
}
