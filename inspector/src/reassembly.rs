//! TCP stream reassembly, one [`Reassembler`] per direction of a connection.
//!
//! TCP numbers every byte it sends (RFC 9293 §3.4). A capture shows the segments in the order the
//! capturing host saw them, which is not always the order of the bytes:
//!
//! - **Out of order**: a later segment arrives before an earlier one. We keep it aside (bounded)
//!   until the bytes before it arrive.
//! - **Retransmission**: the sender sends bytes again because it saw no acknowledgement. We keep
//!   the *first* copy and count the repeat. (An attacker can send a different second copy; the
//!   receiving host usually keeps the first too.)
//! - **Duplicate frames**: a capture on Linux loopback can hold each packet twice. That is the
//!   same as a retransmission to us.
//! - **Conflicting copies**: a second copy of bytes that says something *else* is no honest
//!   retransmission: someone injected it, or a middlebox rewrote it. We still keep the first copy
//!   but count the segment in [`Stats::conflicts`], so the report can say which file is in
//!   doubt. Bytes still kept aside are compared exactly. Of bytes already handed on, the last
//!   [`TAIL`] bytes that came in short chunks (commands, replies, small files) are kept and
//!   compared exactly, and the last [`RECENT`] chunks are remembered as digests (the whole chunk
//!   up to 512 bytes, else its length and first and last 128 bytes) that a retransmission
//!   covering a whole chunk is checked against: a constant cost per chunk, so bulk data is not
//!   read twice. A copy that contradicts only part of a long chunk already handed on is not
//!   seen.
//! - **Loss**: the capture missed a segment (the kernel dropped it, or the snap length cut it).
//!   Those bytes are gone: we hand on an explicit [`Chunk::Gap`] of the right length, never
//!   invented bytes.
//!
//! Sequence numbers are 32 bits and wrap around, so "before" and "after" are decided by the
//! signed distance between two numbers ([`SeqNumber::distance`]), as RFC 1982 serial numbers are.
//! Internally every byte gets a 64-bit *stream offset* (0 = first byte after the SYN), which does
//! not wrap, even for a 1 GiB transfer.

use std::collections::BTreeMap;

/// A TCP sequence number: a `u32` compared with wrapping arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SeqNumber(pub u32);

impl SeqNumber {
    /// Signed distance from `other` to `self`: positive when `self` comes after `other`.
    pub fn distance(self, other: SeqNumber) -> i64 {
        i64::from(self.0.wrapping_sub(other.0) as i32)
    }

    /// True when `self` comes strictly before `other` (within half the number space).
    pub fn precedes(self, other: SeqNumber) -> bool {
        self.distance(other) < 0
    }

    /// The number `n` bytes later.
    pub fn plus(self, n: u64) -> SeqNumber {
        SeqNumber(self.0.wrapping_add(n as u32))
    }
}

/// What the reassembler hands on, in stream order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chunk<'a> {
    /// Bytes, in order.
    Data(&'a [u8]),
    /// `len` bytes that were sent but are not in the capture.
    Gap {
        /// How many bytes are missing.
        len: u64,
    },
}

/// Counters a report can show.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Bytes handed on as data.
    pub delivered: u64,
    /// Bytes seen again after their first copy (retransmissions, duplicate frames).
    pub repeated: u64,
    /// Segments that arrived before the bytes in front of them.
    pub out_of_order: u64,
    /// Number of gaps handed on.
    pub gaps: u64,
    /// Bytes in those gaps.
    pub gap_bytes: u64,
    /// Segments dropped because they lay absurdly far ahead.
    pub out_of_window: u64,
    /// Segments whose bytes differ from an earlier copy of the same stream bytes (the first copy
    /// was kept).
    pub conflicts: u64,
}

/// Chunks already handed on that are remembered (as digests) to check retransmissions against.
pub const RECENT: usize = 16;
/// Bytes of short chunks already handed on that are kept to compare retransmissions with.
pub const TAIL: usize = 1024;
/// Chunks up to this length are short: their bytes go into the tail.
const SHORT: usize = 512;

/// A chunk already handed on: its stream offset, length and digest.
#[derive(Debug, Clone, Copy, Default)]
struct Recent {
    start: u64,
    len: u64,
    digest: u64,
}

/// A digest of a chunk: all of it when short, else its length and both ends (constant cost per
/// chunk on the hot path).
fn digest(bytes: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    if bytes.len() <= 512 {
        bytes.hash(&mut h);
    } else {
        bytes.len().hash(&mut h);
        bytes.get(..128).hash(&mut h);
        bytes.get(bytes.len() - 128..).hash(&mut h);
    }
    h.finish()
}

