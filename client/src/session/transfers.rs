//! Data connections and transfers of a session: EPSV/PASV/EPRT/PORT, RETR, STOR, APPE, REST,
//! LIST, NLST, MLSD, and mget/mput over them (RFC 959 §4.1.3, RFC 2428, RFC 3659 §5).

use super::{ListKind, Outcome, PutMode, Session};
use crate::data::{self, DataMode, PendingData};
use crate::error::ClientError;
use crate::progress::Progress;
use crate::tls::DataStream;
use crate::transfer::{self, CopyOptions, Direction};
use ftp_proto::host_port::{format_eprt_argument, parse_epsv_reply, parse_pasv_reply};
use ftp_proto::{Command, Reply, ReplyCode, transfer_size};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How often a download that receives nothing looks whether Ctrl-C was pressed.
const STALL_CHECK: Duration = Duration::from_millis(250);

impl Session {
    // --- data connections -------------------------------------------------------------------

    /// Sets up a data connection in the current mode, with EPSV→PASV and EPRT→PORT fallback.
    fn open_data(&mut self) -> Result<PendingData, ClientError> {
        let (peer, local) = {
            let control = self.control()?;
            (control.peer(), control.local())
        };
        let timeout = self.settings.timeout;
        match self.settings.mode {
            DataMode::Passive => {
                if self.try_epsv {
                    let epsv = Command::Epsv { argument: None };
                    let reply = self.exchange(&epsv)?;
                    if reply.code == ReplyCode::ENTERING_EXTENDED_PASSIVE {
                        let port = parse_epsv_reply(&reply.text()).map_err(|source| {
                            ClientError::BadDataAddress {
                                reply: reply.clone(),
                                source,
                            }
                        })?;
                        // RFC 2428 §3: the data connection goes to the control peer's address.
                        let addr = SocketAddr::new(peer.ip(), port);
                        self.trace
                            .data(&format!("passive (EPSV): connecting to {addr}"));
                        return data::connect(addr, "EPSV", timeout);
                    }
                    if reply.code == ReplyCode::SERVICE_NOT_AVAILABLE
                        || !reply.code.is_negative()
                        || peer.is_ipv6()
                    {
                        return Err(self.refused(&epsv, reply));
                    }
                    self.trace.note(&format!(
                        "the server refused EPSV ({}): falling back to PASV",
                        reply.code
                    ));
                    self.try_epsv = false;
                }
                let reply = self.exchange(&Command::Pasv)?;
                if reply.code != ReplyCode::ENTERING_PASSIVE {
                    return Err(self.refused(&Command::Pasv, reply));
                }
                let advertised = parse_pasv_reply(&reply.text()).map_err(|source| {
                    ClientError::BadDataAddress {
                        reply: reply.clone(),
                        source,
                    }
                })?;
                let addr = SocketAddr::new(peer.ip(), advertised.port());
                if IpAddr::V4(*advertised.ip()) != peer.ip() {
                    self.trace.note(&format!(
                        "the server's 227 reply advertises {advertised}, but the control \
                         connection reached {}: the server is behind NAT or misconfigured \
                         (see its passive address setting). Connecting to {addr} instead.",
                        peer.ip()
                    ));
                }
                self.trace
                    .data(&format!("passive (PASV): connecting to {addr}"));
                data::connect(addr, "PASV", timeout)
            }
            DataMode::Active => {
                let listener = data::listen(local.ip())?;
                let addr = listener
                    .local_addr()
                    .map_err(|source| ClientError::DataConnection {
                        mode: "active",
                        addr: local.ip().to_string(),
                        source,
                    })?;
                self.trace
                    .data(&format!("active: listening on {addr} for the server"));
                let mut setup = "PORT";
                if self.try_eprt || addr.is_ipv6() {
                    let eprt = Command::Eprt { addr };
                    let reply = self.exchange(&eprt)?;
                    if reply.code.is_positive_completion() {
                        setup = "EPRT";
                    } else if reply.code == ReplyCode::SERVICE_NOT_AVAILABLE || addr.is_ipv6() {
                        return Err(self.refused(&eprt, reply));
                    } else {
                        self.trace.note(&format!(
                            "the server refused EPRT {} ({}): falling back to PORT",
                            format_eprt_argument(addr),
                            reply.code
                        ));
                        self.try_eprt = false;
                    }
                }
                if setup == "PORT" {
                    let SocketAddr::V4(v4) = addr else {
                        return Err(ClientError::Usage(
                            "PORT cannot carry an IPv6 address".into(),
                        ));
                    };
                    self.simple(Command::Port { addr: v4 })?;
                }
                Ok(PendingData::Listening {
                    listener,
                    setup,
                    server_ip: peer.ip(),
                })
            }
        }
    }

