//! `--flow`: each session's ladder diagram drawn in the terminal, frame numbers at the left,
//! labels at the right (as Wireshark's Flow Graph has its comment column), in 100 columns.

use crate::ladder::{RowKind, SessionLadder};
use std::io::{self, Write};

/// How to draw.
#[derive(Debug, Clone, Copy)]
pub struct TextStyle {
    /// ANSI colours and attributes (a credential in reverse video).
    pub color: bool,
    /// Plain ASCII: the terminal's locale is not UTF-8, or `--ascii`.
    pub ascii: bool,
    /// Columns available (100).
    pub width: usize,
}

/// True when the locale says UTF-8: the first set of LC_ALL, LC_CTYPE, LANG (POSIX order).
pub fn locale_is_utf8(var: impl Fn(&str) -> Option<String>) -> bool {
    ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|k| var(k).filter(|v| !v.is_empty()))
        .is_some_and(|v| {
            let v = v.to_ascii_lowercase();
            v.contains("utf-8") || v.contains("utf8")
        })
}

/// The characters of one drawing style.
struct Glyphs {
    life: char,
    control: char,
    data: char,
    tcp: char,
    note: char,
    right: char,
    left: char,
    reset: char,
    cross: char,
    secret: char,
}

const UTF8: Glyphs = Glyphs {
    life: '│',
    control: '─',
    data: '━',
    tcp: '┈',
    note: '┄',
    right: '▶',
    left: '◀',
    reset: '✕',
    cross: '┼',
    secret: '★',
};

const ASCII: Glyphs = Glyphs {
    life: '|',
    control: '-',
    data: '=',
    tcp: '.',
    note: '~',
    right: '>',
    left: '<',
    reset: 'x',
    cross: '+',
    secret: '!',
};

/// Frame (6), time (9) and their spaces.
const PREFIX: usize = 17;

/// Writes the ladders of one capture named `name`.
pub fn write(
    out: &mut impl Write,
    name: &str,
    ladders: &[SessionLadder],
    style: TextStyle,
) -> io::Result<()> {
    let g = if style.ascii { &ASCII } else { &UTF8 };
    let text = |s: &str| {
        if style.ascii {
            ascii_fold(s)
        } else {
            s.to_owned()
        }
    };
    writeln!(out, "{}", text(name))?;
    if ladders.is_empty() {
        writeln!(out, "no FTP session found")?;
        return Ok(());
    }
    for ladder in ladders {
        writeln!(out)?;
        let arrow = if style.ascii { "<->" } else { "⇄" };
        writeln!(
            out,
            "{}",
            fit(
                &text(&format!(
                    "Session {}: client {} {arrow} server {}",
                    ladder.session, ladder.client, ladder.server
                )),
                style.width,
                style.ascii
            )
        )?;
        let n = ladder.columns.len().max(2);
        let gap = (40 / (n - 1)).clamp(4, 10);
        let diagram = (n - 1) * gap + 1;
        let label_width = style.width.saturating_sub(PREFIX + diagram + 3).max(8);
        let mut header = format!("{:>6} {:>9} ", "frame", "time");
        let mut names = vec![' '; diagram + gap];
        for (i, c) in ladder.columns.iter().enumerate() {
            for (k, ch) in text(&c.name).chars().take(gap - 1).enumerate() {
                if let Some(slot) = names.get_mut(i * gap + k) {
                    *slot = ch;
                }
            }
        }
        header.extend(names);
        writeln!(out, "{}", header.trim_end())?;
        for row in &ladder.rows {
            let mut line: Vec<char> = (0..diagram)
                .map(|p| if p % gap == 0 { g.life } else { ' ' })
                .collect();
            let (a, b) = (row.from.min(row.to) * gap, row.from.max(row.to) * gap);
            let fill = match row.kind {
                RowKind::Command | RowKind::Reply => g.control,
                RowKind::Data => g.data,
                RowKind::Open | RowKind::Close | RowKind::Reset => g.tcp,
                RowKind::Note => g.note,
            };
            for p in a + 1..b {
                if let Some(slot) = line.get_mut(p) {
                    *slot = if *slot == g.life { g.cross } else { fill };
                }
            }
            if row.kind != RowKind::Note {
                let (at, head) = if row.to > row.from {
                    (b - 1, g.right)
                } else {
                    (a + 1, g.left)
                };
                let head = if row.kind == RowKind::Reset {
                    g.reset
                } else {
                    head
                };
                if let Some(slot) = line.get_mut(at) {
                    *slot = head;
                }
            }
            let tag = if row.secret { g.secret } else { ' ' };
            let label = fit(&text(&row.label), label_width, style.ascii);
            let label = match (style.color, row.secret, row.kind) {
                (true, true, _) => format!("\x1b[1;7;31m{label}\x1b[0m"),
                (true, false, RowKind::Reset) => format!("\x1b[31m{label}\x1b[0m"),
                (true, false, RowKind::Data) => format!("\x1b[1m{label}\x1b[0m"),
                _ => label,
            };
            let line: String = line.into_iter().collect();
            writeln!(
                out,
                "{:>6} {:>9.3} {line} {tag} {label}",
                row.frame, row.time
            )?;
        }
        if ladder.omitted > 0 {
            writeln!(
                out,
                "{}",
                text(&format!(
                    "… {} more row(s) of this session not shown",
                    ladder.omitted
                ))
            )?;
        }
    }
    writeln!(out)?;
    writeln!(
        out,
        "{}",
        fit(
            &format!(
                "{c}{c} command/reply  {d}{d} data  {t}{t} TCP SYN/FIN/RST of a data connection  \
                 {s} user name or password in clear",
                c = g.control,
                d = g.data,
                t = g.tcp,
                s = g.secret
            ),
            style.width,
            style.ascii
        )
    )
}

