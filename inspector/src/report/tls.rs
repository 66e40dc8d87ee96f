//! The TLS parts of the tables: one row per TLS handshake of a control connection, and the
//! notes a transfer of a TLS session gets (encrypted sizes, how it was tied, key log).

use super::table::{colored, table};
use crate::event::{Event, TransferEvent};
use comfy_table::{Cell, Color, Table};

/// One row per control connection handshake; `None` when there was no TLS.
pub fn handshakes(events: &[Event], style: super::table::Style) -> Option<Table> {
    let rows: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::TlsHandshake(h) => Some(h),
            _ => None,
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    let mut t = table(
        style,
        &[
            "session",
            "frame",
            "version",
            "cipher suite",
            "SNI",
            "certificate subject",
            "certificate sha256",
            "resumed",
            "contents",
        ],
    );
    for h in rows {
        t.add_row(vec![
            Cell::new(h.session),
            Cell::new(h.frame),
            Cell::new(h.version.unwrap_or("-")),
            Cell::new(h.cipher_suite.as_deref().unwrap_or("-")),
            Cell::new(h.sni.as_deref().unwrap_or("-")),
            Cell::new(
                h.certificate_subject
                    .as_deref()
                    .unwrap_or("- (encrypted in TLS 1.3)"),
            ),
            Cell::new(h.certificate_sha256.as_deref().unwrap_or("-")),
            Cell::new(if h.resumed { "yes" } else { "no" }),
            if h.decrypted_with_keylog {
                colored(style, &h.decryption, Color::Red)
            } else {
                colored(style, &h.decryption, Color::Green)
            },
        ]);
    }
    Some(t)
}

/// For a transfer of a TLS session: the bytes cell (encrypted sizes when the content is not
/// readable) and what to add to the mode cell.
pub fn transfer_notes(x: &TransferEvent) -> Option<(Option<String>, String)> {
    let tls = x.tls?;
    let tie = if tls.tie == "guessed" {
        ", tied by addresses and timing (a guess)"
    } else {
        ""
    };
    if !tls.encrypted {
        return Some((None, format!(", data in clear (TLS session){tie}")));
    }
    if tls.decrypted_with_keylog {
        return Some((None, format!(", TLS decrypted with key log{tie}")));
    }
    Some((
        Some(format!(
            "encrypted: {} to server, {} to client",
            tls.encrypted_bytes_to_server, tls.encrypted_bytes_to_client
        )),
        format!(", TLS{tie}"),
    ))
}
