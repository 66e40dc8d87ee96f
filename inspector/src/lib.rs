//! `inspector`: what an eavesdropper learns from FTP. Reads .pcap/.pcapng captures and rebuilds
//! the FTP sessions in them: commands and replies, user names and passwords, the files
//! transferred (with sha256, optionally written out), and security findings.
//!
//! # Layout
//! - [`source`]: the [`source::PacketSource`] seam, the pcap/pcapng readers and live capture.
//! - [`frame`]: link layer → IP → TCP segment (etherparse, lax).
//! - [`duplicates`]: frames a capture holds twice, left out (bounded window of digests).
//! - [`arp`]: ARP spoofing: an address claimed by two MACs, unsolicited replies in bursts.
//! - [`forwarded`]: one TCP segment seen twice with different MACs (a host in the middle).
//! - [`defrag`]: IP fragments put back together (bounded), overlaps that disagree reported.
//! - [`flow`]: connections, their roles (control, data, other).
//! - [`reassembly`]: one TCP byte stream per direction, with explicit gaps.
//! - [`ftp_session`]: commands, replies, logins, TLS, data connections (decoded with `ftp-proto`).
//! - [`tls`]: FTPS: TLS records, handshake facts, decryption with a key log (`--keylog`).
//! - [`content_hash`]: a transfer's sha256, on a thread of its own for large files.
//! - [`transfer`]: data connection content streamed into sha256 and an extract sink; a
//!   transfer's life as one state.
//! - [`extract`]: `--extract`, the sink the caller passes in that writes files to a folder.
//! - [`stitch`]: downloads resumed with REST put back together.
//! - [`findings`]: security findings (RFC 2577, RFC 4217).
//! - [`event`]: the events, which are the `--json` contract.
//! - [`report`]: tables for people and JSON lines for programs; ladder diagrams, HTML.
//! - [`ladder`]: each session as a ladder (sequence) diagram model, for `--flow` and `--html`.
//! - [`pictures`]: `read --flow` and `read --html`.
//! - [`stream`]: the event flow of `read`: each session written when it is over, a bounded summary.
//! - [`slots`]: numbered sessions and transfers that are dropped once reported.
//! - [`read`]: `inspector read` (capture files → report).
//! - [`packet_view`]: `inspector frame` (one frame, layer by layer, as Wireshark shows it).
//! - [`live`]: `inspector live` and `inspector interfaces` (capture from an interface).
//! - [`exit_code`]: the exit codes both subcommands share.
//!
//! Data flow: `PacketSource` → [`frame::decode`] → [`flow::FlowTable`] → [`reassembly::Reassembler`]
//! → [`ftp_session::Tracker`] → [`findings::find`] → events → [`report`].

pub mod arp;
pub mod content_hash;
pub mod defrag;
pub mod duplicates;
pub mod event;
pub mod exit_code;
pub mod extract;
pub mod findings;
pub mod flow;
pub mod forwarded;
pub mod frame;
pub mod ftp_session;
pub mod ladder;
pub mod live;
pub mod packet_view;
pub mod pictures;
pub mod read;
pub mod reassembly;
pub mod report;
pub mod slots;
pub mod source;
pub mod stitch;
pub mod stream;
pub mod tls;
pub mod transfer;

use event::{Event, FindingEvent, WarningEvent};
use extract::ExtractSink;
use frame::Decoded;
use ftp_session::{Ctx, Tracker};
use source::{PacketSource, SourceError};

/// FTP's well-known control port (RFC 959 §8 via the IANA registry).
pub const FTP_PORT: u16 = 21;

/// What to look for.
#[derive(Debug, Clone)]
pub struct Options {
    /// Extra control ports besides 21.
    pub ports: Vec<u16>,
    /// Out-of-order bytes kept per direction of a connection.
    pub stream_cap: usize,
    /// TLS secrets (`--keylog`) to decrypt FTPS with.
    pub keylog: Option<std::sync::Arc<tls::KeyLog>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            ports: Vec::new(),
            stream_cap: 4 << 20,
            keylog: None,
        }
    }
}

/// The result of analysing one capture.
#[derive(Debug, Default)]
pub struct Analysis {
    /// The capture's name.
    pub name: String,
    /// Every event, ordered by frame.
    pub events: Vec<Event>,
    /// Frames read.
    pub frames: u64,
    /// Timestamp of the first frame, seconds since the epoch.
    pub first_time: f64,
    /// Frames or records that could not be used (each also a warning event).
    pub skipped: u64,
}

impl Analysis {
    /// True when anything was skipped: a frame or record, or bytes or lines of a control
    /// connection (a gap, a line that is not FTP, an over-long line). Every such thing is a
    /// warning event, and JSON.md promises exit code 1 for each.
    pub fn something_skipped(&self) -> bool {
        self.skipped > 0 || self.events.iter().any(|e| matches!(e, Event::Warning(_)))
    }
}

