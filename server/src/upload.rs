//! An upload in progress and how it lands: bytes go to a hidden temp file next to the target,
//! inside the target's folder opened beneath the user's root; the file gets its real name only
//! once the client has confirmed it, in one `renameat` relative to that folder.
//!
//! So a replaced file is never truncated (the old one stays whole until the new one is
//! complete), a vanished client never leaves a half file, and no path is looked up again by name
//! after the checks: a folder swapped for a symlink meanwhile changes nothing.

use crate::paths::{UPLOAD_TEMP_PREFIX, libc_nonblock};
use cap_std::fs::{Dir, OpenOptions, OpenOptionsExt};
use std::fs::File;
use std::io::{self, Seek, SeekFrom};

/// How an upload lands once all its bytes are in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadMode {
    /// STOR/STOU: the temp file replaces (or becomes) the target.
    Replace,
    /// APPE: the bytes are added at the end of the target.
    Append,
    /// REST n + STOR: the bytes overwrite the target from offset n, which is then cut there.
    At(u64),
}

/// An upload in progress. Dropping it without [`Upload::land`] deletes the temp file.
#[derive(Debug)]
pub struct Upload {
    /// The target's folder, opened beneath the user's root when the command came.
    dir: Dir,
    /// The temp file's name in `dir`; `None` once it has been renamed or removed.
    temp_name: Option<String>,
    /// The temp file, open for reading and writing.
    pub file: File,
    /// The name the file gets in `dir`.
    target_name: String,
    mode: UploadMode,
    /// STOU: never replace an existing file.
    no_clobber: bool,
}

