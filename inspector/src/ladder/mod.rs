//! The ladder (sequence) diagram of each FTP session, as a model: columns for the client, the
//! server and each data connection's two ends, rows for commands, replies, the SYN, FIN and RST
//! of data connections and the transfers. The terminal, Mermaid and SVG renderers in
//! [`crate::report`] only draw this model.
//!
//! The events say what FTP said; when a data connection opened and closed comes from a second
//! light pass over the capture ([`connections`]), tied to its session by the frames that carried
//! a transfer or by the address a PASV/EPSV reply or a PORT/EPRT command announced.

pub mod connections;

use crate::event::{Event, TransferEvent};
use connections::Connection;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};

/// Rows kept per session: a brute-force session of thousands of attempts stays readable.
pub const MAX_ROWS: usize = 500;

/// What a row shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    /// A command, client to server.
    Command,
    /// A reply, server to client.
    Reply,
    /// The SYN that opened a data connection.
    Open,
    /// A FIN of a data connection.
    Close,
    /// A RST of a data connection.
    Reset,
    /// A data connection's content (a file or a listing) with its size.
    Data,
    /// A remark spanning from `from` to `to` (the switch to TLS).
    Note,
}

/// One row of the ladder: an arrow from column `from` to column `to`.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Wireshark frame number.
    pub frame: u64,
    /// Seconds since the capture's first frame.
    pub time: f64,
    /// The sender's column.
    pub from: usize,
    /// The receiver's column.
    pub to: usize,
    /// What passed, control characters replaced.
    pub label: String,
    /// What kind of row.
    pub kind: RowKind,
    /// A user name or password crossing in clear.
    pub secret: bool,
}

/// One column (lifeline).
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Short name for narrow headers (`client`, `c-data`).
    pub name: String,
    /// Longer description (`client 10.0.0.1:40000`).
    pub detail: String,
}

/// The ladder of one session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionLadder {
    /// Session number.
    pub session: usize,
    /// The client, `ip:port`.
    pub client: String,
    /// The server, `ip:port`.
    pub server: String,
    /// Client first, server last, data connection ends in between.
    pub columns: Vec<Column>,
    /// Rows in frame order.
    pub rows: Vec<Row>,
    /// Rows left out past [`MAX_ROWS`].
    pub omitted: usize,
}

/// What a TCP connection is to the FTP sessions of the capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tie {
    /// The control connection of a session.
    Control {
        /// Session number.
        session: usize,
    },
    /// A data connection of a session.
    Data {
        /// Session number.
        session: usize,
        /// The side of the client: true when the opener is the client (passive mode).
        opener_is_client: bool,
    },
}

/// Ties connections (indexes into `conns`) to sessions.
pub fn tie(events: &[Event], conns: &[Connection]) -> HashMap<usize, Tie> {
    // Indexes, so that a capture of many sessions is tied in linear time.
    let mut by_ends: HashMap<(SocketAddr, SocketAddr), Vec<usize>> = HashMap::new();
    let mut by_acceptor: HashMap<SocketAddr, Vec<usize>> = HashMap::new();
    for (i, c) in conns.iter().enumerate() {
        by_ends
            .entry(ends(c.opener, c.acceptor))
            .or_default()
            .push(i);
        by_acceptor.entry(c.acceptor).or_default().push(i);
    }
    let by_frame = frame_index(conns);
    let mut ties: HashMap<usize, Tie> = HashMap::new();
    let mut servers: HashMap<usize, (SocketAddr, SocketAddr)> = HashMap::new();
    for e in events {
        if let Event::Session(s) = e
            && let (Ok(client), Ok(server)) = (s.client.parse(), s.server.parse())
        {
            servers.insert(s.session, (client, server));
            let found = by_ends
                .get(&ends(client, server))
                .into_iter()
                .flatten()
                .copied()
                .find(|&i| {
                    conns
                        .get(i)
                        .is_some_and(|c| c.first.frame <= s.frame && s.frame <= c.last.frame)
                });
            if let Some(i) = found {
                ties.insert(i, Tie::Control { session: s.session });
            }
        }
    }
    // Data connections that carried a transfer's bytes.
    for e in events {
        if let Event::Transfer(t) = e
            && let (Some(session), Some([first, _])) = (t.session, t.data_frames)
            && let Some(&i) = by_frame.get(&first)
            && !ties.contains_key(&i)
        {
            let opener_is_client = match t.mode {
                Some("active") => false,
                Some(_) => true,
                None => servers.get(&session).is_none_or(|(client, _)| {
                    conns.get(i).is_none_or(|c| c.opener.ip() == client.ip())
                }),
            };
            ties.insert(
                i,
                Tie::Data {
                    session,
                    opener_is_client,
                },
            );
        }
    }
    // Data connections that carried nothing (an empty listing, a refused transfer): the first
    // connection to an announced address after the announcement.
    for (session, addr, frame, passive) in announcements(events, &servers) {
        let found = by_acceptor
            .get(&addr)
            .into_iter()
            .flatten()
            .copied()
            .find(|&i| {
                !ties.contains_key(&i)
                    && conns
                        .get(i)
                        .is_some_and(|c| c.syn.is_some_and(|s| s.frame > frame))
            });
        if let Some(i) = found {
            ties.insert(
                i,
                Tie::Data {
                    session,
                    opener_is_client: passive,
                },
            );
        }
    }
    ties
}

