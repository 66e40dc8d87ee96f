//! Hand-written captures: a small FTP session as IPv4 packets, wrapped in any link layer and
//! written as pcap or pcapng, so link types and broken files are tested without root.
#![allow(dead_code, reason = "each test file uses a different subset")]

use etherparse::PacketBuilder;

/// The file sent in the synthetic session.
pub const FILE: &[u8] = b"secret plans\nline two\n";

struct Conn {
    c: ([u8; 4], u16),
    s: ([u8; 4], u16),
    cseq: u32,
    sseq: u32,
}

fn tcp(
    from: ([u8; 4], u16),
    to: ([u8; 4], u16),
    seq: u32,
    ack: u32,
    flags: &str,
    payload: &[u8],
) -> Vec<u8> {
    let mut b = PacketBuilder::ipv4(from.0, to.0, 64).tcp(from.1, to.1, seq, 65535);
    if flags.contains('S') {
        b = b.syn();
    }
    if flags.contains('A') {
        b = b.ack(ack);
    }
    if flags.contains('F') {
        b = b.fin();
    }
    if flags.contains('P') {
        b = b.psh();
    }
    if flags.contains('R') {
        b = b.rst();
    }
    let mut out = Vec::new();
    b.write(&mut out, payload).expect("build packet");
    out
}

impl Conn {
    fn open(c: ([u8; 4], u16), s: ([u8; 4], u16), out: &mut Vec<Vec<u8>>) -> Conn {
        out.push(tcp(c, s, 1000, 0, "S", b""));
        out.push(tcp(s, c, 5000, 1001, "SA", b""));
        out.push(tcp(c, s, 1001, 5001, "A", b""));
        Conn {
            c,
            s,
            cseq: 1001,
            sseq: 5001,
        }
    }
    fn client(&mut self, data: &[u8], out: &mut Vec<Vec<u8>>) {
        for piece in data.chunks(1400) {
            out.push(tcp(self.c, self.s, self.cseq, self.sseq, "PA", piece));
            self.cseq += piece.len() as u32;
        }
    }
    fn server(&mut self, data: &[u8], out: &mut Vec<Vec<u8>>) {
        // Segments of at most 1400 bytes, as on an Ethernet path.
        for piece in data.chunks(1400) {
            out.push(tcp(self.s, self.c, self.sseq, self.cseq, "PA", piece));
            self.sseq += piece.len() as u32;
        }
    }
    fn close(&mut self, out: &mut Vec<Vec<u8>>) {
        out.push(tcp(self.s, self.c, self.sseq, self.cseq, "FA", b""));
        out.push(tcp(self.c, self.s, self.cseq, self.sseq + 1, "FA", b""));
        out.push(tcp(self.s, self.c, self.sseq + 1, self.cseq + 1, "A", b""));
    }
}

/// A login (one failure, one success), PASV, RETR of [`FILE`], QUIT: IPv4 packets in order.
pub fn session_packets() -> Vec<Vec<u8>> {
    session_with(b"227 Entering Passive Mode (10,0,0,1,195,80).\r\n", false)
}

/// [`session_packets`] with `pasv_reply` as the reply to PASV, and, when `conflicting_copy`,
/// a second copy of bytes 5..12 of the file with different bytes right after the first.
pub fn session_with(pasv_reply: &[u8], conflicting_copy: bool) -> Vec<Vec<u8>> {
    let client = ([10, 0, 0, 2], 40000);
    let server = ([10, 0, 0, 1], 21);
    let mut out = Vec::new();
    let mut c = Conn::open(client, server, &mut out);
    c.server(b"220 (vsFTPd 3.0.3)\r\n", &mut out);
    c.client(b"USER alice\r\n", &mut out);
    c.server(b"331 Please specify the password.\r\n", &mut out);
    c.client(b"PASS wrong\r\n", &mut out);
    c.server(b"530 Login incorrect.\r\n", &mut out);
    c.client(b"USER alice\r\n", &mut out);
    c.server(b"331 Please specify the password.\r\n", &mut out);
    c.client(b"PASS s3cret\r\n", &mut out);
    c.server(b"230 Login successful.\r\n", &mut out);
    c.client(b"PASV\r\n", &mut out);
    c.server(pasv_reply, &mut out);
    let mut d = Conn::open((client.0, 40001), (server.0, 50000), &mut out);
    c.client(b"RETR plans.txt\r\n", &mut out);
    c.server(
        b"150 Opening BINARY mode data connection for plans.txt (22 bytes).\r\n",
        &mut out,
    );
    let file_start = d.sseq;
    d.server(FILE, &mut out);
    if conflicting_copy {
        out.push(tcp(d.s, d.c, file_start + 5, d.cseq, "PA", b"FORGED!"));
    }
    d.close(&mut out);
    c.server(b"226 Transfer complete.\r\n", &mut out);
    c.client(b"QUIT\r\n", &mut out);
    c.server(b"221 Goodbye.\r\n", &mut out);
    c.close(&mut out);
    out
}

