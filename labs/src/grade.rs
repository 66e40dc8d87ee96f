//! `ftplab-lab teacher grade`: every submission in a folder checked with the course secret
//! (`submit::verify_for_course`, as `teacher verify` does), its answers judged against the key
//! computed from its own capture and the student's token, one CSV row per student of the roster,
//! flags for what a teacher must look at, a summary table and the free-text answers gathered.
//!
//! ```text
//! SUBMISSIONS_DIR ─▶ files ─▶ verify (MAC) ─▶ one per student and lab ─▶ capture ─▶ key ─▶ judge
//!                                  └─ rejected: tampered            └─ theirs? duplicates? late?
//! ```

use crate::check::{self, Verdict};
use crate::course::{self, Course, Student};
use crate::error::LabError;
use crate::lab;
use crate::seed::Secrets;
use crate::submit::{self, Submission};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Largest file read as a submission: a capture at its limit, twice (hex), and room for the rest.
const MAX_FILE: u64 = 2 * submit::MAX_CAPTURE + 1024 * 1024;
/// How deep the submissions folder is searched (hand-in systems make a folder per student).
const MAX_DEPTH: usize = 4;
/// Answers-file keys that are not answers.
const NOT_ANSWERS: [&str; 3] = ["capture", "seed", "student"];

/// Options of `ftplab-lab teacher grade`.
#[derive(Debug, Clone, clap::Args)]
pub struct GradeArgs {
    /// The course file from `teacher init`.
    #[arg(long)]
    pub course: PathBuf,
    /// The roster (`id,name,email`): one CSV row per student on it.
    #[arg(long)]
    pub roster: PathBuf,
    /// The folder of handed-in submissions (searched 4 levels deep).
    pub submissions: PathBuf,
    /// Where to write the grades.
    #[arg(long, default_value = "grades.csv")]
    pub out: PathBuf,
    /// Submissions made after this time are flagged late (RFC 3339, e.g. 2026-12-01T23:59:00Z).
    #[arg(long, value_parser = parse_time)]
    pub deadline: Option<time::OffsetDateTime>,
    /// Where the free-text answers go, one file per question (default: free-text/ next to --out).
    #[arg(long)]
    pub free_text_dir: Option<PathBuf>,
    /// Only this lab (default: every lab a submission is for).
    #[arg(long, value_parser = crate::parse_lab)]
    pub lab: Option<u8>,
    /// Submissions graded at once (default: the number of CPUs).
    #[arg(long)]
    pub jobs: Option<usize>,
}

fn parse_time(text: &str) -> Result<time::OffsetDateTime, String> {
    time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("{text:?} is not an RFC 3339 time like 2026-12-01T23:59:00Z ({e})"))
}

/// Something a teacher should look at, one CSV column each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Flag {
    /// No submission for the lab.
    Missing,
    /// Made after the deadline (by the student's clock, which the MAC covers).
    Late,
    /// A submission naming the student whose MAC does not check: edited after submission, made
    /// with another token, or not a submission at all.
    Tampered,
    /// The capture has no accepted login with the student's own user and password.
    CaptureNotTheirs,
    /// Another student handed in a capture with the same sha256.
    DuplicateCapture,
    /// More than one verified submission for the lab (the latest is graded).
    DuplicateSubmission,
}

impl Flag {
    /// Every flag, in column order.
    pub const ALL: [Flag; 6] = [
        Flag::Missing,
        Flag::Late,
        Flag::Tampered,
        Flag::CaptureNotTheirs,
        Flag::DuplicateCapture,
        Flag::DuplicateSubmission,
    ];

    /// Its CSV column.
    pub fn column(self) -> &'static str {
        match self {
            Flag::Missing => "missing",
            Flag::Late => "late",
            Flag::Tampered => "tampered",
            Flag::CaptureNotTheirs => "capture_not_theirs",
            Flag::DuplicateCapture => "duplicate_capture",
            Flag::DuplicateSubmission => "duplicate_submission",
        }
    }
}

