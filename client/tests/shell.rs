//! The interactive shell through a real terminal (tmux): login prompts, replies, `help`, tab
//! completion, a one-line hint for a typo, a progress bar, and `bye`.

mod common;

use common::{CLIENT_BIN, MIB, Peer};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

/// A detached tmux session on its own server socket, killed on drop.
struct Terminal {
    socket: String,
}

impl Terminal {
    fn start(command: &str, home: &std::path::Path) -> Terminal {
        let socket = format!(
            "ftp-client-test-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        );
        let out = common::run(
            Command::new("tmux")
                .args([
                    "-L",
                    &socket,
                    "-f",
                    "/dev/null",
                    "new-session",
                    "-d",
                    "-s",
                    "t",
                    "-x",
                    "160",
                    "-y",
                    "50",
                ])
                .arg(format!("env HOME={} {command}; sleep 30", home.display())),
        );
        common::assert_success(&out, "tmux new-session (is tmux installed?)");
        Terminal { socket }
    }

    fn keys(&self, keys: &[&str]) {
        let out = common::run(
            Command::new("tmux")
                .args(["-L", &self.socket, "send-keys", "-t", "t"])
                .args(keys),
        );
        common::assert_success(&out, "tmux send-keys");
    }

    /// Types `line` and Enter.
    fn line(&self, line: &str) {
        self.keys(&["-l", line]);
        self.keys(&["Enter"]);
    }

    fn screen(&self) -> String {
        let out = common::run(Command::new("tmux").args([
            "-L",
            &self.socket,
            "capture-pane",
            "-p",
            "-t",
            "t",
            "-S",
            "-300",
        ]));
        common::stdout(&out)
    }

    /// Waits until the screen shows `text` `times` times in all.
    fn wait_for_count(&self, text: &str, times: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.screen();
            if screen.matches(text).count() >= times {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "the terminal never showed {text:?}:\n{screen}"
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_for(&self, text: &str) -> String {
        self.wait_for_count(text, 1)
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = common::run(Command::new("tmux").args(["-L", &self.socket, "kill-server"]));
    }
}

/// A shell logged in to `peer` with `--limit-rate 4M` (so a transfer lasts long enough to watch
/// or interrupt), its local folder `home`.
fn slow_shell(peer: &Peer, home: &std::path::Path) -> Terminal {
    let term = Terminal::start(
        &format!(
            "{CLIENT_BIN} ftp://user1:pass1@127.0.0.1:{}/ --limit-rate 4M",
            peer.port
        ),
        home,
    );
    term.wait_for("230 Login successful.");
    term.line(&format!("lcd {}", home.display()));
    term.wait_for("local folder:");
    term
}

#[test]
fn shell_logs_in_shows_replies_help_completion_and_hints_in_a_terminal() {
    let peer = Peer::ours(&[]);
    let home = peer.local_dir("home");
    let term = Terminal::start(&format!("{CLIENT_BIN} 127.0.0.1 {}", peer.port), &home);
    term.wait_for(&format!("Name (127.0.0.1:{}):", peer.port));
    term.line("user1");
    term.wait_for("Password for user1:");
    term.line("pass1");
    term.wait_for("230 Login successful.");
    term.line("help");
    term.wait_for("commands (help CMD");
    term.line("help reget");
    term.wait_for("sends: REST OFFSET (RFC 3659), then RETR REMOTE");
    term.line("ls");
    term.wait_for("welcome.txt");
    // Tab completes the command name: "sta" becomes "status ".
    term.keys(&["-l", "sta"]);
    term.keys(&["Tab"]);
    term.keys(&["Enter"]);
    term.wait_for("transfer type: binary (TYPE I)");
    term.line("frobnicate");
    term.wait_for("`help` lists the commands");
    term.line("get");
    term.wait_for("usage: get REMOTE");
    term.line("bye");
    let screen = term.wait_for("221");
    assert!(
        !screen.contains("pass1"),
        "the password must not echo:\n{screen}"
    );
    assert!(
        home.join(".ftp-client-history").exists(),
        "history is saved"
    );
}

#[test]
fn long_transfer_shows_a_progress_bar_in_a_terminal() {
    let peer = Peer::ours(&[]);
    let home = peer.local_dir("home");
    common::random_file(&peer.dir.join("big.bin"), 12 * MIB);
    let term = slow_shell(&peer, &home);
    term.line("get big.bin");
    let screen = term.wait_for("ETA");
    assert!(screen.contains("big.bin ["), "{screen}");
    term.wait_for("bytes received in");
    assert_eq!(
        std::fs::metadata(home.join("big.bin"))
            .map(|m| m.len())
            .ok(),
        Some(12 * MIB as u64)
    );
}

#[test]
fn open_inside_the_shell_asks_the_name_and_debug_on_shows_the_wire() {
    let peer = Peer::ours(&[]);
    let home = peer.local_dir("home");
    let term = Terminal::start(CLIENT_BIN, &home);
    term.wait_for("ftp>");
    term.line(&format!("open 127.0.0.1 {}", peer.port));
    term.wait_for(&format!("Name (127.0.0.1:{}):", peer.port));
    term.line("user1");
    term.wait_for("Password for user1:");
    term.line("pass1");
    term.wait_for("230 Login successful.");
    term.line("debug on");
    term.line("pwd");
    term.wait_for("--> PWD");
    let screen = term.wait_for("<-- 257 \"/\"");
    assert!(!screen.contains("pass1"), "{screen}");
    term.line("bye");
    term.wait_for("--> QUIT");
}

#[test]
fn ctrl_c_aborts_a_transfer_keeps_the_session_and_reget_completes_the_file() {
    let peer = Peer::ours(&[]);
    let home = peer.local_dir("home");
    let size = 16 * MIB;
    common::random_file(&peer.dir.join("big.bin"), size);
    let want = common::sha256_file(&peer.dir.join("big.bin"));
    common::random_file(&home.join("up.bin"), size);
    let term = slow_shell(&peer, &home);

    // Download: Ctrl-C once the bytes flow.
    term.line("get big.bin");
    term.wait_for("ETA");
    term.keys(&["C-c"]);
    let screen = term.wait_for("ABOR sent, the session goes on");
    assert!(screen.contains("bytes received are kept in"), "{screen}");
    let part = home.join("big.bin.part");
    let kept = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    assert!(kept > 0 && kept < size as u64, "{kept} bytes in {part:?}");
    assert!(
        !home.join("big.bin").exists(),
        "no file under the final name"
    );
    // The control connection is in step: the next command gets its own reply.
    term.line("pwd");
    term.wait_for("257 ");
    term.line("reget big.bin");
    term.wait_for("bytes received in");
    assert_eq!(common::sha256_file(&home.join("big.bin")), want);

    // Upload: Ctrl-C resets the data connection, so the server does not keep a short file as if
    // it were whole.
    term.line("put up.bin");
    term.wait_for_count("ETA", 2);
    term.keys(&["C-c"]);
    term.wait_for_count("ABOR sent, the session goes on", 2);
    term.line("pwd");
    term.wait_for_count("257 ", 2);
    let stored = std::fs::metadata(peer.dir.join("up.bin")).map(|m| m.len());
    assert!(
        stored.is_err(),
        "the server kept {stored:?} bytes of an interrupted upload"
    );
    term.line("bye");
    term.wait_for("221");
}
