//! [`SqlFailureLog`]: failed logins and lockouts in two SQL tables, so that several
//! `ftp-server` instances on one database share the budgets of [`crate::login_guard`].
//!
//! ```sql
//! ftplab_login_failures (id BIGINT AUTO_INCREMENT PRIMARY KEY,
//!                        scope CHAR(1),          -- 'a': the address's budget, 'u': (address, user)
//!                        address VARCHAR(45),    -- canonical IP address
//!                        user_name VARCHAR(128), -- '' in scope 'a'
//!                        at_ms BIGINT,           -- Unix time, milliseconds
//!                        pending SMALLINT)       -- 1: a check in flight, 0: a failure
//! ftplab_login_lockouts (scope, address, user_name, until_ms BIGINT, PRIMARY KEY (scope, address, user_name))
//! ```
//!
//! As in memory, a check in flight counts as a failure until its verdict: [`SqlFailureLog::begin`]
//! inserts a pending row in each budget, then counts the rows up to its own id; over the limit,
//! it takes its rows back and the login waits. Every row is its own insert, so parallel checks
//! from several instances never lose a count; a check can be let through beyond the limit only
//! when another instance's insert is not yet visible at that instant (a few milliseconds). A
//! lockout is an upsert that only ever lengthens. Times come from each instance's clock:
//! instances on several machines need synchronised clocks (NTP). A pending row left by an
//! instance that died mid-check counts until it leaves the window. On MariaDB, `utf8mb4_bin`
//! ignores trailing spaces, so `bob` and `bob ` share a budget there (stricter, not looser).

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

/// The answer of [`SqlFailureLog::begin`].
#[derive(Debug)]
pub enum Admission {
    /// The check may run; its places are these rows.
    Admitted(Pending),
    /// The address is locked for this much longer.
    AddressLocked(Duration),
    /// The user name is locked from this address for this much longer.
    UserLocked(Duration),
    /// Failures and checks in flight fill a budget: wait for a verdict.
    Full,
}

