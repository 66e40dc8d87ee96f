//! `inspector frame`: one frame the way Wireshark's packet-details pane shows it: frame, link
//! layer, IPv4/IPv6, TCP (sequence and acknowledgement numbers absolute and relative), UDP or ARP,
//! the FTP lines or the data it carries, and a hex dump.
//!
//! Headers are read with the same [`frame::slice`] the analysis uses; which connections are FTP
//! control connections comes from the analysis itself ([`crate::analyze_file`]), so this view
//! and `inspector read` never disagree about a session.

use crate::event::Event;
use crate::exit_code::{EXIT_ERROR, EXIT_OK, EXIT_SKIPPED};
use crate::frame::{self, FrameError};
use crate::source::{self, LinkType, RawFrame, SourceError};
use crate::{FTP_PORT, Options};
use etherparse::{
    LaxNetSlice, LaxSlicedPacket, LinkSlice, TcpOptionElement, TcpSlice, TransportSlice,
};
use ftp_proto::command::split_line;
use ftp_proto::reply::line_code;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

/// Arguments of `inspector frame`.
#[derive(Debug, Clone, clap::Args)]
pub struct FrameArgs {
    /// The capture file (.pcap or .pcapng, possibly gzip-compressed).
    pub file: PathBuf,
    /// The frame number, as Wireshark numbers frames (the first is 1).
    #[arg(required_unless_present = "all")]
    pub number: Option<u64>,
    /// Every frame, one after the other (with `--json`: one object per line).
    #[arg(long, conflicts_with = "number")]
    pub all: bool,
    /// One JSON object per frame (schema: inspector/JSON.md, `"kind":"frame"`).
    #[arg(long)]
    pub json: bool,
    /// Also treat this TCP port as an FTP control port (21 always is); repeatable.
    #[arg(long = "port", value_name = "PORT")]
    pub ports: Vec<u16>,
}

/// One frame, layer by layer (`"kind":"frame"`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrameView {
    /// Always `frame`.
    pub kind: &'static str,
    /// Wireshark's `frame.number`.
    pub frame: u64,
    /// Seconds since the Unix epoch, as tshark's `frame.time_epoch` prints it (9 decimals).
    pub time_epoch: String,
    /// Seconds since the first frame (`frame.time_relative`).
    pub time_relative: f64,
    /// Bytes on the wire (`frame.len`).
    pub len: u32,
    /// Bytes captured (`frame.cap_len`).
    pub cap_len: u32,
    /// The link layer.
    pub link: LinkView,
    /// The IPv4 header, if any.
    pub ipv4: Option<Ipv4View>,
    /// The IPv6 header, if any.
    pub ipv6: Option<Ipv6View>,
    /// The TCP header, if any.
    pub tcp: Option<TcpView>,
    /// The UDP header, if any.
    pub udp: Option<UdpView>,
    /// The ICMP or ICMPv6 header, if any.
    pub icmp: Option<IcmpView>,
    /// The ARP packet (IPv4 over Ethernet), if any.
    pub arp: Option<ArpView>,
    /// What the TCP or UDP payload is (null when there is none).
    pub payload: Option<PayloadView>,
    /// Where decoding stopped, if it did (a header cut short, an unknown link type).
    pub error: Option<String>,
    /// The captured bytes, hex.
    pub bytes: String,
}

/// The link layer (`"type"` names it).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LinkView {
    /// Ethernet II (`eth.*`).
    Ethernet {
        /// `eth.src`.
        src: String,
        /// `eth.dst`.
        dst: String,
        /// `eth.type` (of the innermost VLAN tag's payload when tagged).
        ether_type: u16,
        /// 802.1Q VLAN ids, outermost first.
        vlans: Vec<u16>,
    },
    /// Linux cooked capture v1 (`sll.*`).
    LinuxSll {
        /// `sll.pkttype`: 0 to us, 1 broadcast, 2 multicast, 3 to another host, 4 sent by us.
        packet_type: u16,
        /// `sll.hatype` (ARPHRD_ value).
        arphrd: u16,
        /// The link-layer address (`sll.src.*`), hex with colons.
        address: String,
        /// `sll.etype`.
        protocol: u16,
    },
    /// Linux cooked capture v2 (`sll.*`).
    LinuxSll2 {
        /// `sll.etype`.
        protocol: u16,
        /// `sll.ifindex`.
        ifindex: u32,
        /// `sll.hatype`.
        arphrd: u16,
        /// `sll.pkttype`.
        packet_type: u8,
        /// The link-layer address, hex with colons.
        address: String,
    },
    /// BSD loopback (`null.family`).
    Loopback {
        /// The address family (2 = IPv4; IPv6 is 24, 28 or 30 depending on the OS).
        family: u32,
    },
    /// Raw IP: no link header.
    Raw,
}

/// An IPv4 header (`ip.*`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ipv4View {
    /// `ip.src`.
    pub src: String,
    /// `ip.dst`.
    pub dst: String,
    /// `ip.hdr_len`, bytes.
    pub header_len: u8,
    /// `ip.dsfield` (DSCP and ECN).
    pub dsfield: u8,
    /// `ip.len`.
    pub total_len: u16,
    /// `ip.id`.
    pub id: u16,
    /// The three flag bits as Wireshark 4 shows `ip.flags` (0x02 = Don't fragment).
    pub flags: u8,
    /// `ip.frag_offset`, bytes.
    pub frag_offset: u16,
    /// `ip.ttl`.
    pub ttl: u8,
    /// `ip.proto` (6 TCP, 17 UDP).
    pub protocol: u8,
    /// `ip.checksum`.
    pub checksum: u16,
}

/// An IPv6 header (`ipv6.*`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ipv6View {
    /// `ipv6.src`.
    pub src: String,
    /// `ipv6.dst`.
    pub dst: String,
    /// `ipv6.tclass`.
    pub traffic_class: u8,
    /// `ipv6.flow`.
    pub flow_label: u32,
    /// `ipv6.plen`.
    pub payload_len: u16,
    /// `ipv6.nxt`.
    pub next_header: u8,
    /// `ipv6.hlim`.
    pub hop_limit: u8,
}

