//! The flow table: TCP segments grouped into connections, each direction reassembled, each
//! connection given its role (control connection, data connection, or not FTP).
//!
//! A connection's role is settled once, when the flow table knows enough (a control port, a
//! data connection the tracker expects, or the first bytes); from then on its reassembled
//! chunks go one way, through [`Tracker::deliver`] and [`Tracker::closed`].

use crate::frame::Segment;
use crate::ftp_session::{ConnectionRole, Ctx, Tracker};
use crate::reassembly::{Chunk, Reassembler};
use ftp_proto::sniff;
use std::collections::HashMap;
use std::net::SocketAddr;

/// Bytes looked at to recognise a control connection on an odd port.
const SNIFF: usize = 8;

/// What a connection is to FTP.
#[derive(Debug)]
enum Role {
    /// Not known yet: the first bytes of each direction are held back until they tell.
    Undecided { seen: [Vec<u8>; 2] },
    /// Settled: every chunk goes to the tracker as this.
    Known(ConnectionRole),
}

/// One TCP connection. Direction 0 is `a` → `b`.
#[derive(Debug)]
struct Flow {
    a: SocketAddr,
    b: SocketAddr,
    reasm: [Reassembler; 2],
    role: Role,
    delivered: bool,
}

/// A fast non-cryptographic hash for the flow table (the Fx hash of rustc): captures are not
/// adversarial to the point of hash flooding a single-threaded offline reader, and SipHash was
/// a visible share of the time per packet.
type FxBuild = rustc_hash::FxBuildHasher;

/// All open connections of a capture.
#[derive(Debug)]
pub struct FlowTable {
    flows: HashMap<(SocketAddr, SocketAddr), Flow, FxBuild>,
    control_ports: Vec<u16>,
    cap: usize,
}

fn key(x: SocketAddr, y: SocketAddr) -> (SocketAddr, SocketAddr) {
    if x <= y { (x, y) } else { (y, x) }
}

impl FlowTable {
    /// A table that treats `control_ports` (21 and `--port`) as FTP control connections and
    /// buffers at most `cap` out-of-order bytes per direction.
    pub fn new(control_ports: Vec<u16>, cap: usize) -> FlowTable {
        FlowTable {
            flows: HashMap::default(),
            control_ports,
            cap,
        }
    }

    /// Takes one segment.
    pub fn push(&mut self, seg: &Segment<'_>, ctx: Ctx, tracker: &mut Tracker) {
        let k = key(seg.src, seg.dst);
        let opening = seg.syn && !seg.ack;
        if opening
            && let Some(old) = self.flows.get(&k)
            && (old.delivered || old.a != seg.src)
        {
            // Same addresses and ports, new connection (port reuse): close the old one.
            if let Some(old) = self.flows.remove(&k) {
                close(old, false, ctx, tracker);
            }
        }
        if !self.flows.contains_key(&k) {
            if seg.payload.is_empty() && !seg.syn {
                // A late ACK/FIN/RST of a connection already closed, or one we never saw open.
                return;
            }
            let role = self.classify(seg, opening, ctx, tracker);
            self.flows.insert(
                k,
                Flow {
                    a: seg.src,
                    b: seg.dst,
                    reasm: [Reassembler::new(self.cap), Reassembler::new(self.cap)],
                    role,
                    delivered: false,
                },
            );
        }
        let Some(flow) = self.flows.get_mut(&k) else {
            return;
        };
        let dir = usize::from(seg.src != flow.a);
        if seg.ack
            && let Some(other) = flow.reasm.get_mut(1 - dir)
        {
            other.note_ack(seg.ack_number);
        }
        let Flow {
            reasm,
            role,
            delivered,
            ..
        } = flow;
        if let Some(r) = reasm.get_mut(dir) {
            let conflicts = r.stats.conflicts;
            r.push_segment(
                seg.seq,
                seg.syn,
                seg.fin,
                seg.payload,
                seg.missing,
                &mut |chunk| {
                    *delivered = true;
                    dispatch(role, dir, chunk, ctx, tracker, (seg.src, seg.dst));
                },
            );
            if r.stats.conflicts > conflicts
                && let Role::Known(known) = role
            {
                tracker.segment_conflict(*known, ctx);
            }
        }
        let done = seg.rst || flow.reasm.iter().all(Reassembler::is_finished);
        if done && let Some(flow) = self.flows.remove(&k) {
            close(flow, seg.rst, ctx, tracker);
        }
    }

