//! The inspector against tshark, the reference reader, on every capture shipped in `captures/`
//! (not `captures/broken/`): `inspector frame --all --json` gives the same header fields as
//! `tshark -T fields` for every frame, and every display filter the inspector prints selects,
//! in tshark, exactly the frames its event names. Skipped, saying so, without tshark.

mod common;

use common::{INSPECTOR, filters_select_their_frames, frames_agree_with_tshark};
use std::path::PathBuf;
use std::process::Command;

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

#[test]
fn frame_fields_agree_with_tshark_on_every_frame_of_every_shipped_capture() {
    if !have_tshark() {
        return;
    }
    let compared: usize = shipped_captures()
        .iter()
        .map(|file| frames_agree_with_tshark(file))
        .sum();
    assert!(compared > 10_000, "only {compared} fields compared");
}

#[test]
fn every_printed_filter_selects_exactly_its_frames_in_tshark() {
    if !have_tshark() {
        return;
    }
    let mut checked = 0;
    for file in shipped_captures() {
        let (events, _) = common::inspect(&file, &[]);
        checked += filters_select_their_frames(&file, &events);
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
    let frames = common::our_frames(&file).len();
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
