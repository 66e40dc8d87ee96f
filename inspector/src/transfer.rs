//! Data connections: their bytes streamed into sha256 (and into an `--extract` sink), never
//! buffered whole, and what is known about completeness.

use crate::event::TransferEvent;
use crate::extract::{ExtractSink, Extracted};
use crate::reassembly::Chunk;
use ftp_proto::{DataDirection, ReplyCode};

/// How much of a data connection's start is kept to guess its type when no command names it.
const SNIFF_LEN: usize = 512;

/// A transfer's index in the analysis, unique per capture.
pub type TransferId = usize;

/// Who opened the data connection (RFC 959 §3.2): the server (active, after PORT/EPRT) or the
/// client (passive, after PASV/EPSV).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataMode {
    /// PORT or EPRT: the server connects to the client.
    Active,
    /// PASV or EPSV: the client connects to the server.
    Passive,
}

impl DataMode {
    /// `active` or `passive`, as the JSON output names it.
    pub fn as_str(self) -> &'static str {
        match self {
            DataMode::Active => "active",
            DataMode::Passive => "passive",
        }
    }
}

/// How a data connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataEnd {
    /// FIN, or the capture ended while it was open.
    Finished,
    /// RST before the server confirmed the transfer: a failure, and what the sender still had
    /// queued was thrown away.
    Reset,
    /// RST after the server's 2xx reply: the transfer stands, but bytes still queued were thrown
    /// away rather than sent.
    ResetAfterConfirmation,
}

/// Where a transfer is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferState {
    /// Named by a command, or announced by PORT/EPRT/227/229; its data connection not seen yet.
    AwaitingConnection,
    /// Its data connection is open.
    Open,
    /// Its data connection is over; `ends_seen` says per direction whether the FIN was captured
    /// (then that stream's length is known).
    Closed {
        /// How it ended.
        end: DataEnd,
        /// Per direction of the data connection: its FIN was captured.
        ends_seen: [bool; 2],
    },
    /// Its event was emitted, or it turned out to be no transfer at all.
    Reported,
}

/// One data connection and what is known about it.
#[derive(Debug)]
pub struct Transfer {
    /// Index in the analysis, unique per capture.
    pub id: TransferId,
    /// Control session, if known.
    pub session: Option<usize>,
    /// Frame of the command it serves.
    pub command_frame: Option<u64>,
    /// The transfer command's verb.
    pub command: Option<String>,
    /// File name as given.
    pub name: Option<String>,
    /// From the command; `None` until a command names it.
    pub direction: Option<DataDirection>,
    /// Active or passive, once a data connection was tied to it.
    pub mode: Option<DataMode>,
    /// REST offset before the command.
    pub rest: Option<u64>,
    /// Size announced by SIZE or 150.
    pub expected_bytes: Option<u64>,
    /// ASCII transfer type: the byte count may legitimately differ from SIZE.
    pub ascii: bool,
    /// Final reply code and its frame.
    pub final_reply: Option<(ReplyCode, u64)>,
    /// Where it is in its life.
    pub state: TransferState,
    /// Content arrived in both directions (then it is no FTP data connection).
    pub two_way: bool,
    /// Which reassembler direction (0 or 1) carries the content, once bytes arrived.
    content_dir: Option<usize>,
    hasher: crate::content_hash::ContentHash,
    bytes: u64,
    offset: u64,
    gaps: Vec<[u64; 2]>,
    first_frame: Option<u64>,
    last_frame: u64,
    sniff: Vec<u8>,
    /// Frames of segments that disagreed with an earlier copy (at most [`MAX_CONFLICT_FRAMES`]).
    conflicting_frames: Vec<u64>,
    /// Set for the data connections of TLS sessions (kept up to date by [`crate::tls`]).
    pub tls: Option<crate::tls::TransferTls>,
}

/// Frames of conflicting segments kept per transfer.
const MAX_CONFLICT_FRAMES: usize = 64;

impl Transfer {
    /// A transfer not yet tied to anything.
    pub fn new(id: TransferId, session: Option<usize>) -> Transfer {
        Transfer {
            id,
            session,
            command_frame: None,
            command: None,
            name: None,
            direction: None,
            mode: None,
            rest: None,
            expected_bytes: None,
            ascii: false,
            final_reply: None,
            state: TransferState::AwaitingConnection,
            two_way: false,
            content_dir: None,
            hasher: crate::content_hash::ContentHash::default(),
            bytes: 0,
            offset: 0,
            gaps: Vec::new(),
            first_frame: None,
            conflicting_frames: Vec::new(),
            last_frame: 0,
            sniff: Vec::new(),
            tls: None,
        }
    }

