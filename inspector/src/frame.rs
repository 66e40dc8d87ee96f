//! Frame decoding: link layer → IPv4/IPv6 → TCP segment, with etherparse in lax mode so that a
//! frame cut short by the snap length still yields what it has.

use crate::defrag::Fragment;
use crate::source::{LinkType, RawFrame};
use etherparse::{
    EtherType, Ipv6ExtensionSlice, LaxNetSlice, LaxSlicedPacket, TcpSlice, TransportSlice,
};
use std::net::{IpAddr, SocketAddr};

/// A TCP segment taken out of a frame.
#[derive(Debug, Clone, Copy)]
pub struct Segment<'a> {
    /// Sender.
    pub src: SocketAddr,
    /// Receiver.
    pub dst: SocketAddr,
    /// Sequence number of the first payload byte (or of the SYN/FIN).
    pub seq: u32,
    /// Acknowledgement number (meaningful when `ack` is set).
    pub ack_number: u32,
    /// SYN flag: the sender's initial sequence number.
    pub syn: bool,
    /// ACK flag.
    pub ack: bool,
    /// FIN flag: the sender has no more data.
    pub fin: bool,
    /// RST flag: the connection was torn down.
    pub rst: bool,
    /// The captured payload.
    pub payload: &'a [u8],
    /// Payload bytes that were on the wire after `payload` but not captured (snap length).
    pub missing: u32,
}

/// What a frame turned out to hold.
#[derive(Debug)]
pub enum Decoded<'a> {
    /// A TCP segment.
    Tcp(Segment<'a>),
    /// A piece of a fragmented IP packet, for [`crate::defrag`].
    Fragment(Fragment<'a>),
    /// Something that is not TCP over IP (ARP, UDP, ICMP…): not for us.
    Other,
}

/// A frame whose headers are broken, with the layer where decoding stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("frame {frame}: {layer}: {detail}")]
pub struct FrameError {
    /// Wireshark frame number.
    pub frame: u64,
    /// Which header was broken ("link", "IPv4", "TCP"…).
    pub layer: String,
    /// What etherparse said.
    pub detail: String,
}

/// The frame's headers as etherparse sees them, after the link layer this reader knows (the
/// one place that knows link types: [`decode`] and the packet view both start here).
pub fn slice<'a>(frame: &RawFrame<'a>) -> Result<LaxSlicedPacket<'a>, FrameError> {
    let err = |layer: &str, detail: String| FrameError {
        frame: frame.number,
        layer: layer.to_owned(),
        detail,
    };
    let bytes = frame.bytes;
    Ok(match frame.link_type {
        LinkType::ETHERNET => {
            LaxSlicedPacket::from_ethernet(bytes).map_err(|e| err("Ethernet", e.to_string()))?
        }
        LinkType::LINUX_SLL => cooked(bytes, 16, 14).ok_or_else(|| {
            err(
                "Linux cooked (SLL)",
                format!("header needs 16 bytes, frame has {}", bytes.len()),
            )
        })?,
        LinkType::LINUX_SLL2 => cooked(bytes, 20, 0).ok_or_else(|| {
            err(
                "Linux cooked (SLL2)",
                format!("header needs 20 bytes, frame has {}", bytes.len()),
            )
        })?,
        // BSD loopback: a 4-byte address family whose byte order depends on the capturing host,
        // so the IP version nibble is the surer guide.
        LinkType::NULL | LinkType::LOOP => {
            let ip = bytes.get(4..).ok_or_else(|| {
                err(
                    "BSD loopback",
                    format!("header needs 4 bytes, frame has {}", bytes.len()),
                )
            })?;
            from_ip(ip).map_err(|e| err("IP", e))?
        }
        LinkType::RAW | LinkType::IPV4 | LinkType::IPV6 => {
            from_ip(bytes).map_err(|e| err("IP", e))?
        }
        l if LinkType::RAW_OLD.contains(&l) => from_ip(bytes).map_err(|e| err("IP", e))?,
        other => return Err(err("link", format!("unsupported link type {other}"))),
    })
}

