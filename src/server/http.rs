//! The HTTP side of `serve`: accepting connections under a cap, closing slow and silent ones,
//! and closing gracefully at shutdown.
//!
//! axum's own `serve` accepts every connection and never times one out, so a client that
//! opens connections and sends nothing holds one file descriptor each until the process has
//! none left; from then on `accept` fails for everyone, `/healthz` included. Here:
//!
//! * **At most [`Limits::max_connections`] connections are open at once.** The accept loop
//!   takes a semaphore permit *before* it accepts, so beyond the cap new connections wait in
//!   the kernel's listen backlog and are taken, in arrival order, as soon as an open one
//!   closes. They are not refused: a refused health probe is a failed probe, while a waiting
//!   one is answered within the header timeout at worst, because that is the longest a
//!   connection can stay open without sending a complete request. The cap is kept below the
//!   open-file limit ([`connection_cap`]), so `accept` itself does not run out of descriptors
//!   and the rest of the service (downloads, callbacks, key refresh) keeps some.
//! * **A request head must arrive within [`Limits::header_timeout`].** hyper starts that clock
//!   whenever it waits for a head: when the connection opens and after every answer on a
//!   kept-alive connection. So silent connections, heads dribbled a byte at a time and idle
//!   keep-alive connections are all closed after it.
//! * **A connection on which no byte moves for [`Limits::idle_timeout`] is closed**, whatever
//!   it is doing: a request body that stalls, a client that stops reading our answer. Handlers
//!   finish well within it (the slowest waits for a key refresh, 10 s at most).
//!
//! Authentication runs before any body is read, and hyper closes a connection whose request
//! body was left unread, so only an authenticated sender can make a connection wait for a
//! body; anyone else holds one for at most the header timeout per request they send.
//!
//! HTTP/1.1 only, as before: Graph sends HTTP/1.1, and the TLS-terminating proxy in front
//! speaks it to us.

use std::future::Future;
use std::io;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::ServerConfig;

/// How long the accept loop pauses after an error other than a failed handshake (the process
/// or the system is out of descriptors or memory): retrying at once would spin and flood the
/// log, and hyper and axum pause the same second.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_secs(1);

/// Open files kept free of connections for everything else the service opens: download and
/// callback sockets (a few per concurrent job), the key refresh, result files, the model,
/// the runtime's own descriptors. At most half of the limit when the limit is very low.
const FD_RESERVE: u64 = 256;

/// The connection limits in force (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Time to receive a complete request head, from when hyper starts waiting for it.
    pub(crate) header_timeout: Duration,
    /// Time without a byte read or written after which a connection is closed.
    pub(crate) idle_timeout: Duration,
    /// Connections open at once; more wait in the listen backlog.
    pub(crate) max_connections: usize,
}

impl Limits {
    /// The limits `config` asks for (the cap before [`connection_cap`] is applied).
    pub(crate) fn from_config(config: &ServerConfig) -> Self {
        Self {
            header_timeout: Duration::from_millis(config.header_timeout_ms),
            idle_timeout: Duration::from_millis(config.idle_timeout_ms),
            max_connections: config.max_connections,
        }
    }
}

/// `configured`, lowered if needed so that the connections plus [`FD_RESERVE`] fit in the
/// process's soft open-file limit as it is now (`callscribe serve` raises it to the hard limit
/// at start-up; an embedding program decides for itself).
pub(crate) fn connection_cap(configured: usize) -> usize {
    let Some(soft) = open_file_limit() else {
        return configured;
    };
    let available = soft.saturating_sub(FD_RESERVE.min(soft / 2)).max(1);
    let cap = usize::try_from(available).map_or(configured, |a| configured.min(a));
    if cap < configured {
        tracing::warn!(
            configured,
            cap,
            open_file_limit = soft,
            "max_connections lowered to fit the open-file limit"
        );
    }
    cap
}

#[cfg(unix)]
fn open_file_limit() -> Option<u64> {
    rlimit::getrlimit(rlimit::Resource::NOFILE)
        .ok()
        .map(|(soft, _hard)| soft)
}

#[cfg(not(unix))]
fn open_file_limit() -> Option<u64> {
    None
}

