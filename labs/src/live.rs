//! `inspector live` as a lab uses it: started on loopback for the lab's ports, its JSON lines
//! shown as they arrive, stopped with SIGINT so it finishes its capture file.

use crate::events::{self, Events};
use crate::procs::{self, Guard};
use crate::tools::Tools;
use rustix::process::Signal;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// How long the inspector may take to start capturing.
const READY_LIMIT: Duration = Duration::from_secs(20);

/// Why live capture is not possible here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unavailable {
    /// This inspector has no `live` subcommand yet.
    Missing,
    /// The privilege to capture is missing: the inspector's message (names CAP_NET_RAW).
    NoPrivilege(String),
    /// Something else: the inspector's message.
    Failed(String),
}

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Missing => write!(f, "this inspector has no `live` subcommand yet"),
            Self::NoPrivilege(m) => write!(
                f,
                "live capture needs CAP_NET_RAW ({m}); run as root, or use `--offline`"
            ),
            Self::Failed(m) => write!(f, "inspector live failed: {m}"),
        }
    }
}

fn classify(stderr: &str) -> Unavailable {
    if stderr.contains("unrecognized subcommand") || stderr.contains("invalid subcommand") {
        Unavailable::Missing
    } else if stderr.contains("CAP_NET_RAW") {
        Unavailable::NoPrivilege(first_line(stderr))
    } else {
        Unavailable::Failed(first_line(stderr))
    }
}

fn first_line(s: &str) -> String {
    s.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no message")
        .trim()
        .to_string()
}

/// A running `inspector live`.
pub struct LiveInspector {
    guard: Guard,
    echo: bool,
    events: Arc<Mutex<Vec<Value>>>,
    reader: Option<thread::JoinHandle<()>>,
}

impl LiveInspector {
    /// Starts `inspector live --iface lo --port P… --json --write FILE [--extract DIR]`; waits
    /// until it captures. With `echo`, each event is printed as it arrives. With `only_host`
    /// it keeps all traffic (`--all-traffic`: FTPS hides the data ports) and shows only the
    /// sessions with a server on that address.
    pub fn start(
        tools: &Tools,
        ports: &[u16],
        write: &Path,
        extract: Option<&Path>,
        echo: bool,
        only_host: Option<std::net::IpAddr>,
    ) -> Result<Self, Unavailable> {
        let mut cmd = Command::new(&tools.inspector);
        cmd.args(["live", "--iface", "lo", "--json", "--no-color"]);
        if only_host.is_some() {
            cmd.arg("--all-traffic");
        }
        for p in ports {
            cmd.arg("--port").arg(p.to_string());
        }
        cmd.arg("--write").arg(write);
        if let Some(dir) = extract {
            cmd.arg("--extract").arg(dir);
        }
        Self::spawn(cmd, echo, only_host)
    }

    /// Starts a prepared `inspector live … --json` command (lab 6 runs it in eve's namespace
    /// through `ip netns exec`) and waits until it captures.
    pub fn spawn(
        mut cmd: Command,
        echo: bool,
        only_host: Option<std::net::IpAddr>,
    ) -> Result<Self, Unavailable> {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut guard = Guard::spawn("inspector live", &mut cmd)
            .map_err(|e| Unavailable::Failed(e.report()))?;
        let stderr = guard
            .take_stderr()
            .ok_or_else(|| Unavailable::Failed("no stderr".into()))?;
        let stdout = guard
            .take_stdout()
            .ok_or_else(|| Unavailable::Failed("no stdout".into()))?;
        let err_lines = procs::lines(stderr);
        let mut seen = String::new();
        let ready = procs::wait_line(&err_lines, READY_LIMIT, "inspector live", |l| {
            seen.push_str(l);
            seen.push('\n');
            l.contains("capturing on").then_some(())
        });
        if ready.is_err() {
            // Whatever it printed before it ended says why.
            while let Ok(l) = err_lines.recv_timeout(Duration::from_millis(300)) {
                seen.push_str(&l);
                seen.push('\n');
            }
            guard.stop_with(Signal::TERM);
            return Err(classify(&seen));
        }
        // Keep draining stderr so the inspector never blocks on it.
        thread::spawn(move || while err_lines.recv().is_ok() {});
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        let reader = thread::spawn(move || {
            use std::io::BufRead;
            // With `only_host`: the sessions whose server is on that address.
            let mut mine: Vec<i64> = Vec::new();
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let Ok(v) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                if let Some(host) = only_host {
                    if events::text(&v, "kind") == Some("session")
                        && let Some(n) = events::number(&v, "session")
                        && events::text(&v, "server")
                            .and_then(|a| a.parse::<std::net::SocketAddr>().ok())
                            .is_some_and(|a| a.ip() == host)
                    {
                        mine.push(n);
                    }
                    let session = v.get("session").and_then(Value::as_i64);
                    if session.is_some_and(|n| !mine.contains(&n)) {
                        continue;
                    }
                }
                // Findings come in a burst when the capture stops: shown grouped by `stop`.
                let finding = events::text(&v, "kind") == Some("finding");
                if echo
                    && !finding
                    && let Some(text) = events::describe(&v)
                {
                    println!("  [inspector] {text}");
                }
                sink.lock().unwrap_or_else(|p| p.into_inner()).push(v);
            }
        });
        Ok(Self {
            guard,
            echo,
            events,
            reader: Some(reader),
        })
    }

    /// How many events arrived so far: a mark for [`LiveInspector::since`].
    pub fn count(&self) -> usize {
        self.events.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// The events that arrived after `mark` (from [`LiveInspector::count`]).
    pub fn since(&self, mark: usize) -> Events {
        let all = self.events.lock().unwrap_or_else(|p| p.into_inner());
        Events(all.get(mark..).map(<[Value]>::to_vec).unwrap_or_default())
    }

    /// Stops the capture (SIGINT: the inspector finishes its report and file) and returns
    /// every event it printed.
    pub fn stop(mut self) -> Events {
        // Let the last segments reach the capture socket before stopping.
        thread::sleep(Duration::from_millis(500));
        self.guard.stop_with(Signal::INT);
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        let events = std::mem::take(&mut *self.events.lock().unwrap_or_else(|p| p.into_inner()));
        if self.echo {
            for line in events::grouped_findings(&events) {
                println!("  [inspector] {line}");
            }
        }
        Events(events)
    }
}

/// Tries `inspector live` for one second; with `drop_privilege`, without CAP_NET_RAW (through
/// `setpriv`, as root). Ok(()) when it could capture.
pub fn probe(tools: &Tools, drop_privilege: bool) -> Result<(), Unavailable> {
    let mut cmd = if drop_privilege {
        let mut c = Command::new("setpriv");
        c.args(["--inh-caps=-net_raw", "--bounding-set=-net_raw", "--"])
            .arg(&tools.inspector);
        c
    } else {
        Command::new(&tools.inspector)
    };
    cmd.args(["live", "--iface", "lo", "--duration", "1", "--json"]);
    let out = procs::run_bounded("inspector live", &mut cmd, b"", Duration::from_secs(20))
        .map_err(|e| Unavailable::Failed(e.report()))?;
    match out.status.and_then(|s| s.code()) {
        Some(0 | 1) => Ok(()),
        _ => Err(classify(&out.stderr)),
    }
}
