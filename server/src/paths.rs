//! The root jail: every path a client names is resolved, and opened, beneath the user's root
//! (RFC 2577 §4, "Restricting Access"), in one step the kernel performs.
//!
//! Clients see a virtual tree whose `/` is the user's root folder. A path is first normalised
//! lexically (`.` dropped, `..` climbs one level and may never climb above `/`), so absolute
//! paths are absolute in the virtual tree: `/etc/passwd` means `<root>/etc/passwd`.
//!
//! Then the file system is only ever touched through a directory handle of the root, opened once
//! at login: every open, listing, rename or delete resolves the relative path beneath that
//! handle (`openat2(RESOLVE_BENEATH)` where the kernel has it, a component-by-component
//! `openat(O_NOFOLLOW)` walk where it does not; both via cap-std). A symlink or `..` on disk that
//! would leave the root fails inside that same call. There is no "check the path, then open it
//! by name" gap, so swapping a file or folder for a symlink between the two cannot lead out.
//! Symlinks that stay inside the root work; absolute symlinks are refused, because their target
//! is a host path, not a path in the user's tree.

use cap_std::fs::{Dir, OpenOptions, OpenOptionsExt};
use std::io;
use std::path::{Path, PathBuf};

/// Prefix of the temporary files uploads are written to. They sit next to their target, are
/// never listed, and a client cannot name them (553), so nobody can read, replace or keep one.
pub const UPLOAD_TEMP_PREFIX: &str = ".ftplab-upload-";

/// Why a path was refused.
#[derive(Debug, thiserror::Error)]
pub enum PathError {
    /// `..` above the root, or a symlink whose target lies outside the root.
    #[error("{virtual_path}: outside your root folder")]
    OutsideRoot {
        /// The path as the client gave it.
        virtual_path: String,
    },
    /// An empty path, or a name FTP cannot carry or the server keeps for itself: NUL, CR or LF
    /// (the end of a command line, RFC 959 §4.1), or the upload temp-file prefix.
    #[error("{virtual_path:?}: file name not allowed")]
    Invalid {
        /// The path as the client gave it.
        virtual_path: String,
    },
    /// A FIFO, socket or device: opening one could block the server, reading one is no file.
    #[error("{virtual_path}: not a regular file")]
    NotRegularFile {
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

impl PathError {
    /// Wraps an error of a jailed file operation on `virtual_path`: cap-std's "a path led
    /// outside of the filesystem" becomes [`PathError::OutsideRoot`].
    pub fn from_io(virtual_path: &str, source: io::Error) -> PathError {
        // cap-std reports escapes as PermissionDenied without an OS error number; the kernel's
        // own EACCES always carries one.
        if source.kind() == io::ErrorKind::PermissionDenied && source.raw_os_error().is_none() {
            PathError::OutsideRoot {
                virtual_path: virtual_path.to_owned(),
            }
        } else {
            PathError::Io {
                virtual_path: virtual_path.to_owned(),
                source,
            }
        }
    }
}

/// A path normalised inside the jail, not yet looked up on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The normalised path in the client's view, always starting with `/`.
    pub virtual_path: String,
    /// The same path relative to the root (`.` for the root itself), for the jailed calls.
    relative: PathBuf,
}

impl Resolved {
    /// The path relative to the root folder (`.` for the root).
    pub fn relative(&self) -> &Path {
        &self.relative
    }

    /// The last component, or `None` for the root.
    pub fn file_name(&self) -> Option<&str> {
        match self.virtual_path.rsplit('/').next() {
            Some("") | None => None,
            Some(name) => Some(name),
        }
    }

    /// The folder that holds this entry (the root for `/name`).
    fn parent_relative(&self) -> &Path {
        match self.relative.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        }
    }
}

/// A user's root folder (as an open directory handle) and current working directory.
#[derive(Debug)]
pub struct Jail {
    root: Dir,
    root_path: PathBuf,
    cwd: String,
}

impl Jail {
    /// A jail at `root`, which must be an existing folder; the working directory starts at `/`.
    pub fn new(root: &Path) -> io::Result<Jail> {
        let root_path = root.canonicalize()?;
        let handle = Dir::open_ambient_dir(&root_path, cap_std::ambient_authority())?;
        Ok(Jail {
            root: handle,
            root_path,
            cwd: "/".to_owned(),
        })
    }

    /// The current working directory in the client's view.
    pub fn cwd(&self) -> &str {
        &self.cwd
    }

    /// Where the root folder was when the jail was made, for the operator's logs only: replies
    /// never name host paths.
    pub fn root_path(&self) -> &Path {
        &self.root_path
    }

