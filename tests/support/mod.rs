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

/// One shared HTTP client for tests that talk to a `serve` on loopback (reqwest needs a rustls
/// provider even for plain http).
#[cfg(feature = "server")]
pub fn http_client() -> &'static reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(15))
            .no_proxy()
            .build()
            .expect("client")
    })
}
