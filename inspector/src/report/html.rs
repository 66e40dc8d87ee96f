//! `--html FILE`: one self-contained HTML page (inline CSS and SVG, no script, nothing fetched)
//! with the sessions, credentials, files, findings, each session's ladder and a timeline of
//! bytes per connection. Readable on a phone (viewport, scaling SVG) and printable. Every text
//! that came from the capture goes through [`esc`].

use crate::Analysis;
use crate::event::Event;
use crate::ladder::connections::Connection;
use crate::ladder::{self, SessionLadder};
use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

/// Ladder rows drawn in the whole report at most (a brute-force capture holds thousands of
/// sessions); the sessions past it are named, not drawn. Keeps lab reports well under 1 MB.
pub const MAX_DRAWN_ROWS: usize = 2500;

/// Rows of one table at most (a capture of a long dictionary attack holds thousands of
/// logins).
pub const MAX_TABLE_ROWS: usize = 1000;

/// What the report is made of.
pub struct Input<'a> {
    /// The capture, read whole.
    pub analysis: &'a Analysis,
    /// Each session's ladder.
    pub ladders: &'a [SessionLadder],
    /// The capture's TCP connections (for the timeline).
    pub conns: &'a [Connection],
    /// `--extract DIR`, to link the files written there.
    pub extract_dir: Option<&'a Path>,
    /// Where the report goes (links are relative to its folder).
    pub report_path: &'a Path,
}

/// Text for HTML (element content and quoted attributes): `& < > " '` as entities, control
/// characters (a capture can carry any byte) as `·`.
pub fn esc(text: &str) -> String {
    let mut s = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&#39;"),
            '\n' => s.push('\n'),
            c if c.is_control() => s.push('·'),
            c => s.push(c),
        }
    }
    s
}

const STYLE: &str = include_str!("html.css");

/// The whole page.
pub fn render(input: &Input<'_>) -> String {
    let a = input.analysis;
    let events = &a.events;
    let mut s = String::with_capacity(64 * 1024);
    let title = format!("FTP report: {}", a.name);
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n<main>\n<h1>{}</h1>\n",
        esc(&title),
        esc(&title)
    );
    let _ = writeln!(
        s,
        "<p class=\"meta\">{} frames, the first at {}. Written by ftplab's inspector {}. Every \
         number in <b>frame</b> columns is the frame number Wireshark shows; each filter can be \
         pasted into Wireshark's display filter bar.</p>",
        a.frames,
        utc(a.first_time),
        env!("CARGO_PKG_VERSION")
    );
    s.push_str(
        "<nav><a href=\"#sessions\">Sessions</a> <a href=\"#credentials\">Credentials</a> \
         <a href=\"#files\">Files</a> <a href=\"#findings\">Findings</a> \
         <a href=\"#ladders\">Ladder diagrams</a> <a href=\"#timeline\">Timeline</a></nav>\n",
    );
    sessions(&mut s, events);
    credentials(&mut s, events);
    files(&mut s, events, input.extract_dir, input.report_path);
    findings(&mut s, events);
    ladders(&mut s, input.ladders);
    let ties = ladder::tie(events, input.conns);
    s.push_str("<section id=\"timeline\">\n<h2>Timeline: bytes per connection</h2>\n");
    s.push_str(
        "<p>One lane per control or data connection: the bar is its life, the line its bytes \
         so far (a download resumed with REST starts at its offset). Ticks on top are login \
         attempts: a dense run of red ones is a password-guessing attack.</p>\n<figure>",
    );
    s.push_str(&super::svg::timeline(
        events,
        input.conns,
        &ties,
        a.first_time,
    ));
    s.push_str("</figure>\n</section>\n");
    warnings(&mut s, events);
    s.push_str("</main>\n</body>\n</html>\n");
    s
}

fn utc(time: f64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(time as i64) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => format!("{time} s after the epoch"),
    }
}

/// A section with one table; on a narrow screen each row becomes a card whose cells are
/// labelled with their header (`data-label`, shown by the stylesheet).
struct HtmlTable<'s> {
    s: &'s mut String,
    headers: &'static [&'static str],
    rows: usize,
}

