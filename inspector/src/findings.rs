//! Security findings in the style of Wireshark's Expert Info: severity, what, where (frame),
//! why it matters, what fixes it, and what to read: RFC 2577 (FTP Security Considerations: §3
//! the bounce attack, §5 protecting passwords, §6 privacy), RFC 4217 (FTP over TLS: §4 AUTH
//! TLS on the control connection, §6 FEAT, §9 PROT for data connections), and CWE entries
//! where no RFC section covers the weakness. SFTP is not FTP: it is the SSH File Transfer
//! Protocol (draft-ietf-secsh-filexfer), named as an alternative, never cited to RFC 4217.

use crate::event::{Event, FindingEvent};
use crate::ftp_session::Tracker;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

/// Failed logins from one address to one server at which guessing is assumed (RFC 2577 §5
/// suggests limiting attempts).
const BRUTE_FORCE_FAILURES: usize = 5;

/// Builds the findings for everything the tracker saw (and kept: a reader that keeps every
/// event, `--sort` and live capture).
pub fn find(tracker: &Tracker) -> Vec<FindingEvent> {
    let mut out = Vec::new();
    let mut global = Global::default();
    for event in &tracker.events {
        event_findings(event, &mut out);
        global.observe(tracker, event);
    }
    global.finish(&mut out);
    for s in &tracker.sessions {
        session_findings(s, &mut out);
    }
    out.extend(crate::tls::findings::find(tracker));
    conflicting_transfers(&tracker.events, &mut out);
    for s in &tracker.sessions {
        conflicting_control(s, &mut out);
    }
    with_filters(out)
}

/// The findings of one session that is over, from its events (a streaming reader calls it
/// before the session is dropped; what needs every session is [`Global`]'s).
pub fn find_for_session(tracker: &Tracker, s: usize, events: &[Event]) -> Vec<FindingEvent> {
    let mut out = Vec::new();
    for event in events {
        event_findings(event, &mut out);
    }
    if let Some(session) = tracker.sessions.get(s) {
        session_findings(session, &mut out);
        out.extend(crate::tls::findings::find_for_session(
            tracker, session, events,
        ));
        conflicting_transfers(events, &mut out);
        conflicting_control(session, &mut out);
    }
    with_filters(out)
}

/// The findings of events that belong to no session (a data connection whose control
/// connection is not in the capture).
pub fn find_for_events(events: &[Event]) -> Vec<FindingEvent> {
    let mut out = Vec::new();
    conflicting_transfers(events, &mut out);
    with_filters(out)
}

/// The findings that span sessions, with their filters.
pub fn find_global(tracker: &Tracker, global: Global) -> Vec<FindingEvent> {
    let mut out = Vec::new();
    global.finish(&mut out);
    out.extend(crate::tls::findings::find_global(tracker));
    with_filters(out)
}

/// Most findings show one frame; the filter shows what the finding names.
fn with_filters(mut out: Vec<FindingEvent>) -> Vec<FindingEvent> {
    for f in &mut out {
        if f.frames.is_empty() {
            f.frames = vec![f.frame];
        }
        f.filter = crate::report::frame_filter(&f.frames);
    }
    out
}

/// Failed logins listed per client address and server in `brute-force`: beyond this many, only
/// the count grows (the finding says so).
pub const BRUTE_FORCE_FRAMES_KEPT: usize = 1000;

/// What the findings that span sessions need, gathered event by event: failed logins per
/// client address and server (`brute-force`), files sent in clear (`cleartext-data`). Its
/// size grows with the number of client addresses, not of events.
#[derive(Debug, Default)]
pub struct Global {
    // Per client address and server: two servers in one capture are two targets.
    failures: BTreeMap<(IpAddr, SocketAddr), (u64, Vec<u64>)>,
    cleartext_files: u64,
    first_file_frame: Option<u64>,
}

