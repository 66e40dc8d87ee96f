//! Lab 6's network: four hosts (`client`, `server`, `eve`, `victim`), each a Linux network
//! namespace with one veth link into a bridge in the root namespace, built and removed with
//! `ip`. The bridge floods every frame (a hub) or learns addresses (a switch).
//!
//! Every name starts with one prefix (`ftplab6-`), so a run first removes whatever a killed run
//! left: the processes inside its namespaces, the namespaces (their veth ends go with them) and
//! the bridge. Ctrl-C removes the network through [`crate::procs`]; dropping it does too.

use crate::error::LabError;
use crate::procs;
use std::net::Ipv4Addr;
use std::process::Command;
use std::time::Duration;

/// The prefix of lab 6's namespaces and links (`FTPLAB_NETNS_PREFIX` overrides it, for tests).
pub const PREFIX: &str = "ftplab6-";

/// The name of each host's interface inside its namespace.
pub const IFACE: &str = "eth0";

/// How long one `ip` command may take.
const IP_LIMIT: Duration = Duration::from_secs(20);

/// One host of the lab's segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Host {
    /// Its name (and, after the prefix, its namespace's).
    pub name: &'static str,
    /// Its IPv4 address in 10.66.0.0/24.
    pub ip: Ipv4Addr,
    /// Its MAC address: fixed and locally administered (02:…), so captures read the same.
    pub mac: &'static str,
}

/// The FTP client.
pub const CLIENT: Host = Host {
    name: "client",
    ip: Ipv4Addr::new(10, 66, 0, 1),
    mac: "02:66:00:00:00:01",
};
/// The FTP server.
pub const SERVER: Host = Host {
    name: "server",
    ip: Ipv4Addr::new(10, 66, 0, 2),
    mac: "02:66:00:00:00:02",
};
/// The eavesdropper.
pub const EVE: Host = Host {
    name: "eve",
    ip: Ipv4Addr::new(10, 66, 0, 3),
    mac: "02:66:00:00:00:03",
};
/// The host a bounce attack makes the server connect to.
pub const VICTIM: Host = Host {
    name: "victim",
    ip: Ipv4Addr::new(10, 66, 0, 4),
    mac: "02:66:00:00:00:04",
};

/// Every host, in address order.
pub const HOSTS: [Host; 4] = [CLIENT, SERVER, EVE, VICTIM];

/// What the bridge does with a frame for a known address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BridgeMode {
    /// Forgets addresses at once (ageing time 0), so it floods every frame to every port.
    Hub,
    /// Learns which port each address is behind and sends frames only there.
    Switch,
}

/// The lab's network; removed when dropped.
#[derive(Debug)]
pub struct Network {
    prefix: String,
}

/// The prefix this run uses.
pub fn prefix() -> String {
    std::env::var("FTPLAB_NETNS_PREFIX").unwrap_or_else(|_| PREFIX.to_string())
}

/// Why the network cannot be built here, or `None` when it can (root, `ip` present).
pub fn missing_privilege() -> Option<String> {
    if !rustix::process::geteuid().is_root() {
        return Some(
            "lab 6 builds a network of namespaces with `ip netns` and a bridge, which needs root \
             (CAP_NET_ADMIN); run it with sudo, or read the shipped captures with \
             `just lab6 --offline`"
                .into(),
        );
    }
    if ip(&["-V"]).is_err() {
        return Some(
            "lab 6 needs the `ip` command (apt-get install iproute2), or `just lab6 --offline`"
                .into(),
        );
    }
    None
}

/// Runs `ip ARGS`; the error says what `ip` printed.
fn ip(args: &[&str]) -> Result<String, LabError> {
    let mut cmd = Command::new("ip");
    cmd.args(args);
    let out = procs::run_bounded("ip", &mut cmd, b"", IP_LIMIT)?;
    if !out.success() {
        return Err(LabError::Failed {
            what: format!("ip {}", args.join(" ")),
            stderr: out.stderr.trim().to_owned(),
        });
    }
    Ok(out.stdout)
}

/// The lab's namespaces that exist now (a killed run's, or this run's).
pub fn namespaces(prefix: &str) -> Vec<String> {
    ip(&["netns", "list"])
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(prefix))
        .map(str::to_owned)
        .collect()
}

