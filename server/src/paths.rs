//! The root jail: every path a client names is resolved inside the user's root (RFC 2577 §5).
//!
//! Clients see a virtual tree whose `/` is the user's root folder. A path is resolved in two
//! steps: first lexically (`.` dropped, `..` climbs one level and may never climb above `/`),
//! then on disk, where the real location of an existing path — or of the parent of a path about
//! to be created — must still lie inside the root once symlinks are followed. Absolute paths are
//! absolute in the virtual tree: `/etc/passwd` means `<root>/etc/passwd`, never the host's file.

use std::io;
use std::path::{Path, PathBuf};

/// Why a path was refused.
#[derive(Debug, thiserror::Error)]
pub enum PathError {
    /// `..` above the root, or a symlink whose target lies outside the root.
    #[error("{virtual_path}: outside your root folder")]
    OutsideRoot {
        /// The path as the client gave it.
        virtual_path: String,
    },
    /// A NUL byte or an empty path.
    #[error("{virtual_path:?}: invalid path")]
    Invalid {
        /// The path as the client gave it.
        virtual_path: String,
    },
    /// The path, or its parent folder, does not exist or cannot be read.
    #[error("{virtual_path}: {source}")]
    Io {
        /// The path as the client gave it.
        virtual_path: String,
        /// What the file system said.
        source: io::Error,
    },
}

/// A path resolved inside the jail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The normalised path in the client's view, always starting with `/`.
    pub virtual_path: String,
    /// Where it is on disk (not canonicalised: a symlink inside the root keeps its own name).
    pub real: PathBuf,
}

/// A user's root folder and current working directory.
#[derive(Debug, Clone)]
pub struct Jail {
    root: PathBuf,
    cwd: String,
}

