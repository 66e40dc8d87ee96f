//! Data connection addresses: PORT and the 227 reply (RFC 959), EPRT and the 229 reply (RFC 2428).
//!
//! RFC 959 writes an IPv4 address and port as six decimal bytes: `h1,h2,h3,h4,p1,p2`, the port
//! being `p1 * 256 + p2`. RFC 2428 adds a form that also carries IPv6: `|1|192.0.2.1|6275|` or
//! `|2|2001:db8::1|6275|`, where the first character is the delimiter and `1`/`2` name the
//! address family. The 229 reply to EPSV only carries the port: `(|||6446|)`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};

/// An address argument or reply text that does not have the expected form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostPortError {
    /// Not six comma-separated numbers from 0 to 255.
    #[error("not an h1,h2,h3,h4,p1,p2 address: {text:?}")]
    BadHostPort {
        /// The text that was given.
        text: String,
    },
    /// Not an RFC 2428 `|af|address|port|` form.
    #[error("not an RFC 2428 |af|address|port| form: {text:?}")]
    BadExtendedAddress {
        /// The text that was given.
        text: String,
    },
    /// An address family other than 1 (IPv4) or 2 (IPv6).
    #[error("network protocol {family} not supported, use (1,2)")]
    UnsupportedFamily {
        /// The family number that was given.
        family: String,
    },
}

/// Parses the argument of PORT: `h1,h2,h3,h4,p1,p2` (spaces around the numbers tolerated).
pub fn parse_port_argument(text: &str) -> Result<SocketAddrV4, HostPortError> {
    let bad = || HostPortError::BadHostPort {
        text: text.to_owned(),
    };
    let mut numbers = [0u8; 6];
    let mut parts = text.split(',');
    for slot in &mut numbers {
        *slot = parts
            .next()
            .and_then(|p| p.trim().parse().ok())
            .ok_or_else(bad)?;
    }
    if parts.next().is_some() {
        return Err(bad());
    }
    Ok(from_six(numbers))
}

fn from_six([h1, h2, h3, h4, p1, p2]: [u8; 6]) -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::new(h1, h2, h3, h4), u16::from_be_bytes([p1, p2]))
}

/// Encodes an IPv4 address as PORT's argument and the numbers of a 227 reply.
pub fn format_host_port(addr: SocketAddrV4) -> String {
    let [h1, h2, h3, h4] = addr.ip().octets();
    let [p1, p2] = addr.port().to_be_bytes();
    format!("{h1},{h2},{h3},{h4},{p1},{p2}")
}

/// The text of a 227 reply for `addr`, in the form most clients expect.
pub fn format_pasv_reply(addr: SocketAddrV4) -> String {
    format!("Entering Passive Mode ({}).", format_host_port(addr))
}

/// Finds the address in the text of a 227 reply.
///
/// RFC 959 does not fix the text around the numbers: servers write `(h1,…,p2)`, `=h1,…,p2`
/// or add spaces, so this takes the first run of six comma-separated numbers anywhere.
pub fn parse_pasv_reply(text: &str) -> Result<SocketAddrV4, HostPortError> {
    let bytes = text.as_bytes();
    let mut start = 0;
    while start < bytes.len() {
        if bytes[start].is_ascii_digit() && (start == 0 || !bytes[start - 1].is_ascii_digit()) {
            let end = bytes[start..]
                .iter()
                .position(|b| !(b.is_ascii_digit() || *b == b',' || *b == b' '))
                .map_or(bytes.len(), |p| start + p);
            let candidate = text[start..end].trim_end_matches([',', ' ']);
            if let Ok(addr) = parse_port_argument(candidate) {
                return Ok(addr);
            }
            start = end.max(start + 1);
        } else {
            start += 1;
        }
    }
    Err(HostPortError::BadHostPort {
        text: text.to_owned(),
    })
}

/// Parses the argument of EPRT (RFC 2428 §2): `<d><af><d><address><d><port><d>`.
pub fn parse_eprt_argument(text: &str) -> Result<SocketAddr, HostPortError> {
    let bad = || HostPortError::BadExtendedAddress {
        text: text.to_owned(),
    };
    let delimiter = text
        .chars()
        .next()
        .filter(|c| ('!'..='~').contains(c))
        .ok_or_else(bad)?;
    let fields: Vec<&str> = text.split(delimiter).collect();
    let [empty_start, family, address, port, empty_end] = fields.as_slice() else {
        return Err(bad());
    };
    if !empty_start.is_empty() || !empty_end.is_empty() {
        return Err(bad());
    }
    let port: u16 = port.parse().map_err(|_| bad())?;
    let ip: IpAddr = match *family {
        "1" => IpAddr::V4(address.parse().map_err(|_| bad())?),
        "2" => IpAddr::V6(address.parse().map_err(|_| bad())?),
        other => {
            return Err(HostPortError::UnsupportedFamily {
                family: other.to_owned(),
            });
        }
    };
    Ok(SocketAddr::new(ip, port))
}

