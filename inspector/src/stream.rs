//! The event flow of `inspector read`: events leave the tracker as soon as they are final,
//! session by session, and only a bounded [`Summary`] stays for the end.
//!
//! A session's events (commands, replies, logins, transfers) are held until its control
//! connection has ended and none of its data connections is still open; then its findings are
//! computed, the block is sorted by frame and handed to the [`Report`], and the session is
//! dropped from the tracker. What spans sessions (`brute-force`, `cleartext-data`, downloads
//! resumed with REST) is gathered in bounded form and reported at the end, with the events of
//! no session (data connections whose control connection is not captured, warnings).

use crate::event::{Event, FindingEvent, WarningEvent};
use crate::findings::{self, Global};
use crate::ftp_session::Tracker;
use std::collections::HashMap;
use std::io;

/// Events of one session held at most before a part of them is written (a control connection
/// that never ends, with a million commands, must not hold them all).
pub const SESSION_EVENTS_HELD: usize = 10_000;
/// Events of no session held before they are written.
pub const OTHER_EVENTS_HELD: usize = 1_000;
/// Parts of downloads kept for REST stitching (incomplete or resumed ones only).
pub const STITCH_PARTS_KEPT: usize = 10_000;
/// Examples kept per finding kind.
pub const EXAMPLES_KEPT: usize = 5;
/// Warnings kept for the summary and stderr (all are written as events).
pub const WARNINGS_KEPT: usize = 100;
/// Different warning messages kept (each with its count and first and last frame); past it,
/// further messages are only counted.
pub const WARNING_GROUPS_KEPT: usize = 1_000;
/// Session numbers listed per server port in the Decode As hints.
pub const SESSIONS_LISTED_PER_PORT: usize = 20;

/// What a block of events is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    /// Every event of one session, its findings included.
    Session(usize),
    /// The events of one session so far (it is still going on: more blocks of it follow).
    SessionPart(usize),
    /// Events that belong to no session: data connections whose control connection is not
    /// captured, warnings, and at the end the findings that span sessions and stitched
    /// downloads.
    Other,
}

/// Where the streaming reader writes.
pub trait Report {
    /// A block of events, sorted by frame.
    fn block(&mut self, info: &BlockInfo<'_>, events: &[Event]) -> io::Result<()>;
    /// The end of the capture.
    fn summary(&mut self, summary: &Summary) -> io::Result<()>;
}

/// About a block: the capture and what the block holds.
#[derive(Debug, Clone, Copy)]
pub struct BlockInfo<'a> {
    /// The capture's name.
    pub name: &'a str,
    /// Timestamp of the capture's first frame (times in tables are relative to it).
    pub first_time: f64,
    /// What the block is.
    pub kind: BlockKind,
}

/// One kind of finding, counted, with its first examples.
#[derive(Debug, Clone)]
pub struct FindingGroup {
    /// The first finding of this kind.
    pub examples: Vec<FindingEvent>,
    /// How many there were.
    pub count: u64,
}

/// What stays at the end of a streamed capture: counters and the first examples, never a list
/// that grows with the capture.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// The capture's name.
    pub name: String,
    /// Frames read.
    pub frames: u64,
    /// Frames or records that could not be used.
    pub skipped: u64,
    /// Sessions (control connections).
    pub sessions: u64,
    /// Sessions that switched to TLS.
    pub tls_sessions: u64,
    /// Commands and replies.
    pub commands: u64,
    /// Replies.
    pub replies: u64,
    /// Logins accepted, refused, and without a reply.
    pub logins: [u64; 3],
    /// Transfers (data connections), refused ones included.
    pub transfers: u64,
    /// Findings by kind, in order of first appearance.
    pub findings: Vec<(&'static str, FindingGroup)>,
    /// Server ports other than 21: the first session numbers on each, and how many.
    pub ports: Vec<(u16, Vec<usize>, u64)>,
    /// The first warnings.
    pub warnings: Vec<WarningEvent>,
    /// How many warnings there were.
    pub warnings_total: u64,
    /// Where a limit dropped detail, in words.
    pub notes: Vec<String>,
}

