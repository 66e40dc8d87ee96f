//! Live capture on loopback: our server driven by curl in passive and active mode
//! while a [`LiveSource`] feeds the same pipeline as `inspector read`, and writes a pcapng that
//! `inspector read` and tshark read back. Needs CAP_NET_RAW (CI runs as root); without it the
//! tests fail with the privilege message unless `FTPLAB_SKIP_LIVE=1`.

mod common;

use common::*;
use inspector::source::{LiveConfig, LiveError, LiveSource, LiveStats, PacketSource};
use inspector::{Analysis, Options};
use serde_json::Value;
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;

/// Opens a live capture on `lo`, or returns `None` when it may not and `FTPLAB_SKIP_LIVE=1`.
fn open_live(ports: &[u16]) -> Option<LiveSource> {
    let config = LiveConfig {
        ports: ports.to_vec(),
        ..LiveConfig::default()
    };
    match LiveSource::open(&config) {
        Ok(live) => Some(live),
        Err(e @ LiveError::NoPrivilege { .. }) => {
            testkit::guard::missing(testkit::guard::SKIP_LIVE, &e.to_string());
            None
        }
        Err(e) => panic!("{e}"),
    }
}

/// What a captured session must show.
struct Expected {
    /// sha256 of every file sent, by name.
    files: Vec<(&'static str, String)>,
    /// Successful logins with user1/pass1.
    logins: usize,
}

fn check_events(events: &[Value], expected: &Expected, what: &str) {
    let creds = credentials(events);
    assert_eq!(
        creds
            .iter()
            .filter(|c| c.0 == "user1" && c.1 == "pass1" && c.2 == Value::Bool(true))
            .count(),
        expected.logins,
        "{what}: credentials {creds:?}"
    );
    let verbs = verbs(events);
    for v in ["USER", "PASS", "EPSV", "EPRT", "RETR", "STOR", "QUIT"] {
        assert!(
            verbs.iter().any(|x| x == v),
            "{what}: {v} missing from {verbs:?}"
        );
    }
    // Each packet once: as many USER commands as logins, not twice as many.
    assert_eq!(
        verbs.iter().filter(|v| *v == "USER").count(),
        expected.logins,
        "{what}: {verbs:?}"
    );
    for (name, sha) in &expected.files {
        let t = of_kind(events, "transfer")
            .into_iter()
            .find(|t| t["name"] == *name)
            .unwrap_or_else(|| panic!("{what}: no transfer of {name}"));
        assert_eq!(t["sha256"], sha.as_str(), "{what}: {t}");
        assert_eq!(t["complete"], true, "{what}: {t}");
    }
}

/// `tshark -r FILE -d tcp.port==PORT,ftp -Y ftp`: the USER and PASS arguments it shows.
fn tshark_logins(pcap: &Path, port: u16) -> Vec<(String, String)> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .args(["-d", &format!("tcp.port=={port},ftp"), "-Y", "ftp"])
        .args([
            "-T",
            "fields",
            "-e",
            "ftp.request.command",
            "-e",
            "ftp.request.arg",
        ])
        .output()
        .expect("tshark is needed: apt-get install tshark");
    assert_ok(&out, "tshark -Y ftp");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .filter(|(c, _)| *c == "USER" || *c == "PASS")
        .map(|(c, a)| (c.to_owned(), a.to_owned()))
        .collect()
}

/// Frames of a pcapng, in order.
fn frames_of(pcap: &Path) -> Vec<Vec<u8>> {
    let mut source = inspector::source::open_file(pcap).expect("open the written capture");
    let mut frames = Vec::new();
    while let Some(f) = source.next_frame().expect("written capture reads back") {
        frames.push(f.bytes.to_vec());
    }
    frames
}

