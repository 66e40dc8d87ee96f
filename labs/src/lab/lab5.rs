//! Lab 5: the fix, FTPS (RFC 4217: AUTH TLS, PBSZ, PROT), and what it still leaks: the same
//! login without and with TLS, `PROT C`, and a key log that makes everything readable again.

use super::{
    Action, Answer, ClientRun, Expectation, Expected, Lab, Level, NOT_THIS_CAPTURE, Question, Seen,
    ServerSpec, client, data_syn, expect, number_or_unknown, q,
};
use crate::events::{Events, number, text};
use crate::packets::{Packet, Packets};
use crate::seed::Secrets;
use serde_json::Value;

pub(super) static LAB: Lab = Lab {
    number: 5,
    servers,
    script,
    observe_step: 4,
    extract: false,
    expect: expectations,
    questions: QUESTIONS,
    answers,
    secret_password: false,
    third_party: false,
    tls: true,
};

static QUESTIONS: &[Question] = &[
    Question {
        key: "hello_frame",
        question: "Step 2: in which frame does the TLS handshake start (the client's ClientHello on the control connection)?",
        level: Level::Packet,
        hints: &[
            "Step 2's control connection: the frames right after the client asked for TLS.",
            "`tshark -r CAPTURE -d tcp.port==PORT,ftp -Y 'tls.handshake.type == 1'` lists every \
             ClientHello (data connections have theirs too: take the one on the control port), or \
             `inspector frame CAPTURE N` on the frames after AUTH: a TLS record starts with the byte \
             16 (hex: handshake), and the byte after its 5-byte header is 01 (ClientHello).",
        ],
    },
    Question {
        key: "reply_before_hello",
        question: "Which reply code did the server send just before that ClientHello?",
        level: Level::Table,
        hints: &[
            "The last reply of step 2's session before the handshake: the answer to AUTH TLS.",
            "`inspector read CAPTURE` shows it (it is the last clear-text reply of that session); \
             RFC 4217 names the code a server gives when it accepts AUTH.",
        ],
    },
    Question {
        key: "tls_version",
        question: "Which TLS version did the server choose in step 2 (from its ServerHello): 1.2 or 1.3?",
        level: Level::Table,
        hints: &[
            "The ServerHello is the server's first TLS record on step 2's control connection.",
            "The inspector's TLS table (or `tls_handshake` in its JSON). In Wireshark the \
             records' Version field says TLS 1.2 (0x0303) whatever was chosen, kept for old \
             middleboxes: a TLS 1.3 server names its choice in the ServerHello's \
             supported_versions extension.",
        ],
    },
    Question {
        key: "cipher_suite",
        question: "Which cipher suite did the ServerHello choose (its name, or its number as 0x….)?",
        level: Level::Table,
        hints: &[
            "The same ServerHello: one field, Cipher Suite.",
            "The inspector's TLS table, or Wireshark: Transport Layer Security ▸ Handshake \
             Protocol: Server Hello ▸ Cipher Suite.",
        ],
    },
    Question {
        key: "password_without_keylog",
        question: "Without the key log, does the inspector find the password of step 2's session? (yes/no)",
        level: Level::Table,
        hints: &[
            "Read the capture without `--keylog` and look for credential rows of the TLS sessions.",
            "`inspector read CAPTURE --json | grep credential`: which sessions do they belong to?",
        ],
    },
    Question {
        key: "pass_frame",
        question: "With the key log: in which frame does the client send PASS in step 2's session?",
        level: Level::Table,
        hints: &[
            "Read the capture again with the key log (step 5).",
            "`inspector read CAPTURE --keylog KEYLOG`: the credential row of the second session \
             names its frames; in tshark `-d tcp.port==PORT,ftp -o tls.keylog_file:KEYLOG -Y \
             'ftp.request.command == \"PASS\"'`.",
        ],
    },
    Question {
        key: "clear_file_frame",
        question: "Step 3 (PROT C): in which frame does the content of notes.txt cross in clear?",
        level: Level::Table,
        hints: &[
            "Step 3's data connection: a new TCP connection to the server after its RETR, with no \
             TLS handshake on it. The inspector lists it as a data connection of a TLS session.",
            "`tshark -r CAPTURE -d tcp.port==PORT,ftp -Y 'tcp.len > 0 && !tls && !ftp && !ftp-data \
             && tcp.port != PORT'` (PORT: the control port; step 1's data connection is ftp-data), \
             or Follow ▸ TCP Stream on the data connections: one of them shows the notes in clear.",
        ],
    },
    Question {
        key: "tls_data_port",
        question: "Step 2: to which TCP port of the server did the encrypted data connection go? (The reply that announced it was encrypted: can an eavesdropper still tell?)",
        level: Level::Packet,
        hints: &[
            "Every data connection is a new TCP connection: its SYN is in clear.",
            "The SYN after step 2's RETR (whose reply you cannot read) that goes to the server but not \
             to its control port: `tshark -r CAPTURE -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 0'`.",
        ],
    },
    Question {
        key: "tls_overhead",
        question: "Step 2's data connection: how many bytes longer than notes.txt are the TLS records that carried it (Application Data, without the Close Notify alert)?",
        level: Level::Packet,
        hints: &[
            "On the encrypted data connection the server sent its handshake records, then the file \
             in Application Data records, then an alert. Compare their length with the size of \
             notes.txt (`ls -l` of the file you downloaded, or the decrypted transfer).",
            "Add up each Application Data record's length plus its 5-byte header (Wireshark: TLS ▸ \
             Length; tcp.len when a segment carries one record). Without the key log, TLS 1.3 \
             shows more records as Application Data than carry the file: the server's encrypted \
             handshake messages (in the segment with its ServerHello, before the client's \
             Finished) and, last, the small Close Notify alert; leave both out. What is left over \
             is the record header, the hidden content type and the AEAD tag.",
        ],
    },
];

