//! Captures that hold frames twice (a capture concatenated with itself, the `any` device seeing
//! a packet on two devices) and captures whose TCP segments travel as IP fragments (IPv4 and
//! IPv6), each built in the test from a shipped or hand-written capture: they must give the same
//! sessions, logins and files as the original.

mod common;
mod synth;

use common::*;
use etherparse::{
    IpFragOffset, IpNumber, Ipv4Header, Ipv6FragmentHeader, Ipv6Header, PacketBuilder,
};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// One frame of a capture, owned.
#[derive(Clone)]
struct Frame {
    time: Duration,
    link: u32,
    bytes: Vec<u8>,
}

fn read_frames(path: &Path) -> Vec<Frame> {
    let mut source = inspector::source::open_file(path).expect("open capture");
    let mut out = Vec::new();
    while let Some(f) = source.next_frame().expect("read frame") {
        out.push(Frame {
            time: f.timestamp,
            link: f.link_type.0,
            bytes: f.bytes.to_vec(),
        });
    }
    out
}

/// A classic pcap with nanosecond timestamps; all frames must share one link type.
fn pcap_ns(frames: &[Frame]) -> Vec<u8> {
    let link = frames.first().map_or(1, |f| f.link);
    assert!(frames.iter().all(|f| f.link == link), "one link type");
    let mut out = Vec::new();
    out.extend(0xa1b2_3c4du32.to_le_bytes());
    out.extend(2u16.to_le_bytes());
    out.extend(4u16.to_le_bytes());
    out.extend([0u8; 8]);
    out.extend(262_144u32.to_le_bytes());
    out.extend(link.to_le_bytes());
    for f in frames {
        out.extend((f.time.as_secs() as u32).to_le_bytes());
        out.extend(f.time.subsec_nanos().to_le_bytes());
        out.extend((f.bytes.len() as u32).to_le_bytes());
        out.extend((f.bytes.len() as u32).to_le_bytes());
        out.extend(&f.bytes);
    }
    out
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// What must not change: sessions, logins and files (frame numbers may).
#[derive(Debug, PartialEq, Eq)]
struct Summary {
    sessions: BTreeSet<(String, String)>,
    credentials: Vec<(String, String, Value)>,
    transfers: BTreeSet<String>,
    commands: Vec<String>,
}

fn summary(events: &[Value]) -> Summary {
    let field = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_owned();
    let mut credentials = credentials(events);
    credentials.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    Summary {
        sessions: of_kind(events, "session")
            .iter()
            .map(|s| (field(s, "client"), field(s, "server")))
            .collect(),
        credentials,
        transfers: of_kind(events, "transfer")
            .iter()
            .map(|t| {
                format!(
                    "{} {} {} {} {} {}",
                    t["name"], t["direction"], t["sha256"], t["bytes"], t["complete"], t["gaps"]
                )
            })
            .collect(),
        commands: verbs(events),
    }
}

fn finding<'a>(events: &'a [Value], id: &str) -> Option<&'a Value> {
    of_kind(events, "finding")
        .into_iter()
        .find(|f| f["id"] == id)
}

fn shipped(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../captures")
        .join(name)
}

#[test]
fn a_capture_concatenated_with_itself_reads_like_the_original_plus_a_duplicate_finding() {
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for name in [
        "ftplab-curl.pcap",
        "pyftpdlib-lftp-any.pcapng",
        "lab1.pcapng",
        "lab2.pcapng",
        "lab3.pcapng",
        "lab4.pcapng",
    ] {
        let frames = read_frames(&shipped(name));
        let n = frames.len() as u64;
        let original = write(dir.path(), &format!("{name}.pcap"), &pcap_ns(&frames));
        let doubled: Vec<Frame> = frames.iter().chain(frames.iter()).cloned().collect();
        let twice = write(
            dir.path(),
            &format!("{name}.twice.pcap"),
            &pcap_ns(&doubled),
        );
        let (before, code_before) = inspect(&original, &[]);
        let (after, code_after) = inspect(&twice, &[]);
        assert!(
            finding(&before, "duplicate-frames").is_none(),
            "{name}: the original repeats nothing"
        );
        assert_eq!(summary(&before), summary(&after), "{name}");
        assert!(!of_kind(&before, "session").is_empty(), "{name}");
        assert_eq!(code_before, code_after, "{name}");
        let f = finding(&after, "duplicate-frames").unwrap_or_else(|| panic!("{name}: no finding"));
        assert_eq!(f["frame"], n + 1, "{name}: {f}");
        let message = f["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("{n} frame(s) repeat"))
                && message.contains(&format!("starts at frame {} (a copy of frame 1)", n + 1)),
            "{name}: {message}"
        );
        let frames = f["frames"].as_array().unwrap();
        assert!(frames.contains(&Value::from(1)) && frames.contains(&Value::from(2 * n)));
        checked += 1;
    }
    assert_eq!(checked, 6);
}

