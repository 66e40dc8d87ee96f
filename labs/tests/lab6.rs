//! Lab 6 end to end: every part live in network namespaces (what eve's inspector sees, the
//! stolen file, the victim's data), offline from the shipped capture, and nothing left behind
//! after the lab, after Ctrl-C at each part, and after `kill -9` once the next run has started.
//!
//! The namespace tests take a file lock (cargo runs tests in threads, nextest in processes) and
//! use their own name prefix, so they never touch a student's running lab.

mod common;

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use testkit::process::{describe, run};

/// The tests' namespace prefix (a student's lab uses `ftplab6-`).
const PREFIX: &str = "ftplt6-";

fn runner_in(work: &Path) -> Command {
    let mut cmd = common::runner(work);
    cmd.env("FTPLAB_NETNS_PREFIX", PREFIX);
    cmd
}

/// Root, or the test is skipped the project's way (`FTPLAB_SKIP_PRIVILEGED=1`).
fn root() -> bool {
    if rustix::process::geteuid().is_root() {
        return true;
    }
    testkit::guard::missing(
        testkit::guard::SKIP_PRIVILEGED,
        "lab 6 builds network namespaces: run the tests as root",
    );
    false
}

/// One namespace test at a time, across threads and processes: held while it lives (the
/// kernel drops the lock with the file).
struct NetLock {
    _file: std::fs::File,
}

fn lock() -> NetLock {
    let path = std::env::temp_dir().join("ftplab-lab6-tests.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .expect("open the lock file");
    rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive).expect("lock");
    NetLock { _file: file }
}

/// The lab's namespaces that exist now.
fn namespaces() -> Vec<String> {
    let out = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip netns list");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with(PREFIX))
        .map(str::to_owned)
        .collect()
}

/// Processes of the lab: anything whose command line names the lab's addresses or programs.
fn lab_processes() -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if text.contains("10.66.0.") || text.contains(&format!("netns exec {PREFIX}")) {
            out.push(text);
        }
    }
    out
}

fn assert_nothing_left(what: &str) {
    // The kernel may take a moment to release a namespace after its last process.
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && (!namespaces().is_empty() || !lab_processes().is_empty()) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        namespaces(),
        Vec::<String>::new(),
        "{what}: namespaces left"
    );
    assert_eq!(
        lab_processes(),
        Vec::<String>::new(),
        "{what}: processes left"
    );
    let links = Command::new("ip")
        .args(["-o", "link"])
        .output()
        .expect("ip link");
    assert!(
        !String::from_utf8_lossy(&links.stdout).contains(PREFIX),
        "{what}: links left"
    );
}

#[test]
fn lab6_live_auto_eve_sees_what_each_part_should_show_and_nothing_remains() {
    if !root() {
        return;
    }
    let _lock = lock();
    let work = tempfile::tempdir().expect("temp dir");
    let out = run(runner_in(work.path()).args(["lab", "6", "--auto"]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", describe(&out));
    for line in [
        "✓ hub: eve's inspector saw the password",
        "✓ switch: eve's inspector saw no password",
        "✓ ARP spoofing: eve's inspector saw the password again",
        "✓ ARP spoofing: the client's cache put the server's address at eve's MAC",
        "✓ port stealing: the safe server refused eve's connection",
        "✓ port stealing: the weakened server (--allow-foreign-passive-peer) sent eve the file",
        "✓ bounce: the safe server did not connect to the victim",
        "✓ bounce: the weakened server (--allow-foreign-data-address) sent the victim data",
        "✓ static ARP entries: eve's inspector saw no password",
    ] {
        assert!(text.contains(line), "missing {line:?}\n{}", describe(&out));
    }
    assert!(!text.contains('✗'), "{}", describe(&out));
    // The stolen file is the server's notes.txt, which the client also got from the safe one.
    let files = work.path().join("lab6").join("lab6-files");
    let stolen = std::fs::read(files.join("stolen-weak.bin")).expect("eve kept the stolen file");
    let got = std::fs::read(files.join("client-safe.bin")).expect("the client's download");
    assert!(!stolen.is_empty());
    assert_eq!(stolen, got);
    assert!(std::fs::read(files.join("stolen-safe.bin")).is_ok_and(|b| b.is_empty()));
    assert!(!files.join("victim-safe.bin").exists());
    assert!(files.join("victim-weak.bin").is_file());
    assert!(
        work.path()
            .join("lab6")
            .join("lab6.client.pcapng")
            .is_file(),
        "the client's own capture sits next to eve's"
    );
    assert_nothing_left("after --auto");
    // The live capture answers its own questions.
    let answers = work.path().join("answers.toml");
    let key = run(runner_in(work.path())
        .args(["key", "6", "--capture"])
        .arg(work.path().join("lab6").join("lab6.pcapng")));
    assert!(key.status.success(), "{}", describe(&key));
    let key_text = String::from_utf8_lossy(&key.stdout);
    assert!(!key_text.contains("cannot"), "{key_text}");
    std::fs::write(&answers, key_text.as_bytes()).expect("write answers");
    let check = run(runner_in(work.path())
        .args(["check", "6", "--answers"])
        .arg(&answers));
    assert!(check.status.success(), "{}", describe(&check));
}

#[test]
fn lab6_offline_auto_passes_without_root() {
    let work = tempfile::tempdir().expect("temp dir");
    let out = run(runner_in(work.path()).args(["lab", "6", "--offline", "--auto"]));
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains('✗'),
        "{}",
        describe(&out)
    );
    // As root, once more as a user without any privilege (nobody), as a student runs it.
    if !rustix::process::geteuid().is_root()
        || Command::new("setpriv").arg("--version").output().is_err()
    {
        return;
    }
    let work = tempfile::tempdir().expect("temp dir");
    let _ = Command::new("chmod").arg("777").arg(work.path()).status();
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_ftplab-lab"))
        .args(["lab", "6", "--offline", "--auto"])
        .env("FTPLAB_MY_WORK", work.path())
        .env("FTPLAB_NETNS_PREFIX", PREFIX);
    let out = run(&mut cmd);
    assert!(out.status.success(), "as nobody: {}", describe(&out));
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains('✗'),
        "as nobody: {}",
        describe(&out)
    );
}

