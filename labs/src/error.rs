//! [`LabError`]: why a lab command stopped, and what to do about it.

use std::path::PathBuf;
use std::time::Duration;

/// Why a lab command stopped. `ftplab-lab` prints it with its causes ([`LabError::report`]).
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// A file, folder, socket or program could not be used.
    #[error("{what}")]
    Io {
        /// What was tried, and what to do next where that helps.
        what: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A step failed because a step below it did.
    #[error("{what}")]
    Step {
        /// What the step was, and what to do next where that helps.
        what: String,
        /// Why it failed.
        source: Box<LabError>,
    },
    /// Something the runner set up itself is not there (a pipe, a server, a folder).
    #[error("{0}")]
    Missing(&'static str),
    /// Lab 6's network cannot be built here: what is missing and what to do.
    #[error("{0}")]
    NeedsRoot(String),
    /// A program printed nothing useful within its time.
    #[error("{what}: nothing within {limit:?}")]
    Silent {
        /// The program.
        what: String,
        /// How long it had.
        limit: Duration,
    },
    /// A program ended before printing what was waited for.
    #[error("{what}: the program ended first")]
    Ended {
        /// The program.
        what: String,
    },
    /// A program did not finish within its time.
    #[error("{what} did not finish within {limit:?}")]
    Unfinished {
        /// The program.
        what: String,
        /// How long it had.
        limit: Duration,
    },
    /// A program exited with an error.
    #[error("{what} failed: {stderr}")]
    Failed {
        /// The program or step.
        what: String,
        /// What it said on stderr.
        stderr: String,
    },
    /// `cargo build` of the lab's programs failed.
    #[error("building {names} failed:\n{output}")]
    Build {
        /// The programs.
        names: String,
        /// cargo's stdout and stderr.
        output: String,
    },
    /// cargo built a program but it is not where the runner looks.
    #[error("{name} was built but is not in {}; set FTPLAB_BIN_DIR to the folder that has it", dir.display())]
    NotBuilt {
        /// The program.
        name: String,
        /// Where the runner looked.
        dir: PathBuf,
    },
    /// tcpdump did not write the marker datagram into its file.
    #[error("tcpdump did not write the marker within {limit:?}")]
    NoMarker {
        /// How long the runner waited.
        limit: Duration,
    },
    /// The inspector could not read a capture.
    #[error("inspector could not read {}: {stderr}", capture.display())]
    Inspector {
        /// The capture.
        capture: PathBuf,
        /// What the inspector said.
        stderr: String,
    },
    /// A capture file is not there.
    #[error(
        "no capture at {}: check `capture` in your answers file (my-work/labN/answers.toml; your \
         live captures are in my-work/labN/); the shipped ones are remade by `just captures` (as \
         root, with tcpdump)",
        path.display()
    )]
    NoCapture {
        /// The missing file.
        path: PathBuf,
    },
    /// `--step K` beyond the lab's last step.
    #[error("lab{lab} has steps 1 to {steps}")]
    NoSuchStep {
        /// The lab.
        lab: u8,
        /// Its number of steps.
        steps: usize,
    },
    /// `--offline --seed N` (or a token) without `--capture`.
    #[error(
        "the shipped capture was made without a seed or token: with --seed or --student, also \
         give --capture FILE (your teacher makes them with `ftplab-lab captures --seed N --out DIR` \
         or `--course FILE --student ID`); graded work is usually live"
    )]
    SeedWithoutCapture,
    /// Live capture is not possible here.
    #[error(
        "{reason}\nWithout live capture, every lab works from its shipped capture: \
         `just lab{lab} --offline` (`just doctor` says what this machine allows)"
    )]
    NoLiveCapture {
        /// The lab.
        lab: u8,
        /// Why capture failed.
        reason: String,
    },
    /// The answers file cannot be read as TOML.
    #[error("{} is not valid TOML", file.display())]
    Toml {
        /// The answers file.
        file: PathBuf,
        /// The parser's error.
        source: toml::de::Error,
    },
    /// `seed` in the answers file is negative.
    #[error("`seed` in the answers file must not be negative")]
    NegativeSeed {
        /// The conversion error.
        source: std::num::TryFromIntError,
    },
    /// A course file, roster or token is not right.
    #[error(transparent)]
    Course(#[from] crate::course::CourseError),
    /// `--student` given with a token other than the one saved in the work folder.
    #[error(
        "{} holds the token of {saved}, not {given}: delete that file if this token is really yours",
        file.display()
    )]
    OtherToken {
        /// The saved token file.
        file: PathBuf,
        /// The saved token's student id.
        saved: String,
        /// The given token's student id.
        given: String,
    },
    /// The answers file names a student but no token is saved.
    #[error(
        "{} is for student {id}, but no token is saved in {}: run `just labN --student TOKEN` once (or give --student TOKEN)",
        file.display(), token.display()
    )]
    NoToken {
        /// The answers file.
        file: PathBuf,
        /// The student id it names.
        id: String,
        /// Where the token should be.
        token: PathBuf,
    },
    /// `submit` cannot make a submission (what to do is in the text).
    #[error("{0}")]
    Submit(String),
    /// A teacher command cannot do its work (what to do is in the text).
    #[error("{0}")]
    Teacher(String),
    /// `key --student` without the course file.
    #[error(
        "a student's answer key needs the course secret: give --course FILE (from `ftplab-lab teacher init`)"
    )]
    KeyNeedsCourse,
    /// `seed` in the answers file is not a number.
    #[error("`seed` in {} must be a number", file.display())]
    SeedNotNumber {
        /// The answers file.
        file: PathBuf,
    },
}

impl LabError {
    /// This error and its causes on one line, `top: cause: cause`, as `ftplab-lab` prints them.
    pub fn report(&self) -> String {
        let mut text = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(e) = cause {
            text.push_str(": ");
            text.push_str(&e.to_string());
            cause = e.source();
        }
        text
    }

    /// Wraps an I/O error with what was tried: `.map_err(LabError::io("cannot …"))`.
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> LabError {
        let what = what.into();
        move |source| LabError::Io { what, source }
    }

    /// Wraps a lower step's error with what this step was.
    pub fn step(what: impl Into<String>) -> impl FnOnce(LabError) -> LabError {
        let what = what.into();
        move |source| LabError::Step {
            what,
            source: Box::new(source),
        }
    }
}
