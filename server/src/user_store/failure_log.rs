//! [`SqlFailureLog`]: failed logins and lockouts in two SQL tables, so that several
//! `ftp-server` instances on one database share the budgets of [`crate::login_guard`].
//!
//! ```sql
//! ftplab_login_failures (scope CHAR(1),          -- 'a': the address's budget, 'u': (address, user)
//!                        address VARCHAR(45),    -- canonical IP address
//!                        user_name VARCHAR(128), -- '' in scope 'a'
//!                        at_ms BIGINT)           -- Unix time of the failure, milliseconds
//! ftplab_login_lockouts (scope, address, user_name, until_ms BIGINT, PRIMARY KEY (scope, address, user_name))
//! ```
//!
//! Every failure is one inserted row, so parallel inserts from several instances never lose a
//! count; a lockout is an upsert that only ever lengthens. Times come from each instance's
//! clock: instances on several machines need synchronised clocks (NTP).

use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::{AnyPool, Row};

use super::StoreError;
use super::db_url::Backend;

/// Which budget a row belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// All user names from one address.
    Address,
    /// One user name from one address.
    User,
}

impl Scope {
    fn code(self) -> &'static str {
        match self {
            Scope::Address => "a",
            Scope::User => "u",
        }
    }
}

/// What the tables say about the two budgets of one login, at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BudgetState {
    /// Failures of the address's budget within the window.
    pub address_failures: u32,
    /// How much longer the address is locked, if it is.
    pub address_locked: Option<Duration>,
    /// Failures of the (address, user) budget within the window.
    pub user_failures: u32,
    /// How much longer the user name is locked from this address, if it is.
    pub user_locked: Option<Duration>,
}

/// Which lockout a recorded failure started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NewLockouts {
    /// The address's budget is used up.
    pub address: bool,
    /// The (address, user) budget is used up.
    pub user: bool,
}

/// The failed-login tables of one database; cheap to clone (the pool is shared).
#[derive(Clone)]
pub struct SqlFailureLog {
    pub(super) pool: AnyPool,
    pub(super) backend: Backend,
    pub(super) url: String,
}

impl std::fmt::Debug for SqlFailureLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlFailureLog")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// Milliseconds since the Unix epoch on this machine's clock.
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// `until - now` as a duration, when positive.
fn left(until_ms: i64, now: i64) -> Option<Duration> {
    let left = until_ms.checked_sub(now)?;
    (left > 0).then(|| Duration::from_millis(left.unsigned_abs()))
}

