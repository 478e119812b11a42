//! HTTP handlers: the notification endpoint, health, readiness and metrics.
//!
//! The notification handler does only cheap, bounded work before answering: a header check,
//! one RS256 verification, reading at most the body limit, parsing, and a mutex-protected
//! queue reservation. Everything slow happens after the answer, in the workers.

use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http_body_util::LengthLimitError;
use serde::Serialize;

use super::auth::AuthError;
use super::metrics::Reject;
use super::queue::{Admit, Work};
use super::AppState;
use crate::notification::{self, NotificationError, Parsed};

/// The service's routes: `POST <path>`, `GET /healthz`, `GET /readyz`, `GET /metrics`.
/// A worker-only replica of a fleet (`--role worker`) has no notification route: a load
/// balancer that sends it a notification gets `404`, never a `202` for work it did not queue.
///
/// Usable without a socket (e.g. `tower::ServiceExt::oneshot` in tests) and mountable in a
/// bot's own axum application.
pub fn router(state: AppState) -> Router {
    let path = state.inner.path.clone();
    let router = if state.inner.role.intake() {
        Router::new().route(&path, post(notifications))
    } else {
        Router::new()
    };
    router
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// The `202` answer: what became of the POST's notifications.
#[derive(Serialize)]
struct Ack {
    /// Operations queued for processing; each will produce exactly one result.
    accepted: usize,
    /// Operations already accepted earlier (redeliveries): acknowledged, not processed again.
    duplicates: usize,
    /// Notifications that are not finished record operations.
    ignored: usize,
}

/// An error answer: `{"error": {"kind": ..., "message": ...}}`.
pub(crate) struct ApiError {
    status: StatusCode,
    reason: Reject,
    message: String,
    retry_after_s: Option<u64>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    kind: &'a str,
    message: &'a str,
}

impl ApiError {
    fn new(status: StatusCode, reason: Reject, message: impl Into<String>) -> Self {
        Self {
            status,
            reason,
            message: message.into(),
            retry_after_s: None,
        }
    }

    fn unavailable(reason: Reject, message: &str, retry_after_s: u64) -> Self {
        Self {
            retry_after_s: Some(retry_after_s),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, reason, message)
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                kind: self.reason.as_str(),
                message: &self.message,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        if let Some(s) = self.retry_after_s {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        response
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        let reason = match e {
            AuthError::TenantNotAllowed => Reject::Forbidden,
            _ => Reject::Unauthorized,
        };
        Self::new(e.status(), reason, e.to_string())
    }
}

async fn notifications(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let metrics = &state.inner.metrics;
    metrics.received.inc();
    let response = match accept(&state, &headers, body).await {
        Ok(ack) => {
            metrics.accepted.inc();
            (StatusCode::ACCEPTED, Json(ack)).into_response()
        }
        Err(e) => {
            metrics.reject(e.reason);
            tracing::debug!(
                reason = e.reason.as_str(),
                status = e.status.as_u16(),
                "notification refused"
            );
            e.into_response()
        }
    };
    metrics.observe_response(started.elapsed());
    response
}

/// Authenticates, reads, parses and admits one notification POST.
async fn accept(state: &AppState, headers: &HeaderMap, body: Body) -> Result<Ack, ApiError> {
    let shared = &state.inner;
    let retry_after = shared.retry_after_s;
    if !shared.accepting.load(Ordering::Acquire) {
        return Err(ApiError::unavailable(
            Reject::ShuttingDown,
            "the service is shutting down",
            retry_after,
        ));
    }
    // Authenticate before reading the body: an anonymous sender gets nothing buffered.
    shared.auth.check(headers).await?;
    let body = read_body(headers, body, shared.body_limit).await?;
    let parsed = notification::parse(&body).map_err(|e| {
        // Size refusals are 413 like the body limit's; Graph does not retry a 400.
        let (status, reason) = match &e {
            NotificationError::TooManyNotifications { .. } => {
                (StatusCode::PAYLOAD_TOO_LARGE, Reject::TooManyNotifications)
            }
            // Unreachable while `body_limit_bytes ≤ MAX_BODY_BYTES` (checked at start-up);
            // kept correct for a router built around another limit.
            NotificationError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, Reject::TooLarge),
            _ => (StatusCode::BAD_REQUEST, Reject::InvalidBody),
        };
        ApiError::new(status, reason, e.to_string())
    })?;

    let mut works = Vec::with_capacity(parsed.len());
    let mut ignored = 0;
    for entry in parsed {
        match entry {
            Parsed::Job(job) => works.push(Work::Download(job)),
            Parsed::Failed(failed) => works.push(Work::Failed(failed)),
            Parsed::Skipped(skipped) => {
                ignored += 1;
                tracing::debug!(reason = %skipped.reason, "notification ignored");
            }
        }
    }
    let metrics = &shared.metrics;
    metrics.operations_ignored.inc_by(ignored as u64);
    match shared.intake.admit(works).await {
        Admit::Accepted { queued, duplicates } => {
            metrics.operations_accepted.inc_by(queued as u64);
            metrics.operations_duplicate.inc_by(duplicates as u64);
            Ok(Ack {
                accepted: queued,
                duplicates,
                ignored,
            })
        }
        Admit::Full => Err(ApiError::unavailable(
            Reject::QueueFull,
            "the job queue is full; retry later",
            retry_after,
        )),
        Admit::Unavailable => Err(ApiError::unavailable(
            Reject::QueueUnavailable,
            "the job queue cannot be reached; retry later",
            retry_after,
        )),
        Admit::Closed => Err(ApiError::unavailable(
            Reject::ShuttingDown,
            "the service is shutting down",
            retry_after,
        )),
        Admit::TooMany => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            Reject::TooManyOperations,
            format!(
                "the notification holds more operations than the queue capacity ({})",
                shared.intake.capacity()
            ),
        )),
    }
}

/// Reads the body, refusing more than `limit` bytes: early on a `Content-Length` that says so,
/// and while reading a body that has none (or lies).
async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<axum::body::Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            Reject::TooLarge,
            format!("the body is larger than the {limit} byte limit"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        // axum's documented way to tell the limit from a broken stream.
        if std::error::Error::source(&e).is_some_and(|s| s.is::<LengthLimitError>()) {
            too_large()
        } else {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                Reject::InvalidBody,
                "the body could not be read",
            )
        }
    })
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if state.is_ready() {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics_text(),
    )
}
