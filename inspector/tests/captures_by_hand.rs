//! Captures written by hand: every supported link type, pcapng with two interfaces, broken and
//! mutated files. No root, no network.

mod common;
mod synth;

use common::*;
use proptest::prelude::*;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn assert_session_found(events: &[Value], what: &str) {
    assert_eq!(
        credentials(events),
        vec![
            ("alice".into(), "wrong".into(), Value::Bool(false)),
            ("alice".into(), "s3cret".into(), Value::Bool(true)),
        ],
        "{what}"
    );
    let t = of_kind(events, "transfer");
    assert_eq!(t.len(), 1, "{what}: {t:?}");
    assert_eq!(t[0]["sha256"], sha256(synth::FILE), "{what}");
    assert_eq!(t[0]["complete"], true, "{what}: {}", t[0]);
    assert_eq!(t[0]["name"], "plans.txt");
}

#[test]
fn every_link_type_gives_the_same_session() {
    let dir = tempfile::tempdir().unwrap();
    let packets = synth::session_packets();
    for linktype in [1u32, 0, 108, 113, 276, 101, 228] {
        let frames: Vec<Vec<u8>> = packets
            .iter()
            .map(|p| [synth::link_header(linktype), p.clone()].concat())
            .collect();
        let f = write(
            dir.path(),
            &format!("lt{linktype}.pcap"),
            &synth::pcap(linktype, &frames),
        );
        let (events, code) = inspect(&f, &[]);
        assert_eq!(code, 0, "linktype {linktype}");
        assert_session_found(&events, &format!("linktype {linktype}"));
    }
    let vlan: Vec<Vec<u8>> = packets
        .iter()
        .map(|p| [synth::vlan_header(), p.clone()].concat())
        .collect();
    let f = write(dir.path(), "vlan.pcap", &synth::pcap(1, &vlan));
    assert_session_found(&inspect(&f, &[]).0, "VLAN");
}

#[test]
fn pcapng_with_two_interfaces_and_nanosecond_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "two.pcapng",
        &synth::pcapng_two_interfaces(&synth::session_packets()),
    );
    let (events, code) = inspect(&f, &[]);
    assert_eq!(code, 0);
    assert_session_found(&events, "pcapng");
    // Frame 2 is on the nanosecond interface: 1_700_000_000 s + 1 µs.
    let session = of_kind(&events, "session")[0];
    assert_eq!(session["frame"], 1);
    assert!(
        (session["time"].as_f64().unwrap() - 1_700_000_000.0).abs() < 1.0,
        "{session}"
    );
}

#[test]
fn tshark_reads_the_hand_written_files_the_same_way() {
    let dir = tempfile::tempdir().unwrap();
    let frames: Vec<Vec<u8>> = synth::session_packets()
        .iter()
        .map(|p| [synth::link_header(276), p.clone()].concat())
        .collect();
    let f = write(dir.path(), "sll2.pcap", &synth::pcap(276, &frames));
    let (events, _) = inspect(&f, &[]);
    let exported = agree_with_tshark(&f, 21, &events);
    assert_eq!(exported, 1);
}

#[test]
fn duplicated_and_reordered_frames_change_nothing() {
    // Linux loopback captures can hold each packet twice; captures also reorder.
    let dir = tempfile::tempdir().unwrap();
    let mut frames = Vec::new();
    for p in synth::session_packets() {
        let f = [synth::link_header(1), p].concat();
        frames.push(f.clone());
        frames.push(f);
    }
    let n = frames.len();
    frames.swap(n / 2, n / 2 + 3);
    let f = write(dir.path(), "dup.pcap", &synth::pcap(1, &frames));
    assert_session_found(&inspect(&f, &[]).0, "duplicated");
}

