//! `inspector live --flow`: our server on loopback, curl downloading a file in passive mode,
//! and the ladder drawn when the capture stops (with the data connection's SYN and FIN, which a
//! live capture cannot read twice to find). Needs CAP_NET_RAW (CI runs as root);
//! `FTPLAB_SKIP_LIVE=1` skips it elsewhere.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use testkit::ftp_server::{FtpServerProcess, ServeOptions};
use testkit::process::{assert_success, run};

#[test]
fn live_flow_draws_the_session_with_its_data_connection_when_the_capture_stops() {
    if testkit::guard::skipping(testkit::guard::SKIP_LIVE) {
        eprintln!("SKIPPED (FTPLAB_SKIP_LIVE=1): live capture not tested");
        return;
    }
    let server = FtpServerProcess::start(
        &testkit::workspace_bin("ftp-server"),
        ServeOptions::default(),
    );
    let work = tempfile::tempdir().expect("temp dir");
    let file = work.path().join("up.txt");
    std::fs::write(&file, "ladder\n").expect("write");
    let stdout = work.path().join("live.txt");
    let mut live = Command::new(testkit::workspace_bin("inspector"))
        .args(["live", "--iface", "lo", "--port", &server.port.to_string()])
        .args(["--flow", "--ascii", "--no-color", "--duration", "30"])
        .stdout(std::fs::File::create(&stdout).expect("stdout file"))
        .stderr(Stdio::piped())
        .spawn()
        .expect("start inspector live");
    let mut stderr = BufReader::new(live.stderr.take().expect("stderr"));
    let mut line = String::new();
    stderr.read_line(&mut line).expect("first stderr line");
    if line.contains("CAP_NET_RAW") {
        let _ = live.wait();
        panic!(
            "{line}(set FTPLAB_SKIP_LIVE=1 to skip live-capture tests where that is impossible)"
        );
    }
    assert!(
        line.contains("capturing on lo"),
        "inspector live said {line:?}"
    );
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));

    let url = format!("ftp://127.0.0.1:{}/", server.port);
    let out = run(Command::new("curl")
        .args(["-sS", "--max-time", "30", "-u", "user1:pass1", "-T"])
        .arg(&file)
        .arg(&url));
    assert_success(&out, "curl upload");
    std::thread::sleep(Duration::from_millis(300));
    // SIGINT stops it like Ctrl-C; then it draws. Bounded wait.
    let _ = Command::new("kill")
        .args(["-INT", &live.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(30);
    while live.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = live.kill();
            panic!("inspector live did not stop within 30 s of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = std::fs::read_to_string(&stdout).expect("live output");
    // The diagram: from its first session's heading to its legend (the live log before it
    // and the tables after it are not the diagram's).
    let start = output.find("Session 1: client").expect("no diagram");
    let end = output.find("in clear\n").expect("no legend");
    let text = output.get(start..end).expect("diagram");
    for wanted in [
        "! PASS pass1",
        "STOR up.txt",
        "STOR up.txt: 7 B",
        "SYN :",
        "FIN",
    ] {
        assert!(text.contains(wanted), "no {wanted:?} in\n{text}");
    }
    assert!(text.is_ascii(), "--ascii diagram is not ASCII:\n{text}");
}
