//! Frames a capture holds twice: two captures of the same traffic concatenated (`mergecap -a`),
//! or a capture on Linux's `any` device that sees one packet on two devices.
//!
//! A repeat is a frame whose content was already seen *and whose timestamp is not later than the
//! first copy's* (the same timestamp, or time running backwards). A retransmission is different:
//! TCP sends the bytes again *later*, so it still goes to the reassembler, which counts it.
//! Content means, for a TCP segment, the segment itself (addresses, ports, sequence and
//! acknowledgement numbers, flags, payload length and up to 64 bytes of each end of the
//! payload: a cheap digest that does not read every byte of a 1 GiB transfer twice), which also
//! catches the `any` case where the link headers of the two copies differ; for any other frame,
//! every byte of it. On Ethernet the MAC addresses count too: a segment again between other
//! MACs was sent on by a host in the middle ([`crate::forwarded`]), maybe within the same
//! microsecond, and is no repeat.
//!
//! Memory is bounded and the common case cheap. The digests of the capture's first [`HEAD`]
//! frames are kept for good (a concatenated capture repeats from its start), those of the latest
//! [`RING`] frames in a ring: 98,304 entries of 24 bytes, 2.3 MiB, whatever the size of the
//! capture. While time runs forward, as it does in almost every capture, no frame can repeat an
//! earlier one with a timestamp not earlier than its own, so nothing is looked up: a frame costs
//! its digest and one store. A frame with the same timestamp as the latest (loopback captures
//! give many frames one microsecond) can only repeat a frame of that same instant: those are
//! kept in a short list ([`SAME_INSTANT`] at most) and compared one by one. The first frame
//! whose time runs backwards, or an instant with more frames than the list holds, builds a hash
//! index of the entries (at most 2^17 slots of 13 bytes, 1.7 MiB), kept up to date from then
//! on. A repeat whose first copy is no longer in the window is not recognised and is read like
//! any other frame.

use crate::event::FindingEvent;
use crate::frame::Segment;
use rustc_hash::{FxBuildHasher, FxHasher};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::time::Duration;

/// Digests of the first frames of the capture, kept to the end.
pub const HEAD: usize = 1 << 15;
/// Digests of the latest frames.
pub const RING: usize = 1 << 16;

/// Frames of one instant compared one by one before the hash index is worth building.
pub const SAME_INSTANT: usize = 32;

/// Bytes of each end of a TCP payload that go into its digest.
const SAMPLE: usize = 64;

/// A frame's digest, where and when it was seen.
#[derive(Debug, Clone, Copy)]
struct Entry {
    digest: u64,
    frame: u64,
    /// Nanoseconds since the epoch (`u64` lasts until 2554).
    time: u64,
}

/// Recognises repeated frames with bounded memory.
#[derive(Debug, Default)]
pub struct Duplicates {
    head: Vec<Entry>,
    ring: Vec<Entry>,
    ring_at: usize,
    /// Digest → slot (`HEAD + i` for ring slot `i`), built when time first runs backwards or
    /// one instant holds more than [`SAME_INSTANT`] frames.
    index: Option<HashMap<u64, u32, FxBuildHasher>>,
    latest: u64,
    /// The frames whose time is `latest`, while there are at most [`SAME_INSTANT`] of them
    /// (`None` past that: the index answers).
    same_instant: Option<Vec<Entry>>,
    /// Repeated frames found.
    pub count: u64,
    /// The first repeat: (its frame, the frame it repeats).
    pub first: Option<(u64, u64)>,
    /// The last repeat: (its frame, the frame it repeats).
    pub last: Option<(u64, u64)>,
}

/// The digest of a TCP segment (see the module documentation).
pub fn segment_digest(seg: &Segment<'_>) -> u64 {
    let mut h = FxHasher::default();
    (seg.src, seg.dst, seg.seq, seg.ack_number).hash(&mut h);
    (seg.syn, seg.ack, seg.fin, seg.rst, seg.missing).hash(&mut h);
    let p = seg.payload;
    p.len().hash(&mut h);
    p.get(..SAMPLE.min(p.len()))
        .unwrap_or_default()
        .hash(&mut h);
    p.get(p.len().saturating_sub(SAMPLE)..)
        .unwrap_or_default()
        .hash(&mut h);
    h.finish()
}

