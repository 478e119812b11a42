//! callscribe's integration tests: one binary, the public API, real files from `samples/`, real
//! HTTP servers on 127.0.0.1. Each module's first line says what it covers.

mod support;

mod decode;
mod entities;
mod json;
mod malformed;
mod resample;
mod trim;

#[cfg(feature = "whisper")]
mod multilingual;
#[cfg(feature = "whisper")]
mod transcribe;
#[cfg(feature = "whisper")]
mod voicemail_numbers;

#[cfg(feature = "fetch")]
mod fetch;
#[cfg(feature = "fetch")]
mod notification;

#[cfg(feature = "server")]
mod server;

#[cfg(feature = "server")]
mod redis;

mod cli;

#[cfg(feature = "fetch")]
mod audit;
mod memory;
mod properties;