fn servers(_: &Secrets) -> Vec<ServerSpec> {
    vec![ServerSpec {
        label: "server (FTPS optional, demo certificate, key log written)",
        args: Vec::new(),
    }]
}

fn over_tls(s: &Secrets, prot_c: bool) -> Action {
    let mut args = vec!["--tls", "--tls-fingerprint", "{{fingerprint}}"];
    if prot_c {
        args.extend(["--prot", "c"]);
    }
    Action::Client(ClientRun {
        server: 0,
        user: None,
        password: s.password.clone(),
        commands: "get notes.txt".to_string(),
        args,
        expect_ok: true,
    })
}

fn script(s: &Secrets, step: usize) -> Vec<Action> {
    match step {
        1 => vec![client(0, &s.password, "get notes.txt", true)],
        2 => vec![over_tls(s, false)],
        3 => vec![over_tls(s, true)],
        _ => Vec::new(),
    }
}

/// Sessions that switched to TLS (a `tls` event: AUTH accepted).
fn tls_sessions(ev: &Events) -> Vec<i64> {
    ev.kind("tls")
        .filter_map(|t| number(t, "session"))
        .collect()
}

/// A transfer of a TLS session whose data connection was (`encrypted`) or was not TLS.
fn tls_transfer(ev: &Events, encrypted: bool) -> Option<&Value> {
    let sessions = tls_sessions(ev);
    ev.kind("transfer").find(|t| {
        number(t, "session").is_some_and(|s| sessions.contains(&s))
            && t.get("tls")
                .and_then(|x| x.get("encrypted"))
                .and_then(Value::as_bool)
                == Some(encrypted)
    })
}

/// Step 2's session: the TLS session with an encrypted data connection (PROT P).
fn step2_session(ev: &Events) -> Option<i64> {
    tls_transfer(ev, true).and_then(|t| number(t, "session"))
}

