//! A second, light pass over a capture: every TCP connection's opening, closing and bytes over
//! time, which the events leave out (they tell what FTP said, not when a data connection's SYN,
//! FIN or RST passed).

use crate::frame::{self, Decoded};
use crate::source::{PacketSource, RawFrame, SourceError};
use std::collections::HashMap;
use std::net::SocketAddr;

/// Byte samples kept per connection; later segments are added to the last sample, so a long
/// transfer costs no more memory than a short one.
const SAMPLES: usize = 400;

/// Payload frames remembered per connection: a transfer's first data frame is among the first
/// ones (later ones would only grow memory on a long capture).
const FIRST_FRAMES: usize = 64;

/// When something happened: Wireshark's frame number and seconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct At {
    /// Frame number (1-based).
    pub frame: u64,
    /// Seconds since the Unix epoch.
    pub time: f64,
}

/// One TCP connection as the wire showed it.
#[derive(Debug, Clone, PartialEq)]
pub struct Connection {
    /// The side that sent the SYN (the first sender when the SYN was not captured).
    pub opener: SocketAddr,
    /// The other side.
    pub acceptor: SocketAddr,
    /// The opening SYN, if captured.
    pub syn: Option<At>,
    /// Each side's first FIN, with its sender.
    pub fins: Vec<(At, SocketAddr)>,
    /// The first RST, with its sender.
    pub rst: Option<(At, SocketAddr)>,
    /// First and last frame of the connection.
    pub first: At,
    /// Last frame of the connection.
    pub last: At,
    /// New payload bytes over time (retransmissions left out): frame, time, cumulative bytes
    /// of both directions.
    pub samples: Vec<(At, u64)>,
    /// Payload bytes sent by the opener and by the acceptor.
    pub bytes: [u64; 2],
    /// The first frames that carried payload (for matching a transfer's first data frame).
    pub payload_frames: Vec<u64>,
    /// Highest sequence number end seen per direction (retransmissions counted once).
    next_seq: [Option<u32>; 2],
}

impl Connection {
    /// True when `frame` is one of the first frames that carried payload on this connection.
    pub fn carried(&self, frame: u64) -> bool {
        self.payload_frames.binary_search(&frame).is_ok()
    }

    /// True once both FINs or a RST passed: a new SYN on the same addresses is a new connection.
    fn is_over(&self) -> bool {
        self.rst.is_some() || self.fins.len() >= 2
    }
}

/// Every TCP connection of a capture, in order of first frame.
pub fn collect(source: &mut dyn PacketSource) -> Vec<Connection> {
    let mut collector = Collector::default();
    loop {
        match source.next_frame() {
            Ok(Some(raw)) => collector.push(&raw),
            Ok(None) => break,
            // The first pass already warned about it.
            Err(SourceError::Truncated { .. } | SourceError::BadRecord { .. }) => continue,
            Err(_) => break,
        }
    }
    collector.finish()
}

/// Builds the connections frame by frame (a live capture feeds it as frames come).
#[derive(Debug, Default)]
pub struct Collector {
    open: HashMap<(SocketAddr, SocketAddr), usize>,
    all: Vec<Connection>,
}

impl Collector {
    /// Takes one frame; frames that are not TCP are ignored.
    pub fn push(&mut self, raw: &RawFrame<'_>) {
        let at = At {
            frame: raw.number,
            time: raw.timestamp.as_secs_f64(),
        };
        let Ok(Decoded::Tcp(seg)) = frame::decode(raw) else {
            return;
        };
        let (open, all) = (&mut self.open, &mut self.all);
        let key = if seg.src <= seg.dst {
            (seg.src, seg.dst)
        } else {
            (seg.dst, seg.src)
        };
        let opening = seg.syn && !seg.ack;
        let index = match open.get(&key) {
            Some(&i) if !(opening && all.get(i).is_some_and(Connection::is_over)) => i,
            _ => {
                all.push(Connection {
                    opener: seg.src,
                    acceptor: seg.dst,
                    syn: None,
                    fins: Vec::new(),
                    rst: None,
                    first: at,
                    last: at,
                    samples: Vec::new(),
                    bytes: [0, 0],
                    payload_frames: Vec::new(),
                    next_seq: [None, None],
                });
                open.insert(key, all.len() - 1);
                all.len() - 1
            }
        };
        let Some(c) = all.get_mut(index) else {
            return;
        };
        c.last = at;
        let dir = usize::from(seg.src != c.opener);
        if opening && c.syn.is_none() {
            c.syn = Some(at);
        }
        if seg.fin && !c.fins.iter().any(|(_, from)| *from == seg.src) {
            c.fins.push((at, seg.src));
        }
        if seg.rst && c.rst.is_none() {
            c.rst = Some((at, seg.src));
        }
        let fresh = new_bytes(&mut c.next_seq, dir, seg.seq, seg.syn, seg.payload.len());
        if fresh > 0 {
            if let Some(b) = c.bytes.get_mut(dir) {
                *b += fresh;
            }
            if c.payload_frames.len() < FIRST_FRAMES {
                c.payload_frames.push(at.frame);
            }
            let total = c.bytes[0] + c.bytes[1];
            if c.samples.len() < SAMPLES {
                c.samples.push((at, total));
            } else if let Some(last) = c.samples.last_mut() {
                *last = (at, total);
            }
        }
    }

    /// The connections seen, in order of first frame.
    pub fn finish(self) -> Vec<Connection> {
        self.all
    }
}

/// A source that hands each frame to a [`Collector`] on its way (a live capture cannot be read
/// twice).
pub struct Tee<'a> {
    /// Where the frames come from.
    pub inner: &'a mut dyn PacketSource,
    /// What saw them.
    pub collector: Collector,
}

impl PacketSource for Tee<'_> {
    fn next_frame(&mut self) -> Result<Option<RawFrame<'_>>, SourceError> {
        let frame = self.inner.next_frame();
        if let Ok(Some(raw)) = &frame {
            self.collector.push(raw);
        }
        frame
    }

    fn name(&self) -> &str {
        self.inner.name()
    }
}

/// Bytes of a segment beyond what its direction already carried (wrapping sequence numbers).
fn new_bytes(next: &mut [Option<u32>; 2], dir: usize, seq: u32, syn: bool, len: usize) -> u64 {
    let Some(slot) = next.get_mut(dir) else {
        return 0;
    };
    let start = seq.wrapping_add(u32::from(syn));
    let end = start.wrapping_add(len as u32);
    match *slot {
        None => {
            *slot = Some(end);
            len as u64
        }
        Some(seen) => {
            // Signed distance: how far this segment's end is past what was seen.
            let ahead = end.wrapping_sub(seen) as i32;
            if ahead > 0 {
                *slot = Some(end);
                u64::from(ahead.unsigned_abs()).min(len as u64)
            } else {
                0
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retransmitted_bytes_count_once() {
        let mut next = [None, None];
        assert_eq!(new_bytes(&mut next, 0, 100, false, 10), 10);
        assert_eq!(new_bytes(&mut next, 0, 100, false, 10), 0);
        assert_eq!(new_bytes(&mut next, 0, 105, false, 10), 5);
        assert_eq!(new_bytes(&mut next, 0, u32::MAX - 2, false, 0), 0);
    }

    #[test]
    fn sequence_numbers_wrap() {
        let mut next = [None, None];
        assert_eq!(new_bytes(&mut next, 1, u32::MAX - 4, false, 5), 5);
        assert_eq!(new_bytes(&mut next, 1, 0, false, 7), 7);
    }
}