impl Upload {
    /// Creates a fresh temp file in `dir` for an upload that will be called `target_name`.
    pub fn create(
        dir: Dir,
        target_name: &str,
        mode: UploadMode,
        no_clobber: bool,
    ) -> io::Result<Upload> {
        let mut options = OpenOptions::new();
        options.read(true).write(true).create_new(true).mode(0o600);
        for _ in 0..16 {
            let temp_name = format!("{UPLOAD_TEMP_PREFIX}{:016x}", rand::random::<u64>());
            match dir.open_with(&temp_name, &options) {
                Ok(file) => {
                    return Ok(Upload {
                        dir,
                        temp_name: Some(temp_name),
                        file: file.into_std(),
                        target_name: target_name.to_owned(),
                        mode,
                        no_clobber,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "no free temporary name",
        ))
    }

    /// The name the file gets.
    pub fn target_name(&self) -> &str {
        &self.target_name
    }

    /// Puts a complete upload in place under its real name (blocking file I/O).
    pub fn land(mut self) -> io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        if matches!(self.mode, UploadMode::Append | UploadMode::At(_)) {
            match self.open_target_for_writing() {
                Ok(target) => return self.write_into(target),
                // Nothing to append to: the upload becomes the file.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        let temp_name = self
            .temp_name
            .clone()
            .ok_or_else(|| io::Error::other("upload already landed"))?;
        // The temp file was created 0600; an uploaded file is an ordinary file.
        self.file
            .set_permissions(std::fs::Permissions::from_mode(0o644))?;
        if self.no_clobber {
            // link(2) fails if the name exists: no race can clobber another file.
            self.dir
                .hard_link(&temp_name, &self.dir, &self.target_name)?;
            self.dir.remove_file(&temp_name).ok();
        } else {
            self.dir.rename(&temp_name, &self.dir, &self.target_name)?;
        }
        self.temp_name = None;
        Ok(())
    }

    /// Opens the existing target for APPE or REST+STOR: without blocking, regular files only.
    fn open_target_for_writing(&self) -> io::Result<File> {
        let mut options = OpenOptions::new();
        options.write(true).custom_flags(libc_nonblock());
        let target = self.dir.open_with(&self.target_name, &options)?.into_std();
        if !target.metadata()?.file_type().is_file() {
            return Err(io::Error::other("not a regular file"));
        }
        Ok(target)
    }

    fn write_into(mut self, mut target: File) -> io::Result<()> {
        let start = match self.mode {
            UploadMode::At(offset) => offset,
            _ => target.metadata()?.len(),
        };
        self.file.seek(SeekFrom::Start(0))?;
        target.seek(SeekFrom::Start(start))?;
        let copied = io::copy(&mut self.file, &mut target)?;
        if matches!(self.mode, UploadMode::At(_)) {
            target.set_len(start + copied)?;
        }
        Ok(())
        // Dropping `self` removes the temp file.
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if let Some(name) = self.temp_name.take() {
            self.dir.remove_file(name).ok();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn dir() -> (tempfile::TempDir, Dir) {
        let temp = tempfile::tempdir().unwrap();
        let dir = Dir::open_ambient_dir(temp.path(), cap_std::ambient_authority()).unwrap();
        (temp, dir)
    }

    fn names(path: &std::path::Path) -> Vec<String> {
        let mut names: Vec<_> = std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn replace_keeps_the_old_file_whole_until_landing() {
        let (temp, dir) = dir();
        std::fs::write(temp.path().join("t"), b"old complete file").unwrap();
        let mut upload = Upload::create(dir, "t", UploadMode::Replace, false).unwrap();
        upload.file.write_all(b"new").unwrap();
        assert_eq!(
            std::fs::read(temp.path().join("t")).unwrap(),
            b"old complete file"
        );
        upload.land().unwrap();
        assert_eq!(std::fs::read(temp.path().join("t")).unwrap(), b"new");
        assert_eq!(names(temp.path()), ["t"]);
    }

    #[test]
    fn a_dropped_upload_leaves_nothing() {
        let (temp, dir) = dir();
        let mut upload = Upload::create(dir, "t", UploadMode::Replace, false).unwrap();
        upload.file.write_all(b"partial").unwrap();
        assert_eq!(names(temp.path()).len(), 1);
        drop(upload);
        assert!(names(temp.path()).is_empty());
    }

    #[test]
    fn append_and_rest_store_write_into_the_existing_file() {
        let (temp, dir) = dir();
        std::fs::write(temp.path().join("t"), b"0123456789").unwrap();
        let mut upload =
            Upload::create(dir.try_clone().unwrap(), "t", UploadMode::Append, false).unwrap();
        upload.file.write_all(b"ab").unwrap();
        upload.land().unwrap();
        assert_eq!(
            std::fs::read(temp.path().join("t")).unwrap(),
            b"0123456789ab"
        );
        let mut upload = Upload::create(dir, "t", UploadMode::At(3), false).unwrap();
        upload.file.write_all(b"xy").unwrap();
        upload.land().unwrap();
        assert_eq!(std::fs::read(temp.path().join("t")).unwrap(), b"012xy");
        assert_eq!(names(temp.path()), ["t"]);
    }

    #[test]
    fn no_clobber_refuses_an_existing_name_and_cleans_up() {
        let (temp, dir) = dir();
        std::fs::write(temp.path().join("t"), b"mine").unwrap();
        let mut upload = Upload::create(dir, "t", UploadMode::Replace, true).unwrap();
        upload.file.write_all(b"theirs").unwrap();
        assert!(upload.land().is_err());
        assert_eq!(std::fs::read(temp.path().join("t")).unwrap(), b"mine");
        assert_eq!(names(temp.path()), ["t"]);
    }

    #[test]
    fn append_to_a_fifo_is_refused_without_blocking() {
        let (temp, dir) = dir();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            temp.path().join("fifo"),
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        let upload = Upload::create(dir, "fifo", UploadMode::Append, false).unwrap();
        // No reader: a blocking open would wait forever; a non-blocking one fails (ENXIO).
        assert!(upload.land().is_err());
        assert_eq!(names(temp.path()), ["fifo"]);
    }
}
