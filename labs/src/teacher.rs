//! `ftplab-lab teacher`: the course file (`init`), the students' tokens (`roster`), the check
//! of handed-in submissions' MACs (`verify`), the class's grades (`grade`, in [`crate::grade`]),
//! every student's offline captures (`captures`) and their accounts on a class server
//! (`provision`, in [`crate::provision`]).

use crate::course::{self, Course};
use crate::error::LabError;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Options of `ftplab-lab teacher`.
#[derive(Debug, Clone, clap::Args)]
pub struct TeacherArgs {
    #[command(subcommand)]
    pub command: TeacherCommand,
}

/// What `ftplab-lab teacher` does.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum TeacherCommand {
    /// Create a course file with a fresh random secret (mode 0600; keep it, outside the repository).
    Init {
        /// Where to write it (never overwritten).
        #[arg(long, default_value = "course.toml")]
        out: PathBuf,
    },
    /// Print (or write) each student's token for a roster CSV (header `id,name,email`).
    Roster {
        /// The course file from `teacher init`.
        #[arg(long)]
        course: PathBuf,
        /// The roster: `id,name,email`, one student a line after the header.
        roster: PathBuf,
        /// Write `id,name,email,token` here (mode 0600) instead of printing it.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check submissions (`just submit labN`): whose they are, and that nobody edited them.
    Verify {
        /// The course file from `teacher init`.
        #[arg(long)]
        course: PathBuf,
        /// Submission files.
        #[arg(required = true)]
        submissions: Vec<PathBuf>,
    },
    /// Grade a folder of submissions: grades CSV (a row per student, a column per question,
    /// flags), a summary table and the free-text answers gathered per question.
    Grade(crate::grade::GradeArgs),
    /// Record each student's offline captures (OUT/ID/labN.pcapng), several at once; needs root
    /// and tcpdump, like `just captures`.
    Captures(ClassCapturesArgs),
    /// Create each student's account (lab N's user and password from their token) and root
    /// folder in the class server's user database.
    Provision(crate::provision::ProvisionArgs),
}

/// Options of `ftplab-lab teacher captures`.
#[derive(Debug, Clone, clap::Args)]
pub struct ClassCapturesArgs {
    /// The course file from `teacher init`.
    #[arg(long)]
    pub course: PathBuf,
    /// The roster (`id,name,email`).
    #[arg(long)]
    pub roster: PathBuf,
    /// Folder that gets ID/labN.pcapng (and ID/lab5.keys) for each student.
    #[arg(long)]
    pub out: PathBuf,
    /// Only this lab (default: all).
    #[arg(long, value_parser = crate::parse_lab)]
    pub lab: Option<u8>,
    /// Recordings at once (default: the number of CPUs); each gets loopback addresses of its own.
    #[arg(long)]
    pub jobs: Option<usize>,
}

/// Runs a teacher command.
pub fn run(args: &TeacherArgs) -> Result<bool, LabError> {
    match &args.command {
        TeacherCommand::Init { out } => init(out),
        TeacherCommand::Roster {
            course,
            roster,
            out,
        } => roster_tokens(course, roster, out.as_deref()),
        TeacherCommand::Verify {
            course,
            submissions,
        } => verify(course, submissions),
        TeacherCommand::Grade(args) => crate::grade::run(args),
        TeacherCommand::Captures(args) => class_captures(args),
        TeacherCommand::Provision(args) => crate::provision::run(args),
    }
}

/// Records every student's captures, `--jobs` at a time: each recording's servers listen on
/// 127.0.W.3N (W: the worker) so tcpdump's `host` filter keeps one recording's frames apart
/// from the others'.
fn class_captures(args: &ClassCapturesArgs) -> Result<bool, LabError> {
    if !rustix::process::geteuid().is_root() {
        return Err(LabError::Teacher(
            "recording captures needs root (tcpdump sniffs the loopback interface): run \
             `sudo ftplab-lab teacher captures …`, or make them on a machine where you are root"
                .into(),
        ));
    }
    let course = Course::load(&args.course)?;
    let text = std::fs::read_to_string(&args.roster).map_err(LabError::io(format!(
        "cannot read the roster {}",
        args.roster.display()
    )))?;
    let students = course::parse_roster(&args.roster, &text)?;
    let tools = crate::tools::Tools::locate()?;
    let labs: Vec<u8> = match args.lab {
        Some(n) => vec![n],
        None => crate::lab::numbers().collect(),
    };
    let mut work = Vec::new();
    for s in &students {
        let token = course.token(&s.id)?;
        let dir = args.out.join(&s.id);
        std::fs::create_dir_all(&dir)
            .map_err(LabError::io(format!("cannot create {}", dir.display())))?;
        for &n in &labs {
            work.push((
                s.id.clone(),
                n,
                token.clone(),
                dir.join(format!("lab{n}.pcapng")),
            ));
        }
    }
    let jobs = args
        .jobs
        .unwrap_or_else(crate::grade::default_jobs)
        .clamp(1, 250);
    let results = crate::grade::parallel_map(&work, jobs, |worker, (_, n, token, file)| {
        let host = format!("127.0.{}.{}", worker + 1, 30 + n);
        let secrets = crate::seed::Secrets::for_student(token, *n);
        crate::captures::record(&tools, *n, &secrets, file, &host)
    });
    let mut all_ok = true;
    for ((id, n, _, file), result) in work.iter().zip(results) {
        match result {
            Ok(true) => println!("ok      {id} lab{n}: {}", file.display()),
            Ok(false) => {
                all_ok = false;
                println!(
                    "FAILED  {id} lab{n}: {} does not show what the lab expects",
                    file.display()
                );
            }
            Err(e) => {
                all_ok = false;
                println!("FAILED  {id} lab{n}: {}", e.report());
            }
        }
    }
    println!(
        "Give each student their folder; they run `just labN --student TOKEN --offline --capture \
         {}/ID/labN.pcapng`.",
        args.out.display()
    );
    Ok(all_ok)
}

