//! Output: tables for people ([`table`]) and JSON lines for programs ([`json`]).

pub mod json;
pub mod table;

/// How to make Wireshark show a control connection on `port` as FTP: its FTP dissector only
/// takes port 21 by itself.
pub fn decode_as_hint(port: u16) -> String {
    format!(
        "Wireshark decodes FTP only on port 21: for port {port} use `tshark -d tcp.port=={port},ftp`, \
         or in Wireshark Analyze ▸ Decode As… ▸ TCP port {port} ▸ FTP"
    )
}
