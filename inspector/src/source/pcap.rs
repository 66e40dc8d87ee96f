//! The classic libpcap file format: a 24-byte file header, then a 16-byte header per record.
//!
//! Read by hand rather than with `pcap-file`'s reader so that a record with an absurd length is
//! told apart from a file that simply ends early, and both name their frame. The file is read in
//! large sequential reads into one buffer and each frame is a slice of it: no copy per frame and
//! no allocation once the buffer is there (memory maps would need `unsafe`, which the workspace
//! forbids).

use super::{LinkType, PacketSource, RawFrame, SourceError};
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// No link layer has frames anywhere near this big; a larger length means a corrupt record.
const MAX_RECORD: u32 = 16 << 20;
/// Bytes asked of the file per read: large enough that system calls and the page cache copy run
/// at full speed, small enough to stay in the caches (grown only for a record longer than it).
const READ_SIZE: usize = 1 << 20;

/// True for the four pcap magic numbers (µs or ns timestamps, either byte order).
pub(super) fn is_magic(m: [u8; 4]) -> bool {
    matches!(
        u32::from_le_bytes(m),
        0xa1b2_c3d4 | 0xd4c3_b2a1 | 0xa1b2_3c4d | 0x4d3c_b2a1
    )
}

/// A [`PacketSource`] over a classic pcap stream.
pub struct PcapSource<R: Read> {
    reader: R,
    file: PathBuf,
    name: String,
    big_endian: bool,
    nanos: bool,
    link_type: LinkType,
    next_number: u64,
    /// Bytes read from the file; `buf[at..end]` are not handed out yet.
    buf: Vec<u8>,
    at: usize,
    end: usize,
    /// The reader said end of file.
    eof: bool,
    done: bool,
}

impl<R: Read> PcapSource<R> {
    /// Reads the file header; `path` is used in messages only.
    pub fn new(mut reader: R, path: &Path) -> Result<Self, SourceError> {
        let mut header = [0u8; 24];
        if let Err(e) = reader.read_exact(&mut header) {
            return Err(match e.kind() {
                ErrorKind::UnexpectedEof => SourceError::BadHeader {
                    file: path.to_owned(),
                    detail: "file ends inside the 24-byte pcap header".to_owned(),
                },
                _ => SourceError::Io {
                    file: path.to_owned(),
                    source: e,
                },
            });
        }
        let [a, b, c, d, ..] = header;
        let (big_endian, nanos) = match u32::from_le_bytes([a, b, c, d]) {
            0xa1b2_c3d4 => (false, false),
            0xa1b2_3c4d => (false, true),
            0xd4c3_b2a1 => (true, false),
            0x4d3c_b2a1 => (true, true),
            _ => {
                return Err(SourceError::NotACapture {
                    file: path.to_owned(),
                    magic: hex::encode([a, b, c, d]),
                });
            }
        };
        let word = |at: usize| -> u32 {
            let mut w = [0u8; 4];
            w.copy_from_slice(header.get(at..at + 4).unwrap_or(&[0; 4]));
            if big_endian {
                u32::from_be_bytes(w)
            } else {
                u32::from_le_bytes(w)
            }
        };
        // The link type shares its word with FCS flags in the top bits (pcap spec §4).
        let link_type = LinkType(word(20) & 0x0fff_ffff);
        Ok(PcapSource {
            reader,
            file: path.to_owned(),
            name: path.display().to_string(),
            big_endian,
            nanos,
            link_type,
            next_number: 1,
            buf: Vec::new(),
            at: 0,
            end: 0,
            eof: false,
            done: false,
        })
    }

