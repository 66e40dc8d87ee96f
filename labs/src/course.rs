//! Course secret and student tokens: the teacher's course file holds a random 256-bit secret;
//! a student's token is `id.MAC` with MAC = HMAC-SHA256(secret, id), and the student's lab
//! parameters derive from the token alone, so the teacher (who can remake every token) knows
//! every student's values and a student knows only their own.
//!
//! ```text
//! secret ──HMAC(·, "token" ‖ id)──▶ token core (128 bits) ──▶ token text `id.XXXX-XXXX-…`
//! token core ──HMAC(·, "token-key" ‖ id)──▶ token key ──HMAC(·, "lab" ‖ N)──▶ lab N's RNG seed
//! ```
//!
//! A classmate's parameters need the classmate's token core, an HMAC output under a key (the
//! secret) the student does not have; nothing computed from one's own token reaches it.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::{Path, PathBuf};

type HmacSha256 = Hmac<Sha256>;

/// Bytes of the MAC kept in a token: 128 bits, beyond guessing, short enough to type.
pub const CORE_LEN: usize = 16;
/// Bytes of the typing check appended to the core (catches a mistyped character).
const CHECK_LEN: usize = 4;
/// Longest student id.
pub const MAX_ID_LEN: usize = 40;
/// Version of the course file format.
const FORMAT: i64 = 1;

/// Domain-separation labels: each HMAC input says what it is for.
const TOKEN_LABEL: &[u8] = b"ftplab/v1/token\0";
const CHECK_LABEL: &[u8] = b"ftplab/v1/token-check\0";
const KEY_LABEL: &[u8] = b"ftplab/v1/token-key\0";
const LAB_LABEL: &[u8] = b"ftplab/v1/lab\0";
const SUBMISSION_LABEL: &[u8] = b"ftplab/v1/submission-key\0";

/// RFC 4648 base32 alphabet: no 0/1/8/9, which are easy to confuse with O/I/B/g.
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// What is wrong with a course file, a roster or a token.
#[derive(Debug, thiserror::Error)]
pub enum CourseError {
    /// The course file cannot be read or written.
    #[error("{what}")]
    Io {
        /// What was tried.
        what: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The course file is not one `teacher init` wrote.
    #[error("{} is not an ftplab course file ({why}); make one with `ftplab-lab teacher init`", file.display())]
    BadCourse {
        /// The file.
        file: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// `teacher init` would put the secret where git would commit it.
    #[error(
        "{} is inside a git work tree and not ignored: the course secret would be committed. \
         Put it outside the repository (e.g. ~/ftplab-course.toml) or name it course.toml / \
         NAME.course.toml (both gitignored)",
        file.display()
    )]
    InRepository {
        /// The refused path.
        file: PathBuf,
    },
    /// A student id the tokens cannot carry.
    #[error(
        "student id {id:?}: use 1 to {MAX_ID_LEN} letters, digits, `-` or `_` (no dots or spaces)"
    )]
    BadId {
        /// The id.
        id: String,
    },
    /// A roster row that cannot be read.
    #[error("{}: line {line}: {why}", file.display())]
    BadRoster {
        /// The roster file.
        file: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong and what the line should look like.
        why: String,
    },
    /// A token that is not `id.XXXX-XXXX-…`.
    #[error(
        "{why}: a token looks like `s001.ABCD-EFGH-…` (your id, a dot, then 8 groups of 4 letters and digits from your teacher)"
    )]
    BadToken {
        /// What is wrong.
        why: String,
    },
}

fn mac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC takes keys of any length: new_from_slice cannot fail for HMAC-SHA256.
    let mut m = match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    };
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

/// Checks a student id: letters, digits, `-`, `_`; 1 to [`MAX_ID_LEN`] characters.
pub fn check_id(id: &str) -> Result<(), CourseError> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(CourseError::BadId { id: id.to_string() })
    }
}

/// The teacher's course: the secret every token is made from.
#[derive(Clone, PartialEq, Eq)]
pub struct Course {
    secret: [u8; 32],
}

