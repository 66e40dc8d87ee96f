//! Replays `fuzz/corpus/` through the fuzz targets' entry points (`fuzz/harness/proto.rs`), so
//! every stable `cargo test` checks the seeds and any crash input committed there.

#[path = "../../fuzz/harness/proto.rs"]
mod harness;

#[path = "../../fuzz/harness/replay.rs"]
mod replay;

use replay::replay;

#[test]
fn command_parse_corpus_parses_and_round_trips_without_panic() {
    replay("command_parse", harness::command_parse);
}

#[test]
fn reply_decode_corpus_decodes_and_round_trips_without_panic() {
    replay("reply_decode", harness::reply_decode);
}

#[test]
fn host_port_corpus_parses_and_round_trips_without_panic() {
    replay("host_port", harness::host_port);
}

#[test]
fn security_args_corpus_parses_and_round_trips_without_panic() {
    replay("security_args", harness::security_args);
}