/// One file of the submissions folder, its MAC checked.
#[derive(Debug)]
enum Scanned {
    /// The MAC checked out with the token of the student it names.
    Verified {
        file: PathBuf,
        sub: Box<Submission>,
        /// sha256 of the whole file (identical copies).
        sha256: String,
    },
    /// It names a student (and maybe a lab) but does not check out.
    Rejected {
        file: PathBuf,
        student: String,
        lab: Option<u8>,
        why: String,
    },
    /// Not a submission: no student to file it under.
    Unreadable { file: PathBuf, why: String },
}

/// One question's verdict in a graded submission.
#[derive(Debug, Clone)]
pub struct Mark {
    /// Key in the answers file.
    pub key: &'static str,
    /// The verdict.
    pub verdict: Verdict,
}

/// A verified submission judged against its own capture's key.
#[derive(Debug, Clone)]
pub struct Graded {
    /// One mark per question of the lab, in the lab's order.
    pub marks: Vec<Mark>,
    /// Whether the capture has the student's own accepted login.
    pub theirs: bool,
    /// Free-text answers: (key, text).
    pub free_text: Vec<(String, String)>,
}

impl Graded {
    /// Right answers.
    pub fn right(&self) -> usize {
        self.marks
            .iter()
            .filter(|m| m.verdict == Verdict::Right)
            .count()
    }
}

/// One student's lab: what was graded, the flags and why.
#[derive(Debug, Default)]
struct Cell {
    graded: Option<Graded>,
    flags: BTreeSet<Flag>,
    notes: Vec<String>,
}

/// Grades the folder; true when the CSV was written.
pub fn run(args: &GradeArgs) -> Result<bool, LabError> {
    let course = Course::load(&args.course)?;
    let text = std::fs::read_to_string(&args.roster).map_err(LabError::io(format!(
        "cannot read the roster {}",
        args.roster.display()
    )))?;
    let students = course::parse_roster(&args.roster, &text)?;
    if !args.submissions.is_dir() {
        return Err(LabError::Teacher(format!(
            "{} is not a folder: give the folder the students' submissions were collected in",
            args.submissions.display()
        )));
    }
    let mut files = Vec::new();
    walk(&args.submissions, MAX_DEPTH, &mut files);
    files.sort();
    // Files are named relative to the folder in the CSV's notes and the printed lines.
    let scanned: Vec<Scanned> = files
        .iter()
        .map(|f| scan(f, f.strip_prefix(&args.submissions).unwrap_or(f), &course))
        .collect();
    let roster_ids: BTreeSet<&str> = students.iter().map(|s| s.id.as_str()).collect();

    // The labs graded: the one asked for, else every lab a submission is for.
    let labs: Vec<u8> = match args.lab {
        Some(n) => vec![n],
        None => scanned
            .iter()
            .filter_map(|s| match s {
                Scanned::Verified { sub, .. } => Some(sub.lab),
                Scanned::Rejected { lab, .. } => *lab,
                Scanned::Unreadable { .. } => None,
            })
            .filter(|n| lab::numbers().any(|m| m == *n))
            .collect::<BTreeSet<u8>>()
            .into_iter()
            .collect(),
    };
    if labs.is_empty() {
        return Err(LabError::Teacher(format!(
            "no submission in {} (files made by `just submit labN`); give --lab N to write a \
             sheet of missing ones",
            args.submissions.display()
        )));
    }

    let mut cells = Cells::new();
    let mut ignored: Vec<String> = Vec::new();
    let verified = file_by_student(&scanned, &labs, &roster_ids, &mut cells, &mut ignored);
    let chosen = choose_latest(verified, &mut cells);
    flag_shared_captures(&chosen, &mut cells);
    if let Some(deadline) = args.deadline {
        flag_late(&chosen, deadline, &mut cells);
    }

    // The expensive part: each capture read by the inspector, in parallel.
    crate::tools::Tools::locate()?;
    let jobs = args.jobs.unwrap_or_else(default_jobs);
    let results = parallel_map(&chosen, jobs, |_, ((id, lab), sub)| {
        let token = course.token(id)?;
        grade_one(sub, &Secrets::for_student(&token, *lab))
    });
    for (((id, lab), _), result) in chosen.iter().zip(results) {
        let cell = cells.entry((id.clone(), *lab)).or_default();
        match result {
            Ok(g) => {
                if !g.theirs {
                    cell.flags.insert(Flag::CaptureNotTheirs);
                }
                cell.graded = Some(g);
            }
            Err(e) => cell.notes.push(format!("not graded: {}", e.report())),
        }
    }

    for s in &students {
        for &l in &labs {
            let cell = cells.entry((s.id.clone(), l)).or_default();
            if cell.graded.is_none() && cell.flags.is_empty() && cell.notes.is_empty() {
                cell.flags.insert(Flag::Missing);
            }
        }
    }

    let csv = to_csv(&students, &labs, &cells);
    write_file(&args.out, csv.as_bytes())?;
    let free_dir = args.free_text_dir.clone().unwrap_or_else(|| {
        args.out
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
            .join("free-text")
    });
    let free_files = write_free_text(&free_dir, &students, &labs, &cells)?;

    println!("{}", summary(&students, &labs, &cells));
    for line in &ignored {
        println!("not graded: {line}");
    }
    println!(
        "Wrote {} ({} students, {} submission files).",
        args.out.display(),
        students.len(),
        files.len()
    );
    if free_files > 0 {
        println!(
            "Wrote {free_files} free-text file(s) in {}.",
            free_dir.display()
        );
    }
    Ok(true)
}

