//! The client over IPv6 (RFC 2428): EPSV in passive mode, EPRT with the `|2|` family in active
//! mode, against our server on `::1`.

mod common;

use common::*;
use std::process::Command;

#[test]
fn put_and_get_round_trip_over_ipv6_in_passive_and_active_mode() {
    let peer = Peer::ours_at("[::1]:0", &[]);
    let work = peer.local_dir("work");
    random_file(&work.join("up.bin"), MIB + 17);
    random_file(&peer.dir.join("down.bin"), 2 * MIB + 5);
    let script = "put up.bin up-passive.bin; get down.bin down-passive.bin; active; \
                  put up.bin up-active.bin; get down.bin down-active.bin";
    let out = run_with_stdin(
        Command::new(CLIENT_BIN)
            .current_dir(&work)
            .args(["::1", &peer.port.to_string()])
            .args([
                "--user",
                "user1",
                "--password-stdin",
                "--debug",
                "-c",
                script,
            ]),
        b"pass1\n",
    );
    assert!(
        out.status.success(),
        "{}\n--- server log ---\n{}",
        describe(&out),
        peer.log()
    );
    let trace = format!("{}{}", stdout(&out), stderr(&out));
    assert!(trace.contains("--> EPSV"), "{trace}");
    assert!(trace.contains("--> EPRT |2|::1|"), "{trace}");
    assert!(
        !trace.contains("--> PASV") && !trace.contains("--> PORT"),
        "IPv6 has no PASV/PORT: {trace}"
    );
    let up = sha256_file(&work.join("up.bin"));
    let down = sha256_file(&peer.dir.join("down.bin"));
    for name in ["up-passive.bin", "up-active.bin"] {
        assert_eq!(sha256_file(&peer.dir.join(name)), up, "{name}");
    }
    for name in ["down-passive.bin", "down-active.bin"] {
        assert_eq!(sha256_file(&work.join(name)), down, "{name}");
    }
}
