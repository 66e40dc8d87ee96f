//! Many sessions at once: 200 control connections log in, all wait until every one is logged in,
//! then each downloads 1 MiB over its own passive data connection and quits.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::{MIB, TestServer, decode_reply, parse_227, parse_229, random_file};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::Barrier;

const SESSIONS: usize = 200;

/// An async control connection that reads one reply per command.
struct Session {
    reader: OwnedReadHalf,
    writer: OwnedWriteHalf,
    /// Bytes received and not yet taken by a reply.
    buf: Vec<u8>,
}

impl Session {
    async fn connect(addr: SocketAddr) -> Result<Session, String> {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let (r, w) = stream.into_split();
        let mut s = Session {
            reader: r,
            writer: w,
            buf: Vec::new(),
        };
        s.expect_reply(220).await?;
        Ok(s)
    }

    /// Reads one reply (framed by `ftp_proto::ReplyDecoder`) and returns (code, all text).
    async fn reply(&mut self) -> Result<(u16, String), String> {
        loop {
            if let Some((reply, used)) =
                decode_reply(&self.buf).map_err(|e| format!("read reply: {e}"))?
            {
                self.buf.drain(..used);
                return Ok((reply.code, reply.text));
            }
            let n = self
                .reader
                .read_buf(&mut self.buf)
                .await
                .map_err(|e| format!("read reply: {e}"))?;
            if n == 0 {
                return Err(format!(
                    "connection closed; got so far: {:?}",
                    String::from_utf8_lossy(&self.buf)
                ));
            }
        }
    }

    async fn expect_reply(&mut self, want: u16) -> Result<String, String> {
        let (code, text) = self.reply().await?;
        if code == want {
            Ok(text)
        } else {
            Err(format!("want {want}, got {text:?}"))
        }
    }

    async fn cmd(&mut self, line: &str, want: u16) -> Result<String, String> {
        self.writer
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .map_err(|e| format!("send {line}: {e}"))?;
        self.expect_reply(want)
            .await
            .map_err(|e| format!("{line}: {e}"))
    }
}

async fn login(addr: SocketAddr, n: usize) -> Result<Session, String> {
    let user = n % 4 + 1;
    let mut s = Session::connect(addr).await?;
    s.cmd(&format!("USER user{user}"), 331).await?;
    s.cmd(&format!("PASS pass{user}"), 230).await?;
    Ok(s)
}

/// Downloads `big.bin` in passive mode (EPSV or PASV by `n`) and returns its sha256.
async fn download(s: &mut Session, n: usize) -> Result<String, String> {
    s.cmd("TYPE I", 200).await?;
    let addr = match n % 2 {
        0 => {
            let text = s.cmd("EPSV", 229).await?;
            let port = parse_229(&text).ok_or_else(|| format!("bad 229: {text:?}"))?;
            SocketAddr::from(([127, 0, 0, 1], port))
        }
        _ => {
            let text = s.cmd("PASV", 227).await?;
            parse_227(&text).ok_or_else(|| format!("bad 227: {text:?}"))?
        }
    };
    let mut data = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("data connect {addr}: {e}"))?;
    s.writer
        .write_all(b"RETR big.bin\r\n")
        .await
        .map_err(|e| format!("send RETR: {e}"))?;
    let (code, text) = s.reply().await?;
    if code != 125 && code != 150 {
        return Err(format!("RETR big.bin: want 125 or 150, got {text:?}"));
    }
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let k = data
            .read(&mut buf)
            .await
            .map_err(|e| format!("read data: {e}"))?;
        if k == 0 {
            break;
        }
        hasher.update(&buf[..k]);
    }
    s.expect_reply(226).await?;
    Ok(hex::encode(hasher.finalize()))
}

async fn one_session(
    addr: SocketAddr,
    n: usize,
    barrier: Arc<Barrier>,
    expected: Arc<Vec<String>>,
) -> Result<(), String> {
    let logged_in = login(addr, n).await;
    // Every task reaches the barrier, even after a failure, so that the others are not stuck.
    barrier.wait().await;
    let mut s = logged_in?;
    let got = download(&mut s, n).await?;
    if got != expected[n % 4] {
        return Err(format!("sha256 {got}, want {}", expected[n % 4]));
    }
    s.cmd("QUIT", 221).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_sessions_each_download_1_mib_intact() {
    let server = TestServer::start(&["--max-sessions-per-address", "250"]);
    let expected: Vec<String> = (1..=4)
        .map(|n| random_file(&server.root(n).join("big.bin"), MIB))
        .collect();
    let expected = Arc::new(expected);
    let barrier = Arc::new(Barrier::new(SESSIONS));
    let addr = server.addr();

    let tasks: Vec<_> = (0..SESSIONS)
        .map(|n| tokio::spawn(one_session(addr, n, barrier.clone(), expected.clone())))
        .collect();
    let all = async {
        let mut failures = Vec::new();
        for (n, task) in tasks.into_iter().enumerate() {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => failures.push(format!("session {n}: {e}")),
                Err(e) => failures.push(format!("session {n} panicked: {e}")),
            }
        }
        failures
    };
    let failures = tokio::time::timeout(Duration::from_secs(120), all)
        .await
        .unwrap_or_else(|_| panic!("not done within 120 s\n{}", server.stderr()));
    assert!(
        failures.is_empty(),
        "{} of {SESSIONS} sessions failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
