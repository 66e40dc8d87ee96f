//! Fuzz target: the FTPS argument and fingerprint parsers (entry point in harness/proto.rs).
#![no_main]

#[allow(
    dead_code,
    reason = "each target calls one entry point of the shared harness"
)]
#[path = "../harness/proto.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::security_args(data));