impl Summary {
    /// True when anything was skipped (JSON.md: exit code 1).
    pub fn something_skipped(&self) -> bool {
        self.skipped > 0 || self.warnings_total > 0
    }

    fn observe(&mut self, event: &Event) {
        match event {
            Event::Session(s) => {
                self.sessions += 1;
                if s.decode_as.is_some()
                    && let Some(port) = s
                        .server
                        .rsplit_once(':')
                        .and_then(|(_, p)| p.parse::<u16>().ok())
                {
                    match self.ports.iter_mut().find(|(p, _, _)| *p == port) {
                        Some((_, list, n)) => {
                            *n += 1;
                            if list.len() < SESSIONS_LISTED_PER_PORT {
                                list.push(s.session);
                            }
                        }
                        None => self.ports.push((port, vec![s.session], 1)),
                    }
                }
            }
            Event::Command(_) => self.commands += 1,
            Event::Reply(_) => self.replies += 1,
            Event::Credential(c) => match c.accepted {
                Some(true) => self.logins[0] += 1,
                Some(false) => self.logins[1] += 1,
                None => self.logins[2] += 1,
            },
            Event::Tls(_) => self.tls_sessions += 1,
            Event::Transfer(_) => self.transfers += 1,
            Event::Finding(f) => match self.findings.iter_mut().find(|(id, _)| *id == f.id) {
                Some((_, g)) => {
                    g.count += 1;
                    if g.examples.len() < EXAMPLES_KEPT {
                        g.examples.push((**f).clone());
                    }
                }
                None => self.findings.push((
                    f.id,
                    FindingGroup {
                        examples: vec![(**f).clone()],
                        count: 1,
                    },
                )),
            },
            Event::Warning(w) => {
                self.warnings_total += w.count.max(1);
                if self.warnings.len() < WARNINGS_KEPT {
                    self.warnings.push(w.clone());
                }
            }
            Event::TlsHandshake(_) | Event::Stitched(_) => {}
        }
    }
}

/// The session (index) an event from the tracker belongs to.
fn session_of(event: &Event) -> Option<usize> {
    let id = match event {
        Event::Session(e) => e.session,
        Event::Command(e) => e.session,
        Event::Reply(e) => e.session,
        Event::Credential(e) => e.session,
        Event::Tls(e) => e.session,
        Event::TlsHandshake(e) => e.session,
        Event::Transfer(e) => e.session?,
        Event::Stitched(_) | Event::Finding(_) | Event::Warning(_) => return None,
    };
    id.checked_sub(1)
}

/// Orders events by frame; events of one frame keep the order they came in.
pub fn sort_by_frame(events: &mut [Event]) {
    events.sort_by_key(Event::frame);
}

/// Takes the tracker's events as they come and writes them through a [`Report`].
pub struct Streamer<'r> {
    report: &'r mut dyn Report,
    /// Timestamp of the first frame.
    pub first_time: f64,
    /// Events held per session (by index) until it is over.
    held: HashMap<usize, Vec<Event>>,
    /// Sessions whose control connection ended, waiting for their data connections.
    closing: Vec<usize>,
    /// Events of no session not written yet.
    other: Vec<Event>,
    global: Global,
    /// Download parts kept for stitching, with their server.
    parts: Vec<(String, Event)>,
    /// Parts not kept (past [`STITCH_PARTS_KEPT`]).
    parts_dropped: u64,
    summary: Summary,
    /// Warnings by message, grouped as they come, written at the end.
    warnings: Vec<WarningEvent>,
    warning_index: HashMap<String, usize>,
    /// Warnings whose message was not kept (past [`WARNING_GROUPS_KEPT`]).
    warnings_dropped: u64,
    /// The first write error: the rest is not written.
    error: Option<io::Error>,
}

