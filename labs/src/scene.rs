//! Lab 7's incident, played once per seed on loopback addresses of its own (127.77.0.0/16) and
//! captured: a staff download, a dictionary attack, a login from another address, a directory
//! walk, a download resumed with REST, an upload, a refused bounce, DNS and HTTP noise; then a
//! few data segments are left out of the capture on purpose (lost segments).
//!
//! The actors are real sockets bound to their own source addresses (Linux routes all of
//! 127.0.0.0/8 to loopback) talking to a real `ftp-server`; the FTP lines are encoded and the
//! replies decoded with `ftp-proto`, so the capture is what a real client leaves.

use crate::error::LabError;
use crate::live::LiveInspector;
use crate::procs::{self, Guard, WorkDir};
use crate::seed::Secrets;
use crate::tools::Tools;
use ftp_proto::{Command, Reply, ReplyDecoder};
use rand_08::rngs::StdRng;
use rand_08::{Rng, SeedableRng};
use socket2::{Domain, Protocol, Socket, Type};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The incident's addresses all lie in 127.77.0.0/16: the capture keeps only these.
pub const NET: [u8; 2] = [127, 77];
/// The staff account (a demo user of `ftp-server init --demo`): the harmless traffic.
pub const STAFF_USER: &str = "user3";
const STAFF_PASSWORD: &str = "pass3";
/// The name the FTP server has in the incident's DNS answers.
pub const FTP_NAME: &str = "files.corp.example";
/// How long one socket operation of an actor may take.
const IO_LIMIT: Duration = Duration::from_secs(10);
/// Receive buffer of the actors' data connections: small, so a download takes many segments
/// and an interrupted one is interrupted while the server is still sending.
const DATA_RCVBUF: usize = 4096;

/// Passwords the dictionary attack tries, in its order (none is the account's).
const DICTIONARY: [&str; 16] = [
    "123456",
    "password",
    "letmein",
    "qwerty",
    "admin",
    "welcome",
    "dragon",
    "monkey",
    "secret",
    "ftp",
    "abc123",
    "iloveyou",
    "Summer2026",
    "changeme",
    "P@ssw0rd",
    "trustno1",
];
/// Names of the file the intruder uploads.
const EXFIL_NAMES: [&str; 6] = [
    "payroll-2026.xlsx",
    "customers.csv",
    "vpn-keys.tar",
    "passwords.kdbx",
    "merger-draft.docx",
    "hr-salaries.ods",
];
/// Names of the archive the intruder downloads in two parts.
const ARCHIVE_NAMES: [&str; 4] = [
    "source-2026.tar.gz",
    "backup-db.tar.gz",
    "design.zip",
    "firmware.bin",
];
/// Names of the file the staff user downloads (the one with lost segments).
const STAFF_NAMES: [&str; 4] = [
    "handbook.pdf",
    "price-list.pdf",
    "minutes.odt",
    "roadmap.pdf",
];

/// Everything the incident does, derived from the secrets alone: the same seed or token always
/// gives the same incident (but other times, ports of data connections and frame numbers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The FTP server's address.
    pub server: Ipv4Addr,
    /// The port it should listen on (another one when taken).
    pub port: u16,
    /// The dictionary attack's address.
    pub attacker: Ipv4Addr,
    /// The address the account was used from.
    pub intruder: Ipv4Addr,
    /// The staff member's address.
    pub staff: Ipv4Addr,
    /// A workstation making the noise (DNS and HTTP).
    pub workstation: Ipv4Addr,
    /// The DNS server.
    pub dns: Ipv4Addr,
    /// The web server.
    pub web: Ipv4Addr,
    /// The address the bounce attempt names.
    pub third_party: SocketAddrV4,
    /// The attacked account.
    pub user: String,
    /// Its password.
    pub password: String,
    /// The attacker's guesses, all wrong.
    pub guesses: Vec<String>,
    /// The archive downloaded in two parts: folder, name, contents.
    pub archive: (String, String, Vec<u8>),
    /// Bytes of it saved before the break: the REST offset.
    pub cut: usize,
    /// The uploaded file: name and contents.
    pub exfil: (String, Vec<u8>),
    /// The staff member's download: name and contents.
    pub staff_file: (String, Vec<u8>),
}