fn session_event(ev: &Events, session: i64) -> Option<&Value> {
    ev.kind("session")
        .find(|s| number(s, "session") == Some(session))
}

fn addr(v: &Value, key: &str) -> Option<std::net::SocketAddr> {
    text(v, key)?.parse().ok()
}

/// The ClientHello on a session's control connection: the client's first TLS handshake record
/// after the `tls` event (the reply that accepted AUTH).
fn client_hello<'a>(ev: &Events, packets: &'a Packets, session: i64) -> Option<&'a Packet> {
    let s = session_event(ev, session)?;
    let (client, server) = (addr(s, "client")?, addr(s, "server")?);
    let after = ev
        .kind("tls")
        .find(|t| number(t, "session") == Some(session))
        .and_then(|t| number(t, "frame"))?;
    let after = u64::try_from(after).ok()?;
    packets.0.iter().find(|p| {
        p.frame > after
            && p.src == client
            && p.dst == server
            && p.payload.first() == Some(&0x16)
            && p.payload.get(5) == Some(&0x01)
    })
}

/// The code of the last reply of `session` before frame `before`.
fn reply_before(ev: &Events, session: i64, before: u64) -> Option<i64> {
    ev.kind("reply")
        .filter(|r| {
            number(r, "session") == Some(session)
                && number(r, "frame")
                    .and_then(|f| u64::try_from(f).ok())
                    .is_some_and(|f| f < before)
        })
        .last()
        .and_then(|r| number(r, "code"))
}

fn handshake(ev: &Events, session: i64) -> Option<&Value> {
    ev.kind("tls_handshake")
        .find(|h| number(h, "session") == Some(session))
}

/// The version as the inspector names it (`TLS 1.3`), and as Wireshark (`TLSv1.3`) and people
/// (`1.3`) write it: one of the few versions there are, so a choice.
fn version_spellings(v: &str) -> Option<Vec<&'static str>> {
    Some(match v {
        "TLS 1.3" => vec!["TLS 1.3", "TLSv1.3", "1.3"],
        "TLS 1.2" => vec!["TLS 1.2", "TLSv1.2", "1.2"],
        "TLS 1.1" => vec!["TLS 1.1", "TLSv1.1", "1.1"],
        "TLS 1.0" => vec!["TLS 1.0", "TLSv1.0", "TLSv1", "1.0"],
        _ => return None,
    })
}

/// The cipher suite's IANA name, without its `TLS_` prefix, and its number as Wireshark shows it.
fn suite_spellings(name: &str, number: Option<i64>) -> Vec<String> {
    let mut out = vec![name.to_string()];
    if let Some(rest) = name.strip_prefix("TLS_") {
        out.push(rest.to_string());
    }
    if let Some(n) = number {
        out.push(format!("0x{n:04x}"));
        out.push(format!("0x{n:04X}"));
    }
    out
}

/// The session of `decrypted` on the same control connection (same client address) as
/// `session` of `ev`.
fn same_session(ev: &Events, decrypted: &Events, session: i64) -> Option<i64> {
    let client = text(session_event(ev, session)?, "client")?;
    decrypted
        .kind("session")
        .find(|s| text(s, "client") == Some(client))
        .and_then(|s| number(s, "session"))
}

/// The frame of PASS in a session, read through the key log.
fn decrypted_pass_frame(seen: &Seen, session: i64) -> Option<i64> {
    let d = same_session(&seen.events, &seen.decrypted, session)?;
    seen.decrypted
        .credentials()
        .find(|c| number(c, "session") == Some(d))
        .and_then(|c| number(c, "frame"))
}

/// TLS records of a byte stream as (offset, content type, length of the body); stops at a cut
/// record.
fn records(stream: &[u8]) -> Vec<(usize, u8, usize)> {
    let mut out = Vec::new();
    let mut at = 0usize;
    // Bounded: every turn moves `at` forward by at least the 5-byte header.
    while let Some(header) = stream.get(at..at + 5) {
        let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
        if stream.len() < at + 5 + len {
            break;
        }
        out.push((at, header[0], len));
        at += 5 + len;
    }
    out
}

