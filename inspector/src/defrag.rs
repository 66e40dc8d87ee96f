//! IP fragment reassembly (RFC 791 §3.2 for IPv4, RFC 8200 §4.5 for IPv6), with bounded memory.
//!
//! A datagram too large for a link is cut into fragments that share the sender, the receiver,
//! the protocol and an identification number; each fragment says at which byte offset of the
//! datagram's payload it starts and whether more follow. The receiver puts them back together.
//! Fragments may overlap: the first copy of each byte wins (as in [`crate::reassembly`]), and
//! an overlap that brings *different* bytes is recorded, since no honest sender does that (it
//! is the trick of the "overlapping fragment" IDS evasions, RFC 1858 and RFC 5722).
//!
//! etherparse 0.18 has `defrag::IpDefragPool`, but it lets a later copy overwrite an earlier one
//! without saying so, bounds neither the number of datagrams nor their total size (its own
//! documentation warns of that), and needs strictly parsed packets; so this module does the
//! small job itself.
//!
//! Bounds: a datagram's payload ends at most at [`MAX_DATAGRAM`] bytes (the IP limit); at most
//! [`MAX_RANGES`] separate pieces per datagram; all datagrams being rebuilt hold at most
//! [`MAX_TOTAL`] bytes together and number at most [`MAX_DATAGRAMS`] (the oldest is given up
//! first); a datagram that has not completed [`TIMEOUT`] after its first fragment (capture time)
//! is given up (Linux's `ipfrag_time` default, RFC 791 suggests at least 15 s). Only TCP
//! datagrams are kept at all: nothing else is read by this tool.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

/// Largest payload end offset a fragment may have (the IPv4 total length is 16 bits).
pub const MAX_DATAGRAM: usize = 65_535;
/// Separate pieces kept per datagram before it is given up.
pub const MAX_RANGES: usize = 64;
/// Bytes held by all datagrams being rebuilt.
pub const MAX_TOTAL: usize = 4 << 20;
/// Datagrams being rebuilt at once.
pub const MAX_DATAGRAMS: usize = 1024;
/// How long (capture time) a datagram may wait for its missing fragments.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// IP protocol number of TCP.
const TCP: u8 = 6;

/// One fragment taken out of a frame.
#[derive(Debug, Clone, Copy)]
pub struct Fragment<'a> {
    /// Sender.
    pub src: IpAddr,
    /// Receiver.
    pub dst: IpAddr,
    /// Identification (16 bits in IPv4, 32 in IPv6).
    pub id: u32,
    /// Protocol of the payload (6 for TCP).
    pub protocol: u8,
    /// Byte offset of this fragment in the datagram's payload.
    pub offset: usize,
    /// More fragments follow (MF flag).
    pub more: bool,
    /// The fragment's payload as captured.
    pub payload: &'a [u8],
    /// The capture cut the fragment short (snap length): it cannot be used, and its datagram
    /// will not complete.
    pub truncated: bool,
}

/// A rebuilt datagram.
#[derive(Debug)]
pub struct Datagram {
    /// Sender.
    pub src: IpAddr,
    /// Receiver.
    pub dst: IpAddr,
    /// The whole payload (a TCP segment, header included).
    pub payload: Vec<u8>,
    /// Frames of the fragments, in arrival order.
    pub frames: Vec<u64>,
}

/// Two fragments of one datagram that disagree about some bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// Sender.
    pub src: IpAddr,
    /// Receiver.
    pub dst: IpAddr,
    /// Identification of the datagram.
    pub id: u32,
    /// Frame of the earlier fragment that holds the bytes kept.
    pub kept: u64,
    /// Frame of the fragment whose different bytes were dropped.
    pub dropped: u64,
}

/// Counters for the end-of-capture warning.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Fragments taken.
    pub fragments: u64,
    /// Datagrams rebuilt.
    pub rebuilt: u64,
    /// Datagrams given up (timeout, limits, end of capture), with their first frame.
    pub given_up: u64,
    /// First frame of the first datagram given up.
    pub first_given_up: Option<u64>,
    /// Fragments of other protocols than TCP, not kept.
    pub not_tcp: u64,
    /// Fragments cut short by the capture's snap length, not usable.
    pub truncated: u64,
    /// The first of them.
    pub first_truncated: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    src: IpAddr,
    dst: IpAddr,
    id: u32,
    protocol: u8,
}

