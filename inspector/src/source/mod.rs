//! Where frames come from: the [`PacketSource`] seam, with readers for .pcap and .pcapng files.
//!
//! Everything after this module sees only [`RawFrame`]s, so a live capture plugs in by
//! implementing [`PacketSource`] and the rest of the pipeline stays the same.

mod live;
mod pcap;
mod pcapng;

pub use live::{
    CaptureWriter, InterfaceInfo, LiveConfig, LiveError, LiveSource, LiveStats, PRIVILEGE_MESSAGE,
    PortFilter, WriteError, list_interfaces,
};
pub use pcap::PcapSource;
pub use pcapng::PcapNgSource;

use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A link-layer header type, as numbered in the tcpdump.org LINKTYPE registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkType(pub u32);

impl LinkType {
    /// BSD loopback: a 4-byte address family in the capturing host's byte order.
    pub const NULL: LinkType = LinkType(0);
    /// Ethernet II, possibly with 802.1Q VLAN tags.
    pub const ETHERNET: LinkType = LinkType(1);
    /// Raw IP (IPv4 or IPv6, told apart by the version nibble).
    pub const RAW: LinkType = LinkType(101);
    /// OpenBSD loopback: like NULL, family in network byte order.
    pub const LOOP: LinkType = LinkType(108);
    /// Linux "cooked" capture, version 1 (16-byte header).
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// Raw IPv4.
    pub const IPV4: LinkType = LinkType(228);
    /// Raw IPv6.
    pub const IPV6: LinkType = LinkType(229);
    /// Linux "cooked" capture, version 2 (20-byte header).
    pub const LINUX_SLL2: LinkType = LinkType(276);
    /// Old BSD raw IP numbers that some writers still use.
    pub const RAW_OLD: [LinkType; 2] = [LinkType(12), LinkType(14)];
}

impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match *self {
            LinkType::NULL => "NULL",
            LinkType::ETHERNET => "ETHERNET",
            LinkType::RAW | LinkType(12) | LinkType(14) => "RAW",
            LinkType::LOOP => "LOOP",
            LinkType::LINUX_SLL => "LINUX_SLL",
            LinkType::LINUX_SLL2 => "LINUX_SLL2",
            LinkType::IPV4 => "IPV4",
            LinkType::IPV6 => "IPV6",
            _ => return write!(f, "linktype {}", self.0),
        };
        f.write_str(name)
    }
}

/// One captured frame, numbered as Wireshark numbers it (the first frame is 1).
#[derive(Debug, Clone, Copy)]
pub struct RawFrame<'a> {
    /// 1-based frame number (Wireshark's `frame.number`).
    pub number: u64,
    /// Time since the Unix epoch, at nanosecond resolution.
    pub timestamp: Duration,
    /// The link-layer header type of `bytes`.
    pub link_type: LinkType,
    /// The captured bytes (possibly fewer than were on the wire: snap length).
    pub bytes: &'a [u8],
    /// The frame's length on the wire (Wireshark's `frame.len`); `bytes` may be shorter.
    pub wire_len: u32,
}

/// Something that yields frames: a capture file or a live capture.
pub trait PacketSource {
    /// The next frame; `Ok(None)` at the end. After an `Err` the source may still have frames
    /// (a skipped record) or be finished: call again until `Ok(None)`.
    fn next_frame(&mut self) -> Result<Option<RawFrame<'_>>, SourceError>;

    /// A name for messages (the file path).
    fn name(&self) -> &str;
}

