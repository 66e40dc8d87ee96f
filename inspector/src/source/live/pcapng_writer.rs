//! Writes [`RawFrame`]s as pcapng (pcap-file's writer), so a live capture can be re-read with
//! `inspector read` and opened in Wireshark or `tshark -r`.

use crate::source::{LinkType, RawFrame};
use pcap_file::DataLink;
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

/// Snap length written in each Interface Description Block: larger than any loopback frame
/// (MTU 65536 plus headers, or a GSO super-packet).
pub const WRITE_SNAPLEN: u32 = 256 * 1024;

/// pcap-file writes Enhanced Packet Block timestamps as nanoseconds, so every interface
/// declares `if_tsresol` = 9 (10^-9 s); without it readers would take them for microseconds.
const TSRESOL_NANOS: u8 = 9;

/// Writing a capture failed.
#[derive(Debug, thiserror::Error)]
#[error("{file}: cannot write the capture: {detail}")]
pub struct WriteError {
    /// The capture file being written.
    pub file: PathBuf,
    /// What went wrong.
    pub detail: String,
}

/// A pcapng file being written: one Interface Description Block per link type met, then one
/// Enhanced Packet Block per frame, in the order given (so frame numbers are kept).
pub struct CaptureWriter<W: Write> {
    out: PcapNgWriter<W>,
    file: PathBuf,
    interface_name: String,
    interfaces: Vec<LinkType>,
    frames: u64,
}

impl<W: Write> std::fmt::Debug for CaptureWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureWriter")
            .field("file", &self.file)
            .field("interfaces", &self.interfaces)
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}

/// Steps in which the written file is advised about.
const ADVICE_STEP: u64 = 4 << 20;
/// How far behind the end of the file writeback of a step is started.
const WRITEBACK_LAG: u64 = 8 << 20;
/// How far behind the end of the file a step's pages leave the cache.
const DROP_LAG: u64 = 32 << 20;
/// Steps queued for the advising thread; past it advice is skipped (those pages stay cached).
const ADVICE_QUEUED: usize = 64;

/// The capture file, written behind: pages a few MiB behind the end are written back and then
/// dropped from the page cache (`POSIX_FADV_DONTNEED`), so that a long capture reuses the same
/// few pages instead of taking fresh ones for every gigabyte, which on a VM costs more than
/// the copy itself (the profile of `inspector live --write`: half the process's CPU in the
/// kernel's page-cache copy). A capture is written once and read later, if at all.
///
/// The advice runs on a thread of its own: starting writeback can wait for a busy disk, and
/// the capturing thread must never wait, or the kernel drops frames. When that thread lags,
/// advice is skipped, never queued without bound.
#[derive(Debug)]
pub struct WriteBehind {
    file: File,
    written: u64,
    /// The end of each step written, to the advising thread (`None` if it could not start).
    steps: Option<SyncSender<u64>>,
    advisor: Option<JoinHandle<()>>,
}

impl WriteBehind {
    /// `file`, written from its start.
    pub fn new(file: File) -> WriteBehind {
        let (steps, advisor) = match file.try_clone() {
            Ok(advised) => {
                let (to, from) = sync_channel::<u64>(ADVICE_QUEUED);
                let advisor = std::thread::Builder::new()
                    .name("inspector-writeback".into())
                    .spawn(move || advise(&advised, from));
                match advisor {
                    Ok(advisor) => (Some(to), Some(advisor)),
                    Err(_) => (None, None),
                }
            }
            Err(_) => (None, None),
        };
        WriteBehind {
            file,
            written: 0,
            steps,
            advisor,
        }
    }
}

/// For each step written (its end), advises the step `WRITEBACK_LAG` behind (DONTNEED starts
/// writeback of dirty pages) and the one `DROP_LAG` behind (by then written back: DONTNEED drops
/// them). Advice that fails changes nothing but speed.
fn advise(file: &File, steps: Receiver<u64>) {
    let len = std::num::NonZeroU64::new(ADVICE_STEP);
    for end in steps {
        for lag in [WRITEBACK_LAG, DROP_LAG] {
            if let Some(offset) = end.checked_sub(lag + ADVICE_STEP) {
                let _ = rustix::fs::fadvise(file, offset, len, rustix::fs::Advice::DontNeed);
            }
        }
    }
}

