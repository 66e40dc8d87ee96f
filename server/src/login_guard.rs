//! Slows down password guessing (RFC 2577 §5, "Protecting Passwords"): budgets of failed
//! logins per client address and per (address, user name), counted before the verdict.
//!
//! Two budgets, because one cannot be right for both cases a class server meets:
//! - per (address, user): one account guessed from one address is locked after a few failures,
//!   while the other students behind the same NAT address go on logging in;
//! - per address, across all user names: an attacker who guesses many accounts is locked out
//!   once the total is reached, and a success on the attacker's own account does not refill it
//!   (a success only clears the failures of that user from that address).
//!
//! A password check takes time (argon2); guesses sent in parallel would all be judged before
//! the first failure is counted. So every check first takes a place in both budgets
//! ([`LoginGuard::begin`]): a check in flight counts as a failure until its verdict says
//! otherwise. When failures and checks in flight fill a budget, the next login waits for a
//! verdict instead of being checked: so a class logging in at once behind one address queues
//! for a moment, and no more than the budget's number of wrong guesses is ever judged.
//!
//! The counting lives behind this one small interface (`begin` → [`LoginAttempt::succeeded`] /
//! [`LoginAttempt::failed`], plus [`LoginGuard::address_locked_for`] at connect), with two
//! backends ([`FailureBackend`]):
//! - [`FailureBackend::Memory`] (the default with a SQLite file): everything in this process;
//! - [`FailureBackend::Shared`] (the default with MySQL/MariaDB): failures and lockouts in SQL
//!   tables ([`SqlFailureLog`]), so several `ftp-server` instances on one database (a class
//!   server) lock out an address that guesses across all of them. Checks in flight are rows
//!   there too, so parallel guesses spread over the instances still cannot exceed a budget
//!   (beyond the few milliseconds in which another instance's insert is not yet visible); a
//!   login waiting for a place looks again every 200 ms. When the tables cannot be
//!   read, logins are refused (530, and a log line): a guesser must not get an unlimited budget
//!   by knocking the database over.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::user_store::{Admission, Pending, SqlFailureLog};

/// Most budgets remembered; beyond that, budgets with nothing recent in them are forgotten.
const MAX_TRACKED: usize = 10_000;

/// How long a login waits for a place in a budget filled by checks in flight.
pub const MAX_WAIT: Duration = Duration::from_secs(30);

/// How often a waiting login looks at the shared tables again (verdicts of other instances
/// wake nobody here).
const SHARED_POLL: Duration = Duration::from_millis(200);

/// How often the shared tables are swept of expired failures and lockouts.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// User names longer than this share a budget: an attacker's 4 KiB names must not fill memory.
const MAX_NAME_KEY: usize = 128;

/// Why a login is refused without checking the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lockout {
    /// Too many failures from this address, whatever the user name, for this much longer.
    Address(Duration),
    /// Too many failures for this user name from this address, for this much longer.
    User(Duration),
    /// As many password checks are running for this address as its budget allows, and none
    /// finished within [`MAX_WAIT`].
    InFlight,
    /// The shared failure tables could not be read: refused, since an unreadable budget must
    /// not become an unlimited one.
    Unavailable,
}

impl Lockout {
    /// Whether the control connection should close (the whole address is refused).
    pub fn closes_connection(self) -> bool {
        !matches!(self, Lockout::User(_) | Lockout::Unavailable)
    }

    /// The reply text: says what is refused and for how long, never whether a name exists.
    pub fn message(self, user: &str) -> String {
        match self {
            Lockout::Address(left) => lockout_message(left),
            Lockout::User(left) => format!(
                "Too many failed logins for {user} from your address; try again in {} s.",
                left.as_secs() + 1
            ),
            Lockout::InFlight => {
                "Too many logins in progress from your address; try again in a moment.".to_owned()
            }
            Lockout::Unavailable => {
                "Login refused: the login failure database is unavailable; try again later."
                    .to_owned()
            }
        }
    }
}

/// The text of the 421 reply to a locked-out address.
pub fn lockout_message(left: Duration) -> String {
    format!(
        "Too many failed logins from your address; try again in {} s.",
        left.as_secs() + 1
    )
}

/// One budget: recent failures, checks in flight, and a lockout end.
#[derive(Debug, Default)]
struct Budget {
    failures: VecDeque<Instant>,
    in_flight: u32,
    locked_until: Option<Instant>,
}

