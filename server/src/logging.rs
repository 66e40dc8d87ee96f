//! Logging off the session's task: events are copied as typed fields and formatted on one writer thread.
//!
//! A session logs about ten lines (connected, one per command, login ok, the transfer, session
//! closed). Formatting them where they happen (timestamp, padding, the `fmt` machinery) and
//! writing each with its own write(2) cost a third of a session's CPU. Here the session's thread
//! only copies what it must: the time, the level, `&'static` names and numbers as they are, and
//! the text of `%value`/`?value` fields appended to one reused buffer. One writer thread turns
//! records into the same lines `tracing-subscriber`'s `fmt` layer wrote (text, or JSON with
//! `--log-format json`) and writes whatever has gathered with one write(2) per batch.
//!
//! Nothing is dropped: a full queue makes the logging thread wait (like `lossy(false)` before),
//! and [`LogGuard`] flushes every queued line when `main` ends.

use std::fmt::{self, Write as _};
use std::io::Write;
use std::net::SocketAddr;
use std::ops::Range;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, Sender};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// Records queued before a logging thread has to wait for the writer.
const QUEUE: usize = 16 * 1024;
/// After a batch the writer lets records gather this long, so a busy server wakes it a few
/// hundred times a second instead of once per line.
const BATCH_PAUSE: Duration = Duration::from_millis(5);
/// A batch is written once its text is this long, even if more records wait.
const BATCH_BYTES: usize = 64 * 1024;
/// Records whose buffers grew beyond this are freed instead of reused.
const REUSE_LIMIT: usize = 4 * 1024;
/// How long dropping the guard waits for the writer to finish the queue.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// A client's address as its log lines show it (`peer=127.0.0.1:40966`), formatted once per
/// session: `Display` of a `SocketAddr` for every line was two thirds of the instructions
/// logging cost the session's thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerName(Arc<str>);

impl PeerName {
    /// The text of `addr`, as `Display` writes it.
    pub fn new(addr: SocketAddr) -> PeerName {
        PeerName(addr.to_string().into())
    }
}

impl fmt::Display for PeerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `2026-11-29T22:00:32.249849Z  INFO target: message name=value …`, with ANSI colours
    /// when `colour` is set.
    Text {
        /// Colour the level, dim the target (for a terminal).
        colour: bool,
    },
    /// One JSON object per line: `timestamp`, `level`, `fields` (with `message`), `target`.
    Json,
}

/// The [`Layer`] that queues events for the writer thread; made by [`channel_layer`].
pub struct ChannelLayer {
    queue: Sender<Message>,
    /// Records the writer is done with, for reuse without allocating.
    spare: Receiver<Record>,
}

/// Flushes and stops the writer thread when dropped (at the end of `main`).
#[must_use = "dropping the guard stops the log writer"]
pub struct LogGuard {
    queue: Sender<Message>,
    done: Receiver<()>,
}

/// Installs `filter` and the channel layer as the global subscriber, writing to stderr.
///
/// # Panics
/// If a global subscriber is set already (it is set once, in `main`).
pub fn init(filter: tracing_subscriber::EnvFilter, format: Format) -> LogGuard {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let (layer, guard) = channel_layer(format, std::io::stderr());
    tracing_subscriber::registry()
        .with(filter)
        .with(layer)
        .init();
    guard
}

/// A layer that sends events to a new writer thread, which formats them and writes to `out`.
pub fn channel_layer<W: Write + Send + 'static>(
    format: Format,
    out: W,
) -> (ChannelLayer, LogGuard) {
    let (queue, records) = crossbeam_channel::bounded(QUEUE);
    let (give_back, spare) = crossbeam_channel::bounded(QUEUE);
    let (done_tx, done) = crossbeam_channel::bounded(1);
    let writer = Writer {
        format,
        out,
        text: String::with_capacity(BATCH_BYTES + REUSE_LIMIT),
        stamps: Stamps::default(),
    };
    thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || {
            writer.run(&records, &give_back);
            let _ = done_tx.send(());
        })
        .expect("spawning the log writer thread at startup");
    let guard = LogGuard {
        queue: queue.clone(),
        done,
    };
    (ChannelLayer { queue, spare }, guard)
}

impl<S: Subscriber> Layer<S> for ChannelLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut record = self.spare.try_recv().unwrap_or_default();
        let metadata = event.metadata();
        record.time = SystemTime::now();
        record.level = *metadata.level();
        record.target = Target::Static(metadata.target());
        event.record(&mut record);
        // Err only once the writer has stopped (after the guard is gone): nowhere to write.
        let _ = self.queue.send(Message::Record(record));
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        if self
            .queue
            .send_timeout(Message::Stop, FLUSH_TIMEOUT)
            .is_ok()
        {
            let _ = self.done.recv_timeout(FLUSH_TIMEOUT);
        }
    }
}

