//! Data connections: their bytes streamed into sha256 (and into `--extract`), never buffered
//! whole, and what is known about completeness.

use crate::event::TransferEvent;
use crate::reassembly::Chunk;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// How much of a data connection's start is kept to guess its type when no command names it.
const SNIFF_LEN: usize = 512;

/// What a data connection carries, from the command it serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// RETR: server to client.
    Download,
    /// STOR, STOU, APPE: client to server.
    Upload,
    /// LIST, NLST, MLSD: server to client, text.
    Listing,
}

impl Direction {
    /// The direction a transfer command implies, `None` for other verbs.
    pub fn of_command(verb: &str) -> Option<Direction> {
        match verb {
            "RETR" => Some(Direction::Download),
            "STOR" | "STOU" | "APPE" => Some(Direction::Upload),
            "LIST" | "NLST" | "MLSD" => Some(Direction::Listing),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Direction::Download => "download",
            Direction::Upload => "upload",
            Direction::Listing => "listing",
        }
    }
}

/// One data connection and what is known about it.
#[derive(Debug)]
pub struct Transfer {
    /// Index in the analysis, unique per capture.
    pub id: usize,
    /// Control session, if known.
    pub session: Option<usize>,
    /// Frame of the command it serves.
    pub command_frame: Option<u64>,
    /// The transfer command's verb.
    pub command: Option<String>,
    /// File name as given.
    pub name: Option<String>,
    /// From the command; `None` until a command names it.
    pub direction: Option<Direction>,
    /// `passive` or `active`.
    pub mode: Option<&'static str>,
    /// REST offset before the command.
    pub rest: Option<u64>,
    /// Size announced by SIZE or 150.
    pub expected_bytes: Option<u64>,
    /// ASCII transfer type: the byte count may legitimately differ from SIZE.
    pub ascii: bool,
    /// Final reply code and its frame.
    pub final_reply: Option<(u16, u64)>,
    /// A data connection was tied to it.
    pub connected: bool,
    /// The data connection has ended (FIN both ways, RST, or end of capture).
    pub closed: bool,
    /// The data connection ended with RST.
    pub reset: bool,
    /// Content arrived in both directions (then it is no FTP data connection).
    pub two_way: bool,
    /// Per direction of the data connection: its FIN was captured, so its length is known.
    pub ends_seen: [bool; 2],
    /// A RST ended the data connection (whatever the reply): what was still queued at the
    /// sender was thrown away, not sent.
    pub ended_by_rst: bool,
    /// Which reassembler direction (0 or 1) carries the content, once bytes arrived.
    content_dir: Option<usize>,
    hasher: Sha256,
    bytes: u64,
    offset: u64,
    gaps: Vec<[u64; 2]>,
    first_frame: Option<u64>,
    last_frame: u64,
    sniff: Vec<u8>,
    out: Option<(PathBuf, BufWriter<File>)>,
    extract_error: Option<String>,
    /// Set once the event has been emitted.
    pub emitted: bool,
}

