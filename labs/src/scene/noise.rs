//! The noise around the incident: a DNS server answering A queries for the incident's names, a
//! web server, and a workstation using both until stopped.

use super::actor::connect_from;
use super::{FTP_NAME, Plan, io};
use crate::error::LabError;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// A small DNS query for `name` (type A).
fn dns_query(id: u16, name: &str) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        m.push(u8::try_from(label.len()).unwrap_or(63).min(63));
        m.extend_from_slice(
            label
                .as_bytes()
                .get(..63.min(label.len()))
                .unwrap_or_default(),
        );
    }
    m.extend_from_slice(&[0, 0, 1, 0, 1]);
    m
}

/// The question name of a DNS query (labels after the 12-byte header), if it is one.
fn dns_name(q: &[u8]) -> Option<(String, usize)> {
    let mut pos = 12;
    let mut labels = Vec::new();
    // Bounded: each label advances `pos`; names have at most 127 labels.
    for _ in 0..128 {
        let len = usize::from(*q.get(pos)?);
        if len == 0 {
            return Some((labels.join("."), pos + 1));
        }
        labels.push(String::from_utf8_lossy(q.get(pos + 1..pos + 1 + len)?).into_owned());
        pos += 1 + len;
    }
    None
}

/// The answer to a query: the address of the name, or NXDOMAIN.
fn dns_answer(q: &[u8], table: &[(String, Ipv4Addr)]) -> Option<Vec<u8>> {
    let (name, end) = dns_name(q)?;
    let question = q.get(12..end + 4)?;
    let hit = table.iter().find(|(n, _)| *n == name).map(|(_, ip)| *ip);
    let mut m = q.get(..2)?.to_vec();
    m.extend_from_slice(if hit.is_some() {
        &[0x81, 0x80]
    } else {
        &[0x81, 0x83]
    });
    m.extend_from_slice(&[0, 1, 0, u8::from(hit.is_some()), 0, 0, 0, 0]);
    m.extend_from_slice(question);
    if let Some(ip) = hit {
        m.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x01, 0x2c, 0, 4]);
        m.extend_from_slice(&ip.octets());
    }
    Some(m)
}

/// The DNS and web servers and the workstation that uses them, until stopped.
pub(super) struct Noise {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
    pub(super) dns: SocketAddr,
}

impl Noise {
    pub(super) fn start(plan: &Plan) -> Result<Self, LabError> {
        let stop = Arc::new(AtomicBool::new(false));
        let udp = UdpSocket::bind((plan.dns, 53))
            .or_else(|_| UdpSocket::bind((plan.dns, 0)))
            .map_err(io(
                "cannot start the incident's DNS server on a 127.77.x.y address (Linux routes all of \
                 127.0.0.0/8 to loopback; other systems need an alias on lo)",
            ))?;
        udp.set_read_timeout(Some(Duration::from_millis(50)))
            .map_err(io("cannot set up the DNS server"))?;
        let dns = udp.local_addr().map_err(io("DNS server address"))?;
        let web = TcpListener::bind((plan.web, 80))
            .or_else(|_| TcpListener::bind((plan.web, 8080)))
            .or_else(|_| TcpListener::bind((plan.web, 0)))
            .map_err(io("cannot start the incident's web server on loopback"))?;
        web.set_nonblocking(true)
            .map_err(io("cannot set up the web server"))?;
        let web_addr = web.local_addr().map_err(io("web server address"))?;
        let table = vec![
            (FTP_NAME.to_string(), plan.server),
            ("intranet.corp.example".to_string(), plan.web),
            ("wiki.corp.example".to_string(), plan.web),
        ];
        let mut threads = Vec::new();
        let s = stop.clone();
        threads.push(std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            while !s.load(Ordering::Relaxed) {
                if let Ok((n, from)) = udp.recv_from(&mut buf)
                    && let Some(a) = dns_answer(buf.get(..n).unwrap_or_default(), &table)
                {
                    let _ = udp.send_to(&a, from);
                }
            }
        }));
        let s = stop.clone();
        threads.push(std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match web.accept() {
                    Ok((mut conn, _)) => {
                        let _ = conn.set_nonblocking(false);
                        let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
                        let mut req = [0u8; 1024];
                        let n = conn.read(&mut req).unwrap_or(0);
                        let path = String::from_utf8_lossy(req.get(..n).unwrap_or_default())
                            .split_whitespace()
                            .nth(1)
                            .unwrap_or("/")
                            .to_string();
                        let body = format!(
                            "<html><head><title>Intranet</title></head><body><h1>{path}</h1>\
                             <p>Canteen menu, room bookings, the phone list.</p></body></html>\n"
                        );
                        let _ = conn.write_all(
                            format!(
                                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\
                                 Connection: close\r\n\r\n{body}",
                                body.len()
                            )
                            .as_bytes(),
                        );
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        }));
        let s = stop.clone();
        let ws = plan.workstation;
        threads.push(std::thread::spawn(move || {
            let pages = ["/", "/menu", "/phone-list", "/rooms", "/news"];
            // Bounded: at most 200 rounds of about 120 ms, or until stopped.
            for i in 0..200usize {
                if s.load(Ordering::Relaxed) {
                    break;
                }
                let names = ["intranet.corp.example", "wiki.corp.example", "updates.vendor.example"];
                lookup(ws, dns, names.get(i % names.len()).copied().unwrap_or("x"), i);
                if let Ok(mut c) = connect_from(ws, web_addr, None) {
                    let page = pages.get(i % pages.len()).copied().unwrap_or("/");
                    let _ = c.write_all(
                        format!("GET {page} HTTP/1.1\r\nHost: intranet.corp.example\r\nUser-Agent: Mozilla/5.0\r\n\r\n").as_bytes(),
                    );
                    let _ = std::io::copy(&mut c, &mut std::io::sink());
                }
                std::thread::sleep(Duration::from_millis(120));
            }
        }));
        Ok(Self { stop, threads, dns })
    }

    pub(super) fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// A DNS lookup from `from`, waiting briefly for the answer.
pub(super) fn lookup(from: Ipv4Addr, dns: SocketAddr, name: &str, id: usize) {
    let Ok(sock) = UdpSocket::bind((from, 0)) else {
        return;
    };
    let _ = sock.set_read_timeout(Some(Duration::from_millis(300)));
    let id = u16::try_from(id % 65_000)
        .unwrap_or(0)
        .wrapping_mul(7919)
        .wrapping_add(0x1234);
    if sock.send_to(&dns_query(id, name), dns).is_ok() {
        let mut buf = [0u8; 512];
        let _ = sock.recv_from(&mut buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_answers_name_the_address_or_say_nxdomain() {
        let table = vec![(FTP_NAME.to_string(), Ipv4Addr::new(127, 77, 1, 2))];
        let q = dns_query(7, FTP_NAME);
        assert_eq!(dns_name(&q).map(|(n, _)| n), Some(FTP_NAME.to_string()));
        let a = dns_answer(&q, &table).unwrap_or_default();
        assert!(a.ends_with(&[127, 77, 1, 2]), "{a:?}");
        let nx = dns_answer(&dns_query(8, "nowhere.example"), &table).unwrap_or_default();
        assert_eq!(nx.get(3).copied(), Some(0x83));
        assert!(dns_answer(&[1, 2, 3], &table).is_none());
    }
}
