//! Users in a SQL table (SQLite file by default, MySQL/MariaDB on request) with argon2id hashes.
//!
//! The table is the same on both backends:
//!
//! ```sql
//! users (name VARCHAR(64) NOT NULL PRIMARY KEY,   -- login name, compared byte for byte
//!        password VARCHAR(255) NOT NULL,          -- argon2id PHC string, never the password
//!        root VARCHAR(4096) NOT NULL)             -- absolute path of the user's `/`
//! ```
//!
//! plus `schema_version (version INTEGER NOT NULL)`, so a later release can migrate old files.
//! [`MemoryUserStore`] keeps the same rules in a `HashMap` for unit tests of other modules.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::RngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::MigrateDatabase;
use sqlx::{Any, Row};

/// A user as the server needs it after login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Login name.
    pub name: String,
    /// Absolute path of the folder that is `/` for this user.
    pub root: PathBuf,
}

/// What can go wrong in the user store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached or a query failed.
    #[error("database error ({url}): {source}")]
    Database {
        /// The database URL with any password masked.
        url: String,
        /// The sqlx error.
        source: sqlx::Error,
    },
    /// `user add` for a name that exists.
    #[error("user {name:?} already exists")]
    UserExists {
        /// The name.
        name: String,
    },
    /// A command named a user that does not exist.
    #[error("no user named {name:?}")]
    NoSuchUser {
        /// The name.
        name: String,
    },
    /// The name is not allowed (empty, too long, control characters).
    #[error("invalid user name {name:?}: {why}")]
    InvalidName {
        /// The name.
        name: String,
        /// Why.
        why: &'static str,
    },
    /// Hashing failed.
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// The database URL is not one this server understands.
    #[error("unusable database URL {url:?}: {why}")]
    BadUrl {
        /// The URL with any password masked.
        url: String,
        /// What is wrong, and which forms are accepted.
        why: String,
    },
    /// The root folder cannot be stored (not UTF-8, too long, no current directory).
    #[error("invalid root folder {}: {why}", root.display())]
    InvalidRoot {
        /// The root as given.
        root: PathBuf,
        /// Why.
        why: String,
    },
    /// The database was written by a newer ftp-server.
    #[error(
        "database {url} has schema version {found}, but this ftp-server knows only up to \
         {supported}; use a newer ftp-server"
    )]
    SchemaTooNew {
        /// The database URL with any password masked.
        url: String,
        /// The version found in `schema_version`.
        found: i64,
        /// The newest version this build can use.
        supported: i64,
    },
}

/// Where users live. The server only needs [`UserStore::authenticate`].
#[async_trait::async_trait]
pub trait UserStore: Send + Sync + 'static {
    /// Checks a name and password; `Ok(None)` when either is wrong.
    async fn authenticate(
        &self,
        name: &str,
        password: &str,
    ) -> Result<Option<UserRecord>, StoreError>;
    /// Adds a user; the password is stored as an argon2id hash.
    async fn add_user(&self, name: &str, password: &str, root: PathBuf) -> Result<(), StoreError>;
    /// All users, sorted by name.
    async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError>;
    /// Removes a user.
    async fn remove_user(&self, name: &str) -> Result<(), StoreError>;
    /// Replaces a user's password.
    async fn set_password(&self, name: &str, password: &str) -> Result<(), StoreError>;
}

/// Longest user name, in characters (the `VARCHAR(64)` of the `name` column).
pub const MAX_NAME_CHARS: usize = 64;
/// Longest root path, in characters (the `VARCHAR(4096)` of the `root` column).
pub const MAX_ROOT_CHARS: usize = 4096;
/// Most entries in the verified-login cache before it is emptied.
const LOGIN_CACHE_CAPACITY: usize = 10_000;
/// Newest schema version this build creates and understands.
const SCHEMA_VERSION: i64 = 1;
/// What [`StoreError::BadUrl`] says is accepted.
const ACCEPTED_URLS: &str = "expected sqlite://path/to/file.db, sqlite:file.db or \
     mysql://user:password@host:port/database (mariadb:// is the same as mysql://)";

/// Checks a name for `user add`: 1 to 64 characters, no control characters, no `/`, no leading
/// `-` (it would read as an option on a command line), no white space at either end (MariaDB
/// compares `'a'` and `'a '` as equal).
pub fn validate_name(name: &str) -> Result<(), StoreError> {
    let why = if name.is_empty() {
        Some("it is empty")
    } else if name.chars().count() > MAX_NAME_CHARS {
        Some("it is longer than 64 characters")
    } else if name.chars().any(char::is_control) {
        Some("it contains a control character")
    } else if name.contains('/') {
        Some("it contains '/'")
    } else if name.starts_with('-') {
        Some("it starts with '-'")
    } else if name.trim() != name {
        Some("it starts or ends with white space")
    } else {
        None
    };
    match why {
        Some(why) => Err(StoreError::InvalidName {
            name: name.to_owned(),
            why,
        }),
        None => Ok(()),
    }
}