/// What `--extract` must not leave behind: a non-FTP connection with data both ways (HTTP on
/// 8080), a connection picked up in the middle (no SYN, its first bytes never seen) that
/// carries data both ways and then stops, and a RETR whose data connection loses its first
/// segment and is then dropped (no FIN, no reply: the capture ends).
pub fn extract_hazards() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut h = Conn::open(([10, 0, 0, 3], 40100), ([10, 0, 0, 4], 8080), &mut out);
    h.client(b"GET / HTTP/1.0\r\n\r\n", &mut out);
    h.server(b"HTTP/1.0 200 OK\r\n\r\nhello", &mut out);
    h.close(&mut out);
    let mut m = Conn {
        c: ([10, 0, 0, 5], 40200),
        s: ([10, 0, 0, 6], 9000),
        cseq: 7000,
        sseq: 9000,
    };
    m.cseq += 100;
    m.client(b"the middle of something", &mut out);
    m.server(b"an answer", &mut out);
    let client = ([10, 0, 0, 2], 40000);
    let server = ([10, 0, 0, 1], 21);
    let mut c = Conn::open(client, server, &mut out);
    c.server(b"220 (vsFTPd 3.0.3)\r\n", &mut out);
    c.client(b"USER alice\r\n", &mut out);
    c.server(b"331 Please specify the password.\r\n", &mut out);
    c.client(b"PASS s3cret\r\n", &mut out);
    c.server(b"230 Login successful.\r\n", &mut out);
    c.client(b"PASV\r\n", &mut out);
    c.server(
        b"227 Entering Passive Mode (10,0,0,1,195,80).\r\n",
        &mut out,
    );
    let mut d = Conn::open((client.0, 40001), (server.0, 50000), &mut out);
    c.client(b"RETR plans.txt\r\n", &mut out);
    c.server(b"150 Opening BINARY mode data connection.\r\n", &mut out);
    // The first segment is lost.
    d.sseq += 10;
    d.server(FILE.get(10..).unwrap_or_default(), &mut out);
    out
}

/// Link layers to wrap an IPv4 packet in: (linktype, header).
pub fn link_header(linktype: u32) -> Vec<u8> {
    match linktype {
        // Ethernet II: dst, src, type IPv4.
        1 => [vec![2; 6], vec![4; 6], vec![0x08, 0x00]].concat(),
        // NULL: AF_INET in little-endian host order.
        0 => vec![2, 0, 0, 0],
        // LOOP: AF_INET in network order.
        108 => vec![0, 0, 0, 2],
        // Linux SLL: packet type, ARPHRD, address length, address (8), protocol.
        113 => [vec![0, 0, 0, 1, 0, 6], vec![2; 8], vec![0x08, 0x00]].concat(),
        // Linux SLL2: protocol, reserved, ifindex, ARPHRD, packet type, address length, address.
        276 => [vec![0x08, 0x00, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6], vec![2; 8]].concat(),
        _ => Vec::new(),
    }
}

/// Ethernet with an 802.1Q VLAN tag (id 42).
pub fn vlan_header() -> Vec<u8> {
    [
        vec![2; 6],
        vec![4; 6],
        vec![0x81, 0x00, 0x00, 0x2a, 0x08, 0x00],
    ]
    .concat()
}

/// A classic pcap file (microsecond timestamps, little-endian).
pub fn pcap(linktype: u32, frames: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend(0xa1b2_c3d4u32.to_le_bytes());
    out.extend(2u16.to_le_bytes());
    out.extend(4u16.to_le_bytes());
    out.extend([0u8; 8]);
    out.extend(262_144u32.to_le_bytes());
    out.extend(linktype.to_le_bytes());
    for (i, f) in frames.iter().enumerate() {
        out.extend(1_700_000_000u32.to_le_bytes());
        out.extend((i as u32 * 1000).to_le_bytes());
        out.extend((f.len() as u32).to_le_bytes());
        out.extend((f.len() as u32).to_le_bytes());
        out.extend(f);
    }
    out
}

