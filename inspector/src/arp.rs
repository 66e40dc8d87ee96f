//! ARP (RFC 826) as a host in the middle leaves it: one IPv4 address claimed by two MAC
//! addresses, and replies nobody asked for, sent in bursts to keep caches poisoned.
//!
//! ARP has no authentication: a host believes any reply, asked for or not, and caches the
//! MAC address it names. An attacker who tells the client "the server's address is at my MAC"
//! (and the server the same about the client) receives both directions and forwards them
//! ([`crate::forwarded`] sees that), reading everything in between. Two traces stay in a
//! capture: the server's address is claimed by its own MAC and by the attacker's, and the
//! attacker's replies answer no request.
//!
//! Memory is bounded: at most [`ADDRESSES_KEPT`] addresses and sender pairs are followed, and
//! [`FRAMES_KEPT`] frames listed per finding (the count goes on).

use crate::event::FindingEvent;
use crate::source::RawFrame;
use etherparse::{ArpHardwareId, ArpOperation, ArpPacketSlice, EtherType, LaxNetSlice};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::Ipv4Addr;
use std::time::Duration;

/// A MAC address.
pub type Mac = [u8; 6];

/// Addresses (and sender address/MAC pairs) followed at most; ARP traffic past it is counted
/// only for what is already followed.
pub const ADDRESSES_KEPT: usize = 4096;
/// Frames listed per finding; the message gives the full count.
pub const FRAMES_KEPT: usize = 1000;
/// Unsolicited replies for one address and MAC within [`BURST_WINDOW`] that make a burst.
/// One stray reply happens (a capture that starts between a request and its reply); a
/// poisoner repeats itself, because a cache entry ages out or the real host answers again.
pub const BURST: usize = 3;
/// The time within which [`BURST`] unsolicited replies make a burst.
pub const BURST_WINDOW: Duration = Duration::from_secs(30);
/// How long a request stays open for its reply (Linux asks again every second).
pub const REQUEST_OPEN: Duration = Duration::from_secs(5);

/// An ARP packet for IPv4 over Ethernet (the only kind that maps IPv4 addresses to MACs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arp {
    /// A reply (operation 2); otherwise a request (operation 1).
    pub reply: bool,
    /// Who sends it (`arp.src.hw_mac`).
    pub sender_mac: Mac,
    /// The address the sender claims (`arp.src.proto_ipv4`).
    pub sender_ip: Ipv4Addr,
    /// `arp.dst.hw_mac` (zero in a request).
    pub target_mac: Mac,
    /// The address asked for, or answered to (`arp.dst.proto_ipv4`).
    pub target_ip: Ipv4Addr,
}

impl Arp {
    /// The ARP packet at the start of `bytes` (after the link header); `None` unless it is a
    /// whole Ethernet/IPv4 request or reply.
    pub fn parse(bytes: &[u8]) -> Option<Arp> {
        Arp::from_slice(&ArpPacketSlice::from_slice(bytes).ok()?)
    }

    fn from_slice(a: &ArpPacketSlice<'_>) -> Option<Arp> {
        if a.hw_addr_type() != ArpHardwareId::ETHERNET || a.proto_addr_type() != EtherType::IPV4 {
            return None;
        }
        let reply = match a.operation() {
            ArpOperation::REQUEST => false,
            ArpOperation::REPLY => true,
            _ => return None,
        };
        let ip = |b: &[u8]| <[u8; 4]>::try_from(b).ok().map(Ipv4Addr::from);
        Some(Arp {
            reply,
            sender_mac: a.sender_hw_addr().try_into().ok()?,
            sender_ip: ip(a.sender_protocol_addr())?,
            target_mac: a.target_hw_addr().try_into().ok()?,
            target_ip: ip(a.target_protocol_addr())?,
        })
    }

    /// The ARP packet a frame carries, whatever its link layer (Ethernet, VLAN, Linux cooked).
    pub fn of_frame(frame: &RawFrame<'_>) -> Option<Arp> {
        match crate::frame::slice(frame).ok()?.net? {
            LaxNetSlice::Arp(a) => Arp::from_slice(&a),
            _ => None,
        }
    }

    /// Sender and target address are the same: an announcement of one's own address
    /// (`arp.isgratuitous`), which nobody asked for either.
    pub fn gratuitous(&self) -> bool {
        self.sender_ip == self.target_ip
    }
}