fn run_inspector(file: &Path) -> (i32, String) {
    let out = Command::new(INSPECTOR)
        .args(["read", "--json"])
        .arg(file)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn not_a_capture_is_a_clear_error_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "notes.txt", b"hello, this is text");
    let (code, err) = run_inspector(&f);
    assert_eq!(code, 2);
    assert!(
        err.contains("notes.txt") && err.contains("not a pcap or pcapng"),
        "{err}"
    );
    let f = write(dir.path(), "empty.pcap", b"");
    let (code, err) = run_inspector(&f);
    assert_eq!(code, 2);
    assert!(err.contains("empty"), "{err}");
    let (code, err) = run_inspector(&dir.path().join("missing.pcap"));
    assert_eq!(code, 2);
    assert!(err.contains("missing.pcap"), "{err}");
}

#[test]
fn non_utf8_pcapng_options_are_stepped_over_and_every_frame_is_read() {
    let dir = tempfile::tempdir().unwrap();
    // shb_userappl (4) and a packet comment (opt_comment, 1) in Latin-1, each then opt_endofopt.
    let shb = [
        synth::pcapng_option(4, b"caf\xe9 capture"),
        synth::pcapng_option(0, b""),
    ]
    .concat();
    let epb = [
        synth::pcapng_option(1, b"\xff\xfe not UTF-8"),
        synth::pcapng_option(0, b""),
    ]
    .concat();
    let packets = synth::session_packets();
    let f = write(
        dir.path(),
        "odd-options.pcapng",
        &synth::pcapng_two_interfaces_with(&packets, &shb, &epb),
    );
    let (events, code) = inspect(&f, &[]);
    assert_eq!(
        code,
        0,
        "nothing skipped: {:?}",
        of_kind(&events, "warning")
    );
    assert_session_found(&events, "non-UTF-8 options");
}

/// `bytes` gzip-compressed, as `gzip` writes them.
fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

#[test]
fn gzip_compressed_captures_read_like_the_originals() {
    let dir = tempfile::tempdir().unwrap();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../captures");
    for (name, args) in [
        ("ftplab-curl.pcap", &["--port", "2121"][..]),
        ("pyftpdlib-lftp-any.pcapng", &["--port", "2122"][..]),
    ] {
        let original = shipped.join(name);
        let gz = write(
            dir.path(),
            &format!("{name}.gz"),
            &gzip(&std::fs::read(&original).unwrap()),
        );
        let (want, want_code) = inspect(&original, args);
        let (got, got_code) = inspect(&gz, args);
        assert_eq!(got_code, want_code, "{name}");
        assert!(!credentials(&want).is_empty(), "{name}");
        assert_eq!(got, want, "{name}");
    }
    // A gzip file that holds no capture says so.
    let f = write(dir.path(), "notes.txt.gz", &gzip(b"just some notes\n"));
    let out = Command::new(INSPECTOR)
        .arg("read")
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("once gunzipped"), "{err}");
}

#[test]
fn truncated_last_record_is_a_warning_and_the_rest_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let frames: Vec<Vec<u8>> = synth::session_packets()
        .iter()
        .map(|p| [synth::link_header(1), p.clone()].concat())
        .collect();
    let mut bytes = synth::pcap(1, &frames);
    // One more record, cut in the middle.
    bytes.extend(1_700_000_000u32.to_le_bytes());
    bytes.extend(0u32.to_le_bytes());
    bytes.extend(100u32.to_le_bytes());
    bytes.extend(100u32.to_le_bytes());
    bytes.extend([0u8; 40]);
    let f = write(dir.path(), "cut.pcap", &bytes);
    let (events, code) = inspect(&f, &[]);
    assert_eq!(code, 1, "skipped something");
    assert_session_found(&events, "truncated");
    let w = of_kind(&events, "warning");
    let last = frames.len() + 1;
    assert!(
        w.iter()
            .any(|w| w["frame"] == last && w["message"].as_str().unwrap().contains("cut.pcap")),
        "{w:?}"
    );
    // The same for pcapng.
    let mut ng = synth::pcapng_two_interfaces(&synth::session_packets());
    ng.truncate(ng.len() - 10);
    let f = write(dir.path(), "cut.pcapng", &ng);
    let (events, code) = inspect(&f, &[]);
    assert_eq!(code, 1);
    assert_eq!(credentials(&events).len(), 2);
}

