//! `inspector read --flow` and `--html`: the capture read whole, each session turned into a
//! [`crate::ladder`] model, drawn for the terminal, as Mermaid, or into an HTML report.

use crate::extract::ExtractSink;
use crate::ladder::{self, connections};
use crate::read::{FlowFormat, Outcome, ReadArgs};
use crate::report::{html, json, ladder_text, mermaid, table};
use crate::{Options, analyze_file_with, source};
use std::io::Write;
use std::path::Path;

/// Reads `file` whole and writes its ladders (`--flow`) and/or its HTML report (`--html`).
pub(crate) fn run(
    args: &ReadArgs,
    file: &Path,
    options: &Options,
    extract: Option<Box<dyn ExtractSink>>,
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
    // The first pass read the file: a second one fails only if it changed meanwhile, and then
    // the diagram lacks the data connections' SYN/FIN rather than the report failing.
    let conns = match source::open_file(file) {
        Ok(mut s) => connections::collect(s.as_mut()),
        Err(_) => Vec::new(),
    };
    let ladders = ladder::build(&analysis.events, &conns, analysis.first_time);
    let name = file.display().to_string();
    let written = match args.flow {
        Some(FlowFormat::Text) => {
            let ascii = args.ascii || !ladder_text::locale_is_utf8(|k| std::env::var(k).ok());
            let text_style = ladder_text::TextStyle {
                color: style.color,
                ascii,
                width: 100,
            };
            ladder_text::write(out, &name, &ladders, text_style)
        }
        Some(FlowFormat::Mermaid) => mermaid::write(out, &name, &ladders),
        None if args.json => json::write(out, &analysis, None),
        None => table::write(out, &analysis, style),
    };
    if let Err(e) = written {
        let _ = writeln!(err, "inspector: cannot write the report: {e}");
        return Outcome::WriteFailed;
    }
    if let Some(path) = &args.html {
        let page = html::render(&html::Input {
            analysis: &analysis,
            ladders: &ladders,
            conns: &conns,
            extract_dir: args.extract.as_deref(),
            report_path: path,
        });
        if let Err(e) = std::fs::write(path, page) {
            let _ = writeln!(
                err,
                "inspector: cannot write the HTML report {}: {e} (is the folder there and \
                 writable?)",
                path.display()
            );
            return Outcome::WriteFailed;
        }
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
