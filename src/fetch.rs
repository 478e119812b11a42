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
//!   checked on the addresses they *resolve to*, inside a custom [`Resolve`] that reqwest uses
//!   for every connection, so a name that resolves to a public address for a pre-check and to
//!   127.0.0.1 for the connection (DNS rebinding) still cannot get through. No proxy is used:
//!   a proxy would resolve names itself, out of reach of that check.
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
//! `rustls-platform-verifier`, as reqwest does by default). reqwest's `rustls` feature would
//! pull in `aws-lc-sys`, a large C build that needs cmake; `ring` builds with only a C
//! compiler. HTTP/1.1 only: one GET of a few megabytes gains nothing from HTTP/2.

use std::error::Error as StdError;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use rand::Rng;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, LOCATION, RETRY_AFTER};
use serde::{Deserialize, Serialize};
use tokio::time::{sleep, timeout, timeout_at, Instant};
use tracing::{debug, field, info_span, warn, Instrument, Span};
use url::{Host, Url};
use zeroize::Zeroizing;

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

/// Why a download failed. Every message identifies the target only by [`redact_url`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The URL, a redirect target or the address a host resolves to is not allowed.
    #[error("refusing to download from {url}: {reason}")]
    BlockedUrl {
        /// The refused URL (the redirect target, if that was refused), redacted.
        url: String,
        /// Which rule refused it.
        reason: String,
    },
    /// HTTP 401 or 403 (the token was rejected or has expired), or a token that cannot be
    /// sent in an HTTP header at all (`status` is then `None`).
    #[error("access to {url} was refused{}", status_suffix(*.status))]
    Unauthorized {
        /// The URL, redacted.
        url: String,
        /// The HTTP status, if the server answered.
        status: Option<u16>,
    },
    /// HTTP 404 or 410: the recording is gone (Graph discards it shortly after the call).
    #[error("recording not found at {url} (http {status})")]
    NotFound {
        /// The URL, redacted.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// Any other HTTP status or transport error, after the allowed retries.
    #[error("download from {url} failed after {attempts} attempt(s): {reason}")]
    DownloadFailed {
        /// The URL, redacted.
        url: String,
        /// The last HTTP status, if the server answered.
        status: Option<u16>,
        /// Attempts made.
        attempts: u32,
        /// The last failure, without URL or token.
        reason: String,
        /// Whether the last failure was of a transient kind (5xx, 429, connection error).
        retryable: bool,
    },
    /// A stall (no headers or no body bytes in time) or the total deadline.
    #[error("download from {url} timed out after {attempts} attempt(s): {reason}")]
    Timeout {
        /// The URL, redacted.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// Which limit was hit.
        reason: String,
    },
    /// The body ended (or the connection broke) before all announced bytes arrived.
    #[error(
        "download from {url} incomplete after {attempts} attempt(s): got {received} of {} bytes",
        expected_text(*.expected)
    )]
    Incomplete {
        /// The URL, redacted.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// Bytes received in the last attempt.
        received: u64,
        /// `Content-Length`, if the server sent one.
        expected: Option<u64>,
    },
    /// The recording is larger than [`FetchConfig::max_bytes`].
    #[error("recording at {url} is larger than the {limit} byte limit")]
    TooLarge {
        /// The URL, redacted.
        url: String,
        /// The limit, in bytes.
        limit: u64,
        /// `Content-Length`, if that is how the size was known.
        declared: Option<u64>,
    },
    /// [`FetchConfig`] is unusable, or the HTTP client could not be built.
    #[error("invalid fetch configuration: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: String,
    },
}

fn status_suffix(status: Option<u16>) -> String {
    match status {
        Some(s) => format!(" (http {s})"),
        None => ": the access token is not a valid http header value".to_owned(),
    }
}

fn expected_text(expected: Option<u64>) -> String {
    expected.map_or_else(|| "an unknown number of".to_owned(), |n| n.to_string())
}

