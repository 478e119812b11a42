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
/// provider even for plain http). It keeps no idle connections: every request opens its own. A
/// pooled keep-alive connection races with the server under test, which closes an idle one after
/// its header timeout: a request sent on it as the server closes it fails with an incomplete
/// message (seen once in `held_connections_do_not_starve_the_real_binary_and_are_closed`, whose
/// last probe came 4 s after the first, with a 4 s header timeout). The tests also run on one
/// runtime each, and a connection pooled by a finished test's runtime is of no use to the next.
#[cfg(feature = "server")]
pub fn http_client() -> &'static reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(15))
            .pool_max_idle_per_host(0)
            .no_proxy()
            .build()
            .expect("client")
    })
}

/// Fails the test when `failures` holds any problem, listing every one, one per line: a test
/// that checks many cases reports them all at once rather than the first.
#[track_caller]
pub fn report(failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