/// Processes running inside the lab's namespaces.
pub fn processes(prefix: &str) -> Vec<i32> {
    namespaces(prefix)
        .iter()
        .flat_map(|ns| {
            ip(&["netns", "pids", ns])
                .unwrap_or_default()
                .lines()
                .filter_map(|l| l.trim().parse::<i32>().ok())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Removes everything named with `prefix`: kills the processes in its namespaces, deletes the
/// namespaces (their veth ends and the peers go with them) and the bridge. Safe to repeat.
pub fn remove_all(prefix: &str) {
    // A process that outlives its namespace's name would keep the namespace alive, unnamed.
    for pid in processes(prefix) {
        if let Some(pid) = rustix::process::Pid::from_raw(pid) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
    }
    for ns in namespaces(prefix) {
        let _ = ip(&["netns", "delete", &ns]);
    }
    let links = ip(&["-o", "link", "show"]).unwrap_or_default();
    for line in links.lines() {
        // `7: ftplab6-br: <BROADCAST,…`, a veth end as `ftplab6-eve@if2:`.
        let Some(name) = line.split(':').nth(1).map(str::trim) else {
            continue;
        };
        let name = name.split('@').next().unwrap_or(name);
        if name.starts_with(prefix) {
            let _ = ip(&["link", "delete", name]);
        }
    }
}

impl Network {
    /// Removes what a killed run left, then builds the bridge and the four hosts.
    pub fn create(mode: BridgeMode) -> Result<Self, LabError> {
        if let Some(why) = missing_privilege() {
            return Err(LabError::NeedsRoot(why));
        }
        let prefix = prefix();
        remove_all(&prefix);
        procs::register_network(&prefix);
        let net = Self { prefix };
        net.build(mode)
            .map_err(LabError::step("cannot build lab 6's network"))?;
        Ok(net)
    }

    fn build(&self, mode: BridgeMode) -> Result<(), LabError> {
        let br = self.bridge();
        ip(&["link", "add", &br, "type", "bridge", "stp_state", "0"])?;
        self.set_mode(mode)?;
        ip(&["link", "set", &br, "up"])?;
        for h in HOSTS {
            let ns = self.namespace(h);
            let outer = format!("{}{}", self.prefix, h.name);
            ip(&["netns", "add", &ns])?;
            ip(&[
                "link", "add", &outer, "type", "veth", "peer", "name", IFACE, "netns", &ns,
            ])?;
            ip(&["link", "set", &outer, "master", &br, "up"])?;
            // No IPv6: its router and multicast chatter would fill the captures.
            self.sysctl(h, &["net.ipv6.conf.all.disable_ipv6=1"])?;
            let addr = format!("{}/24", h.ip);
            ip(&["-n", &ns, "link", "set", IFACE, "address", h.mac])?;
            ip(&["-n", &ns, "addr", "add", &addr, "dev", IFACE])?;
            ip(&["-n", &ns, "link", "set", IFACE, "up"])?;
            ip(&["-n", &ns, "link", "set", "lo", "up"])?;
        }
        Ok(())
    }

    /// Makes the bridge a hub or a switch (and forgets what it learned).
    pub fn set_mode(&self, mode: BridgeMode) -> Result<(), LabError> {
        // iproute2 takes the ageing time in centiseconds: 30000 is Linux's default 300 s.
        let ageing = match mode {
            BridgeMode::Hub => "0",
            BridgeMode::Switch => "30000",
        };
        ip(&[
            "link",
            "set",
            &self.bridge(),
            "type",
            "bridge",
            "ageing_time",
            ageing,
        ])?;
        Ok(())
    }

    /// The bridge's name in the root namespace.
    pub fn bridge(&self) -> String {
        format!("{}br", self.prefix)
    }

    /// The namespace of `host`.
    pub fn namespace(&self, host: Host) -> String {
        format!("{}{}", self.prefix, host.name)
    }

    /// `ip netns exec NS PROGRAM`: `ip` execs the program, so the child is the program itself.
    pub fn command(&self, host: Host, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.namespace(host)])
            .arg(program);
        cmd
    }

    /// Sets kernel parameters inside `host`'s namespace (`sysctl -w A=B …`).
    pub fn sysctl(&self, host: Host, settings: &[&str]) -> Result<(), LabError> {
        let mut cmd = self.command(host, "sysctl");
        cmd.arg("-q").arg("-w").args(settings);
        let out = procs::run_bounded("sysctl", &mut cmd, b"", IP_LIMIT)?;
        if !out.success() {
            return Err(LabError::Failed {
                what: format!("sysctl in {}", host.name),
                stderr: out.stderr.trim().to_owned(),
            });
        }
        Ok(())
    }

    /// Runs `ip ARGS` inside `host`'s namespace.
    pub fn ip_in(&self, host: Host, args: &[&str]) -> Result<String, LabError> {
        let ns = self.namespace(host);
        let mut all = vec!["-n", ns.as_str()];
        all.extend_from_slice(args);
        ip(&all)
    }

    /// The MAC address `host`'s ARP cache holds for `of`, if any.
    pub fn arp_entry(&self, host: Host, of: Host) -> Option<String> {
        let of_ip = of.ip.to_string();
        let out = self
            .ip_in(host, &["neigh", "show", &of_ip, "dev", IFACE])
            .ok()?;
        let mut words = out.split_whitespace();
        words.find(|w| *w == "lladdr")?;
        words.next().map(str::to_lowercase)
    }

    /// Pings `to` once from `from` (fills both ARP caches).
    pub fn ping(&self, from: Host, to: Host) -> bool {
        let mut cmd = self.command(from, "ping");
        cmd.args(["-c", "1", "-W", "2"]).arg(to.ip.to_string());
        procs::run_bounded("ping", &mut cmd, b"", IP_LIMIT).is_ok_and(|o| o.success())
    }

    /// The prefix of its names.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        remove_all(&self.prefix);
        procs::unregister_network(&self.prefix);
    }
}