/// What went wrong reading a capture. Each names the file and, where there is one, the frame.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The file could not be opened or read.
    #[error("{file}: cannot read: {source}")]
    Io {
        /// The capture file.
        file: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The file does not start with a pcap or pcapng magic number.
    #[error("{file}: not a pcap or pcapng capture (starts with {magic})")]
    NotACapture {
        /// The capture file.
        file: PathBuf,
        /// The first bytes, in hex.
        magic: String,
    },
    /// The file header is there but broken.
    #[error("{file}: bad file header: {detail}")]
    BadHeader {
        /// The capture file.
        file: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The file ends in the middle of a record (a capture that was cut off or is still being
    /// written). Everything before it was read.
    #[error(
        "{file}: frame {frame}: capture ends in the middle of this record ({detail}); frames before it were read"
    )]
    Truncated {
        /// The capture file.
        file: PathBuf,
        /// The frame whose record is incomplete.
        frame: u64,
        /// What was missing.
        detail: String,
    },
    /// A record whose header makes no sense (length beyond any snap length, unknown interface).
    #[error("{file}: frame {frame}: {detail}")]
    BadRecord {
        /// The capture file.
        file: PathBuf,
        /// The frame at fault.
        frame: u64,
        /// What is wrong.
        detail: String,
    },
}

/// The gzip magic number (RFC 1952 §2.3.1).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Opens a capture file and picks the reader from its magic number. A gzip-compressed capture
/// (`capture.pcap.gz`, as tcpdump rotations and tshark write them) is decompressed as it is
/// read, never whole in memory.
pub fn open_file(path: &Path) -> Result<Box<dyn PacketSource>, SourceError> {
    let io = |source| SourceError::Io {
        file: path.to_owned(),
        source,
    };
    // Unbuffered: the pcap reader makes large reads of its own (a BufReader would copy every
    // byte once more); the pcapng reader gets a buffer below.
    let mut file = File::open(path).map_err(io)?;
    let (magic, got) = read_magic(&mut file).map_err(io)?;
    if got >= 2 && magic.starts_with(&GZIP_MAGIC) {
        let file = File::open(path).map_err(io)?;
        // Multi-member like zcat: concatenated .gz files are one stream.
        let gz = flate2::read::MultiGzDecoder::new(BufReader::with_capacity(1 << 16, file));
        let mut inner = BufReader::with_capacity(1 << 20, gz);
        let (inner_magic, inner_got) = read_magic(&mut inner).map_err(|e| SourceError::Io {
            file: path.to_owned(),
            source: std::io::Error::new(e.kind(), format!("gzip-compressed, but: {e}")),
        })?;
        let reader = std::io::Cursor::new(inner_magic)
            .take(inner_got as u64)
            .chain(inner);
        return pick_reader(reader, path, inner_magic, inner_got).map_err(|e| match e {
            SourceError::NotACapture { file, magic } => SourceError::NotACapture {
                file,
                magic: format!("{magic} once gunzipped"),
            },
            other => other,
        });
    }
    let reader = std::io::Cursor::new(magic).take(got as u64).chain(file);
    if magic == PCAPNG_MAGIC {
        return pick_reader(BufReader::with_capacity(1 << 20, reader), path, magic, got);
    }
    pick_reader(reader, path, magic, got)
}

/// The first four bytes of a pcapng file (its Section Header Block type).
const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

/// The first four bytes of `reader` (fewer when it is shorter), and how many there were.
fn read_magic(reader: &mut impl Read) -> std::io::Result<([u8; 4], usize)> {
    let mut magic = [0u8; 4];
    let mut got = 0;
    while got < magic.len() {
        let n = reader.read(magic.get_mut(got..).unwrap_or_default())?;
        if n == 0 {
            break;
        }
        got += n;
    }
    Ok((magic, got))
}

/// The reader for `magic`; `reader` starts with those bytes.
fn pick_reader<R: Read + 'static>(
    reader: R,
    path: &Path,
    magic: [u8; 4],
    got: usize,
) -> Result<Box<dyn PacketSource>, SourceError> {
    match magic {
        PCAPNG_MAGIC => Ok(Box::new(PcapNgSource::new(reader, path)?)),
        m if got == 4 && pcap::is_magic(m) => Ok(Box::new(PcapSource::new(reader, path)?)),
        _ => Err(SourceError::NotACapture {
            file: path.to_owned(),
            magic: if got == 0 {
                "nothing: the file is empty".to_owned()
            } else {
                hex::encode(magic.get(..got).unwrap_or_default())
            },
        }),
    }
}

/// Reads as much of `buf` as there is (the pcap and pcapng readers); returns how many bytes
/// were read.
pub(crate) fn read_full(reader: &mut impl std::io::Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(buf.get_mut(got..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}