#[test]
fn absurd_record_length_is_named_with_its_frame() {
    let dir = tempfile::tempdir().unwrap();
    let frames: Vec<Vec<u8>> = synth::session_packets()
        .iter()
        .take(3)
        .map(|p| [synth::link_header(1), p.clone()].concat())
        .collect();
    let mut bytes = synth::pcap(1, &frames);
    bytes.extend([0u8; 8]);
    bytes.extend(0xfff0_0000u32.to_le_bytes());
    bytes.extend(0xfff0_0000u32.to_le_bytes());
    bytes.extend([0u8; 64]);
    let f = write(dir.path(), "absurd.pcap", &bytes);
    let (events, code) = inspect(&f, &[]);
    assert_eq!(code, 1);
    let w = of_kind(&events, "warning");
    assert!(
        w.iter()
            .any(|w| w["frame"] == 4 && w["message"].as_str().unwrap().contains("absurd")),
        "{w:?}"
    );
}

#[test]
fn broken_frame_headers_are_skipped_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let mut frames: Vec<Vec<u8>> = synth::session_packets()
        .iter()
        .map(|p| [synth::link_header(1), p.clone()].concat())
        .collect();
    frames.insert(
        5,
        vec![2, 2, 2, 2, 2, 2, 4, 4, 4, 4, 4, 4, 0x08, 0x00, 0x45, 0x00],
    );
    let f = write(dir.path(), "broken.pcap", &synth::pcap(1, &frames));
    let (events, code) = inspect(&f, &[]);
    assert_eq!(code, 1);
    assert!(
        of_kind(&events, "warning").iter().any(|w| w["frame"] == 6),
        "{events:?}"
    );
}

fn analyze_bytes(bytes: &[u8]) {
    use inspector::source::{PacketSource, PcapNgSource, PcapSource};
    let name = Path::new("mutated");
    let mut source: Box<dyn PacketSource> = if bytes.starts_with(&[0x0a, 0x0d, 0x0d, 0x0a]) {
        match PcapNgSource::new(std::io::Cursor::new(bytes.to_vec()), name) {
            Ok(s) => Box::new(s),
            Err(_) => return,
        }
    } else {
        match PcapSource::new(std::io::Cursor::new(bytes.to_vec()), name) {
            Ok(s) => Box::new(s),
            Err(_) => return,
        }
    };
    let _ = inspector::analyze(source.as_mut(), &inspector::Options::default());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Mutated captures (bytes flipped, cut, repeated): the reader and the whole pipeline never
    /// panic.
    #[test]
    fn mutated_captures_never_panic(
        ng in any::<bool>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..20),
        cut in any::<prop::sample::Index>(),
        linktype in prop::sample::select(vec![0u32, 1, 101, 108, 113, 276]),
    ) {
        let packets = synth::session_packets();
        let mut bytes = if ng {
            synth::pcapng_two_interfaces(&packets)
        } else {
            let frames: Vec<Vec<u8>> = packets.iter().map(|p| [synth::link_header(linktype), p.clone()].concat()).collect();
            synth::pcap(linktype, &frames)
        };
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        let keep = cut.index(bytes.len() + 1);
        bytes.truncate(keep.max(bytes.len() / 2));
        analyze_bytes(&bytes);
    }

    /// Random bytes behind a valid header.
    #[test]
    fn random_bodies_never_panic(body in prop::collection::vec(any::<u8>(), 0..3000), linktype in 0u32..300) {
        let mut bytes = synth::pcap(linktype, &[]);
        bytes.extend(body);
        analyze_bytes(&bytes);
    }
}

