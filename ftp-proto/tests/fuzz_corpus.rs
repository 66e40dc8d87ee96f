//! Replays `fuzz/corpus/` through the fuzz targets' entry points (`fuzz/harness/proto.rs`), so
//! every stable `cargo test` checks the seeds and any crash input committed there.

#[path = "../../fuzz/harness/proto.rs"]
mod harness;

use std::path::PathBuf;

/// Every file of `fuzz/corpus/<target>/`, sorted; fails when there is none.
fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} has no seeds", dir.display());
    files
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect()
}

/// Feeds each seed to `entry`, naming the seed whose replay panics.
fn replay(target: &str, entry: fn(&[u8])) {
    for (path, bytes) in corpus(target) {
        let outcome = std::panic::catch_unwind(|| entry(&bytes));
        assert!(outcome.is_ok(), "{target}: {} panicked", path.display());
    }
}

#[test]
fn command_parse_corpus_parses_and_round_trips_without_panic() {
    replay("command_parse", harness::command_parse);
}

#[test]
fn reply_decode_corpus_decodes_and_round_trips_without_panic() {
    replay("reply_decode", harness::reply_decode);
}

#[test]
fn host_port_corpus_parses_and_round_trips_without_panic() {
    replay("host_port", harness::host_port);
}