impl Write for WriteBehind {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        let before = self.written;
        self.written += n as u64;
        if let Some(steps) = &self.steps {
            for step in before / ADVICE_STEP..self.written / ADVICE_STEP {
                let _ = steps.try_send((step + 1) * ADVICE_STEP);
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl Drop for WriteBehind {
    fn drop(&mut self) {
        drop(self.steps.take());
        if let Some(advisor) = self.advisor.take() {
            let _ = advisor.join();
        }
    }
}

impl CaptureWriter<BufWriter<WriteBehind>> {
    /// Creates (or truncates) `path`; `interface_name` is recorded as `if_name` (e.g. `lo`).
    pub fn create(path: &Path, interface_name: &str) -> Result<Self, WriteError> {
        let file = File::create(path).map_err(|e| WriteError {
            file: path.to_owned(),
            detail: e.to_string(),
        })?;
        Self::new(
            BufWriter::with_capacity(1 << 20, WriteBehind::new(file)),
            path,
            interface_name,
        )
    }
}

impl<W: Write> CaptureWriter<W> {
    /// Starts a pcapng section on `out`; `file` names it in error messages.
    pub fn new(out: W, file: &Path, interface_name: &str) -> Result<Self, WriteError> {
        let out = PcapNgWriter::new(out).map_err(|e| WriteError {
            file: file.to_owned(),
            detail: e.to_string(),
        })?;
        Ok(CaptureWriter {
            out,
            file: file.to_owned(),
            interface_name: interface_name.to_owned(),
            interfaces: Vec::new(),
            frames: 0,
        })
    }

    /// Appends one frame. Allocation-free once its link type has an interface block.
    pub fn write(&mut self, frame: &RawFrame<'_>) -> Result<(), WriteError> {
        let interface_id = self.interface_for(frame.link_type)?;
        // A frame cut to the read buffer keeps its length on the wire, as tcpdump's snap length.
        let len = frame
            .wire_len
            .max(u32::try_from(frame.bytes.len()).unwrap_or(u32::MAX));
        let block = EnhancedPacketBlock {
            interface_id,
            timestamp: frame.timestamp,
            original_len: len,
            data: Cow::Borrowed(frame.bytes),
            options: Vec::new(),
        };
        self.out
            .write_pcapng_block(block)
            .map_err(|e| self.error(&e.to_string()))?;
        self.frames += 1;
        Ok(())
    }

    /// Frames written so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Flushes and hands back the underlying writer.
    pub fn finish(self) -> Result<W, WriteError> {
        let mut out = self.out.into_inner();
        out.flush().map_err(|e| WriteError {
            file: self.file.clone(),
            detail: e.to_string(),
        })?;
        Ok(out)
    }

    fn interface_for(&mut self, link_type: LinkType) -> Result<u32, WriteError> {
        if let Some(i) = self.interfaces.iter().position(|l| *l == link_type) {
            return u32::try_from(i).map_err(|_| self.error("too many interfaces"));
        }
        let block = InterfaceDescriptionBlock {
            linktype: DataLink::from(link_type.0),
            snaplen: WRITE_SNAPLEN,
            options: vec![
                InterfaceDescriptionOption::IfName(Cow::Owned(self.interface_name.clone())),
                InterfaceDescriptionOption::IfTsResol(TSRESOL_NANOS),
            ],
        };
        self.out
            .write_pcapng_block(block)
            .map_err(|e| self.error(&e.to_string()))?;
        self.interfaces.push(link_type);
        u32::try_from(self.interfaces.len() - 1).map_err(|_| self.error("too many interfaces"))
    }

    fn error(&self, detail: &str) -> WriteError {
        WriteError {
            file: self.file.clone(),
            detail: detail.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_file_written_behind_past_the_drop_lag_holds_every_byte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("behind.bin");
        let file = File::create(&path).unwrap();
        let mut out = BufWriter::new(WriteBehind::new(file));
        // Odd-sized pieces, so steps end inside writes; past DROP_LAG so pages were dropped.
        let total = (DROP_LAG + 3 * ADVICE_STEP + 12_345) as usize;
        let piece: Vec<u8> = (0..65_537u32).map(|i| (i % 251) as u8).collect();
        let mut written = 0;
        while written < total {
            let n = piece.len().min(total - written);
            out.write_all(&piece[..n]).unwrap();
            written += n;
        }
        out.flush().unwrap();
        drop(out);
        let back = std::fs::read(&path).unwrap();
        assert_eq!(back.len(), total);
        assert!(
            back.chunks(piece.len()).all(|c| c == &piece[..c.len()]),
            "a byte changed"
        );
    }

    #[test]
    fn written_frames_read_back_with_numbers_times_and_link_types() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.pcapng");
        let mut w = CaptureWriter::create(&path, "lo").unwrap();
        let frames: [(LinkType, &[u8], Duration); 3] = [
            (
                LinkType::ETHERNET,
                b"abc",
                Duration::new(1_700_000_000, 123_456_789),
            ),
            (LinkType::RAW, b"defgh", Duration::new(1_700_000_001, 1)),
            (LinkType::ETHERNET, b"", Duration::new(1_700_000_002, 0)),
        ];
        for (i, (link_type, bytes, timestamp)) in frames.iter().enumerate() {
            w.write(&RawFrame {
                number: i as u64 + 1,
                timestamp: *timestamp,
                link_type: *link_type,
                bytes,
                wire_len: bytes.len() as u32,
            })
            .unwrap();
        }
        assert_eq!(w.frames(), 3);
        w.finish().unwrap();

        let mut source = crate::source::open_file(&path).unwrap();
        for (i, (link_type, bytes, timestamp)) in frames.iter().enumerate() {
            let frame = source.next_frame().unwrap().unwrap();
            assert_eq!(frame.number, i as u64 + 1);
            assert_eq!(frame.link_type, *link_type);
            assert_eq!(frame.bytes, *bytes);
            assert_eq!(frame.timestamp, *timestamp);
        }
        assert!(source.next_frame().unwrap().is_none());
    }
}
