//! Waiting for the student between steps: `q` quits and Enter goes on, one key without Enter
//! where standard input is a terminal; a typed line that looks like a command gets the advice
//! to run it in a second terminal instead of being taken as Enter.

use std::io::{BufRead, Read, Write};
use std::sync::Mutex;

/// The terminal's settings before single-key mode, restored after each wait and on Ctrl-C.
static SAVED: Mutex<Option<rustix::termios::Termios>> = Mutex::new(None);

/// Words a command the lab text shows starts with.
const COMMAND_WORDS: [&str; 24] = [
    "ftp-client",
    "inspector",
    "tshark",
    "wireshark",
    "tcpdump",
    "just",
    "sudo",
    "cargo",
    "echo",
    "cd",
    "ls",
    "cat",
    "cmp",
    "xxd",
    "sha256sum",
    "setpriv",
    "tail",
    "for",
    "grep",
    "python3",
    "curl",
    "lftp",
    "ftp",
    "ftp-server",
];

/// Whether a line typed into the lab window is a command meant for a shell.
pub fn looks_like_command(line: &str) -> bool {
    let line = line.trim().trim_start_matches("$ ").trim_start();
    let first = line.split_whitespace().next().unwrap_or("");
    let program = first.rsplit('/').next().unwrap_or(first);
    COMMAND_WORDS.contains(&program)
        || (first.contains('/') && !program.is_empty())
        || line.contains(" | ")
}

const ADVICE: &str = "  ↳ That looks like a command: run it in a second terminal (open a new terminal window \
or tab, in the same folder). This window only waits: Enter for the next step, q to quit.";

/// Restores the terminal if single-key mode is on (after a wait, and from the Ctrl-C handler).
pub fn restore_terminal() {
    let saved = SAVED.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(t) = saved {
        let _ =
            rustix::termios::tcsetattr(std::io::stdin(), rustix::termios::OptionalActions::Now, &t);
    }
}

/// Single-key mode: no line buffering, and the runner echoes what is typed itself (so a
/// backspace erases); false when the terminal refuses.
fn single_key_mode() -> bool {
    use rustix::termios::{LocalModes, OptionalActions, SpecialCodeIndex, tcgetattr, tcsetattr};
    let stdin = std::io::stdin();
    if !rustix::termios::isatty(&stdin) {
        return false;
    }
    let Ok(original) = tcgetattr(&stdin) else {
        return false;
    };
    let mut raw = original.clone();
    raw.local_modes
        .remove(LocalModes::ICANON | LocalModes::ECHO);
    raw.special_codes[SpecialCodeIndex::VMIN] = 1;
    raw.special_codes[SpecialCodeIndex::VTIME] = 0;
    *SAVED.lock().unwrap_or_else(|p| p.into_inner()) = Some(original);
    if tcsetattr(&stdin, OptionalActions::Now, &raw).is_err() {
        restore_terminal();
        return false;
    }
    true
}

/// What the student's input means.
#[derive(Debug, PartialEq, Eq)]
enum Input {
    Next,
    Quit,
    Command,
}

fn classify(line: &str) -> Input {
    let t = line.trim();
    if t.eq_ignore_ascii_case("q") || t.eq_ignore_ascii_case("quit") {
        Input::Quit
    } else if looks_like_command(t) {
        Input::Command
    } else {
        Input::Next
    }
}

/// Waits for the student; false when they quit (q, or the end of standard input).
pub fn wait_for_student(k: usize, steps: usize) -> bool {
    // A line of its own: what the inspector finds meanwhile is printed below it, not after it.
    println!(
        "[step {k} of {steps}: waiting for you · Enter: next step · q: quit · commands go in a second terminal]"
    );
    let _ = std::io::stdout().flush();
    if single_key_mode() {
        let go_on = wait_keys();
        restore_terminal();
        return go_on;
    }
    // Not a terminal (a pipe, a test): one line at a time, bounded by the input itself.
    let stdin = std::io::stdin();
    let mut lock = stdin.lock();
    loop {
        let mut line = String::new();
        match lock.read_line(&mut line) {
            Ok(0) | Err(_) => return false,
            Ok(_) => match classify(&line) {
                Input::Next => return true,
                Input::Quit => return false,
                Input::Command => println!("{ADVICE}"),
            },
        }
    }
}

/// Reads keys in single-key mode: `q` at the start of a line quits at once, Enter goes on,
/// anything else is collected up to Enter and judged as a line.
fn wait_keys() -> bool {
    let mut stdin = std::io::stdin();
    let mut line = String::new();
    let mut byte = [0u8; 1];
    let echo = |text: &str| {
        let mut out = std::io::stdout();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    };
    loop {
        match stdin.read(&mut byte) {
            Ok(0) | Err(_) => return false,
            Ok(_) => {}
        }
        match byte[0] {
            b'q' | b'Q' if line.is_empty() => {
                echo("q\n");
                return false;
            }
            // Ctrl-D on an empty line: the end of input.
            4 if line.is_empty() => return false,
            b'\n' | b'\r' => {
                echo("\n");
                match classify(&line) {
                    Input::Next => return true,
                    Input::Quit => return false,
                    Input::Command => {
                        println!("{ADVICE}");
                        line.clear();
                    }
                }
            }
            0x7f | 0x08 => {
                if line.pop().is_some() {
                    echo("\u{8} \u{8}");
                }
            }
            // Other control bytes (arrows, Tab) are not part of a line.
            b if b < 0x20 => {}
            b => {
                let c = char::from(b);
                line.push(c);
                echo(c.encode_utf8(&mut [0u8; 4]));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_from_the_lab_texts_are_recognised() {
        for line in [
            "echo pass1 | ftp-client -u user1 --password-stdin -c pwd 127.0.0.1 2121",
            "/work/target/debug/inspector read captures/lab1.pcapng",
            "$ tshark -r my-work/lab1/lab1.pcapng",
            "sudo just lab1",
            "cargo build",
            "just check lab1",
        ] {
            assert_eq!(classify(line), Input::Command, "{line}");
        }
    }

    #[test]
    fn enter_q_and_words_are_not_commands() {
        assert_eq!(classify(""), Input::Next);
        assert_eq!(classify("ok"), Input::Next);
        assert_eq!(classify("next please"), Input::Next);
        assert_eq!(classify(" q "), Input::Quit);
        assert_eq!(classify("QUIT"), Input::Quit);
    }
}