impl<'s> HtmlTable<'s> {
    fn start(
        s: &'s mut String,
        id: &str,
        title: &str,
        intro: &str,
        headers: &'static [&'static str],
    ) -> Self {
        let _ = write!(
            s,
            "<section id=\"{id}\">\n<h2>{title}</h2>\n<p>{intro}</p>\n<div class=\"scroll\"><table>\n<thead><tr>"
        );
        for h in headers {
            let _ = write!(s, "<th>{h}</th>");
        }
        s.push_str("</tr></thead>\n<tbody>\n");
        HtmlTable {
            s,
            headers,
            rows: 0,
        }
    }

    /// One row; `cells` are HTML already escaped, `attrs` go into the `<tr>`. Past
    /// [`MAX_TABLE_ROWS`] rows are only counted.
    fn row(&mut self, attrs: &str, cells: &[String]) {
        self.rows += 1;
        if self.rows > MAX_TABLE_ROWS {
            return;
        }
        let _ = write!(self.s, "<tr{attrs}>");
        for (h, c) in self.headers.iter().zip(cells) {
            let _ = write!(self.s, "<td data-label=\"{h}\">{c}</td>");
        }
        self.s.push_str("</tr>\n");
    }

    fn end(self, none: &str) {
        let note = match self.rows {
            0 => none.to_owned(),
            n if n > MAX_TABLE_ROWS => format!(
                "… and {} more, not shown to keep this page small (all are in \
                 <code>inspector read --json</code>).",
                n - MAX_TABLE_ROWS
            ),
            _ => String::new(),
        };
        if !note.is_empty() {
            let _ = writeln!(
                self.s,
                "<tr><td colspan=\"{}\" class=\"none\">{note}</td></tr>",
                self.headers.len()
            );
        }
        self.s.push_str("</tbody></table></div>\n</section>\n");
    }
}

fn sessions(s: &mut String, events: &[Event]) {
    let mut t = HtmlTable::start(
        s,
        "sessions",
        "Sessions",
        "Each control connection: who talked to which FTP server.",
        &["session", "frame", "client", "server", "found by", "TLS"],
    );
    let tls: std::collections::HashSet<usize> = events
        .iter()
        .filter_map(|e| match e {
            Event::Tls(t) => Some(t.session),
            _ => None,
        })
        .collect();
    for e in events {
        if let Event::Session(x) = e {
            let tls = tls.contains(&x.session);
            t.row(
                "",
                &[
                    x.session.to_string(),
                    x.frame.to_string(),
                    esc(&x.client),
                    esc(&x.server),
                    x.found_by.to_owned(),
                    if tls {
                        "yes (234)"
                    } else {
                        "<span class=\"bad\">no</span>"
                    }
                    .to_owned(),
                ],
            );
        }
    }
    t.end("No FTP session found.");
}

fn credentials(s: &mut String, events: &[Event]) {
    let mut t = HtmlTable::start(
        s,
        "credentials",
        "Credentials",
        "User names and passwords as they crossed the network in clear, with the frame of PASS \
         and a filter showing USER, PASS and the reply.",
        &[
            "session",
            "frame",
            "user",
            "password",
            "accepted",
            "Wireshark filter",
        ],
    );
    for e in events {
        if let Event::Credential(c) = e {
            let accepted = match c.accepted {
                Some(true) => "<span class=\"bad\">yes</span>",
                Some(false) => "no",
                None => "?",
            };
            t.row(
                &format!(" class=\"credential\" data-frame=\"{}\"", c.frame),
                &[
                    c.session.to_string(),
                    c.frame.to_string(),
                    esc(&c.user),
                    format!(
                        "<span class=\"secret\">{}</span>",
                        esc(c.password.as_deref().unwrap_or("(none)"))
                    ),
                    accepted.to_owned(),
                    format!("<code>{}</code>", esc(&c.filter)),
                ],
            );
        }
    }
    t.end("No credentials seen.");
}

fn files(s: &mut String, events: &[Event], dir: Option<&Path>, report: &Path) {
    let mut table = HtmlTable::start(
        s,
        "files",
        "Files",
        "What the data connections carried. With <code>--extract DIR</code> each name links to \
         the copy written there.",
        &[
            "frame", "session", "command", "name", "bytes", "sha256", "complete",
        ],
    );
    for e in events {
        let (frame, session, command, name, bytes, sha, complete, extracted) = match e {
            Event::Transfer(t) => (
                t.frame,
                t.session.map_or("-".to_owned(), |x| x.to_string()),
                t.command.clone().unwrap_or_else(|| t.direction.to_owned()),
                t.name.clone().unwrap_or_default(),
                t.bytes.to_string(),
                t.sha256.clone(),
                if t.refused {
                    format!("refused ({})", t.reply.unwrap_or_default())
                } else if t.complete {
                    "yes".to_owned()
                } else {
                    format!("no: {}", t.incomplete_reason.as_deref().unwrap_or_default())
                },
                t.extracted.clone(),
            ),
            Event::Stitched(t) => (
                t.frame,
                "-".to_owned(),
                "REST parts joined".to_owned(),
                t.name.clone(),
                t.size.map_or("?".to_owned(), |x| x.to_string()),
                t.sha256.clone(),
                if t.complete { "yes" } else { "no" }.to_owned(),
                t.extracted.clone(),
            ),
            _ => continue,
        };
        let name = match (dir, extracted) {
            (Some(dir), Some(rel)) => format!(
                "<a href=\"{}\">{}</a>",
                esc(&link(report, &dir.join(rel))),
                esc(&name)
            ),
            _ => esc(&name),
        };
        table.row(
            "",
            &[
                frame.to_string(),
                session,
                esc(&command),
                name,
                bytes,
                format!(
                    "<code class=\"hash\">{}</code>",
                    esc(sha.as_deref().unwrap_or("-"))
                ),
                esc(&complete),
            ],
        );
    }
    table.end("No data connection carried anything.");
}