fn block(kind: u32, body: &[u8]) -> Vec<u8> {
    let mut body = body.to_vec();
    while !body.len().is_multiple_of(4) {
        body.push(0);
    }
    let len = (body.len() + 12) as u32;
    [
        kind.to_le_bytes().to_vec(),
        len.to_le_bytes().to_vec(),
        body,
        len.to_le_bytes().to_vec(),
    ]
    .concat()
}

/// A pcapng file with two interfaces (Ethernet with µs timestamps, raw IPv4 with ns
/// timestamps); frames alternate between them.
pub fn pcapng_two_interfaces(packets: &[Vec<u8>]) -> Vec<u8> {
    pcapng_two_interfaces_with(packets, &[], &[])
}

/// One pcapng option (code, length, value padded to 4 bytes), little-endian.
pub fn pcapng_option(code: u16, value: &[u8]) -> Vec<u8> {
    let mut out = code.to_le_bytes().to_vec();
    out.extend((value.len() as u16).to_le_bytes());
    out.extend(value);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
    out
}

/// Like [`pcapng_two_interfaces`], with `shb_options` after the section header's fields and
/// `epb_options` after every packet's data (each ending with opt_endofopt, or empty).
pub fn pcapng_two_interfaces_with(
    packets: &[Vec<u8>],
    shb_options: &[u8],
    epb_options: &[u8],
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut shb = 0x1a2b_3c4du32.to_le_bytes().to_vec();
    shb.extend(1u16.to_le_bytes());
    shb.extend(0u16.to_le_bytes());
    shb.extend((-1i64).to_le_bytes());
    shb.extend(shb_options);
    out.extend(block(0x0a0d_0d0a, &shb));
    let mut idb0 = 1u16.to_le_bytes().to_vec();
    idb0.extend([0, 0]);
    idb0.extend(0u32.to_le_bytes());
    out.extend(block(1, &idb0));
    let mut idb1 = 101u16.to_le_bytes().to_vec();
    idb1.extend([0, 0]);
    idb1.extend(0u32.to_le_bytes());
    // if_tsresol = 9 (nanoseconds), then opt_endofopt.
    idb1.extend([9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0]);
    out.extend(block(1, &idb1));
    for (i, p) in packets.iter().enumerate() {
        let iface = (i % 2) as u32;
        let data = if iface == 0 {
            [link_header(1), p.clone()].concat()
        } else {
            p.clone()
        };
        let ts: u64 = if iface == 0 {
            1_700_000_000_000_000 + i as u64
        } else {
            1_700_000_000_000_000_000 + i as u64 * 1000
        };
        let mut epb = iface.to_le_bytes().to_vec();
        epb.extend(((ts >> 32) as u32).to_le_bytes());
        epb.extend((ts as u32).to_le_bytes());
        epb.extend((data.len() as u32).to_le_bytes());
        epb.extend((data.len() as u32).to_le_bytes());
        epb.extend(&data);
        while !epb.len().is_multiple_of(4) {
            epb.push(0);
        }
        epb.extend(epb_options);
        out.extend(block(6, &epb));
    }
    out
}

/// A control connection only: `(from_client, bytes)` in order, on port 21.
pub fn control_only(lines: &[(bool, &[u8])]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut c = Conn::open(([10, 0, 0, 2], 40010), ([10, 0, 0, 1], 21), &mut out);
    for (from_client, bytes) in lines {
        if *from_client {
            c.client(bytes, &mut out);
        } else {
            c.server(bytes, &mut out);
        }
    }
    c.close(&mut out);
    out
}