/// Bytes of the Application Data records that carried the file on an encrypted data
/// connection (headers included). Left out: the server's encrypted handshake messages (in TLS
/// 1.3 they too are Application Data records on the wire, sent before the client's Finished)
/// and a TLS 1.3 Close Notify (the last record, of 19 bytes: alert 2, content type 1, tag 16).
fn file_record_bytes(packets: &Packets, syn: &Packet) -> Option<usize> {
    let (a, b) = (syn.src, syn.dst);
    // The server's direction starts with its ServerHello (handshake record, type 2).
    let (server, client) = [(b, a), (a, b)].into_iter().find(|(from, to)| {
        let s = packets.stream(*from, *to);
        s.first() == Some(&0x16) && s.get(5) == Some(&0x02)
    })?;
    let stream = packets.stream(server, client);
    let isn = packets.isn(server, client)?;
    // The client's second flight (its Finished) is its second segment with payload; the file
    // comes in the server's segments after it.
    let finished = packets
        .connection(a, b)
        .filter(|p| p.src == client && !p.payload.is_empty())
        .nth(1)?
        .frame;
    let start = packets
        .connection(a, b)
        .find(|p| p.src == server && p.frame > finished && !p.payload.is_empty())
        .map(|p| p.seq.wrapping_sub(isn).wrapping_sub(1) as usize)?;
    let mut app: Vec<usize> = records(&stream)
        .into_iter()
        .filter(|(at, t, _)| *t == 23 && *at >= start)
        .map(|(_, _, len)| len)
        .collect();
    if app.len() >= 2 && app.last() == Some(&19) {
        app.pop();
    }
    (!app.is_empty()).then(|| app.iter().map(|l| l + 5).sum())
}

fn clear_login(ev: &Events, s: &Secrets) -> bool {
    let tls = tls_sessions(ev);
    ev.credentials().any(|c| {
        text(c, "user") == Some(&s.user)
            && c.get("accepted").and_then(Value::as_bool) == Some(true)
            && number(c, "session").is_some_and(|n| !tls.contains(&n))
    })
}

fn password_in_tls_sessions(ev: &Events) -> bool {
    let tls = tls_sessions(ev);
    ev.credentials()
        .any(|c| number(c, "session").is_some_and(|n| tls.contains(&n)))
}

fn expectations(seen: &Seen, s: &Secrets) -> Vec<Expectation> {
    let ev = &seen.events;
    let notes_sha = Secrets::sha256(&s.notes);
    let clear_notes =
        tls_transfer(ev, false).is_some_and(|t| text(t, "sha256") == Some(notes_sha.as_str()));
    vec![
        expect("your capture has a login in clear text", clear_login(ev, s)),
        expect(
            "your capture has a session that switched to TLS, its file on a TLS data connection",
            tls_transfer(ev, true).is_some(),
        ),
        expect(
            "without the key log, no password shows in the TLS sessions",
            !tls_sessions(ev).is_empty() && !password_in_tls_sessions(ev),
        ),
        expect(
            "your capture has a TLS session whose file crossed in clear (PROT C)",
            clear_notes,
        ),
        expect(
            "the inspector reported the PROT C finding",
            ev.has_finding("prot-clear"),
        ),
        expect(
            "with the key log, the TLS sessions' passwords are readable",
            step2_session(ev)
                .and_then(|n| decrypted_pass_frame(seen, n))
                .is_some(),
        ),
    ]
}

