//! Output: tables for people ([`table`]) and JSON lines for programs ([`json`]); the ladder
//! diagrams of [`crate::ladder`] drawn for the terminal ([`ladder_text`]), as Mermaid
//! ([`mermaid`]) and as SVG ([`svg`]) inside the HTML report ([`html`]).

pub mod html;
pub mod json;
pub mod ladder_text;
pub mod mermaid;
pub mod svg;
pub mod table;
pub mod tls;

/// How to make Wireshark show a control connection on `port` as FTP: its FTP dissector only
/// takes port 21 by itself.
pub fn decode_as_hint(port: u16) -> String {
    format!(
        "Wireshark decodes FTP only on port 21: for port {port} use `tshark -d tcp.port=={port},ftp`, \
         or in Wireshark Analyze ▸ Decode As… ▸ TCP port {port} ▸ FTP"
    )
}

/// A Wireshark display filter that shows exactly `frames`. Written with `==` and `||`, which
/// every Wireshark version accepts; tshark 4.0 rejects a set without commas
/// (`frame.number in {1 2}`: "2 was unexpected in this context").
pub fn frame_filter(frames: &[u64]) -> String {
    let mut frames = frames.to_vec();
    frames.sort_unstable();
    frames.dedup();
    let parts: Vec<String> = frames
        .iter()
        .map(|f| format!("frame.number == {f}"))
        .collect();
    parts.join(" || ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_filter_is_a_disjunction_of_equalities() {
        assert_eq!(
            frame_filter(&[25, 21, 24, 21]),
            "frame.number == 21 || frame.number == 24 || frame.number == 25"
        );
        assert_eq!(frame_filter(&[3]), "frame.number == 3");
    }
}
