//! Lab 7, the capstone: a forensic case. A capture of a small incident (made for the student's
//! seed or token by [`crate::scene`]) with noise around it, and open questions answered in an
//! incident report (`my-work/lab7/report.md`, see [`crate::report`]).

use super::{
    Answer, Expectation, Expected, Lab, Level, NOT_THIS_CAPTURE, Question, Seen, expect, q,
};
use crate::events::{Events, number, text};
use crate::seed::Secrets;
use serde_json::Value;
use std::net::{IpAddr, SocketAddr};

pub(super) static LAB: Lab = Lab {
    number: super::CAPSTONE,
    servers: |_| Vec::new(),
    // Nothing to do at the steps: the runner plays the incident before the first one.
    script: |_, _| Vec::new(),
    observe_step: 1,
    extract: false,
    expect: expectations,
    questions: QUESTIONS,
    answers,
    secret_password: true,
    third_party: false,
    tls: false,
};

/// The report's fields: (answer key, the text before the colon in `report.md`).
pub const FIELDS: &[(&str, &str)] = &[
    ("ftp_port", "FTP server port"),
    ("attacker_ip", "Attacker address"),
    ("passwords_tried", "Passwords tried"),
    ("user", "Account"),
    ("intruder_ip", "Login address"),
    ("password", "Password used"),
    ("pass_frame", "Frame of the successful PASS"),
    ("login_time", "Time of the successful PASS (UTC, HH:MM:SS)"),
    ("resumed_file", "File downloaded in two parts"),
    ("rest_offset", "REST offset of the second part"),
    ("upload_name", "File uploaded"),
    ("upload_sha256", "SHA-256 of the uploaded file"),
    ("stor_frame", "Frame of the STOR"),
    ("port_frame", "Frame of the refused PORT"),
    ("port_code", "Reply code to that PORT"),
    ("gap_file", "File with segments missing from the capture"),
];

static QUESTIONS: &[Question] = &[
    Question {
        key: "ftp_port",
        question: "On which TCP port does the FTP server listen?",
        level: Level::Table,
        hints: &[
            "Not on 21: find the conversation whose first server bytes are `220 ` (a greeting), or \
             let the inspector find it by content.",
            "Wireshark: Statistics ▸ Conversations ▸ TCP, then Follow ▸ TCP Stream on the busiest; \
             once found, Analyze ▸ Decode As… ▸ TCP port ▸ FTP. The inspector's session rows say \
             `found by greeting`.",
        ],
    },
    Question {
        key: "attacker_ip",
        question: "From which address did the dictionary attack come?",
        level: Level::Table,
        hints: &[
            "Many refused logins from one address in a short time.",
            "The inspector's `brute-force` finding names it; in Wireshark, filter `ftp.response.code == 530` \
             (after Decode As) and look at the destination.",
        ],
    },
    Question {
        key: "passwords_tried",
        question: "How many passwords did that address try (refused logins)?",
        level: Level::Table,
        hints: &[
            "Count the PASS commands from the attacker's address.",
            "`ftp.request.command == \"PASS\" && ip.src == ADDRESS`: the status bar counts them; or \
             the credential rows of the inspector.",
        ],
    },
    Question {
        key: "user",
        question: "Which account was attacked and then used?",
        level: Level::Table,
        hints: &[
            "The USER of the refused logins, and of the accepted one that follows.",
            "A 230 reply ends a successful login: the USER before it names the account.",
        ],
    },
    Question {
        key: "intruder_ip",
        question: "From which address did the successful login into that account come?",
        level: Level::Table,
        hints: &[
            "Not the attacker's: the 230 for that account went to another address.",
            "`ftp.response.code == 230`: two logins succeed, the staff member's and one more.",
        ],
    },
    Question {
        key: "password",
        question: "With which password? (exactly: case matters)",
        level: Level::Table,
        hints: &[
            "The PASS just before that 230.",
            "Follow the TCP stream of that control connection.",
        ],
    },
    Question {
        key: "pass_frame",
        question: "In which frame is that PASS command?",
        level: Level::Table,
        hints: &[
            "The frame carrying the PASS line of the successful login.",
            "The inspector's credential row names its frames (USER, PASS, reply), or click the line in \
             Wireshark.",
        ],
    },
    Question {
        key: "login_time",
        question: "At what time (UTC, HH:MM:SS) was that PASS sent?",
        level: Level::Packet,
        hints: &[
            "The capture time of the PASS frame.",
            "Wireshark: View ▸ Time Display Format ▸ UTC Date and Time of Day; tshark: \
             `-t ud -Y frame.number==N`. Seconds only, no fraction.",
        ],
    },
    Question {
        key: "resumed_file",
        question: "Which file did the intruder download in two parts?",
        level: Level::Table,
        hints: &[
            "The same RETR twice, the second after a REST.",
            "`ftp.request.command == \"RETR\" || ftp.request.command == \"REST\"`; the inspector \
             shows the parts put together (`stitched`).",
        ],
    },
    Question {
        key: "rest_offset",
        question: "At which byte offset did the second part start?",
        level: Level::Table,
        hints: &[
            "The argument of REST (RFC 959 §4.1.3), answered by 350.",
            "It is the number of bytes the client kept from the first part.",
        ],
    },
    Question {
        key: "upload_name",
        question: "Which file did the intruder upload?",
        level: Level::Table,
        hints: &[
            "An upload is a STOR.",
            "`ftp.request.command == \"STOR\"`, or the inspector's transfer rows with direction upload.",
        ],
    },
    Question {
        key: "upload_sha256",
        question: "What is the SHA-256 of the uploaded file (hex)?",
        level: Level::Table,
        hints: &[
            "Rebuild the file from its data connection and hash it.",
            "The inspector's transfer row (or `--extract DIR` then `sha256sum`); in Wireshark, Follow \
             the data connection's TCP stream, Show as Raw, Save as, then `sha256sum`.",
        ],
    },
    Question {
        key: "stor_frame",
        question: "In which frame is the STOR command?",
        level: Level::Table,
        hints: &[
            "The frame carrying the STOR line on the control connection.",
            "The inspector's transfer row gives the frame of its command.",
        ],
    },
    Question {
        key: "port_frame",
        question: "In which frame is the PORT command the server refused (the bounce attempt)?",
        level: Level::Table,
        hints: &[
            "A PORT naming an address that is not the client's own (RFC 2577 §3).",
            "The inspector's `bounce-attack` finding names the frame; `ftp.request.command == \"PORT\"`.",
        ],
    },
    Question {
        key: "port_code",
        question: "Which reply code refused it?",
        level: Level::Table,
        hints: &[
            "The reply right after that PORT on the same control connection.",
            "A 5yz reply: permanent negative completion (RFC 959 §4.2).",
        ],
    },
    Question {
        key: "gap_file",
        question: "Which file's download is not complete in the capture (segments were lost)?",
        level: Level::Table,
        hints: &[
            "Some data segments never made it into the capture: the receiver's ACKs jump over bytes \
             no frame carries.",
            "The inspector's transfer rows say incomplete, with gaps; Wireshark marks `[TCP Previous \
             segment not captured]` (`tcp.analysis.lost_segment`).",
        ],
    },
];