impl Budget {
    /// Drops failures older than the window and an expired lockout.
    fn expire(&mut self, now: Instant, window: Duration) {
        while self
            .failures
            .front()
            .is_some_and(|t| now.duration_since(*t) >= window)
        {
            self.failures.pop_front();
        }
        if self.locked_until.is_some_and(|until| until <= now) {
            self.locked_until = None;
        }
    }

    fn locked_for(&self, now: Instant) -> Option<Duration> {
        self.locked_until
            .and_then(|until| until.checked_duration_since(now))
            .filter(|left| !left.is_zero())
    }

    /// Turns a check in flight into a failure; locks when the limit is reached.
    fn fail(&mut self, now: Instant, limit: u32, window: Duration) -> bool {
        self.in_flight = self.in_flight.saturating_sub(1);
        if limit == 0 {
            return false;
        }
        self.failures.push_back(now);
        if self.failures.len() >= limit as usize {
            self.locked_until = Some(now + window);
            self.failures.clear();
            return true;
        }
        false
    }

    fn idle(&self, now: Instant, window: Duration) -> bool {
        self.in_flight == 0
            && self.locked_for(now).is_none()
            && self
                .failures
                .back()
                .is_none_or(|t| now.duration_since(*t) >= window)
    }
}

/// Whether one more check would go over `limit` (0: no limit).
fn full(limit: u32, failures: u32, in_flight: u32) -> bool {
    limit > 0 && u64::from(failures) + u64::from(in_flight) >= u64::from(limit)
}

/// Where failures and lockouts are kept.
#[derive(Debug, Clone)]
pub enum FailureBackend {
    /// In this process (lost at restart, private to this instance).
    Memory,
    /// In the SQL tables of the user database, shared by every instance on it.
    Shared(SqlFailureLog),
}

#[derive(Debug, Default)]
struct Budgets {
    addresses: HashMap<IpAddr, Budget>,
    users: HashMap<(IpAddr, String), Budget>,
}

/// Failed-login budgets for the whole server.
#[derive(Debug)]
pub struct LoginGuard {
    per_address: u32,
    per_user: u32,
    window: Duration,
    budgets: Mutex<Budgets>,
    /// Woken at every verdict, for the logins waiting for a place.
    settled: tokio::sync::Notify,
    /// The shared tables, when failures live there; the local budgets then count only the
    /// checks in flight in this instance.
    shared: Option<SqlFailureLog>,
    /// When the shared tables were last swept of expired rows.
    last_sweep: Mutex<Option<Instant>>,
}

impl LoginGuard {
    /// `per_address` failures from one address, or `per_user` failures for one user name from
    /// one address, within `window` lock that address (or that name from it) for `window`.
    /// A limit of 0 switches that budget off.
    pub fn new(per_address: u32, per_user: u32, window: Duration) -> LoginGuard {
        LoginGuard::with_backend(per_address, per_user, window, FailureBackend::Memory)
    }

    /// [`LoginGuard::new`] with failures kept in `backend`.
    pub fn with_backend(
        per_address: u32,
        per_user: u32,
        window: Duration,
        backend: FailureBackend,
    ) -> LoginGuard {
        LoginGuard {
            per_address,
            per_user,
            window,
            budgets: Mutex::new(Budgets::default()),
            settled: tokio::sync::Notify::new(),
            shared: match backend {
                FailureBackend::Memory => None,
                FailureBackend::Shared(log) => Some(log),
            },
            last_sweep: Mutex::new(None),
        }
    }

    /// Whether failures are shared with other instances through the database.
    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    fn lock(&self) -> MutexGuard<'_, Budgets> {
        // A panic elsewhere while holding the lock leaves counts that are still counts.
        self.budgets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How much longer `ip` as a whole is locked out, if it is (checked at connect).
    ///
    /// When the shared tables cannot be read, the address is let in: its login will be
    /// refused by [`LoginGuard::begin`], while anonymous users and the 220 greeting still work.
    pub async fn address_locked_for(&self, ip: IpAddr) -> Option<Duration> {
        let ip = ip.to_canonical();
        if let Some(log) = &self.shared {
            return match log.address_locked_for(ip).await {
                Ok(left) => left,
                Err(error) => {
                    tracing::error!(%error, %ip, "cannot read the login lockouts; \
                        logins are refused until the database answers");
                    None
                }
            };
        }
        let budgets = self.lock();
        budgets.addresses.get(&ip)?.locked_for(Instant::now())
    }