/// A connection's two ends in a fixed order.
fn ends(a: SocketAddr, b: SocketAddr) -> (SocketAddr, SocketAddr) {
    if a <= b { (a, b) } else { (b, a) }
}

/// The connection that carried each of the first payload frames.
pub fn frame_index(conns: &[Connection]) -> HashMap<u64, usize> {
    conns
        .iter()
        .enumerate()
        .flat_map(|(i, c)| c.payload_frames.iter().map(move |f| (*f, i)))
        .collect()
}

/// Addresses announced for data connections: (session, address, frame, passive).
fn announcements(
    events: &[Event],
    servers: &HashMap<usize, (SocketAddr, SocketAddr)>,
) -> Vec<(usize, SocketAddr, u64, bool)> {
    use ftp_proto::host_port as hp;
    let mut out = Vec::new();
    for e in events {
        let found = match e {
            Event::Reply(r) if r.code == 227 => hp::parse_pasv_reply(&r.text)
                .ok()
                .map(|a| (r.session, SocketAddr::V4(a), r.frame, true)),
            Event::Reply(r) if r.code == 229 => {
                let server = servers.get(&r.session).map(|(_, s)| s.ip());
                match (hp::parse_epsv_reply(&r.text), server) {
                    (Ok(port), Some(ip)) => {
                        Some((r.session, SocketAddr::new(ip, port), r.frame, true))
                    }
                    _ => None,
                }
            }
            Event::Command(c) if c.command == "PORT" => c
                .arg
                .as_deref()
                .and_then(|a| hp::parse_port_argument(a).ok())
                .map(|a| (c.session, SocketAddr::V4(a), c.frame, false)),
            Event::Command(c) if c.command == "EPRT" => c
                .arg
                .as_deref()
                .and_then(|a| hp::parse_eprt_argument(a).ok())
                .map(|a| (c.session, a, c.frame, false)),
            _ => None,
        };
        out.extend(found);
    }
    out
}

