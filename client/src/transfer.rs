//! Moving bytes between a data connection and a local file, a chunk at a time (a 10 GiB file
//! never sits in memory), with ASCII line-end conversion (RFC 959 §3.1.1.1), an optional rate
//! limit and progress.

use crate::error::ClientError;
use crate::progress::Progress;
use std::io::{self, Read, Write};
use std::thread;
use std::time::{Duration, Instant};

/// Size of one read: large enough that a loopback transfer is not limited by system calls.
const CHUNK: usize = 256 * 1024;

/// Which end of a copy failed, so the error names the right thing.
#[derive(Debug)]
pub enum CopyError {
    /// Reading the source failed.
    Read(io::Error),
    /// Writing the destination failed.
    Write(io::Error),
    /// The user pressed Ctrl-C.
    Interrupted,
}

/// How to copy.
#[derive(Debug, Clone, Copy)]
pub struct CopyOptions {
    /// Convert line ends: to the local `\n` when receiving, to `\r\n` when sending.
    pub ascii: Option<Direction>,
    /// At most this many bytes per second.
    pub limit_rate: Option<u64>,
    /// How long the source may send nothing before the copy fails. The source's own read
    /// timeout should be short: each time it runs out, Ctrl-C is looked at.
    pub stall_limit: Option<Duration>,
    /// Whether the user asked to stop (Ctrl-C).
    pub interrupted: fn() -> bool,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            ascii: None,
            limit_rate: None,
            stall_limit: None,
            interrupted: crate::interrupt::requested,
        }
    }
}

/// The direction of an ASCII conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Network `\r\n` to local `\n`.
    Receive,
    /// Local `\n` to network `\r\n`.
    Send,
}

/// Copies `from` to `to` until `from` ends; returns the bytes read from `from`.
pub fn copy(
    from: &mut impl Read,
    to: &mut impl Write,
    options: CopyOptions,
    progress: &mut Progress,
) -> Result<u64, (CopyError, u64)> {
    let mut buf = vec![0u8; CHUNK];
    let mut converted = Vec::new();
    let mut state = LineEnds::default();
    let mut total = 0u64;
    let start = Instant::now();
    let mut last_byte = Instant::now();
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) && options
                    .stall_limit
                    .is_some_and(|limit| last_byte.elapsed() < limit) =>
            {
                if (options.interrupted)() {
                    return Err((CopyError::Interrupted, total));
                }
                continue;
            }
            Err(e) => return Err((CopyError::Read(e), total)),
        };
        last_byte = Instant::now();
        let chunk = buf.get(..n).unwrap_or_default();
        let out: &[u8] = match options.ascii {
            None => chunk,
            Some(direction) => {
                converted.clear();
                state.convert(direction, chunk, &mut converted);
                &converted
            }
        };
        to.write_all(out)
            .map_err(|e| (CopyError::Write(e), total))?;
        total += n as u64;
        progress.advance(n as u64);
        if (options.interrupted)() {
            return Err((CopyError::Interrupted, total));
        }
        if let Some(limit) = options.limit_rate.filter(|l| *l > 0) {
            let due = Duration::from_secs_f64(total as f64 / limit as f64);
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                thread::sleep(wait);
            }
        }
    }
    if state.pending_cr {
        // A lone CR at the very end of the stream is data, not half a line end.
        to.write_all(b"\r")
            .map_err(|e| (CopyError::Write(e), total))?;
    }
    to.flush().map_err(|e| (CopyError::Write(e), total))?;
    Ok(total)
}

/// Line-end conversion state carried across chunks (a `\r` may end one chunk and its `\n`
/// start the next).
#[derive(Debug, Default)]
struct LineEnds {
    pending_cr: bool,
    last_was_cr: bool,
}

impl LineEnds {
    fn convert(&mut self, direction: Direction, input: &[u8], out: &mut Vec<u8>) {
        match direction {
            Direction::Receive => {
                for &b in input {
                    if self.pending_cr {
                        self.pending_cr = false;
                        if b != b'\n' {
                            out.push(b'\r');
                        }
                    }
                    if b == b'\r' {
                        self.pending_cr = true;
                    } else {
                        out.push(b);
                    }
                }
            }
            Direction::Send => {
                for &b in input {
                    if b == b'\n' && !self.last_was_cr {
                        out.push(b'\r');
                    }
                    out.push(b);
                    self.last_was_cr = b == b'\r';
                }
            }
        }
    }
}