/// `02:00:00:00:00:0e`, as Wireshark writes MAC addresses in filters.
pub fn mac_text(mac: &Mac) -> String {
    let parts: Vec<String> = mac.iter().map(|b| format!("{b:02x}")).collect();
    parts.join(":")
}

/// A MAC that names nobody (all zeros, broadcast): probes and requests carry them.
fn names_nobody(mac: &Mac) -> bool {
    *mac == [0; 6] || *mac == [0xff; 6]
}

/// Frames listed (the first [`FRAMES_KEPT`]) and counted.
#[derive(Debug, Default)]
struct Frames {
    listed: Vec<u64>,
    count: u64,
}

impl Frames {
    fn push(&mut self, frame: u64) {
        self.count += 1;
        if self.listed.len() < FRAMES_KEPT {
            self.listed.push(frame);
        }
    }

    /// Every frame is listed.
    fn complete(&self) -> bool {
        self.count == self.listed.len() as u64
    }
}

/// What was seen of one IPv4 address as an ARP sender.
#[derive(Debug, Default)]
struct Claims {
    /// Each MAC that claimed it: the MAC, its first frame, how many frames.
    macs: Vec<(Mac, u64, u64)>,
    /// Every ARP frame with this sender address (`arp.src.proto_ipv4 == X`).
    frames: Frames,
}

/// Replies (and announcements) from one address and MAC that answered no request.
#[derive(Debug, Default)]
struct Unsolicited {
    frames: Frames,
    /// Times of the latest ones, at most [`BURST`].
    recent: VecDeque<Duration>,
    /// The frame that completed the first burst.
    burst_at: Option<u64>,
    /// Replies from this address and MAC, asked for or not (what
    /// `arp.opcode == 2 && arp.src.proto_ipv4 == X && arp.src.hw_mac == M` selects).
    replies: u64,
    /// Announcements sent as requests among `frames`.
    announcements: u64,
    /// Targets the replies went to.
    targets: Vec<Ipv4Addr>,
}

/// Follows the ARP packets of a capture.
#[derive(Debug, Default)]
pub struct ArpWatch {
    claims: HashMap<Ipv4Addr, Claims>,
    /// Open requests: (asking address, address asked for) → time of the latest, and how many
    /// are not answered yet. One reply answers one request: a second one was not asked for.
    asked: HashMap<(Ipv4Addr, Ipv4Addr), (Duration, u32)>,
    unsolicited: HashMap<(Ipv4Addr, Mac), Unsolicited>,
}

impl ArpWatch {
    /// Nothing seen yet.
    pub fn new() -> ArpWatch {
        ArpWatch::default()
    }

    /// Takes note of one frame (nothing happens unless it carries ARP).
    pub fn observe(&mut self, frame: &RawFrame<'_>) {
        if let Some(arp) = Arp::of_frame(frame) {
            self.push(arp, frame.number, frame.timestamp);
        }
    }

    /// Takes note of one ARP packet, seen in `frame` at `time`.
    pub fn push(&mut self, arp: Arp, frame: u64, time: Duration) {
        // 0.0.0.0 is a probe's sender (RFC 5227 §2.1.1): it claims nothing.
        if arp.sender_ip.is_unspecified() {
            return;
        }
        if self.claims.len() < ADDRESSES_KEPT || self.claims.contains_key(&arp.sender_ip) {
            let claims = self.claims.entry(arp.sender_ip).or_default();
            claims.frames.push(frame);
            if !names_nobody(&arp.sender_mac) {
                match claims
                    .macs
                    .iter_mut()
                    .find(|(m, _, _)| *m == arp.sender_mac)
                {
                    Some((_, _, n)) => *n += 1,
                    None => claims.macs.push((arp.sender_mac, frame, 1)),
                }
            }
        }
        if !arp.reply && !arp.gratuitous() {
            if self.asked.len() >= ADDRESSES_KEPT {
                self.asked
                    .retain(|_, (t, _)| time.saturating_sub(*t) <= REQUEST_OPEN);
            }
            let key = (arp.sender_ip, arp.target_ip);
            if self.asked.len() < ADDRESSES_KEPT || self.asked.contains_key(&key) {
                let open = self.asked.entry(key).or_insert((time, 0));
                *open = (time, open.1.saturating_add(1));
            }
            return;
        }
        let asked = arp.reply
            && self
                .asked
                .get_mut(&(arp.target_ip, arp.sender_ip))
                .filter(|(t, open)| *open > 0 && time.saturating_sub(*t) <= REQUEST_OPEN)
                .map(|(_, open)| *open -= 1)
                .is_some();
        let key = (arp.sender_ip, arp.sender_mac);
        if !self.unsolicited.contains_key(&key) && self.unsolicited.len() >= ADDRESSES_KEPT {
            return;
        }
        let u = self.unsolicited.entry(key).or_default();
        if arp.reply {
            u.replies += 1;
        }
        if asked {
            return;
        }
        u.frames.push(frame);
        if !arp.reply {
            u.announcements += 1;
        }
        if !u.targets.contains(&arp.target_ip) && u.targets.len() < 8 {
            u.targets.push(arp.target_ip);
        }
        u.recent.push_back(time);
        if u.recent.len() > BURST {
            u.recent.pop_front();
        }
        if u.burst_at.is_none()
            && u.recent.len() == BURST
            && let (Some(first), Some(last)) = (u.recent.front(), u.recent.back())
            && last.saturating_sub(*first) <= BURST_WINDOW
        {
            u.burst_at = Some(frame);
        }
    }

