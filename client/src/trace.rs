//! What the user sees of the protocol: replies, and with `debug` every line and data connection.
//!
//! Everything here goes to stderr except plain replies, which go to stdout like a classic `ftp`
//! session. In JSON mode stdout carries only the JSON objects.

use ftp_proto::{Command, Reply};
use std::io::Write;

/// The output switches of a session.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    /// Print every command sent, reply received and data connection opened (`--debug`).
    pub debug: bool,
    /// Print the real password in the trace instead of `****` (`--show-password`).
    pub show_password: bool,
    /// Keep stdout for JSON objects only (`--json`).
    pub json: bool,
    /// Print replies on stderr (while a download goes to stdout with `get FILE -`).
    pub replies_on_stderr: bool,
}

impl Trace {
    /// A command about to be sent: `--> RETR a.bin`, with the password masked unless asked.
    pub fn command(&self, command: &Command) {
        if self.debug {
            eprintln!("--> {}", self.shown(command));
        }
    }

    /// A raw line sent as typed (`quote`).
    pub fn line(&self, line: &str) {
        if self.debug {
            eprintln!("--> {line}");
        }
    }

    /// The command as it may be shown to the user (PASS masked unless `show_password`).
    pub fn shown(&self, command: &Command) -> String {
        if self.show_password {
            command.to_string()
        } else {
            command.loggable().into_owned()
        }
    }

    /// A reply received: `<-- 226 …` in debug mode, else the reply as it came (not in JSON mode).
    pub fn reply(&self, reply: &Reply) {
        let wire = reply.encode();
        if self.debug {
            let mut err = std::io::stderr().lock();
            for line in wire.lines() {
                let _ = writeln!(err, "<-- {line}");
            }
        } else if self.replies_on_stderr {
            let mut err = std::io::stderr().lock();
            for line in wire.lines() {
                let _ = writeln!(err, "{line}");
            }
        } else if !self.json {
            let mut out = std::io::stdout().lock();
            for line in wire.lines() {
                let _ = writeln!(out, "{line}");
            }
        }
    }

    /// A data connection event (debug mode only).
    pub fn data(&self, message: &str) {
        if self.debug {
            eprintln!("data: {message}");
        }
    }

    /// A TLS event on the control connection (debug mode only): where encryption begins.
    pub fn tls(&self, message: &str) {
        if self.debug {
            eprintln!("--- {message} ---");
        }
    }

    /// Something the user should know even without debug (a NAT address, a fallback).
    pub fn note(&self, message: &str) {
        eprintln!("note: {message}");
    }
}
