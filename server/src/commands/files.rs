//! RFC 959 §4.1.3 and RFC 3659: MKD, RMD, DELE, RNFR, RNTO, SIZE, MDTM.

use super::transfer::io_error;
use crate::listing::time_val;
use crate::paths::Resolved;
use crate::session::{Handled, Session, SessionError, quote_path, reply};
use ftp_proto::ReplyCode;

impl Session {
    pub(crate) fn mkd(&mut self, path: &str) -> Handled {
        let resolved = self.writable_jail()?.resolve_new(path)?;
        std::fs::create_dir(&resolved.real).map_err(|e| io_error(path, e))?;
        reply(
            ReplyCode::PATH_CREATED,
            format!("{} created.", quote_path(&resolved.virtual_path)),
        )
    }

    pub(crate) fn rmd(&mut self, path: &str) -> Handled {
        let jail = self.writable_jail()?;
        let resolved = jail.resolve_existing(path)?;
        if resolved.virtual_path == "/" || jail.cwd() == resolved.virtual_path {
            return Err(io_error(
                path,
                std::io::Error::from(std::io::ErrorKind::ResourceBusy),
            ));
        }
        std::fs::remove_dir(&resolved.real).map_err(|e| io_error(path, e))?;
        reply(
            ReplyCode::FILE_ACTION_OK,
            "Remove directory operation successful.",
        )
    }

    pub(crate) fn dele(&mut self, path: &str) -> Handled {
        let resolved = self.writable_jail()?.resolve_existing(path)?;
        if resolved.real.is_dir() {
            return Err(io_error(
                path,
                std::io::Error::from(std::io::ErrorKind::IsADirectory),
            ));
        }
        std::fs::remove_file(&resolved.real).map_err(|e| io_error(path, e))?;
        reply(ReplyCode::FILE_ACTION_OK, "Delete operation successful.")
    }

    pub(crate) fn rnfr(&mut self, path: &str) -> Handled {
        let resolved = self.writable_jail()?.resolve_existing(path)?;
        if resolved.virtual_path == "/" {
            return Err(io_error(
                path,
                std::io::Error::from(std::io::ErrorKind::ResourceBusy),
            ));
        }
        self.rename_from = Some(resolved);
        reply(ReplyCode::FILE_ACTION_PENDING, "Ready for RNTO.")
    }

    pub(crate) fn rnto(&mut self, path: &str, from: Option<Resolved>) -> Handled {
        let from = from.ok_or(SessionError::BadSequence("RNFR required first."))?;
        let to = self.writable_jail()?.resolve_new(path)?;
        std::fs::rename(&from.real, &to.real).map_err(|e| io_error(path, e))?;
        reply(ReplyCode::FILE_ACTION_OK, "Rename successful.")
    }

    pub(crate) fn size(&mut self, path: &str) -> Handled {
        let resolved = self.jail()?.resolve_existing(path)?;
        let meta = std::fs::metadata(&resolved.real).map_err(|e| io_error(path, e))?;
        if !meta.is_file() {
            return Err(io_error(
                path,
                std::io::Error::from(std::io::ErrorKind::IsADirectory),
            ));
        }
        reply(ReplyCode::FILE_STATUS, meta.len().to_string())
    }

    pub(crate) fn mdtm(&mut self, path: &str) -> Handled {
        let resolved = self.jail()?.resolve_existing(path)?;
        let meta = std::fs::metadata(&resolved.real).map_err(|e| io_error(path, e))?;
        let modified = meta.modified().map_err(|e| io_error(path, e))?;
        reply(ReplyCode::FILE_STATUS, time_val(modified))
    }
}
