//! `ftp-client -c …` against our server, pyftpdlib and vsftpd: round trips checked by sha256,
//! passive and active, resume after an interrupted download, mget/mput and file management;
//! then all of it again over FTPS (`--tls`, PROT P, the servers requiring TLS), in `over_tls`.

mod common;

use common::{Kind, MIB, Peer, random_file, sha256_file};
use std::fs;
use std::io::Write;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Runs each scenario against each of the three servers, as tests named `scenario::server`,
/// with the servers started by `$start` (`Peer::start` or `Peer::start_tls`).
macro_rules! against_each_server {
    ($start:path; $($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            use super::*;
            #[test]
            fn our_server() {
                super::$scenario($start(Kind::Ours));
            }
            #[test]
            fn pyftpdlib() {
                super::$scenario($start(Kind::Pyftpdlib));
            }
            #[test]
            fn vsftpd() {
                super::$scenario($start(Kind::Vsftpd));
            }
        }
    )*};
}

against_each_server!(
    Peer::start;
    empty_and_one_mib_files_round_trip_in_both_modes,
    hundred_mib_file_round_trips_by_sha256,
    interrupted_get_leaves_only_a_part_file_and_reget_completes_it,
    mput_mget_rename_delete_mkdir_rmdir_work,
);

/// The same scenarios over FTPS: each server requires TLS on the control and data
/// connections (vsftpd also `require_ssl_reuse`), the client pins the certificate.
mod over_tls {
    use super::*;
    against_each_server!(
        Peer::start_tls;
        empty_and_one_mib_files_round_trip_in_both_modes,
        hundred_mib_file_round_trips_by_sha256,
        interrupted_get_leaves_only_a_part_file_and_reget_completes_it,
        mput_mget_rename_delete_mkdir_rmdir_work,
    );
}

fn empty_and_one_mib_files_round_trip_in_both_modes(peer: Peer) {
    let up = peer.local_dir("up");
    let down = peer.local_dir("down");
    let empty = random_file(&up.join("empty.bin"), 0);
    let one = random_file(&up.join("one.bin"), MIB);
    for mode in ["passive", "active"] {
        peer.client_ok(
            &up,
            &format!("{mode}; put empty.bin e-{mode}.bin; put one.bin o-{mode}.bin"),
            &[],
        );
        assert_eq!(sha256_file(&peer.dir.join(format!("e-{mode}.bin"))), empty);
        assert_eq!(sha256_file(&peer.dir.join(format!("o-{mode}.bin"))), one);
        let out = peer.client_ok(
            &down,
            &format!("{mode}; get e-{mode}.bin; get o-{mode}.bin"),
            &["--debug"],
        );
        assert_eq!(sha256_file(&down.join(format!("e-{mode}.bin"))), empty);
        assert_eq!(sha256_file(&down.join(format!("o-{mode}.bin"))), one);
        let trace = common::stderr(&out);
        let setup = if mode == "passive" {
            "--> EPSV"
        } else {
            "--> EPRT |1|127.0.0.1|"
        };
        assert!(
            trace.contains(setup),
            "{mode} mode should send {setup}:\n{trace}"
        );
        assert!(
            trace.contains("--> PASS ****"),
            "password must be masked:\n{trace}"
        );
        if !peer.tls_args.is_empty() {
            // Every data connection resumes the control connection's TLS session (vsftpd's
            // require_ssl_reuse refuses those that do not).
            for shown in [
                "from here on the control connection is encrypted",
                "--> PROT P",
                "data connection encrypted: TLS",
                "resumed session",
            ] {
                assert!(
                    trace.contains(shown),
                    "{shown:?} not in the trace:\n{trace}"
                );
            }
            assert!(
                trace.find("encrypted ---") < trace.find("--> USER"),
                "TLS must start before USER:\n{trace}"
            );
        }
    }
}