/// Reads every frame of `source` and rebuilds what FTP it holds.
pub fn analyze(source: &mut dyn PacketSource, options: &Options) -> Analysis {
    analyze_with(source, options, None, &mut |_| {})
}

/// What the frame loop hands its findings to: the reader that keeps every event
/// ([`analyze_with`]) or the one that streams them ([`analyze_streaming`]).
trait FrameSink {
    /// A warning of the reader itself (a frame or record that could not be used).
    fn warn(&mut self, warning: WarningEvent);
    /// After each frame, and once more when every flow is closed.
    fn after_frame(&mut self, tracker: &mut Tracker);
    /// The timestamp of the first frame.
    fn first_time(&mut self, _time: f64) {}
}

/// Keeps every event; hands the tracker's to `on_event` as they come.
struct Keep<'a> {
    warnings: Vec<WarningEvent>,
    announced: usize,
    on_event: &'a mut dyn FnMut(&Event),
}

impl FrameSink for Keep<'_> {
    fn warn(&mut self, warning: WarningEvent) {
        self.warnings.push(warning);
    }
    fn after_frame(&mut self, tracker: &mut Tracker) {
        for event in tracker.events.get(self.announced..).unwrap_or_default() {
            (self.on_event)(event);
        }
        self.announced = tracker.events.len();
    }
}

impl FrameSink for stream::Streamer<'_> {
    fn warn(&mut self, warning: WarningEvent) {
        stream::Streamer::warn(self, warning);
    }
    fn after_frame(&mut self, tracker: &mut Tracker) {
        stream::Streamer::after_frame(self, tracker);
    }
    fn first_time(&mut self, time: f64) {
        self.first_time = time;
    }
}

/// Reads every frame of `source` into `tracker` (repeated frames left out, IP fragments put
/// back together) and closes every flow at the end; counts go to `analysis`. Returns the
/// findings about the capture as a whole (repeated frames, fragments that disagree).
fn read_frames(
    source: &mut dyn PacketSource,
    options: &Options,
    tracker: &mut Tracker,
    analysis: &mut Analysis,
    sink: &mut dyn FrameSink,
) -> Vec<FindingEvent> {
    let mut ports = vec![FTP_PORT];
    ports.extend(&options.ports);
    let mut flows = flow::FlowTable::new(ports, options.stream_cap);
    let mut duplicates = duplicates::Duplicates::new();
    let mut arp = arp::ArpWatch::new();
    let mut forwarded = forwarded::Forwarded::new();
    let mut defrag = defrag::Defragmenter::new();
    let mut broken_rebuilt: (u64, u64) = (0, 0);
    let mut last = Ctx::default();
    loop {
        let frame = match source.next_frame() {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(e) => {
                analysis.skipped += 1;
                let frame = match &e {
                    SourceError::Truncated { frame, .. } | SourceError::BadRecord { frame, .. } => {
                        *frame
                    }
                    _ => 0,
                };
                sink.warn(WarningEvent::new(frame, e.to_string()));
                continue;
            }
        };
        analysis.frames += 1;
        let ctx = Ctx {
            frame: frame.number,
            time: frame.timestamp.as_secs_f64(),
        };
        if analysis.frames == 1 {
            analysis.first_time = ctx.time;
            sink.first_time(ctx.time);
        }
        last = ctx;
        let decoded = frame::decode(&frame);
        let digest = match &decoded {
            Ok(Decoded::Tcp(segment)) => Some(duplicates::segment_digest(segment)),
            Ok(_) => Some(duplicates::frame_digest(frame.bytes)),
            Err(_) => None,
        };
        // Before repeats are left out: a forwarded copy is what these look for.
        match (&decoded, digest) {
            (Ok(Decoded::Tcp(segment)), Some(d)) => forwarded.observe(&frame, segment, d),
            (Ok(Decoded::Other), _) => arp.observe(&frame),
            _ => {}
        }
        // A segment again with other MAC addresses was forwarded, not captured twice, however
        // close in time (a forwarder can send it on within the microsecond).
        let repeat = match (&decoded, digest) {
            (Ok(Decoded::Tcp(_)), Some(d)) if frame.link_type == source::LinkType::ETHERNET => {
                Some(duplicates::with_macs(d, frame.bytes))
            }
            _ => digest,
        };
        if repeat.is_some_and(|d| duplicates.is_repeat(d, frame.number, frame.timestamp)) {
            continue;
        }
        match decoded {
            Ok(Decoded::Tcp(segment)) => flows.push(&segment, ctx, tracker),
            Ok(Decoded::Fragment(fragment)) => {
                if let Some(datagram) = defrag.push(fragment, frame.number, frame.timestamp) {
                    match frame::rebuilt_segment(datagram.src, datagram.dst, &datagram.payload) {
                        Some(segment) => flows.push(&segment, ctx, tracker),
                        None => {
                            broken_rebuilt.0 += 1;
                            if broken_rebuilt.1 == 0 {
                                broken_rebuilt.1 = frame.number;
                            }
                        }
                    }
                }
            }
            Ok(Decoded::Other) => {}
            Err(e) => {
                analysis.skipped += 1;
                sink.warn(WarningEvent::new(
                    frame.number,
                    format!("{}: {}: {}", analysis.name, e.layer, e.detail),
                ));
            }
        }
        sink.after_frame(tracker);
    }
    defrag.finish();
    let stats = defrag.stats;
    if stats.given_up > 0 {
        analysis.skipped += stats.given_up;
        let first = stats.first_given_up.unwrap_or(0);
        sink.warn(WarningEvent::new(
            first,
            format!(
                "{}: {} fragmented IP datagram(s) could not be put back together (a fragment \
                 missing, older than {} s, or past a limit), first at frame {first}",
                analysis.name,
                stats.given_up,
                defrag::TIMEOUT.as_secs()
            ),
        ));
    }
    if stats.truncated > 0 {
        analysis.skipped += stats.truncated;
        sink.warn(WarningEvent::new(
            stats.first_truncated.unwrap_or(0),
            format!(
                "{}: {} IP fragment(s) cut short by the capture's snap length could not be used",
                analysis.name, stats.truncated
            ),
        ));
    }
    if broken_rebuilt.0 > 0 {
        analysis.skipped += broken_rebuilt.0;
        sink.warn(WarningEvent::new(
            broken_rebuilt.1,
            format!(
                "{}: {} IP datagram(s) rebuilt from fragments hold no readable TCP header, \
                 first completed at frame {}",
                analysis.name, broken_rebuilt.0, broken_rebuilt.1
            ),
        ));
    }
    flows.finish(last, tracker);
    let mut found: Vec<FindingEvent> = duplicates.finding(&analysis.name).into_iter().collect();
    found.extend(fragment_overlap_finding(&defrag, &analysis.name));
    found.extend(arp.findings());
    found.extend(forwarded.findings());
    found
}

