//! [`MemoryUserStore`]: the same rules in a `HashMap`, for unit tests of other modules.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use super::password::{PasswordChecker, StoredUser, hash_password};
use super::{StoreError, UserRecord, UserStore, absolute_root, validate_name};

/// Users in memory with the same rules and hashing as [`SqlUserStore`](super::SqlUserStore), for unit tests.
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
