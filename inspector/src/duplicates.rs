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
//! every byte of it.
//!
//! Memory is bounded: at most [`HEAD`] digests of the capture's first frames are kept for good
//! (a concatenated capture repeats from its start), and the most recent ones in two generations
//! of at most [`GENERATION`] digests each (so the last 57,344 to 114,688 frames are always
//! covered). That is at most 143,360 digests in tables of 2^15 + 2 × 2^16 slots of 25 bytes,
//! 4 MiB, whatever the size of the capture. A repeat whose first copy is older than that window
//! is not recognised and is read like any other frame.

use crate::event::FindingEvent;
use crate::frame::Segment;
use rustc_hash::{FxBuildHasher, FxHasher};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::time::Duration;

/// Digests of the first frames of the capture, kept to the end. 7/8 of a power of two: the
/// hash table's largest load, so the table never grows past 2^15 slots.
pub const HEAD: usize = 28_672;
/// Digests of recent frames per generation (two generations are kept); 7/8 of 2^16.
pub const GENERATION: usize = 57_344;

/// Bytes of each end of a TCP payload that go into its digest.
const SAMPLE: usize = 64;

/// Where a digest was first seen (16 bytes: a slot of the table is 25 with its key and
/// control byte).
#[derive(Debug, Clone, Copy)]
struct Seen {
    frame: u64,
    /// Nanoseconds since the epoch (`u64` lasts until 2554).
    time: u64,
}

/// Recognises repeated frames with bounded memory.
#[derive(Debug, Default)]
pub struct Duplicates {
    head: HashMap<u64, Seen, FxBuildHasher>,
    current: HashMap<u64, Seen, FxBuildHasher>,
    previous: HashMap<u64, Seen, FxBuildHasher>,
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
        let earlier = self
            .current
            .get(&digest)
            .or_else(|| self.previous.get(&digest))
            .or_else(|| self.head.get(&digest))
            .copied();
        let time = u64::try_from(time.as_nanos()).unwrap_or(u64::MAX);
        if let Some(first) = earlier
            && time <= first.time
        {
            self.count += 1;
            self.first.get_or_insert((frame, first.frame));
            self.last = Some((frame, first.frame));
            return true;
        }
        let seen = Seen { frame, time };
        if self.head.len() < HEAD {
            self.head.insert(digest, seen);
            return false;
        }
        if self.current.len() >= GENERATION {
            // The older generation is forgotten; its table is reused (no allocation churn).
            std::mem::swap(&mut self.current, &mut self.previous);
            self.current.clear();
        }
        self.current.insert(digest, seen);
        false
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
    fn the_window_is_bounded() {
        let mut d = Duplicates::new();
        let n = (HEAD + 3 * GENERATION) as u64;
        for i in 0..n {
            d.is_repeat(i, i + 1, Duration::from_secs(i));
        }
        assert!(d.head.len() <= HEAD);
        assert!(d.current.len() <= GENERATION && d.previous.len() <= GENERATION);
        // The start of the capture is still known, the middle is forgotten.
        assert!(d.is_repeat(0, n + 1, Duration::ZERO));
        let middle = (HEAD + GENERATION / 2) as u64;
        assert!(!d.is_repeat(middle, n + 2, Duration::ZERO));
    }
}
