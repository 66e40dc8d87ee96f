//! FTPS (RFC 4217) against the real server with real clients: curl (`--ssl-reqd`), lftp
//! (`ftp:ssl-force`) and Python's `ftplib.FTP_TLS` with `prot_p()` put and get files in passive
//! and active mode, checked by sha256 and against the demo certificate; `--tls required` refuses
//! a clear USER with 530; a tcpdump capture of such sessions holds no PASS and no file bytes;
//! clients that break the handshake hurt nobody else.

mod common;

use std::fs;
use std::io::Read;
use std::net::{IpAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::{FtpServerProcess, MIB, SERVER_BIN, ServeOptions, random_file, run};
use common::{describe, sha256_file, sha256_hex};

/// Our server with the demo certificate, on `listen`, with `extra` serve options.
fn start_at(listen: &str, extra: &[&str]) -> FtpServerProcess {
    FtpServerProcess::start(
        Path::new(SERVER_BIN),
        ServeOptions {
            listen: Some(listen),
            extra,
            tls: true,
            ..ServeOptions::default()
        },
    )
}

fn start(extra: &[&str]) -> FtpServerProcess {
    start_at("127.0.0.1:0", extra)
}

/// Waits up to 10 s for a server log line containing every one of `parts`.
fn log_line(server: &FtpServerProcess, parts: &[&str]) -> String {
    server
        .wait_for_log_line(Duration::from_secs(10), |l| {
            parts.iter().all(|p| l.contains(p))
        })
        .unwrap_or_else(|| {
            panic!(
                "no log line with {parts:?}\n--- server log ---\n{}",
                server.log_tail(40)
            )
        })
}

// --- curl ---------------------------------------------------------------------------------

fn curl(args: &[&str]) -> Output {
    run(Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "60", "--ssl-reqd"])
        .args(args))
}

