//! Live capture: frames from a network interface through pnet's datalink channel (issue 6).
//!
//! The socket is an `AF_PACKET` socket that we open ourselves (socket2) and hand to pnet, so the
//! kernel options pnet does not offer can be set on it first: a large receive buffer
//! (`SO_RCVBUFFORCE`), and on loopback a classic BPF filter that drops the outgoing copy of each
//! packet — Linux shows every loopback packet twice, once leaving and once arriving, and pnet's
//! receiver does not say which is which. Frames are then filtered early by TCP port: the FTP
//! control ports, plus the data ports learned from PORT, EPRT, 227 and 229 on the control
//! connections, so unrelated traffic is dropped before the rest of the pipeline sees it.

pub mod pcapng_writer;

use super::{LinkType, PacketSource, RawFrame, SourceError};
use crate::frame::{self, Decoded};
pub use pcapng_writer::{CaptureWriter, WriteError};
use pnet_datalink::{Channel, DataLinkReceiver};
use socket2::{Domain, Socket, Type};
use std::fs::File;
use std::io::{self, BufWriter, Read};
use std::net::IpAddr;
use std::os::fd::IntoRawFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// What to say when the process may not open a packet socket.
pub const PRIVILEGE_MESSAGE: &str = "inspector needs CAP_NET_RAW to capture: run sudo setcap \
cap_net_raw,cap_net_admin+ep $(which inspector), or run it with sudo, or analyse a saved capture \
with inspector read FILE";

/// pnet's default read buffer is 4 KiB; loopback frames reach 64 KiB plus headers (MTU 65536,
/// and segmentation offload hands the socket whole 64 KiB super-packets). A frame that fills
/// the buffer may have been cut and is counted in [`LiveStats::frames_at_buffer_limit`].
pub const READ_BUFFER: usize = 256 * 1024;

/// Default socket receive buffer (the kernel doubles the value it is given for bookkeeping).
/// It is accounting, not preallocated memory: it only fills while the reader lags behind.
/// A 1 GiB RETR at full loopback speed outruns the reader (it hashes every byte) by about half
/// a gigabyte: with 256 MiB (512 granted) 5 of 10 such runs lost frames, with 1 GiB none did.
pub const RECV_BUFFER: usize = 1 << 30;

/// How long one wait for a frame lasts, so that a stop request or `--duration` is noticed.
pub const READ_TIMEOUT: Duration = Duration::from_millis(100);

/// After a stop request, how long frames already queued may still be read. At the stop the
/// socket's filter is replaced by one that accepts nothing, so the drain reads exactly what the
/// kernel held at that moment (up to a gigabyte when the reader lagged behind a fast transfer)
/// and then ends; this only bounds it. [`LiveSource::stop_now_handle`] ends it at once.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(60);

/// The drain's bound when the accept-nothing filter could not be attached: new traffic keeps
/// arriving, so the queue may never be empty.
const DRAIN_LIMIT_UNFILTERED: Duration = Duration::from_secs(2);

/// Could not start a live capture.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// The process lacks CAP_NET_RAW (the message says how to get it).
    #[error("{}", PRIVILEGE_MESSAGE)]
    NoPrivilege {
        /// The operating system's reason.
        source: io::Error,
    },
    /// No interface has that name.
    #[error(
        "no network interface named {iface:?} (interfaces: {available}); inspector interfaces lists them"
    )]
    NoSuchInterface {
        /// The name asked for.
        iface: String,
        /// The names there are, comma-separated.
        available: String,
    },
    /// A step of opening the capture failed.
    #[error("cannot capture on {iface}: {step}: {source}")]
    Io {
        /// The interface.
        iface: String,
        /// What was being done.
        step: &'static str,
        /// The operating system's reason.
        source: io::Error,
    },
    /// The `--write` file could not be created.
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// How to capture.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// Interface name (`lo` by default).
    pub iface: String,
    /// FTP control ports besides 21.
    pub ports: Vec<u16>,
    /// Keep every frame instead of filtering by port (finds FTP on ports nobody named, by content).
    pub all_traffic: bool,
    /// Socket receive buffer to ask for, in bytes.
    pub recv_buffer: usize,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Stop after this many kept frames.
    pub count: Option<u64>,
    /// Put the interface in promiscuous mode (not needed on loopback).
    pub promiscuous: bool,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            iface: "lo".to_owned(),
            ports: Vec::new(),
            all_traffic: false,
            recv_buffer: RECV_BUFFER,
            duration: None,
            count: None,
            promiscuous: false,
        }
    }
}

