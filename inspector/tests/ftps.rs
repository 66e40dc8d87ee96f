//! FTPS (RFC 4217): the shipped capture `captures/ftps-pyftpdlib.pcapng` and its key log read
//! with and without `--keylog`, checked against tshark's own decryption
//! (`tshark -o tls.keylog_file:FILE`); broken key logs; and (root, tcpdump) a capture made here
//! and now from pyftpdlib's TLS_FTPHandler driven by curl and Python's ftplib.FTP_TLS, from
//! vsftpd driven by curl, and from our own server (its `--tls-keylog`) driven by ftplib and lftp.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The control port of the shipped capture.
const SHIPPED_PORT: u16 = 2144;

fn shipped() -> (PathBuf, PathBuf) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../captures");
    (
        dir.join("ftps-pyftpdlib.pcapng"),
        dir.join("ftps-pyftpdlib.keys"),
    )
}

fn ids(events: &[Value]) -> BTreeSet<String> {
    of_kind(events, "finding")
        .iter()
        .map(|f| f["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn tshark(pcap: &Path, args: &[&str]) -> String {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .args(args)
        .output()
        .expect("tshark is needed to check the inspector: apt-get install tshark");
    assert_ok(&out, "tshark");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What tshark decrypts with the key log: (frame, argument) of every PASS, and the sha256 of
/// every data connection's content (`-z follow,tls,raw`; `follow,tcp,raw` for one in clear).
fn tshark_view(pcap: &Path, keys: &Path, port: u16) -> (BTreeSet<(u64, String)>, Vec<String>) {
    let keylog = format!("tls.keylog_file:{}", keys.display());
    let decode = format!("tcp.port=={port},ftp");
    // tshark dissects a data connection announced by a (decrypted) 227/229 as ftp-data, which
    // hides its TLS; without ftp-data its TLS heuristics find and decrypt the records.
    let base = [
        "-o",
        &keylog,
        "-d",
        &decode,
        "--disable-protocol",
        "ftp-data",
    ];
    let pass = tshark(
        pcap,
        &[
            &base[..],
            &[
                "-Y",
                "ftp.request.command == \"PASS\"",
                "-T",
                "fields",
                "-e",
                "frame.number",
                "-e",
                "ftp.request.arg",
            ],
        ]
        .concat(),
    );
    let passwords = pass
        .lines()
        .filter_map(|l| {
            let (frame, arg) = l.split_once('\t')?;
            Some((frame.parse().ok()?, arg.to_owned()))
        })
        .collect();
    let streams = tshark(
        pcap,
        &[
            "-Y",
            "tcp",
            "-T",
            "fields",
            "-e",
            "tcp.stream",
            "-e",
            "tcp.port",
        ],
    );
    let data_streams: BTreeSet<u64> = streams
        .lines()
        .filter_map(|l| {
            let (stream, ports) = l.split_once('\t')?;
            let control = ports.split(',').any(|p| p == port.to_string());
            (!control).then(|| stream.parse().ok())?
        })
        .collect();
    let mut files = Vec::new();
    for stream in data_streams {
        let content = ["tls", "tcp"].iter().find_map(|proto| {
            let follow = format!("follow,{proto},raw,{stream}");
            let text = tshark(pcap, &[&base[..], &["-q", "-z", &follow]].concat());
            let bytes = follow_bytes(&text);
            (!bytes.is_empty()).then_some(bytes)
        });
        if let Some(bytes) = content {
            files.push(sha256(&bytes));
        }
    }
    files.sort();
    (passwords, files)
}

/// The bytes of `tshark -z follow,…,raw` output: hex lines of the one direction that carries
/// data (a data connection carries content one way).
fn follow_bytes(text: &str) -> Vec<u8> {
    let mut sides: [Vec<u8>; 2] = Default::default();
    let body = text
        .lines()
        .skip_while(|l| !l.starts_with("Node 1:"))
        .skip(1)
        .take_while(|l| !l.starts_with("===="));
    for line in body {
        let side = usize::from(line.starts_with('\t'));
        if let Ok(bytes) = hex::decode(line.trim()) {
            sides[side].extend(bytes);
        }
    }
    let [a, b] = sides;
    if a.len() >= b.len() { a } else { b }
}

/// The inspector's view: (frame, argument) of every PASS command, and every transfer's sha256
/// (sorted, duplicates kept).
fn inspector_view(events: &[Value]) -> (BTreeSet<(u64, String)>, Vec<String>) {
    let passwords = of_kind(events, "command")
        .into_iter()
        .filter(|c| c["command"] == "PASS")
        .map(|c| {
            (
                c["frame"].as_u64().unwrap_or(0),
                c["arg"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let mut files: Vec<String> = of_kind(events, "transfer")
        .into_iter()
        .filter_map(|t| t["sha256"].as_str().map(str::to_owned))
        .collect();
    files.sort();
    (passwords, files)
}

/// Every claim of the key-log reading that tshark can check, and the inspector's own marks.
fn assert_decrypted_like_tshark(pcap: &Path, keys: &Path, port: u16, events: &[Value]) {
    let (tshark_pass, tshark_files) = tshark_view(pcap, keys, port);
    let (our_pass, our_files) = inspector_view(events);
    assert!(
        tshark_pass.len() >= 7,
        "tshark decrypted too little: {tshark_pass:?}"
    );
    assert_eq!(our_pass, tshark_pass, "PASS (frame, argument)");
    assert!(
        tshark_files.len() >= 8,
        "tshark found too few files: {tshark_files:?}"
    );
    if our_files != tshark_files {
        // Kept for a look in Wireshark: the capture is timing-dependent and gone with the test.
        let kept = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("ftps-mismatch-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&kept);
        let _ = std::fs::copy(pcap, kept.join("ftps.pcap"));
        let _ = std::fs::copy(keys, kept.join("keys.log"));
        let lines: Vec<String> = events.iter().map(Value::to_string).collect();
        let _ = std::fs::write(kept.join("inspector.json"), lines.join("\n"));
        panic!(
            "file sha256s differ (capture, key log and the inspector's events kept in {}):\n  \
             inspector: {our_files:?}\n  tshark:    {tshark_files:?}",
            kept.display()
        );
    }
    for t in of_kind(events, "transfer") {
        assert_eq!(t["complete"], true, "{t}");
        if t["tls"]["encrypted"] == true {
            assert_eq!(t["tls"]["decrypted_with_keylog"], true, "{t}");
            assert_eq!(t["tls"]["tie"], "announced", "{t}");
        }
    }
    for c in of_kind(events, "credential") {
        assert_eq!(c["password"], "wonderland", "{c}");
        // Session 7 logs in without TLS; every other login is read through the key log.
        let tls = of_kind(events, "tls")
            .iter()
            .any(|t| t["session"] == c["session"]);
        assert_eq!(c["decrypted_with_keylog"] == true, tls, "{c}");
    }
}

#[test]
fn shipped_ftps_capture_without_key_log_shows_the_upgrade_sizes_and_leaks() {
    let (pcap, _) = shipped();
    let (events, code) = inspect(&pcap, &["--port", &SHIPPED_PORT.to_string()]);
    assert_eq!(code, 0);
    assert_eq!(of_kind(&events, "session").len(), 7);
    assert_eq!(
        of_kind(&events, "tls").len(),
        6,
        "sessions 1–6 upgrade with AUTH TLS"
    );
    let handshakes = of_kind(&events, "tls_handshake");
    assert_eq!(handshakes.len(), 6);
    let suites: BTreeSet<&str> = handshakes
        .iter()
        .map(|h| h["cipher_suite"].as_str().unwrap_or_default())
        .collect();
    for s in [
        "TLS_CHACHA20_POLY1305_SHA256",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "TLS_AES_128_GCM_SHA256",
        "TLS_AES_256_GCM_SHA384",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    ] {
        assert!(suites.contains(s), "{s} not in {suites:?}");
    }
    // The certificate travels in clear in TLS 1.2 only; its fingerprint is tshark's too.
    let der = tshark(
        &pcap,
        &[
            "-Y",
            "tls.handshake.certificate",
            "-T",
            "fields",
            "-e",
            "tls.handshake.certificate",
        ],
    );
    let first = der.lines().next().unwrap_or_default();
    let first = first.split(',').next().unwrap_or_default().replace(':', "");
    let tshark_fingerprint = sha256(&hex::decode(first).expect("hex certificate"));
    for h in &handshakes {
        assert_eq!(h["decrypted_with_keylog"], false);
        if h["version"] == "TLS 1.2" {
            assert_eq!(h["certificate_sha256"], tshark_fingerprint.as_str(), "{h}");
            assert!(
                h["certificate_subject"]
                    .as_str()
                    .is_some_and(|s| s.contains("CN=ftps.ftplab.test")),
                "{h}"
            );
        } else {
            assert_eq!(h["version"], "TLS 1.3");
            assert!(h["certificate_sha256"].is_null(), "encrypted in 1.3: {h}");
        }
    }
    // Only what crossed in clear: session 5's USER before AUTH TLS, session 7's whole login.
    let creds = credentials(&events);
    assert_eq!(
        creds,
        vec![
            ("alice".into(), String::new(), Value::Null),
            ("alice".into(), "wonderland".into(), Value::Bool(true)),
        ],
        "{creds:?}"
    );
    let found = ids(&events);
    for id in [
        "tls-after-user",
        "prot-clear",
        "tls-offered-not-used",
        "tls-sizes-visible",
        "cleartext-credentials",
        "cleartext-data",
    ] {
        assert!(found.contains(id), "{id} not in {found:?}");
    }
    // Every data connection is tied to its session by addresses and timing, with its size and
    // direction; only the PROT C one has a hash.
    let transfers = of_kind(&events, "transfer");
    assert_eq!(transfers.len(), 8, "{transfers:#?}");
    let mut uploads = 0;
    for t in &transfers {
        assert_eq!(t["tls"]["tie"], "guessed", "{t}");
        assert!(t["session"].is_u64(), "{t}");
        assert!(t["mode"].is_string(), "{t}");
        if t["tls"]["encrypted"] == true {
            assert!(t["sha256"].is_null(), "{t}");
            let sent = t["tls"]["encrypted_bytes_to_server"].as_u64().unwrap_or(0)
                + t["tls"]["encrypted_bytes_to_client"].as_u64().unwrap_or(0);
            assert!(sent > 0, "{t}");
        } else {
            assert!(t["sha256"].is_string(), "{t}");
        }
        if t["direction"] == "upload" {
            uploads += 1;
        }
    }
    assert_eq!(uploads, 2, "STOR up.txt and STOR up2.bin");
}

#[test]
fn shipped_ftps_capture_with_key_log_agrees_with_tshark() {
    let (pcap, keys) = shipped();
    let (events, code) = inspect(
        &pcap,
        &[
            "--port",
            &SHIPPED_PORT.to_string(),
            "--keylog",
            keys.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0);
    for h in of_kind(&events, "tls_handshake") {
        assert_eq!(h["decrypted_with_keylog"], true, "{h}");
        assert_eq!(h["decryption"], "decrypted with key log");
        assert!(
            h["certificate_sha256"].is_string(),
            "decrypted 1.3 shows it too: {h}"
        );
    }
    assert_decrypted_like_tshark(&pcap, &keys, SHIPPED_PORT, &events);
    let verbs = verbs(&events);
    for v in [
        "PBSZ", "PROT", "EPSV", "PORT", "PASV", "RETR", "STOR", "LIST", "NLST",
    ] {
        assert!(verbs.iter().any(|x| x == v), "{v} missing from {verbs:?}");
    }
    let found = ids(&events);
    assert!(found.contains("keylog-credentials"), "{found:?}");
    assert!(!found.contains("tls-sizes-visible"), "{found:?}");
    assert_eq!(
        of_kind(&events, "finding")
            .iter()
            .filter(|f| f["id"] == "cleartext-credentials")
            .count(),
        1,
        "only session 7 sent its password in clear"
    );
}

#[test]
fn broken_and_partial_key_logs_give_findings_never_a_failure() {
    let (pcap, keys) = shipped();
    let text = std::fs::read_to_string(&keys).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // Drop every line of the first connection, corrupt the master secret of a TLS 1.2 one,
    // and add junk.
    let first_random = lines[0].split(' ').nth(1).unwrap().to_owned();
    let mut edited: Vec<String> = lines
        .iter()
        .filter(|l| !l.contains(&first_random))
        .map(|l| l.to_string())
        .collect();
    let tls12 = edited
        .iter()
        .position(|l| l.starts_with("CLIENT_RANDOM "))
        .expect("a TLS 1.2 line");
    let mut fields: Vec<String> = edited[tls12].split(' ').map(str::to_owned).collect();
    fields[2] = "00".repeat(48);
    edited[tls12] = fields.join(" ");
    edited.push("CLIENT_RANDOM not-hex 1234".into());
    edited.push("just garbage".into());
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.keys");
    std::fs::write(&bad, edited.join("\n")).unwrap();
    let (events, code) = inspect(
        &pcap,
        &[
            "--port",
            &SHIPPED_PORT.to_string(),
            "--keylog",
            bad.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "findings, not warnings");
    let found = ids(&events);
    for id in [
        "keylog-bad-lines",
        "keylog-missing-secret",
        "tls-decryption-failed",
    ] {
        assert!(found.contains(id), "{id} not in {found:?}");
    }
    // What the remaining lines open is still read.
    assert!(
        of_kind(&events, "credential")
            .iter()
            .any(|c| c["decrypted_with_keylog"] == true),
        "other sessions still decrypted"
    );

    let out = Command::new(INSPECTOR)
        .args(["read", "--keylog", "/nonexistent/keys.log"])
        .arg(&pcap)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot read the key log"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// pyftpdlib's TLS_FTPHandler on a loopback address of the test's own, the scripted curl and
/// ftplib sessions of `tests/ftps/client.py`, recorded with tcpdump (root).
#[test]
fn pyftpdlib_ftps_recorded_here_is_decrypted_like_tshark_does() {
    if testkit::guard::skipping(testkit::guard::SKIP_PRIVILEGED) {
        eprintln!("SKIPPED (FTPLAB_SKIP_PRIVILEGED=1): records loopback traffic with tcpdump");
        return;
    }
    let ok = Command::new("python3")
        .args(["-c", "import OpenSSL, pyftpdlib"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "python3 with pyftpdlib and pyOpenSSL is needed: pip install pyftpdlib pyopenssl (see .ci/run)"
    );
    let ip = own_loopback();
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let root = w.join("root");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(
        root.join("notes.txt"),
        b"FTPS notes: the VPN password is on the whiteboard.\n",
    )
    .unwrap();
    let photo = random_file(&root.join("photo.bin"), 40_000);
    let up = random_file(&w.join("up.txt"), 19);
    let up2 = random_file(&w.join("up2.bin"), 3_000);
    let pem = w.join("server.pem");
    let made = run(Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=ftps.test",
            "-keyout",
        ])
        .arg(w.join("key.pem"))
        .arg("-out")
        .arg(w.join("cert.pem")));
    assert_ok(&made, "openssl req");
    let pem_text = [
        std::fs::read(w.join("key.pem")).unwrap(),
        std::fs::read(w.join("cert.pem")).unwrap(),
    ]
    .concat();
    std::fs::write(&pem, pem_text).unwrap();
    let scripts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/ftps");
    let mut server = Command::new("python3")
        .arg(scripts.join("server.py"))
        .arg(&root)
        .arg(ip.to_string())
        .arg("0")
        .arg(&pem)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start pyftpdlib");
    let port = {
        use std::io::BufRead;
        let mut line = String::new();
        let stdout = server.stdout.take().expect("piped");
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        line.trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse::<u16>().ok())
    };
    let Some(port) = port else {
        let _ = server.kill();
        panic!("pyftpdlib did not say its port");
    };
    let pcap = w.join("ftps.pcap");
    let keys = w.join("keys.log");
    let sniffer = Sniffer::start(&pcap, "lo", &[], &format!("host {ip}"));
    let driven = run(Command::new("python3")
        .arg(scripts.join("client.py"))
        .arg(ip.to_string())
        .arg(port.to_string())
        .arg(&keys)
        .arg(w));
    let pcap = sniffer.stop(ip);
    let _ = server.kill();
    let _ = server.wait();
    assert_ok(&driven, "client.py (curl and ftplib over FTPS)");

    let port_arg = port.to_string();
    let (plain, _) = inspect(&pcap, &["--port", &port_arg]);
    assert!(
        !of_kind(&plain, "command")
            .iter()
            .any(|c| c["command"] == "PASS"
                && of_kind(&plain, "tls")
                    .iter()
                    .any(|t| t["session"] == c["session"])),
        "no PASS readable in a TLS session without the key log"
    );
    let found = ids(&plain);
    for id in [
        "tls-after-user",
        "prot-clear",
        "tls-offered-not-used",
        "tls-sizes-visible",
    ] {
        assert!(found.contains(id), "{id} not in {found:?}");
    }
    let (events, code) = inspect(
        &pcap,
        &["--port", &port_arg, "--keylog", keys.to_str().unwrap()],
    );
    assert_eq!(code, 0);
    let hashes = transfer_hashes(&events);
    for h in [&photo, &up, &up2] {
        assert!(hashes.contains(h.as_str()), "{h} not in {hashes:?}");
    }
    assert_decrypted_like_tshark(&pcap, &keys, port, &events);
}

/// A child process killed when the test ends, passing or not.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A self-signed certificate and key in `dir`: (cert.pem, key.pem).
fn self_signed(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let made = run(Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=vsftpd.ftps.test", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert));
    assert_ok(&made, "openssl req");
    (cert, key)
}

/// vsftpd with `ssl_enable=YES` (anonymous, TLS optional for data so `--ftp-ssl-control` can
/// send the file in clear; `require_ssl_reuse` as shipped: a data connection must resume the
/// control connection's TLS session), driven by curl: TLS 1.2 and 1.3 downloads with PROT P, and
/// one with TLS on the control connection only.
#[test]
fn vsftpd_ftps_with_curl_resumed_sessions_are_decrypted_like_tshark_does() {
    if testkit::guard::skipping(testkit::guard::SKIP_PRIVILEGED) {
        eprintln!("SKIPPED (FTPLAB_SKIP_PRIVILEGED=1): records loopback traffic with tcpdump");
        return;
    }
    let bin = ["/usr/sbin/vsftpd", "/usr/bin/vsftpd"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("vsftpd is not installed: apt-get install vsftpd (see .ci/run)");
    let ip = own_loopback();
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let anon = w.join("anon");
    let empty = w.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let big = random_file(&anon.join("big.bin"), 200_000);
    let small = random_file(&anon.join("pub.txt"), 5_000);
    let (cert, key) = self_signed(w);
    let port = testkit::free_port_on(ip);
    let conf = w.join("vsftpd.conf");
    std::fs::write(
        &conf,
        format!(
            "listen=YES\nlisten_ipv6=NO\nlisten_address={ip}\nlisten_port={port}\nbackground=NO\n\
             seccomp_sandbox=NO\nanonymous_enable=YES\nlocal_enable=NO\nanon_root={anon}\n\
             pasv_enable=YES\nport_enable=YES\nconnect_from_port_20=NO\nxferlog_enable=NO\n\
             write_enable=NO\nno_anon_password=NO\nrun_as_launching_user=YES\n\
             secure_chroot_dir={empty}\nssl_enable=YES\nallow_anon_ssl=YES\n\
             force_anon_logins_ssl=YES\nforce_anon_data_ssl=NO\nrsa_cert_file={cert}\n\
             rsa_private_key_file={key}\nssl_ciphers=HIGH\n",
            anon = anon.display(),
            empty = empty.display(),
            cert = cert.display(),
            key = key.display()
        ),
    )
    .unwrap();
    let _server = KillOnDrop(
        Command::new(bin)
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start vsftpd"),
    );
    let greeted = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        std::net::TcpStream::connect((ip, port)).is_ok_and(|mut s| {
            use std::io::Read;
            let mut b = [0u8; 3];
            s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
                .is_ok()
                && s.read_exact(&mut b).is_ok()
                && &b == b"220"
        })
    });
    assert!(greeted, "vsftpd did not greet on {ip}:{port}");

    let pcap = w.join("vsftpd-ftps.pcap");
    let keys = w.join("keys.log");
    let sniffer = Sniffer::start(&pcap, "lo", &[], &format!("host {ip}"));
    let base = format!("ftp://{ip}:{port}");
    let curl_tls = |args: &[&str]| {
        run(Command::new("curl")
            .env("SSLKEYLOGFILE", &keys)
            .args([
                "-sS",
                "--max-time",
                "60",
                "-k",
                "-u",
                "anonymous:eve@example.org",
            ])
            .args(args)
            .args(["-o", "/dev/null"]))
    };
    let tls12 = curl_tls(&[
        "--ssl-reqd",
        "--tlsv1.2",
        "--tls-max",
        "1.2",
        &format!("{base}/big.bin"),
    ]);
    let tls13 = curl_tls(&["--ssl-reqd", &format!("{base}/pub.txt")]);
    let control_only = curl_tls(&["--ftp-ssl-control", &format!("{base}/pub.txt")]);
    let pcap = sniffer.stop(ip);
    assert_ok(&tls12, "curl TLS 1.2");
    assert_ok(&tls13, "curl TLS 1.3");
    assert_ok(&control_only, "curl --ftp-ssl-control");

    let port_arg = port.to_string();
    let (plain, code) = inspect(&pcap, &["--port", &port_arg]);
    assert_eq!(code, 0);
    let versions: Vec<&str> = of_kind(&plain, "tls_handshake")
        .iter()
        .map(|h| h["version"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(versions, ["TLS 1.2", "TLS 1.3", "TLS 1.3"], "{plain:#?}");
    assert!(credentials(&plain).is_empty(), "nothing readable in clear");
    let transfers = of_kind(&plain, "transfer");
    assert_eq!(transfers.len(), 3, "{transfers:#?}");
    // vsftpd's require_ssl_reuse: each data connection resumes the control session.
    let encrypted: Vec<_> = transfers
        .iter()
        .filter(|t| t["tls"]["encrypted"] == true)
        .collect();
    assert_eq!(encrypted.len(), 2, "{transfers:#?}");
    for t in &encrypted {
        assert_eq!(t["tls"]["resumed"], true, "{t}");
        assert_eq!(t["tls"]["tie"], "guessed", "{t}");
    }
    let big_wire = encrypted
        .iter()
        .map(|t| t["tls"]["encrypted_bytes_to_client"].as_u64().unwrap_or(0))
        .max()
        .unwrap_or(0);
    assert!(big_wire >= 200_000, "sizes stay visible: {big_wire}");
    assert!(
        transfer_hashes(&plain).contains(&small),
        "the --ftp-ssl-control file in clear"
    );
    assert!(ids(&plain).contains("prot-clear"), "{:?}", ids(&plain));

    let (events, code) = inspect(
        &pcap,
        &["--port", &port_arg, "--keylog", keys.to_str().unwrap()],
    );
    assert_eq!(code, 0);
    let creds = credentials(&events);
    assert_eq!(creds.len(), 3, "{creds:?}");
    for c in &creds {
        assert_eq!(c.1, "eve@example.org", "{creds:?}");
    }
    let mut ours: Vec<String> = of_kind(&events, "transfer")
        .iter()
        .filter_map(|t| t["sha256"].as_str().map(str::to_owned))
        .collect();
    ours.sort();
    let mut expected = vec![big.clone(), small.clone(), small.clone()];
    expected.sort();
    assert_eq!(ours, expected);
    // curl opens with AUTH SSL, which tshark 4.0 does not follow into TLS on the control
    // connection; its TLS heuristics still find and decrypt the data connections.
    let (_, tshark_files) = tshark_view(&pcap, &keys, port);
    assert_eq!(
        tshark_files, expected,
        "tshark's decrypted data connections"
    );
}

/// A TLS record lost from the capture (a frame cut out with editcap): what follows it in that
/// direction cannot be decrypted, and a warning says so; everything else is still read.
#[test]
fn a_lost_tls_record_is_a_warning_and_the_rest_is_still_read() {
    let (pcap, keys) = shipped();
    let keylog = ["--port", "2144", "--keylog", keys.to_str().unwrap()];
    let (events, _) = inspect(&pcap, &keylog);
    let pass = of_kind(&events, "command")
        .into_iter()
        .find(|c| c["command"] == "PASS" && c["session"] == 1)
        .expect("session 1's PASS")["frame"]
        .as_u64()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.pcapng");
    let out = run(Command::new("editcap")
        .arg(&pcap)
        .arg(&cut)
        .arg(pass.to_string()));
    assert_ok(&out, "editcap (from the tshark packages)");
    let (events, code) = inspect(&cut, &keylog);
    assert_eq!(code, 1, "a warning");
    let warnings: Vec<_> = of_kind(&events, "warning")
        .into_iter()
        .filter_map(|w| w["message"].as_str())
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("session 1") && w.contains("TLS stream")),
        "{warnings:?}"
    );
    let creds = of_kind(&events, "credential");
    assert!(
        !creds
            .iter()
            .any(|c| c["session"] == 1 && c["password"] == "wonderland"),
        "session 1's password was in the lost frame"
    );
    assert_eq!(
        creds
            .iter()
            .filter(|c| c["password"] == "wonderland")
            .count(),
        6,
        "the other sessions' logins"
    );
}

/// ftplib's FTP_TLS (AUTH TLS, PROT P): upload `up` as `up-MODE.bin`, download `down.bin`.
const FTPLIB_TLS: &str = r#"
import ftplib, io, ssl, sys
host, port, mode, up = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
f = ftplib.FTP_TLS(context=ctx)
f.connect(host, port, timeout=30)
f.login("user1", "pass1")
f.prot_p()
f.set_pasv(mode == "passive")
with open(up, "rb") as fh:
    f.storbinary("STOR up-%s.bin" % mode, fh)
f.retrbinary("RETR down.bin", io.BytesIO().write)
f.quit()
"#;

#[test]
fn our_server_over_ftps_read_with_its_key_log_agrees_with_tshark() {
    // Our own server, its key log (`--tls-keylog`), ftplib in passive and active mode and lftp:
    // without the key log the inspector shows the upgrade and the sizes but no password; with
    // it, the passwords and every file's sha256, as tshark decrypts them.
    if testkit::guard::skipping(testkit::guard::SKIP_PRIVILEGED) {
        eprintln!("SKIPPED (FTPLAB_SKIP_PRIVILEGED=1): records loopback traffic with tcpdump");
        return;
    }
    let ip = own_loopback();
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let keys = w.join("server.keys");
    let keys_arg = keys.to_str().unwrap().to_owned();
    let listen = std::net::SocketAddr::new(ip, 0).to_string();
    let server = testkit::ftp_server::FtpServerProcess::start(
        &testkit::workspace_bin("ftp-server"),
        testkit::ftp_server::ServeOptions {
            listen: Some(&listen),
            tls: true,
            extra: &["--tls-keylog", &keys_arg],
            ..Default::default()
        },
    );
    let up = random_file(&w.join("up.bin"), 180_000);
    let down = random_file(&server.root(1).join("down.bin"), 260_000);
    let port = server.port;
    let pcap = w.join("ours-ftps.pcap");
    let sniffer = Sniffer::start(&pcap, "lo", &[], &format!("host {ip}"));
    let mut outputs = Vec::new();
    for mode in ["passive", "active"] {
        outputs.push((
            format!("ftplib {mode}"),
            run(Command::new("python3")
                .arg("-c")
                .arg(FTPLIB_TLS)
                .arg(ip.to_string())
                .arg(port.to_string())
                .arg(mode)
                .arg(w.join("up.bin"))),
        ));
    }
    let script = format!(
        "set ftp:ssl-force true; set ftp:ssl-protect-data true; set ssl:verify-certificate no; \
         set net:max-retries 1; set net:timeout 20; \
         open -u user1,pass1 ftp://{ip}:{port}; get down.bin -o {}; bye",
        w.join("lftp-down.bin").display()
    );
    outputs.push((
        "lftp".to_owned(),
        run(Command::new("lftp").args(["-c", &script])),
    ));
    let pcap = sniffer.stop(ip);
    for (what, out) in &outputs {
        assert_ok(out, what);
    }

    let port_arg = port.to_string();
    let (plain, code) = inspect(&pcap, &["--port", &port_arg]);
    assert_eq!(code, 0, "{plain:#?}");
    assert!(of_kind(&plain, "tls_handshake").len() >= 3, "{plain:#?}");
    assert!(credentials(&plain).is_empty(), "no password in clear");
    let encrypted: Vec<Value> = of_kind(&plain, "transfer")
        .into_iter()
        .filter(|t| t["tls"]["encrypted"] == true)
        .cloned()
        .collect();
    assert_eq!(encrypted.len(), 5, "{encrypted:#?}");
    for t in &encrypted {
        assert!(
            t["sha256"].is_null(),
            "nothing decrypted without the key log: {t}"
        );
    }
    let ids = ids(&plain);
    assert!(ids.contains("tls-sizes-visible"), "{ids:?}");
    assert!(!ids.contains("prot-clear"), "{ids:?}");

    let (events, code) = inspect(&pcap, &["--port", &port_arg, "--keylog", &keys_arg]);
    assert_eq!(code, 0, "{events:#?}");
    let creds = credentials(&events);
    assert_eq!(creds.len(), 3, "{creds:?}");
    for c in &creds {
        assert_eq!(
            (c.0.as_str(), c.1.as_str()),
            ("user1", "pass1"),
            "{creds:?}"
        );
        assert_eq!(c.2, Value::Bool(true), "{creds:?}");
    }
    let (tshark_pass, tshark_files) = tshark_view(&pcap, &keys, port);
    let (our_pass, our_files) = inspector_view(&events);
    assert_eq!(tshark_pass.len(), 3, "tshark's PASS: {tshark_pass:?}");
    assert_eq!(our_pass, tshark_pass, "PASS (frame, argument)");
    let mut expected = vec![
        up.clone(),
        up.clone(),
        down.clone(),
        down.clone(),
        down.clone(),
    ];
    expected.sort();
    assert_eq!(our_files, expected, "file sha256s");
    assert_eq!(
        tshark_files, expected,
        "tshark's decrypted data connections"
    );
}