/// How far ahead of the next expected byte a segment may start.
const MAX_AHEAD: i64 = 1 << 30;

/// Out-of-order material waiting for the bytes before it.
#[derive(Debug, Clone)]
enum Piece {
    Data(Vec<u8>),
    /// Bytes known to exist but not captured (snap length).
    Missing(u64),
}

impl Piece {
    fn len(&self) -> u64 {
        match self {
            Piece::Data(d) => d.len() as u64,
            Piece::Missing(n) => *n,
        }
    }
}

/// Reassembles one direction of a TCP connection.
#[derive(Debug)]
pub struct Reassembler {
    /// Sequence number of stream offset 0; `None` until the first segment.
    base: Option<SeqNumber>,
    /// Offset of the next byte to hand on.
    next: u64,
    /// Out-of-order pieces by stream offset; they never overlap each other.
    pending: BTreeMap<u64, Piece>,
    /// Bytes of data held in `pending`.
    pending_bytes: usize,
    /// Most data `pending` may hold before the oldest hole is declared a gap.
    cap: usize,
    /// Stream offset of the FIN, once seen.
    fin_at: Option<u64>,
    /// Highest offset the other side acknowledged: bytes below it were sent.
    acked: u64,
    /// The last chunks handed on, as a ring.
    recent: [Recent; RECENT],
    recent_at: usize,
    /// The last bytes handed on in short chunks, contiguous, starting at stream offset
    /// `tail_start` (empty after a long chunk or a gap).
    tail: Vec<u8>,
    tail_start: u64,
    /// Counters.
    pub stats: Stats,
}

impl Reassembler {
    /// A reassembler that buffers at most `cap` bytes of out-of-order data.
    pub fn new(cap: usize) -> Reassembler {
        Reassembler {
            base: None,
            next: 0,
            pending: BTreeMap::new(),
            pending_bytes: 0,
            cap,
            fin_at: None,
            acked: 0,
            recent: [Recent::default(); RECENT],
            recent_at: 0,
            tail: Vec::new(),
            tail_start: 0,
            stats: Stats::default(),
        }
    }

    /// Bytes handed on so far, gaps included: the stream offset of the next byte.
    pub fn offset(&self) -> u64 {
        self.next
    }

    /// True once the FIN was reached in order: nothing more will come.
    pub fn is_finished(&self) -> bool {
        self.fin_at.is_some_and(|f| self.next >= f)
    }

    /// True once a FIN was seen, so the stream's length is known (even if bytes before it were
    /// lost).
    pub fn fin_seen(&self) -> bool {
        self.fin_at.is_some()
    }

    /// Bytes currently held out of order.
    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// Stream offset of sequence number `seq` (may be negative: before the start).
    fn offset_of(&self, base: SeqNumber, seq: SeqNumber) -> i64 {
        // Measure from the next expected byte, so wrapping is judged near where we are.
        let next_seq = base.plus(self.next);
        self.next as i64 + seq.distance(next_seq)
    }

    /// Notes an acknowledgement number sent by the *other* side: every byte before it was sent
    /// by this side, so a hole below it at the end is a gap, not just silence.
    pub fn note_ack(&mut self, ack: u32) {
        if let Some(base) = self.base {
            let off = self.offset_of(base, SeqNumber(ack));
            if off > self.acked as i64 && off - (self.next as i64) <= MAX_AHEAD {
                self.acked = off as u64;
            }
        }
    }

