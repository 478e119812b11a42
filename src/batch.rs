//! Batch: many files through one [`Pipeline`] in parallel with rayon, one result per file.
//!
//! Whisper uses several threads per job, so the job count and the threads per job are balanced
//! to the cores: `jobs × threads ≈ cores`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use rayon::prelude::*;

use crate::config::{jobs_or_cores, threads_per_job};
use crate::error::{Error, ErrorKind, Result};
use crate::pipeline::{Heard, Pipeline, Processed, RunOptions};
use crate::result::{ErrorInfo, RecordingResult, Source, Status};
use crate::PipelineConfig;

/// File extensions picked up when a directory is given (case-insensitive). Formats callscribe
/// can't decode (Opus, WebM) are included so they are reported as `unsupported_format` rather
/// than silently skipped.
pub const AUDIO_EXTENSIONS: &[&str] = &[
    "wav", "wave", "mp3", "flac", "ogg", "oga", "m4a", "mp4", "aac", "opus", "webm", "rf64", "gsm",
    "g722", "ulaw", "alaw", "sln", "sln16",
];

/// How a batch runs.
#[derive(Debug, Clone, Default)]
pub struct BatchOptions {
    /// Parallel jobs; 0 = one per core.
    pub jobs: usize,
    /// Write each file's cleaned 16 kHz speech as WAV into this folder. Off by default: by
    /// default no media is written anywhere.
    pub keep_audio: Option<PathBuf>,
}

/// Counts of a finished batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Files with speech.
    pub ok: usize,
    /// Files without speech.
    pub no_speech: usize,
    /// Files that failed.
    pub failed: usize,
}

impl Summary {
    /// Total files.
    pub fn total(&self) -> usize {
        self.ok + self.no_speech + self.failed
    }
}

/// Expands the given paths: files are taken as they are, directories are walked recursively
/// for [`AUDIO_EXTENSIONS`], sorted, without duplicates.
///
/// Errors: `io` when a directory can't be walked. A missing file is not an error here: it
/// becomes a failed `io` result when processed.
pub fn collect_inputs(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for path in paths {
        // A path that can't be examined is kept as a file: reading it then fails with an `io`
        // result for that input, and the rest of the batch still runs.
        if std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
            let mut found = Vec::new();
            for entry in walkdir::WalkDir::new(path).follow_links(true) {
                let entry = entry.map_err(|e| {
                    let context = e.path().unwrap_or(path).display().to_string();
                    Error::io(context, e.into())
                })?;
                if entry.file_type().is_file() && has_audio_extension(entry.path()) {
                    found.push(entry.into_path());
                }
            }
            found.sort();
            out.extend(found.into_iter().filter(|p| seen.insert(p.clone())));
        } else if seen.insert(path.clone()) {
            out.push(path.clone());
        }
    }
    Ok(out)
}

fn has_audio_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.iter().any(|a| a.eq_ignore_ascii_case(e)))
}

/// Splits the machine's cores into `(jobs, whisper threads per job)`. An explicit
/// `requested_threads` (the `--threads` flag) wins; 0 balances the threads to the cores.
pub(crate) fn plan_threads(
    requested_jobs: usize,
    inputs: usize,
    requested_threads: u32,
) -> (usize, u32) {
    let jobs = jobs_or_cores(requested_jobs).min(inputs.max(1)).max(1);
    (jobs, threads_per_job(requested_threads, jobs))
}

/// Processes every input, calling `on_result(index, path, result)` as each finishes (from worker
/// threads, in completion order; `index` is the input's position). Returns the counts.
///
/// Errors: `config` if the thread pool can't be built. Per-file problems are results, not errors.
pub fn run(
    pipeline: &Pipeline,
    inputs: &[PathBuf],
    opts: &BatchOptions,
    on_result: impl Fn(usize, &Path, &RecordingResult) + Sync,
) -> Result<Summary> {
    run_from(pipeline, inputs, None, opts, on_result)
}

/// Builds the pipeline from `config`, then [`run`]s the batch. While the model loads, another
/// core reads, decodes and trims the first input ([`Pipeline::hear_file`]), which needs no
/// model: a `process` run of one file took 0.98–0.99 of its wall time with that and the
/// transcriber's ready state together (2026-12-05, base q8_0, 2 cores; BENCHMARKS.md, "The
/// start"). The results are the same as [`run`]'s.
///
/// Errors: those of [`Pipeline::new`] (the first input's audio is then dropped unused), and
/// of [`run`].
pub fn build_and_run(
    config: PipelineConfig,
    inputs: &[PathBuf],
    opts: &BatchOptions,
    on_result: impl Fn(usize, &Path, &RecordingResult) + Sync,
) -> Result<Summary> {
    // The speech finder's Silero file first (about 5 ms; then cached for `Pipeline::new`): a bad
    // one is a configuration error before any input is heard, not a warning from the first
    // input's speech finder followed by the error.
    if let Some(path) = &config.trim.vad_model {
        crate::trim::load_vad_model(path)?;
    }
    let (pipeline, first) = std::thread::scope(|scope| {
        let hearing = inputs.first().map(|path| {
            let config = &config;
            scope.spawn(move || Pipeline::hear_file(config, path))
        });
        let pipeline = Pipeline::new(config.clone());
        // A panic while hearing leaves the input to `run`, whose isolation reports it.
        let first = hearing.and_then(|h| h.join().ok());
        (pipeline, first)
    });
    run_from(&pipeline?, inputs, first, opts, on_result)
}