impl Global {
    /// Takes note of one event (its session must still be in `tracker`).
    pub fn observe(&mut self, tracker: &Tracker, event: &Event) {
        match event {
            Event::Credential(c) => {
                if c.accepted == Some(false)
                    && let Some(key) = tracker
                        .sessions
                        .get(c.session.saturating_sub(1))
                        .map(|s| (s.client.ip(), s.server))
                {
                    let (count, frames) = self.failures.entry(key).or_default();
                    *count += 1;
                    if frames.len() < BRUTE_FORCE_FRAMES_KEPT {
                        frames.push(c.frame);
                    }
                }
            }
            Event::Transfer(t) if t.bytes > 0 && !t.tls.is_some_and(|x| x.encrypted) => {
                self.cleartext_files += 1;
                self.first_file_frame.get_or_insert(t.frame);
            }
            _ => {}
        }
    }

    /// The findings that span sessions, at the end of the capture.
    fn finish(self, out: &mut Vec<FindingEvent>) {
        let Global {
            failures,
            cleartext_files,
            first_file_frame,
        } = self;
        for ((ip, server), (count, frames)) in failures {
            if count >= BRUTE_FORCE_FAILURES as u64 {
                out.push(FindingEvent {
                id: "brute-force",
                severity: "high",
                message: if count > frames.len() as u64 {
                    format!("{count} failed logins from {ip} to {server} (the first {} listed)", frames.len())
                } else {
                    format!("{count} failed logins from {ip} to {server}")
                },
                frame: frames.first().copied().unwrap_or(0),
                filter: crate::report::frame_filter(&frames),
                frames,
                session: None,
                why: "repeated failures from one address are password guessing",
                fix: "limit failed attempts per address and slow down replies (the server's --max-login-failures)",
                reference: "RFC 2577 §5",
            });
            }
        }
        if cleartext_files > 0 {
            out.push(FindingEvent {
                frames: Vec::new(),
                filter: String::new(),
            id: "cleartext-data",
            severity: "medium",
            message: format!("{cleartext_files} file(s) or listing(s) sent in clear text"),
            frame: first_file_frame.unwrap_or(0),
            session: None,
            why: "every byte of the files can be read and rebuilt from the capture, as this tool does",
            fix: "use FTPS with PROT P, or SFTP (the SSH File Transfer Protocol, not FTP)",
            reference: "RFC 4217 §9",
        });
        }
    }
}

/// The findings one event shows by itself: a password in clear, a login that worked, a path
/// that climbs out.
fn event_findings(event: &Event, out: &mut Vec<FindingEvent>) {
    match event {
        Event::Credential(c) => {
            let anonymous =
                c.user.eq_ignore_ascii_case("anonymous") || c.user.eq_ignore_ascii_case("ftp");
            if c.password.is_some() && !anonymous && !c.decrypted_with_keylog {
                out.push(FindingEvent {
                frames: Vec::new(),
                filter: String::new(),
                        id: "cleartext-credentials",
                        severity: "high",
                        message: format!(
                            "user {:?} sent password {:?} in clear text",
                            c.user,
                            c.password.as_deref().unwrap_or_default()
                        ),
                        frame: c.frame,
                        session: Some(c.session),
                        why: "anyone who can see the traffic (same Wi-Fi, a switch port, a router) reads the password",
                        fix: "use FTPS (AUTH TLS) or SFTP (the SSH File Transfer Protocol, not FTP); disable plain FTP logins",
                        reference: "RFC 2577 §6, RFC 4217",
                    });
            }
            if c.accepted == Some(true) && (anonymous || !c.decrypted_with_keylog) {
                out.push(FindingEvent {
                frames: Vec::new(),
                filter: String::new(),
                        id: if anonymous { "anonymous-login" } else { "cleartext-login-success" },
                        severity: if anonymous { "medium" } else { "high" },
                        message: if anonymous {
                            format!("anonymous login accepted (user {:?})", c.user)
                        } else {
                            format!("login of {:?} accepted over clear text: the password works", c.user)
                        },
                        frame: c.frames.last().copied().unwrap_or(c.frame),
                        session: Some(c.session),
                        why: if anonymous {
                            "anyone can read (and maybe write) the files offered"
                        } else {
                            "the captured password is confirmed valid and can be replayed"
                        },
                        fix: if anonymous {
                            "disable anonymous access unless the files are public; never allow anonymous uploads"
                        } else {
                            "change the password and move to FTPS or SFTP"
                        },
                        reference: if anonymous { "RFC 1635" } else { "RFC 2577 §6, RFC 4217 §4" },
                    });
            }
        }
        Event::Command(cmd) => {
            if let Some(arg) = &cmd.arg
                && is_traversal(arg)
            {
                out.push(FindingEvent {
                    frames: Vec::new(),
                    filter: String::new(),
                    id: "path-traversal",
                    severity: "high",
                    message: format!("{} {:?} tries to leave the user's folder", cmd.command, arg),
                    frame: cmd.frame,
                    session: Some(cmd.session),
                    why: "a server that does not jail users hands out system files",
                    fix: "resolve paths inside a chroot/jail and refuse `..` that leaves it",
                    reference: "CWE-22",
                });
            }
        }
        _ => {}
    }
}