/// Writes a classic pcap (raw IPv4, link type 101) of `n` complete sessions one after another,
/// each from its own client address: login (every 7th one refused), and every 10th a passive
/// RETR of [`FILE`]; every connection is closed. Written as it is made, so a capture of
/// 100,000 sessions needs no more memory than one session.
pub fn many_sessions(n: u32, out: &mut impl std::io::Write) -> std::io::Result<u64> {
    out.write_all(&0xa1b2_c3d4u32.to_le_bytes())?;
    out.write_all(&2u16.to_le_bytes())?;
    out.write_all(&4u16.to_le_bytes())?;
    out.write_all(&[0u8; 8])?;
    out.write_all(&262_144u32.to_le_bytes())?;
    out.write_all(&101u32.to_le_bytes())?;
    let server = ([10, 0, 0, 1], 21);
    let mut frames = 0u64;
    let mut packets = Vec::new();
    for i in 0..n {
        packets.clear();
        let ip = [10, 1 + (i >> 16) as u8, (i >> 8) as u8, i as u8];
        let client = (ip, 40000);
        let mut c = Conn::open(client, server, &mut packets);
        c.server(b"220 FTP server ready.\r\n", &mut packets);
        c.client(format!("USER user{i}\r\n").as_bytes(), &mut packets);
        c.server(b"331 Password required.\r\n", &mut packets);
        c.client(format!("PASS pass{i}\r\n").as_bytes(), &mut packets);
        if i % 7 == 3 {
            c.server(b"530 Login incorrect.\r\n", &mut packets);
        } else {
            c.server(b"230 Login successful.\r\n", &mut packets);
        }
        if i % 10 == 5 {
            c.client(b"PASV\r\n", &mut packets);
            c.server(
                b"227 Entering Passive Mode (10,0,0,1,195,80).\r\n",
                &mut packets,
            );
            let mut d = Conn::open((ip, 40001), (server.0, 50000), &mut packets);
            c.client(b"RETR plans.txt\r\n", &mut packets);
            c.server(
                b"150 Opening BINARY mode data connection.\r\n",
                &mut packets,
            );
            d.server(FILE, &mut packets);
            d.close(&mut packets);
            c.server(b"226 Transfer complete.\r\n", &mut packets);
        }
        c.client(b"QUIT\r\n", &mut packets);
        c.server(b"221 Goodbye.\r\n", &mut packets);
        c.close(&mut packets);
        for p in &packets {
            let t = 1_700_000_000 + frames / 1_000_000;
            out.write_all(&(t as u32).to_le_bytes())?;
            out.write_all(&((frames % 1_000_000) as u32).to_le_bytes())?;
            out.write_all(&(p.len() as u32).to_le_bytes())?;
            out.write_all(&(p.len() as u32).to_le_bytes())?;
            out.write_all(p)?;
            frames += 1;
        }
    }
    Ok(frames)
}

/// A download cut short (the data connection reset after 10 bytes, 426) and resumed with
/// `REST 10` on a second data connection: [`FILE`] in two parts.
pub fn resumed_download() -> Vec<Vec<u8>> {
    let client = ([10, 0, 0, 2], 40020);
    let server = ([10, 0, 0, 1], 21);
    let mut out = Vec::new();
    let mut c = Conn::open(client, server, &mut out);
    c.server(b"220 ready\r\n", &mut out);
    c.client(b"USER alice\r\n", &mut out);
    c.server(b"331 Password please.\r\n", &mut out);
    c.client(b"PASS s3cret\r\n", &mut out);
    c.server(b"230 Login successful.\r\n", &mut out);
    let (first, rest) = FILE.split_at(10);
    for (n, part) in [first, rest].into_iter().enumerate() {
        let port = 50010 + n as u16;
        c.client(b"PASV\r\n", &mut out);
        let reply = format!(
            "227 Entering Passive Mode (10,0,0,1,{},{}).\r\n",
            port >> 8,
            port & 0xff
        );
        c.server(reply.as_bytes(), &mut out);
        let mut d = Conn::open((client.0, 40021 + n as u16), (server.0, port), &mut out);
        if n == 1 {
            c.client(b"REST 10\r\n", &mut out);
            c.server(b"350 Restarting at 10.\r\n", &mut out);
        }
        c.client(b"RETR plans.txt\r\n", &mut out);
        c.server(
            b"150 Opening BINARY mode data connection (22 bytes).\r\n",
            &mut out,
        );
        d.server(part, &mut out);
        if n == 0 {
            out.push(tcp(d.c, d.s, d.cseq, d.sseq, "R", b""));
            c.server(b"426 Connection closed; transfer aborted.\r\n", &mut out);
        } else {
            d.close(&mut out);
            c.server(b"226 Transfer complete.\r\n", &mut out);
        }
    }
    c.client(b"QUIT\r\n", &mut out);
    c.server(b"221 Goodbye.\r\n", &mut out);
    c.close(&mut out);
    out
}