fn hundred_mib_file_round_trips_by_sha256(peer: Peer) {
    let up = peer.local_dir("up");
    let down = peer.local_dir("down");
    let hash = random_file(&up.join("big.bin"), 100 * MIB);
    peer.client_ok(&up, "put big.bin", &[]);
    assert_eq!(sha256_file(&peer.dir.join("big.bin")), hash);
    peer.client_ok(&down, "active; get big.bin", &[]);
    assert_eq!(sha256_file(&down.join("big.bin")), hash);
    assert!(!down.join("big.bin.part").exists());
}

fn interrupted_get_leaves_only_a_part_file_and_reget_completes_it(peer: Peer) {
    let down = peer.local_dir("down");
    let size = 24 * MIB;
    let hash = random_file(&peer.dir.join("big.bin"), size);
    let mut child = Command::new(common::CLIENT_BIN)
        .current_dir(&down)
        .args(["127.0.0.1", &peer.port.to_string()])
        .args([
            "--user",
            &peer.user,
            "--password-stdin",
            "--limit-rate",
            "4M",
        ])
        .args(["-c", &format!("cd {}; get big.bin", peer.remote_dir)])
        .args(&peer.tls_args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn ftp-client");
    if let Some(mut stdin) = child.stdin.take() {
        let _ = writeln!(stdin, "{}", peer.password);
    }
    let part = down.join("big.bin.part");
    let deadline = Instant::now() + Duration::from_secs(60);
    while fs::metadata(&part).map(|m| m.len()).unwrap_or(0) < 2 * MIB as u64 {
        if Instant::now() > deadline || child.try_wait().ok().flatten().is_some() {
            let _ = child.kill();
            panic!("the rate-limited download did not reach 2 MiB in time");
        }
        thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    let partial = fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    assert!(partial < size as u64, "the download was not interrupted");
    assert!(
        !down.join("big.bin").exists(),
        "an interrupted download must not leave a file under the final name"
    );

    let out = peer.client_ok(&down, "reget big.bin", &["--debug"]);
    let trace = common::stderr(&out);
    assert!(
        trace.contains(&format!("--> REST {partial}")),
        "reget should resume at {partial}:\n{trace}"
    );
    assert_eq!(sha256_file(&down.join("big.bin")), hash);
    assert!(!part.exists(), "the part file is renamed when complete");
}

fn mput_mget_rename_delete_mkdir_rmdir_work(peer: Peer) {
    let up = peer.local_dir("up");
    let down = peer.local_dir("down");
    let a1 = random_file(&up.join("a1.txt"), 1000);
    let a2 = random_file(&up.join("a2.txt"), 2000);
    let b = random_file(&up.join("b.txt"), 3000);
    random_file(&up.join("skip.bin"), 10);
    peer.client_ok(
        &up,
        "mput a*.txt; mkdir sub; cd sub; put b.txt; cdup; rename a2.txt c2.txt",
        &[],
    );
    assert_eq!(sha256_file(&peer.dir.join("a1.txt")), a1);
    assert_eq!(sha256_file(&peer.dir.join("c2.txt")), a2);
    assert_eq!(sha256_file(&peer.dir.join("sub/b.txt")), b);
    assert!(!peer.dir.join("skip.bin").exists());

    peer.client_ok(&down, "mget *.txt sub/*.txt", &[]);
    assert_eq!(sha256_file(&down.join("a1.txt")), a1);
    assert_eq!(sha256_file(&down.join("c2.txt")), a2);
    assert_eq!(sha256_file(&down.join("b.txt")), b);

    peer.client_ok(
        &down,
        "delete a1.txt; delete c2.txt; delete sub/b.txt; rmdir sub",
        &[],
    );
    let left: Vec<_> = fs::read_dir(&peer.dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    let expected_left = if peer.kind == Kind::Ours { 1 } else { 0 }; // welcome.txt of --demo
    assert_eq!(left.len(), expected_left, "left on the server: {left:?}");
}