fn session_findings(s: &crate::ftp_session::Session, out: &mut Vec<FindingEvent>) {
    for (addr, frame) in &s.port_addresses {
        if addr.ip() != s.client.ip() {
            out.push(FindingEvent {
                frames: Vec::new(),
                filter: String::new(),
                id: "bounce-attack",
                severity: "high",
                message: format!("PORT/EPRT names {addr}, not the client's own address {}", s.client.ip()),
                frame: *frame,
                session: Some(s.id),
                why: "the server can be made to connect to a third host (FTP bounce: port scans, spoofed traffic)",
                fix: "servers must only connect to the client's own address",
                reference: "RFC 2577 §3",
            });
        } else if addr.port() < 1024 {
            out.push(FindingEvent {
                frames: Vec::new(),
                filter: String::new(),
                id: "privileged-port",
                severity: "medium",
                message: format!("PORT/EPRT names privileged port {}", addr.port()),
                frame: *frame,
                session: Some(s.id),
                why: "a data connection to a port below 1024 can reach a system service",
                fix: "servers should refuse PORT/EPRT to ports below 1024",
                reference: "RFC 2577 §3",
            });
        }
    }
    for theft in &s.passive_thefts {
        let outcome = if theft.bytes > 0 {
            format!(
                "{} byte(s) crossed it: that host got the file, or sent its own",
                theft.bytes
            )
        } else {
            "no data crossed it (the server refused the connection, or the capture misses it)"
                .to_owned()
        };
        out.push(FindingEvent {
            frames: vec![theft.announced, theft.opened],
            filter: String::new(),
            id: "pasv-theft",
            severity: if theft.bytes > 0 { "high" } else { "medium" },
            message: format!(
                "passive port {} (announced in frame {}) was connected to from {}, not from the \
                 client {} (frame {}); {outcome}",
                theft.listener,
                theft.announced,
                theft.connector,
                s.client.ip(),
                theft.opened
            ),
            frame: theft.opened,
            session: Some(s.id),
            why: "whoever connects to the announced port first gets the data connection: \
                  port stealing, easy when passive ports are predictable",
            fix: "servers must accept a passive data connection only from the control \
                  connection's client address, and pick passive ports at random",
            reference: "RFC 2577 §8",
        });
    }
    if let Some((banner, frame)) = &s.banner
        && discloses_version(banner)
    {
        out.push(FindingEvent {
            frames: Vec::new(),
            filter: String::new(),
            id: "banner-disclosure",
            severity: "low",
            message: format!(
                "greeting discloses software and version: {:?}",
                banner.lines().next().unwrap_or_default()
            ),
            frame: *frame,
            session: Some(s.id),
            why: "an attacker looks up known vulnerabilities of that exact version",
            fix: "configure a neutral greeting (vsftpd: ftpd_banner)",
            reference: "CWE-200",
        });
    }
    if let Some((lines, frame)) = &s.feat
        && !lines
            .iter()
            .any(|l| l.trim().to_ascii_uppercase().starts_with("AUTH"))
    {
        out.push(FindingEvent {
            frames: Vec::new(),
            filter: String::new(),
            id: "tls-not-offered",
            severity: "medium",
            message: "FEAT lists no AUTH: the server offers no TLS".to_owned(),
            frame: *frame,
            session: Some(s.id),
            why: "clients cannot protect credentials or files even if they want to",
            fix: "enable FTPS (AUTH TLS) on the server",
            reference: "RFC 4217 §6",
        });
    }
    if s.encrypted.is_none() {
        out.push(FindingEvent {
            frames: Vec::new(),
            filter: String::new(),
            id: "tls-not-used",
            severity: "medium",
            message: "the whole control connection is in clear text (no AUTH TLS)".to_owned(),
            frame: s.first_frame,
            session: Some(s.id),
            why: "commands, replies and passwords are readable by any eavesdropper",
            fix: "require AUTH TLS before USER",
            reference: "RFC 4217 §4",
        });
    }
    if let Some(frame) = s.prot_clear {
        out.push(FindingEvent {
            frames: Vec::new(),
            filter: String::new(),
            id: "prot-clear",
            severity: "medium",
            message: "PROT C after AUTH: file data still travels in clear text".to_owned(),
            frame,
            session: Some(s.id),
            why: "TLS protects the password but not the files",
            fix: "use PROT P and make the server require it",
            reference: "RFC 4217 §9",
        });
    }
}

