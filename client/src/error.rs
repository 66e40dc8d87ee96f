//! The one error type of the client: what went wrong, and what the user can do about it.

use ftp_proto::{Reply, ReplyCode};
use std::io;
use std::path::PathBuf;

/// Everything a client command can fail with. Each message ends with a hint when there is one.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No TCP connection to the server's control port.
    #[error("cannot connect to {addr}: {source}. {}", connect_hint(source))]
    Connect {
        /// `host:port` as the user gave it.
        addr: String,
        /// Why the connection failed.
        source: io::Error,
    },
    /// TLS could not be set up or broke (`--tls`).
    #[error("{0}")]
    Tls(String),
    /// The server's certificate is not trusted, and the user was not asked or said no.
    #[error(
        "the server's TLS certificate is not trusted: {reason}. Its fingerprint is {fingerprint}. \
         If that is the server's (ask its operator; `ftp-server init` prints it), pass \
         --tls-fingerprint {fingerprint}; --tls-insecure skips the check, and then anyone on the \
         path can read and change everything"
    )]
    UntrustedCertificate {
        /// `SHA256:AB:CD:…` of the certificate the server showed.
        fingerprint: String,
        /// Why it is not trusted.
        reason: String,
    },
    /// A command that needs a server was given while there is none.
    #[error("not connected: use `open HOST [PORT]` first")]
    NotConnected,
    /// The server closed the control connection.
    #[error("the server closed the control connection; `open` it again")]
    ConnectionClosed,
    /// Reading or writing the control connection failed (including a timeout).
    #[error("control connection: {source}{}", timeout_hint(source))]
    ControlIo {
        /// The I/O error.
        source: io::Error,
    },
    /// The server sent bytes that are not an FTP reply.
    #[error("the server sent something that is not an FTP reply: {source}")]
    BadReply {
        /// What the decoder said.
        source: ftp_proto::ReplyError,
    },
    /// The server answered a command with a negative (or unexpected) reply.
    #[error("{command}: the server replied \"{}\". {}", reply_text(reply), reply_hint(reply.code))]
    Refused {
        /// The command line as sent (PASS masked).
        command: String,
        /// The reply.
        reply: Reply,
    },
    /// A 227/229 reply whose address could not be read.
    #[error(
        "cannot read the data-connection address in the reply {}: {source}",
        reply_text(reply)
    )]
    BadDataAddress {
        /// The reply.
        reply: Reply,
        /// What the parser said.
        source: ftp_proto::HostPortError,
    },
    /// The data connection could not be opened.
    #[error(
        "cannot open the data connection ({mode}, {addr}): {source}. Hint: a firewall or NAT may \
         be in the way; try `{}` mode",
        if *mode == "passive" { "active" } else { "passive" }
    )]
    DataConnection {
        /// `passive` or `active`.
        mode: &'static str,
        /// The address we connected to, or listened on.
        addr: String,
        /// Why it failed.
        source: io::Error,
    },
    /// The data connection broke during a transfer.
    #[error("data connection broke after {bytes} bytes: {source}")]
    DataIo {
        /// Bytes moved before the failure.
        bytes: u64,
        /// The I/O error.
        source: io::Error,
    },
    /// A local file could not be opened, read or written.
    #[error("cannot {action} local file {}: {source}{}", path.display(), local_hint(source))]
    LocalFile {
        /// `read`, `create`, `write`…
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A download failed after some bytes arrived; they are kept for `reget`.
    #[error("{source} (the {bytes} bytes received are kept in {}; `reget` resumes)", part.display())]
    PartialDownload {
        /// What went wrong.
        source: Box<ClientError>,
        /// The partial file.
        part: PathBuf,
        /// How many bytes it holds.
        bytes: u64,
    },
    /// Ctrl-C stopped a transfer; the server was told with ABOR.
    #[error("interrupted after {bytes} bytes; ABOR sent, the session goes on{hint}")]
    Interrupted {
        /// Bytes moved before the interruption.
        bytes: u64,
        /// What may be left behind, and what to do about it (empty when nothing).
        hint: &'static str,
    },
    /// The user typed something that is not a valid command.
    #[error("{0}")]
    Usage(String),
}

