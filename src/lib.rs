//! callscribe turns a Microsoft Graph `recordResponse` recording into a structured result:
//! bytes in memory → decode → 16 kHz mono → speech span (VAD, beep and DTMF stop tone removed)
//! → optional local Whisper transcript → JSON. Media stays in memory and is zeroized after use.
//!
//! # Layout
//! Modules in pipeline order:
//! - [`error`]: the error type and its stable `error.kind` names
//! - [`config`]: limits and per-stage options
//! - [`audio`]: buffers passed between stages and unit newtypes
//! - `notification` (feature `notification`, implied by `fetch`): Graph `commsNotifications` → recording jobs
//! - `fetch` (feature `fetch`): the bounded, SSRF-guarded download of a recording
//! - [`decode`]: symphonia, from in-memory bytes → mono PCM at the source rate
//! - [`resample`]: rubato → 16 kHz, time-aligned with the original
//! - [`tones`]: beep and DTMF detection (Goertzel)
//! - [`vad`]: earshot's voice-activity network behind a realfft feature front end
//! - [`trim`]: VAD, level gate and tones → speech span and levels
//! - `transcribe` (feature `whisper`): whisper.cpp through whisper-rs
//! - [`result`]: the JSON result schema `callscribe.result/v1`
//! - [`pipeline`]: builds the stages once and chains them
//! - [`batch`]: many files in parallel with rayon
//! - [`format`]: CLI output formats (JSON Lines, JSON, text, SRT, WebVTT)
//! - `processor` (feature `fetch`): notification → download → pipeline, one result per operation
//! - [`model_import`]: CTranslate2 Whisper model → ggml converter
//! - `server` (feature `server`): the `callscribe serve` webhook service (axum): authenticated
//!   notifications → bounded queue → workers → result sinks
//!
//! # Features
//! | feature   | default | what it adds |
//! |-----------|---------|--------------|
//! | `whisper` | yes     | transcription with whisper-rs (builds whisper.cpp; needs cmake) |
//! | `notification` | yes (via `fetch`) | notification parsing only (url, secrecy) |
//! | `fetch`   | yes     | notification parsing and recording download (reqwest, tokio) |
//! | `server`  | yes     | the `serve` webhook service (axum, jsonwebtoken); implies `fetch` |

pub mod audio;
pub mod batch;
pub mod config;
pub mod decode;
pub mod error;
#[cfg(feature = "fetch")]
pub mod fetch;
pub mod format;
pub mod model_import;
#[cfg(feature = "notification")]
pub mod notification;
pub mod pipeline;
#[cfg(feature = "fetch")]
pub mod processor;
pub mod resample;
pub mod result;
#[cfg(feature = "server")]
pub mod server;
pub mod tones;
#[cfg(feature = "whisper")]
pub mod transcribe;
pub mod trim;
pub mod vad;

pub use config::PipelineConfig;
pub use error::{Error, ErrorKind};
pub use pipeline::{Pipeline, Processed, RunOptions};
#[cfg(feature = "fetch")]
pub use processor::{Outcome, Processor, ProcessorConfig};
pub use result::RecordingResult;
