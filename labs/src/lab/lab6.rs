//! Lab 6: where the eavesdropper stands: a hub, a switch, ARP spoofing, port stealing (RFC 2577
//! §8) and the bounce attack to a real host, on the network of namespaces in [`crate::netns`].
//! Live, [`crate::netlab`] runs the parts; this file holds what eve's capture must show and
//! the answers to the questions.

use super::{
    Action, Answer, Expectation, Expected, Lab, Level, NOT_THIS_CAPTURE, Question, Seen,
    ServerSpec, expect, q,
};
use crate::events::{Events, number, text};
use crate::netns::{CLIENT, EVE, SERVER, VICTIM};
use crate::packets::{Arp, Packet, mac_text};
use crate::seed::Secrets;
use serde_json::Value;
use std::net::IpAddr;

pub(super) static LAB: Lab = Lab {
    number: 6,
    servers,
    script,
    observe_step: 6,
    extract: false,
    expect: expectations,
    questions: QUESTIONS,
    answers,
    secret_password: false,
    third_party: false,
    tls: false,
};

/// The safe server's control port (on [`SERVER`]).
pub const SAFE_PORT: u16 = 2121;
/// The weakened server's control port (`--allow-foreign-passive-peer`,
/// `--allow-foreign-data-address`).
pub const WEAK_PORT: u16 = 2122;
/// The safe server's only passive port: predictable on purpose, as RFC 2577 §8 warns.
pub const SAFE_PASSIVE: u16 = 50000;
/// The weakened server's only passive port.
pub const WEAK_PASSIVE: u16 = 50001;
/// Where the victim listens in the bounce part.
pub const VICTIM_PORT: u16 = 2000;

static QUESTIONS: &[Question] = &[
    Question {
        key: "hub_pass_frame",
        question: "In which frame did eve's capture get your password in the hub part?",
        level: Level::Table,
        hints: &[
            "Step 1: the [inspector] lines, or the credential rows of `inspector read CAPTURE`.",
            "Eve's capture holds the hub part first: the first credential of your user, the frame \
             of its PASS command.",
        ],
    },
    Question {
        key: "switch_broadcast_mac",
        question: "In the switch part, eve saw only ARP requests. To which Ethernet address were they sent?",
        level: Level::Packet,
        hints: &[
            "`tshark -r CAPTURE -Y arp.opcode==1`, or Wireshark's filter `arp.opcode == 1`.",
            "The Destination of the Ethernet II header: the address every port of a switch gets.",
        ],
    },
    Question {
        key: "first_spoofed_reply",
        question: "In which frame does eve's first ARP reply claim the server's IP address?",
        level: Level::Packet,
        hints: &[
            "Step 3: ARP replies nobody asked for. `tshark -r CAPTURE -Y 'arp.opcode==2'`.",
            "Look for a reply whose Sender IP is the server's but whose Sender MAC is not the \
             server's (Wireshark flags it as a duplicate use of the IP address).",
        ],
    },
    Question {
        key: "claimed_mac",
        question: "Which MAC address does that reply say the server's IP address is at?",
        level: Level::Packet,
        hints: &[
            "The same frame: Sender MAC address in the ARP part of the details pane.",
            "Compare it with the MAC addresses in the lab's header: whose is it?",
        ],
    },
    Question {
        key: "pass_copies",
        question: "In the ARP part, in how many frames does eve's capture hold the client's PASS command?",
        level: Level::Packet,
        hints: &[
            "`tshark -r CAPTURE -Y 'frame contains \"PASS\"' -T fields -e frame.number -e ip.src \
             -e eth.src -e eth.dst -e ip.ttl` (the FTP filter misses copies Wireshark calls \
             retransmissions).",
            "Only the ones sent from the client's IP address, after eve's first ARP reply: same \
             bytes, other MAC addresses, and a TTL one lower on the copy a router sent on.",
        ],
    },
    Question {
        key: "forwarded_dst_mac",
        question: "The last of those copies is the one eve forwarded: to which Ethernet address did it go?",
        level: Level::Packet,
        hints: &[
            "The same PASS frames: compare the Ethernet Destination of the first and the last.",
            "The first went to the address the client's poisoned cache gave for the server; eve's \
             kernel forwarded it to the address its own, unpoisoned cache has.",
        ],
    },
    Question {
        key: "client_reply_src_mac",
        question: "In the client's capture (next to eve's, ending in `.client.pcapng`), from which \
                   MAC address did the server's 230 reply arrive in the ARP part?",
        level: Level::Packet,
        hints: &[
            "The client's own capture: `tshark -r CLIENT_CAPTURE -Y 'frame contains \"230 \"' \
             -T fields -e frame.number -e ip.src -e eth.src`.",
            "The ARP part's login is the client's third. Its IP source is the server's; is its \
             Ethernet source the server's too?",
        ],
    },
    Question {
        key: "stolen_syn_frame",
        question: "In which frame did eve send the SYN of the connection that brought her the file?",
        level: Level::Packet,
        hints: &[
            "Step 4: eve's own connections to the passive ports; most were refused (RST) \
             before the port opened.",
            "`tshark -r CAPTURE -Y 'ip.dst == 10.66.0.3 && tcp.len > 0'` finds the data; \
             then the SYN from eve to that server port which the server answered with SYN-ACK.",
        ],
    },
    Question {
        key: "bounce_refused_code",
        question: "Which reply code did the safe server give eve's PORT naming the victim?",
        level: Level::Table,
        hints: &[
            "Step 5: eve's two sessions, one per server; the PORT command names 10.66.0.4.",
            "The reply right after PORT on the session with the server's port 2121.",
        ],
    },
];