fn ethernet_pcap(dir: &Path, name: &str, packets: &[Vec<u8>]) -> std::path::PathBuf {
    let frames: Vec<Vec<u8>> = packets
        .iter()
        .map(|p| [synth::link_header(1), p.clone()].concat())
        .collect();
    write(dir, name, &synth::pcap(1, &frames))
}

#[test]
fn data_connection_without_its_control_connection_is_shown_with_a_guessed_type() {
    let dir = tempfile::tempdir().unwrap();
    // Keep only the data connection (port 50000).
    let packets: Vec<Vec<u8>> = synth::session_packets()
        .into_iter()
        .filter(|p| {
            let ports = [
                u16::from_be_bytes([p[20], p[21]]),
                u16::from_be_bytes([p[22], p[23]]),
            ];
            ports.contains(&50000)
        })
        .collect();
    let f = ethernet_pcap(dir.path(), "orphan.pcap", &packets);
    let (events, _) = inspect(&f, &[]);
    let t = of_kind(&events, "transfer");
    assert_eq!(t.len(), 1, "{events:?}");
    assert_eq!(t[0]["session"], Value::Null);
    assert_eq!(t[0]["guessed"], true);
    assert_eq!(t[0]["direction"], "download");
    assert_eq!(t[0]["sha256"], sha256(synth::FILE));
    assert_eq!(
        t[0]["complete"], false,
        "no control connection: completeness unknown"
    );
}

#[test]
fn findings_for_anonymous_bounce_traversal_brute_force_and_tls() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines: Vec<(bool, &[u8])> = vec![
        (false, b"220-Welcome\r\n220 ProFTPD 1.3.5 Server\r\n"),
        (true, b"FEAT\r\n"),
        (false, b"211-Features:\r\n MDTM\r\n SIZE\r\n211 End\r\n"),
    ];
    for _ in 0..5 {
        lines.push((true, b"USER root\r\n"));
        lines.push((false, b"331 Password required\r\n"));
        lines.push((true, b"PASS guess\r\n"));
        lines.push((false, b"530 Login incorrect\r\n"));
    }
    lines.extend([
        (true, &b"USER anonymous\r\n"[..]),
        (false, b"331 Send your e-mail address\r\n"),
        (true, b"PASS guest@\r\n"),
        (false, b"230 Anonymous access granted\r\n"),
        (true, b"PORT 192,168,1,9,0,22\r\n"),
        (false, b"200 PORT command successful\r\n"),
        (true, b"RETR ../../etc/passwd\r\n"),
        (false, b"550 No such file\r\n"),
        (true, b"AUTH TLS\r\n"),
        (false, b"234 AUTH TLS successful\r\n"),
        (true, b"\x16\x03\x01\x00\x05hello"),
    ]);
    let f = ethernet_pcap(dir.path(), "findings.pcap", &synth::control_only(&lines));
    let (events, _) = inspect(&f, &[]);
    let ids: Vec<String> = of_kind(&events, "finding")
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect();
    for id in [
        "anonymous-login",
        "bounce-attack",
        "path-traversal",
        "brute-force",
        "banner-disclosure",
        "tls-not-offered",
        "cleartext-credentials",
    ] {
        assert!(ids.iter().any(|x| x == id), "{id} missing: {ids:?}");
    }
    assert!(
        !ids.iter().any(|x| x == "tls-not-used"),
        "AUTH TLS was used: {ids:?}"
    );
    assert_eq!(of_kind(&events, "tls").len(), 1);
    // Nothing after the 234 is parsed as FTP.
    assert_eq!(verbs(&events).last().map(String::as_str), Some("AUTH"));
    assert_eq!(credentials(&events).len(), 6);
}

