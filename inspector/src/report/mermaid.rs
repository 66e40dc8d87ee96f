//! `--flow=mermaid`: each session's ladder as a Mermaid sequenceDiagram in a fenced Markdown
//! block, ready to paste into a report (GitHub and most Markdown viewers draw it; `mmdc` turns
//! the file into SVG).

use crate::ladder::{RowKind, SessionLadder};
use std::io::{self, Write};

/// Writes one ```` ```mermaid ```` block per session.
pub fn write(out: &mut impl Write, name: &str, ladders: &[SessionLadder]) -> io::Result<()> {
    writeln!(out, "# FTP sessions in {}", escape_markdown(name))?;
    for ladder in ladders {
        writeln!(out)?;
        writeln!(
            out,
            "## Session {}: client {} → server {}",
            ladder.session,
            escape_markdown(&ladder.client),
            escape_markdown(&ladder.server)
        )?;
        writeln!(out)?;
        writeln!(out, "```mermaid")?;
        writeln!(out, "sequenceDiagram")?;
        let ids: Vec<String> = (0..ladder.columns.len())
            .map(|i| participant_id(i, ladder.columns.len()))
            .collect();
        for (id, c) in ids.iter().zip(&ladder.columns) {
            writeln!(out, "    participant {id} as {}", escape(&c.detail))?;
        }
        for row in &ladder.rows {
            let (Some(from), Some(to)) = (ids.get(row.from), ids.get(row.to)) else {
                continue;
            };
            let star = if row.secret { "★ " } else { "" };
            let text = escape(&format!("{star}[{}] {}", row.frame, row.label));
            if row.secret {
                writeln!(out, "    rect rgb(255, 205, 205)")?;
            }
            let indent = if row.secret { "        " } else { "    " };
            if row.kind == RowKind::Note {
                writeln!(out, "{indent}Note over {from},{to}: {text}")?;
            } else {
                let arrow = match row.kind {
                    RowKind::Reply => "-->>",
                    RowKind::Open | RowKind::Close => "-)",
                    RowKind::Reset => "-x",
                    RowKind::Command | RowKind::Data | RowKind::Note => "->>",
                };
                writeln!(out, "{indent}{from}{arrow}{to}: {text}")?;
            }
            if row.secret {
                writeln!(out, "    end")?;
            }
        }
        if ladder.omitted > 0 {
            let (first, last) = (ids.first(), ids.last());
            if let (Some(first), Some(last)) = (first, last) {
                writeln!(
                    out,
                    "    Note over {first},{last}: {} more row(s) not shown",
                    ladder.omitted
                )?;
            }
        }
        writeln!(out, "```")?;
    }
    Ok(())
}

/// `C` for the client, `S` for the server, `CD1`/`SD1` for the ends of data lane 1.
fn participant_id(column: usize, columns: usize) -> String {
    if column == 0 {
        "C".to_owned()
    } else if column + 1 == columns {
        "S".to_owned()
    } else {
        let lane = (column - 1) / 2 + 1;
        if column % 2 == 1 {
            format!("CD{lane}")
        } else {
            format!("SD{lane}")
        }
    }
}

/// Text safe in a Mermaid message or alias: what Mermaid would read as syntax (`;` ends a
/// statement, `#` starts an entity, `%%` a comment, `<br>` a line break) and what would end the
/// Markdown fence (a backtick) become numeric entity codes (`#59;`), which Mermaid shows as the
/// character.
pub fn escape(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.trim().chars() {
        match c {
            '#' | ';' | '"' | '<' | '>' | '%' | '`' | '&' | '{' | '}' => {
                s.push_str(&format!("#{};", u32::from(c)));
            }
            c if c.is_control() => s.push(' '),
            c => s.push(c),
        }
    }
    s
}

/// A capture's name or address in a Markdown heading: backslash before Markdown's markup.
fn escape_markdown(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\`*_[]<>#|".contains(c) {
            s.push('\\');
        }
        s.push(if c.is_control() { ' ' } else { c });
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mermaid_syntax_in_capture_text_becomes_entities() {
        assert_eq!(
            escape("USER a;b #1 \"x\" <br> 100%"),
            "USER a#59;b #35;1 #34;x#34; #60;br#62; 100#37;"
        );
    }

    #[test]
    fn participants_are_client_lanes_server() {
        let ids: Vec<String> = (0..4).map(|i| participant_id(i, 4)).collect();
        assert_eq!(ids, ["C", "CD1", "SD1", "S"]);
    }
}
