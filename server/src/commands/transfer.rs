//! RFC 959 §4.1.3: RETR, STOR, STOU, APPE — the commands that move a file.
//!
//! Each checks the path first (550 before any data connection is touched), then hands the
//! connection loop a [`TransferPlan`].

use crate::data_channel::{Job, Upload, UploadMode};
use crate::listing::UPLOAD_TEMP_PREFIX;
use crate::paths::{PathError, Resolved};
use crate::session::{
    Action, Handled, Representation, Session, SessionError, TransferKind, TransferPlan,
};
use ftp_proto::{Reply, ReplyCode};
use std::io;

impl Session {
    pub(crate) fn retr(&mut self, path: &str, offset: u64) -> Handled {
        let resolved = self.jail()?.resolve_existing(path)?;
        let file = std::fs::File::open(&resolved.real).map_err(|e| io_error(path, e))?;
        let meta = file.metadata().map_err(|e| io_error(path, e))?;
        if meta.is_dir() {
            return Err(io_error(path, io::Error::from(io::ErrorKind::IsADirectory)));
        }
        if offset > meta.len() {
            return Ok(Action::Reply(Reply::new(
                ReplyCode::INVALID_REST,
                format!(
                    "REST offset {offset} is beyond the end of the file ({} bytes).",
                    meta.len()
                ),
            )));
        }
        let ascii = self.representation == Representation::Ascii;
        let job = Job::SendFile {
            file,
            offset,
            ascii,
            hash: self.config.hash_downloads,
        };
        let opening = format!(
            "Opening {} mode data connection for {} ({} bytes).",
            if ascii { "ASCII" } else { "BINARY" },
            resolved.virtual_path,
            meta.len() - offset
        );
        self.plan(
            job,
            opening,
            TransferKind::Download,
            format!("RETR {}", resolved.virtual_path),
        )
    }

    pub(crate) fn stor(&mut self, path: &str, offset: u64) -> Handled {
        let mode = if offset > 0 {
            UploadMode::At(offset)
        } else {
            UploadMode::Replace
        };
        self.upload(path, mode, "STOR")
    }

    pub(crate) fn appe(&mut self, path: &str) -> Handled {
        self.upload(path, UploadMode::Append, "APPE")
    }

    pub(crate) fn stou(&mut self) -> Handled {
        // A name nobody has: the upload lands with persist_noclobber, so a race cannot clobber.
        let name = format!("ftplab-{:016x}", rand::random::<u64>());
        let resolved = self.writable_jail()?.resolve_new(&name)?;
        let upload = self.new_upload(&resolved, UploadMode::Replace, true, &name)?;
        let ascii = self.representation == Representation::Ascii;
        // RFC 1123 §4.1.2.9: the 150 reply of STOU names the file.
        let opening = format!("FILE: {name}");
        let description = format!("STOU {}", resolved.virtual_path);
        self.plan(
            Job::Receive { upload, ascii },
            opening,
            TransferKind::Upload,
            description,
        )
    }

    fn upload(&mut self, path: &str, mode: UploadMode, verb: &str) -> Handled {
        let resolved = self.writable_jail()?.resolve_new(path)?;
        if resolved.real.is_dir() {
            return Err(io_error(path, io::Error::from(io::ErrorKind::IsADirectory)));
        }
        if let UploadMode::At(offset) = mode {
            let size = std::fs::metadata(&resolved.real)
                .map(|m| m.len())
                .unwrap_or(0);
            if offset > size {
                return Ok(Action::Reply(Reply::new(
                    ReplyCode::INVALID_REST,
                    format!("REST offset {offset} is beyond the end of the file ({size} bytes)."),
                )));
            }
        }
        let upload = self.new_upload(&resolved, mode, false, path)?;
        let ascii = self.representation == Representation::Ascii;
        let opening = format!("Ok to send data for {}.", resolved.virtual_path);
        let description = format!("{verb} {}", resolved.virtual_path);
        self.plan(
            Job::Receive { upload, ascii },
            opening,
            TransferKind::Upload,
            description,
        )
    }

    fn new_upload(
        &self,
        resolved: &Resolved,
        mode: UploadMode,
        no_clobber: bool,
        path: &str,
    ) -> Result<Upload, SessionError> {
        let folder = resolved.real.parent().ok_or_else(|| invalid(path))?;
        let temp = tempfile::Builder::new()
            .prefix(UPLOAD_TEMP_PREFIX)
            .tempfile_in(folder)
            .map_err(|e| io_error(path, e))?;
        Ok(Upload {
            temp,
            target: resolved.real.clone(),
            mode,
            no_clobber,
        })
    }

    /// Takes the data connection set up by PORT/PASV and builds the plan.
    pub(crate) fn plan(
        &mut self,
        job: Job,
        opening: String,
        kind: TransferKind,
        description: String,
    ) -> Handled {
        let endpoint = self.data.take().ok_or(SessionError::NoDataConnection)?;
        Ok(Action::Transfer(Box::new(TransferPlan {
            endpoint,
            job,
            opening: Reply::new(ReplyCode::ABOUT_TO_OPEN_DATA, opening),
            kind,
            description,
        })))
    }
}

pub(crate) fn io_error(path: &str, source: io::Error) -> SessionError {
    SessionError::Path(PathError::Io {
        virtual_path: path.to_owned(),
        source,
    })
}

fn invalid(path: &str) -> SessionError {
    SessionError::Path(PathError::Invalid {
        virtual_path: path.to_owned(),
    })
}
