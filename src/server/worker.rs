//! The dispatcher: takes accepted jobs off the queue, runs them with bounded concurrency,
//! delivers their results, and drains the queue at shutdown.
//!
//! One task owns the queue's receiving end and a [`JoinSet`] of job tasks. It only takes a job
//! off the queue after it got one of the `concurrency` slots, so jobs wait *in the queue*
//! (visible as `callscribe_queue_depth_jobs`, and filling it makes admission answer 503)
//! rather than in a pile of spawned tasks. The slot covers processing only: it is released
//! before the result is delivered, so a slow callback endpoint holds memory for one small JSON
//! per job but never holds up downloads and transcription.
//!
//! Shutdown is signalled through a `watch` channel carrying the deadline. The dispatcher then
//! closes the queue — handlers that already reserved slots still complete their sends, after
//! which `recv` reports the end — starts every remaining job as slots free up, and waits for
//! all tasks, until the deadline. What is left at the deadline is counted, its operation ids
//! are logged, and its tasks are aborted.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use futures_util::FutureExt as _;
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use super::metrics::JobStage;
use super::queue::{QueuedJob, Work};
use super::sink::Sinks;
use super::{AppState, ServeReport};
use crate::error::ErrorKind;
use crate::notification::{failed_result, source_of};
use crate::result::{ErrorInfo, RecordingResult};

/// Most operation ids listed in the log line about unfinished jobs.
const MAX_LOGGED_IDS: usize = 20;

/// What every job task needs.
#[derive(Clone)]
pub(crate) struct Context {
    pub(crate) state: AppState,
    pub(crate) sinks: Arc<Sinks>,
}

/// Runs until shutdown is signalled and the queue is drained (or the deadline passes).
pub(crate) async fn dispatch(
    mut queue: mpsc::Receiver<QueuedJob>,
    ctx: Context,
    concurrency: usize,
    mut stop: watch::Receiver<Option<Instant>>,
) -> ServeReport {
    let slots = Arc::new(Semaphore::new(concurrency));
    let mut tasks: JoinSet<String> = JoinSet::new();

    // Running: wait for a free slot, then for a job, unless shutdown begins. The stop future
    // is created once and never polled again after it completes (we leave the loop then).
    {
        let stopped = stop.wait_for(Option::is_some);
        tokio::pin!(stopped);
        loop {
            let slot = tokio::select! {
                biased;
                _ = &mut stopped => break,
                slot = Arc::clone(&slots).acquire_owned() => slot,
            };
            // The semaphore is never closed; treat the impossible as a stop.
            let Ok(slot) = slot else { break };
            let job = tokio::select! {
                biased;
                _ = &mut stopped => break,
                job = queue.recv() => job,
            };
            // `None`: every sender is gone (the state was dropped): nothing more can come.
            let Some(job) = job else { break };
            spawn_job(&mut tasks, job, slot, &ctx);
            reap(&mut tasks);
        }
    }
    // Without a deadline (all senders dropped, no shutdown yet), drain without one.
    let deadline = stop.borrow().map(tokio::time::Instant::from_std);

    // Draining: no new sends can start after `close`; reserved ones still land.
    queue.close();
    let drain = async {
        loop {
            let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
                break;
            };
            let Some(job) = queue.recv().await else { break };
            spawn_job(&mut tasks, job, slot, &ctx);
            reap(&mut tasks);
        }
        while let Some(joined) = tasks.join_next().await {
            log_join_error(joined);
        }
    };
    let drained = finishes_by(deadline, drain).await;

    let mut unfinished = 0;
    if !drained {
        let mut ids = Vec::new();
        while let Ok(job) = queue.try_recv() {
            unfinished += 1;
            ids.push(job.work.operation_id().to_owned());
        }
        unfinished += tasks.len();
        tasks.abort_all();
        while let Some(joined) = tasks.join_next().await {
            if let Err(e) = joined {
                if e.is_cancelled() {
                    continue;
                }
                tracing::error!("job task failed: {e}");
            }
        }
        // The ids of aborted tasks are unknown here; the queued ones are listed. Operation ids
        // are Graph GUIDs, not secrets.
        ids.truncate(MAX_LOGGED_IDS);
        tracing::error!(
            unfinished,
            queued_operation_ids = ?ids,
            "shutdown deadline passed with jobs unfinished"
        );
    }
    ServeReport {
        finished: ctx.state.inner.metrics.finished_total(),
        unfinished,
    }
}

fn spawn_job(
    tasks: &mut JoinSet<String>,
    job: QueuedJob,
    slot: OwnedSemaphorePermit,
    ctx: &Context,
) {
    let ctx = ctx.clone();
    tasks.spawn(async move {
        let op = job.work.operation_id().to_owned();
        run_job(job, slot, &ctx).await;
        op
    });
}

/// Reaps finished tasks so the set does not grow with every job ever run.
fn reap(tasks: &mut JoinSet<String>) {
    while let Some(joined) = tasks.try_join_next() {
        log_join_error(joined);
    }
}

/// Runs `drain` to its end, or until `deadline` when there is one; whether it finished.
pub(crate) async fn finishes_by(
    deadline: Option<tokio::time::Instant>,
    drain: impl std::future::Future<Output = ()>,
) -> bool {
    match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline, drain).await.is_ok(),
        None => {
            drain.await;
            true
        }
    }
}

fn log_join_error(joined: Result<String, tokio::task::JoinError>) {
    if let Err(e) = joined {
        // `run_job` catches panics of the runner; this would be a panic in a sink.
        tracing::error!("job task failed: {e}");
    }
}

/// Processes one accepted operation and delivers its one result.
async fn run_job(job: QueuedJob, slot: OwnedSemaphorePermit, ctx: &Context) {
    let shared = &ctx.state.inner;
    let metrics = &shared.metrics;
    metrics.in_flight.inc();
    metrics.observe_stage(JobStage::Queue, job.enqueued.elapsed());
    let result = produce(job.work, &ctx.state).await;
    drop(slot);
    metrics.record_result(&result);
    let started = Instant::now();
    ctx.sinks.deliver(&result, metrics).await;
    metrics.observe_stage(JobStage::Deliver, started.elapsed());
    metrics.in_flight.dec();
}

/// The one result of an accepted operation: the runner's for a download (a panic in it
/// becomes a `corrupt_media` failure), the typed failure for an operation Graph reported as
/// failed. Shared by the in-memory dispatcher and the Redis worker.
pub(crate) async fn produce(work: Work, state: &AppState) -> RecordingResult {
    match work {
        Work::Download(recording) => {
            let source = source_of(&recording.source);
            // Exactly one result per accepted operation, even if processing panics.
            match AssertUnwindSafe(state.inner.runner.run(recording))
                .catch_unwind()
                .await
            {
                Ok(result) => result,
                Err(_) => {
                    tracing::error!(operation_id = ?source.operation_id, "processing panicked");
                    let error = ErrorInfo {
                        kind: ErrorKind::CorruptMedia,
                        message: "processing failed".into(),
                    };
                    RecordingResult::failed(source, error)
                }
            }
        }
        Work::Failed(failed) => failed_result(failed),
    }
}