impl FetchError {
    /// Stable snake_case name used in JSON results and the `error_kind` log field:
    /// `blocked_url`, `unauthorized`, `not_found`, `download_failed`, `download_timeout`,
    /// `download_incomplete`, `too_large`, or `config` for an unusable [`FetchConfig`]
    /// (the crate-wide name for configuration errors).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::BlockedUrl { .. } => "blocked_url",
            Self::Unauthorized { .. } => "unauthorized",
            Self::NotFound { .. } => "not_found",
            Self::DownloadFailed { .. } => "download_failed",
            Self::Timeout { .. } => "download_timeout",
            Self::Incomplete { .. } => "download_incomplete",
            Self::TooLarge { .. } => "too_large",
            Self::InvalidConfig { .. } => "config",
        }
    }

    /// Whether the same download could succeed later (transient network or server trouble),
    /// as opposed to a refusal that will not change (policy, auth, missing, too large).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::DownloadFailed { retryable, .. } => *retryable,
            Self::Timeout { .. } | Self::Incomplete { .. } => true,
            Self::BlockedUrl { .. }
            | Self::Unauthorized { .. }
            | Self::NotFound { .. }
            | Self::TooLarge { .. }
            | Self::InvalidConfig { .. } => false,
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
    backoff_base: Duration,
    backoff_max: Duration,
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
        let allow = cfg
            .allow_hosts
            .iter()
            .map(|entry| AllowEntry::parse(entry).map_err(|e| invalid(format!("allow_hosts: {e}"))))
            .collect::<Result<Vec<_>, _>>()?;
        let policy = Arc::new(UrlPolicy {
            allow,
            allow_insecure: cfg.allow_insecure_http,
        });
        let limits = Limits {
            max_bytes: cfg.max_bytes,
            connect: Duration::from_millis(cfg.connect_timeout_ms),
            stall: Duration::from_millis(cfg.read_stall_timeout_ms),
            total: Duration::from_millis(cfg.total_timeout_ms),
            max_retries: cfg.max_retries,
            backoff_base: Duration::from_millis(cfg.backoff_base_ms),
            backoff_max: Duration::from_millis(cfg.backoff_max_ms),
            retry_after_cap: Duration::from_millis(cfg.retry_after_cap_ms),
        };

        let redirect_policy = {
            let policy = Arc::clone(&policy);
            let max = usize::try_from(cfg.max_redirects).unwrap_or(usize::MAX);
            reqwest::redirect::Policy::custom(move |attempt| {
                // `previous` holds every URL visited so far, starting with the original one,
                // so its length is the number of this redirect.
                if attempt.previous().len() > max {
                    return attempt.error(TooManyRedirects);
                }
                match policy.check(attempt.url()) {
                    Ok(()) => attempt.follow(),
                    Err(reason) => {
                        let url = Some(redact_url(attempt.url()));
                        attempt.error(Blocked { url, reason })
                    }
                }
            })
        };

        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config().map_err(invalid)?)
            .dns_resolver(GuardedResolver {
                policy: Arc::clone(&policy),
            })
            .redirect(redirect_policy)
            // The Referer of a redirected request would be the signed URL.
            .referer(false)
            // A proxy would resolve host names itself, bypassing `GuardedResolver`.
            .no_proxy()
            // Our own loop retries with back-off and a deadline; reqwest retrying underneath
            // would make attempt counts and timing unpredictable.
            .retry(reqwest::retry::never())
            .connect_timeout(limits.connect)
            .pool_idle_timeout(Duration::from_secs(30))
            .user_agent(concat!(
                env!("CARGO_PKG_NAME"),
                "/",
                env!("CARGO_PKG_VERSION")
            ))
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
            Err(e) => warn!(error_kind = e.kind(), error = %e, "recording download failed"),
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
                error_kind = failure.kind(),
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
        let exp = self
            .limits
            .backoff_base
            .saturating_mul(1 << (attempt - 1).min(20));
        let full = exp.min(self.limits.backoff_max);
        // "Equal jitter": keep half, randomise the other half, so concurrent downloads that
        // failed together do not retry in lock-step yet still back off.
        let half = full / 2;
        let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        Some(half + Duration::from_millis(rand::rng().random_range(0..=jitter_ms)))
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

