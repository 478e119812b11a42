//! The `callscribe serve` webhook service: Graph notifications in over HTTP, results out to sinks.
//!
//! A calling bot points Microsoft Graph's notification URL (or its own relay) at
//! `POST /api/calls`. Each request is authenticated, parsed, de-duplicated and put on a bounded
//! in-memory queue, and answered `202 Accepted` in well under a millisecond of our own work;
//! background workers then download, decode, trim and transcribe each recording and hand the
//! [`RecordingResult`] to every configured sink.
//!
//! ```text
//!  POST ─▶ auth ─▶ body ≤ limit ─▶ notification::parse ─▶ dedup + reserve ─▶ 202
//!                                                               │
//!                              bounded queue (mpsc) ◀───────────┘
//!                                     │
//!           dispatcher: one slot per concurrent job ─▶ JobRunner (download, CPU stages)
//!                                     │
//!                          sinks: stdout · results dir · signed callback
//! ```
//!
//! # Using it as a library
//!
//! [`Server::build`] turns a [`ServerConfig`] and a [`JobRunner`] (normally a
//! [`Processor`]) into a server; [`router`] gives its axum [`Router`](axum::Router) (testable
//! without a socket); [`serve`] runs it on a bound listener until a shutdown future resolves and
//! then drains the queue. [`run()`] is what `callscribe serve` calls once it has merged flags,
//! environment and the TOML file ([`read_config_file`]) into a [`ServerConfig`]: it adds the
//! open-file limit, the model load, the listen socket, signals and a tokio runtime.
//!
//! # Endpoints
//!
//! | method and path | answer |
//! |---|---|
//! | `POST /api/calls` ([`ServerConfig::path`]) | `202` with `{"accepted", "duplicates", "ignored"}`; errors below |
//! | `GET /healthz` | `200 ok` while the process serves HTTP at all |
//! | `GET /readyz` | `200` when workers run, signing keys are loaded and the queue has room; else `503` |
//! | `GET /metrics` | Prometheus text: counters, gauges, stage histograms (see below) |
//!
//! Errors are JSON, `{"error": {"kind": "...", "message": "..."}}`, and never echo the body or
//! the token: `400 invalid_notification` (not JSON, wrong envelope), `401 unauthorized`
//! (missing, malformed, unsigned, badly signed, expired token; wrong audience or issuer),
//! `403 forbidden` (a valid token from a tenant outside the allow-list), `413 too_large` (body
//! over [`ServerConfig::body_limit_bytes`], which may not exceed the parser's
//! [`MAX_BODY_BYTES`](crate::notification::MAX_BODY_BYTES)), `413 too_many_notifications` (an
//! envelope of more than [`MAX_NOTIFICATIONS`](crate::notification::MAX_NOTIFICATIONS)) or
//! `413 too_many_operations` (more operations than the queue can ever hold),
//! `503 queue_full` / `503 shutting_down` with `Retry-After`.
//!
//! # Decisions
//!
//! * **All or nothing per POST.** One POST may carry several operations. Queue slots for all of
//!   its new operations are reserved at once ([`tokio::sync::mpsc::Sender::try_reserve_many`]);
//!   if they don't all fit, the POST is answered `503` and *nothing* from it is queued or marked
//!   as seen, so Graph's retry of the same POST is processed in full. Accepting part of a POST
//!   would need a partial-success answer that Graph does not understand.
//! * **De-duplication** is by operation id plus `@odata.etag` (when present), for
//!   [`ServerConfig::dedup_ttl_s`], in a map bounded by [`ServerConfig::dedup_capacity`]
//!   (the oldest entries go first when it is full). An operation is marked as seen in the same
//!   critical section that reserves its queue slot, so two concurrent copies of one
//!   notification cannot both be accepted, and a `503` marks nothing. Duplicates are answered
//!   `202` and counted. Failed operations without any id cannot be told apart and are never
//!   de-duplicated.
//! * **What "accepted" promises.** Every operation in a `202` answer produces exactly one
//!   result: a transcript, `no_speech`, or a typed failure (including the operations Graph
//!   itself reports as failed, which go through the queue like downloads so that they reach the
//!   same sinks in the same order). A panic in processing becomes a `corrupt_media` result. The
//!   queue is in memory: the promise holds for a graceful shutdown within
//!   [`ServerConfig::shutdown_grace_s`]; a crash or a missed deadline loses what was queued
//!   (the deadline case is logged with the operation ids). Graph keeps a recording only
//!   briefly, so a durable queue would mostly preserve downloads that can no longer succeed.
//! * **A fleet** (`redis.url`): the queue and the de-duplication move to a Redis Stream and
//!   claim keys shared by every replica, with the same all-or-nothing admission and the same
//!   promise, now surviving a replica's crash (a dead worker's job is taken over); roles split
//!   intake from workers. See `redis/mod.rs`.
//! * **Workers.** A dispatcher takes a job off the queue only when one of
//!   [`ServerConfig::download_concurrency`] slots is free, so the queue length is the true
//!   backlog and it fills (→ `503`) when processing falls behind. Inside a slot the
//!   [`Processor`] downloads asynchronously and runs the CPU stages on tokio's
//!   blocking pool behind its own semaphore sized to the cores. The slot is released before the
//!   result is delivered, so a slow callback endpoint does not stall processing.
//! * **Shutdown** drains the queue within [`ServerConfig::shutdown_grace_s`] and reports what
//!   the deadline cut off in [`ServeReport::unfinished`]; the sequence is described once, in the
//!   README's "Shutdown" section, and step by step on [`serve`].
//! * **Connections** are capped ([`ServerConfig::max_connections`], kept below the open-file
//!   limit) and timed out: a request head must arrive within
//!   [`ServerConfig::header_timeout_ms`] (which also closes idle keep-alive connections) and a
//!   connection that moves no byte for [`ServerConfig::idle_timeout_ms`] is closed, so clients
//!   holding silent connections cannot starve `/healthz` or the notification endpoint. Beyond
//!   the cap, connections wait in the listen backlog. Details in `http.rs`.
//! * **Authentication** (see [`AuthConfig`]) runs before the body is read, so an
//!   unauthenticated sender cannot make us buffer a megabyte. `--auth none` must be asked for.
//! * **Metrics** (`metrics.rs`) are `prometheus-client` families in a registry owned by the
//!   service's state, not a global one, encoded in the Prometheus text format on each scrape.