/// Returns `url` with the password of its `user:password@` part replaced by `***`, for messages.
pub fn mask_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let authority_start = scheme_end + 3;
    let rest = &url[authority_start..];
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_len];
    let Some(at) = authority.rfind('@') else {
        return url.to_owned();
    };
    let user_info = &authority[..at];
    let Some(colon) = user_info.find(':') else {
        return url.to_owned();
    };
    format!(
        "{}{}:***{}",
        &url[..authority_start],
        &user_info[..colon],
        &url[authority_start + at..]
    )
}

/// Makes `root` absolute against the current folder and checks that the `root` column can hold
/// it. The folder need not exist: creating it is the admin layer's job.
fn absolute_root(root: PathBuf) -> Result<(PathBuf, String), StoreError> {
    let absolute = std::path::absolute(&root).map_err(|e| StoreError::InvalidRoot {
        root: root.clone(),
        why: format!("cannot make it absolute: {e}"),
    })?;
    let Some(text) = absolute.to_str() else {
        return Err(StoreError::InvalidRoot {
            root,
            why: "it is not valid UTF-8".into(),
        });
    };
    if text.chars().count() > MAX_ROOT_CHARS {
        return Err(StoreError::InvalidRoot {
            root,
            why: format!("it is longer than {MAX_ROOT_CHARS} characters"),
        });
    }
    let text = text.to_owned();
    Ok((absolute, text))
}

/// Runs CPU-heavy argon2 work off the async worker threads, at most one job per core at a time:
/// each run takes about 19 MiB, and a burst of logins must queue rather than start hundreds of
/// blocking threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, StoreError> {
    let slot = argon2_slot().await?;
    run_blocking(slot, work).await
}

/// Waits for one of the argon2 slots (one per core).
async fn argon2_slot() -> Result<tokio::sync::SemaphorePermit<'static>, StoreError> {
    static SLOTS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    let slots = SLOTS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        tokio::sync::Semaphore::new(cores)
    });
    slots
        .acquire()
        .await
        .map_err(|e| StoreError::Hash(format!("hashing queue closed: {e}")))
}

/// Runs `work` on a blocking thread while holding `slot`.
async fn run_blocking<T: Send + 'static>(
    slot: tokio::sync::SemaphorePermit<'static>,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, StoreError> {
    let result = tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StoreError::Hash(format!("hashing task failed: {e}")));
    drop(slot);
    result
}

/// Hashes a password with argon2id (the crate's default parameters) and a fresh random salt.
async fn hash_password(password: &str) -> Result<String, StoreError> {
    let password = password.to_owned();
    blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        password_hasher()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| StoreError::Hash(e.to_string()))
    })
    .await?
}

/// `true` when `password` matches the PHC string `hash`. A hash that does not parse (a row
/// edited by hand) refuses the login and is logged, rather than failing the whole command.
fn verify_now(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(e) => {
            tracing::warn!(error = %e, "stored password hash does not parse; login refused");
            false
        }
    }
}

/// A hash of a fixed password with the current default parameters, made once per process, that
/// unknown names are checked against so that they cost as much time as known ones.
/// argon2id with OWASP's low-memory parameter set (m = 7 MiB, t = 5, p = 1), which OWASP rates
/// as strong as the crate's default (m = 19 MiB, t = 2). Each verification allocates `m`, and
/// glibc keeps such blocks after the first one: 7 MiB keeps an idle server small. Verification
/// reads the parameters from the stored hash, so hashes made with other parameters still work.
fn password_hasher() -> Argon2<'static> {
    // OWASP Password Storage Cheat Sheet, argon2id: m=7168 (KiB), t=5, p=1.
    match argon2::Params::new(7168, 5, 1, None) {
        Ok(params) => Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params),
        Err(_) => Argon2::default(),
    }
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        password_hasher()
            .hash_password(b"ftplab: no such user", &salt)
            .map(|hash| hash.to_string())
            // Default argon2 parameters with a generated 16-byte salt are always valid.
            .expect("argon2 default parameters and a generated salt are valid")
    })
}

/// Remembers logins that argon2 has verified, so the same user logging in again does not pay
/// for argon2 again.
///
/// Trade-off: an entry holds a SHA-256 of (per-process random key ‖ name ‖ 0 ‖ password). That
/// digest is fast to brute-force *if* both it and the key leak, so it lives only in this
/// process's memory, is never written anywhere, and dies with the process; the database keeps
/// only the slow argon2id hash. An entry is used only while the stored hash is unchanged, so a
/// password change or removal (also by another process) takes effect at the next login.
struct LoginCache {
    key: [u8; 32],
    capacity: usize,
    entries: Mutex<HashMap<String, CachedLogin>>,
}