/// `Retry-After` in delta-seconds. The HTTP-date form is ignored (normal back-off applies).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs))
}

/// Why one attempt failed; becomes a [`FetchError`] once retrying stops.
#[derive(Debug)]
enum Failure {
    /// `url` is the refused redirect target, if it was not the requested URL itself.
    Blocked {
        url: Option<String>,
        reason: String,
    },
    Status {
        status: u16,
        retry_after: Option<Duration>,
    },
    Transport {
        reason: String,
        retryable: bool,
    },
    Stall(&'static str),
    Deadline,
    Incomplete {
        expected: Option<u64>,
        received: u64,
    },
    TooLarge {
        declared: Option<u64>,
    },
}

impl Failure {
    fn retryable(&self) -> bool {
        match self {
            Self::Status { status, .. } => *status == 429 || (500..=599).contains(status),
            Self::Transport { retryable, .. } => *retryable,
            Self::Stall(_) | Self::Incomplete { .. } => true,
            Self::Blocked { .. } | Self::Deadline | Self::TooLarge { .. } => false,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Self::Blocked { .. } => "blocked_url",
            Self::Status {
                status: 401 | 403, ..
            } => "unauthorized",
            Self::Status {
                status: 404 | 410, ..
            } => "not_found",
            Self::Status { .. } | Self::Transport { .. } => "download_failed",
            Self::Stall(_) | Self::Deadline => "download_timeout",
            Self::Incomplete { .. } => "download_incomplete",
            Self::TooLarge { .. } => "too_large",
        }
    }