mod auth;
mod config;
mod handlers;
mod http;
mod metrics;
mod queue;
mod redis;
mod run;
mod sink;
mod worker;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

pub use auth::AuthMode;
pub use config::{
    AuthConfig, CallbackConfig, RedisConfig, RedisUrl, Role, SecretValue, ServerConfig, SinkConfig,
    DEFAULT_ISSUERS, DEFAULT_OPENID_URL,
};
pub use handlers::router;
pub use run::{read_config_file, run};
pub use sink::{sign_body, verify_signature, SIGNATURE_HEADER};

use crate::notification::RecordingJob;
use crate::processor::Processor;
use crate::result::RecordingResult;
use auth::Auth;
use metrics::Metrics;
use queue::{Admission, Admit, QueuedJob, Work};
use redis::RedisQueue;
use sink::Sinks;

/// Why the service could not be built or run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// A setting is missing or invalid.
    #[error("invalid server configuration: {0}")]
    Config(String),
    /// Binding, reading a file or another I/O operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done (a path or an address, never a URL with a query).
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The token signing keys could not be loaded (JWKS file or OpenID configuration).
    #[error("cannot load the token signing keys: {0}")]
    Keys(String),
    /// Building the processor (HTTP client, Whisper model) failed.
    #[error(transparent)]
    Processor(#[from] crate::Error),
}

impl ServerError {
    fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}

impl From<ServerError> for crate::Error {
    fn from(e: ServerError) -> Self {
        match e {
            ServerError::Processor(e) => e,
            ServerError::Io { context, source } => crate::Error::Io { context, source },
            // `Error::Config` already says "invalid configuration": don't say it twice.
            ServerError::Config(detail) => crate::Error::Config { detail },
            other => crate::Error::Config {
                detail: other.to_string(),
            },
        }
    }
}

/// A boxed, sendable future, as returned by [`JobRunner::run`].
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// What a worker does with one downloadable recording: the processing seam.
///
/// The service uses a [`Processor`] (download, decode, trim, transcribe). Tests and the load
/// benchmark substitute a closure `Fn(RecordingJob) -> impl Future<Output = RecordingResult>`,
/// which implements this trait too.
///
/// Contract: the future always yields exactly one result (errors are `failed` results). A panic
/// is caught by the worker and becomes a `corrupt_media` result.
pub trait JobRunner: Send + Sync + 'static {
    /// Processes one job.
    fn run(&self, job: RecordingJob) -> BoxFuture<RecordingResult>;

    /// Bytes downloaded so far, for `callscribe_download_bytes_total`. Default: 0.
    fn bytes_downloaded(&self) -> u64 {
        0
    }
}