/// One verified login: the PHC string it was verified against and the keyed digest.
struct CachedLogin {
    hash: String,
    digest: [u8; 32],
}

impl LoginCache {
    fn new(capacity: usize) -> LoginCache {
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        LoginCache {
            key,
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn digest(&self, name: &str, password: &str) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(self.key);
        hasher.update(name.as_bytes());
        // Names cannot contain control characters, so 0 separates name and password unambiguously.
        hasher.update([0u8]);
        hasher.update(password.as_bytes());
        hasher.finalize().into()
    }

    /// `true` when this name and password were verified against exactly `hash` before.
    fn matches(&self, name: &str, hash: &str, password: &str) -> bool {
        let offered = self.digest(name, password);
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        match entries.get(name) {
            Some(entry) if entry.hash == hash => constant_time_eq(&entry.digest, &offered),
            _ => false,
        }
    }

    fn remember(&self, name: &str, hash: &str, password: &str) {
        let digest = self.digest(name, password);
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= self.capacity && !entries.contains_key(name) {
            entries.clear();
        }
        entries.insert(
            name.to_owned(),
            CachedLogin {
                hash: hash.to_owned(),
                digest,
            },
        );
    }

    fn forget(&self, name: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.remove(name);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// Compares two digests without stopping at the first difference.
fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a
        .iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// A user row as read for a login.
struct StoredUser {
    name: String,
    hash: String,
    root: PathBuf,
}

/// The login check shared by both stores: cache, then argon2, then dummy work for unknown names.
struct PasswordChecker {
    cache: LoginCache,
    /// argon2 verifications run (real and dummy); lets tests see the cache working.
    argon2_runs: AtomicU64,
}

impl PasswordChecker {
    fn new() -> PasswordChecker {
        PasswordChecker {
            cache: LoginCache::new(LOGIN_CACHE_CAPACITY),
            argon2_runs: AtomicU64::new(0),
        }
    }

    /// Verifies `password` against `hash`, or against the dummy hash when `hash` is `None`.
    async fn verify(&self, password: &str, hash: Option<String>) -> Result<bool, StoreError> {
        self.argon2_runs.fetch_add(1, Ordering::Relaxed);
        let password = password.to_owned();
        // The dummy hash is made inside the blocking task: the first use runs argon2.
        blocking(move || match &hash {
            Some(hash) => verify_now(&password, hash),
            None => verify_now(&password, dummy_hash()),
        })
        .await
    }

    /// Decides a login given the row found for `name` (if any).
    async fn check(
        &self,
        name: &str,
        password: &str,
        stored: Option<StoredUser>,
    ) -> Result<Option<UserRecord>, StoreError> {
        // A backend whose collation is case- or pad-insensitive may return a different name.
        let Some(user) = stored.filter(|user| user.name == name) else {
            self.verify(password, None).await?;
            return Ok(None);
        };
        if self.cache.matches(name, &user.hash, password) {
            return Ok(Some(UserRecord {
                name: user.name,
                root: user.root,
            }));
        }
        // A burst of first logins by one user would otherwise all run argon2: whoever waited
        // for a slot looks at the cache again, since the login ahead of it may have filled it.
        let slot = argon2_slot().await?;
        if self.cache.matches(name, &user.hash, password) {
            return Ok(Some(UserRecord {
                name: user.name,
                root: user.root,
            }));
        }
        // A mismatch still pays for argon2, so a wrong password costs the same for every name.
        self.argon2_runs.fetch_add(1, Ordering::Relaxed);
        let (offered, hash) = (password.to_owned(), user.hash.clone());
        if run_blocking(slot, move || verify_now(&offered, &hash)).await? {
            self.cache.remember(name, &user.hash, password);
            Ok(Some(UserRecord {
                name: user.name,
                root: user.root,
            }))
        } else {
            Ok(None)
        }
    }
}

/// Which SQL dialect a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    MySql,
}

impl Backend {
    /// The `users` table; MySQL gets a binary collation so names compare as SQLite compares them.
    fn create_users(self) -> &'static str {
        match self {
            Backend::Sqlite => {
                "CREATE TABLE IF NOT EXISTS users (\
                 name VARCHAR(64) NOT NULL PRIMARY KEY, \
                 password VARCHAR(255) NOT NULL, \
                 root VARCHAR(4096) NOT NULL)"
            }
            Backend::MySql => {
                "CREATE TABLE IF NOT EXISTS users (\
                 name VARCHAR(64) NOT NULL PRIMARY KEY, \
                 password VARCHAR(255) NOT NULL, \
                 root VARCHAR(4096) NOT NULL) \
                 CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
            }
        }
    }
}

/// Splits a user-given URL into its backend and the URL sqlx understands.
fn parse_url(url: &str) -> Result<(Backend, String), StoreError> {
    let bad = |why: &str| StoreError::BadUrl {
        url: mask_password(url),
        why: why.to_owned(),
    };
    if url.starts_with("sqlite:") {
        return Ok((Backend::Sqlite, url.to_owned()));
    }
    let rest = if let Some(rest) = url.strip_prefix("mysql://") {
        rest
    } else if let Some(rest) = url.strip_prefix("mariadb://") {
        rest
    } else {
        return Err(bad(ACCEPTED_URLS));
    };
    let database = rest
        .split_once('/')
        .map(|(_, path)| path.split(['?', '#']).next().unwrap_or(""))
        .unwrap_or("");
    if database.is_empty() {
        return Err(bad(
            "name the database after the host, as in mysql://user@host:3306/ftplab",
        ));
    }
    // The database name goes into CREATE DATABASE `...`, which cannot take a bound parameter.
    if !database
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
    {
        return Err(bad(
            "the database name may contain only ASCII letters, digits, '_' and '$'",
        ));
    }
    Ok((Backend::MySql, format!("mysql://{rest}")))
}

/// The user store of a real server: one SQL table, SQLite or MySQL/MariaDB.
pub struct SqlUserStore {
    pool: AnyPool,
    backend: Backend,
    /// The URL with any password masked, for messages.
    url: String,
    checker: PasswordChecker,
}

impl std::fmt::Debug for SqlUserStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlUserStore")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl SqlUserStore {
    /// Opens (creating if missing) the database at `url` and its tables.
    ///
    /// Accepts `sqlite://path/to/file.db`, `sqlite:file.db`, `mysql://user:pass@host:port/db` and
    /// `mariadb://…` (the same as `mysql://`).
    pub async fn connect(url: &str) -> Result<SqlUserStore, StoreError> {
        let (backend, sqlx_url) = parse_url(url)?;
        let masked = mask_password(url);
        let db_err = |source: sqlx::Error| StoreError::Database {
            url: masked.clone(),
            source,
        };
        sqlx::any::install_default_drivers();

        if backend == Backend::Sqlite {
            create_sqlite_parent(&sqlx_url, &masked)?;
        }
        if !Any::database_exists(&sqlx_url).await.map_err(db_err)? {
            if let Err(e) = Any::create_database(&sqlx_url).await {
                // Another process may have created it in the meantime.
                if !Any::database_exists(&sqlx_url).await.map_err(db_err)? {
                    return Err(db_err(e));
                }
            }
            tracing::info!(url = %masked, "created database");
        }
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect(&sqlx_url)
            .await
            .map_err(db_err)?;
        let store = SqlUserStore {
            pool,
            backend,
            url: masked,
            checker: PasswordChecker::new(),
        };
        store.migrate().await?;
        // Make the dummy hash now, so the first unknown name costs no more than a known one.
        blocking(|| {
            dummy_hash();
        })
        .await?;
        Ok(store)
    }

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