impl Jail {
    /// A jail at `root`, which must exist; the working directory starts at `/`.
    pub fn new(root: &Path) -> io::Result<Jail> {
        let root = root.canonicalize()?;
        if !root.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                "root is not a folder",
            ));
        }
        Ok(Jail {
            root,
            cwd: "/".to_owned(),
        })
    }

    /// The current working directory in the client's view.
    pub fn cwd(&self) -> &str {
        &self.cwd
    }

    /// The real, canonical root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Changes the working directory to an existing folder inside the jail.
    pub fn change_dir(&mut self, path: &str) -> Result<(), PathError> {
        let resolved = self.resolve_existing(path)?;
        if !resolved.real.is_dir() {
            return Err(PathError::Io {
                virtual_path: path.to_owned(),
                source: io::Error::new(io::ErrorKind::NotADirectory, "not a folder"),
            });
        }
        self.cwd = resolved.virtual_path;
        Ok(())
    }

    /// Resolves a path that must exist (RETR, CWD, DELE, RNFR, SIZE…).
    pub fn resolve_existing(&self, path: &str) -> Result<Resolved, PathError> {
        let resolved = self.resolve_lexically(path)?;
        let canonical = resolved
            .real
            .canonicalize()
            .map_err(|source| PathError::Io {
                virtual_path: path.to_owned(),
                source,
            })?;
        self.check_inside(&canonical, path)?;
        Ok(resolved)
    }

    /// Resolves a path that is about to be created (STOR, MKD, RNTO): its parent must exist
    /// inside the jail; if the path itself exists it must be inside too.
    pub fn resolve_new(&self, path: &str) -> Result<Resolved, PathError> {
        let resolved = self.resolve_lexically(path)?;
        if resolved.virtual_path == "/" {
            return Err(PathError::Invalid {
                virtual_path: path.to_owned(),
            });
        }
        let parent = resolved.real.parent().unwrap_or(&self.root);
        let canonical_parent = parent.canonicalize().map_err(|source| PathError::Io {
            virtual_path: path.to_owned(),
            source,
        })?;
        self.check_inside(&canonical_parent, path)?;
        // An existing entry (possibly a symlink) must not lead outside either.
        if let Ok(canonical) = resolved.real.canonicalize() {
            self.check_inside(&canonical, path)?;
        } else if resolved.real.symlink_metadata().is_ok() {
            // A dangling symlink: writing through it could create a file anywhere.
            return Err(PathError::OutsideRoot {
                virtual_path: path.to_owned(),
            });
        }
        Ok(resolved)
    }

    /// Whether a real path, after following symlinks, is inside the root.
    pub fn contains(&self, real: &Path) -> bool {
        real.canonicalize().is_ok_and(|c| c.starts_with(&self.root))
    }

    fn check_inside(&self, canonical: &Path, path: &str) -> Result<(), PathError> {
        if canonical.starts_with(&self.root) {
            Ok(())
        } else {
            Err(PathError::OutsideRoot {
                virtual_path: path.to_owned(),
            })
        }
    }

    /// Normalises `path` against the working directory without touching the disk.
    pub fn resolve_lexically(&self, path: &str) -> Result<Resolved, PathError> {
        if path.is_empty() || path.contains('\0') {
            return Err(PathError::Invalid {
                virtual_path: path.to_owned(),
            });
        }
        let start = if path.starts_with('/') {
            ""
        } else {
            self.cwd.as_str()
        };
        let mut parts: Vec<&str> = Vec::new();
        for part in start.split('/').chain(path.split('/')) {
            match part {
                "" | "." => {}
                ".." => {
                    if parts.pop().is_none() {
                        return Err(PathError::OutsideRoot {
                            virtual_path: path.to_owned(),
                        });
                    }
                }
                name => parts.push(name),
            }
        }
        let mut real = self.root.clone();
        real.extend(&parts);
        Ok(Resolved {
            virtual_path: format!("/{}", parts.join("/")),
            real,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jail() -> (tempfile::TempDir, Jail) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/a.txt"), b"a").unwrap();
        let jail = Jail::new(dir.path()).unwrap();
        (dir, jail)
    }

    #[test]
    fn dot_dot_above_the_root_is_refused() {
        let (_dir, jail) = jail();
        for path in ["..", "../../etc/passwd", "sub/../../x", "/.."] {
            assert!(matches!(
                jail.resolve_lexically(path),
                Err(PathError::OutsideRoot { .. })
            ));
        }
    }

    #[test]
    fn absolute_paths_are_inside_the_virtual_tree() {
        let (dir, jail) = jail();
        let r = jail.resolve_lexically("/etc/passwd").unwrap();
        assert_eq!(r.virtual_path, "/etc/passwd");
        assert!(r.real.starts_with(dir.path().canonicalize().unwrap()));
        assert!(jail.resolve_existing("/etc/passwd").is_err());
    }

    #[test]
    fn dot_dot_inside_the_root_works() {
        let (_dir, mut jail) = jail();
        jail.change_dir("sub").unwrap();
        assert_eq!(jail.cwd(), "/sub");
        assert_eq!(
            jail.resolve_existing("a.txt").unwrap().virtual_path,
            "/sub/a.txt"
        );
        jail.change_dir("..").unwrap();
        assert_eq!(jail.cwd(), "/");
        assert!(jail.change_dir("..").is_err());
    }

    #[test]
    fn symlinks_out_of_the_root_are_refused() {
        let (dir, jail) = jail();
        std::os::unix::fs::symlink("/etc", dir.path().join("escape")).unwrap();
        std::os::unix::fs::symlink("/nonexistent/x", dir.path().join("dangling")).unwrap();
        std::os::unix::fs::symlink("sub", dir.path().join("inside")).unwrap();
        assert!(matches!(
            jail.resolve_existing("escape/passwd"),
            Err(PathError::OutsideRoot { .. })
        ));
        assert!(matches!(
            jail.resolve_new("escape/new.txt"),
            Err(PathError::OutsideRoot { .. })
        ));
        assert!(matches!(
            jail.resolve_new("dangling"),
            Err(PathError::OutsideRoot { .. })
        ));
        assert!(jail.resolve_existing("inside/a.txt").is_ok());
    }

    #[test]
    fn nul_and_empty_paths_are_invalid() {
        let (_dir, jail) = jail();
        assert!(matches!(
            jail.resolve_lexically("a\0b"),
            Err(PathError::Invalid { .. })
        ));
        assert!(matches!(
            jail.resolve_lexically(""),
            Err(PathError::Invalid { .. })
        ));
        assert!(matches!(
            jail.resolve_new("/"),
            Err(PathError::Invalid { .. })
        ));
    }
}
