//! Replays `fuzz/corpus/` through the fuzz targets' entry points (`fuzz/harness/capture.rs`), so
//! every stable `cargo test` checks the seeds and any crash input committed there.

#[path = "../../fuzz/harness/capture.rs"]
mod harness;

#[path = "../../fuzz/harness/replay.rs"]
mod replay;

use replay::replay;

#[test]
fn frame_decode_corpus_decodes_without_panic() {
    replay("frame_decode", harness::frame_decode);
}

#[test]
fn pcap_read_corpus_reads_without_panic() {
    replay("pcap_read", harness::pcap_read);
}

#[test]
fn pcapng_read_corpus_reads_without_panic() {
    replay("pcapng_read", harness::pcapng_read);
}

#[test]
fn tls_stream_corpus_runs_without_panic() {
    replay("tls_stream", harness::tls_stream);
}