fn ip(v: &Value, field: &str) -> Option<IpAddr> {
    text(v, field)?.parse::<SocketAddr>().ok().map(|a| a.ip())
}

fn accepted(c: &Value) -> Option<bool> {
    c.get("accepted").and_then(Value::as_bool)
}

/// The address with the most refused logins of this user, and how many.
fn attack(ev: &Events, s: &Secrets) -> Option<(IpAddr, i64)> {
    let mut counts: Vec<(IpAddr, i64)> = Vec::new();
    for c in ev
        .credentials()
        .filter(|c| accepted(c) == Some(false) && text(c, "user") == Some(&s.user))
    {
        let Some(a) = ip(c, "client") else { continue };
        match counts.iter_mut().find(|(x, _)| *x == a) {
            Some((_, n)) => *n += 1,
            None => counts.push((a, 1)),
        }
    }
    counts.into_iter().max_by_key(|(_, n)| *n)
}

/// The accepted login of this user from another address than the attacker's.
fn break_in<'a>(ev: &'a Events, s: &Secrets) -> Option<&'a Value> {
    let (attacker, _) = attack(ev, s)?;
    ev.credentials().find(|c| {
        accepted(c) == Some(true)
            && text(c, "user") == Some(&s.user)
            && ip(c, "client").is_some_and(|a| a != attacker)
    })
}

fn in_session<'a>(ev: &'a Events, session: i64, kind: &'a str) -> impl Iterator<Item = &'a Value> {
    ev.kind(kind)
        .filter(move |v| number(v, "session") == Some(session))
}

fn intruder_session(ev: &Events, s: &Secrets) -> Option<i64> {
    number(break_in(ev, s)?, "session")
}

fn resumed<'a>(ev: &'a Events, s: &Secrets) -> Option<&'a Value> {
    in_session(ev, intruder_session(ev, s)?, "transfer")
        .find(|t| number(t, "rest").is_some_and(|r| r > 0))
}

fn upload<'a>(ev: &'a Events, s: &Secrets) -> Option<&'a Value> {
    in_session(ev, intruder_session(ev, s)?, "transfer")
        .find(|t| text(t, "direction") == Some("upload"))
}

/// The refused PORT of the intruder's session and its reply code.
fn refused_port<'a>(ev: &'a Events, s: &Secrets) -> Option<(&'a Value, i64)> {
    let session = intruder_session(ev, s)?;
    ev.commands("PORT")
        .filter(|c| number(c, "session") == Some(session))
        .find_map(|c| {
            let code = number(ev.reply_to(c)?, "code")?;
            (code >= 400).then_some((c, code))
        })
}

/// A transfer with bytes that crossed the wire but are not in the capture.
fn with_gaps(ev: &Events) -> Option<&Value> {
    ev.kind("transfer").find(|t| {
        t.get("gaps")
            .and_then(Value::as_array)
            .is_some_and(|g| !g.is_empty())
    })
}