/// Captures while `drive` runs, then returns the analysis, the counters and the pcapng.
fn capture(
    server_port: u16,
    pcap: &Path,
    drive: impl FnOnce(),
) -> Option<(Analysis, LiveStats, PathBuf)> {
    let mut live = open_live(&[server_port])?;
    live.write_to(pcap).expect("create the pcapng");
    let stop = live.stop_handle();
    let options = Options {
        ports: vec![server_port],
        ..Options::default()
    };
    let capturing = thread::spawn(move || {
        let analysis = inspector::analyze(&mut live, &options);
        (analysis, live.stats())
    });
    drive();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (analysis, stats) = capturing.join().expect("capture thread");
    Some((analysis, stats, pcap.to_owned()))
}

#[test]
fn live_capture_finds_password_commands_and_files_and_writes_a_pcapng_tshark_reads() {
    let ip: IpAddr = own_loopback();
    let server = start_our_server(ip);
    let work = tempfile::tempdir().unwrap();
    let down_p = random_file(&server.root.join("down-passive.bin"), 300_000);
    let down_a = random_file(&server.root.join("down-active.bin"), 120_000);
    let up_p = random_file(&work.path().join("up-passive.bin"), 200_000);
    let up_a = random_file(&work.path().join("up-active.bin"), 90_000);
    let base = format!("ftp://{}", server.addr);
    let pcap = work.path().join("live.pcapng");

    let Some((analysis, stats, pcap)) = capture(server.port(), &pcap, || {
        for (mode, file) in [(None, "up-passive.bin"), (Some("-"), "up-active.bin")] {
            let local = work.path().join(file);
            let mut args = vec!["-u", "user1:pass1", "-T", local.to_str().unwrap()];
            args.extend(mode.map(|m| ["-P", m]).into_iter().flatten());
            let url = format!("{base}/");
            args.push(&url);
            assert_ok(&curl(&args), &format!("curl STOR {file}"));
        }
        for (mode, file) in [(None, "down-passive.bin"), (Some("-"), "down-active.bin")] {
            let url = format!("{base}/{file}");
            let mut args = vec!["-u", "user1:pass1", "-o", "/dev/null"];
            args.extend(mode.map(|m| ["-P", m]).into_iter().flatten());
            args.push(&url);
            assert_ok(&curl(&args), &format!("curl RETR {file}"));
        }
    }) else {
        return;
    };

    let expected = Expected {
        files: vec![
            ("up-passive.bin", up_p),
            ("up-active.bin", up_a),
            ("down-passive.bin", down_p),
            ("down-active.bin", down_a),
        ],
        logins: 4,
    };
    // Live: the pipeline fed by the LiveSource.
    let live_events = json_events(&analysis);
    check_events(&live_events, &expected, "live");
    let modes: BTreeSet<&str> = of_kind(&live_events, "transfer")
        .iter()
        .filter_map(|t| t["mode"].as_str())
        .collect();
    assert_eq!(modes, BTreeSet::from(["active", "passive"]), "{modes:?}");
    assert_eq!(stats.kernel_drops, Some(0), "{stats:?}");
    assert_eq!(stats.frames_at_buffer_limit, 0, "{stats:?}");
    assert!(
        stats.frames_kept > 0 && stats.frames_kept <= stats.frames_seen,
        "{stats:?}"
    );
    assert_eq!(stats.frames_kept, analysis.frames, "{stats:?}");

    // The written pcapng: every kept frame, each packet once (no outgoing copy next to it).
    let frames = frames_of(&pcap);
    assert_eq!(frames.len() as u64, stats.frames_kept);
    let doubled = frames.windows(2).filter(|w| w[0] == w[1]).count();
    assert_eq!(doubled, 0, "loopback packets must be reported once");

    // `inspector read` on it, through the library and through the binary, finds the same.
    let reread = inspector::analyze_file(
        &pcap,
        &Options {
            ports: vec![server.port()],
            ..Options::default()
        },
    )
    .expect("read the written pcapng");
    assert_eq!(reread.skipped, 0);
    check_events(&json_events(&reread), &expected, "inspector::analyze_file");
    let (events, code) = inspect(&pcap, &["--port", &server.port().to_string()]);
    assert_eq!(code, 0, "nothing skipped");
    check_events(&events, &expected, "inspector read");

    // tshark reads the file and shows the same USER/PASS.
    let logins = tshark_logins(&pcap, server.port());
    assert_eq!(
        logins
            .iter()
            .filter(|l| *l == &("USER".into(), "user1".into()))
            .count(),
        4,
        "{logins:?}"
    );
    assert_eq!(
        logins
            .iter()
            .filter(|l| *l == &("PASS".into(), "pass1".into()))
            .count(),
        4,
        "{logins:?}"
    );
    agree_with_tshark(&pcap, server.port(), &events);
}

