//! The same TCP segment seen twice on one Ethernet link with different MAC addresses: a host
//! in the middle receives frames meant for another host and sends them on (ARP spoofing,
//! [`crate::arp`]).
//!
//! Captured where that host sits, each segment appears twice: client → middle (the client's
//! MAC to the middle's) and middle → server (the middle's MAC to the server's). The copy is
//! the same IP datagram: same addresses, IP identification, TCP sequence and acknowledgement
//! numbers, flags and payload. Only what a forwarding router changes differs: the Ethernet
//! addresses, the TTL (RFC 1812 §5.3.1: decremented by one) and so the IP header checksum,
//! none of which is compared. A retransmission is not a copy: it takes the same path (same
//! MACs) and, from Linux, a new IP identification.
//!
//! Memory is bounded: about the latest [`WINDOW`] segments are remembered (a forwarded copy
//! follows its original within microseconds), and [`PAIRS_LISTED`] pairs named per finding.
//! The window is a table of [`SETS`] sets of two entries, a segment's set chosen by its digest,
//! the older entry of a set giving way to a new one: one set (two entries, under 100 bytes) touched per segment, where
//! a hash map with an eviction queue cost an insert and a remove in a table that misses the
//! cache. An original is lost before its copy comes only if two newer segments fall into its
//! set in between, which in the few frames that separate them does not happen in practice.

use crate::arp::{Mac, mac_text};
use crate::event::FindingEvent;
use crate::frame::Segment;
use crate::source::{LinkType, RawFrame};
use rustc_hash::FxHasher;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

/// Segments remembered to find their second copy.
pub const WINDOW: usize = 2 * SETS;
/// Sets of the window's table (two entries each).
pub const SETS: usize = 4096;
/// Pairs (original, copy) whose frames a finding names; the message gives the full count.
pub const PAIRS_LISTED: usize = 10;

/// The link and IP facts of a frame that a forwarder changes, or that tell copies apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Link {
    src: Mac,
    dst: Mac,
    /// IPv4 identification (IPv6 has none).
    ip_id: Option<u16>,
    /// TTL or hop limit.
    ttl: Option<u8>,
}

/// Reads the Ethernet header (VLAN tags skipped) and the IP fields a forwarder keeps or
/// changes; `None` when the frame is too short.
fn link(bytes: &[u8]) -> Option<Link> {
    let dst: Mac = bytes.get(0..6)?.try_into().ok()?;
    let src: Mac = bytes.get(6..12)?.try_into().ok()?;
    let mut at = 12;
    let ether_type = loop {
        let t = u16::from_be_bytes(bytes.get(at..at + 2)?.try_into().ok()?);
        // 802.1Q and 802.1ad tags: 4 bytes each, at most two.
        if (t == 0x8100 || t == 0x88a8) && at < 20 {
            at += 4;
        } else {
            break t;
        }
    };
    let ip = bytes.get(at + 2..)?;
    let (ip_id, ttl) = match ether_type {
        0x0800 => (
            Some(u16::from_be_bytes(ip.get(4..6)?.try_into().ok()?)),
            ip.get(8).copied(),
        ),
        0x86dd => (None, ip.get(7).copied()),
        _ => return None,
    };
    Some(Link {
        src,
        dst,
        ip_id,
        ttl,
    })
}

/// A segment as first seen.
#[derive(Debug, Clone, Copy)]
struct Seen {
    link: Link,
    frame: u64,
}

/// The copies sent on by one host (or one pair of MACs).
#[derive(Debug)]
struct Group {
    count: u64,
    frames: Vec<u64>,
    /// The first pair, described.
    first: String,
}

/// Finds segments that cross the capture twice with different MAC addresses.
#[derive(Debug, Default)]
pub struct Forwarded {
    /// [`SETS`] sets of (digest, segment), the newer of each set first; empty until the first
    /// Ethernet segment.
    seen: Vec<[Option<(u64, Seen)>; 2]>,
    /// By (the MAC the first copy went to, the MAC the second came from): the same MAC when
    /// one host forwards.
    groups: BTreeMap<(Mac, Mac), Group>,
}

impl Forwarded {
    /// Nothing seen yet.
    pub fn new() -> Forwarded {
        Forwarded::default()
    }

