//! A long-running program (a server) with its output collected, waited for until it says its port.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

/// How long a server may take to start.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running program whose stdout and stderr are collected; killed on drop.
pub struct Spawned {
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    stdout_lines: mpsc::Receiver<String>,
}

impl Spawned {
    /// Starts `cmd` with no standard input; `what` names it in the panic when it cannot start
    /// (say what to install).
    pub fn start(cmd: &mut Command, what: &str) -> Spawned {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what} ({cmd:?}): {e}"));
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, stdout_lines) = mpsc::channel();
        collect(
            child.stdout.take().expect("stdout is piped"),
            stdout.clone(),
            Some(tx),
        );
        collect(
            child.stderr.take().expect("stderr is piped"),
            stderr.clone(),
            None,
        );
        Spawned {
            child,
            stdout,
            stderr,
            stdout_lines,
        }
    }

    /// Waits up to [`START_TIMEOUT`] for a stdout line from which `port_of` takes the port;
    /// kills the program and panics with its output (and `hint`) when none comes.
    pub fn wait_for_port(&mut self, hint: &str, port_of: impl Fn(&str) -> Option<u16>) -> u16 {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stdout_lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(port) = port_of(&line) {
                        return port;
                    }
                }
                Err(_) => {
                    let status = self.child.try_wait().ok().flatten();
                    self.kill();
                    thread::sleep(Duration::from_millis(200));
                    panic!(
                        "{hint}: no port announced within {START_TIMEOUT:?} (exit status: \
                         {status:?})\n{}",
                        self.output()
                    );
                }
            }
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit status, if the program has ended.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("wait for a child process")
    }

    /// Everything printed on stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Everything printed on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// stdout and stderr, labelled, for panic messages.
    pub fn output(&self) -> String {
        format!(
            "--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout(),
            self.stderr()
        )
    }

    /// Kills the program and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Copies everything `source` yields into `sink`, line by line, also sending each line to
/// `lines` when given. Runs on its own thread until EOF.
pub fn collect(
    source: impl Read + Send + 'static,
    sink: Arc<Mutex<String>>,
    lines: Option<mpsc::Sender<String>>,
) {
    thread::spawn(move || {
        let mut reader = BufReader::new(source);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buf).into_owned();
                    sink.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push_str(&line);
                    if let Some(tx) = &lines {
                        let _ = tx.send(line);
                    }
                }
            }
        }
    });
}