    /// Takes one segment and hands on every byte that is now in order.
    ///
    /// `missing` is the number of payload bytes that were on the wire after `payload` but not
    /// captured. `out` receives the chunks, in order.
    #[allow(
        clippy::too_many_arguments,
        reason = "the fields of one TCP segment, kept flat for the hot path"
    )]
    pub fn push_segment(
        &mut self,
        seq: u32,
        syn: bool,
        fin: bool,
        payload: &[u8],
        missing: u32,
        out: &mut impl FnMut(Chunk<'_>),
    ) {
        let seq = SeqNumber(seq);
        let base = match self.base {
            Some(base) => base,
            None => {
                // The SYN itself takes one sequence number; data starts after it. Without a SYN
                // (the capture began mid-connection) the first segment we see is offset 0.
                let base = if syn { seq.plus(1) } else { seq };
                self.base = Some(base);
                base
            }
        };
        let data_seq = if syn { seq.plus(1) } else { seq };
        let start = self.offset_of(base, data_seq);
        let len = payload.len() as i64;
        let end = start + len + i64::from(missing);
        if fin && end >= 0 && self.fin_at.is_none() {
            self.fin_at = Some(end as u64);
        }
        if payload.is_empty() && missing == 0 {
            return;
        }
        // Nothing real lies more than a maximal TCP window (2^30 bytes, RFC 7323 §2.3) ahead.
        if start - self.next as i64 > MAX_AHEAD {
            self.stats.out_of_window += 1;
            return;
        }
        if start + len > self.next as i64 && start > self.next as i64 {
            self.stats.out_of_order += 1;
        }
        self.insert(start, payload, out);
        if missing > 0 {
            self.insert_missing(start + len, u64::from(missing), out);
        }
        self.drain(out);
        self.enforce_cap(out);
    }

    /// Puts data at offset `start` into the stream, first copy winning.
    fn insert(&mut self, start: i64, payload: &[u8], out: &mut impl FnMut(Chunk<'_>)) {
        let end = start + payload.len() as i64;
        let next = self.next as i64;
        if start < next && self.disagrees_with_recent(start, payload) {
            self.stats.conflicts += 1;
        }
        if end <= next {
            self.stats.repeated += payload.len() as u64;
            return;
        }
        // Trim what was already handed on.
        let skip = (next - start).max(0);
        let mut start = start + skip;
        let mut payload = payload.get(skip as usize..).unwrap_or_default();
        self.stats.repeated += skip as u64;
        if start == next {
            // In order: hand on directly, up to the first piece kept aside (its copy came
            // first, so from there on that piece wins).
            let limit = self
                .pending
                .keys()
                .next()
                .map_or(payload.len(), |&k| (k as i64 - start).max(0) as usize)
                .min(payload.len());
            let (now, later) = payload.split_at(limit);
            if !now.is_empty() {
                self.deliver(Chunk::Data(now), out);
            }
            start += limit as i64;
            payload = later;
            if payload.is_empty() {
                return;
            }
        }
        self.keep_aside(start as u64, payload);
    }

    /// True when a chunk already handed on lies inside the part of `payload` (at `start`)
    /// before the next expected byte, and its digest differs from those bytes of `payload`.
    fn disagrees_with_recent(&self, start: i64, payload: &[u8]) -> bool {
        let repeat_end = (start + payload.len() as i64).min(self.next as i64);
        let (ts, te) = (
            self.tail_start as i64,
            self.tail_start as i64 + self.tail.len() as i64,
        );
        let (from, to) = (start.max(ts), repeat_end.min(te));
        if from < to {
            let kept = self.tail.get((from - ts) as usize..(to - ts) as usize);
            let again = payload.get((from - start) as usize..(to - start) as usize);
            if kept != again {
                return true;
            }
        }
        self.recent.iter().any(|r| {
            let (s, e) = (r.start as i64, (r.start + r.len) as i64);
            r.len > 0 && s >= start && e <= repeat_end && {
                let from = (s - start) as usize;
                let to = (e - start) as usize;
                payload.get(from..to).is_some_and(|b| digest(b) != r.digest)
            }
        })
    }

    /// Stores the parts of `[start, start + len)` that no earlier piece covers.
    fn keep_aside(&mut self, start: u64, payload: &[u8]) {
        let end = start + payload.len() as u64;
        let mut cursor = start;
        let mut covered: Vec<(u64, u64)> = Vec::new();
        if let Some((&k, p)) = self.pending.range(..start).next_back()
            && k + p.len() > start
        {
            covered.push((k, k + p.len()));
        }
        covered.extend(
            self.pending
                .range(start..end)
                .map(|(&k, p)| (k, k + p.len())),
        );
        let mut fresh: Vec<(u64, Vec<u8>)> = Vec::new();
        let mut conflict = false;
        for (k, kend) in covered {
            if k > cursor {
                fresh.push((cursor, slice(payload, cursor - start, k - start).to_vec()));
            }
            let (from, to) = (cursor.max(k), kend.min(end));
            self.stats.repeated += to.saturating_sub(from);
            if to > from
                && let Some(Piece::Data(kept)) = self.pending.get(&k)
            {
                conflict |=
                    slice(kept, from - k, to - k) != slice(payload, from - start, to - start);
            }
            cursor = cursor.max(kend);
        }
        if conflict {
            self.stats.conflicts += 1;
        }
        if cursor < end {
            fresh.push((cursor, slice(payload, cursor - start, end - start).to_vec()));
        }
        for (k, bytes) in fresh {
            self.pending_bytes += bytes.len();
            self.pending.insert(k, Piece::Data(bytes));
        }
    }

    /// Records that `[start, start + len)` was on the wire but not captured.
    fn insert_missing(&mut self, start: i64, len: u64, out: &mut impl FnMut(Chunk<'_>)) {
        let next = self.next as i64;
        let end = start + len as i64;
        if end <= next {
            return;
        }
        let start = start.max(next) as u64;
        let len = end as u64 - start;
        if start == self.next && self.pending.is_empty() {
            self.deliver(Chunk::Gap { len }, out);
        } else {
            self.pending.entry(start).or_insert(Piece::Missing(len));
        }
    }

    /// Hands on every kept-aside piece that is now in order.
    fn drain(&mut self, out: &mut impl FnMut(Chunk<'_>)) {
        while let Some(entry) = self.pending.first_entry() {
            let k = *entry.key();
            if k > self.next {
                break;
            }
            let piece = entry.remove();
            if let Piece::Data(d) = &piece {
                self.pending_bytes -= d.len();
            }
            let skip = self.next - k;
            if skip >= piece.len() {
                continue;
            }
            match piece {
                Piece::Data(d) => {
                    self.deliver(Chunk::Data(d.get(skip as usize..).unwrap_or_default()), out)
                }
                Piece::Missing(n) => self.deliver(Chunk::Gap { len: n - skip }, out),
            }
        }
    }

    /// Memory bound: when too much waits for a hole to fill, the hole is declared lost.
    fn enforce_cap(&mut self, out: &mut impl FnMut(Chunk<'_>)) {
        while self.pending_bytes > self.cap {
            let Some(&k) = self.pending.keys().next() else {
                break;
            };
            if k > self.next {
                self.deliver(Chunk::Gap { len: k - self.next }, out);
            }
            self.drain(out);
        }
    }

    /// End of the connection or of the capture: hands on everything kept aside, with the holes
    /// between as gaps, and a final gap for bytes the FIN or the peer's ACKs prove were sent.
    pub fn finish(&mut self, out: &mut impl FnMut(Chunk<'_>)) {
        while let Some(&k) = self.pending.keys().next() {
            if k > self.next {
                self.deliver(Chunk::Gap { len: k - self.next }, out);
            }
            self.drain(out);
        }
        // The FIN itself takes a sequence number, so the peer's ACK of it is one past the data:
        // once the FIN is known it alone marks the end.
        let end = self.fin_at.unwrap_or(self.acked);
        if end > self.next {
            self.deliver(
                Chunk::Gap {
                    len: end - self.next,
                },
                out,
            );
        }
    }

    fn deliver(&mut self, chunk: Chunk<'_>, out: &mut impl FnMut(Chunk<'_>)) {
        match chunk {
            Chunk::Data(d) => {
                if let Some(slot) = self.recent.get_mut(self.recent_at % RECENT) {
                    *slot = Recent {
                        start: self.next,
                        len: d.len() as u64,
                        digest: digest(d),
                    };
                }
                self.recent_at = self.recent_at.wrapping_add(1);
                if d.len() <= SHORT {
                    if self.tail_start + self.tail.len() as u64 != self.next {
                        self.tail.clear();
                        self.tail_start = self.next;
                    }
                    self.tail.extend_from_slice(d);
                    if self.tail.len() > 2 * TAIL {
                        let drop = self.tail.len() - TAIL;
                        self.tail.drain(..drop);
                        self.tail_start += drop as u64;
                    }
                } else {
                    self.tail.clear();
                }
                self.next += d.len() as u64;
                self.stats.delivered += d.len() as u64;
            }
            Chunk::Gap { len } => {
                self.next += len;
                self.stats.gaps += 1;
                self.stats.gap_bytes += len;
            }
        }
        out(chunk);
    }
}

fn slice(bytes: &[u8], from: u64, to: u64) -> &[u8] {
    bytes.get(from as usize..to as usize).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Output flattened: data bytes, and `None` for each missing byte.
    fn run(r: &mut Reassembler, segs: &[(u32, bool, Vec<u8>)]) -> Vec<Option<u8>> {
        let mut got = Vec::new();
        let mut sink = |c: Chunk<'_>| match c {
            Chunk::Data(d) => got.extend(d.iter().map(|&b| Some(b))),
            Chunk::Gap { len } => got.extend(std::iter::repeat_n(None, len as usize)),
        };
        for (seq, syn, data) in segs {
            r.push_segment(*seq, *syn, false, data, 0, &mut sink);
        }
        r.finish(&mut sink);
        got
    }

    #[test]
    fn sequence_numbers_compare_across_the_wrap() {
        assert!(SeqNumber(u32::MAX - 5).precedes(SeqNumber(3)));
        assert!(!SeqNumber(3).precedes(SeqNumber(u32::MAX - 5)));
        assert_eq!(SeqNumber(2).distance(SeqNumber(u32::MAX)), 3);
    }

    #[test]
    fn out_of_order_segment_waits_for_the_hole() {
        let mut r = Reassembler::new(1 << 20);
        let segs = [
            (99, true, vec![]),
            (103, false, b"def".to_vec()),
            (100, false, b"abc".to_vec()),
        ];
        let got = run(&mut r, &segs);
        assert_eq!(got, b"abcdef".iter().map(|&b| Some(b)).collect::<Vec<_>>());
        assert_eq!(r.stats.out_of_order, 1);
    }

    #[test]
    fn retransmission_keeps_the_first_copy_and_is_counted() {
        let mut r = Reassembler::new(1 << 20);
        let segs = [
            (0, true, vec![]),
            (1, false, b"abc".to_vec()),
            (1, false, b"XYZ".to_vec()),
        ];
        let got = run(&mut r, &segs);
        assert_eq!(got, vec![Some(b'a'), Some(b'b'), Some(b'c')]);
        assert_eq!(r.stats.repeated, 3);
    }

    #[test]
    fn a_copy_with_different_bytes_is_counted_as_a_conflict_and_the_first_kept() {
        // Already handed on: a retransmission that covers the first chunk says something else.
        let mut r = Reassembler::new(1 << 20);
        let segs = [
            (0, true, vec![]),
            (1, false, b"abc".to_vec()),
            (4, false, b"def".to_vec()),
            (1, false, b"abcdef".to_vec()),
            (1, false, b"abXdef".to_vec()),
        ];
        let got = run(&mut r, &segs);
        assert_eq!(got, b"abcdef".iter().map(|&b| Some(b)).collect::<Vec<_>>());
        assert_eq!(r.stats.conflicts, 1);
        // Still kept aside (out of order): compared byte by byte.
        let mut r = Reassembler::new(1 << 20);
        let segs = [
            (0, true, vec![]),
            (10, false, b"klmnop".to_vec()),
            (12, false, b"mn".to_vec()),
            (13, false, b"Xo".to_vec()),
            (1, false, b"abcdefghi".to_vec()),
        ];
        let got = run(&mut r, &segs);
        assert_eq!(
            got,
            b"abcdefghiklmnop"
                .iter()
                .map(|&b| Some(b))
                .collect::<Vec<_>>()
        );
        assert_eq!(r.stats.conflicts, 1);
        // Part of a short chunk already handed on: compared with the kept tail.
        let mut r = Reassembler::new(1 << 20);
        let segs = [
            (0, true, vec![]),
            (1, false, b"abcdef".to_vec()),
            (3, false, b"cd".to_vec()),
            (3, false, b"cX".to_vec()),
        ];
        run(&mut r, &segs);
        assert_eq!(r.stats.conflicts, 1);
    }

    #[test]
    fn lost_segment_becomes_a_gap_of_its_length() {
        let mut r = Reassembler::new(1 << 20);
        let segs = [
            (0, true, vec![]),
            (1, false, b"ab".to_vec()),
            (6, false, b"f".to_vec()),
        ];
        let got = run(&mut r, &segs);
        assert_eq!(
            got,
            vec![Some(b'a'), Some(b'b'), None, None, None, Some(b'f')]
        );
        assert_eq!(r.stats.gap_bytes, 3);
    }

    #[test]
    fn stream_across_the_sequence_wrap_is_in_order() {
        let mut r = Reassembler::new(1 << 20);
        let isn = u32::MAX - 2;
        let segs = [
            (isn, true, vec![]),
            (isn.wrapping_add(1), false, b"ab".to_vec()),
            (isn.wrapping_add(3), false, b"cd".to_vec()),
        ];
        assert_eq!(run(&mut r, &segs).len(), 4);
        assert_eq!(r.stats.gaps, 0);
    }

    #[test]
    fn cap_bounds_what_is_kept_aside() {
        let mut r = Reassembler::new(10);
        let mut gaps = 0;
        let mut sink = |c: Chunk<'_>| {
            if matches!(c, Chunk::Gap { .. }) {
                gaps += 1;
            }
        };
        r.push_segment(0, true, false, &[], 0, &mut sink);
        for i in 0..10u32 {
            r.push_segment(100 + i * 8, false, false, &[0; 8], 0, &mut sink);
            assert!(r.pending_bytes() <= 10);
        }
        assert_eq!(gaps, 1);
    }

    #[test]
    fn missing_tail_after_fin_or_ack_is_a_gap() {
        let mut r = Reassembler::new(100);
        let mut got = Vec::new();
        let mut sink = |c: Chunk<'_>| got.push(format!("{c:?}"));
        r.push_segment(0, true, false, &[], 0, &mut sink);
        r.push_segment(1, false, false, b"ab", 0, &mut sink);
        r.note_ack(11);
        r.finish(&mut sink);
        assert_eq!(got.last().map(String::as_str), Some("Gap { len: 8 }"));
    }

    proptest! {
        /// Model test: any arrival order, overlap and duplication gives exactly the bytes of a
        /// byte map where the first copy of each byte wins, with gaps where no copy came.
        #[test]
        fn matches_a_first_copy_byte_map(
            isn in any::<u32>(),
            stream_len in 1usize..400,
            segs in prop::collection::vec((0usize..400, 1usize..60, any::<u8>()), 1..40),
            order in prop::collection::vec(any::<prop::sample::Index>(), 40),
        ) {
            // Each segment has an offset, a length and a "version" byte so that overlapping
            // copies can differ (first copy must win).
            let segs: Vec<(usize, Vec<u8>)> = segs
                .into_iter()
                .map(|(off, len, v)| {
                    let off = off % stream_len;
                    let end = (off + len).min(stream_len);
                    (off, (off..end).map(|i| (i as u8) ^ v).collect())
                })
                .collect();
            let mut shuffled = segs.clone();
            for (i, idx) in order.iter().enumerate().take(shuffled.len()) {
                let j = idx.index(shuffled.len());
                shuffled.swap(i, j);
            }
            let mut model: BTreeMap<usize, u8> = BTreeMap::new();
            for (off, data) in &shuffled {
                for (i, &b) in data.iter().enumerate() {
                    model.entry(off + i).or_insert(b);
                }
            }
            let last = model.keys().next_back().copied().unwrap_or(0);
            let expected: Vec<Option<u8>> = (0..=last).map(|i| model.get(&i).copied()).collect();

            let mut input = vec![(isn, true, Vec::new())];
            input.extend(
                shuffled
                    .iter()
                    .map(|(off, d)| (isn.wrapping_add(1).wrapping_add(*off as u32), false, d.clone())),
            );
            let mut r = Reassembler::new(1 << 20);
            let got = run(&mut r, &input);
            prop_assert_eq!(got, expected);
            prop_assert_eq!(r.pending_bytes(), 0);
        }

        /// Copies that agree (any order, overlap, duplication) are never a conflict.
        #[test]
        fn agreeing_copies_are_never_a_conflict(
            segs in prop::collection::vec((0usize..400, 1usize..60), 1..40),
        ) {
            let byte = |i: usize| (i * 31 % 251) as u8;
            let mut input = vec![(5000u32, true, Vec::new())];
            input.extend(segs.iter().map(|&(off, len)| {
                (5001 + off as u32, false, (off..off + len).map(byte).collect::<Vec<u8>>())
            }));
            let mut r = Reassembler::new(1 << 20);
            run(&mut r, &input);
            prop_assert_eq!(r.stats.conflicts, 0);
        }

        /// Whatever arrives, the amount kept aside never exceeds the cap and nothing panics.
        #[test]
        fn never_holds_more_than_the_cap(
            segs in prop::collection::vec((any::<u32>(), any::<bool>(), any::<bool>(), 0usize..300, 0u32..100), 0..60),
        ) {
            let mut r = Reassembler::new(512);
            let mut sink = |_c: Chunk<'_>| {};
            for (seq, syn, fin, len, missing) in segs {
                r.push_segment(seq, syn, fin, &vec![7; len], missing, &mut sink);
                prop_assert!(r.pending_bytes() <= 512);
            }
            r.finish(&mut sink);
        }
    }
}