/// A TCP header (`tcp.*`), with the numbers Wireshark computes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TcpView {
    /// `tcp.srcport`.
    pub src_port: u16,
    /// `tcp.dstport`.
    pub dst_port: u16,
    /// `tcp.stream`: the connection's index, from 0, in order of first appearance.
    pub stream: u64,
    /// `tcp.seq`: relative to the sender's initial sequence number (its SYN), or to the first
    /// sequence number seen minus one when the SYN is not in the capture.
    pub seq: u32,
    /// `tcp.seq_raw`: as on the wire.
    pub seq_raw: u32,
    /// `tcp.ack`: relative like `seq`, to the other side's initial sequence number (0 when
    /// the ACK flag is not set).
    pub ack: u32,
    /// `tcp.ack_raw`.
    pub ack_raw: u32,
    /// `tcp.hdr_len`, bytes.
    pub header_len: u8,
    /// `tcp.flags`: the 12 bits after the data offset (0x002 SYN, 0x010 ACK…).
    pub flags: u16,
    /// The flags set, by name (`SYN`, `ACK`, `PSH`, `FIN`, `RST`, `URG`, `ECE`, `CWR`, `AE`).
    pub flag_names: Vec<&'static str>,
    /// `tcp.window_size_value`: the window field as sent (before scaling).
    pub window: u16,
    /// `tcp.checksum` (not verified: on loopback and with offloading it is often wrong).
    pub checksum: u16,
    /// `tcp.urgent_pointer`.
    pub urgent_pointer: u16,
    /// `tcp.len`: payload bytes on the wire (from the IP length, so also for a cut frame).
    pub len: u32,
    /// The options, in order.
    pub options: Vec<TcpOptionView>,
}

/// A TCP option (`"kind"` names it).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TcpOptionView {
    /// No-Operation (padding).
    Nop,
    /// Maximum segment size (`tcp.options.mss_val`).
    Mss {
        /// Bytes.
        value: u16,
    },
    /// Window scale (`tcp.options.wscale.shift`).
    WindowScale {
        /// The shift count; the multiplier is 2^shift.
        shift: u8,
    },
    /// SACK permitted.
    SackPerm,
    /// Selective acknowledgement blocks `[left, right]`, raw sequence numbers.
    Sack {
        /// The blocks.
        blocks: Vec<[u32; 2]>,
    },
    /// Timestamps (`tcp.options.timestamp.tsval`, `.tsecr`).
    Timestamps {
        /// The sender's clock.
        tsval: u32,
        /// The echoed clock.
        tsecr: u32,
    },
    /// An option this view does not decode; decoding stops there.
    Other {
        /// Why.
        detail: String,
    },
}

/// A UDP header (`udp.*`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UdpView {
    /// `udp.srcport`.
    pub src_port: u16,
    /// `udp.dstport`.
    pub dst_port: u16,
    /// `udp.length`.
    pub length: u16,
    /// `udp.checksum`.
    pub checksum: u16,
}

/// An ICMP (`icmp.*`) or ICMPv6 (`icmpv6.*`) header.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IcmpView {
    /// 4 for ICMP, 6 for ICMPv6.
    pub version: u8,
    /// `icmp.type` (3 destination unreachable, 8 echo request…).
    #[serde(rename = "type")]
    pub icmp_type: u8,
    /// `icmp.code` (with type 3: 3 port unreachable…).
    pub code: u8,
    /// `icmp.checksum`.
    pub checksum: u16,
}

/// An ARP packet for IPv4 over Ethernet (`arp.*`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArpView {
    /// `arp.opcode`: 1 request, 2 reply.
    pub opcode: u16,
    /// `arp.src.hw_mac`.
    pub sender_mac: String,
    /// `arp.src.proto_ipv4`.
    pub sender_ip: String,
    /// `arp.dst.hw_mac` (zeros in a request).
    pub target_mac: String,
    /// `arp.dst.proto_ipv4`.
    pub target_ip: String,
}

/// What a segment's payload is (`"type"` names it).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PayloadView {
    /// Lines of an FTP control connection.
    Ftp {
        /// The session, as `inspector read` numbers it.
        session: usize,
        /// `command` (client to server) or `reply`.
        direction: &'static str,
        /// The server's port; when it is not 21, Wireshark shows FTP only with Decode As.
        server_port: u16,
        /// The lines of this segment (a line cut by the segment's end is given as it is).
        lines: Vec<FtpLineView>,
    },
    /// An FTP control connection after AUTH TLS: encrypted.
    Tls {
        /// The session.
        session: usize,
        /// Payload bytes captured.
        bytes: usize,
    },
    /// Any other payload (a data connection's content, a datagram).
    Data {
        /// Payload bytes captured.
        bytes: usize,
    },
}

/// One line of FTP in a segment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FtpLineView {
    /// The line without its CR LF.
    pub text: String,
    /// Command lines: the verb as sent (`ftp.request.command`).
    pub command: Option<String>,
    /// Command lines: the argument as sent (`ftp.request.arg`).
    pub arg: Option<String>,
    /// Reply lines that start with a code (`ftp.response.code`).
    pub code: Option<u16>,
    /// False when the segment ends before the line's LF.
    pub complete: bool,
}

/// What can go wrong before a frame is shown.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    /// The capture could not be read at all.
    #[error("{0}")]
    Source(#[from] SourceError),
    /// Frame 0 was asked for.
    #[error("frames are numbered from 1, as in Wireshark")]
    Zero,
    /// The frame is past the end of the capture.
    #[error("{file}: there is no frame {wanted}: the capture has {frames} frames")]
    OutOfRange {
        /// The capture.
        file: String,
        /// The frame asked for.
        wanted: u64,
        /// Frames in the capture.
        frames: u64,
    },
    /// The capture stops (truncated or corrupt) before the frame.
    #[error("{source}; frame {wanted} cannot be shown (frames 1 to {readable} can)")]
    Unreadable {
        /// Why reading stopped.
        source: SourceError,
        /// The frame asked for.
        wanted: u64,
        /// The last frame that could be read.
        readable: u64,
    },
}

/// Which connections are FTP control connections, from the analysis.
#[derive(Debug, Default)]
struct ControlMap {
    /// Unordered address pair → sessions on it, (session, first frame, server, TLS from frame).
    sessions: HashMap<(SocketAddr, SocketAddr), Vec<ControlSession>>,
}

#[derive(Debug, Clone, Copy)]
struct ControlSession {
    id: usize,
    first_frame: u64,
    server: SocketAddr,
    tls_from: Option<u64>,
}

fn pair(a: SocketAddr, b: SocketAddr) -> (SocketAddr, SocketAddr) {
    if a <= b { (a, b) } else { (b, a) }
}