    /// Creates the tables on first use and brings an older schema up to [`SCHEMA_VERSION`].
    async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::query("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            .execute(&self.pool)
            .await
            .map_err(|e| self.db_err(e))?;
        let found: Option<i64> = sqlx::query("SELECT MAX(version) AS version FROM schema_version")
            .fetch_one(&self.pool)
            .await
            .and_then(|row| row.try_get::<Option<i64>, _>(0))
            .map_err(|e| self.db_err(e))?;
        let found = found.unwrap_or(0);
        if found > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                url: self.url.clone(),
                found,
                supported: SCHEMA_VERSION,
            });
        }
        if found < 1 {
            sqlx::query(self.backend.create_users())
                .execute(&self.pool)
                .await
                .map_err(|e| self.db_err(e))?;
            sqlx::query("INSERT INTO schema_version (version) VALUES (?)")
                .bind(1_i64)
                .execute(&self.pool)
                .await
                .map_err(|e| self.db_err(e))?;
            tracing::info!(url = %self.url, version = 1, "created users table");
        }
        Ok(())
    }

    async fn find(&self, name: &str) -> Result<Option<StoredUser>, StoreError> {
        let row = sqlx::query("SELECT name, password, root FROM users WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.db_err(e))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let read = |row: &sqlx::any::AnyRow| -> Result<StoredUser, sqlx::Error> {
            Ok(StoredUser {
                name: row.try_get("name")?,
                hash: row.try_get("password")?,
                root: PathBuf::from(row.try_get::<String, _>("root")?),
            })
        };
        read(&row).map(Some).map_err(|e| self.db_err(e))
    }

    async fn insert(&self, name: &str, hash: &str, root: &str) -> Result<(), StoreError> {
        let result = sqlx::query("INSERT INTO users (name, password, root) VALUES (?, ?, ?)")
            .bind(name)
            .bind(hash)
            .bind(root)
            .execute(&self.pool)
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(StoreError::UserExists {
                    name: name.to_owned(),
                })
            }
            Err(e) => Err(self.db_err(e)),
        }
    }
}

