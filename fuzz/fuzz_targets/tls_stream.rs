//! Fuzz target: inspector::tls::connection::TlsConnection fed both directions of a stream, with
//! a key log (entry point in harness/capture.rs).
#![no_main]

#[allow(
    dead_code,
    reason = "each target calls one entry point of the shared harness"
)]
#[path = "../harness/capture.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::tls_stream(data));
