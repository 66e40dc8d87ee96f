//! The sha256 of a transfer's content, off the parsing thread for large files: a transfer
//! starts hashing inline and, past [`OFFLOAD_AFTER`] bytes, hands its hash state to a thread
//! of its own that is fed the content in order, in reused batches. Reading and parsing the
//! capture then overlap with SHA-256 instead of adding up to it (issue 18, point 1).

use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, channel, sync_channel};
use std::thread::JoinHandle;

/// Bytes hashed inline before a transfer is worth a thread (most listings and small files
/// never get one).
pub const OFFLOAD_AFTER: u64 = 1 << 20;
/// Bytes gathered before they are handed to the hashing thread.
const BATCH: usize = 256 << 10;
/// Batches queued for the hashing thread at most: memory stays at a few batches per thread.
const QUEUED: usize = 4;
/// Hashing threads running at once, over all transfers; past it transfers hash inline.
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// How many hashing threads may run at once: one per core beyond the parsing thread's.
fn max_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get().saturating_sub(1))
        .unwrap_or(1)
        .max(1)
}

/// Takes a hashing thread slot if one is free.
fn acquire() -> bool {
    let max = max_threads();
    RUNNING
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < max).then_some(n + 1)
        })
        .is_ok()
}

/// The running sha256 of one transfer's content.
#[derive(Debug)]
pub enum ContentHash {
    /// Hashed on the parsing thread; `bytes` so far.
    Inline {
        /// The hash state.
        hasher: Sha256,
        /// Bytes hashed.
        bytes: u64,
    },
    /// Hashed on a thread of its own.
    Offloaded {
        /// Bytes not yet handed over.
        batch: Vec<u8>,
        /// To the thread, in order.
        to: SyncSender<Vec<u8>>,
        /// Emptied batches back from the thread, to be filled again.
        back: Receiver<Vec<u8>>,
        /// The thread; it returns the hash state when its queue closes.
        thread: JoinHandle<Sha256>,
    },
}

impl Default for ContentHash {
    fn default() -> Self {
        ContentHash::Inline {
            hasher: Sha256::new(),
            bytes: 0,
        }
    }
}

impl ContentHash {
    /// Hashes the next bytes of the content.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            ContentHash::Inline { hasher, bytes } => {
                hasher.update(data);
                *bytes += data.len() as u64;
                if *bytes >= OFFLOAD_AFTER && acquire() {
                    let hasher = std::mem::take(hasher);
                    *self = Self::offload(hasher);
                }
            }
            ContentHash::Offloaded {
                batch, to, back, ..
            } => {
                batch.extend_from_slice(data);
                if batch.len() >= BATCH {
                    let next = back
                        .try_recv()
                        .unwrap_or_else(|_| Vec::with_capacity(BATCH));
                    let full = std::mem::replace(batch, next);
                    // The thread only stops when this side hangs up: a send cannot fail.
                    let _ = to.send(full);
                }
            }
        }
    }

    /// Moves `hasher` to a new thread; hashes inline on if no thread can be started.
    fn offload(hasher: Sha256) -> ContentHash {
        let (to, from) = sync_channel::<Vec<u8>>(QUEUED);
        let (back_to, back) = channel::<Vec<u8>>();
        let mut moved = hasher.clone();
        let thread = std::thread::Builder::new()
            .name("inspector-sha256".into())
            .spawn(move || {
                for mut buf in from {
                    moved.update(&buf);
                    buf.clear();
                    // The other side may have finished already: the batch is then dropped.
                    let _ = back_to.send(buf);
                }
                RUNNING.fetch_sub(1, Ordering::AcqRel);
                moved
            });
        match thread {
            Ok(thread) => ContentHash::Offloaded {
                batch: Vec::with_capacity(BATCH),
                to,
                back,
                thread,
            },
            Err(_) => {
                RUNNING.fetch_sub(1, Ordering::AcqRel);
                ContentHash::Inline {
                    hasher,
                    bytes: OFFLOAD_AFTER,
                }
            }
        }
    }

    /// The sha256 of everything hashed; `None` only if the hashing thread died (it cannot
    /// panic on any input, so never in practice).
    pub fn finalize(self) -> Option<[u8; 32]> {
        match self {
            ContentHash::Inline { hasher, .. } => Some(hasher.finalize().into()),
            ContentHash::Offloaded {
                batch, to, thread, ..
            } => {
                if !batch.is_empty() {
                    let _ = to.send(batch);
                }
                drop(to);
                thread.join().ok().map(|h| h.finalize().into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Content of `len` bytes, not periodic within a batch.
    fn content(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    #[test]
    fn offloaded_and_inline_hashes_agree_whatever_the_chunking() {
        let data = content(3 * OFFLOAD_AFTER as usize + 12_345);
        let expected: [u8; 32] = Sha256::digest(&data).into();
        for chunk in [1_000, 65_536, 300_001] {
            let mut h = ContentHash::default();
            for part in data.chunks(chunk) {
                h.update(part);
            }
            assert!(
                matches!(h, ContentHash::Offloaded { .. }),
                "chunks of {chunk}"
            );
            assert_eq!(h.finalize(), Some(expected), "chunks of {chunk}");
        }
    }

    #[test]
    fn a_small_transfer_stays_inline() {
        let mut h = ContentHash::default();
        h.update(b"secret plans\n");
        assert!(matches!(h, ContentHash::Inline { .. }));
        let expected: [u8; 32] = Sha256::digest(b"secret plans\n").into();
        assert_eq!(h.finalize(), Some(expected));
    }
}