    /// Sets up the data connection, sends REST `offset` when there is one, sends `command` and
    /// waits for its 1xx reply and the connection. REST comes after EPSV/PASV/EPRT/PORT because
    /// it must immediately precede the transfer command (RFC 959 §4.1.3, RFC 3659 §5.3).
    fn start_transfer(
        &mut self,
        command: &Command,
        offset: u64,
    ) -> Result<(DataStream, Reply), ClientError> {
        let pending = self.open_data()?;
        if offset > 0 {
            self.rest(offset)?;
        }
        let first = self.exchange(command)?;
        if !first.code.is_positive_preliminary() {
            return Err(self.refused(command, first));
        }
        let trace = self.trace.clone();
        let (stream, addresses) = pending.establish(self.settings.timeout, |m| trace.note(m))?;
        let _ = stream.set_read_timeout(Some(self.settings.timeout));
        let _ = stream.set_write_timeout(Some(self.settings.timeout));
        self.trace
            .data(&format!("data connection open: {addresses}"));
        self.last_data = Some(addresses);
        let stream = match (&self.tls, self.data_tls) {
            // PROT P: we are the TLS client in passive and active mode alike (RFC 4217 §7).
            (Some(tls), true) => {
                let tls = tls.handshake(&self.tls_host, stream).inspect_err(|_| {
                    self.settle_after_failure();
                })?;
                self.trace
                    .data(&format!("data connection encrypted: {}", tls.summary()));
                DataStream::Tls(tls)
            }
            _ => DataStream::Plain(stream),
        };
        Ok((stream, first))
    }

    /// Reads the final reply of a transfer (226 or 250 when all went well).
    fn finish_transfer(&mut self, command: &Command) -> Result<Reply, ClientError> {
        let mut reply = self.read_reply()?;
        while reply.code.is_positive_preliminary() {
            reply = self.read_reply()?;
        }
        if reply.code.is_positive_completion() {
            Ok(reply)
        } else {
            Err(self.refused(command, reply))
        }
    }

    /// After a transfer failed on our side: the data connection is closed; read the server's
    /// final reply (usually 426) so that the control connection stays in step.
    fn settle_after_failure(&mut self) {
        let short = Duration::from_secs(5).min(self.settings.timeout);
        if let Some(control) = &self.control {
            let _ = control.set_timeout(short);
        }
        if let Ok(reply) = self.read_reply()
            && reply.code.is_positive_preliminary()
        {
            let _ = self.read_reply();
        }
        let timeout = self.settings.timeout;
        if let Some(control) = &self.control {
            let _ = control.set_timeout(timeout);
        }
    }

    /// After Ctrl-C stopped a transfer (the data connection is already closed): ABOR, then the
    /// transfer's own final reply (426, or 226 when it had finished) and ABOR's (225 or 226),
    /// so that the next command gets its own reply (RFC 959 §4.1.3).
    fn abort_transfer(&mut self) {
        let short = Duration::from_secs(5).min(self.settings.timeout);
        if let Some(control) = &self.control {
            let _ = control.set_timeout(short);
        }
        if self.exchange(&Command::Abor).is_ok() {
            // Two replies in every order servers use; a server that sends one just lets this
            // wait run out.
            let mut reply = self.read_reply();
            while reply
                .as_ref()
                .is_ok_and(|r| r.code.is_positive_preliminary())
            {
                reply = self.read_reply();
            }
        }
        let timeout = self.settings.timeout;
        if let Some(control) = &self.control {
            let _ = control.set_timeout(timeout);
        }
    }