impl JobRunner for Processor {
    fn run(&self, job: RecordingJob) -> BoxFuture<RecordingResult> {
        // A clone is two `Arc` bumps; the future must own it to be spawned.
        let processor = self.clone();
        Box::pin(async move { processor.process_job(job).await })
    }

    fn bytes_downloaded(&self) -> u64 {
        Processor::bytes_downloaded(self)
    }
}

impl<F, Fut> JobRunner for F
where
    F: Fn(RecordingJob) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = RecordingResult> + Send + 'static,
{
    fn run(&self, job: RecordingJob) -> BoxFuture<RecordingResult> {
        Box::pin(self(job))
    }
}

/// The shared state behind every request handler; cheap to clone.
///
/// Get it from [`Server::state`] and pass it to [`router`].
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Shared>,
}

struct Shared {
    /// Route of the notification endpoint.
    path: String,
    /// Largest notification body read, in bytes.
    body_limit: usize,
    /// `Retry-After` seconds sent with every 503.
    retry_after_s: u64,
    auth: Auth,
    intake: Intake,
    /// What this replica does (always `both` without Redis).
    role: Role,
    metrics: Metrics,
    runner: Arc<dyn JobRunner>,
    /// Cleared when shutdown begins: from then on notifications get 503.
    accepting: AtomicBool,
    /// Set while the workers run (inside [`serve`]).
    workers_running: AtomicBool,
}

/// Where accepted operations go: the in-process queue, or the shared one in Redis.
enum Intake {
    Memory(Admission),
    Redis(Arc<RedisQueue>),
}

impl Intake {
    async fn admit(&self, works: Vec<Work>) -> Admit {
        match self {
            Self::Memory(admission) => admission.admit(works),
            Self::Redis(queue) => queue.admit(works).await,
        }
    }

    /// Jobs waiting (in Redis: waiting or running, fleet-wide, as of the last poll).
    fn depth(&self) -> usize {
        match self {
            Self::Memory(admission) => admission.depth(),
            Self::Redis(queue) => queue.depth(),
        }
    }

    fn capacity(&self) -> usize {
        match self {
            Self::Memory(admission) => admission.capacity(),
            Self::Redis(queue) => queue.capacity(),
        }
    }

    /// Room for a job (in Redis: as of the last poll, and Redis reachable).
    fn has_room(&self) -> bool {
        match self {
            Self::Memory(admission) => admission.has_room(),
            Self::Redis(queue) => queue.is_up() && queue.depth() < queue.capacity(),
        }
    }

    fn redis(&self) -> Option<&Arc<RedisQueue>> {
        match self {
            Self::Memory(_) => None,
            Self::Redis(queue) => Some(queue),
        }
    }
}

impl AppState {
    /// Jobs waiting in the queue (not yet started). With Redis: entries in the shared stream
    /// (waiting or running, fleet-wide), as of the last poll.
    pub fn queue_depth(&self) -> usize {
        self.inner.intake.depth()
    }

    /// Whether `/readyz` would answer 200: workers running, accepting, signing keys loaded
    /// and room in the queue. With Redis, also Redis reachable; a worker-only replica needs
    /// no keys and no room, only Redis.
    pub fn is_ready(&self) -> bool {
        let s = &self.inner;
        let running =
            s.workers_running.load(Ordering::Acquire) && s.accepting.load(Ordering::Acquire);
        running
            && match (s.role.intake(), s.intake.redis()) {
                (false, Some(queue)) => queue.is_up(),
                _ => s.auth.has_keys() && s.intake.has_room(),
            }
    }

    /// The `/metrics` text.
    pub fn metrics_text(&self) -> String {
        let s = &self.inner;
        s.metrics.render(&metrics::Gauges {
            queue_depth: s.intake.depth(),
            queue_capacity: s.intake.capacity(),
            bytes_downloaded: s.runner.bytes_downloaded(),
            ready: self.is_ready(),
        })
    }
}

/// A built service that has not started its workers yet. Run it with [`serve`].
///
/// Notifications posted to [`router`]`(server.state())` before [`serve`] starts are queued (up
/// to the capacity) and processed once it does.
pub struct Server {
    state: AppState,
    queue: Backend,
    sinks: Arc<Sinks>,
    download_concurrency: usize,
    shutdown_grace: Duration,
    http_limits: http::Limits,
}