    fn into_error(self, url: &str, attempts: u32, limits: &Limits) -> FetchError {
        let url = url.to_owned();
        match self {
            Self::Blocked {
                url: target,
                reason,
            } => FetchError::BlockedUrl {
                url: target.unwrap_or(url),
                reason,
            },
            Self::Status {
                status: status @ (401 | 403),
                ..
            } => FetchError::Unauthorized {
                url,
                status: Some(status),
            },
            Self::Status {
                status: status @ (404 | 410),
                ..
            } => FetchError::NotFound { url, status },
            Self::Status { status, .. } => FetchError::DownloadFailed {
                url,
                status: Some(status),
                attempts,
                reason: format!("http {status}"),
                retryable: status == 429 || (500..=599).contains(&status),
            },
            Self::Transport { reason, retryable } => FetchError::DownloadFailed {
                url,
                status: None,
                attempts,
                reason,
                retryable,
            },
            Self::Stall(what) => FetchError::Timeout {
                url,
                attempts,
                reason: format!("{what} (stall limit {} ms)", limits.stall.as_millis()),
            },
            Self::Deadline => FetchError::Timeout {
                url,
                attempts,
                reason: format!(
                    "total time limit of {} ms reached",
                    limits.total.as_millis()
                ),
            },
            Self::Incomplete { expected, received } => FetchError::Incomplete {
                url,
                attempts,
                received,
                expected,
            },
            Self::TooLarge { declared } => FetchError::TooLarge {
                url,
                limit: limits.max_bytes,
                declared,
            },
        }
    }
}

/// Turns a reqwest error into a [`Failure`], looking through its sources for our own
/// resolver and redirect-policy errors. The text never contains the URL: reqwest's is
/// stripped with `without_url`, and the sources below it (hyper, io) do not include one.
fn classify(err: reqwest::Error) -> Failure {
    let err = err.without_url();
    let mut source: Option<&(dyn StdError + 'static)> = Some(&err);
    while let Some(e) = source {
        if let Some(Blocked { url, reason }) = e.downcast_ref::<Blocked>() {
            return Failure::Blocked {
                url: url.clone(),
                reason: reason.clone(),
            };
        }
        if e.is::<TooManyRedirects>() {
            return Failure::Transport {
                reason: TooManyRedirects.to_string(),
                retryable: false,
            };
        }
        source = e.source();
    }
    if err.is_timeout() {
        return Failure::Stall("connecting timed out");
    }
    // Builder errors (a URL reqwest cannot send) and redirect loops will not heal.
    let retryable = !(err.is_builder() || err.is_redirect());
    Failure::Transport {
        reason: error_chain(&err),
        retryable,
    }
}

/// `outer: inner: innermost`, skipping repeats, at most 300 characters.
fn error_chain(err: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source = Some(err);
    while let Some(e) = source {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = e.source();
    }
    let mut out = parts.join(": ");
    if out.chars().count() > 300 {
        out = out.chars().take(300).collect::<String>() + "…";
    }
    out
}

/// Marker error: the redirect policy or the resolver refused a target.
#[derive(Debug)]
struct Blocked {
    /// The refused redirect target, redacted; `None` when it is the URL being downloaded.
    url: Option<String>,
    reason: String,
}

impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl StdError for Blocked {}

/// Marker error: more redirects than `max_redirects`.
#[derive(Debug)]
struct TooManyRedirects;

impl fmt::Display for TooManyRedirects {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("too many redirects")
    }
}

impl StdError for TooManyRedirects {}

/// The rules deciding which URLs and addresses may be contacted.
#[derive(Debug)]
struct UrlPolicy {
    allow: Vec<AllowEntry>,
    allow_insecure: bool,
}

impl UrlPolicy {
    /// Checks everything knowable from the URL alone. Host names are checked again, on their
    /// resolved addresses, by [`GuardedResolver`].
    fn check(&self, url: &Url) -> Result<(), String> {
        if !matches!(url.scheme(), "https" | "http") {
            return Err("only https urls may be downloaded".to_owned());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("urls with embedded credentials are refused".to_owned());
        }
        let Some(host) = url.host() else {
            return Err("url has no host".to_owned());
        };
        let allow_listed = self.allow.iter().any(|e| e.matches_url(url));
        if !self.allow.is_empty() && !allow_listed {
            return Err("host is not in allow_hosts".to_owned());
        }
        let insecure_ok = self.allow_insecure && allow_listed;
        if url.scheme() == "http" && !insecure_ok {
            return Err("plain http is refused (only allow-listed hosts with \
                        allow_insecure_http may use it)"
                .to_owned());
        }
        let ip = match host {
            Host::Ipv4(ip) => IpAddr::V4(ip),
            Host::Ipv6(ip) => IpAddr::V6(ip),
            Host::Domain(_) => return Ok(()),
        };
        match non_public(ip) {
            Some(category) if !insecure_ok => Err(format!("address is {category}")),
            _ => Ok(()),
        }
    }