    fn copy_options(&self, direction: Direction) -> CopyOptions {
        CopyOptions {
            ascii: (!self.settings.binary).then_some(direction),
            limit_rate: self.settings.limit_rate,
            stall_limit: Some(self.settings.timeout),
            ..CopyOptions::default()
        }
    }

    // --- transfers ---------------------------------------------------------------------------

    /// RETR `remote` into `local` (default: its base name here; `-` is stdout). The bytes go to
    /// `NAME.part` and are renamed to `NAME` only after the server's 226, so a failed download
    /// never leaves a partial file under the final name. With `resume`, REST continues
    /// `NAME.part` (or `NAME`) from its current size.
    pub fn get(
        &mut self,
        remote: &str,
        local: Option<&str>,
        resume: bool,
    ) -> Result<Outcome, ClientError> {
        self.control()?;
        let local = local.unwrap_or_else(|| base_name(remote));
        if local == "-" {
            return self.get_to_stdout(remote);
        }
        let mut final_path = self.local_path(local);
        if final_path.is_dir() {
            final_path = final_path.join(base_name(remote));
        }
        let part_path = part_path(&final_path);
        let (write_path, offset) = if resume && part_path.exists() {
            (part_path.clone(), file_len(&part_path)?)
        } else if resume && final_path.exists() {
            (final_path.clone(), file_len(&final_path)?)
        } else {
            (part_path.clone(), 0)
        };
        let created = !write_path.exists();
        // Open the local file before asking the server: a folder we cannot write is found
        // before any byte moves.
        let mut file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(offset == 0)
            .open(&write_path)
            .map_err(|source| ClientError::LocalFile {
                action: "create",
                path: write_path.clone(),
                source,
            })?;
        let result = self.receive_into(remote, &mut file, &write_path, offset);
        drop(file);
        match result {
            Ok(mut outcome) => {
                if write_path != final_path {
                    fs::rename(&write_path, &final_path).map_err(|source| {
                        ClientError::LocalFile {
                            action: "rename the finished download to",
                            path: final_path.clone(),
                            source,
                        }
                    })?;
                }
                outcome.files.push(final_path.display().to_string());
                Ok(outcome)
            }
            Err(error) => {
                if write_path == final_path {
                    return Err(error);
                }
                let len = fs::metadata(&write_path).map(|m| m.len()).unwrap_or(0);
                if len > offset || (len > 0 && resume) {
                    Err(ClientError::PartialDownload {
                        source: Box::new(error),
                        part: write_path,
                        bytes: len,
                    })
                } else {
                    if created || len == 0 {
                        let _ = fs::remove_file(&write_path);
                    }
                    Err(error)
                }
            }
        }
    }

    fn receive_into(
        &mut self,
        remote: &str,
        file: &mut File,
        path: &Path,
        offset: u64,
    ) -> Result<Outcome, ClientError> {
        self.ensure_type()?;
        if offset > 0 {
            file.seek(SeekFrom::Start(offset))
                .map_err(|source| ClientError::LocalFile {
                    action: "seek in",
                    path: path.to_owned(),
                    source,
                })?;
        }
        let retr = Command::Retr {
            path: remote.to_owned(),
        };
        let mut writer = io::BufWriter::with_capacity(256 * 1024, file);
        self.receive(&retr, &mut writer, path, offset, remote)
    }

    fn rest(&mut self, offset: u64) -> Result<Reply, ClientError> {
        let rest = Command::Rest { offset };
        let reply = self.exchange(&rest)?;
        if reply.code != ReplyCode::FILE_ACTION_PENDING {
            return Err(self.refused(&rest, reply));
        }
        Ok(reply)
    }

