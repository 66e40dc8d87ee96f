//! Output: tables for people ([`table`]) and JSON lines for programs ([`json`]).

pub mod json;
pub mod table;
pub mod tls;
