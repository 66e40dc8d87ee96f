//! Child processes and temporary folders that never outlive the runner (exit, error or Ctrl-C).
//!
//! Each child starts in a process group of its own, so a Ctrl-C in the terminal reaches only the
//! runner, which then stops the children in a known order (the live inspector gets SIGINT so it
//! can finish its capture file) and removes its folders. A registry shared with the signal thread
//! knows what is still alive.

use crate::error::LabError;
use rustix::process::{Pid, Signal, kill_process_group};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// How long a stopped child gets to exit before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(5);

#[derive(Default)]
struct Registry {
    groups: Vec<u32>,
    dirs: Vec<PathBuf>,
    /// Prefixes of lab 6's namespaces and links (see [`crate::netns`]).
    networks: Vec<String>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    groups: Vec::new(),
    dirs: Vec::new(),
    networks: Vec::new(),
});

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|p| p.into_inner())
}

/// Catches SIGINT, SIGTERM and SIGHUP on a thread of its own: stops every child, removes every
/// temporary folder and exits with 130.
pub fn install_signal_handler() -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            crate::keys::restore_terminal();
            eprintln!("\nftplab-lab: stopping (signal {signal}): ending the lab's processes");
            cleanup_all();
            std::process::exit(130);
        }
    });
    Ok(())
}

/// Registers lab 6's network (its name prefix) for removal on Ctrl-C.
pub fn register_network(prefix: &str) {
    registry().networks.push(prefix.to_owned());
}

/// Forgets a network removed by its owner.
pub fn unregister_network(prefix: &str) {
    registry().networks.retain(|p| p != prefix);
}

/// Stops every registered child group (SIGINT, then SIGKILL after a grace period) and removes
/// every registered folder and network. Called from the signal thread.
fn cleanup_all() {
    let (groups, dirs, networks) = {
        let mut r = registry();
        (
            std::mem::take(&mut r.groups),
            std::mem::take(&mut r.dirs),
            std::mem::take(&mut r.networks),
        )
    };
    for &pid in &groups {
        signal_group(pid, Signal::INT);
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline && groups.iter().any(|&p| group_alive(p)) {
        thread::sleep(Duration::from_millis(50));
    }
    for &pid in &groups {
        signal_group(pid, Signal::KILL);
    }
    for dir in dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
    for prefix in networks {
        crate::netns::remove_all(&prefix);
    }
}

fn signal_group(pid: u32, signal: Signal) {
    if let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
        let _ = kill_process_group(pid, signal);
    }
}

fn group_alive(pid: u32) -> bool {
    i32::try_from(pid)
        .ok()
        .and_then(Pid::from_raw)
        .is_some_and(|p| rustix::process::test_kill_process_group(p).is_ok())
}

/// A running child in its own process group; stopped (and its group killed) when dropped.
pub struct Guard {
    name: String,
    child: Child,
}

impl Guard {
    /// Starts `cmd` in a new process group, registered for cleanup.
    pub fn spawn(name: &str, cmd: &mut Command) -> Result<Self, LabError> {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
        let child = cmd.spawn().map_err(LabError::io(format!(
            "cannot start {name} ({:?})",
            cmd.get_program()
        )))?;
        registry().groups.push(child.id());
        Ok(Self {
            name: name.to_string(),
            child,
        })
    }

    /// The child's standard output, once.
    pub fn take_stdout(&mut self) -> Option<std::process::ChildStdout> {
        self.child.stdout.take()
    }

    /// The child's standard error, once.
    pub fn take_stderr(&mut self) -> Option<std::process::ChildStderr> {
        self.child.stderr.take()
    }

    /// The child's standard input, once.
    pub fn take_stdin(&mut self) -> Option<std::process::ChildStdin> {
        self.child.stdin.take()
    }

    /// Its exit status if it has exited.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits at most `limit` for the child to exit by itself.
    pub fn wait_for(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends `signal` to the child's group, waits `STOP_GRACE` (5 s), then kills the group.
    pub fn stop_with(&mut self, signal: Signal) -> Option<ExitStatus> {
        let pid = self.child.id();
        let status = match self.try_wait() {
            Some(status) => Some(status),
            None => {
                signal_group(pid, signal);
                self.wait_for(STOP_GRACE)
            }
        };
        // Whatever the leader did, nothing of its group stays behind.
        signal_group(pid, Signal::KILL);
        let status = status.or_else(|| self.child.wait().ok());
        registry().groups.retain(|&p| p != pid);
        status
    }

    /// The name given at spawn, for messages.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.stop_with(Signal::TERM);
    }
}

/// A temporary folder removed on drop and on Ctrl-C.
pub struct WorkDir {
    dir: tempfile::TempDir,
}

impl WorkDir {
    /// Creates `ftplab-<prefix>-XXXX` in the system's temporary folder.
    pub fn new(prefix: &str) -> Result<Self, LabError> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("ftplab-{prefix}-"))
            .tempdir()
            .map_err(LabError::io("cannot create a temporary folder"))?;
        registry().dirs.push(dir.path().to_path_buf());
        Ok(Self { dir })
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let path = self.dir.path().to_path_buf();
        registry().dirs.retain(|d| *d != path);
    }
}

/// What a bounded run of a program printed.
#[derive(Debug)]
pub struct Output {
    /// Exit status; `None` when it was killed at the time limit.
    pub status: Option<ExitStatus>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Output {
    /// True when the program exited with status 0.
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }
}

/// Runs `cmd` with `input` on standard input, killed after `limit`.
pub fn run_bounded(
    name: &str,
    cmd: &mut Command,
    input: &[u8],
    limit: Duration,
) -> Result<Output, LabError> {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut guard = Guard::spawn(name, cmd)?;
    if let Some(mut stdin) = guard.take_stdin() {
        let input = input.to_vec();
        thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
    }
    let out = guard.take_stdout().map(read_all);
    let err = guard.take_stderr().map(read_all);
    let status = guard.wait_for(limit);
    if status.is_none() {
        guard.stop_with(Signal::KILL);
    }
    let collect =
        |h: Option<thread::JoinHandle<String>>| h.and_then(|h| h.join().ok()).unwrap_or_default();
    Ok(Output {
        status,
        stdout: collect(out),
        stderr: collect(err),
    })
}

fn read_all(mut source: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = source.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Sends each line `source` prints into a channel, from a thread of its own.
pub fn lines(source: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(source).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits at most `limit` for a line for which `pick` returns something.
pub fn wait_line<T>(
    rx: &mpsc::Receiver<String>,
    limit: Duration,
    what: &str,
    mut pick: impl FnMut(&str) -> Option<T>,
) -> Result<T, LabError> {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                if let Some(v) = pick(&line) {
                    return Ok(v);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                return Err(LabError::Silent {
                    what: what.to_owned(),
                    limit,
                });
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(LabError::Ended {
                    what: what.to_owned(),
                });
            }
        }
    }
}
