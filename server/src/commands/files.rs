//! RFC 959 §4.1.3 and RFC 3659: MKD, RMD, DELE, RNFR, RNTO, SIZE, MDTM.

use super::transfer::io_error;
use crate::paths::{PathError, Resolved};
use crate::session::{Handled, Session, SessionError, reply};
use ftp_proto::size_reply::format_size_reply;
use ftp_proto::{QuotedPath, ReplyCode, TimeVal};

impl Session {
    pub(crate) fn mkd(&mut self, path: &str) -> Handled {
        let jail = self.writable_jail()?;
        let resolved = jail.resolve_new(path)?;
        jail.create_dir(&resolved, path)?;
        reply(
            ReplyCode::PATH_CREATED,
            format!("{} created.", QuotedPath(resolved.virtual_path)),
        )
    }

    pub(crate) fn rmd(&mut self, path: &str) -> Handled {
        let jail = self.writable_jail()?;
        let resolved = jail.resolve(path)?;
        if resolved.virtual_path == "/" || jail.cwd() == resolved.virtual_path {
            return Err(io_error(
                path,
                std::io::Error::from(std::io::ErrorKind::ResourceBusy),
            ));
        }
        jail.remove_dir(&resolved, path)?;
        reply(
            ReplyCode::FILE_ACTION_OK,
            "Remove directory operation successful.",
        )
    }

    pub(crate) fn dele(&mut self, path: &str) -> Handled {
        let jail = self.writable_jail()?;
        let resolved = jail.resolve(path)?;
        // Not followed: DELE of a symlink removes the link, as rm does.
        jail.remove_file(&resolved, path)?;
        reply(ReplyCode::FILE_ACTION_OK, "Delete operation successful.")
    }

    pub(crate) fn rnfr(&mut self, path: &str) -> Handled {
        let jail = self.writable_jail()?;
        let resolved = jail.resolve(path)?;
        if resolved.virtual_path == "/" {
            return Err(io_error(
                path,
                std::io::Error::from(std::io::ErrorKind::ResourceBusy),
            ));
        }
        // RNFR only remembers the name; RNTO renames beneath the root in one call, so the
        // entry is looked up there and then, not here.
        jail.metadata(&resolved, path)?;
        self.rename_from = Some(resolved);
        reply(ReplyCode::FILE_ACTION_PENDING, "Ready for RNTO.")
    }

    pub(crate) fn rnto(&mut self, path: &str, from: Option<Resolved>) -> Handled {
        let from = from.ok_or(SessionError::BadSequence("RNFR required first."))?;
        let jail = self.writable_jail()?;
        let to = jail.resolve_new(path)?;
        jail.rename(&from, &to, path)?;
        reply(ReplyCode::FILE_ACTION_OK, "Rename successful.")
    }

    pub(crate) fn size(&mut self, path: &str) -> Handled {
        let jail = self.jail()?;
        let resolved = jail.resolve(path)?;
        let meta = jail.metadata(&resolved, path)?;
        if meta.is_dir() {
            return Err(io_error(
                path,
                std::io::Error::from(std::io::ErrorKind::IsADirectory),
            ));
        }
        if !meta.is_file() {
            return Err(SessionError::Path(PathError::NotRegularFile {
                virtual_path: path.to_owned(),
            }));
        }
        reply(ReplyCode::FILE_STATUS, format_size_reply(meta.len()))
    }

    pub(crate) fn mdtm(&mut self, path: &str) -> Handled {
        let jail = self.jail()?;
        let resolved = jail.resolve(path)?;
        let meta = jail.metadata(&resolved, path)?;
        let modified = meta.modified().map_err(|e| io_error(path, e))?;
        reply(
            ReplyCode::FILE_STATUS,
            TimeVal::from_system_time(modified.into_std()).to_string(),
        )
    }
}
