//! SVG pictures for the HTML report: each session's ladder (from [`crate::ladder`]) and a
//! timeline of bytes per connection. Plain SVG 1.1 elements, sized by `viewBox` so they scale
//! to the page; every text from the capture escaped.

use super::html::esc;
use crate::event::{Event, TransferEvent};
use crate::ladder::connections::Connection;
use crate::ladder::{RowKind, SessionLadder, Tie};
use std::collections::HashMap;
use std::fmt::Write as _;

/// Left margin of the ladder: frame and time.
const LEFT: f64 = 130.0;
/// Distance between lifelines.
const COLUMN: f64 = 200.0;
/// Height of one row.
const ROW: f64 = 22.0;
/// Top of the first row (below the column headers).
const TOP: f64 = 58.0;
/// Width of a character at the label font size, for cutting labels to their arrow.
const CHAR: f64 = 6.4;

/// The ladder of one session as an `<svg>` element. Arrows are `<line>` elements with a
/// `marker-end` arrowhead.
pub fn ladder(l: &SessionLadder) -> String {
    let n = l.columns.len().max(2);
    let x = |c: usize| LEFT + 40.0 + c as f64 * COLUMN;
    let width = x(n - 1) + 60.0;
    let height = TOP + l.rows.len() as f64 * ROW + 20.0;
    let id = l.session;
    let mut s = String::with_capacity(300 * l.rows.len() + 2000);
    let _ = write!(
        s,
        r#"<svg class="ladder" viewBox="0 0 {width} {height}" width="{width}" role="img" aria-label="Ladder diagram of session {id}">"#
    );
    s.push_str("<defs>");
    for (name, color) in [
        ("c", "#333"),
        ("d", "#1f5fbf"),
        ("t", "#888"),
        ("x", "#c00"),
    ] {
        let _ = write!(
            s,
            r#"<marker id="arrow-{name}-{id}" viewBox="0 0 10 10" refX="10" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{color}"/></marker>"#
        );
    }
    s.push_str("</defs>");
    let _ = write!(
        s,
        r#"<text x="8" y="{y}" class="head">frame</text><text x="60" y="{y}" class="head">time (s)</text>"#,
        y = TOP - 28.0
    );
    for (i, c) in l.columns.iter().enumerate() {
        let cx = x(i);
        let _ = write!(
            s,
            r#"<text x="{cx}" y="{y1}" text-anchor="middle" class="head">{}</text><text x="{cx}" y="{y2}" text-anchor="middle" class="addr">{}</text><line x1="{cx}" y1="{top}" x2="{cx}" y2="{bottom}" class="life"/>"#,
            esc(&c.name),
            esc(c
                .detail
                .split_once(' ')
                .map_or("", |(_, a)| a)
                .trim_start_matches("data ")),
            y1 = TOP - 34.0,
            y2 = TOP - 20.0,
            top = TOP - 12.0,
            bottom = height - 10.0,
        );
    }
    for (k, row) in l.rows.iter().enumerate() {
        let y = TOP + k as f64 * ROW + 8.0;
        let (x1, x2) = (x(row.from), x(row.to));
        if row.secret {
            let _ = write!(
                s,
                r#"<rect x="2" y="{}" width="{}" height="{ROW}" class="secret-bg"/>"#,
                y - 15.0,
                width - 4.0
            );
        }
        let _ = write!(
            s,
            r#"<text x="8" y="{y}" class="frame">{}</text><text x="60" y="{y}" class="time">{:.3}</text>"#,
            row.frame, row.time
        );
        let span = (x1 - x2).abs();
        let cut = ((span - 8.0) / CHAR).max(6.0) as usize;
        let star = if row.secret { "★ " } else { "" };
        let full = format!("{star}{}", row.label);
        let label = super::ladder_text::fit(&full, cut, false);
        let mid = (x1 + x2) / 2.0;
        if row.kind == RowKind::Note {
            let left = x1.min(x2);
            let _ = write!(
                s,
                r#"<rect x="{left}" y="{}" width="{span}" height="16" class="note"/><text x="{mid}" y="{y}" text-anchor="middle" class="label"><title>{}</title>{}</text>"#,
                y - 12.0,
                esc(&full),
                esc(&label),
            );
            continue;
        }
        let (class, marker) = match row.kind {
            RowKind::Command | RowKind::Reply | RowKind::Note => ("ctl", "c"),
            RowKind::Data => ("data", "d"),
            RowKind::Open | RowKind::Close => ("tcp", "t"),
            RowKind::Reset => ("rst", "x"),
        };
        let class = if row.kind == RowKind::Reply {
            "ctl reply"
        } else {
            class
        };
        let _ = write!(
            s,
            r#"<line x1="{x1}" y1="{ly}" x2="{x2}" y2="{ly}" class="{class}" marker-end="url(#arrow-{marker}-{id})"/><text x="{mid}" y="{ty}" text-anchor="middle" class="label{secret}"><title>{}</title>{}</text>"#,
            esc(&full),
            esc(&label),
            ly = y + 4.0,
            ty = y - 1.0,
            secret = if row.secret { " secret" } else { "" },
        );
    }
    s.push_str("</svg>");
    s
}

/// Lanes drawn in the timeline at most; a note says how many more there were.
pub const MAX_LANES: usize = 80;

