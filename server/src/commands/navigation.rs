//! RFC 959 §4.1.1 and §4.1.3: CWD, CDUP (routed to `CWD ..`), PWD.

use crate::session::{Handled, Session, reply};
use ftp_proto::{QuotedPath, ReplyCode};

impl Session {
    pub(crate) fn cwd(&mut self, path: &str) -> Handled {
        let jail = self.jail()?;
        jail.change_dir(path)?;
        reply(
            ReplyCode::FILE_ACTION_OK,
            format!("Directory changed to {}.", jail.cwd()),
        )
    }

    pub(crate) fn pwd(&mut self) -> Handled {
        let cwd = QuotedPath(self.jail()?.cwd().to_owned());
        reply(
            ReplyCode::PATH_CREATED,
            format!("{cwd} is the current directory."),
        )
    }
}
