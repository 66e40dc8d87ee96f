//! Helpers for tests that make their own captures: FTP servers on a loopback address of their
//! own, tcpdump recording only that address, real clients, the inspector's JSON and tshark.
#![allow(
    dead_code,
    reason = "each test file uses a different subset of these helpers"
)]

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};
#[allow(unused_imports, reason = "each test file uses a different subset")]
pub use testkit::files::{random_file, sha256_hex as sha256};
use testkit::ftp_server::{FtpServerProcess, ServeOptions};
use testkit::peers::{Peer, Pyftpdlib, Vsftpd, VsftpdAccess};
#[allow(unused_imports, reason = "each test file uses a different subset")]
pub use testkit::process::run;
use testkit::spawn::collect;

/// The inspector binary built for this test run.
pub const INSPECTOR: &str = env!("CARGO_BIN_EXE_inspector");

const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A loopback address of the test's own (127.x.y.z), so its capture filter sees only its traffic
/// even while other tests and benchmarks use 127.0.0.1.
pub fn own_loopback() -> IpAddr {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let pid = std::process::id();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    IpAddr::from([
        127,
        (100 + pid % 100) as u8,
        (n % 250 + 1) as u8,
        (nanos % 250 + 2) as u8,
    ])
}

/// Sends SIGINT (tcpdump writes its last packets and statistics on it).
fn interrupt(child: &Child) {
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
}

/// tcpdump recording to a file until [`Sniffer::stop`].
pub struct Sniffer {
    child: Child,
    /// Where the capture goes.
    pub path: PathBuf,
    stderr: Arc<Mutex<String>>,
}

impl Sniffer {
    /// Starts `tcpdump -i IFACE -U -w PATH EXTRA… FILTER` and waits until it is listening.
    pub fn start(path: &Path, iface: &str, extra: &[&str], filter: &str) -> Sniffer {
        let mut child = Command::new("nice")
            .args([
                "-n", "19", "tcpdump", "-i", iface, "-U", "-B", "131072", "-w",
            ])
            .arg(path)
            .args(extra)
            .arg(filter)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("tcpdump is needed to record test traffic: install the tcpdump package");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        collect(
            child.stderr.take().expect("piped"),
            stderr.clone(),
            Some(tx),
        );
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) if line.contains("listening on") => break,
                Ok(_) => {}
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "tcpdump could not capture on {iface}: this test records loopback traffic \
                         and needs root (or CAP_NET_RAW for tcpdump).\n--- tcpdump said ---\n{}",
                        stderr.lock().map(|s| s.clone()).unwrap_or_default()
                    );
                }
            }
        }
        Sniffer {
            child,
            path: path.to_owned(),
            stderr,
        }
    }

    /// Makes sure tcpdump has written everything, stops it with SIGINT and waits for it.
    ///
    /// tcpdump runs niced and may lag far behind the traffic; packets still queued when SIGINT
    /// arrives are lost. So a marker datagram is sent to `marker_to` (which the filter must
    /// match) and we wait until it is in the file: tcpdump handles packets in order.
    pub fn stop(mut self, marker_to: IpAddr) -> PathBuf {
        let marker = format!("ftplab-end-of-capture-{}", std::process::id());
        let sock = std::net::UdpSocket::bind(SocketAddr::new(
            if marker_to.is_ipv4() {
                IpAddr::from([127, 0, 0, 1])
            } else {
                "::1".parse().expect("::1")
            },
            0,
        ))
        .expect("bind marker socket");
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut found = false;
        while Instant::now() < deadline {
            let _ = sock.send_to(marker.as_bytes(), SocketAddr::new(marker_to, 9));
            thread::sleep(Duration::from_millis(200));
            let bytes = fs::read(&self.path).unwrap_or_default();
            if bytes.windows(marker.len()).any(|w| w == marker.as_bytes()) {
                found = true;
                break;
            }
        }
        assert!(
            found,
            "tcpdump did not write the end-of-capture marker within 60 s"
        );
        interrupt(&self.child);
        let status = self.child.wait().expect("wait for tcpdump");
        thread::sleep(Duration::from_millis(50));
        let said = self.stderr.lock().map(|s| s.clone()).unwrap_or_default();
        let dropped = said
            .lines()
            .filter_map(|l| l.strip_suffix(" packets dropped by kernel"))
            .any(|n| n.trim() != "0");
        assert!(!dropped, "tcpdump dropped packets ({status}):\n{said}");
        // For debugging: KEEP_CAPTURES=DIR keeps a copy of every capture a test made.
        if let Some(dir) = std::env::var_os("KEEP_CAPTURES")
            && let Some(name) = self.path.file_name()
        {
            let _ = fs::copy(&self.path, Path::new(&dir).join(name));
        }
        self.path.clone()
    }
}