fn ftp_port(ev: &Events, s: &Secrets) -> Option<i64> {
    let session = intruder_session(ev, s)?;
    let server = ev
        .kind("session")
        .find(|v| number(v, "session") == Some(session))?;
    let addr: SocketAddr = text(server, "server")?.parse().ok()?;
    Some(i64::from(addr.port()))
}

/// The PASS frame's time as HH:MM:SS (UTC), rounded down and up: both are accepted.
fn login_times(seen: &Seen, s: &Secrets) -> Option<Vec<String>> {
    let frame = number(break_in(&seen.events, s)?, "frame")?;
    let micros = seen.packets.frame(u64::try_from(frame).ok()?)?.micros;
    let secs = i64::try_from(micros / 1_000_000).ok()?;
    let hms = |t: i64| {
        time::OffsetDateTime::from_unix_timestamp(t)
            .ok()
            .map(|d| format!("{:02}:{:02}:{:02}", d.hour(), d.minute(), d.second()))
    };
    Some([hms(secs)?, hms(secs + 1)?].to_vec())
}

fn name_of(t: Option<&Value>) -> Expected {
    t.and_then(|t| text(t, "name"))
        .map(|n| n.rsplit('/').next().unwrap_or(n))
        .map_or(Expected::Unknown(NOT_THIS_CAPTURE), |n| {
            Expected::Text(n.to_string())
        })
}

fn num(n: Option<i64>) -> Expected {
    super::number_or_unknown(n)
}

fn answers(seen: &Seen, s: &Secrets) -> Vec<Answer> {
    let ev = &seen.events;
    let login = break_in(ev, s);
    let up = upload(ev, s);
    let port = refused_port(ev, s);
    let a = |k| q(QUESTIONS, k);
    vec![
        a("ftp_port").answer(num(ftp_port(ev, s))),
        a("attacker_ip").answer(
            attack(ev, s).map_or(Expected::Unknown(NOT_THIS_CAPTURE), |(ip, _)| {
                Expected::Text(ip.to_string())
            }),
        ),
        a("passwords_tried").answer(num(attack(ev, s).map(|(_, n)| n))),
        a("user").answer(login.map_or(Expected::Unknown(NOT_THIS_CAPTURE), |_| {
            Expected::Text(s.user.clone())
        })),
        a("intruder_ip").answer(
            login
                .and_then(|c| ip(c, "client"))
                .map_or(Expected::Unknown(NOT_THIS_CAPTURE), |ip| {
                    Expected::Text(ip.to_string())
                }),
        ),
        a("password").answer(
            login
                .and_then(|c| text(c, "password"))
                .map_or(Expected::Unknown(NOT_THIS_CAPTURE), |p| {
                    Expected::Exact(p.to_string())
                }),
        ),
        a("pass_frame").answer(num(login.and_then(|c| number(c, "frame")))),
        a("login_time").answer(
            login_times(seen, s).map_or(Expected::Unknown(NOT_THIS_CAPTURE), Expected::AnyText),
        ),
        a("resumed_file").answer(name_of(resumed(ev, s))),
        a("rest_offset").answer(num(resumed(ev, s).and_then(|t| number(t, "rest")))),
        a("upload_name").answer(name_of(up)),
        a("upload_sha256").answer(
            up.and_then(|t| text(t, "sha256"))
                .map_or(Expected::Unknown(NOT_THIS_CAPTURE), |h| {
                    Expected::Text(h.to_string())
                }),
        ),
        a("stor_frame").answer(num(up.and_then(|t| number(t, "frame")))),
        a("port_frame").answer(num(port.and_then(|(c, _)| number(c, "frame")))),
        a("port_code").answer(num(port.map(|(_, code)| code))),
        a("gap_file").answer(name_of(with_gaps(ev))),
    ]
}

fn expectations(seen: &Seen, s: &Secrets) -> Vec<Expectation> {
    let ev = &seen.events;
    let http = seen
        .packets
        .0
        .iter()
        .any(|p| p.payload.starts_with(b"GET ") || p.payload.starts_with(b"HTTP/1.1 "));
    vec![
        expect(
            "the FTP server listens on another port than 21",
            ftp_port(ev, s).is_some_and(|p| p != 21),
        ),
        expect(
            "a dictionary attack: at least 5 refused logins from one address",
            attack(ev, s).is_some_and(|(_, n)| n >= 5) && ev.has_finding("brute-force"),
        ),
        expect(
            "a login into the same account accepted from another address",
            break_in(ev, s).is_some(),
        ),
        expect(
            "a download resumed with REST",
            resumed(ev, s).is_some() && ev.kind("stitched").next().is_some(),
        ),
        expect(
            "an upload",
            upload(ev, s).is_some_and(|t| text(t, "sha256").is_some()),
        ),
        expect(
            "a bounce attempt the server refused",
            refused_port(ev, s).is_some() && ev.has_finding("bounce-attack"),
        ),
        expect(
            "segments missing from the capture (a transfer with gaps)",
            with_gaps(ev).is_some(),
        ),
        expect("traffic that is not FTP around it (HTTP)", http),
    ]
}
