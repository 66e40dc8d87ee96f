//! What FTPS still leaks (RFC 4217 §15 and the choices it leaves open) and what the key log
//! did or could not do, as findings.

use super::connection::{Decryption, TlsConnection, suite_name, version_name};
use crate::event::{CommandEvent, Event, FindingEvent};
use crate::ftp_session::{Session, Tracker};
use std::collections::HashMap;

/// The TLS findings for everything the tracker saw.
pub fn find(tracker: &Tracker) -> Vec<FindingEvent> {
    let mut out = Vec::new();
    // USER and CCC commands by session, found once (not once per session: a capture of many
    // sessions made that quadratic).
    let mut commands: HashMap<usize, Vec<&CommandEvent>> = HashMap::new();
    for c in leak_commands(&tracker.events) {
        commands.entry(c.session).or_default().push(c);
    }
    for s in &tracker.sessions {
        let none = Vec::new();
        leaks(tracker, commands.get(&s.id).unwrap_or(&none), s, &mut out);
        if let Some(control) = tracker.tls.control.get(&(s.id - 1)) {
            connection(&control.conn, "control connection", s, &mut out);
        }
    }
    data_connections(tracker, None, &mut out);
    keylog_bad_lines(tracker, &mut out);
    keylog_credentials(&tracker.events, &mut out);
    out
}

/// The TLS findings of session `s`, which is over, from its events.
pub fn find_for_session(tracker: &Tracker, s: &Session, events: &[Event]) -> Vec<FindingEvent> {
    let mut out = Vec::new();
    let commands: Vec<&CommandEvent> = leak_commands(events).collect();
    leaks(tracker, &commands, s, &mut out);
    if let Some(control) = tracker.tls.control.get(&(s.id - 1)) {
        connection(&control.conn, "control connection", s, &mut out);
    }
    data_connections(tracker, Some(s.id), &mut out);
    if tracker.tls.keylog.is_some() {
        keylog_credentials(events, &mut out);
    }
    out
}

/// The TLS findings about the whole capture: key log lines that could not be read.
pub fn find_global(tracker: &Tracker) -> Vec<FindingEvent> {
    let mut out = Vec::new();
    keylog_bad_lines(tracker, &mut out);
    out
}

/// The commands [`leaks`] looks at: USER and CCC.
fn leak_commands(events: &[Event]) -> impl Iterator<Item = &CommandEvent> {
    events.iter().filter_map(|e| match e {
        Event::Command(c) if c.command == "USER" || c.command == "CCC" => Some(c),
        _ => None,
    })
}

/// What a TLS session still shows; `commands` are its USER and CCC commands.
fn leaks(tracker: &Tracker, commands: &[&CommandEvent], s: &Session, out: &mut Vec<FindingEvent>) {
    let commands = || commands.iter().copied().filter(|c| c.session == s.id);
    if let Some(tls_frame) = s.encrypted
        && let Some(user) = commands().find(|c| c.command == "USER" && c.frame < tls_frame)
    {
        out.push(FindingEvent {
            id: "tls-after-user",
            severity: "medium",
            message: format!(
                "USER {:?} was sent in clear before AUTH TLS (TLS from frame {tls_frame})",
                user.arg.as_deref().unwrap_or_default()
            ),
            frame: user.frame,
            session: Some(s.id),
            frames: Vec::new(),
            filter: String::new(),
            why: "the user name (half of the login) is readable by any eavesdropper",
            fix: "send AUTH TLS first; servers should answer USER before AUTH with 530 when TLS is required",
            reference: "RFC 4217 §4",
        });
    }
    if let Some((lines, frame)) = &s.feat
        && s.auth_sent.is_none()
        && lines
            .iter()
            .any(|l| l.trim().to_ascii_uppercase().starts_with("AUTH"))
    {
        out.push(FindingEvent {
            id: "tls-offered-not-used",
            severity: "medium",
            message: "FEAT offers AUTH TLS but the client never used it".to_owned(),
            frame: *frame,
            session: Some(s.id),
            frames: Vec::new(),
            filter: String::new(),
            why: "the protection was there and the session still went in clear text",
            fix: "configure the client to require TLS (curl --ssl-reqd, lftp ftp:ssl-force, FTP_TLS)",
            reference: "RFC 4217 §4",
        });
    }
    if let Some(ccc) = commands().find(|c| c.command == "CCC") {
        out.push(FindingEvent {
            id: "ccc",
            severity: "medium",
            message: "CCC: the client asked to drop TLS on the control connection".to_owned(),
            frame: ccc.frame,
            session: Some(s.id),
            frames: Vec::new(),
            filter: String::new(),
            why: "the commands after it (file names, and a new login) travel in clear text",
            fix: "refuse CCC on the server unless a NAT firewall truly needs it",
            reference: "RFC 2228 (CCC), RFC 4217",
        });
    } else if tracker
        .tls
        .control
        .get(&(s.id - 1))
        .is_some_and(|c| c.conn.cleared.iter().any(|x| *x))
    {
        out.push(FindingEvent {
            id: "ccc",
            severity: "medium",
            message: "the control connection went back to clear text after TLS (CCC)".to_owned(),
            frame: s.encrypted.unwrap_or(s.first_frame),
            session: Some(s.id),
            frames: Vec::new(),
            filter: String::new(),
            why: "the commands after it travel in clear text",
            fix: "refuse CCC on the server unless a NAT firewall truly needs it",
            reference: "RFC 2228 (CCC), RFC 4217",
        });
    }
}