#[derive(Debug)]
struct Partial {
    data: Vec<u8>,
    /// Received ranges `[start, end)` with the frame that brought them, sorted, disjoint.
    have: Vec<(usize, usize, u64)>,
    end: Option<usize>,
    started: Duration,
    frames: Vec<u64>,
}

/// Datagrams being rebuilt.
#[derive(Debug, Default)]
pub struct Defragmenter {
    partial: HashMap<Key, Partial>,
    total: usize,
    last_sweep: Duration,
    /// Overlaps that brought different bytes.
    pub conflicts: Vec<Conflict>,
    /// Counters.
    pub stats: Stats,
}

/// Conflicts kept (each also counted); more are counted only.
const MAX_CONFLICTS: usize = 64;

impl Defragmenter {
    /// Nothing being rebuilt.
    pub fn new() -> Defragmenter {
        Defragmenter::default()
    }

    /// Takes fragment `f` of frame `frame` captured at `time`; returns the datagram once all of
    /// it is there.
    pub fn push(&mut self, f: Fragment<'_>, frame: u64, time: Duration) -> Option<Datagram> {
        self.stats.fragments += 1;
        if f.protocol != TCP {
            self.stats.not_tcp += 1;
            return None;
        }
        if f.truncated {
            // Its datagram cannot complete: what else came of it is given up at the end.
            self.stats.truncated += 1;
            self.stats.first_truncated.get_or_insert(frame);
            return None;
        }
        if time.saturating_sub(self.last_sweep) >= Duration::from_secs(1) {
            self.last_sweep = time;
            self.expire(time);
        }
        let key = Key {
            src: f.src,
            dst: f.dst,
            id: f.id,
            protocol: f.protocol,
        };
        let end = f.offset.saturating_add(f.payload.len());
        if end > MAX_DATAGRAM {
            self.give_up(key, frame);
            return None;
        }
        if !self.partial.contains_key(&key) && self.partial.len() >= MAX_DATAGRAMS {
            self.give_up_oldest();
        }
        let p = self.partial.entry(key).or_insert_with(|| Partial {
            data: Vec::new(),
            have: Vec::new(),
            end: None,
            started: time,
            frames: Vec::new(),
        });
        if p.frames.len() < MAX_RANGES * 2 {
            p.frames.push(frame);
        }
        if !f.more {
            p.end = Some(p.end.map_or(end, |e| e.min(end)));
        }
        let grown = end.saturating_sub(p.data.len());
        if p.data.len() < end {
            p.data.resize(end, 0);
        }
        self.total += grown;
        let conflict = insert(p, f.offset, f.payload, frame);
        if let Some(kept) = conflict {
            if self.conflicts.len() < MAX_CONFLICTS {
                self.conflicts.push(Conflict {
                    src: f.src,
                    dst: f.dst,
                    id: f.id,
                    kept,
                    dropped: frame,
                });
            } else if let Some(last) = self.conflicts.last_mut() {
                last.dropped = frame;
            }
        }
        let too_many = p.have.len() > MAX_RANGES;
        let complete = p
            .end
            .is_some_and(|e| matches!(p.have.as_slice(), [(0, covered, _)] if *covered >= e));
        if too_many {
            self.give_up(key, frame);
            return None;
        }
        if complete {
            let p = self.partial.remove(&key)?;
            self.total = self.total.saturating_sub(p.data.len());
            self.stats.rebuilt += 1;
            let mut payload = p.data;
            payload.truncate(p.end.unwrap_or(payload.len()));
            return Some(Datagram {
                src: f.src,
                dst: f.dst,
                payload,
                frames: p.frames,
            });
        }
        while self.total > MAX_TOTAL && !self.partial.is_empty() {
            self.give_up_oldest();
        }
        None
    }

    /// End of the capture: whatever is still incomplete is given up.
    pub fn finish(&mut self) {
        let keys: Vec<Key> = self.partial.keys().copied().collect();
        for k in keys {
            let first = self.partial.get(&k).and_then(|p| p.frames.first().copied());
            self.give_up(k, first.unwrap_or(0));
        }
    }