impl Server {
    /// Builds the service: validates `config`, loads the signing keys (a JWKS file must load;
    /// an unreachable OpenID endpoint only delays readiness), opens the sinks.
    ///
    /// `config.processor` is not used here: `runner` is already built. See
    /// [`Server::with_processor`].
    ///
    /// # Errors
    ///
    /// [`ServerError::Config`] for invalid settings, [`ServerError::Keys`] for an unreadable
    /// JWKS file, [`ServerError::Io`] for a results folder that cannot be created.
    pub async fn build(
        config: &ServerConfig,
        runner: Arc<dyn JobRunner>,
    ) -> Result<Self, ServerError> {
        config.validate()?;
        let auth = Auth::build(&config.auth).await?;
        let sinks = Arc::new(Sinks::build(&config.sinks).await?);
        let (intake, queue) = match &config.redis.url {
            None => {
                let (tx, rx) = mpsc::channel(config.queue_capacity);
                let admission = Admission::new(
                    tx,
                    Duration::from_secs(config.dedup_ttl_s),
                    config.dedup_capacity,
                );
                (Intake::Memory(admission), Backend::Memory(rx))
            }
            Some(_) => {
                let queue = Arc::new(RedisQueue::new(
                    &config.redis,
                    config.queue_capacity,
                    config.dedup_ttl_s,
                )?);
                (Intake::Redis(Arc::clone(&queue)), Backend::Redis(queue))
            }
        };
        let redis = matches!(queue, Backend::Redis(_));
        let state = AppState {
            inner: Arc::new(Shared {
                path: config.path.clone(),
                body_limit: config.body_limit_bytes,
                retry_after_s: config.retry_after_s,
                auth,
                intake,
                role: config.redis.role,
                metrics: Metrics::new(redis),
                runner,
                accepting: AtomicBool::new(true),
                workers_running: AtomicBool::new(false),
            }),
        };
        Ok(Self {
            state,
            queue,
            sinks,
            download_concurrency: config.download_concurrency,
            shutdown_grace: Duration::from_secs(config.shutdown_grace_s),
            http_limits: http::Limits::from_config(config),
        })
    }

    /// Builds a [`Processor`] from `config.processor` (loading the Whisper model on the
    /// blocking pool, once) and then the service around it.
    ///
    /// # Errors
    ///
    /// As [`Server::build`], plus [`ServerError::Processor`] when the model or the download
    /// policy is invalid.
    pub async fn with_processor(config: &ServerConfig) -> Result<Self, ServerError> {
        config.validate()?;
        let processor_config = config.processor.clone();
        // Loading a model reads and parses tens of megabytes: not on an async worker thread.
        let processor = tokio::task::spawn_blocking(move || Processor::new(processor_config))
            .await
            .map_err(|e| ServerError::Config(format!("loading the processor failed: {e}")))??;
        Self::build(config, Arc::new(processor)).await
    }

    /// The handlers' state, for [`router`].
    pub fn state(&self) -> AppState {
        self.state.clone()
    }
}

/// The workers' side of the queue.
enum Backend {
    Memory(mpsc::Receiver<QueuedJob>),
    Redis(Arc<RedisQueue>),
}

/// What happened during [`serve`], for the caller's log and exit code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServeReport {
    /// Results produced (and handed to the sinks) while serving and draining.
    pub finished: u64,
    /// Accepted operations still queued or running when the shutdown deadline passed; their
    /// results were never produced. 0 after a clean shutdown.
    pub unfinished: usize,
}

