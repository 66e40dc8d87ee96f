//! The TCP segments of a capture, read with the inspector's own frame decoder, for the questions
//! that need headers (sequence and acknowledgement numbers, SYN, FIN, RST, times, ports).

use crate::error::LabError;
use inspector::frame::{self, Decoded};
use std::net::SocketAddr;
use std::path::Path;

/// One TCP segment of a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// Wireshark's frame number.
    pub frame: u64,
    /// Capture time in microseconds since the epoch.
    pub micros: u64,
    /// Sender.
    pub src: SocketAddr,
    /// Receiver.
    pub dst: SocketAddr,
    /// Sequence number (absolute).
    pub seq: u32,
    /// Acknowledgement number (absolute; 0 without ACK).
    pub ack: u32,
    /// SYN flag.
    pub syn: bool,
    /// ACK flag.
    pub has_ack: bool,
    /// FIN flag.
    pub fin: bool,
    /// RST flag.
    pub rst: bool,
    /// The captured payload.
    pub payload: Vec<u8>,
    /// Ethernet source address (zeros on other link types, e.g. loopback).
    pub src_mac: [u8; 6],
    /// Ethernet destination address (zeros on other link types).
    pub dst_mac: [u8; 6],
}

/// One ARP message of a capture (RFC 826), for lab 6's questions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arp {
    /// Wireshark's frame number.
    pub frame: u64,
    /// Ethernet destination (ff:ff:ff:ff:ff:ff for a broadcast).
    pub eth_dst: [u8; 6],
    /// 1 request, 2 reply.
    pub op: u16,
    /// Sender hardware address: "`sender_ip` is at this MAC".
    pub sender_mac: [u8; 6],
    /// Sender protocol address.
    pub sender_ip: std::net::Ipv4Addr,
    /// Target protocol address.
    pub target_ip: std::net::Ipv4Addr,
}

/// A MAC address as Wireshark writes it: `02:66:00:00:00:01`.
pub fn mac_text(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The Ethernet addresses of a frame (zeros when it is not Ethernet or too short).
fn macs(raw: &inspector::source::RawFrame<'_>) -> ([u8; 6], [u8; 6]) {
    let get = |r: std::ops::Range<usize>| -> [u8; 6] {
        raw.bytes
            .get(r)
            .and_then(|b| b.try_into().ok())
            .unwrap_or([0; 6])
    };
    if raw.link_type.0 == 1 {
        (get(6..12), get(0..6))
    } else {
        ([0; 6], [0; 6])
    }
}

/// Decodes an Ethernet frame carrying ARP for IPv4; `None` for anything else.
fn arp(raw: &inspector::source::RawFrame<'_>) -> Option<Arp> {
    let b = raw.bytes;
    if raw.link_type.0 != 1 || b.get(12..14)? != [0x08, 0x06] {
        return None;
    }
    let mac = |at: usize| -> Option<[u8; 6]> { b.get(at..at + 6)?.try_into().ok() };
    let ip = |at: usize| -> Option<std::net::Ipv4Addr> {
        let o: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
        Some(o.into())
    };
    Some(Arp {
        frame: raw.number,
        eth_dst: mac(0)?,
        op: u16::from_be_bytes(b.get(20..22)?.try_into().ok()?),
        sender_mac: mac(22)?,
        sender_ip: ip(28)?,
        target_ip: ip(38)?,
    })
}

/// Every ARP message of a capture, in frame order (lab 6); broken records are skipped.
pub fn read_arp(capture: &Path) -> Result<Vec<Arp>, LabError> {
    let mut source = inspector::source::open_file(capture).map_err(|e| LabError::Inspector {
        capture: capture.to_path_buf(),
        stderr: e.to_string(),
    })?;
    let mut out = Vec::new();
    // Bounded by the file: every call consumes a record or ends.
    loop {
        match source.next_frame() {
            Ok(Some(raw)) => out.extend(arp(&raw)),
            Ok(None) => break,
            Err(inspector::source::SourceError::BadRecord { .. }) => continue,
            Err(_) => break,
        }
    }
    Ok(out)
}

impl Packet {
    /// A connection's first segment: SYN without ACK.
    pub fn opens(&self) -> bool {
        self.syn && !self.has_ack
    }

    /// Whether it belongs to the connection between `a` and `b` (either direction).
    pub fn between(&self, a: SocketAddr, b: SocketAddr) -> bool {
        (self.src == a && self.dst == b) || (self.src == b && self.dst == a)
    }
}

/// Every TCP segment of a capture, in frame order.
#[derive(Debug, Clone, Default)]
pub struct Packets(pub Vec<Packet>);

impl Packets {
    /// Reads `capture`; frames that are not TCP are left out, broken records skipped.
    pub fn read(capture: &Path) -> Result<Self, LabError> {
        let mut source =
            inspector::source::open_file(capture).map_err(|e| LabError::Inspector {
                capture: capture.to_path_buf(),
                stderr: e.to_string(),
            })?;
        let mut out = Vec::new();
        // Bounded by the file: every call consumes a record or ends.
        loop {
            let raw = match source.next_frame() {
                Ok(Some(raw)) => raw,
                Ok(None) => break,
                Err(inspector::source::SourceError::BadRecord { .. }) => continue,
                Err(_) => break,
            };
            if let Ok(Decoded::Tcp(s)) = frame::decode(&raw) {
                let (src_mac, dst_mac) = macs(&raw);
                out.push(Packet {
                    src_mac,
                    dst_mac,
                    frame: raw.number,
                    micros: u64::try_from(raw.timestamp.as_micros()).unwrap_or(u64::MAX),
                    src: s.src,
                    dst: s.dst,
                    seq: s.seq,
                    ack: if s.ack { s.ack_number } else { 0 },
                    syn: s.syn,
                    has_ack: s.ack,
                    fin: s.fin,
                    rst: s.rst,
                    payload: s.payload.to_vec(),
                });
            }
        }
        Ok(Self(out))
    }

    /// The segment in frame `n`.
    pub fn frame(&self, n: u64) -> Option<&Packet> {
        self.0.iter().find(|p| p.frame == n)
    }

    /// Segments of the connection between `a` and `b`.
    pub fn connection(&self, a: SocketAddr, b: SocketAddr) -> impl Iterator<Item = &Packet> + '_ {
        self.0.iter().filter(move |p| p.between(a, b))
    }

    /// The initial sequence number `from` chose on the connection to `to` (its SYN's), so
    /// numbers can be given relative, as Wireshark shows them.
    pub fn isn(&self, from: SocketAddr, to: SocketAddr) -> Option<u32> {
        self.0
            .iter()
            .find(|p| p.syn && p.src == from && p.dst == to)
            .map(|p| p.seq)
    }

    /// The SYN that opened the connection whose segment is in frame `n`.
    pub fn opening_syn(&self, n: u64) -> Option<&Packet> {
        let p = self.frame(n)?;
        self.0
            .iter()
            .rev()
            .find(|s| s.frame <= n && s.opens() && s.between(p.src, p.dst))
    }

    /// The first SYN after frame `after` (exclusive) and up to `until` (inclusive) towards `to`.
    pub fn syn_to(&self, to: SocketAddr, after: u64, until: u64) -> Option<&Packet> {
        self.0
            .iter()
            .find(|p| p.opens() && p.dst == to && p.frame > after && p.frame <= until)
    }

    /// The first segment carrying `prefix` at the start of its payload, sent to `to`'s port
    /// from after frame `after`.
    pub fn payload_starting(&self, prefix: &[u8], after: u64) -> Option<&Packet> {
        self.0
            .iter()
            .find(|p| p.frame > after && p.payload.starts_with(prefix))
    }

    /// The bytes that went from `from` to `to`, in sequence order (first copy of each byte).
    pub fn stream(&self, from: SocketAddr, to: SocketAddr) -> Vec<u8> {
        let Some(isn) = self.isn(from, to) else {
            return Vec::new();
        };
        let mut out: Vec<u8> = Vec::new();
        for p in self.0.iter().filter(|p| p.src == from && p.dst == to) {
            let offset = p.seq.wrapping_sub(isn).wrapping_sub(1) as usize;
            if offset > out.len() || p.payload.is_empty() || offset > (64 << 20) {
                continue;
            }
            let end = offset + p.payload.len();
            if end > out.len() {
                let keep = out.len() - offset;
                out.extend_from_slice(p.payload.get(keep..).unwrap_or_default());
            }
        }
        out
    }
}

