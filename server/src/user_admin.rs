//! What `ftp-server user add|list|remove|passwd` and `ftp-server init --demo` do, above the store.

use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};

use subtle::ConstantTimeEq;

use crate::user_store::{StoreError, UserRecord, UserStore};

/// What can go wrong in the `user` and `init` subcommands, above the store.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// `--password-stdin` was not given and there is no terminal to type on.
    #[error(
        "stdin is not a terminal, so the password cannot be typed; \
         pipe it in and add --password-stdin"
    )]
    NoTerminal,
    /// Reading the password failed.
    #[error("could not read the password{from}")]
    ReadPassword {
        /// `" from stdin"` or empty.
        from: &'static str,
        /// The I/O error.
        source: std::io::Error,
    },
    /// stdin ended before a line.
    #[error("stdin closed before a password was given (--password-stdin reads one line)")]
    StdinClosed,
    /// The password given is empty.
    #[error("the password{on} is empty")]
    EmptyPassword {
        /// `" on stdin"` or empty.
        on: &'static str,
    },
    /// The two typed passwords differ.
    #[error("the two passwords differ; nothing was changed")]
    PasswordsDiffer,
    /// A folder or file could not be made or resolved.
    #[error("could not {action} {}", path.display())]
    Folder {
        /// What was tried, e.g. "create the root folder".
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The store refused or failed.
    #[error("could not {action} {name:?}")]
    Store {
        /// What was tried, e.g. "add user".
        action: &'static str,
        /// The user name.
        name: String,
        /// The store's error.
        source: StoreError,
    },
    /// Listing the users failed.
    #[error("could not list the users")]
    List {
        /// The store's error.
        source: StoreError,
    },
}

/// Reads a new password: one line from stdin with `password_stdin`, otherwise typed twice on the
/// terminal without echo.
pub fn read_password(password_stdin: bool, prompt: &str) -> Result<String, AdminError> {
    if password_stdin {
        return read_password_line(std::io::stdin().lock());
    }
    if !std::io::stdin().is_terminal() {
        return Err(AdminError::NoTerminal);
    }
    let read_error = |source| AdminError::ReadPassword { from: "", source };
    let first = rpassword::prompt_password(prompt).map_err(read_error)?;
    if first.is_empty() {
        return Err(AdminError::EmptyPassword { on: "" });
    }
    let second = rpassword::prompt_password("Repeat the password: ").map_err(read_error)?;
    if !bool::from(first.as_bytes().ct_eq(second.as_bytes())) {
        return Err(AdminError::PasswordsDiffer);
    }
    Ok(first)
}

/// The first line of `input` without its line end; an error when it is empty or missing.
fn read_password_line(mut input: impl BufRead) -> Result<String, AdminError> {
    let mut line = String::new();
    let read = input
        .read_line(&mut line)
        .map_err(|source| AdminError::ReadPassword {
            from: " from stdin",
            source,
        })?;
    if read == 0 {
        return Err(AdminError::StdinClosed);
    }
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        return Err(AdminError::EmptyPassword { on: " on stdin" });
    }
    Ok(password.to_owned())
}

/// Creates `root` if missing and stores the user with it; returns the absolute root.
pub async fn add_user(
    store: &dyn UserStore,
    name: &str,
    root: &Path,
    password: &str,
) -> Result<PathBuf, AdminError> {
    let existed = tokio::fs::try_exists(root).await.unwrap_or(false);
    tokio::fs::create_dir_all(root)
        .await
        .map_err(|source| AdminError::Folder {
            action: "create the root folder",
            path: root.to_path_buf(),
            source,
        })?;
    let root = tokio::fs::canonicalize(root)
        .await
        .map_err(|source| AdminError::Folder {
            action: "resolve the root folder",
            path: root.to_path_buf(),
            source,
        })?;
    if let Err(e) = store.add_user(name, password, root.clone()).await {
        if !existed {
            // Only removes the folder if it is still empty; leaving it is harmless too.
            let _ = tokio::fs::remove_dir(&root).await;
        }
        return Err(AdminError::Store {
            action: "add user",
            name: name.to_owned(),
            source: e,
        });
    }
    Ok(root)
}

/// The demo users of the original project: `(name, password)`; roots are `BASE/root1`…
const DEMO_USERS: [(&str, &str); 4] = [
    ("user1", "pass1"),
    ("user2", "pass2"),
    ("user3", "pass3"),
    ("user4", "pass4"),
];