/// How long the HTTP side may take to close connections after the queue has drained.
const HTTP_CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Runs `server` on `listener` until `shutdown` resolves, then drains.
///
/// The order matters and is the point of this function:
///
/// 1. The workers and the periodic key refresh start, then HTTP; readiness turns on.
/// 2. `shutdown` resolves (SIGTERM, Ctrl-C, a test's oneshot…).
/// 3. Accepting stops: notifications get `503 shutting_down`, `/readyz` fails, but HTTP keeps
///    answering so that senders learn to retry instead of timing out.
/// 4. The queue is closed and drained: queued and running jobs finish and are delivered,
///    until [`ServerConfig::shutdown_grace_s`] after step 2.
/// 5. HTTP shuts down gracefully (open requests finish, idle connections close).
///
/// # Errors
///
/// Only if the HTTP task itself fails (a bug: accept errors are logged and retried); jobs
/// never make this fail.
pub async fn serve<F>(
    listener: TcpListener,
    server: Server,
    shutdown: F,
) -> Result<ServeReport, ServerError>
where
    F: Future<Output = ()> + Send + 'static,
{
    let Server {
        state,
        queue,
        sinks,
        download_concurrency,
        shutdown_grace,
        http_limits,
    } = server;
    let local = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| "listener".to_owned());

    // The deadline doubles as the stop signal: `None` while running, `Some(when)` once
    // shutdown has begun.
    let (stop_tx, stop_rx) = watch::channel::<Option<Instant>>(None);
    let ctx = worker::Context {
        state: state.clone(),
        sinks,
    };
    let mut poller = None;
    let worker = match queue {
        Backend::Memory(queue) => {
            tokio::spawn(worker::dispatch(queue, ctx, download_concurrency, stop_rx))
        }
        Backend::Redis(queue) => {
            poller = Some(tokio::spawn({
                let (queue, state) = (Arc::clone(&queue), state.clone());
                async move { queue.poll(&state.inner.metrics).await }
            }));
            if queue.role().worker() {
                tokio::spawn(redis::worker::dispatch(
                    queue,
                    ctx,
                    download_concurrency,
                    stop_rx,
                ))
            } else {
                // An intake replica runs no jobs: what it accepted is in Redis, for the
                // workers, so its shutdown has nothing to drain.
                tokio::spawn(async move {
                    let mut stop_rx = stop_rx;
                    let _ = stop_rx.wait_for(Option::is_some).await;
                    ServeReport::default()
                })
            }
        }
    };
    let refresher = state.inner.auth.spawn_refresher();
    state.inner.workers_running.store(true, Ordering::Release);

    let (http_stop_tx, http_stop_rx) = tokio::sync::oneshot::channel::<()>();
    let app = router(state.clone());
    let limits = http::Limits {
        max_connections: http::connection_cap(http_limits.max_connections),
        ..http_limits
    };
    let mut http = tokio::spawn(http::run(listener, app, limits, async move {
        // Either an explicit stop, or the sender was dropped: both mean stop.
        let _ = http_stop_rx.await;
    }));
    tracing::info!(
        addr = %local,
        max_connections = limits.max_connections,
        header_timeout_ms = limits.header_timeout.as_millis(),
        idle_timeout_ms = limits.idle_timeout.as_millis(),
        "serving"
    );

    // Step 2: wait for the shutdown request, unless HTTP dies first (then there is no point
    // in waiting: nothing new can arrive, so drain what was accepted and report the error).
    let mut http_error = None;
    tokio::select! {
        () = shutdown => {}
        joined = &mut http => {
            http_error = Some(match joined {
                Ok(()) => ServerError::Config("http server stopped unexpectedly".into()),
                Err(e) => ServerError::Config(format!("http server task failed: {e}")),
            });
        }
    }

    // Step 3: refuse new work first, so nothing can be accepted after the queue is closed.
    state.inner.accepting.store(false, Ordering::Release);
    let deadline = Instant::now() + shutdown_grace;
    tracing::info!(
        grace_s = shutdown_grace.as_secs_f64(),
        "shutting down: draining the queue"
    );

    // Step 4: the dispatcher closes the queue, drains it and enforces the deadline itself.
    let _ = stop_tx.send(Some(deadline));
    let report = match worker.await {
        Ok(report) => report,
        Err(e) => {
            // The dispatcher catches job panics; a panic here would be our own bug.
            tracing::error!("worker dispatcher failed: {e}");
            ServeReport {
                finished: 0,
                unfinished: state.inner.intake.depth(),
            }
        }
    };
    state.inner.workers_running.store(false, Ordering::Release);
    if let Some(refresher) = refresher {
        refresher.abort();
    }
    if let Some(poller) = poller {
        poller.abort();
    }

    // Step 5.
    if http_error.is_none() {
        let _ = http_stop_tx.send(());
        match tokio::time::timeout(HTTP_CLOSE_GRACE, &mut http).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!("http server task failed during shutdown: {e}"),
            Err(_) => {
                // Slow clients holding requests open must not keep the process alive.
                tracing::warn!("http connections still open after the grace period; closing them");
                http.abort();
            }
        }
    }
    if report.unfinished > 0 {
        tracing::error!(
            unfinished = report.unfinished,
            "shutdown deadline passed: {} accepted operations were not finished",
            report.unfinished
        );
    } else {
        tracing::info!(
            finished = report.finished,
            "shutdown complete: every accepted operation finished"
        );
    }
    match http_error {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

/// An HTTP client for the key endpoint and the result callback: the same TLS, proxy and
/// retry set-up as recording downloads ([`crate::fetch::client::builder`]), no redirects (a
/// signing-key URL or a callback that moves is a configuration to fix, not to follow), and
/// `timeout` for the whole request, of which connecting may take at most 5 s.
fn http_client(timeout: Duration) -> Result<reqwest::Client, String> {
    crate::fetch::client::builder()?
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .build()
        .map_err(|e| format!("cannot build http client: {e}"))
}
