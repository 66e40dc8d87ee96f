//! Loss handling: a real loopback capture, re-written with every 100th data frame
//! left out, must give transfers marked incomplete with exactly the missing byte ranges, and
//! never a sha256 presented as the file's when bytes are missing. Needs CAP_NET_RAW like
//! `tests/live.rs` (`FTPLAB_SKIP_LIVE=1` skips it without).

mod common;

use common::*;
use inspector::Options;
use inspector::frame::{Decoded, decode};
use inspector::source::{CaptureWriter, LiveConfig, LiveError, LiveSource, PacketSource};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::Path;
use std::thread;

/// Merges touching `[offset, length]` ranges.
fn merged(mut ranges: Vec<[u64; 2]>) -> Vec<[u64; 2]> {
    ranges.sort_unstable();
    let mut out: Vec<[u64; 2]> = Vec::new();
    for r in ranges {
        match out.last_mut() {
            Some(last) if last[0] + last[1] >= r[0] => {
                last[1] = last[1].max(r[0] + r[1] - last[0]);
            }
            _ => out.push(r),
        }
    }
    out
}

/// Copies `from` to `to`, leaving out every `nth` frame that carries data-connection payload
/// (TCP on neither `control_port`); returns the byte ranges left out, per sending socket,
/// relative to the first byte after its SYN.
fn drop_every_nth_data_frame(
    from: &Path,
    to: &Path,
    control_port: u16,
    nth: usize,
) -> HashMap<SocketAddr, Vec<[u64; 2]>> {
    let mut source = inspector::source::open_file(from).expect("open the full capture");
    let mut writer = CaptureWriter::create(to, "lo").expect("create the lossy capture");
    let mut isn: HashMap<SocketAddr, u32> = HashMap::new();
    let mut dropped: HashMap<SocketAddr, Vec<[u64; 2]>> = HashMap::new();
    // Bytes of the kept frames: a dropped frame whose bytes a retransmission also carried
    // loses nothing, and the reassembler rightly reports no gap for it.
    let mut kept: HashMap<SocketAddr, Vec<[u64; 2]>> = HashMap::new();
    let mut data_frames = 0;
    while let Some(frame) = source.next_frame().expect("frame") {
        if let Ok(Decoded::Tcp(seg)) = decode(&frame) {
            if seg.syn {
                isn.insert(seg.src, seg.seq);
            }
            let data = seg.src.port() != control_port && seg.dst.port() != control_port;
            if data && !seg.payload.is_empty() {
                data_frames += 1;
                let start = isn
                    .get(&seg.src)
                    .map(|i| seg.seq.wrapping_sub(*i).wrapping_sub(1))
                    .expect("the SYN of every data connection is captured");
                let range = [u64::from(start), seg.payload.len() as u64];
                if data_frames % nth == 0 {
                    dropped.entry(seg.src).or_default().push(range);
                    continue;
                }
                kept.entry(seg.src).or_default().push(range);
            }
        }
        writer.write(&frame).expect("write frame");
    }
    writer.finish().expect("flush the lossy capture");
    assert!(data_frames >= nth * 3, "only {data_frames} data frames");
    dropped
        .into_iter()
        .map(|(src, ranges)| {
            let covered = merged(kept.remove(&src).unwrap_or_default());
            (src, uncovered(merged(ranges), &covered))
        })
        .filter(|(_, missing)| !missing.is_empty())
        .collect()
}

/// The parts of `ranges` (sorted, disjoint `[start, len]`) that `covered` (same) does not cover.
fn uncovered(ranges: Vec<[u64; 2]>, covered: &[[u64; 2]]) -> Vec<[u64; 2]> {
    let mut out = Vec::new();
    for [start, len] in ranges {
        let (mut at, end) = (start, start + len);
        for &[c_start, c_len] in covered {
            let c_end = c_start + c_len;
            if c_end <= at || c_start >= end {
                continue;
            }
            if c_start > at {
                out.push([at, c_start - at]);
            }
            at = at.max(c_end);
            if at >= end {
                break;
            }
        }
        if at < end {
            out.push([at, end - at]);
        }
    }
    out
}

