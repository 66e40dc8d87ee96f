//! The per-process login cache that spares argon2 for a repeated login.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// How long a verified login spares argon2; after that the next login pays for argon2 again.
pub(super) const LOGIN_CACHE_LIFETIME: Duration = Duration::from_secs(5 * 60);

/// Remembers logins that argon2 has verified, so the same user logging in again within
/// [`LOGIN_CACHE_LIFETIME`] does not pay for argon2 again.
///
/// Trade-off: an entry holds HMAC-SHA256(per-process random key, name ‖ 0 ‖ password), never
/// the password. That tag is fast to brute-force *if* both it and the key leak, so it lives only
/// in this process's memory for a few minutes, is never written anywhere, and dies with the
/// process; the database keeps only the slow argon2id hash. An entry is used only while the
/// stored hash is unchanged, so a password change or removal (also by another process) takes
/// effect at the next login.
pub(super) struct LoginCache {
    /// HMAC state keyed once with 32 random bytes; cloned for every tag.
    mac: Hmac<Sha256>,
    capacity: usize,
    lifetime: Duration,
    entries: Mutex<HashMap<String, CachedLogin>>,
}

/// One verified login: the PHC string it was verified against, the keyed tag and its age.
struct CachedLogin {
    hash: String,
    tag: [u8; 32],
    verified_at: Instant,
}

impl LoginCache {
    /// An empty cache with a fresh random key.
    pub(super) fn new(capacity: usize, lifetime: Duration) -> LoginCache {
        let key: [u8; 32] = rand::random();
        LoginCache {
            mac: Hmac::new_from_slice(&key).expect("HMAC accepts keys of any length"),
            capacity,
            lifetime,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn tag(&self, name: &str, password: &str) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(name.as_bytes());
        // Names cannot contain control characters, so 0 separates name and password unambiguously.
        mac.update(&[0u8]);
        mac.update(password.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// `true` when this name and password were verified against exactly `hash` less than the
    /// lifetime ago.
    pub(super) fn matches(&self, name: &str, hash: &str, password: &str) -> bool {
        self.matches_at(name, hash, password, Instant::now())
    }

    fn matches_at(&self, name: &str, hash: &str, password: &str, now: Instant) -> bool {
        let offered = self.tag(name, password);
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(entry) = entries.get(name) else {
            return false;
        };
        if now.saturating_duration_since(entry.verified_at) >= self.lifetime {
            entries.remove(name);
            return false;
        }
        entry.hash == hash && bool::from(entry.tag.ct_eq(&offered))
    }

    /// Records a login that argon2 has just verified against `hash`.
    pub(super) fn remember(&self, name: &str, hash: &str, password: &str) {
        self.remember_at(name, hash, password, Instant::now());
    }

    fn remember_at(&self, name: &str, hash: &str, password: &str, now: Instant) {
        let tag = self.tag(name, password);
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= self.capacity && !entries.contains_key(name) {
            let lifetime = self.lifetime;
            entries.retain(|_, e| now.saturating_duration_since(e.verified_at) < lifetime);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(
            name.to_owned(),
            CachedLogin {
                hash: hash.to_owned(),
                tag,
                verified_at: now,
            },
        );
    }

    /// Drops the entry of `name` (its password changed or it was removed).
    pub(super) fn forget(&self, name: &str) {
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

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn login_cache_needs_the_same_hash_and_password_and_is_bounded() {
        let cache = LoginCache::new(2, HOUR);
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
    fn cached_login_expires_after_its_lifetime() {
        let cache = LoginCache::new(10, Duration::from_secs(300));
        let start = Instant::now();
        cache.remember_at("a", "$h1", "pw", start);
        let later = |secs| start + Duration::from_secs(secs);
        assert!(cache.matches_at("a", "$h1", "pw", later(299)));
        assert!(!cache.matches_at("a", "$h1", "pw", later(300)));
        assert_eq!(cache.len(), 0, "an expired entry is dropped when met");
    }

    #[test]
    fn a_full_cache_drops_expired_entries_first() {
        let cache = LoginCache::new(2, Duration::from_secs(300));
        let start = Instant::now();
        cache.remember_at("old", "$h", "pw", start);
        cache.remember_at("new", "$h", "pw", start + Duration::from_secs(200));
        cache.remember_at("c", "$h", "pw", start + Duration::from_secs(400));
        assert_eq!(cache.len(), 2);
        assert!(cache.matches_at("new", "$h", "pw", start + Duration::from_secs(401)));
    }

    #[test]
    fn tags_differ_between_processes() {
        let (one, two) = (LoginCache::new(1, HOUR), LoginCache::new(1, HOUR));
        assert_ne!(one.tag("a", "pw"), two.tag("a", "pw"));
    }
}