/// Turns a copy failure into the error that names the failing side.
pub fn copy_error(
    error: CopyError,
    bytes: u64,
    local_path: &std::path::Path,
    receiving: bool,
) -> ClientError {
    match (error, receiving) {
        (CopyError::Interrupted, _) => ClientError::Interrupted { bytes, hint: "" },
        (CopyError::Read(source), true) | (CopyError::Write(source), false) => {
            ClientError::DataIo { bytes, source }
        }
        (CopyError::Write(source), true) => ClientError::LocalFile {
            action: "write",
            path: local_path.to_owned(),
            source,
        },
        (CopyError::Read(source), false) => ClientError::LocalFile {
            action: "read",
            path: local_path.to_owned(),
            source,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert_in_pieces(direction: Direction, input: &[u8], piece: usize) -> Vec<u8> {
        let mut state = LineEnds::default();
        let mut out = Vec::new();
        for chunk in input.chunks(piece) {
            state.convert(direction, chunk, &mut out);
        }
        out
    }

    #[test]
    fn received_crlf_becomes_lf_even_split_across_chunks() {
        let wire = b"one\r\ntwo\r\nlone\rcr\r\n";
        for piece in 1..wire.len() {
            assert_eq!(
                convert_in_pieces(Direction::Receive, wire, piece),
                b"one\ntwo\nlone\rcr\n"
            );
        }
    }

    #[test]
    fn sent_lf_becomes_crlf_and_crlf_stays() {
        for piece in 1..8 {
            assert_eq!(
                convert_in_pieces(Direction::Send, b"a\nb\r\nc\n", piece),
                b"a\r\nb\r\nc\r\n"
            );
        }
    }

    #[test]
    fn copy_counts_bytes_and_honours_no_conversion() {
        let data = vec![7u8; 3 * CHUNK + 5];
        let mut out = Vec::new();
        let mut progress = Progress::new(false, "x", None, 0);
        let n = copy(
            &mut data.as_slice(),
            &mut out,
            CopyOptions::default(),
            &mut progress,
        )
        .ok();
        assert_eq!(n, Some(data.len() as u64));
        assert_eq!(out, data);
    }

    /// A source that sends `first`, then nothing: every read runs out like a socket's short
    /// read timeout.
    struct Stalling {
        first: Option<Vec<u8>>,
    }

    impl Read for Stalling {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if let Some(first) = self.first.take() {
                buf[..first.len()].copy_from_slice(&first);
                return Ok(first.len());
            }
            thread::sleep(Duration::from_millis(5));
            Err(io::ErrorKind::WouldBlock.into())
        }
    }

    static PRESSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

    #[test]
    fn a_stalled_source_notices_ctrl_c_and_otherwise_fails_after_the_stall_limit() {
        let mut progress = Progress::new(false, "x", None, 0);
        let options = CopyOptions {
            stall_limit: Some(Duration::from_secs(60)),
            interrupted: || PRESSED.load(std::sync::atomic::Ordering::Relaxed),
            ..CopyOptions::default()
        };
        let presser = thread::spawn(|| {
            thread::sleep(Duration::from_millis(100));
            PRESSED.store(true, std::sync::atomic::Ordering::Relaxed);
        });
        let started = Instant::now();
        let mut source = Stalling {
            first: Some(b"abc".to_vec()),
        };
        let result = copy(&mut source, &mut Vec::new(), options, &mut progress);
        presser.join().unwrap();
        assert!(
            matches!(result, Err((CopyError::Interrupted, 3))),
            "{result:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(10));

        // Nobody presses: after the stall limit the copy fails as a read that timed out.
        let options = CopyOptions {
            stall_limit: Some(Duration::from_millis(200)),
            interrupted: || false,
            ..CopyOptions::default()
        };
        let mut source = Stalling { first: None };
        let result = copy(&mut source, &mut Vec::new(), options, &mut progress);
        assert!(
            matches!(&result, Err((CopyError::Read(e), 0)) if e.kind() == io::ErrorKind::WouldBlock),
            "{result:?}"
        );
    }
}