/// Encodes an address as EPRT's argument, with `|` as delimiter.
pub fn format_eprt_argument(addr: SocketAddr) -> String {
    let family = if addr.is_ipv4() { 1 } else { 2 };
    format!("|{family}|{}|{}|", addr.ip(), addr.port())
}

/// The text of a 229 reply for `port`.
pub fn format_epsv_reply(port: u16) -> String {
    format!("Entering Extended Passive Mode (|||{port}|)")
}

/// Finds the port in the text of a 229 reply: `(<d><d><d><port><d>)`.
pub fn parse_epsv_reply(text: &str) -> Result<u16, HostPortError> {
    let bad = || HostPortError::BadExtendedAddress {
        text: text.to_owned(),
    };
    let open = text.find('(').ok_or_else(bad)?;
    let close = text[open..].find(')').map(|c| open + c).ok_or_else(bad)?;
    let inner = &text[open + 1..close];
    let delimiter = inner.chars().next().ok_or_else(bad)?;
    let fields: Vec<&str> = inner.split(delimiter).collect();
    match fields.as_slice() {
        ["", "", "", port, ""] => port.parse().map_err(|_| bad()),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn port_argument_is_six_bytes() {
        let addr = parse_port_argument("127,0,0,1,195,80").unwrap();
        assert_eq!(addr, "127.0.0.1:50000".parse().unwrap());
        assert_eq!(format_host_port(addr), "127,0,0,1,195,80");
        assert!(parse_port_argument("127,0,0,1,195").is_err());
        assert!(parse_port_argument("127,0,0,1,195,80,1").is_err());
        assert!(parse_port_argument("256,0,0,1,1,1").is_err());
        assert!(parse_port_argument("").is_err());
    }

    #[test]
    fn pasv_reply_with_odd_spacing_and_no_parentheses() {
        let want: SocketAddrV4 = "10.0.0.5:1025".parse().unwrap();
        for text in [
            "Entering Passive Mode (10,0,0,5,4,1).",
            "Entering Passive Mode 10,0,0,5,4,1",
            "Entering Passive Mode (10, 0, 0, 5, 4, 1)",
            "Passive 227 =10,0,0,5,4,1",
        ] {
            assert_eq!(parse_pasv_reply(text), Ok(want), "{text}");
        }
        assert!(parse_pasv_reply("Entering Passive Mode (10,0,0,5,4)").is_err());
        assert!(parse_pasv_reply("").is_err());
    }

    #[test]
    fn eprt_both_families_and_errors() {
        assert_eq!(
            parse_eprt_argument("|1|132.235.1.2|6275|"),
            Ok("132.235.1.2:6275".parse().unwrap())
        );
        assert_eq!(
            parse_eprt_argument("!2!1080::8:800:200C:417A!5282!"),
            Ok("[1080::8:800:200c:417a]:5282".parse().unwrap())
        );
        assert!(matches!(
            parse_eprt_argument("|3|x|1|"),
            Err(HostPortError::UnsupportedFamily { .. })
        ));
        assert!(parse_eprt_argument("|1|::1|1|").is_err());
        assert!(parse_eprt_argument("|1|1.2.3.4|99999|").is_err());
        assert!(parse_eprt_argument("").is_err());
    }

    #[test]
    fn epsv_reply_port() {
        assert_eq!(
            parse_epsv_reply("Entering Extended Passive Mode (|||6446|)"),
            Ok(6446)
        );
        assert_eq!(parse_epsv_reply("ok (!!!21!)"), Ok(21));
        assert!(parse_epsv_reply("Entering Extended Passive Mode (|1|::1|6446|)").is_err());
        assert!(parse_epsv_reply("no parens").is_err());
    }

    proptest! {
        #[test]
        fn port_round_trip(ip in any::<u32>(), port in any::<u16>()) {
            let addr = SocketAddrV4::new(Ipv4Addr::from(ip), port);
            prop_assert_eq!(parse_port_argument(&format_host_port(addr)), Ok(addr));
            prop_assert_eq!(parse_pasv_reply(&format_pasv_reply(addr)), Ok(addr));
        }

        #[test]
        fn eprt_round_trip(addr in any::<SocketAddr>()) {
            let addr = match addr {
                SocketAddr::V6(v6) => SocketAddr::new(IpAddr::V6(*v6.ip()), v6.port()),
                v4 => v4,
            };
            prop_assert_eq!(parse_eprt_argument(&format_eprt_argument(addr)), Ok(addr));
        }

        #[test]
        fn epsv_round_trip(port in any::<u16>()) {
            prop_assert_eq!(parse_epsv_reply(&format_epsv_reply(port)), Ok(port));
        }

        #[test]
        fn parsers_never_panic(text in "\\PC{0,40}") {
            let _ = parse_port_argument(&text);
            let _ = parse_pasv_reply(&text);
            let _ = parse_eprt_argument(&text);
            let _ = parse_epsv_reply(&text);
        }
    }
}