impl SqlFailureLog {
    /// The database URL with any password masked, for log lines.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn db_err(&self, source: sqlx::Error) -> StoreError {
        StoreError::Database {
            url: self.url.clone(),
            source,
        }
    }

    /// The SQL that creates both tables (run by the users table's migration to version 2).
    pub(super) fn create_tables(backend: Backend) -> &'static [&'static str] {
        match backend {
            Backend::Sqlite => &[
                "CREATE TABLE IF NOT EXISTS ftplab_login_failures (\
                 scope CHAR(1) NOT NULL, \
                 address VARCHAR(45) NOT NULL, \
                 user_name VARCHAR(128) NOT NULL, \
                 at_ms BIGINT NOT NULL)",
                "CREATE INDEX IF NOT EXISTS ftplab_login_failures_budget \
                 ON ftplab_login_failures (address, scope, user_name, at_ms)",
                "CREATE INDEX IF NOT EXISTS ftplab_login_failures_at \
                 ON ftplab_login_failures (at_ms)",
                "CREATE TABLE IF NOT EXISTS ftplab_login_lockouts (\
                 scope CHAR(1) NOT NULL, \
                 address VARCHAR(45) NOT NULL, \
                 user_name VARCHAR(128) NOT NULL, \
                 until_ms BIGINT NOT NULL, \
                 PRIMARY KEY (scope, address, user_name))",
            ],
            Backend::MySql => &[
                "CREATE TABLE IF NOT EXISTS ftplab_login_failures (\
                 scope CHAR(1) NOT NULL, \
                 address VARCHAR(45) NOT NULL, \
                 user_name VARCHAR(128) NOT NULL, \
                 at_ms BIGINT NOT NULL, \
                 INDEX ftplab_login_failures_budget (address, scope, user_name, at_ms), \
                 INDEX ftplab_login_failures_at (at_ms)) \
                 CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
                "CREATE TABLE IF NOT EXISTS ftplab_login_lockouts (\
                 scope CHAR(1) NOT NULL, \
                 address VARCHAR(45) NOT NULL, \
                 user_name VARCHAR(128) NOT NULL, \
                 until_ms BIGINT NOT NULL, \
                 PRIMARY KEY (scope, address, user_name)) \
                 CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
            ],
        }
    }

    /// Failures within `window` and running lockouts of the budgets of (`ip`, `user`).
    pub async fn state(
        &self,
        ip: IpAddr,
        user: &str,
        window: Duration,
    ) -> Result<BudgetState, StoreError> {
        let now = now_ms();
        let address = ip.to_string();
        let mut state = BudgetState::default();
        let rows = sqlx::query(
            "SELECT scope, COUNT(*) AS n FROM ftplab_login_failures \
             WHERE address = ? AND ((scope = 'a' AND user_name = '') \
                                    OR (scope = 'u' AND user_name = ?)) \
             AND at_ms > ? GROUP BY scope",
        )
        .bind(&address)
        .bind(user)
        .bind(now.saturating_sub(millis(window)))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.db_err(e))?;
        for row in rows {
            let scope: String = row.try_get("scope").map_err(|e| self.db_err(e))?;
            let n: i64 = row.try_get("n").map_err(|e| self.db_err(e))?;
            let n = u32::try_from(n).unwrap_or(u32::MAX);
            match scope.as_str() {
                "a" => state.address_failures = n,
                _ => state.user_failures = n,
            }
        }
        let rows = sqlx::query(
            "SELECT scope, until_ms FROM ftplab_login_lockouts \
             WHERE address = ? AND ((scope = 'a' AND user_name = '') \
                                    OR (scope = 'u' AND user_name = ?)) \
             AND until_ms > ?",
        )
        .bind(&address)
        .bind(user)
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.db_err(e))?;
        for row in rows {
            let scope: String = row.try_get("scope").map_err(|e| self.db_err(e))?;
            let until: i64 = row.try_get("until_ms").map_err(|e| self.db_err(e))?;
            match scope.as_str() {
                "a" => state.address_locked = left(until, now),
                _ => state.user_locked = left(until, now),
            }
        }
        Ok(state)
    }

    /// How much longer `ip` as a whole is locked out, if it is.
    pub async fn address_locked_for(&self, ip: IpAddr) -> Result<Option<Duration>, StoreError> {
        let now = now_ms();
        let until: Option<i64> = sqlx::query(
            "SELECT MAX(until_ms) AS until_ms FROM ftplab_login_lockouts \
             WHERE scope = 'a' AND address = ? AND user_name = ''",
        )
        .bind(ip.to_string())
        .fetch_one(&self.pool)
        .await
        .and_then(|row| row.try_get::<Option<i64>, _>(0))
        .map_err(|e| self.db_err(e))?;
        Ok(until.and_then(|until| left(until, now)))
    }

    /// Records one failure in the budgets whose limit is not 0; a budget that reaches its
    /// limit within `window` is locked for `window` and its failures are forgotten (as in
    /// memory: the lockout replaces them).
    pub async fn record_failure(
        &self,
        ip: IpAddr,
        user: &str,
        limits: (u32, u32),
        window: Duration,
    ) -> Result<NewLockouts, StoreError> {
        let now = now_ms();
        let address = ip.to_string();
        let mut locked = NewLockouts::default();
        for (scope, name, limit) in [
            (Scope::Address, "", limits.0),
            (Scope::User, user, limits.1),
        ] {
            if limit == 0 {
                continue;
            }
            if self
                .record_one(scope, &address, name, limit, now, window)
                .await?
            {
                match scope {
                    Scope::Address => locked.address = true,
                    Scope::User => locked.user = true,
                }
            }
        }
        Ok(locked)
    }

    /// One budget's share of [`SqlFailureLog::record_failure`]; true when it locked.
    async fn record_one(
        &self,
        scope: Scope,
        address: &str,
        name: &str,
        limit: u32,
        now: i64,
        window: Duration,
    ) -> Result<bool, StoreError> {
        sqlx::query(
            "INSERT INTO ftplab_login_failures (scope, address, user_name, at_ms) \
             VALUES (?, ?, ?, ?)",
        )
        .bind(scope.code())
        .bind(address)
        .bind(name)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(|e| self.db_err(e))?;
        // Counted after the insert: of instances failing at once, at least the last to
        // insert sees the limit reached, so the lockout cannot be missed.
        let count: i64 = sqlx::query(
            "SELECT COUNT(*) FROM ftplab_login_failures \
             WHERE scope = ? AND address = ? AND user_name = ? AND at_ms > ?",
        )
        .bind(scope.code())
        .bind(address)
        .bind(name)
        .bind(now.saturating_sub(millis(window)))
        .fetch_one(&self.pool)
        .await
        .and_then(|row| row.try_get::<i64, _>(0))
        .map_err(|e| self.db_err(e))?;
        if count < i64::from(limit) {
            return Ok(false);
        }
        let upsert = match self.backend {
            Backend::Sqlite => {
                "INSERT INTO ftplab_login_lockouts (scope, address, user_name, until_ms) \
                 VALUES (?, ?, ?, ?) ON CONFLICT (scope, address, user_name) \
                 DO UPDATE SET until_ms = MAX(until_ms, excluded.until_ms)"
            }
            Backend::MySql => {
                "INSERT INTO ftplab_login_lockouts (scope, address, user_name, until_ms) \
                 VALUES (?, ?, ?, ?) \
                 ON DUPLICATE KEY UPDATE until_ms = GREATEST(until_ms, VALUES(until_ms))"
            }
        };
        sqlx::query(upsert)
            .bind(scope.code())
            .bind(address)
            .bind(name)
            .bind(now.saturating_add(millis(window)))
            .execute(&self.pool)
            .await
            .map_err(|e| self.db_err(e))?;
        // Only rows up to now: a failure another instance records meanwhile stays counted.
        sqlx::query(
            "DELETE FROM ftplab_login_failures \
             WHERE scope = ? AND address = ? AND user_name = ? AND at_ms <= ?",
        )
        .bind(scope.code())
        .bind(address)
        .bind(name)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(|e| self.db_err(e))?;
        Ok(true)
    }

    /// A right password: forgets the failures of that user name from that address (only of
    /// that budget; the address's budget keeps them).
    pub async fn forgive(&self, ip: IpAddr, user: &str) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM ftplab_login_failures \
             WHERE scope = 'u' AND address = ? AND user_name = ?",
        )
        .bind(ip.to_string())
        .bind(user)
        .execute(&self.pool)
        .await
        .map_err(|e| self.db_err(e))?;
        Ok(())
    }

    /// Deletes failures older than `window` and lockouts that are over, of every address.
    pub async fn forget_expired(&self, window: Duration) -> Result<(), StoreError> {
        let now = now_ms();
        sqlx::query("DELETE FROM ftplab_login_failures WHERE at_ms <= ?")
            .bind(now.saturating_sub(millis(window)))
            .execute(&self.pool)
            .await
            .map_err(|e| self.db_err(e))?;
        sqlx::query("DELETE FROM ftplab_login_lockouts WHERE until_ms <= ?")
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(|e| self.db_err(e))?;
        Ok(())
    }
}