/// Every student's lab, by (student id, lab).
type Cells = BTreeMap<(String, u8), Cell>;

/// A verified submission as handed in.
struct HandedIn<'a> {
    file: &'a Path,
    sub: &'a Submission,
    /// sha256 of the whole file.
    sha256: &'a str,
}

/// The verified submissions of the labs graded, by (student, lab); a rejected one flags its
/// student's lab as tampered; what belongs to nobody on the roster goes to `ignored`.
fn file_by_student<'a>(
    scanned: &'a [Scanned],
    labs: &[u8],
    roster_ids: &BTreeSet<&str>,
    cells: &mut Cells,
    ignored: &mut Vec<String>,
) -> BTreeMap<(String, u8), Vec<HandedIn<'a>>> {
    let mut verified: BTreeMap<(String, u8), Vec<HandedIn<'a>>> = BTreeMap::new();
    for s in scanned {
        match s {
            Scanned::Verified { file, sub, sha256 } => {
                if !roster_ids.contains(sub.student.as_str()) {
                    ignored.push(format!(
                        "{}: student {} is not on the roster",
                        file.display(),
                        sub.student
                    ));
                } else if labs.contains(&sub.lab) {
                    verified
                        .entry((sub.student.clone(), sub.lab))
                        .or_default()
                        .push(HandedIn { file, sub, sha256 });
                }
            }
            Scanned::Rejected {
                file,
                student,
                lab,
                why,
            } => {
                if !roster_ids.contains(student.as_str()) {
                    ignored.push(format!(
                        "{}: names {student}, not on the roster ({why})",
                        file.display()
                    ));
                    continue;
                }
                // The lab is read from an untrusted file: unknown, it concerns every lab graded.
                let labs_of: Vec<u8> = match lab {
                    Some(l) if labs.contains(l) => vec![*l],
                    Some(_) => Vec::new(),
                    None => labs.to_vec(),
                };
                for l in labs_of {
                    let cell = cells.entry((student.clone(), l)).or_default();
                    cell.flags.insert(Flag::Tampered);
                    cell.notes.push(format!("{}: {why}", file.display()));
                }
            }
            Scanned::Unreadable { file, why } => {
                ignored.push(format!("{}: not a submission ({why})", file.display()));
            }
        }
    }
    verified
}