impl Drop for Sniffer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The process behind an [`FtpServer`], killed on drop.
enum Process {
    Ours(FtpServerProcess),
    Other(Peer),
}

/// A running FTP server (ours, pyftpdlib or vsftpd), killed on drop.
pub struct FtpServer {
    /// The control address.
    pub addr: SocketAddr,
    /// The folder served to the test user.
    pub root: PathBuf,
    process: Process,
}

impl FtpServer {
    /// The control port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// What the server printed so far.
    pub fn output(&self) -> String {
        match &self.process {
            Process::Ours(server) => server.output(),
            Process::Other(peer) => peer.output(),
        }
    }
}

/// Our `ftp-server` on `ip`, port 0, demo users user1..user4 / pass1..pass4; root is user1's.
pub fn start_our_server(ip: IpAddr) -> FtpServer {
    let listen = SocketAddr::new(ip, 0).to_string();
    let options = ServeOptions {
        listen: Some(&listen),
        ..ServeOptions::default()
    };
    let server = FtpServerProcess::start(&testkit::workspace_bin("ftp-server"), options);
    FtpServer {
        addr: server.addr,
        root: server.root(1),
        process: Process::Ours(server),
    }
}

/// pyftpdlib on `ip`, user `alice` / `secret` with full rights in the root, anonymous too;
/// its banner names no version.
pub fn start_pyftpdlib(ip: IpAddr) -> FtpServer {
    let peer = Pyftpdlib {
        ip,
        user: "alice".into(),
        password: "secret".into(),
        anonymous: true,
        banner: Some("pyftpdlib ready.".into()),
        ..Pyftpdlib::default()
    }
    .start();
    FtpServer {
        addr: peer.addr,
        root: peer.root.clone(),
        process: Process::Other(peer),
    }
}

/// vsftpd on `ip` (IPv4), anonymous read-only from its root; its banner names a version.
pub fn start_vsftpd(ip: IpAddr) -> FtpServer {
    let peer = Vsftpd {
        ip,
        access: VsftpdAccess::ReadOnly,
        banner: Some("(vsFTPd 3.0.3)".into()),
    }
    .start();
    FtpServer {
        addr: peer.addr,
        root: peer.root.clone(),
        process: Process::Other(peer),
    }
}

/// Fails with the client's output unless it succeeded.
pub fn assert_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `inspector read --json` (plus `args`) on a capture; returns the events and exit code.
pub fn inspect(pcap: &Path, args: &[&str]) -> (Vec<Value>, i32) {
    let out = Command::new(INSPECTOR)
        .args(["read", "--json"])
        .args(args)
        .arg(pcap)
        .output()
        .expect("run inspector");
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "inspector failed ({code}): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    (events, code)
}

/// `curl -sS --max-time 60 ARGS`, output collected.
pub fn curl(args: &[&str]) -> Output {
    run(Command::new("curl")
        .args(["-sS", "--max-time", "60"])
        .args(args))
}

