//! Async download of a `recordingLocation`: bearer token, limits, retries and an SSRF guard.
//!
//! # Contract
//!
//! * In: the [`Url`] and [`AccessToken`] of a [`RecordingJob`](crate::notification::RecordingJob).
//! * Out: the recording's bytes in a [`Zeroizing`] buffer, wiped when the caller drops it.
//!   Nothing is written to disk: Graph forbids persisting call media.
//! * Errors end the job; [`FetchError::kind`] names them and [`FetchError::is_retryable`] says
//!   whether a later attempt could succeed (retries inside one [`Fetcher::download`] call have
//!   already happened by then).
//!
//! # Defences, and where each one lives
//!
//! * **Where we connect.** [`FetchConfig::allow_hosts`] (if non-empty) limits hosts and ports.
//!   Only `https` is allowed, except for allow-listed hosts with
//!   [`FetchConfig::allow_insecure_http`]. Loopback, private, CGNAT, link-local (including the
//!   cloud metadata address 169.254.169.254), unique-local, multicast, documentation and other
//!   special-purpose addresses are refused, also when reached through an IPv4-mapped, NAT64 or
//!   6to4 IPv6 address. IP-literal hosts are checked before the request; host names are
//!   checked on the addresses they *resolve to*, inside a custom
//!   [`Resolve`](reqwest::dns::Resolve) that reqwest uses for every connection, so a name that
//!   resolves to a public address for a pre-check and to 127.0.0.1 for the connection (DNS
//!   rebinding) still cannot get through. No proxy is used: a proxy would resolve names itself,
//!   out of reach of that check.
//! * **Redirects** are followed at most [`FetchConfig::max_redirects`] times, and only to URLs
//!   that pass the same policy. reqwest drops `Authorization` when a redirect changes scheme,
//!   host or port, and the `Referer` header is disabled because it would carry the signed
//!   URL to the next host.
//! * **Secrets.** The token goes into one `Authorization` header marked sensitive and is
//!   otherwise never formatted. Error messages and tracing fields carry only
//!   [`redact_url`] output (`scheme://host[:port]`): never the path, which names the
//!   recording, never the query, where signed URLs keep their signature, and never the token.
//! * **Size and time.** A `Content-Length` above [`FetchConfig::max_bytes`] is refused before
//!   the body is read, and the running total is enforced while streaming. Each chunk must
//!   arrive within [`FetchConfig::read_stall_timeout_ms`]; the whole call, retries and back-off
//!   included, ends by [`FetchConfig::total_timeout_ms`].
//! * **Memory hygiene.** The body is collected into a [`Zeroizing`] buffer that is grown by
//!   copying into a new zeroizing buffer, so no reallocation leaves an un-wiped copy behind.
//!   (hyper's own transient read buffers are outside our control.)
//!
//! # TLS
//!
//! rustls with the `ring` provider and the platform's trust store (via
//! `rustls-platform-verifier`, as reqwest does by default), set up in `client.rs` for every
//! outgoing client of callscribe. HTTP/1.1 only: one GET of a few megabytes gains nothing from
//! HTTP/2.
//!
//! # Files
//!
//! * `mod.rs`: [`FetchConfig`], [`Fetcher`] and the download loop (attempts, body, limits).
//! * `policy.rs`: the SSRF guard (URL policy, allow-list, address categories, the resolver
//!   that refuses non-public addresses, the redirect policy).
//! * `error.rs`: [`FetchError`], per-attempt failures and which of them are retried.
//! * `retry.rs`: back-off with jitter and `Retry-After`, shared with the `serve` callback.
//! * `client.rs`: the reqwest/rustls client set-up, shared with `serve`.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::{HeaderValue, AUTHORIZATION, LOCATION};
use serde::{Deserialize, Serialize};
use tokio::time::{sleep, timeout, timeout_at, Instant};
use tracing::{debug, field, info_span, warn, Instrument, Span};
use url::Url;
use zeroize::Zeroizing;

pub(crate) mod client;
mod error;
mod policy;
pub(crate) mod retry;

pub use error::FetchError;
use error::{classify, Failure};
use policy::{redirect_policy, GuardedResolver, UrlPolicy};
use retry::{retry_after, Backoff};

pub use crate::notification::redact_url;
use crate::notification::AccessToken;