/// One submission per student and lab: the latest made; more than one is flagged.
fn choose_latest<'a>(
    verified: BTreeMap<(String, u8), Vec<HandedIn<'a>>>,
    cells: &mut Cells,
) -> Vec<((String, u8), &'a Submission)> {
    let mut chosen = Vec::new();
    for (key, mut subs) in verified {
        subs.sort_by_key(|h| (made(h.sub), h.file.to_path_buf()));
        let cell = cells.entry(key.clone()).or_default();
        if subs.len() > 1 {
            cell.flags.insert(Flag::DuplicateSubmission);
            let same = subs.iter().map(|h| h.sha256).collect::<BTreeSet<_>>().len() == 1;
            cell.notes.push(format!(
                "{} submissions{} ({}); graded the latest",
                subs.len(),
                if same { ", identical" } else { "" },
                subs.iter()
                    .map(|h| h.file.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if let Some(h) = subs.last() {
            chosen.push((key, h.sub));
        }
    }
    chosen
}

/// The same capture in two students' graded submissions: both are flagged, each naming the
/// other (who copied whom shows in `capture_not_theirs`).
fn flag_shared_captures(chosen: &[((String, u8), &Submission)], cells: &mut Cells) {
    let mut by_capture: BTreeMap<(u8, &str), BTreeSet<&str>> = BTreeMap::new();
    for ((_, lab), sub) in chosen {
        by_capture
            .entry((*lab, sub.capture_sha256.as_str()))
            .or_default()
            .insert(sub.student.as_str());
    }
    for ((lab, _), ids) in &by_capture {
        if ids.len() < 2 {
            continue;
        }
        for id in ids {
            let cell = cells.entry((id.to_string(), *lab)).or_default();
            cell.flags.insert(Flag::DuplicateCapture);
            let others: Vec<&str> = ids.iter().copied().filter(|o| o != id).collect();
            cell.notes
                .push(format!("same capture as {}", others.join(", ")));
        }
    }
}

/// Submissions made after the deadline (or with no readable time) are late.
fn flag_late(
    chosen: &[((String, u8), &Submission)],
    deadline: time::OffsetDateTime,
    cells: &mut Cells,
) {
    for ((id, lab), sub) in chosen {
        if made(sub).is_none_or(|t| t > deadline) {
            let cell = cells.entry((id.clone(), *lab)).or_default();
            cell.flags.insert(Flag::Late);
            cell.notes.push(format!("made {}", sub.created));
        }
    }
}

/// When a submission was made, by the student's clock.
fn made(sub: &Submission) -> Option<time::OffsetDateTime> {
    parse_time(&sub.created).ok()
}

/// The number of CPUs (at least 1).
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// `f(worker, item)` over `items` on up to `jobs` threads; the results in the items' order.
/// `worker` (0 ‥ jobs) tells apart what runs at the same time (e.g. a loopback address each).
pub fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    f: impl Fn(usize, &T) -> R + Sync,
) -> Vec<R> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<R>>> = Mutex::new(items.iter().map(|_| None).collect());
    std::thread::scope(|scope| {
        for worker in 0..jobs.clamp(1, items.len().max(1)) {
            let (next, slots, f) = (&next, &slots, &f);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let r = f(worker, item);
                    let mut slots = slots.lock().unwrap_or_else(|p| p.into_inner());
                    if let Some(slot) = slots.get_mut(i) {
                        *slot = Some(r);
                    }
                }
            });
        }
    });
    // Every slot is filled: each index is taken exactly once and a panicking worker ends the
    // scope with that panic.
    slots
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

/// Regular files under `dir`, `depth` levels down; hidden ones skipped.
fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() && depth > 1 => walk(&path, depth - 1, out),
            Ok(t) if t.is_file() => out.push(path),
            _ => {}
        }
    }
}

