//! The server probed as an attacker would: symlink swaps racing the jail, parallel and
//! alternating password guesses, special files, clients killed mid-upload, a full disk, and
//! names that smuggle CR. Every loop here is bounded in count and time.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::{Control, MIB, TestServer, random_bytes, sha256_hex};

const OUTSIDE: &[u8] = b"OUTSIDE-SECRET: a file no FTP user may read";

/// Swaps two names with `renameat2(RENAME_EXCHANGE)` as fast as it can, until dropped
/// (at most two minutes).
struct Swapper {
    stop: Arc<AtomicBool>,
    swaps: Arc<AtomicU64>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Swapper {
    fn start(a: PathBuf, b: PathBuf) -> Swapper {
        let stop = Arc::new(AtomicBool::new(false));
        let swaps = Arc::new(AtomicU64::new(0));
        let thread = {
            let (stop, swaps) = (stop.clone(), swaps.clone());
            thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(120);
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    rustix::fs::renameat_with(
                        rustix::fs::CWD,
                        &a,
                        rustix::fs::CWD,
                        &b,
                        rustix::fs::RenameFlags::EXCHANGE,
                    )
                    .expect("renameat2(RENAME_EXCHANGE)");
                    swaps.fetch_add(1, Ordering::Relaxed);
                }
            })
        };
        Swapper {
            stop,
            swaps,
            thread: Some(thread),
        }
    }
}

impl Drop for Swapper {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().ok();
        }
    }
}

/// A file and a folder next to the users' roots, that symlinks inside root1 point to.
fn outside_dir(server: &TestServer) -> PathBuf {
    let outside = server.dir.path().join("outside");
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("secret"), OUTSIDE).unwrap();
    fs::write(outside.join("x"), OUTSIDE).unwrap();
    outside
}

/// Every entry under `dir`, recursively (symlinks not followed).
fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(path.clone());
            }
            found.push(path);
        }
    }
    found
}

fn temp_files(dir: &Path) -> Vec<PathBuf> {
    tree(dir)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".ftplab-upload-"))
        })
        .collect()
}

/// Counts what `n` downloads got: the inside content, a refusal, or the outside file.
#[derive(Debug, Default)]
struct RaceTally {
    inside: u32,
    refused: u32,
    escaped: u32,
}

impl RaceTally {
    fn count(&mut self, first: u16, bytes: &[u8]) {
        if bytes == OUTSIDE {
            self.escaped += 1;
        } else if first == 550 {
            self.refused += 1;
        } else {
            assert!(matches!(first, 125 | 150), "unexpected reply {first}");
            self.inside += 1;
        }
    }

    /// No escape, and the swap really raced the server (both outcomes seen).
    fn assert_held(&self, what: &str) {
        assert_eq!(
            self.escaped, 0,
            "{what}: the outside file was served: {self:?}"
        );
        assert!(
            self.inside > 0 && self.refused > 0,
            "{what}: the race was not exercised: {self:?}"
        );
    }
}

#[test]
fn symlink_swap_race_never_lets_retr_read_outside_the_root() {
    let server = TestServer::start(&[]);
    let root = server.root(1);
    let outside = outside_dir(&server);
    fs::write(root.join("racefile"), b"inside file").unwrap();
    symlink(outside.join("secret"), root.join("racelink")).unwrap();
    fs::create_dir(root.join("racedir")).unwrap();
    fs::write(root.join("racedir/x"), b"inside folder's file").unwrap();
    symlink(&outside, root.join("racedirlink")).unwrap();
    let file_swap = Swapper::start(root.join("racefile"), root.join("racelink"));
    let dir_swap = Swapper::start(root.join("racedir"), root.join("racedirlink"));

    let mut c = server.login(1);
    let mut files = RaceTally::default();
    let mut dirs = RaceTally::default();
    for i in 0..2000 {
        let (path, tally) = if i % 2 == 0 {
            ("racefile", &mut files)
        } else {
            ("racedir/x", &mut dirs)
        };
        let (first, bytes, _) = c.retr(path);
        tally.count(first.code, &bytes);
    }
    let swaps = file_swap.swaps.load(Ordering::Relaxed) + dir_swap.swaps.load(Ordering::Relaxed);
    drop((file_swap, dir_swap));
    files.assert_held("RETR racefile");
    dirs.assert_held("RETR racedir/x");
    assert!(swaps > 2000, "only {swaps} swaps");
}

