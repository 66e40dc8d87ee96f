//! Data connections (RFC 959 §3.2): opening them (active or passive) and moving the bytes.
//!
//! The bytes of a transfer move on a blocking thread with std sockets, so a binary download is
//! a `sendfile(2)` loop: the kernel moves page-cache pages to the socket and the bytes never
//! touch user space. The control connection keeps a clone of the socket: ABOR shuts it down,
//! which ends the blocking copy at once.
//!
//! With PROT P the data connection is a TLS connection whose server is us (RFC 4217 §7): the
//! same jobs run on a blocking thread over rustls' `StreamOwned`, which makes sendfile
//! impossible (every byte is encrypted in user space).

use crate::tls::{TlsSummary, describe_handshake_error};
pub use crate::upload::{Upload, UploadMode};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream as StdTcpStream};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// Size of the buffer for transfers that need user space (uploads, TYPE A, hashing).
const CHUNK: usize = 256 * 1024;

/// Size of each buffer passed between the upload reader and the hashing thread: large, so the
/// two threads hand over rarely.
const UPLOAD_CHUNK: usize = 1024 * 1024;

/// The data connection about to be opened: the address to connect to, or the listener to
/// accept on (the I/O side of [`crate::session::DataSetup`]).
#[derive(Debug)]
pub enum DataEndpoint {
    /// Active mode: the server connects to the client's address.
    Active(SocketAddr),
    /// Passive mode: the client connects to this listener.
    Passive(TcpListener),
}

/// Why a data connection could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// Nothing connected, or the connect did not finish, within the data timeout.
    #[error("data connection timed out after {0:?}")]
    Timeout(Duration),
    /// The connect or accept failed.
    #[error("data connection failed: {0}")]
    Io(#[from] io::Error),
}

/// Opens the data connection. In passive mode connections from any address but the control
/// connection's peer are dropped (RFC 2577 §8, "Port Stealing") and waiting goes on, unless
/// `any_passive_peer` (the weakening `--allow-foreign-passive-peer`) says take the first.
pub async fn open(
    endpoint: DataEndpoint,
    control_peer: IpAddr,
    local_ip: IpAddr,
    timeout: Duration,
    any_passive_peer: bool,
) -> Result<TcpStream, DataError> {
    let work = async {
        match endpoint {
            DataEndpoint::Active(addr) => {
                let socket = if addr.is_ipv4() {
                    TcpSocket::new_v4()?
                } else {
                    TcpSocket::new_v6()?
                };
                // Connect from the address the client reached us on, so the client's view agrees.
                if local_ip.is_ipv4() == addr.is_ipv4() {
                    socket.bind(SocketAddr::new(local_ip, 0))?;
                }
                Ok(socket.connect(addr).await?)
            }
            DataEndpoint::Passive(listener) => loop {
                let (stream, from) = listener.accept().await?;
                if from.ip().to_canonical() == control_peer.to_canonical() {
                    return Ok(stream);
                }
                if any_passive_peer {
                    tracing::warn!(%from, expected = %control_peer,
                        "WEAKENED RULE USED: passive data connection from a foreign address accepted (port stealing possible)");
                    return Ok(stream);
                }
                tracing::warn!(%from, expected = %control_peer,
                    "refused passive data connection from a foreign address (RFC 2577 port stealing)");
            },
        }
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| DataError::Timeout(timeout))?
}