    /// Bytes held by datagrams being rebuilt.
    pub fn held(&self) -> usize {
        self.total
    }

    fn expire(&mut self, now: Duration) {
        let old: Vec<(Key, u64)> = self
            .partial
            .iter()
            .filter(|(_, p)| now.saturating_sub(p.started) > TIMEOUT)
            .map(|(k, p)| (*k, p.frames.first().copied().unwrap_or(0)))
            .collect();
        for (k, frame) in old {
            self.give_up(k, frame);
        }
    }

    fn give_up_oldest(&mut self) {
        let oldest = self
            .partial
            .iter()
            .min_by_key(|(_, p)| (p.started, p.frames.first().copied()))
            .map(|(k, p)| (*k, p.frames.first().copied().unwrap_or(0)));
        if let Some((k, frame)) = oldest {
            self.give_up(k, frame);
        }
    }

    fn give_up(&mut self, key: Key, frame: u64) {
        let first = match self.partial.remove(&key) {
            Some(p) => {
                self.total = self.total.saturating_sub(p.data.len());
                p.frames.first().copied().unwrap_or(frame)
            }
            None => frame,
        };
        self.stats.given_up += 1;
        let earliest = self.stats.first_given_up.map_or(first, |f| f.min(first));
        self.stats.first_given_up = Some(earliest);
    }
}

/// Copies the parts of `[offset, offset + bytes.len())` no earlier fragment brought into the
/// datagram; returns the frame of an earlier fragment whose bytes differ from these, if any.
fn insert(p: &mut Partial, offset: usize, bytes: &[u8], frame: u64) -> Option<u64> {
    let end = offset + bytes.len();
    if bytes.is_empty() {
        return None;
    }
    let mut conflict = None;
    let mut cursor = offset;
    for &(s, e, by) in &p.have {
        if e <= cursor || s >= end {
            continue;
        }
        if s > cursor {
            copy(&mut p.data, bytes, offset, cursor, s);
        }
        let (from, to) = (s.max(cursor), e.min(end));
        let old = p.data.get(from..to).unwrap_or_default();
        let new = bytes.get(from - offset..to - offset).unwrap_or_default();
        if old != new {
            conflict.get_or_insert(by);
        }
        cursor = cursor.max(e);
    }
    if cursor < end {
        copy(&mut p.data, bytes, offset, cursor, end);
    }
    // Merge [offset, end) into the sorted, disjoint list of ranges.
    let mut merged: Vec<(usize, usize, u64)> = Vec::with_capacity(p.have.len() + 1);
    let mut new = (offset, end, frame);
    for &r in &p.have {
        if r.1 < new.0 || r.0 > new.1 {
            merged.push(r);
        } else {
            // Touching or overlapping: one range, attributed to its earliest frame.
            new = (new.0.min(r.0), new.1.max(r.1), new.2.min(r.2));
        }
    }
    merged.push(new);
    merged.sort_unstable();
    p.have = merged;
    conflict
}

