//! The glue between TLS connections and the FTP tracker: encrypted control bytes in, FTP
//! lines out when a key log opens them; data connections of TLS sessions followed, and tied
//! to their session by addresses and timing when the replies announcing them are encrypted.

use super::connection::{TlsConnection, suite_name, version_name};
use super::record::looks_like_handshake;
use super::{ControlTls, DataTls, TlsHandshakeEvent, TransferTls};
use crate::event::Event;
use crate::ftp_session::{ConnectionRole, Ctx, Tracker};
use crate::reassembly::Chunk;
use crate::transfer::{DataMode, Transfer, TransferId, TransferState};
use std::net::SocketAddr;

/// The same chunk again (a chunk borrows its bytes and is not `Clone`).
fn again<'a>(chunk: &Chunk<'a>) -> Chunk<'a> {
    match chunk {
        Chunk::Data(d) => Chunk::Data(d),
        Chunk::Gap { len } => Chunk::Gap { len: *len },
    }
}

/// The data connection summary of `conn` (or of a clear data connection when `None`).
fn summary(conn: Option<&TlsConnection>, guessed: bool) -> TransferTls {
    let tie = if guessed { "guessed" } else { "announced" };
    let Some(c) = conn else {
        return TransferTls {
            encrypted: false,
            version: None,
            cipher_suite: None,
            resumed: false,
            decrypted_with_keylog: false,
            tie,
            encrypted_bytes_to_server: 0,
            encrypted_bytes_to_client: 0,
            records_lost: false,
        };
    };
    let client = c.client_dir().unwrap_or(0).min(1);
    TransferTls {
        encrypted: true,
        version: c.facts.version.map(version_name),
        cipher_suite: c.facts.cipher_suite,
        resumed: c.facts.resumed,
        decrypted_with_keylog: c.decrypting(),
        tie,
        encrypted_bytes_to_server: c.app_bytes[client],
        encrypted_bytes_to_client: c.app_bytes[1 - client],
        records_lost: c.lost.iter().any(|l| *l),
    }
}

impl Tracker {
    /// Bytes of control connection `s` after its 234. Returns what the FTP parser can read:
    /// decrypted application data, or clear text once TLS has ended (CCC).
    pub(crate) fn tls_control_bytes(
        &mut self,
        s: usize,
        from_client: bool,
        chunk: Chunk<'_>,
        ctx: Ctx,
    ) -> Option<Vec<u8>> {
        let keylog = self.tls.keylog.clone();
        let control = self.tls.control.entry(s).or_insert_with(|| ControlTls {
            conn: TlsConnection::new(Some(0), keylog),
            reported: false,
            readable: false,
        });
        let gap = match chunk {
            Chunk::Gap { len } if control.conn.decrypting() => Some(len),
            _ => None,
        };
        let pushed = control
            .conn
            .push(if from_client { 0 } else { 1 }, chunk, ctx.frame);
        let ready = !control.reported
            && (control.conn.first_app_frame.is_some()
                || control.conn.cleared.iter().any(|c| *c)
                || !control.conn.decrypting() && control.conn.facts.server_hello_frame.is_some());
        let mut out = pushed.plaintext;
        out.extend(pushed.clear);
        if !out.is_empty() {
            control.readable = true;
        }
        if ready {
            self.report_control_tls(s);
        }
        if let (Some(len), Some(session)) = (gap, self.sessions.get(s)) {
            let message = format!(
                "session {}: {len} bytes of the TLS stream sent by the {} are not in the capture; \
                 its records after them cannot be decrypted",
                session.id,
                if from_client { "client" } else { "server" }
            );
            self.events
                .push(Event::Warning(crate::event::WarningEvent::new(
                    ctx.frame, message,
                )));
        }
        (!out.is_empty()).then_some(out)
    }