    /// Takes note of a TCP segment and the frame it came in (only Ethernet frames have MACs);
    /// `digest` is the segment's [`crate::duplicates::segment_digest`], which leaves out the
    /// link layer, the TTL and the checksums.
    pub fn observe(&mut self, frame: &RawFrame<'_>, seg: &Segment<'_>, digest: u64) {
        if frame.link_type != LinkType::ETHERNET {
            return;
        }
        let Some(link) = link(frame.bytes) else {
            return;
        };
        let mut h = FxHasher::default();
        (digest, link.ip_id).hash(&mut h);
        let digest = h.finish();
        if self.seen.is_empty() {
            self.seen = vec![[None, None]; SETS];
        }
        // The digest's high bits pick the set (Fx mixes them best).
        let set = (digest >> (64 - SETS.trailing_zeros())) as usize;
        let Some(ways) = self.seen.get_mut(set) else {
            return;
        };
        let copy = Seen {
            link,
            frame: frame.number,
        };
        match ways.iter().flatten().find(|(d, _)| *d == digest) {
            Some((_, first)) if (first.link.src, first.link.dst) != (link.src, link.dst) => {
                let first = *first;
                self.record(first, copy, seg);
            }
            // The same path again: a retransmission or a repeated frame.
            Some(_) => {}
            None => *ways = [Some((digest, copy)), ways[0]],
        }
    }

    fn record(&mut self, first: Seen, copy: Seen, seg: &Segment<'_>) {
        let group = self
            .groups
            .entry((first.link.dst, copy.link.src))
            .or_insert_with(|| Group {
                count: 0,
                frames: Vec::new(),
                first: describe(first, copy, seg),
            });
        group.count += 1;
        if group.frames.len() < 2 * PAIRS_LISTED {
            group.frames.extend([first.frame, copy.frame]);
        }
    }

    /// One `forwarded-segments` finding per forwarding host, at the end of the capture.
    pub fn findings(&self) -> Vec<FindingEvent> {
        self.groups
            .iter()
            .map(|((to, from), g)| {
                let via = if to == from {
                    format!("the host with MAC {} forwards", mac_text(to))
                } else {
                    format!(
                        "sent to MAC {} and sent on by MAC {}",
                        mac_text(to),
                        mac_text(from)
                    )
                };
                let mut frames = g.frames.clone();
                frames.sort_unstable();
                frames.dedup();
                FindingEvent {
                    id: "forwarded-segments",
                    severity: "high",
                    message: format!(
                        "{} TCP segment(s) appear twice with different MAC addresses ({via}): \
                         first {}; a host in the middle relays the traffic (after ARP \
                         spoofing; a router between two VLANs of this link does it openly)",
                        g.count, g.first
                    ),
                    frame: g.frames.get(1).copied().unwrap_or(0),
                    session: None,
                    filter: crate::report::frame_filter(&frames),
                    frames,
                    why: "the forwarding host sees every byte between client and server, \
                          passwords and files included, and could change them on the way",
                    fix: "find the host by its MAC address and its ARP replies; static ARP \
                          entries or Dynamic ARP Inspection on the switch; FTPS or SFTP so that \
                          a host in the middle reads nothing",
                    reference: "RFC 826, RFC 1812 §5.3.1",
                }
            })
            .collect()
    }
}

