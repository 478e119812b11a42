//! A result-callback receiver on 127.0.0.1 for server tests: records every POST (body,
//! signature, operation id header) and can answer the first N requests with 503 to exercise
//! retries. Dropping it stops it. Shared with `benches/serve_load.rs` through `#[path]`.
#![allow(dead_code)] // The tests and the benchmark use different subsets.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use tokio::task::JoinHandle;

/// One POST as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The body, byte for byte.
    pub body: Vec<u8>,
    /// `X-Callscribe-Signature`.
    pub signature: Option<String>,
    /// `X-Callscribe-Operation-Id`.
    pub operation_id: Option<String>,
    /// When it arrived.
    pub at: Instant,
}

struct Shared {
    /// Successful deliveries (answered 200), in arrival order.
    received: Mutex<Vec<Delivery>>,
    /// Requests still to be refused with 503.
    fail_next: AtomicUsize,
    /// Every request, refused or not.
    attempts: AtomicUsize,
    /// Requests still to be held this long before they are answered (and recorded); a
    /// sender that gives up or dies meanwhile leaves no delivery.
    stall_next: AtomicUsize,
    stall: Duration,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running receiver.
pub struct CallbackServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl CallbackServer {
    /// Starts a receiver that accepts everything.
    pub async fn start() -> Self {
        Self::start_failing(0).await
    }

    /// Starts a receiver that answers the first `failures` requests with 503.
    pub async fn start_failing(failures: usize) -> Self {
        Self::start_with(failures, 0, Duration::ZERO).await
    }

    /// Starts a receiver that holds the first `stalls` requests for `pause` before it
    /// answers (and records) them.
    pub async fn start_stalling(stalls: usize, pause: Duration) -> Self {
        Self::start_with(0, stalls, pause).await
    }

    async fn start_with(failures: usize, stalls: usize, stall: Duration) -> Self {
        let shared = Arc::new(Shared {
            received: Mutex::new(Vec::new()),
            fail_next: AtomicUsize::new(failures),
            attempts: AtomicUsize::new(0),
            stall_next: AtomicUsize::new(stalls),
            stall,
        });
        let app = Router::new()
            .route("/results", post(receive))
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, shared, task }
    }

    /// `http://127.0.0.1:<port>/results`.
    pub fn url(&self) -> url::Url {
        url::Url::parse(&format!("http://{}/results", self.addr)).expect("url")
    }

    /// Accepted deliveries so far.
    pub fn deliveries(&self) -> Vec<Delivery> {
        lock(&self.shared.received).clone()
    }

    /// Requests so far, including refused ones.
    pub fn attempts(&self) -> usize {
        self.shared.attempts.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` deliveries arrived or `timeout` passed; returns them all.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Delivery> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.deliveries();
            if got.len() >= n || Instant::now() >= deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for CallbackServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    shared.attempts.fetch_add(1, Ordering::SeqCst);
    let stall = shared
        .stall_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if stall {
        tokio::time::sleep(shared.stall).await;
    }
    let refuse = shared
        .fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if refuse {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    lock(&shared.received).push(Delivery {
        body: body.to_vec(),
        signature: header("x-callscribe-signature"),
        operation_id: header("x-callscribe-operation-id"),
        at: Instant::now(),
    });
    StatusCode::OK
}
