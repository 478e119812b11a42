//! Shared test helpers: sample manifest, the model gate, scratch folders, WAV writing and the
//! loopback media server.

#![allow(dead_code)]

#[cfg(feature = "fetch")]
pub mod media_server;

pub mod cli_run;
pub mod model;

pub mod samples;
pub use samples::{pipeline_without_transcription, sample_path, Manifest, SampleEntry};

pub mod strace;
pub mod temp;
pub mod voicemail;
pub use temp::{files_below, temp_dir};
pub mod wav;

#[cfg(feature = "server")]
pub mod callback_server;
#[cfg(feature = "server")]
pub mod jwt;
#[cfg(feature = "server")]
pub mod redis_server;
#[cfg(feature = "server")]
pub mod replica;
