//! Lab 7's incident, played once per seed on loopback addresses of its own (127.77.0.0/16) and
//! captured: a staff download, a dictionary attack, a login from another address, a directory
//! walk, a download resumed with REST, an upload, a refused bounce, DNS and HTTP noise; then a
//! few data segments are left out of the capture on purpose (lost segments).
//!
//! The actors are real sockets bound to their own source addresses (Linux routes all of
//! 127.0.0.0/8 to loopback) talking to a real `ftp-server`; the FTP lines are encoded and the
//! replies decoded with `ftp-proto`, so the capture is what a real client leaves.

mod actor;
mod noise;
mod plan;
mod trim;

pub use plan::{Plan, in_net};

use crate::error::LabError;
use crate::live::LiveInspector;
use crate::procs::{self, Guard, WorkDir};
use crate::seed::Secrets;
use crate::tools::Tools;
use actor::{Ftp, bad};
use ftp_proto::Command;
use noise::{Noise, lookup};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::time::Duration;
use trim::keep_incident;

/// The incidents' addresses all lie in 127.77.0.0/16, which nothing else on loopback uses.
pub const NET: [u8; 2] = [127, 77];
/// The staff account (a demo user of `ftp-server init --demo`): the harmless traffic.
pub const STAFF_USER: &str = "user3";
const STAFF_PASSWORD: &str = "pass3";
/// The name the FTP server has in the incident's DNS answers.
pub const FTP_NAME: &str = "files.corp.example";

fn io(what: &'static str) -> impl FnOnce(std::io::Error) -> LabError {
    LabError::io(what)
}