impl ControlMap {
    fn from_events(events: &[Event]) -> ControlMap {
        let mut map = ControlMap::default();
        let mut by_id: HashMap<usize, (SocketAddr, SocketAddr)> = HashMap::new();
        for e in events {
            if let Event::Session(s) = e
                && let (Ok(client), Ok(server)) = (s.client.parse(), s.server.parse())
            {
                by_id.insert(s.session, pair(client, server));
                map.sessions
                    .entry(pair(client, server))
                    .or_default()
                    .push(ControlSession {
                        id: s.session,
                        first_frame: s.frame,
                        server,
                        tls_from: None,
                    });
            }
        }
        for e in events {
            if let Event::Tls(t) = e
                && let Some(list) = by_id.get(&t.session).and_then(|k| map.sessions.get_mut(k))
                && let Some(s) = list.iter_mut().find(|s| s.id == t.session)
            {
                s.tls_from = Some(t.frame);
            }
        }
        map
    }

    /// The session a segment between `a` and `b` in frame `number` belongs to.
    fn lookup(&self, a: SocketAddr, b: SocketAddr, number: u64) -> Option<ControlSession> {
        self.sessions
            .get(&pair(a, b))?
            .iter()
            .rev()
            .find(|s| s.first_frame <= number)
            .copied()
    }
}

/// Per-connection state for `tcp.stream` and relative sequence numbers, as Wireshark keeps it.
#[derive(Debug, Default)]
struct Streams {
    open: HashMap<(SocketAddr, SocketAddr), Stream>,
    next_index: u64,
}

#[derive(Debug)]
struct Stream {
    index: u64,
    /// Direction 0 is from `a`.
    a: SocketAddr,
    /// Base sequence number per direction: relative = raw - base.
    base: [Option<u32>; 2],
}

impl Streams {
    /// Returns (stream index, relative seq, relative ack) for one segment.
    fn push(&mut self, src: SocketAddr, dst: SocketAddr, tcp: &TcpSlice<'_>) -> (u64, u32, u32) {
        let key = pair(src, dst);
        let (seq, ack) = (tcp.sequence_number(), tcp.acknowledgment_number());
        // A SYN that does not repeat the known initial sequence number opens a new connection
        // on the same addresses and ports (port reuse); Wireshark gives it a new stream index.
        let reused = tcp.syn()
            && !tcp.ack()
            && self.open.get(&key).is_some_and(|s| {
                let dir = usize::from(src != s.a);
                s.base.get(dir).copied().flatten().is_some_and(|b| b != seq)
            });
        if reused || !self.open.contains_key(&key) {
            let index = self.next_index;
            self.next_index += 1;
            self.open.insert(
                key,
                Stream {
                    index,
                    a: src,
                    base: [None, None],
                },
            );
        }
        let Some(stream) = self.open.get_mut(&key) else {
            return (0, seq, ack);
        };
        let [from_a, from_b] = &mut stream.base;
        let (mine, theirs) = if src == stream.a {
            (from_a, from_b)
        } else {
            (from_b, from_a)
        };
        // The sender's base: its SYN's number, else one before the first byte seen. The other
        // side's base, until it sends: one before the first acknowledgement number seen.
        let base = *mine.get_or_insert(if tcp.syn() { seq } else { seq.wrapping_sub(1) });
        let rel_ack = if tcp.ack() {
            let other = *theirs.get_or_insert(ack.wrapping_sub(1));
            ack.wrapping_sub(other)
        } else {
            0
        };
        (stream.index, seq.wrapping_sub(base), rel_ack)
    }
}

/// Builds the views of a capture's frames, in order: it keeps what relative numbers need
/// (each connection's base sequence numbers) and which connections are FTP control connections.
#[derive(Debug, Default)]
pub struct FrameViewer {
    control: ControlMap,
    streams: Streams,
    first_time: Option<std::time::Duration>,
}

impl FrameViewer {
    /// A viewer that knows no FTP session: every payload is shown as data. [`view_frames`]
    /// gives it the sessions `inspector read` finds.
    pub fn new() -> FrameViewer {
        FrameViewer::default()
    }

    /// The view of the next frame (frames must come in capture order).
    pub fn view(&mut self, raw: &RawFrame<'_>) -> FrameView {
        let first = *self.first_time.get_or_insert(raw.timestamp);
        let mut view = FrameView {
            kind: "frame",
            frame: raw.number,
            time_epoch: format!(
                "{}.{:09}",
                raw.timestamp.as_secs(),
                raw.timestamp.subsec_nanos()
            ),
            time_relative: raw.timestamp.saturating_sub(first).as_secs_f64(),
            len: raw.wire_len,
            cap_len: u32::try_from(raw.bytes.len()).unwrap_or(u32::MAX),
            link: link_view(raw),
            ipv4: None,
            ipv6: None,
            tcp: None,
            udp: None,
            icmp: None,
            arp: None,
            payload: None,
            error: None,
            bytes: hex::encode(raw.bytes),
        };
        let packet = match frame::slice(raw) {
            Ok(p) => p,
            Err(FrameError { layer, detail, .. }) => {
                view.error = Some(format!("{layer}: {detail}"));
                return view;
            }
        };
        if let Some((e, layer)) = &packet.stop_err {
            view.error = Some(format!("{layer:?}: {e}"));
        }
        if let LinkView::Ethernet {
            ether_type, vlans, ..
        } = &mut view.link
        {
            *vlans = packet.vlan_ids().iter().map(|v| v.value()).collect();
            if let Some(p) = packet.ether_payload() {
                *ether_type = p.ether_type.0;
            }
        }
        if let Some(LaxNetSlice::Arp(a)) = &packet.net
            && let Some(arp) = crate::arp::Arp::parse(a.slice())
        {
            view.arp = Some(ArpView {
                opcode: if arp.reply { 2 } else { 1 },
                sender_mac: crate::arp::mac_text(&arp.sender_mac),
                sender_ip: arp.sender_ip.to_string(),
                target_mac: crate::arp::mac_text(&arp.target_mac),
                target_ip: arp.target_ip.to_string(),
            });
        }
        let (src_ip, dst_ip, ip_payload_claimed) = self.ip_views(&packet, &mut view);
        match &packet.transport {
            Some(TransportSlice::Tcp(tcp)) => {
                let (Some(src_ip), Some(dst_ip)) = (src_ip, dst_ip) else {
                    return view;
                };
                let src = SocketAddr::new(src_ip, tcp.source_port());
                let dst = SocketAddr::new(dst_ip, tcp.destination_port());
                let (stream, seq, ack) = self.streams.push(src, dst, tcp);
                let header_len = tcp.data_offset() * 4;
                let len = ip_payload_claimed
                    .map(|c| c.saturating_sub(usize::from(header_len)))
                    .unwrap_or(tcp.payload().len());
                view.tcp = Some(tcp_view(tcp, stream, seq, ack, len));
                view.payload = self.payload(src, dst, raw.number, tcp.payload());
            }
            Some(TransportSlice::Udp(udp)) => {
                view.udp = Some(UdpView {
                    src_port: udp.source_port(),
                    dst_port: udp.destination_port(),
                    length: udp.length(),
                    checksum: udp.checksum(),
                });
                let bytes = udp.payload().len();
                view.payload = (bytes > 0).then_some(PayloadView::Data { bytes });
            }
            Some(TransportSlice::Icmpv4(icmp)) => {
                view.icmp = Some(IcmpView {
                    version: 4,
                    icmp_type: icmp.type_u8(),
                    code: icmp.code_u8(),
                    checksum: icmp.checksum(),
                });
            }
            Some(TransportSlice::Icmpv6(icmp)) => {
                view.icmp = Some(IcmpView {
                    version: 6,
                    icmp_type: icmp.type_u8(),
                    code: icmp.code_u8(),
                    checksum: icmp.checksum(),
                });
            }
            None => {}
        }
        view
    }