/// Reads and verifies `path`, naming it `file` in what it reports.
fn scan(path: &Path, file: &Path, course: &Course) -> Scanned {
    let unreadable = |why: String| Scanned::Unreadable {
        file: file.to_path_buf(),
        why,
    };
    match std::fs::metadata(path) {
        Ok(m) if m.len() > MAX_FILE => {
            return unreadable(format!("{} bytes, more than a submission has", m.len()));
        }
        Ok(_) => {}
        Err(e) => return unreadable(e.to_string()),
    }
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return unreadable(e.to_string()),
    };
    let Ok(text) = String::from_utf8(bytes) else {
        return unreadable("not UTF-8 text".into());
    };
    let student = match submit::claimed_student(&text) {
        Ok(id) => id,
        Err(e) => return unreadable(e.to_string()),
    };
    match submit::verify_for_course(&text, course) {
        Ok(sub) => Scanned::Verified {
            file: file.to_path_buf(),
            sub: Box::new(sub),
            sha256: Secrets::sha256(text.as_bytes()),
        },
        Err(e) => Scanned::Rejected {
            file: file.to_path_buf(),
            student,
            lab: submit::claimed_lab(&text),
            why: e.to_string(),
        },
    }
}

/// Judges one verified submission: its capture (and key log) written to a temporary folder,
/// read by the inspector, the key computed with the student's secrets.
pub fn grade_one(sub: &Submission, secrets: &Secrets) -> Result<Graded, LabError> {
    let dir = crate::procs::WorkDir::new("grade")?;
    // The student names the capture: keep only a safe file name, with its extension (the
    // inspector reads pcap and pcapng alike; the name only has to end like one).
    let ext = Path::new(&sub.capture_name)
        .extension()
        .and_then(|e| e.to_str())
        .filter(|e| e.chars().all(|c| c.is_ascii_alphanumeric()))
        .unwrap_or("pcapng");
    let capture = dir.path().join(format!("capture.{ext}"));
    std::fs::write(&capture, &sub.capture)
        .map_err(LabError::io(format!("cannot write {}", capture.display())))?;
    if let Some(k) = &sub.keylog {
        let keylog = lab::keylog_for(&capture);
        std::fs::write(&keylog, k)
            .map_err(LabError::io(format!("cannot write {}", keylog.display())))?;
    }
    let seen = check::read_seen(sub.lab, &capture)?;
    let answers = lab::get(sub.lab).answers_for(&seen, secrets);
    let theirs = seen
        .events
        .accepted_login(&secrets.user, &secrets.password)
        .is_some()
        || seen
            .decrypted
            .accepted_login(&secrets.user, &secrets.password)
            .is_some();
    // Lab 7's answers are its incident report (Markdown), the others' a TOML table.
    let table: toml::Table = if sub.lab == lab::CAPSTONE {
        crate::report::parse(&sub.answers)
    } else {
        sub.answers.parse().unwrap_or_default()
    };
    let marks = answers
        .iter()
        .map(|a| Mark {
            key: a.key,
            verdict: check::judge(&a.expected, table.get(a.key)),
        })
        .collect();
    let free_text = table
        .iter()
        .filter(|(k, _)| {
            !NOT_ANSWERS.contains(&k.as_str()) && !answers.iter().any(|a| a.key == k.as_str())
        })
        .filter_map(|(k, v)| {
            let t = v.as_str()?.trim();
            (!t.is_empty()).then(|| (k.clone(), t.to_string()))
        })
        .collect();
    Ok(Graded {
        marks,
        theirs,
        free_text,
    })
}

/// The questions of lab `n`, in order.
fn question_keys(n: u8) -> Vec<&'static str> {
    lab::get(n).questions.iter().map(|q| q.key).collect()
}