/// Serves `app` on `listener` until `stop` resolves; then stops accepting, asks every open
/// connection to close after its current request (idle ones close at once) and returns when
/// all have closed. The caller bounds that wait; dropping this future (aborting its task)
/// drops every connection with it.
///
/// Accept errors never end it: handshake failures are skipped, anything else is logged and
/// retried after [`ACCEPT_ERROR_PAUSE`].
pub(crate) async fn run(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    stop: impl Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (close_tx, close_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut stop = pin!(stop);
    loop {
        // Finished connections are reaped here so the set holds only open ones.
        while connections.try_join_next().is_some() {}
        // The permit first: at the cap, the next connection stays in the listen backlog.
        let permit = tokio::select! {
            () = &mut stop => break,
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                // The semaphore is never closed.
                Err(_) => break,
            },
        };
        let stream = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(e) if is_handshake_error(&e) => continue,
                Err(e) => {
                    tracing::error!("accept error: {e}; pausing {ACCEPT_ERROR_PAUSE:?}");
                    drop(permit);
                    tokio::select! {
                        () = &mut stop => break,
                        () = tokio::time::sleep(ACCEPT_ERROR_PAUSE) => continue,
                    }
                }
            },
        };
        connections.spawn(connection(
            stream,
            app.clone(),
            limits,
            close_rx.clone(),
            permit,
        ));
    }
    // Nothing new is accepted from here on: the socket closes, connecting clients are refused.
    drop(listener);
    close_tx.send_replace(true);
    tracing::debug!(open = connections.len(), "closing http connections");
    while connections.join_next().await.is_some() {}
}

/// Errors of one incoming connection that failed before we saw it, not of the listener.
fn is_handshake_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Serves one connection until it ends, times out, or `close` asks it to finish. The permit is
/// released when this returns, which lets the accept loop take the next connection.
async fn connection(
    stream: TcpStream,
    app: Router,
    limits: Limits,
    mut close: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        stream,
        activity: Arc::clone(&activity),
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let mut conn = pin!(builder.serve_connection(io, TowerToHyperService::new(app)));
    let mut closing = false;
    loop {
        tokio::select! {
            served = conn.as_mut() => {
                // Header timeouts, resets and malformed requests end up here: nothing the
                // operator can act on, and an attacker could make them loud.
                if let Err(e) = served {
                    tracing::debug!("http connection ended: {e}");
                }
                return;
            }
            // A closed sender means the accept loop is gone: close too.
            _ = close.changed(), if !closing => {
                // Finish the request in progress (its answer may be the 503 that tells the
                // sender to retry elsewhere); an idle connection closes at once.
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
            () = activity.idle_for(limits.idle_timeout) => {
                tracing::debug!(idle = ?limits.idle_timeout, "closing an idle http connection");
                return;
            }
        }
    }
}

/// When a byte last moved on a connection.
struct Activity {
    origin: Instant,
    /// Milliseconds from `origin` to the last read or write that moved at least one byte.
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            origin: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// Resolves once nothing has moved for `limit`. Each turn sleeps until the deadline the
    /// last activity allows, so it wakes at most once per activity seen, not per byte.
    async fn idle_for(&self, limit: Duration) {
        loop {
            let last = self.origin + Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
            let deadline = last + limit;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// A TCP stream that records its activity for the idle timeout.
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_below_the_open_file_limit() {
        let soft = open_file_limit();
        let cap = connection_cap(usize::MAX);
        match soft {
            Some(soft) => {
                assert!(
                    cap as u64 <= soft - FD_RESERVE.min(soft / 2),
                    "{cap} vs {soft}"
                );
                assert!(cap >= 1);
            }
            None => assert_eq!(cap, usize::MAX),
        }
        assert_eq!(connection_cap(3), 3, "a small cap is kept");
    }

    #[tokio::test]
    async fn idle_for_waits_from_the_last_activity() {
        let activity = Activity::new();
        let started = Instant::now();
        tokio::time::sleep(Duration::from_millis(40)).await;
        activity.touch();
        activity.idle_for(Duration::from_millis(60)).await;
        // 40 + 60 ms, less the millisecond the activity clock rounds down.
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(98), "{waited:?}");
        assert!(waited < Duration::from_secs(5), "{waited:?}");
    }
}