/// A timeline of bytes per connection: one lane per control or data connection of a session,
/// the connection's life as a bar and its bytes so far as a line (a download resumed with REST
/// starts at its offset, as a share of the file), and the login attempts as ticks on top (a
/// dictionary attack is a dense row of red ticks).
pub fn timeline(
    events: &[Event],
    conns: &[Connection],
    ties: &HashMap<usize, Tie>,
    first_time: f64,
) -> String {
    let mut tied: Vec<(usize, Tie)> = ties.iter().map(|(i, t)| (*i, *t)).collect();
    tied.sort_unstable_by_key(|(i, _)| *i);
    let more = tied.len().saturating_sub(MAX_LANES);
    tied.truncate(MAX_LANES);
    let end = conns.iter().map(|c| c.last.time).fold(first_time, f64::max);
    let duration = (end - first_time).max(0.001);
    let (left, plot, lane) = (250.0, 600.0, 24.0);
    let px = |t: f64| left + ((t - first_time) / duration).clamp(0.0, 1.0) * plot;
    let top = 40.0;
    let height = top + (tied.len() as f64 + 1.0) * lane + 40.0;
    let width = left + plot + 20.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="timeline" viewBox="0 0 {width} {height}" width="{width}" role="img" aria-label="Bytes per connection over time">"#
    );
    // Time axis: 0, half, end.
    for f in [0.0, 0.5, 1.0] {
        let x = left + f * plot;
        let _ = write!(
            s,
            r#"<line x1="{x}" y1="{a}" x2="{x}" y2="{b}" class="grid"/><text x="{x}" y="{t}" text-anchor="middle" class="addr">{:.2} s</text>"#,
            f * duration,
            a = top - 14.0,
            b = height - 30.0,
            t = height - 16.0,
        );
    }
    // Login attempts.
    let times: HashMap<u64, f64> = events
        .iter()
        .filter_map(|e| match e {
            Event::Command(c) => Some((c.frame, c.time)),
            Event::Reply(r) => Some((r.frame, r.time)),
            _ => None,
        })
        .collect();
    let y0 = top;
    let _ = write!(
        s,
        r#"<text x="4" y="{}" class="label">login attempts (red: refused)</text>"#,
        y0 + 4.0
    );
    for e in events {
        if let Event::Credential(c) = e
            && let Some(t) = times.get(&c.frame)
        {
            let class = match c.accepted {
                Some(true) => "ok",
                Some(false) => "fail",
                None => "unknown",
            };
            let x = px(*t);
            let _ = write!(
                s,
                r#"<line x1="{x}" y1="{}" x2="{x}" y2="{}" class="tick {class}"><title>frame {}: {}</title></line>"#,
                y0 - 6.0,
                y0 + 6.0,
                c.frame,
                esc(&c.user)
            );
        }
    }
    let transfers: Vec<&TransferEvent> = events
        .iter()
        .filter_map(|e| match e {
            Event::Transfer(t) => Some(&**t),
            _ => None,
        })
        .collect();
    for (k, (i, tie)) in tied.iter().enumerate() {
        let Some(c) = conns.get(*i) else { continue };
        let y = top + (k as f64 + 1.0) * lane;
        let transfer = transfers
            .iter()
            .find(|t| t.data_frames.is_some_and(|[f, _]| c.carried(f)));
        let label = match (tie, transfer) {
            (Tie::Control { session }, _) => format!("s{session} control"),
            (Tie::Data { session, .. }, Some(t)) => {
                let mut l = format!(
                    "s{session} data {} {}",
                    t.command.as_deref().unwrap_or(t.direction),
                    t.name.as_deref().unwrap_or("")
                );
                if let Some(rest) = t.rest {
                    l.push_str(&format!(" (REST {rest})"));
                }
                l
            }
            (Tie::Data { session, .. }, None) => format!("s{session} data"),
        };
        let _ = write!(
            s,
            r#"<text x="4" y="{}" class="label"><title>{}</title>{}</text>"#,
            y + 4.0,
            esc(&label),
            esc(&super::ladder_text::fit(&label, 36, false))
        );
        let (x1, x2) = (
            px(c.first.time),
            px(c.last.time).max(px(c.first.time) + 1.0),
        );
        let class = if matches!(tie, Tie::Control { .. }) {
            "life-bar ctl"
        } else {
            "life-bar data"
        };
        let _ = write!(
            s,
            r#"<rect x="{x1}" y="{}" width="{}" height="{}" class="{class}"/>"#,
            y - lane / 2.0 + 2.0,
            x2 - x1,
            lane - 4.0
        );
        // Bytes so far, as a share of the lane; a resumed download starts at its offset.
        let offset = transfer.and_then(|t| t.rest).unwrap_or(0) as f64;
        let total = c.bytes[0] + c.bytes[1];
        let full = (offset + total as f64).max(1.0);
        if total > 0 {
            let mut points = format!(
                "{x1},{}",
                y + lane / 2.0 - 2.0 - offset / full * (lane - 4.0)
            );
            for (at, so_far) in &c.samples {
                let _ = write!(
                    points,
                    " {:.1},{:.1}",
                    px(at.time),
                    y + lane / 2.0 - 2.0 - (offset + *so_far as f64) / full * (lane - 4.0)
                );
            }
            let _ = write!(
                s,
                r#"<polyline points="{points}" class="bytes"><title>{total} bytes</title></polyline>"#
            );
        }
    }
    if more > 0 {
        let _ = write!(
            s,
            r#"<text x="4" y="{}" class="label">… {more} more connection(s) not drawn</text>"#,
            height - 30.0
        );
    }
    s.push_str("</svg>");
    s
}
