//! `ftplab-lab hint N Q`: graded hints for one question, first where to look, then how to read
//! it, never the value. Each call shows the next level (remembered in `my-work/labN/hints.toml`);
//! `--level K` shows level K.

use crate::error::LabError;
use crate::lab::{self, Level};

/// Options of `ftplab-lab hint`.
#[derive(Debug, Clone, clap::Args)]
pub struct HintArgs {
    /// The lab: 0-6 (or lab0-lab6).
    #[arg(value_parser = crate::parse_lab)]
    pub lab: u8,
    /// The question: its number or its key in the answers file (none: list the questions).
    pub question: Option<String>,
    /// Show this hint level (1 = where to look) instead of the next one.
    #[arg(long)]
    pub level: Option<usize>,
}

fn level_word(l: Level) -> &'static str {
    match l {
        Level::Concept => "from the lab text or the RFC",
        Level::Table => "in the inspector's table",
        Level::Packet => "in the frames' headers and bytes",
    }
}

/// Prints a hint (or the list of questions); false when the question does not exist.
pub fn run(args: &HintArgs) -> Result<bool, LabError> {
    let n = args.lab;
    let lab = lab::get(n);
    let Some(key) = &args.question else {
        println!("lab{n}'s questions (`just hint lab{n} Q`, Q a number or a key):");
        for (i, q) in lab.questions.iter().enumerate() {
            println!(
                "  {}. {}: {} ({})",
                i + 1,
                q.key,
                q.question,
                level_word(q.level)
            );
        }
        return Ok(true);
    };
    let Some(q) = lab.question(key) else {
        println!(
            "lab{n} has no question {key:?}: `just hint lab{n}` lists them (numbers 1-{}).",
            lab.questions.len()
        );
        return Ok(false);
    };
    let total = q.hints.len();
    if total == 0 {
        println!("{}: no hints for this one.", q.key);
        return Ok(true);
    }
    let state_file = crate::work::dir(n).join("hints.toml");
    let mut state: toml::Table = std::fs::read_to_string(&state_file)
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or_default();
    let shown = state
        .get(q.key)
        .and_then(toml::Value::as_integer)
        .and_then(|v| usize::try_from(v).ok())
        .unwrap_or(0);
    let level = args.level.unwrap_or(shown + 1).clamp(1, total);
    let text = q.hints.get(level - 1).copied().unwrap_or_default();
    println!("{} ({}): {}", q.key, level_word(q.level), q.question);
    println!("hint {level} of {total}: {text}");
    if level < total {
        println!("(`just hint lab{n} {}` again for the next hint)", q.key);
    } else {
        println!("(that was the last hint: the rest is yours)");
    }
    state.insert(
        q.key.to_string(),
        toml::Value::Integer(i64::try_from(level.max(shown)).unwrap_or(0)),
    );
    // Remembering the level is a convenience: a read-only folder only loses that.
    if std::fs::create_dir_all(crate::work::dir(n)).is_ok() {
        let _ = std::fs::write(&state_file, toml::to_string(&state).unwrap_or_default());
    }
    Ok(true)
}