impl fmt::Debug for Course {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secret (logs, panics in tests).
        f.write_str("Course { secret: <hidden> }")
    }
}

impl Course {
    /// A course with a fresh secret from the operating system's random source.
    pub fn generate() -> Self {
        use rand_08::RngCore;
        let mut secret = [0u8; 32];
        rand_08::rngs::OsRng.fill_bytes(&mut secret);
        Self { secret }
    }

    /// A course with a given secret (tests, and proofs that a forged secret gives other values).
    pub fn from_secret(secret: [u8; 32]) -> Self {
        Self { secret }
    }

    /// The token of student `id`.
    pub fn token(&self, id: &str) -> Result<Token, CourseError> {
        check_id(id)?;
        let full = mac(&self.secret, &[TOKEN_LABEL, id.as_bytes()]);
        let mut core = [0u8; CORE_LEN];
        core.copy_from_slice(&full[..CORE_LEN]);
        Ok(Token {
            id: id.to_string(),
            core,
        })
    }

    /// The course file's text.
    pub fn to_toml(&self) -> String {
        let created = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        format!(
            "# ftplab course file (`ftplab-lab teacher init`). Keep it secret and keep a copy: every\n\
             # student token and every answer key is made from `secret`; never commit it.\n\
             format = {FORMAT}\n\
             secret = \"{}\"\n\
             created = {created}  # Unix time\n",
            hex::encode(self.secret)
        )
    }

    /// Reads a course file.
    pub fn load(file: &Path) -> Result<Self, CourseError> {
        let text = std::fs::read_to_string(file).map_err(|source| CourseError::Io {
            what: format!(
                "cannot read the course file {} (made by `ftplab-lab teacher init`)",
                file.display()
            ),
            source,
        })?;
        let bad = |why: &str| CourseError::BadCourse {
            file: file.to_path_buf(),
            why: why.to_string(),
        };
        let table: toml::Table = text.parse().map_err(|_| bad("not TOML"))?;
        match table.get("format").and_then(toml::Value::as_integer) {
            Some(FORMAT) => {}
            Some(_) => return Err(bad("a format this version does not know")),
            None => return Err(bad("no `format`")),
        }
        let hex_secret = table
            .get("secret")
            .and_then(toml::Value::as_str)
            .ok_or_else(|| bad("no `secret`"))?;
        let bytes = hex::decode(hex_secret).map_err(|_| bad("`secret` is not hex"))?;
        let secret: [u8; 32] = bytes
            .try_into()
            .map_err(|_| bad("`secret` is not 64 hex digits"))?;
        Ok(Self { secret })
    }

    /// Writes a new course file with mode 0600; never overwrites one.
    pub fn save_new(&self, file: &Path) -> Result<(), CourseError> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(file)
            .map_err(|source| CourseError::Io {
                what: format!(
                    "cannot create {} (an existing course file is never overwritten: its tokens \
                     would stop working)",
                    file.display()
                ),
                source,
            })?;
        f.write_all(self.to_toml().as_bytes())
            .map_err(|source| CourseError::Io {
                what: format!("cannot write {}", file.display()),
                source,
            })
    }
}

/// A student's token: their id and the 128-bit core the teacher's secret made for it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    id: String,
    core: [u8; CORE_LEN],
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token {{ id: {:?}, core: <hidden> }}", self.id)
    }
}

