//! Classic BPF programs attached to the capture socket: the kernel drops what we do not want
//! before it is queued.

/// A classic BPF program that accepts no packet: attached at a stop, so that the drain reads
/// only what was queued before it.
pub(super) fn accept_nothing() -> [libc::sock_filter; 1] {
    [libc::sock_filter {
        code: (libc::BPF_RET | libc::BPF_K) as u16,
        jt: 0,
        jf: 0,
        k: 0,
    }]
}

/// A classic BPF program that drops packets the host sends (`PACKET_OUTGOING`), keeping the
/// arriving copy: on loopback each packet would otherwise be read twice.
pub(super) fn drop_outgoing() -> [libc::sock_filter; 4] {
    const PACKET_OUTGOING: u32 = 4;
    let stmt = |code: u32, k: u32| libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    [
        // A = skb->pkt_type (an ancillary load: offset SKF_AD_OFF + SKF_AD_PKTTYPE).
        stmt(
            libc::BPF_LD | libc::BPF_W | libc::BPF_ABS,
            (libc::SKF_AD_OFF + libc::SKF_AD_PKTTYPE) as u32,
        ),
        libc::sock_filter {
            code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
            jt: 0,
            jf: 1,
            k: PACKET_OUTGOING,
        },
        stmt(libc::BPF_RET | libc::BPF_K, 0),
        stmt(libc::BPF_RET | libc::BPF_K, u32::MAX),
    ]
}
