//! Tables for people (comfy-table): sessions, credentials, conversation, transfers, findings,
//! warnings. Every row cites the Wireshark frame number.

use crate::Analysis;
use crate::event::Event;
use crate::stream::{BlockInfo, BlockKind, Report, Summary};
use comfy_table::{Attribute, Cell, Color, ContentArrangement, Table, presets};
use std::collections::BTreeMap;
use std::io::{self, Write};

/// Table options.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// Colours and bold headers (only on a terminal, never with `--no-color`/`NO_COLOR`).
    pub color: bool,
    /// One findings row per kind, with a count and the first frame (the live view, where a
    /// `tls-not-used` per session would bury the rest).
    pub group_findings: bool,
}

pub(super) fn table(style: Style, headers: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED);
    if style.color {
        t.enforce_styling();
        t.set_content_arrangement(ContentArrangement::Dynamic);
    } else {
        // Stable output for files and pipes: no colour, no wrapping to a terminal width.
        t.force_no_tty();
        t.set_content_arrangement(ContentArrangement::Disabled);
    }
    let header: Vec<Cell> = headers
        .iter()
        .map(|h| {
            let c = Cell::new(h);
            if style.color {
                c.add_attribute(Attribute::Bold)
            } else {
                c
            }
        })
        .collect();
    t.set_header(header);
    t
}

pub(super) fn colored(style: Style, text: impl ToString, color: Color) -> Cell {
    let c = Cell::new(text.to_string());
    if style.color { c.fg(color) } else { c }
}

fn severity_color(severity: &str) -> Color {
    match severity {
        "high" => Color::Red,
        "medium" => Color::Yellow,
        "low" => Color::Cyan,
        _ => Color::Reset,
    }
}

fn section(out: &mut impl Write, title: &str, t: &Table) -> io::Result<()> {
    writeln!(out, "{title}")?;
    writeln!(out, "{t}")?;
    writeln!(out)
}

/// Writes every table for one analysis.
pub fn write(out: &mut impl Write, analysis: &Analysis, style: Style) -> io::Result<()> {
    writeln!(out, "{}: {} frames", analysis.name, analysis.frames)?;
    writeln!(out)?;
    let events = &analysis.events;
    section(out, "Sessions", &sessions(events, style))?;
    if let Some(t) = super::tls::handshakes(events, style) {
        section(out, "TLS", &t)?;
    }
    if let Some(t) = wireshark_hints(events, style) {
        decode_as_section(out, &t)?;
    }
    section(out, "Credentials", &credentials(events, style))?;
    let conversation = conversation(events, analysis.first_time, style);
    section(out, "Conversation", &conversation)?;
    section(out, "Transfers", &transfers(events, style))?;
    if let Some(t) = resumed_downloads(events, style) {
        section(out, "Resumed downloads (REST)", &t)?;
    }
    if style.group_findings {
        section(
            out,
            "Findings (grouped by kind)",
            &grouped_findings(events, style),
        )?;
    } else {
        section(out, "Findings", &findings(events, style))?;
    }
    if let Some(t) = warnings(events, style) {
        section(out, "Warnings", &t)?;
    }
    Ok(())
}

/// Tables written block by block as the streaming reader hands them over: each session's
/// tables when it is over, then the events of no session and a summary.
pub struct Streaming<'w, W: Write> {
    out: &'w mut W,
    style: Style,
    started: bool,
}

impl<'w, W: Write> Streaming<'w, W> {
    /// Tables to `out`.
    pub fn new(out: &'w mut W, style: Style) -> Self {
        Streaming {
            out,
            style,
            started: false,
        }
    }
}

