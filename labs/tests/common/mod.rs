//! What every labs integration test needs: the runner binary with its sibling binaries built
//! and the student's work folder pointed at a temporary one, and a process's stdout as text.
// Each test binary uses its own subset of these.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// `ftplab-lab` with `FTPLAB_MY_WORK=work`, the server, client and inspector binaries built.
pub fn runner(work: &Path) -> Command {
    for name in ["ftp-server", "ftp-client", "inspector"] {
        testkit::workspace_bin(name);
    }
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ftplab-lab"));
    cmd.env("FTPLAB_MY_WORK", work);
    cmd
}

/// [`runner`], started inside `work` (made if missing): the teacher's commands write there.
pub fn runner_at(work: &Path) -> Command {
    std::fs::create_dir_all(work).expect("work folder");
    let mut cmd = runner(work);
    cmd.current_dir(work);
    cmd
}

/// A finished process's standard output, lossily as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}