/// Download limits and the URL policy, usually the `fetch` section of the pipeline config.
///
/// Durations are whole milliseconds so the config file stays plain numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FetchConfig {
    /// Largest recording accepted, in bytes, checked against `Content-Length` and while
    /// streaming. A 2-minute recording is a few MB in any codec Graph uses.
    /// Default: 67108864 (64 MiB).
    pub max_bytes: u64,
    /// Time allowed to resolve the host and open the connection (TCP and TLS), per attempt.
    /// Default: 5000 (5 s).
    pub connect_timeout_ms: u64,
    /// Longest wait for the response headers (after connecting) and for each body chunk.
    /// Default: 10000 (10 s).
    pub read_stall_timeout_ms: u64,
    /// Deadline for the whole download, all attempts and back-off included.
    /// Default: 60000 (60 s).
    pub total_timeout_ms: u64,
    /// Retries after the first attempt, for connection errors, timeouts, truncated bodies,
    /// HTTP 5xx and 429. Default: 3.
    pub max_retries: u32,
    /// Back-off before the first retry; it doubles for each further retry, and a random
    /// jitter takes off up to half of it. Default: 250 (0.25 s).
    pub backoff_base_ms: u64,
    /// Upper bound of the exponential back-off. Default: 4000 (4 s).
    pub backoff_max_ms: u64,
    /// Largest `Retry-After` (429/5xx) honoured; longer requests wait this long instead.
    /// Default: 10000 (10 s).
    pub retry_after_cap_ms: u64,
    /// Redirects followed per attempt; each target must pass the same URL policy.
    /// Default: 3.
    pub max_redirects: u32,
    /// If non-empty, the only hosts downloads (and redirects) may go to, as `HOST[:PORT]`:
    /// `media.example.com`, `media.example.com:443`, `*.example.com` (any subdomain, not the
    /// apex), `203.0.113.7:8443`, `[2001:db8::7]`. An entry without a port matches every port.
    /// Names must be ASCII (punycode for IDNs). Default: `[]` (any public host).
    pub allow_hosts: Vec<String>,
    /// Lets allow-listed hosts be reached over plain `http` and at loopback or private
    /// addresses. Meant for tests and local development only; it has no effect on hosts that
    /// are not in `allow_hosts`. Default: false.
    pub allow_insecure_http: bool,
}

/// What `callscribe notification` and `callscribe serve` print at start-up when
/// [`FetchConfig::allow_insecure_http`] is on.
pub const INSECURE_HTTP_WARNING: &str = "--allow-insecure-http: plain http and loopback \
     downloads are allowed for the allow-listed hosts; use this for local testing only";

impl Default for FetchConfig {
    fn default() -> Self {
        Self {
            max_bytes: 64 * 1024 * 1024,
            connect_timeout_ms: 5_000,
            read_stall_timeout_ms: 10_000,
            total_timeout_ms: 60_000,
            max_retries: 3,
            backoff_base_ms: 250,
            backoff_max_ms: 4_000,
            retry_after_cap_ms: 10_000,
            max_redirects: 3,
            allow_hosts: Vec::new(),
            allow_insecure_http: false,
        }
    }
}

/// Downloads recordings. Build it once (it owns the connection pool) and share it.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    policy: Arc<UrlPolicy>,
    limits: Limits,
}

/// [`FetchConfig`] after validation, in the units the code uses.
#[derive(Debug, Clone, Copy)]
struct Limits {
    max_bytes: u64,
    connect: Duration,
    stall: Duration,
    total: Duration,
    max_retries: u32,
    backoff: Backoff,
    retry_after_cap: Duration,
}