    /// Changes the working directory to an existing folder inside the jail.
    ///
    /// The working directory is kept as a virtual path: every later command resolves it again
    /// beneath the root handle, so whatever the folder turns into afterwards cannot lead out.
    pub fn change_dir(&mut self, path: &str) -> Result<(), PathError> {
        let resolved = self.resolve(path)?;
        self.root
            .open_dir(resolved.relative())
            .map_err(|e| PathError::from_io(path, e))?;
        self.cwd = resolved.virtual_path;
        Ok(())
    }

    /// Normalises `path` against the working directory without touching the disk.
    pub fn resolve(&self, path: &str) -> Result<Resolved, PathError> {
        let invalid = || PathError::Invalid {
            virtual_path: path.to_owned(),
        };
        if path.is_empty() || path.contains(['\0', '\r', '\n']) {
            return Err(invalid());
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
                name if name.starts_with(UPLOAD_TEMP_PREFIX) => return Err(invalid()),
                name => parts.push(name),
            }
        }
        let relative = if parts.is_empty() {
            PathBuf::from(".")
        } else {
            parts.iter().collect()
        };
        Ok(Resolved {
            virtual_path: format!("/{}", parts.join("/")),
            relative,
        })
    }

    /// Resolves a path that names something to create (STOR, MKD, RNTO): never the root.
    pub fn resolve_new(&self, path: &str) -> Result<Resolved, PathError> {
        let resolved = self.resolve(path)?;
        if resolved.file_name().is_none() {
            return Err(PathError::Invalid {
                virtual_path: path.to_owned(),
            });
        }
        Ok(resolved)
    }

    /// Opens a regular file for reading (RETR); returns it with its metadata.
    ///
    /// The open is non-blocking: opening a FIFO for reading would otherwise wait for a writer
    /// and hold a runtime thread; anything but a regular file is refused once it is open.
    pub fn open_regular_file(
        &self,
        resolved: &Resolved,
        path: &str,
    ) -> Result<(std::fs::File, std::fs::Metadata), PathError> {
        let mut options = OpenOptions::new();
        options.read(true).custom_flags(libc_nonblock());
        let file = self
            .root
            .open_with(resolved.relative(), &options)
            .map_err(|e| PathError::from_io(path, e))?
            .into_std();
        let meta = file.metadata().map_err(|e| PathError::from_io(path, e))?;
        let kind = meta.file_type();
        if kind.is_dir() {
            return Err(PathError::from_io(
                path,
                io::Error::from(io::ErrorKind::IsADirectory),
            ));
        }
        if !kind.is_file() {
            return Err(PathError::NotRegularFile {
                virtual_path: path.to_owned(),
            });
        }
        Ok((file, meta))
    }

    /// Metadata of what `resolved` names, symlinks inside the jail followed.
    pub fn metadata(
        &self,
        resolved: &Resolved,
        path: &str,
    ) -> Result<cap_std::fs::Metadata, PathError> {
        self.root
            .metadata(resolved.relative())
            .map_err(|e| PathError::from_io(path, e))
    }

    /// Opens a folder inside the jail (for listings and uploads).
    pub fn open_dir(&self, resolved: &Resolved, path: &str) -> Result<Dir, PathError> {
        self.root
            .open_dir(resolved.relative())
            .map_err(|e| PathError::from_io(path, e))
    }

    /// Opens the folder that holds `resolved` and returns it with the entry's own name.
    pub fn open_parent(&self, resolved: &Resolved, path: &str) -> Result<(Dir, String), PathError> {
        let name = resolved.file_name().ok_or_else(|| PathError::Invalid {
            virtual_path: path.to_owned(),
        })?;
        let parent = self
            .root
            .open_dir(resolved.parent_relative())
            .map_err(|e| PathError::from_io(path, e))?;
        Ok((parent, name.to_owned()))
    }

    /// MKD.
    pub fn create_dir(&self, resolved: &Resolved, path: &str) -> Result<(), PathError> {
        self.root
            .create_dir(resolved.relative())
            .map_err(|e| PathError::from_io(path, e))
    }

    /// RMD.
    pub fn remove_dir(&self, resolved: &Resolved, path: &str) -> Result<(), PathError> {
        self.root
            .remove_dir(resolved.relative())
            .map_err(|e| PathError::from_io(path, e))
    }

    /// DELE. The last component is removed itself, never followed.
    pub fn remove_file(&self, resolved: &Resolved, path: &str) -> Result<(), PathError> {
        self.root
            .remove_file(resolved.relative())
            .map_err(|e| PathError::from_io(path, e))
    }

    /// RNFR + RNTO: both ends beneath the root; the entry itself moves, never a symlink's target.
    pub fn rename(&self, from: &Resolved, to: &Resolved, path: &str) -> Result<(), PathError> {
        self.root
            .rename(from.relative(), &self.root, to.relative())
            .map_err(|e| PathError::from_io(path, e))
    }
}