/// Version and decryption outcome of one TLS connection.
fn connection(conn: &TlsConnection, what: &str, s: &Session, out: &mut Vec<FindingEvent>) {
    let frame = conn
        .facts
        .server_hello_frame
        .or(conn.facts.client_hello_frame)
        .or(s.encrypted)
        .unwrap_or(s.first_frame);
    if let Some(v) = conn.facts.version
        && v < 0x0303
    {
        out.push(FindingEvent {
            id: "tls-old-version",
            severity: "medium",
            message: format!("{what} uses {}", version_name(v)),
            frame,
            session: Some(s.id),
            frames: Vec::new(),
            filter: String::new(),
            why: "TLS before 1.2 has known weaknesses and is disabled by current clients",
            fix: "allow only TLS 1.2 and 1.3 on the server",
            reference: "RFC 8996",
        });
    }
    if let Some(f) = decryption_finding(&conn.decryption, what, frame, Some(s.id)) {
        out.push(f);
    }
}

fn decryption_finding(
    d: &Decryption,
    what: &str,
    frame: u64,
    session: Option<usize>,
) -> Option<FindingEvent> {
    let (id, message) = match d {
        Decryption::NoSecret { missing } => (
            "keylog-missing-secret",
            format!("{what}: the key log has no {missing} for its client random"),
        ),
        Decryption::Failed { frame, reason } => (
            "tls-decryption-failed",
            format!("{what}: decryption failed at frame {frame}: {reason}"),
        ),
        Decryption::UnsupportedSuite(id) => (
            "tls-cipher-not-decryptable",
            format!(
                "{what}: cipher suite {} cannot be decrypted by this inspector",
                suite_name(*id)
            ),
        ),
        Decryption::NoClientHello => (
            "keylog-missing-secret",
            format!(
                "{what}: its ClientHello is not in the capture, so the key log cannot be searched"
            ),
        ),
        _ => return None,
    };
    Some(FindingEvent {
        id,
        severity: "info",
        message,
        frame,
        session,
        frames: Vec::new(),
        filter: String::new(),
        why: "what this connection carried stays unreadable in this report",
        fix: "give the key log written for this very capture (SSLKEYLOGFILE of the client, or the server's key log)",
        reference: "NSS key log format; RFC 8446 §7.1",
    })
}

