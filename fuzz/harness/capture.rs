//! Fuzz entry points for the inspector's readers, shared by `fuzz/fuzz_targets/` and the corpus
//! replay in `inspector/tests/fuzz_corpus.rs`: each takes any bytes and must not panic.

use std::io::Cursor;
use std::path::Path;

use inspector::frame;
use inspector::packet_view::FrameViewer;
use inspector::source::{LinkType, PacketSource, PcapNgSource, PcapSource, RawFrame};

/// The link types the frame decoder knows, picked by the first byte of a frame input.
const LINK_TYPES: [LinkType; 10] = [
    LinkType::NULL,
    LinkType::ETHERNET,
    LinkType::RAW,
    LinkType::LOOP,
    LinkType::LINUX_SLL,
    LinkType::IPV4,
    LinkType::IPV6,
    LinkType::LINUX_SLL2,
    LinkType(12),
    LinkType(14),
];

/// `frame::decode` on `data`: the first byte picks the link type, the rest is the frame.
pub fn frame_decode(data: &[u8]) {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let link_type = LINK_TYPES[usize::from(pick) % LINK_TYPES.len()];
    let raw = RawFrame {
        number: 1,
        timestamp: std::time::Duration::ZERO,
        link_type,
        bytes,
        wire_len: u32::try_from(bytes.len()).unwrap_or(u32::MAX),
    };
    network(&raw, &mut Network::default());
    let _ = FrameViewer::new().view(&raw);
}

/// The ARP and forwarded-segment watchers, fed frame by frame.
#[derive(Default)]
struct Network {
    arp: inspector::arp::ArpWatch,
    forwarded: inspector::forwarded::Forwarded,
}

/// Decodes `raw` and hands it to the network watchers (twice: a second copy is what
/// `forwarded` looks for); their findings are built each time.
fn network(raw: &RawFrame<'_>, watch: &mut Network) {
    match frame::decode(raw) {
        Ok(frame::Decoded::Tcp(seg)) => {
            let digest = inspector::duplicates::segment_digest(&seg);
            watch.forwarded.observe(raw, &seg, digest);
            watch.forwarded.observe(raw, &seg, digest);
        }
        Ok(frame::Decoded::Other) => {
            watch.arp.observe(raw);
            watch.arp.observe(raw);
        }
        _ => {}
    }
    let _ = watch.arp.findings();
    let _ = watch.forwarded.findings();
}

/// Every frame of a capture, each also given to the frame decoder and the packet view. A source may return errors
/// and go on; the loop is bounded in case one never says it is finished.
fn drain(mut source: impl PacketSource, limit: usize) {
    let mut viewer = FrameViewer::new();
    let mut watch = Network::default();
    for _ in 0..limit {
        match source.next_frame() {
            Ok(Some(raw)) => {
                network(&raw, &mut watch);
                let _ = viewer.view(&raw);
            }
            Ok(None) => return,
            Err(_) => {}
        }
    }
}

/// The pcap reader on `data` as a whole file.
pub fn pcap_read(data: &[u8]) {
    if let Ok(source) = PcapSource::new(Cursor::new(data), Path::new("fuzz.pcap")) {
        drain(source, data.len() + 16);
    }
}

/// The pcapng reader on `data` as a whole file.
pub fn pcapng_read(data: &[u8]) {
    if let Ok(source) = PcapNgSource::new(Cursor::new(data), Path::new("fuzz.pcapng")) {
        drain(source, data.len() + 16);
    }
}

/// A TLS connection (FTPS) fed chunks of both directions, with a key log that has secrets for
/// the client random `01…01`, so hellos in the input lead to real decryption attempts. Input:
/// chunks of `[direction byte][length byte][bytes]`.
pub fn tls_stream(data: &[u8]) {
    use inspector::reassembly::Chunk;
    use inspector::tls::KeyLog;
    use inspector::tls::connection::TlsConnection;
    let r = "01".repeat(32);
    let log = KeyLog::parse(
        "fuzz",
        &format!(
            "CLIENT_RANDOM {r} {m}\nCLIENT_HANDSHAKE_TRAFFIC_SECRET {r} {s}\n\
             SERVER_HANDSHAKE_TRAFFIC_SECRET {r} {s}\nCLIENT_TRAFFIC_SECRET_0 {r} {s}\n\
             SERVER_TRAFFIC_SECRET_0 {r} {s}\n",
            m = "ab".repeat(48),
            s = "cd".repeat(32)
        ),
    );
    let mut conn = TlsConnection::new(Some(0), Some(std::sync::Arc::new(log)));
    let mut rest = data;
    let mut frame = 1;
    while let [dir, len, tail @ ..] = rest {
        let (chunk, next) = tail.split_at(usize::from(*len).min(tail.len()));
        let chunk = if chunk.is_empty() {
            Chunk::Gap { len: 10 }
        } else {
            Chunk::Data(chunk)
        };
        let _ = conn.push(usize::from(dir & 1), chunk, frame);
        frame += 1;
        rest = next;
    }
}