enum Message {
    Record(Record),
    Stop,
}

/// One event, owned: what the writer needs to format it later.
struct Record {
    time: SystemTime,
    level: Level,
    target: Target,
    /// The text of every field that is not a number or a bool, back to back.
    text: String,
    fields: Vec<(&'static str, Value)>,
}

impl Default for Record {
    fn default() -> Record {
        Record {
            time: UNIX_EPOCH,
            level: Level::INFO,
            target: Target::Static(""),
            text: String::new(),
            fields: Vec::with_capacity(8),
        }
    }
}

enum Target {
    Static(&'static str),
    /// From the `log` crate: the record's `log.target`, in `Record::text`.
    Text(Range<usize>),
}

enum Value {
    U64(u64),
    I64(i64),
    Bool(bool),
    F64(f64),
    /// A `&str` field: quoted in text lines, as `fmt` does.
    Str(Range<usize>),
    /// Formatted with `Display` (`%`) or `Debug` (`?`), and the message.
    Text(Range<usize>),
}

impl Record {
    fn push(&mut self, field: &Field, value: Value) {
        let name = field.name();
        if let Some(log_field) = name.strip_prefix("log.") {
            // Events bridged from the `log` crate carry their metadata as fields.
            if let ("target", Value::Str(range) | Value::Text(range)) = (log_field, value) {
                self.target = Target::Text(range);
            }
            return;
        }
        self.fields.push((name, value));
    }