/// The pending rows of one check in flight (one per budget with a limit).
#[derive(Debug, Clone, Default)]
pub struct Pending {
    rows: Vec<(Scope, i64)>,
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
                 id INTEGER PRIMARY KEY AUTOINCREMENT, \
                 scope CHAR(1) NOT NULL, \
                 address VARCHAR(45) NOT NULL, \
                 user_name VARCHAR(128) NOT NULL, \
                 at_ms BIGINT NOT NULL, \
                 pending SMALLINT NOT NULL)",
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
                 id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, \
                 scope CHAR(1) NOT NULL, \
                 address VARCHAR(45) NOT NULL, \
                 user_name VARCHAR(128) NOT NULL, \
                 at_ms BIGINT NOT NULL, \
                 pending SMALLINT NOT NULL, \
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

    /// The running lockouts of the budgets of (`ip`, `user`): (address, user name).
    async fn lockouts(
        &self,
        address: &str,
        user: &str,
        now: i64,
    ) -> Result<(Option<Duration>, Option<Duration>), StoreError> {
        let rows = sqlx::query(
            "SELECT scope, until_ms FROM ftplab_login_lockouts \
             WHERE address = ? AND ((scope = 'a' AND user_name = '') \
                                    OR (scope = 'u' AND user_name = ?)) \
             AND until_ms > ?",
        )
        .bind(address)
        .bind(user)
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.db_err(e))?;
        let mut locked = (None, None);
        for row in rows {
            let scope: String = row.try_get("scope").map_err(|e| self.db_err(e))?;
            let until: i64 = row.try_get("until_ms").map_err(|e| self.db_err(e))?;
            match scope.as_str() {
                "a" => locked.0 = left(until, now),
                _ => locked.1 = left(until, now),
            }
        }
        Ok(locked)
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

    /// Takes a place for one password check in the budgets of (`ip`, `user`) whose limit
    /// (`limits`: address, user) is not 0, or says why not.
    pub async fn begin(
        &self,
        ip: IpAddr,
        user: &str,
        limits: (u32, u32),
        window: Duration,
    ) -> Result<Admission, StoreError> {
        let now = now_ms();
        let address = ip.to_string();
        match self.lockouts(&address, user, now).await? {
            (Some(left), _) => return Ok(Admission::AddressLocked(left)),
            (None, Some(left)) => return Ok(Admission::UserLocked(left)),
            (None, None) => {}
        }
        let mut pending = Pending::default();
        let admitted = self
            .take_places(&mut pending, &address, user, limits, now, window)
            .await;
        // Looked at again after counting: a lockout is written before the failures it
        // replaces are deleted, so a count made after that delete finds the lockout here.
        let admitted = match admitted {
            Ok(true) => match self.lockouts(&address, user, now_ms()).await {
                Ok((Some(left), _)) => {
                    self.abandon(&pending).await?;
                    return Ok(Admission::AddressLocked(left));
                }
                Ok((None, Some(left))) => {
                    self.abandon(&pending).await?;
                    return Ok(Admission::UserLocked(left));
                }
                Ok((None, None)) => Ok(true),
                Err(error) => Err(error),
            },
            other => other,
        };
        match admitted {
            Ok(true) => Ok(Admission::Admitted(pending)),
            Ok(false) => {
                self.abandon(&pending).await?;
                Ok(Admission::Full)
            }
            Err(error) => {
                // Best effort: a row left behind only counts until it leaves the window.
                self.abandon(&pending).await.ok();
                Err(error)
            }
        }
    }

    /// Inserts the pending rows into `pending`; false when a budget is over its limit.
    async fn take_places(
        &self,
        pending: &mut Pending,
        address: &str,
        user: &str,
        limits: (u32, u32),
        now: i64,
        window: Duration,
    ) -> Result<bool, StoreError> {
        for (scope, name, limit) in [
            (Scope::Address, "", limits.0),
            (Scope::User, user, limits.1),
        ] {
            if limit == 0 {
                continue;
            }
            let id = self.insert_pending(scope, address, name, now).await?;
            pending.rows.push((scope, id));
            // Rows up to this one: of checks arriving together, the earlier ids go first.
            let count: i64 = sqlx::query(
                "SELECT COUNT(*) FROM ftplab_login_failures \
                 WHERE scope = ? AND address = ? AND user_name = ? AND at_ms > ? AND id <= ?",
            )
            .bind(scope.code())
            .bind(address)
            .bind(name)
            .bind(now.saturating_sub(millis(window)))
            .bind(id)
            .fetch_one(&self.pool)
            .await
            .and_then(|row| row.try_get::<i64, _>(0))
            .map_err(|e| self.db_err(e))?;
            if count > i64::from(limit) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Inserts one pending row; returns its id.
    async fn insert_pending(
        &self,
        scope: Scope,
        address: &str,
        name: &str,
        now: i64,
    ) -> Result<i64, StoreError> {
        const INSERT: &str = "INSERT INTO ftplab_login_failures \
             (scope, address, user_name, at_ms, pending) VALUES (?, ?, ?, ?, 1)";
        let id = match self.backend {
            // sqlx's Any driver gives no last insert id for SQLite; RETURNING does.
            Backend::Sqlite => sqlx::query(&format!("{INSERT} RETURNING id"))
                .bind(scope.code())
                .bind(address)
                .bind(name)
                .bind(now)
                .fetch_one(&self.pool)
                .await
                .and_then(|row| row.try_get::<i64, _>(0))
                .map(Some),
            Backend::MySql => sqlx::query(INSERT)
                .bind(scope.code())
                .bind(address)
                .bind(name)
                .bind(now)
                .execute(&self.pool)
                .await
                .map(|done| done.last_insert_id()),
        };
        match id.map_err(|e| self.db_err(e))? {
            Some(id) => Ok(id),
            None => Err(self.db_err(sqlx::Error::Protocol(
                "the database gave no id for an inserted row".into(),
            ))),
        }
    }

    /// Gives the places of a check back without a verdict.
    pub async fn abandon(&self, pending: &Pending) -> Result<(), StoreError> {
        for (_, id) in &pending.rows {
            sqlx::query("DELETE FROM ftplab_login_failures WHERE id = ?")
                .bind(*id)
                .execute(&self.pool)
                .await
                .map_err(|e| self.db_err(e))?;
        }
        Ok(())
    }

    /// A wrong password: the pending rows become failures. A budget that reaches its limit
    /// within `window` is locked for `window` and its failures are forgotten (as in memory:
    /// the lockout replaces them; other checks in flight keep their places).
    pub async fn fail(
        &self,
        ip: IpAddr,
        user: &str,
        pending: &Pending,
        limits: (u32, u32),
        window: Duration,
    ) -> Result<NewLockouts, StoreError> {
        let now = now_ms();
        let address = ip.to_string();
        let mut locked = NewLockouts::default();
        for (scope, id) in &pending.rows {
            let (name, limit) = match scope {
                Scope::Address => ("", limits.0),
                Scope::User => (user, limits.1),
            };
            let done =
                sqlx::query("UPDATE ftplab_login_failures SET pending = 0, at_ms = ? WHERE id = ?")
                    .bind(now)
                    .bind(*id)
                    .execute(&self.pool)
                    .await
                    .map_err(|e| self.db_err(e))?;
            if done.rows_affected() == 0 {
                // Swept meanwhile (a check longer than the window): count it anew.
                sqlx::query(
                    "INSERT INTO ftplab_login_failures \
                     (scope, address, user_name, at_ms, pending) VALUES (?, ?, ?, ?, 0)",
                )
                .bind(scope.code())
                .bind(&address)
                .bind(name)
                .bind(now)
                .execute(&self.pool)
                .await
                .map_err(|e| self.db_err(e))?;
            }
            if self
                .lock_when_full(*scope, &address, name, limit, now, window)
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

    /// Locks one budget when its failures reached `limit`; true when it did.
    async fn lock_when_full(
        &self,
        scope: Scope,
        address: &str,
        name: &str,
        limit: u32,
        now: i64,
        window: Duration,
    ) -> Result<bool, StoreError> {
        // Counted after the update: of instances failing at once, at least the last one sees
        // the limit reached, so the lockout cannot be missed.
        let count: i64 = sqlx::query(
            "SELECT COUNT(*) FROM ftplab_login_failures \
             WHERE scope = ? AND address = ? AND user_name = ? AND pending = 0 AND at_ms > ?",
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
        // Only failures up to now: one another instance records meanwhile stays counted.
        sqlx::query(
            "DELETE FROM ftplab_login_failures \
             WHERE scope = ? AND address = ? AND user_name = ? AND pending = 0 AND at_ms <= ?",
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

    /// A right password: the check's places are given back, and the failures of that user
    /// name from that address are forgotten (only of that budget; the address's budget keeps
    /// them, and other checks in flight keep their places).
    pub async fn succeed(
        &self,
        ip: IpAddr,
        user: &str,
        pending: &Pending,
    ) -> Result<(), StoreError> {
        self.abandon(pending).await?;
        self.forgive(ip, user).await
    }

    /// A right password: forgets the failures of that user name from that address (only of
    /// that budget; the address's budget keeps them).
    async fn forgive(&self, ip: IpAddr, user: &str) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM ftplab_login_failures \
             WHERE scope = 'u' AND address = ? AND user_name = ? AND pending = 0",
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
