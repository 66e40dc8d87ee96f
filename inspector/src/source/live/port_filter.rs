//! The early filter of a live capture: FTP control ports, plus the data ports learned from
//! PORT, EPRT, 227 and 229 on the control connections (recognised by `ftp_proto::sniff`), plus,
//! while a control connection is in TLS (after its `234`), every connection between its two
//! hosts: the announcements are encrypted, so host and timing are all that ties them.

use crate::frame::{self, Decoded};
use crate::source::RawFrame;
use std::net::SocketAddr;

/// The early filter: what each TCP port is to us, plus the control ports whose payload is
/// watched for PORT, EPRT, 227 and 229 to learn data ports.
///
/// A learned data port is forgotten once its connection is over (a FIN from each side, or a
/// RST): the port is ephemeral, and the next connection to reuse it belongs to someone else.
#[derive(Clone)]
pub struct PortFilter {
    control: Vec<u16>,
    /// Per port: 0 not kept, [`CONTROL`] a control port, 1 + FINs seen for a data port.
    kind: Box<[u8; 65536]>,
    all: bool,
    /// Control connections (server, client) that went into TLS and are not over yet.
    encrypted: Vec<(SocketAddr, SocketAddr)>,
}

/// At most this many TLS control connections are followed at once (a flood of `234`s must
/// not make every segment scan a long list); later ones keep only their own control port.
const MAX_ENCRYPTED_SESSIONS: usize = 256;

/// [`PortFilter`] mark of a control port (never forgotten).
const CONTROL: u8 = 0x80;
/// A data port whose connection has sent both FINs.
const DATA_DONE: u8 = 3;

impl std::fmt::Debug for PortFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ports: Vec<u16> = (0..=u16::MAX).filter(|p| self.contains(*p)).collect();
        f.debug_struct("PortFilter")
            .field("control", &self.control)
            .field("ports", &ports)
            .field("all", &self.all)
            .finish()
    }
}

impl PortFilter {
    /// Keeps TCP segments from or to port 21 and `control_ports`; with `all`, keeps everything.
    pub fn new(control_ports: &[u16], all: bool) -> Self {
        let mut filter = PortFilter {
            control: Vec::new(),
            kind: Box::new([0; 65536]),
            all,
            encrypted: Vec::new(),
        };
        for port in std::iter::once(crate::FTP_PORT).chain(control_ports.iter().copied()) {
            if !filter.control.contains(&port) {
                filter.control.push(port);
            }
            if let Some(k) = filter.kind.get_mut(usize::from(port)) {
                *k = CONTROL;
            }
        }
        filter
    }

    /// Also keeps segments from or to `port` (a data port), until its connection is over.
    pub fn add_port(&mut self, port: u16) {
        if let Some(k) = self.kind.get_mut(usize::from(port))
            && *k & CONTROL == 0
        {
            *k = 1;
        }
    }

    /// Whether segments on `port` are kept.
    pub fn contains(&self, port: u16) -> bool {
        self.kind.get(usize::from(port)).is_some_and(|k| *k != 0)
    }

    /// Decides whether `frame` goes on, and learns the data ports announced in it.
    /// IP fragments and broken frames go on, so the analysis can report them, and ARP, for
    /// the ARP spoofing findings.
    pub fn keep(&mut self, frame: &RawFrame<'_>) -> bool {
        let segment = match frame::decode(frame) {
            Ok(Decoded::Tcp(segment)) => segment,
            // ARP goes on too: few frames, and what the ARP findings read.
            Ok(Decoded::Other) => return self.all || crate::arp::Arp::of_frame(frame).is_some(),
            Ok(Decoded::Fragment(_)) | Err(_) => return true,
        };
        let (src, dst) = (segment.src.port(), segment.dst.port());
        if !segment.payload.is_empty()
            && (self.control.contains(&src) || self.control.contains(&dst))
        {
            self.learn(segment.payload);
            if self.control.contains(&src)
                && self.encrypted.len() < MAX_ENCRYPTED_SESSIONS
                && !self.encrypted.contains(&(segment.src, segment.dst))
                && segment
                    .payload
                    .split(|b| *b == b'\n')
                    .any(ftp_proto::sniff::accepts_security_exchange)
            {
                self.encrypted.push((segment.src, segment.dst));
            }
        }
        if (segment.fin || segment.rst) && !self.encrypted.is_empty() {
            self.encrypted.retain(|&(server, client)| {
                !(segment.src == server && segment.dst == client
                    || segment.src == client && segment.dst == server)
            });
        }
        if segment.syn && self.between_encrypted_hosts(segment.src, segment.dst) {
            // A new connection between the hosts of a TLS session: most likely its data
            // connection. Follow it until it is over, like an announced one.
            self.add_port(src);
            self.add_port(dst);
        }
        let keep = self.all || self.contains(src) || self.contains(dst);
        if segment.fin || segment.rst {
            for port in [src, dst] {
                if let Some(k) = self.kind.get_mut(usize::from(port))
                    && (1..DATA_DONE).contains(k)
                {
                    *k = if segment.rst { 0 } else { *k + 1 };
                    if *k == DATA_DONE {
                        *k = 0;
                    }
                }
            }
        }
        keep
    }