    fn clear(&mut self) {
        self.text.clear();
        self.fields.clear();
    }
}

impl Visit for Record {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let start = self.text.len();
        let _ = write!(self.text, "{value:?}");
        let range = start..self.text.len();
        self.push(field, Value::Text(range));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        let start = self.text.len();
        self.text.push_str(value);
        let range = start..self.text.len();
        let value = if field.name() == "message" {
            Value::Text(range)
        } else {
            Value::Str(range)
        };
        self.push(field, value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.push(field, Value::U64(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, Value::I64(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, Value::Bool(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field, Value::F64(value));
    }
}

/// The writer thread's state.
struct Writer<W> {
    format: Format,
    out: W,
    text: String,
    stamps: Stamps,
}

impl<W: Write> Writer<W> {
    fn run(mut self, records: &Receiver<Message>, give_back: &Sender<Record>) {
        // Blocks until something comes, formats all that waits, writes once, pauses.
        while let Ok(first) = records.recv() {
            let mut next = Some(first);
            let mut stop = false;
            while let Some(message) = next.take() {
                match message {
                    Message::Record(mut record) => {
                        self.format(&record);
                        if record.text.capacity() <= REUSE_LIMIT && record.fields.capacity() <= 64 {
                            record.clear();
                            let _ = give_back.try_send(record);
                        }
                    }
                    Message::Stop => stop = true,
                }
                if self.text.len() >= BATCH_BYTES {
                    self.flush();
                }
                if !stop {
                    next = records.try_recv().ok();
                }
            }
            self.flush();
            if stop {
                return;
            }
            thread::sleep(BATCH_PAUSE);
        }
    }

    fn flush(&mut self) {
        if !self.text.is_empty() {
            // A log that cannot be written has nowhere to report it; the server goes on.
            let _ = self.out.write_all(self.text.as_bytes());
            let _ = self.out.flush();
            self.text.clear();
        }
    }

    fn format(&mut self, record: &Record) {
        match self.format {
            Format::Text { colour } => {
                format_text(&mut self.text, &mut self.stamps, record, colour)
            }
            Format::Json => format_json(&mut self.text, &mut self.stamps, record),
        }
    }
}

fn target_of(record: &Record) -> &str {
    match &record.target {
        Target::Static(target) => target,
        Target::Text(range) => record.text.get(range.clone()).unwrap_or(""),
    }
}

fn text_of<'a>(record: &'a Record, range: &Range<usize>) -> &'a str {
    record.text.get(range.clone()).unwrap_or("")
}

const DIM: &str = "\x1b[2m";
const ITALIC: &str = "\x1b[3m";
const RESET: &str = "\x1b[0m";

/// One line as `tracing-subscriber`'s default (`Full`) format writes it, except that control
/// characters in every value are escaped, not only in the message: a client's command line must
/// not reach an operator's terminal as escape sequences.
fn format_text(out: &mut String, stamps: &mut Stamps, record: &Record, colour: bool) {
    let (level, level_colour) = match record.level {
        Level::TRACE => ("TRACE", "\x1b[35m"),
        Level::DEBUG => ("DEBUG", "\x1b[34m"),
        Level::INFO => (" INFO", "\x1b[32m"),
        Level::WARN => (" WARN", "\x1b[33m"),
        Level::ERROR => ("ERROR", "\x1b[31m"),
    };
    if colour {
        out.push_str(DIM);
        stamps.push(out, record.time);
        out.push_str(RESET);
        out.push(' ');
        out.push_str(level_colour);
        out.push_str(level);
        out.push_str(RESET);
        out.push(' ');
        out.push_str(DIM);
        out.push_str(target_of(record));
        out.push(':');
        out.push_str(RESET);
    } else {
        stamps.push(out, record.time);
        out.push(' ');
        out.push_str(level);
        out.push(' ');
        out.push_str(target_of(record));
        out.push(':');
    }
    for (name, value) in &record.fields {
        out.push(' ');
        if *name != "message" {
            let name = name.strip_prefix("r#").unwrap_or(name);
            if colour {
                out.push_str(ITALIC);
                out.push_str(name);
                out.push_str(RESET);
                out.push_str(DIM);
                out.push('=');
                out.push_str(RESET);
            } else {
                out.push_str(name);
                out.push('=');
            }
        }
        match value {
            Value::U64(n) => push_u64(out, *n),
            Value::I64(n) => {
                let _ = write!(out, "{n}");
            }
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::F64(x) => {
                let _ = write!(out, "{x:?}");
            }
            Value::Str(range) => {
                let _ = write!(out, "{:?}", text_of(record, range));
            }
            Value::Text(range) => push_escaped(out, text_of(record, range)),
        }
    }
    out.push('\n');
}

/// Copies `text`, writing control characters (C0, DEL, C1) as `\xNN` / `\u{NN}`.
fn push_escaped(out: &mut String, text: &str) {
    if text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        out.push_str(text);
        return;
    }
    for c in text.chars() {
        match c as u32 {
            0..=0x1f | 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            0x80..=0x9f => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            _ => out.push(c),
        }
    }
}

/// One JSON object as `tracing-subscriber`'s `json()` format writes it (no spans: the server
/// has none).
fn format_json(out: &mut String, stamps: &mut Stamps, record: &Record) {
    out.push_str("{\"timestamp\":\"");
    stamps.push(out, record.time);
    out.push_str("\",\"level\":\"");
    out.push_str(record.level.as_str());
    out.push_str("\",\"fields\":{");
    for (i, (name, value)) in record.fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_string(out, name.strip_prefix("r#").unwrap_or(name));
        out.push(':');
        match value {
            Value::U64(n) => push_u64(out, *n),
            Value::I64(n) => {
                let _ = write!(out, "{n}");
            }
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::F64(x) if x.is_finite() => {
                let _ = write!(out, "{x:?}");
            }
            Value::F64(_) => out.push_str("null"),
            Value::Str(range) | Value::Text(range) => {
                push_json_string(out, text_of(record, range));
            }
        }
    }
    out.push_str("},\"target\":");
    push_json_string(out, target_of(record));
    out.push_str("}\n");
}

/// A JSON string literal (RFC 8259 §7); DEL and C1 are escaped too, for terminals.
fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || (0x7f..=0x9f).contains(&(c as u32)) => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC, microseconds), as `fmt`'s default timer.
#[cfg(test)]
fn push_timestamp(out: &mut String, time: SystemTime) {
    Stamps::default().push(out, time);
}

/// Timestamps as `fmt`'s default timer writes them: `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC,
/// microseconds). The lines of one second share the text up to the dot, so it is worked out
/// once per second; digits are written by hand (through `write!` with padding this was the
/// writer's most costly step).
#[derive(Default)]
struct Stamps {
    /// The second `prefix` is for.
    second: Option<u64>,
    /// `YYYY-MM-DDTHH:MM:SS.`
    prefix: String,
}

impl Stamps {
    fn push(&mut self, out: &mut String, time: SystemTime) {
        let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
        let secs = since.as_secs();
        if self.second != Some(secs) {
            self.prefix.clear();
            push_second(&mut self.prefix, secs);
            self.second = Some(secs);
        }
        out.push_str(&self.prefix);
        push_digits(out, u64::from(since.subsec_micros()), 6);
        out.push('Z');
    }
}

/// `YYYY-MM-DDTHH:MM:SS.` of a second counted from the epoch (the calendar is ftp-proto's
/// MDTM time-val; worked out once per second, so its cost does not matter).
fn push_second(out: &mut String, secs: u64) {
    let t = ftp_proto::TimeVal::from_system_time(UNIX_EPOCH + Duration::from_secs(secs));
    push_digits(out, u64::from(t.year), 4);
    out.push('-');
    push_digits(out, u64::from(t.month), 2);
    out.push('-');
    push_digits(out, u64::from(t.day), 2);
    out.push('T');
    push_digits(out, u64::from(t.hour), 2);
    out.push(':');
    push_digits(out, u64::from(t.minute), 2);
    out.push(':');
    push_digits(out, u64::from(t.second), 2);
    out.push('.');
}

