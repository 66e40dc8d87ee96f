//! Findings about the network below FTP, on Ethernet captures made by hand (etherparse builds
//! the frames, pcap-file writes them): ARP poisoning of client and server by eve, eve's
//! forwarding of every segment, and a passive port taken by eve before the client. Each
//! finding names the right frames, and its filter selects exactly those in tshark (skipped,
//! saying so, without tshark). A plain session on the same LAN fires none of them.

mod common;

use common::{filters_select_their_frames, frames_agree_with_tshark, inspect};
use etherparse::{IpHeaders, IpNumber, Ipv4Header, PacketBuilder};
use pcap_file::DataLink;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

type Mac = [u8; 6];

/// A host on the lab's LAN.
#[derive(Clone, Copy)]
struct Host {
    ip: [u8; 4],
    mac: Mac,
}

const CLIENT: Host = Host {
    ip: [10, 66, 0, 1],
    mac: [2, 0x66, 0, 0, 0, 1],
};
const SERVER: Host = Host {
    ip: [10, 66, 0, 2],
    mac: [2, 0x66, 0, 0, 0, 2],
};
const EVE: Host = Host {
    ip: [10, 66, 0, 14],
    mac: [2, 0x66, 0, 0, 0, 0x0e],
};
const BROADCAST: Mac = [0xff; 6];

/// Frames in the making, with their times; IP identifications counted per capture.
struct Capture {
    frames: Vec<(Duration, Vec<u8>)>,
    now: Duration,
    /// Time between frames.
    step: Duration,
    ip_id: u16,
}

impl Default for Capture {
    fn default() -> Self {
        Capture {
            frames: Vec::new(),
            now: Duration::ZERO,
            step: Duration::from_millis(1),
            ip_id: 0,
        }
    }
}

impl Capture {
    fn push(&mut self, bytes: Vec<u8>) -> u64 {
        self.now += self.step;
        self.frames.push((self.now, bytes));
        self.frames.len() as u64
    }

    fn wait(&mut self, d: Duration) {
        self.now += d;
    }

    /// An ARP packet from `from` (Ethernet source and ARP sender MAC), claiming `sender_ip`.
    fn arp(&mut self, from: Mac, to: Mac, reply: bool, sender_ip: [u8; 4], target: Host) -> u64 {
        let mut b = Vec::new();
        b.extend(to);
        b.extend(from);
        b.extend([
            0x08,
            0x06,
            0,
            1,
            0x08,
            0,
            6,
            4,
            0,
            if reply { 2 } else { 1 },
        ]);
        b.extend(from);
        b.extend(sender_ip);
        b.extend(if reply { target.mac } else { [0; 6] });
        b.extend(target.ip);
        self.push(b)
    }

    /// One IPv4/TCP frame between two MACs.
    #[allow(
        clippy::too_many_arguments,
        reason = "a test helper, every field named"
    )]
    fn tcp(
        &mut self,
        (src_mac, dst_mac): (Mac, Mac),
        ttl: u8,
        id: u16,
        (from, to): (([u8; 4], u16), ([u8; 4], u16)),
        (seq, ack): (u32, u32),
        flags: &str,
        payload: &[u8],
    ) -> u64 {
        let mut ip = Ipv4Header::new(0, ttl, IpNumber::TCP, from.0, to.0).expect("IPv4 header");
        ip.identification = id;
        ip.dont_fragment = true;
        let mut b = PacketBuilder::ethernet2(src_mac, dst_mac)
            .ip(IpHeaders::Ipv4(ip, Default::default()))
            .tcp(from.1, to.1, seq, 64240);
        if flags.contains('S') {
            b = b.syn();
        }
        if flags.contains('A') {
            b = b.ack(ack);
        }
        if flags.contains('F') {
            b = b.fin();
        }
        if flags.contains('R') {
            b = b.rst();
        }
        if flags.contains('P') {
            b = b.psh();
        }
        let mut out = Vec::new();
        b.write(&mut out, payload).expect("build frame");
        self.push(out)
    }

    fn write(&self, dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        let file = std::fs::File::create(&path).expect("create capture");
        let header = PcapHeader {
            datalink: DataLink::ETHERNET,
            ..PcapHeader::default()
        };
        let mut w = PcapWriter::with_header(file, header).expect("pcap header");
        for (time, bytes) in &self.frames {
            let t = Duration::from_secs(1_700_000_000) + *time;
            w.write_packet(&PcapPacket::new(t, bytes.len() as u32, bytes))
                .expect("write frame");
        }
        drop(w);
        // For debugging: KEEP_CAPTURES=DIR keeps a copy of every capture a test made.
        if let Some(keep) = std::env::var_os("KEEP_CAPTURES") {
            let _ = std::fs::copy(&path, Path::new(&keep).join(name));
        }
        path
    }
}

