//! The inspector against tshark, the reference reader, on every capture shipped in `captures/`
//! (not `captures/broken/`): `inspector frame --all --json` gives the same header fields as
//! `tshark -T fields` for every frame, and every display filter the inspector prints selects,
//! in tshark, exactly the frames its event names. Skipped, saying so, without tshark.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const INSPECTOR: &str = env!("CARGO_BIN_EXE_inspector");

fn shipped_captures() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../captures");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("captures/ is readable")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.contains(".pcap"))
        })
        .collect();
    files.sort();
    assert!(files.len() >= 3, "shipped captures: {files:?}");
    files
}

fn have_tshark() -> bool {
    let ok = Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("SKIPPED: tshark is not installed (apt-get install tshark); nothing compared");
    }
    ok
}

/// Runs tshark with `args` on `file` and returns one row of tab-separated fields per frame.
fn tshark_fields(file: &Path, extra: &[String], fields: &[&str]) -> Vec<Vec<String>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(file).args(extra);
    cmd.args(["-T", "fields", "-E", "separator=/t", "-E", "occurrence=a"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().expect("run tshark");
    assert!(
        out.status.success(),
        "tshark on {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

/// A number as tshark prints it: decimal or `0x…`; empty is `None`.
fn num(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

fn our_frames(file: &Path) -> Vec<Value> {
    let out = Command::new(INSPECTOR)
        .args(["frame", "--all", "--json"])
        .arg(file)
        .output()
        .expect("run inspector frame");
    assert!(
        out.status.success(),
        "inspector frame --all on {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

/// `-d tcp.port==P,ftp` for every FTP server port that is not 21, as our frames name them.
fn decode_as(frames: &[Value]) -> Vec<String> {
    let mut ports: Vec<u64> = frames
        .iter()
        .filter(|f| f["payload"]["type"] == "ftp")
        .filter_map(|f| f["payload"]["server_port"].as_u64())
        .filter(|&p| p != 21)
        .collect();
    ports.sort_unstable();
    ports.dedup();
    ports
        .iter()
        .flat_map(|p| ["-d".to_owned(), format!("tcp.port=={p},ftp")])
        .collect()
}

const FIELDS: &[&str] = &[
    "frame.number",
    "frame.len",
    "frame.cap_len",
    "frame.time_epoch",
    "eth.src",
    "eth.dst",
    "eth.type",
    "sll.etype",
    "sll.pkttype",
    "sll.hatype",
    "ip.src",
    "ip.dst",
    "ip.ttl",
    "ip.id",
    "ip.flags",
    "ip.hdr_len",
    "ip.len",
    "ip.proto",
    "ip.checksum",
    "ipv6.src",
    "ipv6.dst",
    "ipv6.hlim",
    "ipv6.plen",
    "ipv6.nxt",
    "ipv6.flow",
    "tcp.srcport",
    "tcp.dstport",
    "tcp.stream",
    "tcp.seq",
    "tcp.seq_raw",
    "tcp.ack",
    "tcp.ack_raw",
    "tcp.flags",
    "tcp.window_size_value",
    "tcp.len",
    "tcp.hdr_len",
    "tcp.checksum",
    "tcp.urgent_pointer",
    "tcp.option_kind",
    "tcp.options.mss_val",
    "tcp.options.wscale.shift",
    "tcp.options.timestamp.tsval",
    "tcp.options.timestamp.tsecr",
    "udp.srcport",
    "udp.dstport",
    "udp.length",
    "ftp.request.command",
    "ftp.request.arg",
    "ftp.response.code",
];

/// What we say for one tshark field of one frame, formatted as tshark formats it.
fn ours(f: &Value, field: &str) -> String {
    let s = |v: &Value| match v {
        Value::Null => String::new(),
        Value::String(x) => x.clone(),
        other => other.to_string(),
    };
    let link = &f["link"];
    let ip = &f["ipv4"];
    let ip6 = &f["ipv6"];
    let tcp = &f["tcp"];
    let udp = &f["udp"];
    let options = tcp["options"].as_array().cloned().unwrap_or_default();
    let option = |kind: &str, key: &str| -> String {
        options
            .iter()
            .filter(|o| o["kind"] == kind)
            .map(|o| s(&o[key]))
            .collect::<Vec<_>>()
            .join(",")
    };
    let ftp_lines: Vec<Value> = if f["payload"]["type"] == "ftp" {
        f["payload"]["lines"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    // tshark's FTP dissector reads the segment's first line as the command or reply.
    let first_line = ftp_lines.first().cloned().unwrap_or(Value::Null);
    match field {
        "frame.number" => s(&f["frame"]),
        "frame.len" => s(&f["len"]),
        "frame.cap_len" => s(&f["cap_len"]),
        "frame.time_epoch" => s(&f["time_epoch"]),
        "eth.src" if link["type"] == "ethernet" => s(&link["src"]),
        "eth.dst" if link["type"] == "ethernet" => s(&link["dst"]),
        "eth.type" if link["type"] == "ethernet" => s(&link["ether_type"]),
        "sll.etype" => s(&link["protocol"]),
        "sll.pkttype" => s(&link["packet_type"]),
        "sll.hatype" => s(&link["arphrd"]),
        "ip.src" => s(&ip["src"]),
        "ip.dst" => s(&ip["dst"]),
        "ip.ttl" => s(&ip["ttl"]),
        "ip.id" => s(&ip["id"]),
        "ip.flags" => s(&ip["flags"]),
        "ip.hdr_len" => s(&ip["header_len"]),
        "ip.len" => s(&ip["total_len"]),
        "ip.proto" => s(&ip["protocol"]),
        "ip.checksum" => s(&ip["checksum"]),
        "ipv6.src" => s(&ip6["src"]),
        "ipv6.dst" => s(&ip6["dst"]),
        "ipv6.hlim" => s(&ip6["hop_limit"]),
        "ipv6.plen" => s(&ip6["payload_len"]),
        "ipv6.nxt" => s(&ip6["next_header"]),
        "ipv6.flow" => s(&ip6["flow_label"]),
        "tcp.srcport" => s(&tcp["src_port"]),
        "tcp.dstport" => s(&tcp["dst_port"]),
        "tcp.stream" => s(&tcp["stream"]),
        "tcp.seq" => s(&tcp["seq"]),
        "tcp.seq_raw" => s(&tcp["seq_raw"]),
        "tcp.ack" => s(&tcp["ack"]),
        "tcp.ack_raw" => s(&tcp["ack_raw"]),
        "tcp.flags" => s(&tcp["flags"]),
        "tcp.window_size_value" => s(&tcp["window"]),
        "tcp.len" => s(&tcp["len"]),
        "tcp.hdr_len" => s(&tcp["header_len"]),
        "tcp.checksum" => s(&tcp["checksum"]),
        "tcp.urgent_pointer" => s(&tcp["urgent_pointer"]),
        "tcp.option_kind" => options
            .iter()
            .map(|o| {
                match o["kind"].as_str().unwrap_or_default() {
                    "nop" => "1",
                    "mss" => "2",
                    "window_scale" => "3",
                    "sack_perm" => "4",
                    "sack" => "5",
                    "timestamps" => "8",
                    _ => "?",
                }
                .to_owned()
            })
            .collect::<Vec<_>>()
            .join(","),
        "tcp.options.mss_val" => option("mss", "value"),
        "tcp.options.wscale.shift" => option("window_scale", "shift"),
        "tcp.options.timestamp.tsval" => option("timestamps", "tsval"),
        "tcp.options.timestamp.tsecr" => option("timestamps", "tsecr"),
        "udp.srcport" => s(&udp["src_port"]),
        "udp.dstport" => s(&udp["dst_port"]),
        "udp.length" => s(&udp["length"]),
        "ftp.request.command" => s(&first_line["command"]),
        "ftp.request.arg" => s(&first_line["arg"]),
        "ftp.response.code" => s(&first_line["code"]),
        _ => String::new(),
    }
}

/// Equal as tshark means it: numbers whatever their base, text as text.
fn same(theirs: &str, ours: &str) -> bool {
    if theirs == ours {
        return true;
    }
    let split = |x: &str| -> Vec<Option<u64>> { x.split(',').map(num).collect() };
    let (t, o) = (split(theirs), split(ours));
    t.iter().all(Option::is_some) && t == o
}

#[test]
fn frame_fields_agree_with_tshark_on_every_frame_of_every_shipped_capture() {
    if !have_tshark() {
        return;
    }
    let mut compared = 0;
    for file in shipped_captures() {
        let frames = our_frames(&file);
        let rows = tshark_fields(&file, &decode_as(&frames), FIELDS);
        assert_eq!(
            frames.len(),
            rows.len(),
            "{}: frame count differs from tshark's",
            file.display()
        );
        let mut mismatches = Vec::new();
        for (f, row) in frames.iter().zip(&rows) {
            // An ICMP error quotes the IP and UDP/TCP headers of the packet it is about;
            // tshark gives those as second occurrences. The view shows the outer packet.
            let icmp = f["ipv4"]["protocol"] == 1 || f["ipv6"]["next_header"] == 58;
            for (field, theirs) in FIELDS.iter().zip(row) {
                let theirs = match (icmp, field.split('.').next()) {
                    (true, Some("ip" | "ipv6")) => theirs.split(',').next().unwrap_or_default(),
                    (true, Some("udp" | "tcp" | "ftp")) => continue,
                    _ => theirs.as_str(),
                };
                let mine = ours(f, field);
                if !same(theirs, &mine) {
                    mismatches.push(format!(
                        "frame {}: {field}: tshark {theirs:?}, inspector {mine:?}",
                        f["frame"]
                    ));
                }
                compared += 1;
            }
        }
        assert!(
            mismatches.is_empty(),
            "{}: {} field(s) differ from tshark:\n{}",
            file.display(),
            mismatches.len(),
            mismatches
                .iter()
                .take(40)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    assert!(compared > 10_000, "only {compared} fields compared");
}

/// Every `filter` in `inspector read --json` output for `file`, with the frames its event
/// names: a credential's `frames`, a finding's `frames`.
fn printed_filters(file: &Path) -> Vec<(String, Vec<u64>)> {
    let out = Command::new(INSPECTOR)
        .args(["read", "--json"])
        .arg(file)
        .output()
        .expect("run inspector read");
    let mut filters = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: Value = serde_json::from_str(line).expect("JSON line");
        if let Some(filter) = v["filter"].as_str() {
            let frames: Vec<u64> = v["frames"]
                .as_array()
                .expect("an event with a filter names its frames")
                .iter()
                .filter_map(Value::as_u64)
                .collect();
            filters.push((filter.to_owned(), frames));
        }
    }
    filters
}

/// Runs each filter through `tshark -Y` and checks it selects exactly its frames.
pub fn check_filters_in_tshark(file: &Path, filters: &[(String, Vec<u64>)]) {
    // One tshark run for all: each filter's frames are tagged with its index.
    let mut by_filter: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for (filter, frames) in filters {
        by_filter.insert(filter, frames.clone());
    }
    for (filter, frames) in by_filter {
        let out = Command::new("tshark")
            .arg("-r")
            .arg(file)
            .args(["-Y", filter, "-T", "fields", "-e", "frame.number"])
            .output()
            .expect("run tshark -Y");
        assert!(
            out.status.success(),
            "tshark rejects the filter {filter:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let selected: Vec<u64> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect();
        let mut wanted = frames.clone();
        wanted.sort_unstable();
        wanted.dedup();
        assert_eq!(
            selected,
            wanted,
            "{}: tshark -Y {filter:?} selects other frames than the event names",
            file.display()
        );
    }
}

#[test]
fn every_printed_filter_selects_exactly_its_frames_in_tshark() {
    if !have_tshark() {
        return;
    }
    let mut checked = 0;
    for file in shipped_captures() {
        let filters = printed_filters(&file);
        checked += filters.len();
        check_filters_in_tshark(&file, &filters);
    }
    assert!(checked >= 20, "only {checked} filters checked");
}

#[test]
fn frame_out_of_range_names_the_number_of_frames() {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../captures/lab1.pcapng");
    let out = Command::new(INSPECTOR)
        .args(["frame"])
        .arg(&file)
        .arg("100000")
        .output()
        .expect("run inspector frame");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let frames = our_frames(&file).len();
    assert!(
        err.contains(&format!("the capture has {frames} frames")),
        "{err}"
    );
}

#[test]
fn frame_of_a_truncated_capture_says_which_frames_can_be_shown() {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../captures/broken/truncated.pcap");
    let out = Command::new(INSPECTOR)
        .args(["frame"])
        .arg(&file)
        .arg("1000")
        .output()
        .expect("run inspector frame");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("capture ends in the middle") && err.contains("frames 1 to"),
        "{err}"
    );
    let shown = Command::new(INSPECTOR)
        .args(["frame"])
        .arg(&file)
        .arg("3")
        .output()
        .expect("run inspector frame");
    assert!(shown.status.success());
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(text.starts_with("Frame 3: "), "{text}");
    assert!(text.contains("Transmission Control Protocol"), "{text}");
}