    /// Fills the IP views; returns the addresses and the IP payload length the header claims.
    fn ip_views(
        &self,
        packet: &LaxSlicedPacket<'_>,
        view: &mut FrameView,
    ) -> (Option<IpAddr>, Option<IpAddr>, Option<usize>) {
        match &packet.net {
            Some(LaxNetSlice::Ipv4(v4)) => {
                let h = v4.header();
                let header_len = h.ihl() * 4;
                view.ipv4 = Some(Ipv4View {
                    src: h.source_addr().to_string(),
                    dst: h.destination_addr().to_string(),
                    header_len,
                    dsfield: (h.dcp().value() << 2) | h.ecn().value(),
                    total_len: h.total_len(),
                    id: h.identification(),
                    flags: (u8::from(h.dont_fragment()) << 1) | u8::from(h.more_fragments()),
                    frag_offset: h.fragments_offset().value() * 8,
                    ttl: h.ttl(),
                    protocol: h.protocol().0,
                    checksum: h.header_checksum(),
                });
                (
                    Some(IpAddr::V4(h.source_addr())),
                    Some(IpAddr::V4(h.destination_addr())),
                    Some(usize::from(h.total_len()).saturating_sub(usize::from(header_len))),
                )
            }
            Some(LaxNetSlice::Ipv6(v6)) => {
                let h = v6.header();
                view.ipv6 = Some(Ipv6View {
                    src: h.source_addr().to_string(),
                    dst: h.destination_addr().to_string(),
                    traffic_class: h.traffic_class(),
                    flow_label: h.flow_label().value(),
                    payload_len: h.payload_length(),
                    next_header: h.next_header().0,
                    hop_limit: h.hop_limit(),
                });
                (
                    Some(IpAddr::V6(h.source_addr())),
                    Some(IpAddr::V6(h.destination_addr())),
                    Some(
                        usize::from(h.payload_length())
                            .saturating_sub(v6.extensions().slice().len()),
                    ),
                )
            }
            _ => (None, None, None),
        }
    }

    fn payload(
        &self,
        src: SocketAddr,
        dst: SocketAddr,
        number: u64,
        payload: &[u8],
    ) -> Option<PayloadView> {
        if payload.is_empty() {
            return None;
        }
        let Some(session) = self.control.lookup(src, dst, number) else {
            return Some(PayloadView::Data {
                bytes: payload.len(),
            });
        };
        if session.tls_from.is_some_and(|f| f < number) {
            return Some(PayloadView::Tls {
                session: session.id,
                bytes: payload.len(),
            });
        }
        let from_client = dst == session.server;
        Some(PayloadView::Ftp {
            session: session.id,
            direction: if from_client { "command" } else { "reply" },
            server_port: session.server.port(),
            lines: ftp_lines(payload, from_client),
        })
    }
}

/// The lines of a control connection segment, decoded as Wireshark's FTP dissector shows them.
fn ftp_lines(payload: &[u8], from_client: bool) -> Vec<FtpLineView> {
    let mut lines = Vec::new();
    let mut rest = payload;
    while !rest.is_empty() {
        let (raw, complete, next) = match rest.iter().position(|&b| b == b'\n') {
            Some(lf) => (
                rest.get(..lf).unwrap_or_default(),
                true,
                rest.get(lf + 1..).unwrap_or_default(),
            ),
            None => (rest, false, &[][..]),
        };
        rest = next;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let text = String::from_utf8_lossy(raw).into_owned();
        let (command, arg, code) = if from_client {
            let (verb, arg) = split_line(&text);
            (Some(verb.to_owned()), arg.map(str::to_owned), None)
        } else {
            (None, None, line_code(raw).map(|(c, _)| c.0))
        };
        lines.push(FtpLineView {
            text,
            command,
            arg,
            code,
            complete,
        });
    }
    lines
}

fn tcp_view(tcp: &TcpSlice<'_>, stream: u64, seq: u32, ack: u32, len: usize) -> TcpView {
    let header = tcp.header_slice();
    // The 12 bits after the data offset: 3 reserved (the lowest of them now AE, RFC 9768),
    // then CWR ECE URG ACK PSH RST SYN FIN.
    let flags = u16::from_be_bytes([
        header.get(12).copied().unwrap_or(0) & 0x0f,
        header.get(13).copied().unwrap_or(0),
    ]);
    // In the order Wireshark lists them: "(SYN, ACK)", "(PSH, ACK)".
    let names = [
        (0x001, "FIN"),
        (0x002, "SYN"),
        (0x004, "RST"),
        (0x008, "PSH"),
        (0x010, "ACK"),
        (0x020, "URG"),
        (0x040, "ECE"),
        (0x080, "CWR"),
        (0x100, "AE"),
    ];
    let mut options = Vec::new();
    for option in tcp.options_iterator() {
        match option {
            Ok(TcpOptionElement::Noop) => options.push(TcpOptionView::Nop),
            Ok(TcpOptionElement::MaximumSegmentSize(value)) => {
                options.push(TcpOptionView::Mss { value })
            }
            Ok(TcpOptionElement::WindowScale(shift)) => {
                options.push(TcpOptionView::WindowScale { shift })
            }
            Ok(TcpOptionElement::SelectiveAcknowledgementPermitted) => {
                options.push(TcpOptionView::SackPerm)
            }
            Ok(TcpOptionElement::SelectiveAcknowledgement(first, more)) => {
                let blocks = std::iter::once(Some(first))
                    .chain(more)
                    .flatten()
                    .map(|(l, r)| [l, r])
                    .collect();
                options.push(TcpOptionView::Sack { blocks });
            }
            Ok(TcpOptionElement::Timestamp(tsval, tsecr)) => {
                options.push(TcpOptionView::Timestamps { tsval, tsecr })
            }
            Err(e) => {
                options.push(TcpOptionView::Other {
                    detail: e.to_string(),
                });
                break;
            }
        }
    }
    TcpView {
        src_port: tcp.source_port(),
        dst_port: tcp.destination_port(),
        stream,
        seq,
        seq_raw: tcp.sequence_number(),
        ack,
        ack_raw: tcp.acknowledgment_number(),
        header_len: tcp.data_offset() * 4,
        flags,
        flag_names: names
            .iter()
            .filter(|(bit, _)| flags & bit != 0)
            .map(|&(_, n)| n)
            .collect(),
        window: tcp.window_size(),
        checksum: tcp.checksum(),
        urgent_pointer: tcp.urgent_pointer(),
        len: u32::try_from(len).unwrap_or(u32::MAX),
        options,
    }
}

