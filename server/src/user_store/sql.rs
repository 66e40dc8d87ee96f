//! [`SqlUserStore`]: the users table on SQLite or MySQL/MariaDB, and its migrations.

use std::path::PathBuf;
use std::time::Duration;

use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::MigrateDatabase;
use sqlx::{Any, Row};

use super::db_url::{Backend, mask_password, parse_url};
use super::failure_log::SqlFailureLog;
use super::password::{PasswordChecker, StoredUser, blocking, dummy_hash, hash_password};
use super::{StoreError, UserRecord, UserStore, absolute_root, validate_name};

/// Newest schema version this build creates and understands.
const SCHEMA_VERSION: i64 = 2;

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

    /// The failed-login tables of the same database, for instances that share lockouts.
    pub fn failure_log(&self) -> SqlFailureLog {
        SqlFailureLog {
            pool: self.pool.clone(),
            backend: self.backend,
            url: self.url.clone(),
        }
    }

    /// Whether the database is MySQL/MariaDB (shared by design) rather than a SQLite file.
    pub fn is_mysql(&self) -> bool {
        self.backend == Backend::MySql
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
        if found < 2 {
            // Version 2: the failed-login tables several instances share.
            for sql in SqlFailureLog::create_tables(self.backend) {
                sqlx::query(sql)
                    .execute(&self.pool)
                    .await
                    .map_err(|e| self.db_err(e))?;
            }
            sqlx::query("INSERT INTO schema_version (version) VALUES (?)")
                .bind(2_i64)
                .execute(&self.pool)
                .await
                .map_err(|e| self.db_err(e))?;
            tracing::info!(url = %self.url, version = 2, "created login failure tables");
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
        one_user_row(&done, name)
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
        one_user_row(&done, name)
    }
}

/// A change that touched no row means there is no such user (any more).
fn one_user_row(done: &sqlx::any::AnyQueryResult, name: &str) -> Result<(), StoreError> {
    if done.rows_affected() == 0 {
        return Err(StoreError::NoSuchUser {
            name: name.to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::Connection;
    use std::sync::Arc;
    use std::sync::atomic::Ordering;

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
            matches!(err, StoreError::SchemaTooNew { found: 3, .. }),
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
        let suffix: [u8; 6] = rand::random();
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
}