impl Fetcher {
    /// Validates `cfg` and builds the HTTP client (TLS, resolver, redirect policy).
    ///
    /// # Errors
    ///
    /// [`FetchError::InvalidConfig`] for a zero limit or timeout, `backoff_base_ms` above
    /// `backoff_max_ms`, an `allow_hosts` entry that is not `HOST[:PORT]`, or a TLS/client
    /// setup failure.
    pub fn new(cfg: FetchConfig) -> Result<Self, FetchError> {
        let invalid = |reason: String| FetchError::InvalidConfig { reason };
        for (name, value) in [
            ("max_bytes", cfg.max_bytes),
            ("connect_timeout_ms", cfg.connect_timeout_ms),
            ("read_stall_timeout_ms", cfg.read_stall_timeout_ms),
            ("total_timeout_ms", cfg.total_timeout_ms),
        ] {
            if value == 0 {
                return Err(invalid(format!("{name} must be greater than 0")));
            }
        }
        if cfg.backoff_base_ms > cfg.backoff_max_ms {
            return Err(invalid(
                "backoff_base_ms must not exceed backoff_max_ms".to_owned(),
            ));
        }
        if usize::try_from(cfg.max_bytes).is_err() {
            return Err(invalid(
                "max_bytes does not fit in memory on this platform".to_owned(),
            ));
        }
        let policy = UrlPolicy::new(&cfg.allow_hosts, cfg.allow_insecure_http).map_err(invalid)?;
        let policy = Arc::new(policy);
        let limits = Limits {
            max_bytes: cfg.max_bytes,
            connect: Duration::from_millis(cfg.connect_timeout_ms),
            stall: Duration::from_millis(cfg.read_stall_timeout_ms),
            total: Duration::from_millis(cfg.total_timeout_ms),
            max_retries: cfg.max_retries,
            backoff: Backoff::new(
                Duration::from_millis(cfg.backoff_base_ms),
                Duration::from_millis(cfg.backoff_max_ms),
            ),
            retry_after_cap: Duration::from_millis(cfg.retry_after_cap_ms),
        };
        // `client::builder` already turns off proxies (one would resolve host names itself,
        // bypassing `GuardedResolver`), the Referer (it would be the signed URL) and
        // reqwest's own retries (this loop retries with back-off and a deadline).
        let client = client::builder()
            .map_err(invalid)?
            .dns_resolver(GuardedResolver {
                policy: Arc::clone(&policy),
            })
            .redirect(redirect_policy(Arc::clone(&policy), cfg.max_redirects))
            .connect_timeout(limits.connect)
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| invalid(format!("cannot build http client: {e}")))?;
        Ok(Self {
            client,
            policy,
            limits,
        })
    }

    /// Downloads `url` with `Authorization: Bearer <token>`.
    ///
    /// Retries transient failures (connection errors, stalls, truncated bodies, HTTP 5xx and
    /// 429) up to [`FetchConfig::max_retries`] times with jittered exponential back-off,
    /// honouring `Retry-After` up to [`FetchConfig::retry_after_cap_ms`], all within
    /// [`FetchConfig::total_timeout_ms`].
    ///
    /// # Errors
    ///
    /// See [`FetchError`]; the policy check happens before any network traffic.
    pub async fn download(
        &self,
        url: &Url,
        token: &AccessToken,
    ) -> Result<Zeroizing<Vec<u8>>, FetchError> {
        let span = info_span!(
            "fetch.download",
            host = %url.host_str().unwrap_or(""),
            attempts = field::Empty,
            bytes = field::Empty,
        );
        self.download_inner(url, token).instrument(span).await
    }

    async fn download_inner(
        &self,
        url: &Url,
        token: &AccessToken,
    ) -> Result<Zeroizing<Vec<u8>>, FetchError> {
        let redacted = redact_url(url);
        let mut attempts = 0;
        let result = self
            .download_with_retries(url, token, &redacted, &mut attempts)
            .await;
        // Recorded once, at the end: fmt-style subscribers print every `record` call.
        Span::current().record("attempts", attempts);
        match &result {
            Ok(body) => {
                Span::current().record("bytes", body.len());
                debug!("recording downloaded");
            }
            Err(e) => {
                warn!(error_kind = e.kind().as_str(), error = %e, "recording download failed")
            }
        }
        result
    }

    /// The retry loop; `attempt` counts the attempts made, for the caller's span.
    async fn download_with_retries(
        &self,
        url: &Url,
        token: &AccessToken,
        redacted: &str,
        attempt: &mut u32,
    ) -> Result<Zeroizing<Vec<u8>>, FetchError> {
        if let Err(reason) = self.policy.check(url) {
            return Err(FetchError::BlockedUrl {
                url: redacted.to_owned(),
                reason,
            });
        }
        let auth = bearer_header(token).map_err(|()| FetchError::Unauthorized {
            url: redacted.to_owned(),
            status: None,
        })?;
        let deadline = Instant::now() + self.limits.total;
        loop {
            *attempt += 1;
            let attempt = *attempt;
            let attempt_span = info_span!(
                "fetch.attempt",
                attempt,
                status = field::Empty,
                bytes = field::Empty
            );
            let one = timeout_at(deadline, self.attempt(url, &auth)).instrument(attempt_span);
            let failure = match one.await {
                Ok(Ok(body)) => return Ok(body),
                Ok(Err(failure)) => failure,
                Err(_elapsed) => Failure::Deadline,
            };
            let delay = self.retry_delay(attempt, &failure);
            let fits = delay.is_some_and(|d| Instant::now() + d < deadline);
            let (Some(delay), true) = (delay, fits) else {
                return Err(failure.into_error(redacted, attempt, &self.limits));
            };
            warn!(
                attempt,
                error_kind = failure.kind().as_str(),
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                "download attempt failed, retrying"
            );
            sleep(delay).await;
        }
    }

    /// How long to wait before the next attempt, or `None` if `failure` is final.
    fn retry_delay(&self, attempt: u32, failure: &Failure) -> Option<Duration> {
        if !failure.retryable() || attempt > self.limits.max_retries {
            return None;
        }
        if let Failure::Status {
            retry_after: Some(after),
            ..
        } = failure
        {
            return Some((*after).min(self.limits.retry_after_cap));
        }
        Some(self.limits.backoff.delay(attempt))
    }

    /// One GET, from connecting to the last body byte.
    async fn attempt(&self, url: &Url, auth: &HeaderValue) -> Result<Zeroizing<Vec<u8>>, Failure> {
        debug!("download attempt started");
        let request = self
            .client
            .get(url.clone())
            .header(AUTHORIZATION, auth.clone())
            .send();
        // Connecting has its own timeout inside reqwest; after that the server gets one stall
        // period to send the headers.
        let response = match timeout(self.limits.connect + self.limits.stall, request).await {
            Err(_) => return Err(Failure::Stall("no response headers in time")),
            Ok(Err(e)) => return Err(classify(e)),
            Ok(Ok(response)) => response,
        };
        let status = response.status();
        Span::current().record("status", status.as_u16());
        if status.is_redirection() {
            // reqwest hands back a redirect it would not follow (a `Location` that is not
            // http(s), for instance). If our policy refuses the target, say so.
            let verdict = response
                .headers()
                .get(LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| response.url().join(l).ok())
                .map(|target| (self.policy.check(&target), target));
            if let Some((Err(reason), target)) = verdict {
                return Err(Failure::Blocked {
                    url: Some(redact_url(&target)),
                    reason,
                });
            }
        }
        if !status.is_success() {
            return Err(Failure::Status {
                status: status.as_u16(),
                retry_after: retry_after(response.headers()),
            });
        }
        self.read_body(response).await
    }

    async fn read_body(&self, response: reqwest::Response) -> Result<Zeroizing<Vec<u8>>, Failure> {
        let max = self.limits.max_bytes;
        let declared = response.content_length();
        if declared.is_some_and(|n| n > max) {
            return Err(Failure::TooLarge { declared });
        }
        // No Content-Length (Graph's media endpoint sends chunked): start at 256 KiB and grow.
        let initial = declared.unwrap_or(256 * 1024).min(max);
        let mut body = Zeroizing::new(Vec::with_capacity(to_usize(initial)));
        let mut stream = response.bytes_stream();
        loop {
            let chunk = match timeout(self.limits.stall, stream.next()).await {
                Err(_) => return Err(Failure::Stall("no body bytes in time")),
                Ok(None) => break,
                Ok(Some(Err(_))) => {
                    // hyper reports a connection closed before Content-Length bytes (or before
                    // the last chunk) as a body error.
                    return Err(Failure::Incomplete {
                        expected: declared,
                        received: len(&body),
                    });
                }
                Ok(Some(Ok(chunk))) => chunk,
            };
            if len(&body) + chunk.len() as u64 > max {
                return Err(Failure::TooLarge { declared });
            }
            append(&mut body, &chunk, to_usize(max));
        }
        if declared.is_some_and(|n| len(&body) < n) {
            return Err(Failure::Incomplete {
                expected: declared,
                received: len(&body),
            });
        }
        Span::current().record("bytes", body.len());
        Ok(body)
    }
}

