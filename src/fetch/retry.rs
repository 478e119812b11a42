//! Retry timing shared by downloads and the `serve` result callback: jittered exponential
//! back-off and the `Retry-After` header.
//!
//! *Whether* to retry is each caller's policy and sits next to its error type
//! ([`FetchError::is_retryable`](super::FetchError::is_retryable) for downloads); this file
//! only says *how long* to wait.

use std::time::Duration;

use rand::Rng;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// Exponential back-off with "equal jitter": before retry `n` (1 for the first retry) the
/// full delay is `base · 2^(n-1)`, capped at `max`, and the wait is drawn uniformly between
/// half of it and all of it. Keeping half means callers still back off; randomising the
/// other half means many operations that failed together (one outage) do not retry in
/// lock-step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Backoff {
    base: Duration,
    max: Duration,
}

impl Backoff {
    /// Back-off starting at `base` and never above `max`.
    pub(crate) fn new(base: Duration, max: Duration) -> Self {
        Self { base, max }
    }

    /// The largest delay [`delay`](Self::delay) returns. The `serve` callback caps
    /// `Retry-After` with it; downloads have their own cap.
    #[cfg(feature = "server")]
    pub(crate) fn max(&self) -> Duration {
        self.max
    }

    /// The wait before retry number `retry` (1 for the first retry; 0 is treated as 1).
    pub(crate) fn delay(&self, retry: u32) -> Duration {
        // 2^20 × base already exceeds any sensible cap; the shift stays defined.
        let doublings = retry.saturating_sub(1).min(20);
        let full = self.base.saturating_mul(1 << doublings).min(self.max);
        rand::rng().random_range(full / 2..=full)
    }
}

/// `Retry-After` in delta-seconds. The HTTP-date form is ignored (normal back-off applies).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn backoff_doubles_to_the_cap_with_equal_jitter() {
        let ms = Duration::from_millis;
        let backoff = Backoff::new(ms(100), ms(300));
        for (retry, full) in [
            (0, 100),
            (1, 100),
            (2, 200),
            (3, 300),
            (4, 300),
            (u32::MAX, 300),
        ] {
            let delays: Vec<Duration> = (0..200).map(|_| backoff.delay(retry)).collect();
            for d in &delays {
                assert!(*d >= ms(full) / 2 && *d <= ms(full), "retry {retry}: {d:?}");
            }
            // The jitter spreads over the whole upper half: 200 draws that all miss one
            // quarter of it would happen with probability 2^-200.
            let three_quarters = ms(full) * 3 / 4;
            assert!(delays.iter().any(|d| *d < three_quarters), "retry {retry}");
            assert!(delays.iter().any(|d| *d > three_quarters), "retry {retry}");
        }
        let none = Backoff::new(Duration::ZERO, Duration::ZERO);
        assert_eq!(none.delay(3), Duration::ZERO);
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
}