/// Creates the folder a SQLite file will live in, so `sqlite://data/users.db` just works.
fn create_sqlite_parent(url: &str, masked: &str) -> Result<(), StoreError> {
    use std::str::FromStr;
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url).map_err(|source| {
        StoreError::Database {
            url: masked.to_owned(),
            source,
        }
    })?;
    let file = options.get_filename();
    if file.as_os_str() == ":memory:" || file.to_string_lossy().starts_with("file:") {
        return Ok(());
    }
    match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() && !parent.exists() => {
            std::fs::create_dir_all(parent).map_err(|e| StoreError::BadUrl {
                url: masked.to_owned(),
                why: format!("cannot create folder {}: {e}", parent.display()),
            })
        }
        _ => Ok(()),
    }
}

#[async_trait::async_trait]
impl UserStore for SqlUserStore {
    async fn authenticate(
        &self,
        name: &str,
        password: &str,
    ) -> Result<Option<UserRecord>, StoreError> {
        // Invalid names cannot exist; they skip the query but not the argon2 work.
        let stored = if validate_name(name).is_ok() {
            self.find(name).await?
        } else {
            None
        };
        self.checker.check(name, password, stored).await
    }

    async fn add_user(&self, name: &str, password: &str, root: PathBuf) -> Result<(), StoreError> {
        validate_name(name)?;
        let (_, root) = absolute_root(root)?;
        // Checked before hashing so a duplicate costs no argon2; `insert` still catches a race.
        if self.find(name).await?.is_some() {
            return Err(StoreError::UserExists {
                name: name.to_owned(),
            });
        }
        let hash = hash_password(password).await?;
        self.insert(name, &hash, &root).await
    }

    async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let rows = sqlx::query("SELECT name, root FROM users ORDER BY name")
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.db_err(e))?;
        let mut users = rows
            .iter()
            .map(|row| {
                Ok(UserRecord {
                    name: row.try_get("name")?,
                    root: PathBuf::from(row.try_get::<String, _>("root")?),
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(|e| self.db_err(e))?;
        // SQL collations differ between backends; the promise is byte order of the names.
        users.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(users)
    }

    async fn remove_user(&self, name: &str) -> Result<(), StoreError> {
        validate_name(name)?;
        let done = sqlx::query("DELETE FROM users WHERE name = ?")
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(|e| self.db_err(e))?;
        self.checker.cache.forget(name);
        if done.rows_affected() == 0 {
            return Err(StoreError::NoSuchUser {
                name: name.to_owned(),
            });
        }
        Ok(())
    }

    async fn set_password(&self, name: &str, password: &str) -> Result<(), StoreError> {
        validate_name(name)?;
        if self.find(name).await?.is_none() {
            return Err(StoreError::NoSuchUser {
                name: name.to_owned(),
            });
        }
        let hash = hash_password(password).await?;
        let done = sqlx::query("UPDATE users SET password = ? WHERE name = ?")
            .bind(&hash)
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(|e| self.db_err(e))?;
        self.checker.cache.forget(name);
        if done.rows_affected() == 0 {
            return Err(StoreError::NoSuchUser {
                name: name.to_owned(),
            });
        }
        Ok(())
    }
}

/// Users in memory with the same rules and hashing as [`SqlUserStore`], for unit tests.
pub struct MemoryUserStore {
    /// name → (argon2id PHC string, absolute root).
    users: Mutex<HashMap<String, (String, PathBuf)>>,
    checker: PasswordChecker,
}

impl std::fmt::Debug for MemoryUserStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryUserStore").finish_non_exhaustive()
    }
}

impl Default for MemoryUserStore {
    fn default() -> Self {
        MemoryUserStore::new()
    }
}

impl MemoryUserStore {
    /// An empty store.
    pub fn new() -> MemoryUserStore {
        MemoryUserStore {
            users: Mutex::new(HashMap::new()),
            checker: PasswordChecker::new(),
        }
    }

    /// A store holding these `(name, password, root)` users.
    pub async fn with_users(users: &[(&str, &str, &Path)]) -> Result<MemoryUserStore, StoreError> {
        let store = MemoryUserStore::new();
        for (name, password, root) in users {
            store.add_user(name, password, root.to_path_buf()).await?;
        }
        Ok(store)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, PathBuf)>> {
        self.users.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait::async_trait]
impl UserStore for MemoryUserStore {
    async fn authenticate(
        &self,
        name: &str,
        password: &str,
    ) -> Result<Option<UserRecord>, StoreError> {
        let stored = self.lock().get(name).map(|(hash, root)| StoredUser {
            name: name.to_owned(),
            hash: hash.clone(),
            root: root.clone(),
        });
        self.checker.check(name, password, stored).await
    }