/// Like [`analyze`], hands the content of every data connection to `extract` when given
/// (`--extract`: [`extract::FolderExtractor`]), and each session, command, reply, credential
/// and transfer event to `on_event` as soon as it is known (a live capture prints them as they
/// happen). Findings, stitched downloads and warnings need the whole capture: they come only in
/// the result. Keeps every event (memory grows with the capture: [`analyze_streaming`] does not).
pub fn analyze_with(
    source: &mut dyn PacketSource,
    options: &Options,
    extract: Option<Box<dyn ExtractSink>>,
    on_event: &mut dyn FnMut(&Event),
) -> Analysis {
    let mut tracker = Tracker::new(extract);
    tracker.tls.keylog = options.keylog.clone();
    let mut analysis = Analysis {
        name: source.name().to_owned(),
        ..Analysis::default()
    };
    let mut keep = Keep {
        warnings: Vec::new(),
        announced: 0,
        on_event,
    };
    let capture_findings = read_frames(source, options, &mut tracker, &mut analysis, &mut keep);
    // Control connections that ended need no more than their events here.
    tracker.ended.clear();
    tracker.finish();
    keep.after_frame(&mut tracker);
    let mut warnings = keep.warnings;
    let mut found = findings::find(&tracker);
    found.extend(capture_findings);
    let servers: Vec<String> = tracker
        .sessions
        .iter()
        .map(|s| s.server.to_string())
        .collect();
    let extract = tracker.take_extract();
    let stitched = stitch::stitch(
        &tracker.events,
        |id| servers.get(id.wrapping_sub(1)).cloned(),
        extract.as_deref().and_then(ExtractSink::folder),
    );
    let mut events = std::mem::take(&mut tracker.events);
    // The tracker's warnings join the others to be grouped (in place: the event list can be
    // the largest thing in memory).
    events.retain(|e| match e {
        Event::Warning(w) => {
            warnings.push(w.clone());
            false
        }
        _ => true,
    });
    events.extend(stitched.into_iter().map(|s| Event::Stitched(Box::new(s))));
    events.extend(found.into_iter().map(|f| Event::Finding(Box::new(f))));
    events.extend(group_warnings(warnings).into_iter().map(Event::Warning));
    analysis.events = sort_by_frame(events);
    analysis
}