fn servers(_: &Secrets) -> Vec<ServerSpec> {
    // Live, lab 6's servers run in the server's namespace (crate::netlab); offline, none.
    Vec::new()
}

fn script(_: &Secrets, _: usize) -> Vec<Action> {
    Vec::new()
}

fn ip(ip: std::net::Ipv4Addr) -> IpAddr {
    IpAddr::V4(ip)
}

/// ARP replies that say another host's address is at a MAC that is not that host's.
pub fn spoofed(arp: &[Arp]) -> impl Iterator<Item = &Arp> {
    arp.iter().filter(|a| {
        a.op == 2
            && crate::netns::HOSTS
                .iter()
                .any(|h| h.ip == a.sender_ip && mac_text(a.sender_mac) != h.mac)
    })
}

fn first_spoof_of_server(seen: &Seen) -> Option<&Arp> {
    spoofed(&seen.arp).find(|a| a.sender_ip == SERVER.ip)
}

/// The client's PASS segments after the first spoofed reply (the ARP part and later).
fn pass_copies(seen: &Seen) -> Vec<&Packet> {
    let Some(after) = first_spoof_of_server(seen).map(|a| a.frame) else {
        return Vec::new();
    };
    let copies: Vec<&Packet> = seen
        .packets
        .0
        .iter()
        .filter(|p| {
            p.frame > after && p.src.ip() == ip(CLIENT.ip) && p.payload.starts_with(b"PASS ")
        })
        .collect();
    // The ARP part's login only: its copies carry the same bytes.
    match copies.first() {
        Some(first) => copies
            .iter()
            .copied()
            .filter(|p| p.payload == first.payload && p.src == first.src)
            .collect(),
        None => copies,
    }
}

/// The client's view of the ARP part's 230 reply (its third login), from its own capture.
fn client_third_230(seen: &Seen) -> Option<&Packet> {
    seen.client
        .0
        .iter()
        .filter(|p| {
            p.src.ip() == ip(SERVER.ip)
                && p.src.port() == SAFE_PORT
                && p.payload.starts_with(b"230 ")
        })
        .nth(2)
}

/// The data eve received from the server on a port that is not a control port.
fn stolen(seen: &Seen) -> Option<&Packet> {
    seen.packets.0.iter().find(|p| {
        p.src.ip() == ip(SERVER.ip)
            && p.dst.ip() == ip(EVE.ip)
            && !p.payload.is_empty()
            && ![SAFE_PORT, WEAK_PORT].contains(&p.src.port())
    })
}

fn session_port(ev: &Events, session: i64) -> Option<u16> {
    let s = ev
        .kind("session")
        .find(|s| number(s, "session") == Some(session))?;
    text(s, "server")?.rsplit(':').next()?.parse().ok()
}