#[test]
fn symlink_swap_race_never_lets_cwd_then_retr_read_outside_the_root() {
    let server = TestServer::start(&[]);
    let root = server.root(1);
    let outside = outside_dir(&server);
    fs::create_dir(root.join("racedir")).unwrap();
    fs::write(root.join("racedir/x"), b"inside folder's file").unwrap();
    symlink(&outside, root.join("racedirlink")).unwrap();
    let _swap = Swapper::start(root.join("racedir"), root.join("racedirlink"));

    let mut c = server.login(1);
    let mut tally = RaceTally::default();
    let mut cwd_ok = 0;
    for _ in 0..2000 {
        let cwd = c.cmd("CWD racedir");
        if cwd.code != 250 {
            assert_eq!(cwd.code, 550, "{cwd:?}");
            continue;
        }
        cwd_ok += 1;
        let (first, bytes, _) = c.retr("x");
        tally.count(first.code, &bytes);
        c.expect("CWD /", 250);
    }
    assert!(cwd_ok > 0, "CWD never succeeded");
    tally.assert_held("CWD racedir; RETR x");
}

#[test]
fn symlink_swap_race_never_lets_stor_write_outside_the_root_nor_leave_temp_files() {
    let server = TestServer::start(&[]);
    let root = server.root(1);
    let outside = outside_dir(&server);
    fs::create_dir(root.join("racedir")).unwrap();
    symlink(&outside, root.join("racedirlink")).unwrap();
    let swap = Swapper::start(root.join("racedir"), root.join("racedirlink"));

    // Eight sessions at once, 250 uploads each: 2,000 in all.
    let stored = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..8)
        .map(|t| {
            let mut c = server.login(1);
            let (stored, refused) = (stored.clone(), refused.clone());
            thread::spawn(move || {
                c.expect("TYPE I", 200);
                for i in 0..250 {
                    let mut data = c.open_passive();
                    let first = c.cmd(&format!("STOR racedir/pwn{t}-{i}.txt"));
                    if first.code == 550 {
                        refused.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    assert!(matches!(first.code, 125 | 150), "{first:?}");
                    data.write_all(b"pwned").unwrap();
                    drop(data);
                    let last = c.read_reply();
                    assert_eq!(last.code, 226, "{last:?}");
                    stored.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("upload worker");
    }
    drop(swap);

    let landed_outside: Vec<_> = tree(&outside)
        .into_iter()
        .filter(|p| p.file_name() != Some("secret".as_ref()) && p.file_name() != Some("x".as_ref()))
        .collect();
    assert!(
        landed_outside.is_empty(),
        "uploads landed outside the root: {landed_outside:?}"
    );
    assert_eq!(temp_files(&root), Vec::<PathBuf>::new());
    assert_eq!(temp_files(&outside), Vec::<PathBuf>::new());
    let (stored, refused) = (
        stored.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed),
    );
    assert!(
        stored > 0 && refused > 0,
        "race not exercised: {stored} stored, {refused} refused"
    );
    // Every 226 is a file in the root's racedir, wherever the swap has put that folder now.
    let inside = [root.join("racedir"), root.join("racedirlink")]
        .iter()
        .filter(|p| p.is_dir() && !p.is_symlink())
        .map(|p| fs::read_dir(p).unwrap().count() as u64)
        .sum::<u64>();
    assert_eq!(inside, stored);
}

/// Logs in on a new connection; returns the reply codes of USER and PASS, or the 421 greeting.
fn try_login(server: &TestServer, user: &str, pass: &str) -> (u16, String) {
    let mut c = Control::connect(server.addr());
    let greeting = c.read_reply();
    if greeting.code != 220 {
        return (greeting.code, greeting.text);
    }
    c.expect(&format!("USER {user}"), 331);
    let reply = c.cmd(&format!("PASS {pass}"));
    (reply.code, reply.text)
}

#[test]
fn hundred_parallel_guesses_from_one_address_judge_no_more_than_the_limit() {
    let server = TestServer::start(&[
        "--max-login-failures",
        "10",
        "--max-user-login-failures",
        "0",
        "--max-sessions-per-address",
        "200",
    ]);
    let mut sessions: Vec<Control> = (0..100)
        .map(|_| {
            let mut c = server.connect();
            c.expect("USER user1", 331);
            c
        })
        .collect();
    // All guesses leave at once, the right one among them. Checks beyond the budget wait for
    // verdicts; which ten run first depends on which sessions' tasks run first. What matters:
    // no eleventh wrong guess is ever judged, and once ten were, nothing more is.
    let right = rand::random_range(0..100usize);
    for (i, c) in sessions.iter_mut().enumerate() {
        let guess = if i == right {
            "pass1".to_owned()
        } else {
            format!("guess{i}")
        };
        c.send_raw(format!("PASS {guess}\r\n").as_bytes());
    }
    let mut codes = BTreeMap::<u16, u32>::new();
    for c in &mut sessions {
        *codes.entry(c.read_reply().code).or_default() += 1;
    }
    let wrong_judged = codes.get(&530).copied().unwrap_or(0);
    assert!(
        wrong_judged <= 10,
        "{wrong_judged} wrong guesses judged, limit 10: {codes:?}"
    );
    assert!(codes.get(&230).copied().unwrap_or(0) <= 1, "{codes:?}");
    assert!(codes.get(&421).copied().unwrap_or(0) >= 89, "{codes:?}");
    // Ten wrong verdicts lock the address; then even the right password is refused.
    if codes.get(&530) == Some(&10) {
        assert_eq!(try_login(&server, "user1", "pass1").0, 421);
    }
}

#[test]
fn own_account_logins_do_not_reset_the_guessing_budget_for_another_user() {
    // Both budgets, each on its own: the address's (3) and the user's (3, address 100).
    for budget in [
        [
            "--max-login-failures",
            "3",
            "--max-user-login-failures",
            "0",
        ],
        [
            "--max-login-failures",
            "100",
            "--max-user-login-failures",
            "3",
        ],
    ] {
        let server = TestServer::start(&budget);
        let mut judged = 0;
        for _round in 0..5 {
            for _ in 0..2 {
                let (code, text) = try_login(&server, "user2", "wrong");
                if code == 530 && text.contains("Login incorrect") {
                    judged += 1;
                }
            }
            // The attacker's own account works (or the whole address is locked).
            let (code, _) = try_login(&server, "user1", "pass1");
            assert!(
                matches!(code, 230 | 421),
                "{budget:?}: own login got {code}"
            );
        }
        assert!(judged <= 3, "{budget:?}: {judged} guesses at user2 judged");
        let (code, text) = try_login(&server, "user2", "pass2");
        assert_ne!(code, 230, "{budget:?}: user2 still guessable: {text}");
        assert!(
            text.contains("Too many failed logins"),
            "{budget:?}: {text}"
        );
    }
}

#[test]
fn two_users_behind_one_address_keep_logging_in_while_a_third_is_guessed() {
    // Default budgets: 5 per user and address, 50 per address.
    let server = TestServer::start(&[]);
    let mut judged = 0;
    for round in 0..20 {
        let (code, text) = try_login(&server, "user3", &format!("guess{round}"));
        assert!(matches!(code, 530), "guess {round}: {code} {text}");
        if text.contains("Login incorrect") {
            judged += 1;
        }
        for n in [1, 2] {
            let (code, text) = try_login(&server, &format!("user{n}"), &format!("pass{n}"));
            assert_eq!(code, 230, "round {round}: user{n} got {code} {text}");
        }
    }
    assert_eq!(judged, 5, "guesses at user3 judged before its lockout");
    let (code, text) = try_login(&server, "user3", "pass3");
    assert_eq!(code, 530, "{text}");
    assert!(text.contains("Too many failed logins for user3"), "{text}");
}

fn mkfifo(path: &Path) {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o644),
        0,
    )
    .expect("mkfifo");
}

#[test]
fn fifo_is_refused_with_550_and_the_server_keeps_greeting() {
    let server = TestServer::start(&[]);
    mkfifo(&server.root(1).join("fifo"));
    let mut sessions: Vec<Control> = (0..2).map(|_| server.login(1)).collect();
    for c in &mut sessions {
        c.expect("TYPE I", 200);
        for verb in ["RETR", "APPE", "STOR"] {
            let _data = c.open_passive();
            let reply = c.cmd(&format!("{verb} fifo"));
            assert_eq!(reply.code, 550, "{verb} fifo: {reply:?}");
            assert!(reply.text.contains("not a regular file"), "{reply:?}");
        }
        let size = c.cmd("SIZE fifo");
        assert_eq!(size.code, 550, "{size:?}");
        assert!(size.text.contains("not a regular file"), "{size:?}");
        // Opening it as a folder fails before any wait, too.
        assert_eq!(c.cmd("CWD fifo").code, 550);
        assert_eq!(c.cmd("MLST fifo").code, 250);
    }
    // Listings show it as what it is.
    let (_, list) = sessions[0].listing("LIST");
    let line = list
        .lines()
        .find(|l| l.ends_with(" fifo"))
        .expect("fifo listed");
    assert!(line.starts_with('p'), "{line}");
    let (_, mlsd) = sessions[0].listing("MLSD");
    assert!(mlsd.contains("type=OS.unix=fifo"), "{mlsd}");
    // Nothing is stuck: new connections are greeted at once, old sessions still answer.
    for _ in 0..5 {
        let mut c = Control::connect(server.addr());
        c.stream()
            .set_read_timeout(Some(Duration::from_secs(3)))
            .unwrap();
        assert_eq!(c.read_reply().code, 220);
    }
    for c in &mut sessions {
        c.expect("NOOP", 200);
    }
}

#[test]
fn a_client_killed_mid_upload_never_leaves_a_file_nor_truncates_one() {
    let server = TestServer::start(&[]);
    let root = server.root(1);
    let upload = server.dir.path().join("up.bin");
    fs::write(&upload, random_bytes(40 * MIB)).unwrap();
    let old = random_bytes(MIB);
    let old_sha = sha256_hex(&old);
    const TRIALS: usize = 50;
    const AT_ONCE: usize = 5;
    let mut outcomes = Vec::new();
    for batch in 0..TRIALS / AT_ONCE {
        let mut running = Vec::new();
        for k in 0..AT_ONCE {
            let trial = batch * AT_ONCE + k;
            let folder = root.join(format!("trial{trial}"));
            fs::create_dir(&folder).unwrap();
            // Every other trial replaces a complete file that must survive whole.
            let replaces = trial.is_multiple_of(2);
            if replaces {
                fs::write(folder.join("kill.bin"), &old).unwrap();
            }
            let child = Command::new("curl")
                .args(["-sS", "--limit-rate", "8M", "-T"])
                .arg(&upload)
                .arg(format!("{}trial{trial}/kill.bin", server.url(1)))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn curl");
            running.push((trial, folder, replaces, child));
        }
        // Kill each somewhere between 0.4 and 1.4 s into its 5 s upload.
        for (k, (_, _, _, child)) in running.iter_mut().enumerate() {
            thread::sleep(Duration::from_millis(if k == 0 { 400 } else { 200 }));
            child.kill().expect("SIGKILL curl");
            child.wait().ok();
        }
        for (trial, folder, replaces, _) in running {
            // Wait until the server has let go of the temp file.
            let deadline = Instant::now() + Duration::from_secs(15);
            while !temp_files(&folder).is_empty() && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(20));
            }
            thread::sleep(Duration::from_millis(100));
            assert_eq!(temp_files(&folder), Vec::<PathBuf>::new(), "trial {trial}");
            let target = folder.join("kill.bin");
            let outcome = match fs::read(&target) {
                Err(_) if !replaces => "no file",
                Ok(bytes) if replaces && sha256_hex(&bytes) == old_sha => "old file whole",
                Ok(bytes) => panic!(
                    "trial {trial}: a killed upload left {} bytes under the name (replaces: {replaces})",
                    bytes.len()
                ),
                Err(e) => panic!("trial {trial}: the old file is gone: {e}"),
            };
            outcomes.push(outcome);
        }
    }
    assert_eq!(outcomes.len(), TRIALS);
    let discarded = server.stderr().matches("upload discarded").count()
        + server.stderr().matches("transfer failed").count();
    assert!(
        discarded > 0,
        "no upload was cut off: {}",
        server.log_tail(20)
    );
}