/// Binds a passive listener on `ip`, on a free port of `range` or any port.
///
/// Binding is immediate, so this is a plain function; it must run inside the tokio runtime
/// (the connection loop calls it for [`crate::session::Action::OpenPassive`]).
pub fn bind_passive(
    ip: IpAddr,
    range: Option<&std::ops::RangeInclusive<u16>>,
) -> io::Result<TcpListener> {
    let bind = |port| -> io::Result<TcpListener> {
        use socket2::{Domain, Socket, Type};
        let addr = SocketAddr::new(ip, port);
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
        // Busy servers leave many data connections in TIME_WAIT; without SO_REUSEADDR their
        // ports could not be listened on again for a minute.
        socket.set_reuse_address(true)?;
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        socket.listen(8)?;
        TcpListener::from_std(socket.into())
    };
    // Without a configured range, pick from the kernel's ephemeral range ourselves: bind(0)
    // makes the kernel scan for a port with no TIME_WAIT neighbours, which under load costs
    // more CPU than everything else a session does.
    let ephemeral;
    let range = match range {
        Some(range) => range,
        None => {
            ephemeral = ephemeral_ports();
            &ephemeral
        }
    };
    // Start at a random port of the range so concurrent sessions rarely collide.
    let span = u32::from(range.end() - range.start()) + 1;
    let offset = rand::random::<u32>() % span;
    for i in 0..span {
        let port = u32::from(*range.start()) + (offset + i) % span;
        if let Ok(listener) = bind(u16::try_from(port).unwrap_or(*range.end())) {
            return Ok(listener);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AddrInUse,
        "every passive port of the range is in use",
    ))
}

/// The kernel's ephemeral port range (Linux), or IANA's dynamic range.
fn ephemeral_ports() -> std::ops::RangeInclusive<u16> {
    static RANGE: std::sync::OnceLock<std::ops::RangeInclusive<u16>> = std::sync::OnceLock::new();
    RANGE
        .get_or_init(|| {
            let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range");
            let mut ports = text
                .iter()
                .flat_map(|t| t.split_whitespace())
                .map(str::parse::<u16>);
            match (ports.next(), ports.next()) {
                (Some(Ok(low)), Some(Ok(high))) if low > 0 && low <= high => low..=high,
                _ => 49152..=65535,
            }
        })
        .clone()
}

/// What moves over a data connection.
#[derive(Debug)]
pub enum Job {
    /// RETR: a file from `offset`.
    SendFile {
        /// The opened file.
        file: File,
        /// REST offset.
        offset: u64,
        /// TYPE A: LF → CRLF.
        ascii: bool,
        /// Compute sha256 of what was sent.
        hash: bool,
    },
    /// LIST/NLST/MLSD output, already built.
    SendBytes(Vec<u8>),
    /// STOR/APPE/STOU.
    Receive {
        /// Where the bytes go.
        upload: Upload,
        /// TYPE A: CRLF → LF.
        ascii: bool,
    },
}

/// What a finished transfer did.
#[derive(Debug)]
pub struct Outcome {
    /// Bytes that crossed the data connection.
    pub bytes: u64,
    /// sha256 of the bytes as stored or read from disk, when computed.
    pub sha256: Option<String>,
    /// An upload whose bytes are all in its temp file, waiting for [`Upload::land`].
    ///
    /// In stream mode the end of a file is the data connection's close (RFC 959 §3.4.1), which
    /// a crashing client also produces; so the caller first checks that the control connection
    /// is still there before the file gets its real name.
    pub upload: Option<Upload>,
    /// PROT P: what the data connection's TLS handshake agreed on.
    pub tls: Option<TlsSummary>,
}

impl Job {
    /// Whether the job needs no user-space work on its bytes, so it can run on the session's
    /// own task without a blocking thread (binary downloads by sendfile, listings).
    pub fn runs_in_place(&self) -> bool {
        matches!(
            self,
            Job::SendBytes(_)
                | Job::SendFile {
                    ascii: false,
                    hash: false,
                    ..
                }
        )
    }
}