#[test]
fn every_100th_data_frame_dropped_gives_incomplete_transfers_with_the_missing_ranges() {
    let ip = own_loopback();
    let server = start_our_server(ip);
    let work = tempfile::tempdir().unwrap();
    // Sizes that take hundreds of frames even when loopback hands out 64 KiB segments.
    let down = random_file(&server.root.join("down.bin"), 24 << 20);
    let up = random_file(&work.path().join("up.bin"), 12 << 20);
    let small = random_file(&server.root.join("small.bin"), 3_000);
    let full = work.path().join("full.pcapng");

    let config = LiveConfig {
        ports: vec![server.port()],
        ..LiveConfig::default()
    };
    let mut live = match LiveSource::open(&config) {
        Ok(live) => live,
        Err(e @ LiveError::NoPrivilege { .. })
            if std::env::var_os("FTPLAB_SKIP_LIVE").is_some_and(|v| v == "1") =>
        {
            eprintln!("skipped (FTPLAB_SKIP_LIVE=1): {e}");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    live.write_to(&full).expect("create the pcapng");
    let stop = live.stop_handle();
    let capturing = thread::spawn(move || {
        // Reading (and writing the file) is all the capture does here.
        while live.next_frame().expect("live frame").is_some() {}
        live.stats()
    });
    let base = format!("ftp://{}", server.addr);
    let up_path = work.path().join("up.bin");
    assert_ok(
        &curl(&[
            "-u",
            "user1:pass1",
            "-T",
            up_path.to_str().unwrap(),
            &format!("{base}/"),
        ]),
        "curl STOR",
    );
    for file in ["down.bin", "small.bin"] {
        assert_ok(
            &curl(&[
                "-u",
                "user1:pass1",
                "-o",
                "/dev/null",
                &format!("{base}/{file}"),
            ]),
            "curl RETR",
        );
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let stats = capturing.join().expect("capture thread");
    assert_eq!(
        stats.kernel_drops,
        Some(0),
        "the full capture must be complete: {stats:?}"
    );

    let options = Options {
        ports: vec![server.port()],
        ..Options::default()
    };
    // The full capture: everything complete, hashes right.
    let events = json_events(&inspector::analyze_file(&full, &options).expect("read"));
    let by_name = |events: &[Value], name: &str| -> Value {
        of_kind(events, "transfer")
            .into_iter()
            .find(|t| t["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no transfer of {name}"))
    };
    for (name, sha) in [("down.bin", &down), ("up.bin", &up), ("small.bin", &small)] {
        let t = by_name(&events, name);
        assert_eq!(t["complete"], true, "{t}");
        assert_eq!(t["sha256"], sha.as_str(), "{t}");
    }

    // The lossy copy.
    let lossy = work.path().join("lossy.pcapng");
    let dropped = drop_every_nth_data_frame(&full, &lossy, server.port(), 100);
    let events = json_events(&inspector::analyze_file(&lossy, &options).expect("read"));
    let transfers = of_kind(&events, "transfer");
    let mut checked = BTreeMap::new();
    for (sender, ranges) in &dropped {
        // The transfer whose data connection that socket sent on: the one whose content the
        // dropped bytes belonged to (upload: the client sent; download: the server).
        let expected = merged(ranges.clone());
        let t = transfers
            .iter()
            .find(|t| {
                let gaps: Vec<[u64; 2]> =
                    serde_json::from_value(t["gaps"].clone()).unwrap_or_default();
                !gaps.is_empty() && merged(gaps) == expected
            })
            .unwrap_or_else(|| {
                panic!("no transfer has gaps {expected:?} (dropped from {sender}): {transfers:#?}")
            });
        assert_eq!(t["complete"], false, "{t}");
        assert!(
            t["incomplete_reason"]
                .as_str()
                .is_some_and(|r| !r.is_empty()),
            "{t}"
        );
        checked.insert(t["name"].as_str().unwrap_or_default().to_owned(), expected);
    }
    eprintln!("left out: {checked:?}");
    assert!(
        checked.contains_key("down.bin") && checked.contains_key("up.bin"),
        "{checked:?}"
    );
    for t in &transfers {
        let name = t["name"].as_str().unwrap_or_default();
        let real = match name {
            "down.bin" => &down,
            "up.bin" => &up,
            "small.bin" => &small,
            _ => continue,
        };
        if t["complete"] == true {
            assert!(
                !checked.contains_key(name),
                "{name} lost bytes yet is complete: {t}"
            );
            assert_eq!(t["sha256"], real.as_str(), "{t}");
        } else {
            // An incomplete transfer never shows the file's hash as if it were whole.
            assert_ne!(t["sha256"], real.as_str(), "{t}");
        }
    }
    // Missing bytes are never counted as captured.
    for (name, ranges) in &checked {
        let t = by_name(&events, name);
        let missing: u64 = ranges.iter().map(|r| r[1]).sum();
        let size = if name == "down.bin" {
            24 << 20
        } else {
            12 << 20
        };
        assert_eq!(t["bytes"].as_u64(), Some(size - missing), "{t}");
    }
}