#[test]
fn names_with_cr_or_lf_or_the_temp_prefix_get_553() {
    let server = TestServer::start(&[]);
    let mut c = server.login(1);
    c.send_raw(b"STOR evil\r226 fake.txt\r\n");
    let reply = c.read_reply();
    assert_eq!(reply.code, 553, "{reply:?}");
    assert!(!reply.text.contains('\r'), "{reply:?}");
    for line in [
        "STOR .ftplab-upload-mine",
        "RETR .ftplab-upload-mine",
        "MKD sub/.ftplab-upload-x",
        "DELE .ftplab-upload-x",
    ] {
        let reply = c.cmd(line);
        assert_eq!(reply.code, 553, "{line}: {reply:?}");
    }
    // A name with CR made on the server's disk is left out of listings.
    fs::write(server.root(1).join("bad\rname"), b"x").unwrap();
    let (_, names) = c.listing("NLST");
    assert!(!names.contains("bad"), "{names:?}");
    assert_eq!(names, "welcome.txt\r\n");
}

/// A small tmpfs, unmounted when dropped. Mounting needs root (CAP_SYS_ADMIN).
struct SmallDisk {
    path: PathBuf,
}

impl SmallDisk {
    fn mount(path: PathBuf) -> Option<SmallDisk> {
        fs::create_dir_all(&path).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1m", "ftplab-full-disk"])
            .arg(&path)
            .output()
            .expect("run mount");
        if out.status.success() {
            return Some(SmallDisk { path });
        }
        let why = String::from_utf8_lossy(&out.stderr);
        testkit::guard::missing(
            testkit::guard::SKIP_PRIVILEGED,
            &format!(
                "this test mounts a 1 MiB tmpfs to fill a disk and needs root (CAP_SYS_ADMIN): {}",
                why.trim()
            ),
        );
        None
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        Command::new("umount")
            .arg("-l")
            .arg(&self.path)
            .status()
            .ok();
    }
}

