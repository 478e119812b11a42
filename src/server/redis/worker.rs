//! The worker of the shared queue: reads jobs from the Redis Stream as a consumer of the
//! group, takes over jobs of dead workers, runs them with bounded concurrency, delivers each
//! result once per sink, and only then acknowledges and deletes the entry.
//!
//! The loop mirrors the in-memory dispatcher (`server/worker.rs`): it takes a slot before it
//! reads, so entries wait *in Redis* (where every replica can see and take them) rather than
//! in this process. Each free slot first looks for a job to take over (at most every half
//! visibility timeout: the scan is a round trip), then blocks up to a second on new entries.
//!
//! Failures of Redis never end the loop: a failed read waits with jittered exponential
//! back-off (100 ms … 5 s) and tries again; the connection manager reconnects underneath. A
//! job whose acknowledgement fails is retried the same way, a bounded number of times; if it
//! still fails the entry stays pending and is taken over later, and its sinks, which recorded
//! their delivery, are skipped then.
//!
//! At shutdown the loop stops reading; running jobs get until the deadline. A job cut off
//! there stays pending in Redis and another replica takes it over after the visibility
//! timeout: an entry read but not started when the loop stopped is in the same state.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use super::job::{self, DecodeError};
use super::{Entry, RedisQueue};
use crate::error::ErrorKind;
use crate::fetch::retry::Backoff;
use crate::notification::source_of;
use crate::result::{ErrorInfo, RecordingResult, Source};
use crate::server::metrics::JobStage;
use crate::server::metrics::Sink;
use crate::server::queue::Work;
use crate::server::sink::SinkSet;
use crate::server::worker::{produce, Context};
use crate::server::ServeReport;

/// Attempts at acknowledging a finished job before leaving it to a takeover: with delays
/// capped at 5 s, a Redis outage of a few minutes.
const FINISH_ATTEMPTS: u32 = 60;

