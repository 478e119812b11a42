//! `fetch::Fetcher` against a real HTTP server on 127.0.0.1 (`support/media_server.rs`).
//!
//! Every error kind, retry counting, redirects (including that `Authorization` never reaches
//! another origin), the SSRF guard on IP literals and on resolved names, and that neither the
//! token nor the recording's path or signed query ever shows up in an error or a log line:
//! errors name the target only as `scheme://host[:port]` ([`redact_url`]). All traffic stays on
//! 127.0.0.1; every server pause is bounded, and every download runs under a total deadline.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use callscribe::fetch::{FetchConfig, FetchError, Fetcher};
use callscribe::notification::{redact_url, AccessToken};
use callscribe::ErrorKind;

use crate::support::media_server::{Behaviour, MediaServer};

const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.TESTTOKEN.fake";
/// Every URL carries this path and query so tests can prove neither ever leaks.
const SIGNED: &str = "/recordings/abc?sig=SECRETSIG&se=2030";
/// Pieces of [`SIGNED`] and of the redirect targets below that must never appear in an error
/// or a log line.
const SECRET_PIECES: [&str; 7] = [
    TOKEN,
    "TESTTOKEN",
    "SECRETSIG",
    "sig=",
    "/recordings",
    "recordings/abc",
    "/moved",
];

fn token() -> AccessToken {
    AccessToken::new(TOKEN)
}

/// Fast limits, and the given servers allow-listed for plain http on loopback.
fn config(servers: &[&MediaServer]) -> FetchConfig {
    FetchConfig {
        max_bytes: 4 * 1024 * 1024,
        connect_timeout_ms: 2_000,
        read_stall_timeout_ms: 500,
        total_timeout_ms: 10_000,
        max_retries: 3,
        backoff_base_ms: 10,
        backoff_max_ms: 40,
        retry_after_cap_ms: 2_000,
        max_redirects: 3,
        allow_hosts: servers.iter().map(|s| s.authority()).collect(),
        allow_insecure_http: true,
    }
}

fn fetcher(cfg: FetchConfig) -> Fetcher {
    Fetcher::new(cfg).expect("fetcher")
}

/// Some bytes that are not all alike.
fn recording(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// Neither the token nor the recording's path or query may appear in an error, however it is
/// printed.
fn assert_clean(err: &FetchError) {
    let texts = [err.to_string(), format!("{err:?}"), format!("{err:#?}")];
    for text in texts {
        for secret in SECRET_PIECES {
            assert!(!text.contains(secret), "{secret:?} leaked: {text}");
        }
    }
}

/// The URL an error names, for the variants that carry one.
fn error_url(err: &FetchError) -> &str {
    match err {
        FetchError::BlockedUrl { url, .. }
        | FetchError::Unauthorized { url, .. }
        | FetchError::NotFound { url, .. }
        | FetchError::DownloadFailed { url, .. }
        | FetchError::Timeout { url, .. }
        | FetchError::Incomplete { url, .. }
        | FetchError::TooLarge { url, .. } => url,
        other => panic!("no url in {other:?}"),
    }
}

async fn expect_err(fetcher: &Fetcher, url: &url::Url, kind: ErrorKind) -> FetchError {
    let err = fetcher
        .download(url, &token())
        .await
        .expect_err(kind.as_str());
    assert_eq!(err.kind(), kind, "{err}");
    assert_clean(&err);
    err
}

fn attempts(err: &FetchError) -> u32 {
    match err {
        FetchError::DownloadFailed { attempts, .. }
        | FetchError::Timeout { attempts, .. }
        | FetchError::Incomplete { attempts, .. } => *attempts,
        other => panic!("no attempt count in {other:?}"),
    }
}

#[tokio::test]
async fn downloads_with_bearer_token() {
    let body = recording(1024 * 1024 + 7);
    let server = MediaServer::start([Behaviour::serve_with_bearer(&body, TOKEN)]).await;
    let f = fetcher(config(&[&server]));
    let got = f
        .download(&server.url(SIGNED), &token())
        .await
        .expect("download");
    assert_eq!(got.as_slice(), body.as_slice());
    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].target, SIGNED, "query passed through untouched");
    assert_eq!(
        seen[0].header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    let user_agent = seen[0].header("user-agent").unwrap_or_default();
    assert!(
        user_agent.starts_with(concat!(env!("CARGO_PKG_NAME"), "/")),
        "{user_agent}"
    );
}

