//! The early filter of a live capture: FTP control ports, plus the data ports learned from
//! PORT, EPRT, 227 and 229 on the control connections (recognised by `ftp_proto::sniff`).

use crate::frame::{self, Decoded};
use crate::source::RawFrame;

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
}

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
    /// IP fragments and broken frames go on, so the analysis can report them.
    pub fn keep(&mut self, frame: &RawFrame<'_>) -> bool {
        let segment = match frame::decode(frame) {
            Ok(Decoded::Tcp(segment)) => segment,
            Ok(Decoded::Other) => return self.all,
            Ok(Decoded::Fragment(_)) | Err(_) => return true,
        };
        let (src, dst) = (segment.src.port(), segment.dst.port());
        if !segment.payload.is_empty()
            && (self.control.contains(&src) || self.control.contains(&dst))
        {
            self.learn(segment.payload);
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

    #[test]
    fn filter_passes_broken_frames_and_everything_when_asked() {
        let mut f = PortFilter::new(&[], false);
        assert!(keep(&mut f, &[0x00, 0x01]));
        assert!(keep(&mut PortFilter::new(&[], true), &tcp_frame(1, 2, b"")));
    }
}
