//! Shared test helpers: sample manifest, the model gate, and the loopback media server.

#![allow(dead_code)]

#[cfg(feature = "fetch")]
pub mod media_server;

pub mod cli_run;
pub mod model;
