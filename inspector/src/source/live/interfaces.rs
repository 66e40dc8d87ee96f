//! `inspector interfaces`: the network interfaces a live capture can use, and their link types.

use crate::source::LinkType;
use std::net::IpAddr;
use std::path::Path;

/// A network interface, for `inspector interfaces`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InterfaceInfo {
    /// Its name (`lo`, `eth0`).
    pub name: String,
    /// The kernel's interface index.
    pub index: u32,
    /// Administratively up.
    pub up: bool,
    /// The loopback interface.
    pub loopback: bool,
    /// Its IP addresses.
    pub addresses: Vec<IpAddr>,
    /// The link-layer header its frames carry.
    #[serde(serialize_with = "link_type_name")]
    pub link_type: LinkType,
}

fn link_type_name<S: serde::Serializer>(l: &LinkType, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(l)
}

/// Every network interface the system has.
pub fn list_interfaces() -> Vec<InterfaceInfo> {
    pnet_datalink::interfaces()
        .into_iter()
        .map(|i| InterfaceInfo {
            link_type: link_type_of(&i.name),
            up: i.is_up(),
            loopback: i.is_loopback(),
            addresses: i.ips.iter().map(|n| n.ip()).collect(),
            index: i.index,
            name: i.name,
        })
        .collect()
}

/// The link-layer header an `AF_PACKET` raw socket delivers on `iface`, from its ARPHRD type.
pub(super) fn link_type_of(iface: &str) -> LinkType {
    let path = Path::new("/sys/class/net").join(iface).join("type");
    match std::fs::read_to_string(path)
        .ok()
        .and_then(|t| t.trim().parse::<u32>().ok())
    {
        // ARPHRD_NONE (tun), ARPHRD_IPGRE, ARPHRD_TUNNEL(6), ARPHRD_SIT: no link header.
        Some(65534 | 778 | 768 | 769 | 776) => LinkType::RAW,
        // ARPHRD_ETHER, ARPHRD_LOOPBACK (zeroed Ethernet header) and the rest.
        _ => LinkType::ETHERNET,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_listed() {
        assert!(
            list_interfaces()
                .iter()
                .any(|i| i.loopback && i.name == "lo")
        );
    }
}