/// Segments whose bytes differ from an earlier copy: one finding per file and per control
/// connection, naming the frames.
const CONFLICT_WHY: &str = "TCP receivers differ in which copy they keep, so what this \
    report (or an IDS) shows may not be what the receiver got: injection or a rewriting middlebox";

/// Transfers among `events` built from segments that contradicted each other.
fn conflicting_transfers(events: &[Event], out: &mut Vec<FindingEvent>) {
    for event in events {
        if let Event::Transfer(t) = event
            && let Some(&first) = t.conflicting_frames.first()
        {
            let what = match (&t.command, &t.name) {
                (Some(c), Some(n)) => format!("{c} {n}"),
                (Some(c), None) => c.clone(),
                _ => "a data connection".to_owned(),
            };
            out.push(FindingEvent {
                id: "conflicting-segments",
                severity: "high",
                message: format!(
                    "{} segment(s) of the data of {what} carry different bytes for data already \
                     seen; the first copy was kept and the file is not called complete",
                    t.conflicting_frames.len()
                ),
                frame: first,
                session: t.session,
                frames: t.conflicting_frames.clone(),
                filter: String::new(),
                why: CONFLICT_WHY,
                fix: "find who injects or rewrites traffic on the path; use FTPS, whose integrity \
                      check rejects altered bytes",
                reference: "RFC 9293 §3.10.7.4, RFC 4217",
            });
        }
    }
}

/// A control connection built from segments that contradicted each other.
fn conflicting_control(s: &crate::ftp_session::Session, out: &mut Vec<FindingEvent>) {
    {
        if let Some(&first) = s.conflicting_frames.first() {
            out.push(FindingEvent {
                id: "conflicting-segments",
                severity: "high",
                message: format!(
                    "{} segment(s) of the control connection carry different bytes for bytes \
                     already seen; the commands and replies shown are the first copy",
                    s.conflicting_frames.len()
                ),
                frame: first,
                session: Some(s.id),
                frames: s.conflicting_frames.clone(),
                filter: String::new(),
                why: CONFLICT_WHY,
                fix: "find who injects or rewrites traffic on the path; use FTPS (AUTH TLS)",
                reference: "RFC 9293 §3.10.7.4, RFC 4217",
            });
        }
    }
}

/// An argument that climbs out of the current folder or names well-known system files.
fn is_traversal(arg: &str) -> bool {
    let a = arg.replace('\\', "/");
    a.split('/').any(|part| part == "..")
        || ["/etc/passwd", "/etc/shadow", "/proc/self"]
            .iter()
            .any(|p| a.starts_with(p))
}