#[test]
fn mergecap_append_of_a_capture_to_itself_is_recognised() {
    if Command::new("mergecap").arg("-h").output().is_err() {
        eprintln!("SKIPPED: mergecap is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let original = shipped("ftplab-curl.pcap");
    let twice = dir.path().join("twice.pcapng");
    let out = Command::new("mergecap")
        .arg("-a")
        .arg("-w")
        .arg(&twice)
        .arg(&original)
        .arg(&original)
        .output()
        .unwrap();
    assert_ok(&out, "mergecap -a");
    let (before, _) = inspect(&original, &[]);
    let (after, _) = inspect(&twice, &[]);
    assert_eq!(summary(&before), summary(&after));
    assert!(finding(&after, "duplicate-frames").is_some());
}

#[test]
fn the_any_device_seeing_each_packet_on_two_devices_counts_each_login_once() {
    let dir = tempfile::tempdir().unwrap();
    // Linux SLL2 headers that differ only in the interface index, same timestamp.
    let sll2 = |ifindex: u8| {
        let mut h = synth::link_header(276);
        h[7] = ifindex;
        h
    };
    let once: Vec<Frame> = synth::session_packets()
        .iter()
        .enumerate()
        .map(|(i, p)| Frame {
            time: Duration::from_millis(1_700_000_000_000 + i as u64),
            link: 276,
            bytes: [sll2(1), p.clone()].concat(),
        })
        .collect();
    let seen_twice: Vec<Frame> = once
        .iter()
        .flat_map(|f| {
            let mut other = f.clone();
            other.bytes[7] = 2;
            [f.clone(), other]
        })
        .collect();
    let (before, _) = inspect(&write(dir.path(), "once.pcap", &pcap_ns(&once)), &[]);
    let (after, _) = inspect(&write(dir.path(), "twice.pcap", &pcap_ns(&seen_twice)), &[]);
    assert_eq!(summary(&before), summary(&after));
    assert_eq!(credentials(&after).len(), 2);
    let f = finding(&after, "duplicate-frames").expect("finding");
    assert_eq!(f["frame"], 2);
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains(&format!("{} frame(s)", once.len())),
        "{f}"
    );
}

/// Where the IP header starts for the link types the shipped captures use.
fn ip_offset(link: u32) -> usize {
    match link {
        1 => 14,
        113 => 16,
        276 => 20,
        0 | 108 => 4,
        _ => 0,
    }
}

/// Cuts every IPv4 packet with more than `size` bytes of payload into fragments of `size`
/// bytes (a multiple of 8), every other packet's fragments in reverse order; `conflict` adds,
/// after the first fragment of the first packet cut, a fragment that overlaps it with
/// different bytes.
fn fragment_v4(frames: &[Frame], size: usize, conflict: bool) -> (Vec<Frame>, u64) {
    let mut out = Vec::new();
    let mut cut = 0u64;
    let mut conflict_frame = 0;
    for f in frames {
        let at = ip_offset(f.link);
        let Ok((header, _)) = Ipv4Header::from_slice(&f.bytes[at..]) else {
            out.push(f.clone());
            continue;
        };
        let start = at + header.header_len();
        let end = at + usize::from(header.total_len);
        let payload = &f.bytes[start..end.min(f.bytes.len())];
        if payload.len() <= size || header.protocol != IpNumber::TCP {
            out.push(f.clone());
            continue;
        }
        let mut pieces = Vec::new();
        for (i, chunk) in payload.chunks(size).enumerate() {
            let mut h = header.clone();
            h.dont_fragment = false;
            h.more_fragments = (i + 1) * size < payload.len();
            h.fragment_offset = IpFragOffset::try_new((i * size / 8) as u16).unwrap();
            h.set_payload_len(chunk.len()).unwrap();
            h.header_checksum = h.calc_header_checksum();
            let bytes = [&f.bytes[..at], &h.to_bytes()[..], chunk].concat();
            pieces.push(Frame { bytes, ..f.clone() });
        }
        if cut % 2 == 1 {
            pieces.reverse();
        }
        if conflict && cut == 0 && pieces.len() > 1 {
            let mut h = header.clone();
            h.dont_fragment = false;
            h.more_fragments = true;
            h.fragment_offset = IpFragOffset::ZERO;
            h.set_payload_len(8).unwrap();
            h.header_checksum = h.calc_header_checksum();
            let forged = Frame {
                bytes: [&f.bytes[..at], &h.to_bytes()[..], &[0xee; 8][..]].concat(),
                ..f.clone()
            };
            pieces.insert(1, forged);
            conflict_frame = (out.len() + 2) as u64;
        }
        cut += 1;
        out.extend(pieces);
    }
    assert!(cut > 5, "the capture has segments to cut");
    (out, conflict_frame)
}

#[test]
fn ipv4_fragments_of_a_real_capture_rebuild_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let frames = read_frames(&shipped("ftplab-curl.pcap"));
    let (cut, _) = fragment_v4(&frames, 24, false);
    assert!(cut.len() > frames.len() * 2);
    let original = write(dir.path(), "whole.pcap", &pcap_ns(&frames));
    let fragmented = write(dir.path(), "fragments.pcap", &pcap_ns(&cut));
    let (before, code_before) = inspect(&original, &[]);
    let (after, code_after) = inspect(&fragmented, &[]);
    assert!(!transfer_hashes(&before).is_empty());
    assert_eq!(summary(&before), summary(&after));
    assert_eq!(code_before, code_after, "{after:?}");
    assert!(finding(&after, "ip-fragment-overlap").is_none());
}

