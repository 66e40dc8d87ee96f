//! The pcapng format, read by hand: sections (either byte order), several interfaces each with
//! its own link type and timestamp resolution, and packets in Enhanced, Simple or obsolete Packet
//! blocks.
//!
//! Read by hand rather than with `pcap-file`'s reader because that one decodes every text option
//! (comments, `shb_userappl`…) as UTF-8 and cannot step over a block it failed to decode: one
//! odd byte in a comment would end the capture there. Options are text for people; only the two
//! interface options that change timestamps are read, everything else is stepped over (as tshark
//! does).

use super::{LinkType, PacketSource, RawFrame, SourceError, read_full};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Block types (pcapng draft §4 and §11.1).
const SECTION_HEADER: u32 = 0x0a0d_0d0a;
const INTERFACE_DESCRIPTION: u32 = 1;
const PACKET: u32 = 2;
const SIMPLE_PACKET: u32 = 3;
const ENHANCED_PACKET: u32 = 6;
const SYSTEMD_JOURNAL_EXPORT: u32 = 9;
/// The section header's byte-order magic, as read in big-endian.
const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;
/// Interface options the timestamps depend on.
const IF_TSRESOL: u16 = 9;
const IF_TSOFFSET: u16 = 14;
/// Blocks this inspector decodes are read into memory; none is legitimately anywhere near this
/// big, so a larger length means a corrupt block (other blocks are stepped over unread).
const MAX_BLOCK: u32 = 64 << 20;

/// What a packet block needs to know about the interface it was captured on.
#[derive(Debug, Clone, Copy)]
struct Interface {
    link_type: LinkType,
    /// Timestamp units per second (`if_tsresol`, default 10^6).
    units_per_sec: u64,
    /// Seconds to add to every timestamp (`if_tsoffset`).
    offset_secs: u64,
}

impl Interface {
    fn timestamp(&self, raw: u64) -> Duration {
        let ups = self.units_per_sec.max(1);
        let secs = raw / ups;
        let nanos = (u128::from(raw % ups) * 1_000_000_000 / u128::from(ups)) as u32;
        Duration::new(secs.saturating_add(self.offset_secs), nanos)
    }
}

/// `if_tsresol`: high bit clear means 10^-n seconds, set means 2^-n (pcapng §4.2).
fn units_per_sec(resol: u8) -> u64 {
    let n = u32::from(resol & 0x7f);
    if resol & 0x80 == 0 {
        10u64.checked_pow(n).unwrap_or(u64::MAX)
    } else {
        2u64.checked_pow(n).unwrap_or(u64::MAX)
    }
}

/// A [`PacketSource`] over a pcapng stream.
pub struct PcapNgSource<R: Read> {
    reader: R,
    file: PathBuf,
    name: String,
    big_endian: bool,
    interfaces: Vec<Interface>,
    next_number: u64,
    /// The body of the block being read.
    body: Vec<u8>,
    done: bool,
}

/// How reading one block went wrong.
enum BlockError {
    /// The file ends inside the block.
    Truncated(String),
    /// The block's framing makes no sense.
    Bad(String),
    /// The operating system could not read.
    Io(std::io::Error),
}

impl<R: Read> PcapNgSource<R> {
    /// Reads the first section header; `path` is used in messages only.
    pub fn new(reader: R, path: &Path) -> Result<Self, SourceError> {
        let mut source = PcapNgSource {
            reader,
            file: path.to_owned(),
            name: path.display().to_string(),
            big_endian: false,
            interfaces: Vec::new(),
            next_number: 1,
            body: Vec::with_capacity(65536),
            done: false,
        };
        let bad = |detail: String| SourceError::BadHeader {
            file: path.to_owned(),
            detail: format!("pcapng section header: {detail}"),
        };
        match source.next_block() {
            Ok(Some(SECTION_HEADER)) => Ok(source),
            Ok(_) => Err(bad("missing".to_owned())),
            Err(BlockError::Truncated(d) | BlockError::Bad(d)) => Err(bad(d)),
            Err(BlockError::Io(source)) => Err(SourceError::Io {
                file: path.to_owned(),
                source,
            }),
        }
    }

