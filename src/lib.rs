//! callscribe turns a Microsoft Graph `recordResponse` recording into a structured result:
//! bytes in memory → decode → 16 kHz mono → speech span (VAD, beep and DTMF stop tone removed)
//! → optional local Whisper transcript → JSON. Media stays in memory and is zeroized after use.
//!
//! A bot needs the types re-exported at the root: build a [`Pipeline`] once from a
//! [`PipelineConfig`] and call [`Pipeline::process`] per recording, or build a [`Processor`]
//! and hand it Graph's notification bodies ([`Processor::handle_notification`]); each gives
//! [`RecordingResult`]s, whose failures carry a stable [`ErrorKind`].
//!
//! ```no_run
//! use callscribe::{Pipeline, PipelineConfig, RecordingResult, Status};
//!
//! let mut config = PipelineConfig::default();
//! config.transcribe.enabled = false; // decode, resample and trim only
//! let pipeline = Pipeline::new(config)?;
//! let result: RecordingResult = pipeline.process_file(std::path::Path::new("voicemail.wav"));
//! if result.status == Status::Ok {
//!     println!("{}", result.to_json_line());
//! }
//! # Ok::<(), callscribe::Error>(())
//! ```
//!
//! # Layout
//! Modules in pipeline order; the stages are public so a bot can run one on its own:
//! - [`error`]: the error type and its stable `error.kind` names
//! - [`config`]: limits and per-stage options
//! - [`audio`]: buffers passed between stages and unit newtypes
//! - [`notification`] (feature `notification`, implied by `fetch`): Graph
//!   `commsNotifications` → recording jobs
//! - [`fetch`] (feature `fetch`): the bounded, SSRF-guarded download of a recording
//! - [`decode`]: symphonia, from in-memory bytes → mono PCM at the source rate
//! - [`resample`]: rubato → 16 kHz, time-aligned with the original
//! - [`tones`]: the bot's beep and the caller's DTMF keys
//! - [`trim`]: VAD (earshot's network, evaluated by the private `vad` module), level gate,
//!   tones and music rejection (`vad::music`) → speech span and levels
//! - [`transcribe`] (feature `whisper`): whisper.cpp through whisper-rs
//! - [`words`]: word timings from whisper.cpp's token timestamps
//! - [`entities`]: phone numbers and email addresses in the transcript, and redaction (card
//!   numbers, SSNs, …) before the result leaves the pipeline
//! - [`result`]: the JSON result schema `callscribe.result/v1`
//! - `pipeline` (private; [`Pipeline`], [`RunOptions`], [`Processed`]): builds the stages once
//!   and chains them
//! - [`batch`]: many files in parallel with rayon
//! - [`format`](mod@format): output formats of a result (JSON Lines, JSON, text, SRT, WebVTT)
//! - `processor` (private, feature `fetch`; [`Processor`]): notification → download → pipeline,
//!   one result per operation
//! - [`model_import`]: CTranslate2 Whisper model → ggml converter
//! - [`server`] (feature `server`): the `callscribe serve` webhook service (axum):
//!   authenticated notifications → bounded queue → workers → result sinks
//!
//! The `callscribe` binary (`src/main.rs`, `src/cli/`) parses arguments and calls these.
//!
//! # Features
//! | feature   | default | what it adds |
//! |-----------|---------|--------------|
//! | `whisper` | yes     | transcription with whisper-rs (builds whisper.cpp; needs cmake) |
//! | `notification` | yes (via `fetch`) | notification parsing only (url, secrecy) |
//! | `fetch`   | yes     | notification parsing and recording download (reqwest, tokio) |
//! | `server`  | yes     | the `serve` webhook service (axum, jsonwebtoken); implies `fetch` |
//! | `cli`     | yes     | the `callscribe` binary (clap, indicatif, anyhow, tracing-subscriber) |
//!
//! `default-features = false` is the lean library: decode, resample, trim, result, batch.

pub mod audio;
pub mod batch;
pub mod config;
pub mod decode;
pub mod entities;
pub mod error;
#[cfg(feature = "fetch")]
pub mod fetch;
pub mod format;
pub mod model_import;
#[cfg(feature = "notification")]
pub mod notification;
mod pipeline;
#[cfg(feature = "fetch")]
mod processor;
pub mod resample;
pub mod result;
#[cfg(feature = "server")]
pub mod server;
pub mod tones;
#[cfg(feature = "whisper")]
pub mod transcribe;
pub mod trim;
mod vad;
#[cfg(feature = "whisper")]
mod whisper_ffi;
pub mod words;

pub use config::PipelineConfig;
pub use error::{Error, ErrorKind};
pub use pipeline::{Heard, Pipeline, Processed, RunOptions};
#[cfg(feature = "fetch")]
pub use processor::{Outcome, Processor, ProcessorConfig};
pub use result::{NoSpeechReason, RecordingResult, Status};