/// Decodes one frame.
pub fn decode<'a>(frame: &RawFrame<'a>) -> Result<Decoded<'a>, FrameError> {
    let err = |layer: &str, detail: String| FrameError {
        frame: frame.number,
        layer: layer.to_owned(),
        detail,
    };
    let packet = slice(frame)?;
    let (src_ip, dst_ip, claimed_ip_payload) = match &packet.net {
        Some(LaxNetSlice::Ipv4(v4)) => {
            let h = v4.header();
            let (src, dst) = (
                IpAddr::V4(h.source_addr()),
                IpAddr::V4(h.destination_addr()),
            );
            if v4.is_payload_fragmented() {
                return Ok(Decoded::Fragment(Fragment {
                    src,
                    dst,
                    id: u32::from(h.identification()),
                    protocol: v4.payload().ip_number.0,
                    offset: usize::from(h.fragments_offset().byte_offset()),
                    more: h.more_fragments(),
                    payload: v4.payload().payload,
                    truncated: v4.payload().incomplete,
                }));
            }
            let claimed = usize::from(h.total_len()).saturating_sub(usize::from(h.ihl()) * 4);
            (src, dst, claimed)
        }
        Some(LaxNetSlice::Ipv6(v6)) => {
            let h = v6.header();
            let (src, dst) = (
                IpAddr::V6(h.source_addr()),
                IpAddr::V6(h.destination_addr()),
            );
            if v6.is_payload_fragmented() {
                let fragment_header = v6.extensions().clone().into_iter().find_map(|e| match e {
                    Ipv6ExtensionSlice::Fragment(f) => Some(f),
                    _ => None,
                });
                if let Some(f) = fragment_header {
                    return Ok(Decoded::Fragment(Fragment {
                        src,
                        dst,
                        id: f.identification(),
                        protocol: v6.payload().ip_number.0,
                        offset: usize::from(f.fragment_offset().byte_offset()),
                        more: f.more_fragments(),
                        payload: v6.payload().payload,
                        truncated: v6.payload().incomplete,
                    }));
                }
                return Ok(Decoded::Other);
            }
            let claimed =
                usize::from(h.payload_length()).saturating_sub(v6.extensions().slice().len());
            (src, dst, claimed)
        }
        _ => {
            return match packet.stop_err {
                Some((e, layer)) => Err(err(&format!("{layer:?}"), e.to_string())),
                None => Ok(Decoded::Other),
            };
        }
    };
    let Some(TransportSlice::Tcp(tcp)) = &packet.transport else {
        return match packet.stop_err {
            Some((e, layer)) => Err(err(&format!("{layer:?}"), e.to_string())),
            None => Ok(Decoded::Other),
        };
    };
    let header_len = usize::from(tcp.data_offset()) * 4;
    // A jumbo/TSO capture may claim a total length of 0; then what was captured is all there is.
    let claimed_payload = claimed_ip_payload.saturating_sub(header_len);
    let missing = claimed_payload.saturating_sub(tcp.payload().len());
    Ok(Decoded::Tcp(segment_of(
        src_ip,
        dst_ip,
        tcp,
        u32::try_from(missing).unwrap_or(u32::MAX),
    )))
}

/// The segment `tcp` carries between `src` and `dst`.
fn segment_of<'a>(src: IpAddr, dst: IpAddr, tcp: &TcpSlice<'a>, missing: u32) -> Segment<'a> {
    Segment {
        src: SocketAddr::new(src, tcp.source_port()),
        dst: SocketAddr::new(dst, tcp.destination_port()),
        seq: tcp.sequence_number(),
        ack_number: tcp.acknowledgment_number(),
        syn: tcp.syn(),
        ack: tcp.ack(),
        fin: tcp.fin(),
        rst: tcp.rst(),
        payload: tcp.payload(),
        missing,
    }
}