/// What git thinks of a path: inside a work tree and tracked-to-be, ignored, or outside.
#[derive(Debug, PartialEq, Eq)]
enum InGit {
    NotIgnored,
    Ignored,
    Outside,
}

fn in_git(file: &Path) -> InGit {
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = file.file_name().map(PathBuf::from).unwrap_or_default();
    // `git check-ignore -q`: 0 ignored, 1 not ignored, 128 outside any work tree.
    let status = Command::new("git")
        .arg("-C")
        .arg(&dir)
        .args(["check-ignore", "-q", "--"])
        .arg(&name)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match status.map(|s| s.code()) {
        Ok(Some(0)) => InGit::Ignored,
        Ok(Some(1)) => InGit::NotIgnored,
        _ => InGit::Outside,
    }
}

fn init(out: &Path) -> Result<bool, LabError> {
    match in_git(out) {
        InGit::NotIgnored => {
            return Err(course::CourseError::InRepository {
                file: out.to_path_buf(),
            }
            .into());
        }
        InGit::Ignored => eprintln!(
            "warning: {} is inside a git work tree (ignored, so never committed; `git clean -x` \
             would delete it): keep a copy somewhere safe",
            out.display()
        ),
        InGit::Outside => {}
    }
    Course::generate().save_new(out)?;
    println!(
        "Wrote the course file {} (mode 0600). Keep it secret and keep a copy: it makes every \
         token and answer key of this course.\nNext: `ftplab-lab teacher roster --course {} \
         roster.csv --out tokens.csv` (roster.csv: a header `id,name,email`, one student a line).",
        out.display(),
        out.display()
    );
    Ok(true)
}

fn roster_tokens(course: &Path, roster: &Path, out: Option<&Path>) -> Result<bool, LabError> {
    let course = Course::load(course)?;
    let text = std::fs::read_to_string(roster).map_err(LabError::io(format!(
        "cannot read the roster {}",
        roster.display()
    )))?;
    let students = course::parse_roster(roster, &text)?;
    let mut csv = String::from("id,name,email,token\n");
    for s in &students {
        let token = course.token(&s.id)?;
        csv.push_str(&format!(
            "{},{},{},{token}\n",
            s.id,
            course::csv_field(&s.name),
            course::csv_field(&s.email)
        ));
    }
    match out {
        None => print!("{csv}"),
        Some(file) => {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(file)
                .map_err(LabError::io(format!("cannot write {}", file.display())))?;
            f.write_all(csv.as_bytes())
                .map_err(LabError::io(format!("cannot write {}", file.display())))?;
            println!(
                "Wrote {} tokens to {}: give each student theirs; they type `just lab1 --student TOKEN` once.",
                students.len(),
                file.display()
            );
        }
    }
    Ok(true)
}

fn verify(course: &Path, submissions: &[PathBuf]) -> Result<bool, LabError> {
    let course = Course::load(course)?;
    let mut all_ok = true;
    for file in submissions {
        let verdict = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read it: {e}"))
            .and_then(|text| {
                crate::submit::verify_for_course(&text, &course).map_err(|e| e.to_string())
            });
        match verdict {
            Ok(s) => println!(
                "ok        {}: lab{} by {}, made {} with {}, capture {} sha256 {}",
                file.display(),
                s.lab,
                s.student,
                s.created,
                s.tool,
                s.capture_name,
                s.capture_sha256
            ),
            Err(why) => {
                all_ok = false;
                println!("REJECTED  {}: {why}", file.display());
            }
        }
    }
    Ok(all_ok)
}
