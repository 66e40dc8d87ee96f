//! What the analysis finds, one value per event, each citing its frame: the `--json` contract.
//!
//! Field names here are a contract that graders and labs rely on (see `inspector/JSON.md`):
//! add fields freely, never rename or remove one.

use serde::Serialize;

/// One thing the analysis found. Serialised as one JSON object with `"kind"` naming the variant.
/// The large variants are boxed: a capture yields many events, kept and sorted by frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// A control connection was found.
    Session(SessionEvent),
    /// A command sent by the client.
    Command(CommandEvent),
    /// A reply sent by the server.
    Reply(ReplyEvent),
    /// A user name and password, and whether the server took them.
    Credential(Box<CredentialEvent>),
    /// The control connection switched to TLS (AUTH TLS + 234): the rest is unreadable.
    Tls(TlsEvent),
    /// The TLS handshake of a control connection: version, cipher suite, SNI, certificate,
    /// and whether the key log opened it.
    TlsHandshake(Box<crate::tls::TlsHandshakeEvent>),
    /// A data connection's content: a file or a listing.
    Transfer(Box<TransferEvent>),
    /// A download resumed with REST, put together with its earlier part(s).
    Stitched(Box<StitchedEvent>),
    /// A security finding.
    Finding(Box<FindingEvent>),
    /// Something that was skipped or could not be read.
    Warning(WarningEvent),
}

impl Event {
    /// The Wireshark frame number the event cites (0 when it cites none).
    pub fn frame(&self) -> u64 {
        match self {
            Event::Session(e) => e.frame,
            Event::Command(e) => e.frame,
            Event::Reply(e) => e.frame,
            Event::Credential(e) => e.frame,
            Event::Tls(e) => e.frame,
            Event::TlsHandshake(e) => e.frame,
            Event::Transfer(e) => e.frame,
            Event::Stitched(e) => e.frame,
            Event::Finding(e) => e.frame,
            Event::Warning(e) => e.frame,
        }
    }
}

/// A control connection (`"kind":"session"`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionEvent {
    /// Session number, 1-based, in order of first frame.
    pub session: usize,
    /// First frame of the control connection.
    pub frame: u64,
    /// Seconds since the Unix epoch.
    pub time: f64,
    /// The FTP client, `ip:port`.
    pub client: String,
    /// The FTP server, `ip:port`.
    pub server: String,
    /// How it was recognised: `port`, `greeting` (a 220 reply) or `user` (a USER command).
    pub found_by: &'static str,
    /// When the server is not on port 21, what makes Wireshark decode it as FTP:
    /// `tcp.port==P,ftp`, for `tshark -d` or Analyze ▸ Decode As… (null on port 21).
    pub decode_as: Option<String>,
}

/// A command (`"kind":"command"`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommandEvent {
    /// Session number.
    pub session: usize,
    /// Frame that completed the command line.
    pub frame: u64,
    /// Seconds since the Unix epoch.
    pub time: f64,
    /// The verb, upper-case (`RETR`).
    pub command: String,
    /// The argument as sent, or null.
    pub arg: Option<String>,
    /// Read from a TLS control connection with the key log (`--keylog`); present only then.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub decrypted_with_keylog: bool,
}

/// A reply (`"kind":"reply"`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplyEvent {
    /// Session number.
    pub session: usize,
    /// Frame that completed the reply (its last line).
    pub frame: u64,
    /// Seconds since the Unix epoch.
    pub time: f64,
    /// The reply code.
    pub code: u16,
    /// The text, lines joined with `\n`.
    pub text: String,
    /// What RFC 959 says the code means, if it is a listed one.
    pub meaning: Option<&'static str>,
    /// Read from a TLS control connection with the key log (`--keylog`); present only then.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub decrypted_with_keylog: bool,
}

/// A login attempt (`"kind":"credential"`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CredentialEvent {
    /// Session number.
    pub session: usize,
    /// The FTP client, `ip:port`.
    pub client: String,
    /// The FTP server, `ip:port`.
    pub server: String,
    /// The user name sent with USER.
    pub user: String,
    /// The password sent with PASS (null when none was sent).
    pub password: Option<String>,
    /// true after 230, false after 530 (or another 4xx/5xx), null when no reply was seen.
    pub accepted: Option<bool>,
    /// The frame of PASS (of USER when there was no PASS).
    pub frame: u64,
    /// Frames of USER, PASS and the reply, as far as seen.
    pub frames: Vec<u64>,
    /// A Wireshark display filter showing those frames.
    pub filter: String,
    /// Read from a TLS control connection with the key log (`--keylog`); present only then.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub decrypted_with_keylog: bool,
}

/// The control connection switched to TLS (`"kind":"tls"`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TlsEvent {
    /// Session number.
    pub session: usize,
    /// Frame of the 234 reply.
    pub frame: u64,
    /// The mechanism named by AUTH (`TLS`, `SSL`).
    pub mechanism: String,
}

