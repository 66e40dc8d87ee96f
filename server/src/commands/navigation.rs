//! RFC 959 §4.1.1 and §4.1.3: CWD, CDUP (routed to `CWD ..`), PWD.

use crate::session::{Handled, Session, quote_path, reply};
use ftp_proto::ReplyCode;

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
        let cwd = quote_path(self.jail()?.cwd());
        reply(
            ReplyCode::PATH_CREATED,
            format!("{cwd} is the current directory."),
        )
    }
}