#[test]
fn unrelated_traffic_is_filtered_out_early() {
    let ip = own_loopback();
    let server = start_our_server(ip);
    let other = start_our_server(ip);
    let work = tempfile::tempdir().unwrap();
    random_file(&other.root.join("noise.bin"), 100_000);
    let pcap = work.path().join("filtered.pcapng");
    let Some((analysis, stats, _)) = capture(server.port(), &pcap, || {
        // Traffic to another server, on a port nobody asked for: not kept.
        let url = format!("ftp://{}/noise.bin", other.addr);
        assert_ok(
            &curl(&["-u", "user1:pass1", "-o", "/dev/null", &url]),
            "curl to the other server",
        );
        let url = format!("ftp://{}/", server.addr);
        assert_ok(&curl(&["-u", "user1:pass1", &url]), "curl LIST");
    }) else {
        return;
    };
    let events = json_events(&analysis);
    let creds = credentials(&events);
    assert_eq!(
        creds,
        vec![("user1".to_owned(), "pass1".to_owned(), Value::Bool(true))]
    );
    assert!(stats.frames_kept < stats.frames_seen, "{stats:?}");
    assert!(
        stats.bytes_seen - stats.bytes_kept >= 100_000,
        "the 100 kB download to the other server was dropped by the filter: {stats:?}"
    );
}

