//! Processor: a Graph notification in, one [`RecordingResult`] per record operation out.
//!
//! Holds what is built once — the HTTP client ([`Fetcher`]) and the [`Pipeline`] with its
//! Whisper model — and is cheap to clone (both sit behind `Arc`s). Downloads are async; the CPU
//! stages run on tokio's blocking pool, bounded by a semaphore sized to the cores so a burst
//! of notifications queues instead of oversubscribing the machine.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use tracing::Instrument;

use crate::config::{jobs_or_cores, threads_per_job};
use crate::error::{Error, ErrorKind, Result};
use crate::fetch::{FetchConfig, Fetcher};
use crate::notification::{self, failed_result, source_of, Parsed, RecordingJob, Skipped};
use crate::pipeline::{ms_since, Pipeline, RunOptions};
use crate::result::{ErrorInfo, RecordingResult, Source, Stage, Timings};
use crate::PipelineConfig;

/// Configuration of a [`Processor`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProcessorConfig {
    /// The audio pipeline.
    pub pipeline: PipelineConfig,
    /// The download.
    pub fetch: FetchConfig,
    /// Recordings decoded/transcribed at once; 0 = one per core. Default: 0.
    pub cpu_jobs: usize,
}

/// What became of one entry of a notification.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// A record operation: processed, or failed with a typed error.
    Result(Box<RecordingResult>),
    /// Not a finished record operation (call state, prompts, running operations): ignored.
    Skipped(Skipped),
}

/// Downloads and processes recordings named by Graph notifications.
#[derive(Clone)]
pub struct Processor {
    pipeline: Arc<Pipeline>,
    fetcher: Fetcher,
    cpu: Arc<Semaphore>,
    threads_per_job: u32,
    /// Bytes of every successful download so far, shared by clones (a metric of `serve`).
    downloaded: Arc<AtomicU64>,
}

impl Processor {
    /// Builds the HTTP client and the pipeline (loading the Whisper model when enabled).
    ///
    /// Errors: `config` for an invalid download policy or a model that can't be loaded.
    pub fn new(config: ProcessorConfig) -> Result<Self> {
        let fetcher = Fetcher::new(config.fetch).map_err(|e| Error::Config {
            detail: e.to_string(),
        })?;
        let pipeline = Arc::new(Pipeline::new(config.pipeline)?);
        Ok(Self::from_parts(pipeline, fetcher, config.cpu_jobs))
    }

    /// Assembles a processor from a pipeline and fetcher built elsewhere (shared with a batch,
    /// or in tests).
    pub fn from_parts(pipeline: Arc<Pipeline>, fetcher: Fetcher, cpu_jobs: usize) -> Self {
        let cpu_jobs = jobs_or_cores(cpu_jobs);
        let threads_per_job = threads_per_job(pipeline.config().transcribe.threads, cpu_jobs);
        Self {
            pipeline,
            fetcher,
            cpu: Arc::new(Semaphore::new(cpu_jobs)),
            threads_per_job,
            downloaded: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Total bytes downloaded by this processor and its clones since it was built.
    pub fn bytes_downloaded(&self) -> u64 {
        self.downloaded.load(Ordering::Relaxed)
    }

    /// The pipeline this processor runs.
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// Parses a `commsNotifications` body and processes every record operation in it
    /// concurrently. An unparseable body gives one `invalid_notification` result.
    pub async fn handle_notification(&self, body: &[u8]) -> Vec<Outcome> {
        let parsed = match notification::parse(body) {
            Ok(parsed) => parsed,
            Err(e) => {
                let error = ErrorInfo {
                    kind: ErrorKind::InvalidNotification,
                    message: e.to_string(),
                };
                return vec![Outcome::Result(Box::new(RecordingResult::failed(
                    Source::default(),
                    error,
                )))];
            }
        };
        let tasks = parsed.into_iter().map(|entry| async move {
            match entry {
                Parsed::Job(job) => Outcome::Result(Box::new(self.process_job(job).await)),
                Parsed::Failed(failed) => Outcome::Result(Box::new(failed_result(failed))),
                Parsed::Skipped(skipped) => Outcome::Skipped(skipped),
            }
        });
        futures_util::future::join_all(tasks).await
    }

    /// Downloads one recording and runs the pipeline on it. Never fails: errors are results.
    pub async fn process_job(&self, job: RecordingJob) -> RecordingResult {
        // The location's host only: its query may be a signature.
        let span = tracing::info_span!(
            "job",
            operation_id = %job.source.operation_id,
            host = job.location.host_str().unwrap_or("")
        );
        self.process_job_inner(job).instrument(span).await
    }

    async fn process_job_inner(&self, job: RecordingJob) -> RecordingResult {
        let source = source_of(&job.source);
        let started = Instant::now();
        let bytes = match self.fetcher.download(&job.location, &job.token).await {
            Ok(bytes) => bytes,
            Err(e) => {
                let kind = e.kind();
                tracing::warn!(error_kind = %kind, "download failed: {e}");
                let mut result = RecordingResult::failed(
                    source,
                    ErrorInfo {
                        kind,
                        message: e.to_string(),
                    },
                );
                result.timings_ms.set(Stage::Download, ms_since(started));
                return result;
            }
        };
        let download_ms = ms_since(started);
        self.downloaded
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        drop(job);

        // The permit bounds CPU-heavy work to the configured number of jobs; waiting for it
        // is queueing, not failure.
        let Ok(_permit) = self.cpu.clone().acquire_owned().await else {
            let error = ErrorInfo {
                kind: ErrorKind::Config,
                message: "processor is shut down".into(),
            };
            return RecordingResult::failed(source, error);
        };
        let pipeline = Arc::clone(&self.pipeline);
        let threads = self.threads_per_job;
        let run_source = source.clone();
        let result = tokio::task::spawn_blocking(move || {
            let result = pipeline
                .run(
                    &bytes,
                    run_source,
                    &RunOptions {
                        keep_speech: false,
                        threads,
                    },
                )
                .result;
            drop(bytes); // zeroized here, on the blocking thread, right after use
            result
        })
        .await;
        match result {
            Ok(mut result) => {
                result.timings_ms.set(Stage::Download, download_ms);
                if result.timings_ms.total.is_some() {
                    result.timings_ms.set(Stage::Total, ms_since(started));
                }
                result
            }
            Err(e) => {
                // A panic in a stage is a bug, but it must still produce exactly one result.
                tracing::error!("processing task failed: {e}");
                let error = ErrorInfo {
                    kind: ErrorKind::CorruptMedia,
                    message: "processing failed".into(),
                };
                let mut result = RecordingResult::failed(source, error);
                result.timings_ms = Timings {
                    download: Some(download_ms),
                    ..Timings::default()
                };
                result
            }
        }
    }
}