    /// The data-connection half of RETR and listings: stream into `out`, then the final reply.
    fn receive(
        &mut self,
        command: &Command,
        out: &mut impl Write,
        local: &Path,
        offset: u64,
        name: &str,
    ) -> Result<Outcome, ClientError> {
        let (mut stream, first) = self.start_transfer(command, offset)?;
        // Short reads, so that Ctrl-C is noticed while a server sends nothing; the copy itself
        // gives up after the session's timeout without a byte.
        let _ = stream
            .tcp()
            .set_read_timeout(Some(STALL_CHECK.min(self.settings.timeout)));
        let total = transfer_size(&first.text()).map(|n| n + offset);
        let mut progress = Progress::new(self.settings.progress, name, total, offset);
        let start = Instant::now();
        let copied = transfer::copy(
            &mut stream,
            out,
            self.copy_options(Direction::Receive),
            &mut progress,
        );
        progress.finish();
        let _ = stream.close();
        let bytes = match copied {
            Ok(bytes) => bytes,
            Err((transfer::CopyError::Interrupted, bytes)) => {
                self.abort_transfer();
                // A download's partial file and the `reget` hint are added by `get`.
                return Err(ClientError::Interrupted { bytes, hint: "" });
            }
            Err((error, bytes)) => {
                self.settle_after_failure();
                return Err(transfer::copy_error(error, bytes, local, true));
            }
        };
        let seconds = start.elapsed().as_secs_f64();
        let reply = self.finish_transfer(command)?;
        Ok(Outcome {
            reply: Some((&reply).into()),
            bytes: Some(bytes),
            seconds: Some(seconds),
            message: Some(summary(bytes, seconds, "received")),
            ..Outcome::default()
        })
    }

    fn get_to_stdout(&mut self, remote: &str) -> Result<Outcome, ClientError> {
        self.ensure_type()?;
        let retr = Command::Retr {
            path: remote.to_owned(),
        };
        let stdout = io::stdout();
        let mut out = io::BufWriter::new(stdout.lock());
        // stdout carries the file: replies go to stderr meanwhile.
        let before = std::mem::replace(&mut self.trace.replies_on_stderr, true);
        let result = self.receive(&retr, &mut out, Path::new("-"), 0, remote);
        self.trace.replies_on_stderr = before;
        let mut outcome = result?;
        outcome.message = None;
        Ok(outcome)
    }

    /// LIST, NLST or MLSD; the listing goes to stdout as it arrives, or into the outcome.
    pub fn list(
        &mut self,
        kind: ListKind,
        path: Option<&str>,
        collect: bool,
    ) -> Result<Outcome, ClientError> {
        let path = path.map(str::to_owned);
        let command = match kind {
            ListKind::List => Command::List { path },
            ListKind::Nlst => Command::Nlst { path },
            ListKind::Mlsd => Command::Mlsd { path },
        };
        // Listings are text: always convert line ends, whatever TYPE is in force.
        let binary = self.settings.binary;
        self.settings.binary = false;
        let progress = std::mem::replace(&mut self.settings.progress, false);
        let result = if collect {
            let mut buf = Vec::new();
            self.receive(&command, &mut buf, Path::new("-"), 0, "listing")
                .map(|mut outcome| {
                    outcome.output = Some(String::from_utf8_lossy(&buf).into_owned());
                    outcome
                })
        } else {
            let stdout = io::stdout();
            let mut out = stdout.lock();
            self.receive(&command, &mut out, Path::new("-"), 0, "listing")
        };
        self.settings.binary = binary;
        self.settings.progress = progress;
        result.map(|mut outcome| {
            outcome.message = None;
            outcome
        })
    }

    /// Names in a remote folder (NLST), for mget.
    fn names(&mut self, dir: Option<&str>) -> Result<Vec<String>, ClientError> {
        let outcome = self.list(ListKind::Nlst, dir, true)?;
        Ok(outcome
            .output
            .unwrap_or_default()
            .lines()
            .map(|l| l.trim_end_matches('\r').to_owned())
            .filter(|l| !l.is_empty())
            .collect())
    }

