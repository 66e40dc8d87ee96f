//! Accepting control connections: listen sockets with a large backlog, limits on sessions
//! overall and per address, one task per session.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

/// Pending connections the kernel keeps for us; a classroom burst must not overflow it.
const BACKLOG: i32 = 4096;

/// Opens a listening socket with SO_REUSEADDR and a large backlog.
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    TcpListener::from_std(socket.into())
}

/// Counts sessions overall and per address.
#[derive(Debug)]
pub struct SessionLimits {
    max_total: usize,
    max_per_address: usize,
    counts: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

/// Why a connection was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The server has `max_sessions` sessions.
    TooManySessions,
    /// This address has `max_sessions_per_address` sessions.
    TooManyFromAddress,
}

impl SessionLimits {
    /// Limits of `max_total` sessions and `max_per_address` per address.
    pub fn new(max_total: usize, max_per_address: usize) -> Arc<SessionLimits> {
        Arc::new(SessionLimits {
            max_total,
            max_per_address,
            counts: Mutex::new((0, HashMap::new())),
        })
    }

    /// Takes a place for a session from `ip`; the place is given back when the permit drops.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<SessionPermit, Refusal> {
        let ip = ip.to_canonical();
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let (total, per_address) = &mut *counts;
        if *total >= self.max_total {
            return Err(Refusal::TooManySessions);
        }
        let mine = per_address.entry(ip).or_insert(0);
        if *mine >= self.max_per_address {
            return Err(Refusal::TooManyFromAddress);
        }
        *mine += 1;
        *total += 1;
        Ok(SessionPermit {
            limits: Arc::clone(self),
            ip,
        })
    }
}

/// A session's place; dropping it frees the place.
#[derive(Debug)]
pub struct SessionPermit {
    limits: Arc<SessionLimits>,
    ip: IpAddr,
}

impl Drop for SessionPermit {
    fn drop(&mut self) {
        let mut counts = self.limits.counts.lock().unwrap_or_else(|p| p.into_inner());
        let (total, per_address) = &mut *counts;
        *total = total.saturating_sub(1);
        if let Some(mine) = per_address.get_mut(&self.ip) {
            *mine = mine.saturating_sub(1);
            if *mine == 0 {
                per_address.remove(&self.ip);
            }
        }
    }
}

/// Raises the soft limit on open files to the hard limit, as nginx and Go programs do: each
/// session holds its control connection, its root folder and a data connection or passive
/// listener, so the usual soft limit of 1,024 would cap a class server near 250 sessions.
/// Returns the limit now in force, if there is one.
pub fn raise_open_file_limit() -> Option<u64> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        limit.current = limit.maximum;
        if setrlimit(Resource::Nofile, limit).is_err() {
            return getrlimit(Resource::Nofile).current;
        }
    }
    limit.current
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_address_and_total_limits_and_release() {
        let limits = SessionLimits::new(3, 2);
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let p1 = limits.admit(a).unwrap();
        let _p2 = limits.admit(a).unwrap();
        assert_eq!(limits.admit(a).unwrap_err(), Refusal::TooManyFromAddress);
        let _p3 = limits.admit(b).unwrap();
        assert_eq!(limits.admit(b).unwrap_err(), Refusal::TooManySessions);
        drop(p1);
        assert!(limits.admit(a).is_ok());
    }
}