    /// The findings, at the end of the capture: `arp-duplicate-address` per address claimed by
    /// two or more MACs, `arp-unsolicited-replies` per address and MAC that sent a burst.
    pub fn findings(&self) -> Vec<FindingEvent> {
        let mut out = Vec::new();
        let claims: BTreeMap<_, _> = self.claims.iter().collect();
        for (ip, c) in claims {
            if c.macs.len() < 2 {
                continue;
            }
            out.push(duplicate_address(*ip, c));
        }
        let unsolicited: BTreeMap<_, _> = self.unsolicited.iter().collect();
        for ((ip, mac), u) in unsolicited {
            if let Some(burst_at) = u.burst_at {
                out.push(unsolicited_replies(*ip, mac, u, burst_at));
            }
        }
        out
    }
}

fn duplicate_address(ip: Ipv4Addr, c: &Claims) -> FindingEvent {
    let macs: Vec<String> = c
        .macs
        .iter()
        .map(|(mac, first, n)| format!("{} ({n} frame(s) from frame {first})", mac_text(mac)))
        .collect();
    // The first frame that shows a second MAC.
    let frame = c.macs.get(1).map_or(0, |m| m.1);
    let filter = if c.frames.complete() {
        format!("arp.src.proto_ipv4 == {ip}")
    } else {
        crate::report::frame_filter(&c.frames.listed)
    };
    FindingEvent {
        id: "arp-duplicate-address",
        severity: "high",
        message: format!(
            "{ip} is claimed in ARP by {} MAC addresses: {}; Wireshark's expert info flags \
             such frames \"Duplicate IP address configured\" (arp.duplicate-address-detected)",
            c.macs.len(),
            macs.join(", ")
        ),
        frame,
        session: None,
        frames: c.frames.listed.clone(),
        filter,
        why: "hosts send the traffic for an address to the MAC they learned last: a host that \
              answers for an address that is not its own (ARP spoofing) receives that traffic, \
              reads it and can forward or change it",
        fix: "static ARP entries for the server and the gateway, or Dynamic ARP Inspection on \
              the switch; FTPS or SFTP so that a host in the middle reads nothing",
        reference: "RFC 826, RFC 5227 §2.4",
    }
}

