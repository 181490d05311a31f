//! The virus scanner: a clamd the Worker reaches over TCP (`connect()` from
//! `cloudflare:sockets`, through `worker::Socket`) at `CLAMD_HOST`:`CLAMD_PORT`. One connection
//! per command, closed after it; every step runs against a deadline, so a scanner that hangs
//! costs a bounded wait, never a stuck request. The protocol itself is `domain::clamd`.

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::time::Duration;

use futures_util::future::{select, Either};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use worker::{console_error, Delay, Env, Socket};

use super::setting;
use crate::domain::clamd::{self, Verdict};

/// How long opening the connection may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a PING may take once connected.
pub const PING_TIMEOUT: Duration = Duration::from_secs(5);
/// How long sending a file and reading the verdict may take once connected: a 25 MiB file
/// takes about a second on one machine; the rest is room for a loaded scanner.
pub const SCAN_TIMEOUT: Duration = Duration::from_secs(30);
/// How long closing may take: a close that hangs must not hold a verdict back.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// A configured clamd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scanner {
    host: String,
    port: u16,
}

/// Why there is no verdict: the scanner could not be asked, or did not answer as clamd does.
/// A file without a verdict is neither clean nor infected: it waits for the scanner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreachable {
    /// No connection, or it broke: refused, reset, no route, an unknown host, a destination
    /// the runtime does not allow.
    Connection(String),
    /// No answer within the time allowed for the step named.
    TimedOut(&'static str, Duration),
    /// Something answered, but not as clamd does.
    BrokenReply(String),
}

impl fmt::Display for Unreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connection(cause) => write!(f, "connection failed: {cause}"),
            Self::TimedOut(step, after) => {
                write!(f, "timed out: no {step} within {} s", after.as_secs())
            }
            Self::BrokenReply(cause) => write!(f, "broken reply: {cause}"),
        }
    }
}

impl Scanner {
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
        }
    }

    /// The scanner `CLAMD_HOST` and `CLAMD_PORT` name; `None` when they are unset (no scanner
    /// configured) or do not name an address (logged).
    pub fn from_env(env: &Env) -> Option<Scanner> {
        Self::configured(env).unwrap_or_else(|cause| {
            console_error!(
                "{}",
                crate::json!({
                    "level": "error",
                    "msg": "virus scanner misconfigured",
                    "cause": cause,
                })
            );
            None
        })
    }

    /// As [`Scanner::from_env`], with a misconfiguration as `Err` (for the self-check).
    pub fn configured(env: &Env) -> Result<Option<Scanner>, String> {
        let host = setting(env, "CLAMD_HOST");
        let port = setting(env, "CLAMD_PORT");
        Ok(clamd::address(host.as_deref(), port.as_deref())?
            .map(|(host, port)| Self::new(host, port)))
    }

    /// `host:port`, for log lines.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// Whether clamd answers `PING` with `PONG`.
    pub async fn ping(&self) -> Result<(), Unreachable> {
        let mut request = std::iter::once(clamd::PING.to_vec());
        let reply = self.exchange(&mut request, PING_TIMEOUT, "PONG").await?;
        clamd::parse_pong(&reply).map_err(Unreachable::BrokenReply)
    }

    /// Scans `bytes`: clamd's verdict, or why there is none.
    pub async fn scan(&self, bytes: &[u8]) -> Result<Verdict, Unreachable> {
        let mut request = clamd::instream(bytes);
        let reply = self.exchange(&mut request, SCAN_TIMEOUT, "verdict").await?;
        clamd::parse_reply(&reply).map_err(Unreachable::BrokenReply)
    }

    /// Connects, sends `request`, reads the reply line and closes, whatever happened. (The
    /// request is a trait object so that PING and scans share one copy of this code.)
    async fn exchange(
        &self,
        request: &mut dyn Iterator<Item = Vec<u8>>,
        limit: Duration,
        awaited: &'static str,
    ) -> Result<Vec<u8>, Unreachable> {
        let mut socket = Socket::builder()
            .connect(self.host.as_str(), self.port)
            .map_err(|e| Unreachable::Connection(e.to_string()))?;
        let outcome = match within(CONNECT_TIMEOUT, socket.opened()).await {
            None => Err(Unreachable::TimedOut("connection", CONNECT_TIMEOUT)),
            Some(Err(e)) => Err(Unreachable::Connection(e.to_string())),
            Some(Ok(_)) => within(limit, talk(&mut socket, request))
                .await
                .unwrap_or(Err(Unreachable::TimedOut(awaited, limit))),
        };
        // The outcome stands whether or not the close succeeds.
        let _ = within(CLOSE_TIMEOUT, socket.close()).await;
        outcome
    }
}

/// `work`'s output, or `None` when `limit` passes first (the work is then dropped).
async fn within<T>(limit: Duration, work: impl Future<Output = T>) -> Option<T> {
    match select(pin!(work), pin!(Delay::from(limit))).await {
        Either::Left((output, _)) => Some(output),
        Either::Right(_) => None,
    }
}

/// Sends the request's pieces in order and reads the reply. clamd answers some requests before
/// reading them whole (`INSTREAM size limit exceeded. ERROR`) and then closes, so a failed
/// write is followed by a read: a reply, if there is one, says more than the broken pipe.
async fn talk(
    socket: &mut Socket,
    request: &mut dyn Iterator<Item = Vec<u8>>,
) -> Result<Vec<u8>, Unreachable> {
    for piece in request {
        if let Err(write_error) = write_all(socket, &piece).await {
            return match read_reply(socket).await {
                Ok(reply) if clamd::reply_complete(&reply) => Ok(reply),
                _ => Err(Unreachable::Connection(write_error.to_string())),
            };
        }
    }
    read_reply(socket).await
}

async fn write_all(socket: &mut Socket, mut bytes: &[u8]) -> std::io::Result<()> {
    while !bytes.is_empty() {
        let written = poll_fn(|cx| Pin::new(&mut *socket).poll_write(cx, bytes)).await?;
        if written == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        bytes = &bytes[written..];
    }
    Ok(())
}

/// Reads until the reply's `\0`, the end of the stream, or more than a reply can be.
async fn read_reply(socket: &mut Socket) -> Result<Vec<u8>, Unreachable> {
    let mut reply = Vec::new();
    let mut buffer = [0u8; 256];
    while !clamd::reply_complete(&reply) {
        let mut read = ReadBuf::new(&mut buffer);
        poll_fn(|cx| Pin::new(&mut *socket).poll_read(cx, &mut read))
            .await
            .map_err(|e| Unreachable::Connection(e.to_string()))?;
        let received = read.filled();
        if received.is_empty() {
            break;
        }
        reply.extend_from_slice(received);
        if reply.len() > clamd::MAX_REPLY_LEN {
            return Err(Unreachable::BrokenReply(format!(
                "more than {} bytes without an end",
                clamd::MAX_REPLY_LEN
            )));
        }
    }
    Ok(reply)
}