/// One row per student: id, name, email, a column per question (1 right, 0 not; empty when
/// nothing was graded), per-lab and overall totals, a column per flag (the labs it concerns)
/// and notes.
fn to_csv(students: &[Student], labs: &[u8], cells: &Cells) -> String {
    let mut header = vec!["id".to_string(), "name".into(), "email".into()];
    for &n in labs {
        for k in question_keys(n) {
            header.push(format!("lab{n}.{k}"));
        }
        header.push(format!("lab{n}.total"));
    }
    header.push("total".into());
    header.push("max".into());
    header.extend(Flag::ALL.iter().map(|f| f.column().to_string()));
    header.push("notes".into());
    let mut out = csv_row(&header);
    let max: usize = labs.iter().map(|&n| question_keys(n).len()).sum();
    for s in students {
        let mut row = vec![s.id.clone(), s.name.clone(), s.email.clone()];
        let mut total = 0;
        for &n in labs {
            let cell = cells.get(&(s.id.clone(), n));
            let graded = cell.and_then(|c| c.graded.as_ref());
            for k in question_keys(n) {
                row.push(match graded {
                    None => String::new(),
                    Some(g) => {
                        let right = g
                            .marks
                            .iter()
                            .any(|m| m.key == k && m.verdict == Verdict::Right);
                        u8::from(right).to_string()
                    }
                });
            }
            let right = graded.map_or(0, Graded::right);
            total += right;
            row.push(right.to_string());
        }
        row.push(total.to_string());
        row.push(max.to_string());
        for flag in Flag::ALL {
            let with: Vec<String> = labs
                .iter()
                .filter(|&&n| {
                    cells
                        .get(&(s.id.clone(), n))
                        .is_some_and(|c| c.flags.contains(&flag))
                })
                .map(|n| format!("lab{n}"))
                .collect();
            row.push(with.join(" "));
        }
        let notes: Vec<String> = labs
            .iter()
            .flat_map(|&n| {
                cells
                    .get(&(s.id.clone(), n))
                    .into_iter()
                    .flat_map(move |c| c.notes.iter().map(move |t| format!("lab{n}: {t}")))
            })
            .collect();
        row.push(notes.join("; "));
        out.push_str(&csv_row(&row));
    }
    out
}

fn csv_row(fields: &[String]) -> String {
    let mut line = fields
        .iter()
        .map(|f| course::csv_field(f))
        .collect::<Vec<_>>()
        .join(",");
    line.push('\n');
    line
}

fn write_file(file: &Path, bytes: &[u8]) -> Result<(), LabError> {
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(LabError::io(format!("cannot create {}", dir.display())))?;
    }
    std::fs::write(file, bytes).map_err(LabError::io(format!("cannot write {}", file.display())))
}

/// `DIR/labN-KEY.md` per free-text question: every student's answer under their id and name.
/// Returns how many files were written.
fn write_free_text(
    dir: &Path,
    students: &[Student],
    labs: &[u8],
    cells: &Cells,
) -> Result<usize, LabError> {
    let mut files: BTreeMap<(u8, String), String> = BTreeMap::new();
    for &n in labs {
        for s in students {
            let Some(g) = cells
                .get(&(s.id.clone(), n))
                .and_then(|c| c.graded.as_ref())
            else {
                continue;
            };
            for (key, text) in &g.free_text {
                let doc = files.entry((n, key.clone())).or_insert_with(|| {
                    format!("# lab {n}: {key}\n\nEvery student's answer, in roster order.\n")
                });
                doc.push_str(&format!("\n## {} ({})\n\n{}\n", s.id, s.name, text));
            }
        }
    }
    for ((n, key), doc) in &files {
        // The key comes from the student's answers file: only a safe file name.
        let safe: String = key
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .take(60)
            .collect();
        write_file(&dir.join(format!("lab{n}-{safe}.md")), doc.as_bytes())?;
    }
    Ok(files.len())
}