/// `text` cut to `width` characters, ending in `…` (`...` in ASCII) when cut.
pub fn fit(text: &str, width: usize, ascii: bool) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let ellipsis = if ascii { "..." } else { "…" };
    let keep = width.saturating_sub(ellipsis.chars().count());
    let mut s: String = text.chars().take(keep).collect();
    s.push_str(ellipsis);
    s
}

/// ASCII for a terminal without UTF-8: arrows and ellipses spelled out, anything else `?`.
pub fn ascii_fold(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '→' => s.push_str("->"),
            '…' => s.push_str("..."),
            '·' => s.push('.'),
            c if c.is_ascii() => s.push(c),
            _ => s.push('?'),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_is_decided_by_the_first_locale_variable_set() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert!(locale_is_utf8(env(&[("LANG", "en_US.UTF-8")])));
        assert!(!locale_is_utf8(env(&[
            ("LC_ALL", "C"),
            ("LANG", "en_US.UTF-8")
        ])));
        assert!(locale_is_utf8(env(&[
            ("LC_ALL", ""),
            ("LC_CTYPE", "C.utf8")
        ])));
        assert!(!locale_is_utf8(env(&[])));
    }

    #[test]
    fn a_password_is_in_reverse_video_with_colour_and_tagged_without() {
        use crate::ladder::{Column, Row, RowKind};
        let column = |name: &str| Column {
            name: name.to_owned(),
            detail: name.to_owned(),
        };
        let ladder = SessionLadder {
            session: 1,
            client: "10.0.0.2:4000".into(),
            server: "10.0.0.1:21".into(),
            columns: vec![column("client"), column("server")],
            rows: vec![Row {
                frame: 9,
                time: 0.5,
                from: 0,
                to: 1,
                label: "PASS hunter2".into(),
                kind: RowKind::Command,
                secret: true,
            }],
            omitted: 0,
        };
        let draw = |color, ascii| {
            let mut out = Vec::new();
            let style = TextStyle {
                color,
                ascii,
                width: 100,
            };
            write(&mut out, "x", std::slice::from_ref(&ladder), style).unwrap();
            String::from_utf8(out).unwrap()
        };
        assert!(draw(true, false).contains("\x1b[1;7;31mPASS hunter2\x1b[0m"));
        let plain = draw(false, true);
        assert!(
            plain.contains("     9     0.500 |-------->| ! PASS hunter2"),
            "{plain}"
        );
        assert!(!plain.contains('\x1b'));
    }

    #[test]
    fn long_labels_are_cut_with_an_ellipsis() {
        assert_eq!(fit("abcdef", 4, false), "abc…");
        assert_eq!(fit("abcdef", 5, true), "ab...");
        assert_eq!(fit("abc", 4, false), "abc");
        assert_eq!(ascii_fold("SYN :1 → :2 é…"), "SYN :1 -> :2 ?...");
    }
}
