//! `ftp-client`: an FTP client for the ftplab teaching lab, interactive or scripted, that works
//! with any RFC 959 server and can show every line that crosses the wire.
//!
//! # Layout
//! - [`cli`]: command-line arguments and the `ftp://USER@HOST:PORT/PATH` form.
//! - [`commands`]: the user commands (`get`, `put`, `ls`…), their parsing and `help`.
//! - [`session`]: the FTP command sequences behind each user command; its `transfers` part sets
//!   up data connections and moves files and listings.
//! - [`control`]: the control connection: `ftp_proto::Command` out, `ftp_proto::Reply` in.
//! - [`data`]: data connections, passive (EPSV→PASV) and active (EPRT→PORT).
//! - [`tls`]: explicit FTPS (RFC 4217): certificate trust, handshakes, TLS streams.
//! - [`transfer`]: streaming copies with ASCII conversion and rate limit; [`progress`]: bars.
//! - [`trace`]: what is printed of the protocol (`--debug`).
//! - [`shell`]: the interactive shell; [`script`]: `-c`, `--script`, `--json`.
//! - [`error`]: [`ClientError`], each message with what to do next.
//! - [`interrupt`]: Ctrl-C during a transfer (abort it, keep the session).
//!
//! Data flow: shell line → [`commands::UserCommand`] → [`session::Session`] →
//! `ftp_proto::Command`s on the control connection → replies (multi-line aware, decoded by
//! `ftp_proto`) → data connection → file or stdout.

pub mod cli;
pub mod commands;
pub mod control;
pub mod data;
pub mod error;
pub mod interrupt;
pub mod progress;
pub mod script;
pub mod session;
pub mod shell;
pub mod tls;
pub mod trace;
pub mod transfer;

pub use cli::{Cli, Target};
pub use error::ClientError;

use commands::{PasswordSource, UserCommand};
use data::DataMode;
use script::Step;
use session::{Session, Settings};
use std::io::{BufRead, IsTerminal};
use std::time::Duration;
use trace::Trace;

/// The password sent for `anonymous` and `ftp` (RFC 1635 asks for an e-mail-like string).
const ANONYMOUS_PASSWORD: &str = "anonymous@";

/// Runs the client as the command line asks; returns the process exit code.
pub fn run(cli: Cli) -> Result<u8, ClientError> {
    let trace = Trace {
        debug: cli.debug,
        show_password: cli.show_password,
        json: cli.json,
        replies_on_stderr: false,
    };
    let settings = Settings {
        mode: if cli.active {
            DataMode::Active
        } else {
            DataMode::Passive
        },
        binary: true,
        timeout: Duration::from_secs(cli.timeout.max(1)),
        limit_rate: cli.limit_rate,
        extended: !cli.no_extended,
        progress: !cli.no_progress && !cli.json && std::io::stderr().is_terminal(),
        tls: cli.tls_options()?,
    };
    let mut session = Session::new(trace, settings);
    let target = cli
        .target
        .as_deref()
        .map(|t| Target::parse(t, cli.port))
        .transpose()?;
    if target.as_ref().is_some_and(|t| t.password.is_some()) {
        session.trace.note(
            "a password in the URL is visible to every user of this machine (ps, shell \
             history); prefer --password-stdin",
        );
    }
    let user = cli
        .user
        .clone()
        .or_else(|| target.as_ref().and_then(|t| t.user.clone()));
    let mut passwords: Box<dyn PasswordSource> = if cli.password_stdin {
        Box::new(StdinPassword::default())
    } else {
        Box::new(PromptPassword)
    };

    let lines = if let Some(text) = &cli.commands {
        Some(script::split_commands(text))
    } else if let Some(path) = &cli.script {
        let text = std::fs::read_to_string(path).map_err(|source| ClientError::LocalFile {
            action: "read the script",
            path: path.clone(),
            source,
        })?;
        Some(text.lines().map(str::to_owned).collect())
    } else {
        None
    };

    let Some(lines) = lines else {
        // Only a person at a terminal can judge a certificate's fingerprint.
        session.settings.tls.ask = std::io::stdin().is_terminal();
        return Ok(shell::run(
            &mut session,
            passwords.as_mut(),
            target.as_ref(),
            user,
        ));
    };
    let mut steps = Vec::new();
    if let Some(target) = &target {
        steps.push(Step::new(
            UserCommand::Open {
                host: target.host.clone(),
                port: target.port,
            },
            &format!("open {} {}", target.host, target.port),
        ));
        let name = user.unwrap_or_else(|| "anonymous".to_owned());
        for command in login_commands(target, name) {
            let shown = match &command {
                UserCommand::User { name, .. } => format!("user {name}"),
                UserCommand::Cd { path } => format!("cd {path}"),
                _ => String::new(),
            };
            steps.push(Step::new(command, &shown));
        }
    }
    steps.extend(lines.iter().filter_map(|l| Step::from_line(l)));
    // A download to stdout (`get FILE -`) owns stdout: every reply goes to stderr then.
    session.trace.replies_on_stderr = steps
        .iter()
        .any(|s| matches!(&s.command, Ok(UserCommand::Get { local: Some(l), .. }) if l == "-"));
    Ok(script::run(
        &mut session,
        passwords.as_mut(),
        steps,
        cli.json,
    ))
}

/// The commands that log `name` in on `target` and go to its path: `user` (with the URL's
/// password, or the anonymous one) and `cd`.
pub fn login_commands(target: &Target, name: String) -> Vec<UserCommand> {
    let password = target.password.clone().or_else(|| {
        matches!(name.as_str(), "anonymous" | "ftp").then(|| ANONYMOUS_PASSWORD.to_owned())
    });
    let mut commands = vec![UserCommand::User { name, password }];
    if let Some(path) = &target.path {
        commands.push(UserCommand::Cd { path: path.clone() });
    }
    commands
}

/// Reads the password once from the first line of standard input (`--password-stdin`).
#[derive(Debug, Default)]
struct StdinPassword {
    cached: Option<String>,
}

impl PasswordSource for StdinPassword {
    fn password(&mut self, _user: &str) -> Result<String, ClientError> {
        if let Some(p) = &self.cached {
            return Ok(p.clone());
        }
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| ClientError::Usage(format!("cannot read the password from stdin: {e}")))?;
        let password = line.trim_end_matches(['\r', '\n']).to_owned();
        self.cached = Some(password.clone());
        Ok(password)
    }
}

/// Asks the password on the terminal without echo.
#[derive(Debug)]
struct PromptPassword;

impl PasswordSource for PromptPassword {
    fn password(&mut self, user: &str) -> Result<String, ClientError> {
        rpassword::prompt_password(format!("Password for {user}: ")).map_err(|e| {
            ClientError::Usage(format!(
                "cannot ask the password ({e}): without a terminal use --password-stdin, \
                 or `user NAME PASSWORD`"
            ))
        })
    }
}
