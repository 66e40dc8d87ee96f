//! `inspector read`: its arguments, and reading each capture file into a report.

use crate::exit_code::{EXIT_ERROR, EXIT_OK, EXIT_SKIPPED};
use crate::extract;
use crate::report::{json, table};
use crate::{Options, analyze_file_with};
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
    for file in &args.files {
        // A sink per capture: its names are made unique against the folder as it is then.
        let extract = match extract::sink_for(args.extract.as_deref()) {
            Ok(extract) => extract,
            Err(message) => {
                let _ = writeln!(err, "{message}");
                return EXIT_ERROR;
            }
        };
        let analysis = match analyze_file_with(file, &options, extract) {
            Ok(a) => a,
            Err(e) => {
                let _ = writeln!(err, "inspector: {e}");
                code = EXIT_ERROR;
                continue;
            }
        };
        let written = if args.json {
            let name = file.display().to_string();
            json::write(out, &analysis, several.then_some(name.as_str()))
        } else {
            table::write(
                out,
                &analysis,
                table::Style {
                    color,
                    group_findings: false,
                },
            )
        };
        if let Err(e) = written {
            let _ = writeln!(err, "inspector: cannot write the report: {e}");
            return EXIT_ERROR;
        }
        for e in &analysis.events {
            if let crate::event::Event::Warning(w) = e {
                let _ = writeln!(err, "inspector: warning: {}", w.message);
            }
        }
        if analysis.something_skipped() && code == EXIT_OK {
            code = EXIT_SKIPPED;
        }
    }
    let _ = out.flush();
    code
}