impl<W: Write> Report for Streaming<'_, W> {
    fn block(&mut self, info: &BlockInfo<'_>, events: &[Event]) -> io::Result<()> {
        let (out, style) = (&mut *self.out, self.style);
        if !self.started {
            writeln!(out, "{}", info.name)?;
            writeln!(out)?;
            self.started = true;
        }
        let title = match info.kind {
            BlockKind::Session(n) => format!("Session {n}"),
            BlockKind::SessionPart(n) => format!("Session {n} so far (it goes on below)"),
            BlockKind::Other => "Not in any session".to_owned(),
        };
        writeln!(out, "━━ {title} ━━")?;
        writeln!(out)?;
        if events.iter().any(|e| matches!(e, Event::Session(_))) {
            section(out, "Sessions", &sessions(events, style))?;
        }
        if let Some(t) = super::tls::handshakes(events, style) {
            section(out, "TLS", &t)?;
        }
        let tables = [
            ("Credentials", credentials(events, style)),
            ("Conversation", conversation(events, info.first_time, style)),
            ("Transfers", transfers(events, style)),
        ];
        for (title, t) in &tables {
            if t.row_count() > 0 {
                section(out, title, t)?;
            }
        }
        if let Some(t) = resumed_downloads(events, style) {
            section(out, "Resumed downloads (REST)", &t)?;
        }
        let t = findings(events, style);
        if t.row_count() > 0 {
            section(out, "Findings", &t)?;
        }
        if let Some(t) = warnings(events, style) {
            section(out, "Warnings", &t)?;
        }
        Ok(())
    }

    fn summary(&mut self, summary: &Summary) -> io::Result<()> {
        let (out, style) = (&mut *self.out, self.style);
        if !self.started {
            writeln!(out, "{}", summary.name)?;
            writeln!(out)?;
        }
        writeln!(out, "━━ Summary ━━")?;
        writeln!(out)?;
        writeln!(out, "{}: {} frames", summary.name, summary.frames)?;
        let [ok, refused, unknown] = summary.logins;
        writeln!(
            out,
            "{} session(s), {} with TLS; {} command(s), {} reply(ies); logins: {ok} accepted, \
             {refused} refused, {unknown} without a reply; {} transfer(s); {} warning(s)",
            summary.sessions,
            summary.tls_sessions,
            summary.commands,
            summary.replies,
            summary.transfers,
            summary.warnings_total,
        )?;
        writeln!(out)?;
        if !summary.ports.is_empty() {
            let t = decode_as_table(
                style,
                summary.ports.iter().map(|(port, list, count)| {
                    let mut shown: Vec<String> = list.iter().map(usize::to_string).collect();
                    if *count > list.len() as u64 {
                        shown.push(format!("… ({count} in all)"));
                    }
                    (*port, shown.join(", "))
                }),
            );
            decode_as_section(out, &t)?;
        }
        let mut t = table(
            style,
            &[
                "severity",
                "finding",
                "count",
                "first frames",
                "what (first)",
                "fix (reference)",
            ],
        );
        for (id, g) in &summary.findings {
            let Some(f) = g.examples.first() else {
                continue;
            };
            let mut frames: Vec<String> = g.examples.iter().map(|e| e.frame.to_string()).collect();
            if g.count > g.examples.len() as u64 {
                frames.push("…".to_owned());
            }
            t.add_row(vec![
                colored(style, f.severity, severity_color(f.severity)),
                Cell::new(id),
                Cell::new(g.count),
                Cell::new(frames.join(", ")),
                Cell::new(&f.message),
                Cell::new(format!("{} ({})", f.fix, f.reference)),
            ]);
        }
        section(out, "Findings (grouped by kind)", &t)?;
        for note in &summary.notes {
            writeln!(out, "note: {note}")?;
        }
        Ok(())
    }
}