/// Runs a job for which [`Job::runs_in_place`] is true on the async socket.
///
/// Reading the file is sendfile from the page cache; a file not in the cache makes this task
/// wait for the disk, which a teaching server accepts for the thread hand-offs it saves.
pub async fn run_job_in_place(
    job: Job,
    stream: &TcpStream,
    timeout: Duration,
) -> io::Result<Outcome> {
    let bytes = match job {
        Job::SendBytes(bytes) => {
            let mut sent = 0;
            while sent < bytes.len() {
                wait_writable(stream, timeout).await?;
                match stream.try_write(&bytes[sent..]) {
                    Ok(n) => sent += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
            }
            sent as u64
        }
        Job::SendFile { file, offset, .. } => {
            // The largest count Linux's sendfile moves in one call.
            const MAX_CALL: usize = 0x7fff_f000;
            let mut position = offset;
            loop {
                wait_writable(stream, timeout).await?;
                let sent = stream.try_io(tokio::io::Interest::WRITABLE, || {
                    rustix::fs::sendfile(stream, &file, Some(&mut position), MAX_CALL)
                        .map_err(io::Error::from)
                });
                match sent {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
            }
            position - offset
        }
        Job::Receive { .. } => {
            return Err(io::Error::other("uploads run on a blocking thread"));
        }
    };
    socket2::SockRef::from(stream)
        .shutdown(std::net::Shutdown::Write)
        .ok();
    Ok(Outcome {
        bytes,
        sha256: None,
        upload: None,
        tls: None,
    })
}

async fn wait_writable(stream: &TcpStream, timeout: Duration) -> io::Result<()> {
    match tokio::time::timeout(timeout, stream.writable()).await {
        Ok(ready) => ready,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "data connection stalled",
        )),
    }
}

/// Runs a job on a blocking thread's socket; the socket is closed when it returns.
pub fn run_job(job: Job, mut stream: StdTcpStream, timeout: Duration) -> io::Result<Outcome> {
    prepare_blocking(&stream, timeout)?;
    let outcome = run_job_on(job, &mut stream)?;
    stream.shutdown(std::net::Shutdown::Write).ok();
    Ok(outcome)
}

fn prepare_blocking(stream: &StdTcpStream, timeout: Duration) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))
}

/// PROT P: the TLS handshake as server on a blocking thread's socket (resuming the control
/// connection's TLS session when the client offers it), then the job inside TLS, then
/// close_notify so the client knows a download is complete.
pub fn run_job_tls(
    job: Job,
    stream: StdTcpStream,
    config: Arc<rustls::ServerConfig>,
    timeout: Duration,
) -> io::Result<Outcome> {
    prepare_blocking(&stream, timeout)?;
    let connection = rustls::ServerConnection::new(config).map_err(io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(connection, stream);
    let handshake_failed = |error: io::Error| {
        io::Error::new(
            error.kind(),
            format!(
                "TLS handshake on the data connection failed: {}",
                describe_handshake_error(&error)
            ),
        )
    };
    while tls.conn.is_handshaking() {
        let (read, written) = tls
            .conn
            .complete_io(&mut tls.sock)
            .map_err(handshake_failed)?;
        if read == 0 && written == 0 && tls.conn.is_handshaking() {
            return Err(handshake_failed(io::ErrorKind::UnexpectedEof.into()));
        }
    }
    let summary = TlsSummary::of(&tls.conn);
    let mut data = ToleratedEof {
        inner: tls,
        without_close_notify: false,
    };
    let mut outcome = run_job_on(job, &mut data)?;
    if data.without_close_notify {
        // Seen from here, a connection cut by an attacker looks the same (a truncation attack);
        // the upload still counts only if the control connection stays (upload_confirm_grace).
        tracing::warn!("the client ended a TLS data connection without close_notify");
    }
    let mut tls = data.inner;
    tls.conn.send_close_notify();
    while tls.conn.wants_write() {
        if tls.conn.write_tls(&mut tls.sock).is_err() {
            break;
        }
    }
    tls.sock.shutdown(std::net::Shutdown::Write).ok();
    outcome.tls = Some(summary);
    Ok(outcome)
}

/// A TLS stream that takes a TCP close without TLS close_notify as the end of the data, as
/// vsftpd does by default: several clients end uploads that way.
struct ToleratedEof {
    inner: rustls::StreamOwned<rustls::ServerConnection, StdTcpStream>,
    without_close_notify: bool,
}

impl Read for ToleratedEof {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                self.without_close_notify = true;
                Ok(0)
            }
            other => other,
        }
    }
}

