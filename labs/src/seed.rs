//! Per-student secrets: with a token (`--student`, graded work, see [`crate::course`]) or a
//! seed (`--seed N`, practice) every student gets their own user name, password, file contents
//! and word list, so each capture has different answers; without either, the demo user
//! `user1`/`pass1` and fixed contents (those of the shipped captures).

// rand 0.8 on purpose: its sampling made the shipped captures' contents (see the workspace
// Cargo.toml); rand 0.9 would give every seed other secrets.
use rand_08::rngs::StdRng;
use rand_08::{Rng, SeedableRng};

const WORDS: [&str; 24] = [
    "amber", "birch", "cobalt", "delta", "ember", "falcon", "garnet", "harbor", "indigo",
    "juniper", "kestrel", "lumen", "maple", "nectar", "onyx", "pepper", "quartz", "raven",
    "saffron", "tundra", "umber", "velvet", "willow", "zephyr",
];

/// Passwords people really use: the decoys of the brute-force word list (RFC 2577 §5).
const COMMON: [&str; 12] = [
    "123456", "password", "letmein", "qwerty", "admin", "welcome", "dragon", "monkey", "secret",
    "ftp", "abc123", "iloveyou",
];

/// Number of guesses in the brute-force word list.
pub const WORDLIST_LEN: usize = 9;

/// The seed-derived values a lab uses and its checker verifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secrets {
    /// The seed, if any (practice).
    pub seed: Option<u64>,
    /// The student id of the token, if any (graded work).
    pub student: Option<String>,
    /// The lab account's user name.
    pub user: String,
    /// Its password.
    pub password: String,
    /// A wrong password tried first (lab 1, lab 2).
    pub wrong_password: String,
    /// Contents of `notes.txt`, the text file transferred in lab 3.
    pub notes: Vec<u8>,
    /// Contents of `photo.bin`, the binary file sent in binary and in ASCII mode in lab 3: it
    /// holds lone LFs and CR LF pairs, which ASCII mode changes.
    pub photo: Vec<u8>,
    /// Brute-force guesses (lab 4): common passwords with the real one at [`Self::hit`].
    pub words: Vec<String>,
    /// Index of the real password in `words`; at least 5, so the inspector's brute-force
    /// finding (5 failures) and the lockout (3 failures) both trigger before it.
    pub hit: usize,
}

impl Secrets {
    /// The secrets for `seed` (`None`: the demo user and the shipped captures' contents).
    pub fn new(seed: Option<u64>) -> Self {
        let mut rng = StdRng::seed_from_u64(seed.unwrap_or(0));
        Self::generate(seed, None, &mut rng)
    }

    /// The secrets of a student's token for lab `lab`: a function of the token alone (its
    /// HMAC-derived lab seed), so the teacher remakes them from the course secret and the id.
    pub fn for_student(token: &crate::course::Token, lab: u8) -> Self {
        let mut rng = StdRng::from_seed(token.lab_seed(lab));
        Self::generate(None, Some(token.id().to_string()), &mut rng)
    }

    /// Whether these are the demo user's values (no seed, no token).
    pub fn is_demo(&self) -> bool {
        self.seed.is_none() && self.student.is_none()
    }

    fn generate(seed: Option<u64>, student: Option<String>, rng: &mut StdRng) -> Self {
        let pick = |rng: &mut StdRng| WORDS[rng.gen_range(0..WORDS.len())];
        let demo = seed.is_none() && student.is_none();
        let (user, password, wrong_password) = match demo {
            true => (
                "user1".to_string(),
                "pass1".to_string(),
                "letmein".to_string(),
            ),
            false => {
                let user = format!("{}{}", pick(rng), rng.gen_range(10..100));
                let password = format!("{}-{}-{}", pick(rng), pick(rng), rng.gen_range(100..1000));
                let wrong = format!("{}{}", pick(rng), rng.gen_range(10..100));
                (user, password, wrong)
            }
        };
        let notes = format!(
            "Meeting notes for {user}: the backup key is {}-{:06}.\nDo not send this file over plain FTP.\n",
            pick(rng),
            rng.gen_range(0..1_000_000)
        )
        .into_bytes();
        let mut photo = b"\x89PNG\r\n\x1a\n".to_vec();
        for _ in 0..1500 {
            // Roughly one byte in twelve is an LF, some of them after a CR.
            let b: u8 = rng.r#gen();
            photo.push(match b % 24 {
                0 => b'\n',
                1 => b'\r',
                _ => b,
            });
        }
        let mut words: Vec<String> = COMMON.iter().map(|w| w.to_string()).collect();
        for i in (1..words.len()).rev() {
            words.swap(i, rng.gen_range(0..=i));
        }
        words.truncate(WORDLIST_LEN - 1);
        let hit = rng.gen_range(5..WORDLIST_LEN);
        words.insert(hit, password.clone());
        Self {
            seed,
            student,
            user,
            password,
            wrong_password,
            notes,
            photo,
            words,
            hit,
        }
    }

    /// sha256 of `data` in lower-case hex.
    pub fn sha256(data: &[u8]) -> String {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_gives_the_same_secrets_and_another_seed_other_ones() {
        assert_eq!(Secrets::new(Some(7)), Secrets::new(Some(7)));
        let (a, b) = (Secrets::new(Some(7)), Secrets::new(Some(8)));
        assert_ne!(a.password, b.password);
        assert_ne!(a.notes, b.notes);
    }

    #[test]
    fn a_token_gives_its_own_secrets_for_each_lab_and_never_the_demo_user() {
        let course = crate::course::Course::from_secret([9; 32]);
        let token = |id: &str| course.token(id).unwrap_or_else(|e| panic!("{e}"));
        let a = Secrets::for_student(&token("s1"), 1);
        assert_eq!(a, Secrets::for_student(&token("s1"), 1));
        assert_eq!(a.student.as_deref(), Some("s1"));
        assert!(!a.is_demo() && a.user != "user1");
        assert_ne!(a.password, Secrets::for_student(&token("s1"), 2).password);
        assert_ne!(a.password, Secrets::for_student(&token("s2"), 1).password);
        assert_eq!(a.words[a.hit], a.password);
    }

    #[test]
    fn no_seed_is_the_demo_user() {
        let s = Secrets::new(None);
        assert_eq!((s.user.as_str(), s.password.as_str()), ("user1", "pass1"));
    }

    #[test]
    fn the_real_password_comes_after_enough_failures_for_the_findings() {
        for seed in 0..50 {
            let s = Secrets::new(Some(seed));
            assert_eq!(s.words.len(), WORDLIST_LEN);
            assert!(s.hit >= 5);
            assert_eq!(s.words[s.hit], s.password);
            assert_eq!(s.words.iter().filter(|w| **w == s.password).count(), 1);
        }
    }

    #[test]
    fn the_photo_has_line_ends_that_ascii_mode_changes() {
        let s = Secrets::new(None);
        assert!(s.photo.windows(2).any(|w| w == b"\r\n"));
        assert!(s.photo.contains(&b'\n'));
    }
}