    /// Whether `name` may resolve to non-public addresses (allow-listed, insecure mode).
    fn name_may_be_non_public(&self, name: &str) -> bool {
        self.allow_insecure && self.allow.iter().any(|e| e.matches_name(name))
    }
}

/// One `allow_hosts` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AllowEntry {
    host: AllowHost,
    /// `None` matches every port.
    port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum AllowHost {
    /// Lowercase host name, compared exactly.
    Name(String),
    /// From `*.example.com`: stored as `.example.com`, matches names ending in it.
    Suffix(String),
    Ip(IpAddr),
}

impl AllowEntry {
    fn parse(entry: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("{entry:?} is not HOST[:PORT]: {why}");
        let e = entry.trim();
        if e.is_empty() {
            return Err(bad("empty"));
        }
        if e.contains('/') || e.contains('@') {
            return Err(bad("write a host, not a url"));
        }
        let parse_port = |p: &str| match p.parse::<u16>() {
            Ok(0) | Err(_) => Err(bad("invalid port")),
            Ok(port) => Ok(port),
        };
        if let Some(rest) = e.strip_prefix('[') {
            let (ip, after) = rest.split_once(']').ok_or_else(|| bad("missing ]"))?;
            let ip: Ipv6Addr = ip.parse().map_err(|_| bad("invalid ipv6 address"))?;
            let port = match after {
                "" => None,
                p => Some(parse_port(
                    p.strip_prefix(':').ok_or_else(|| bad("junk after ]"))?,
                )?),
            };
            return Ok(Self {
                host: AllowHost::Ip(IpAddr::V6(ip)),
                port,
            });
        }
        let (host, port) = match e.rsplit_once(':') {
            Some((h, p)) => (h, Some(parse_port(p)?)),
            None => (e, None),
        };
        if host.contains(':') {
            return Err(bad("put ipv6 addresses in brackets"));
        }
        if let Ok(ip) = host.parse::<Ipv4Addr>() {
            return Ok(Self {
                host: AllowHost::Ip(IpAddr::V4(ip)),
                port,
            });
        }
        let (name, wildcard) = match host.strip_prefix("*.") {
            Some(rest) => (rest, true),
            None => (host, false),
        };
        let valid = !name.is_empty()
            && !name.starts_with(['.', '-'])
            && !name.ends_with('.')
            && !name.contains("..")
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        if !valid {
            return Err(bad("invalid host name (use ascii/punycode, optionally *.)"));
        }
        let name = name.to_ascii_lowercase();
        let host = if wildcard {
            AllowHost::Suffix(format!(".{name}"))
        } else {
            AllowHost::Name(name)
        };
        Ok(Self { host, port })
    }

    fn matches_name(&self, name: &str) -> bool {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        match &self.host {
            AllowHost::Name(n) => *n == name,
            AllowHost::Suffix(s) => name.len() > s.len() && name.ends_with(s.as_str()),
            AllowHost::Ip(_) => false,
        }
    }

    fn matches_url(&self, url: &Url) -> bool {
        let host_ok = match (url.host(), &self.host) {
            (Some(Host::Domain(d)), _) => self.matches_name(d),
            (Some(Host::Ipv4(ip)), AllowHost::Ip(a)) => *a == IpAddr::V4(ip),
            (Some(Host::Ipv6(ip)), AllowHost::Ip(a)) => *a == IpAddr::V6(ip),
            _ => false,
        };
        host_ok
            && self
                .port
                .is_none_or(|p| url.port_or_known_default() == Some(p))
    }
}

/// If `ip` is not a public unicast address, what it is.
fn non_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => non_public_v6(v6),
    }
}

fn non_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match () {
        _ if a == 0 => "unspecified (0.0.0.0/8)",
        _ if ip.is_loopback() => "loopback",
        _ if ip.is_private() => "private",
        _ if a == 100 && (b & 0xc0) == 64 => "shared address space (cgnat, 100.64.0.0/10)",
        _ if ip.is_link_local() => "link-local (169.254.0.0/16, incl. cloud metadata)",
        _ if ip.is_broadcast() => "broadcast",
        _ if ip.is_documentation() => "documentation",
        _ if ip.is_multicast() => "multicast",
        _ if a == 192 && b == 0 && c == 0 => "ietf protocol assignment (192.0.0.0/24)",
        _ if a == 198 && (b & 0xfe) == 18 => "benchmarking (198.18.0.0/15)",
        _ if a >= 240 => "reserved (240.0.0.0/4)",
        _ => return None,
    })
}