    fn u16_at(&self, at: usize) -> Option<u16> {
        let b: [u8; 2] = self.body.get(at..at + 2)?.try_into().ok()?;
        Some(if self.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }

    fn u32_at(&self, at: usize) -> Option<u32> {
        let b: [u8; 4] = self.body.get(at..at + 4)?.try_into().ok()?;
        Some(if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    fn u64_at(&self, at: usize) -> Option<u64> {
        let b: [u8; 8] = self.body.get(at..at + 8)?.try_into().ok()?;
        Some(if self.big_endian {
            u64::from_be_bytes(b)
        } else {
            u64::from_le_bytes(b)
        })
    }

    /// Reads the next block; returns its type with its body in `self.body` (empty for blocks
    /// that are stepped over), or `None` at the end of the file. A section header sets the byte
    /// order for what follows.
    fn next_block(&mut self) -> Result<Option<u32>, BlockError> {
        let mut head = [0u8; 8];
        let got = read_full(&mut self.reader, &mut head).map_err(BlockError::Io)?;
        if got == 0 {
            return Ok(None);
        }
        if got < head.len() {
            return Err(BlockError::Truncated(format!(
                "{got} of 8 block header bytes"
            )));
        }
        let [t0, t1, t2, t3, l0, l1, l2, l3] = head;
        let mut kind = self.word([t0, t1, t2, t3]);
        if kind == SECTION_HEADER {
            // The type reads the same in both byte orders; the magic after the length tells.
            let mut magic = [0u8; 4];
            let got = read_full(&mut self.reader, &mut magic).map_err(BlockError::Io)?;
            if got < magic.len() {
                return Err(BlockError::Truncated(
                    "file ends inside the section header".to_owned(),
                ));
            }
            self.big_endian = match u32::from_be_bytes(magic) {
                BYTE_ORDER_MAGIC => true,
                m if m.swap_bytes() == BYTE_ORDER_MAGIC => false,
                m => {
                    return Err(BlockError::Bad(format!(
                        "section header with byte-order magic {m:08x}"
                    )));
                }
            };
            kind = SECTION_HEADER;
            self.body.clear();
            self.body.extend_from_slice(&magic);
        } else {
            self.body.clear();
        }
        let len = self.word([l0, l1, l2, l3]);
        if !len.is_multiple_of(4) || len < 12 + self.body.len() as u32 {
            return Err(BlockError::Bad(format!(
                "pcapng block of type {kind:#x} with length {len}"
            )));
        }
        // Body and the trailing copy of the length.
        let rest = len - 8 - self.body.len() as u32;
        let wanted = matches!(
            kind,
            SECTION_HEADER | INTERFACE_DESCRIPTION | PACKET | SIMPLE_PACKET | ENHANCED_PACKET
        );
        if !wanted {
            let skipped = std::io::copy(
                &mut (&mut self.reader).take(u64::from(rest)),
                &mut std::io::sink(),
            )
            .map_err(BlockError::Io)?;
            if skipped < u64::from(rest) {
                return Err(BlockError::Truncated(format!(
                    "{skipped} of {rest} bytes of a block of type {kind:#x}"
                )));
            }
            return Ok(Some(kind));
        }
        if len > MAX_BLOCK {
            return Err(BlockError::Bad(format!(
                "pcapng block of type {kind:#x} claims {len} bytes (absurd)"
            )));
        }
        let start = self.body.len();
        self.body.resize(start + rest as usize, 0);
        let got = read_full(
            &mut self.reader,
            self.body.get_mut(start..).unwrap_or_default(),
        )
        .map_err(BlockError::Io)?;
        if got < rest as usize {
            return Err(BlockError::Truncated(format!(
                "{got} of {rest} bytes of a block of type {kind:#x}"
            )));
        }
        let trailer_at = self.body.len() - 4;
        if self.u32_at(trailer_at) != Some(len) {
            return Err(BlockError::Bad(format!(
                "pcapng block of type {kind:#x}: its two length fields differ"
            )));
        }
        self.body.truncate(trailer_at);
        Ok(Some(kind))
    }

    fn word(&self, bytes: [u8; 4]) -> u32 {
        if self.big_endian {
            u32::from_be_bytes(bytes)
        } else {
            u32::from_le_bytes(bytes)
        }
    }

    /// An Interface Description block in `self.body`: link type, then options from byte 8.
    fn interface(&self) -> Interface {
        let mut interface = Interface {
            link_type: LinkType(u32::from(self.u16_at(0).unwrap_or(0))),
            units_per_sec: 1_000_000,
            offset_secs: 0,
        };
        let mut at = 8;
        while let (Some(code), Some(len)) = (self.u16_at(at), self.u16_at(at + 2)) {
            let value = at + 4;
            match (code, len) {
                (0, _) => break,
                (IF_TSRESOL, 1) => {
                    if let Some(&r) = self.body.get(value) {
                        interface.units_per_sec = units_per_sec(r);
                    }
                }
                (IF_TSOFFSET, 8) => {
                    interface.offset_secs = self.u64_at(value).unwrap_or(0);
                }
                _ => {}
            }
            at = value + usize::from(len).next_multiple_of(4);
        }
        interface
    }

    fn bad_record(&self, frame: u64, detail: String) -> SourceError {
        SourceError::BadRecord {
            file: self.file.clone(),
            frame,
            detail,
        }
    }
}

impl<R: Read> PacketSource for PcapNgSource<R> {
    fn next_frame(&mut self) -> Result<Option<RawFrame<'_>>, SourceError> {
        if self.done {
            return Ok(None);
        }
        loop {
            let number = self.next_number;
            let kind = match self.next_block() {
                Ok(None) => {
                    self.done = true;
                    return Ok(None);
                }
                Ok(Some(kind)) => kind,
                Err(e) => {
                    // Past a block whose framing is broken there is no telling where the next
                    // one starts: stop here.
                    self.done = true;
                    return Err(match e {
                        BlockError::Truncated(detail) => SourceError::Truncated {
                            file: self.file.clone(),
                            frame: number,
                            detail,
                        },
                        BlockError::Bad(detail) => self.bad_record(number, detail),
                        BlockError::Io(source) => SourceError::Io {
                            file: self.file.clone(),
                            source,
                        },
                    });
                }
            };
            // (interface, raw timestamp, where the data starts, captured length, wire length)
            let (interface_id, raw_ts, data_at, caplen, wire_len): (u32, u64, usize, usize, u32) =
                match kind {
                    SECTION_HEADER => {
                        self.interfaces.clear();
                        continue;
                    }
                    INTERFACE_DESCRIPTION => {
                        let interface = self.interface();
                        self.interfaces.push(interface);
                        continue;
                    }
                    ENHANCED_PACKET | PACKET => {
                        let fields = if kind == ENHANCED_PACKET {
                            (
                                self.u32_at(0),
                                self.u32_at(4),
                                self.u32_at(8),
                                self.u32_at(12),
                            )
                        } else {
                            let id = self.u16_at(0).map(u32::from);
                            (id, self.u32_at(4), self.u32_at(8), self.u32_at(12))
                        };
                        self.next_number += 1;
                        let (Some(id), Some(high), Some(low), Some(caplen)) = fields else {
                            return Err(
                                self.bad_record(number, "packet block too short".to_owned())
                            );
                        };
                        let wire = self.u32_at(16).unwrap_or(caplen).max(caplen);
                        (
                            id,
                            u64::from(high) << 32 | u64::from(low),
                            20,
                            caplen as usize,
                            wire,
                        )
                    }
                    SIMPLE_PACKET => {
                        self.next_number += 1;
                        // No captured length: the original length, cut to what the block holds.
                        let orig = self.u32_at(0).unwrap_or(0);
                        let caplen = (orig as usize).min(self.body.len().saturating_sub(4));
                        (0, 0, 4, caplen, orig)
                    }
                    SYSTEMD_JOURNAL_EXPORT => {
                        // Wireshark counts these as frames too; keep the numbering in step.
                        self.next_number += 1;
                        continue;
                    }
                    _ => continue,
                };
            let Some(interface) = usize::try_from(interface_id)
                .ok()
                .and_then(|i| self.interfaces.get(i))
                .copied()
            else {
                return Err(self.bad_record(
                    number,
                    format!(
                        "packet names interface {interface_id}, but the section describes {}",
                        self.interfaces.len()
                    ),
                ));
            };
            let Some(bytes) = self.body.get(data_at..data_at.saturating_add(caplen)) else {
                return Err(self.bad_record(
                    number,
                    format!("packet block claims {caplen} captured bytes, more than it holds"),
                ));
            };
            return Ok(Some(RawFrame {
                number,
                timestamp: interface.timestamp(raw_ts),
                link_type: interface.link_type,
                bytes,
                wire_len,
            }));
        }
    }

    fn name(&self) -> &str {
        &self.name
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsresol_nine_means_nanoseconds() {
        let i = Interface {
            link_type: LinkType::ETHERNET,
            units_per_sec: units_per_sec(9),
            offset_secs: 0,
        };
        assert_eq!(i.timestamp(1_500_000_001), Duration::new(1, 500_000_001));
    }

    #[test]
    fn tsresol_with_high_bit_is_a_power_of_two() {
        assert_eq!(units_per_sec(0x80 | 10), 1024);
        assert_eq!(units_per_sec(6), 1_000_000);
    }
}