fn pause(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

/// The incident's actors, one after the other (the noise runs meanwhile).
fn play(plan: &Plan, server: SocketAddr, dns: SocketAddr) -> std::io::Result<()> {
    // The staff member fetches a document (its segments are the ones lost later).
    lookup(plan.staff, dns, FTP_NAME, 1);
    let (mut ftp, _) = Ftp::open(plan.staff, server)?;
    let r = ftp.login(STAFF_USER, STAFF_PASSWORD)?;
    if r.code.0 != 230 {
        return Err(bad(format!("the staff login got {}", r.code.0)));
    }
    ftp.ok(&Command::Type {
        transfer_type: ftp_proto::TransferType::Image,
    })?;
    let (got, _) = ftp.fetch(
        &Command::Retr {
            path: plan.staff_file.0.clone(),
        },
        None,
    )?;
    if got != plan.staff_file.1 {
        return Err(bad("the staff download came back different".into()));
    }
    ftp.quit();
    pause(300);
    // The dictionary attack: one connection per guess, as a tool with one task does it.
    lookup(plan.attacker, dns, FTP_NAME, 2);
    for guess in &plan.guesses {
        let (mut ftp, _) = Ftp::open(plan.attacker, server)?;
        let r = ftp.login(&plan.user, guess)?;
        if r.code.0 == 230 {
            return Err(bad("a dictionary guess was accepted".into()));
        }
        ftp.quit();
        pause(40);
    }
    pause(500);
    // The intruder, from another address, with the right password at the first try.
    lookup(plan.intruder, dns, FTP_NAME, 3);
    let (mut ftp, _) = Ftp::open(plan.intruder, server)?;
    let r = ftp.login(&plan.user, &plan.password)?;
    if r.code.0 != 230 {
        return Err(bad(format!("the intruder's login got {}", r.code.0)));
    }
    ftp.ok(&Command::Syst)?;
    ftp.ok(&Command::Pwd)?;
    ftp.fetch(&Command::List { path: None }, None)?;
    for dir in ["finance", &plan.archive.0] {
        ftp.ok(&Command::Cwd {
            path: dir.to_string(),
        })?;
        ftp.fetch(&Command::List { path: None }, None)?;
        if dir == "finance" {
            ftp.ok(&Command::Cdup)?;
        }
    }
    ftp.ok(&Command::Type {
        transfer_type: ftp_proto::TransferType::Image,
    })?;
    let retr = Command::Retr {
        path: plan.archive.1.clone(),
    };
    let (first, _) = ftp.fetch(&retr, Some(plan.cut))?;
    pause(400);
    let offset = u64::try_from(first.len()).unwrap_or(0);
    ftp.want(&Command::Rest { offset }, 350)?;
    let (second, _) = ftp.fetch(&retr, None)?;
    if [first, second].concat() != plan.archive.2 {
        return Err(bad("the resumed download came back different".into()));
    }
    ftp.ok(&Command::Cdup)?;
    // A bounce attempt: PORT naming a third host (the server refuses it).
    let r = ftp.send(&Command::Port {
        addr: plan.third_party,
    })?;
    if r.code.0 < 400 {
        return Err(bad(format!("the bounce PORT got {}", r.code.0)));
    }
    let r = ftp.store(&plan.exfil.0, &plan.exfil.1)?;
    if r.code.0 != 226 {
        return Err(bad(format!("the upload got {}", r.code.0)));
    }
    ftp.quit();
    Ok(())
}

/// The files of the incident's server: the attacked account's folders and the staff document.
fn lay_out(plan: &Plan, root: &Path, staff_root: &Path) -> std::io::Result<()> {
    let write = |p: PathBuf, data: &[u8]| -> std::io::Result<()> {
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(p, data)
    };
    write(root.join("finance/budget-2027.ods"), b"budget draft\n")?;
    write(root.join("finance/invoices.csv"), b"no;amount\n1;100\n")?;
    write(
        root.join(&plan.archive.0).join("README"),
        b"project files\n",
    )?;
    write(
        root.join(&plan.archive.0).join(&plan.archive.1),
        &plan.archive.2,
    )?;
    write(staff_root.join(&plan.staff_file.0), &plan.staff_file.1)
}

/// Plays the incident of `secrets` and writes its capture to `capture`; returns the plan.
/// Needs the capture privilege (`inspector live`); the frames of other addresses are left out,
/// and so are a few of the staff download's data segments (lost segments).
pub fn record(tools: &Tools, secrets: &Secrets, capture: &Path) -> Result<Plan, LabError> {
    let plan = Plan::new(secrets);
    let work = WorkDir::new("lab7-incident")?;
    let dir = work.path().join("server");
    let (root, _) = crate::stage::prepare(tools, &dir, secrets)?;
    let staff_root = dir.join("files").join("root3");
    lay_out(&plan, &root, &staff_root).map_err(io("cannot lay out the incident's files"))?;
    let (server, _guard) = start_server(tools, &dir, &plan)?;
    let raw = work.path().join("all-loopback.pcapng");
    let live = LiveInspector::start(
        tools,
        &[],
        &raw,
        None,
        false,
        Some(std::net::IpAddr::V4(plan.server)),
    )
    .map_err(|e| LabError::NoLiveCapture {
        lab: crate::lab::CAPSTONE,
        reason: e.to_string(),
    })?;
    let noise = Noise::start(&plan)?;
    pause(300);
    let played = play(&plan, server, noise.dns);
    pause(300);
    noise.stop();
    let _ = live.stop();
    played.map_err(LabError::io(
        "the incident did not play out as planned (on a busy machine, run the lab again)",
    ))?;
    keep_incident(&raw, capture, &plan, server.port())?;
    Ok(plan)
}

fn start_server(tools: &Tools, dir: &Path, plan: &Plan) -> Result<(SocketAddr, Guard), LabError> {
    let log = dir.join("server.log");
    let mut last = None;
    for port in [plan.port, 0] {
        let mut cmd = Process::new(&tools.server);
        cmd.arg("--db")
            .arg(format!("sqlite://{}", dir.join("users.db").display()))
            .arg("serve")
            .arg("--listen")
            .arg(format!("{}:{port}", plan.server))
            .args([
                "--max-login-failures",
                "0",
                "--max-user-login-failures",
                "0",
                "--login-failure-delay-ms",
                "0",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(
                std::fs::File::create(&log)
                    .map_err(LabError::io(format!("cannot create {}", log.display())))?,
            );
        let mut guard = Guard::spawn("ftp-server", &mut cmd)?;
        let out = guard
            .take_stdout()
            .ok_or(LabError::Missing("ftp-server's output is piped"))?;
        let got = procs::wait_line(
            &procs::lines(out),
            Duration::from_secs(30),
            "ftp-server",
            |l| {
                l.strip_prefix("listening on ftp://")
                    .and_then(|a| a.trim().parse::<SocketAddr>().ok())
            },
        );
        match got {
            Ok(addr) => return Ok((addr, guard)),
            Err(e) => last = Some(e),
        }
    }
    let said = std::fs::read_to_string(&log).unwrap_or_default();
    Err(LabError::step(format!(
        "ftp-server did not start; it said:\n{}",
        said.trim()
    ))(
        last.unwrap_or(LabError::Missing("a server start was tried")),
    ))
}
