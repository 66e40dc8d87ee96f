//! `inspector read`: its arguments, and reading each capture file into a report.

use crate::exit_code::{EXIT_ERROR, EXIT_OK, EXIT_SKIPPED};
use crate::extract;
use crate::report::{json, table};
use crate::{Options, analyze_file_streaming, analyze_file_with};
use std::io::Write;
use std::path::PathBuf;

/// Arguments of `inspector read`.
#[derive(Debug, Clone, clap::Args)]
pub struct ReadArgs {
    /// Capture files (.pcap or .pcapng, possibly gzip-compressed).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Also treat this TCP port as an FTP control port (21 always is); repeatable.
    #[arg(long = "port", value_name = "PORT")]
    pub ports: Vec<u16>,
    /// JSON lines on stdout, one object per event (schema: inspector/JSON.md).
    #[arg(long)]
    pub json: bool,
    /// Write every transferred file into DIR (names made safe; nothing escapes DIR).
    #[arg(long, value_name = "DIR")]
    pub extract: Option<PathBuf>,
    /// No colours even on a terminal (NO_COLOR is respected too).
    #[arg(long)]
    pub no_color: bool,
    /// Out-of-order bytes kept per direction of a TCP connection before a hole is a gap.
    #[arg(long, value_name = "BYTES", default_value_t = 4 << 20)]
    pub stream_cap: usize,
    /// Decrypt FTPS (TLS 1.2 and 1.3) with this key log (NSS format, as SSLKEYLOGFILE writes).
    #[arg(long, value_name = "FILE")]
    pub keylog: Option<PathBuf>,
    /// Keep every event and write them sorted by frame, grouped by table (the order before
    /// streaming). Memory then grows with the capture (about 20 KiB per session with tables,
    /// 5 KiB with --json); without it each session is written when it is over.
    #[arg(long)]
    pub sort: bool,
    /// Draw each session as a ladder (sequence) diagram instead of the tables: `--flow` for the
    /// terminal, `--flow=mermaid` for a Mermaid sequenceDiagram.
    #[arg(long, value_enum, value_name = "FORMAT", num_args = 0..=1, require_equals = true,
          default_missing_value = "text")]
    pub flow: Option<FlowFormat>,
    /// Draw `--flow` in plain ASCII (by default it follows the locale: LC_ALL, LC_CTYPE, LANG).
    #[arg(long)]
    pub ascii: bool,
    /// Also write a self-contained HTML report of the capture to FILE (one capture only).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// What `--flow` draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FlowFormat {
    /// A ladder diagram for the terminal.
    Text,
    /// A Mermaid sequenceDiagram (for Markdown reports).
    Mermaid,
}

/// Runs `inspector read`; returns the exit code.
pub fn read(args: &ReadArgs, color: bool, out: &mut impl Write, err: &mut impl Write) -> u8 {
    let mut code = EXIT_OK;
    let keylog = match args.keylog.as_deref().map(crate::tls::KeyLog::load) {
        Some(Ok(log)) => Some(std::sync::Arc::new(log)),
        Some(Err(e)) => {
            let _ = writeln!(err, "inspector: {e}");
            return EXIT_ERROR;
        }
        None => None,
    };
    let options = Options {
        ports: args.ports.clone(),
        stream_cap: args.stream_cap,
        keylog,
    };
    let several = args.files.len() > 1;
    if several && args.html.is_some() {
        let _ = writeln!(
            err,
            "inspector: --html writes the report of one capture: give one file"
        );
        return EXIT_ERROR;
    }
    for file in &args.files {
        // A sink per capture: its names are made unique against the folder as it is then.
        let extract = match extract::sink_for(args.extract.as_deref()) {
            Ok(extract) => extract,
            Err(message) => {
                let _ = writeln!(err, "{message}");
                return EXIT_ERROR;
            }
        };
        let name = file.display().to_string();
        let style = table::Style {
            color,
            group_findings: false,
        };
        let outcome = if args.flow.is_some() || args.html.is_some() {
            crate::pictures::run(args, file, &options, extract, style, out, err)
        } else if args.sort {
            sorted(args, file, &options, extract, several, style, out, err)
        } else if args.json {
            let mut report = match json::Lines::new(out, several.then_some(name.as_str())) {
                Ok(r) => r,
                Err(e) => {
                    let _ = writeln!(err, "inspector: cannot write the report: {e}");
                    return EXIT_ERROR;
                }
            };
            streamed(file, &options, extract, &mut report, err)
        } else {
            let mut report = table::Streaming::new(out, style);
            streamed(file, &options, extract, &mut report, err)
        };
        match outcome {
            Outcome::Read { skipped } => {
                if skipped && code == EXIT_OK {
                    code = EXIT_SKIPPED;
                }
            }
            Outcome::Unreadable => code = EXIT_ERROR,
            Outcome::WriteFailed => return EXIT_ERROR,
        }
    }
    let _ = out.flush();
    code
}

/// How reading one capture went.
pub(crate) enum Outcome {
    /// Read; `skipped` when something was skipped (a warning).
    Read { skipped: bool },
    /// The file could not be read at all (said on stderr).
    Unreadable,
    /// The report could not be written (said on stderr): stop.
    WriteFailed,
}

/// Reads `file` and writes each session as it is over (the default).
fn streamed(
    file: &std::path::Path,
    options: &Options,
    extract: Option<Box<dyn crate::extract::ExtractSink>>,
    report: &mut dyn crate::stream::Report,
    err: &mut impl Write,
) -> Outcome {
    let summary = match analyze_file_streaming(file, options, extract, report) {
        Ok(Ok(summary)) => summary,
        Ok(Err(e)) => {
            let _ = writeln!(err, "inspector: cannot write the report: {e}");
            return Outcome::WriteFailed;
        }
        Err(e) => {
            let _ = writeln!(err, "inspector: {e}");
            return Outcome::Unreadable;
        }
    };
    for w in &summary.warnings {
        let _ = writeln!(err, "inspector: warning: {}", w.message);
    }
    let more = summary.warnings_total - summary.warnings.len() as u64;
    if more > 0 {
        let _ = writeln!(
            err,
            "inspector: warning: … and {more} more warning(s), all in the report"
        );
    }
    Outcome::Read {
        skipped: summary.something_skipped(),
    }
}

/// Reads `file` keeping every event, then writes them sorted by frame (`--sort`).
#[allow(
    clippy::too_many_arguments,
    reason = "one call site, every argument needed"
)]
fn sorted(
    args: &ReadArgs,
    file: &std::path::Path,
    options: &Options,
    extract: Option<Box<dyn crate::extract::ExtractSink>>,
    several: bool,
    style: table::Style,
    out: &mut impl Write,
    err: &mut impl Write,
) -> Outcome {
    let analysis = match analyze_file_with(file, options, extract) {
        Ok(a) => a,
        Err(e) => {
            let _ = writeln!(err, "inspector: {e}");
            return Outcome::Unreadable;
        }
    };
    let written = if args.json {
        let name = file.display().to_string();
        json::write(out, &analysis, several.then_some(name.as_str()))
    } else {
        table::write(out, &analysis, style)
    };
    if let Err(e) = written {
        let _ = writeln!(err, "inspector: cannot write the report: {e}");
        return Outcome::WriteFailed;
    }
    for e in &analysis.events {
        if let crate::event::Event::Warning(w) = e {
            let _ = writeln!(err, "inspector: warning: {}", w.message);
        }
    }
    Outcome::Read {
        skipped: analysis.something_skipped(),
    }
}