/// Findings about data connections of TLS sessions: of every session, or of session `only`.
fn data_connections(tracker: &Tracker, only: Option<usize>, out: &mut Vec<FindingEvent>) {
    // Per session: the first data connection in clear (PROT C) and the encrypted ones.
    let mut clear: Vec<(usize, u64, Option<String>)> = Vec::new();
    let mut encrypted: Vec<(usize, u64, u64, bool)> = Vec::new();
    let mut failed: Vec<FindingEvent> = Vec::new();
    for t in &tracker.transfers {
        let (Some(tls), Some(session)) = (t.tls, t.session) else {
            continue;
        };
        if only.is_some_and(|o| o != session) {
            continue;
        }
        let frame = t.command_frame.or(t.first_data_frame()).unwrap_or(0);
        if !tls.encrypted {
            if !clear.iter().any(|c| c.0 == session) && t.bytes() > 0 {
                clear.push((session, frame, t.name.clone()));
            }
            continue;
        }
        if !tls.decrypted_with_keylog {
            let bytes = tls.encrypted_bytes_to_server + tls.encrypted_bytes_to_client;
            match encrypted.iter_mut().find(|e| e.0 == session) {
                Some(e) => {
                    e.2 += bytes;
                    e.3 |= tls.tie == "guessed";
                }
                None => encrypted.push((session, frame, bytes, tls.tie == "guessed")),
            }
        }
        if tracker.tls.keylog.is_some()
            && let Some(d) = tracker.tls.data.get(&t.id).and_then(|d| d.conn.as_ref())
            && let Some(f) = decryption_finding(
                &d.decryption,
                "data connection",
                d.facts.client_hello_frame.unwrap_or(frame),
                Some(session),
            )
        {
            failed.push(f);
        }
    }
    for (session, frame, name) in clear {
        let explicit = tracker
            .sessions
            .get(session.wrapping_sub(1))
            .is_some_and(|s| s.prot_clear.is_some());
        if explicit {
            continue;
        }
        out.push(FindingEvent {
            id: "prot-clear",
            severity: "medium",
            message: format!(
                "a data connection of this TLS session carries {} in clear text (PROT C, or no PROT P)",
                name.map(|n| format!("{n:?}")).unwrap_or_else(|| "file data".into())
            ),
            frame,
            session: Some(session),
            frames: Vec::new(),
            filter: String::new(),
            why: "TLS protects the password but not the files",
            fix: "use PROT P and make the server require it",
            reference: "RFC 4217 §9",
        });
    }
    for (session, frame, bytes, guessed) in encrypted {
        out.push(FindingEvent {
            id: "tls-sizes-visible",
            severity: "info",
            message: format!(
                "encrypted data connections: {bytes} bytes of TLS application data, their directions and timing are visible{}",
                if guessed { " (tied to this session by addresses and timing: a guess)" } else { "" }
            ),
            frame,
            session: Some(session),
            frames: Vec::new(),
            filter: String::new(),
            why: "file sizes and when they moved identify files and activity without decryption",
            fix: "nothing in FTPS hides sizes; pad or batch files if that matters",
            reference: "RFC 4217",
        });
    }
    // One decryption finding per kind and session is enough.
    failed.dedup_by(|a, b| a.id == b.id && a.session == b.session);
    out.extend(failed);
}

fn keylog_bad_lines(tracker: &Tracker, out: &mut Vec<FindingEvent>) {
    let Some(log) = &tracker.tls.keylog else {
        return;
    };
    if let Some(first) = log.bad_lines.first() {
        out.push(FindingEvent {
            id: "keylog-bad-lines",
            severity: "info",
            message: format!(
                "{} line(s) of the key log {} could not be read; first: line {}: {}",
                log.bad_lines.len(),
                log.name,
                first.line,
                first.reason
            ),
            frame: 0,
            session: None,
            frames: Vec::new(),
            filter: String::new(),
            why: "connections whose secrets were on those lines stay encrypted",
            fix: "give the file exactly as SSLKEYLOGFILE wrote it (LABEL CLIENT_RANDOM SECRET per line)",
            reference: "NSS key log format",
        });
    }
}

/// Passwords the key log made readable.
fn keylog_credentials(events: &[Event], out: &mut Vec<FindingEvent>) {
    for e in events {
        if let Event::Credential(c) = e
            && c.decrypted_with_keylog
            && let Some(password) = &c.password
        {
            out.push(FindingEvent {
                id: "keylog-credentials",
                severity: "medium",
                message: format!(
                    "user {:?} and password {password:?} read from TLS with the key log",
                    c.user
                ),
                frame: c.frame,
                session: Some(c.session),
                frames: Vec::new(),
                filter: String::new(),
                why: "whoever holds the key log (SSLKEYLOGFILE left set, a server's debug key log) reads everything TLS protected",
                fix: "never log TLS keys outside a lab; delete key logs; change passwords that were logged",
                reference: "NSS key log format",
            });
        }
    }
}