/// Findings of one kind written in full at most; the rest of that kind are counted.
const FINDINGS_PER_KIND: usize = 20;

fn findings(s: &mut String, events: &[Event]) {
    s.push_str("<section id=\"findings\">\n<h2>Findings</h2>\n");
    let mut per_kind: std::collections::BTreeMap<&str, usize> = Default::default();
    for e in events {
        if let Event::Finding(f) = e {
            let n = per_kind.entry(f.id).or_default();
            *n += 1;
            if *n > FINDINGS_PER_KIND {
                continue;
            }
            let _ = writeln!(
                s,
                "<article class=\"finding sev-{sev}\"><h3>{} <span class=\"sev\">{sev}</span></h3>\
                 <p>{}</p><p><b>Why it matters:</b> {}</p><p><b>Fix:</b> {} ({})</p>\
                 <p><b>Frames:</b> <code>{}</code></p></article>",
                esc(f.id),
                esc(&f.message),
                esc(f.why),
                esc(f.fix),
                esc(f.reference),
                esc(&f.filter),
                sev = esc(f.severity),
            );
        }
    }
    if per_kind.is_empty() {
        s.push_str("<p class=\"none\">No findings.</p>\n");
    }
    for (id, n) in per_kind {
        if n > FINDINGS_PER_KIND {
            let _ = writeln!(
                s,
                "<p class=\"none\">… and {} more <b>{}</b> finding(s) like those above (all are \
                 in <code>inspector read --json</code>).</p>",
                n - FINDINGS_PER_KIND,
                esc(id)
            );
        }
    }
    s.push_str("</section>\n");
}

fn ladders(s: &mut String, ladders: &[SessionLadder]) {
    s.push_str(
        "<section id=\"ladders\">\n<h2>Ladder diagrams</h2>\n<p>Each session as a sequence \
         diagram: black arrows are commands and replies on the control connection, blue ones a \
         data connection's content, grey ones its TCP SYN and FIN, red its RST. Frame numbers at \
         the left; user names and passwords on a red band (★).</p>\n",
    );
    let mut drawn = 0;
    let mut skipped = Vec::new();
    for l in ladders {
        if drawn + l.rows.len() > MAX_DRAWN_ROWS && drawn > 0 {
            skipped.push(l.session.to_string());
            continue;
        }
        drawn += l.rows.len();
        let _ = writeln!(
            s,
            "<h3>Session {}: {} → {}</h3>\n<figure class=\"diagram\">{}</figure>",
            l.session,
            esc(&l.client),
            esc(&l.server),
            super::svg::ladder(l)
        );
        if l.omitted > 0 {
            let _ = writeln!(
                s,
                "<p class=\"none\">… {} more row(s) of this session not drawn.</p>",
                l.omitted
            );
        }
    }
    if !skipped.is_empty() {
        let _ = writeln!(
            s,
            "<p class=\"none\">Not drawn, to keep this page small (use <code>inspector read \
             --flow</code>): sessions {}.</p>",
            skipped.join(", ")
        );
    }
    s.push_str("</section>\n");
}

fn warnings(s: &mut String, events: &[Event]) {
    let list: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::Warning(w) => Some(w),
            _ => None,
        })
        .collect();
    if list.is_empty() {
        return;
    }
    s.push_str("<section id=\"warnings\">\n<h2>Warnings</h2>\n<ul>\n");
    for w in list {
        let _ = writeln!(s, "<li>frame {}: {}</li>", w.frame, esc(&w.message));
    }
    s.push_str("</ul>\n</section>\n");
}

/// A relative URL from the report's folder to `target`, each segment percent-encoded.
fn link(report: &Path, target: &Path) -> String {
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let from: PathBuf = absolute(report)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let to = absolute(target);
    let (from, to): (Vec<Component>, Vec<Component>) =
        (from.components().collect(), to.components().collect());
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_owned(); from.len().saturating_sub(common)];
    parts.extend(
        to.iter()
            .skip(common)
            .map(|c| percent(&c.as_os_str().to_string_lossy())),
    );
    parts.join("/")
}

fn percent(segment: &str) -> String {
    let mut s = String::new();
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            s.push(char::from(b));
        } else {
            let _ = write!(s, "%{b:02X}");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_from_a_capture_is_shown_not_run() {
        assert_eq!(
            esc("<script>alert('x')</script>&\u{1b}"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;·"
        );
    }

    #[test]
    fn links_are_relative_to_the_report_folder() {
        assert_eq!(
            link(Path::new("/a/r/report.html"), Path::new("/a/x/f name.txt")),
            "../x/f%20name.txt"
        );
        assert_eq!(
            link(Path::new("report.html"), Path::new("out/a#b")),
            "out/a%23b"
        );
    }
}
