//! Data connections (RFC 959 §3.2, RFC 2428): passive (EPSV, falling back to PASV) and active
//! (EPRT, falling back to PORT).

use crate::error::ClientError;
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

/// Who opens the data connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataMode {
    /// The server listens (EPSV/PASV) and the client connects: works through client-side NAT.
    Passive,
    /// The client listens (EPRT/PORT) and the server connects.
    Active,
}

impl DataMode {
    /// `passive` or `active`.
    pub fn name(self) -> &'static str {
        match self {
            DataMode::Passive => "passive",
            DataMode::Active => "active",
        }
    }
}

impl fmt::Display for DataMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The two ends of the last data connection, for `status` and the trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataAddresses {
    /// Passive or active.
    pub mode: DataMode,
    /// The command that set it up (`EPSV`, `PASV`, `EPRT`, `PORT`).
    pub setup: &'static str,
    /// Our end.
    pub local: SocketAddr,
    /// The server's end.
    pub remote: SocketAddr,
}

impl fmt::Display for DataAddresses {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} via {}: {} (us) <-> {} (server)",
            self.mode, self.setup, self.local, self.remote
        )
    }
}

/// A data connection being set up: connected already (passive) or waiting for the server
/// (active).
#[derive(Debug)]
pub enum PendingData {
    /// Passive: connected before the transfer command was sent.
    Connected {
        /// The stream.
        stream: TcpStream,
        /// Its addresses.
        addresses: DataAddresses,
    },
    /// Active: listening; the server connects after the transfer command.
    Listening {
        /// The listener.
        listener: TcpListener,
        /// The command that announced it.
        setup: &'static str,
        /// Only connections from this address are accepted (RFC 2577: data port theft).
        server_ip: IpAddr,
    },
}

/// Connects to a passive data port.
pub fn connect(
    addr: SocketAddr,
    setup: &'static str,
    timeout: Duration,
) -> Result<PendingData, ClientError> {
    let fail = |source| ClientError::DataConnection {
        mode: "passive",
        addr: addr.to_string(),
        source,
    };
    let stream = TcpStream::connect_timeout(&addr, timeout).map_err(fail)?;
    let local = stream.local_addr().map_err(fail)?;
    Ok(PendingData::Connected {
        stream,
        addresses: DataAddresses {
            mode: DataMode::Passive,
            setup,
            local,
            remote: addr,
        },
    })
}

/// Listens for an active data connection on `ip`, on a port the system picks.
pub fn listen(ip: IpAddr) -> Result<TcpListener, ClientError> {
    TcpListener::bind(SocketAddr::new(ip, 0)).map_err(|source| ClientError::DataConnection {
        mode: "active",
        addr: format!("{ip}:0"),
        source,
    })
}

impl PendingData {
    /// The connected stream: at once in passive mode, after the server connects in active mode.
    /// Connections from other addresses than the server's are refused and reported.
    pub fn establish(
        self,
        timeout: Duration,
        note: impl Fn(&str),
    ) -> Result<(TcpStream, DataAddresses), ClientError> {
        match self {
            PendingData::Connected { stream, addresses } => Ok((stream, addresses)),
            PendingData::Listening {
                listener,
                setup,
                server_ip,
            } => {
                let local = listener.local_addr().ok();
                let fail = |source| ClientError::DataConnection {
                    mode: "active",
                    addr: local.map_or_else(String::new, |a| a.to_string()),
                    source,
                };
                listener.set_nonblocking(true).map_err(fail)?;
                let deadline = Instant::now() + timeout;
                loop {
                    match listener.accept() {
                        Ok((stream, remote)) if remote.ip() == server_ip => {
                            stream.set_nonblocking(false).map_err(fail)?;
                            let local = stream.local_addr().map_err(fail)?;
                            return Ok((
                                stream,
                                DataAddresses {
                                    mode: DataMode::Active,
                                    setup,
                                    local,
                                    remote,
                                },
                            ));
                        }
                        Ok((_, remote)) => note(&format!(
                            "refused a data connection from {remote}: not the server's \
                             address {server_ip} (RFC 2577, data port theft)"
                        )),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                            if Instant::now() >= deadline {
                                return Err(fail(io::Error::new(
                                    io::ErrorKind::TimedOut,
                                    format!("the server did not connect within {timeout:?}"),
                                )));
                            }
                            thread::sleep(Duration::from_millis(2));
                        }
                        Err(e) => return Err(fail(e)),
                    }
                }
            }
        }
    }
}
