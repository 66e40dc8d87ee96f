//! Fuzz target: the inspector's pcapng reader (entry point in harness/capture.rs).
#![no_main]

#[allow(
    dead_code,
    reason = "each target calls one entry point of the shared harness"
)]
#[path = "../harness/capture.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::pcapng_read(data));
