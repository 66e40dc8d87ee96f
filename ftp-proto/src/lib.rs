//! The FTP wire format, written once and shared by `ftp-server`, `ftp-client` and `inspector`.
//!
//! This crate does no I/O: bytes go in, values come out, and back again. It knows the grammar of
//! RFC 959 (File Transfer Protocol), RFC 2428 (extensions for IPv6: EPRT, EPSV), RFC 3659
//! (SIZE, MDTM, REST in stream mode, MLST/MLSD) and RFC 2228/4217 (AUTH TLS, PBSZ, PROT, CCC).
//!
//! # Layout
//! - [`line`](mod@line): splitting the control connection into lines, Telnet IAC stripping, the length limit.
//! - [`command`]: [`Command`], what a client sends (`RETR file.txt`), parsed and encoded.
//! - [`reply`]: [`Reply`], what a server answers (`226 Transfer complete.`), including multi-line.
//! - [`reply_code`]: [`ReplyCode`], the three digits and what RFC 959 says they mean.
//! - [`host_port`]: the address forms of PORT, EPRT, the 227 reply to PASV and the 229 reply to EPSV.
//! - [`data_connection`]: which commands open a data connection, which way; the EPSV argument.
//! - [`opening`]: the 150 text of a download, `… (1234 bytes).`, and the size in it.
//! - [`quoted_path`]: the `"path"` of a 257 reply, embedded quotes doubled.
//! - [`size_reply`]: the byte count of a 213 reply to SIZE.
//! - [`time_val`]: the `YYYYMMDDHHMMSS` time of MDTM and the `modify` fact.
//! - [`loggable`]: command lines fit for logs, `PASS ****`.
//! - [`security`]: the arguments of AUTH, PBSZ and PROT (FTPS), and `SHA256:AB:…` fingerprints.
//! - [`sniff`]: FTP recognised from a few bytes (greeting, USER, announced data ports).
//!
//! Data flow: raw bytes → [`line::next_line`] → [`Command::parse`] or [`reply::ReplyDecoder`] →
//! values; and values → `Display`/[`Reply::encode`] → bytes.
#![warn(missing_docs)]

pub mod command;
pub mod data_connection;
pub mod host_port;
pub mod line;
pub mod loggable;
pub mod opening;
pub mod quoted_path;
pub mod reply;
pub mod reply_code;
pub mod security;
pub mod size_reply;
pub mod sniff;
pub mod time_val;

pub use command::{Command, CommandError, TransferType};
pub use data_connection::{DataDirection, EpsvArgument};
pub use host_port::HostPortError;
pub use line::{LineError, MAX_LINE_LEN};
pub use loggable::{MASKED_PASS, loggable_line};
pub use opening::{RetrOpening, transfer_size};
pub use quoted_path::QuotedPath;
pub use reply::{LineOutcome, Reply, ReplyDecoder, ReplyError, ReplyLines};
pub use reply_code::ReplyCode;
pub use security::{AuthMechanism, ProtectionLevel};
pub use time_val::{TimeVal, TimeValError};
