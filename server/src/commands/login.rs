//! RFC 959 §4.1.1: USER, PASS, REIN — the login sequence (ACCT and QUIT are one-liners in
//! `session.rs`).

use crate::paths::Jail;
use crate::session::{Action, Handled, LoggedInUser, LoginState, Session, SessionError, reply};
use crate::user_store::{StoreError, UserRecord};
use ftp_proto::{Reply, ReplyCode};

/// Names that mean "anonymous" by long convention (RFC 1635).
fn is_anonymous_name(name: &str) -> bool {
    name.eq_ignore_ascii_case("anonymous") || name.eq_ignore_ascii_case("ftp")
}

impl Session {
    pub(crate) fn user(&mut self, name: String) -> Handled {
        // USER may come at any time and starts a new login (RFC 959 §4.1.1).
        self.data = None;
        if is_anonymous_name(&name) && self.config.anonymous_root.is_none() {
            self.set_state(LoginState::AwaitingUser);
            return reply(
                ReplyCode::NOT_LOGGED_IN,
                "Anonymous login is not allowed here.",
            );
        }
        let text = if is_anonymous_name(&name) {
            "Anonymous login ok, send your e-mail address as password.".to_owned()
        } else {
            format!("Password required for {name}.")
        };
        self.set_state(LoginState::AwaitingPassword { username: name });
        reply(ReplyCode::NEED_PASSWORD, text)
    }

    pub(crate) fn pass(&mut self, password: String) -> Handled {
        let LoginState::AwaitingPassword { username } = &self.state else {
            return match self.state {
                LoginState::LoggedIn { .. } => reply(ReplyCode::LOGGED_IN, "Already logged in."),
                _ => Err(SessionError::BadSequence("Login with USER first.")),
            };
        };
        let name = username.clone();
        if is_anonymous_name(&name) {
            let Some(root) = self.config.anonymous_root.clone() else {
                return Err(SessionError::NotLoggedIn);
            };
            tracing::warn!(session = self.id, peer = %self.peer_name, email = %password,
                "WEAKENED RULE USED: anonymous login (read-only)");
            let jail = Jail::new(&root).map_err(SessionError::Local)?;
            let user = LoggedInUser {
                name,
                jail,
                read_only: true,
            };
            self.set_state(LoginState::LoggedIn { user });
            return reply(
                ReplyCode::LOGGED_IN,
                "Anonymous login ok, access is read-only.",
            );
        }
        Ok(Action::Authenticate { name, password })
    }

    /// Completes PASS with the user store's answer. `Ok(None)` means wrong name or password.
    pub fn finish_login(&mut self, result: Result<Option<UserRecord>, StoreError>) -> Reply {
        match result {
            Ok(Some(record)) => match Jail::new(&record.root) {
                Ok(jail) => {
                    let user = LoggedInUser {
                        name: record.name,
                        jail,
                        read_only: false,
                    };
                    self.set_state(LoginState::LoggedIn { user });
                    Reply::new(ReplyCode::LOGGED_IN, "Login successful.")
                }
                Err(error) => {
                    tracing::error!(session = self.id, user = %record.name,
                        root = %record.root.display(), %error, "user's root folder is unusable");
                    self.set_state(LoginState::AwaitingUser);
                    SessionError::RootUnavailable.into_reply()
                }
            },
            Ok(None) => {
                self.set_state(LoginState::AwaitingUser);
                SessionError::LoginIncorrect.into_reply()
            }
            Err(error) => {
                tracing::error!(session = self.id, %error, "user store failed");
                self.set_state(LoginState::AwaitingUser);
                SessionError::StoreUnavailable.into_reply()
            }
        }
    }

    pub(crate) fn rein(&mut self) -> Handled {
        self.data = None;
        self.rename_from = None;
        self.restart_offset = 0;
        self.set_state(LoginState::AwaitingUser);
        reply(ReplyCode::SERVICE_READY, "Service ready for new user.")
    }
}
