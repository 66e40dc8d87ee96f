//! RFC 959 §4.1.2 and RFC 2428: PORT, EPRT, PASV, EPSV, TYPE, STRU, MODE, and REST (RFC 3659).

use crate::session::{
    Action, DataSetup, Handled, PassiveReply, PassiveRequest, Representation, Session,
    SessionError, reply,
};
use ftp_proto::host_port::{format_epsv_reply, format_pasv_reply};
use ftp_proto::{EpsvArgument, Reply, ReplyCode, TransferType};
use std::net::{IpAddr, SocketAddr, SocketAddrV4};

impl Session {
    /// PORT and EPRT: remember where to connect for the next transfer.
    pub(crate) fn port(&mut self, addr: SocketAddr) -> Handled {
        if self.epsv_all {
            return Err(SessionError::BadSequence(
                "EPSV ALL was sent: only EPSV is allowed now.",
            ));
        }
        let peer = self.peer.ip().to_canonical();
        let target = addr.ip().to_canonical();
        if target != peer {
            if !self.config.allow_foreign_data_address {
                tracing::warn!(session = self.id, peer = %self.peer_name, %addr,
                    "refused PORT/EPRT to a foreign address (FTP bounce attempt?)");
                return Err(SessionError::ForeignDataAddress(peer));
            }
            tracing::warn!(session = self.id, peer = %self.peer_name, %addr,
                "WEAKENED RULE USED: PORT/EPRT to a foreign address accepted (bounce attack possible)");
        }
        // Ports below 1024 belong to system services; connecting there is how bounce attacks
        // reach them (RFC 2577 §3).
        if addr.port() < 1024 && !self.config.allow_foreign_data_address {
            return Err(SessionError::NotImplementedForParameter(format!(
                "Data port {} is privileged; refused (RFC 2577).",
                addr.port()
            )));
        }
        self.data = Some(DataSetup::Active(addr));
        reply(
            ReplyCode::OK,
            "PORT command successful. Consider using PASV.",
        )
    }

    /// PASV and EPSV: ask the connection loop for a listener on a fresh port; its reply comes
    /// from [`Session::passive_opened`].
    pub(crate) fn pasv(&mut self, extended: bool, argument: Option<String>) -> Handled {
        if extended {
            match argument.as_deref().map(EpsvArgument::parse) {
                None => {}
                Some(EpsvArgument::All) => {
                    self.epsv_all = true;
                    return reply(ReplyCode::OK, "EPSV ALL ok.");
                }
                Some(EpsvArgument::Ipv4) if self.local.is_ipv4() => {}
                Some(EpsvArgument::Ipv6) if self.local.is_ipv6() => {}
                Some(_) => {
                    let family = if self.local.is_ipv4() { "(1)" } else { "(2)" };
                    return reply(
                        ReplyCode::PROTOCOL_NOT_SUPPORTED,
                        format!("Network protocol not supported, use {family}"),
                    );
                }
            }
        } else if self.epsv_all {
            return Err(SessionError::BadSequence(
                "EPSV ALL was sent: only EPSV is allowed now.",
            ));
        }
        let announce = if extended {
            PassiveReply::Epsv
        } else {
            let advertised = self.config.passive_address.unwrap_or(self.local.ip());
            let advertised_v4 = match advertised {
                IpAddr::V4(v4) => Some(v4),
                IpAddr::V6(v6) => v6.to_ipv4_mapped(),
            };
            match advertised_v4 {
                Some(v4) => PassiveReply::Pasv(v4),
                None => {
                    return reply(
                        ReplyCode::SYNTAX_ERROR,
                        "PASV cannot name an IPv6 address; use EPSV.",
                    );
                }
            }
        };
        // Any earlier listener is dropped by the loop first: its port goes back to the range.
        self.data = None;
        Ok(Action::OpenPassive(PassiveRequest {
            ip: self.local.ip(),
            ports: self.config.passive_ports.clone(),
            announce,
        }))
    }

    /// The connection loop opened (or failed to open) the listener asked for by
    /// [`Action::OpenPassive`]; `bound` is its local address. Returns the 227/229 reply.
    pub fn passive_opened(
        &mut self,
        request: &PassiveRequest,
        bound: std::io::Result<SocketAddr>,
    ) -> Reply {
        let addr = match bound {
            Ok(addr) => addr,
            Err(error) => {
                tracing::error!(session = self.id, %error, "cannot open a passive port");
                return SessionError::Local(error).into_reply();
            }
        };
        self.data = Some(DataSetup::Passive(addr));
        match request.announce {
            PassiveReply::Epsv => Reply::new(
                ReplyCode::ENTERING_EXTENDED_PASSIVE,
                format_epsv_reply(addr.port()),
            ),
            PassiveReply::Pasv(v4) => Reply::new(
                ReplyCode::ENTERING_PASSIVE,
                format_pasv_reply(SocketAddrV4::new(v4, addr.port())),
            ),
        }
    }

    pub(crate) fn type_(&mut self, transfer_type: TransferType) -> Handled {
        match transfer_type {
            TransferType::Ascii => {
                self.representation = Representation::Ascii;
                reply(ReplyCode::OK, "Switching to ASCII mode.")
            }
            TransferType::Image => {
                self.representation = Representation::Image;
                reply(ReplyCode::OK, "Switching to Binary mode.")
            }
            TransferType::Other(text) => Err(SessionError::NotImplementedForParameter(format!(
                "TYPE {text} not implemented; use TYPE A or TYPE I."
            ))),
        }
    }

    pub(crate) fn stru(&mut self, structure: &str) -> Handled {
        if structure.trim().eq_ignore_ascii_case("F") {
            reply(ReplyCode::OK, "Structure set to F.")
        } else {
            Err(SessionError::NotImplementedForParameter(
                "Only STRU F is supported.".into(),
            ))
        }
    }

    pub(crate) fn mode(&mut self, mode: &str) -> Handled {
        if mode.trim().eq_ignore_ascii_case("S") {
            reply(ReplyCode::OK, "Mode set to S.")
        } else {
            Err(SessionError::NotImplementedForParameter(
                "Only MODE S is supported.".into(),
            ))
        }
    }

    pub(crate) fn rest(&mut self, offset: u64) -> Handled {
        self.restart_offset = offset;
        reply(
            ReplyCode::FILE_ACTION_PENDING,
            format!("Restarting at {offset}. Send STORE or RETRIEVE to initiate transfer."),
        )
    }
}