/// The last `width` decimal digits of `n`, zero-padded.
fn push_digits(out: &mut String, mut n: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let width = width.min(digits.len());
    for slot in digits[..width].iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
    // ASCII digits only, so the conversion cannot fail.
    out.push_str(std::str::from_utf8(&digits[..width]).unwrap_or(""));
}

/// `n` in decimal.
fn push_u64(out: &mut String, n: u64) {
    let width = n.checked_ilog10().map_or(1, |log| log as usize + 1);
    push_digits(out, n, width);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::layer::SubscriberExt;

    /// A writer the test can read after the guard has flushed it.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn capture(format: Format, log: impl FnOnce()) -> String {
        let out = Shared::default();
        let (layer, guard) = channel_layer(format, out.clone());
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), log);
        drop(guard);
        String::from_utf8(out.0.lock().unwrap().clone()).unwrap()
    }

    fn sample() {
        let peer: std::net::SocketAddr = "127.0.0.1:40966".parse().unwrap();
        let name = "user1";
        tracing::info!(session = 1u64, peer = %peer, command = %"USER user1", "command");
        tracing::warn!(
            session = 1u64,
            user = name,
            tls = false,
            delta = -3i64,
            "login failed"
        );
    }

    #[test]
    fn text_lines_look_like_the_fmt_layers() {
        let text = capture(Format::Text { colour: false }, sample);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        // 2026-11-29T22:00:32.249849Z: 27 characters.
        assert_eq!(lines[0].as_bytes()[10], b'T', "{text}");
        assert!(lines[0][..27].ends_with('Z'), "{text}");
        assert_eq!(
            &lines[0][27..],
            "  INFO logging::tests: command session=1 peer=127.0.0.1:40966 command=USER user1"
                .replace("logging::tests", module_path!())
        );
        assert_eq!(
            &lines[1][27..],
            "  WARN logging::tests: login failed session=1 user=\"user1\" tls=false delta=-3"
                .replace("logging::tests", module_path!())
        );
    }

    #[test]
    fn json_lines_parse_with_the_fields_typed() {
        let text = capture(Format::Json, sample);
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0]["level"], "INFO");
        assert_eq!(lines[0]["target"], module_path!());
        assert_eq!(lines[0]["fields"]["message"], "command");
        assert_eq!(lines[0]["fields"]["session"], 1);
        assert_eq!(lines[0]["fields"]["peer"], "127.0.0.1:40966");
        assert_eq!(lines[1]["fields"]["tls"], false);
        assert_eq!(lines[1]["fields"]["delta"], -3);
        assert!(lines[0]["timestamp"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn control_characters_from_clients_are_escaped() {
        let text = capture(Format::Text { colour: false }, || {
            tracing::info!(command = %"USER \x1b[2J\u{9b}x", "command");
        });
        assert!(text.contains(r"command=USER \x1b[2J\u{9b}x"), "{text}");
        assert!(!text.contains('\x1b'), "{text}");
        let json = capture(Format::Json, || {
            tracing::info!(command = %"a\"b\\c\x07", "command");
        });
        let value: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
        assert_eq!(value["fields"]["command"], "a\"b\\c\x07");
    }

    #[test]
    fn thousands_of_lines_arrive_complete_and_in_order() {
        let text = capture(Format::Text { colour: false }, || {
            for i in 0..20_000u64 {
                tracing::info!(n = i, "line");
            }
        });
        let numbers: Vec<u64> = text
            .lines()
            .map(|l| l.rsplit_once("n=").unwrap().1.parse().unwrap())
            .collect();
        assert_eq!(numbers, (0..20_000).collect::<Vec<_>>());
    }

    #[test]
    fn dates_match_known_days() {
        for (day, date) in [
            (0, "1970-01-01T00:00:00."),
            (11_016, "2000-02-29T00:00:00."),
            (20_786, "2026-11-29T00:00:00."),
        ] {
            let mut out = String::new();
            push_second(&mut out, day * 86_400);
            assert_eq!(out, date);
        }
        let mut out = String::new();
        push_timestamp(
            &mut out,
            UNIX_EPOCH + Duration::from_micros(1_795_990_432_249_849),
        );
        assert_eq!(out, "2026-11-29T22:13:52.249849Z");
        for n in [0, 7, 10, 99, 1_000_000, u64::MAX] {
            let mut out = String::new();
            push_u64(&mut out, n);
            assert_eq!(out, n.to_string());
        }
    }
}