#[test]
fn ipv4_fragments_that_overlap_with_different_bytes_are_reported_and_the_first_copy_kept() {
    let dir = tempfile::tempdir().unwrap();
    let frames = read_frames(&shipped("ftplab-curl.pcap"));
    let (cut, forged) = fragment_v4(&frames, 24, true);
    let (before, _) = inspect(&write(dir.path(), "whole.pcap", &pcap_ns(&frames)), &[]);
    let (after, _) = inspect(&write(dir.path(), "forged.pcap", &pcap_ns(&cut)), &[]);
    assert_eq!(summary(&before), summary(&after));
    let f = finding(&after, "ip-fragment-overlap").expect("overlap finding");
    assert_eq!(f["frame"], forged, "{f}");
    assert_eq!(f["frames"], serde_json::json!([forged - 1, forged]), "{f}");
    assert_eq!(f["severity"], "high");
}

/// An FTP session over IPv6 (EPSV, RETR of [`synth::FILE`] plus a larger file), as packets.
fn ipv6_session(big: &[u8]) -> Vec<Vec<u8>> {
    let c: [u8; 16] = "fd00::2".parse::<std::net::Ipv6Addr>().unwrap().octets();
    let s: [u8; 16] = "fd00::1".parse::<std::net::Ipv6Addr>().unwrap().octets();
    let mut out = Vec::new();
    let seg = |from: [u8; 16],
               to: [u8; 16],
               ports: (u16, u16),
               seq: u32,
               ack: u32,
               flags: &str,
               data: &[u8]| {
        let mut b = PacketBuilder::ipv6(from, to, 64).tcp(ports.0, ports.1, seq, 65535);
        if flags.contains('S') {
            b = b.syn();
        }
        if flags.contains('A') {
            b = b.ack(ack);
        }
        if flags.contains('F') {
            b = b.fin();
        }
        let mut p = Vec::new();
        b.write(&mut p, data).unwrap();
        p
    };
    // Control connection 40000 → 21, data connection 40001 → 50000.
    let (mut cs, mut ss) = (1001u32, 5001u32);
    out.push(seg(c, s, (40000, 21), 1000, 0, "S", b""));
    out.push(seg(s, c, (21, 40000), 5000, 1001, "SA", b""));
    let to_server = |out: &mut Vec<Vec<u8>>, data: &[u8], cs: &mut u32, ss: u32| {
        out.push(seg(c, s, (40000, 21), *cs, ss, "A", data));
        *cs += data.len() as u32;
    };
    let to_client = |out: &mut Vec<Vec<u8>>, data: &[u8], cs: u32, ss: &mut u32| {
        out.push(seg(s, c, (21, 40000), *ss, cs, "A", data));
        *ss += data.len() as u32;
    };
    to_client(&mut out, b"220 ready\r\n", cs, &mut ss);
    to_server(&mut out, b"USER carol\r\n", &mut cs, ss);
    to_client(&mut out, b"331 password\r\n", cs, &mut ss);
    to_server(&mut out, b"PASS v6-secret\r\n", &mut cs, ss);
    to_client(&mut out, b"230 in\r\n", cs, &mut ss);
    to_server(&mut out, b"EPSV\r\n", &mut cs, ss);
    to_client(
        &mut out,
        b"229 Entering Extended Passive Mode (|||50000|)\r\n",
        cs,
        &mut ss,
    );
    out.push(seg(c, s, (40001, 50000), 700, 0, "S", b""));
    out.push(seg(s, c, (50000, 40001), 900, 701, "SA", b""));
    to_server(&mut out, b"RETR big.bin\r\n", &mut cs, ss);
    to_client(&mut out, b"150 here it comes\r\n", cs, &mut ss);
    let mut dseq = 901u32;
    for chunk in big.chunks(1200) {
        out.push(seg(s, c, (50000, 40001), dseq, 701, "A", chunk));
        dseq += chunk.len() as u32;
    }
    out.push(seg(s, c, (50000, 40001), dseq, 701, "FA", b""));
    out.push(seg(c, s, (40001, 50000), 701, dseq + 1, "FA", b""));
    to_client(&mut out, b"226 done\r\n", cs, &mut ss);
    out
}

