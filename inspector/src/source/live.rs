//! Live capture: frames from a network interface on an `AF_PACKET` socket.
//!
//! The socket is one we open ourselves (socket2) and hand to pnet's datalink channel, which
//! binds it to the interface (and sets promiscuous mode when asked), so the kernel options pnet
//! does not offer can be set on it first: a large receive buffer (`SO_RCVBUFFORCE`), and on
//! loopback a classic BPF filter that drops the outgoing copy of each packet — Linux shows every
//! loopback packet twice, once leaving and once arriving. Frames are then read from the socket
//! straight into the buffer the analysis borrows (one `recv` per frame while frames are queued,
//! a `poll` only when none is): pnet's receiver would `poll` before every read and lend its own
//! buffer only until the next read, which cost a second copy of every frame. Frames are
//! filtered early by TCP port: the FTP control ports, plus the data ports learned from PORT,
//! EPRT, 227 and 229 on the control connections, so unrelated traffic is dropped before the
//! rest of the pipeline sees it.
//!
//! This file opens the socket and reads it; the other jobs have their own files:
//! - [`port_filter`]: which TCP ports are kept, learned from the control connections.
//! - [`socket_filter`]: the BPF programs (drop outgoing copies, accept nothing at a stop).
//! - [`kernel_stats`]: the kernel's drop counter, over netlink `sock_diag`.
//! - [`interfaces`]: the interfaces there are, and their link types.
//! - [`pcapng_writer`]: `--write`, the kept frames as pcapng.

mod interfaces;
mod kernel_stats;
pub mod pcapng_writer;
mod port_filter;
mod socket_filter;

use super::{LinkType, PacketSource, RawFrame, SourceError};
use interfaces::link_type_of;
pub use interfaces::{InterfaceInfo, list_interfaces};
pub use pcapng_writer::{CaptureWriter, WriteError};
use pnet_datalink::Channel;
pub use port_filter::PortFilter;
use socket_filter::{accept_nothing, drop_outgoing};
use socket2::{Domain, Socket, Type};
use std::io::{self, BufWriter};
use std::os::fd::IntoRawFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// What to say when the process may not open a packet socket.
pub const PRIVILEGE_MESSAGE: &str = "inspector needs CAP_NET_RAW to capture: run sudo setcap \
cap_net_raw,cap_net_admin+ep $(which inspector), or run it with sudo, or analyse a saved capture \
with inspector read FILE";

/// The read buffer: loopback frames reach 64 KiB plus headers (MTU 65536, and segmentation
/// offload hands the socket whole 64 KiB super-packets). A longer frame is cut to it and counted
/// in [`LiveStats::frames_at_buffer_limit`] (the kernel tells its real length).
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
    /// Frames longer than the read buffer, cut short to it.
    pub frames_at_buffer_limit: u64,
    /// Frames the kernel dropped because the socket's receive buffer was full (from the socket's
    /// `sk_drops` counter via `sock_diag`, since `PACKET_STATISTICS` would need an unsafe
    /// `getsockopt`); `None` when the kernel did not say.
    pub kernel_drops: Option<u64>,
    /// Receive buffer the kernel granted, in bytes.
    pub recv_buffer: usize,
}

/// Frames from a network interface, as a [`PacketSource`].
pub struct LiveSource {
    name: String,
    /// The capture socket (non-blocking: pnet set `O_NONBLOCK` when it bound it).
    socket: Socket,
    link_type: LinkType,
    filter: PortFilter,
    /// The read buffer ([`READ_BUFFER`] bytes); the latest frame is its first `frame_len`.
    frame: Vec<u8>,
    frame_len: usize,
    /// The latest frame's length on the wire (more than `frame_len` when it was cut).
    frame_wire_len: usize,
    number: u64,
    stats: LiveStats,
    stop: Arc<AtomicBool>,
    stop_now: Arc<AtomicBool>,
    deadline: Option<Instant>,
    count: Option<u64>,
    writer: Option<CaptureWriter<BufWriter<pcapng_writer::WriteBehind>>>,
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
        // pnet closes the descriptor it is given when its channel is dropped: it gets a
        // duplicate, and frames are read from this one.
        let handle = socket.try_clone().map_err(io_err("duplicate the socket"))?;
        let channel = pnet_datalink::channel(
            interface,
            pnet_datalink::Config {
                // Unused (frames are read from `handle`): the smallest buffer pnet takes.
                read_buffer_size: 1,
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
        // The socket stays bound (and in promiscuous mode) while `handle` keeps it open.
        match channel {
            Channel::Ethernet(_tx, _rx) => {}
            _ => {
                return Err(io_err("open the channel")(io::Error::other(
                    "pnet returned an unknown channel type",
                )));
            }
        }
        Ok(LiveSource {
            name: format!("live capture on {}", config.iface),
            socket: handle,
            link_type: link_type_of(&interface.name),
            filter: PortFilter::new(&config.ports, config.all_traffic),
            frame: vec![0; READ_BUFFER],
            frame_len: 0,
            frame_wire_len: 0,
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
    /// (for at most `DRAIN_LIMIT`, 60 s), then [`PacketSource::next_frame`] returns `Ok(None)`.
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
        kernel_stats::kernel_drops(&self.socket)
    }

    /// Reads the next frame into `frame`; returns its length on the wire (longer than the
    /// buffer when it was cut). Waits at most [`READ_TIMEOUT`] for one (then `TimedOut`).
    fn receive(&mut self) -> io::Result<usize> {
        use rustix::event::{PollFd, PollFlags, Timespec, poll};
        use rustix::io::Errno;
        use rustix::net::{RecvFlags, recv};
        loop {
            match recv(&self.socket, &mut self.frame[..], RecvFlags::TRUNC) {
                Ok((_, wire_len)) => return Ok(wire_len),
                Err(Errno::AGAIN) => {}
                Err(e) => return Err(e.into()),
            }
            let timeout = Timespec::try_from(READ_TIMEOUT).unwrap_or_default();
            let mut fds = [PollFd::new(&self.socket, PollFlags::IN)];
            if poll(&mut fds, Some(&timeout))? == 0 {
                return Err(io::ErrorKind::TimedOut.into());
            }
        }
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
            match self.receive() {
                Ok(wire_len) => {
                    let len = wire_len.min(READ_BUFFER);
                    self.stats.frames_seen += 1;
                    self.stats.bytes_seen += wire_len as u64;
                    if wire_len > READ_BUFFER {
                        self.stats.frames_at_buffer_limit += 1;
                    }
                    let probe = RawFrame {
                        number: self.number + 1,
                        timestamp: Duration::ZERO,
                        link_type: self.link_type,
                        bytes: &self.frame[..len],
                        wire_len: u32::try_from(wire_len).unwrap_or(u32::MAX),
                    };
                    if self.filter.keep(&probe) {
                        self.frame_len = len;
                        self.frame_wire_len = wire_len;
                        break;
                    }
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
        self.stats.bytes_kept += self.frame_len as u64;
        let frame = RawFrame {
            number: self.number,
            timestamp: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default(),
            link_type: self.link_type,
            bytes: &self.frame[..self.frame_len],
            wire_len: u32::try_from(self.frame_wire_len).unwrap_or(u32::MAX),
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