    /// STOR, APPE or (resume) SIZE + REST + STOR of a local file.
    pub fn put(
        &mut self,
        local: &str,
        remote: Option<&str>,
        mode: PutMode,
    ) -> Result<Outcome, ClientError> {
        self.control()?;
        let path = self.local_path(local);
        let open_error = |source| ClientError::LocalFile {
            action: "open",
            path: path.clone(),
            source,
        };
        let mut file = File::open(&path).map_err(open_error)?;
        let meta = file.metadata().map_err(open_error)?;
        if meta.is_dir() {
            return Err(ClientError::Usage(format!(
                "{} is a folder: put sends files (mput DIR/* sends the files in it)",
                path.display()
            )));
        }
        let remote = remote.unwrap_or_else(|| base_name(local)).to_owned();
        self.ensure_type()?;
        let mut offset = 0;
        if mode == PutMode::Resume {
            offset = match self.size(&remote) {
                Ok((size, _)) => size,
                Err(ClientError::Refused { reply, .. })
                    if reply.code == ReplyCode::FILE_UNAVAILABLE =>
                {
                    0
                }
                Err(e) => return Err(e),
            };
            if offset > meta.len() {
                return Err(ClientError::Usage(format!(
                    "the remote {remote} ({offset} bytes) is larger than {} ({} bytes): \
                     nothing to resume; `put` replaces it",
                    path.display(),
                    meta.len()
                )));
            }
            if offset == meta.len() {
                return Ok(Outcome {
                    bytes: Some(0),
                    message: Some(format!("{remote} is already complete ({offset} bytes)")),
                    ..Outcome::default()
                });
            }
            if offset > 0 {
                file.seek(SeekFrom::Start(offset)).map_err(open_error)?;
            }
        }
        let command = match mode {
            PutMode::Append => Command::Appe {
                path: remote.clone(),
            },
            PutMode::Store | PutMode::Resume => Command::Stor {
                path: remote.clone(),
            },
        };
        let (mut stream, _) = self.start_transfer(&command, offset)?;
        let mut progress = Progress::new(self.settings.progress, &remote, Some(meta.len()), offset);
        let start = Instant::now();
        let mut reader = io::BufReader::with_capacity(256 * 1024, file);
        let copied = transfer::copy(
            &mut reader,
            &mut stream,
            self.copy_options(Direction::Send),
            &mut progress,
        );
        progress.finish();
        if matches!(copied, Err((transfer::CopyError::Interrupted, _))) {
            // A plain close would tell the server the file is complete: reset the connection
            // instead, so that the server sees a broken upload, and then send ABOR.
            let _ = socket2::SockRef::from(stream.tcp()).set_linger(Some(Duration::ZERO));
            drop(stream);
            self.abort_transfer();
            let bytes = copied.err().map_or(0, |(_, b)| b);
            // Many servers (pyftpdlib, vsftpd) keep what they received, even after ABOR.
            return Err(ClientError::Interrupted {
                bytes,
                hint: " (the server may keep the part it received: `reput` resumes it, \
                       `delete` removes it)",
            });
        }
        // Closing the data connection is what tells the server the file is complete
        // (RFC 959 §3.4, stream mode: end of file is the close of the connection); inside TLS
        // close_notify says it first, so a cut connection cannot pass for the end of the file.
        let closed = stream.close();
        let copied = copied.and_then(|bytes| {
            closed
                .map(|()| bytes)
                .map_err(|e| (transfer::CopyError::Write(e), bytes))
        });
        let bytes = match copied {
            Ok(bytes) => bytes,
            Err((error, bytes)) => {
                self.settle_after_failure();
                return Err(transfer::copy_error(error, bytes, &path, false));
            }
        };
        let seconds = start.elapsed().as_secs_f64();
        let reply = self.finish_transfer(&command)?;
        Ok(Outcome {
            reply: Some((&reply).into()),
            bytes: Some(bytes),
            seconds: Some(seconds),
            files: vec![remote],
            message: Some(summary(bytes, seconds, "sent")),
            ..Outcome::default()
        })
    }