/// How TCP segments get from one host to another on the LAN.
#[derive(Clone, Copy, PartialEq)]
enum Route {
    /// Straight, as a switch delivers them.
    Direct,
    /// Through eve, who forwards them (two frames: to eve's MAC, then from it, TTL one less).
    ViaEve,
}

/// One direction of a TCP connection.
struct Conn {
    c: (Host, u16),
    s: (Host, u16),
    cseq: u32,
    sseq: u32,
    path: Route,
}

impl Conn {
    /// Sends one segment from client (`to_server`) or server; returns its frame(s).
    fn send(&mut self, cap: &mut Capture, to_server: bool, flags: &str, data: &[u8]) -> Vec<u64> {
        let (from, to, seq, ack) = if to_server {
            (self.c, self.s, self.cseq, self.sseq)
        } else {
            (self.s, self.c, self.sseq, self.cseq)
        };
        cap.ip_id = cap.ip_id.wrapping_add(1);
        let id = cap.ip_id;
        let ends = ((from.0.ip, from.1), (to.0.ip, to.1));
        let frames = match self.path {
            Route::Direct => vec![cap.tcp(
                (from.0.mac, to.0.mac),
                64,
                id,
                ends,
                (seq, ack),
                flags,
                data,
            )],
            Route::ViaEve => vec![
                cap.tcp((from.0.mac, EVE.mac), 64, id, ends, (seq, ack), flags, data),
                cap.tcp((EVE.mac, to.0.mac), 63, id, ends, (seq, ack), flags, data),
            ],
        };
        let advance = data.len() as u32 + u32::from(flags.contains('S') || flags.contains('F'));
        if to_server {
            self.cseq += advance;
        } else {
            self.sseq += advance;
        }
        frames
    }

    fn open(cap: &mut Capture, c: (Host, u16), s: (Host, u16), path: Route) -> (Conn, u64) {
        let mut conn = Conn {
            c,
            s,
            cseq: 1000,
            sseq: 0,
            path,
        };
        let syn = conn.send(cap, true, "S", b"");
        conn.sseq = 5000;
        conn.send(cap, false, "SA", b"");
        conn.send(cap, true, "A", b"");
        (conn, syn.first().copied().unwrap_or(0))
    }

    fn client(&mut self, cap: &mut Capture, line: &[u8]) -> Vec<u64> {
        self.send(cap, true, "PA", line)
    }

    fn server(&mut self, cap: &mut Capture, line: &[u8]) -> Vec<u64> {
        self.send(cap, false, "PA", line)
    }

    fn close(&mut self, cap: &mut Capture) {
        self.send(cap, false, "FA", b"");
        self.send(cap, true, "FA", b"");
        self.send(cap, false, "A", b"");
    }
}

/// A login and QUIT on a control connection.
fn login(cap: &mut Capture, path: Route) -> Conn {
    let (mut c, _) = Conn::open(cap, (CLIENT, 40000), (SERVER, 21), path);
    c.server(cap, b"220 ready\r\n");
    c.client(cap, b"USER alice\r\n");
    c.server(cap, b"331 password please\r\n");
    c.client(cap, b"PASS s3cret\r\n");
    c.server(cap, b"230 logged in\r\n");
    c
}

