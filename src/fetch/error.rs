//! Why a download failed: [`FetchError`] with its stable kind and retry policy, and the
//! per-attempt failures (HTTP status, transport, stall, size) it is made from.
//!
//! The retry decision lives here, next to the error type: [`Failure::retryable`] decides
//! whether the download loop tries again, [`FetchError::is_retryable`] tells the caller
//! whether a later download could succeed. `retry.rs` only computes how long to wait.

use std::error::Error as StdError;
use std::time::Duration;

use super::policy::{Blocked, TooManyRedirects};
use super::Limits;
use crate::error::ErrorKind;

/// Why a download failed. Every message identifies the target only by
/// [`redact_url`](super::redact_url).
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
    /// The recording is larger than [`FetchConfig::max_bytes`](super::FetchConfig::max_bytes).
    #[error("recording at {url} is larger than the {limit} byte limit")]
    TooLarge {
        /// The URL, redacted.
        url: String,
        /// The limit, in bytes.
        limit: u64,
        /// `Content-Length`, if that is how the size was known.
        declared: Option<u64>,
    },
    /// [`FetchConfig`](super::FetchConfig) is unusable, or the HTTP client could not be built.
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
    /// The stable kind written as `error.kind` in results and as the `error_kind` log field:
    /// [`BlockedUrl`](ErrorKind::BlockedUrl), [`Unauthorized`](ErrorKind::Unauthorized),
    /// [`NotFound`](ErrorKind::NotFound), [`DownloadFailed`](ErrorKind::DownloadFailed),
    /// [`DownloadTimeout`](ErrorKind::DownloadTimeout),
    /// [`DownloadIncomplete`](ErrorKind::DownloadIncomplete),
    /// [`TooLarge`](ErrorKind::TooLarge), or [`Config`](ErrorKind::Config) for an unusable
    /// [`FetchConfig`](super::FetchConfig).
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::BlockedUrl { .. } => ErrorKind::BlockedUrl,
            Self::Unauthorized { .. } => ErrorKind::Unauthorized,
            Self::NotFound { .. } => ErrorKind::NotFound,
            Self::DownloadFailed { .. } => ErrorKind::DownloadFailed,
            Self::Timeout { .. } => ErrorKind::DownloadTimeout,
            Self::Incomplete { .. } => ErrorKind::DownloadIncomplete,
            Self::TooLarge { .. } => ErrorKind::TooLarge,
            Self::InvalidConfig { .. } => ErrorKind::Config,
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

/// Why one attempt failed; becomes a [`FetchError`] once retrying stops.
#[derive(Debug)]
pub(super) enum Failure {
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
    /// Whether another attempt within the same download may succeed: HTTP 429 and 5xx,
    /// transport errors that can heal, stalls and truncated bodies. The total deadline is
    /// final here (there is no time left), though the download as a whole may be retried.
    pub(super) fn retryable(&self) -> bool {
        match self {
            Self::Status { status, .. } => *status == 429 || (500..=599).contains(status),
            Self::Transport { retryable, .. } => *retryable,
            Self::Stall(_) | Self::Incomplete { .. } => true,
            Self::Blocked { .. } | Self::Deadline | Self::TooLarge { .. } => false,
        }
    }

    /// The kind of the [`FetchError`] this failure becomes, for the log line of a retry.
    pub(super) fn kind(&self) -> ErrorKind {
        match self {
            Self::Blocked { .. } => ErrorKind::BlockedUrl,
            Self::Status {
                status: 401 | 403, ..
            } => ErrorKind::Unauthorized,
            Self::Status {
                status: 404 | 410, ..
            } => ErrorKind::NotFound,
            Self::Status { .. } | Self::Transport { .. } => ErrorKind::DownloadFailed,
            Self::Stall(_) | Self::Deadline => ErrorKind::DownloadTimeout,
            Self::Incomplete { .. } => ErrorKind::DownloadIncomplete,
            Self::TooLarge { .. } => ErrorKind::TooLarge,
        }
    }

    /// The error reported once retrying stops after `attempts` attempts at `url` (redacted).
    pub(super) fn into_error(self, url: &str, attempts: u32, limits: &Limits) -> FetchError {
        let url = url.to_owned();
        let retryable = self.retryable();
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
                retryable,
            },
            Self::Transport { reason, .. } => FetchError::DownloadFailed {
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
pub(super) fn classify(err: reqwest::Error) -> Failure {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::{FetchConfig, Fetcher};

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
                ErrorKind::BlockedUrl,
                false,
            ),
            (
                Failure::Status {
                    status: 401,
                    retry_after: None,
                },
                ErrorKind::Unauthorized,
                false,
            ),
            (
                Failure::Status {
                    status: 403,
                    retry_after: None,
                },
                ErrorKind::Unauthorized,
                false,
            ),
            (
                Failure::Status {
                    status: 404,
                    retry_after: None,
                },
                ErrorKind::NotFound,
                false,
            ),
            (
                Failure::Status {
                    status: 410,
                    retry_after: None,
                },
                ErrorKind::NotFound,
                false,
            ),
            (
                Failure::Status {
                    status: 400,
                    retry_after: None,
                },
                ErrorKind::DownloadFailed,
                false,
            ),
            (
                Failure::Status {
                    status: 302,
                    retry_after: None,
                },
                ErrorKind::DownloadFailed,
                false,
            ),
            (
                Failure::Status {
                    status: 429,
                    retry_after: None,
                },
                ErrorKind::DownloadFailed,
                true,
            ),
            (
                Failure::Status {
                    status: 503,
                    retry_after: None,
                },
                ErrorKind::DownloadFailed,
                true,
            ),
            (
                Failure::Transport {
                    reason: "x".into(),
                    retryable: true,
                },
                ErrorKind::DownloadFailed,
                true,
            ),
            (Failure::Stall("x"), ErrorKind::DownloadTimeout, true),
            (Failure::Deadline, ErrorKind::DownloadTimeout, true),
            (
                Failure::Incomplete {
                    expected: Some(9),
                    received: 3,
                },
                ErrorKind::DownloadIncomplete,
                true,
            ),
            (
                Failure::Incomplete {
                    expected: None,
                    received: 3,
                },
                ErrorKind::DownloadIncomplete,
                true,
            ),
            (
                Failure::TooLarge { declared: None },
                ErrorKind::TooLarge,
                false,
            ),
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