#[test]
fn stop_request_ends_an_idle_capture() {
    let Some(mut live) = open_live(&[]) else {
        return;
    };
    live.stop_handle()
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let started = std::time::Instant::now();
    // Drains whatever is queued, then ends.
    while live.next_frame().expect("frame").is_some() {}
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn a_reader_that_falls_behind_gets_kernel_drops_counted_and_gaps_not_hashes() {
    let ip = own_loopback();
    let server = start_our_server(ip);
    let size = 16 << 20;
    let real = random_file(&server.root.join("big.bin"), size);
    // A tiny receive buffer and nobody reading during the transfer: the kernel must drop.
    let config = LiveConfig {
        ports: vec![server.port()],
        recv_buffer: 64 * 1024,
        ..LiveConfig::default()
    };
    let mut live = match LiveSource::open(&config) {
        Ok(live) => live,
        Err(e @ LiveError::NoPrivilege { .. }) => {
            testkit::guard::missing(testkit::guard::SKIP_LIVE, &e.to_string());
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let url = format!("ftp://{}/big.bin", server.addr);
    assert_ok(
        &curl(&["-u", "user1:pass1", "-o", "/dev/null", &url]),
        "curl RETR",
    );
    live.stop_handle()
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let analysis = inspector::analyze(
        &mut live,
        &Options {
            ports: vec![server.port()],
            ..Options::default()
        },
    );
    let stats = live.stats();
    assert!(stats.kernel_drops.is_some_and(|d| d > 0), "{stats:?}");
    let events = json_events(&analysis);
    for t in of_kind(&events, "transfer") {
        assert_eq!(t["complete"], false, "{t}");
        assert_ne!(t["sha256"], real.as_str(), "{t}");
        assert!(t["bytes"].as_u64().unwrap_or(0) < size as u64, "{t}");
    }
    eprintln!("{stats:?}");
}

/// Run by [`without_cap_net_raw_the_error_says_exactly_what_to_do`] in a child process whose
/// capability bounding set lacks CAP_NET_RAW.
#[test]
#[ignore = "run by without_cap_net_raw_the_error_says_exactly_what_to_do, under setpriv"]
fn child_opening_a_capture_without_cap_net_raw() {
    match LiveSource::open(&LiveConfig::default()) {
        Err(e @ LiveError::NoPrivilege { .. }) => println!("MESSAGE: {e}"),
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("opened a capture without CAP_NET_RAW"),
    }
}

#[test]
fn without_cap_net_raw_the_error_says_exactly_what_to_do() {
    let expected = "inspector needs CAP_NET_RAW to capture: run sudo setcap \
                    cap_net_raw,cap_net_admin+ep $(which inspector), or run it with sudo, or \
                    analyse a saved capture with inspector read FILE";
    match LiveSource::open(&LiveConfig::default()) {
        // Already unprivileged: this process shows the message itself.
        Err(e @ LiveError::NoPrivilege { .. }) => assert_eq!(e.to_string(), expected),
        Err(e) => panic!("{e}"),
        Ok(_) => {
            let out = Command::new("setpriv")
                .arg("--bounding-set=-net_raw")
                .arg(std::env::current_exe().expect("test binary"))
                .args(["--ignored", "--exact", "--nocapture"])
                .arg("child_opening_a_capture_without_cap_net_raw")
                .output()
                .expect("setpriv (util-linux) drops the capability for the child");
            assert_ok(&out, "the unprivileged child");
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                stdout.lines().any(|l| l == format!("MESSAGE: {expected}")),
                "{stdout}"
            );
        }
    }
}

#[test]
fn a_stop_reads_everything_queued_before_it_and_nothing_sent_after() {
    use inspector::frame::{Decoded, decode};
    use std::io::{Read, Write};
    use std::sync::mpsc;

    let ip = own_loopback();
    let listener = std::net::TcpListener::bind((ip, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let Some(mut live) = open_live(&[port]) else {
        return;
    };
    const BEFORE: usize = 8 << 20;
    const AFTER: usize = 1 << 20;
    // The receiving end says when each part has arrived: by then every one of its segments has
    // passed the capture socket (the tap sits before TCP's own delivery).
    let (arrived, wait) = mpsc::channel();
    let receiver = thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 64 * 1024];
        for part in [BEFORE, AFTER] {
            let mut left = part;
            while left > 0 {
                let n = conn.read(&mut buf[..left.min(64 * 1024)]).unwrap();
                assert!(n > 0, "sender closed early");
                left -= n;
            }
            arrived.send(()).unwrap();
        }
    });
    let mut sender = std::net::TcpStream::connect((ip, port)).unwrap();
    sender.write_all(&vec![0xAA; BEFORE]).unwrap();
    wait.recv().unwrap();
    // Nothing has been read from the capture yet: the 8 MiB wait in the kernel's queue.
    live.stop_handle()
        .store(true, std::sync::atomic::Ordering::Relaxed);
    // The stop takes effect at the next read; traffic after it must not be captured.
    let first = live.next_frame().expect("frame").map(|f| f.bytes.to_vec());
    sender.write_all(&vec![0x55; AFTER]).unwrap();
    wait.recv().unwrap();
    receiver.join().unwrap();

    let started = std::time::Instant::now();
    // Stream ranges of the 0xAA bytes by sequence number: a retransmission (loopback retransmits
    // too when the machine is busy) carries the same bytes again and must count once.
    let mut before_ranges: Vec<(u32, u32)> = Vec::new();
    let mut after = 0usize;
    let mut count = |bytes: &[u8]| {
        let frame = inspector::source::RawFrame {
            number: 0,
            timestamp: std::time::Duration::ZERO,
            link_type: inspector::source::LinkType::ETHERNET,
            bytes,
            wire_len: bytes.len() as u32,
        };
        if let Ok(Decoded::Tcp(segment)) = decode(&frame)
            && segment.dst.port() == port
        {
            let aa = segment.payload.iter().filter(|b| **b == 0xAA).count() as u32;
            if aa > 0 {
                before_ranges.push((segment.seq, segment.seq.wrapping_add(aa)));
            }
            after += segment.payload.iter().filter(|b| **b == 0x55).count();
        }
    };
    if let Some(bytes) = first {
        count(&bytes);
    }
    while let Some(frame) = live.next_frame().expect("frame") {
        count(frame.bytes);
    }
    let stats = live.stats();
    // The union of the ranges, as signed offsets from the first segment seen (8 MiB of
    // sequence space cannot wrap around 2^32).
    let origin = before_ranges.first().map_or(0, |r| r.0);
    let offset = |seq: u32| i64::from(seq.wrapping_sub(origin) as i32);
    let mut spans: Vec<(i64, i64)> = before_ranges
        .iter()
        .map(|&(a, b)| (offset(a), offset(b)))
        .collect();
    spans.sort_unstable();
    let (mut before, mut reached) = (0usize, i64::MIN);
    for (a, b) in spans {
        if b > reached {
            before += (b - a.max(reached)) as usize;
            reached = b;
        }
    }
    assert_eq!(
        before, BEFORE,
        "all that was queued at the stop is read: {stats:?}"
    );
    assert_eq!(
        after, 0,
        "nothing sent after the stop is captured: {stats:?}"
    );
    assert_eq!(stats.kernel_drops, Some(0), "{stats:?}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "the drain ends when the queue is empty, not at its time limit"
    );
}

#[test]
fn live_capture_of_an_ftps_session_keeps_its_encrypted_data_connections() {
    // The 227/229 replies that announce the data ports are encrypted: the live filter must tie
    // new connections between the two hosts of the TLS session to it, or the capture (and what
    // it shows of sizes and directions) would hold the control connection only.
    let ip: IpAddr = own_loopback();
    let listen = std::net::SocketAddr::new(ip, 0).to_string();
    let server = testkit::ftp_server::FtpServerProcess::start(
        &testkit::workspace_bin("ftp-server"),
        testkit::ftp_server::ServeOptions {
            listen: Some(&listen),
            tls: true,
            ..Default::default()
        },
    );
    let work = tempfile::tempdir().unwrap();
    let up = work.path().join("up.bin");
    random_file(&up, 150_000);
    random_file(&server.root(1).join("down.bin"), 250_000);
    let base = format!("ftp://{}", server.addr);
    let pcap = work.path().join("ftps.pcapng");
    let Some((analysis, _stats, pcap)) = capture(server.port, &pcap, || {
        // The demo certificate names 127.0.0.1, not this test's own loopback address.
        let tls = ["--ssl-reqd", "--insecure", "-u", "user1:pass1"];
        let url = format!("{base}/");
        let out = curl(&[&tls[..], &["-T", up.to_str().unwrap(), &url]].concat());
        assert_ok(&out, "curl --ssl-reqd -T");
        let url = format!("{base}/down.bin");
        let out = curl(&[&tls[..], &["-o", "/dev/null", &url]].concat());
        assert_ok(&out, "curl --ssl-reqd RETR");
    }) else {
        return;
    };
    let events = json_events(&analysis);
    let encrypted: Vec<&Value> = of_kind(&events, "transfer")
        .into_iter()
        .filter(|t| t["tls"]["encrypted"] == true)
        .collect();
    let to_server: u64 = encrypted
        .iter()
        .filter_map(|t| t["tls"]["encrypted_bytes_to_server"].as_u64())
        .max()
        .unwrap_or(0);
    let to_client: u64 = encrypted
        .iter()
        .filter_map(|t| t["tls"]["encrypted_bytes_to_client"].as_u64())
        .max()
        .unwrap_or(0);
    // TLS adds bytes, never removes them: the encrypted upload is at least the file's size.
    assert!(to_server >= 150_000, "upload not seen: {encrypted:?}");
    assert!(to_client >= 250_000, "download not seen: {encrypted:?}");
    // And the written capture holds them too: reading it back finds the same.
    let reread = inspector::analyze_file(
        &pcap,
        &Options {
            ports: vec![server.port],
            ..Options::default()
        },
    )
    .expect("read the written pcapng");
    let again = json_events(&reread);
    assert_eq!(
        of_kind(&again, "transfer")
            .iter()
            .filter(|t| t["tls"]["encrypted"] == true)
            .count(),
        encrypted.len()
    );
}