#[test]
fn a_full_disk_is_reported_without_any_server_path() {
    let server = TestServer::start(&[]);
    let Some(disk) = SmallDisk::mount(server.dir.path().join("small")) else {
        return;
    };
    let root = disk.path.to_string_lossy().into_owned();
    let added = server.admin(
        &[
            "user",
            "add",
            "diskuser",
            "--password-stdin",
            "--root",
            &root,
        ],
        Some("diskpass\n"),
    );
    assert!(added.status.success(), "{added:?}");

    let mut c = server.connect();
    c.login("diskuser", "diskpass");
    c.expect("TYPE I", 200);
    let mut data = c.open_passive();
    let first = c.cmd("STOR big.bin");
    assert!(matches!(first.code, 125 | 150), "{first:?}");
    // More than the disk holds; the server gives up midway, so writes may fail.
    let _ = data.write_all(&random_bytes(4 * MIB));
    drop(data);
    let reply = c.read_reply();
    assert_eq!(reply.code, 452, "{reply:?}");
    assert!(reply.text.contains("No space left on device"), "{reply:?}");
    let server_dir = server.dir.path().to_string_lossy().into_owned();
    for leak in [server_dir.as_str(), "/tmp", ".ftplab-upload", "os error"] {
        assert!(
            !reply.text.contains(leak),
            "reply shows {leak:?}: {reply:?}"
        );
    }
    assert!(temp_files(&disk.path).is_empty(), "{:?}", tree(&disk.path));
    assert!(!disk.path.join("big.bin").exists());
}