#[test]
fn a_226_without_its_data_connection_in_the_capture_is_never_a_complete_file() {
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<(bool, &[u8])> = vec![
        (false, b"220 ready\r\n"),
        (true, b"USER u\r\n"),
        (false, b"331 Password\r\n"),
        (true, b"PASS p\r\n"),
        (false, b"230 Ok\r\n"),
        (true, b"PASV\r\n"),
        (false, b"227 Entering Passive Mode (10,0,0,1,195,80).\r\n"),
        (true, b"RETR secret.txt\r\n"),
        (false, b"150 Opening data connection\r\n"),
        (false, b"226 Transfer complete\r\n"),
    ];
    let f = ethernet_pcap(dir.path(), "no-data.pcap", &synth::control_only(&lines));
    let (events, _) = inspect(&f, &[]);
    let transfers = of_kind(&events, "transfer");
    assert_eq!(transfers.len(), 1, "{transfers:?}");
    let t = transfers[0];
    assert_eq!(t["complete"], false, "{t}");
    assert!(
        t["sha256"].is_null(),
        "the hash of nothing passed for the file's: {t}"
    );
    assert!(
        t["incomplete_reason"]
            .as_str()
            .unwrap()
            .contains("data connection not in the capture"),
        "{t}"
    );
}

/// JSON.md: "warning: something was skipped (…, bytes missing in a control connection); the
/// exit code is then 1". Each kind of control connection warning, through the binary.
#[test]
fn control_connection_warnings_exit_with_1_as_json_md_promises() {
    let dir = tempfile::tempdir().unwrap();
    let long = format!("USER {}\r\n", "x".repeat(10_000));
    type Lines<'a> = Vec<(bool, &'a [u8])>;
    let cases: [(&str, Lines); 2] = [
        (
            "not-a-reply",
            vec![(false, b"220 hi\r\n"), (false, b"hello there\r\n")],
        ),
        (
            "long-line",
            vec![(false, b"220 hi\r\n"), (true, long.as_bytes())],
        ),
    ];
    for (name, lines) in cases {
        let f = ethernet_pcap(
            dir.path(),
            &format!("{name}.pcap"),
            &synth::control_only(&lines),
        );
        let (events, code) = inspect(&f, &[]);
        assert!(
            !of_kind(&events, "warning").is_empty(),
            "{name}: {events:?}"
        );
        assert_eq!(code, 1, "{name}");
    }
    // A gap in the control connection: the client's first line is lost.
    let mut packets = synth::control_only(&[
        (false, b"220 hi\r\n"),
        (true, b"USER alice\r\n"),
        (true, b"SYST\r\n"),
        (false, b"215 UNIX\r\n"),
    ]);
    let lost = packets
        .iter()
        .position(|p| p.windows(5).any(|w| w == b"USER "))
        .unwrap();
    packets.remove(lost);
    let f = ethernet_pcap(dir.path(), "gap.pcap", &packets);
    let (events, code) = inspect(&f, &[]);
    assert!(!of_kind(&events, "warning").is_empty(), "gap: {events:?}");
    assert_eq!(code, 1, "gap");
}

/// Every file and folder under `dir`, relative, sorted.
fn tree(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.strip_prefix(dir).unwrap().display().to_string();
        if path.is_dir() {
            found.extend(tree(&path).into_iter().map(|n| format!("{name}/{n}")));
        }
        found.push(name);
    }
    found.sort();
    found
}

#[test]
fn extract_leaves_only_finished_files_and_writes_nothing_outside_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let f = ethernet_pcap(dir.path(), "hazards.pcap", &synth::extract_hazards());
    let cwd = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let out = Command::new(INSPECTOR)
        .current_dir(cwd.path())
        .args(["read", "--json", "--extract"])
        .arg(&out_dir)
        .arg(&f)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        tree(cwd.path()),
        Vec::<String>::new(),
        "nothing outside DIR"
    );
    let events: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut extracted: Vec<String> = of_kind(&events, "transfer")
        .iter()
        .filter_map(|t| t["extracted"].as_str().map(str::to_owned))
        .collect();
    extracted.sort();
    assert_eq!(
        tree(&out_dir),
        extracted,
        "only the finished files: {stdout}"
    );
}
