//! Replays a target's seeds from `fuzz/corpus/<target>/` through its entry point, for the stable
//! `cargo test` of the crates that own the parsers (included with `#[path]` by their
//! `tests/fuzz_corpus.rs`).

use std::path::PathBuf;

/// Every file of `fuzz/corpus/<target>/`, sorted; fails when there is none.
pub fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
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
pub fn replay(target: &str, entry: fn(&[u8])) {
    for (path, bytes) in corpus(target) {
        let outcome = std::panic::catch_unwind(|| entry(&bytes));
        assert!(outcome.is_ok(), "{target}: {} panicked", path.display());
    }
}
