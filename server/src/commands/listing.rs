//! RFC 959 §4.1.3 and RFC 3659 §7: LIST, NLST, MLSD over the data connection; MLST and
//! STAT with a path over the control connection.

use super::transfer::io_error;
use crate::data_channel::Job;
use crate::listing_format::{Entry, ls_line, mlsx_line, read_dir, strip_list_options};
use crate::paths::Resolved;
use crate::session::{Action, Handled, Session, SessionError};
use ftp_proto::{DataDirection, Reply, ReplyCode};
use std::time::SystemTime;

/// Which listing format.
#[derive(Clone, Copy)]
enum Format {
    Long,
    Names,
    Facts,
}

impl Session {
    pub(crate) fn list(&mut self, argument: Option<&str>) -> Handled {
        self.send_listing(strip_list_options(argument), Format::Long, "LIST")
    }

    pub(crate) fn nlst(&mut self, argument: Option<&str>) -> Handled {
        self.send_listing(strip_list_options(argument), Format::Names, "NLST")
    }

    pub(crate) fn mlsd(&mut self, path: Option<&str>) -> Handled {
        self.send_listing(path, Format::Facts, "MLSD")
    }

    fn send_listing(&mut self, path: Option<&str>, format: Format, verb: &str) -> Handled {
        let (resolved, lines) = self.listing_lines(path.unwrap_or("."), format)?;
        let mut bytes = Vec::new();
        for line in lines {
            bytes.extend_from_slice(line.as_bytes());
            bytes.extend_from_slice(b"\r\n");
        }
        let description = format!("{verb} {}", resolved.virtual_path);
        let opening = "Here comes the directory listing.".to_owned();
        self.plan(
            Job::SendBytes(bytes),
            opening,
            DataDirection::Listing,
            description,
        )
    }

    /// The lines of a listing of `path` (a folder, or a single file for LIST/NLST).
    fn listing_lines(
        &mut self,
        path: &str,
        format: Format,
    ) -> Result<(Resolved, Vec<String>), SessionError> {
        let read_only = self.user_mut()?.read_only;
        let jail = self.jail()?;
        let resolved = jail.resolve(path)?;
        let meta = jail.metadata(&resolved, path)?;
        let entries = if meta.is_dir() {
            let dir = jail.open_dir(&resolved, path)?;
            read_dir(&dir).map_err(|e| io_error(path, e))?
        } else if matches!(format, Format::Facts) {
            // RFC 3659 §7.1: MLSD of a file is an error; MLST is for files.
            return Err(io_error(
                path,
                std::io::Error::from(std::io::ErrorKind::NotADirectory),
            ));
        } else {
            let name = resolved
                .virtual_path
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned();
            vec![Entry::from_metadata(name, &meta)]
        };
        let now = SystemTime::now();
        let lines = entries
            .iter()
            .map(|entry| match format {
                Format::Long => ls_line(entry, now),
                Format::Names => entry.name.clone(),
                Format::Facts => mlsx_line(entry, &entry.name, !read_only),
            })
            .collect();
        Ok((resolved, lines))
    }

    pub(crate) fn mlst(&mut self, path: Option<&str>) -> Handled {
        let read_only = self.user_mut()?.read_only;
        let path = path.unwrap_or(".");
        let jail = self.jail()?;
        let resolved = jail.resolve(path)?;
        let meta = jail.metadata(&resolved, path)?;
        let entry = Entry::from_metadata(resolved.virtual_path.clone(), &meta);
        let facts = mlsx_line(&entry, &resolved.virtual_path, !read_only);
        Ok(Action::Reply(Reply::multiline(
            ReplyCode::FILE_ACTION_OK,
            vec![
                format!("Listing {}", resolved.virtual_path),
                facts,
                "End".to_owned(),
            ],
        )))
    }

    /// STAT with a path: the LIST output over the control connection (RFC 959 §4.1.3).
    pub(crate) fn stat_path(&mut self, path: &str) -> Handled {
        let (resolved, mut lines) = self.listing_lines(path, Format::Long)?;
        lines.insert(0, format!("Status of {}:", resolved.virtual_path));
        lines.push("End of status.".to_owned());
        Ok(Action::Reply(Reply::multiline(
            ReplyCode::FILE_STATUS,
            lines,
        )))
    }
}
