//! The student's work folder, `my-work/labN/` (untracked): the answers file, made from the
//! template `labs/answers/labN.toml` on first use, every capture of a live run (numbered, never
//! overwritten), the files a lab leaves for later (extracted files, downloads, word list, logs)
//! and the hint levels already shown; `my-work/token`, the student's token saved by the first
//! `--student` run. `FTPLAB_MY_WORK` names another folder (tests use one).

use crate::course::Token;
use crate::error::LabError;
use std::path::{Path, PathBuf};

/// The answers templates, by lab (tracked; copied, never written).
pub const TEMPLATES: [&str; 7] = [
    include_str!("../answers/lab0.toml"),
    include_str!("../answers/lab1.toml"),
    include_str!("../answers/lab2.toml"),
    include_str!("../answers/lab3.toml"),
    include_str!("../answers/lab4.toml"),
    include_str!("../answers/lab5.toml"),
    include_str!("../answers/lab6.toml"),
];

/// The folder that holds every lab's work folder.
pub fn root() -> PathBuf {
    std::env::var_os("FTPLAB_MY_WORK")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace_root().join("my-work"))
}

/// `my-work/labN`.
pub fn dir(lab: u8) -> PathBuf {
    root().join(format!("lab{lab}"))
}

/// `my-work/labN/answers.toml`; lab 7's answers are its incident report, `my-work/lab7/report.md`.
pub fn answers_file(lab: u8) -> PathBuf {
    if lab == crate::lab::CAPSTONE {
        return dir(lab).join("report.md");
    }
    dir(lab).join("answers.toml")
}

/// `my-work/token`: the student's token, saved once so later labs and checks need not be told.
pub fn token_file() -> PathBuf {
    root().join("token")
}

/// The token saved in the work folder, if any.
pub fn saved_token() -> Result<Option<Token>, LabError> {
    let file = token_file();
    match std::fs::read_to_string(&file) {
        Ok(text) => Ok(Some(Token::parse(&text)?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(LabError::io(format!("cannot read {}", file.display()))(e)),
    }
}

/// The token of this run: `given` (parsed, and saved on first use; a different saved token is
/// an error, not silently replaced), else the saved one, else none.
pub fn student_token(given: Option<&str>) -> Result<Option<Token>, LabError> {
    let saved = saved_token()?;
    let Some(text) = given else {
        return Ok(saved);
    };
    let token = Token::parse(text)?;
    match saved {
        Some(s) if s == token => {}
        Some(s) => {
            return Err(LabError::OtherToken {
                file: token_file(),
                saved: s.id().to_string(),
                given: token.id().to_string(),
            });
        }
        None => {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let file = token_file();
            std::fs::create_dir_all(root()).map_err(LabError::io(format!(
                "cannot create your work folder {}",
                root().display()
            )))?;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&file)
                .map_err(LabError::io(format!(
                    "cannot save your token in {}",
                    file.display()
                )))?;
            writeln!(f, "{token}")
                .map_err(LabError::io(format!("cannot write {}", file.display())))?;
            println!(
                "Saved your token in {}: later labs and checks use it without --student.",
                shown(&file)
            );
        }
    }
    Ok(Some(token))
}

/// Creates `my-work/labN/` and, when it has none, the answers file from the template, naming
/// `capture` (relative to the workspace root where it can be), and the seed or the student the
/// answers are for. Returns the answers file and whether it was created now.
pub fn ensure(
    lab: u8,
    capture: Option<&Path>,
    seed: Option<u64>,
    student: Option<&str>,
) -> Result<(PathBuf, bool), LabError> {
    let dir = dir(lab);
    std::fs::create_dir_all(&dir).map_err(LabError::io(format!(
        "cannot create your work folder {}",
        dir.display()
    )))?;
    let file = answers_file(lab);
    if file.exists() {
        return Ok((file, false));
    }
    if lab == crate::lab::CAPSTONE {
        let text = crate::report::header(
            crate::report::TEMPLATE,
            capture.map(shown).as_deref(),
            seed,
            student,
        );
        std::fs::write(&file, text)
            .map_err(LabError::io(format!("cannot write {}", file.display())))?;
        return Ok((file, true));
    }
    let template = TEMPLATES.get(usize::from(lab)).copied().unwrap_or_default();
    let mut text = match capture {
        Some(c) => with_capture(template, &shown(c)),
        None => template.to_string(),
    };
    if let Some(seed) = seed {
        text = with_seed(&text, seed);
    } else if let Some(id) = student {
        text = with_student(&text, id);
    }
    std::fs::write(&file, text)
        .map_err(LabError::io(format!("cannot write {}", file.display())))?;
    Ok((file, true))
}

/// The template with its `capture = …` line naming `capture`.
fn with_capture(template: &str, capture: &str) -> String {
    template
        .lines()
        .map(|l| {
            if l.starts_with("capture =") {
                format!("capture = {capture:?}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// The template with its commented `# seed = …` line set to `seed`.
fn with_seed(template: &str, seed: u64) -> String {
    template
        .lines()
        .map(|l| {
            if l.starts_with("# seed =") {
                format!("seed = {seed}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// The template with its commented `# seed = …` line replaced by `student = "id"`.
fn with_student(template: &str, id: &str) -> String {
    template
        .lines()
        .map(|l| {
            if l.starts_with("# seed =") {
                format!("student = {id:?}   # graded: checked with your token (my-work/token)")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// A path as the student should write it: relative to the workspace root when inside it.
pub fn shown(path: &Path) -> String {
    path.strip_prefix(crate::workspace_root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The next free capture name: `labN.pcapng`, then `labN-2.pcapng`, `labN-3.pcapng` … so a rerun
/// never overwrites an earlier capture.
pub fn next_capture(lab: u8) -> PathBuf {
    let dir = dir(lab);
    let first = dir.join(format!("lab{lab}.pcapng"));
    if !first.exists() {
        return first;
    }
    // Bounded: a folder with ten thousand captures gets the last name again (never reached).
    (2..10_000)
        .map(|k| dir.join(format!("lab{lab}-{k}.pcapng")))
        .find(|p| !p.exists())
        .unwrap_or_else(|| dir.join(format!("lab{lab}-10000.pcapng")))
}

/// The folder for what a run leaves next to its capture: `labN-2.pcapng` → `labN-2-files/`.
pub fn files_for(capture: &Path) -> PathBuf {
    let stem = capture
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into());
    let dir = capture.parent().map(Path::to_path_buf).unwrap_or_default();
    dir.join(format!("{stem}-files"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_has_a_capture_line_to_fill_in() {
        for t in TEMPLATES {
            assert!(t.lines().any(|l| l.starts_with("capture =")), "{t}");
            let filled = with_capture(t, "my-work/lab1/lab1-2.pcapng");
            assert!(filled.contains("capture = \"my-work/lab1/lab1-2.pcapng\""));
            assert_eq!(filled.lines().count(), t.lines().count());
            let seeded = with_seed(&filled, 7);
            assert!(seeded.lines().any(|l| l == "seed = 7"), "{seeded}");
            assert!(seeded.parse::<toml::Table>().is_ok(), "{seeded}");
            let graded = with_student(&filled, "s001");
            let table = graded.parse::<toml::Table>().unwrap_or_default();
            assert_eq!(table.get("student").and_then(|v| v.as_str()), Some("s001"));
        }
    }

    #[test]
    fn files_of_a_capture_sit_next_to_it() {
        assert_eq!(
            files_for(Path::new("/w/lab3/lab3-2.pcapng")),
            PathBuf::from("/w/lab3/lab3-2-files")
        );
    }
}