impl Write for ToleratedEof {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Runs a job on a connected blocking stream (TCP or TLS).
fn run_job_on(job: Job, stream: &mut (impl Read + Write)) -> io::Result<Outcome> {
    let outcome = match job {
        Job::SendBytes(bytes) => {
            stream.write_all(&bytes)?;
            Outcome {
                bytes: bytes.len() as u64,
                sha256: None,
                upload: None,
                tls: None,
            }
        }
        Job::SendFile {
            file,
            offset,
            ascii,
            hash,
        } => send_file(file, offset, ascii, hash, stream)?,
        Job::Receive { upload, ascii } => receive(upload, ascii, stream)?,
    };
    stream.flush()?;
    Ok(outcome)
}

fn send_file(
    mut file: File,
    offset: u64,
    ascii: bool,
    hash: bool,
    stream: &mut impl Write,
) -> io::Result<Outcome> {
    use std::io::{Seek, SeekFrom};
    file.seek(SeekFrom::Start(offset))?;
    let mut hasher = hash.then(Sha256::new);
    let mut buf = vec![0u8; CHUNK];
    let mut converted = Vec::new();
    let mut sent = 0u64;
    let mut last_was_cr = false;
    loop {
        let n = read_some(&mut file, &mut buf)?;
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        if let Some(h) = hasher.as_mut() {
            h.update(chunk);
        }
        let out = if ascii {
            converted.clear();
            for &b in chunk {
                // RFC 959 §3.1.1.1: NVT-ASCII lines end in CRLF on the wire.
                if b == b'\n' && !last_was_cr {
                    converted.push(b'\r');
                }
                converted.push(b);
                last_was_cr = b == b'\r';
            }
            &converted[..]
        } else {
            chunk
        };
        stream.write_all(out)?;
        sent += out.len() as u64;
    }
    Ok(Outcome {
        bytes: sent,
        sha256: hasher.map(|h| hex::encode(h.finalize())),
        upload: None,
        tls: None,
    })
}

fn receive(upload: Upload, ascii: bool, stream: &mut impl Read) -> io::Result<Outcome> {
    if ascii {
        receive_ascii(upload, stream)
    } else {
        receive_binary(upload, stream)
    }
}

/// Buffers in flight between the socket reader and the hashing thread.
const BUFFERS_IN_FLIGHT: usize = 4;

/// How far behind the end of an upload its bytes are handed to the disk (writeback started).
const WRITEBACK_LAG: u64 = 8 * UPLOAD_CHUNK as u64;
/// How far behind the end of an upload its (written back) pages leave the page cache.
const DROP_LAG: u64 = 32 * UPLOAD_CHUNK as u64;

/// Drop-behind works in steps of this many bytes: one request to its thread per step.
const ADVICE_STEP: u64 = 4 * UPLOAD_CHUNK as u64;
/// Requests to the drop-behind thread queued before the upload stops asking.
const ADVICE_QUEUE: usize = 16;

/// Drop-behind for big uploads: each write of an upload needs fresh page-cache pages, and
/// without this a 1 GiB upload holds 1 GiB of them beside the file it replaces (which stays
/// whole until the upload lands). Pages taken from the free pool cost the kernel several times
/// the copy itself (1.5 s of system time per GiB on the benchmark VM, against 0.4 s with this).
/// So the bytes `WRITEBACK_LAG` behind the end go to the disk, and those `DROP_LAG` behind,
/// written back by then, leave the cache: the upload keeps reusing the same few dozen MiB of
/// pages, and a big upload no longer pushes other files out of the cache. Small uploads never
/// reach the lag.
///
/// The advice runs on a thread of its own ([`advise`]): starting writeback can wait for the
/// disk, and a disk slower than the network must not slow the upload. When that thread lags,
/// the upload skips advice, and those pages stay in the cache as they did before.
struct DropBehind {
    written: u64,
    /// The end of each step written, for [`advise`].
    steps: std::sync::mpsc::SyncSender<u64>,
}

impl DropBehind {
    /// Records that `n` more bytes were written at the end of the upload.
    fn wrote(&mut self, n: usize) {
        let before = self.written;
        self.written += n as u64;
        for step in before / ADVICE_STEP..self.written / ADVICE_STEP {
            self.steps.try_send((step + 1) * ADVICE_STEP).ok();
        }
    }
}

/// The drop-behind thread: for each step the upload has written (its end), advises the step
/// `WRITEBACK_LAG` behind and the one `DROP_LAG` behind, until the upload is over.
/// DONTNEED starts writeback of dirty pages and drops the clean ones of its range: said once
/// at `WRITEBACK_LAG`, it starts the writeback; said again at `DROP_LAG`, it drops. Advice that
/// fails changes nothing but speed.
fn advise(
    file: &File,
    steps: std::sync::mpsc::Receiver<u64>,
    over: &std::sync::atomic::AtomicBool,
) {
    let len = std::num::NonZeroU64::new(ADVICE_STEP);
    for end in steps {
        for lag in [WRITEBACK_LAG, DROP_LAG] {
            if over.load(std::sync::atomic::Ordering::Relaxed) {
                return;
            }
            if let Some(offset) = end.checked_sub(lag + ADVICE_STEP) {
                rustix::fs::fadvise(file, offset, len, rustix::fs::Advice::DontNeed).ok();
            }
        }
    }
}

/// TYPE I upload. sha256 runs on a second thread so hashing overlaps with reading the socket
/// and writing the file: one after the other, the three halve the upload rate.
fn receive_binary(upload: Upload, stream: &mut impl Read) -> io::Result<Outcome> {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::mpsc::sync_channel;
    let temp: &File = &upload.file;
    let (to_advisor, steps) = sync_channel(ADVICE_QUEUE);
    let over = AtomicBool::new(false);
    let (to_hasher, for_hasher) = sync_channel::<(Vec<u8>, usize)>(BUFFERS_IN_FLIGHT);
    let (to_reader, free_buffers) = sync_channel::<Vec<u8>>(BUFFERS_IN_FLIGHT);
    for _ in 0..BUFFERS_IN_FLIGHT {
        to_reader
            .send(vec![0u8; UPLOAD_CHUNK])
            .map_err(io::Error::other)?;
    }
    let (received, digest) = std::thread::scope(|scope| {
        let hashing = scope.spawn(move || {
            let mut hasher = Sha256::new();
            for (buf, n) in for_hasher {
                hasher.update(&buf[..n]);
                // The reader may have stopped early; then nobody needs the buffer back.
                to_reader.send(buf).ok();
            }
            hasher.finalize()
        });
        let over = &over;
        scope.spawn(move || advise(temp, steps, over));
        let mut received = 0u64;
        let mut behind = DropBehind {
            written: 0,
            steps: to_advisor,
        };
        let mut writer = temp;
        let result = loop {
            let Ok(mut buf) = free_buffers.recv() else {
                break Err(io::Error::other("hashing thread stopped"));
            };
            let n = match read_to_fill(stream, &mut buf) {
                Ok(0) => break Ok(()),
                Ok(n) => n,
                Err(e) => break Err(e),
            };
            received += n as u64;
            if let Err(e) = writer.write_all(&buf[..n]) {
                break Err(e);
            }
            behind.wrote(n);
            if to_hasher.send((buf, n)).is_err() {
                break Err(io::Error::other("hashing thread stopped"));
            }
        };
        drop(to_hasher);
        // Advice still queued is of no use now: the advisor stops before its next call.
        over.store(true, Ordering::Relaxed);
        drop(behind);
        let digest = hashing
            .join()
            .map_err(|_| io::Error::other("hashing thread panicked"))?;
        result.map(|()| (received, digest))
    })?;
    Ok(Outcome {
        bytes: received,
        sha256: Some(hex::encode(digest)),
        upload: Some(upload),
        tls: None,
    })
}

/// Reads until `buf` is full or the stream ends; 0 means it had already ended. A TLS stream
/// hands out one record (16 KiB) per read: passing each on to the disk and the hashing thread
/// alone cost a thread hand-off and a write per record (four times the futex calls of a clear
/// upload in the FTPS benchmark).
fn read_to_fill(source: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..).filter(|rest| !rest.is_empty()) {
        match read_some(source, rest)? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// `read`, retried when a signal interrupts it; 0 means end of stream.
fn read_some(source: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match source.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            result => return result,
        }
    }
}