    /// Makes at least `need` unread bytes available in `buf[at..]`, reading as much as the
    /// buffer holds; returns how many are available (fewer than `need` only at end of file).
    fn fill(&mut self, need: usize) -> std::io::Result<usize> {
        if self.end - self.at >= need {
            return Ok(self.end - self.at);
        }
        // The unread tail (less than one record) moves to the front; then one large read.
        self.buf.copy_within(self.at..self.end, 0);
        self.end -= self.at;
        self.at = 0;
        if self.buf.len() < need.max(READ_SIZE) {
            self.buf.resize(need.max(READ_SIZE), 0);
        }
        while self.end < need && !self.eof {
            match self
                .reader
                .read(self.buf.get_mut(self.end..).unwrap_or_default())
            {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.end)
    }

    fn word(&self, bytes: [u8; 4]) -> u32 {
        if self.big_endian {
            u32::from_be_bytes(bytes)
        } else {
            u32::from_le_bytes(bytes)
        }
    }
}

impl<R: Read> PacketSource for PcapSource<R> {
    fn next_frame(&mut self) -> Result<Option<RawFrame<'_>>, SourceError> {
        if self.done {
            return Ok(None);
        }
        let number = self.next_number;
        let io = |file: &PathBuf, source| SourceError::Io {
            file: file.clone(),
            source,
        };
        // A read that failed once (a corrupt gzip stream) would fail forever: stop there.
        self.done = true;
        let got = self.fill(16).map_err(|e| io(&self.file, e))?.min(16);
        self.done = false;
        if got == 0 {
            self.done = true;
            return Ok(None);
        }
        if got < 16 {
            self.done = true;
            return Err(SourceError::Truncated {
                file: self.file.clone(),
                frame: number,
                detail: format!("{got} of 16 record header bytes"),
            });
        }
        let [
            s0,
            s1,
            s2,
            s3,
            f0,
            f1,
            f2,
            f3,
            i0,
            i1,
            i2,
            i3,
            o0,
            o1,
            o2,
            o3,
        ] = self
            .buf
            .get(self.at..self.at + 16)
            .and_then(|h| <[u8; 16]>::try_from(h).ok())
            .unwrap_or_default();
        let secs = self.word([s0, s1, s2, s3]);
        let frac = self.word([f0, f1, f2, f3]);
        let incl_len = self.word([i0, i1, i2, i3]);
        let orig_len = self.word([o0, o1, o2, o3]);
        if incl_len > MAX_RECORD {
            // Nothing after an absurd length can be trusted to be a record boundary.
            self.done = true;
            return Err(SourceError::BadRecord {
                file: self.file.clone(),
                frame: number,
                detail: format!(
                    "absurd captured length {incl_len} bytes (wire length {orig_len}); \
                     the file is corrupt from here on"
                ),
            });
        }
        let len = incl_len as usize;
        self.done = true;
        let got = self.fill(16 + len).map_err(|e| io(&self.file, e))? - 16;
        self.done = false;
        if got < len {
            self.done = true;
            return Err(SourceError::Truncated {
                file: self.file.clone(),
                frame: number,
                detail: format!("{got} of {len} frame bytes"),
            });
        }
        self.next_number += 1;
        let start = self.at + 16;
        self.at = start + len;
        let nanos = if self.nanos {
            frac.min(999_999_999)
        } else {
            frac.min(999_999).saturating_mul(1000)
        };
        Ok(Some(RawFrame {
            number,
            timestamp: Duration::new(u64::from(secs), nanos),
            link_type: self.link_type,
            bytes: self.buf.get(start..start + len).unwrap_or_default(),
            wire_len: orig_len.max(incl_len),
        }))
    }

    fn name(&self) -> &str {
        &self.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out at most `step` bytes per read, like a pipe or a gzip stream.
    struct Trickle {
        data: Vec<u8>,
        at: usize,
        step: usize,
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(self.step).min(self.data.len() - self.at);
            buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    /// A little-endian µs pcap holding `frames` (link type Ethernet).
    fn capture(frames: &[Vec<u8>]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        out.extend_from_slice(&[2, 0, 4, 0]);
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&65535u32.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        for (i, f) in frames.iter().enumerate() {
            out.extend_from_slice(&(i as u32).to_le_bytes());
            out.extend_from_slice(&7u32.to_le_bytes());
            out.extend_from_slice(&(f.len() as u32).to_le_bytes());
            out.extend_from_slice(&(f.len() as u32).to_le_bytes());
            out.extend_from_slice(f);
        }
        out
    }

    /// Frames of many sizes, one longer than a read, so records straddle every buffer refill.
    fn frames() -> Vec<Vec<u8>> {
        let mut sizes: Vec<usize> = (0..400).map(|i| (i * 7919) % 65_536).collect();
        sizes.insert(150, 3 * READ_SIZE + 5);
        sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| (0..n).map(|j| (i * 31 + j) as u8).collect())
            .collect()
    }

    #[test]
    fn frames_straddling_reads_come_out_whole_and_in_order() {
        let frames = frames();
        for step in [1 << 20, 65_537, 4093] {
            let data = capture(&frames);
            let reader = Trickle { data, at: 0, step };
            let mut source = PcapSource::new(reader, Path::new("t.pcap")).unwrap();
            for (i, want) in frames.iter().enumerate() {
                let got = source.next_frame().unwrap().unwrap();
                assert_eq!(got.number, i as u64 + 1, "step {step}");
                assert_eq!(got.timestamp, Duration::new(i as u64, 7000));
                assert!(got.bytes == want.as_slice(), "frame {} step {step}", i + 1);
            }
            assert!(source.next_frame().unwrap().is_none());
        }
    }

    #[test]
    fn a_record_cut_short_is_reported_with_what_was_there() {
        let frames = frames();
        let mut data = capture(&frames[..3]);
        data.truncate(data.len() - 10);
        let mut source = PcapSource::new(std::io::Cursor::new(data), Path::new("t.pcap")).unwrap();
        assert!(source.next_frame().unwrap().is_some());
        assert!(source.next_frame().unwrap().is_some());
        let err = source.next_frame().unwrap_err().to_string();
        let len = frames[2].len();
        assert!(
            err.contains("frame 3:") && err.contains(&format!("{} of {len}", len - 10)),
            "{err}"
        );
        assert!(source.next_frame().unwrap().is_none());
    }
}