/// `O_NONBLOCK`, so that opening a FIFO or device returns at once.
pub(crate) fn libc_nonblock() -> i32 {
    rustix::fs::OFlags::NONBLOCK.bits() as i32
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

    fn read(jail: &Jail, path: &str) -> Result<Vec<u8>, PathError> {
        use std::io::Read;
        let resolved = jail.resolve(path)?;
        let (mut file, _) = jail.open_regular_file(&resolved, path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).unwrap();
        Ok(bytes)
    }

    #[test]
    fn dot_dot_above_the_root_is_refused() {
        let (_dir, jail) = jail();
        for path in ["..", "../../etc/passwd", "sub/../../x", "/.."] {
            assert!(matches!(
                jail.resolve(path),
                Err(PathError::OutsideRoot { .. })
            ));
        }
    }

    #[test]
    fn absolute_paths_are_inside_the_virtual_tree() {
        let (_dir, jail) = jail();
        let r = jail.resolve("/etc/passwd").unwrap();
        assert_eq!(r.virtual_path, "/etc/passwd");
        assert_eq!(r.relative(), Path::new("etc/passwd"));
        assert!(read(&jail, "/etc/passwd").is_err());
    }

    #[test]
    fn dot_dot_inside_the_root_works() {
        let (_dir, mut jail) = jail();
        jail.change_dir("sub").unwrap();
        assert_eq!(jail.cwd(), "/sub");
        assert_eq!(jail.resolve("a.txt").unwrap().virtual_path, "/sub/a.txt");
        assert_eq!(read(&jail, "a.txt").unwrap(), b"a");
        jail.change_dir("..").unwrap();
        assert_eq!(jail.cwd(), "/");
        assert!(jail.change_dir("..").is_err());
    }

    #[test]
    fn symlinks_out_of_the_root_are_refused_and_inside_ones_work() {
        let (dir, jail) = jail();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), b"secret").unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("escape")).unwrap();
        std::os::unix::fs::symlink("../../../../../../..", dir.path().join("up")).unwrap();
        std::os::unix::fs::symlink("sub", dir.path().join("inside")).unwrap();
        for path in [
            "escape/secret",
            "up/etc/passwd",
            "up",
            "/escape/secret",
            "sub/../escape/secret",
        ] {
            assert!(
                matches!(read(&jail, path), Err(PathError::OutsideRoot { .. })),
                "{path}: {:?}",
                read(&jail, path)
            );
        }
        let escape = jail.resolve_new("escape/new.txt").unwrap();
        assert!(matches!(
            jail.open_parent(&escape, "escape/new.txt"),
            Err(PathError::OutsideRoot { .. })
        ));
        assert_eq!(read(&jail, "inside/a.txt").unwrap(), b"a");
    }

    #[test]
    fn names_ftp_cannot_carry_and_temp_names_are_invalid() {
        let (_dir, jail) = jail();
        for path in [
            "a\0b",
            "",
            "evil\r226 fake.txt",
            "a\nb",
            ".ftplab-upload-x",
            "sub/.ftplab-upload-abc",
        ] {
            assert!(
                matches!(jail.resolve(path), Err(PathError::Invalid { .. })),
                "{path:?}"
            );
        }
        assert!(matches!(
            jail.resolve_new("/"),
            Err(PathError::Invalid { .. })
        ));
    }

    #[test]
    fn fifo_is_not_a_regular_file_and_opening_it_does_not_block() {
        let (dir, jail) = jail();
        let fifo = dir.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        assert!(matches!(
            read(&jail, "fifo"),
            Err(PathError::NotRegularFile { .. })
        ));
        assert!(matches!(read(&jail, "sub"), Err(PathError::Io { .. })));
    }

    #[test]
    fn root_itself_resolves_to_dot() {
        let (_dir, jail) = jail();
        let r = jail.resolve("/").unwrap();
        assert_eq!(r.relative(), Path::new("."));
        assert_eq!(r.file_name(), None);
        let r = jail.resolve("/sub/a.txt").unwrap();
        assert_eq!(r.file_name(), Some("a.txt"));
        assert_eq!(r.parent_relative(), Path::new("sub"));
        assert_eq!(jail.resolve("x").unwrap().parent_relative(), Path::new("."));
    }
}