    /// Emits the handshake event of control connection `s` (once).
    fn report_control_tls(&mut self, s: usize) {
        let (Some(session), Some(control)) = (self.sessions.get(s), self.tls.control.get_mut(&s))
        else {
            return;
        };
        if control.reported {
            return;
        }
        control.reported = true;
        let facts = &control.conn.facts;
        let event = TlsHandshakeEvent {
            session: session.id,
            frame: facts
                .server_hello_frame
                .or(facts.client_hello_frame)
                .or(session.encrypted)
                .unwrap_or(0),
            client: session.client.to_string(),
            server: session.server.to_string(),
            version: facts.version.map(version_name),
            cipher_suite: facts.cipher_suite.map(suite_name),
            sni: facts.sni.clone(),
            certificate_subject: facts.certificate_subject.clone(),
            certificate_sha256: facts.certificate_sha256.clone(),
            resumed: facts.resumed,
            decrypted_with_keylog: control.conn.decrypting(),
            decryption: control.conn.decryption.describe(),
        };
        self.events.push(Event::TlsHandshake(Box::new(event)));
    }

    /// Bytes of data connection `idx`. `None`: not TLS, deliver `chunk` as it is; `Some`: the
    /// decrypted content to deliver instead (empty when nothing could be read).
    pub(crate) fn tls_data_bytes(
        &mut self,
        idx: TransferId,
        dir: usize,
        chunk: &Chunk<'_>,
        ctx: Ctx,
    ) -> Option<Vec<u8>> {
        let tls_session = self
            .transfers
            .get(idx)
            .and_then(|t| t.session)
            .and_then(|id| self.sessions.get(id.wrapping_sub(1)))
            .is_some_and(|s| s.encrypted.is_some());
        let keylog = self.tls.keylog.clone();
        let data = self.tls.data.entry(idx).or_default();
        if !data.decided {
            data.decided = true;
            if let Chunk::Data(d) = chunk
                && looks_like_handshake(d)
            {
                data.conn = Some(Box::new(TlsConnection::new(None, keylog)));
            }
        }
        let t = self.transfers.get_mut(idx)?;
        let Some(conn) = data.conn.as_mut() else {
            if tls_session || data.guessed {
                t.tls = Some(summary(None, data.guessed));
            }
            return None;
        };
        let pushed = conn.push(dir, again(chunk), ctx.frame);
        t.tls = Some(summary(Some(conn), data.guessed));
        t.note_frame(ctx.frame);
        let mut out = pushed.plaintext;
        out.extend(pushed.clear);
        Some(out)
    }

    /// A new connection nobody announced, whose first bytes are `first` (sent by `src`): a
    /// data connection of a TLS session whose replies cannot be read, when one between the
    /// same hosts is open (a guess, and said so); otherwise a data connection of no session.
    pub fn guess_data(&mut self, src: SocketAddr, dst: SocketAddr, first: &[u8]) -> ConnectionRole {
        let tls = looks_like_handshake(first);
        let found = self
            .sessions
            .iter()
            .rev()
            .map(|s| (s.id - 1, s))
            .find(|(i, s)| {
                let hosts = (s.client.ip() == src.ip() && s.server.ip() == dst.ip())
                    || (s.client.ip() == dst.ip() && s.server.ip() == src.ip());
                let not_control =
                    ![s.client, s.server].contains(&src) && ![s.client, s.server].contains(&dst);
                s.encrypted.is_some()
                && !self.tls.readable(*i)
                && !self.tls.closed_controls.contains(i)
                && hosts
                && not_control
                // RFC 4217 §7: the FTP client is the TLS client on data connections too.
                && (!tls || s.client.ip() == src.ip())
            });
        let Some((_, session)) = found else {
            return self.orphan_data();
        };
        let mode = if session.client.ip() == session.server.ip() {
            None
        } else if let Some((opener, _)) = self
            .tls
            .openers
            .iter()
            .find(|(a, b)| (*a == src && *b == dst) || (*a == dst && *b == src))
        {
            Some(if opener.ip() == session.client.ip() {
                DataMode::Passive
            } else {
                DataMode::Active
            })
        } else {
            None
        };
        let idx = self.transfers.len();
        let mut t = Transfer::new(idx, Some(session.id));
        t.state = TransferState::Open;
        t.mode = mode;
        self.transfers.push(t);
        self.tls.data.insert(
            idx,
            DataTls {
                guessed: true,
                ..DataTls::default()
            },
        );
        ConnectionRole::Data { transfer: idx }
    }