/// Copies the TCP segments from or to `host` of capture `from` into a new pcapng `to`; returns
/// how many frames were kept. For labs that must capture all loopback traffic (the data
/// connections of FTPS sessions are announced in encrypted replies, so `inspector live` cannot
/// learn their ports) and keep only their own address.
pub fn keep_host(from: &Path, to: &Path, host: std::net::IpAddr) -> Result<u64, LabError> {
    let inspector_error = |stderr: String| LabError::Inspector {
        capture: from.to_path_buf(),
        stderr,
    };
    let mut source =
        inspector::source::open_file(from).map_err(|e| inspector_error(e.to_string()))?;
    let mut writer = inspector::source::CaptureWriter::create(to, "lo")
        .map_err(|e| inspector_error(e.to_string()))?;
    // Bounded by the file: every call consumes a record or ends.
    loop {
        let raw = match source.next_frame() {
            Ok(Some(raw)) => raw,
            Ok(None) => break,
            Err(inspector::source::SourceError::BadRecord { .. }) => continue,
            Err(_) => break,
        };
        let mine = matches!(frame::decode(&raw), Ok(Decoded::Tcp(s))
            if s.src.ip() == host || s.dst.ip() == host);
        if mine {
            writer
                .write(&raw)
                .map_err(|e| inspector_error(e.to_string()))?;
        }
    }
    let kept = writer.frames();
    writer
        .finish()
        .map_err(|e| inspector_error(e.to_string()))?;
    Ok(kept)
}

/// How a connection ended: the flag of the last segment that closed it, from whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// A FIN (orderly close).
    Fin,
    /// A RST (torn down).
    Rst,
}

impl Ending {
    /// "fin" or "rst".
    pub fn word(self) -> &'static str {
        match self {
            Self::Fin => "fin",
            Self::Rst => "rst",
        }
    }
}

/// How the connection between `a` and `b` ended: RST if any segment of it carried RST, else FIN
/// if one did.
pub fn ending(packets: &Packets, a: SocketAddr, b: SocketAddr) -> Option<Ending> {
    let conn: Vec<&Packet> = packets.connection(a, b).collect();
    if conn.iter().any(|p| p.rst) {
        Some(Ending::Rst)
    } else if conn.iter().any(|p| p.fin) {
        Some(Ending::Fin)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_lab1_capture_has_the_pass_segment_at_its_relative_numbers() {
        let capture = crate::workspace_root().join("captures/lab1.pcapng");
        let packets = Packets::read(&capture).expect("shipped capture reads");
        let pass = packets
            .payload_starting(b"PASS pass1", 0)
            .expect("the accepted PASS");
        let isn = packets.isn(pass.src, pass.dst).expect("its SYN");
        assert_eq!(pass.seq.wrapping_sub(isn), 13, "after USER user1\\r\\n");
        let stream = packets.stream(pass.src, pass.dst);
        assert!(stream.starts_with(b"USER user1\r\nPASS pass1\r\n"));
    }
}
