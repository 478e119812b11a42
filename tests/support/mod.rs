//! Shared test helpers: sample manifest, the model gate, and the loopback media server.

#![allow(dead_code)]

#[cfg(feature = "fetch")]
pub mod media_server;

pub mod cli_run;
pub mod model;

pub mod samples;
pub use samples::{pipeline_without_transcription, sample_path, Manifest, SampleEntry, TempDir};

pub mod strace;
pub mod wav;

#[cfg(feature = "server")]
pub mod callback_server;
#[cfg(feature = "server")]
pub mod jwt;