/// The link layer header's fields, read from the frame's first bytes.
fn link_view(raw: &RawFrame<'_>) -> LinkView {
    let b = raw.bytes;
    let u16_at = |at: usize| -> u16 {
        b.get(at..at + 2)
            .and_then(|x| x.try_into().ok())
            .map(u16::from_be_bytes)
            .unwrap_or(0)
    };
    let u32_at = |at: usize| -> u32 {
        b.get(at..at + 4)
            .and_then(|x| x.try_into().ok())
            .map(u32::from_be_bytes)
            .unwrap_or(0)
    };
    let address = |at: usize, len: usize| -> String {
        let len = len.min(8);
        b.get(at..at + len)
            .unwrap_or_default()
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    };
    match raw.link_type {
        LinkType::ETHERNET => {
            let packet = LaxSlicedPacket::from_ethernet(b).ok();
            match packet.and_then(|p| p.link) {
                Some(LinkSlice::Ethernet2(e)) => LinkView::Ethernet {
                    src: mac(&e.source()),
                    dst: mac(&e.destination()),
                    ether_type: e.ether_type().0,
                    vlans: Vec::new(),
                },
                _ => LinkView::Ethernet {
                    src: String::new(),
                    dst: String::new(),
                    ether_type: 0,
                    vlans: Vec::new(),
                },
            }
        }
        LinkType::LINUX_SLL => LinkView::LinuxSll {
            packet_type: u16_at(0),
            arphrd: u16_at(2),
            address: address(6, usize::from(u16_at(4))),
            protocol: u16_at(14),
        },
        LinkType::LINUX_SLL2 => LinkView::LinuxSll2 {
            protocol: u16_at(0),
            ifindex: u32_at(4),
            arphrd: u16_at(8),
            packet_type: b.get(10).copied().unwrap_or(0),
            address: address(12, usize::from(b.get(11).copied().unwrap_or(0))),
        },
        LinkType::NULL | LinkType::LOOP => {
            let be = u32_at(0);
            // NULL is in the capturing host's byte order; a family is a small number.
            LinkView::Loopback {
                family: if be > 0xffff { be.swap_bytes() } else { be },
            }
        }
        _ => LinkView::Raw,
    }
}