/// `digest` told apart by the Ethernet addresses (the first 12 bytes of `frame`): a segment
/// that comes again between other MACs was sent on by a host in the middle
/// ([`crate::forwarded`]), not captured twice.
pub fn with_macs(digest: u64, frame: &[u8]) -> u64 {
    let mut h = FxHasher::default();
    (digest, frame.get(..12).unwrap_or_default()).hash(&mut h);
    h.finish()
}

/// The digest of a frame that is not a TCP segment: all its bytes.
pub fn frame_digest(bytes: &[u8]) -> u64 {
    let mut h = FxHasher::default();
    // A tag so that a frame never shares a digest with a segment by construction.
    (1u8, bytes).hash(&mut h);
    h.finish()
}

impl Duplicates {
    /// An empty window.
    pub fn new() -> Duplicates {
        Duplicates::default()
    }

    /// True when frame `frame`, taken at `time`, repeats an earlier frame with digest `digest`
    /// whose timestamp is not earlier. Remembers the frame otherwise.
    pub fn is_repeat(&mut self, digest: u64, frame: u64, time: Duration) -> bool {
        let time = u64::try_from(time.as_nanos()).unwrap_or(u64::MAX);
        let first = if time > self.latest || self.head.is_empty() {
            self.latest = self.latest.max(time);
            self.same_instant.get_or_insert_with(Vec::new).clear();
            None
        } else if time == self.latest
            && self.index.is_none()
            && let Some(instant) = &self.same_instant
        {
            instant.iter().find(|e| e.digest == digest).copied()
        } else {
            self.earlier(digest)
        };
        if let Some(first) = first
            && time <= first.time
        {
            self.count += 1;
            self.first.get_or_insert((frame, first.frame));
            self.last = Some((frame, first.frame));
            return true;
        }
        self.remember(Entry {
            digest,
            frame,
            time,
        });
        false
    }

    /// The entry with `digest`, building the index on first use.
    fn earlier(&mut self, digest: u64) -> Option<Entry> {
        let index = self.index.get_or_insert_with(|| {
            let mut index = HashMap::with_capacity_and_hasher(HEAD + RING, FxBuildHasher);
            let slots = (0..)
                .zip(self.head.iter())
                .chain((HEAD as u32..).zip(self.ring.iter()));
            for (slot, e) in slots {
                index.insert(e.digest, slot);
            }
            index
        });
        let slot = *index.get(&digest)? as usize;
        match slot.checked_sub(HEAD) {
            None => self.head.get(slot).copied(),
            Some(i) => self.ring.get(i).copied(),
        }
    }

    fn remember(&mut self, entry: Entry) {
        if entry.time == self.latest
            && let Some(instant) = &mut self.same_instant
        {
            if instant.len() < SAME_INSTANT {
                instant.push(entry);
            } else {
                self.same_instant = None;
            }
        }
        let slot = if self.head.len() < HEAD {
            self.head.push(entry);
            self.head.len() - 1
        } else {
            let i = self.ring_at;
            self.ring_at = (i + 1) % RING;
            if let Some(old) = self.ring.get_mut(i) {
                let evicted = std::mem::replace(old, entry);
                if let Some(index) = &mut self.index
                    && index.get(&evicted.digest) == Some(&((HEAD + i) as u32))
                {
                    index.remove(&evicted.digest);
                }
            } else {
                self.ring.push(entry);
            }
            HEAD + i
        };
        if let Some(index) = &mut self.index {
            index.insert(entry.digest, slot as u32);
        }
    }