/// Cuts every IPv6 packet with more than `size` bytes of payload into fragments (a fragment
/// header each, RFC 8200 §4.5), every other packet's in reverse order.
fn fragment_v6(packets: &[Vec<u8>], size: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (n, p) in packets.iter().enumerate() {
        let (header, payload) = Ipv6Header::from_slice(p).unwrap();
        if payload.len() <= size {
            out.push(p.clone());
            continue;
        }
        let mut pieces = Vec::new();
        for (i, chunk) in payload.chunks(size).enumerate() {
            let mut h = header.clone();
            h.next_header = IpNumber::IPV6_FRAGMENTATION_HEADER;
            h.payload_length = (Ipv6FragmentHeader::LEN + chunk.len()) as u16;
            let frag = Ipv6FragmentHeader::new(
                header.next_header,
                IpFragOffset::try_new((i * size / 8) as u16).unwrap(),
                (i + 1) * size < payload.len(),
                0x1000 + n as u32,
            );
            pieces.push([&h.to_bytes()[..], &frag.to_bytes()[..], chunk].concat());
        }
        if n % 2 == 1 {
            pieces.reverse();
        }
        out.extend(pieces);
    }
    out
}

#[test]
fn ipv6_fragments_rebuild_the_same_file_as_the_unfragmented_capture() {
    let dir = tempfile::tempdir().unwrap();
    let big: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let packets = ipv6_session(&big);
    let frames = |packets: &[Vec<u8>]| -> Vec<Frame> {
        packets
            .iter()
            .enumerate()
            .map(|(i, p)| Frame {
                time: Duration::from_millis(1_700_000_000_000 + i as u64),
                link: 101,
                bytes: p.clone(),
            })
            .collect()
    };
    let cut = fragment_v6(&packets, 64);
    assert!(cut.len() > packets.len() * 2);
    let (before, code_before) = inspect(
        &write(dir.path(), "whole6.pcap", &pcap_ns(&frames(&packets))),
        &[],
    );
    let (after, code_after) = inspect(
        &write(dir.path(), "fragments6.pcap", &pcap_ns(&frames(&cut))),
        &[],
    );
    assert_eq!(transfer_hashes(&before), BTreeSet::from([sha256(&big)]));
    assert_eq!(summary(&before), summary(&after));
    assert_eq!(code_before, code_after, "{after:?}");
    assert_eq!(
        credentials(&after),
        vec![("carol".into(), "v6-secret".into(), Value::Bool(true))]
    );
}

#[test]
fn a_fragment_that_never_comes_is_a_warning_not_a_guess() {
    let dir = tempfile::tempdir().unwrap();
    let frames = read_frames(&shipped("ftplab-curl.pcap"));
    let (mut cut, _) = fragment_v4(&frames, 24, false);
    // Drop the last frame that is a non-final fragment.
    let at = ip_offset(cut[0].link);
    let victim = cut
        .iter()
        .rposition(|f| Ipv4Header::from_slice(&f.bytes[at..]).is_ok_and(|(h, _)| h.more_fragments))
        .unwrap();
    cut.remove(victim);
    let (after, code) = inspect(&write(dir.path(), "lost.pcap", &pcap_ns(&cut)), &[]);
    assert_eq!(code, 1);
    let warnings: Vec<&str> = of_kind(&after, "warning")
        .iter()
        .filter_map(|w| w["message"].as_str())
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("1 fragmented IP datagram(s) could not be put back together")),
        "{warnings:?}"
    );
}