fn non_public_v6(ip: Ipv6Addr) -> Option<&'static str> {
    // ::ffff:a.b.c.d reaches a.b.c.d: judge the IPv4 address.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return non_public_v4(v4);
    }
    let s = ip.segments();
    let embedded_v4 = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        non_public_v4(Ipv4Addr::new(a, b, c, d))
    };
    Some(match () {
        _ if ip.is_unspecified() => "unspecified",
        _ if ip.is_loopback() => "loopback",
        _ if s[..6] == [0; 6] => "ipv4-compatible (deprecated ::/96)",
        // NAT64 well-known prefix 64:ff9b::/96 translates to the embedded IPv4 address.
        _ if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] => return embedded_v4(s[6], s[7]),
        _ if s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1 => "nat64 local-use (64:ff9b:1::/48)",
        _ if s[..4] == [0x100, 0, 0, 0] => "discard-only (100::/64)",
        _ if s[0] == 0x2001 && s[1] == 0x0db8 => "documentation",
        // Teredo, benchmarking, ORCHID, … none of them is a media server.
        _ if s[0] == 0x2001 && s[1] < 0x0200 => "ietf protocol assignment (2001::/23)",
        // 6to4 2002:AABB:CCDD::/48 carries IPv4 AA.BB.CC.DD.
        _ if s[0] == 0x2002 => return embedded_v4(s[1], s[2]),
        _ if s[0] == 0x3fff && s[1] < 0x1000 => "documentation (3fff::/20)",
        _ if (s[0] & 0xfe00) == 0xfc00 => "unique-local (fc00::/7)",
        _ if (s[0] & 0xffc0) == 0xfe80 => "link-local (fe80::/10)",
        _ if (s[0] & 0xffc0) == 0xfec0 => "site-local (deprecated fec0::/10)",
        _ if ip.is_multicast() => "multicast",
        _ => return None,
    })
}