    /// Whether `a` and `b` are the two hosts of a control connection that is in TLS.
    fn between_encrypted_hosts(&self, a: SocketAddr, b: SocketAddr) -> bool {
        self.encrypted.iter().any(|(server, client)| {
            let (s, c) = (server.ip(), client.ip());
            (a.ip() == s && b.ip() == c) || (a.ip() == c && b.ip() == s)
        })
    }

    /// Looks for PORT/EPRT commands and 227/229 replies in control connection bytes. A line
    /// split across two segments is missed; clients and servers send these in one segment.
    fn learn(&mut self, payload: &[u8]) {
        for line in payload.split(|b| *b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if let Some(port) = ftp_proto::sniff::announced_data_port(line) {
                self.add_port(port);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::LinkType;
    use std::time::Duration;

    fn tcp_frame(src: u16, dst: u16, payload: &[u8]) -> Vec<u8> {
        let builder = etherparse::PacketBuilder::ethernet2([0; 6], [0; 6])
            .ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
            .tcp(src, dst, 1, 65535);
        let mut out = Vec::new();
        builder.write(&mut out, payload).unwrap();
        out
    }

    fn fin_frame(src: u16, dst: u16) -> Vec<u8> {
        let builder = etherparse::PacketBuilder::ethernet2([0; 6], [0; 6])
            .ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
            .tcp(src, dst, 1, 65535)
            .fin();
        let mut out = Vec::new();
        builder.write(&mut out, &[]).unwrap();
        out
    }

    fn keep(filter: &mut PortFilter, bytes: &[u8]) -> bool {
        filter.keep(&RawFrame {
            number: 1,
            timestamp: Duration::ZERO,
            link_type: LinkType::ETHERNET,
            bytes,
            wire_len: bytes.len() as u32,
        })
    }

    #[test]
    fn filter_keeps_control_ports_and_learns_data_ports() {
        let mut f = PortFilter::new(&[2121], false);
        assert!(keep(&mut f, &tcp_frame(40000, 21, b"")));
        assert!(keep(&mut f, &tcp_frame(2121, 40000, b"")));
        assert!(!keep(&mut f, &tcp_frame(40000, 50000, b"x")));
        assert!(keep(
            &mut f,
            &tcp_frame(
                2121,
                40000,
                b"227 Entering Passive Mode (127,0,0,1,195,80).\r\n"
            )
        ));
        assert!(keep(&mut f, &tcp_frame(40001, 50000, b"x")));
        assert!(keep(
            &mut f,
            &tcp_frame(
                2121,
                40000,
                b"229 Entering Extended Passive Mode (|||50001|)\r\n"
            )
        ));
        assert!(f.contains(50001));
        assert!(keep(
            &mut f,
            &tcp_frame(40000, 2121, b"port 127,0,0,1,195,82\r\n")
        ));
        assert!(f.contains(50002));
        assert!(keep(
            &mut f,
            &tcp_frame(40000, 2121, b"EPRT |2|::1|50003|\r\n")
        ));
        assert!(f.contains(50003));
        // A data port is forgotten after a FIN from each side: the next user of the
        // ephemeral port is someone else.
        assert!(keep(&mut f, &fin_frame(50000, 40001)));
        assert!(keep(&mut f, &fin_frame(40001, 50000)));
        assert!(!keep(&mut f, &tcp_frame(40009, 50000, b"x")));
        // Control ports stay.
        assert!(keep(&mut f, &fin_frame(40000, 2121)));
        assert!(keep(&mut f, &fin_frame(2121, 40000)));
        assert!(keep(&mut f, &tcp_frame(40000, 2121, b"")));
        // Only control connections teach ports.
        assert!(!keep(
            &mut f,
            &tcp_frame(1, 2, b"227 (127,0,0,1,195,90)\r\n")
        ));
        assert!(!f.contains(50010));
    }

    fn segment(src: ([u8; 4], u16), dst: ([u8; 4], u16), payload: &[u8], syn: bool) -> Vec<u8> {
        let builder = etherparse::PacketBuilder::ethernet2([0; 6], [0; 6])
            .ipv4(src.0, dst.0, 64)
            .tcp(src.1, dst.1, 1, 65535);
        let builder = if syn { builder.syn() } else { builder };
        let mut out = Vec::new();
        builder.write(&mut out, payload).unwrap();
        out
    }

    #[test]
    fn connections_between_the_hosts_of_a_tls_session_are_kept_until_it_ends() {
        let (server, client, other) = ([127, 0, 0, 5], [127, 0, 0, 1], [127, 0, 0, 9]);
        let mut f = PortFilter::new(&[2121], false);
        // Before the 234: a new connection between the two hosts is not announced, not kept.
        assert!(!keep(
            &mut f,
            &segment((client, 40100), (server, 50100), b"", true)
        ));
        assert!(keep(
            &mut f,
            &segment(
                (server, 2121),
                (client, 40000),
                b"234 AUTH TLS ok\r\n",
                false
            )
        ));
        // In TLS: the data connection's SYN and what follows on it are kept, both ways.
        assert!(keep(
            &mut f,
            &segment((client, 40101), (server, 50101), b"", true)
        ));
        assert!(keep(
            &mut f,
            &segment((server, 50101), (client, 40101), b"\x17\x03\x03", false)
        ));
        // Active mode: the server connects to the client.
        assert!(keep(
            &mut f,
            &segment((server, 50200), (client, 40200), b"", true)
        ));
        // Another host pair is not the session's.
        assert!(!keep(
            &mut f,
            &segment((other, 40300), (server, 50300), b"", true)
        ));
        // The control connection ends: new connections are no longer tied to it, the data
        // connection already followed is kept until its own end.
        assert!(keep(
            &mut f,
            &segment((client, 40000), (server, 2121), b"", false)
        ));
        let fin = {
            let builder = etherparse::PacketBuilder::ethernet2([0; 6], [0; 6])
                .ipv4(client, server, 64)
                .tcp(40000, 2121, 1, 65535)
                .fin();
            let mut out = Vec::new();
            builder.write(&mut out, &[]).unwrap();
            out
        };
        assert!(keep(&mut f, &fin));
        assert!(!keep(
            &mut f,
            &segment((client, 40400), (server, 50400), b"", true)
        ));
        assert!(keep(
            &mut f,
            &segment((client, 40101), (server, 50101), b"x", false)
        ));
        // A 234 seen on a port that is not a control port teaches nothing.
        assert!(!keep(
            &mut f,
            &segment((server, 9), (client, 40500), b"234 x\r\n", false)
        ));
        assert!(!keep(
            &mut f,
            &segment((client, 40501), (server, 50501), b"", true)
        ));
    }

    #[test]
    fn filter_passes_broken_frames_and_everything_when_asked() {
        let mut f = PortFilter::new(&[], false);
        assert!(keep(&mut f, &[0x00, 0x01]));
        assert!(keep(&mut PortFilter::new(&[], true), &tcp_frame(1, 2, b"")));
    }

    #[test]
    fn arp_goes_on_and_other_protocols_do_not() {
        let mut f = PortFilter::new(&[], false);
        let mut arp = [vec![0xff; 6], vec![2; 6], vec![0x08, 0x06]].concat();
        arp.extend([0, 1, 8, 0, 6, 4, 0, 2]);
        arp.extend([
            2, 0, 0, 0, 0, 0x0e, 10, 66, 0, 2, 2, 0, 0, 0, 0, 1, 10, 66, 0, 1,
        ]);
        assert!(keep(&mut f, &arp));
        let mut udp = Vec::new();
        etherparse::PacketBuilder::ethernet2([0; 6], [0; 6])
            .ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
            .udp(5353, 5353)
            .write(&mut udp, b"x")
            .unwrap();
        assert!(!keep(&mut f, &udp));
    }
}