/// One row per session, with what happened in it.
fn sessions(events: &[Event], style: Style) -> Table {
    #[derive(Default)]
    struct Row {
        frame: u64,
        client: String,
        server: String,
        found_by: &'static str,
        users: Vec<String>,
        ok: u32,
        failed: u32,
        commands: u32,
        transfers: u32,
        tls: bool,
    }
    let mut rows: BTreeMap<usize, Row> = BTreeMap::new();
    for e in events {
        match e {
            Event::Session(s) => {
                let r = rows.entry(s.session).or_default();
                r.frame = s.frame;
                r.client = s.client.clone();
                r.server = s.server.clone();
                r.found_by = s.found_by;
            }
            Event::Command(c) => rows.entry(c.session).or_default().commands += 1,
            Event::Credential(c) => {
                let r = rows.entry(c.session).or_default();
                match c.accepted {
                    Some(true) => {
                        r.ok += 1;
                        r.users.push(c.user.clone());
                    }
                    Some(false) => r.failed += 1,
                    None => {}
                }
            }
            Event::Transfer(t) => {
                if let Some(s) = t.session {
                    rows.entry(s).or_default().transfers += 1;
                }
            }
            Event::Tls(t) => rows.entry(t.session).or_default().tls = true,
            _ => {}
        }
    }
    let mut t = table(
        style,
        &[
            "session",
            "frame",
            "client",
            "server",
            "found by",
            "logged in as",
            "logins ok/failed",
            "commands",
            "transfers",
            "TLS",
        ],
    );
    for (id, r) in &rows {
        t.add_row(vec![
            Cell::new(id),
            Cell::new(r.frame),
            Cell::new(&r.client),
            Cell::new(&r.server),
            Cell::new(r.found_by),
            Cell::new(r.users.join(", ")),
            Cell::new(format!("{}/{}", r.ok, r.failed)),
            Cell::new(r.commands),
            Cell::new(r.transfers),
            if r.tls {
                colored(style, "yes (234)", Color::Green)
            } else {
                colored(style, "no", Color::Red)
            },
        ]);
    }
    t
}

/// One row per login attempt, password in clear.
fn credentials(events: &[Event], style: Style) -> Table {
    let mut t = table(
        style,
        &[
            "session",
            "frame",
            "user",
            "password",
            "accepted",
            "Wireshark filter",
        ],
    );
    for e in events {
        if let Event::Credential(c) = e {
            let accepted = match c.accepted {
                Some(true) => colored(style, "yes", Color::Red),
                Some(false) => colored(style, "no", Color::Yellow),
                None => Cell::new("?"),
            };
            t.add_row(vec![
                Cell::new(c.session),
                Cell::new(c.frame),
                Cell::new(&c.user),
                colored(
                    style,
                    match (c.password.as_deref(), c.decrypted_with_keylog) {
                        (Some(p), true) => format!("{p} (decrypted with key log)"),
                        (p, _) => p.unwrap_or("(none)").to_owned(),
                    },
                    Color::Red,
                ),
                accepted,
                Cell::new(&c.filter),
            ]);
        }
    }
    t
}

/// Commands and replies in frame order, times relative to the first frame.
fn conversation(events: &[Event], first_time: f64, style: Style) -> Table {
    let mut t = table(
        style,
        &[
            "frame",
            "time",
            "session",
            "dir",
            "command or reply",
            "meaning",
        ],
    );
    for e in events {
        let (frame, time, session, dir, text, meaning) = match e {
            Event::Command(c) => (
                c.frame,
                Some(c.time),
                c.session,
                if c.decrypted_with_keylog {
                    "C→S (key log)"
                } else {
                    "C→S"
                },
                match &c.arg {
                    Some(a) => format!("{} {a}", c.command),
                    None => c.command.clone(),
                },
                String::new(),
            ),
            Event::Reply(r) => (
                r.frame,
                Some(r.time),
                r.session,
                if r.decrypted_with_keylog {
                    "S→C (key log)"
                } else {
                    "S→C"
                },
                format!("{} {}", r.code, r.text),
                r.meaning.unwrap_or_default().to_owned(),
            ),
            Event::Tls(x) => (
                x.frame,
                // A note on the 234's frame, not a line of its own: its time is the 234's.
                None,
                x.session,
                "",
                format!("(AUTH {} accepted: the rest is encrypted)", x.mechanism),
                String::new(),
            ),
            _ => continue,
        };
        let time = match time {
            Some(time) if time > 0.0 => format!("{:.6}", time - first_time),
            Some(_) => format!("{:.6}", 0.0),
            None => String::new(),
        };
        t.add_row(vec![
            Cell::new(frame),
            Cell::new(time),
            Cell::new(session),
            Cell::new(dir),
            Cell::new(text),
            Cell::new(meaning),
        ]);
    }
    t
}