/// Reply codes to the PORT commands naming the victim, as (server port, code).
fn bounce_codes(ev: &Events) -> Vec<(u16, i64)> {
    let prefix = format!("{},", VICTIM.ip.to_string().replace('.', ","));
    ev.commands("PORT")
        .filter(|c| text(c, "arg").is_some_and(|a| a.starts_with(&prefix)))
        .filter_map(|c| {
            let port = session_port(ev, number(c, "session")?)?;
            Some((port, number(ev.reply_to(c)?, "code")?))
        })
        .collect()
}

fn lab_user_logins(ev: &Events, s: &Secrets) -> usize {
    ev.credentials()
        .filter(|c| {
            text(c, "user") == Some(&s.user)
                && text(c, "password") == Some(&s.password)
                && c.get("accepted").and_then(Value::as_bool) == Some(true)
        })
        .count()
}

fn expectations(seen: &Seen, s: &Secrets) -> Vec<Expectation> {
    let codes = bounce_codes(&seen.events);
    vec![
        expect(
            "eve saw your login twice: through the hub and in the middle (ARP spoofing)",
            lab_user_logins(&seen.events, s) >= 2,
        ),
        expect(
            "eve's ARP replies claim the client's and the server's addresses",
            spoofed(&seen.arp).any(|a| a.sender_ip == CLIENT.ip)
                && first_spoof_of_server(seen).is_some(),
        ),
        expect(
            "in the middle, eve's capture holds the client's PASS command (and eve forwarded it)",
            pass_copies(seen).len() >= 2,
        ),
        expect(
            "the client's capture shows a reply from the server's address with eve's MAC",
            seen.client
                .0
                .iter()
                .any(|p| p.src.ip() == ip(SERVER.ip) && mac_text(p.src_mac) == EVE.mac),
        ),
        expect(
            "eve received the file over a passive port she connected to first",
            stolen(seen).is_some(),
        ),
        expect(
            "the safe server refused eve's PORT naming the victim, the weak one accepted it",
            codes.iter().any(|(p, c)| *p == SAFE_PORT && *c >= 400)
                && codes
                    .iter()
                    .any(|(p, c)| *p == WEAK_PORT && (200..300).contains(c)),
        ),
    ]
}

fn answers(seen: &Seen, s: &Secrets) -> Vec<Answer> {
    let ev = &seen.events;
    let first = |key| q(QUESTIONS, key);
    let unknown = Expected::Unknown(NOT_THIS_CAPTURE);
    let hub_pass_frame = ev
        .credentials()
        .find(|c| text(c, "user") == Some(&s.user))
        .and_then(|c| number(c, "frame"))
        .map_or(unknown.clone(), Expected::Number);
    let broadcast = seen
        .arp
        .iter()
        .find(|a| a.op == 1)
        .map_or(unknown.clone(), |a| Expected::Text(mac_text(a.eth_dst)));
    let spoof = first_spoof_of_server(seen);
    let copies = pass_copies(seen);
    vec![
        first("hub_pass_frame").answer(hub_pass_frame),
        first("switch_broadcast_mac").answer(broadcast),
        first("first_spoofed_reply").answer(spoof.map_or(unknown.clone(), |a| {
            Expected::Number(i64::try_from(a.frame).unwrap_or(0))
        })),
        first("claimed_mac")
            .answer(spoof.map_or(unknown.clone(), |a| Expected::Text(mac_text(a.sender_mac)))),
        first("pass_copies").answer(if copies.is_empty() {
            unknown.clone()
        } else {
            Expected::Number(i64::try_from(copies.len()).unwrap_or(0))
        }),
        first("forwarded_dst_mac").answer(match copies.as_slice() {
            [_, .., last] => Expected::Text(mac_text(last.dst_mac)),
            _ => unknown.clone(),
        }),
        first("client_reply_src_mac").answer(
            client_third_230(seen).map_or(unknown.clone(), |p| Expected::Text(mac_text(p.src_mac))),
        ),
        first("stolen_syn_frame").answer(
            stolen(seen)
                .and_then(|p| seen.packets.opening_syn(p.frame))
                .map_or(unknown.clone(), |syn| {
                    Expected::Number(i64::try_from(syn.frame).unwrap_or(0))
                }),
        ),
        first("bounce_refused_code").answer(
            bounce_codes(ev)
                .iter()
                .find(|(p, _)| *p == SAFE_PORT)
                .map_or(unknown, |(_, c)| Expected::Number(*c)),
        ),
    ]
}