    /// Bytes of content so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Frame `frame` carried bytes of its data connection that are not content (TLS records):
    /// the connection's frames are known even when its content is not.
    pub fn note_frame(&mut self, frame: u64) {
        self.first_frame.get_or_insert(frame);
        self.last_frame = frame;
    }

    /// The first frame that carried its data connection's bytes.
    pub fn first_data_frame(&self) -> Option<u64> {
        self.first_frame
    }

    /// A data connection was tied to it (whether or not it is still open).
    pub fn connected(&self) -> bool {
        !matches!(self.state, TransferState::AwaitingConnection)
    }

    /// The server confirmed it with a 2xx reply.
    fn confirmed(&self) -> bool {
        self.final_reply
            .is_some_and(|(code, _)| code.is_positive_completion())
    }

    /// Its data connection has ended: how, given what the server said so far.
    pub fn close(&mut self, reset: bool, ends_seen: [bool; 2]) {
        if self.state == TransferState::Reported {
            return;
        }
        let end = match (reset, self.confirmed()) {
            (false, _) => DataEnd::Finished,
            (true, false) => DataEnd::Reset,
            (true, true) => DataEnd::ResetAfterConfirmation,
        };
        self.state = TransferState::Closed { end, ends_seen };
    }

    /// Takes a chunk of the data connection in direction `dir` (0 or 1) from frame `frame`.
    pub fn push(
        &mut self,
        dir: usize,
        chunk: Chunk<'_>,
        frame: u64,
        extract: Option<&mut (dyn ExtractSink + '_)>,
    ) {
        match self.content_dir {
            None => self.content_dir = Some(dir),
            Some(d) if d != dir => {
                self.two_way = true;
                return;
            }
            Some(_) => {}
        }
        if self.first_frame.is_none() {
            self.first_frame = Some(frame);
        }
        self.last_frame = frame;
        match chunk {
            Chunk::Data(d) => {
                self.hasher.update(d);
                self.bytes += d.len() as u64;
                self.offset += d.len() as u64;
                if self.sniff.len() < SNIFF_LEN {
                    let take = (SNIFF_LEN - self.sniff.len()).min(d.len());
                    self.sniff
                        .extend_from_slice(d.get(..take).unwrap_or_default());
                }
                if let Some(sink) = extract {
                    sink.write(self.id, d);
                }
            }
            Chunk::Gap { len } => {
                self.gaps.push([self.offset, len]);
                if let Some(sink) = extract {
                    sink.skip(self.id, len);
                }
                self.offset += len;
            }
        }
    }

    /// Guesses listing or file from the first bytes (for data connections nobody announced).
    fn guess_direction(&self) -> DataDirection {
        if let Some(tls) = self.tls.filter(|t| t.encrypted && !t.decrypted_with_keylog) {
            // Encrypted: only the side that sent the bulk of the bytes is known.
            return if tls.encrypted_bytes_to_server > tls.encrypted_bytes_to_client {
                DataDirection::Upload
            } else {
                DataDirection::Download
            };
        }
        let text = String::from_utf8_lossy(&self.sniff);
        let looks_listing = std::str::from_utf8(&self.sniff).is_ok()
            && text.lines().take(5).all(|l| {
                let l = l.trim_end();
                l.is_empty()
                    || l.starts_with("total ")
                    || l.contains(';') && l.contains('=')
                    || l.len() > 10
                        && l.starts_with(['-', 'd', 'l'])
                        && l.get(1..10)
                            .is_some_and(|p| p.chars().all(|c| "rwxsStT-".contains(c)))
            })
            && !self.sniff.is_empty();
        if looks_listing {
            DataDirection::Listing
        } else {
            DataDirection::Download
        }
    }

    /// When the FIN of the content was not captured, TCP alone cannot say where the content
    /// ended: a peer's ACK of the FIN reaches one past the data, and a lost tail leaves no trace
    /// at all when the peer's ACKs were lost with it. The announced size settles both: a
    /// trailing gap one byte past it is the FIN's sequence number, not data; and a transfer the
    /// server confirmed (2xx) on a data connection that was not reset (a RST throws away what
    /// was still queued) ends at that size, its missing tail a gap. So the content plus the
    /// gaps is the whole file, and the gaps say exactly what the capture lost.
    fn account_for_an_unseen_end(
        &mut self,
        direction: DataDirection,
        extract: Option<&mut (dyn ExtractSink + '_)>,
    ) {
        let (ends_seen, ended_by_rst) = match self.state {
            TransferState::Closed { end, ends_seen } => (ends_seen, end != DataEnd::Finished),
            _ => ([false; 2], false),
        };
        let end_seen = self
            .content_dir
            .is_some_and(|d| ends_seen.get(d).copied().unwrap_or(false));
        let Some(expected) = self.expected_bytes else {
            return;
        };
        if end_seen
            || !self.connected()
            || self.ascii
            || direction == DataDirection::Listing
            || self.content_dir.is_none()
        {
            return;
        }
        let have = self.offset + self.rest.unwrap_or(0);
        if have == expected + 1
            && let Some(last) = self.gaps.last_mut()
            && last[0] + last[1] == self.offset
        {
            last[1] -= 1;
            if last[1] == 0 {
                self.gaps.pop();
            }
            self.offset -= 1;
        } else if have < expected && self.confirmed() && !ended_by_rst {
            let len = expected - have;
            self.gaps.push([self.offset, len]);
            if let Some(sink) = extract {
                sink.skip(self.id, len);
            }
            self.offset += len;
        }
    }

    /// Builds the event (handing the content's end to the sink) and marks the transfer reported.
    pub fn finish(&mut self, mut extract: Option<&mut (dyn ExtractSink + '_)>) -> TransferEvent {
        let connected = self.connected();
        let reset = matches!(
            self.state,
            TransferState::Closed {
                end: DataEnd::Reset,
                ..
            }
        );
        let guessed = self.direction.is_none();
        let direction = self.direction.unwrap_or_else(|| self.guess_direction());
        self.account_for_an_unseen_end(direction, extract.as_deref_mut());
        self.state = TransferState::Reported;
        // A transfer command the server refused (550 no such file, 553, 425…) before any byte
        // crossed: no file, so no size and no hash (the sha256 of nothing would pass for one).
        let refused = match self.final_reply {
            Some((code, _)) if code.is_negative() && self.bytes == 0 => Some(code),
            _ => None,
        };
        if let Some(code) = refused {
            if let Some(sink) = extract {
                sink.discard(self.id);
            }
            return TransferEvent {
                session: self.session,
                frame: self.command_frame.or(self.first_frame).unwrap_or(0),
                command: self.command.clone(),
                name: self.name.clone(),
                direction: direction.as_str(),
                guessed,
                bytes: 0,
                sha256: None,
                complete: false,
                incomplete_reason: Some(format!("refused by the server ({})", code.0)),
                expected_bytes: self.expected_bytes,
                rest: self.rest,
                gaps: Vec::new(),
                mode: self.mode.map(DataMode::as_str),
                data_frames: None,
                reply: Some(code.0),
                extracted: None,
                refused: true,
                conflicting_frames: Vec::new(),
                tls: self.tls,
            };
        }
        let mut reasons = Vec::new();
        match self.final_reply {
            Some((code, _)) if code.is_positive_completion() => {}
            Some((code, _)) => reasons.push(format!("server replied {}", code.0)),
            None if self.session.is_some() => reasons.push("no final reply in the capture".into()),
            None => reasons.push("control connection not in the capture".into()),
        }
        // A 226 without the data connection in the capture proves nothing about the bytes: the
        // hash of nothing must not pass for the file's.
        if !connected {
            reasons.push("data connection not in the capture".into());
        }
        if !self.gaps.is_empty() {
            let missing: u64 = self.gaps.iter().map(|g| g[1]).sum();
            reasons.push(format!(
                "{missing} bytes missing in {} gap(s)",
                self.gaps.len()
            ));
        }
        if reset {
            reasons.push("data connection reset".into());
        }
        let unreadable = self.tls.filter(|t| t.encrypted && !t.decrypted_with_keylog);
        if unreadable.is_some() {
            reasons.push("content encrypted (TLS, PROT P); see the TLS findings".into());
        }
        if self.tls.is_some_and(|t| t.records_lost) {
            reasons.push("TLS records missing from the capture".into());
        }
        if let Some(first) = self.conflicting_frames.first() {
            reasons.push(format!(
                "{} segment(s) from frame {first} on carry bytes that differ from an earlier copy \
                 (the first copy was kept; the receiver may have kept another)",
                self.conflicting_frames.len()
            ));
        }
        if let Some(expected) = self.expected_bytes
            && !self.ascii
            && direction != DataDirection::Listing
        {
            let have = self.offset + self.rest.unwrap_or(0);
            // After REST servers differ: most announce the whole file's size, ours (and
            // RetrOpening's `size`) the bytes that cross. Either one matching is complete.
            if have != expected && self.offset != expected {
                reasons.push(format!("{have} of {expected} announced bytes"));
            }
        }
        let extracted = match extract {
            Some(sink) => sink.finish(self.id, &self.file_name(direction), self.offset),
            None => Extracted::default(),
        };
        if let Some(e) = &extracted.error {
            reasons.push(format!("not extracted: {e}"));
        }
        let hasher = std::mem::take(&mut self.hasher);
        TransferEvent {
            session: self.session,
            frame: self.command_frame.or(self.first_frame).unwrap_or(0),
            command: self.command.clone(),
            name: self.name.clone(),
            direction: direction.as_str(),
            guessed,
            bytes: self.bytes,
            sha256: (self.gaps.is_empty()
                && connected
                && unreadable.is_none()
                && !self.tls.is_some_and(|t| t.records_lost))
            .then(|| hasher.finalize().map(hex::encode))
            .flatten(),
            complete: reasons.is_empty(),
            incomplete_reason: (!reasons.is_empty()).then(|| reasons.join("; ")),
            expected_bytes: self.expected_bytes,
            rest: self.rest,
            gaps: self.gaps.clone(),
            mode: self.mode.map(DataMode::as_str),
            data_frames: self.first_frame.map(|f| [f, self.last_frame]),
            reply: self.final_reply.map(|(c, _)| c.0),
            extracted: extracted.name,
            refused: false,
            tls: self.tls,
            conflicting_frames: self.conflicting_frames.clone(),
        }
    }

    /// A segment of the data connection (frame `frame`) disagreed with an earlier copy.
    pub fn note_conflict(&mut self, frame: u64) {
        if self.conflicting_frames.len() < MAX_CONFLICT_FRAMES
            && self.conflicting_frames.last() != Some(&frame)
        {
            self.conflicting_frames.push(frame);
        }
    }

    /// The name `--extract` gives the content: the file's own (made safe), or one made up for
    /// listings and data connections nobody named.
    fn file_name(&self, direction: DataDirection) -> String {
        match (&self.name, direction) {
            (Some(n), DataDirection::Download | DataDirection::Upload) => safe_name(n),
            (_, DataDirection::Listing) => format!(
                "listing-s{}-f{}.txt",
                self.session.unwrap_or(0),
                self.command_frame.or(self.first_frame).unwrap_or(0)
            ),
            (None, _) => format!("data-f{}.bin", self.first_frame.unwrap_or(0)),
        }
    }
}

/// A file name that stays inside the extract folder whatever the capture says: the last path
/// component only, with anything but letters, digits, `.`, `-` and `_` replaced, no leading dot.
pub fn safe_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let trimmed = cleaned.trim_start_matches('.');
    let short: String = trimmed.chars().take(120).collect();
    if short.is_empty() {
        "unnamed".to_owned()
    } else {
        short
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_name_never_escapes_the_folder() {
        assert_eq!(safe_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_name("..\\..\\boot.ini"), "boot.ini");
        assert_eq!(safe_name(".."), "unnamed");
        assert_eq!(safe_name("/"), "unnamed");
        assert_eq!(safe_name(".bashrc"), "bashrc");
        assert_eq!(safe_name("a b;rm -rf.txt"), "a_b_rm_-rf.txt");
    }

    #[test]
    fn listing_is_guessed_from_ls_lines() {
        let mut t = Transfer::new(0, None);
        t.push(
            1,
            Chunk::Data(b"-rw-r--r-- 1 ftp ftp 5 Jan 1 00:00 a.txt\r\n"),
            3,
            None,
        );
        assert_eq!(t.guess_direction(), DataDirection::Listing);
        let mut t = Transfer::new(0, None);
        t.push(1, Chunk::Data(&[0, 159, 146, 150]), 3, None);
        assert_eq!(t.guess_direction(), DataDirection::Download);
    }
}