/// Runs until shutdown is signalled and the running jobs are done (or the deadline passes).
pub(crate) async fn dispatch(
    queue: Arc<RedisQueue>,
    ctx: Context,
    concurrency: usize,
    mut stop: watch::Receiver<Option<Instant>>,
) -> ServeReport {
    let slots = Arc::new(Semaphore::new(concurrency));
    let mut tasks: JoinSet<()> = JoinSet::new();
    let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
    let claim_every = Duration::from_millis(queue.config.visibility_timeout_ms / 2);
    let mut failures = 0u32;
    let mut cursor = "0-0".to_owned();
    let mut next_scan = Instant::now();
    // Entries running here: a takeover scan can hand one back to this very consumer (after
    // a Redis outage its claim looks stale), and it must not run twice side by side.
    let running: Arc<Mutex<HashSet<String>>> = Arc::default();
    if let Err(e) = queue.ensure_group().await {
        queue.mark_down("creating the consumer group", &e);
    }
    tracing::info!(
        consumer = queue.consumer(),
        "worker reading the shared queue"
    );
    {
        let stopped = stop.wait_for(Option::is_some);
        tokio::pin!(stopped);
        loop {
            let slot = tokio::select! {
                biased;
                _ = &mut stopped => break,
                slot = Arc::clone(&slots).acquire_owned() => slot,
            };
            let Ok(slot) = slot else { break };
            let next = async {
                if Instant::now() >= next_scan {
                    let (next_cursor, entry, trimmed) = queue.take_over(&cursor).await?;
                    if trimmed > 0 {
                        tracing::warn!(trimmed, "pending entries were trimmed before a takeover");
                    }
                    let pass_done = next_cursor == "0-0";
                    cursor = next_cursor;
                    if let Some(entry) = entry {
                        return Ok(Some((entry, true)));
                    }
                    if pass_done {
                        next_scan = Instant::now() + claim_every;
                    }
                }
                queue.read_new().await.map(|e| e.map(|e| (e, false)))
            };
            let next = tokio::select! {
                biased;
                _ = &mut stopped => break,
                next = next => next,
            };
            match next {
                Ok(Some((entry, taken_over))) => {
                    failures = 0;
                    if !lock(&running).insert(entry.id.clone()) {
                        tracing::debug!(entry = %entry.id, "claimed an entry that runs here already");
                        continue;
                    }
                    let (ctx, queue, running) =
                        (ctx.clone(), Arc::clone(&queue), Arc::clone(&running));
                    tasks.spawn(async move {
                        let id = entry.id.clone();
                        run_entry(entry, taken_over, slot, &ctx, &queue).await;
                        lock(&running).remove(&id);
                    });
                }
                Ok(None) => failures = 0,
                Err(e) => {
                    queue.mark_down("reading jobs", &e);
                    failures = failures.saturating_add(1);
                    drop(slot);
                    let delay = backoff.delay(failures);
                    tokio::select! {
                        biased;
                        _ = &mut stopped => break,
                        () = tokio::time::sleep(delay) => {}
                    }
                }
            }
            while let Some(joined) = tasks.try_join_next() {
                log_join_error(joined);
            }
        }
    }

    let deadline = stop.borrow().map(tokio::time::Instant::from_std);
    let drain = async {
        while let Some(joined) = tasks.join_next().await {
            log_join_error(joined);
        }
    };
    let drained = crate::server::worker::finishes_by(deadline, drain).await;
    let mut unfinished = 0;
    if !drained {
        unfinished = tasks.len();
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
        tracing::error!(
            unfinished,
            "shutdown deadline passed with jobs running; they stay pending in redis and another \
             worker takes them over after the visibility timeout"
        );
    }
    ServeReport {
        finished: ctx.state.inner.metrics.finished_total(),
        unfinished,
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn log_join_error(joined: Result<(), tokio::task::JoinError>) {
    if let Err(e) = joined {
        if !e.is_cancelled() {
            tracing::error!("job task failed: {e}");
        }
    }
}

/// What a read entry turned out to be.
enum Plan {
    /// Run it (download and process, or deliver Graph's failure).
    Run(Box<Work>),
    /// Deliver this result without running anything, recording the delivery under the key
    /// (see `run_entry`).
    Deliver(Box<RecordingResult>, Option<String>),
    /// Nothing to deliver (no operation id could be read): just drop the entry.
    Drop,
}

/// Decides what to do with `entry`: malformed entries, jobs past their takeovers and jobs
/// too old to download become typed failures without running.
fn plan(entry: &Entry, taken_over: bool, queue: &RedisQueue, ctx: &Context) -> Plan {
    let stream_metrics = ctx.state.inner.metrics.stream.as_ref();
    let decoded = match &entry.job {
        Some(json) => job::decode(json),
        None => Err(DecodeError::Shape),
    };
    let work = match decoded {
        Ok(work) => work,
        Err(e) => {
            return match entry.op.as_deref().filter(|op| !op.is_empty()) {
                Some(op) => {
                    tracing::warn!(entry = %entry.id, operation_id = op, "malformed queued job: {e}");
                    Plan::Deliver(
                        Box::new(failure(
                            op,
                            ErrorKind::InvalidNotification,
                            format!("{e}; the operation could not be processed"),
                        )),
                        Some(format!("{op}\0")),
                    )
                }
                None => {
                    tracing::error!(entry = %entry.id, "malformed queued job without an operation id, dropped: {e}");
                    if let Some(m) = stream_metrics {
                        m.malformed.inc();
                    }
                    Plan::Drop
                }
            };
        }
    };
    if taken_over {
        if let Some(m) = stream_metrics {
            m.takeovers.inc();
        }
        let max_deliveries = 1 + u64::from(queue.config.max_takeovers);
        tracing::warn!(
            entry = %entry.id,
            operation_id = work.operation_id(),
            deliveries = entry.deliveries,
            "taking over a job whose worker stopped renewing its claim"
        );
        if entry.deliveries > max_deliveries {
            let message = format!(
                "the job's worker stopped {} times (died or lost redis); not run again",
                entry.deliveries - 1
            );
            return Plan::Deliver(
                Box::new(RecordingResult::failed(
                    source_of(work.source()),
                    ErrorInfo {
                        kind: ErrorKind::WorkerLost,
                        message,
                    },
                )),
                work.dedup_key(),
            );
        }
    }
    if let (Work::Download(_), Some(added)) = (&work, entry.added_ms()) {
        let age_ms = queue.now_ms().saturating_sub(added);
        if age_ms > queue.config.job_max_age_s.saturating_mul(1000) {
            if let Some(m) = stream_metrics {
                m.expired.inc();
            }
            let message = format!(
                "the job waited {:.1} s, longer than the {} s a recording is kept; not downloaded",
                age_ms as f64 / 1e3,
                queue.config.job_max_age_s
            );
            return Plan::Deliver(
                Box::new(RecordingResult::failed(
                    source_of(work.source()),
                    ErrorInfo {
                        kind: ErrorKind::Expired,
                        message,
                    },
                )),
                work.dedup_key(),
            );
        }
    }
    Plan::Run(Box::new(work))
}

/// A failed result for an operation known only by its id.
fn failure(operation_id: &str, kind: ErrorKind, message: String) -> RecordingResult {
    let source = Source {
        operation_id: Some(operation_id.to_owned()),
        ..Source::default()
    };
    RecordingResult::failed(source, ErrorInfo { kind, message })
}

/// Runs one entry to its acknowledgement.
async fn run_entry(
    entry: Entry,
    taken_over: bool,
    slot: OwnedSemaphorePermit,
    ctx: &Context,
    queue: &Arc<RedisQueue>,
) {
    let metrics = &ctx.state.inner.metrics;
    metrics.in_flight.inc();
    if let Some(added) = entry.added_ms() {
        let waited = Duration::from_millis(queue.now_ms().saturating_sub(added));
        metrics.observe_stage(JobStage::Queue, waited);
    }
    // Renew the claim while the job runs and is delivered, so it is not taken over.
    let renewer = {
        let (queue, id) = (Arc::clone(queue), entry.id.clone());
        let every = Duration::from_millis(queue.config.visibility_timeout_ms / 3);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                if let Err(e) = queue.renew(&id).await {
                    queue.mark_down("renewing a claim", &e);
                }
            }
        })
    };

    // The key the sinks record their delivery under: the operation (+ etag) when there is
    // one, as results are keyed by operation; otherwise the entry itself.
    let (plan, delivery_key) = {
        let plan = plan(&entry, taken_over, queue, ctx);
        let key = match &plan {
            Plan::Run(work) => work.dedup_key(),
            Plan::Deliver(_, key) => key.clone(),
            Plan::Drop => None,
        };
        (plan, key.unwrap_or_else(|| format!("entry:{}", entry.id)))
    };
    let result = match plan {
        Plan::Run(work) => Some(produce(*work, &ctx.state).await),
        Plan::Deliver(result, _) => Some(*result),
        Plan::Drop => None,
    };
    drop(slot);
    let mut delivered = SinkSet::EMPTY;
    if let Some(result) = result {
        metrics.record_result(&result);
        let started = Instant::now();
        delivered = deliver_once(&result, &delivery_key, ctx, queue).await;
        metrics.observe_stage(JobStage::Deliver, started.elapsed());
    }
    finish(&entry, &delivery_key, delivered, queue).await;
    renewer.abort();
    metrics.in_flight.dec();
}