/// `10.66.0.1:40000 → 10.66.0.2:21, IP id 7: frame 12 (02:… → 02:…, TTL 64), frame 13 (…)`.
fn describe(first: Seen, copy: Seen, seg: &Segment<'_>) -> String {
    let side = |s: &Seen| {
        let ttl = s.link.ttl.map(|t| format!(", TTL {t}")).unwrap_or_default();
        format!(
            "frame {} ({} → {}{ttl})",
            s.frame,
            mac_text(&s.link.src),
            mac_text(&s.link.dst)
        )
    };
    let id = first
        .link
        .ip_id
        .map(|i| format!(", IP id {i}"))
        .unwrap_or_default();
    format!(
        "{} → {}{id}: {}, {}",
        seg.src,
        seg.dst,
        side(&first),
        side(&copy)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;
    use std::time::Duration;

    const CLIENT_MAC: Mac = [2, 0, 0, 0, 0, 1];
    const SERVER_MAC: Mac = [2, 0, 0, 0, 0, 2];
    const EVE_MAC: Mac = [2, 0, 0, 0, 0, 0x0e];

    fn ethernet(src: Mac, dst: Mac, ttl: u8, id: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        PacketBuilder::ethernet2(src, dst)
            .ipv4([10, 66, 0, 1], [10, 66, 0, 2], ttl)
            .tcp(40000, 21, seq, 64240)
            .write(&mut out, payload)
            .unwrap_or_default();
        // The IP identification (bytes 18..20 of the frame): etherparse writes 0.
        out[18..20].copy_from_slice(&id.to_be_bytes());
        out
    }

    fn push(f: &mut Forwarded, number: u64, bytes: &[u8]) {
        let frame = RawFrame {
            number,
            timestamp: Duration::from_millis(number),
            link_type: LinkType::ETHERNET,
            bytes,
            wire_len: bytes.len() as u32,
        };
        if let Ok(crate::frame::Decoded::Tcp(seg)) = crate::frame::decode(&frame) {
            f.observe(&frame, &seg, crate::duplicates::segment_digest(&seg));
        } else {
            panic!("frame {number} is not TCP");
        }
    }

    #[test]
    fn a_segment_sent_on_with_other_macs_and_a_lower_ttl_is_forwarded() {
        let mut f = Forwarded::new();
        push(
            &mut f,
            1,
            &ethernet(CLIENT_MAC, EVE_MAC, 64, 7, 100, b"USER bob\r\n"),
        );
        push(
            &mut f,
            2,
            &ethernet(EVE_MAC, SERVER_MAC, 63, 7, 100, b"USER bob\r\n"),
        );
        push(
            &mut f,
            3,
            &ethernet(CLIENT_MAC, EVE_MAC, 64, 8, 110, b"PASS x\r\n"),
        );
        push(
            &mut f,
            4,
            &ethernet(EVE_MAC, SERVER_MAC, 63, 8, 110, b"PASS x\r\n"),
        );
        let found = f.findings();
        assert_eq!(found.len(), 1);
        let x = &found[0];
        assert_eq!(x.id, "forwarded-segments");
        assert_eq!(x.frames, [1, 2, 3, 4]);
        assert_eq!(x.frame, 2);
        assert!(x.message.starts_with("2 TCP segment(s)"), "{}", x.message);
        assert!(
            x.message.contains("MAC 02:00:00:00:00:0e forwards"),
            "{}",
            x.message
        );
        assert!(x.message.contains("TTL 64"), "{}", x.message);
        assert!(x.message.contains("TTL 63"), "{}", x.message);
    }

    #[test]
    fn retransmissions_and_new_ip_ids_are_not_forwarding() {
        let mut f = Forwarded::new();
        // A retransmission on the same path.
        push(
            &mut f,
            1,
            &ethernet(CLIENT_MAC, SERVER_MAC, 64, 7, 100, b"USER bob\r\n"),
        );
        push(
            &mut f,
            2,
            &ethernet(CLIENT_MAC, SERVER_MAC, 64, 7, 100, b"USER bob\r\n"),
        );
        // Sent again after the cache changed: a new IP id, a new datagram.
        push(
            &mut f,
            3,
            &ethernet(CLIENT_MAC, EVE_MAC, 64, 9, 100, b"USER bob\r\n"),
        );
        assert!(f.findings().is_empty());
    }

    #[test]
    fn short_and_foreign_frames_have_no_link_facts() {
        let bytes = ethernet(CLIENT_MAC, EVE_MAC, 64, 7, 100, b"x");
        for cut in 0..20 {
            assert_eq!(link(&bytes[..cut]), None, "cut at {cut}");
        }
        let mut arp = bytes.clone();
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(link(&arp), None);
        let l = link(&bytes).expect("IPv4 over Ethernet");
        assert_eq!((l.ip_id, l.ttl), (Some(7), Some(64)));
        // Endless VLAN tags stop after two.
        assert_eq!(link(&[0x81u8, 0x00].repeat(40)), None);
    }

    #[test]
    fn the_window_is_bounded() {
        let mut f = Forwarded::new();
        for i in 0..(2 * WINDOW as u32) {
            push(
                &mut f,
                u64::from(i) + 1,
                &ethernet(CLIENT_MAC, SERVER_MAC, 64, i as u16, i, b"x"),
            );
        }
        assert_eq!(f.seen.len(), SETS);
        let held = f.seen.iter().flatten().flatten().count();
        assert!(held <= WINDOW && held > WINDOW / 2, "{held}");
    }
}