fn len(body: &[u8]) -> u64 {
    body.len() as u64
}

/// `max_bytes` was checked to fit in `usize` by [`Fetcher::new`].
fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Appends `chunk`, growing the buffer without leaving an un-zeroized copy behind.
///
/// `Vec::extend` would `realloc`, and the old allocation would be freed without being wiped.
/// Instead, when capacity runs out, the bytes move into a new zeroizing buffer (doubling, but
/// never above `max`), and the old buffer is wiped as it drops.
fn append(body: &mut Zeroizing<Vec<u8>>, chunk: &[u8], max: usize) {
    let needed = body.len() + chunk.len();
    if needed > body.capacity() {
        let new_cap = body.capacity().saturating_mul(2).min(max).max(needed);
        let mut grown = Zeroizing::new(Vec::with_capacity(new_cap));
        grown.extend_from_slice(body);
        *body = grown;
    }
    body.extend_from_slice(chunk);
}

/// `Bearer <token>` as a header value marked sensitive, so hyper never logs it and HTTP/2
/// would never index it. The intermediate string is wiped.
fn bearer_header(token: &AccessToken) -> Result<HeaderValue, ()> {
    let text = Zeroizing::new(format!("Bearer {}", token.expose()));
    let mut value = HeaderValue::from_str(&text).map_err(|_| ())?;
    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_and_serde() {
        let cfg: FetchConfig = serde_json::from_str("{}").expect("empty config");
        assert_eq!(cfg, FetchConfig::default());
        assert_eq!(cfg.max_bytes, 64 * 1024 * 1024);
        let err = serde_json::from_str::<FetchConfig>(r#"{"max_byte": 1}"#).expect_err("unknown");
        assert!(err.to_string().contains("unknown field"));
        let cfg: FetchConfig =
            serde_json::from_str(r#"{"allow_hosts": ["a.test"], "max_retries": 0}"#).expect("cfg");
        assert_eq!((cfg.allow_hosts.len(), cfg.max_retries), (1, 0));
    }

    #[test]
    fn invalid_configs_are_rejected() {
        let cases = [
            FetchConfig {
                max_bytes: 0,
                ..FetchConfig::default()
            },
            FetchConfig {
                total_timeout_ms: 0,
                ..FetchConfig::default()
            },
            FetchConfig {
                backoff_base_ms: 10,
                backoff_max_ms: 5,
                ..FetchConfig::default()
            },
            FetchConfig {
                allow_hosts: vec!["https://a.test/".into()],
                ..FetchConfig::default()
            },
            FetchConfig {
                allow_hosts: vec!["a.test:0".into()],
                ..FetchConfig::default()
            },
            FetchConfig {
                allow_hosts: vec!["::1".into()],
                ..FetchConfig::default()
            },
        ];
        for cfg in cases {
            let err = Fetcher::new(cfg.clone()).expect_err("invalid");
            assert_eq!(err.kind(), crate::error::ErrorKind::Config, "{cfg:?}");
            assert!(!err.is_retryable());
        }
        Fetcher::new(FetchConfig::default()).expect("default config builds");
    }

    #[test]
    fn append_grows_by_copying_into_fresh_buffers() {
        let mut body = Zeroizing::new(Vec::with_capacity(4));
        append(&mut body, b"abc", 100);
        assert_eq!(body.capacity(), 4);
        append(&mut body, b"defgh", 100);
        assert_eq!(body.as_slice(), b"abcdefgh");
        assert!(body.capacity() >= 8);
        // Growth never goes past `max` when `max` suffices.
        let mut capped = Zeroizing::new(Vec::with_capacity(8));
        append(&mut capped, &[1; 8], 10);
        append(&mut capped, &[2; 2], 10);
        assert_eq!((capped.len(), capped.capacity()), (10, 10));
    }

    #[test]
    fn retry_delays_back_off_with_jitter_and_respect_retry_after() {
        let fetcher = Fetcher::new(FetchConfig {
            backoff_base_ms: 100,
            backoff_max_ms: 300,
            retry_after_cap_ms: 1_000,
            max_retries: 5,
            ..FetchConfig::default()
        })
        .expect("fetcher");
        let transient = Failure::Status {
            status: 503,
            retry_after: None,
        };
        for (attempt, full) in [(1, 100), (2, 200), (3, 300), (4, 300)] {
            for _ in 0..20 {
                let d = fetcher.retry_delay(attempt, &transient).expect("retry");
                let ms = d.as_millis();
                assert!(ms >= full / 2 && ms <= full, "attempt {attempt}: {ms} ms");
            }
        }
        let after = Failure::Status {
            status: 429,
            retry_after: Some(Duration::from_secs(2)),
        };
        assert_eq!(
            fetcher.retry_delay(1, &after),
            Some(Duration::from_secs(1)),
            "capped"
        );
        let short = Failure::Status {
            status: 429,
            retry_after: Some(Duration::from_millis(0)),
        };
        assert_eq!(fetcher.retry_delay(1, &short), Some(Duration::ZERO));
        assert_eq!(
            fetcher.retry_delay(6, &transient),
            None,
            "retries exhausted"
        );
        let final_4xx = Failure::Status {
            status: 400,
            retry_after: None,
        };
        assert_eq!(fetcher.retry_delay(1, &final_4xx), None);
    }

    #[test]
    fn bearer_header_is_sensitive_and_rejects_bad_tokens() {
        let value = bearer_header(&AccessToken::new("eyJ.abc")).expect("header");
        assert!(value.is_sensitive());
        assert_eq!(value.as_bytes(), b"Bearer eyJ.abc");
        assert!(format!("{value:?}").contains("Sensitive"));
        assert!(bearer_header(&AccessToken::new("a\nb")).is_err());
    }
}
