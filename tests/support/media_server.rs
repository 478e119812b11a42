//! A scripted HTTP/1.1 media server on 127.0.0.1 for `fetch` tests.
//!
//! It is raw tokio rather than axum or hyper on purpose: the faults the tests need (a
//! `Content-Length` larger than the body followed by a close, a stall in the middle of a body,
//! an absurd `Content-Length`) are exactly what a well-behaved HTTP library refuses to
//! produce. Every connection serves one request and is closed (`Connection: close`), so each
//! retry is one new connection and one recorded request.
//!
//! Behaviour is a script: the n-th request gets the n-th [`Behaviour`], and the last one
//! repeats for any further requests. Every request (method, target, headers) is recorded so a
//! test can check, for example, that a redirect target never saw the `Authorization` header.
//! Dropping the server stops it and every connection task it spawned.
#![allow(dead_code)] // Each test binary uses a different subset of the helpers.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// Largest request head the server reads, in bytes; anything longer is dropped unanswered.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// How long the server waits for a request head before giving up on the connection.
const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// Upper bound for any scripted pause, so a mistaken script cannot hang a test run.
const MAX_PAUSE: Duration = Duration::from_secs(30);

/// What the server does with one request.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// `200 OK` with `body`. With `bearer: Some(token)`, a request whose `Authorization` is not
    /// exactly `Bearer <token>` gets `401` instead. `chunked` sends the body with
    /// `Transfer-Encoding: chunked` (as Graph's media endpoint does) instead of
    /// `Content-Length`.
    Serve {
        /// The recording.
        body: Vec<u8>,
        /// The token to require, if any.
        bearer: Option<String>,
        /// Chunked transfer encoding instead of `Content-Length`.
        chunked: bool,
    },
    /// An empty response with `status` and, if given, a `Retry-After` header.
    Status {
        /// HTTP status code.
        status: u16,
        /// Raw `Retry-After` value.
        retry_after: Option<String>,
    },
    /// Announces `declared` bytes, sends only `body`, then closes the connection.
    Truncated {
        /// The `Content-Length` sent.
        declared: u64,
        /// The bytes actually sent.
        body: Vec<u8>,
    },
    /// Announces `declared` bytes, sends `prefix`, then goes silent for `pause` and closes.
    StallBody {
        /// The `Content-Length` sent.
        declared: u64,
        /// The bytes sent before the stall.
        prefix: Vec<u8>,
        /// How long to stay silent (capped at 30 s).
        pause: Duration,
    },
    /// Reads the request and stays silent for `pause` before closing, never sending headers.
    StallHeaders {
        /// How long to stay silent (capped at 30 s).
        pause: Duration,
    },
    /// Sends `body` (with `Content-Length`) in `chunk`-byte writes, `interval` apart.
    Drip {
        /// The recording.
        body: Vec<u8>,
        /// Bytes per write (at least 1).
        chunk: usize,
        /// Pause between writes (capped at 30 s).
        interval: Duration,
    },
    /// Announces `declared` bytes and sends a few, then closes.
    HugeContentLength {
        /// The `Content-Length` sent.
        declared: u64,
    },
    /// A redirect (`status` 301/302/307/308) to `location`.
    Redirect {
        /// HTTP status code.
        status: u16,
        /// The `Location` header.
        location: String,
    },
}

impl Behaviour {
    /// `200 OK` with `body` (`Content-Length`), requiring `Bearer <token>`.
    pub fn serve_with_bearer(body: &[u8], token: &str) -> Self {
        Self::Serve {
            body: body.to_vec(),
            bearer: Some(token.to_owned()),
            chunked: false,
        }
    }

    /// `200 OK` with `body` (`Content-Length`), no token check.
    pub fn serve(body: &[u8]) -> Self {
        Self::Serve {
            body: body.to_vec(),
            bearer: None,
            chunked: false,
        }
    }

    /// An empty response with `status`.
    pub fn status(status: u16) -> Self {
        Self::Status {
            status,
            retry_after: None,
        }
    }