/// Creates the demo users `user1`…`user4` (passwords `pass1`…`pass4`) with roots
/// `BASE/root1`…`BASE/root4`, each holding a `welcome.txt`. Running it again resets the demo
/// passwords and keeps everything else. Returns the demo users as stored.
pub async fn init_demo(store: &dyn UserStore, base: &Path) -> Result<Vec<UserRecord>, AdminError> {
    let folder_error = |action, path: &Path| {
        let path = path.to_path_buf();
        move |source| AdminError::Folder {
            action,
            path,
            source,
        }
    };
    tokio::fs::create_dir_all(base)
        .await
        .map_err(folder_error("create the demo folder", base))?;
    let base = tokio::fs::canonicalize(base)
        .await
        .map_err(folder_error("resolve the demo folder", base))?;
    for (number, (name, password)) in (1..).zip(DEMO_USERS) {
        let root = base.join(format!("root{number}"));
        tokio::fs::create_dir_all(&root)
            .await
            .map_err(folder_error("create", &root))?;
        let welcome = root.join("welcome.txt");
        if !tokio::fs::try_exists(&welcome).await.unwrap_or(false) {
            let text = format!(
                "Welcome to ftplab, {name}. Everything you send over FTP can be read by anyone \
                 on the path.\n"
            );
            tokio::fs::write(&welcome, text)
                .await
                .map_err(folder_error("write", &welcome))?;
        }
        match store.add_user(name, password, root.clone()).await {
            Ok(()) => tracing::info!(user = name, root = %root.display(), "demo user created"),
            Err(StoreError::UserExists { .. }) => {
                store
                    .set_password(name, password)
                    .await
                    .map_err(|source| AdminError::Store {
                        action: "reset the password of",
                        name: name.to_owned(),
                        source,
                    })?;
                tracing::info!(user = name, "demo user exists already; password reset");
            }
            Err(source) => {
                return Err(AdminError::Store {
                    action: "add demo user",
                    name: name.to_owned(),
                    source,
                });
            }
        }
    }
    let users = store
        .list_users()
        .await
        .map_err(|source| AdminError::List { source })?;
    let demo: Vec<UserRecord> = users
        .into_iter()
        .filter(|user| DEMO_USERS.iter().any(|(name, _)| *name == user.name))
        .collect();
    for (number, user) in (1..).zip(&demo) {
        let expected = base.join(format!("root{number}"));
        if user.root != expected {
            tracing::warn!(
                user = %user.name,
                root = %user.root.display(),
                "demo user existed already with another root; root left as it was"
            );
        }
    }
    Ok(demo)
}

/// The `user list` table: names and roots in aligned columns, never password hashes.
pub fn format_user_table(users: &[UserRecord]) -> String {
    let width = users
        .iter()
        .map(|u| u.name.chars().count())
        .max()
        .unwrap_or(0)
        .max("NAME".len());
    let mut table = format!("{:<width$}  ROOT\n", "NAME");
    for user in users {
        table.push_str(&format!("{:<width$}  {}\n", user.name, user.root.display()));
    }
    if users.is_empty() {
        table.push_str("(no users)\n");
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::user_store::SqlUserStore;

    async fn sqlite_store(dir: &Path) -> SqlUserStore {
        let url = format!("sqlite://{}", dir.join("users.db").display());
        SqlUserStore::connect(&url).await.unwrap()
    }

    #[test]
    fn password_line_loses_its_line_end_only() {
        let read = |input: &str| read_password_line(input.as_bytes());
        assert_eq!(read("s3cret\n").unwrap(), "s3cret");
        assert_eq!(read("s3cret\r\n").unwrap(), "s3cret");
        assert_eq!(read("s3cret").unwrap(), "s3cret");
        assert_eq!(read(" spaced pass \n").unwrap(), " spaced pass ");
        assert_eq!(read("first\nsecond\n").unwrap(), "first");
    }

    #[test]
    fn empty_or_closed_stdin_gives_no_password() {
        let closed = read_password_line(&b""[..]).unwrap_err().to_string();
        assert!(closed.contains("closed"), "{closed}");
        let empty = read_password_line(&b"\r\n"[..]).unwrap_err().to_string();
        assert!(empty.contains("empty"), "{empty}");
    }

    #[tokio::test]
    async fn add_user_creates_the_root_and_stores_it_absolute() {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite_store(dir.path()).await;
        let wanted = dir.path().join("homes/../homes/eve");
        let root = add_user(&store, "eve", &wanted, "pw").await.unwrap();
        assert!(root.is_dir());
        assert_eq!(root, dir.path().canonicalize().unwrap().join("homes/eve"));
        let user = store.authenticate("eve", "pw").await.unwrap();
        assert_eq!(user.map(|u| u.root), Some(root));
    }

    #[tokio::test]
    async fn add_user_twice_fails_and_keeps_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite_store(dir.path()).await;
        add_user(&store, "eve", &dir.path().join("a"), "pw")
            .await
            .unwrap();
        let err = add_user(&store, "eve", &dir.path().join("b"), "pw2")
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                AdminError::Store {
                    source: StoreError::UserExists { .. },
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            !dir.path().join("b").exists(),
            "the new empty root is removed again"
        );
        assert_eq!(store.list_users().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn init_demo_twice_gives_four_users_with_welcome_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite_store(dir.path()).await;
        let base = dir.path().join("demo");
        let first = init_demo(&store, &base).await.unwrap();
        let names: Vec<&str> = first.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["user1", "user2", "user3", "user4"]);
        let base = base.canonicalize().unwrap();
        for (n, user) in (1..).zip(&first) {
            assert_eq!(user.root, base.join(format!("root{n}")));
            let welcome = std::fs::read_to_string(user.root.join("welcome.txt")).unwrap();
            assert!(
                welcome.starts_with(&format!("Welcome to ftplab, user{n}.")),
                "{welcome}"
            );
        }

        store.set_password("user2", "changed").await.unwrap();
        let second = init_demo(&store, &base).await.unwrap();
        assert_eq!(second, first);
        let user2 = store.authenticate("user2", "pass2").await.unwrap();
        assert_eq!(
            user2.map(|u| u.name),
            Some("user2".to_owned()),
            "password is reset"
        );
        assert!(
            store
                .authenticate("user4", "pass4")
                .await
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn user_table_aligns_names_and_shows_no_hashes() {
        let users = [
            UserRecord {
                name: "user1".into(),
                root: "/srv/a".into(),
            },
            UserRecord {
                name: "a-longer-name".into(),
                root: "/srv/b".into(),
            },
        ];
        assert_eq!(
            format_user_table(&users),
            "NAME           ROOT\nuser1          /srv/a\na-longer-name  /srv/b\n"
        );
        assert_eq!(format_user_table(&[]), "NAME  ROOT\n(no users)\n");
    }
}