impl Token {
    /// The student id inside the token.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn check(id: &str, core: &[u8]) -> [u8; CHECK_LEN] {
        let d = Sha256::new()
            .chain_update(CHECK_LABEL)
            .chain_update(id.as_bytes())
            .chain_update(core)
            .finalize();
        let mut out = [0u8; CHECK_LEN];
        out.copy_from_slice(&d[..CHECK_LEN]);
        out
    }

    /// The key the student's parameters derive from: a function of the token alone.
    fn key(&self) -> [u8; 32] {
        mac(&self.core, &[KEY_LABEL, self.id.as_bytes()])
    }

    /// The 32-byte seed of lab `lab`'s parameters (users, passwords, files, word list).
    pub fn lab_seed(&self, lab: u8) -> [u8; 32] {
        mac(&self.key(), &[LAB_LABEL, &[lab]])
    }

    /// The MAC of a submission's bytes, keyed by this token (the teacher remakes the key from
    /// the course secret and the id).
    pub fn submission_mac(&self, data: &[u8]) -> [u8; 32] {
        let key = mac(&self.core, &[SUBMISSION_LABEL, self.id.as_bytes()]);
        mac(&key, &[data])
    }

    /// Whether `tag` is this token's MAC of `data` (compared in constant time).
    pub fn verify_submission_mac(&self, data: &[u8], tag: &[u8]) -> bool {
        let key = mac(&self.core, &[SUBMISSION_LABEL, self.id.as_bytes()]);
        match HmacSha256::new_from_slice(&key) {
            Ok(mut m) => {
                m.update(data);
                m.verify_slice(tag).is_ok()
            }
            Err(_) => false,
        }
    }

    /// Reads a token as the student types it: case, spaces and dashes in the groups do not
    /// matter; a mistyped character is caught by the check digits.
    pub fn parse(text: &str) -> Result<Self, CourseError> {
        let bad = |why: String| CourseError::BadToken { why };
        let text = text.trim();
        let (id, body) = text
            .split_once('.')
            .ok_or_else(|| bad(format!("{text:?} has no dot after the student id")))?;
        check_id(id).map_err(|_| bad(format!("{id:?} is not a student id")))?;
        let chars: Vec<char> = body.chars().filter(|c| !matches!(c, '-' | ' ')).collect();
        let want = (CORE_LEN + CHECK_LEN) * 8 / 5;
        if let Some(c) = chars
            .iter()
            .find(|c| !BASE32.contains(&(c.to_ascii_uppercase() as u8)) || !c.is_ascii())
        {
            return Err(bad(format!("{c:?} cannot be in a token")));
        }
        if chars.len() != want {
            return Err(bad(format!(
                "the token has {} characters after the dot, not {want}",
                chars.len()
            )));
        }
        let (mut bits, mut nbits) = (0u64, 0u32);
        let mut bytes = Vec::with_capacity(CORE_LEN + CHECK_LEN);
        for c in chars {
            let up = c.to_ascii_uppercase() as u8;
            let v = BASE32.iter().position(|&b| b == up).unwrap_or(0) as u64;
            bits = (bits << 5) | v;
            nbits += 5;
            if nbits >= 8 {
                nbits -= 8;
                bytes.push((bits >> nbits) as u8);
                bits &= (1 << nbits) - 1;
            }
        }
        let (core, check) = bytes.split_at(CORE_LEN);
        if check != Self::check(id, core) {
            return Err(bad(
                "the token does not check out (a mistyped character, or another student's id)"
                    .into(),
            ));
        }
        let mut c = [0u8; CORE_LEN];
        c.copy_from_slice(core);
        Ok(Self {
            id: id.to_string(),
            core: c,
        })
    }
}

impl fmt::Display for Token {
    /// `id.XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX`: base32 of the core and its check.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut data = self.core.to_vec();
        data.extend_from_slice(&Self::check(&self.id, &self.core));
        let mut chars = String::new();
        let (mut bits, mut nbits) = (0u64, 0u32);
        for b in data {
            bits = (bits << 8) | u64::from(b);
            nbits += 8;
            while nbits >= 5 {
                nbits -= 5;
                chars.push(char::from(BASE32[((bits >> nbits) & 31) as usize]));
            }
            bits &= (1 << nbits) - 1;
        }
        // 20 bytes are 160 bits, 32 characters: no bits left over.
        let groups: Vec<&str> = chars
            .as_bytes()
            .chunks(4)
            .filter_map(|g| std::str::from_utf8(g).ok())
            .collect();
        write!(f, "{}.{}", self.id, groups.join("-"))
    }
}

