//! The incident's capture cut out of all loopback traffic: its own addresses' frames, less the
//! "lost" data segments.

use super::Plan;
use crate::error::LabError;
use std::path::Path;

/// The IPv4 source and destination of an Ethernet frame (loopback captures are Ethernet).
fn ipv4_addresses(bytes: &[u8]) -> Option<([u8; 4], [u8; 4])> {
    if bytes.get(12..14)? != [0x08, 0x00] {
        return None;
    }
    let src = bytes.get(26..30)?.try_into().ok()?;
    let dst = bytes.get(30..34)?.try_into().ok()?;
    Some((src, dst))
}

/// Frames of the staff download's data connection that carry bytes: the second and third of
/// them are the "lost" ones.
fn lost_frames(raw: &Path, plan: &Plan, ftp_port: u16) -> Result<Vec<u64>, LabError> {
    let packets = crate::packets::Packets::read(raw)?;
    let data: Vec<u64> = packets
        .0
        .iter()
        .filter(|p| {
            p.src.ip() == std::net::IpAddr::V4(plan.server)
                && p.dst.ip() == std::net::IpAddr::V4(plan.staff)
                && p.src.port() != ftp_port
                && !p.payload.is_empty()
        })
        .map(|p| p.frame)
        .collect();
    if data.len() < 5 {
        return Err(LabError::step(
            "the staff download took fewer than 5 segments",
        )(LabError::Missing(
            "enough data segments to lose two",
        )));
    }
    Ok(data.get(2..4).unwrap_or_default().to_vec())
}

/// Copies the frames of `raw` from or to the incident's addresses into `capture`, without the
/// lost ones.
pub(super) fn keep_incident(
    raw: &Path,
    capture: &Path,
    plan: &Plan,
    ftp_port: u16,
) -> Result<(), LabError> {
    let lost = lost_frames(raw, plan, ftp_port)?;
    let fail = |stderr: String| LabError::Inspector {
        capture: raw.to_path_buf(),
        stderr,
    };
    let mut source = inspector::source::open_file(raw).map_err(|e| fail(e.to_string()))?;
    let mut writer =
        inspector::source::CaptureWriter::create(capture, "lo").map_err(|e| fail(e.to_string()))?;
    // Bounded by the file: every call consumes a record or ends.
    loop {
        let frame = match source.next_frame() {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(inspector::source::SourceError::BadRecord { .. }) => continue,
            Err(_) => break,
        };
        let mine = plan.addresses().map(|a| a.octets());
        let ours = ipv4_addresses(frame.bytes)
            .is_some_and(|(s, d)| mine.contains(&s) || mine.contains(&d));
        if ours && !lost.contains(&frame.number) {
            writer.write(&frame).map_err(|e| fail(e.to_string()))?;
        }
    }
    writer.finish().map_err(|e| fail(e.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_come_from_ipv4_ethernet_frames_only() {
        let mut frame = vec![0u8; 34];
        frame[12] = 0x08;
        frame[26..30].copy_from_slice(&[127, 77, 1, 2]);
        frame[30..34].copy_from_slice(&[127, 77, 3, 4]);
        assert_eq!(
            ipv4_addresses(&frame),
            Some(([127, 77, 1, 2], [127, 77, 3, 4]))
        );
        assert_eq!(ipv4_addresses(&frame[..20]), None);
        frame[12] = 0x86;
        assert_eq!(ipv4_addresses(&frame), None);
        assert_eq!(ipv4_addresses(&[]), None);
    }
}
