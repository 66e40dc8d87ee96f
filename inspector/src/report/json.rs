//! `--json`: one JSON object per line per event, in frame order (schema in `inspector/JSON.md`).
//! Fields come in declaration order, `kind` first.

use crate::Analysis;
use crate::event::Event;
use crate::stream::{BlockInfo, Report, Summary};
use std::io::{self, Write};

/// Writes one event as one line (a live capture streams them).
pub fn write_event(out: &mut impl Write, event: &Event) -> io::Result<()> {
    let mut line = serde_json::to_vec(event).map_err(io::Error::other)?;
    line.push(b'\n');
    out.write_all(&line)
}

/// Writes the events of `analysis`; with `file` set, each object also names the capture.
pub fn write(out: &mut impl Write, analysis: &Analysis, file: Option<&str>) -> io::Result<()> {
    let mut lines = Lines::new(out, file)?;
    for event in &analysis.events {
        lines.event(event)?;
    }
    Ok(())
}

/// JSON lines, each naming the capture when asked to.
pub struct Lines<'w, W: Write> {
    out: &'w mut W,
    /// The capture's name as a JSON string, when each object names it.
    file: Option<String>,
    line: Vec<u8>,
}

impl<'w, W: Write> Lines<'w, W> {
    /// Lines to `out`; with `file` set, each object also names the capture.
    pub fn new(out: &'w mut W, file: Option<&str>) -> io::Result<Self> {
        let file = match file {
            Some(f) => Some(serde_json::to_string(f).map_err(io::Error::other)?),
            None => None,
        };
        Ok(Lines {
            out,
            file,
            line: Vec::with_capacity(512),
        })
    }

    /// Writes one event as one line.
    pub fn event(&mut self, event: &Event) -> io::Result<()> {
        let line = &mut self.line;
        line.clear();
        serde_json::to_writer(&mut *line, event).map_err(io::Error::other)?;
        if let Some(f) = &self.file
            && line.last() == Some(&b'}')
        {
            line.pop();
            line.extend_from_slice(b",\"file\":");
            line.extend_from_slice(f.as_bytes());
            line.push(b'}');
        }
        line.push(b'\n');
        self.out.write_all(line)
    }
}

/// The streaming reader writes each block's events as lines; the summary adds nothing (every
/// event, findings included, is a line already).
impl<W: Write> Report for Lines<'_, W> {
    fn block(&mut self, _info: &BlockInfo<'_>, events: &[Event]) -> io::Result<()> {
        for event in events {
            self.event(event)?;
        }
        Ok(())
    }

    fn summary(&mut self, _summary: &Summary) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::WarningEvent;

    #[test]
    fn kind_comes_first_and_file_last() {
        let analysis = Analysis {
            events: vec![Event::Warning(WarningEvent::new(3, "m".into()))],
            ..Analysis::default()
        };
        let mut out = Vec::new();
        write(&mut out, &analysis, Some("a \"b\".pcap")).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"kind\":\"warning\",\"frame\":3,\"message\":\"m\",\"count\":1,\"last_frame\":3,\"file\":\"a \\\"b\\\".pcap\"}\n"
        );
    }
}
