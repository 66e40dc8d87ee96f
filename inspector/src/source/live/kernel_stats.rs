//! The kernel's own count of frames the capture socket dropped, read over netlink `sock_diag`
//! (pnet keeps the socket's fd to itself, and `PACKET_STATISTICS` would need an unsafe
//! `getsockopt`).

use socket2::{Domain, Socket, Type};
use std::io::Read;

/// Frames the kernel dropped on `socket` because its receive buffer was full; `None` when the
/// kernel did not say.
pub(super) fn kernel_drops(socket: &Socket) -> Option<u64> {
    let inode = rustix::fs::fstat(socket).ok()?.st_ino;
    sock_diag_drops(u32::try_from(inode).ok()?)
}

/// `sk_drops` of the packet socket with inode `inode`, asked of the kernel with a
/// `SOCK_DIAG_BY_FAMILY` dump of `AF_PACKET` sockets (linux/packet_diag.h, `PACKET_DIAG_MEMINFO`).
/// The kernel counts a frame there each time the receive buffer was full.
fn sock_diag_drops(inode: u32) -> Option<u64> {
    const SOCK_DIAG_BY_FAMILY: u16 = 20;
    const NLM_F_REQUEST: u16 = 0x1;
    const NLM_F_DUMP: u16 = 0x300;
    const NLMSG_ERROR: u16 = 2;
    const NLMSG_DONE: u16 = 3;
    const PACKET_SHOW_MEMINFO: u32 = 0x10;
    const PACKET_DIAG_MEMINFO: u16 = 6;
    const SK_MEMINFO_DROPS: usize = 8;

    let socket = Socket::new(
        Domain::from(libc::AF_NETLINK),
        Type::DGRAM,
        Some(libc::NETLINK_SOCK_DIAG.into()),
    )
    .ok()?;
    let mut request = Vec::with_capacity(36);
    request.extend_from_slice(&36u32.to_ne_bytes()); // nlmsg_len
    request.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    request.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    request.extend_from_slice(&1u32.to_ne_bytes()); // seq
    request.extend_from_slice(&0u32.to_ne_bytes()); // pid
    request.push(libc::AF_PACKET as u8); // sdiag_family
    request.push(0); // sdiag_protocol
    request.extend_from_slice(&0u16.to_ne_bytes()); // pad
    request.extend_from_slice(&inode.to_ne_bytes()); // pdiag_ino (ignored by the dump)
    request.extend_from_slice(&PACKET_SHOW_MEMINFO.to_ne_bytes());
    request.extend_from_slice(&[0; 8]); // pdiag_cookie
    socket.send(&request).ok()?;

    let u16_at = |b: &[u8], at: usize| -> Option<u16> {
        Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
    };
    let u32_at = |b: &[u8], at: usize| -> Option<u32> {
        Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
    };
    let mut buf = vec![0u8; 64 * 1024];
    let mut reader = &socket;
    for _ in 0..1000 {
        let n = reader.read(&mut buf).ok()?;
        let reply = buf.get(..n)?;
        let mut at = 0;
        while at + 16 <= reply.len() {
            let len = u32_at(reply, at)? as usize;
            let kind = u16_at(reply, at + 4)?;
            if len < 16 {
                return None;
            }
            match kind {
                NLMSG_DONE | NLMSG_ERROR => return None,
                SOCK_DIAG_BY_FAMILY if u32_at(reply, at + 16 + 4)? == inode => {
                    // Attributes follow the 16-byte packet_diag_msg.
                    let end = (at + len).min(reply.len());
                    let mut attr = at + 32;
                    while attr + 4 <= end {
                        let attr_len = usize::from(u16_at(reply, attr)?);
                        if attr_len < 4 {
                            return None;
                        }
                        if u16_at(reply, attr + 2)? == PACKET_DIAG_MEMINFO {
                            return u32_at(reply, attr + 4 + SK_MEMINFO_DROPS * 4).map(u64::from);
                        }
                        attr += (attr_len + 3) & !3;
                    }
                    return None;
                }
                _ => {}
            }
            at += (len + 3) & !3;
        }
    }
    None
}