/// One row per data connection.
fn transfers(events: &[Event], style: Style) -> Table {
    let mut t = table(
        style,
        &[
            "frame",
            "session",
            "command",
            "name",
            "direction",
            "mode",
            "bytes",
            "sha256",
            "complete",
        ],
    );
    for e in events {
        if let Event::Transfer(x) = e {
            let complete = if x.refused {
                colored(
                    style,
                    format!("refused ({})", x.reply.unwrap_or_default()),
                    Color::Yellow,
                )
            } else if x.complete {
                colored(style, "yes", Color::Green)
            } else {
                colored(
                    style,
                    format!("no: {}", x.incomplete_reason.as_deref().unwrap_or_default()),
                    Color::Yellow,
                )
            };
            let notes = super::tls::transfer_notes(x);
            let direction = if x.guessed {
                format!("{} (guessed)", x.direction)
            } else {
                x.direction.to_owned()
            };
            t.add_row(vec![
                Cell::new(x.frame),
                Cell::new(
                    x.session
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "-".into()),
                ),
                Cell::new(x.command.as_deref().unwrap_or("-")),
                Cell::new(x.name.as_deref().unwrap_or("-")),
                Cell::new(direction),
                Cell::new(format!(
                    "{}{}",
                    x.mode.unwrap_or("-"),
                    notes.as_ref().map(|n| n.1.as_str()).unwrap_or_default()
                )),
                Cell::new(match notes.as_ref().and_then(|n| n.0.clone()) {
                    Some(encrypted) => encrypted,
                    None => x.bytes.to_string(),
                }),
                Cell::new(
                    x.sha256.as_deref().unwrap_or(if x.refused {
                        "- (no file)"
                    } else if x
                        .tls
                        .is_some_and(|t| t.encrypted && !t.decrypted_with_keylog)
                    {
                        "- (encrypted)"
                    } else {
                        "- (bytes missing)"
                    }),
                ),
                complete,
            ]);
        }
    }
    t
}

/// Downloads resumed with REST, put together; `None` when there were none.
fn resumed_downloads(events: &[Event], style: Style) -> Option<Table> {
    let stitched: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::Stitched(x) => Some(x),
            _ => None,
        })
        .collect();
    if stitched.is_empty() {
        return None;
    }
    let mut t = table(
        style,
        &[
            "frame",
            "name",
            "parts (frames)",
            "size",
            "missing [offset, length]",
            "sha256",
        ],
    );
    for x in stitched {
        let parts: Vec<String> = x.parts.iter().map(u64::to_string).collect();
        let missing: Vec<String> = x
            .missing
            .iter()
            .map(|[o, l]| format!("[{o}, {l}]"))
            .collect();
        t.add_row(vec![
            Cell::new(x.frame),
            Cell::new(&x.name),
            Cell::new(parts.join(", ")),
            Cell::new(x.size.map(|s| s.to_string()).unwrap_or_else(|| "?".into())),
            if missing.is_empty() {
                colored(style, "nothing: complete", Color::Green)
            } else {
                colored(style, missing.join(" "), Color::Yellow)
            },
            Cell::new(x.sha256.as_deref().unwrap_or("-")),
        ]);
    }
    Some(t)
}

/// The security findings.
fn findings(events: &[Event], style: Style) -> Table {
    let mut t = table(
        style,
        &[
            "severity",
            "finding",
            "frame",
            "session",
            "what",
            "fix (reference)",
        ],
    );
    for e in events {
        if let Event::Finding(f) = e {
            t.add_row(vec![
                colored(style, f.severity, severity_color(f.severity)),
                Cell::new(f.id),
                Cell::new(f.frame),
                Cell::new(
                    f.session
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| "-".into()),
                ),
                Cell::new(&f.message),
                Cell::new(format!("{} ({})", f.fix, f.reference)),
            ]);
        }
    }
    t
}

/// Findings, one row per kind: how many, the first frame, the first message.
fn grouped_findings(events: &[Event], style: Style) -> Table {
    let mut t = table(
        style,
        &[
            "severity",
            "finding",
            "count",
            "first frame",
            "what (first)",
            "fix (reference)",
        ],
    );
    let mut groups: Vec<(&crate::event::FindingEvent, usize)> = Vec::new();
    for e in events {
        if let Event::Finding(f) = e {
            match groups.iter_mut().find(|(g, _)| g.id == f.id) {
                Some((_, n)) => *n += 1,
                None => groups.push((f, 1)),
            }
        }
    }
    for (f, n) in groups {
        t.add_row(vec![
            colored(style, f.severity, severity_color(f.severity)),
            Cell::new(f.id),
            Cell::new(n),
            Cell::new(f.frame),
            Cell::new(&f.message),
            Cell::new(format!("{} ({})", f.fix, f.reference)),
        ]);
    }
    t
}

