//! The interactive shell: rustyline line editing, history, tab completion of command names (and
//! of local file names after them).

use crate::cli::Target;
use crate::commands::{self, PasswordSource, UserCommand};
use crate::session::{Outcome, Session};
use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};
use std::path::PathBuf;

/// Completes command names in the first word, local file names after it.
struct ShellHelper {
    files: FilenameCompleter,
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = line.get(..pos).unwrap_or(line);
        if before.trim_start().contains(char::is_whitespace) {
            return self.files.complete(line, pos, ctx);
        }
        let start = before.len() - before.trim_start().len();
        let typed = before.trim_start();
        let mut names: Vec<&str> = commands::command_names()
            .into_iter()
            .filter(|n| n.starts_with(typed))
            .collect();
        names.sort_unstable();
        let candidates = names
            .into_iter()
            .map(|n| Pair {
                display: n.to_owned(),
                replacement: format!("{n} "),
            })
            .collect();
        Ok((start, candidates))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}
impl Highlighter for ShellHelper {}
impl Validator for ShellHelper {}
impl Helper for ShellHelper {}

fn history_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".ftp-client-history"))
}

/// Runs the shell until `bye` or end of input: first connects to `target` (asking the user
/// name when `user` is `None`), then reads commands. Returns the exit code.
pub fn run(
    session: &mut Session,
    passwords: &mut dyn PasswordSource,
    target: Option<&Target>,
    user: Option<String>,
) -> u8 {
    let mut editor: Editor<ShellHelper, DefaultHistory> = match Editor::new() {
        Ok(editor) => editor,
        Err(e) => {
            eprintln!("ftp-client: cannot start the line editor: {e}");
            return 1;
        }
    };
    editor.set_helper(Some(ShellHelper {
        files: FilenameCompleter::new(),
    }));
    if let Err(e) = crate::interrupt::install() {
        eprintln!("ftp-client: Ctrl-C will end the client, not just a transfer: {e}");
    }
    let history = history_path();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    if let Some(target) = target {
        let open = UserCommand::Open {
            host: target.host.clone(),
            port: target.port,
        };
        match commands::execute(session, &open, passwords, false) {
            Err(e) => eprintln!("error: {e}"),
            Ok(_) => log_in(session, passwords, &mut editor, target, user),
        }
    }
    loop {
        let line = match editor.readline("ftp> ") {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => {
                let _ = commands::execute(session, &UserCommand::Quit, passwords, false);
                break;
            }
            Err(e) => {
                eprintln!("ftp-client: reading the command line: {e}");
                break;
            }
        };
        if !line.trim().is_empty() {
            let _ = editor.add_history_entry(line.as_str());
        }
        let command = match UserCommand::parse(&line) {
            Ok(Some(command)) => command,
            Ok(None) => continue,
            Err(e) => {
                eprintln!("{e}");
                continue;
            }
        };
        crate::interrupt::clear();
        let result = commands::execute(session, &command, passwords, false);
        crate::interrupt::clear();
        match result {
            Ok(outcome) => {
                show(&outcome);
                // Like the classic client: after `open`, ask who to log in as.
                if let UserCommand::Open { host, port } = &command {
                    let target = Target {
                        host: host.clone(),
                        port: *port,
                        ..Target::default()
                    };
                    log_in(session, passwords, &mut editor, &target, None);
                }
            }
            Err(e) => eprintln!("error: {e}"),
        }
        if command == UserCommand::Quit {
            break;
        }
    }
    if let Some(path) = &history {
        let _ = editor.save_history(path);
    }
    0
}

/// Logs in as `user`, or as the name typed at the `Name (host:port):` prompt (empty: skip).
fn log_in(
    session: &mut Session,
    passwords: &mut dyn PasswordSource,
    editor: &mut Editor<ShellHelper, DefaultHistory>,
    target: &Target,
    user: Option<String>,
) {
    let name = user.or_else(|| {
        let prompt = format!("Name ({}:{}): ", target.host, target.port);
        editor.readline(&prompt).ok().map(|n| n.trim().to_owned())
    });
    let Some(name) = name.filter(|n| !n.is_empty()) else {
        return;
    };
    for command in crate::login_commands(target, name) {
        match commands::execute(session, &command, passwords, false) {
            Ok(outcome) => show(&outcome),
            Err(e) => {
                eprintln!("error: {e}");
                break;
            }
        }
    }
}

fn show(outcome: &Outcome) {
    if let Some(message) = &outcome.message {
        println!("{message}");
    }
}
