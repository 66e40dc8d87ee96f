//! The server's errors and the one function that turns each into a reply (RFC 959 §4.2):
//! 550 for paths, 530 for logins, 500/501 for syntax, 503 for sequence, 4yz for what may work
//! later. Replies never carry an I/O error's own text, which can name host paths.

use crate::data_channel::DataError;
use crate::login_guard::Lockout;
use crate::paths::PathError;
use ftp_proto::{CommandError, LineError, Reply, ReplyCode};

/// Errors of a command, each mapped to exactly one reply by [`SessionError::into_reply`].
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The command line did not parse.
    #[error(transparent)]
    Syntax(#[from] CommandError),
    /// The command needs a login.
    #[error("Please login with USER and PASS.")]
    NotLoggedIn,
    /// `--tls required`: USER or PASS before AUTH TLS.
    #[error(
        "TLS required: this server refuses logins in clear text. Send AUTH TLS first \
         (e.g. curl --ssl-reqd, lftp with ftp:ssl-force, ftp-client --tls)."
    )]
    TlsRequired,
    /// `--tls-data required`: a transfer without PROT P (RFC 4217 §10.2).
    #[error("Data connections must be protected: send PBSZ 0 and PROT P first.")]
    DataProtectionRequired,
    /// The command came out of order (RNTO without RNFR, PASS without USER…).
    #[error("{0}")]
    BadSequence(&'static str),
    /// A path was refused or the file system said no.
    #[error(transparent)]
    Path(#[from] PathError),
    /// Anonymous users cannot change anything.
    #[error("Permission denied: this login is read-only.")]
    ReadOnly,
    /// A parameter the server does not implement (TYPE E, MODE B…).
    #[error("{0}")]
    NotImplementedForParameter(String),
    /// PORT/EPRT to an address that is not the client's (RFC 2577 §3).
    #[error(
        "Data connection address must be your own ({0}); refused (RFC 2577 bounce protection)."
    )]
    ForeignDataAddress(std::net::IpAddr),
    /// A transfer command without PORT/EPRT/PASV/EPSV before it.
    #[error("Use PORT, EPRT, PASV or EPSV first.")]
    NoDataConnection,
    /// An I/O error that is not about a path (its text is not shown to the client).
    #[error("Local error: {0}")]
    Local(std::io::Error),
    /// A command line over the length limit or not UTF-8.
    #[error(transparent)]
    BadLine(#[from] LineError),
    /// Wrong user name or password (which one is not said).
    #[error("Login incorrect.")]
    LoginIncorrect,
    /// The password was right but the user's root folder cannot be opened.
    #[error("Login refused: your root folder is unavailable.")]
    RootUnavailable,
    /// The user store could not be asked.
    #[error("Login failed: the user database is unavailable; try again later.")]
    StoreUnavailable,
    /// Too many failed logins: refused without checking the password.
    #[error("{}", .lockout.message(.user))]
    Locked {
        /// Which budget is used up.
        lockout: Lockout,
        /// The name given with USER.
        user: String,
    },
    /// The data connection did not open.
    #[error("Can't open data connection: {0}.")]
    DataConnection(#[from] DataError),
    /// The passive listener the session expected is not there any more.
    #[error("Can't open data connection: the passive port is gone; send PASV again.")]
    PassivePortGone,
    /// A transfer broke off (its text is not shown to the client).
    #[error("Transfer aborted: {0}")]
    TransferFailed(std::io::Error),
    /// A complete upload could not be put in place (its text is not shown to the client).
    #[error("Cannot store the file: {0}")]
    CannotStore(std::io::Error),
}

impl SessionError {
    /// The one place where errors become replies.
    pub fn into_reply(self) -> Reply {
        let code = match &self {
            SessionError::Syntax(CommandError::Empty) => ReplyCode::SYNTAX_ERROR,
            SessionError::Syntax(CommandError::BadAddress {
                source: ftp_proto::HostPortError::UnsupportedFamily { .. },
                ..
            }) => ReplyCode::PROTOCOL_NOT_SUPPORTED,
            SessionError::Syntax(_) => ReplyCode::SYNTAX_ERROR_ARGS,
            SessionError::NotLoggedIn | SessionError::TlsRequired => ReplyCode::NOT_LOGGED_IN,
            SessionError::DataProtectionRequired => ReplyCode::PROTECTION_REQUIRED,
            SessionError::BadSequence(_) => ReplyCode::BAD_SEQUENCE,
            SessionError::Path(PathError::Invalid { .. }) => ReplyCode::FILE_NAME_NOT_ALLOWED,
            SessionError::Path(_) | SessionError::ReadOnly => ReplyCode::FILE_UNAVAILABLE,
            SessionError::NotImplementedForParameter(_) | SessionError::ForeignDataAddress(_) => {
                ReplyCode::NOT_IMPLEMENTED_FOR_PARAMETER
            }
            SessionError::NoDataConnection
            | SessionError::DataConnection(_)
            | SessionError::PassivePortGone => ReplyCode::CANT_OPEN_DATA,
            SessionError::Local(_) | SessionError::CannotStore(_) => ReplyCode::LOCAL_ERROR,
            SessionError::BadLine(_) => ReplyCode::SYNTAX_ERROR,
            SessionError::LoginIncorrect
            | SessionError::RootUnavailable
            | SessionError::StoreUnavailable => ReplyCode::NOT_LOGGED_IN,
            SessionError::Locked { lockout, .. } if lockout.closes_connection() => {
                ReplyCode::SERVICE_NOT_AVAILABLE
            }
            SessionError::Locked { .. } => ReplyCode::NOT_LOGGED_IN,
            SessionError::TransferFailed(e) if is_storage_full(e) => {
                ReplyCode::INSUFFICIENT_STORAGE
            }
            SessionError::TransferFailed(_) => ReplyCode::TRANSFER_ABORTED,
        };
        let text = match self {
            // Say what happened without echoing host paths: only the client's own path is shown.
            SessionError::Path(PathError::Io {
                virtual_path,
                source,
            }) => {
                format!("{virtual_path}: {}.", describe_io(&source))
            }
            SessionError::Local(source) => format!("Local error: {}.", describe_io(&source)),
            SessionError::BadLine(LineError::TooLong { limit, .. }) => {
                format!("Command line too long (the limit is {limit} bytes).")
            }
            SessionError::BadLine(LineError::NotUtf8 { .. }) => {
                "Command line is not valid UTF-8.".to_owned()
            }
            // The error's own text can name host paths (the temp file's): describe it.
            SessionError::TransferFailed(source) => {
                format!("Transfer aborted: {}.", describe_io(&source))
            }
            SessionError::CannotStore(source) => format!(
                "Requested action aborted: cannot store the file ({}).",
                describe_io(&source)
            ),
            other => other.to_string(),
        };
        Reply::new(code, text)
    }
}

/// What an I/O error means, in words fit for a reply: never the error's own text, which can
/// carry host paths (the server's folders are none of the client's business).
pub fn describe_io(error: &std::io::Error) -> &'static str {
    use std::io::ErrorKind::*;
    match error.kind() {
        NotFound => "No such file or directory",
        PermissionDenied => "Permission denied",
        AlreadyExists => "File exists",
        NotADirectory => "Not a directory",
        IsADirectory => "Is a directory",
        DirectoryNotEmpty => "Directory not empty",
        StorageFull => "No space left on device",
        QuotaExceeded => "Disk quota exceeded",
        FileTooLarge => "File too large",
        ReadOnlyFilesystem => "Read-only file system",
        TimedOut => "Timed out",
        ConnectionReset => "Connection reset by the client",
        ConnectionAborted => "Connection aborted",
        BrokenPipe => "Connection closed by the client",
        UnexpectedEof => "Connection closed too early",
        ResourceBusy => "Resource busy",
        _ => "Cannot access it",
    }
}

fn is_storage_full(error: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(error.kind(), StorageFull | QuotaExceeded | FileTooLarge)
}
