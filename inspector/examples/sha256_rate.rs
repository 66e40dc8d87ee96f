//! The single-core SHA-256 rate of the `sha2` crate as the inspector uses it (same version,
//! same features, 256 KiB blocks like the hashing thread's batches): the limit the issue 18
//! target for big.pcap is measured against, next to `openssl speed -evp sha256`.
//!
//! `cargo run --release -p inspector --example sha256_rate [MiB] [rounds]` (default 1024 MiB,
//! 3 rounds) prints each round's MB/s (10^6 bytes/s) and the best.

use sha2::{Digest, Sha256};
use std::time::Instant;

/// Block size handed to the hasher, as `content_hash`'s batches.
const BLOCK: usize = 256 << 10;

fn main() {
    let mut args = std::env::args().skip(1);
    let mib: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1024);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    // Bytes that are not all alike (SHA-256's speed does not depend on them, a compiler
    // could not fold them either way).
    let block: Vec<u8> = (0..BLOCK)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let blocks = (mib << 20) / BLOCK;
    let bytes = (blocks * BLOCK) as f64;
    let mut best = 0.0f64;
    for round in 1..=rounds {
        let start = Instant::now();
        let mut hasher = Sha256::new();
        for _ in 0..blocks {
            hasher.update(&block);
        }
        let digest = hasher.finalize();
        let rate = bytes / start.elapsed().as_secs_f64() / 1e6;
        best = best.max(rate);
        println!(
            "round {round}: {rate:.0} MB/s ({} MiB, sha256 {:02x}{:02x}…)",
            mib, digest[0], digest[1]
        );
    }
    println!("best: {best:.0} MB/s");
}
