//! argon2id hashing and the login check both stores share: cache, argon2, dummy work.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use super::cache::{LOGIN_CACHE_LIFETIME, LoginCache};
use super::{StoreError, UserRecord};

/// Most entries in the verified-login cache before it is emptied.
const LOGIN_CACHE_CAPACITY: usize = 10_000;

/// Runs CPU-heavy argon2 work off the async worker threads, at most one job per core at a time:
/// each run takes about 19 MiB, and a burst of logins must queue rather than start hundreds of
/// blocking threads.
pub(super) async fn blocking<T: Send + 'static>(
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
pub(super) async fn hash_password(password: &str) -> Result<String, StoreError> {
    let password = password.to_owned();
    blocking(move || {
        let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
            .map_err(|e| StoreError::Hash(e.to_string()))?;
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

pub(super) fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        // 16 bytes are within the 4..=48 bytes a salt may have.
        let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
            .expect("a 16-byte salt is a valid salt");
        password_hasher()
            .hash_password(b"ftplab: no such user", &salt)
            .map(|hash| hash.to_string())
            // Default argon2 parameters with a generated 16-byte salt are always valid.
            .expect("argon2 default parameters and a generated salt are valid")
    })
}

/// A user row as read for a login.
pub(super) struct StoredUser {
    pub(super) name: String,
    pub(super) hash: String,
    pub(super) root: PathBuf,
}

/// The login check shared by both stores: cache, then argon2, then dummy work for unknown names.
pub(super) struct PasswordChecker {
    pub(super) cache: LoginCache,
    /// argon2 verifications run (real and dummy); lets tests see the cache working.
    pub(super) argon2_runs: AtomicU64,
}

impl PasswordChecker {
    pub(super) fn new() -> PasswordChecker {
        PasswordChecker {
            cache: LoginCache::new(LOGIN_CACHE_CAPACITY, LOGIN_CACHE_LIFETIME),
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
    pub(super) async fn check(
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
