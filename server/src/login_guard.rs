//! Slows down password guessing: counts failed logins per address and locks out an address
//! that fails too often within a window (RFC 2577 §4, "Protecting against brute force").

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most addresses remembered; beyond that, entries with no recent failure are forgotten.
const MAX_TRACKED: usize = 10_000;

#[derive(Debug, Default)]
struct Record {
    failures: VecDeque<Instant>,
    locked_until: Option<Instant>,
}

/// Failed logins per client address.
#[derive(Debug)]
pub struct LoginGuard {
    max_failures: u32,
    window: Duration,
    records: Mutex<HashMap<IpAddr, Record>>,
}

impl LoginGuard {
    /// Locks an address out for `window` after `max_failures` failures within `window`.
    /// `max_failures == 0` disables the lockout.
    pub fn new(max_failures: u32, window: Duration) -> LoginGuard {
        LoginGuard {
            max_failures,
            window,
            records: Mutex::new(HashMap::new()),
        }
    }

    /// How much longer `ip` is locked out, if it is.
    pub fn locked_for(&self, ip: IpAddr) -> Option<Duration> {
        let now = Instant::now();
        let records = self
            .records
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let until = records.get(&ip.to_canonical())?.locked_until?;
        until.checked_duration_since(now).filter(|d| !d.is_zero())
    }

    /// Records a failure; returns true if the address is now locked out.
    pub fn record_failure(&self, ip: IpAddr) -> bool {
        if self.max_failures == 0 {
            return false;
        }
        let now = Instant::now();
        let mut records = self
            .records
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if records.len() >= MAX_TRACKED {
            let window = self.window;
            records.retain(|_, r| {
                r.locked_until.is_some_and(|u| u > now)
                    || r.failures
                        .back()
                        .is_some_and(|t| now.duration_since(*t) < window)
            });
        }
        let record = records.entry(ip.to_canonical()).or_default();
        while record
            .failures
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            record.failures.pop_front();
        }
        record.failures.push_back(now);
        if record.failures.len() >= self.max_failures as usize {
            record.locked_until = Some(now + self.window);
            record.failures.clear();
            return true;
        }
        false
    }

    /// A successful login clears the address's failures.
    pub fn record_success(&self, ip: IpAddr) {
        let mut records = self
            .records
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        records.remove(&ip.to_canonical());
    }
}

/// The text of the 421 reply to a locked-out address.
pub fn lockout_message(left: Duration) -> String {
    format!(
        "Too many failed logins from your address; try again in {} s.",
        left.as_secs() + 1
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_out_after_max_failures_and_only_that_address() {
        let guard = LoginGuard::new(3, Duration::from_secs(60));
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        assert!(!guard.record_failure(a));
        assert!(!guard.record_failure(a));
        assert!(guard.locked_for(a).is_none());
        assert!(guard.record_failure(a));
        assert!(guard.locked_for(a).is_some());
        assert!(guard.locked_for(b).is_none());
    }

    #[test]
    fn success_clears_failures() {
        let guard = LoginGuard::new(2, Duration::from_secs(60));
        let a: IpAddr = "::1".parse().unwrap();
        guard.record_failure(a);
        guard.record_success(a);
        assert!(!guard.record_failure(a));
    }

    #[test]
    fn zero_disables_the_lockout() {
        let guard = LoginGuard::new(0, Duration::from_secs(60));
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..100 {
            assert!(!guard.record_failure(a));
        }
    }
}
