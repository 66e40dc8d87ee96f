//! The workspace programs a lab starts, found next to the runner and built on first use.

use crate::error::LabError;
use crate::procs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// How long a first build may take.
const BUILD_LIMIT: Duration = Duration::from_secs(1200);

/// Paths of `ftp-server`, `ftp-client` and `inspector`.
#[derive(Debug, Clone)]
pub struct Tools {
    /// `ftp-server`.
    pub server: PathBuf,
    /// `ftp-client`.
    pub client: PathBuf,
    /// `inspector`.
    pub inspector: PathBuf,
}

const NAMES: [&str; 3] = ["ftp-server", "ftp-client", "inspector"];

impl Tools {
    /// Finds the programs in the runner's own folder (`target/<profile>/`, or `FTPLAB_BIN_DIR`);
    /// builds the missing ones with cargo, in the same profile.
    pub fn locate() -> Result<Self, LabError> {
        let dir = bin_dir()?;
        let missing: Vec<&str> = NAMES
            .into_iter()
            .filter(|n| !dir.join(n).is_file())
            .collect();
        if !missing.is_empty() {
            build(&dir, &missing)?;
        }
        Ok(Self {
            server: dir.join("ftp-server"),
            client: dir.join("ftp-client"),
            inspector: dir.join("inspector"),
        })
    }
}

fn bin_dir() -> Result<PathBuf, LabError> {
    if let Some(dir) = std::env::var_os("FTPLAB_BIN_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let exe = std::env::current_exe().map_err(LabError::io("cannot find the runner's own path"))?;
    let dir = exe
        .parent()
        .ok_or(LabError::Missing("the runner's path has no folder"))?
        .to_path_buf();
    // Integration tests run from target/<profile>/deps/.
    if dir.ends_with("deps") {
        return Ok(dir.parent().map(Path::to_path_buf).unwrap_or(dir));
    }
    Ok(dir)
}

fn build(dir: &Path, missing: &[&str]) -> Result<(), LabError> {
    let root = crate::workspace_root();
    eprintln!(
        "ftplab-lab: building {} (first use; this takes a few minutes)…",
        missing.join(", ")
    );
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(&root).arg("build").arg("-q");
    for name in missing {
        cmd.args(["--bin", name]);
    }
    if dir.ends_with("release") {
        cmd.arg("--release");
    }
    let out = procs::run_bounded("cargo build", &mut cmd, b"", BUILD_LIMIT).map_err(
        LabError::step(
            "cargo is needed to build the lab's programs: install Rust from https://rustup.rs \
             (`curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh`), then run this again",
        ),
    )?;
    if !out.success() {
        return Err(LabError::Build {
            names: missing.join(", "),
            output: format!("{}{}", out.stdout, out.stderr),
        });
    }
    for name in missing {
        if !dir.join(name).is_file() {
            return Err(LabError::NotBuilt {
                name: (*name).to_owned(),
                dir: dir.to_path_buf(),
            });
        }
    }
    Ok(())
}