fn mac(m: &[u8; 6]) -> String {
    m.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The frames asked for, and why reading stopped early, if it did.
#[derive(Debug, Default)]
pub struct Views {
    /// One view per frame asked for.
    pub frames: Vec<FrameView>,
    /// With every frame asked for: the reason the capture could not be read to its end.
    pub stopped: Option<SourceError>,
}

/// Reads `file` and returns the view of frame `wanted`, or of every frame when `None`.
pub fn view_frames(
    file: &Path,
    wanted: Option<u64>,
    options: &Options,
) -> Result<Views, ViewError> {
    if wanted == Some(0) {
        return Err(ViewError::Zero);
    }
    // The analysis says which connections are FTP control connections (also those found by
    // their greeting on odd ports).
    let analysis = crate::analyze_file(file, options)?;
    let mut viewer = FrameViewer {
        control: ControlMap::from_events(&analysis.events),
        ..FrameViewer::default()
    };
    let mut source = source::open_file(file)?;
    let mut views = Views::default();
    let mut last = 0;
    loop {
        match source.next_frame() {
            Ok(Some(raw)) => {
                last = raw.number;
                // Every frame before the one asked for is walked: relative numbers need each
                // connection's first segments.
                let view = viewer.view(&raw);
                match wanted {
                    Some(n) if n == raw.number => {
                        views.frames.push(view);
                        return Ok(views);
                    }
                    Some(_) => {}
                    None => views.frames.push(view),
                }
            }
            Ok(None) => break,
            Err(e) => match wanted {
                Some(n) => {
                    return Err(ViewError::Unreadable {
                        source: e,
                        wanted: n,
                        readable: last,
                    });
                }
                None => {
                    views.stopped = Some(e);
                    return Ok(views);
                }
            },
        }
    }
    match wanted {
        Some(n) => Err(ViewError::OutOfRange {
            file: file.display().to_string(),
            wanted: n,
            frames: last,
        }),
        None => Ok(views),
    }
}

/// Runs `inspector frame`; returns the exit code.
pub fn run_frame(args: &FrameArgs, out: &mut impl Write, err: &mut impl Write) -> u8 {
    let options = Options {
        ports: args.ports.clone(),
        ..Options::default()
    };
    let wanted = if args.all { None } else { args.number };
    let views = match view_frames(&args.file, wanted, &options) {
        Ok(v) => v,
        Err(e) => {
            let _ = writeln!(err, "inspector: {e}");
            return EXIT_ERROR;
        }
    };
    let mut hinted = Vec::new();
    let written = views.frames.iter().try_for_each(|v| {
        if args.json {
            serde_json::to_writer(&mut *out, v).map_err(std::io::Error::other)?;
            writeln!(out)
        } else {
            out.write_all(render(v, &mut hinted).as_bytes())
        }
    });
    if let Err(e) = written.and_then(|()| out.flush()) {
        let _ = writeln!(err, "inspector: cannot write: {e}");
        return EXIT_ERROR;
    }
    match views.stopped {
        Some(e) => {
            let _ = writeln!(err, "inspector: warning: {e}");
            EXIT_SKIPPED
        }
        None => EXIT_OK,
    }
}

/// The text form, laid out like Wireshark's packet-details pane then its bytes pane.
/// `hinted` holds the server ports whose Decode As hint was already given.
pub fn render(v: &FrameView, hinted: &mut Vec<u16>) -> String {
    let mut s = String::new();
    let bits = |n: u32| u64::from(n) * 8;
    let _ = writeln!(
        s,
        "Frame {}: {} bytes on wire ({} bits), {} bytes captured ({} bits)",
        v.frame,
        v.len,
        bits(v.len),
        v.cap_len,
        bits(v.cap_len)
    );
    let _ = writeln!(
        s,
        "    Arrival Time: {} UTC",
        utc(&v.time_epoch).unwrap_or_default()
    );
    let _ = writeln!(s, "    Epoch Time: {} seconds", v.time_epoch);
    let _ = writeln!(
        s,
        "    Time since first frame: {:.9} seconds",
        v.time_relative
    );
    match &v.link {
        LinkView::Ethernet {
            src,
            dst,
            ether_type,
            vlans,
        } => {
            let _ = writeln!(s, "Ethernet II, Src: {src}, Dst: {dst}");
            for id in vlans {
                let _ = writeln!(s, "    802.1Q VLAN: ID {id}");
            }
            let _ = writeln!(
                s,
                "    Type: {} (0x{ether_type:04x})",
                ether_name(*ether_type)
            );
        }
        LinkView::LinuxSll {
            packet_type,
            arphrd,
            address,
            protocol,
        } => {
            let _ = writeln!(s, "Linux cooked capture v1");
            let _ = writeln!(s, "    Packet type: {}", packet_type_name(*packet_type));
            let _ = writeln!(s, "    Link-layer address type: {arphrd}");
            let _ = writeln!(s, "    Source: {address}");
            let _ = writeln!(
                s,
                "    Protocol: {} (0x{protocol:04x})",
                ether_name(*protocol)
            );
        }
        LinkView::LinuxSll2 {
            protocol,
            ifindex,
            arphrd,
            packet_type,
            address,
        } => {
            let _ = writeln!(s, "Linux cooked capture v2");
            let _ = writeln!(
                s,
                "    Protocol: {} (0x{protocol:04x})",
                ether_name(*protocol)
            );
            let _ = writeln!(s, "    Interface index: {ifindex}");
            let _ = writeln!(s, "    Link-layer address type: {arphrd}");
            let _ = writeln!(
                s,
                "    Packet type: {}",
                packet_type_name(u16::from(*packet_type))
            );
            let _ = writeln!(s, "    Source: {address}");
        }
        LinkView::Loopback { family } => {
            let _ = writeln!(s, "Null/Loopback");
            let _ = writeln!(s, "    Family: {family}");
        }
        LinkView::Raw => {
            let _ = writeln!(s, "Raw packet data (no link-layer header)");
        }
    }
    if let Some(ip) = &v.ipv4 {
        let _ = writeln!(
            s,
            "Internet Protocol Version 4, Src: {}, Dst: {}",
            ip.src, ip.dst
        );
        let _ = writeln!(s, "    Header Length: {} bytes", ip.header_len);
        let _ = writeln!(s, "    Differentiated Services Field: 0x{:02x}", ip.dsfield);
        let _ = writeln!(s, "    Total Length: {}", ip.total_len);
        let _ = writeln!(s, "    Identification: 0x{:04x} ({})", ip.id, ip.id);
        let mut flags = Vec::new();
        if ip.flags & 2 != 0 {
            flags.push("Don't fragment");
        }
        if ip.flags & 1 != 0 {
            flags.push("More fragments");
        }
        let _ = writeln!(s, "    Flags: 0x{:02x}{}", ip.flags, list(&flags, ", "));
        let _ = writeln!(s, "    Fragment Offset: {}", ip.frag_offset);
        let _ = writeln!(s, "    Time to Live: {}", ip.ttl);
        let _ = writeln!(
            s,
            "    Protocol: {} ({})",
            ip_proto_name(ip.protocol),
            ip.protocol
        );
        let _ = writeln!(s, "    Header Checksum: 0x{:04x}", ip.checksum);
    }
    if let Some(ip) = &v.ipv6 {
        let _ = writeln!(
            s,
            "Internet Protocol Version 6, Src: {}, Dst: {}",
            ip.src, ip.dst
        );
        let _ = writeln!(s, "    Traffic Class: 0x{:02x}", ip.traffic_class);
        let _ = writeln!(s, "    Flow Label: 0x{:05x}", ip.flow_label);
        let _ = writeln!(s, "    Payload Length: {}", ip.payload_len);
        let _ = writeln!(
            s,
            "    Next Header: {} ({})",
            ip_proto_name(ip.next_header),
            ip.next_header
        );
        let _ = writeln!(s, "    Hop Limit: {}", ip.hop_limit);
    }
    if let Some(a) = &v.arp {
        let what = if a.opcode == 2 { "reply" } else { "request" };
        let _ = writeln!(s, "Address Resolution Protocol ({what})");
        let _ = writeln!(s, "    Opcode: {what} ({})", a.opcode);
        let _ = writeln!(s, "    Sender MAC address: {}", a.sender_mac);
        let _ = writeln!(s, "    Sender IP address: {}", a.sender_ip);
        let _ = writeln!(s, "    Target MAC address: {}", a.target_mac);
        let _ = writeln!(s, "    Target IP address: {}", a.target_ip);
    }
    if let Some(t) = &v.tcp {
        let _ = writeln!(
            s,
            "Transmission Control Protocol, Src Port: {}, Dst Port: {}, Seq: {}, Ack: {}, Len: {}",
            t.src_port, t.dst_port, t.seq, t.ack, t.len
        );
        let _ = writeln!(s, "    Source Port: {}", t.src_port);
        let _ = writeln!(s, "    Destination Port: {}", t.dst_port);
        let _ = writeln!(s, "    Stream index: {}", t.stream);
        let _ = writeln!(s, "    TCP Segment Len: {}", t.len);
        let _ = writeln!(
            s,
            "    Sequence Number: {}    (relative sequence number)",
            t.seq
        );
        let _ = writeln!(s, "    Sequence Number (raw): {}", t.seq_raw);
        let _ = writeln!(
            s,
            "    Acknowledgment Number: {}    (relative ack number)",
            t.ack
        );
        let _ = writeln!(s, "    Acknowledgment number (raw): {}", t.ack_raw);
        let _ = writeln!(
            s,
            "    Header Length: {} bytes ({})",
            t.header_len,
            t.header_len / 4
        );
        let _ = writeln!(
            s,
            "    Flags: 0x{:03x}{}",
            t.flags,
            list(&t.flag_names, ", ")
        );
        let _ = writeln!(s, "    Window: {}", t.window);
        let _ = writeln!(s, "    Checksum: 0x{:04x} [unverified]", t.checksum);
        let _ = writeln!(s, "    Urgent Pointer: {}", t.urgent_pointer);
        if !t.options.is_empty() {
            let names: Vec<String> = t.options.iter().map(option_text).collect();
            let _ = writeln!(s, "    Options: {}", names.join(", "));
        }
    }
    if let Some(u) = &v.udp {
        let _ = writeln!(
            s,
            "User Datagram Protocol, Src Port: {}, Dst Port: {}",
            u.src_port, u.dst_port
        );
        let _ = writeln!(s, "    Length: {}", u.length);
        let _ = writeln!(s, "    Checksum: 0x{:04x} [unverified]", u.checksum);
    }
    if let Some(i) = &v.icmp {
        let _ = writeln!(
            s,
            "Internet Control Message Protocol{}",
            if i.version == 6 { " v6" } else { "" }
        );
        let what = match (i.version, i.icmp_type, i.code) {
            (4, 3, 3) => " (Port unreachable)",
            (4, 3, _) | (6, 1, _) => " (Destination unreachable)",
            (4, 8, _) | (6, 128, _) => " (Echo request)",
            (4, 0, _) | (6, 129, _) => " (Echo reply)",
            _ => "",
        };
        let _ = writeln!(s, "    Type: {}{what}", i.icmp_type);
        let _ = writeln!(s, "    Code: {}", i.code);
        let _ = writeln!(s, "    Checksum: 0x{:04x} [unverified]", i.checksum);
    }
    match &v.payload {
        Some(PayloadView::Ftp {
            session,
            direction,
            server_port,
            lines,
        }) => {
            let _ = writeln!(
                s,
                "File Transfer Protocol (FTP), session {session}, {}",
                if *direction == "command" {
                    "client to server"
                } else {
                    "server to client"
                }
            );
            for l in lines {
                let end = if l.complete {
                    "\\r\\n"
                } else {
                    " (the line continues in a later segment)"
                };
                let _ = writeln!(s, "    {}{end}", l.text);
                if let Some(c) = &l.command {
                    let _ = writeln!(s, "        Request command: {c}");
                }
                if let Some(a) = &l.arg {
                    let _ = writeln!(s, "        Request arg: {a}");
                }
                if let Some(c) = l.code {
                    let meaning = ftp_proto::ReplyCode(c).meaning().unwrap_or("");
                    let _ = writeln!(s, "        Response code: {c} {meaning}");
                }
            }
            if *server_port != FTP_PORT && !hinted.contains(server_port) {
                hinted.push(*server_port);
                let _ = writeln!(s, "    {}", crate::report::decode_as_hint(*server_port));
            }
        }
        Some(PayloadView::Tls { session, bytes }) => {
            let _ = writeln!(
                s,
                "TLS ({bytes} bytes): session {session} switched to TLS with AUTH; unreadable"
            );
        }
        Some(PayloadView::Data { bytes }) => {
            let _ = writeln!(s, "Data ({bytes} bytes)");
        }
        None => {}
    }
    if let Some(e) = &v.error {
        let _ = writeln!(s, "[Decoding stopped: {e}]");
    }
    s.push('\n');
    s.push_str(&hex_dump(&hex::decode(&v.bytes).unwrap_or_default()));
    s.push('\n');
    s
}

fn list(items: &[&str], sep: &str) -> String {
    if items.is_empty() {
        String::new()
    } else {
        format!(" ({})", items.join(sep))
    }
}

fn option_text(o: &TcpOptionView) -> String {
    match o {
        TcpOptionView::Nop => "No-Operation (NOP)".to_owned(),
        TcpOptionView::Mss { value } => format!("Maximum segment size: {value} bytes"),
        TcpOptionView::WindowScale { shift } => {
            format!(
                "Window scale: {shift} (multiply by {})",
                1u64 << shift.min(&30)
            )
        }
        TcpOptionView::SackPerm => "SACK permitted".to_owned(),
        TcpOptionView::Sack { blocks } => {
            let b: Vec<String> = blocks.iter().map(|[l, r]| format!("{l}-{r}")).collect();
            format!("SACK {}", b.join(" "))
        }
        TcpOptionView::Timestamps { tsval, tsecr } => {
            format!("Timestamps: TSval {tsval}, TSecr {tsecr}")
        }
        TcpOptionView::Other { detail } => format!("(not decoded: {detail})"),
    }
}

fn ether_name(t: u16) -> &'static str {
    match t {
        0x0800 => "IPv4",
        0x86dd => "IPv6",
        0x0806 => "ARP",
        0x8100 => "802.1Q",
        _ => "unknown",
    }
}