fn address(rng: &mut StdRng, taken: &mut Vec<Ipv4Addr>) -> Ipv4Addr {
    // Bounded: 254×253 addresses, a handful taken.
    loop {
        let a = Ipv4Addr::new(
            NET[0],
            NET[1],
            rng.gen_range(1..=254),
            rng.gen_range(2..=254),
        );
        if !taken.contains(&a) {
            taken.push(a);
            return a;
        }
    }
}

fn bytes(rng: &mut StdRng, len: usize) -> Vec<u8> {
    (0..len).map(|_| rng.r#gen::<u8>()).collect()
}

impl Plan {
    /// The incident of these secrets.
    pub fn new(s: &Secrets) -> Self {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        for part in [
            b"ftplab/lab7\0".as_slice(),
            s.user.as_bytes(),
            b"\0",
            s.password.as_bytes(),
            b"\0",
            &s.notes,
        ] {
            h.update(part);
        }
        let mut rng = StdRng::from_seed(h.finalize().into());
        let mut taken = Vec::new();
        let server = address(&mut rng, &mut taken);
        let mut port = rng.gen_range(2000..10000);
        if port == 2121 {
            port = 2122;
        }
        let attacker = address(&mut rng, &mut taken);
        let intruder = address(&mut rng, &mut taken);
        let staff = address(&mut rng, &mut taken);
        let workstation = address(&mut rng, &mut taken);
        let dns = address(&mut rng, &mut taken);
        let web = address(&mut rng, &mut taken);
        let third = address(&mut rng, &mut taken);
        let third_party = SocketAddrV4::new(third, rng.gen_range(1025..60000));
        let n = rng.gen_range(6..=12);
        let mut words: Vec<&str> = DICTIONARY.to_vec();
        for i in (1..words.len()).rev() {
            words.swap(i, rng.gen_range(0..=i));
        }
        let guesses = words
            .into_iter()
            .filter(|w| *w != s.password)
            .take(n)
            .map(str::to_string)
            .collect();
        let archive_len = rng.gen_range(80_000..140_000);
        let archive = (
            "projects".to_string(),
            ARCHIVE_NAMES[rng.gen_range(0..ARCHIVE_NAMES.len())].to_string(),
            bytes(&mut rng, archive_len),
        );
        let cut = rng.gen_range(archive_len / 5..archive_len / 2);
        let exfil_name = EXFIL_NAMES[rng.gen_range(0..EXFIL_NAMES.len())].to_string();
        let mut exfil = format!(
            "CONFIDENTIAL: {exfil_name}, for {} only. Reference {:08x}.\n",
            s.user,
            rng.r#gen::<u32>()
        )
        .into_bytes();
        let extra = rng.gen_range(2000..6000);
        for i in 0..extra / 40 {
            exfil.extend_from_slice(
                format!(
                    "row {i:04}; account {:06}; {:>10}\n",
                    rng.gen_range(0..1_000_000),
                    rng.gen_range(0..99_999)
                )
                .as_bytes(),
            );
        }
        let staff_len = rng.gen_range(40_000..70_000);
        let staff_file = (
            STAFF_NAMES[rng.gen_range(0..STAFF_NAMES.len())].to_string(),
            bytes(&mut rng, staff_len),
        );
        Self {
            server,
            port,
            attacker,
            intruder,
            staff,
            workstation,
            dns,
            web,
            third_party,
            user: s.user.clone(),
            password: s.password.clone(),
            guesses,
            archive,
            cut,
            exfil: (exfil_name, exfil),
            staff_file,
        }
    }
}

impl Plan {
    /// Every address of the incident: the capture keeps the frames from or to these only (so a
    /// second incident played at the same time, another seed's, stays out).
    pub fn addresses(&self) -> [Ipv4Addr; 8] {
        [
            self.server,
            self.attacker,
            self.intruder,
            self.staff,
            self.workstation,
            self.dns,
            self.web,
            *self.third_party.ip(),
        ]
    }
}

/// Whether an IPv4 address lies in the incidents' network, 127.77.0.0/16.
pub fn in_net(ip: [u8; 4]) -> bool {
    ip[0] == NET[0] && ip[1] == NET[1]
}

fn io(what: &'static str) -> impl FnOnce(std::io::Error) -> LabError {
    LabError::io(what)
}

/// A TCP connection from `from` (any port) to `to`; with `rcvbuf`, a small receive buffer.
fn connect_from(
    from: Ipv4Addr,
    to: SocketAddr,
    rcvbuf: Option<usize>,
) -> std::io::Result<TcpStream> {
    let s = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    if let Some(n) = rcvbuf {
        s.set_recv_buffer_size(n)?;
    }
    s.bind(&SocketAddr::from((from, 0)).into())?;
    s.connect_timeout(&to.into(), IO_LIMIT)?;
    let t: TcpStream = s.into();
    t.set_read_timeout(Some(IO_LIMIT))?;
    t.set_write_timeout(Some(IO_LIMIT))?;
    Ok(t)
}

/// An actor's control connection.
struct Ftp {
    ip: Ipv4Addr,
    ctrl: TcpStream,
    buf: Vec<u8>,
}

fn bad(what: String) -> std::io::Error {
    std::io::Error::other(what)
}

impl Ftp {
    fn open(ip: Ipv4Addr, server: SocketAddr) -> std::io::Result<(Self, Reply)> {
        let ctrl = connect_from(ip, server, None)?;
        let mut ftp = Self {
            ip,
            ctrl,
            buf: Vec::new(),
        };
        let greeting = ftp.reply()?;
        Ok((ftp, greeting))
    }

    fn reply(&mut self) -> std::io::Result<Reply> {
        let decoder = ReplyDecoder::default();
        // Bounded: each round reads at least one byte or fails (read timeout, closed).
        loop {
            match decoder.decode(&self.buf) {
                Ok(Some((reply, used))) => {
                    self.buf.drain(..used);
                    return Ok(reply);
                }
                Ok(None) => {}
                Err(e) => return Err(bad(format!("not an FTP reply: {e}"))),
            }
            let mut chunk = [0u8; 4096];
            let n = self.ctrl.read(&mut chunk)?;
            if n == 0 {
                return Err(bad("the server closed the control connection".into()));
            }
            self.buf
                .extend_from_slice(chunk.get(..n).unwrap_or_default());
        }
    }

    fn send(&mut self, cmd: &Command) -> std::io::Result<Reply> {
        self.ctrl.write_all(format!("{cmd}\r\n").as_bytes())?;
        self.reply()
    }

    /// Sends `cmd` and wants a reply of `code`.
    fn want(&mut self, cmd: &Command, code: u16) -> std::io::Result<Reply> {
        let r = self.send(cmd)?;
        if r.code.0 != code {
            return Err(bad(format!(
                "`{}` got {} {}, not {code}",
                cmd.verb(),
                r.code.0,
                r.text()
            )));
        }
        Ok(r)
    }

    /// Sends `cmd` and wants a positive completion (2yz).
    fn ok(&mut self, cmd: &Command) -> std::io::Result<Reply> {
        let r = self.send(cmd)?;
        if !r.code.is_positive_completion() {
            return Err(bad(format!(
                "`{}` got {} {}",
                cmd.verb(),
                r.code.0,
                r.text()
            )));
        }
        Ok(r)
    }

    fn login(&mut self, user: &str, password: &str) -> std::io::Result<Reply> {
        self.want(
            &Command::User {
                name: user.to_string(),
            },
            331,
        )?;
        self.send(&Command::Pass {
            password: password.to_string(),
        })
    }

    /// PASV, then the data connection from this actor's address.
    fn data(&mut self) -> std::io::Result<TcpStream> {
        let r = self.want(&Command::Pasv, 227)?;
        let addr = ftp_proto::host_port::parse_pasv_reply(&r.text())
            .map_err(|e| bad(format!("227 without an address: {e}")))?;
        connect_from(self.ip, SocketAddr::V4(addr), Some(DATA_RCVBUF))
    }

    /// A transfer into memory (RETR, LIST); with `limit`, the data connection is dropped after
    /// that many bytes (an interrupted download). Returns the bytes and the final reply.
    fn fetch(&mut self, cmd: &Command, limit: Option<usize>) -> std::io::Result<(Vec<u8>, Reply)> {
        let mut data = self.data()?;
        let first = self.send(cmd)?;
        if !first.code.is_positive_preliminary() {
            return Err(bad(format!("`{}` got {}", cmd.verb(), first.code.0)));
        }
        let mut out = Vec::new();
        let mut chunk = [0u8; 2048];
        // Bounded: each read brings bytes, or ends (EOF, timeout).
        loop {
            let want = limit.map_or(chunk.len(), |l| (l - out.len()).min(chunk.len()));
            if want == 0 {
                break;
            }
            let n = data.read(chunk.get_mut(..want).unwrap_or_default())?;
            if n == 0 {
                break;
            }
            out.extend_from_slice(chunk.get(..n).unwrap_or_default());
        }
        drop(data);
        Ok((out, self.reply()?))
    }

    fn store(&mut self, name: &str, contents: &[u8]) -> std::io::Result<Reply> {
        let mut data = self.data()?;
        let first = self.send(&Command::Stor {
            path: name.to_string(),
        })?;
        if !first.code.is_positive_preliminary() {
            return Err(bad(format!("STOR got {}", first.code.0)));
        }
        data.write_all(contents)?;
        data.shutdown(std::net::Shutdown::Write)?;
        // Wait for the server's close so the upload ends with its FIN.
        let mut rest = [0u8; 64];
        let _ = data.read(&mut rest);
        drop(data);
        self.reply()
    }

    fn quit(mut self) {
        let _ = self.send(&Command::Quit);
    }
}

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
struct Noise {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
    dns: SocketAddr,
}

impl Noise {
    fn start(plan: &Plan) -> Result<Self, LabError> {
        let stop = Arc::new(AtomicBool::new(false));
        let udp = UdpSocket::bind((plan.dns, 53))
            .or_else(|_| UdpSocket::bind((plan.dns, 0)))
            .map_err(io("cannot start the incident's DNS server on loopback"))?;
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

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// A DNS lookup from `from`, waiting briefly for the answer.
fn lookup(from: Ipv4Addr, dns: SocketAddr, name: &str, id: usize) {
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

fn pause(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

/// The incident's actors, one after the other (the noise runs meanwhile).
fn play(plan: &Plan, server: SocketAddr, dns: SocketAddr) -> std::io::Result<()> {
    // The staff member fetches a document (its segments are the ones lost later).
    lookup(plan.staff, dns, FTP_NAME, 1);
    let (mut ftp, _) = Ftp::open(plan.staff, server)?;
    let r = ftp.login(STAFF_USER, STAFF_PASSWORD)?;
    if r.code.0 != 230 {
        return Err(bad(format!("the staff login got {}", r.code.0)));
    }
    ftp.ok(&Command::Type {
        transfer_type: ftp_proto::TransferType::Image,
    })?;
    let (got, _) = ftp.fetch(
        &Command::Retr {
            path: plan.staff_file.0.clone(),
        },
        None,
    )?;
    if got != plan.staff_file.1 {
        return Err(bad("the staff download came back different".into()));
    }
    ftp.quit();
    pause(300);
    // The dictionary attack: one connection per guess, as a tool with one task does it.
    lookup(plan.attacker, dns, FTP_NAME, 2);
    for guess in &plan.guesses {
        let (mut ftp, _) = Ftp::open(plan.attacker, server)?;
        let r = ftp.login(&plan.user, guess)?;
        if r.code.0 == 230 {
            return Err(bad("a dictionary guess was accepted".into()));
        }
        ftp.quit();
        pause(40);
    }
    pause(500);
    // The intruder, from another address, with the right password at the first try.
    lookup(plan.intruder, dns, FTP_NAME, 3);
    let (mut ftp, _) = Ftp::open(plan.intruder, server)?;
    let r = ftp.login(&plan.user, &plan.password)?;
    if r.code.0 != 230 {
        return Err(bad(format!("the intruder's login got {}", r.code.0)));
    }
    ftp.ok(&Command::Syst)?;
    ftp.ok(&Command::Pwd)?;
    ftp.fetch(&Command::List { path: None }, None)?;
    for dir in ["finance", &plan.archive.0] {
        ftp.ok(&Command::Cwd {
            path: dir.to_string(),
        })?;
        ftp.fetch(&Command::List { path: None }, None)?;
        if dir == "finance" {
            ftp.ok(&Command::Cdup)?;
        }
    }
    ftp.ok(&Command::Type {
        transfer_type: ftp_proto::TransferType::Image,
    })?;
    let retr = Command::Retr {
        path: plan.archive.1.clone(),
    };
    let (first, _) = ftp.fetch(&retr, Some(plan.cut))?;
    pause(400);
    let offset = u64::try_from(first.len()).unwrap_or(0);
    ftp.want(&Command::Rest { offset }, 350)?;
    let (second, _) = ftp.fetch(&retr, None)?;
    if [first, second].concat() != plan.archive.2 {
        return Err(bad("the resumed download came back different".into()));
    }
    ftp.ok(&Command::Cdup)?;
    // A bounce attempt: PORT naming a third host (the server refuses it).
    let r = ftp.send(&Command::Port {
        addr: plan.third_party,
    })?;
    if r.code.0 < 400 {
        return Err(bad(format!("the bounce PORT got {}", r.code.0)));
    }
    let r = ftp.store(&plan.exfil.0, &plan.exfil.1)?;
    if r.code.0 != 226 {
        return Err(bad(format!("the upload got {}", r.code.0)));
    }
    ftp.quit();
    Ok(())
}

/// The files of the incident's server: the attacked account's folders and the staff document.
fn lay_out(plan: &Plan, root: &Path, staff_root: &Path) -> std::io::Result<()> {
    let write = |p: PathBuf, data: &[u8]| -> std::io::Result<()> {
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(p, data)
    };
    write(root.join("finance/budget-2027.ods"), b"budget draft\n")?;
    write(root.join("finance/invoices.csv"), b"no;amount\n1;100\n")?;
    write(
        root.join(&plan.archive.0).join("README"),
        b"project files\n",
    )?;
    write(
        root.join(&plan.archive.0).join(&plan.archive.1),
        &plan.archive.2,
    )?;
    write(staff_root.join(&plan.staff_file.0), &plan.staff_file.1)
}

/// Plays the incident of `secrets` and writes its capture to `capture`; returns the plan.
/// Needs the capture privilege (`inspector live`); the frames of other addresses are left out,
/// and so are a few of the staff download's data segments (lost segments).
pub fn record(tools: &Tools, secrets: &Secrets, capture: &Path) -> Result<Plan, LabError> {
    let plan = Plan::new(secrets);
    let work = WorkDir::new("lab7-incident")?;
    let dir = work.path().join("server");
    let (root, _) = crate::stage::prepare(tools, &dir, secrets)?;
    let staff_root = dir.join("files").join("root3");
    lay_out(&plan, &root, &staff_root).map_err(io("cannot lay out the incident's files"))?;
    let (server, _guard) = start_server(tools, &dir, &plan)?;
    let raw = work.path().join("all-loopback.pcapng");
    let live = LiveInspector::start(
        tools,
        &[],
        &raw,
        None,
        false,
        Some(std::net::IpAddr::V4(plan.server)),
    )
    .map_err(|e| LabError::NoLiveCapture {
        lab: crate::lab::CAPSTONE,
        reason: e.to_string(),
    })?;
    let noise = Noise::start(&plan)?;
    pause(300);
    let played = play(&plan, server, noise.dns);
    pause(300);
    noise.stop();
    let _ = live.stop();
    played.map_err(|e| LabError::io("the incident did not play out as planned")(e))?;
    keep_incident(&raw, capture, &plan, server.port())?;
    Ok(plan)
}

fn start_server(tools: &Tools, dir: &Path, plan: &Plan) -> Result<(SocketAddr, Guard), LabError> {
    let log = dir.join("server.log");
    let mut last = None;
    for port in [plan.port, 0] {
        let mut cmd = Process::new(&tools.server);
        cmd.arg("--db")
            .arg(format!("sqlite://{}", dir.join("users.db").display()))
            .arg("serve")
            .arg("--listen")
            .arg(format!("{}:{port}", plan.server))
            .args([
                "--max-login-failures",
                "0",
                "--max-user-login-failures",
                "0",
                "--login-failure-delay-ms",
                "0",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(
                std::fs::File::create(&log)
                    .map_err(LabError::io(format!("cannot create {}", log.display())))?,
            );
        let mut guard = Guard::spawn("ftp-server", &mut cmd)?;
        let out = guard
            .take_stdout()
            .ok_or(LabError::Missing("ftp-server's output is piped"))?;
        let got = procs::wait_line(
            &procs::lines(out),
            Duration::from_secs(30),
            "ftp-server",
            |l| {
                l.strip_prefix("listening on ftp://")
                    .and_then(|a| a.trim().parse::<SocketAddr>().ok())
            },
        );
        match got {
            Ok(addr) => return Ok((addr, guard)),
            Err(e) => last = Some(e),
        }
    }
    let said = std::fs::read_to_string(&log).unwrap_or_default();
    Err(LabError::step(format!(
        "ftp-server did not start; it said:\n{}",
        said.trim()
    ))(
        last.unwrap_or(LabError::Missing("a server start was tried")),
    ))
}

/// The IPv4 source and destination of an Ethernet frame (loopback captures are Ethernet).
fn ipv4_addresses(bytes: &[u8]) -> Option<([u8; 4], [u8; 4])> {
    if bytes.get(12..14)? != [0x08, 0x00] {
        return None;
    }
    let src = bytes.get(26..30)?.try_into().ok()?;
    let dst = bytes.get(30..34)?.try_into().ok()?;
    Some((src, dst))
}

/// Frames of the staff download's data connection that carry bytes: the second and third of
/// them are the "lost" ones.
fn lost_frames(raw: &Path, plan: &Plan, ftp_port: u16) -> Result<Vec<u64>, LabError> {
    let packets = crate::packets::Packets::read(raw)?;
    let data: Vec<u64> = packets
        .0
        .iter()
        .filter(|p| {
            p.src.ip() == std::net::IpAddr::V4(plan.server)
                && p.dst.ip() == std::net::IpAddr::V4(plan.staff)
                && p.src.port() != ftp_port
                && !p.payload.is_empty()
        })
        .map(|p| p.frame)
        .collect();
    if data.len() < 5 {
        return Err(LabError::step(
            "the staff download took fewer than 5 segments",
        )(LabError::Missing(
            "enough data segments to lose two",
        )));
    }
    Ok(data.get(2..4).unwrap_or_default().to_vec())
}

/// Copies the frames of `raw` from or to the incident's addresses into `capture`, without the
/// lost ones.
fn keep_incident(raw: &Path, capture: &Path, plan: &Plan, ftp_port: u16) -> Result<(), LabError> {
    let lost = lost_frames(raw, plan, ftp_port)?;
    let fail = |stderr: String| LabError::Inspector {
        capture: raw.to_path_buf(),
        stderr,
    };
    let mut source = inspector::source::open_file(raw).map_err(|e| fail(e.to_string()))?;
    let mut writer =
        inspector::source::CaptureWriter::create(capture, "lo").map_err(|e| fail(e.to_string()))?;
    // Bounded by the file: every call consumes a record or ends.
    loop {
        let frame = match source.next_frame() {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(inspector::source::SourceError::BadRecord { .. }) => continue,
            Err(_) => break,
        };
        let mine = plan.addresses().map(|a| a.octets());
        let ours = ipv4_addresses(frame.bytes)
            .is_some_and(|(s, d)| mine.contains(&s) || mine.contains(&d));
        if ours && !lost.contains(&frame.number) {
            writer.write(&frame).map_err(|e| fail(e.to_string()))?;
        }
    }
    writer.finish().map_err(|e| fail(e.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_is_a_function_of_the_secrets() {
        let a = Plan::new(&Secrets::new(Some(3)));
        assert_eq!(a, Plan::new(&Secrets::new(Some(3))));
        let b = Plan::new(&Secrets::new(Some(4)));
        assert_ne!(
            (a.attacker, a.intruder, &a.exfil),
            (b.attacker, b.intruder, &b.exfil)
        );
        assert!(a.guesses.len() >= 6 && !a.guesses.contains(&a.password));
        assert!(a.cut > 0 && a.cut < a.archive.2.len());
        let all = a.addresses();
        assert!(
            all.iter().enumerate().all(|(i, x)| !all[..i].contains(x)),
            "{all:?}"
        );
        for ip in all {
            assert!(in_net(ip.octets()), "{ip}");
        }
    }

    #[test]
    fn addresses_come_from_ipv4_ethernet_frames_only() {
        let mut frame = vec![0u8; 34];
        frame[12] = 0x08;
        frame[26..30].copy_from_slice(&[127, 77, 1, 2]);
        frame[30..34].copy_from_slice(&[127, 77, 3, 4]);
        assert_eq!(
            ipv4_addresses(&frame),
            Some(([127, 77, 1, 2], [127, 77, 3, 4]))
        );
        assert_eq!(ipv4_addresses(&frame[..20]), None);
        frame[12] = 0x86;
        assert_eq!(ipv4_addresses(&frame), None);
        assert_eq!(ipv4_addresses(&[]), None);
    }

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
