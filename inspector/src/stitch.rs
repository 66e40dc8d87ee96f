//! REST resumption (RFC 3659 §5): a download cut off and resumed later with `REST offset` is
//! put back together from its parts, and what is still missing is said by byte range.

use crate::event::{Event, StitchedEvent, TransferEvent};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// Byte ranges `[start, end)` of one part that are in the capture (its gaps removed).
fn present(t: &TransferEvent) -> Vec<(u64, u64)> {
    let base = t.rest.unwrap_or(0);
    let total = t.bytes + t.gaps.iter().map(|g| g[1]).sum::<u64>();
    let mut out = Vec::new();
    let mut at = 0;
    for [off, len] in &t.gaps {
        if *off > at {
            out.push((base + at, base + off));
        }
        at = off + len;
    }
    if total > at {
        out.push((base + at, base + total));
    }
    out
}

fn merge(mut ranges: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    ranges.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::new();
    for (s, e) in ranges {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// Finds downloads resumed with REST and stitches each to the earlier parts of the same file
/// from the same server. `server_of` gives a session's server address.
pub fn stitch(
    events: &[Event],
    server_of: impl Fn(usize) -> Option<String>,
    extract: Option<&Path>,
) -> Vec<StitchedEvent> {
    let mut files: BTreeMap<(String, String), Vec<&TransferEvent>> = BTreeMap::new();
    for e in events {
        if let Event::Transfer(t) = e
            && t.direction == "download"
            && let (Some(name), Some(server)) = (&t.name, t.session.and_then(&server_of))
        {
            files.entry((server, name.clone())).or_default().push(t);
        }
    }
    let mut out = Vec::new();
    for ((server, name), parts) in files {
        if parts.len() < 2 || !parts.iter().any(|p| p.rest.is_some_and(|r| r > 0)) {
            continue;
        }
        let ranges = merge(parts.iter().flat_map(|p| present(p)).collect());
        let size = parts
            .iter()
            .filter(|p| p.rest.is_none_or(|r| r == 0))
            .filter_map(|p| p.expected_bytes)
            .max();
        let end = size.unwrap_or_else(|| ranges.last().map_or(0, |r| r.1));
        let mut missing = Vec::new();
        let mut at = 0;
        for &(s, e) in &ranges {
            if s > at {
                missing.push([at, s - at]);
            }
            at = at.max(e);
        }
        if end > at {
            missing.push([at, end - at]);
        }
        let conflicting_frames: Vec<u64> = parts
            .iter()
            .flat_map(|p| p.conflicting_frames.iter().copied())
            .collect();
        let complete = missing.is_empty() && conflicting_frames.is_empty();
        let (sha256, extracted) = match extract {
            Some(dir) => write_stitched(dir, &name, &parts, end)
                .map(|(file, sha)| (missing.is_empty().then_some(sha), Some(file)))
                .unwrap_or((None, None)),
            None => (None, None),
        };
        out.push(StitchedEvent {
            frame: parts.last().map_or(0, |p| p.frame),
            name,
            server,
            parts: parts.iter().map(|p| p.frame).collect(),
            size,
            present: ranges.iter().map(|&(s, e)| [s, e - s]).collect(),
            missing,
            complete,
            sha256,
            extracted,
            conflicting_frames,
        });
    }
    out
}

/// Copies the captured ranges of each extracted part to their offsets in one file (first copy
/// of a byte wins: parts are written last to first; a part's gaps are holes in its extracted
/// file and must not cover another part's bytes) and hashes the result by streaming it back.
fn write_stitched(
    dir: &Path,
    name: &str,
    parts: &[&TransferEvent],
    len: u64,
) -> std::io::Result<(String, String)> {
    let file_name = format!("{}.stitched", crate::transfer::safe_name(name));
    let path = dir.join(&file_name);
    let mut out = File::create(&path)?;
    for p in parts.iter().rev() {
        let Some(part) = &p.extracted else { continue };
        let mut input = File::open(dir.join(part))?;
        let base = p.rest.unwrap_or(0);
        for (start, end) in present(p) {
            input.seek(SeekFrom::Start(start - base))?;
            out.seek(SeekFrom::Start(start))?;
            std::io::copy(&mut (&mut input).take(end - start), &mut out)?;
        }
    }
    out.set_len(len)?;
    out.flush()?;
    let mut hasher = Sha256::new();
    let mut input = File::open(&path)?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = input.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(buf.get(..n).unwrap_or_default());
    }
    Ok((file_name, hex::encode(hasher.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(frame: u64, rest: Option<u64>, bytes: u64, expected: Option<u64>) -> Event {
        Event::Transfer(Box::new(TransferEvent {
            session: Some(1),
            frame,
            command: Some("RETR".into()),
            name: Some("big.iso".into()),
            direction: "download",
            guessed: false,
            bytes,
            sha256: None,
            complete: false,
            incomplete_reason: None,
            expected_bytes: expected,
            rest,
            gaps: Vec::new(),
            mode: None,
            data_frames: None,
            reply: None,
            extracted: None,
            refused: false,
            conflicting_frames: Vec::new(),
            tls: None,
        }))
    }

    #[test]
    fn resumed_download_reports_the_ranges_still_missing() {
        let events = vec![
            part(10, None, 400, Some(1000)),
            part(50, Some(600), 300, None),
        ];
        let s = stitch(&events, |_| Some("10.0.0.1:21".into()), None);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].present, vec![[0, 400], [600, 300]]);
        assert_eq!(s[0].missing, vec![[400, 200], [900, 100]]);
        assert!(!s[0].complete);
        assert_eq!(s[0].parts, vec![10, 50]);
    }

    #[test]
    fn resumed_download_that_fills_the_rest_is_complete() {
        let events = vec![
            part(10, None, 400, Some(1000)),
            part(50, Some(400), 600, None),
        ];
        let s = stitch(&events, |_| Some("s".into()), None);
        assert!(s[0].complete, "{:?}", s[0]);
    }

    #[test]
    fn a_part_with_conflicting_segments_keeps_the_stitched_file_from_being_complete() {
        let mut events = vec![
            part(10, None, 400, Some(1000)),
            part(50, Some(400), 600, None),
        ];
        if let Event::Transfer(t) = &mut events[1] {
            t.conflicting_frames = vec![77];
        }
        let s = stitch(&events, |_| Some("s".into()), None);
        assert!(!s[0].complete, "{:?}", s[0]);
        assert_eq!(s[0].conflicting_frames, vec![77]);
    }

    #[test]
    fn a_gap_in_one_part_does_not_cover_the_bytes_another_part_brought() {
        let dir = tempfile::tempdir().unwrap();
        let whole: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        // Part 1 lost [300, 500) (a hole of zeros in its extracted file), part 2 resumed at 300.
        let mut first = whole.clone();
        first[300..500].fill(0);
        std::fs::write(dir.path().join("p1"), &first).unwrap();
        std::fs::write(dir.path().join("p2"), &whole[300..]).unwrap();
        let with = |event: Event, gaps: Vec<[u64; 2]>, file: &str| match event {
            Event::Transfer(mut t) => {
                t.gaps = gaps;
                t.extracted = Some(file.to_owned());
                Event::Transfer(t)
            }
            other => other,
        };
        let events = vec![
            with(part(10, None, 800, Some(1000)), vec![[300, 200]], "p1"),
            with(part(50, Some(300), 700, None), Vec::new(), "p2"),
        ];
        let s = stitch(&events, |_| Some("s".into()), Some(dir.path()));
        assert!(s[0].complete, "{:?}", s[0]);
        assert_eq!(
            s[0].sha256.as_deref(),
            Some(hex::encode(Sha256::digest(&whole)).as_str())
        );
    }
}