/// Builds the ladder of every session of `events`; times relative to `first_time`.
pub fn build(events: &[Event], conns: &[Connection], first_time: f64) -> Vec<SessionLadder> {
    let ties = tie(events, conns);
    let secret: HashSet<u64> = events
        .iter()
        .filter_map(|e| match e {
            Event::Credential(c) => Some(c.frames.iter().copied()),
            _ => None,
        })
        .flatten()
        .collect();
    let mut ladders: BTreeMap<usize, SessionLadder> = BTreeMap::new();
    let mut rows: BTreeMap<usize, Vec<Row>> = BTreeMap::new();
    let rel = |t: f64| (t - first_time).max(0.0);
    // Control rows use column 0 (client) and usize::MAX (the server, fixed once lanes are known).
    for e in events {
        let (session, row) = match e {
            Event::Session(s) => {
                ladders.insert(
                    s.session,
                    SessionLadder {
                        session: s.session,
                        client: s.client.clone(),
                        server: s.server.clone(),
                        columns: Vec::new(),
                        rows: Vec::new(),
                        omitted: 0,
                    },
                );
                continue;
            }
            Event::Command(c) => (
                c.session,
                Row {
                    frame: c.frame,
                    time: rel(c.time),
                    from: 0,
                    to: SERVER,
                    label: clean(&match &c.arg {
                        Some(a) => format!("{} {a}", c.command),
                        None => c.command.clone(),
                    }),
                    kind: RowKind::Command,
                    secret: secret.contains(&c.frame),
                },
            ),
            Event::Reply(r) => {
                let mut lines = r.text.lines();
                let first = lines.next().unwrap_or_default();
                let more = if lines.next().is_some() { " …" } else { "" };
                (
                    r.session,
                    Row {
                        frame: r.frame,
                        time: rel(r.time),
                        from: SERVER,
                        to: 0,
                        label: clean(&format!("{} {first}{more}", r.code)),
                        kind: RowKind::Reply,
                        secret: false,
                    },
                )
            }
            Event::Tls(t) => (
                t.session,
                Row {
                    frame: t.frame,
                    time: f64::NAN,
                    from: 0,
                    to: SERVER,
                    label: clean(&format!(
                        "AUTH {} accepted: encrypted from here",
                        t.mechanism
                    )),
                    kind: RowKind::Note,
                    secret: false,
                },
            ),
            _ => continue,
        };
        rows.entry(session).or_default().push(row);
    }
    // Data connections of each session, in order, each on the first free lane.
    let mut data: BTreeMap<usize, Vec<(usize, bool)>> = BTreeMap::new();
    let mut indexes: Vec<_> = ties.iter().collect();
    indexes.sort_unstable_by_key(|(i, _)| **i);
    for (&i, tie) in indexes {
        if let Tie::Data {
            session,
            opener_is_client,
        } = *tie
        {
            data.entry(session).or_default().push((i, opener_is_client));
        }
    }
    let by_frame = frame_index(conns);
    let mut transfers: HashMap<usize, Vec<&TransferEvent>> = HashMap::new();
    for e in events {
        if let Event::Transfer(t) = e
            && let Some([first, _]) = t.data_frames
            && let Some(&i) = by_frame.get(&first)
        {
            transfers.entry(i).or_default().push(t);
        }
    }
    for (session, ladder) in &mut ladders {
        let mut rows = rows.remove(session).unwrap_or_default();
        let mut lane_ends: Vec<u64> = Vec::new();
        let mut placed: Vec<(usize, usize, bool)> = Vec::new();
        for &(i, opener_is_client) in data.get(session).map(Vec::as_slice).unwrap_or_default() {
            let Some(c) = conns.get(i) else { continue };
            let lane = match lane_ends.iter().position(|&end| end < c.first.frame) {
                Some(lane) => lane,
                None => {
                    lane_ends.push(0);
                    lane_ends.len() - 1
                }
            };
            if let Some(end) = lane_ends.get_mut(lane) {
                *end = c.last.frame;
            }
            placed.push((i, lane, opener_is_client));
        }
        let lanes = lane_ends.len();
        let server = 1 + 2 * lanes;
        for row in &mut rows {
            for end in [&mut row.from, &mut row.to] {
                if *end == SERVER {
                    *end = server;
                }
            }
        }
        let known: Vec<IpAddr> = [&ladder.client, &ladder.server]
            .iter()
            .filter_map(|a| a.parse::<SocketAddr>().ok().map(|a| a.ip()))
            .collect();
        // `:port` for an end on the client's or server's address, the whole address for a
        // third host (a PORT bounce).
        let end = |a: SocketAddr| {
            if known.contains(&a.ip()) {
                format!(":{}", a.port())
            } else {
                a.to_string()
            }
        };
        for (i, lane, opener_is_client) in placed {
            let Some(c) = conns.get(i) else { continue };
            let (client_end, server_end) = (1 + 2 * lane, 2 + 2 * lane);
            let column_of = |addr: SocketAddr| {
                if (addr == c.opener) == opener_is_client {
                    client_end
                } else {
                    server_end
                }
            };
            let (from, to) = (column_of(c.opener), column_of(c.acceptor));
            if let Some(syn) = c.syn {
                rows.push(Row {
                    frame: syn.frame,
                    time: rel(syn.time),
                    from,
                    to,
                    label: format!("SYN {} → {}", end(c.opener), end(c.acceptor)),
                    kind: RowKind::Open,
                    secret: false,
                });
            }
            let carried = transfers.get(&i).map(Vec::as_slice).unwrap_or_default();
            for t in carried.iter().filter(|t| t.session == Some(*session)) {
                let [first, _] = t.data_frames.unwrap_or_default();
                let time = c
                    .samples
                    .iter()
                    .find(|(at, _)| at.frame >= first)
                    .map_or(c.first.time, |(at, _)| at.time);
                let upload = t.direction == "upload";
                rows.push(Row {
                    frame: first,
                    time: rel(time),
                    from: if upload { client_end } else { server_end },
                    to: if upload { server_end } else { client_end },
                    label: clean(&transfer_label(t)),
                    kind: RowKind::Data,
                    secret: false,
                });
            }
            for (at, sender) in &c.fins {
                let from = column_of(*sender);
                let to = if from == client_end {
                    server_end
                } else {
                    client_end
                };
                rows.push(Row {
                    frame: at.frame,
                    time: rel(at.time),
                    from,
                    to,
                    label: "FIN".to_owned(),
                    kind: RowKind::Close,
                    secret: false,
                });
            }
            if let Some((at, sender)) = c.rst {
                let from = column_of(sender);
                let to = if from == client_end {
                    server_end
                } else {
                    client_end
                };
                rows.push(Row {
                    frame: at.frame,
                    time: rel(at.time),
                    from,
                    to,
                    label: "RST".to_owned(),
                    kind: RowKind::Reset,
                    secret: false,
                });
            }
        }
        // Stable: a frame's command comes before a data row of the same frame.
        rows.sort_by_key(|r| r.frame);
        // A note has no time of its own: the time of the row before it.
        let mut last_time = 0.0;
        for r in &mut rows {
            if r.time.is_nan() {
                r.time = last_time;
            }
            last_time = r.time;
        }
        ladder.omitted = rows.len().saturating_sub(MAX_ROWS);
        rows.truncate(MAX_ROWS);
        ladder.rows = rows;
        ladder.columns = columns(&ladder.client, &ladder.server, lanes);
    }
    ladders.into_values().collect()
}