/// curl's version as (major, minor).
fn curl_version() -> (u32, u32) {
    let out = run(Command::new("curl").arg("--version"));
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text.split_whitespace().nth(1).unwrap_or("0.0");
    let mut parts = version.split('.').map(|p| p.parse().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

fn curl_round_trip(server: &FtpServerProcess, host: &str, mode_args: &[&str], name: &str) {
    let local = tempfile::tempdir().unwrap();
    let src = local.path().join("src.bin");
    let back = local.path().join("back.bin");
    let hash = random_file(&src, MIB + 5);
    let url = format!("ftp://user1:pass1@{host}:{}/{name}", server.port);
    let cacert = server.tls_cert();
    // The demo certificate names 127.0.0.1, localhost and ::1; the capture test's own
    // address is none of them.
    let ca = if host == "127.0.0.1" {
        vec!["--cacert", cacert.to_str().unwrap()]
    } else {
        vec!["--insecure"]
    };
    let up = curl(&[&ca[..], mode_args, &["-T", src.to_str().unwrap(), &url]].concat());
    server.assert_success(&up, "curl --ssl-reqd -T");
    assert_eq!(sha256_file(&server.root(1).join(name)), hash, "on disk");
    let down = curl(&[&ca[..], mode_args, &["-o", back.to_str().unwrap(), &url]].concat());
    server.assert_success(&down, "curl --ssl-reqd -o");
    assert_eq!(sha256_file(&back), hash, "downloaded");
}

#[test]
fn curl_puts_and_gets_with_prot_p_in_passive_mode_resuming_the_control_session() {
    let server = start(&[]);
    curl_round_trip(&server, "127.0.0.1", &[], "curl-epsv.bin");
    curl_round_trip(&server, "127.0.0.1", &["--disable-epsv"], "curl-pasv.bin");
    for verb in ["STOR /curl-epsv.bin", "RETR /curl-pasv.bin"] {
        let line = log_line(&server, &["transfer complete", verb]);
        assert!(line.contains("protection=TLS"), "{line}");
        // curl offers the control connection's session on each data connection (OpenSSL
        // session reuse), and one rustls config with one session cache serves both.
        assert!(line.contains("resumed"), "{line}");
    }
    log_line(&server, &["control connection protected by TLS"]);
}

#[test]
fn curl_in_active_mode_round_trips_or_its_clear_upload_is_refused() {
    let server = start(&["--data-timeout-secs", "5"]);
    if curl_version() >= (8, 0) {
        curl_round_trip(
            &server,
            "127.0.0.1",
            &["--ftp-port", "127.0.0.1"],
            "curl-act.bin",
        );
        return;
    }
    // curl 7.87 and 7.88 (Debian 12) forget TLS on active data connections (curl issue
    // #10666): with --ssl-reqd they send the file in clear. The server must not take it.
    let local = tempfile::tempdir().unwrap();
    let src = local.path().join("src.bin");
    random_file(&src, 1000);
    let url = format!("ftp://user1:pass1@127.0.0.1:{}/clear.bin", server.port);
    let out = curl(&[
        "-k",
        "--ftp-port",
        "127.0.0.1",
        "-T",
        src.to_str().unwrap(),
        &url,
    ]);
    assert!(
        !out.status.success(),
        "curl says it uploaded:\n{}",
        describe(&out)
    );
    let line = log_line(&server, &["transfer failed", "STOR /clear.bin"]);
    assert!(
        line.contains("TLS handshake on the data connection"),
        "{line}"
    );
    assert!(!server.root(1).join("clear.bin").exists());
}

// --- lftp ---------------------------------------------------------------------------------

fn lftp(server: &FtpServerProcess, host: &str, active: bool, script: &str) -> Output {
    let home = tempfile::tempdir().unwrap();
    let verify = if host == "127.0.0.1" {
        format!("set ssl:ca-file {}", server.tls_cert().display())
    } else {
        "set ssl:verify-certificate no".to_owned()
    };
    let full = format!(
        "set cmd:fail-exit yes; set net:max-retries 1; set net:timeout 10; \
         set xfer:clobber on; set ftp:ssl-force true; set ftp:ssl-protect-data true; \
         set ftp:ssl-protect-list true; {verify}; set ftp:passive-mode {}; \
         open -u user1,pass1 ftp://{host}:{}; {script}",
        if active { "off" } else { "on" },
        server.port
    );
    run(Command::new("lftp")
        .arg("-d")
        .arg("-c")
        .arg(&full)
        .env("HOME", home.path()))
}

fn lftp_round_trip(server: &FtpServerProcess, host: &str, active: bool) -> Output {
    let local = tempfile::tempdir().unwrap();
    let src = local.path().join("src.bin");
    let back = local.path().join("back.bin");
    let hash = random_file(&src, MIB + 17);
    let name = format!("lftp-{}.bin", if active { "active" } else { "passive" });
    let out = lftp(
        server,
        host,
        active,
        &format!(
            "put {} -o {name}; get {name} -o {}",
            src.display(),
            back.display()
        ),
    );
    server.assert_success(&out, "lftp with ftp:ssl-force");
    assert_eq!(sha256_file(&server.root(1).join(&name)), hash, "on disk");
    assert_eq!(sha256_file(&back), hash, "downloaded");
    out
}

#[test]
fn lftp_puts_and_gets_with_prot_p_in_passive_mode() {
    let server = start(&[]);
    let out = lftp_round_trip(&server, "127.0.0.1", false);
    let debug = String::from_utf8_lossy(&out.stderr);
    for line in ["---> AUTH TLS", "<--- 234", "---> PROT P", "<--- 200"] {
        assert!(debug.contains(line), "lftp -d shows no {line:?}:\n{debug}");
    }
    let line = log_line(&server, &["transfer complete", "RETR /lftp-passive.bin"]);
    assert!(line.contains("protection=TLS"), "{line}");
}

#[test]
fn lftp_puts_and_gets_with_prot_p_in_active_mode() {
    let server = start(&[]);
    lftp_round_trip(&server, "127.0.0.1", true);
    let line = log_line(&server, &["transfer complete", "STOR /lftp-active.bin"]);
    assert!(line.contains("protection=TLS"), "{line}");
}

// --- Python's ftplib ----------------------------------------------------------------------

/// FTP_TLS, checking the server against the demo certificate; prot_p(); put and get a file.
const FTPLIB_TLS: &str = r#"
import ftplib, hashlib, json, ssl, sys
host, port, cafile, src, name, mode = sys.argv[1:7]
context = ssl.create_default_context(cafile=cafile)
if host != '127.0.0.1':
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
ftp = ftplib.FTP_TLS(context=context)
ftp.connect(host, int(port), timeout=60)
ftp.login('user1', 'pass1')
ftp.prot_p()
ftp.set_pasv(mode == 'passive')
with open(src, 'rb') as f:
    stor = ftp.storbinary('STOR ' + name, f, blocksize=1 << 16)
h = hashlib.sha256()
retr = ftp.retrbinary('RETR ' + name, h.update, blocksize=1 << 16)
listing = ftp.nlst()
cipher = ftp.sock.cipher()
quit = ftp.quit()
print(json.dumps({'stor': stor, 'retr': retr, 'sha256': h.hexdigest(), 'nlst': listing,
                  'cipher': cipher[0], 'quit': quit}))
"#;

fn ftplib_round_trip(server: &FtpServerProcess, host: &str, mode: &str) {
    let local = tempfile::tempdir().unwrap();
    let src = local.path().join("src.bin");
    let hash = random_file(&src, MIB + 3);
    let name = format!("py-{mode}.bin");
    let out = run(Command::new("python3")
        .arg("-c")
        .arg(FTPLIB_TLS)
        .args([host, &server.port.to_string()])
        .arg(server.tls_cert())
        .arg(&src)
        .args([&name, mode]));
    server.assert_success(&out, "python3 ftplib.FTP_TLS");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let got: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"));
    assert!(
        got["stor"].as_str().unwrap_or("").starts_with("226"),
        "{got}"
    );
    assert!(
        got["retr"].as_str().unwrap_or("").starts_with("226"),
        "{got}"
    );
    assert!(
        got["quit"].as_str().unwrap_or("").starts_with("221"),
        "{got}"
    );
    assert_eq!(got["sha256"], hash, "downloaded");
    assert!(
        got["nlst"]
            .as_array()
            .is_some_and(|names| names.iter().any(|n| n.as_str() == Some(name.as_str()))),
        "{got}"
    );
    assert_eq!(sha256_file(&server.root(1).join(&name)), hash, "on disk");
}

#[test]
fn ftplib_ftp_tls_with_prot_p_round_trips_in_passive_mode() {
    let server = start(&[]);
    ftplib_round_trip(&server, "127.0.0.1", "passive");
}

#[test]
fn ftplib_ftp_tls_with_prot_p_round_trips_in_active_mode() {
    let server = start(&[]);
    ftplib_round_trip(&server, "127.0.0.1", "active");
    let line = log_line(&server, &["transfer complete", "RETR /py-active.bin"]);
    assert!(line.contains("protection=TLS"), "{line}");
}

// --- policies -----------------------------------------------------------------------------

#[test]
fn with_tls_required_a_clear_user_gets_530_and_feat_offers_auth_tls() {
    let server = start(&["--tls", "required"]);
    let mut control = server.connect();
    let feat = control.cmd("FEAT");
    for line in ["AUTH TLS", "PBSZ", "PROT"] {
        assert!(
            feat.text.lines().any(|l| l.trim() == line),
            "FEAT lacks {line}: {feat:?}"
        );
    }
    let refused = control.cmd("USER user1");
    assert_eq!(refused.code, 530, "{refused:?}");
    assert!(refused.text.contains("AUTH TLS"), "{refused:?}");
    let refused = control.cmd("PASS pass1");
    assert_eq!(refused.code, 530, "{refused:?}");
    // The same server serves a client that asks for TLS.
    let local = tempfile::tempdir().unwrap();
    let back = local.path().join("w.txt");
    let url = format!("ftp://user1:pass1@127.0.0.1:{}/welcome.txt", server.port);
    let cacert = server.tls_cert();
    let out = curl(&[
        "--cacert",
        cacert.to_str().unwrap(),
        "-o",
        back.to_str().unwrap(),
        &url,
    ]);
    server.assert_success(&out, "curl --ssl-reqd under --tls required");
    assert_eq!(
        fs::read(&back).unwrap(),
        fs::read(server.root(1).join("welcome.txt")).unwrap()
    );
}

#[test]
fn with_tls_required_a_transfer_under_prot_c_gets_521() {
    // FTP_TLS logs in inside TLS; without prot_p() its data connections stay clear (PROT C).
    const PROT_C: &str = r#"
import ftplib, json, ssl, sys
port, cafile = sys.argv[1:3]
ftp = ftplib.FTP_TLS(context=ssl.create_default_context(cafile=cafile))
ftp.connect('127.0.0.1', int(port), timeout=30)
ftp.login('user1', 'pass1')
try:
    lines = []
    reply = ftp.retrlines('RETR welcome.txt', lines.append)
except ftplib.error_perm as e:
    reply = str(e)
print(json.dumps({'reply': reply}))
"#;
    let retr_reply = |server: &FtpServerProcess| {
        let out = run(Command::new("python3")
            .args(["-c", PROT_C, &server.port.to_string()])
            .arg(server.tls_cert()));
        server.assert_success(&out, "python3 FTP_TLS without prot_p");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let got: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
            .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"));
        got["reply"].as_str().unwrap_or("").to_owned()
    };
    let lenient = start(&["--tls", "required", "--tls-data", "optional"]);
    let reply = retr_reply(&lenient);
    assert!(reply.starts_with("226"), "{reply}");
    let line = log_line(&lenient, &["transfer complete", "RETR /welcome.txt"]);
    assert!(line.contains("protection=clear"), "{line}");

    let strict = start(&["--tls", "required"]);
    let reply = retr_reply(&strict);
    assert!(reply.starts_with("521"), "{reply}");
    assert!(reply.contains("PROT P"), "{reply}");
}

// --- what a capture of FTPS sessions shows -------------------------------------------------

/// tcpdump writing everything to and from `ip` into `path`, until dropped or stopped.
struct Capture {
    child: Child,
    path: PathBuf,
}

impl Capture {
    /// Starts tcpdump; `None` (after saying so) when it cannot capture and the privileged tests
    /// are skipped on purpose.
    fn start(path: &Path, ip: IpAddr) -> Option<Capture> {
        let mut child = Command::new("tcpdump")
            .args(["-i", "lo", "-U", "-w"])
            .arg(path)
            .args(["host", &ip.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("tcpdump is needed for this test: apt-get install tcpdump");
        let mut stderr = child.stderr.take().expect("piped");
        let (tx, rx) = std::sync::mpsc::channel();
        thread::spawn(move || {
            let mut said = Vec::new();
            let mut byte = [0u8; 1];
            while let Ok(1) = stderr.read(&mut byte) {
                said.push(byte[0]);
                if said.ends_with(b"\n") {
                    let _ = tx.send(String::from_utf8_lossy(&said).into_owned());
                }
            }
            let _ = tx.send(String::from_utf8_lossy(&said).into_owned());
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        while let Ok(line) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            if line.contains("listening on") {
                return Some(Capture {
                    child,
                    path: path.to_owned(),
                });
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        testkit::guard::missing(
            testkit::guard::SKIP_PRIVILEGED,
            "tcpdump cannot capture on lo: this test needs root (or CAP_NET_RAW)",
        );
        None
    }

    /// Lets tcpdump write what it has, stops it and returns the capture's bytes.
    fn stop(mut self) -> Vec<u8> {
        thread::sleep(Duration::from_millis(500));
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        fs::read(&self.path).unwrap_or_default()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// tshark's count of packets matching `filter` in `capture` (the server's port decoded as FTP).
fn tshark_count(capture: &Path, port: u16, filter: &str) -> usize {
    let out = run(Command::new("tshark").arg("-r").arg(capture).args([
        "-d",
        &format!("tcp.port=={port},ftp"),
        "-Y",
        filter,
    ]));
    assert!(out.status.success(), "tshark: {}", describe(&out));
    String::from_utf8_lossy(&out.stdout).lines().count()
}

#[test]
fn a_capture_of_curl_lftp_and_ftplib_over_ftps_holds_no_password_and_no_file_bytes() {
    // A loopback address of this test's own, so the capture holds only its sessions.
    let ip = IpAddr::from([127, 71, (std::process::id() % 250) as u8 + 1, 9]);
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("ftps.pcap");
    let Some(capture) = Capture::start(&pcap, ip) else {
        return;
    };
    let server = start_at(&format!("{ip}:0"), &["--tls", "required"]);
    let host = ip.to_string();
    // Text that would stand out in a capture, in the files of every transfer.
    let marker = format!("FTPLAB-SECRET-FILE-CONTENT-{}", std::process::id());
    let secret: Vec<u8> = marker.repeat(2000).into_bytes();
    fs::write(server.root(1).join("secret.txt"), &secret).unwrap();

    curl_round_trip(&server, &host, &[], "c.bin");
    let out = curl(&[
        "--insecure",
        &format!("ftp://user1:pass1@{host}:{}/secret.txt", server.port),
    ]);
    server.assert_success(&out, "curl get secret.txt");
    assert_eq!(out.stdout, secret);
    lftp_round_trip(&server, &host, false);
    lftp_round_trip(&server, &host, true);
    let out = lftp(&server, &host, true, "cat secret.txt");
    server.assert_success(&out, "lftp cat secret.txt");
    assert_eq!(out.stdout, secret);
    ftplib_round_trip(&server, &host, "passive");
    ftplib_round_trip(&server, &host, "active");
    let bytes = capture.stop();

    // The capture worked: what crosses before TLS starts is there.
    assert!(contains(&bytes, b"AUTH TLS"), "no AUTH TLS in the capture");
    assert!(contains(&bytes, b"234 "), "no 234 in the capture");
    // What TLS hides is not.
    for needle in [&b"PASS "[..], b"pass1", b"USER user1", marker.as_bytes()] {
        assert!(
            !contains(&bytes, needle),
            "{:?} is readable in the capture",
            String::from_utf8_lossy(needle)
        );
    }
    assert_eq!(
        tshark_count(&pcap, server.port, "ftp.request.command == \"PASS\""),
        0
    );
    assert!(tshark_count(&pcap, server.port, "ftp.request.command == \"AUTH\"") >= 5);
    assert!(tshark_count(&pcap, server.port, "tls.handshake.type == 1") >= 10);
}

// --- clients that break the handshake -----------------------------------------------------

/// A TLS record header announcing a ClientHello, without the rest of it.
const HALF_A_CLIENT_HELLO: &[u8] = &[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc];

#[test]
fn garbage_or_a_vanished_client_in_the_handshake_hurts_no_other_session() {
    let server = start(&[]);
    let mut bystander = server.login(2);

    // Plain FTP where a ClientHello belongs.
    let mut garbage = server.connect();
    assert_eq!(garbage.cmd("AUTH TLS").code, 234);
    garbage.send_raw(b"USER user1\r\nPASS pass1\r\n");
    assert_closed(garbage.stream());
    log_line(&server, &["TLS handshake", "not a TLS ClientHello"]);

    // Half a ClientHello, then gone.
    let mut vanished = server.connect();
    assert_eq!(vanished.cmd("AUTH SSL").code, 234);
    vanished.send_raw(HALF_A_CLIENT_HELLO);
    drop(vanished);
    log_line(
        &server,
        &[
            "TLS handshake",
            "closed the connection during the TLS handshake",
        ],
    );

    // Bytes sent before 234 (a command injected ahead of the handshake) close the connection.
    let mut eager = server.connect();
    eager.send_raw(b"AUTH TLS\r\nUSER injected\r\n");
    assert_closed(eager.stream());
    log_line(&server, &["bytes followed AUTH TLS"]);

    // Random bytes after 234.
    let mut noise = server.connect();
    assert_eq!(noise.cmd("AUTH TLS").code, 234);
    noise.send_raw(&testkit::files::random_bytes(4096));
    assert_closed(noise.stream());

    bystander.expect("NOOP", 200);
    let (first, bytes, last) = bystander.retr("welcome.txt");
    assert_eq!(first.code, 150);
    assert_eq!(
        sha256_hex(&bytes),
        sha256_file(&server.root(2).join("welcome.txt"))
    );
    assert_eq!(last.map(|r| r.code), Some(226));
}

/// Waits until the server closes `stream` (EOF or reset), failing after 10 s.
fn assert_closed(stream: &TcpStream) {
    let mut stream = stream.try_clone().expect("clone");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            // A TLS alert or a stray reply may come first.
            Ok(_) => {}
        }
    }
}