fn ip_proto_name(p: u8) -> &'static str {
    match p {
        6 => "TCP",
        17 => "UDP",
        1 => "ICMP",
        58 => "ICMPv6",
        _ => "other",
    }
}

fn packet_type_name(t: u16) -> &'static str {
    match t {
        0 => "Unicast to us (0)",
        1 => "Broadcast (1)",
        2 => "Multicast (2)",
        3 => "Unicast to another host (3)",
        4 => "Sent by us (4)",
        _ => "other",
    }
}

/// `YYYY-MM-DD hh:mm:ss.nnnnnnnnn` from tshark's epoch text.
fn utc(epoch: &str) -> Option<String> {
    let (secs, nanos) = epoch.split_once('.')?;
    let t = time::OffsetDateTime::from_unix_timestamp(secs.parse().ok()?).ok()?;
    Some(format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{nanos}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    ))
}

/// Wireshark's bytes pane: offset, 16 bytes in hex (a gap after 8), then the printable ones.
fn hex_dump(bytes: &[u8]) -> String {
    let mut s = String::new();
    for (i, row) in bytes.chunks(16).enumerate() {
        let _ = write!(s, "{:04x}  ", i * 16);
        for col in 0..16 {
            match row.get(col) {
                Some(b) => {
                    let _ = write!(s, "{b:02x} ");
                }
                None => s.push_str("   "),
            }
            if col == 7 {
                s.push(' ');
            }
        }
        s.push(' ');
        for b in row {
            s.push(if b.is_ascii_graphic() || *b == b' ' {
                char::from(*b)
            } else {
                '.'
            });
        }
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_dump_rows_look_like_wiresharks() {
        let dump = hex_dump(b"USER bob\r\n0123456789");
        let mut lines = dump.lines();
        assert_eq!(
            lines.next(),
            Some("0000  55 53 45 52 20 62 6f 62  0d 0a 30 31 32 33 34 35  USER bob..012345")
        );
        assert_eq!(
            lines.next(),
            Some("0010  36 37 38 39                                       6789")
        );
    }

    #[test]
    fn ftp_lines_keep_a_cut_line_and_read_codes() {
        let l = ftp_lines(b"211-Features:\r\n EPSV\r\n211 End\r\n230 par", false);
        let codes: Vec<_> = l.iter().map(|x| x.code).collect();
        assert_eq!(codes, [Some(211), None, Some(211), Some(230)]);
        assert!(!l[3].complete);
        let c = ftp_lines(b"stor my file\r\n", true);
        assert_eq!(c[0].command.as_deref(), Some("stor"));
        assert_eq!(c[0].arg.as_deref(), Some("my file"));
    }

    use etherparse::PacketBuilder;
    use std::time::Duration;

    #[test]
    fn an_arp_reply_is_shown_with_its_addresses() {
        let mut bytes = [
            vec![2, 0, 0, 0, 0, 1],
            vec![2, 0, 0, 0, 0, 0x0e],
            vec![8, 6],
        ]
        .concat();
        bytes.extend([0, 1, 8, 0, 6, 4, 0, 2, 2, 0, 0, 0, 0, 0x0e, 10, 66, 0, 2]);
        bytes.extend([2, 0, 0, 0, 0, 1, 10, 66, 0, 1]);
        let raw = RawFrame {
            number: 3,
            timestamp: Duration::from_secs(1),
            link_type: LinkType::ETHERNET,
            bytes: &bytes,
            wire_len: bytes.len() as u32,
        };
        let v = FrameViewer::new().view(&raw);
        let arp = v.arp.clone().expect("an ARP view");
        assert_eq!(arp.opcode, 2);
        assert_eq!(arp.sender_mac, "02:00:00:00:00:0e");
        assert_eq!(arp.sender_ip, "10.66.0.2");
        assert_eq!(arp.target_ip, "10.66.0.1");
        let text = render(&v, &mut Vec::new());
        assert!(
            text.contains("Address Resolution Protocol (reply)"),
            "{text}"
        );
        assert!(text.contains("Sender IP address: 10.66.0.2"), "{text}");
        // Cut short: no ARP view, and no panic.
        for cut in 14..bytes.len() {
            let raw = RawFrame {
                bytes: &bytes[..cut],
                ..raw
            };
            assert_eq!(FrameViewer::new().view(&raw).arp, None, "cut at {cut}");
        }
    }

    fn segment(
        from_client: bool,
        seq: u32,
        ack: Option<u32>,
        syn: bool,
        payload: &[u8],
    ) -> Vec<u8> {
        let (src, dst, sp, dp) = if from_client {
            ([127, 0, 0, 1], [127, 0, 0, 2], 40000, 2121)
        } else {
            ([127, 0, 0, 2], [127, 0, 0, 1], 2121, 40000)
        };
        let mut tcp = PacketBuilder::ipv4(src, dst, 64).tcp(sp, dp, seq, 1000);
        if syn {
            tcp = tcp.syn();
        }
        if let Some(a) = ack {
            tcp = tcp.ack(a);
        }
        let mut out = Vec::new();
        tcp.write(&mut out, payload).unwrap();
        out
    }

    fn view_all(link_type: LinkType, prefix: &[u8], frames: &[Vec<u8>]) -> Vec<FrameView> {
        let mut viewer = FrameViewer::new();
        frames
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let mut bytes = prefix.to_vec();
                bytes.extend(f);
                viewer.view(&RawFrame {
                    number: i as u64 + 1,
                    timestamp: Duration::from_millis(i as u64),
                    link_type,
                    bytes: &bytes,
                    wire_len: bytes.len() as u32,
                })
            })
            .collect()
    }

    #[test]
    fn relative_numbers_count_from_each_sides_syn_and_link_types_are_named() {
        let frames = [
            segment(true, 1000, None, true, b""),
            segment(false, 5000, Some(1001), true, b""),
            segment(true, 1001, Some(5001), false, b"USER bob\r\n"),
        ];
        for (link_type, prefix, expected) in [
            (LinkType::RAW, vec![], LinkView::Raw),
            (
                LinkType::NULL,
                vec![2, 0, 0, 0],
                LinkView::Loopback { family: 2 },
            ),
        ] {
            let v = view_all(link_type, &prefix, &frames);
            assert_eq!(v[0].link, expected);
            let t: Vec<_> = v.iter().filter_map(|f| f.tcp.clone()).collect();
            assert_eq!(
                (t[0].seq, t[0].ack, t[0].flag_names.clone()),
                (0, 0, vec!["SYN"])
            );
            assert_eq!((t[1].seq, t[1].ack), (0, 1));
            assert_eq!((t[2].seq, t[2].ack, t[2].seq_raw), (1, 1, 1001));
            assert_eq!(t[2].len, 10);
            assert_eq!(v[2].payload, Some(PayloadView::Data { bytes: 10 }));
            assert!(t.iter().all(|x| x.stream == 0));
        }
    }

    #[test]
    fn a_connection_seen_midway_counts_from_one_and_a_new_syn_is_a_new_stream() {
        let frames = [
            segment(false, 7000, Some(300), false, b"220 hi\r\n"),
            segment(true, 300, Some(7008), false, b"QUIT\r\n"),
            segment(true, 9000, None, true, b""),
        ];
        let v = view_all(LinkType::RAW, &[], &frames);
        let t: Vec<_> = v.iter().filter_map(|f| f.tcp.clone()).collect();
        assert_eq!((t[0].seq, t[0].ack), (1, 1));
        assert_eq!((t[1].seq, t[1].ack), (1, 9));
        assert_eq!((t[2].stream, t[2].seq), (1, 0));
    }

    #[test]
    fn a_frame_cut_inside_its_headers_says_where_decoding_stopped() {
        let whole = segment(true, 1, None, true, b"");
        let v = view_all(LinkType::RAW, &[], &[whole[..30].to_vec()]);
        assert!(v[0].error.is_some(), "{:?}", v[0]);
        assert!(v[0].tcp.is_none());
    }

    #[test]
    fn utc_time_of_the_epoch() {
        assert_eq!(
            utc("0.000000001").as_deref(),
            Some("1970-01-01 00:00:00.000000001")
        );
    }
}
