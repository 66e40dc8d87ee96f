//! `ftplab-lab captures`: records each lab's scripted session into `captures/labN.pcapng` (and,
//! for lab 5, the server's TLS key log `captures/lab5.keys`), so every lab works offline. Each lab's servers listen on a loopback address of their own
//! (127.0.0.3N) and tcpdump records only that address; the result is checked with the lab's
//! own expectations before it is kept.

use crate::error::LabError;
use crate::events;
use crate::lab::{self, Action, Seen};
use crate::procs::{self, Guard, WorkDir};
use crate::seed::Secrets;
use crate::stage::Stage;
use crate::tools::Tools;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Options of `ftplab-lab captures`.
#[derive(Debug, Clone, clap::Args)]
pub struct CapturesArgs {
    /// Only this lab (default: all).
    #[arg(long, value_parser = crate::parse_lab)]
    pub lab: Option<u8>,
    /// Practice seed (the shipped captures have none).
    #[arg(long, conflicts_with = "student")]
    pub seed: Option<u64>,
    /// The course file (`teacher init`), with --student: that student's offline captures.
    #[arg(long, requires = "student")]
    pub course: Option<PathBuf>,
    /// The student id whose values the captures use (with --course).
    #[arg(long, value_name = "ID", requires = "course")]
    pub student: Option<String>,
    /// Folder for labN.pcapng (default: captures/).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Records the captures; false when one does not show what its lab expects.
pub fn run(args: &CapturesArgs) -> Result<bool, LabError> {
    let tools = Tools::locate()?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| crate::workspace_root().join("captures"));
    std::fs::create_dir_all(&out)
        .map_err(LabError::io(format!("cannot create {}", out.display())))?;
    let token = match (&args.course, &args.student) {
        (Some(course), Some(id)) => Some(crate::course::Course::load(course)?.token(id)?),
        _ => None,
    };
    let labs: Vec<u8> = match args.lab {
        Some(n) => vec![n],
        None => lab::numbers().collect(),
    };
    let mut ok = true;
    for n in labs {
        let secrets = match &token {
            Some(t) => Secrets::for_student(t, n),
            None => Secrets::new(args.seed),
        };
        let file = out.join(format!("lab{n}.pcapng"));
        let host = format!("127.0.0.{}", 30 + n);
        ok &= record(&tools, n, &secrets, &file, &host)
            .map_err(LabError::step(format!("recording {}", file.display())))?;
    }
    Ok(ok)
}

/// Records lab `n`'s scripted session with `secrets` into `file`, its servers on the loopback
/// address `host` (tcpdump keeps that address's frames only); false when the capture does not
/// show what the lab expects.
pub fn record(
    tools: &Tools,
    n: u8,
    secrets: &Secrets,
    file: &Path,
    host: &str,
) -> Result<bool, LabError> {
    let lab = lab::get(n);
    if n == crate::netlab::LAB {
        // Lab 6 lives in network namespaces of its own, not on `host`.
        return crate::netlab::record(tools, secrets, file);
    }
    if n == lab::CAPSTONE {
        println!("lab{n}: playing the incident on 127.77.0.0/16");
        crate::scene::record(tools, secrets, file)?;
        return check_recorded(tools, lab, secrets, file, true);
    }
    // FTPS labs: the server writes the key log next to the capture (a fresh one per recording).
    let keylog = lab.tls.then(|| crate::lab::keylog_for(file));
    if let Some(k) = &keylog {
        let _ = std::fs::remove_file(k);
    }
    let stage = Stage::start(tools, lab, secrets, host, None, keylog.as_deref())?;
    let work = WorkDir::new("capture")?;
    let raw = work.path().join("raw.pcap");
    let mut tcpdump = Command::new("tcpdump");
    tcpdump
        .args(["-i", "lo", "-U", "-n", "-w"])
        .arg(&raw)
        .arg(format!("host {host}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut guard = Guard::spawn("tcpdump", &mut tcpdump).map_err(LabError::step(
        "tcpdump is needed (apt-get install tcpdump), and root",
    ))?;
    let err = guard
        .take_stderr()
        .ok_or(LabError::Missing("tcpdump's stderr is piped"))?;
    procs::wait_line(
        &procs::lines(err),
        Duration::from_secs(10),
        "tcpdump",
        |l| l.contains("listening on").then_some(()),
    )
    .map_err(LabError::step(
        "tcpdump did not start capturing (it needs root)",
    ))?;
    println!("lab{n}: recording on {host}");
    let steps = crate::text::parse(crate::text::markdown(n)).steps.len();
    let mut ok = true;
    for k in 1..=steps {
        for action in (lab.script)(secrets, k) {
            if let Action::Client(run) = action {
                ok &= stage.run_client(tools, secrets, &run, false)?;
            }
        }
    }
    wait_marker(&raw, host)?;
    guard.stop_with(rustix::process::Signal::INT);
    drop(stage);
    let mut editcap = Command::new("editcap");
    editcap.args(["-F", "pcapng"]).arg(&raw).arg(file);
    let out = procs::run_bounded("editcap", &mut editcap, b"", Duration::from_secs(60)).map_err(
        LabError::step("editcap is needed to write pcapng (apt-get install wireshark-common)"),
    )?;
    if !out.success() {
        return Err(LabError::Failed {
            what: "editcap".into(),
            stderr: out.stderr.trim().to_owned(),
        });
    }
    check_recorded(tools, lab, secrets, file, ok)
}

/// Checks a recorded capture with its lab's expectations; `ok`: whether the recording went well.
fn check_recorded(
    tools: &Tools,
    lab: &lab::Lab,
    secrets: &Secrets,
    file: &Path,
    mut ok: bool,
) -> Result<bool, LabError> {
    let events = events::read_capture(&tools.inspector, file)?;
    let seen = Seen {
        events,
        extracted: Vec::new(),
        packets: crate::packets::Packets::read(file)?,
        decrypted: lab.decrypted_events(&tools.inspector, file)?,
        arp: crate::packets::read_arp(file).unwrap_or_default(),
        client: crate::lab::client_packets(file),
    };
    for e in (lab.expect)(&seen, secrets) {
        // Extraction is checked by the lab itself, not here.
        if e.what.contains("rebuilt") {
            continue;
        }
        println!("  {} {}", if e.met { "✓" } else { "✗" }, e.what);
        ok &= e.met;
    }
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    println!("  wrote {} ({size} bytes)", file.display());
    if lab.tls {
        let k = crate::lab::keylog_for(file);
        println!("  wrote {} (the server's TLS key log)", k.display());
    }
    Ok(ok)
}

/// tcpdump writes with a lag: send a marker datagram to `host` until it is in the file.
fn wait_marker(file: &Path, host: &str) -> Result<(), LabError> {
    let mark = format!("ftplab-marker-{}", std::process::id());
    let socket = std::net::UdpSocket::bind("127.0.0.1:0")
        .map_err(LabError::io("cannot open a UDP socket for the marker"))?;
    let limit = Duration::from_secs(15);
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let _ = socket.send_to(mark.as_bytes(), (host, 9));
        std::thread::sleep(Duration::from_millis(200));
        let bytes = std::fs::read(file).unwrap_or_default();
        if bytes.windows(mark.len()).any(|w| w == mark.as_bytes()) {
            return Ok(());
        }
    }
    Err(LabError::NoMarker { limit })
}