/// Reads `source` and writes what it finds through `report` as soon as it is final: each
/// session when it is over, the rest and a bounded [`stream::Summary`] at the end. Memory stays
/// flat however many sessions the capture holds (only open sessions are kept).
pub fn analyze_streaming(
    source: &mut dyn PacketSource,
    options: &Options,
    extract: Option<Box<dyn ExtractSink>>,
    report: &mut dyn stream::Report,
) -> std::io::Result<stream::Summary> {
    let mut tracker = Tracker::new(extract);
    tracker.tls.keylog = options.keylog.clone();
    let mut analysis = Analysis {
        name: source.name().to_owned(),
        ..Analysis::default()
    };
    let mut streamer = stream::Streamer::new(&analysis.name, report);
    let capture_findings = read_frames(source, options, &mut tracker, &mut analysis, &mut streamer);
    streamer.finish(
        &mut tracker,
        analysis.frames,
        analysis.skipped,
        capture_findings,
    )
}

/// One warning per message: a message repeated (an over-long line cut into many segments, a
/// link type met in every frame) becomes one warning with the count and the first and last
/// frame, in the order of first appearance.
pub(crate) fn group_warnings(warnings: Vec<WarningEvent>) -> Vec<WarningEvent> {
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut out: Vec<WarningEvent> = Vec::new();
    for w in warnings {
        match index.get(&w.message).and_then(|&i| out.get_mut(i)) {
            Some(group) => {
                group.count += w.count;
                group.frame = group.frame.min(w.frame);
                group.last_frame = group.last_frame.max(w.last_frame);
            }
            None => {
                index.insert(w.message.clone(), out.len());
                out.push(w);
            }
        }
    }
    for w in &mut out {
        if w.count > 1 {
            w.message = format!(
                "{} ({} times, frames {} to {})",
                w.message, w.count, w.frame, w.last_frame
            );
        }
    }
    out
}

/// The finding for IP fragments whose overlaps brought different bytes, if any did.
fn fragment_overlap_finding(
    defrag: &defrag::Defragmenter,
    capture: &str,
) -> Option<event::FindingEvent> {
    let first = defrag.conflicts.first()?;
    let mut frames: Vec<u64> = defrag
        .conflicts
        .iter()
        .flat_map(|c| [c.kept, c.dropped])
        .collect();
    frames.sort_unstable();
    frames.dedup();
    Some(event::FindingEvent {
        id: "ip-fragment-overlap",
        severity: "high",
        message: format!(
            "{capture}: {} overlap(s) of IP fragments carry different bytes for the same part of a \
             datagram (first: {} → {}, id {}, frame {} kept, frame {} disagrees); the first copy \
             was used",
            defrag.conflicts.len(),
            first.src,
            first.dst,
            first.id,
            first.kept,
            first.dropped
        ),
        frame: first.dropped,
        session: None,
        filter: report::frame_filter(&frames),
        frames,
        why: "hosts differ in which copy they keep, so an IDS and the receiver can see different \
              data: a known evasion (and denial-of-service) technique",
        fix: "drop overlapping fragments at the firewall (Linux and modern stacks discard them for \
              IPv6 already)",
        reference: "RFC 1858 §4, RFC 5722",
    })
}

/// Orders events by frame; events of one frame keep the order they were found in. Sorts small
/// (frame, index) keys rather than moving the events around, which was a visible cost on
/// captures with many sessions.
fn sort_by_frame(events: Vec<Event>) -> Vec<Event> {
    let mut keys: Vec<(u64, usize)> = events
        .iter()
        .enumerate()
        .map(|(i, e)| (e.frame(), i))
        .collect();
    keys.sort_unstable();
    let mut slots: Vec<Option<Event>> = events.into_iter().map(Some).collect();
    keys.iter()
        .filter_map(|&(_, i)| slots.get_mut(i).and_then(Option::take))
        .collect()
}

/// Opens one capture file and streams what it finds through `report` ([`analyze_streaming`]).
pub fn analyze_file_streaming(
    path: &std::path::Path,
    options: &Options,
    extract: Option<Box<dyn ExtractSink>>,
    report: &mut dyn stream::Report,
) -> Result<std::io::Result<stream::Summary>, SourceError> {
    let mut source = source::open_file(path)?;
    Ok(analyze_streaming(source.as_mut(), options, extract, report))
}

/// Opens and analyses one capture file.
pub fn analyze_file(path: &std::path::Path, options: &Options) -> Result<Analysis, SourceError> {
    analyze_file_with(path, options, None)
}

/// Opens and analyses one capture file, handing data connection content to `extract`.
pub fn analyze_file_with(
    path: &std::path::Path,
    options: &Options,
    extract: Option<Box<dyn ExtractSink>>,
) -> Result<Analysis, SourceError> {
    let mut source = source::open_file(path)?;
    Ok(analyze_with(source.as_mut(), options, extract, &mut |_| {}))
}