    async fn add_user(&self, name: &str, password: &str, root: PathBuf) -> Result<(), StoreError> {
        validate_name(name)?;
        let (root, _) = absolute_root(root)?;
        if self.lock().contains_key(name) {
            return Err(StoreError::UserExists {
                name: name.to_owned(),
            });
        }
        let hash = hash_password(password).await?;
        let mut users = self.lock();
        if users.contains_key(name) {
            return Err(StoreError::UserExists {
                name: name.to_owned(),
            });
        }
        users.insert(name.to_owned(), (hash, root));
        Ok(())
    }

    async fn list_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let mut users: Vec<UserRecord> = self
            .lock()
            .iter()
            .map(|(name, (_, root))| UserRecord {
                name: name.clone(),
                root: root.clone(),
            })
            .collect();
        users.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(users)
    }

    async fn remove_user(&self, name: &str) -> Result<(), StoreError> {
        self.checker.cache.forget(name);
        match self.lock().remove(name) {
            Some(_) => Ok(()),
            None => Err(StoreError::NoSuchUser {
                name: name.to_owned(),
            }),
        }
    }

    async fn set_password(&self, name: &str, password: &str) -> Result<(), StoreError> {
        if !self.lock().contains_key(name) {
            return Err(StoreError::NoSuchUser {
                name: name.to_owned(),
            });
        }
        let hash = hash_password(password).await?;
        self.checker.cache.forget(name);
        match self.lock().get_mut(name) {
            Some(entry) => {
                entry.0 = hash;
                Ok(())
            }
            None => Err(StoreError::NoSuchUser {
                name: name.to_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Connection;
    use std::sync::Arc;

    fn runs(store: &SqlUserStore) -> u64 {
        store.checker.argon2_runs.load(Ordering::Relaxed)
    }

    async fn stored_hash(store: &SqlUserStore, name: &str) -> String {
        sqlx::query("SELECT password FROM users WHERE name = ?")
            .bind(name)
            .fetch_one(&store.pool)
            .await
            .and_then(|row| row.try_get::<String, _>(0))
            .unwrap()
    }

    /// Every promise of the trait, on one backend. `other` is a second store on the same
    /// database, standing in for `ftp-server user passwd` run while the server is up.
    /// About a dozen argon2 runs in all.
    async fn exercise_sql_store(store: Arc<SqlUserStore>, other: Arc<SqlUserStore>, dir: PathBuf) {
        let root = dir.join("alice");
        store
            .add_user("alice", "secret-a", root.clone())
            .await
            .unwrap();
        store
            .add_user("o'brien", "it's me", dir.join("ob"))
            .await
            .unwrap();
        store
            .add_user("bob", "secret-b", PathBuf::from("relative/bob"))
            .await
            .unwrap();

        // Duplicate: refused, before spending argon2, and by the unique key if it gets there.
        let err = store
            .add_user("alice", "x", root.clone())
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::UserExists { ref name } if name == "alice"),
            "{err}"
        );
        let err = store
            .insert("alice", "$argon2id$x", "/x")
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::UserExists { .. }), "{err}");

        // Sorted by name; relative roots stored absolute.
        let users = store.list_users().await.unwrap();
        let names: Vec<&str> = users.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["alice", "bob", "o'brien"]);
        assert!(users.iter().all(|u| u.root.is_absolute()), "{users:?}");
        assert_eq!(
            users[1].root,
            std::env::current_dir().unwrap().join("relative/bob")
        );