/// The events of an analysis as `inspector read --json` prints them.
pub fn json_events(analysis: &inspector::Analysis) -> Vec<Value> {
    let mut out = Vec::new();
    inspector::report::json::write(&mut out, analysis, None).expect("write JSON");
    String::from_utf8_lossy(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

/// Events of one kind.
pub fn of_kind<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["kind"] == kind).collect()
}

/// (user, password, accepted) of every credential event.
pub fn credentials(events: &[Value]) -> Vec<(String, String, Value)> {
    of_kind(events, "credential")
        .into_iter()
        .map(|c| {
            (
                c["user"].as_str().unwrap_or_default().to_owned(),
                c["password"].as_str().unwrap_or_default().to_owned(),
                c["accepted"].clone(),
            )
        })
        .collect()
}

/// The verbs of every command event, in order.
pub fn verbs(events: &[Value]) -> Vec<String> {
    of_kind(events, "command")
        .into_iter()
        .map(|c| c["command"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The sha256 of every transfer that has one.
pub fn transfer_hashes(events: &[Value]) -> BTreeSet<String> {
    of_kind(events, "transfer")
        .into_iter()
        .filter_map(|t| t["sha256"].as_str().map(str::to_owned))
        .collect()
}

/// Every display filter in `events` (credentials, findings), run through `tshark -Y`, selects
/// exactly the frames its event names (`frames`). Returns how many filters were checked.
pub fn filters_select_their_frames(pcap: &Path, events: &[Value]) -> usize {
    let mut filters: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for e in events {
        if let Some(filter) = e["filter"].as_str() {
            let mut frames: Vec<u64> = e["frames"]
                .as_array()
                .unwrap_or_else(|| panic!("an event with a filter names its frames: {e}"))
                .iter()
                .filter_map(Value::as_u64)
                .collect();
            frames.sort_unstable();
            frames.dedup();
            filters.insert(filter.to_owned(), frames);
        }
    }
    for (filter, frames) in &filters {
        let out = Command::new("tshark")
            .arg("-r")
            .arg(pcap)
            .args(["-Y", filter, "-T", "fields", "-e", "frame.number"])
            .output()
            .expect("tshark is needed to check the inspector: apt-get install tshark");
        assert_ok(&out, &format!("tshark -Y {filter:?}"));
        let selected: Vec<u64> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect();
        assert_eq!(
            &selected, frames,
            "tshark -Y {filter:?} selects other frames than the event names"
        );
    }
    filters.len()
}

/// Checks the inspector against tshark on the same capture: every USER/PASS (frame and
/// argument) and every reply code (frame) tshark shows is in our JSON, every file tshark
/// exports has a transfer with the same sha256, every filter the inspector prints selects its
/// frames, and `inspector frame` gives tshark's header fields for every frame. Returns how
/// many files tshark exported.
pub fn agree_with_tshark(pcap: &Path, port: u16, events: &[Value]) -> usize {
    assert!(
        filters_select_their_frames(pcap, events) > 0,
        "the inspector printed no filter at all"
    );
    frames_agree_with_tshark(pcap);
    let decode = format!("tcp.port=={port},ftp");
    let out = Command::new("tshark")
        .args(["-r"])
        .arg(pcap)
        .args([
            "-d",
            &decode,
            "-Y",
            "ftp",
            "-T",
            "fields",
            "-E",
            "separator=\t",
            "-E",
            "occurrence=a",
            "-E",
            "aggregator=|",
        ])
        .args([
            "-e",
            "frame.number",
            "-e",
            "ftp.request.command",
            "-e",
            "ftp.request.arg",
            "-e",
            "ftp.response.code",
        ])
        .output()
        .expect("tshark is needed to check the inspector: apt-get install tshark");
    assert_ok(&out, "tshark -Y ftp");
    let mut ours_cmd: BTreeMap<u64, Vec<(String, String)>> = BTreeMap::new();
    for c in of_kind(events, "command") {
        ours_cmd
            .entry(c["frame"].as_u64().unwrap_or(0))
            .or_default()
            .push((
                c["command"].as_str().unwrap_or_default().to_owned(),
                c["arg"].as_str().unwrap_or_default().to_owned(),
            ));
    }
    let mut ours_codes: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
    for r in of_kind(events, "reply") {
        ours_codes
            .entry(r["frame"].as_u64().unwrap_or(0))
            .or_default()
            .insert(r["code"].as_u64().unwrap_or(0));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut checked = 0;
    for line in text.lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        let frame: u64 = cols.first().and_then(|f| f.parse().ok()).unwrap_or(0);
        let command = cols.get(1).copied().unwrap_or_default();
        let arg = cols.get(2).copied().unwrap_or_default();
        let codes = cols.get(3).copied().unwrap_or_default();
        if command.eq_ignore_ascii_case("USER") || command.eq_ignore_ascii_case("PASS") {
            let ours = ours_cmd.get(&frame).cloned().unwrap_or_default();
            assert!(
                ours.iter()
                    .any(|(v, a)| v.eq_ignore_ascii_case(command) && a == arg),
                "tshark shows {command} {arg:?} in frame {frame}; the inspector has {ours:?} there"
            );
            checked += 1;
        }
        for code in codes.split('|').filter(|c| !c.is_empty()) {
            let code: u64 = code.parse().unwrap_or(0);
            // tshark also gives continuation lines of a multi-line reply a code; we report the
            // reply once, at its last line: accept the code anywhere in that reply's frame range.
            let near = ours_codes
                .range(frame..)
                .next()
                .is_some_and(|(_, set)| set.contains(&code));
            assert!(
                near,
                "tshark shows reply code {code} in frame {frame}; the inspector does not ({ours_codes:?})"
            );
            checked += 1;
        }
    }
    assert!(
        checked > 0,
        "tshark found no FTP at all in {}",
        pcap.display()
    );

    let objects = tempfile::tempdir().expect("temp dir");
    let export = format!("ftp-data,{}", objects.path().display());
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .args(["-d", &decode, "-q", "--export-objects", &export])
        .output()
        .expect("tshark export");
    assert_ok(&out, "tshark --export-objects ftp-data");
    let ours = transfer_hashes(events);
    let mut exported = 0;
    for entry in fs::read_dir(objects.path())
        .expect("read export dir")
        .flatten()
    {
        let bytes = fs::read(entry.path()).expect("read exported object");
        let hash = sha256(&bytes);
        // tshark exports whatever bytes it saw of a transfer cut off midway; the inspector does
        // not hash a file it knows is missing bytes (a trailing gap, when ACKs or the FIN prove
        // more was sent), so such an object matches an incomplete transfer of the same size.
        let cut_off = events.iter().any(|e| {
            e["kind"] == "transfer"
                && e["complete"] == false
                && e["bytes"].as_u64() == Some(bytes.len() as u64)
        });
        // A download the client reset: segments the server sent before it learned of the RST
        // can appear after the RST in the capture. tshark exports them with the object; the
        // inspector ends the transfer at the RST. Then our reset transfer is a prefix of
        // tshark's object, byte for byte.
        let reset_prefix = events.iter().any(|e| {
            e["kind"] == "transfer"
                && e["complete"] == false
                && e["incomplete_reason"]
                    .as_str()
                    .is_some_and(|r| r.contains("data connection reset"))
                && e["bytes"]
                    .as_u64()
                    .and_then(|n| bytes.get(..usize::try_from(n).ok()?))
                    .is_some_and(|prefix| e["sha256"] == sha256(prefix).as_str())
        });
        assert!(
            ours.contains(&hash) || cut_off || reset_prefix,
            "tshark exported {:?} ({} bytes, sha256 {hash}) and the inspector has no transfer with \
             that sha256: {ours:?}",
            entry.file_name(),
            bytes.len()
        );
        exported += 1;
    }
    exported
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

pub fn our_frames(file: &Path) -> Vec<Value> {
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

pub const FIELDS: &[&str] = &[
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
    "icmp.type",
    "icmp.code",
    "icmpv6.type",
    "icmpv6.code",
    "arp.opcode",
    "arp.src.hw_mac",
    "arp.src.proto_ipv4",
    "arp.dst.hw_mac",
    "arp.dst.proto_ipv4",
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
        "icmp.type" if f["icmp"]["version"] == 4 => s(&f["icmp"]["type"]),
        "icmp.code" if f["icmp"]["version"] == 4 => s(&f["icmp"]["code"]),
        "icmpv6.type" if f["icmp"]["version"] == 6 => s(&f["icmp"]["type"]),
        "icmpv6.code" if f["icmp"]["version"] == 6 => s(&f["icmp"]["code"]),
        "arp.opcode" => s(&f["arp"]["opcode"]),
        "arp.src.hw_mac" => s(&f["arp"]["sender_mac"]),
        "arp.src.proto_ipv4" => s(&f["arp"]["sender_ip"]),
        "arp.dst.hw_mac" => s(&f["arp"]["target_mac"]),
        "arp.dst.proto_ipv4" => s(&f["arp"]["target_ip"]),
        "ftp.request.command" => s(&first_line["command"]),
        "ftp.request.arg" => s(&first_line["arg"]),
        "ftp.response.code" => s(&first_line["code"]),
        _ => String::new(),
    }
}

/// A JSON number or text as tshark prints it.
fn s_of(v: &Value) -> String {
    match v {
        Value::String(x) => x.clone(),
        other => other.to_string(),
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

/// `inspector frame --all --json` on `file` agrees with `tshark -T fields` on every field of
/// [`FIELDS`] of every frame (FTP fields with Decode As for the servers not on port 21).
/// Returns how many fields were compared.
pub fn frames_agree_with_tshark(file: &Path) -> usize {
    let frames = our_frames(file);
    // A port a client once listened on for an active-mode data connection may come back as the
    // source port of a later control connection; tshark's ftp-data conversation (server: any
    // port, client: that port) then claims the control frames and Decode As never applies.
    // The view names FTP lines by connection, not by port: compare with FTP as Decode As says.
    let mut extra = decode_as(&frames);
    extra.extend(["--disable-protocol".to_owned(), "ftp-data".to_owned()]);
    let rows = tshark_fields(file, &extra, FIELDS);
    // tshark does not hand a segment whose bytes it has dissected already (a retransmission,
    // or the copy a host in the middle sends on) to FTP again; the view shows its lines.
    let mut again = extra.clone();
    again.extend([
        "-Y".to_owned(),
        "tcp.analysis.retransmission || tcp.analysis.spurious_retransmission \
         || tcp.analysis.fast_retransmission"
            .to_owned(),
    ]);
    let resent: BTreeSet<String> = tshark_fields(file, &again, &["frame.number"])
        .into_iter()
        .filter_map(|row| row.into_iter().next())
        .collect();
    assert_eq!(
        frames.len(),
        rows.len(),
        "{}: frame count differs from tshark's",
        file.display()
    );
    let mut compared = 0;
    let mut mismatches = Vec::new();
    for (f, row) in frames.iter().zip(&rows) {
        // An ICMP error quotes the IP and UDP/TCP headers of the packet it is about; tshark
        // gives those as second occurrences. The view shows the outer packet.
        let icmp = f["ipv4"]["protocol"] == 1 || f["ipv6"]["next_header"] == 58;
        let resent = resent.contains(&s_of(&f["frame"]));
        for (field, theirs) in FIELDS.iter().zip(row) {
            if resent && field.starts_with("ftp.") {
                continue;
            }
            let theirs = match (icmp, field.split('.').next()) {
                (true, Some("ip" | "ipv6")) => theirs.split(',').next().unwrap_or_default(),
                (true, Some("udp" | "tcp" | "ftp")) => continue,
                (true, Some("icmp" | "icmpv6")) => theirs.split(',').next().unwrap_or_default(),
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
    compared
}