/// The class at a glance: per question how many got it right, then the flags.
fn summary(students: &[Student], labs: &[u8], cells: &Cells) -> String {
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header(["question", "right", "graded", "success"]);
    for &n in labs {
        let graded: Vec<&Graded> = students
            .iter()
            .filter_map(|s| cells.get(&(s.id.clone(), n))?.graded.as_ref())
            .collect();
        for k in question_keys(n) {
            let right = graded
                .iter()
                .filter(|g| {
                    g.marks
                        .iter()
                        .any(|m| m.key == k && m.verdict == Verdict::Right)
                })
                .count();
            let rate = match graded.len() {
                0 => "-".to_string(),
                g => format!("{:.0} %", 100.0 * right as f64 / g as f64),
            };
            table.add_row([
                format!("lab{n}.{k}"),
                right.to_string(),
                graded.len().to_string(),
                rate,
            ]);
        }
    }
    let mut flags = comfy_table::Table::new();
    flags.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    flags.set_header(["flag", "students"]);
    for flag in Flag::ALL {
        let ids: Vec<String> = students
            .iter()
            .flat_map(|s| {
                labs.iter().filter_map(move |&n| {
                    cells
                        .get(&(s.id.clone(), n))
                        .filter(|c| c.flags.contains(&flag))
                        .map(|_| {
                            if labs.len() > 1 {
                                format!("{} (lab{n})", s.id)
                            } else {
                                s.id.clone()
                            }
                        })
                })
            })
            .collect();
        let shown = if ids.len() > 12 {
            format!("{} … ({} in all)", ids[..12].join(", "), ids.len())
        } else {
            ids.join(", ")
        };
        flags.add_row([flag.column().to_string(), shown]);
    }
    format!("{table}\n{flags}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_map_keeps_the_order_whatever_the_jobs() {
        let items: Vec<u32> = (0..50).collect();
        for jobs in [0, 1, 3, 100] {
            let out = parallel_map(&items, jobs, |w, x| (x * 2, w));
            let doubled: Vec<u32> = out.iter().map(|(x, _)| *x).collect();
            assert_eq!(doubled, items.iter().map(|x| x * 2).collect::<Vec<_>>());
            assert!(out.iter().all(|(_, w)| *w < jobs.max(1)));
        }
        assert!(parallel_map(&[] as &[u32], 4, |_, x| *x).is_empty());
    }

    #[test]
    fn deadlines_are_rfc3339() {
        assert!(parse_time("2026-12-01T23:59:00Z").is_ok());
        assert!(parse_time("2026-12-01T23:59:00+01:00").is_ok());
        let e = parse_time("tomorrow").err().unwrap_or_default();
        assert!(e.contains("RFC 3339"), "{e}");
    }

    #[test]
    fn csv_rows_quote_what_needs_it() {
        let row = csv_row(&[
            "a".into(),
            "Doe, J".into(),
            "say \"hi\"".into(),
            "x\ny".into(),
        ]);
        assert_eq!(row, "a,\"Doe, J\",\"say \"\"hi\"\"\",\"x\ny\"\n");
    }

    #[test]
    fn a_student_with_nothing_is_missing_and_scores_zero() {
        let students = vec![Student {
            id: "s1".into(),
            name: "Jo".into(),
            email: "jo@x".into(),
        }];
        let mut cells = BTreeMap::new();
        let mut cell = Cell::default();
        cell.flags.insert(Flag::Missing);
        cells.insert(("s1".to_string(), 1), cell);
        let csv = to_csv(&students, &[1], &cells);
        let mut lines = csv.lines();
        let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
        let row: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
        let col = |name: &str| header.iter().position(|h| *h == name);
        let at = |name: &str| col(name).and_then(|i| row.get(i).copied());
        assert_eq!(at("missing"), Some("lab1"));
        assert_eq!(at("lab1.total"), Some("0"));
        assert_eq!(at("lab1.reject_code"), Some(""));
        assert_eq!(at("max"), Some(&*question_keys(1).len().to_string()));
        assert_eq!(at("tampered"), Some(""));
    }
}