fn answers(seen: &Seen, s: &Secrets) -> Vec<Answer> {
    let ev = &seen.events;
    let pk = &seen.packets;
    let to_i64 = |v: Option<u64>| v.and_then(|v| i64::try_from(v).ok());
    let s2 = step2_session(ev);
    let hello = s2.and_then(|n| client_hello(ev, pk, n));
    let hs = s2.and_then(|n| handshake(ev, n));
    let encrypted = tls_transfer(ev, true);
    let suite_number = encrypted
        .and_then(|t| t.get("tls"))
        .and_then(|t| number(t, "cipher_suite"));
    let tls_syn = encrypted.and_then(|t| data_syn(pk, t));
    let clear = tls_transfer(ev, false);
    let overhead = tls_syn
        .and_then(|syn| file_record_bytes(pk, syn))
        .and_then(|b| i64::try_from(b).ok())
        .and_then(|b| Some(b - i64::try_from(s.notes.len()).ok()?));
    vec![
        q(QUESTIONS, "hello_frame").answer(number_or_unknown(to_i64(hello.map(|p| p.frame)))),
        q(QUESTIONS, "reply_before_hello").answer(number_or_unknown(
            s2.zip(hello)
                .and_then(|(n, h)| reply_before(ev, n, h.frame)),
        )),
        q(QUESTIONS, "tls_version").answer(
            match hs
                .and_then(|h| text(h, "version"))
                .and_then(version_spellings)
            {
                Some(v) => Expected::OneOf(v),
                None => Expected::Unknown(NOT_THIS_CAPTURE),
            },
        ),
        q(QUESTIONS, "cipher_suite").answer(match hs.and_then(|h| text(h, "cipher_suite")) {
            Some(name) => Expected::AnyText(suite_spellings(name, suite_number)),
            None => Expected::Unknown(NOT_THIS_CAPTURE),
        }),
        q(QUESTIONS, "password_without_keylog").answer(if s2.is_some() {
            Expected::OneOf(vec![if password_in_tls_sessions(ev) {
                "yes"
            } else {
                "no"
            }])
        } else {
            Expected::Unknown(NOT_THIS_CAPTURE)
        }),
        q(QUESTIONS, "pass_frame").answer(if seen.decrypted.0.is_empty() {
            Expected::Unknown(NO_KEYLOG)
        } else {
            number_or_unknown(s2.and_then(|n| decrypted_pass_frame(seen, n)))
        }),
        q(QUESTIONS, "clear_file_frame").answer(number_or_unknown(
            clear.and_then(|t| t.get("data_frames")?.get(0)?.as_i64()),
        )),
        q(QUESTIONS, "tls_data_port")
            .answer(number_or_unknown(tls_syn.map(|p| i64::from(p.dst.port())))),
        q(QUESTIONS, "tls_overhead").answer(number_or_unknown(overhead)),
    ]
}

/// No key log next to the capture: the decrypted questions cannot be checked.
const NO_KEYLOG: &str = "no key log next to the capture (the capture's name with .keys, e.g. \
     captures/lab5.keys): the decrypted view cannot be checked";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_split_by_their_headers_and_a_cut_one_is_left_out() {
        let mut s = vec![0x16, 3, 3, 0, 2, 1, 2];
        s.extend([23, 3, 3, 0, 3, 9, 9, 9]);
        s.extend([23, 3, 3, 0, 9, 1]);
        assert_eq!(records(&s), vec![(0, 0x16, 2), (7, 23, 3)]);
        assert_eq!(records(&[23, 3]), vec![]);
    }

    #[test]
    fn versions_and_suites_are_accepted_as_wireshark_writes_them() {
        let v = version_spellings("TLS 1.3").expect("a version");
        assert!(v.contains(&"TLSv1.3") && v.contains(&"1.3"));
        assert_eq!(version_spellings("SSL 3.0"), None);
        let s = suite_spellings("TLS_AES_256_GCM_SHA384", Some(0x1302));
        assert!(s.contains(&"0x1302".to_string()));
        assert!(s.contains(&"AES_256_GCM_SHA384".to_string()));
    }
}