    /// `get` of every remote file matching each pattern (`*`, `?`, `[..]` in the last part).
    pub fn mget(&mut self, patterns: &[String]) -> Result<Outcome, ClientError> {
        let mut all = Outcome::default();
        for pattern in patterns {
            let targets = if has_glob(pattern) {
                let (dir, name_pattern) = match pattern.rsplit_once('/') {
                    Some((dir, name)) => (Some(if dir.is_empty() { "/" } else { dir }), name),
                    None => (None, pattern.as_str()),
                };
                let matcher = glob::Pattern::new(name_pattern)
                    .map_err(|e| ClientError::Usage(format!("bad pattern {pattern:?}: {e}")))?;
                let mut matched: Vec<String> = self
                    .names(dir)?
                    .iter()
                    .map(|n| base_name(n).to_owned())
                    .filter(|n| matcher.matches(n))
                    .map(|n| match dir {
                        Some("/") => format!("/{n}"),
                        Some(d) => format!("{d}/{n}"),
                        None => n,
                    })
                    .collect();
                matched.sort();
                matched.dedup();
                if matched.is_empty() {
                    return Err(ClientError::Usage(format!(
                        "no remote file matches {pattern} (`nls` lists the names)"
                    )));
                }
                matched
            } else {
                vec![pattern.clone()]
            };
            for remote in targets {
                let outcome = self.get(&remote, None, false)?;
                merge(&mut all, outcome);
            }
        }
        Ok(all)
    }

    /// `put` of every local file matching each pattern.
    pub fn mput(&mut self, patterns: &[String]) -> Result<Outcome, ClientError> {
        let mut all = Outcome::default();
        for pattern in patterns {
            let full = self.local_path(pattern);
            let full = full.to_string_lossy();
            let paths = glob::glob(&full)
                .map_err(|e| ClientError::Usage(format!("bad pattern {pattern:?}: {e}")))?;
            let mut files: Vec<PathBuf> = paths
                .filter_map(Result::ok)
                .filter(|p| p.is_file())
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(ClientError::Usage(format!(
                    "no local file matches {pattern} (in {})",
                    self.local_dir.display()
                )));
            }
            for file in files {
                let local = file.to_string_lossy().into_owned();
                let outcome = self.put(&local, None, PutMode::Store)?;
                merge(&mut all, outcome);
            }
        }
        Ok(all)
    }
}

fn merge(all: &mut Outcome, one: Outcome) {
    all.bytes = Some(all.bytes.unwrap_or(0) + one.bytes.unwrap_or(0));
    all.seconds = Some(all.seconds.unwrap_or(0.0) + one.seconds.unwrap_or(0.0));
    all.files.extend(one.files);
    all.reply = one.reply;
    all.message = Some(format!(
        "{} files, {}",
        all.files.len(),
        summary(
            all.bytes.unwrap_or(0),
            all.seconds.unwrap_or(0.0),
            "transferred"
        )
    ));
}

fn has_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

/// The last part of a path, local or remote.
pub fn base_name(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    trimmed.rsplit('/').next().unwrap_or(trimmed)
}

/// Where a download in progress is written: `NAME.part` next to `NAME`.
pub fn part_path(final_path: &Path) -> PathBuf {
    let mut name = final_path.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    final_path.with_file_name(name)
}

fn file_len(path: &Path) -> Result<u64, ClientError> {
    fs::metadata(path)
        .map(|m| m.len())
        .map_err(|source| ClientError::LocalFile {
            action: "read the size of",
            path: path.to_owned(),
            source,
        })
}

/// `1048576 bytes received in 0.05 s (20.0 MiB/s)`.
fn summary(bytes: u64, seconds: f64, verb: &str) -> String {
    let rate = if seconds > 0.0 {
        bytes as f64 / seconds / (1024.0 * 1024.0)
    } else {
        0.0
    };
    format!("{bytes} bytes {verb} in {seconds:.2} s ({rate:.1} MiB/s)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_file_sits_next_to_the_final_name() {
        assert_eq!(
            part_path(Path::new("/tmp/x/a.bin")),
            PathBuf::from("/tmp/x/a.bin.part")
        );
        assert_eq!(base_name("pub/dir/a.bin"), "a.bin");
        assert_eq!(base_name("a.bin"), "a.bin");
        assert_eq!(base_name("dir/"), "dir");
    }
}