fn quit(cap: &mut Capture, c: &mut Conn) {
    c.client(cap, b"QUIT\r\n");
    c.server(cap, b"221 bye\r\n");
    c.close(cap);
}

fn findings<'a>(events: &'a [Value], id: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["kind"] == "finding" && e["id"] == id)
        .collect()
}

fn frames_of(finding: &Value) -> Vec<u64> {
    finding["frames"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default()
}

fn have_tshark() -> bool {
    let ok = Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("SKIPPED: tshark is not installed (apt-get install tshark); filters not checked");
    }
    ok
}

/// The frames tshark selects with `filter`.
fn tshark_select(pcap: &Path, filter: &str) -> Vec<u64> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .args(["-Y", filter, "-T", "fields", "-e", "frame.number"])
        .output()
        .expect("run tshark");
    assert!(
        out.status.success(),
        "tshark -Y {filter:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// Eve poisons both caches (three replies each, a second apart), then relays a login.
fn poisoned_login() -> (Capture, Vec<u64>, Vec<u64>, Vec<u64>) {
    let mut cap = Capture::default();
    // The client learns the server's real MAC first.
    let asked = cap.arp(CLIENT.mac, BROADCAST, false, CLIENT.ip, SERVER);
    let answered = cap.arp(SERVER.mac, CLIENT.mac, true, SERVER.ip, CLIENT);
    let mut to_client = Vec::new();
    let mut to_server = Vec::new();
    for _ in 0..3 {
        cap.wait(Duration::from_secs(1));
        to_client.push(cap.arp(EVE.mac, CLIENT.mac, true, SERVER.ip, CLIENT));
        to_server.push(cap.arp(EVE.mac, SERVER.mac, true, CLIENT.ip, SERVER));
    }
    let mut c = login(&mut cap, Route::ViaEve);
    quit(&mut cap, &mut c);
    (cap, vec![asked, answered], to_client, to_server)
}

#[test]
fn arp_poisoning_and_forwarding_are_found_with_their_frames() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (cap, real, to_client, to_server) = poisoned_login();
    let pcap = cap.write(dir.path(), "poisoned.pcap");
    let (events, code) = inspect(&pcap, &[]);
    assert_eq!(code, 0, "nothing skipped");
    // The login is read once, although every segment is in the capture twice.
    let creds: Vec<_> = events
        .iter()
        .filter(|e| e["kind"] == "credential")
        .collect();
    assert_eq!(creds.len(), 1, "{creds:?}");

    // Findings come in frame order: eve's first claim was sent to the client.
    let dup = findings(&events, "arp-duplicate-address");
    assert_eq!(dup.len(), 2, "{dup:#?}");
    let dup = [dup[1], dup[0]];
    // 10.66.0.1 (the client): its own request, then eve's claims to the server.
    assert_eq!(
        frames_of(dup[0]),
        [vec![real[0]], to_server.clone()].concat()
    );
    assert_eq!(dup[0]["frame"], to_server[0]);
    assert_eq!(dup[0]["filter"], "arp.src.proto_ipv4 == 10.66.0.1");
    // 10.66.0.2 (the server): its real reply, then eve's claims to the client.
    assert_eq!(
        frames_of(dup[1]),
        [vec![real[1]], to_client.clone()].concat()
    );
    assert_eq!(dup[1]["filter"], "arp.src.proto_ipv4 == 10.66.0.2");
    let message = dup[1]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("02:66:00:00:00:02") && message.contains("02:66:00:00:00:0e"),
        "{message}"
    );

    let bursts = findings(&events, "arp-unsolicited-replies");
    assert_eq!(bursts.len(), 2, "{bursts:#?}");
    let bursts = [bursts[1], bursts[0]];
    assert_eq!(frames_of(bursts[0]), to_server);
    assert_eq!(
        bursts[0]["filter"],
        "arp.opcode == 2 && arp.src.proto_ipv4 == 10.66.0.1 && arp.src.hw_mac == 02:66:00:00:00:0e"
    );
    assert_eq!(frames_of(bursts[1]), to_client);

    let forwarded = findings(&events, "forwarded-segments");
    assert_eq!(forwarded.len(), 1, "{forwarded:#?}");
    let f = forwarded[0];
    let first_tcp = to_server.last().copied().unwrap_or(0) + 1;
    // The first ten pairs: the handshake's three segments, then the login.
    let expected: Vec<u64> = (first_tcp..first_tcp + 20).collect();
    assert_eq!(frames_of(f), expected);
    let message = f["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("13 TCP segment(s)"), "{message}");
    assert!(
        message.contains("MAC 02:66:00:00:00:0e forwards"),
        "{message}"
    );
    assert!(
        message.contains("TTL 64") && message.contains("TTL 63"),
        "{message}"
    );

    if have_tshark() {
        let checked = filters_select_their_frames(&pcap, &events);
        assert!(checked >= 5, "only {checked} filters checked");
        // `inspector frame` shows the ARP packets (and every other field) as tshark does.
        assert!(frames_agree_with_tshark(&pcap) > 1000);
        // Wireshark's own expert info agrees that both addresses are in use twice.
        let flagged = tshark_select(&pcap, "arp.duplicate-address-detected");
        assert!(
            flagged.contains(&to_client[0]) && flagged.contains(&to_server[0]),
            "tshark flags {flagged:?}"
        );
    }
}