    fn classify(&self, seg: &Segment<'_>, opening: bool, ctx: Ctx, tracker: &mut Tracker) -> Role {
        let is_control = |p: u16| self.control_ports.contains(&p);
        if is_control(seg.dst.port()) || is_control(seg.src.port()) {
            // The server is the side on the control port (or the one connected to).
            let (client, server, client_dir) = if opening || is_control(seg.dst.port()) {
                (seg.src, seg.dst, 0)
            } else {
                (seg.dst, seg.src, 1)
            };
            let session = tracker.open_session(client, server, "port", ctx);
            return Role::Known(ConnectionRole::Control {
                session,
                client_dir,
            });
        }
        let candidates: &[SocketAddr] = if opening {
            &[seg.dst]
        } else {
            &[seg.dst, seg.src]
        };
        match tracker.match_data(candidates, (seg.src, seg.dst), ctx) {
            Some(transfer) => Role::Known(ConnectionRole::Data { transfer }),
            None if opening => {
                tracker.note_unannounced_open(seg.src, seg.dst);
                Role::Undecided {
                    seen: [Vec::new(), Vec::new()],
                }
            }
            None => Role::Undecided {
                seen: [Vec::new(), Vec::new()],
            },
        }
    }

    /// End of the capture: every connection still open is closed as far as it got.
    pub fn finish(&mut self, ctx: Ctx, tracker: &mut Tracker) {
        let mut open: Vec<Flow> = self.flows.drain().map(|(_, f)| f).collect();
        open.sort_by_key(|f| f.a);
        for flow in open {
            close(flow, false, ctx, tracker);
        }
    }

    /// Connections currently open.
    pub fn len(&self) -> usize {
        self.flows.len()
    }

    /// True when no connection is open.
    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }
}

/// Hands one chunk of direction `dir` to whatever the connection is, settling its role first
/// when the chunk tells it.
fn dispatch(
    role: &mut Role,
    dir: usize,
    chunk: Chunk<'_>,
    ctx: Ctx,
    tracker: &mut Tracker,
    (src, dst): (SocketAddr, SocketAddr),
) {
    let seen = match role {
        Role::Known(known) => return tracker.deliver(*known, dir, chunk, ctx),
        Role::Undecided { seen } => seen,
    };
    let Chunk::Data(d) = chunk else {
        // A gap before we know what this is: treat it as data of unknown kind.
        let known = settle(role, tracker.orphan_data(), 0, ctx, tracker);
        tracker.deliver(known, dir, chunk, ctx);
        return;
    };
    let Some(buf) = seen.get_mut(dir) else {
        return;
    };
    buf.extend_from_slice(d);
    if buf.len() < SNIFF && !looks_like_start(buf) {
        return;
    }
    let greeting = sniff::is_greeting(buf);
    let user = sniff::starts_with_user(buf);
    let known = if greeting || user {
        // The sender of a greeting is the server; the sender of USER is the client.
        let (client, server, client_dir) = if greeting {
            (dst, src, 1 - dir)
        } else {
            (src, dst, dir)
        };
        let found_by = if greeting { "greeting" } else { "user" };
        let session = tracker.open_session(client, server, found_by, ctx);
        ConnectionRole::Control {
            session,
            client_dir,
        }
    } else {
        // Tied to a TLS session whose replies cannot be read, when one fits; else orphan.
        tracker.guess_data(src, dst, buf)
    };
    // What was held back: the other direction first (it came earlier).
    settle(role, known, 1 - dir, ctx, tracker);
}

/// Settles an undecided connection as `known` and hands on the bytes held back, direction
/// `first` first.
fn settle(
    role: &mut Role,
    known: ConnectionRole,
    first: usize,
    ctx: Ctx,
    tracker: &mut Tracker,
) -> ConnectionRole {
    if let Role::Undecided { seen } = std::mem::replace(role, Role::Known(known)) {
        for dir in [first, 1 - first] {
            if let Some(bytes) = seen.get(dir)
                && !bytes.is_empty()
            {
                tracker.deliver(known, dir, Chunk::Data(bytes), ctx);
            }
        }
    }
    known
}

/// A prefix short of [`SNIFF`] bytes that can already be judged: a whole short line.
fn looks_like_start(buf: &[u8]) -> bool {
    buf.contains(&b'\n')
}

fn close(mut flow: Flow, reset: bool, ctx: Ctx, tracker: &mut Tracker) {
    let (a, b) = (flow.a, flow.b);
    let Flow { reasm, role, .. } = &mut flow;
    let ends_seen = [reasm[0].fin_seen(), reasm[1].fin_seen()];
    for (dir, r) in reasm.iter_mut().enumerate() {
        let addrs = if dir == 0 { (a, b) } else { (b, a) };
        r.finish(&mut |chunk| dispatch(role, dir, chunk, ctx, tracker, addrs));
    }
    match role {
        Role::Known(known) => tracker.closed(*known, reset, ends_seen),
        Role::Undecided { seen } if seen.iter().any(|s| !s.is_empty()) => {
            let known = settle(role, tracker.orphan_data(), 0, ctx, tracker);
            tracker.closed(known, reset, ends_seen);
        }
        Role::Undecided { .. } => {}
    }
}