    /// Takes a place in both budgets before a password is checked, waiting (at most
    /// [`MAX_WAIT`]) while checks in flight fill them; or says why not.
    pub async fn begin(&self, ip: IpAddr, user: &str) -> Result<LoginAttempt<'_>, Lockout> {
        let ip = ip.to_canonical();
        let deadline = tokio::time::Instant::now() + MAX_WAIT;
        loop {
            // Registered before looking, so a verdict in between is not missed.
            let settled = self.settled.notified();
            tokio::pin!(settled);
            settled.as_mut().enable();
            let outcome = match &self.shared {
                Some(log) => self.try_begin_shared(log, ip, user).await,
                None => self.try_begin(ip, user),
            };
            match outcome {
                Err(Lockout::InFlight) => {
                    // Verdicts of other instances wake nobody here: look again now and then.
                    let wake = match self.shared {
                        Some(_) => deadline.min(tokio::time::Instant::now() + SHARED_POLL),
                        None => deadline,
                    };
                    let woken = tokio::time::timeout_at(wake, settled).await.is_ok();
                    if !woken && tokio::time::Instant::now() >= deadline {
                        return Err(Lockout::InFlight);
                    }
                }
                other => return other,
            }
        }
    }

    /// [`LoginGuard::begin`] in the shared tables, without waiting.
    async fn try_begin_shared(
        &self,
        log: &SqlFailureLog,
        ip: IpAddr,
        user: &str,
    ) -> Result<LoginAttempt<'_>, Lockout> {
        let key = (ip, name_key(user));
        let limits = (self.per_address, self.per_user);
        match log.begin(ip, &key.1, limits, self.window).await {
            Ok(Admission::Admitted(pending)) => Ok(LoginAttempt {
                guard: self,
                key,
                settled: false,
                pending: Some(pending),
            }),
            Ok(Admission::AddressLocked(left)) => Err(Lockout::Address(left)),
            Ok(Admission::UserLocked(left)) => Err(Lockout::User(left)),
            Ok(Admission::Full) => Err(Lockout::InFlight),
            Err(error) => {
                tracing::error!(%error, %ip, user, "cannot read the login failure tables; \
                    login refused until the database answers");
                Err(Lockout::Unavailable)
            }
        }
    }

    /// [`LoginGuard::begin`] without waiting: [`Lockout::InFlight`] when the budgets are full
    /// of checks in flight. Only for the in-memory budgets (with shared tables, use
    /// [`LoginGuard::begin`]).
    pub fn try_begin(&self, ip: IpAddr, user: &str) -> Result<LoginAttempt<'_>, Lockout> {
        let now = Instant::now();
        let ip = ip.to_canonical();
        let key = (ip, name_key(user));
        let mut budgets = self.lock();
        if budgets.addresses.len() + budgets.users.len() >= MAX_TRACKED {
            let window = self.window;
            budgets.addresses.retain(|_, b| !b.idle(now, window));
            budgets.users.retain(|_, b| !b.idle(now, window));
        }
        let Budgets { addresses, users } = &mut *budgets;
        let address = addresses.entry(ip).or_default();
        address.expire(now, self.window);
        if let Some(left) = address.locked_for(now) {
            return Err(Lockout::Address(left));
        }
        if full(
            self.per_address,
            count(&address.failures),
            address.in_flight,
        ) {
            return Err(Lockout::InFlight);
        }
        let per_user = users.entry(key.clone()).or_default();
        per_user.expire(now, self.window);
        if let Some(left) = per_user.locked_for(now) {
            return Err(Lockout::User(left));
        }
        if full(self.per_user, count(&per_user.failures), per_user.in_flight) {
            return Err(Lockout::InFlight);
        }
        address.in_flight += 1;
        per_user.in_flight += 1;
        Ok(LoginAttempt {
            guard: self,
            key,
            settled: false,
            pending: None,
        })
    }

    /// Gives back a place without a verdict (the user store could not be asked).
    fn release(&self, key: &(IpAddr, String)) {
        let _wake = WakeOnDrop(&self.settled);
        let mut budgets = self.lock();
        if let Some(per_user) = budgets.users.get_mut(key) {
            per_user.in_flight = per_user.in_flight.saturating_sub(1);
        }
        if let Some(address) = budgets.addresses.get_mut(&key.0) {
            address.in_flight = address.in_flight.saturating_sub(1);
        }
    }

    /// A wrong password, in the shared tables.
    async fn fail_shared(
        &self,
        log: &SqlFailureLog,
        key: &(IpAddr, String),
        pending: &Pending,
    ) -> Option<Lockout> {
        let _wake = WakeOnDrop(&self.settled);
        let limits = (self.per_address, self.per_user);
        let recorded = log.fail(key.0, &key.1, pending, limits, self.window).await;
        self.sweep_now_and_then(log).await;
        match recorded {
            Ok(new) if new.address => Some(Lockout::Address(self.window)),
            Ok(new) if new.user => Some(Lockout::User(self.window)),
            Ok(_) => None,
            Err(error) => {
                tracing::error!(%error, ip = %key.0, user = %key.1,
                    "cannot record a failed login in the shared tables");
                None
            }
        }
    }

    /// Deletes expired rows of the shared tables, at most every [`SWEEP_EVERY`].
    async fn sweep_now_and_then(&self, log: &SqlFailureLog) {
        {
            let mut last = self
                .last_sweep
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let now = Instant::now();
            if last.is_some_and(|at| now.duration_since(at) < SWEEP_EVERY) {
                return;
            }
            *last = Some(now);
        }
        if let Err(error) = log.forget_expired(self.window).await {
            tracing::warn!(%error, "cannot delete expired login failures");
        }
    }

    fn settle(&self, key: &(IpAddr, String), success: bool) -> Option<Lockout> {
        let _wake = WakeOnDrop(&self.settled);
        let now = Instant::now();
        let mut budgets = self.lock();
        let Budgets { addresses, users } = &mut *budgets;
        let mut lockout = None;
        if let Some(per_user) = users.get_mut(key) {
            if success {
                // Only this user's failures from this address are forgiven.
                per_user.in_flight = per_user.in_flight.saturating_sub(1);
                per_user.failures.clear();
            } else if per_user.fail(now, self.per_user, self.window) {
                lockout = Some(Lockout::User(self.window));
            }
        }
        if let Some(address) = addresses.get_mut(&key.0) {
            if success {
                address.in_flight = address.in_flight.saturating_sub(1);
            } else if address.fail(now, self.per_address, self.window) {
                lockout = Some(Lockout::Address(self.window));
            }
        }
        lockout
    }
}