/// A data connection's content (`"kind":"transfer"`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TransferEvent {
    /// Session number, null for a data connection whose control connection is not captured.
    pub session: Option<usize>,
    /// Frame of the command it serves (of the first data frame when there is none).
    pub frame: u64,
    /// RETR, STOR, STOU, APPE, LIST, NLST, MLSD; null when unknown.
    pub command: Option<String>,
    /// File name as the client gave it (or the server announced for STOU); null when unknown.
    pub name: Option<String>,
    /// `download` (server to client), `upload`, or `listing`.
    pub direction: &'static str,
    /// true when the type was guessed from the bytes (no control connection in the capture).
    pub guessed: bool,
    /// Bytes of content captured (gaps excluded).
    pub bytes: u64,
    /// sha256 of the content, hex; null when bytes are missing in the middle.
    pub sha256: Option<String>,
    /// Whether the whole file is in the capture and the server said so.
    pub complete: bool,
    /// Why it is not complete, null when it is.
    pub incomplete_reason: Option<String>,
    /// Size the server announced (SIZE reply or `(N bytes)` in 150), if any.
    pub expected_bytes: Option<u64>,
    /// Offset given with REST before it, if any.
    pub rest: Option<u64>,
    /// Missing byte ranges `[offset, length]` inside the content.
    pub gaps: Vec<[u64; 2]>,
    /// `passive` or `active`; null when unknown.
    pub mode: Option<&'static str>,
    /// First and last frame that carried content.
    pub data_frames: Option<[u64; 2]>,
    /// The final reply code (226, 426…), null if none was seen.
    pub reply: Option<u16>,
    /// Where `--extract` wrote it, relative to the extract folder.
    pub extracted: Option<String>,
    /// The server refused the command (a 4xx/5xx reply, no byte sent): there is no file, so
    /// `bytes` is 0 and `sha256` null.
    pub refused: bool,
    /// Frames of data segments whose bytes differ from an earlier copy of the same bytes (the
    /// first copy is in the file and in `sha256`; the receiver may have kept another). Not
    /// empty makes `complete` false.
    pub conflicting_frames: Vec<u64>,
    /// The data connection of a TLS session: whether it was encrypted, how it was tied to
    /// its session, encrypted sizes; present only for TLS sessions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<crate::tls::TransferTls>,
}

/// A file put together from a download and its REST-resumed continuation(s)
/// (`"kind":"stitched"`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StitchedEvent {
    /// Frame of the last part's command.
    pub frame: u64,
    /// The file name.
    pub name: String,
    /// The server, `ip:port`.
    pub server: String,
    /// Frames of the transfer commands of each part, in order.
    pub parts: Vec<u64>,
    /// File size, when the server announced it.
    pub size: Option<u64>,
    /// Byte ranges `[offset, length]` present in the capture.
    pub present: Vec<[u64; 2]>,
    /// Byte ranges `[offset, length]` still missing (up to `size` when known).
    pub missing: Vec<[u64; 2]>,
    /// No byte is missing and no part's segments contradicted each other.
    pub complete: bool,
    /// sha256 of the stitched file (only with `--extract` and when no byte is missing).
    pub sha256: Option<String>,
    /// Where `--extract` wrote it.
    pub extracted: Option<String>,
    /// The parts' `conflicting_frames` together: segments that contradicted an earlier copy.
    pub conflicting_frames: Vec<u64>,
}

/// A security finding (`"kind":"finding"`), Wireshark Expert-Info style.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingEvent {
    /// Stable identifier (`cleartext-credentials`…).
    pub id: &'static str,
    /// `info`, `low`, `medium` or `high`.
    pub severity: &'static str,
    /// What was seen, in one sentence.
    pub message: String,
    /// The frame that shows it.
    pub frame: u64,
    /// Session number, if it belongs to one.
    pub session: Option<usize>,
    /// Every frame it names (for `brute-force`, each failed login; otherwise `[frame]`).
    pub frames: Vec<u64>,
    /// A Wireshark display filter showing exactly `frames`.
    pub filter: String,
    /// Why it matters.
    pub why: &'static str,
    /// What fixes it.
    pub fix: &'static str,
    /// The standard or advisory to read.
    pub reference: &'static str,
}

/// Something skipped (`"kind":"warning"`). The same warning met again (a link type in every
/// frame, one over-long line over many segments) is one event with a count.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WarningEvent {
    /// The frame concerned, the first one when `count` > 1 (0 when the whole file is concerned).
    pub frame: u64,
    /// What happened and where.
    pub message: String,
    /// How many times it happened.
    pub count: u64,
    /// The last frame concerned (`frame` when `count` is 1).
    pub last_frame: u64,
}

impl WarningEvent {
    /// A warning that happened once, at `frame`.
    pub fn new(frame: u64, message: String) -> WarningEvent {
        WarningEvent {
            frame,
            message,
            count: 1,
            last_frame: frame,
        }
    }
}