/// The Decode As table with what it is for: Wireshark names FTP by itself only on port 21.
fn decode_as_section(out: &mut impl Write, t: &Table) -> io::Result<()> {
    writeln!(
        out,
        "Wireshark shows FTP by itself only on port 21; for these servers use Decode As:"
    )?;
    writeln!(out, "{t}")?;
    writeln!(
        out,
        "Data connections are labelled FTP-DATA only where Wireshark decoded the PORT or \
         PASV exchange that announced them, so only with this Decode As."
    )?;
    writeln!(out)
}

/// How to see the sessions in Wireshark: one Decode As hint per server port that is not 21,
/// and what that means for data connections; `None` when every server is on port 21.
fn wireshark_hints(events: &[Event], style: Style) -> Option<Table> {
    let mut ports: Vec<(u16, Vec<usize>)> = Vec::new();
    for e in events {
        if let Event::Session(s) = e
            && s.decode_as.is_some()
            && let Some(port) = s
                .server
                .rsplit_once(':')
                .and_then(|(_, p)| p.parse::<u16>().ok())
        {
            match ports.iter_mut().find(|(p, _)| *p == port) {
                Some((_, sessions)) => sessions.push(s.session),
                None => ports.push((port, vec![s.session])),
            }
        }
    }
    if ports.is_empty() {
        return None;
    }
    Some(decode_as_table(
        style,
        ports.into_iter().map(|(port, sessions)| {
            let list: Vec<String> = sessions.iter().map(usize::to_string).collect();
            (port, list.join(", "))
        }),
    ))
}

/// One row per server port: its sessions (as shown), tshark's `-d` and Wireshark's menu path.
fn decode_as_table(style: Style, ports: impl Iterator<Item = (u16, String)>) -> Table {
    let mut t = table(
        style,
        &[
            "FTP server port (not 21)",
            "sessions",
            "tshark",
            "Wireshark (Decode As)",
        ],
    );
    for (port, sessions) in ports {
        t.add_row(vec![
            Cell::new(port),
            Cell::new(sessions),
            Cell::new(format!("-d tcp.port=={port},ftp")),
            Cell::new(format!("Analyze ▸ Decode As… ▸ TCP port {port} ▸ FTP")),
        ]);
    }
    t
}

/// What could not be read; `None` when everything could.
fn warnings(events: &[Event], style: Style) -> Option<Table> {
    let warnings: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::Warning(w) => Some(w),
            _ => None,
        })
        .collect();
    if warnings.is_empty() {
        return None;
    }
    let mut t = table(style, &["frame", "warning"]);
    for w in warnings {
        t.add_row(vec![
            Cell::new(w.frame),
            colored(style, &w.message, Color::Yellow),
        ]);
    }
    Some(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::FindingEvent;

    fn finding(id: &'static str, frame: u64) -> Event {
        Event::Finding(Box::new(FindingEvent {
            id,
            severity: "medium",
            message: format!("{id} at {frame}"),
            frame,
            session: Some(1),
            frames: vec![frame],
            filter: crate::report::frame_filter(&[frame]),
            why: "",
            fix: "fix",
            reference: "RFC 4217 §4",
        }))
    }

    #[test]
    fn grouped_findings_give_one_row_per_kind_with_count_and_first_frame() {
        let mut events: Vec<Event> = (1..=20).map(|i| finding("tls-not-used", i * 10)).collect();
        events.push(finding("brute-force", 43));
        let style = Style {
            color: false,
            group_findings: true,
        };
        let text = grouped_findings(&events, style).to_string();
        let rows: Vec<&str> = text.lines().filter(|l| l.contains("┆")).collect();
        // Header, then one row per kind.
        assert_eq!(rows.len(), 3, "{text}");
        assert!(
            rows[1].contains("tls-not-used")
                && rows[1].contains(" 20 ")
                && rows[1].contains(" 10 "),
            "{text}"
        );
        assert!(
            rows[2].contains("brute-force") && rows[2].contains(" 1 "),
            "{text}"
        );
    }
}