/// One student of a roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Student {
    /// Student id (in the token).
    pub id: String,
    /// Name.
    pub name: String,
    /// E-mail address.
    pub email: String,
}

/// Splits one CSV line: commas, fields in double quotes may hold commas and `""`.
fn csv_fields(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.trim().is_empty() => {
                field.clear();
                quoted = true;
            }
            (false, ',') => fields.push(std::mem::take(&mut field).trim().to_string()),
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err("a quote is not closed".into());
    }
    fields.push(field.trim().to_string());
    Ok(fields)
}

/// Reads a roster: a header row `id,name,email`, then one student a line; blank lines and
/// lines starting with `#` are skipped.
pub fn parse_roster(file: &Path, text: &str) -> Result<Vec<Student>, CourseError> {
    let err = |line: usize, why: String| CourseError::BadRoster {
        file: file.to_path_buf(),
        line,
        why,
    };
    let mut rows = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_start_matches('\u{feff}')))
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    let Some((n, header)) = rows.next() else {
        return Err(err(
            1,
            "the roster is empty: the first line is `id,name,email`".into(),
        ));
    };
    let header = csv_fields(header).map_err(|why| err(n, why))?;
    let names: Vec<String> = header.iter().map(|h| h.to_ascii_lowercase()).collect();
    if names != ["id", "name", "email"] {
        return Err(err(
            n,
            format!("the header is {header:?}; it must be `id,name,email`"),
        ));
    }
    let mut students: Vec<Student> = Vec::new();
    for (n, line) in rows {
        let f = csv_fields(line).map_err(|why| err(n, why))?;
        let [id, name, email] = <[String; 3]>::try_from(f.clone()).map_err(|_| {
            err(
                n,
                format!(
                    "{} fields; a row is `id,name,email` (quote a name holding a comma)",
                    f.len()
                ),
            )
        })?;
        check_id(&id).map_err(|e| err(n, e.to_string()))?;
        if name.is_empty() {
            return Err(err(n, format!("student {id} has no name")));
        }
        if !email.contains('@') {
            return Err(err(n, format!("{email:?} is not an e-mail address")));
        }
        if students.iter().any(|s| s.id == id) {
            return Err(err(n, format!("student id {id} appears twice")));
        }
        students.push(Student { id, name, email });
    }
    Ok(students)
}

