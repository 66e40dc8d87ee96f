//! ftplab's guided labs: one runner that starts what a lab needs, prints its steps, waits for
//! the student (or drives a scripted client with `--auto`), shows what the inspector found, and
//! checks the student's answers against the lab's capture and seed.
//!
//! # Layout
//! - [`tools`]: finds (and on first use builds) `ftp-server`, `ftp-client` and `inspector`.
//! - [`procs`]: child processes in their own process group, killed on drop and on Ctrl-C;
//!   temporary folders removed the same way.
//! - [`seed`]: per-student credentials, file contents and word lists derived from `--seed`.
//! - [`text`]: the lab texts (`labs/labN.md`, compiled in) split into sections and filled in.
//! - [`events`]: the inspector's JSON lines (inspector/JSON.md) and questions asked of them.
//! - [`lab`]: one file per lab: servers, scripted sessions, what the student must see, answers.
//! - [`stage`]: a lab's servers on loopback in a temporary folder, and the scripted client.
//! - [`live`]: `inspector live` started, shown and stopped for a lab; the privilege probe.
//! - [`runner`]: `lab N`: the steps, live or offline.
//! - [`keys`]: waiting for the student: one key, and advice for commands typed in the wrong window.
//! - [`packets`]: the TCP segments of a capture (the inspector's frame decoder), for questions
//!   that need headers.
//! - [`work`]: the student's untracked work folder `my-work/labN/`: answers, captures, files.
//! - [`check`]: `check N`: the student's answers file against the computed answers.
//! - [`hint`]: `hint N Q`: graded hints, never the value.
//! - [`doctor`]: `doctor`: toolchain, loopback, capture privilege, shipped captures.
//! - [`course`]: the teacher's course secret, student tokens and the roster.
//! - [`submit`]: `submit N`: the file a student hands in, MAC'd with their token.
//! - [`teacher`]: `teacher init`, `roster`, `verify`, `captures`; [`grade`]: `teacher grade`;
//!   [`provision`]: `teacher provision`.
//! - [`error`]: [`LabError`], why a command stopped and what to do about it.
//! - [`scene`]: lab 7's incident, played on loopback and captured for the student's seed.
//! - [`report`]: lab 7's incident report (Markdown) read as answers.
//! - [`captures`]: `captures`: records each lab's scripted session into `captures/labN.pcapng`.
//! - [`netns`], [`netlab`], [`netprogs`]: lab 6's network of namespaces, its parts, and the
//!   small programs (ARP spoofer, port thief, victim's listener) run inside it.
//!
//! Data flow: lab definition + seed → servers on loopback → scripted or human client →
//! capture (live inspector or shipped file) → inspector events → expectations and answers.

pub mod captures;
pub mod check;
pub mod course;
pub mod doctor;
pub mod error;
pub mod events;
pub mod grade;
pub mod hint;
pub mod keys;
pub mod lab;
pub mod live;
pub mod netlab;
pub mod netns;
pub mod netprogs;
pub mod packets;
pub mod procs;
pub mod provision;
pub mod report;
pub mod runner;
pub mod scene;
pub mod seed;
pub mod stage;
pub mod submit;
pub mod teacher;
pub mod text;
pub mod tools;
pub mod work;

use clap::{Parser, Subcommand};
pub use error::LabError;
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit code when the lab or the check ran but something the student should see (or answer)
/// was not right.
pub const EXIT_FAILED: u8 = 1;
/// Exit code when the runner could not do its work (missing tool, capture or privilege).
pub const EXIT_ERROR: u8 = 2;

/// Command line of `ftplab-lab`.
#[derive(Debug, Parser)]
#[command(
    name = "ftplab-lab",
    version,
    about = "ftplab's guided labs: starts what a lab needs, prints the steps, checks answers",
    after_help = "Usually run through just: `just lab1`, `just lab1 --offline`, `just check lab1`, `just hint lab1 3`, `just doctor`."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// What `ftplab-lab` does.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run lab N (0-6): start its pieces (on loopback; lab 6 in network namespaces), print the
    /// steps, wait for you.
    Lab(runner::LabArgs),
    /// Check your answers to lab N (my-work/labN/answers.toml) without showing the right ones.
    Check(check::CheckArgs),
    /// A hint for question Q of lab N: where to look first, then how; never the answer.
    Hint(hint::HintArgs),
    /// Check the toolchain, loopback ports, the capture privilege and the shipped captures.
    Doctor,
    /// Record every lab's scripted session into captures/labN.pcapng (needs root and tcpdump).
    Captures(captures::CapturesArgs),
    /// For teachers: print the answers of lab N for a capture and a student (needs the course
    /// file) or a practice seed, as a filled answers file.
    #[command(hide = true)]
    Key(check::KeyArgs),
    /// Write the file to hand in for lab N: answers, your capture, its sha256, signed with your token.
    Submit(submit::SubmitArgs),
    /// For teachers: course secret, tokens, verify, grade, captures and accounts for a class.
    Teacher(teacher::TeacherArgs),
    /// Lab 6's small programs, run by the lab inside its namespaces (ARP spoofer, port thief,
    /// victim's listener, slow client).
    #[command(hide = true)]
    Net(netprogs::NetArgs),
}

/// Runs one `ftplab-lab` command and returns the exit code.
pub fn run(cli: Cli) -> Result<ExitCode, LabError> {
    procs::install_signal_handler().map_err(LabError::io("cannot catch Ctrl-C"))?;
    let ok = match cli.command {
        Command::Lab(args) => runner::run(&args)?,
        Command::Check(args) => check::run(&args)?,
        Command::Hint(args) => hint::run(&args)?,
        Command::Doctor => doctor::run()?,
        Command::Captures(args) => captures::run(&args)?,
        Command::Key(args) => check::key(&args)?,
        Command::Submit(args) => submit::run(&args)?,
        Command::Teacher(args) => teacher::run(&args)?,
        Command::Net(args) => netprogs::run(&args)?,
    };
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    })
}

/// Parses a lab name as the student types it: `1`, `lab1` or `labs/lab1`.
pub fn parse_lab(text: &str) -> Result<u8, String> {
    let digits = text
        .trim()
        .trim_start_matches("labs/")
        .trim_start_matches("lab");
    match digits.parse::<u8>() {
        Ok(n) if lab::numbers().any(|m| m == n) => Ok(n),
        _ => Err(format!(
            "no lab `{text}`: the labs are lab0 … lab{} and lab{}",
            lab::COUNT - 1,
            lab::CAPSTONE
        )),
    }
}

/// The workspace root: `FTPLAB_ROOT`, or the folder this crate was built from.
pub fn workspace_root() -> PathBuf {
    std::env::var_os("FTPLAB_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
            manifest.parent().map(PathBuf::from).unwrap_or(manifest)
        })
}