fn copy(data: &mut [u8], bytes: &[u8], offset: usize, from: usize, to: usize) {
    if let (Some(dst), Some(src)) = (
        data.get_mut(from..to),
        bytes.get(from - offset..to - offset),
    ) {
        dst.copy_from_slice(src);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frag(offset: usize, more: bool, payload: &[u8]) -> Fragment<'_> {
        Fragment {
            src: "10.0.0.1".parse().unwrap(),
            dst: "10.0.0.2".parse().unwrap(),
            id: 42,
            protocol: TCP,
            offset,
            more,
            payload,
            truncated: false,
        }
    }

    #[test]
    fn fragments_in_any_order_rebuild_the_datagram() {
        let mut d = Defragmenter::new();
        let t = Duration::ZERO;
        assert!(d.push(frag(16, false, b"qrstu"), 1, t).is_none());
        assert!(d.push(frag(0, true, b"abcdefgh"), 2, t).is_none());
        let got = d.push(frag(8, true, b"ijklmnop"), 3, t).unwrap();
        assert_eq!(got.payload, b"abcdefghijklmnopqrstu");
        assert_eq!(got.frames, vec![1, 2, 3]);
        assert_eq!(d.held(), 0);
        assert!(d.conflicts.is_empty());
    }

    #[test]
    fn an_overlap_with_different_bytes_keeps_the_first_and_is_reported() {
        let mut d = Defragmenter::new();
        let t = Duration::ZERO;
        d.push(frag(0, true, b"abcdefgh"), 1, t);
        // Same bytes again: fine. Then different bytes for 4..12.
        d.push(frag(0, true, b"abcdefgh"), 2, t);
        d.push(frag(4, true, b"XXXXijkl"), 3, t);
        let got = d.push(frag(12, false, b"mn"), 4, t).unwrap();
        assert_eq!(got.payload, b"abcdefghijklmn");
        assert_eq!(d.conflicts.len(), 1);
        assert_eq!((d.conflicts[0].kept, d.conflicts[0].dropped), (1, 3));
    }

    #[test]
    fn memory_is_bounded_and_old_datagrams_time_out() {
        let mut d = Defragmenter::new();
        let chunk = vec![0u8; 60_000];
        for id in 0..200u32 {
            let mut f = frag(0, true, &chunk);
            f.id = id;
            d.push(f, u64::from(id) + 1, Duration::ZERO);
            assert!(d.held() <= MAX_TOTAL);
        }
        assert!(d.stats.given_up > 0);
        d.push(frag(0, true, b"abcdefgh"), 500, Duration::from_secs(100));
        assert_eq!(
            d.partial.len(),
            1,
            "everything older than the timeout is gone"
        );
        // Past the IP limit: refused.
        assert!(
            d.push(frag(65_530, false, &[0; 16]), 501, Duration::from_secs(100))
                .is_none()
        );
    }

    #[test]
    fn a_fragment_cut_by_the_snap_length_never_completes_its_datagram() {
        let mut d = Defragmenter::new();
        let t = Duration::ZERO;
        d.push(frag(0, true, b"abcdefgh"), 1, t);
        let mut last = frag(8, false, b"ij");
        last.truncated = true;
        assert!(d.push(last, 2, t).is_none());
        d.finish();
        assert_eq!(d.stats.truncated, 1);
        assert_eq!(d.stats.first_truncated, Some(2));
        assert_eq!(d.stats.given_up, 1);
    }

    proptest::proptest! {
        /// Any fragments in any order: no panic, memory within bounds, and a datagram that
        /// completes holds, at every byte, the first copy that arrived for it.
        #[test]
        fn any_fragments_stay_bounded_and_first_copies_win(
            frags in proptest::collection::vec(
                (0u32..3, 0usize..200, 0usize..40, proptest::bool::ANY, proptest::num::u8::ANY),
                0..80,
            ),
        ) {
            let mut d = Defragmenter::new();
            let mut first: std::collections::HashMap<(u32, usize), u8> = Default::default();
            for (i, (id, slot, len, more, fill)) in frags.into_iter().enumerate() {
                let offset = slot * 8;
                let len = if more { len / 8 * 8 } else { len };
                let payload = vec![fill; len];
                let mut f = frag(offset, more, &payload);
                f.id = id;
                let t = Duration::from_millis(i as u64);
                let done = d.push(f, i as u64 + 1, t);
                for b in offset..offset + len {
                    first.entry((id, b)).or_insert(fill);
                }
                proptest::prop_assert!(d.held() <= MAX_TOTAL + MAX_DATAGRAM);
                // (A datagram given up, past MAX_RANGES, would make the model stale.)
                if let Some(done) = done.filter(|_| d.stats.given_up == 0) {
                    for (b, &byte) in done.payload.iter().enumerate() {
                        proptest::prop_assert_eq!(Some(&byte), first.get(&(id, b)));
                    }
                    first.retain(|k, _| k.0 != id);
                }
            }
            d.finish();
            proptest::prop_assert_eq!(d.held(), 0);
        }
    }

    #[test]
    fn other_protocols_are_not_kept() {
        let mut d = Defragmenter::new();
        let mut f = frag(0, true, b"abcdefgh");
        f.protocol = 17;
        assert!(d.push(f, 1, Duration::ZERO).is_none());
        assert_eq!(d.held(), 0);
        assert_eq!(d.stats.not_tcp, 1);
    }
}