        // The password column holds an argon2id PHC string, never the password.
        let hash = stored_hash(&store, "alice").await;
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!hash.contains("secret-a"));

        // Right password: argon2 once, then the cache.
        let before = runs(&store);
        let user = store.authenticate("alice", "secret-a").await.unwrap();
        assert_eq!(
            user,
            Some(UserRecord {
                name: "alice".into(),
                root: root.clone()
            })
        );
        assert_eq!(runs(&store), before + 1);
        let again = store.authenticate("alice", "secret-a").await.unwrap();
        assert_eq!(again, user);
        assert_eq!(
            runs(&store),
            before + 1,
            "second login should come from the cache"
        );

        // Wrong password and unknown name: refused, and both still pay for argon2.
        assert_eq!(store.authenticate("alice", "secret-b").await.unwrap(), None);
        assert_eq!(runs(&store), before + 2);
        assert_eq!(
            store.authenticate("mallory", "secret-a").await.unwrap(),
            None
        );
        assert_eq!(runs(&store), before + 3);
        assert_eq!(store.authenticate("ALICE", "secret-a").await.unwrap(), None);
        assert_eq!(
            store.authenticate("alice\r\n", "secret-a").await.unwrap(),
            None
        );

        // A quote in the name is just data.
        let ob = store.authenticate("o'brien", "it's me").await.unwrap();
        assert_eq!(ob.map(|u| u.name), Some("o'brien".to_owned()));

        // Password changed by another process: the cached old password stops working.
        other.set_password("alice", "new-secret").await.unwrap();
        assert_eq!(store.authenticate("alice", "secret-a").await.unwrap(), None);
        let user = store.authenticate("alice", "new-secret").await.unwrap();
        assert_eq!(user.map(|u| u.name), Some("alice".to_owned()));
        let before = runs(&store);
        assert!(
            store
                .authenticate("alice", "new-secret")
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(runs(&store), before, "new password should be cached too");

        // Changed through this store: the cache entry is dropped at once.
        store.set_password("alice", "third").await.unwrap();
        assert_eq!(
            store.authenticate("alice", "new-secret").await.unwrap(),
            None
        );

        // Removed by another process after a cached login: refused.
        assert!(
            store
                .authenticate("bob", "secret-b")
                .await
                .unwrap()
                .is_some()
        );
        other.remove_user("bob").await.unwrap();
        assert_eq!(store.authenticate("bob", "secret-b").await.unwrap(), None);
        let err = store.remove_user("bob").await.unwrap_err();
        assert!(matches!(err, StoreError::NoSuchUser { .. }), "{err}");
        let err = store.set_password("bob", "x").await.unwrap_err();
        assert!(matches!(err, StoreError::NoSuchUser { .. }), "{err}");

        let err = store.add_user("-rf", "x", root.clone()).await.unwrap_err();
        assert!(matches!(err, StoreError::InvalidName { .. }), "{err}");
        let names: Vec<String> = store
            .list_users()
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.name)
            .collect();
        assert_eq!(names, ["alice", "o'brien"]);
    }

    #[tokio::test]
    async fn sqlite_store_keeps_every_promise_of_the_trait() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("data/users.db").display());
        let store = Arc::new(SqlUserStore::connect(&url).await.unwrap());
        let other = Arc::new(SqlUserStore::connect(&url).await.unwrap());
        exercise_sql_store(store, other, dir.path().to_path_buf()).await;
    }

    #[tokio::test]
    async fn sqlite_store_reopens_an_existing_file_with_its_users() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("users.db").display());
        let store = SqlUserStore::connect(&url).await.unwrap();
        store
            .add_user("carol", "pw", dir.path().join("c"))
            .await
            .unwrap();
        store.pool.close().await;
        let reopened = SqlUserStore::connect(&url).await.unwrap();
        let names: Vec<String> = reopened
            .list_users()
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.name)
            .collect();
        assert_eq!(names, ["carol"]);
    }

    #[tokio::test]
    async fn database_from_a_newer_release_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("users.db").display());
        let store = SqlUserStore::connect(&url).await.unwrap();
        sqlx::query("INSERT INTO schema_version (version) VALUES (?)")
            .bind(SCHEMA_VERSION + 1)
            .execute(&store.pool)
            .await
            .unwrap();
        let err = SqlUserStore::connect(&url).await.unwrap_err();
        assert!(
            matches!(err, StoreError::SchemaTooNew { found: 2, .. }),
            "{err}"
        );
    }

    /// Base URL of the test MariaDB server (no database); `FTPLAB_TEST_MYSQL` overrides it.
    fn mysql_server() -> String {
        std::env::var("FTPLAB_TEST_MYSQL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into())
    }

    /// A fresh `ftplab_test_<hex>` database URL, or `None` when MySQL tests are skipped.
    async fn mysql_test_url() -> Option<String> {
        if std::env::var("FTPLAB_SKIP_MYSQL").is_ok_and(|v| v == "1") {
            eprintln!("note: FTPLAB_SKIP_MYSQL=1, skipping the MySQL/MariaDB store test");
            return None;
        }
        let server = mysql_server();
        sqlx::any::install_default_drivers();
        let reachable = match sqlx::AnyConnection::connect(&server).await {
            Ok(conn) => conn.close().await,
            Err(e) => Err(e),
        };
        if let Err(e) = reachable {
            panic!(
                "MariaDB is not reachable at {} ({e}). Start MariaDB (for example \
                 `sudo service mariadb start`), point FTPLAB_TEST_MYSQL at another server, \
                 or set FTPLAB_SKIP_MYSQL=1 to skip the MySQL tests",
                mask_password(&server)
            );
        }
        let mut suffix = [0u8; 6];
        OsRng.fill_bytes(&mut suffix);
        Some(format!("{server}/ftplab_test_{}", hex::encode(suffix)))
    }

    #[tokio::test]
    async fn mysql_store_keeps_every_promise_of_the_trait() {
        let Some(url) = mysql_test_url().await else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let outcome = async {
            let store = Arc::new(SqlUserStore::connect(&url).await.unwrap());
            // mariadb:// is the same as mysql://.
            let other_url = url.replacen("mysql://", "mariadb://", 1);
            let other = Arc::new(SqlUserStore::connect(&other_url).await.unwrap());
            tokio::spawn(exercise_sql_store(store, other, dir.path().to_path_buf())).await
        }
        .await;
        Any::drop_database(&url).await.unwrap();
        if let Err(e) = outcome {
            std::panic::resume_unwind(e.into_panic());
        }
    }

    #[tokio::test]
    async fn unreachable_mysql_names_the_url_without_its_password() {
        let err = SqlUserStore::connect("mysql://admin:hunter2@127.0.0.1:1/ftplab").await;
        let text = err.unwrap_err().to_string();
        assert!(
            text.contains("mysql://admin:***@127.0.0.1:1/ftplab"),
            "{text}"
        );
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[tokio::test]
    async fn url_of_another_database_lists_the_accepted_forms() {
        let err = SqlUserStore::connect("postgres://u:pw@host/db")
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, StoreError::BadUrl { .. }), "{text}");
        assert!(
            text.contains("sqlite://") && text.contains("mysql://"),
            "{text}"
        );
        assert!(!text.contains("pw@"), "{text}");
        let err = SqlUserStore::connect("mysql://root@localhost")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("name the database"), "{err}");
        let err = SqlUserStore::connect("mysql://root@localhost/a`b")
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::BadUrl { .. }), "{err}");
    }

    #[test]
    fn mask_password_hides_only_the_password() {
        assert_eq!(
            mask_password("mysql://u:p@h:3306/db"),
            "mysql://u:***@h:3306/db"
        );
        assert_eq!(mask_password("mysql://u:p@ss@h/db"), "mysql://u:***@h/db");
        assert_eq!(mask_password("mysql://u@h/db"), "mysql://u@h/db");
        assert_eq!(
            mask_password("mysql://h/db?x=a@b:c"),
            "mysql://h/db?x=a@b:c"
        );
        assert_eq!(mask_password("sqlite://users.db"), "sqlite://users.db");
        assert_eq!(mask_password("sqlite:a:b@c"), "sqlite:a:b@c");
    }

    #[test]
    fn names_are_checked_before_they_reach_the_table() {
        for good in ["a", "user1", "o'brien", "Zoë", "a b", &"x".repeat(64)] {
            assert!(validate_name(good).is_ok(), "{good:?}");
        }
        for bad in [
            "",
            "-a",
            "a/b",
            "a\0b",
            "a\nb",
            "\x7f",
            " a",
            "a ",
            &"x".repeat(65),
        ] {
            assert!(
                matches!(validate_name(bad), Err(StoreError::InvalidName { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn login_cache_needs_the_same_hash_and_password_and_is_bounded() {
        let cache = LoginCache::new(2);
        cache.remember("a", "$h1", "pw");
        assert!(cache.matches("a", "$h1", "pw"));
        assert!(!cache.matches("a", "$h1", "pw2"));
        assert!(!cache.matches("a", "$h2", "pw"));
        assert!(!cache.matches("b", "$h1", "pw"));
        // Name and password are separated, so "a"+"bpw" is not "ab"+"pw".
        cache.remember("ab", "$h1", "pw");
        assert!(!cache.matches("a", "$h1", "bpw"));
        assert_eq!(cache.len(), 2);
        cache.remember("c", "$h1", "pw");
        assert_eq!(
            cache.len(),
            1,
            "a full cache is emptied before a new name goes in"
        );
        assert!(cache.matches("c", "$h1", "pw"));
        cache.forget("c");
        assert!(!cache.matches("c", "$h1", "pw"));
    }

    #[test]
    fn digests_differ_between_processes() {
        let (one, two) = (LoginCache::new(1), LoginCache::new(1));
        assert_ne!(one.digest("a", "pw"), two.digest("a", "pw"));
    }

    #[tokio::test]
    async fn memory_store_authenticates_like_the_sql_store() {
        let root = Path::new("/srv/ftp/alice");
        let store = MemoryUserStore::with_users(&[("alice", "pw", root)])
            .await
            .unwrap();
        let user = store.authenticate("alice", "pw").await.unwrap();
        assert_eq!(
            user,
            Some(UserRecord {
                name: "alice".into(),
                root: root.to_path_buf()
            })
        );
        assert_eq!(store.authenticate("alice", "nope").await.unwrap(), None);
        assert_eq!(store.authenticate("bob", "pw").await.unwrap(), None);
        let err = store
            .add_user("alice", "x", root.to_path_buf())
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::UserExists { .. }), "{err}");
        store.set_password("alice", "pw2").await.unwrap();
        assert_eq!(store.authenticate("alice", "pw").await.unwrap(), None);
        assert!(store.authenticate("alice", "pw2").await.unwrap().is_some());
        store.remove_user("alice").await.unwrap();
        assert_eq!(store.authenticate("alice", "pw2").await.unwrap(), None);
        assert!(store.list_users().await.unwrap().is_empty());
    }
}
