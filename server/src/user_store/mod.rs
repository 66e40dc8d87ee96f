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
//! plus `schema_version (version INTEGER NOT NULL)`, so a later release can migrate old files,
//! and (version 2) the failed-login tables of [`SqlFailureLog`].
//! [`MemoryUserStore`] keeps the same rules in a `HashMap` for unit tests of other modules.
//!
//! # Layout
//!
//! - `db_url`: which backend a database URL selects, and [`mask_password`] for messages.
//! - `password`: argon2id hashing and the login check both stores share.
//! - `cache`: the per-process login cache that spares argon2 for a repeated login.
//! - `sql`: [`SqlUserStore`] and its migrations; `memory`: [`MemoryUserStore`].
//! - `failure_log`: [`SqlFailureLog`], failed logins and lockouts in the same database, shared
//!   by every `ftp-server` instance on it (schema version 2).

mod cache;
mod db_url;
mod failure_log;
mod memory;
mod password;
mod sql;

use std::path::PathBuf;

pub use db_url::mask_password;
pub use failure_log::{Admission, NewLockouts, Pending, SqlFailureLog};
pub use memory::MemoryUserStore;
pub use sql::SqlUserStore;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