/// Quotes a CSV field when it needs it.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn course(b: u8) -> Course {
        Course::from_secret([b; 32])
    }

    #[test]
    fn a_token_prints_and_parses_back_in_any_case_and_spacing() {
        let t = course(1).token("s001").unwrap_or_else(|e| panic!("{e}"));
        let text = t.to_string();
        assert!(text.starts_with("s001."), "{text}");
        assert_eq!(text.len(), "s001.".len() + 8 * 4 + 7, "{text}");
        assert_eq!(Token::parse(&text).ok(), Some(t.clone()));
        let sloppy = format!("  {}  ", text.to_lowercase().replace('-', " "));
        assert_eq!(Token::parse(&sloppy).ok(), Some(t));
    }

    #[test]
    fn the_token_is_a_function_of_secret_and_id() {
        let a = course(1).token("s001").map(|t| t.to_string()).ok();
        assert_eq!(a, course(1).token("s001").map(|t| t.to_string()).ok());
        assert_ne!(a, course(2).token("s001").map(|t| t.to_string()).ok());
        assert_ne!(a, course(1).token("s002").map(|t| t.to_string()).ok());
    }

    #[test]
    fn mistyped_tokens_are_refused_with_a_reason() {
        let text = course(1)
            .token("s001")
            .map(|t| t.to_string())
            .unwrap_or_default();
        // One character changed, the id changed, a group missing, a letter not in base32.
        let mut typo: Vec<char> = text.chars().collect();
        let last = typo.len() - 1;
        typo[last] = if typo[last] == 'A' { 'B' } else { 'A' };
        let typo: String = typo.into_iter().collect();
        for (bad, says) in [
            (typo.as_str(), "does not check out"),
            (&text.replacen("s001", "s002", 1), "does not check out"),
            (&text[..text.len() - 5], "characters after the dot"),
            (&text.replacen('.', "", 1), "no dot"),
            (&format!("{text}1"), "cannot be in a token"),
            (&format!("{text}A"), "characters after the dot"),
            ("s 1.AAAA", "not a student id"),
            ("", "no dot"),
        ] {
            match Token::parse(bad) {
                Err(e) => assert!(e.to_string().contains(says), "{bad:?}: {e}"),
                Ok(t) => panic!("{bad:?} parsed as {t:?}"),
            }
        }
    }

    #[test]
    fn a_token_forged_from_a_classmates_core_and_ones_own_id_gives_other_values() {
        // The typing check is public (SHA-256, no key), so a student can write a token that
        // parses: their own core under a classmate's id. Its values are still not the
        // classmate's: those come from the classmate's core, which only the secret makes.
        let c = course(3);
        let (a, b) = (c.token("s001"), c.token("s002"));
        let (Ok(a), Ok(b)) = (a, b) else {
            panic!("ids are valid")
        };
        let forged = Token {
            id: b.id.clone(),
            core: a.core,
        };
        assert_eq!(Token::parse(&forged.to_string()).ok(), Some(forged.clone()));
        for lab in 0..6 {
            assert_ne!(forged.lab_seed(lab), b.lab_seed(lab));
            assert_ne!(a.lab_seed(lab), b.lab_seed(lab));
        }
    }

    #[test]
    fn ids_that_a_token_cannot_carry_are_refused() {
        for id in ["", "a.b", "a b", "é", &"x".repeat(41)] {
            assert!(course(1).token(id).is_err(), "{id:?}");
        }
        assert!(course(1).token("A-b_9").is_ok());
    }

    #[test]
    fn course_files_round_trip_and_bad_ones_say_why() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = dir.path().join("c.toml");
        let c = Course::generate();
        assert_ne!(c, Course::generate());
        c.save_new(&file).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(Course::load(&file).ok(), Some(c.clone()));
        assert!(c.save_new(&file).is_err(), "overwrote a course file");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).map(|m| m.permissions().mode() & 0o777);
        assert_eq!(mode.ok(), Some(0o600));
        std::fs::write(&file, "format = 1\nsecret = \"abcd\"\n").unwrap_or_else(|e| panic!("{e}"));
        let e = Course::load(&file)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("64 hex digits"), "{e}");
    }

    #[test]
    fn rosters_need_a_header_and_three_fields() {
        let f = Path::new("roster.csv");
        let ok =
            "id,name,email\ns1,\"Doe, Jane\",jane@example.org\n\n# dropped\ns2,Bo,bo@example.org\n";
        let students = parse_roster(f, ok).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(students.len(), 2);
        assert_eq!(students[0].name, "Doe, Jane");
        for (bad, says) in [
            ("", "empty"),
            ("name,id,email\n", "header"),
            ("id,name,email\ns1,Jo\n", "line 2: 2 fields"),
            ("id,name,email\ns.1,Jo,jo@x\n", "student id"),
            ("id,name,email\ns1,Jo,jo\n", "e-mail"),
            ("id,name,email\ns1,,jo@x\n", "no name"),
            (
                "id,name,email\ns1,Jo,jo@x\ns1,Al,al@x\n",
                "line 3: student id s1 appears twice",
            ),
            ("id,name,email\ns1,\"Jo,jo@x\n", "quote"),
        ] {
            match parse_roster(f, bad) {
                Err(e) => assert!(e.to_string().contains(says), "{bad:?}: {e}"),
                Ok(s) => panic!("{bad:?} gave {s:?}"),
            }
        }
    }

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(csv_field("Doe, \"J\""), "\"Doe, \"\"J\"\"\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}