/// [`run`], with the first input already heard when `first` is given.
fn run_from(
    pipeline: &Pipeline,
    inputs: &[PathBuf],
    first: Option<Heard>,
    opts: &BatchOptions,
    on_result: impl Fn(usize, &Path, &RecordingResult) + Sync,
) -> Result<Summary> {
    let (jobs, threads) = plan_threads(
        opts.jobs,
        inputs.len(),
        pipeline.config().transcribe.threads,
    );
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| Error::Config {
            detail: format!("thread pool: {e}"),
        })?;
    let run_options = RunOptions {
        keep_speech: opts.keep_audio.is_some(),
        threads,
    };
    let first = Mutex::new(first);
    let statuses: Vec<Status> = pool.install(|| {
        inputs
            .par_iter()
            .enumerate()
            .map(|(index, path)| {
                let heard = if index == 0 {
                    first.lock().unwrap_or_else(PoisonError::into_inner).take()
                } else {
                    None
                };
                let mut processed = run_file_isolated(pipeline, path, heard, &run_options);
                if let (Some(dir), Some(speech)) = (&opts.keep_audio, &processed.speech) {
                    if let Err(e) = write_speech(dir, path, speech.samples()) {
                        processed.result.status = Status::Failed;
                        processed.result.error = Some(ErrorInfo::from(&e));
                    }
                }
                on_result(index, path, &processed.result);
                processed.result.status
            })
            .collect()
    });
    let mut summary = Summary::default();
    for status in statuses {
        match status {
            Status::Ok => summary.ok += 1,
            Status::NoSpeech => summary.no_speech += 1,
            Status::Failed => summary.failed += 1,
        }
    }
    Ok(summary)
}

/// [`Pipeline::run_file`] (or [`Pipeline::finish`] of the file already `heard`), with a panic in
/// any stage turned into a failed result for that file: a stage bug on one hostile input must
/// not end the whole batch without the other results. (The service does the same through
/// tokio's `JoinError`.)
fn run_file_isolated(
    pipeline: &Pipeline,
    path: &Path,
    heard: Option<Heard>,
    options: &RunOptions,
) -> Processed {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match heard {
        Some(heard) => pipeline.finish(heard, options),
        None => pipeline.run_file(path, options),
    }))
    .unwrap_or_else(|_| {
        tracing::error!(path = %path.display(), "processing panicked (a bug: please report it)");
        let source = Source {
            path: Some(path.display().to_string()),
            ..Source::default()
        };
        let error = ErrorInfo {
            kind: ErrorKind::CorruptMedia,
            message: "processing failed".into(),
        };
        Processed {
            result: RecordingResult::failed(source, error),
            speech: None,
        }
    })
}

/// Writes cleaned speech as 16-bit 16 kHz mono WAV (`<stem>.speech.wav`), the only media
/// callscribe ever writes, and only when asked.
fn write_speech(dir: &Path, input: &Path, samples: &[f32]) -> Result<PathBuf> {
    let stem = input
        .file_stem()
        .map_or_else(|| "input".into(), |s| s.to_string_lossy());
    let out = dir.join(format!("{stem}.speech.wav"));
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: crate::audio::TARGET_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let io_err = |e: hound::Error| {
        let io = match e {
            hound::Error::IoError(io) => io,
            other => std::io::Error::other(other.to_string()),
        };
        Error::io(out.display().to_string(), io)
    };
    let mut writer = hound::WavWriter::create(&out, spec).map_err(io_err)?;
    for &s in samples {
        writer
            .write_sample((s.clamp(-1.0, 1.0) * 32767.0).round() as i16)
            .map_err(io_err)?;
    }
    writer.finalize().map_err(io_err)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_threads_win_over_the_core_split() {
        assert_eq!(plan_threads(1, 10, 3), (1, 3));
        assert_eq!(plan_threads(4, 10, 1).1, 1);
    }

    #[test]
    fn jobs_never_exceed_inputs_and_threads_are_at_least_one() {
        let (jobs, threads) = plan_threads(64, 2, 0);
        assert_eq!(jobs, 2);
        assert!(threads >= 1);
        assert_eq!(plan_threads(0, 0, 0).0, 1);
    }
}