#[tokio::test]
async fn downloads_chunked_body_of_unknown_length() {
    // Larger than the 256 KiB initial buffer, so the zeroizing growth path runs.
    let body = recording(700 * 1024);
    let server = MediaServer::start([Behaviour::Serve {
        body: body.clone(),
        bearer: None,
        chunked: true,
    }])
    .await;
    let got = fetcher(config(&[&server]))
        .download(&server.url(SIGNED), &token())
        .await;
    assert_eq!(got.expect("download").as_slice(), body.as_slice());
}

#[tokio::test]
async fn wrong_token_is_unauthorized_without_retry() {
    let server = MediaServer::start([Behaviour::serve_with_bearer(b"x", "another-token")]).await;
    let err = expect_err(
        &fetcher(config(&[&server])),
        &server.url(SIGNED),
        ErrorKind::Unauthorized,
    )
    .await;
    assert!(matches!(
        err,
        FetchError::Unauthorized {
            status: Some(401),
            ..
        }
    ));
    assert!(!err.is_retryable());
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn final_statuses_map_to_kinds_without_retry() {
    for (status, kind) in [
        (401, ErrorKind::Unauthorized),
        (403, ErrorKind::Unauthorized),
        (404, ErrorKind::NotFound),
        (410, ErrorKind::NotFound),
        (400, ErrorKind::DownloadFailed),
        (418, ErrorKind::DownloadFailed),
    ] {
        let server = MediaServer::start([Behaviour::status(status)]).await;
        let err = expect_err(&fetcher(config(&[&server])), &server.url(SIGNED), kind).await;
        assert!(!err.is_retryable(), "{status}: {err}");
        assert_eq!(server.request_count(), 1, "{status} must not be retried");
        // Scheme, host and port only: the path names the recording.
        assert_eq!(
            error_url(&err),
            format!("http://{}", server.authority()),
            "{status}"
        );
        assert!(
            err.to_string()
                .contains(&format!("http://{}", server.authority())),
            "{err}"
        );
    }
}

#[tokio::test]
async fn server_error_then_success_is_retried() {
    let body = recording(4096);
    let server = MediaServer::start([
        Behaviour::status(500),
        Behaviour::status(502),
        Behaviour::serve_with_bearer(&body, TOKEN),
    ])
    .await;
    let got = fetcher(config(&[&server]))
        .download(&server.url(SIGNED), &token())
        .await;
    assert_eq!(got.expect("download").as_slice(), body.as_slice());
    assert_eq!(server.request_count(), 3);
    // Every attempt carried the token.
    assert!(server
        .requests()
        .iter()
        .all(|r| r.header("authorization").is_some()));
}

#[tokio::test]
async fn persistent_server_error_gives_up_after_max_retries() {
    let server = MediaServer::start([Behaviour::status(503)]).await;
    let cfg = FetchConfig {
        max_retries: 2,
        ..config(&[&server])
    };
    let err = expect_err(
        &fetcher(cfg),
        &server.url(SIGNED),
        ErrorKind::DownloadFailed,
    )
    .await;
    assert_eq!(attempts(&err), 3);
    assert!(matches!(
        err,
        FetchError::DownloadFailed {
            status: Some(503),
            ..
        }
    ));
    assert!(err.is_retryable());
    assert_eq!(server.request_count(), 3);
}

#[tokio::test]
async fn too_many_requests_honours_retry_after() {
    let body = recording(100);
    let server = MediaServer::start([
        Behaviour::Status {
            status: 429,
            retry_after: Some("1".into()),
        },
        Behaviour::serve(&body),
    ])
    .await;
    let start = Instant::now();
    let got = fetcher(config(&[&server]))
        .download(&server.url(SIGNED), &token())
        .await;
    assert_eq!(got.expect("download").as_slice(), body.as_slice());
    // Back-off alone would be ≤ 40 ms; the one-second Retry-After was honoured.
    assert!(
        start.elapsed() >= Duration::from_millis(950),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(server.request_count(), 2);
}

#[tokio::test]
async fn retry_after_is_capped() {
    let server = MediaServer::start([
        Behaviour::Status {
            status: 429,
            retry_after: Some("3600".into()),
        },
        Behaviour::serve(b"ok"),
    ])
    .await;
    let cfg = FetchConfig {
        retry_after_cap_ms: 200,
        ..config(&[&server])
    };
    let start = Instant::now();
    fetcher(cfg)
        .download(&server.url(SIGNED), &token())
        .await
        .expect("download");
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_millis(190) && elapsed < Duration::from_secs(3),
        "{elapsed:?}"
    );
}

#[tokio::test]
async fn retry_that_would_miss_the_deadline_is_not_attempted() {
    let server = MediaServer::start([Behaviour::Status {
        status: 503,
        retry_after: Some("2".into()),
    }])
    .await;
    let cfg = FetchConfig {
        total_timeout_ms: 1_000,
        ..config(&[&server])
    };
    let start = Instant::now();
    let err = expect_err(
        &fetcher(cfg),
        &server.url(SIGNED),
        ErrorKind::DownloadFailed,
    )
    .await;
    assert_eq!(attempts(&err), 1);
    assert!(
        start.elapsed() < Duration::from_millis(900),
        "did not sleep past the deadline"
    );
}

#[tokio::test]
async fn truncated_body_is_retried_then_incomplete() {
    let server = MediaServer::start([Behaviour::Truncated {
        declared: 10_000,
        body: recording(4_000),
    }])
    .await;
    let cfg = FetchConfig {
        max_retries: 2,
        ..config(&[&server])
    };
    let err = expect_err(
        &fetcher(cfg),
        &server.url(SIGNED),
        ErrorKind::DownloadIncomplete,
    )
    .await;
    assert_eq!(attempts(&err), 3);
    assert!(
        matches!(
            err,
            FetchError::Incomplete {
                expected: Some(10_000),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(server.request_count(), 3);
}

#[tokio::test]
async fn truncated_body_then_success() {
    let body = recording(10_000);
    let server = MediaServer::start([
        Behaviour::Truncated {
            declared: 10_000,
            body: body[..100].to_vec(),
        },
        Behaviour::serve(&body),
    ])
    .await;
    let got = fetcher(config(&[&server]))
        .download(&server.url(SIGNED), &token())
        .await;
    assert_eq!(got.expect("download").as_slice(), body.as_slice());
    assert_eq!(server.request_count(), 2);
}

#[tokio::test]
async fn stall_mid_body_times_out_per_attempt() {
    let server = MediaServer::start([Behaviour::StallBody {
        declared: 10_000,
        prefix: recording(1_000),
        pause: Duration::from_secs(10),
    }])
    .await;
    let cfg = FetchConfig {
        read_stall_timeout_ms: 200,
        max_retries: 1,
        ..config(&[&server])
    };
    let start = Instant::now();
    let err = expect_err(
        &fetcher(cfg),
        &server.url(SIGNED),
        ErrorKind::DownloadTimeout,
    )
    .await;
    assert_eq!(attempts(&err), 2);
    assert!(err.to_string().contains("no body bytes"), "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn stall_before_headers_times_out() {
    let server = MediaServer::start([Behaviour::StallHeaders {
        pause: Duration::from_secs(10),
    }])
    .await;
    let cfg = FetchConfig {
        connect_timeout_ms: 200,
        read_stall_timeout_ms: 200,
        max_retries: 0,
        ..config(&[&server])
    };
    let start = Instant::now();
    let err = expect_err(
        &fetcher(cfg),
        &server.url(SIGNED),
        ErrorKind::DownloadTimeout,
    )
    .await;
    assert!(err.to_string().contains("no response headers"), "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn slow_drip_within_stall_limit_succeeds() {
    let body = recording(2_000);
    let server = MediaServer::start([Behaviour::Drip {
        body: body.clone(),
        chunk: 400,
        interval: Duration::from_millis(60),
    }])
    .await;
    // Five chunks 60 ms apart: each well inside the 500 ms stall limit.
    let got = fetcher(config(&[&server]))
        .download(&server.url(SIGNED), &token())
        .await;
    assert_eq!(got.expect("download").as_slice(), body.as_slice());
}

#[tokio::test]
async fn slow_drip_hits_total_deadline() {
    let server = MediaServer::start([Behaviour::Drip {
        body: recording(2_000),
        chunk: 100,
        interval: Duration::from_millis(50),
    }])
    .await;
    // Each chunk arrives in time, but 20 chunks × 50 ms exceed the 300 ms total deadline.
    let cfg = FetchConfig {
        total_timeout_ms: 300,
        ..config(&[&server])
    };
    let start = Instant::now();
    let err = expect_err(
        &fetcher(cfg),
        &server.url(SIGNED),
        ErrorKind::DownloadTimeout,
    )
    .await;
    assert!(err.to_string().contains("total time limit"), "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn huge_content_length_is_refused_before_reading() {
    let server = MediaServer::start([Behaviour::HugeContentLength { declared: 1 << 40 }]).await;
    let err = expect_err(
        &fetcher(config(&[&server])),
        &server.url(SIGNED),
        ErrorKind::TooLarge,
    )
    .await;
    assert!(matches!(err, FetchError::TooLarge { declared: Some(d), .. } if d == 1 << 40));
    assert!(!err.is_retryable());
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn body_over_limit_is_refused_while_streaming() {
    // Chunked: no Content-Length to reject up front, so the running count must catch it.
    let server = MediaServer::start([Behaviour::Serve {
        body: recording(300 * 1024),
        bearer: None,
        chunked: true,
    }])
    .await;
    let cfg = FetchConfig {
        max_bytes: 100 * 1024,
        ..config(&[&server])
    };
    let err = expect_err(&fetcher(cfg), &server.url(SIGNED), ErrorKind::TooLarge).await;
    assert!(matches!(
        err,
        FetchError::TooLarge {
            declared: None,
            limit: 102_400,
            ..
        }
    ));
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn cross_origin_redirect_drops_authorization_and_referer() {
    let body = recording(5_000);
    let target = MediaServer::start([Behaviour::serve(&body)]).await;
    let origin = MediaServer::start([Behaviour::redirect(
        target.url("/moved?sig=OTHERSIG").as_str(),
    )])
    .await;
    let f = fetcher(config(&[&origin, &target]));
    let got = f
        .download(&origin.url(SIGNED), &token())
        .await
        .expect("download");
    assert_eq!(got.as_slice(), body.as_slice());

    let first = origin.requests();
    assert_eq!(first.len(), 1);
    assert!(first[0].header("authorization").is_some());
    let moved = target.requests();
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].target, "/moved?sig=OTHERSIG");
    assert_eq!(
        moved[0].header("authorization"),
        None,
        "token sent to another origin"
    );
    assert_eq!(
        moved[0].header("referer"),
        None,
        "signed url leaked in Referer"
    );
}

#[tokio::test]
async fn same_origin_redirect_keeps_authorization() {
    let body = recording(64);
    let server = MediaServer::start([
        Behaviour::redirect("/final"),
        Behaviour::serve_with_bearer(&body, TOKEN),
    ])
    .await;
    let got = fetcher(config(&[&server]))
        .download(&server.url(SIGNED), &token())
        .await;
    assert_eq!(got.expect("download").as_slice(), body.as_slice());
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].target, "/final");
}

#[tokio::test]
async fn redirect_to_host_not_in_allow_list_is_blocked() {
    let outsider = MediaServer::start([Behaviour::serve(b"should never be fetched")]).await;
    let origin = MediaServer::start([Behaviour::redirect(outsider.url("/x").as_str())]).await;
    let f = fetcher(config(&[&origin]));
    let err = expect_err(&f, &origin.url(SIGNED), ErrorKind::BlockedUrl).await;
    assert!(err.to_string().contains("allow_hosts"), "{err}");
    // The error names the refused target, not the original URL.
    let FetchError::BlockedUrl { url, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*url, format!("http://{}", outsider.authority()));
    assert!(
        !err.to_string().contains("/x"),
        "redirect target's path leaked: {err}"
    );
    assert_eq!(origin.request_count(), 1, "a policy refusal is not retried");
    assert_eq!(outsider.connection_count(), 0);
}

#[tokio::test]
async fn redirect_to_non_http_scheme_is_blocked() {
    let origin = MediaServer::start([Behaviour::redirect("file:///etc/passwd")]).await;
    let err = expect_err(
        &fetcher(config(&[&origin])),
        &origin.url(SIGNED),
        ErrorKind::BlockedUrl,
    )
    .await;
    assert!(err.to_string().contains("only https"), "{err}");
    assert!(err.to_string().contains("file:"), "{err}");
}

#[tokio::test]
async fn redirect_loop_stops_at_max_redirects() {
    let server = MediaServer::start([Behaviour::redirect("/again")]).await;
    let cfg = FetchConfig {
        max_redirects: 2,
        ..config(&[&server])
    };
    let err = expect_err(
        &fetcher(cfg),
        &server.url(SIGNED),
        ErrorKind::DownloadFailed,
    )
    .await;
    assert!(err.to_string().contains("too many redirects"), "{err}");
    assert!(!err.is_retryable());
    // The original request plus two followed redirects; the third redirect is refused.
    assert_eq!(server.request_count(), 3);
}

#[tokio::test]
async fn loopback_literal_is_blocked_unless_allow_listed_and_insecure() {
    let server = MediaServer::start([Behaviour::serve(b"x")]).await;
    let variants = [
        // Allow-list empty: plain http and loopback both refused.
        FetchConfig {
            allow_hosts: vec![],
            ..config(&[&server])
        },
        // Allow-listed, but insecure mode off.
        FetchConfig {
            allow_insecure_http: false,
            ..config(&[&server])
        },
        // Insecure mode on, but another port allow-listed.
        FetchConfig {
            allow_hosts: vec![format!("127.0.0.1:{}", server.port() ^ 1)],
            ..config(&[])
        },
    ];
    for cfg in variants {
        let err = expect_err(
            &fetcher(cfg.clone()),
            &server.url(SIGNED),
            ErrorKind::BlockedUrl,
        )
        .await;
        assert!(!err.is_retryable(), "{cfg:?}");
        let https = server
            .url(SIGNED)
            .as_str()
            .replacen("http://", "https://", 1);
        let https = url::Url::parse(&https).expect("url");
        expect_err(&fetcher(cfg), &https, ErrorKind::BlockedUrl).await;
    }
    assert_eq!(server.connection_count(), 0);
}

#[tokio::test]
async fn host_name_resolving_to_loopback_is_blocked() {
    let server = MediaServer::start([Behaviour::serve(b"x")]).await;
    // https and a host name pass the URL check; only the resolved address (127.0.0.1 or ::1)
    // can stop this one, so this exercises the guarded resolver end to end.
    let url =
        url::Url::parse(&format!("https://localhost:{}{SIGNED}", server.port())).expect("url");
    let cfg = FetchConfig {
        allow_hosts: vec![],
        allow_insecure_http: false,
        ..config(&[])
    };
    let err = expect_err(&fetcher(cfg), &url, ErrorKind::BlockedUrl).await;
    assert!(
        err.to_string()
            .contains("resolves to an address that is loopback"),
        "{err}"
    );
    assert_eq!(server.connection_count(), 0);
}

#[tokio::test]
async fn allow_listed_host_name_may_resolve_to_loopback_in_insecure_mode() {
    let body = recording(10);
    let server = MediaServer::start([Behaviour::serve(&body)]).await;
    // The allow-listed name may resolve to loopback. Only 127.0.0.1 listens; if `localhost`
    // also resolves to ::1, the connector moves on to the next address.
    let url = url::Url::parse(&format!("http://localhost:{}{SIGNED}", server.port())).expect("url");
    let cfg = FetchConfig {
        allow_hosts: vec![format!("localhost:{}", server.port())],
        ..config(&[])
    };
    let got = fetcher(cfg)
        .download(&url, &token())
        .await
        .expect("download");
    assert_eq!(got.as_slice(), body.as_slice());
}

#[tokio::test]
async fn connection_refused_is_retried_then_download_failed() {
    // Reserve a port, then free it: nothing listens there any more.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let url = url::Url::parse(&format!("http://127.0.0.1:{port}{SIGNED}")).expect("url");
    let cfg = FetchConfig {
        allow_hosts: vec![format!("127.0.0.1:{port}")],
        max_retries: 2,
        ..config(&[])
    };
    let err = expect_err(&fetcher(cfg), &url, ErrorKind::DownloadFailed).await;
    assert_eq!(attempts(&err), 3);
    assert!(err.is_retryable());
    assert!(matches!(
        err,
        FetchError::DownloadFailed { status: None, .. }
    ));
}

#[tokio::test]
async fn invalid_token_characters_are_unauthorized_without_traffic() {
    let server = MediaServer::start([Behaviour::serve(b"x")]).await;
    let bad = AccessToken::new("line\nbreak");
    let err = fetcher(config(&[&server]))
        .download(&server.url(SIGNED), &bad)
        .await;
    let err = err.expect_err("bad token");
    assert!(
        matches!(err, FetchError::Unauthorized { status: None, .. }),
        "{err:?}"
    );
    assert!(!format!("{err} {err:?}").contains("line"));
    assert_eq!(server.connection_count(), 0);
}

/// A `MakeWriter` that appends every log line to a shared buffer.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn logs_name_the_host_but_never_the_token_or_query() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(capture.clone())
        .with_ansi(false)
        .finish();
    // A current-thread runtime: the thread-local default subscriber sees every task.
    // tracing caches per callsite whether anyone is interested. With a single registered
    // dispatcher it asks only the *registering thread's* default, so a callsite first hit by
    // a concurrently running test (no subscriber there) would be cached as disabled for us
    // too. A second, inert dispatcher kept alive makes tracing ask every live dispatcher.
    let _second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
    let _guard = tracing::subscriber::set_default(subscriber);

    let target = MediaServer::start([Behaviour::serve(b"ok")]).await;
    let origin = MediaServer::start([
        Behaviour::status(500),
        Behaviour::redirect(target.url("/moved?sig=SECRETSIG").as_str()),
    ])
    .await;
    let f = fetcher(config(&[&origin, &target]));
    f.download(&origin.url(SIGNED), &token())
        .await
        .expect("download");
    let failing = MediaServer::start([Behaviour::status(404)]).await;
    let f = fetcher(config(&[&failing]));
    expect_err(&f, &failing.url(SIGNED), ErrorKind::NotFound).await;

    let logs = String::from_utf8(capture.0.lock().unwrap_or_else(|e| e.into_inner()).clone())
        .expect("utf-8 logs");
    assert!(logs.contains("fetch.download"), "{logs}");
    assert!(logs.contains("host=127.0.0.1"), "{logs}");
    assert!(logs.contains("fetch.attempt{attempt=2"), "{logs}");
    assert!(
        logs.contains("error_kind=\"not_found\"") || logs.contains("error_kind=not_found"),
        "{logs}"
    );
    for secret in SECRET_PIECES {
        assert!(!logs.contains(secret), "{secret} in logs:\n{logs}");
    }
}

#[test]
fn redact_url_keeps_only_scheme_host_and_port() {
    let cases = [
        (
            "https://media.example.test/recordings/abc?sig=SECRET",
            "https://media.example.test",
        ),
        (
            "https://u:pw@media.example.test:8443/a/b?sig=SECRET#frag",
            "https://media.example.test:8443",
        ),
        (
            "http://127.0.0.1:8080/recordings/abc",
            "http://127.0.0.1:8080",
        ),
        ("http://[::1]:9/x?y=1", "http://[::1]:9"),
        (
            "https://media.example.test:443/x",
            "https://media.example.test",
        ),
    ];
    for (input, want) in cases {
        let url = url::Url::parse(input).expect("url");
        let got = redact_url(&url);
        assert_eq!(got, want, "{input}");
        for secret in ["SECRET", "recordings", "/a", "/x", "pw", "frag", "y=1"] {
            assert!(!got.contains(secret), "{secret} kept in {got}");
        }
    }
}
