//! RFC 2228 and RFC 4217 (FTPS): AUTH, PBSZ, PROT, CCC.
//!
//! `AUTH TLS` is answered 234 and the connection loop then runs the TLS handshake
//! ([`Action::StartTls`]); the session is [`Security::Handshaking`] until the loop reports
//! success with [`Session::tls_started`]. RFC 2228 §3 orders the rest: PBSZ after AUTH, PROT
//! after PBSZ. With TLS the buffer size is meaningless and always 0 (RFC 4217 §9), and only
//! PROT C and PROT P exist.

use crate::config::TlsPolicy;
use crate::session::{
    Action, DataProtection, Handled, LoginState, Security, Session, SessionError, reply,
};
use crate::tls::TlsSummary;
use ftp_proto::security::{AuthMechanism, ProtectionLevel, parse_pbsz};
use ftp_proto::{Reply, ReplyCode};

impl Session {
    pub(crate) fn auth(&mut self, mechanism: &str) -> Handled {
        if self.config.tls.control == TlsPolicy::Off {
            return reply(
                ReplyCode::NOT_IMPLEMENTED,
                "AUTH TLS not available: this server has no certificate (its operator can start \
                 it with --tls-cert and --tls-key).",
            );
        }
        if self.security != Security::Clear {
            return Err(SessionError::BadSequence(
                "The control connection is already protected by TLS.",
            ));
        }
        let data = match AuthMechanism::parse(mechanism) {
            AuthMechanism::Tls => DataProtection::AwaitingPbsz,
            AuthMechanism::TlsPrivate => DataProtection::Private,
            AuthMechanism::Other(name) => {
                return reply(
                    ReplyCode::NOT_IMPLEMENTED_FOR_PARAMETER,
                    format!("AUTH {name} not supported; use AUTH TLS."),
                );
            }
        };
        // RFC 2228 §3: an accepted AUTH forgets the login so far; USER and PASS must come
        // again, inside TLS. A pending data connection belongs to the old state too.
        if !matches!(self.state, LoginState::AwaitingUser) {
            self.set_state(LoginState::AwaitingUser);
        }
        self.data = None;
        self.set_security(Security::Handshaking { data });
        Ok(Action::StartTls(Reply::new(
            ReplyCode::SECURITY_EXCHANGE_DONE,
            "AUTH TLS ok: start the TLS handshake.",
        )))
    }

    /// The TLS handshake on the control connection succeeded: from now on every command and
    /// reply is inside TLS.
    pub fn tls_started(&mut self, summary: &TlsSummary) {
        let data = match self.security {
            Security::Handshaking { data } => data,
            _ => DataProtection::AwaitingPbsz,
        };
        tracing::info!(session = self.id, peer = %self.peer_name, tls = %summary,
            "control connection protected by TLS");
        self.set_security(Security::Protected { data });
        self.control_tls = Some(summary.clone());
    }

    pub(crate) fn pbsz(&mut self, size: &str) -> Handled {
        let Security::Protected { data } = self.security else {
            return Err(SessionError::BadSequence("PBSZ needs AUTH TLS first."));
        };
        if parse_pbsz(size).is_none() {
            return reply(
                ReplyCode::SYNTAX_ERROR_ARGS,
                format!("PBSZ takes a decimal number; TLS needs 0, not {size:?}."),
            );
        }
        if data == DataProtection::AwaitingPbsz {
            self.set_security(Security::Protected {
                data: DataProtection::Clear,
            });
        }
        // RFC 4217 §9: any size is answered with the one TLS uses.
        reply(ReplyCode::OK, "PBSZ=0")
    }

    pub(crate) fn prot(&mut self, level: &str) -> Handled {
        let Security::Protected { data } = self.security else {
            return Err(SessionError::BadSequence(
                "PROT needs AUTH TLS and PBSZ 0 first.",
            ));
        };
        if data == DataProtection::AwaitingPbsz {
            return Err(SessionError::BadSequence(
                "PROT needs PBSZ first (send PBSZ 0).",
            ));
        }
        let next = match ProtectionLevel::parse(level) {
            Some(ProtectionLevel::Private) => DataProtection::Private,
            Some(ProtectionLevel::Clear) if self.config.tls.data == TlsPolicy::Required => {
                return reply(
                    ReplyCode::DENIED_FOR_POLICY,
                    "PROT C refused: this server sends files only inside TLS (use PROT P).",
                );
            }
            Some(ProtectionLevel::Clear) => DataProtection::Clear,
            Some(other) => {
                return reply(
                    ReplyCode::PROT_LEVEL_NOT_SUPPORTED,
                    format!("PROT {other} is not possible with TLS; use PROT P (or PROT C)."),
                );
            }
            None => {
                return reply(
                    ReplyCode::NOT_IMPLEMENTED_FOR_PARAMETER,
                    format!("PROT {level:?} not understood; use PROT P or PROT C."),
                );
            }
        };
        self.set_security(Security::Protected { data: next });
        let text = match next {
            DataProtection::Private => "Protection level set to P: data connections use TLS.",
            _ => "Protection level set to C: files cross the data connection in clear.",
        };
        reply(ReplyCode::OK, text)
    }

    pub(crate) fn ccc(&mut self) -> Handled {
        match self.security {
            Security::Protected { .. } => reply(
                ReplyCode::DENIED_FOR_POLICY,
                "CCC refused: the control connection stays encrypted (in clear, the commands \
                 after it could be read and changed on the way).",
            ),
            _ => Err(SessionError::BadSequence(
                "CCC: the control connection is not protected.",
            )),
        }
    }

    /// The login gate of `--tls required`: USER, PASS and ACCT only inside TLS.
    pub(crate) fn check_login_protection(&self) -> Result<(), SessionError> {
        if self.config.tls.control == TlsPolicy::Required && !self.is_protected() {
            return Err(SessionError::TlsRequired);
        }
        Ok(())
    }

    /// The transfer gate of `--tls-data required`: no file or listing crosses in clear.
    pub(crate) fn check_data_protection(&self) -> Result<(), SessionError> {
        if self.config.tls.data == TlsPolicy::Required && !self.data_protected() {
            return Err(SessionError::DataProtectionRequired);
        }
        Ok(())
    }
}