/// The number of failures in a budget, as the budgets' counters count.
fn count(failures: &VecDeque<Instant>) -> u32 {
    u32::try_from(failures.len()).unwrap_or(u32::MAX)
}

/// Wakes the waiting logins once the budgets' lock is released.
struct WakeOnDrop<'a>(&'a tokio::sync::Notify);

impl Drop for WakeOnDrop<'_> {
    fn drop(&mut self) {
        self.0.notify_waiters();
    }
}

/// The budget key of a user name: long names are cut (on a character boundary).
fn name_key(user: &str) -> String {
    let mut end = user.len().min(MAX_NAME_KEY);
    while !user.is_char_boundary(end) {
        end -= 1;
    }
    user[..end].to_owned()
}

/// A password check in flight. It counts as a failure until [`LoginAttempt::succeeded`]; one
/// dropped without a verdict (the connection went away mid-check) stays a failure.
#[derive(Debug)]
pub struct LoginAttempt<'a> {
    guard: &'a LoginGuard,
    key: (IpAddr, String),
    settled: bool,
    /// The rows holding this check's places in the shared tables.
    pending: Option<Pending>,
}

impl LoginAttempt<'_> {
    /// The password was right.
    pub async fn succeeded(mut self) {
        self.settled = true;
        if let (Some(log), Some(pending)) = (&self.guard.shared, &self.pending) {
            let _wake = WakeOnDrop(&self.guard.settled);
            if let Err(error) = log.succeed(self.key.0, &self.key.1, pending).await {
                tracing::error!(%error, ip = %self.key.0, user = %self.key.1,
                    "cannot clear the user's failed logins in the shared tables");
            }
            return;
        }
        self.guard.settle(&self.key, true);
    }

    /// No verdict: the user store failed. Neither a success nor a guess.
    pub async fn undecided(mut self) {
        self.settled = true;
        if let (Some(log), Some(pending)) = (&self.guard.shared, &self.pending) {
            let _wake = WakeOnDrop(&self.guard.settled);
            if let Err(error) = log.abandon(pending).await {
                tracing::error!(%error, ip = %self.key.0, user = %self.key.1,
                    "cannot give back a login's place in the shared tables");
            }
            return;
        }
        self.guard.release(&self.key);
    }

    /// The password was wrong; returns the lockout this failure started, if any.
    pub async fn failed(mut self) -> Option<Lockout> {
        self.settled = true;
        match (&self.guard.shared, &self.pending) {
            (Some(log), Some(pending)) => self.guard.fail_shared(log, &self.key, pending).await,
            _ => self.guard.settle(&self.key, false),
        }
    }
}

