//! RFC 959 §4.1.3: RETR, STOR, STOU, APPE — the commands that move a file.
//!
//! Each checks the path first (550 before any data connection is touched), then hands the
//! connection loop a [`TransferPlan`].

use crate::data_channel::{Job, Upload, UploadMode};
use crate::paths::{PathError, Resolved};
use crate::session::{Action, Handled, Representation, Session, SessionError, TransferPlan};
use ftp_proto::{DataDirection, Reply, ReplyCode, RetrOpening};
use std::io;

impl Session {
    pub(crate) fn retr(&mut self, path: &str, offset: u64) -> Handled {
        let jail = self.jail()?;
        let resolved = jail.resolve(path)?;
        // Opened beneath the root in one call: what is sent is what was checked.
        let (file, meta) = jail.open_regular_file(&resolved, path)?;
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
        let opening = RetrOpening {
            ascii,
            path: resolved.virtual_path.clone(),
            size: meta.len() - offset,
        }
        .to_string();
        self.plan(
            job,
            opening,
            DataDirection::Download,
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
            DataDirection::Upload,
            description,
        )
    }

    fn upload(&mut self, path: &str, mode: UploadMode, verb: &str) -> Handled {
        let jail = self.writable_jail()?;
        let resolved = jail.resolve_new(path)?;
        let existing = match jail.metadata(&resolved, path) {
            Ok(meta) => Some(meta),
            Err(PathError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => None,
            Err(error) => return Err(error.into()),
        };
        match &existing {
            Some(meta) if meta.is_dir() => {
                return Err(io_error(path, io::Error::from(io::ErrorKind::IsADirectory)));
            }
            Some(meta) if !meta.is_file() => {
                return Err(SessionError::Path(PathError::NotRegularFile {
                    virtual_path: path.to_owned(),
                }));
            }
            _ => {}
        }
        if let UploadMode::At(offset) = mode {
            let size = existing.as_ref().map_or(0, |m| m.len());
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
            DataDirection::Upload,
            description,
        )
    }

    /// Creates the upload's temp file in the target's folder, opened beneath the root now;
    /// the file lands in that same folder handle later, whatever happens to the path meanwhile.
    fn new_upload(
        &mut self,
        resolved: &Resolved,
        mode: UploadMode,
        no_clobber: bool,
        path: &str,
    ) -> Result<Upload, SessionError> {
        let (folder, name) = self.writable_jail()?.open_parent(resolved, path)?;
        Upload::create(folder, &name, mode, no_clobber).map_err(|e| io_error(path, e))
    }

    /// Takes the data connection set up by PORT/PASV and builds the plan.
    pub(crate) fn plan(
        &mut self,
        job: Job,
        opening: String,
        kind: DataDirection,
        description: String,
    ) -> Handled {
        let endpoint = self.data.take().ok_or(SessionError::NoDataConnection)?;
        Ok(Action::Transfer(Box::new(TransferPlan {
            endpoint,
            job,
            opening: Reply::new(ReplyCode::ABOUT_TO_OPEN_DATA, opening),
            kind,
            description,
            protected: self.data_protected(),
        })))
    }
}

pub(crate) fn io_error(path: &str, source: io::Error) -> SessionError {
    SessionError::Path(PathError::Io {
        virtual_path: path.to_owned(),
        source,
    })
}