/// The TCP segment carried by an IP datagram rebuilt from its fragments ([`crate::defrag`]);
/// `None` when its TCP header is broken.
pub fn rebuilt_segment(src: IpAddr, dst: IpAddr, ip_payload: &[u8]) -> Option<Segment<'_>> {
    let tcp = TcpSlice::from_slice(ip_payload).ok()?;
    Some(segment_of(src, dst, &tcp, 0))
}

/// Linux cooked headers: SLL (16 bytes, protocol at 14) and SLL2 (20 bytes, protocol at 0).
fn cooked(bytes: &[u8], header: usize, protocol_at: usize) -> Option<LaxSlicedPacket<'_>> {
    let proto = bytes.get(protocol_at..protocol_at + 2)?;
    let ether_type = EtherType(u16::from_be_bytes([*proto.first()?, *proto.get(1)?]));
    Some(LaxSlicedPacket::from_ether_type(
        ether_type,
        bytes.get(header..)?,
    ))
}

fn from_ip(bytes: &[u8]) -> Result<LaxSlicedPacket<'_>, String> {
    LaxSlicedPacket::from_ip(bytes).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;
    use std::time::Duration;

    fn frame(link_type: LinkType, bytes: &[u8]) -> RawFrame<'_> {
        RawFrame {
            number: 7,
            timestamp: Duration::ZERO,
            link_type,
            bytes,
            wire_len: bytes.len() as u32,
        }
    }

    fn ipv4_tcp(payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        PacketBuilder::ipv4([127, 0, 0, 1], [127, 0, 0, 2], 64)
            .tcp(40000, 21, 1000, 65535)
            .write(&mut out, payload)
            .unwrap_or_default();
        out
    }

    fn tcp_of(d: Decoded<'_>) -> Segment<'_> {
        match d {
            Decoded::Tcp(s) => s,
            other => panic!("expected a TCP segment, got {other:?}"),
        }
    }

    #[test]
    fn raw_ipv4_frame_yields_its_tcp_payload() {
        let bytes = ipv4_tcp(b"USER bob\r\n");
        let s = tcp_of(decode(&frame(LinkType::RAW, &bytes)).unwrap());
        assert_eq!(s.payload, b"USER bob\r\n");
        assert_eq!(s.dst.port(), 21);
        assert_eq!(s.seq, 1000);
        assert_eq!(s.missing, 0);
    }

    #[test]
    fn sll2_and_sll_and_null_headers_are_skipped() {
        let ip = ipv4_tcp(b"x");
        let mut sll2 = vec![0x08, 0x00];
        sll2.extend([0u8; 18]);
        sll2.extend(&ip);
        let mut sll = vec![0u8; 14];
        sll.extend([0x08, 0x00]);
        sll.extend(&ip);
        let mut null = vec![2, 0, 0, 0];
        null.extend(&ip);
        for (lt, bytes) in [
            (LinkType::LINUX_SLL2, sll2),
            (LinkType::LINUX_SLL, sll),
            (LinkType::NULL, null),
        ] {
            let s = tcp_of(decode(&frame(lt, &bytes)).unwrap());
            assert_eq!(s.payload, b"x", "{lt}");
        }
    }

    #[test]
    fn snap_length_cut_is_reported_as_missing_bytes() {
        let bytes = ipv4_tcp(&[b'a'; 100]);
        let cut = &bytes[..bytes.len() - 30];
        let s = tcp_of(decode(&frame(LinkType::RAW, cut)).unwrap());
        assert_eq!(s.payload.len(), 70);
        assert_eq!(s.missing, 30);
    }

    #[test]
    fn broken_headers_are_an_error_naming_the_frame() {
        let e = decode(&frame(LinkType::RAW, &[0x45, 0, 0])).unwrap_err();
        assert_eq!(e.frame, 7);
        let e = decode(&frame(LinkType(9999), &[1, 2, 3])).unwrap_err();
        assert!(e.detail.contains("unsupported link type"), "{e}");
    }
}
