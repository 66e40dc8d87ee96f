//! Files of pseudo-random bytes whose sha256 the test knows.

use crate::MIB;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::fs;
use std::io::{Read, Write};
use std::path::Path;

/// `size` pseudo-random bytes: a random 1 MiB block repeated, each copy stamped with its index
/// so that reordered or repeated chunks change the hash.
pub fn random_bytes(size: usize) -> Vec<u8> {
    let mut block = vec![0u8; MIB.min(size.max(1))];
    rand::rng().fill_bytes(&mut block);
    let mut out = Vec::with_capacity(size);
    let mut index: u64 = 0;
    while out.len() < size {
        let take = block.len().min(size - out.len());
        let start = out.len();
        out.extend_from_slice(&block[..take]);
        for (b, s) in out[start..].iter_mut().zip(index.to_le_bytes()) {
            *b ^= s;
        }
        index += 1;
    }
    out
}

/// Writes `size` random bytes to `path` (1 MiB at a time, parents created) and returns their
/// sha256 in hex.
pub fn random_file(path: &Path, size: usize) -> String {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap_or_else(|e| panic!("create {}: {e}", parent.display()));
    }
    let mut file =
        fs::File::create(path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
    let mut hasher = Sha256::new();
    let mut block = vec![0u8; MIB];
    let mut left = size;
    while left > 0 {
        let n = left.min(MIB);
        rand::rng().fill_bytes(&mut block[..n]);
        file.write_all(&block[..n])
            .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        hasher.update(&block[..n]);
        left -= n;
    }
    hex::encode(hasher.finalize())
}

/// sha256 of `bytes` in lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// sha256 of the file at `path` in lower-case hex.
pub fn sha256_file(path: &Path) -> String {
    let mut file = fs::File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; MIB];
    loop {
        let n = file
            .read(&mut buf)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    hex::encode(hasher.finalize())
}