    /// `302 Found` to `location`.
    pub fn redirect(location: impl Into<String>) -> Self {
        Self::Redirect {
            status: 302,
            location: location.into(),
        }
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct SeenRequest {
    /// `GET`, …
    pub method: String,
    /// The request target: path and query.
    pub target: String,
    /// Headers in arrival order, names lowercased.
    pub headers: Vec<(String, String)>,
}

impl SeenRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

struct State {
    /// Behaviours not yet used; the last one is never removed.
    script: Mutex<VecDeque<Behaviour>>,
    seen: Mutex<Vec<SeenRequest>>,
    connections: AtomicUsize,
}

/// Poison-tolerant lock: a panicking connection task must not hide the real test failure.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl State {
    fn next_behaviour(&self) -> Behaviour {
        let mut script = lock(&self.script);
        if script.len() > 1 {
            script.pop_front().expect("non-empty script")
        } else {
            script.front().cloned().expect("non-empty script")
        }
    }
}

/// A running scripted server. Stops when dropped.
pub struct MediaServer {
    addr: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl MediaServer {
    /// Binds 127.0.0.1 on a free port and starts serving `script` (must not be empty).
    pub async fn start(script: impl IntoIterator<Item = Behaviour>) -> Self {
        let script: VecDeque<Behaviour> = script.into_iter().collect();
        assert!(
            !script.is_empty(),
            "a MediaServer needs at least one behaviour"
        );
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let state = Arc::new(State {
            script: Mutex::new(script),
            seen: Mutex::new(Vec::new()),
            connections: AtomicUsize::new(0),
        });
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&state)));
        Self { addr, state, task }
    }

    /// `127.0.0.1:<port>`, the form `allow_hosts` takes.
    pub fn authority(&self) -> String {
        self.addr.to_string()
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:<port><path_and_query>`.
    pub fn url(&self, path_and_query: &str) -> url::Url {
        url::Url::parse(&format!("http://{}{path_and_query}", self.addr)).expect("server url")
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<SeenRequest> {
        lock(&self.state.seen).clone()
    }

    /// Number of requests received so far.
    pub fn request_count(&self) -> usize {
        lock(&self.state.seen).len()
    }

    /// Number of TCP connections accepted so far, including ones that never sent a request.
    pub fn connection_count(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }
}

impl Drop for MediaServer {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every connection task.
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<State>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                state.connections.fetch_add(1, Ordering::SeqCst);
                connections.spawn(handle(stream, Arc::clone(&state)));
            }
            // Reap finished connection tasks so the set does not grow without bound.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn handle(mut stream: TcpStream, state: Arc<State>) {
    let Ok(Some(request)) = tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut stream)).await else {
        return;
    };
    let behaviour = state.next_behaviour();
    let authorization = request.header("authorization").map(str::to_owned);
    lock(&state.seen).push(request);
    // Write errors mean the client hung up, which several tests provoke on purpose.
    let _ = respond(&mut stream, behaviour, authorization.as_deref()).await;
    let _ = stream.shutdown().await;
}

/// Reads up to the blank line ending the head; `None` for garbage, oversize or early close.
async fn read_head(stream: &mut TcpStream) -> Option<SeenRequest> {
    let mut buf = Vec::with_capacity(1024);
    let mut byte = [0u8; 1024];
    let end = loop {
        let n = stream.read(&mut byte).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&byte[..n]);
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        if buf.len() > MAX_HEAD_BYTES {
            return None;
        }
    };
    let head = std::str::from_utf8(&buf[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_owned();
    let target = request_line.next()?.to_owned();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Some(SeenRequest {
        method,
        target,
        headers,
    })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        410 => "Gone",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Whatever",
    }
}

fn head(status: u16, extra: &[(&str, String)]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status} {}\r\nConnection: close\r\n",
        reason(status)
    );
    for (name, value) in extra {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    out.into_bytes()
}

async fn respond(
    stream: &mut TcpStream,
    behaviour: Behaviour,
    authorization: Option<&str>,
) -> std::io::Result<()> {
    let octets = || ("Content-Type", "application/octet-stream".to_owned());
    match behaviour {
        Behaviour::Serve {
            bearer: Some(token),
            ..
        } if authorization != Some(format!("Bearer {token}").as_str()) => {
            stream
                .write_all(&head(401, &[("Content-Length", "0".into())]))
                .await
        }
        Behaviour::Serve {
            body,
            chunked: false,
            ..
        } => {
            let h = head(200, &[octets(), ("Content-Length", body.len().to_string())]);
            stream.write_all(&h).await?;
            stream.write_all(&body).await
        }
        Behaviour::Serve {
            body,
            chunked: true,
            ..
        } => {
            let h = head(200, &[octets(), ("Transfer-Encoding", "chunked".into())]);
            stream.write_all(&h).await?;
            for piece in body.chunks(16 * 1024) {
                stream
                    .write_all(format!("{:x}\r\n", piece.len()).as_bytes())
                    .await?;
                stream.write_all(piece).await?;
                stream.write_all(b"\r\n").await?;
            }
            stream.write_all(b"0\r\n\r\n").await
        }
        Behaviour::Status {
            status,
            retry_after,
        } => {
            let mut extra = vec![("Content-Length", "0".to_owned())];
            if let Some(after) = retry_after {
                extra.push(("Retry-After", after));
            }
            stream.write_all(&head(status, &extra)).await
        }
        Behaviour::Truncated { declared, body } => {
            stream
                .write_all(&head(
                    200,
                    &[octets(), ("Content-Length", declared.to_string())],
                ))
                .await?;
            stream.write_all(&body).await
        }
        Behaviour::StallBody {
            declared,
            prefix,
            pause,
        } => {
            stream
                .write_all(&head(
                    200,
                    &[octets(), ("Content-Length", declared.to_string())],
                ))
                .await?;
            stream.write_all(&prefix).await?;
            stream.flush().await?;
            tokio::time::sleep(pause.min(MAX_PAUSE)).await;
            Ok(())
        }
        Behaviour::StallHeaders { pause } => {
            tokio::time::sleep(pause.min(MAX_PAUSE)).await;
            Ok(())
        }
        Behaviour::Drip {
            body,
            chunk,
            interval,
        } => {
            stream
                .write_all(&head(
                    200,
                    &[octets(), ("Content-Length", body.len().to_string())],
                ))
                .await?;
            for piece in body.chunks(chunk.max(1)) {
                stream.write_all(piece).await?;
                stream.flush().await?;
                tokio::time::sleep(interval.min(MAX_PAUSE)).await;
            }
            Ok(())
        }
        Behaviour::HugeContentLength { declared } => {
            stream
                .write_all(&head(
                    200,
                    &[octets(), ("Content-Length", declared.to_string())],
                ))
                .await?;
            stream.write_all(&[0u8; 1024]).await
        }
        Behaviour::Redirect { status, location } => {
            let extra = [("Location", location), ("Content-Length", "0".to_owned())];
            stream.write_all(&head(status, &extra)).await
        }
    }
}