/// The system resolver, with every answer checked against the policy before reqwest may
/// connect. reqwest skips resolution for IP-literal hosts, which [`UrlPolicy::check`] covers.
struct GuardedResolver {
    policy: Arc<UrlPolicy>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let may_be_non_public = self.policy.name_may_be_non_public(&host);
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            // All-or-nothing: a name with any non-public answer is refused outright rather than
            // trimmed, since a legitimate media host never resolves into a private network.
            let refused = match may_be_non_public {
                true => None,
                false => addrs.iter().find_map(|a| non_public(a.ip())),
            };
            if let Some(category) = refused {
                let reason = format!("host {host} resolves to an address that is {category}");
                let blocked = Blocked { url: None, reason };
                return Err(Box::new(blocked) as Box<dyn StdError + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
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
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(allow: &[&str], insecure: bool) -> UrlPolicy {
        UrlPolicy {
            allow: allow
                .iter()
                .map(|e| AllowEntry::parse(e).expect("entry"))
                .collect(),
            allow_insecure: insecure,
        }
    }

    fn url(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

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
            assert_eq!(err.kind(), "config", "{cfg:?}");
            assert!(!err.is_retryable());
        }
        Fetcher::new(FetchConfig::default()).expect("default config builds");
    }

    #[test]
    fn allow_entries_parse() {
        let cases = [
            (
                "Media.Example.test",
                AllowHost::Name("media.example.test".into()),
                None,
            ),
            (
                "media.example.test:8443",
                AllowHost::Name("media.example.test".into()),
                Some(8443),
            ),
            (
                "*.example.test",
                AllowHost::Suffix(".example.test".into()),
                None,
            ),
            (
                "127.0.0.1:80",
                AllowHost::Ip("127.0.0.1".parse().expect("ip")),
                Some(80),
            ),
            (
                "[::1]:9000",
                AllowHost::Ip("::1".parse().expect("ip")),
                Some(9000),
            ),
            (
                "[2001:db8::7]",
                AllowHost::Ip("2001:db8::7".parse().expect("ip")),
                None,
            ),
        ];
        for (raw, host, port) in cases {
            assert_eq!(
                AllowEntry::parse(raw),
                Ok(AllowEntry { host, port }),
                "{raw}"
            );
        }
        for bad in [
            "",
            "a.test:",
            "a.test:99999",
            "[::1",
            "[::1]x",
            "*.",
            "a..test",
            "a b",
            "é.test",
        ] {
            assert!(AllowEntry::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn default_policy_allows_public_https_only() {
        let p = policy(&[], false);
        assert_eq!(
            p.check(&url("https://media.example.test/r/1?sig=x")),
            Ok(())
        );
        assert_eq!(p.check(&url("https://93.184.216.34/r")), Ok(()));
        assert_eq!(p.check(&url("https://[2606:4700::1111]/r")), Ok(()));
        for blocked in [
            "http://media.example.test/r",
            "ftp://media.example.test/r",
            "file:///etc/passwd",
            "data:text/plain,hi",
            "https://user:pw@media.example.test/r",
            "https://127.0.0.1/r",
            "https://127.1/r",
            "https://0x7f000001/r",
            "https://2130706433/r",
            "https://0.0.0.0/r",
            "https://10.1.2.3/r",
            "https://172.16.0.1/r",
            "https://192.168.1.1/r",
            "https://100.64.0.1/r",
            "https://169.254.169.254/latest/meta-data/",
            "https://224.0.0.1/r",
            "https://255.255.255.255/r",
            "https://192.0.2.1/r",
            "https://[::1]/r",
            "https://[::]/r",
            "https://[::ffff:127.0.0.1]/r",
            "https://[::ffff:169.254.169.254]/r",
            "https://[fe80::1]/r",
            "https://[fd00::1]/r",
            "https://[ff02::1]/r",
            "https://[2001:db8::1]/r",
            "https://[64:ff9b::a9fe:a9fe]/r",
            "https://[2002:c0a8:0101::1]/r",
        ] {
            assert!(
                p.check(&url(blocked)).is_err(),
                "{blocked} should be blocked"
            );
        }
    }

    #[test]
    fn allow_list_and_insecure_mode() {
        let p = policy(
            &["127.0.0.1:8080", "*.media.example.test", "localhost"],
            true,
        );
        assert_eq!(p.check(&url("http://127.0.0.1:8080/r")), Ok(()));
        assert!(
            p.check(&url("http://127.0.0.1:8081/r")).is_err(),
            "port not allowed"
        );
        assert!(
            p.check(&url("http://10.0.0.1/r")).is_err(),
            "not allow-listed"
        );
        assert_eq!(p.check(&url("https://eu.media.example.test/r")), Ok(()));
        assert!(
            p.check(&url("https://media.example.test/r")).is_err(),
            "apex not covered"
        );
        assert!(
            p.check(&url("https://evil.test/r")).is_err(),
            "not allow-listed"
        );
        assert!(p.name_may_be_non_public("localhost"));
        assert!(p.name_may_be_non_public("LOCALHOST."));
        assert!(!p.name_may_be_non_public("evil.test"));

        // Without allow_insecure_http the same allow-list still refuses http and loopback.
        let strict = policy(&["127.0.0.1:8080", "localhost"], false);
        assert!(strict.check(&url("http://127.0.0.1:8080/r")).is_err());
        assert!(strict.check(&url("https://127.0.0.1:8080/r")).is_err());
        assert!(!strict.name_may_be_non_public("localhost"));

        // An allow-list entry without a port matches any port, with https's default too.
        let any_port = policy(&["media.example.test"], false);
        assert_eq!(
            any_port.check(&url("https://media.example.test:8443/r")),
            Ok(())
        );
        let port_443 = policy(&["media.example.test:443"], false);
        assert_eq!(port_443.check(&url("https://media.example.test/r")), Ok(()));
        assert!(port_443
            .check(&url("https://media.example.test:444/r"))
            .is_err());
    }

    #[test]
    fn address_categories() {
        let public = [
            "8.8.8.8",
            "1.1.1.1",
            "100.63.255.255",
            "100.128.0.0",
            "172.32.0.1",
            "2606:4700::1111",
            "2a00:1450::1",
            "64:ff9b::808:808",
            "2002:0808:0808::1",
        ];
        for ip in public {
            assert_eq!(non_public(ip.parse().expect("ip")), None, "{ip}");
        }
        let blocked = [
            "0.1.2.3",
            "127.255.0.1",
            "10.255.255.255",
            "172.31.255.255",
            "192.168.0.0",
            "100.127.255.255",
            "169.254.0.1",
            "224.0.0.251",
            "239.255.255.250",
            "255.255.255.255",
            "198.51.100.1",
            "203.0.113.1",
            "192.0.0.8",
            "198.19.0.1",
            "240.0.0.1",
            "::",
            "::1",
            "::ffff:10.0.0.1",
            "::ffff:0.0.0.0",
            "::7f00:1",
            "64:ff9b::7f00:1",
            "64:ff9b:1::1",
            "100::1",
            "2001::1",
            "2001:db8::1",
            "2002:7f00:0001::1",
            "3fff::1",
            "fc00::1",
            "fdff::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
        ];
        for ip in blocked {
            assert!(non_public(ip.parse().expect("ip")).is_some(), "{ip}");
        }
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
    fn retry_after_parsing() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static(" 3 "));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("-1"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn bearer_header_is_sensitive_and_rejects_bad_tokens() {
        let value = bearer_header(&AccessToken::new("eyJ.abc")).expect("header");
        assert!(value.is_sensitive());
        assert_eq!(value.as_bytes(), b"Bearer eyJ.abc");
        assert!(format!("{value:?}").contains("Sensitive"));
        assert!(bearer_header(&AccessToken::new("a\nb")).is_err());
    }

    #[test]
    fn error_kinds_and_retryability() {
        let limits = Fetcher::new(FetchConfig::default())
            .expect("fetcher")
            .limits;
        let table = [
            (
                Failure::Blocked {
                    url: None,
                    reason: "x".into(),
                },
                "blocked_url",
                false,
            ),
            (
                Failure::Status {
                    status: 401,
                    retry_after: None,
                },
                "unauthorized",
                false,
            ),
            (
                Failure::Status {
                    status: 403,
                    retry_after: None,
                },
                "unauthorized",
                false,
            ),
            (
                Failure::Status {
                    status: 404,
                    retry_after: None,
                },
                "not_found",
                false,
            ),
            (
                Failure::Status {
                    status: 410,
                    retry_after: None,
                },
                "not_found",
                false,
            ),
            (
                Failure::Status {
                    status: 400,
                    retry_after: None,
                },
                "download_failed",
                false,
            ),
            (
                Failure::Status {
                    status: 302,
                    retry_after: None,
                },
                "download_failed",
                false,
            ),
            (
                Failure::Status {
                    status: 429,
                    retry_after: None,
                },
                "download_failed",
                true,
            ),
            (
                Failure::Status {
                    status: 503,
                    retry_after: None,
                },
                "download_failed",
                true,
            ),
            (
                Failure::Transport {
                    reason: "x".into(),
                    retryable: true,
                },
                "download_failed",
                true,
            ),
            (Failure::Stall("x"), "download_timeout", true),
            (Failure::Deadline, "download_timeout", true),
            (
                Failure::Incomplete {
                    expected: Some(9),
                    received: 3,
                },
                "download_incomplete",
                true,
            ),
            (
                Failure::Incomplete {
                    expected: None,
                    received: 3,
                },
                "download_incomplete",
                true,
            ),
            (Failure::TooLarge { declared: None }, "too_large", false),
        ];
        for (failure, kind, retryable) in table {
            assert_eq!(failure.kind(), kind);
            let err = failure.into_error("https://h.test/p", 2, &limits);
            assert_eq!(err.kind(), kind, "{err}");
            assert_eq!(err.is_retryable(), retryable, "{err}");
            let text = err.to_string();
            assert!(
                text.starts_with(char::is_lowercase) && !text.ends_with('.'),
                "{text}"
            );
        }
    }
}