impl ClientError {
    /// The process exit code for this error in non-interactive mode: 3 when there is no
    /// session at all (connection or login), 2 for bad input, 1 for a command that failed.
    pub fn exit_code(&self) -> u8 {
        match self {
            ClientError::Connect { .. }
            | ClientError::NotConnected
            | ClientError::Tls(_)
            | ClientError::UntrustedCertificate { .. } => 3,
            ClientError::Usage(_) => 2,
            _ => 1,
        }
    }

    /// The reply behind this error, if the server sent one.
    pub fn reply(&self) -> Option<&Reply> {
        match self {
            ClientError::Refused { reply, .. } | ClientError::BadDataAddress { reply, .. } => {
                Some(reply)
            }
            ClientError::PartialDownload { source, .. } => source.reply(),
            _ => None,
        }
    }
}

/// A reply on one line: `550 No such file.`; lines of a multi-line reply joined with ` / `.
pub fn reply_text(reply: &Reply) -> String {
    format!("{} {}", reply.code, reply.lines.join(" / "))
}

fn connect_hint(source: &io::Error) -> &'static str {
    match source.kind() {
        io::ErrorKind::ConnectionRefused => {
            "Nothing listens there: is the server running, and is the port right?"
        }
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
            "No answer: check the host name and any firewall in between"
        }
        _ => "Check the host name and port",
    }
}

fn timeout_hint(source: &io::Error) -> &'static str {
    match source.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
            " (no reply in time: the server may be stuck; raise --timeout or `open` again)"
        }
        _ => "",
    }
}

fn local_hint(source: &io::Error) -> &'static str {
    match source.kind() {
        io::ErrorKind::NotFound => " (check the path; `lcd` changes the local folder)",
        io::ErrorKind::PermissionDenied => " (no permission: pick another folder with `lcd`)",
        _ => "",
    }
}

/// What to do after a negative reply, by reply code (RFC 959 §4.2.1 and RFC 2428).
fn reply_hint(code: ReplyCode) -> String {
    let hint = match code {
        ReplyCode::SERVICE_NOT_AVAILABLE => "The server is closing the session: `open` again",
        ReplyCode::CANT_OPEN_DATA => {
            "The server could not open the data connection: try `passive` or `active`"
        }
        ReplyCode::TRANSFER_ABORTED => {
            "The data connection broke: try again, or switch `passive`/`active`"
        }
        ReplyCode::FILE_BUSY | ReplyCode::LOCAL_ERROR | ReplyCode::INSUFFICIENT_STORAGE => {
            "A temporary failure: try again later"
        }
        ReplyCode::SYNTAX_ERROR | ReplyCode::NOT_IMPLEMENTED => {
            "The server does not know this command"
        }
        ReplyCode::SYNTAX_ERROR_ARGS => {
            "The server did not accept the argument: check its spelling"
        }
        ReplyCode::BAD_SEQUENCE => "Commands in the wrong order (e.g. not logged in yet)",
        ReplyCode::NOT_IMPLEMENTED_FOR_PARAMETER => "The server does not support this parameter",
        ReplyCode::NOT_LOGGED_IN => {
            "Login incorrect or not logged in: check the user name and password (`user NAME`)"
        }
        ReplyCode::NEED_ACCOUNT_TO_STORE => {
            "The server wants an account (ACCT), which this client does not send"
        }
        ReplyCode::FILE_UNAVAILABLE => {
            "No such file or directory, or no permission: `ls` shows what is there"
        }
        ReplyCode::PAGE_TYPE_UNKNOWN | ReplyCode::FILE_NAME_NOT_ALLOWED => {
            "The file name is not allowed here"
        }
        ReplyCode::EXCEEDED_STORAGE => "The server is out of space for this file",
        _ => return code.meaning().map(str::to_owned).unwrap_or_default(),
    };
    hint.to_owned()
}