#[test]
fn lab6_live_without_root_says_what_is_missing_and_offers_offline() {
    if !rustix::process::geteuid().is_root() {
        let work = tempfile::tempdir().expect("temp dir");
        let out = run(runner_in(work.path()).args(["lab", "6", "--auto"]));
        assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("CAP_NET_ADMIN") && err.contains("--offline"),
            "{err}"
        );
        return;
    }
    // As root: the same message, through setpriv without the capability.
    let setpriv = Command::new("setpriv").arg("--version").output();
    if setpriv.is_err() {
        return;
    }
    let work = tempfile::tempdir().expect("temp dir");
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_ftplab-lab"))
        .args(["lab", "6", "--auto"])
        .env("FTPLAB_MY_WORK", work.path())
        .env("FTPLAB_NETNS_PREFIX", PREFIX);
    // The unprivileged user must be able to write the work folder.
    let _ = Command::new("chmod").arg("777").arg(work.path()).status();
    let out = run(&mut cmd);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("CAP_NET_ADMIN") && err.contains("--offline"),
        "{err}"
    );
}

/// Starts `lab 6 --auto --step K` and returns once part K has begun.
fn start_at(work: &Path, step: usize) -> (Child, String) {
    let mut child = runner_in(work)
        .args(["lab", "6", "--auto", "--step", &step.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the runner");
    let mut stdout = child.stdout.take().expect("piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0
                || tx
                    .send(String::from_utf8_lossy(&buf[..n]).into_owned())
                    .is_err()
            {
                break;
            }
        }
    });
    let mut seen = String::new();
    let marker = format!("Step {step} of");
    while !seen.contains(&marker) {
        let chunk = rx
            .recv_timeout(Duration::from_secs(180))
            .unwrap_or_else(|e| panic!("part {step} did not start ({e}):\n{seen}"));
        seen.push_str(&chunk);
    }
    // Into the part: its programs are running.
    std::thread::sleep(Duration::from_millis(700));
    std::thread::spawn(move || while rx.recv().is_ok() {});
    (child, seen)
}

fn wait_exit(child: &mut Child, limit: Duration) -> Option<i32> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(s) = child.try_wait().expect("wait") {
            return s.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the runner did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn signal(child: &Child, signal: rustix::process::Signal) {
    let pid = rustix::process::Pid::from_raw(i32::try_from(child.id()).expect("pid fits"))
        .expect("a child pid is not 0");
    rustix::process::kill_process(pid, signal).expect("send the signal");
}

#[test]
fn ctrl_c_at_each_part_removes_the_namespaces_and_the_processes() {
    if !root() {
        return;
    }
    let _lock = lock();
    let work = tempfile::tempdir().expect("temp dir");
    for step in 1..=6 {
        let (mut child, _) = start_at(work.path(), step);
        assert!(!namespaces().is_empty(), "part {step} runs in namespaces");
        signal(&child, rustix::process::Signal::INT);
        assert_eq!(wait_exit(&mut child, Duration::from_secs(30)), Some(130));
        assert_nothing_left(&format!("after Ctrl-C in part {step}"));
    }
}

#[test]
fn after_kill_9_the_next_run_removes_what_the_killed_one_left() {
    if !root() {
        return;
    }
    let _lock = lock();
    let work = tempfile::tempdir().expect("temp dir");
    let (mut child, _) = start_at(work.path(), 3);
    signal(&child, rustix::process::Signal::KILL);
    let _ = wait_exit(&mut child, Duration::from_secs(10));
    // A killed runner cleans nothing: its network and servers are still there.
    assert!(!namespaces().is_empty(), "kill -9 left no namespace?");
    assert!(!lab_processes().is_empty(), "kill -9 left no process?");
    let out = run(runner_in(work.path()).args(["lab", "6", "--auto", "--step", "6"]));
    assert!(out.status.success(), "{}", describe(&out));
    assert_nothing_left("after kill -9 and a new run");
}