    /// A connection opened by `src` to `dst` that nobody announced (kept to tell passive from
    /// active when it is tied by guess).
    pub fn note_unannounced_open(&mut self, src: SocketAddr, dst: SocketAddr) {
        // Bounded: a capture full of unrelated connections keeps only the latest few thousand.
        if self.tls.openers.len() > 4096 {
            self.tls.openers.clear();
        }
        self.tls.openers.insert((src, dst));
    }

    /// Data connection `idx` is TLS and every side that sent content ended it with
    /// close_notify: a RST after that loses nothing.
    pub(crate) fn tls_closed_cleanly(&self, idx: TransferId) -> bool {
        self.tls
            .data
            .get(&idx)
            .and_then(|d| d.conn.as_ref())
            .is_some_and(|c| c.closed_cleanly())
    }

    /// Control connection `s` ended.
    pub(crate) fn tls_control_closed(&mut self, s: usize) {
        self.tls.closed_controls.insert(s);
    }

    /// Session `s` is over: its handshake event, if not reported yet.
    pub(crate) fn tls_finish_control(&mut self, s: usize) {
        if self.tls.control.get(&s).is_some_and(|c| !c.reported) {
            self.report_control_tls(s);
        }
    }

    /// End of the capture: handshake events of control connections not reported yet.
    pub(crate) fn tls_finish(&mut self) {
        let pending: Vec<usize> = self
            .tls
            .control
            .iter()
            .filter(|(_, c)| !c.reported)
            .map(|(s, _)| *s)
            .collect();
        for s in pending {
            self.report_control_tls(s);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::event::Event;
    use crate::ftp_session::{Ctx, Tracker};
    use crate::reassembly::Chunk;
    use crate::tls::connection::testdata::{client_hello, server_hello};

    fn ctx(frame: u64) -> Ctx {
        Ctx { frame, time: 0.0 }
    }

    #[test]
    fn after_ccc_the_control_connection_is_read_in_clear_again() {
        let mut t = Tracker::new(None);
        t.open_session(
            "127.0.0.1:40000".parse().unwrap(),
            "127.0.0.1:21".parse().unwrap(),
            "port",
            ctx(1),
        );
        t.client_bytes(0, Chunk::Data(b"AUTH TLS\r\n"), ctx(2));
        t.server_bytes(0, Chunk::Data(b"234 go\r\n"), ctx(3));
        t.client_bytes(0, Chunk::Data(&client_hello(9, "ftp.test")), ctx(4));
        t.server_bytes(0, Chunk::Data(&server_hello(0x0303, 0xC02F)), ctx(5));
        // …encrypted USER/PASS/CCC, then both sides in clear again.
        t.client_bytes(0, Chunk::Data(b"USER bob\r\nPASS visible\r\n"), ctx(6));
        t.server_bytes(0, Chunk::Data(b"331 pw\r\n230 ok\r\n"), ctx(7));
        t.finish();
        let cred = t
            .events
            .iter()
            .find_map(|e| match e {
                Event::Credential(c) => Some(c),
                _ => None,
            })
            .expect("the clear-text login after CCC");
        assert_eq!(cred.password.as_deref(), Some("visible"));
        assert_eq!(cred.accepted, Some(true));
        assert!(!cred.decrypted_with_keylog, "in clear, not decrypted");
        let handshake = t
            .events
            .iter()
            .find_map(|e| match e {
                Event::TlsHandshake(h) => Some(h),
                _ => None,
            })
            .expect("handshake event");
        assert_eq!(handshake.version, Some("TLS 1.2"));
        assert_eq!(handshake.sni.as_deref(), Some("ftp.test"));
        let found = crate::findings::find(&t);
        assert!(found.iter().any(|f| f.id == "ccc"), "{found:?}");
        assert!(
            found.iter().any(|f| f.id == "cleartext-credentials"),
            "{found:?}"
        );
    }
}