fn unsolicited_replies(ip: Ipv4Addr, mac: &Mac, u: &Unsolicited, burst_at: u64) -> FindingEvent {
    let semantic = u.frames.complete() && u.announcements == 0 && u.replies == u.frames.count;
    let filter = if semantic {
        format!(
            "arp.opcode == 2 && arp.src.proto_ipv4 == {ip} && arp.src.hw_mac == {}",
            mac_text(mac)
        )
    } else {
        crate::report::frame_filter(&u.frames.listed)
    };
    let targets: Vec<String> = u.targets.iter().map(ToString::to_string).collect();
    FindingEvent {
        id: "arp-unsolicited-replies",
        severity: "high",
        message: format!(
            "{} ARP replies or announcements that answer no request say {ip} is at {} (sent to \
             {}), {BURST} of them within {} s by frame {burst_at}: cache poisoning",
            u.frames.count,
            mac_text(mac),
            targets.join(", "),
            BURST_WINDOW.as_secs()
        ),
        frame: u.frames.listed.first().copied().unwrap_or(burst_at),
        session: None,
        frames: u.frames.listed.clone(),
        filter,
        why: "a host caches what any ARP reply says, asked for or not; replies repeated without \
              requests keep the caches of the targets pointing at the sender (ARP spoofing)",
        fix: "static ARP entries for the server and the gateway, or Dynamic ARP Inspection on \
              the switch; FTPS or SFTP so that a host in the middle reads nothing",
        reference: "RFC 826",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVER: Ipv4Addr = Ipv4Addr::new(10, 66, 0, 2);
    const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 66, 0, 1);
    const SERVER_MAC: Mac = [2, 0, 0, 0, 0, 2];
    const CLIENT_MAC: Mac = [2, 0, 0, 0, 0, 1];
    const EVE_MAC: Mac = [2, 0, 0, 0, 0, 0x0e];

    fn arp(reply: bool, sender: (Mac, Ipv4Addr), target: (Mac, Ipv4Addr)) -> Arp {
        Arp {
            reply,
            sender_mac: sender.0,
            sender_ip: sender.1,
            target_mac: target.0,
            target_ip: target.1,
        }
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    /// The 28 bytes of an Ethernet/IPv4 ARP packet.
    fn bytes(a: &Arp) -> Vec<u8> {
        let mut b = vec![0, 1, 8, 0, 6, 4, 0, if a.reply { 2 } else { 1 }];
        b.extend(a.sender_mac);
        b.extend(a.sender_ip.octets());
        b.extend(a.target_mac);
        b.extend(a.target_ip.octets());
        b
    }

    #[test]
    fn parse_reads_a_reply_and_refuses_short_or_foreign_packets() {
        let a = arp(true, (EVE_MAC, SERVER), (CLIENT_MAC, CLIENT));
        let b = bytes(&a);
        assert_eq!(Arp::parse(&b), Some(a));
        for cut in 0..b.len() {
            assert_eq!(Arp::parse(&b[..cut]), None, "cut at {cut}");
        }
        let mut ipv6 = b.clone();
        ipv6[2] = 0x86;
        assert_eq!(Arp::parse(&ipv6), None);
        let mut rarp = b.clone();
        rarp[7] = 3;
        assert_eq!(Arp::parse(&rarp), None);
        // Address sizes that claim more than is there.
        let mut long = b;
        long[4] = 200;
        assert_eq!(Arp::parse(&long), None);
    }

    #[test]
    fn a_request_and_its_reply_are_no_finding() {
        let mut w = ArpWatch::new();
        w.push(
            arp(false, (CLIENT_MAC, CLIENT), ([0; 6], SERVER)),
            1,
            secs(1),
        );
        w.push(
            arp(true, (SERVER_MAC, SERVER), (CLIENT_MAC, CLIENT)),
            2,
            secs(1),
        );
        w.push(
            arp(false, (SERVER_MAC, SERVER), ([0; 6], CLIENT)),
            3,
            secs(2),
        );
        w.push(
            arp(true, (CLIENT_MAC, CLIENT), (SERVER_MAC, SERVER)),
            4,
            secs(2),
        );
        assert!(w.findings().is_empty());
    }

    #[test]
    fn poisoning_gives_a_duplicate_address_and_a_burst_of_unsolicited_replies() {
        let mut w = ArpWatch::new();
        w.push(
            arp(false, (CLIENT_MAC, CLIENT), ([0; 6], SERVER)),
            1,
            secs(1),
        );
        w.push(
            arp(true, (SERVER_MAC, SERVER), (CLIENT_MAC, CLIENT)),
            2,
            secs(1),
        );
        for i in 0..4 {
            w.push(
                arp(true, (EVE_MAC, SERVER), (CLIENT_MAC, CLIENT)),
                10 + i,
                secs(10 + i),
            );
        }
        let found = w.findings();
        let ids: Vec<&str> = found.iter().map(|f| f.id).collect();
        assert_eq!(ids, ["arp-duplicate-address", "arp-unsolicited-replies"]);
        let dup = &found[0];
        assert_eq!(dup.frame, 10);
        assert_eq!(dup.frames, [2, 10, 11, 12, 13]);
        assert_eq!(dup.filter, "arp.src.proto_ipv4 == 10.66.0.2");
        assert!(dup.message.contains("02:00:00:00:00:0e"), "{}", dup.message);
        let burst = &found[1];
        assert_eq!(burst.frames, [10, 11, 12, 13]);
        assert_eq!(
            burst.filter,
            "arp.opcode == 2 && arp.src.proto_ipv4 == 10.66.0.2 && arp.src.hw_mac == 02:00:00:00:00:0e"
        );
        assert!(burst.message.contains("by frame 12"), "{}", burst.message);
    }

    #[test]
    fn one_request_answers_one_reply_only() {
        let mut w = ArpWatch::new();
        w.push(
            arp(false, (CLIENT_MAC, CLIENT), ([0; 6], SERVER)),
            1,
            secs(1),
        );
        for i in 0..4 {
            w.push(
                arp(true, (EVE_MAC, SERVER), (CLIENT_MAC, CLIENT)),
                2 + i,
                secs(1 + i),
            );
        }
        let found = w.findings();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].frames, [3, 4, 5]);
    }

    #[test]
    fn unsolicited_replies_far_apart_are_no_burst() {
        let mut w = ArpWatch::new();
        for i in 0..5 {
            w.push(
                arp(true, (EVE_MAC, SERVER), (CLIENT_MAC, CLIENT)),
                i + 1,
                secs(i * 60),
            );
        }
        assert!(w.findings().is_empty());
    }

    #[test]
    fn a_spoofer_that_also_answers_requests_gets_a_frame_list() {
        let mut w = ArpWatch::new();
        w.push(
            arp(false, (CLIENT_MAC, CLIENT), ([0; 6], SERVER)),
            1,
            secs(1),
        );
        w.push(
            arp(true, (EVE_MAC, SERVER), (CLIENT_MAC, CLIENT)),
            2,
            secs(1),
        );
        for i in 0..3 {
            w.push(
                arp(true, (EVE_MAC, SERVER), (CLIENT_MAC, CLIENT)),
                10 + i,
                secs(10 + i),
            );
        }
        let found = w.findings();
        assert_eq!(found.len(), 1, "one MAC only: no duplicate");
        assert_eq!(found[0].frames, [10, 11, 12]);
        assert_eq!(
            found[0].filter,
            "frame.number == 10 || frame.number == 11 || frame.number == 12"
        );
    }

    #[test]
    fn gratuitous_announcements_count_and_probes_claim_nothing() {
        let mut w = ArpWatch::new();
        for i in 0..3 {
            w.push(
                arp(false, (EVE_MAC, SERVER), ([0; 6], SERVER)),
                i + 1,
                secs(i),
            );
            // A probe: sender 0.0.0.0.
            w.push(
                arp(false, (SERVER_MAC, Ipv4Addr::UNSPECIFIED), ([0; 6], SERVER)),
                i + 10,
                secs(i),
            );
        }
        let found = w.findings();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].id, "arp-unsolicited-replies");
        assert!(found[0].filter.starts_with("frame.number == 1 ||"));
    }

    #[test]
    fn memory_is_bounded() {
        let mut w = ArpWatch::new();
        for i in 0..(3 * ADDRESSES_KEPT as u32) {
            let ip = Ipv4Addr::from(0x0a00_0000 + i);
            w.push(arp(false, (EVE_MAC, ip), ([0; 6], CLIENT)), 1, secs(0));
            w.push(arp(true, (EVE_MAC, ip), (CLIENT_MAC, CLIENT)), 2, secs(0));
        }
        assert!(w.claims.len() <= ADDRESSES_KEPT);
        assert!(w.asked.len() <= ADDRESSES_KEPT);
        assert!(w.unsolicited.len() <= ADDRESSES_KEPT);
        let first = Ipv4Addr::from(0x0a00_0000);
        for i in 0..(2 * FRAMES_KEPT as u64) {
            w.push(
                arp(true, (EVE_MAC, first), (CLIENT_MAC, CLIENT)),
                i,
                secs(i),
            );
        }
        let c = &w.claims[&first];
        assert_eq!(c.frames.listed.len(), FRAMES_KEPT);
        assert_eq!(c.frames.count, 2 * FRAMES_KEPT as u64 + 2);
    }
}