// ---- What held in the probe, and must keep holding ------------------------------------------

#[test]
fn encoded_dot_dot_nul_and_4_kib_paths_stay_inside_and_the_session_goes_on() {
    let server = TestServer::start(&[]);
    fs::write(server.dir.path().join("base/secret.txt"), OUTSIDE).unwrap();
    let mut c = server.login(1);
    let long = "a/".repeat(2000);
    for path in [
        "%2e%2e/secret.txt",
        "%2e%2e%2fsecret.txt",
        "..%2fsecret.txt",
        "..\\secret.txt",
        long.as_str(),
    ] {
        let (first, bytes, _) = c.retr(path);
        assert_eq!(first.code, 550, "RETR {path:?}: {first:?}");
        assert!(bytes.is_empty());
    }
    c.send_raw(b"RETR ../secret.txt\0welcome.txt\r\n");
    let reply = c.read_reply();
    assert!(matches!(reply.code, 550 | 553), "{reply:?}");
    c.expect("NOOP", 200);
}

#[test]
fn a_one_mib_line_gets_500_and_the_session_goes_on() {
    let server = TestServer::start(&[]);
    let mut c = server.login(1);
    let mut line = vec![b'A'; MIB];
    line.extend_from_slice(b"\r\nNOOP\r\n");
    c.send_raw(&line);
    let too_long = c.read_reply();
    assert_eq!(too_long.code, 500, "{too_long:?}");
    assert_eq!(c.read_reply().code, 200);
}