/// TYPE A upload: CRLF → LF on the way to disk, hashed as stored.
fn receive_ascii(upload: Upload, stream: &mut impl Read) -> io::Result<Outcome> {
    let mut upload = upload;
    let temp = &mut upload.file;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut converted = Vec::new();
    let mut received = 0u64;
    let mut pending_cr = false;
    loop {
        let n = read_some(stream, &mut buf)?;
        if n == 0 {
            break;
        }
        received += n as u64;
        converted.clear();
        for &b in &buf[..n] {
            if pending_cr && b != b'\n' {
                converted.push(b'\r');
            }
            pending_cr = b == b'\r';
            if !pending_cr {
                converted.push(b);
            }
        }
        hasher.update(&converted);
        temp.write_all(&converted)?;
    }
    if pending_cr {
        hasher.update(b"\r");
        temp.write_all(b"\r")?;
    }
    let sha256 = hex::encode(hasher.finalize());
    Ok(Outcome {
        bytes: received,
        sha256: Some(sha256),
        upload: Some(upload),
        tls: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener as StdListener;

    /// Hands out at most `step` bytes per read, like a TLS stream hands out one record.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len());
            let (head, tail) = self.data.split_at(n);
            buf[..n].copy_from_slice(head);
            self.data = tail;
            Ok(n)
        }
    }

    #[test]
    fn reads_fill_the_buffer_until_the_stream_ends() {
        let data: Vec<u8> = (0..100u8).collect();
        let mut source = Trickle {
            data: &data,
            step: 16,
        };
        let mut buf = [0u8; 40];
        assert_eq!(read_to_fill(&mut source, &mut buf).unwrap(), 40);
        assert_eq!(&buf[..], &data[..40]);
        assert_eq!(read_to_fill(&mut source, &mut buf).unwrap(), 40);
        assert_eq!(read_to_fill(&mut source, &mut buf).unwrap(), 20);
        assert_eq!(&buf[..20], &data[80..]);
        assert_eq!(read_to_fill(&mut source, &mut buf).unwrap(), 0);
    }

    fn pair() -> (StdTcpStream, StdTcpStream) {
        let l = StdListener::bind("127.0.0.1:0").unwrap();
        let a = StdTcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (b, _) = l.accept().unwrap();
        (a, b)
    }

    fn upload(dir: &std::path::Path, name: &str, mode: UploadMode) -> Upload {
        let dir = cap_std::fs::Dir::open_ambient_dir(dir, cap_std::ambient_authority()).unwrap();
        Upload::create(dir, name, mode, false).unwrap()
    }

    #[test]
    fn ascii_send_turns_lf_into_crlf_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t"), b"a\nb\r\nc\n").unwrap();
        let (server, mut client) = pair();
        let file = File::open(dir.path().join("t")).unwrap();
        let job = Job::SendFile {
            file,
            offset: 0,
            ascii: true,
            hash: true,
        };
        let outcome = run_job(job, server, Duration::from_secs(5)).unwrap();
        let mut got = Vec::new();
        client.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"a\r\nb\r\nc\r\n");
        assert_eq!(outcome.bytes, 9);
    }

    #[test]
    fn ascii_receive_turns_crlf_into_lf_and_keeps_lone_cr() {
        let dir = tempfile::tempdir().unwrap();
        let (server, mut client) = pair();
        let sender = std::thread::spawn(move || {
            client.write_all(b"a\r\nb\rc\r").unwrap();
        });
        let job = Job::Receive {
            upload: upload(dir.path(), "t", UploadMode::Replace),
            ascii: true,
        };
        let outcome = run_job(job, server, Duration::from_secs(5)).unwrap();
        sender.join().unwrap();
        assert!(!dir.path().join("t").exists(), "named before it was landed");
        outcome.upload.unwrap().land().unwrap();
        assert_eq!(std::fs::read(dir.path().join("t")).unwrap(), b"a\nb\rc\r");
    }

    #[test]
    fn a_big_upload_arrives_whole_while_its_pages_are_dropped_behind() {
        let dir = tempfile::tempdir().unwrap();
        let (server, mut client) = pair();
        // Past DROP_LAG and a few advice steps, and not a whole number of chunks.
        let len = (DROP_LAG + 3 * ADVICE_STEP) as usize + 12_345;
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let expected = hex::encode(Sha256::digest(&data));
        let sent = data.clone();
        let sender = std::thread::spawn(move || client.write_all(&sent).unwrap());
        let job = Job::Receive {
            upload: upload(dir.path(), "big", UploadMode::Replace),
            ascii: false,
        };
        let outcome = run_job(job, server, Duration::from_secs(60)).unwrap();
        sender.join().unwrap();
        assert_eq!(outcome.bytes, len as u64);
        assert_eq!(outcome.sha256.as_deref(), Some(expected.as_str()));
        outcome.upload.unwrap().land().unwrap();
        assert!(std::fs::read(dir.path().join("big")).unwrap() == data);
    }

    #[test]
    fn failed_upload_leaves_no_file_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let (server, client) = pair();
        drop(client);
        let job = Job::Receive {
            upload: upload(dir.path(), "t", UploadMode::Replace),
            ascii: false,
        };
        // A zero-byte upload that ends cleanly is a real (empty) file...
        run_job(job, server, Duration::from_secs(5))
            .unwrap()
            .upload
            .unwrap()
            .land()
            .unwrap();
        assert_eq!(std::fs::read(dir.path().join("t")).unwrap(), b"");
        // ...but one that errors leaves nothing behind.
        let (server, client) = pair();
        socket2::SockRef::from(&client)
            .set_linger(Some(Duration::ZERO))
            .ok();
        let job = Job::Receive {
            upload: upload(dir.path(), "u", UploadMode::Replace),
            ascii: false,
        };
        let mut c = client;
        c.write_all(b"partial").unwrap();
        std::thread::sleep(Duration::from_millis(50));
        drop(c);
        let _ = run_job(job, server, Duration::from_millis(300));
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(
            !names.iter().any(|n| n.starts_with(".ftplab-upload-")),
            "{names:?}"
        );
    }

    #[test]
    fn rest_store_overwrites_from_the_offset_and_cuts_there() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t"), b"0123456789").unwrap();
        let (server, mut client) = pair();
        let sender = std::thread::spawn(move || client.write_all(b"ab").unwrap());
        let job = Job::Receive {
            upload: upload(dir.path(), "t", UploadMode::At(3)),
            ascii: false,
        };
        run_job(job, server, Duration::from_secs(5))
            .unwrap()
            .upload
            .unwrap()
            .land()
            .unwrap();
        sender.join().unwrap();
        assert_eq!(std::fs::read(dir.path().join("t")).unwrap(), b"012ab");
    }
}
