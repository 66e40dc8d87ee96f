//! The pcapng format (read with `pcap-file`): sections, several interfaces each with its own link
//! type and timestamp resolution, and packets in Enhanced, Simple or obsolete Packet blocks.

use super::{LinkType, PacketSource, RawFrame, SourceError};
use pcap_file::PcapError;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::pcapng::{Block, PcapNgReader};
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

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
    reader: PcapNgReader<R>,
    file: PathBuf,
    name: String,
    interfaces: Vec<Interface>,
    next_number: u64,
    owned: Vec<u8>,
    done: bool,
}

impl<R: Read> PcapNgSource<R> {
    /// Reads the first section header; `path` is used in messages only.
    pub fn new(reader: R, path: &Path) -> Result<Self, SourceError> {
        let reader = PcapNgReader::new(reader).map_err(|e| SourceError::BadHeader {
            file: path.to_owned(),
            detail: format!("pcapng section header: {}", describe(&e)),
        })?;
        Ok(PcapNgSource {
            reader,
            file: path.to_owned(),
            name: path.display().to_string(),
            interfaces: Vec::new(),
            next_number: 1,
            owned: Vec::new(),
            done: false,
        })
    }
}

fn describe(e: &PcapError) -> String {
    match e {
        PcapError::IoError(io) if io.kind() == ErrorKind::UnexpectedEof => {
            "file ends inside it (or its length field is absurd)".to_owned()
        }
        other => other.to_string(),
    }
}

impl<R: Read> PacketSource for PcapNgSource<R> {
    fn next_frame(&mut self) -> Result<Option<RawFrame<'_>>, SourceError> {
        if self.done {
            return Ok(None);
        }
        loop {
            let number = self.next_number;
            let block = match self.reader.next_block() {
                None => {
                    self.done = true;
                    return Ok(None);
                }
                Some(Ok(block)) => block,
                Some(Err(e)) => {
                    // pcap-file cannot step over a block it failed to parse: stop here.
                    self.done = true;
                    let truncated = matches!(&e, PcapError::IoError(io)
                        if io.kind() == ErrorKind::UnexpectedEof);
                    return Err(if truncated {
                        SourceError::Truncated {
                            file: self.file.clone(),
                            frame: number,
                            detail: describe(&e),
                        }
                    } else {
                        SourceError::BadRecord {
                            file: self.file.clone(),
                            frame: number,
                            detail: format!("bad pcapng block: {}", describe(&e)),
                        }
                    });
                }
            };
            let (interface_id, raw_ts, data) = match block {
                Block::SectionHeader(_) => {
                    self.interfaces.clear();
                    continue;
                }
                Block::InterfaceDescription(idb) => {
                    let mut interface = Interface {
                        link_type: LinkType(u32::from(idb.linktype)),
                        units_per_sec: 1_000_000,
                        offset_secs: 0,
                    };
                    for option in &idb.options {
                        match option {
                            InterfaceDescriptionOption::IfTsResol(r) => {
                                interface.units_per_sec = units_per_sec(*r);
                            }
                            InterfaceDescriptionOption::IfTsOffset(o) => {
                                interface.offset_secs = *o;
                            }
                            _ => {}
                        }
                    }
                    self.interfaces.push(interface);
                    continue;
                }
                // pcap-file stores the raw timestamp units in a Duration's nanoseconds.
                Block::EnhancedPacket(epb) => (
                    epb.interface_id,
                    u64::try_from(epb.timestamp.as_nanos()).unwrap_or(u64::MAX),
                    epb.data,
                ),
                Block::Packet(pb) => (u32::from(pb.interface_id), pb.timestamp, pb.data),
                Block::SimplePacket(spb) => (0, 0, spb.data),
                Block::SystemdJournalExport(_) => {
                    // Wireshark counts these as frames too; keep the numbering in step.
                    self.next_number += 1;
                    continue;
                }
                _ => continue,
            };
            // Copied out so the block's borrow of the reader ends here (a borrow returned from
            // inside a loop is something the borrow checker cannot yet follow).
            self.owned.clear();
            self.owned.extend_from_slice(&data);
            self.next_number += 1;
            let Some(interface) = usize::try_from(interface_id)
                .ok()
                .and_then(|i| self.interfaces.get(i))
                .copied()
            else {
                return Err(SourceError::BadRecord {
                    file: self.file.clone(),
                    frame: number,
                    detail: format!(
                        "packet names interface {interface_id}, but the section describes {}",
                        self.interfaces.len()
                    ),
                });
            };
            return Ok(Some(RawFrame {
                number,
                timestamp: interface.timestamp(raw_ts),
                link_type: interface.link_type,
                bytes: &self.owned,
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
