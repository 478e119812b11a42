//! The one HTTP client set-up of callscribe: rustls on `ring` with the platform trust store.
//!
//! Recording downloads ([`Fetcher`](super::Fetcher)), the `serve` result callback and the
//! signing-key fetch all start from [`builder`], so they verify certificates the same way and
//! none of them uses a proxy, sends a `Referer` or retries underneath its caller. Each caller
//! adds what is its own: timeouts, redirect policy and (for downloads) the guarded resolver.
//!
//! reqwest's `rustls` feature would pull in `aws-lc-sys`, a large C build that needs cmake;
//! `ring` builds with only a C compiler. reqwest is built without HTTP/2, and one request of a
//! few megabytes or a JSON document gains nothing from it, so the clients speak HTTP/1.1 only.

use std::sync::Arc;

/// The `User-Agent` of every request: `callscribe/<version>`.
const USER_AGENT: &str = concat!(env!("CARGO_PKG_NAME"), "/", env!("CARGO_PKG_VERSION"));

/// A client builder with TLS (rustls, `ring`, platform verifier), no proxy, no `Referer`, no
/// reqwest-level retries and callscribe's `User-Agent`.
///
/// * No proxy: a proxy would resolve host names itself, out of reach of the download's
///   address check, and nothing callscribe talks to needs one.
/// * No `Referer`: the referer of a redirected request would be a signed URL.
/// * No retries: each caller retries in its own loop, with back-off and a deadline; reqwest
///   retrying underneath would make attempt counts and timing unpredictable.
///
/// # Errors
///
/// The platform verifier or the TLS protocol versions cannot be set up; the text says which.
pub(crate) fn builder() -> Result<reqwest::ClientBuilder, String> {
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(tls_config()?)
        .referer(false)
        .no_proxy()
        .retry(reqwest::retry::never())
        .user_agent(USER_AGENT))
}

/// Builds rustls on `ring` with the platform trust store, HTTP/1.1 only.
fn tls_config() -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls_platform_verifier::Verifier::new(Arc::clone(&provider))
        .map_err(|e| format!("cannot load the platform certificate verifier: {e}"))?;
    // `dangerous()` is only rustls' name for "custom verifier": the platform verifier does full
    // chain and host name validation (it is what reqwest's own rustls setup installs).
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set tls versions: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    // What reqwest's own rustls set-up offers when HTTP/2 is not compiled in.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_offers_http1_and_verifies_with_the_platform_roots() {
        let config = tls_config().expect("tls config");
        assert_eq!(config.alpn_protocols, [b"http/1.1".to_vec()]);
        // A client session can be started for a host name: the verifier and provider are usable.
        let name = rustls::pki_types::ServerName::try_from("media.example.test").expect("name");
        rustls::ClientConnection::new(Arc::new(config), name).expect("client session");
        builder().expect("builder").build().expect("client");
    }
}