    /// The finding that says how many frames repeat and where the repeat starts, if any did.
    pub fn finding(&self, capture: &str) -> Option<FindingEvent> {
        let (first, original) = self.first?;
        let (last, last_original) = self.last.unwrap_or((first, original));
        let mut frames = vec![original, first];
        if last != first {
            frames.extend([last_original, last]);
        }
        frames.sort_unstable();
        frames.dedup();
        Some(FindingEvent {
            id: "duplicate-frames",
            severity: "info",
            message: format!(
                "{capture}: {} frame(s) repeat earlier frames (same content, time not later) and \
                 were left out: the repeat starts at frame {first} (a copy of frame {original}), \
                 the last is frame {last} (a copy of frame {last_original})",
                self.count
            ),
            frame: first,
            session: None,
            filter: crate::report::frame_filter(&frames),
            frames,
            why: "a capture concatenated with itself (mergecap -a) or taken on Linux's `any` \
                  device holds packets twice; read twice, each login and file would count double \
                  and repeated connections would look like port reuse",
            fix: "nothing to fix on the network; to drop the copies from the file, \
                  `editcap -D 1000 in.pcap out.pcap` removes exact duplicates",
            reference: "Wireshark User's Guide, editcap (duplicate removal)",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_content_at_the_same_or_an_earlier_time_is_a_repeat_and_later_is_not() {
        let mut d = Duplicates::new();
        let t = Duration::from_secs(10);
        assert!(!d.is_repeat(7, 1, t));
        assert!(d.is_repeat(7, 2, t));
        assert!(d.is_repeat(7, 3, t - Duration::from_millis(1)));
        // A retransmission: later in time, not a repeat.
        assert!(!d.is_repeat(7, 4, t + Duration::from_millis(200)));
        assert_eq!(d.count, 2);
        assert_eq!(d.first, Some((2, 1)));
        let f = d.finding("x.pcap").unwrap();
        assert!(f.message.contains("2 frame(s)"), "{}", f.message);
        assert!(f.message.contains("starts at frame 2 (a copy of frame 1)"));
    }

    #[test]
    fn frames_of_one_instant_are_compared_without_an_index_until_there_are_too_many() {
        let mut d = Duplicates::new();
        let t = Duration::from_micros(5);
        for i in 0..SAME_INSTANT as u64 {
            assert!(!d.is_repeat(100 + i, i + 1, t));
        }
        // The same instant's repeats are found in the short list.
        assert!(d.is_repeat(100, 50, t));
        assert!(d.is_repeat(100 + SAME_INSTANT as u64 - 1, 51, t));
        assert!(
            d.index.is_none(),
            "no index for a few frames of one instant"
        );
        // One more new frame at that instant: the index takes over and still knows them all.
        assert!(!d.is_repeat(999, 52, t));
        assert!(d.is_repeat(101, 53, t));
        assert!(d.is_repeat(999, 54, t));
        assert!(d.index.is_some());
        // A later instant starts a new list; the earlier instant's frames are no repeats then.
        let mut d = Duplicates::new();
        assert!(!d.is_repeat(1, 1, t));
        assert!(!d.is_repeat(2, 2, t + Duration::from_micros(1)));
        assert!(!d.is_repeat(1, 3, t + Duration::from_micros(1)));
        assert!(d.index.is_none());
        // Time running backwards still finds them through the index.
        assert!(d.is_repeat(2, 4, t));
        assert_eq!(d.count, 1);
    }

    #[test]
    fn the_window_is_bounded() {
        let mut d = Duplicates::new();
        let n = (HEAD + 3 * RING) as u64;
        for i in 0..n {
            d.is_repeat(i, i + 1, Duration::from_secs(i + 1));
        }
        assert_eq!(d.head.len(), HEAD);
        assert_eq!(d.ring.len(), RING);
        assert!(
            d.index.is_none(),
            "time only ran forward: nothing looked up"
        );
        // The start of the capture and the latest frames are still known, the middle is not.
        assert!(d.is_repeat(0, n + 1, Duration::from_secs(1)));
        let middle = (HEAD + RING) as u64;
        assert!(!d.is_repeat(middle, n + 2, Duration::ZERO));
        assert!(d.is_repeat(n - 1, n + 3, Duration::from_secs(n)));
        assert!(d.index.as_ref().is_some_and(|i| i.len() <= HEAD + RING));
        // Ring entries evicted later leave the index too.
        for i in n..n + RING as u64 {
            d.is_repeat(i + 1_000_000, i + 10, Duration::from_secs(1));
        }
        assert!(d.index.as_ref().is_some_and(|i| i.len() <= HEAD + RING));
        assert!(!d.is_repeat(n - 1, n + RING as u64 + 20, Duration::ZERO));
    }
}