#[test]
fn rest_beyond_the_end_gets_554_for_retr_and_stor() {
    let server = TestServer::start(&[]);
    let mut c = server.login(1);
    c.expect("TYPE I", 200);
    for verb in ["RETR", "STOR"] {
        c.expect("REST 1000000", 350);
        let _data = c.open_passive();
        let reply = c.cmd(&format!("{verb} welcome.txt"));
        assert_eq!(reply.code, 554, "{verb}: {reply:?}");
    }
    let welcome = fs::read(server.root(1).join("welcome.txt")).unwrap();
    assert!(!welcome.is_empty(), "STOR beyond the end changed the file");
}

#[test]
fn concurrent_stor_of_one_name_leaves_one_whole_file_and_no_temp_file() {
    let server = TestServer::start(&[]);
    let contents: Vec<Vec<u8>> = (0..4).map(|_| random_bytes(4 * MIB)).collect();
    let workers: Vec<_> = contents
        .iter()
        .cloned()
        .map(|bytes| {
            let mut c = server.login(1);
            thread::spawn(move || {
                c.expect("TYPE I", 200);
                let mut data = c.open_passive();
                let first = c.cmd("STOR same.bin");
                assert!(matches!(first.code, 125 | 150), "{first:?}");
                data.write_all(&bytes).unwrap();
                drop(data);
                assert_eq!(c.read_reply().code, 226);
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("uploader");
    }
    let stored = fs::read(server.root(1).join("same.bin")).unwrap();
    assert!(
        contents.contains(&stored),
        "same.bin is a mix of the uploads"
    );
    assert!(temp_files(&server.root(1)).is_empty());
}

#[test]
fn abor_during_stor_discards_the_upload() {
    let server = TestServer::start(&[]);
    let mut c = server.login(1);
    c.expect("TYPE I", 200);
    let mut data = c.open_passive();
    let first = c.cmd("STOR aborted.bin");
    assert!(matches!(first.code, 125 | 150), "{first:?}");
    data.write_all(&random_bytes(MIB)).unwrap();
    c.send_raw(b"ABOR\r\n");
    let codes = [c.read_reply().code, c.read_reply().code];
    assert_eq!(codes, [426, 226]);
    drop(data);
    thread::sleep(Duration::from_millis(200));
    assert!(!server.root(1).join("aborted.bin").exists());
    assert!(temp_files(&server.root(1)).is_empty());
}

#[test]
fn sql_like_user_names_are_only_names_in_sqlite_and_mariadb() {
    let sqlite = TestServer::start(&[]);
    let mariadb = TestServer::start_mysql(&[]);
    for server in std::iter::once(&sqlite).chain(mariadb.as_ref()) {
        for name in [
            "' OR '1'='1",
            "user1' --",
            "user1'; DROP TABLE users; --",
            "\" OR \"\"=\"",
        ] {
            let (code, text) = try_login(server, name, "' OR '1'='1");
            assert_eq!(code, 530, "{name:?}: {text}");
        }
        // The table is still there and the real user still logs in.
        assert_eq!(try_login(server, "user1", "pass1").0, 230);
    }
}

#[test]
fn connections_beyond_the_per_address_cap_get_421_while_other_addresses_log_in() {
    let server = TestServer::start(&["--max-sessions-per-address", "100"]);
    let mut open = Vec::new();
    let mut refused = 0;
    for _ in 0..150 {
        let mut c = Control::connect(server.addr());
        match c.read_reply().code {
            220 => open.push(c),
            421 => refused += 1,
            other => panic!("greeting {other}"),
        }
    }
    assert_eq!((open.len(), refused), (100, 50));
    // Another loopback address is not affected.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(&std::net::SocketAddr::from(([127, 0, 0, 2], 0)).into())
        .unwrap();
    socket.connect(&server.addr().into()).unwrap();
    let mut other = Control::from_stream(socket.into());
    assert_eq!(other.read_reply().code, 220);
    other.login("user2", "pass2");
}

#[test]
fn a_line_dribbled_byte_by_byte_times_out_and_blocks_nobody() {
    let server = TestServer::start(&["--idle-timeout-secs", "2"]);
    let mut slow = server.connect();
    let started = Instant::now();
    let dribbler = thread::spawn(move || {
        // One byte every 100 ms, never a line end: at most 5 s.
        for byte in b"USER aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            .iter()
            .cycle()
            .take(50)
        {
            if slow.stream().write_all(&[*byte]).is_err() {
                break;
            }
            thread::sleep(Duration::from_millis(100));
        }
        slow.try_read_reply()
    });
    // Meanwhile others are served at once.
    let mut c = server.login(1);
    c.expect("NOOP", 200);
    let reply = dribbler.join().unwrap().expect("a reply before the close");
    assert_eq!(reply.code, 421, "{reply:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn two_thousand_unused_pasv_leak_no_descriptor() {
    let server = TestServer::start(&[]);
    let fds = || {
        fs::read_dir(format!("/proc/{}/fd", server.pid()))
            .expect("read the server's /proc/PID/fd")
            .count()
    };
    let mut c = server.login(1);
    c.expect("NOOP", 200);
    let before = fds();
    for _ in 0..2000 {
        c.pasv();
    }
    c.expect("NOOP", 200);
    // The last PASV's listener is still open, waiting for its transfer.
    let after = fds();
    assert!(
        after <= before + 1,
        "{before} descriptors before, {after} after"
    );
}