impl<'r> Streamer<'r> {
    /// A streamer for the capture `name`, writing to `report`.
    pub fn new(name: &str, report: &'r mut dyn Report) -> Streamer<'r> {
        Streamer {
            report,
            first_time: 0.0,
            held: HashMap::new(),
            closing: Vec::new(),
            other: Vec::new(),
            global: Global::default(),
            parts: Vec::new(),
            parts_dropped: 0,
            warnings: Vec::new(),
            warning_index: HashMap::new(),
            warnings_dropped: 0,
            summary: Summary {
                name: name.to_owned(),
                ..Summary::default()
            },
            error: None,
        }
    }

    fn write(&mut self, kind: BlockKind, events: &[Event]) {
        if self.error.is_some() || events.is_empty() {
            return;
        }
        let info = BlockInfo {
            name: &self.summary.name,
            first_time: self.first_time,
            kind,
        };
        if let Err(e) = self.report.block(&info, events) {
            self.error = Some(e);
        }
    }

    /// A warning (of the reader, or of the tracker): grouped with the others of the same
    /// message, all written at the end.
    pub fn warn(&mut self, w: WarningEvent) {
        if let Some(group) = self
            .warning_index
            .get(&w.message)
            .copied()
            .and_then(|i| self.warnings.get_mut(i))
        {
            group.count += w.count;
            group.frame = group.frame.min(w.frame);
            group.last_frame = group.last_frame.max(w.last_frame);
        } else if self.warnings.len() < WARNING_GROUPS_KEPT {
            self.warning_index
                .insert(w.message.clone(), self.warnings.len());
            self.warnings.push(w);
        } else {
            self.warnings_dropped += w.count.max(1);
        }
    }

    fn push_other(&mut self, event: Event) {
        if let Event::Warning(w) = event {
            self.warn(w);
            return;
        }
        if let Event::Transfer(_) = &event {
            for f in findings::find_for_events(std::slice::from_ref(&event)) {
                let f = Event::Finding(Box::new(f));
                self.summary.observe(&f);
                self.other.push(f);
            }
        }
        self.summary.observe(&event);
        self.other.push(event);
        if self.other.len() >= OTHER_EVENTS_HELD {
            self.flush_other();
        }
    }

    fn flush_other(&mut self) {
        let mut other = std::mem::take(&mut self.other);
        sort_by_frame(&mut other);
        self.write(BlockKind::Other, &other);
    }

    /// Takes the tracker's new events; writes and drops the sessions that are over.
    pub fn after_frame(&mut self, tracker: &mut Tracker) {
        self.take_events(tracker);
        if !tracker.ended.is_empty() {
            self.closing.append(&mut tracker.ended);
        }
        if self.closing.is_empty() {
            return;
        }
        let mut waiting = Vec::new();
        for s in std::mem::take(&mut self.closing) {
            if tracker.data_open(s) {
                waiting.push(s);
            } else {
                self.end_session(tracker, s);
            }
        }
        self.closing = waiting;
        tracker.drop_orphans();
    }

    fn take_events(&mut self, tracker: &mut Tracker) {
        if tracker.events.is_empty() {
            return;
        }
        let events = std::mem::take(&mut tracker.events);
        for event in events {
            self.global.observe(tracker, &event);
            self.keep_part(tracker, &event);
            match session_of(&event).filter(|s| tracker.sessions.get(*s).is_some()) {
                Some(s) => {
                    self.summary.observe(&event);
                    let held = self.held.entry(s).or_default();
                    held.push(event);
                    if held.len() >= SESSION_EVENTS_HELD {
                        let mut part = std::mem::take(held);
                        sort_by_frame(&mut part);
                        self.write(BlockKind::SessionPart(s + 1), &part);
                    }
                }
                None => self.push_other(event),
            }
        }
    }

    /// Keeps a download that may be a part of a file resumed with REST: one that is
    /// incomplete or starts past 0 (a complete download from 0 needs no stitching).
    fn keep_part(&mut self, tracker: &Tracker, event: &Event) {
        let Event::Transfer(t) = event else {
            return;
        };
        if t.direction != "download"
            || t.name.is_none()
            || (t.complete && t.rest.is_none_or(|r| r == 0))
        {
            return;
        }
        let Some(server) = t
            .session
            .and_then(|id| tracker.sessions.get(id.wrapping_sub(1)))
            .map(|s| s.server.to_string())
        else {
            return;
        };
        if self.parts.len() < STITCH_PARTS_KEPT {
            self.parts.push((server, event.clone()));
        } else {
            self.parts_dropped += 1;
        }
    }

    fn end_session(&mut self, tracker: &mut Tracker, s: usize) {
        if tracker.sessions.get(s).is_none() {
            return;
        }
        tracker.end_session(s);
        self.take_events(tracker);
        let mut events = self.held.remove(&s).unwrap_or_default();
        for f in findings::find_for_session(tracker, s, &events) {
            let f = Event::Finding(Box::new(f));
            self.summary.observe(&f);
            events.push(f);
        }
        sort_by_frame(&mut events);
        self.write(BlockKind::Session(s + 1), &events);
        tracker.drop_session(s);
    }

    /// The end of the capture: every session still held, the events of no session, the
    /// findings that span sessions and the stitched downloads, then the summary. Returns the
    /// summary, or the first error writing the report.
    pub fn finish(
        mut self,
        tracker: &mut Tracker,
        frames: u64,
        skipped: u64,
        capture_findings: Vec<FindingEvent>,
    ) -> io::Result<Summary> {
        // The flows are closed: every control connection has ended.
        self.after_frame(tracker);
        let mut left: Vec<usize> = self.held.keys().copied().collect();
        left.sort_unstable();
        for s in left {
            self.end_session(tracker, s);
        }
        tracker.finish();
        self.take_events(tracker);
        let global = std::mem::take(&mut self.global);
        for f in findings::find_global(tracker, global)
            .into_iter()
            .chain(capture_findings)
        {
            self.push_other(Event::Finding(Box::new(f)));
        }
        let extract = tracker.take_extract();
        if self.parts_dropped > 0 {
            self.summary.notes.push(format!(
                "REST stitching looked at the first {STITCH_PARTS_KEPT} incomplete or resumed \
                 downloads; {} more were not considered",
                self.parts_dropped
            ));
        }
        let parts = std::mem::take(&mut self.parts);
        let servers: HashMap<usize, String> = parts
            .iter()
            .filter_map(|(server, e)| match e {
                Event::Transfer(t) => Some((t.session?, server.clone())),
                _ => None,
            })
            .collect();
        let events: Vec<Event> = parts.into_iter().map(|(_, e)| e).collect();
        let stitched = crate::stitch::stitch(
            &events,
            |id| servers.get(&id).cloned(),
            extract
                .as_deref()
                .and_then(crate::extract::ExtractSink::folder),
        );
        for s in stitched {
            self.push_other(Event::Stitched(Box::new(s)));
        }
        for w in crate::group_warnings(std::mem::take(&mut self.warnings)) {
            let w = Event::Warning(w);
            self.summary.observe(&w);
            self.other.push(w);
        }
        if self.warnings_dropped > 0 {
            self.summary.warnings_total += self.warnings_dropped;
            self.summary.notes.push(format!(
                "{} more warning(s) with other messages than the first {WARNING_GROUPS_KEPT} \
                 were counted but not listed",
                self.warnings_dropped
            ));
        }
        self.flush_other();
        self.summary.frames = frames;
        self.summary.skipped = skipped;
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.report.summary(&self.summary)?;
        Ok(self.summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ftp_session::{ConnectionRole, Ctx};
    use crate::reassembly::Chunk;

    /// Keeps what it is given.
    #[derive(Default)]
    struct Collect {
        blocks: Vec<(BlockKind, Vec<Event>)>,
        summaries: u32,
    }

    impl Report for Collect {
        fn block(&mut self, info: &BlockInfo<'_>, events: &[Event]) -> io::Result<()> {
            self.blocks.push((info.kind, events.to_vec()));
            Ok(())
        }
        fn summary(&mut self, _summary: &Summary) -> io::Result<()> {
            self.summaries += 1;
            Ok(())
        }
    }

    fn ctx(frame: &mut u64) -> Ctx {
        *frame += 1;
        Ctx {
            frame: *frame,
            time: 0.0,
        }
    }

    fn login(t: &mut Tracker, port: u16, frame: &mut u64) -> usize {
        let client = format!("10.0.0.2:{port}").parse().unwrap();
        let s = t.open_session(client, "10.0.0.1:21".parse().unwrap(), "port", ctx(frame));
        t.server_bytes(s, Chunk::Data(b"220 hi\r\n"), ctx(frame));
        t.client_bytes(s, Chunk::Data(b"USER bob\r\n"), ctx(frame));
        t.server_bytes(s, Chunk::Data(b"331 pw\r\n"), ctx(frame));
        t.client_bytes(s, Chunk::Data(b"PASS secret\r\n"), ctx(frame));
        t.server_bytes(s, Chunk::Data(b"230 ok\r\n"), ctx(frame));
        s
    }

    fn end(t: &mut Tracker, s: usize) {
        let role = ConnectionRole::Control {
            session: s,
            client_dir: 0,
        };
        t.closed(role, false, [true, true]);
    }

    #[test]
    fn a_session_is_written_when_it_ends_and_then_dropped() {
        let mut t = Tracker::new(None);
        let mut report = Collect::default();
        let mut streamer = Streamer::new("x.pcap", &mut report);
        let mut frame = 0;
        let first = login(&mut t, 40000, &mut frame);
        let second = login(&mut t, 40001, &mut frame);
        streamer.after_frame(&mut t);
        end(&mut t, second);
        streamer.after_frame(&mut t);
        // The second session is over: written and dropped; the first is still held.
        assert!(t.sessions.get(second).is_none());
        assert!(t.sessions.get(first).is_some());
        end(&mut t, first);
        let summary = streamer.finish(&mut t, frame, 0, Vec::new()).unwrap();
        assert_eq!(t.sessions.live(), 0);
        assert_eq!(summary.sessions, 2);
        assert_eq!(summary.logins, [2, 0, 0]);
        let kinds: Vec<BlockKind> = report.blocks.iter().map(|b| b.0).collect();
        assert_eq!(kinds, [BlockKind::Session(2), BlockKind::Session(1)]);
        let (_, events) = &report.blocks[0];
        let frames: Vec<u64> = events.iter().map(Event::frame).collect();
        assert!(frames.is_sorted(), "{frames:?}");
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Event::Finding(f) if f.id == "cleartext-credentials")),
            "{events:?}"
        );
        assert_eq!(report.summaries, 1);
    }

    #[test]
    fn a_session_that_never_ends_is_written_in_parts() {
        let mut t = Tracker::new(None);
        let mut report = Collect::default();
        let mut streamer = Streamer::new("x.pcap", &mut report);
        let mut frame = 0;
        let s = login(&mut t, 40000, &mut frame);
        for _ in 0..SESSION_EVENTS_HELD {
            t.client_bytes(s, Chunk::Data(b"NOOP\r\n"), ctx(&mut frame));
            streamer.after_frame(&mut t);
        }
        let summary = streamer.finish(&mut t, frame, 0, Vec::new()).unwrap();
        assert_eq!(summary.commands, 2 + SESSION_EVENTS_HELD as u64);
        assert_eq!(report.blocks[0].0, BlockKind::SessionPart(1));
        assert_eq!(report.blocks[0].1.len(), SESSION_EVENTS_HELD);
        let written: usize = report.blocks.iter().map(|b| b.1.len()).sum();
        // Session, 2 commands + NOOPs, 3 replies, 1 credential, and its findings.
        assert!(written > SESSION_EVENTS_HELD + 7, "{written}");
    }
}
