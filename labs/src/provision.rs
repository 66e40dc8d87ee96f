//! `ftplab-lab teacher provision`: each student of a roster gets an account on the class server
//! (user name and password of lab N, derived from their token) and a root folder holding that
//! lab's files, through `ftp-server user add` so the server's own store does the hashing.

use crate::course::{self, Course};
use crate::error::LabError;
use crate::procs;
use crate::seed::Secrets;
use crate::tools::Tools;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// How long one `ftp-server user …` may take (argon2 hashing, a remote MariaDB).
const USER_LIMIT: Duration = Duration::from_secs(60);

/// Options of `ftplab-lab teacher provision`.
#[derive(Debug, Clone, clap::Args)]
pub struct ProvisionArgs {
    /// The course file from `teacher init`.
    #[arg(long)]
    pub course: PathBuf,
    /// The roster (`id,name,email`).
    #[arg(long)]
    pub roster: PathBuf,
    /// The class server's user database: sqlite://FILE.db or mysql://USER:PASS@HOST:PORT/DB
    /// (what `ftp-server --db` is given).
    #[arg(long, env = "FTPLAB_DB")]
    pub db: String,
    /// Folder that gets one root per student: ROOT_BASE/labN/ID.
    #[arg(long)]
    pub root_base: PathBuf,
    /// The lab whose user, password and files the accounts get.
    #[arg(long, default_value_t = 1, value_parser = crate::parse_lab)]
    pub lab: u8,
}

/// Creates (or resets) every student's account; true when all were made.
pub fn run(args: &ProvisionArgs) -> Result<bool, LabError> {
    let course = Course::load(&args.course)?;
    let text = std::fs::read_to_string(&args.roster).map_err(LabError::io(format!(
        "cannot read the roster {}",
        args.roster.display()
    )))?;
    let students = course::parse_roster(&args.roster, &text)?;
    let tools = Tools::locate()?;
    let base = args.root_base.join(format!("lab{}", args.lab));
    let mut ok = true;
    for s in &students {
        let secrets = Secrets::for_student(&course.token(&s.id)?, args.lab);
        let root = base.join(&s.id);
        match provision_one(&tools.server, &args.db, &secrets, &root) {
            Ok(()) => println!(
                "ok      {}: user {} with root {}",
                s.id,
                secrets.user,
                root.display()
            ),
            Err(e) => {
                ok = false;
                println!("FAILED  {}: {}", s.id, e.report());
            }
        }
    }
    println!(
        "{} students on {} for lab {}: each logs in with the user and password `just lab{} \
         --student TOKEN` shows them.",
        students.len(),
        mask(&args.db),
        args.lab,
        args.lab
    );
    Ok(ok)
}

/// The student's root with the lab's files, then the account: added, or (when the name is
/// taken: provisioned before) removed and added again, so the root and password are this run's.
fn provision_one(server: &Path, db: &str, s: &Secrets, root: &Path) -> Result<(), LabError> {
    std::fs::create_dir_all(root)
        .map_err(LabError::io(format!("cannot create {}", root.display())))?;
    for (name, contents) in [("notes.txt", &s.notes), ("photo.bin", &s.photo)] {
        let file = root.join(name);
        std::fs::write(&file, contents)
            .map_err(LabError::io(format!("cannot write {}", file.display())))?;
    }
    let add = || {
        let mut cmd = Command::new(server);
        cmd.arg("--db")
            .arg(db)
            .args(["user", "add", &s.user, "--root"])
            .arg(root)
            .arg("--password-stdin");
        procs::run_bounded(
            "ftp-server user add",
            &mut cmd,
            format!("{}\n", s.password).as_bytes(),
            USER_LIMIT,
        )
    };
    let out = add()?;
    if out.success() {
        return Ok(());
    }
    if !out.stderr.contains("already exists") {
        return Err(LabError::Failed {
            what: "ftp-server user add".into(),
            stderr: out.stderr.trim().to_owned(),
        });
    }
    let mut remove = Command::new(server);
    remove.arg("--db").arg(db).args(["user", "remove", &s.user]);
    let out = procs::run_bounded("ftp-server user remove", &mut remove, b"", USER_LIMIT)?;
    if !out.success() {
        return Err(LabError::Failed {
            what: "ftp-server user remove".into(),
            stderr: out.stderr.trim().to_owned(),
        });
    }
    let out = add()?;
    if out.success() {
        Ok(())
    } else {
        Err(LabError::Failed {
            what: "ftp-server user add".into(),
            stderr: out.stderr.trim().to_owned(),
        })
    }
}

/// The database URL without its password, for printing.
fn mask(url: &str) -> String {
    let masked = || {
        let (scheme, rest) = url.split_once("://")?;
        let (creds, host) = rest.rsplit_once('@')?;
        let (user, _) = creds.split_once(':')?;
        Some(format!("{scheme}://{user}:***@{host}"))
    };
    masked().unwrap_or_else(|| url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_passwords_are_not_printed() {
        assert_eq!(
            mask("mysql://ftp:s3cret@127.0.0.1:3306/ftplab"),
            "mysql://ftp:***@127.0.0.1:3306/ftplab"
        );
        assert_eq!(mask("sqlite://users.db"), "sqlite://users.db");
    }
}
