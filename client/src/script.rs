//! Non-interactive use: `-c "cd pub; get a.bin"` and `--script FILE` run commands in order and
//! stop at the first that fails; `--json` prints one JSON object per command result.

use crate::commands::{self, PasswordSource, UserCommand};
use crate::error::ClientError;
use crate::session::{Outcome, ReplySummary, Session};
use serde_json::{Map, Value};

/// One command line to run, and how to show it (a password typed in it is masked).
#[derive(Debug, Clone)]
pub struct Step {
    /// The line as shown in messages and JSON.
    pub shown: String,
    /// The parsed command, or why it could not be parsed.
    pub command: Result<UserCommand, String>,
}

impl Step {
    /// A step from a typed line; `None` for blank lines and comments.
    pub fn from_line(line: &str) -> Option<Step> {
        match UserCommand::parse(line) {
            Ok(None) => None,
            Ok(Some(command)) => Some(Step::new(command, line.trim())),
            Err(e) => Some(Step {
                shown: line.trim().to_owned(),
                command: Err(e.to_string()),
            }),
        }
    }

    /// A step for a command built by the program (the initial open and login).
    pub fn new(command: UserCommand, line: &str) -> Step {
        let shown = match &command {
            UserCommand::User {
                name,
                password: Some(_),
            } => format!("user {name} ****"),
            _ => line.to_owned(),
        };
        Step {
            shown,
            command: Ok(command),
        }
    }
}

/// Splits `-c` text into lines at `;` outside quotes.
pub fn split_commands(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match (c, quote) {
            ('\'' | '"', None) => quote = Some(c),
            (q, Some(open)) if q == open => quote = None,
            (';' | '\n', None) => {
                out.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    out.push(current);
    out.into_iter().filter(|l| !l.trim().is_empty()).collect()
}

/// Runs the steps in order; returns the exit code (0, or that of the first failure).
pub fn run(
    session: &mut Session,
    passwords: &mut dyn PasswordSource,
    steps: Vec<Step>,
    json: bool,
) -> u8 {
    let mut code = 0;
    for step in steps {
        let result = match &step.command {
            Ok(command) => commands::execute(session, command, passwords, json),
            Err(message) => Err(ClientError::Usage(message.clone())),
        };
        let quit = matches!(step.command, Ok(UserCommand::Quit));
        match result {
            Ok(outcome) => report_success(&step.shown, &outcome, json),
            Err(error) => {
                report_failure(&step.shown, &error, json);
                // Without a session nothing else can work: say so with the exit code.
                code = match step.command {
                    Ok(UserCommand::Open { .. } | UserCommand::User { .. }) => 3,
                    _ => error.exit_code(),
                };
                break;
            }
        }
        if quit {
            break;
        }
    }
    if session.is_connected() {
        // Leave politely; the reply is not a command result.
        let quiet = session.trace.clone();
        session.trace.json = true;
        let _ = commands::execute(session, &UserCommand::Quit, passwords, json);
        session.trace = quiet;
    }
    code
}

fn report_success(shown: &str, outcome: &Outcome, json: bool) {
    if json {
        let mut object = Map::new();
        object.insert("command".into(), Value::from(shown));
        object.insert("ok".into(), Value::Bool(true));
        if let Ok(Value::Object(fields)) = serde_json::to_value(outcome) {
            object.extend(fields);
        }
        println!("{}", Value::Object(object));
    } else if let Some(message) = &outcome.message {
        println!("{message}");
    }
}

fn report_failure(shown: &str, error: &ClientError, json: bool) {
    if json {
        let mut object = Map::new();
        object.insert("command".into(), Value::from(shown));
        object.insert("ok".into(), Value::Bool(false));
        object.insert("error".into(), Value::from(error.to_string()));
        if let Some(reply) = error.reply()
            && let Ok(value) = serde_json::to_value(ReplySummary::from(reply))
        {
            object.insert("reply".into(), value);
        }
        println!("{}", Value::Object(object));
    }
    eprintln!("ftp-client: `{shown}` failed: {error}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semicolons_split_commands_outside_quotes() {
        assert_eq!(
            split_commands(r#"cd pub; get "a;b.bin" ;put x; "#),
            vec!["cd pub", r#" get "a;b.bin" "#, "put x"]
        );
    }

    #[test]
    fn typed_passwords_are_masked() {
        let step = Step::from_line("user bob secret");
        assert_eq!(step.map(|s| s.shown), Some("user bob ****".to_owned()));
    }
}