/// A banner naming software with a version number (`vsFTPd 3.0.3`, `pyftpdlib 1.5.7`).
fn discloses_version(banner: &str) -> bool {
    let lower = banner.to_ascii_lowercase();
    let names = [
        "vsftpd",
        "proftpd",
        "pure-ftpd",
        "pyftpdlib",
        "filezilla",
        "wu-ftpd",
        "ftp-server",
        "ftplab",
        "microsoft ftp",
    ];
    let named = names.iter().any(|n| lower.contains(n));
    let versioned = lower
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .any(|w| w.contains('.') && w.split('.').filter(|p| !p.is_empty()).count() >= 2);
    named && versioned
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::ftp_session::Ctx;
    use crate::reassembly::Chunk;

    /// `failures` failed logins from 127.0.0.1, one control connection each, to `server`.
    fn failed_logins(t: &mut Tracker, server: &str, failures: u16, frame: &mut u64) {
        for i in 0..failures {
            let client = format!("127.0.0.1:{}", 40000 + i).parse().unwrap();
            let mut ctx = || {
                *frame += 1;
                Ctx {
                    frame: *frame,
                    time: 0.0,
                }
            };
            let s = t.open_session(client, server.parse().unwrap(), "port", ctx());
            t.server_bytes(s, Chunk::Data(b"220 hi\r\n"), ctx());
            t.client_bytes(s, Chunk::Data(b"USER bob\r\n"), ctx());
            t.server_bytes(s, Chunk::Data(b"331 pw\r\n"), ctx());
            t.client_bytes(s, Chunk::Data(b"PASS guess\r\n"), ctx());
            t.server_bytes(s, Chunk::Data(b"530 no\r\n"), ctx());
        }
    }

    #[test]
    fn brute_force_is_counted_per_server() {
        let mut t = Tracker::new(None);
        let mut frame = 0;
        failed_logins(&mut t, "127.0.0.34:2121", 6, &mut frame);
        failed_logins(&mut t, "127.0.0.35:2121", 3, &mut frame);
        failed_logins(&mut t, "127.0.0.36:2121", 5, &mut frame);
        let brute: Vec<_> = find(&t)
            .into_iter()
            .filter(|f| f.id == "brute-force")
            .collect();
        let messages: Vec<&str> = brute.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "6 failed logins from 127.0.0.1 to 127.0.0.34:2121",
                "5 failed logins from 127.0.0.1 to 127.0.0.36:2121"
            ]
        );
        assert_eq!(brute[0].frames.len(), 6);
        assert_eq!(brute[0].frame, brute[0].frames[0]);
        assert!(
            brute[0].filter.starts_with("frame.number == "),
            "{}",
            brute[0].filter
        );
    }

    #[test]
    fn fixes_do_not_repeat_their_reference_and_sftp_is_not_rfc_4217() {
        let mut t = Tracker::new(None);
        let mut frame = 0;
        failed_logins(&mut t, "127.0.0.34:21", 1, &mut frame);
        let found = find(&t);
        assert!(!found.is_empty());
        for f in found {
            assert!(!f.fix.contains("RFC"), "{}: {}", f.id, f.fix);
            assert!(!f.reference.contains("2577 §7"), "{}", f.reference);
            assert!(!f.reference.contains("2577 §8"), "{}", f.reference);
        }
    }

    #[test]
    fn traversal_is_recognised_in_both_slash_styles() {
        assert!(is_traversal("../../etc/passwd"));
        assert!(is_traversal("a\\..\\b"));
        assert!(!is_traversal("notes..txt"));
    }

    #[test]
    fn versioned_banners_disclose() {
        assert!(discloses_version("(vsFTPd 3.0.3)"));
        assert!(discloses_version("pyftpdlib 1.5.7 ready."));
        assert!(!discloses_version("FTP server ready."));
    }
}