/// Counters of a live capture.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct LiveStats {
    /// Frames the socket delivered (on loopback: each packet once, the outgoing copy is dropped
    /// in the kernel).
    pub frames_seen: u64,
    /// Frames that passed the port filter and went on to the analysis.
    pub frames_kept: u64,
    /// Bytes of the frames seen.
    pub bytes_seen: u64,
    /// Bytes of the frames kept.
    pub bytes_kept: u64,
    /// Frames as long as the read buffer: they may have been cut short.
    pub frames_at_buffer_limit: u64,
    /// Frames the kernel dropped because the socket's receive buffer was full (from the socket's
    /// `sk_drops` counter via `sock_diag`, since pnet keeps the fd to itself and
    /// `PACKET_STATISTICS` would need an unsafe `getsockopt`); `None` when the kernel did not say.
    pub kernel_drops: Option<u64>,
    /// Receive buffer the kernel granted, in bytes.
    pub recv_buffer: usize,
}

/// The early filter: what each TCP port is to us, plus the control ports whose payload is
/// watched for PORT, EPRT, 227 and 229 to learn data ports.
///
/// A learned data port is forgotten once its connection is over (a FIN from each side, or a
/// RST): the port is ephemeral, and the next connection to reuse it belongs to someone else.
#[derive(Clone)]
pub struct PortFilter {
    control: Vec<u16>,
    /// Per port: 0 not kept, [`CONTROL`] a control port, 1 + FINs seen for a data port.
    kind: Box<[u8; 65536]>,
    all: bool,
}

/// [`PortFilter`] mark of a control port (never forgotten).
const CONTROL: u8 = 0x80;
/// A data port whose connection has sent both FINs.
const DATA_DONE: u8 = 3;

impl std::fmt::Debug for PortFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ports: Vec<u16> = (0..=u16::MAX).filter(|p| self.contains(*p)).collect();
        f.debug_struct("PortFilter")
            .field("control", &self.control)
            .field("ports", &ports)
            .field("all", &self.all)
            .finish()
    }
}

impl PortFilter {
    /// Keeps TCP segments from or to port 21 and `control_ports`; with `all`, keeps everything.
    pub fn new(control_ports: &[u16], all: bool) -> Self {
        let mut filter = PortFilter {
            control: Vec::new(),
            kind: Box::new([0; 65536]),
            all,
        };
        for port in std::iter::once(crate::FTP_PORT).chain(control_ports.iter().copied()) {
            if !filter.control.contains(&port) {
                filter.control.push(port);
            }
            if let Some(k) = filter.kind.get_mut(usize::from(port)) {
                *k = CONTROL;
            }
        }
        filter
    }

    /// Also keeps segments from or to `port` (a data port), until its connection is over.
    pub fn add_port(&mut self, port: u16) {
        if let Some(k) = self.kind.get_mut(usize::from(port))
            && *k & CONTROL == 0
        {
            *k = 1;
        }
    }

    /// Whether segments on `port` are kept.
    pub fn contains(&self, port: u16) -> bool {
        self.kind.get(usize::from(port)).is_some_and(|k| *k != 0)
    }