/// A login, PASV and RETR; eve connects to the passive port first. With `served`, the server
/// sends her the file (a server without the address check); without, it closes her connection
/// at once and the client's own connection brings the file.
fn pasv_taken(served: bool) -> (Capture, u64, u64) {
    let mut cap = Capture::default();
    let mut c = login(&mut cap, Route::Direct);
    c.client(&mut cap, b"PASV\r\n");
    let announced = c.server(
        &mut cap,
        b"227 Entering Passive Mode (10,66,0,2,200,10).\r\n",
    );
    let (mut d, syn) = Conn::open(&mut cap, (EVE, 50000), (SERVER, 51210), Route::Direct);
    if !served {
        d.close(&mut cap);
        let (d2, _) = Conn::open(&mut cap, (CLIENT, 40001), (SERVER, 51210), Route::Direct);
        d = d2;
    }
    c.client(&mut cap, b"RETR secret.txt\r\n");
    c.server(&mut cap, b"150 here it comes\r\n");
    d.server(&mut cap, b"the secret\n");
    d.close(&mut cap);
    c.server(&mut cap, b"226 done\r\n");
    quit(&mut cap, &mut c);
    (cap, announced[0], syn)
}

/// Eve sends each segment on within the microsecond: the copy has the time of the original,
/// which is no repeat of a capture (the MACs differ) and no `duplicate-frames`.
#[test]
fn a_copy_forwarded_within_the_same_microsecond_is_forwarding_not_a_repeat() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cap = Capture {
        step: Duration::ZERO,
        ..Capture::default()
    };
    let mut c = login(&mut cap, Route::ViaEve);
    quit(&mut cap, &mut c);
    let pcap = cap.write(dir.path(), "same-time.pcap");
    let (events, _) = inspect(&pcap, &[]);
    assert!(
        findings(&events, "duplicate-frames").is_empty(),
        "{events:#?}"
    );
    let forwarded = findings(&events, "forwarded-segments");
    assert_eq!(forwarded.len(), 1, "{events:#?}");
    let message = forwarded[0]["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("13 TCP segment(s)"), "{message}");
    let creds: Vec<_> = events
        .iter()
        .filter(|e| e["kind"] == "credential")
        .collect();
    assert_eq!(creds.len(), 1, "{creds:?}");
}