impl Drop for LoginAttempt<'_> {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let (Some(log), Some(pending)) = (&self.guard.shared, self.pending.take()) else {
            self.guard.settle(&self.key, false);
            return;
        };
        // Dropped mid-check: the failure is recorded by a task of its own.
        let (log, key) = (log.clone(), self.key.clone());
        let limits = (self.guard.per_address, self.guard.per_user);
        let window = self.guard.window;
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    let recorded = log.fail(key.0, &key.1, &pending, limits, window).await;
                    if let Err(error) = recorded {
                        tracing::error!(%error, ip = %key.0, user = %key.1,
                            "cannot record an unfinished login in the shared tables");
                    }
                });
            }
            // Its pending rows still count until they leave the window.
            Err(_) => tracing::error!(ip = %key.0, user = %key.1,
                "an unfinished login was not recorded: no runtime to record it"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::SessionError;
    use std::sync::Arc;

    const A: &str = "127.0.0.1";
    const B: &str = "127.0.0.2";

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn guard(per_address: u32, per_user: u32) -> LoginGuard {
        LoginGuard::new(per_address, per_user, Duration::from_secs(60))
    }

    async fn fail(guard: &LoginGuard, addr: &str, user: &str) -> Option<Lockout> {
        guard.try_begin(ip(addr), user).unwrap().failed().await
    }

    #[tokio::test]
    async fn an_address_is_locked_after_its_budget_and_only_that_address() {
        let guard = guard(3, 0);
        assert_eq!(fail(&guard, A, "u1").await, None);
        assert_eq!(fail(&guard, A, "u2").await, None);
        assert!(guard.address_locked_for(ip(A)).await.is_none());
        assert!(matches!(
            fail(&guard, A, "u3").await,
            Some(Lockout::Address(_))
        ));
        assert!(guard.address_locked_for(ip(A)).await.is_some());
        assert!(matches!(
            guard.try_begin(ip(A), "u1"),
            Err(Lockout::Address(_))
        ));
        assert!(guard.address_locked_for(ip(B)).await.is_none());
        assert!(guard.try_begin(ip(B), "u1").is_ok());
    }

    #[tokio::test]
    async fn checks_in_flight_count_before_their_verdict() {
        let guard = guard(10, 0);
        let attempts: Vec<_> = (0..10)
            .map(|_| guard.try_begin(ip(A), "u1").unwrap())
            .collect();
        // The eleventh is refused while ten are being checked.
        assert_eq!(guard.try_begin(ip(A), "u1").unwrap_err(), Lockout::InFlight);
        for attempt in attempts {
            attempt.failed().await;
        }
        assert!(matches!(
            guard.try_begin(ip(A), "u1"),
            Err(Lockout::Address(_))
        ));
    }

    #[tokio::test]
    async fn a_success_frees_its_place_and_clears_only_that_users_failures() {
        let guard = guard(5, 3);
        fail(&guard, A, "victim").await;
        fail(&guard, A, "victim").await;
        guard.try_begin(ip(A), "mine").unwrap().succeeded().await;
        // The victim's failures are still counted: one more locks the victim's name…
        assert!(matches!(
            fail(&guard, A, "victim").await,
            Some(Lockout::User(_))
        ));
        assert!(matches!(
            guard.try_begin(ip(A), "victim"),
            Err(Lockout::User(_))
        ));
        // …and the address keeps its three failures: two more lock it.
        assert_eq!(fail(&guard, A, "other").await, None);
        assert!(matches!(
            fail(&guard, A, "other2").await,
            Some(Lockout::Address(_))
        ));
    }

    #[tokio::test]
    async fn a_locked_user_does_not_lock_the_others_behind_the_same_address() {
        let guard = guard(50, 3);
        for _ in 0..3 {
            fail(&guard, A, "user3").await;
        }
        assert!(matches!(
            guard.try_begin(ip(A), "user3"),
            Err(Lockout::User(_))
        ));
        guard.try_begin(ip(A), "user1").unwrap().succeeded().await;
        guard.try_begin(ip(A), "user2").unwrap().succeeded().await;
        assert!(guard.address_locked_for(ip(A)).await.is_none());
    }

    #[tokio::test]
    async fn a_login_waits_for_a_place_and_gets_it_or_the_lockout() {
        let guard = Arc::new(guard(3, 0));
        let mut held: Vec<_> = (0..3)
            .map(|_| guard.try_begin(ip(A), "u").unwrap())
            .collect();
        let waiter = {
            let guard = guard.clone();
            tokio::spawn(async move {
                match guard.begin(ip(A), "u").await {
                    Ok(attempt) => {
                        attempt.succeeded().await;
                        Ok(())
                    }
                    Err(lockout) => Err(lockout),
                }
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !waiter.is_finished(),
            "a fourth check ran while three were in flight"
        );
        // One success frees a place: the waiter gets it.
        held.pop().unwrap().succeeded().await;
        assert_eq!(waiter.await.unwrap(), Ok(()));
        // Two failures plus one more waiting: that one ends with the address's lockout.
        let waiter = {
            let guard = guard.clone();
            tokio::spawn(async move {
                match guard.begin(ip(A), "u").await {
                    Ok(attempt) => {
                        attempt.succeeded().await;
                        Ok(())
                    }
                    Err(lockout) => Err(lockout),
                }
            })
        };
        for attempt in held {
            attempt.failed().await;
        }
        let third = guard.try_begin(ip(A), "u");
        assert!(third.is_ok(), "{third:?}");
        third.unwrap().failed().await;
        assert!(matches!(waiter.await.unwrap(), Err(Lockout::Address(_))));
    }

    #[tokio::test]
    async fn a_dropped_attempt_counts_as_a_failure() {
        let guard = guard(1, 0);
        drop(guard.try_begin(ip(A), "u").unwrap());
        assert!(guard.address_locked_for(ip(A)).await.is_some());
    }

    #[tokio::test]
    async fn zero_switches_a_budget_off() {
        let guard = guard(0, 0);
        for _ in 0..100 {
            assert_eq!(fail(&guard, A, "u").await, None);
        }
        assert!(guard.try_begin(ip(A), "u").is_ok());
    }

    #[tokio::test]
    async fn ipv4_mapped_addresses_share_the_ipv4_budget() {
        let guard = guard(1, 0);
        fail(&guard, "::ffff:127.0.0.1", "u").await;
        assert!(guard.address_locked_for(ip(A)).await.is_some());
    }

    #[test]
    fn long_names_are_cut_on_a_character_boundary() {
        let name = "é".repeat(100);
        assert!(name_key(&name).len() <= MAX_NAME_KEY);
        assert!(name.starts_with(&name_key(&name)));
    }

    /// Two guards on one SQLite file, as two `ftp-server` instances on one database.
    async fn shared_pair(
        per_address: u32,
        per_user: u32,
        window: Duration,
    ) -> (tempfile::TempDir, String, LoginGuard, LoginGuard) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("users.db").display());
        let mut guards = Vec::new();
        for _ in 0..2 {
            let store = crate::user_store::SqlUserStore::connect(&url)
                .await
                .unwrap();
            let backend = FailureBackend::Shared(store.failure_log());
            guards.push(LoginGuard::with_backend(
                per_address,
                per_user,
                window,
                backend,
            ));
        }
        let second = guards.pop().unwrap();
        let first = guards.pop().unwrap();
        assert!(first.is_shared() && second.is_shared());
        (dir, url, first, second)
    }

    async fn fail_at(guard: &LoginGuard, addr: &str, user: &str) -> Option<Lockout> {
        guard.begin(ip(addr), user).await.unwrap().failed().await
    }

    #[tokio::test]
    async fn failures_alternating_between_two_shared_guards_lock_the_address_on_both() {
        let (_dir, _url, one, two) = shared_pair(4, 0, Duration::from_secs(60)).await;
        assert_eq!(fail_at(&one, A, "u1").await, None);
        assert_eq!(fail_at(&two, A, "u2").await, None);
        assert_eq!(fail_at(&one, A, "u3").await, None);
        assert!(one.address_locked_for(ip(A)).await.is_none());
        assert!(matches!(
            fail_at(&two, A, "u4").await,
            Some(Lockout::Address(_))
        ));
        for guard in [&one, &two] {
            assert!(guard.address_locked_for(ip(A)).await.is_some());
            assert!(matches!(
                guard.begin(ip(A), "u1").await,
                Err(Lockout::Address(_))
            ));
            assert!(guard.address_locked_for(ip(B)).await.is_none());
        }
        assert!(two.begin(ip(B), "u1").await.is_ok());
    }

    #[tokio::test]
    async fn a_shared_success_clears_only_that_users_failures() {
        let (_dir, _url, one, two) = shared_pair(5, 3, Duration::from_secs(60)).await;
        fail_at(&one, A, "victim").await;
        fail_at(&two, A, "victim").await;
        two.begin(ip(A), "mine").await.unwrap().succeeded().await;
        assert!(matches!(
            fail_at(&one, A, "victim").await,
            Some(Lockout::User(_))
        ));
        assert!(matches!(
            two.begin(ip(A), "victim").await,
            Err(Lockout::User(_))
        ));
        // The address keeps its three failures: two more, one on each, lock it.
        assert_eq!(fail_at(&two, A, "other").await, None);
        assert!(matches!(
            fail_at(&one, A, "other2").await,
            Some(Lockout::Address(_))
        ));
    }

    #[tokio::test]
    async fn a_shared_lockout_ends_after_the_window() {
        let window = Duration::from_millis(400);
        let (_dir, _url, one, two) = shared_pair(2, 0, window).await;
        fail_at(&one, A, "u").await;
        assert!(fail_at(&two, A, "u").await.is_some());
        assert!(matches!(
            one.begin(ip(A), "u").await,
            Err(Lockout::Address(_))
        ));
        tokio::time::sleep(window + Duration::from_millis(100)).await;
        assert!(two.address_locked_for(ip(A)).await.is_none());
        // A fresh budget: one failure does not lock again.
        assert_eq!(fail_at(&one, A, "u").await, None);
        assert!(two.begin(ip(A), "u").await.is_ok());
    }

    #[tokio::test]
    async fn parallel_guesses_across_two_shared_guards_judge_no_more_than_the_limit() {
        let limit = 5;
        let (_dir, _url, one, two) = shared_pair(limit, 0, Duration::from_secs(60)).await;
        let (one, two) = (Arc::new(one), Arc::new(two));
        let tasks: Vec<_> = (0..40)
            .map(|i| {
                let guard = if i % 2 == 0 { one.clone() } else { two.clone() };
                tokio::spawn(async move {
                    let attempt = guard.begin(ip(A), &format!("u{i}")).await.ok()?;
                    // A password check takes a moment (argon2).
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    attempt.failed().await;
                    Some(())
                })
            })
            .collect();
        let mut judged = 0;
        for task in tasks {
            judged += u32::from(task.await.unwrap().is_some());
        }
        // Checks in flight are rows in the shared tables too: SQLite writes one statement
        // at a time, so not one check beyond the limit is judged.
        assert_eq!(judged, limit, "{judged} judged, limit {limit} on 2 guards");
        assert!(one.address_locked_for(ip(A)).await.is_some());
    }

    #[tokio::test]
    async fn unreadable_shared_tables_refuse_logins_without_panicking() {
        use sqlx::Connection;
        let (_dir, url, one, _two) = shared_pair(3, 3, Duration::from_secs(60)).await;
        let attempt = one.begin(ip(A), "u").await.unwrap();
        let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
        for table in ["ftplab_login_failures", "ftplab_login_lockouts"] {
            sqlx::query(&format!("DROP TABLE {table}"))
                .execute(&mut conn)
                .await
                .unwrap();
        }
        // The verdict cannot be written: logged, no lockout claimed, no panic.
        assert_eq!(attempt.failed().await, None);
        assert_eq!(
            one.begin(ip(A), "u").await.unwrap_err(),
            Lockout::Unavailable
        );
        assert_eq!(
            SessionError::Locked {
                lockout: Lockout::Unavailable,
                user: "u".into()
            }
            .into_reply()
            .code
            .0,
            530
        );
        // At connect the address is let in; its login is what gets refused.
        assert!(one.address_locked_for(ip(A)).await.is_none());
    }
}