    /// Decides whether `frame` goes on, and learns the data ports announced in it.
    /// IP fragments and broken frames go on, so the analysis can report them.
    pub fn keep(&mut self, frame: &RawFrame<'_>) -> bool {
        let segment = match frame::decode(frame) {
            Ok(Decoded::Tcp(segment)) => segment,
            Ok(Decoded::Other) => return self.all,
            Ok(Decoded::Fragment { .. }) | Err(_) => return true,
        };
        let (src, dst) = (segment.src.port(), segment.dst.port());
        if !segment.payload.is_empty()
            && (self.control.contains(&src) || self.control.contains(&dst))
        {
            self.learn(segment.payload);
        }
        let keep = self.all || self.contains(src) || self.contains(dst);
        if segment.fin || segment.rst {
            for port in [src, dst] {
                if let Some(k) = self.kind.get_mut(usize::from(port))
                    && (1..DATA_DONE).contains(k)
                {
                    *k = if segment.rst { 0 } else { *k + 1 };
                    if *k == DATA_DONE {
                        *k = 0;
                    }
                }
            }
        }
        keep
    }

    /// Looks for PORT/EPRT commands and 227/229 replies in control connection bytes. A line
    /// split across two segments is missed; clients and servers send these in one segment.
    fn learn(&mut self, payload: &[u8]) {
        for line in payload.split(|b| *b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if let Some(port) = ftp_proto::sniff::announced_data_port(line) {
                self.add_port(port);
            }
        }
    }
}

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
fn link_type_of(iface: &str) -> LinkType {
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

/// Frames from a network interface, as a [`PacketSource`].
pub struct LiveSource {
    name: String,
    rx: Box<dyn DataLinkReceiver>,
    /// A second handle on the capture socket, for its inode (sock_diag statistics).
    socket: Socket,
    link_type: LinkType,
    filter: PortFilter,
    /// The kept frame, copied out of pnet's buffer: pnet lends its buffer only until the next
    /// read, and the borrow checker cannot return a frame that a loop iteration may skip.
    frame: Vec<u8>,
    number: u64,
    stats: LiveStats,
    stop: Arc<AtomicBool>,
    stop_now: Arc<AtomicBool>,
    deadline: Option<Instant>,
    count: Option<u64>,
    writer: Option<CaptureWriter<BufWriter<File>>>,
    pending: Option<SourceError>,
    /// Set once a stop was asked for: frames already queued in the kernel are still read,
    /// until the queue is empty or this instant.
    draining: Option<Instant>,
    finished: bool,
}

impl std::fmt::Debug for LiveSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveSource")
            .field("name", &self.name)
            .field("link_type", &self.link_type)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl LiveSource {
    /// Opens the interface and starts capturing (frames queue in the kernel from here on).
    pub fn open(config: &LiveConfig) -> Result<LiveSource, LiveError> {
        let interfaces = pnet_datalink::interfaces();
        let Some(interface) = interfaces.iter().find(|i| i.name == config.iface) else {
            return Err(LiveError::NoSuchInterface {
                iface: config.iface.clone(),
                available: interfaces
                    .iter()
                    .map(|i| i.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        let io_err = |step| {
            let iface = config.iface.clone();
            move |source| LiveError::Io {
                iface,
                step,
                source,
            }
        };
        // Protocol 0: the socket receives nothing until pnet binds it to the interface with
        // ETH_P_ALL, so no frame of another interface slips in before the bind.
        let socket = Socket::new(Domain::PACKET, Type::RAW, None).map_err(|e| {
            if e.kind() == io::ErrorKind::PermissionDenied {
                LiveError::NoPrivilege { source: e }
            } else {
                io_err("open a packet socket")(e)
            }
        })?;
        // SO_RCVBUFFORCE passes net.core.rmem_max (needs CAP_NET_ADMIN); fall back to SO_RCVBUF.
        if rustix::net::sockopt::set_socket_recv_buffer_size_force(&socket, config.recv_buffer)
            .is_err()
        {
            socket
                .set_recv_buffer_size(config.recv_buffer)
                .map_err(io_err("set the receive buffer"))?;
        }
        if interface.is_loopback() {
            socket
                .attach_filter(&drop_outgoing())
                .map_err(io_err("attach the loopback filter"))?;
        }
        let recv_buffer = socket.recv_buffer_size().unwrap_or(0);
        let handle = socket.try_clone().map_err(io_err("duplicate the socket"))?;
        let channel = pnet_datalink::channel(
            interface,
            pnet_datalink::Config {
                read_buffer_size: READ_BUFFER,
                read_timeout: Some(READ_TIMEOUT),
                promiscuous: config.promiscuous,
                socket_fd: Some(socket.into_raw_fd()),
                ..pnet_datalink::Config::default()
            },
        )
        .map_err(|e| {
            if e.kind() == io::ErrorKind::PermissionDenied {
                LiveError::NoPrivilege { source: e }
            } else {
                io_err("bind to the interface")(e)
            }
        })?;
        let rx = match channel {
            Channel::Ethernet(_tx, rx) => rx,
            _ => {
                return Err(io_err("open the channel")(io::Error::other(
                    "pnet returned an unknown channel type",
                )));
            }
        };
        Ok(LiveSource {
            name: format!("live capture on {}", config.iface),
            rx,
            socket: handle,
            link_type: link_type_of(&interface.name),
            filter: PortFilter::new(&config.ports, config.all_traffic),
            frame: Vec::with_capacity(READ_BUFFER),
            number: 0,
            stats: LiveStats {
                recv_buffer,
                ..LiveStats::default()
            },
            stop: Arc::new(AtomicBool::new(false)),
            stop_now: Arc::new(AtomicBool::new(false)),
            deadline: config.duration.map(|d| Instant::now() + d),
            count: config.count,
            writer: None,
            pending: None,
            draining: None,
            finished: false,
        })
    }

    /// Also writes every kept frame to `path` as pcapng (`--write`).
    pub fn write_to(&mut self, path: &Path) -> Result<(), LiveError> {
        let iface = self
            .name
            .rsplit(' ')
            .next()
            .unwrap_or(&self.name)
            .to_owned();
        self.writer = Some(CaptureWriter::create(path, &iface)?);
        Ok(())
    }

    /// Setting this flag (from a Ctrl-C handler or another thread) ends the capture: nothing
    /// new is queued from then on, the frames already queued in the kernel are still delivered
    /// (for at most [`DRAIN_LIMIT`]), then [`PacketSource::next_frame`] returns `Ok(None)`.
    pub fn stop_handle(&self) -> Arc<AtomicBool> {
        self.stop.clone()
    }

    /// Setting this flag ends the capture at once, without reading what is still queued
    /// (a second Ctrl-C).
    pub fn stop_now_handle(&self) -> Arc<AtomicBool> {
        self.stop_now.clone()
    }

    /// Also keeps segments from or to `port`.
    pub fn add_port(&mut self, port: u16) {
        self.filter.add_port(port);
    }

    /// The port filter (what is kept so far).
    pub fn filter(&self) -> &PortFilter {
        &self.filter
    }

    /// The link-layer header type of the frames.
    pub fn link_type(&self) -> LinkType {
        self.link_type
    }

    /// The counters so far, with the kernel's drop count read now.
    pub fn stats(&self) -> LiveStats {
        LiveStats {
            kernel_drops: self.kernel_drops(),
            ..self.stats
        }
    }

    /// Flushes and closes the `--write` file, if any.
    pub fn finish_writer(&mut self) -> Result<(), WriteError> {
        match self.writer.take() {
            Some(w) => w.finish().map(drop),
            None => Ok(()),
        }
    }

    /// Whether to end now; starts draining when a stop was asked for or the duration is over.
    fn should_stop(&mut self) -> bool {
        if self.finished
            || self.stop_now.load(Ordering::Relaxed)
            || self.count.is_some_and(|c| self.stats.frames_kept >= c)
        {
            return true;
        }
        let now = Instant::now();
        if self.draining.is_none()
            && (self.stop.load(Ordering::Relaxed) || self.deadline.is_some_and(|d| now >= d))
        {
            // Close the door, then empty the room: what arrives after the stop is not queued.
            let limit = match self.socket.attach_filter(&accept_nothing()) {
                Ok(()) => DRAIN_LIMIT,
                Err(_) => DRAIN_LIMIT_UNFILTERED,
            };
            self.draining = Some(now + limit);
        }
        self.draining.is_some_and(|d| now >= d)
    }

    fn end(&mut self) -> Result<(), SourceError> {
        self.finished = true;
        self.finish_writer().map_err(write_error)
    }

    fn kernel_drops(&self) -> Option<u64> {
        let inode = rustix::fs::fstat(&self.socket).ok()?.st_ino;
        sock_diag_drops(u32::try_from(inode).ok()?)
    }
}

impl PacketSource for LiveSource {
    fn next_frame(&mut self) -> Result<Option<RawFrame<'_>>, SourceError> {
        if let Some(e) = self.pending.take() {
            return Err(e);
        }
        loop {
            if self.should_stop() {
                return self.end().map(|()| None);
            }
            match self.rx.next() {
                Ok(bytes) => {
                    self.stats.frames_seen += 1;
                    self.stats.bytes_seen += bytes.len() as u64;
                    if bytes.len() >= READ_BUFFER {
                        self.stats.frames_at_buffer_limit += 1;
                    }
                    let probe = RawFrame {
                        number: self.number + 1,
                        timestamp: Duration::ZERO,
                        link_type: self.link_type,
                        bytes,
                    };
                    if !self.filter.keep(&probe) {
                        continue;
                    }
                    self.frame.clear();
                    self.frame.extend_from_slice(bytes);
                    break;
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                            | io::ErrorKind::WouldBlock
                    ) =>
                {
                    // Nothing queued for a whole READ_TIMEOUT: a drain is complete.
                    if self.draining.is_some() && e.kind() != io::ErrorKind::Interrupted {
                        return self.end().map(|()| None);
                    }
                }
                Err(e) => {
                    self.finished = true;
                    return Err(SourceError::Io {
                        file: PathBuf::from(&self.name),
                        source: e,
                    });
                }
            }
        }
        self.number += 1;
        self.stats.frames_kept += 1;
        self.stats.bytes_kept += self.frame.len() as u64;
        let frame = RawFrame {
            number: self.number,
            timestamp: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default(),
            link_type: self.link_type,
            bytes: &self.frame,
        };
        if let Some(writer) = &mut self.writer
            && let Err(e) = writer.write(&frame)
        {
            // Capturing goes on; the file stops here and the error is reported once.
            self.writer = None;
            self.pending = Some(write_error(e));
        }
        Ok(Some(frame))
    }

    fn name(&self) -> &str {
        &self.name
    }
}

fn write_error(e: WriteError) -> SourceError {
    SourceError::Io {
        file: e.file,
        source: io::Error::other(e.detail),
    }
}

/// A classic BPF program that accepts no packet: attached at a stop, so that the drain reads
/// only what was queued before it.
fn accept_nothing() -> [libc::sock_filter; 1] {
    [libc::sock_filter {
        code: (libc::BPF_RET | libc::BPF_K) as u16,
        jt: 0,
        jf: 0,
        k: 0,
    }]
}

/// A classic BPF program that drops packets the host sends (`PACKET_OUTGOING`), keeping the
/// arriving copy: on loopback each packet would otherwise be read twice.
fn drop_outgoing() -> [libc::sock_filter; 4] {
    const PACKET_OUTGOING: u32 = 4;
    let stmt = |code: u32, k: u32| libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    [
        // A = skb->pkt_type (an ancillary load: offset SKF_AD_OFF + SKF_AD_PKTTYPE).
        stmt(
            libc::BPF_LD | libc::BPF_W | libc::BPF_ABS,
            (libc::SKF_AD_OFF + libc::SKF_AD_PKTTYPE) as u32,
        ),
        libc::sock_filter {
            code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
            jt: 0,
            jf: 1,
            k: PACKET_OUTGOING,
        },
        stmt(libc::BPF_RET | libc::BPF_K, 0),
        stmt(libc::BPF_RET | libc::BPF_K, u32::MAX),
    ]
}

/// `sk_drops` of the packet socket with inode `inode`, asked of the kernel with a
/// `SOCK_DIAG_BY_FAMILY` dump of `AF_PACKET` sockets (linux/packet_diag.h, `PACKET_DIAG_MEMINFO`).
/// The kernel counts a frame there each time the receive buffer was full.
fn sock_diag_drops(inode: u32) -> Option<u64> {
    const SOCK_DIAG_BY_FAMILY: u16 = 20;
    const NLM_F_REQUEST: u16 = 0x1;
    const NLM_F_DUMP: u16 = 0x300;
    const NLMSG_ERROR: u16 = 2;
    const NLMSG_DONE: u16 = 3;
    const PACKET_SHOW_MEMINFO: u32 = 0x10;
    const PACKET_DIAG_MEMINFO: u16 = 6;
    const SK_MEMINFO_DROPS: usize = 8;

    let socket = Socket::new(
        Domain::from(libc::AF_NETLINK),
        Type::DGRAM,
        Some(libc::NETLINK_SOCK_DIAG.into()),
    )
    .ok()?;
    let mut request = Vec::with_capacity(36);
    request.extend_from_slice(&36u32.to_ne_bytes()); // nlmsg_len
    request.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    request.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    request.extend_from_slice(&1u32.to_ne_bytes()); // seq
    request.extend_from_slice(&0u32.to_ne_bytes()); // pid
    request.push(libc::AF_PACKET as u8); // sdiag_family
    request.push(0); // sdiag_protocol
    request.extend_from_slice(&0u16.to_ne_bytes()); // pad
    request.extend_from_slice(&inode.to_ne_bytes()); // pdiag_ino (ignored by the dump)
    request.extend_from_slice(&PACKET_SHOW_MEMINFO.to_ne_bytes());
    request.extend_from_slice(&[0; 8]); // pdiag_cookie
    socket.send(&request).ok()?;

    let u16_at = |b: &[u8], at: usize| -> Option<u16> {
        Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
    };
    let u32_at = |b: &[u8], at: usize| -> Option<u32> {
        Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
    };
    let mut buf = vec![0u8; 64 * 1024];
    let mut reader = &socket;
    for _ in 0..1000 {
        let n = reader.read(&mut buf).ok()?;
        let reply = buf.get(..n)?;
        let mut at = 0;
        while at + 16 <= reply.len() {
            let len = u32_at(reply, at)? as usize;
            let kind = u16_at(reply, at + 4)?;
            if len < 16 {
                return None;
            }
            match kind {
                NLMSG_DONE | NLMSG_ERROR => return None,
                SOCK_DIAG_BY_FAMILY if u32_at(reply, at + 16 + 4)? == inode => {
                    // Attributes follow the 16-byte packet_diag_msg.
                    let end = (at + len).min(reply.len());
                    let mut attr = at + 32;
                    while attr + 4 <= end {
                        let attr_len = usize::from(u16_at(reply, attr)?);
                        if attr_len < 4 {
                            return None;
                        }
                        if u16_at(reply, attr + 2)? == PACKET_DIAG_MEMINFO {
                            return u32_at(reply, attr + 4 + SK_MEMINFO_DROPS * 4).map(u64::from);
                        }
                        attr += (attr_len + 3) & !3;
                    }
                    return None;
                }
                _ => {}
            }
            at += (len + 3) & !3;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp_frame(src: u16, dst: u16, payload: &[u8]) -> Vec<u8> {
        let builder = etherparse::PacketBuilder::ethernet2([0; 6], [0; 6])
            .ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
            .tcp(src, dst, 1, 65535);
        let mut out = Vec::new();
        builder.write(&mut out, payload).unwrap();
        out
    }

    fn fin_frame(src: u16, dst: u16) -> Vec<u8> {
        let builder = etherparse::PacketBuilder::ethernet2([0; 6], [0; 6])
            .ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
            .tcp(src, dst, 1, 65535)
            .fin();
        let mut out = Vec::new();
        builder.write(&mut out, &[]).unwrap();
        out
    }

    fn keep(filter: &mut PortFilter, bytes: &[u8]) -> bool {
        filter.keep(&RawFrame {
            number: 1,
            timestamp: Duration::ZERO,
            link_type: LinkType::ETHERNET,
            bytes,
        })
    }

    #[test]
    fn filter_keeps_control_ports_and_learns_data_ports() {
        let mut f = PortFilter::new(&[2121], false);
        assert!(keep(&mut f, &tcp_frame(40000, 21, b"")));
        assert!(keep(&mut f, &tcp_frame(2121, 40000, b"")));
        assert!(!keep(&mut f, &tcp_frame(40000, 50000, b"x")));
        assert!(keep(
            &mut f,
            &tcp_frame(
                2121,
                40000,
                b"227 Entering Passive Mode (127,0,0,1,195,80).\r\n"
            )
        ));
        assert!(keep(&mut f, &tcp_frame(40001, 50000, b"x")));
        assert!(keep(
            &mut f,
            &tcp_frame(
                2121,
                40000,
                b"229 Entering Extended Passive Mode (|||50001|)\r\n"
            )
        ));
        assert!(f.contains(50001));
        assert!(keep(
            &mut f,
            &tcp_frame(40000, 2121, b"port 127,0,0,1,195,82\r\n")
        ));
        assert!(f.contains(50002));
        assert!(keep(
            &mut f,
            &tcp_frame(40000, 2121, b"EPRT |2|::1|50003|\r\n")
        ));
        assert!(f.contains(50003));
        // A data port is forgotten after a FIN from each side: the next user of the
        // ephemeral port is someone else.
        assert!(keep(&mut f, &fin_frame(50000, 40001)));
        assert!(keep(&mut f, &fin_frame(40001, 50000)));
        assert!(!keep(&mut f, &tcp_frame(40009, 50000, b"x")));
        // Control ports stay.
        assert!(keep(&mut f, &fin_frame(40000, 2121)));
        assert!(keep(&mut f, &fin_frame(2121, 40000)));
        assert!(keep(&mut f, &tcp_frame(40000, 2121, b"")));
        // Only control connections teach ports.
        assert!(!keep(
            &mut f,
            &tcp_frame(1, 2, b"227 (127,0,0,1,195,90)\r\n")
        ));
        assert!(!f.contains(50010));
    }

    #[test]
    fn filter_passes_broken_frames_and_everything_when_asked() {
        let mut f = PortFilter::new(&[], false);
        assert!(keep(&mut f, &[0x00, 0x01]));
        assert!(keep(&mut PortFilter::new(&[], true), &tcp_frame(1, 2, b"")));
    }

    #[test]
    fn no_privilege_message_says_what_to_do() {
        let e = LiveError::NoPrivilege {
            source: io::Error::from(io::ErrorKind::PermissionDenied),
        };
        assert_eq!(e.to_string(), PRIVILEGE_MESSAGE);
        assert!(
            PRIVILEGE_MESSAGE
                .contains("sudo setcap cap_net_raw,cap_net_admin+ep $(which inspector)")
        );
    }

    #[test]
    fn loopback_is_listed() {
        assert!(
            list_interfaces()
                .iter()
                .any(|i| i.loopback && i.name == "lo")
        );
    }
}