#[test]
fn a_passive_port_taken_by_eve_is_found_with_the_227_and_her_syn() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (cap, announced, syn) = pasv_taken(true);
    let pcap = cap.write(dir.path(), "stolen.pcap");
    let (events, _) = inspect(&pcap, &[]);
    let theft = findings(&events, "pasv-theft");
    assert_eq!(theft.len(), 1, "{events:#?}");
    assert_eq!(frames_of(theft[0]), [announced, syn]);
    assert_eq!(theft[0]["frame"], syn);
    assert_eq!(theft[0]["session"], 1);
    let message = theft[0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("10.66.0.2:51210") && message.contains("10.66.0.14:50000"),
        "{message}"
    );
    assert!(message.contains("11 byte(s) crossed it"), "{message}");
    assert_eq!(theft[0]["severity"], "high");
    if have_tshark() {
        assert!(filters_select_their_frames(&pcap, &events) >= 2);
        let filter = theft[0]["filter"].as_str().unwrap_or_default();
        assert_eq!(tshark_select(&pcap, filter), [announced, syn]);
    }
}

#[test]
fn a_passive_port_eve_tried_and_the_server_closed_is_a_medium_finding() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (cap, announced, syn) = pasv_taken(false);
    let pcap = cap.write(dir.path(), "refused.pcap");
    let (events, _) = inspect(&pcap, &[]);
    let theft = findings(&events, "pasv-theft");
    assert_eq!(theft.len(), 1, "{events:#?}");
    assert_eq!(frames_of(theft[0]), [announced, syn]);
    assert_eq!(theft[0]["severity"], "medium");
    let message = theft[0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("no data crossed it"), "{message}");
}

#[test]
fn a_plain_session_on_a_lan_fires_none_of_the_network_findings() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cap = Capture::default();
    cap.arp(CLIENT.mac, BROADCAST, false, CLIENT.ip, SERVER);
    cap.arp(SERVER.mac, CLIENT.mac, true, SERVER.ip, CLIENT);
    let mut c = login(&mut cap, Route::Direct);
    c.client(&mut cap, b"PASV\r\n");
    c.server(
        &mut cap,
        b"227 Entering Passive Mode (10,66,0,2,200,10).\r\n",
    );
    let (mut d, _) = Conn::open(&mut cap, (CLIENT, 40001), (SERVER, 51210), Route::Direct);
    c.client(&mut cap, b"RETR notes.txt\r\n");
    c.server(&mut cap, b"150 here it comes\r\n");
    let data = d.server(&mut cap, b"notes\n");
    // A retransmission on the same path is not forwarding.
    d.sseq -= 6;
    d.server(&mut cap, b"notes\n");
    assert_eq!(data.len(), 1);
    d.close(&mut cap);
    c.server(&mut cap, b"226 done\r\n");
    // The server asks back later; much later a lone reply nobody asked for (one stray reply
    // is no burst).
    cap.wait(Duration::from_secs(2));
    cap.arp(SERVER.mac, BROADCAST, false, SERVER.ip, CLIENT);
    cap.arp(CLIENT.mac, SERVER.mac, true, CLIENT.ip, SERVER);
    cap.wait(Duration::from_secs(20));
    cap.arp(CLIENT.mac, SERVER.mac, true, CLIENT.ip, SERVER);
    quit(&mut cap, &mut c);
    let pcap = cap.write(dir.path(), "plain.pcap");
    let (events, _) = inspect(&pcap, &[]);
    for id in [
        "arp-duplicate-address",
        "arp-unsolicited-replies",
        "forwarded-segments",
        "pasv-theft",
    ] {
        assert!(findings(&events, id).is_empty(), "{id}: {events:#?}");
    }
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "transfer" && e["bytes"] == 6),
        "the file is read: {events:#?}"
    );
}