impl Transfer {
    /// A transfer not yet tied to anything.
    pub fn new(id: usize, session: Option<usize>) -> Transfer {
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
            connected: false,
            closed: false,
            reset: false,
            two_way: false,
            ends_seen: [false; 2],
            ended_by_rst: false,
            content_dir: None,
            hasher: Sha256::new(),
            bytes: 0,
            offset: 0,
            gaps: Vec::new(),
            first_frame: None,
            last_frame: 0,
            sniff: Vec::new(),
            out: None,
            extract_error: None,
            emitted: false,
        }
    }

    /// Bytes of content so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Takes a chunk of the data connection in direction `dir` (0 or 1) from frame `frame`.
    pub fn push(&mut self, dir: usize, chunk: Chunk<'_>, frame: u64, extract: Option<&Path>) {
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
                if let Some(dir) = extract {
                    self.write_out(dir, Some(d), 0);
                }
            }
            Chunk::Gap { len } => {
                self.gaps.push([self.offset, len]);
                if extract.is_some() {
                    self.write_out(Path::new(""), None, len);
                }
                self.offset += len;
            }
        }
    }

    fn write_out(&mut self, dir: &Path, data: Option<&[u8]>, skip: u64) {
        if self.extract_error.is_some() {
            return;
        }
        if self.out.is_none() {
            let path = dir.join(format!(".inspector-{}.part", self.id));
            match File::create(&path) {
                Ok(f) => self.out = Some((path, BufWriter::with_capacity(1 << 16, f))),
                Err(e) => {
                    self.extract_error = Some(format!("{}: {e}", path.display()));
                    return;
                }
            }
        }
        let Some((_, w)) = self.out.as_mut() else {
            return;
        };
        let result = match data {
            Some(d) => w.write_all(d),
            // A gap leaves a hole (zeros) so later bytes keep their offsets.
            None => w
                .seek(SeekFrom::Current(i64::try_from(skip).unwrap_or(i64::MAX)))
                .map(|_| ()),
        };
        if let Err(e) = result {
            self.extract_error = Some(e.to_string());
        }
    }

    /// Guesses listing or file from the first bytes (for data connections nobody announced).
    fn guess_direction(&self) -> Direction {
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
            Direction::Listing
        } else {
            Direction::Download
        }
    }

    /// When the FIN of the content was not captured, TCP alone cannot say where the content
    /// ended: a peer's ACK of the FIN reaches one past the data, and a lost tail leaves no trace
    /// at all when the peer's ACKs were lost with it. The announced size settles both: a
    /// trailing gap one byte past it is the FIN's sequence number, not data; and a transfer the
    /// server confirmed (2xx) on a data connection that was not reset (a RST throws away what
    /// was still queued) ends at that size, its missing tail a gap. So the content plus the
    /// gaps is the whole file, and the gaps say exactly what the capture lost.
    fn account_for_an_unseen_end(&mut self, direction: Direction, extract: Option<&Path>) {
        let end_seen = self.content_dir.is_some_and(|d| self.ends_seen[d]);
        let Some(expected) = self.expected_bytes else {
            return;
        };
        if end_seen
            || !self.connected
            || self.ascii
            || direction == Direction::Listing
            || self.content_dir.is_none()
        {
            return;
        }
        let confirmed = self
            .final_reply
            .is_some_and(|(code, _)| (200..300).contains(&code));
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
        } else if have < expected && confirmed && !self.ended_by_rst {
            let len = expected - have;
            self.gaps.push([self.offset, len]);
            if extract.is_some() {
                self.write_out(Path::new(""), None, len);
            }
            self.offset += len;
        }
    }

    /// Closes the extract file under a safe unique name and builds the event.
    pub fn finish(&mut self, extract: Option<&Path>, names: &mut HashSet<String>) -> TransferEvent {
        self.emitted = true;
        let guessed = self.direction.is_none();
        let direction = self.direction.unwrap_or_else(|| self.guess_direction());
        self.account_for_an_unseen_end(direction, extract);
        let mut reasons = Vec::new();
        match self.final_reply {
            Some((code, _)) if (200..300).contains(&code) => {}
            Some((code, _)) => reasons.push(format!("server replied {code}")),
            None if self.session.is_some() => reasons.push("no final reply in the capture".into()),
            None => reasons.push("control connection not in the capture".into()),
        }
        // A 226 without the data connection in the capture proves nothing about the bytes: the
        // hash of nothing must not pass for the file's.
        if !self.connected {
            reasons.push("data connection not in the capture".into());
        }
        if !self.gaps.is_empty() {
            let missing: u64 = self.gaps.iter().map(|g| g[1]).sum();
            reasons.push(format!(
                "{missing} bytes missing in {} gap(s)",
                self.gaps.len()
            ));
        }
        if self.reset {
            reasons.push("data connection reset".into());
        }
        if let Some(expected) = self.expected_bytes
            && !self.ascii
            && direction != Direction::Listing
        {
            let have = self.offset + self.rest.unwrap_or(0);
            if have != expected {
                reasons.push(format!("{have} of {expected} announced bytes"));
            }
        }
        let extracted = self.close_extract(extract, names, direction);
        if let Some(e) = &self.extract_error {
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
            sha256: (self.gaps.is_empty() && self.connected)
                .then(|| hex::encode(hasher.finalize())),
            complete: reasons.is_empty(),
            incomplete_reason: (!reasons.is_empty()).then(|| reasons.join("; ")),
            expected_bytes: self.expected_bytes,
            rest: self.rest,
            gaps: self.gaps.clone(),
            mode: self.mode,
            data_frames: self.first_frame.map(|f| [f, self.last_frame]),
            reply: self.final_reply.map(|(c, _)| c),
            extracted,
        }
    }

    fn close_extract(
        &mut self,
        extract: Option<&Path>,
        names: &mut HashSet<String>,
        direction: Direction,
    ) -> Option<String> {
        let dir = extract?;
        let (part, mut w) = self.out.take()?;
        if let Err(e) = w.flush() {
            self.extract_error = Some(e.to_string());
            return None;
        }
        // A file that ends in a gap must still have its full length.
        if let Ok(f) = w.into_inner()
            && let Err(e) = f.set_len(self.offset)
        {
            self.extract_error = Some(e.to_string());
        }
        let wanted = match (&self.name, direction) {
            (Some(n), Direction::Download | Direction::Upload) => safe_name(n),
            (_, Direction::Listing) => format!(
                "listing-s{}-f{}.txt",
                self.session.unwrap_or(0),
                self.command_frame.or(self.first_frame).unwrap_or(0)
            ),
            (None, _) => format!("data-f{}.bin", self.first_frame.unwrap_or(0)),
        };
        let name = unique(&wanted, names, dir);
        match std::fs::rename(&part, dir.join(&name)) {
            Ok(()) => Some(name),
            Err(e) => {
                self.extract_error = Some(format!("{}: {e}", dir.join(&name).display()));
                let _ = std::fs::remove_file(&part);
                None
            }
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

/// `name`, or `name-2.ext`, `name-3.ext`… whichever is not taken yet.
fn unique(name: &str, names: &mut HashSet<String>, dir: &Path) -> String {
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => name.split_at(i),
        _ => (name, ""),
    };
    let mut candidate = name.to_owned();
    let mut n = 1;
    while names.contains(&candidate) || dir.join(&candidate).exists() {
        n += 1;
        candidate = format!("{stem}-{n}{ext}");
    }
    names.insert(candidate.clone());
    candidate
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
        assert_eq!(t.guess_direction(), Direction::Listing);
        let mut t = Transfer::new(0, None);
        t.push(1, Chunk::Data(&[0, 159, 146, 150]), 3, None);
        assert_eq!(t.guess_direction(), Direction::Download);
    }
}