/// Delivers `result` to every configured sink that has not taken it under `key` yet, and
/// returns the sinks that have it now. If Redis cannot say which sinks took it, every sink
/// gets it: a duplicate is better than a lost result (the callback's receiver de-duplicates
/// by `X-Callscribe-Operation-Id`).
async fn deliver_once(
    result: &RecordingResult,
    key: &str,
    ctx: &Context,
    queue: &RedisQueue,
) -> SinkSet {
    let metrics = &ctx.state.inner.metrics;
    let done_before = match queue.delivered(key).await {
        Ok(set) => set,
        Err(e) => {
            queue.mark_down("reading delivery records", &e);
            SinkSet::EMPTY
        }
    };
    if ctx.sinks.configured().without(done_before) == SinkSet::EMPTY {
        tracing::info!(
            operation_id = result.source.operation_id.as_deref().unwrap_or(""),
            "result already delivered by an earlier run of this job"
        );
        return done_before;
    }
    let record = |sink: Sink| async move {
        if let Err(e) = queue.record_delivered(key, sink).await {
            // `finish` records it again with the acknowledgement.
            queue.mark_down("recording a delivery", &e);
        }
    };
    let done = ctx
        .sinks
        .deliver_except(result, metrics, done_before, record)
        .await;
    done.union(done_before)
}

/// Records the deliveries and acknowledges and deletes the entry, retrying with back-off (at
/// most a third of the visibility timeout apart, so that after an outage this usually wins
/// the race against a takeover) a bounded number of times.
async fn finish(entry: &Entry, key: &str, delivered: SinkSet, queue: &RedisQueue) {
    let cap =
        Duration::from_millis(queue.config.visibility_timeout_ms / 3).min(Duration::from_secs(5));
    let backoff = Backoff::new(Duration::from_millis(100), cap);
    for attempt in 1..=FINISH_ATTEMPTS {
        match queue.finish(&entry.id, key, delivered).await {
            Ok(()) => return,
            Err(e) => {
                queue.mark_down("acknowledging a job", &e);
                tokio::time::sleep(backoff.delay(attempt)).await;
            }
        }
    }
    tracing::warn!(
        entry = %entry.id,
        "could not acknowledge a finished job; it will be taken over, and delivered again"
    );
}