/// Placeholder for the server's column until the number of lanes is known.
const SERVER: usize = usize::MAX;

fn columns(client: &str, server: &str, lanes: usize) -> Vec<Column> {
    let ip = |a: &str| {
        a.parse::<SocketAddr>()
            .map(|s| s.ip())
            .unwrap_or(IpAddr::from([0, 0, 0, 0]))
    };
    let mut out = vec![Column {
        name: "client".to_owned(),
        detail: format!("client {client}"),
    }];
    for lane in 0..lanes {
        let n = if lanes > 1 {
            format!("{}", lane + 1)
        } else {
            String::new()
        };
        out.push(Column {
            name: format!("c-data{n}"),
            detail: format!("client data {}", ip(client)),
        });
        out.push(Column {
            name: format!("s-data{n}"),
            detail: format!("server data {}", ip(server)),
        });
    }
    out.push(Column {
        name: "server".to_owned(),
        detail: format!("server {server}"),
    });
    out
}

/// `RETR a.txt: 1234 B (REST 100) incomplete`.
fn transfer_label(t: &TransferEvent) -> String {
    let mut s = t.command.clone().unwrap_or_else(|| t.direction.to_owned());
    if let Some(name) = &t.name {
        s.push(' ');
        s.push_str(name);
    }
    match t.tls {
        // What an eavesdropper sees of an encrypted transfer: its size in TLS records.
        Some(tls) if tls.encrypted && !tls.decrypted_with_keylog => {
            s.push_str(&format!(
                ": TLS, {} B encrypted",
                tls.encrypted_bytes_to_server + tls.encrypted_bytes_to_client
            ));
            return s;
        }
        _ => s.push_str(&format!(": {} B", t.bytes)),
    }
    if let Some(rest) = t.rest {
        s.push_str(&format!(" from offset {rest} (REST)"));
    }
    if !t.complete && !t.refused {
        s.push_str(" (incomplete)");
    }
    s
}

/// Control characters (a capture can carry terminal escape sequences) shown as `·`.
pub fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '·' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_from_a_capture_are_defused() {
        assert_eq!(clean("USER \u{1b}[2Jx\r"), "USER ·[2Jx·");
    }

    #[test]
    fn columns_put_the_client_first_and_the_server_last() {
        let c = columns("10.0.0.1:4000", "10.0.0.2:21", 2);
        let names: Vec<&str> = c.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "client", "c-data1", "s-data1", "c-data2", "s-data2", "server"
            ]
        );
        assert_eq!(c[1].detail, "client data 10.0.0.1");
    }
}
