//! `callscribe serve` end to end on 127.0.0.1: RS256-signed notifications in (test keys from
//! `tests/fixtures/`), the real `Processor` downloading from the loopback media server, results
//! out through a signed callback to a test receiver; plus the router without a socket, queue
//! limits, shutdown, and the real binary once.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use callscribe::notification::source_of;
use callscribe::notification::RecordingJob;
use callscribe::result::{RecordingResult, Status, SCHEMA};
use callscribe::server::{
    self, AuthMode, CallbackConfig, JobRunner, ServeReport, Server, ServerConfig,
};
use callscribe::{Processor, ProcessorConfig};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::sync::{oneshot, Semaphore};
use tower::ServiceExt as _;

use crate::support::callback_server::CallbackServer;
use crate::support::http_client as client;
use crate::support::jwt;
use crate::support::media_server::{Behaviour, MediaServer};
use crate::support::model::{model_lock, repo_path, require_model, PROMPTED_WAV, PROMPT_DIGITS};
use crate::support::temp_dir;

/// The `recordingAccessToken` in test notifications; the media server requires it.
const MEDIA_TOKEN: &str = "media-access-token-for-tests";
/// The callback's shared HMAC secret.
const SECRET: &str = "callback-shared-secret";
/// A short speech sample (3.2 s, 16 kHz, so no resampling) for tests that don't transcribe.
const SHORT_WAV: &str = "samples/pcm32-16000hz-mono-extensible-speech.wav";

// ---------------------------------------------------------------------------------------------
// Helpers

/// A `commsNotifications` body with one completed `recordOperation` per `(id, location)`.
fn notification(ops: &[(&str, &url::Url)]) -> String {
    let value: Vec<Value> = ops
        .iter()
        .map(|(op, location)| {
            json!({
                "@odata.type": "#microsoft.graph.commsNotification",
                "changeType": "deleted",
                "resourceUrl": format!("/communications/calls/call-1/operations/{op}"),
                "resourceData": {
                    "@odata.type": "#microsoft.graph.recordOperation",
                    "@odata.etag": "W/\"1\"",
                    "id": op,
                    "clientContext": format!("ctx-{op}"),
                    "status": "completed",
                    "resultInfo": {"code": 200, "subcode": 8514, "message": "Action completed, stop tone."},
                    "recordingLocation": location.as_str(),
                    "recordingAccessToken": MEDIA_TOKEN,
                }
            })
        })
        .collect();
    json!({"@odata.type": "#microsoft.graph.commsNotifications", "value": value}).to_string()
}

/// The service configuration every test starts from: JWKS-file auth with fixture key 1, the
/// callback sink to `callback` with quick retries, stdout off.
fn base_config(dir: &Path, callback: &CallbackServer) -> ServerConfig {
    let jwks = dir.join("jwks.json");
    jwt::write_jwks(&jwks, &[(1, jwt::KID1)]);
    let mut c = ServerConfig::default();
    c.auth.mode = AuthMode::JwksFile;
    c.auth.app_id = Some(jwt::APP_ID.to_owned());
    c.auth.jwks_file = Some(jwks);
    c.auth.min_refresh_interval_s = 0;
    c.sinks.stdout = Some(false);
    c.sinks.callback = Some(CallbackConfig {
        backoff_base_ms: 20,
        backoff_max_ms: 200,
        ..CallbackConfig::new(callback.url(), SECRET)
    });
    c.shutdown_grace_s = 20;
    c
}

/// The real processor, downloading only from `media` (plain http on loopback allowed).
fn processor(media: &MediaServer, model: Option<PathBuf>) -> Processor {
    Processor::new(processor_config(media, model)).expect("processor")
}

/// The settings of [`processor`].
fn processor_config(media: &MediaServer, model: Option<PathBuf>) -> ProcessorConfig {
    let mut c = ProcessorConfig::default();
    c.fetch.allow_hosts = vec![media.authority()];
    c.fetch.allow_insecure_http = true;
    c.fetch.total_timeout_ms = 10_000;
    c.pipeline.transcribe.enabled = model.is_some();
    if let Some(model) = model {
        c.pipeline.transcribe.model = model;
    }
    c
}

/// The service picks each operation's vocabulary prompt by its `clientContext`
/// (`processor.pipeline.transcribe.by_client_context` of the config file): of two operations on
/// the same recording, the one whose context has the listed prefix gets the transcript the
/// pipeline gives with that prompt, the other the one it gives without.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
// The model lock is a std mutex held for the whole test on purpose (one model user at a
// time); only this runtime ever takes it, so holding it across awaits cannot deadlock.
#[allow(clippy::await_holding_lock)]
async fn each_operation_gets_the_prompt_its_client_context_selects() {
    let Some(model) = require_model() else { return };
    let _model = model_lock();
    let recording = wav(PROMPTED_WAV);
    let media = MediaServer::start([Behaviour::serve_with_bearer(&recording, MEDIA_TOKEN)]).await;
    let mut c = processor_config(&media, Some(model));
    c.pipeline.transcribe.threads = 1;
    let expected = |prompt: Option<&str>| {
        let mut pipeline = c.pipeline.clone();
        pipeline.transcribe.prompt = prompt.map(str::to_owned);
        let p = callscribe::Pipeline::new(pipeline).expect("pipeline");
        let result = p.process(&recording, Default::default());
        result.transcript.expect("a transcript").text
    };
    let (plain, digits) = (expected(None), expected(Some(PROMPT_DIGITS)));
    assert_ne!(
        plain, digits,
        "the prompt must change this recording's transcript"
    );

    let callback = CallbackServer::start().await;
    let tmp = temp_dir("serve-prompts");
    // Operation `digits-1` has the clientContext `ctx-digits-1` (see `notification`).
    c.pipeline.transcribe.by_client_context = vec![callscribe::config::ContextSettings {
        client_context_prefix: "ctx-digits".into(),
        prompt: Some(PROMPT_DIGITS.into()),
        language: None,
    }];
    let h = start(
        base_config(tmp.path(), &callback),
        Arc::new(Processor::new(c).expect("processor")),
        callback,
    )
    .await;
    let location = media.url("/recordings/1");
    let reply = h
        .post(notification(&[
            ("digits-1", &location),
            ("other-1", &location),
        ]))
        .await;
    assert_eq!(reply.status, 202, "{reply:?}");
    let deliveries = h.callback.wait_for(2, Duration::from_secs(60)).await;
    assert_eq!(deliveries.len(), 2, "two results within 60 s");
    for delivery in deliveries {
        let result = parse_result(&delivery.body);
        let text = result.transcript.as_ref().expect("transcript").text.clone();
        match operation_id(&result).as_str() {
            "digits-1" => assert_eq!(text, digits, "the prefix's prompt"),
            "other-1" => assert_eq!(text, plain, "no prompt"),
            other => panic!("unexpected operation {other}"),
        }
    }
}

/// A result without processing, for tests about the service rather than the pipeline.
fn stub_result(job: &RecordingJob) -> RecordingResult {
    RecordingResult {
        schema: SCHEMA.to_owned(),
        status: Status::NoSpeech,
        reason: Some(callscribe::NoSpeechReason::NoVoiceActivity),
        error: None,
        source: source_of(&job.source),
        audio: None,
        transcript: None,
        timings_ms: Default::default(),
    }
}

/// A runner whose jobs wait for a permit of `gate` (never returned) before finishing.
fn gated_runner(gate: Arc<Semaphore>) -> Arc<dyn JobRunner> {
    Arc::new(move |job: RecordingJob| {
        let gate = Arc::clone(&gate);
        async move {
            if let Ok(permit) = gate.acquire().await {
                permit.forget();
            }
            stub_result(&job)
        }
    })
}

fn wav(name: &str) -> Vec<u8> {
    std::fs::read(repo_path(name)).expect("sample")
}

/// An answer from the service.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: HeaderMap,
    json: Value,
}

/// A service running on a loopback socket with a callback receiver.
struct Harness {
    base: String,
    state: server::AppState,
    callback: CallbackServer,
    stop: Option<oneshot::Sender<()>>,
    serving: tokio::task::JoinHandle<Result<ServeReport, server::ServerError>>,
}

async fn start(
    config: ServerConfig,
    runner: Arc<dyn JobRunner>,
    callback: CallbackServer,
) -> Harness {
    let server = Server::build(&config, runner).await.expect("server builds");
    let state = server.state();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(server::serve(listener, server, async {
        let _ = stopped.await;
    }));
    Harness {
        base,
        state,
        callback,
        stop: Some(stop),
        serving,
    }
}

impl Harness {
    /// POSTs `body` to the notification path with `Authorization: <authorization>`.
    async fn post_with(&self, body: impl Into<Vec<u8>>, authorization: Option<&str>) -> Reply {
        let mut request = client()
            .post(format!("{}/api/calls", self.base))
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.into());
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body");
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            json,
        }
    }

    /// POSTs `body` with a valid token.
    async fn post(&self, body: impl Into<Vec<u8>>) -> Reply {
        self.post_with(body, Some(&format!("Bearer {}", jwt::valid_token())))
            .await
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let response = client()
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("get");
        let status = response.status().as_u16();
        (status, response.text().await.expect("text"))
    }

    /// Triggers shutdown and waits (bounded) for `serve` to return.
    async fn stop(mut self) -> ServeReport {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(30), &mut self.serving)
            .await
            .expect("serve returns within 30 s")
            .expect("serve task")
            .expect("serve ok")
    }
}

/// The value of a metric sample line `name value` (exact name including labels).
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("metric {name} missing"))
        .parse()
        .expect("number")
}

/// Parses a delivered result strictly (`deny_unknown_fields` pins the schema).
fn parse_result(body: &[u8]) -> RecordingResult {
    serde_json::from_slice(body).expect("a callscribe.result/v1 result")
}

fn operation_id(result: &RecordingResult) -> String {
    result.source.operation_id.clone().expect("operation id")
}

/// Calls the router in memory (no socket).
async fn call(app: &axum::Router, request: Request<Body>) -> (StatusCode, HeaderMap, Value) {
    let response = app.clone().oneshot(request).await.expect("infallible");
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.expect("body");
    let json = serde_json::from_slice(&bytes)
        .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()));
    (parts.status, parts.headers, json)
}

fn post_request(body: impl Into<Body>, token: Option<&str>) -> Request<Body> {
    let mut builder = Request::post("/api/calls").header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    builder.body(body.into()).expect("request")
}

// ---------------------------------------------------------------------------------------------
// Tests

/// The whole path with the real model: one signed notification → one download → one result
/// with the transcript, signed, also written to the results folder.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
// The model lock serialises Whisper runs across tests (each in its own runtime); no task of
// this runtime ever takes it, so holding it across awaits cannot deadlock.
#[allow(clippy::await_holding_lock)]
async fn valid_notification_yields_exactly_one_transcribed_result() {
    let Some(model) = require_model() else { return };
    let _model = model_lock();
    let recording = wav("samples/pcm16-16000hz-mono-speech.wav");
    let media = MediaServer::start([Behaviour::serve_with_bearer(&recording, MEDIA_TOKEN)]).await;
    let callback = CallbackServer::start().await;
    let tmp = temp_dir("serve-valid");
    let dir = tmp.path();
    let mut config = base_config(dir, &callback);
    config.sinks.results_dir = Some(dir.join("results"));
    let h = start(config, Arc::new(processor(&media, Some(model))), callback).await;

    let op = "0fe0623f-d628-42ed-b4bd-8ac290072cc5";
    let started = Instant::now();
    let reply = h
        .post(notification(&[(
            op,
            &media.url("/recordings/1?sig=not-for-logs"),
        )]))
        .await;
    assert_eq!(reply.status, 202, "{reply:?}");
    assert_eq!(
        reply.json,
        json!({"accepted": 1, "duplicates": 0, "ignored": 0})
    );

    let deliveries = h.callback.wait_for(1, Duration::from_secs(60)).await;
    assert_eq!(deliveries.len(), 1, "one result within 60 s");
    let latency = started.elapsed();
    // Nothing else may follow.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(h.callback.deliveries().len(), 1, "exactly one result");

    let delivery = &deliveries[0];
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("hmac");
    mac.update(&delivery.body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        delivery.signature.as_deref(),
        Some(format!("sha256={expected}").as_str())
    );
    assert_eq!(delivery.operation_id.as_deref(), Some(op));

    let result = parse_result(&delivery.body);
    assert_eq!(result.status, Status::Ok, "{result:?}");
    assert_eq!(operation_id(&result), op);
    assert_eq!(
        result.source.client_context.as_deref(),
        Some(format!("ctx-{op}").as_str())
    );
    assert_eq!(result.source.reason.as_deref(), Some("stop_tone_detected"));
    let text = result
        .transcript
        .as_ref()
        .expect("transcript")
        .text
        .to_lowercase();
    assert!(
        ["dental", "maria", "call me back"]
            .iter()
            .any(|w| text.contains(w)),
        "transcript {text:?}"
    );
    assert!(
        !String::from_utf8_lossy(&delivery.body).contains("not-for-logs"),
        "no signed URL in results"
    );

    assert_eq!(media.request_count(), 1);
    assert_eq!(
        media.requests()[0].header("authorization"),
        Some(format!("Bearer {MEDIA_TOKEN}").as_str())
    );

    let file = dir.join("results").join(format!("{op}.json"));
    let written = std::fs::read(&file).expect("result file");
    assert_eq!(written.trim_ascii_end(), delivery.body.as_slice());
    assert_eq!(
        std::fs::read_dir(dir.join("results")).expect("ls").count(),
        1,
        "results only"
    );

    let (_, metrics) = h.get("/metrics").await;
    assert_eq!(
        metric(&metrics, "callscribe_jobs_finished_total{status=\"ok\"}"),
        1.0
    );
    assert_eq!(
        metric(&metrics, "callscribe_download_bytes_total"),
        recording.len() as f64
    );
    assert_eq!(
        metric(
            &metrics,
            "callscribe_stage_duration_seconds_count{stage=\"transcribe\"}"
        ),
        1.0
    );
    eprintln!("serve e2e: POST → transcribed result callback in {latency:?}");

    let report = h.stop().await;
    assert_eq!(
        report,
        ServeReport {
            finished: 1,
            unfinished: 0
        }
    );
}

/// Every kind of bad credential is refused with 401/403 and a JSON error, and nothing is
/// downloaded; a valid token on the same setup is accepted and downloads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_are_refused_and_nothing_is_downloaded() {
    let media =
        MediaServer::start([Behaviour::serve_with_bearer(&wav(SHORT_WAV), MEDIA_TOKEN)]).await;
    let callback = CallbackServer::start().await;
    let tmp = temp_dir("serve-auth");
    let dir = tmp.path();
    let mut config = base_config(dir, &callback);
    config.auth.allowed_tenants = vec![jwt::TENANT.to_owned()];
    let h = start(config, Arc::new(processor(&media, None)), callback).await;
    let body = notification(&[("op-auth", &media.url("/r/auth"))]);

    let claims = |edit: &dyn Fn(&mut Value)| {
        let mut c = jwt::valid_claims();
        edit(&mut c);
        c
    };
    let now = jwt::now();
    let bearer = |token: String| Some(format!("Bearer {token}"));
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(jwt::valid_claims().to_string().as_bytes())
    );
    let hs256 = {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some(jwt::KID1.to_owned());
        let key = jsonwebtoken::EncodingKey::from_secret(b"guessable");
        jsonwebtoken::encode(&header, &jwt::valid_claims(), &key).expect("hs256")
    };
    let cases: Vec<(&str, Option<String>, u16)> = vec![
        ("no authorization header", None, 401),
        ("basic scheme", Some("Basic dXNlcjpwYXNz".into()), 401),
        ("not a jwt", bearer("not-a-jwt".into()), 401),
        ("unsigned (alg none)", bearer(unsigned), 401),
        ("hs256", bearer(hs256), 401),
        (
            "expired",
            bearer(jwt::sign(
                &claims(&|c| {
                    c["exp"] = json!(now - 3600);
                    c["nbf"] = json!(now - 7200);
                }),
                1,
                jwt::KID1,
            )),
            401,
        ),
        (
            "not yet valid",
            bearer(jwt::sign(
                &claims(&|c| c["nbf"] = json!(now + 3600)),
                1,
                jwt::KID1,
            )),
            401,
        ),
        (
            "wrong audience",
            bearer(jwt::sign(
                &claims(&|c| c["aud"] = json!("another-bot")),
                1,
                jwt::KID1,
            )),
            401,
        ),
        (
            "wrong issuer",
            bearer(jwt::sign(
                &claims(&|c| c["iss"] = json!("https://evil.test")),
                1,
                jwt::KID1,
            )),
            401,
        ),
        (
            "no tenant",
            bearer(jwt::sign(
                &claims(&|c| {
                    c.as_object_mut().expect("object").remove("tid");
                }),
                1,
                jwt::KID1,
            )),
            401,
        ),
        (
            "signed by another key under a known kid",
            bearer(jwt::sign(&jwt::valid_claims(), 2, jwt::KID1)),
            401,
        ),
        (
            "unknown kid",
            bearer(jwt::sign(&jwt::valid_claims(), 2, jwt::KID2)),
            401,
        ),
        (
            "tenant not allowed",
            bearer(jwt::sign(
                &claims(&|c| c["tid"] = json!("other-tenant")),
                1,
                jwt::KID1,
            )),
            403,
        ),
    ];
    for (name, authorization, status) in &cases {
        let reply = h.post_with(body.clone(), authorization.as_deref()).await;
        assert_eq!(reply.status, *status, "{name}: {reply:?}");
        let kind = if *status == 401 {
            "unauthorized"
        } else {
            "forbidden"
        };
        assert_eq!(reply.json["error"]["kind"], kind, "{name}: {reply:?}");
        assert!(reply.json["error"]["message"].is_string(), "{name}");
        assert_eq!(
            reply.headers.contains_key(header::WWW_AUTHENTICATE),
            *status == 401,
            "{name}"
        );
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        media.request_count(),
        0,
        "no download for a refused notification"
    );
    assert!(
        h.callback.deliveries().is_empty(),
        "no result for a refused notification"
    );
    let (_, metrics) = h.get("/metrics").await;
    assert_eq!(
        metric(
            &metrics,
            "callscribe_notifications_rejected_total{reason=\"unauthorized\"}"
        ),
        12.0
    );
    assert_eq!(
        metric(
            &metrics,
            "callscribe_notifications_rejected_total{reason=\"forbidden\"}"
        ),
        1.0
    );
    assert_eq!(
        metric(&metrics, "callscribe_operations_accepted_total"),
        0.0
    );

    // The control: the same body with a valid token is accepted and processed.
    let reply = h.post(body).await;
    assert_eq!(reply.status, 202, "{reply:?}");
    let deliveries = h.callback.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(deliveries.len(), 1);
    assert_eq!(parse_result(&deliveries[0].body).status, Status::Ok);
    assert_eq!(media.request_count(), 1);
    h.stop().await;
}

/// A token signed with a key that was rotated into the JWKS after start-up is accepted once the
/// key set is refreshed for its unknown `kid`; with the refresh throttled it is not.
#[tokio::test]
async fn unknown_kid_refreshes_the_key_set_at_most_once_per_interval() {
    let callback = CallbackServer::start().await;
    let tmp = temp_dir("serve-rotate");
    let dir = tmp.path();
    let runner = gated_runner(Arc::new(Semaphore::new(0)));
    let config = base_config(dir, &callback);
    let mut throttled_config = config.clone();
    throttled_config.auth.min_refresh_interval_s = 3600;
    let server = Server::build(&config, Arc::clone(&runner))
        .await
        .expect("server");
    let throttled = Server::build(&throttled_config, runner)
        .await
        .expect("server");
    let (app, throttled_app) = (
        server::router(server.state()),
        server::router(throttled.state()),
    );
    let rotated = jwt::sign(&jwt::valid_claims(), 2, jwt::KID2);
    let body =
        |op: &str| notification(&[(op, &url::Url::parse("https://media.test/r").expect("url"))]);

    for app in [&app, &throttled_app] {
        let (status, _, _) = call(app, post_request(body("op-1"), Some(&rotated))).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "key 2 is not published yet"
        );
    }
    jwt::write_jwks(
        config.auth.jwks_file.as_deref().expect("jwks"),
        &[(1, jwt::KID1), (2, jwt::KID2)],
    );
    let (status, _, json) = call(&app, post_request(body("op-2"), Some(&rotated))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{json}");
    let (status, _, _) = call(&app, post_request(body("op-3"), Some(&jwt::valid_token()))).await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "key 1 still valid after the refresh"
    );
    let (status, _, _) = call(&throttled_app, post_request(body("op-2"), Some(&rotated))).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "refresh throttled for an hour"
    );

    // Key 1 is withdrawn. A token verified (and cached) earlier stops working as soon as a
    // refresh (here caused by yet another unknown kid) drops its key.
    jwt::write_jwks(
        config.auth.jwks_file.as_deref().expect("jwks"),
        &[(2, jwt::KID2)],
    );
    let stranger = jwt::sign(&jwt::valid_claims(), 1, "test-key-3");
    let (status, _, _) = call(&app, post_request(body("op-4"), Some(&stranger))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = call(&app, post_request(body("op-5"), Some(&jwt::valid_token()))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "key 1 was withdrawn");
    let (status, _, _) = call(&app, post_request(body("op-6"), Some(&rotated))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "key 2 still valid");
}

/// A verified token is remembered together with the key that verified it: once the key set
/// puts another key behind the same `kid`, the remembered token is refused like any token
/// signed with a key that is gone, and the new key's tokens are accepted. When the old key
/// returns, so does its token.
#[tokio::test]
async fn a_remembered_token_is_bound_to_the_key_not_the_kid() {
    let callback = CallbackServer::start().await;
    let tmp = temp_dir("serve-key-swap");
    let dir = tmp.path();
    let config = base_config(dir, &callback);
    let jwks = config.auth.jwks_file.clone().expect("jwks");
    let server = Server::build(&config, gated_runner(Arc::new(Semaphore::new(0))))
        .await
        .expect("server");
    let app = server::router(server.state());
    let loc = url::Url::parse("https://media.test/r").expect("url");
    let mut op = 0;
    let mut post = |token: &str| {
        op += 1;
        let body = notification(&[(&format!("op-{op}"), &loc)]);
        let request = post_request(body, Some(token));
        let app = app.clone();
        async move { call(&app, request).await.0 }
    };
    // A token with an unknown kid makes the service re-read the key set (no throttle here).
    let refresh = jwt::sign(&jwt::valid_claims(), 2, "test-key-unknown");

    let old = jwt::sign(&jwt::valid_claims(), 1, jwt::KID1);
    assert_eq!(
        post(&old).await,
        StatusCode::ACCEPTED,
        "verified and remembered"
    );
    assert_eq!(post(&old).await, StatusCode::ACCEPTED, "from the cache");

    // Key 2 replaces key 1 under the same kid.
    jwt::write_jwks(&jwks, &[(2, jwt::KID1)]);
    assert_eq!(post(&refresh).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        post(&old).await,
        StatusCode::UNAUTHORIZED,
        "the key that verified it is gone, though its kid is not"
    );
    let new = jwt::sign(&jwt::valid_claims(), 2, jwt::KID1);
    assert_eq!(post(&new).await, StatusCode::ACCEPTED);
    assert_eq!(post(&new).await, StatusCode::ACCEPTED);

    // Key 1 is back under its kid: its token verifies again, key 2's no longer does.
    jwt::write_jwks(&jwks, &[(1, jwt::KID1)]);
    assert_eq!(post(&refresh).await, StatusCode::UNAUTHORIZED);
    assert_eq!(post(&old).await, StatusCode::ACCEPTED);
    assert_eq!(post(&new).await, StatusCode::UNAUTHORIZED);
}

/// RSA keys under 2048 bits are left out of the key set: a token signed with a 512-bit key is
/// refused even though the key set publishes it, and a key set with nothing else does not load.
#[tokio::test]
async fn rsa_keys_under_2048_bits_verify_nothing() {
    let callback = CallbackServer::start().await;
    let tmp = temp_dir("serve-weak-key");
    let dir = tmp.path();
    let config = base_config(dir, &callback);
    let jwks = config.auth.jwks_file.clone().expect("jwks");
    jwt::write_jwks(&jwks, &[(1, jwt::KID1), (jwt::WEAK_KEY, "weak")]);
    let server = Server::build(&config, gated_runner(Arc::new(Semaphore::new(0))))
        .await
        .expect("server");
    let app = server::router(server.state());
    let loc = url::Url::parse("https://media.test/r").expect("url");
    let weak = jwt::sign(&jwt::valid_claims(), jwt::WEAK_KEY, "weak");
    let (status, _, json) = call(
        &app,
        post_request(notification(&[("op-weak", &loc)]), Some(&weak)),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{json}");
    assert_eq!(json["error"]["kind"], "unauthorized");
    let (status, _, _) = call(
        &app,
        post_request(
            notification(&[("op-strong", &loc)]),
            Some(&jwt::valid_token()),
        ),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "the 2048-bit key next to it works"
    );

    jwt::write_jwks(&jwks, &[(jwt::WEAK_KEY, "weak")]);
    let refused = Server::build(&config, gated_runner(Arc::new(Semaphore::new(0))))
        .await
        .err()
        .expect("a key set of weak keys only does not load");
    assert!(
        matches!(&refused, server::ServerError::Keys(m) if m.contains("2048")),
        "{refused}"
    );
}

/// Redeliveries of an accepted operation are acknowledged and counted, not processed again:
/// one download, one callback, one result file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_notifications_are_processed_once() {
    let media =
        MediaServer::start([Behaviour::serve_with_bearer(&wav(SHORT_WAV), MEDIA_TOKEN)]).await;
    let callback = CallbackServer::start().await;
    let tmp = temp_dir("serve-dup");
    let dir = tmp.path();
    let mut config = base_config(dir, &callback);
    config.sinks.results_dir = Some(dir.join("results"));
    let h = start(config, Arc::new(processor(&media, None)), callback).await;
    let location = media.url("/r/dup");
    let once = notification(&[("op-dup", &location)]);
    let twice_in_one = notification(&[("op-dup", &location), ("op-dup", &location)]);

    let first = h.post(once.clone()).await;
    assert_eq!(
        first.json,
        json!({"accepted": 1, "duplicates": 0, "ignored": 0}),
        "{first:?}"
    );
    for body in [once.clone(), twice_in_one, once] {
        let reply = h.post(body).await;
        assert_eq!(reply.status, 202, "{reply:?}");
        assert_eq!(reply.json["accepted"], 0, "{reply:?}");
        assert!(reply.json["duplicates"].as_u64() >= Some(1), "{reply:?}");
    }
    let deliveries = h.callback.wait_for(1, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(h.callback.deliveries().len(), 1, "{deliveries:?}");
    assert_eq!(media.request_count(), 1, "downloaded once");
    let files: Vec<_> = std::fs::read_dir(dir.join("results"))
        .expect("ls")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(files, ["op-dup.json"]);
    let (_, metrics) = h.get("/metrics").await;
    assert_eq!(
        metric(&metrics, "callscribe_operations_duplicate_total"),
        4.0
    );
    assert_eq!(
        metric(&metrics, "callscribe_operations_accepted_total"),
        1.0
    );
    h.stop().await;
}

/// 500 notifications at once against a small queue: every POST is answered 202 or 503 within
/// bounded time, and every 202 yields exactly one result (real downloads and processing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burst_of_500_answers_202_or_503_and_every_202_yields_one_result() {
    const BURST: usize = 500;
    let media =
        MediaServer::start([Behaviour::serve_with_bearer(&wav(SHORT_WAV), MEDIA_TOKEN)]).await;
    let callback = CallbackServer::start().await;
    let tmp = temp_dir("serve-burst");
    let dir = tmp.path();
    let mut config = base_config(dir, &callback);
    config.queue_capacity = 32;
    config.download_concurrency = 4;
    let h = Arc::new(start(config, Arc::new(processor(&media, None)), callback).await);
    let token = format!("Bearer {}", jwt::valid_token());

    // At most 100 connections at once: the burst is 500 requests, not 500 sockets.
    let connections = Arc::new(Semaphore::new(100));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..BURST {
        let (h, token, connections) = (Arc::clone(&h), token.clone(), Arc::clone(&connections));
        let body = notification(&[(&format!("op-burst-{i:03}"), &media.url(&format!("/r/{i}")))]);
        tasks.spawn(async move {
            let _slot = connections.acquire().await.expect("semaphore");
            let reply = h.post_with(body, Some(&token)).await;
            (i, reply)
        });
    }
    let mut accepted = std::collections::BTreeSet::new();
    let mut refused = 0;
    while let Some(joined) = tasks.join_next().await {
        let (i, reply) = joined.expect("task");
        match reply.status {
            202 => {
                assert_eq!(reply.json["accepted"], 1);
                accepted.insert(format!("op-burst-{i:03}"));
            }
            503 => {
                assert_eq!(reply.json["error"]["kind"], "queue_full", "{reply:?}");
                assert!(reply.headers.contains_key(header::RETRY_AFTER));
                refused += 1;
            }
            other => panic!("unexpected status {other}: {reply:?}"),
        }
    }
    let answered_in = started.elapsed();
    assert_eq!(accepted.len() + refused, BURST);
    assert!(
        answered_in < Duration::from_secs(30),
        "burst answered in {answered_in:?}"
    );

    let deliveries = h
        .callback
        .wait_for(accepted.len(), Duration::from_secs(40))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let deliveries = if deliveries.len() > accepted.len() {
        deliveries
    } else {
        h.callback.deliveries()
    };
    let mut results: Vec<String> = deliveries
        .iter()
        .map(|d| operation_id(&parse_result(&d.body)))
        .collect();
    results.sort();
    let expected: Vec<String> = accepted.iter().cloned().collect();
    assert_eq!(
        results, expected,
        "every 202 yields exactly one result, no 503 yields one"
    );
    eprintln!(
        "burst: {} accepted, {refused} refused (queue full), answered in {answered_in:?}, \
         all results after {:?}",
        accepted.len(),
        started.elapsed()
    );
    let h = Arc::into_inner(h).expect("all tasks done");
    assert_eq!(h.stop().await.unfinished, 0);
}

/// A full queue answers 503 with Retry-After and a JSON error, reserving nothing: a POST whose
/// operations don't all fit is refused whole, its operations are not marked as seen, and the
/// retry after the queue drains is processed. More operations than the queue can ever hold
/// get 413.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_queue_answers_503_and_refused_operations_stay_processable() {
    let callback = CallbackServer::start().await;
    let tmp = temp_dir("serve-full");
    let dir = tmp.path();
    let mut config = base_config(dir, &callback);
    config.queue_capacity = 2;
    config.download_concurrency = 1;
    config.retry_after_s = 7;
    let gate = Arc::new(Semaphore::new(0));
    let h = start(config, gated_runner(Arc::clone(&gate)), callback).await;
    let loc = url::Url::parse("https://media.test/r").expect("url");

    assert_eq!(h.post(notification(&[("A", &loc)])).await.status, 202);
    // Wait until the worker took A (blocked on the gate), so the queue is empty again.
    let deadline = Instant::now() + Duration::from_secs(5);
    while h.state.queue_depth() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(
        h.post(notification(&[("B", &loc)])).await.status,
        202,
        "B waits in the queue"
    );
    let (ready, _) = h.get("/readyz").await;
    assert_eq!(ready, 200, "one slot left");

    let reply = h.post(notification(&[("C", &loc), ("D", &loc)])).await;
    assert_eq!(reply.status, 503, "{reply:?}");
    assert_eq!(
        reply
            .headers
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()),
        Some("7")
    );
    assert_eq!(
        reply
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    assert_eq!(reply.json["error"]["kind"], "queue_full");
    let reply = h
        .post(notification(&[("E", &loc), ("F", &loc), ("G", &loc)]))
        .await;
    assert_eq!(
        (reply.status, reply.json["error"]["kind"].as_str()),
        (413, Some("too_many_operations"))
    );
    assert_eq!(h.state.queue_depth(), 1, "nothing of C, D reserved");
    assert_eq!(
        h.post(notification(&[("X", &loc)])).await.status,
        202,
        "a single op still fits"
    );
    let reply = h.post(notification(&[("Y", &loc)])).await;
    assert_eq!(reply.status, 503, "now the queue is full");
    let (ready, _) = h.get("/readyz").await;
    assert_eq!(ready, 503, "not ready while full");

    gate.add_permits(100);
    let done = h.callback.wait_for(3, Duration::from_secs(10)).await;
    assert_eq!(done.len(), 3);
    let reply = h.post(notification(&[("C", &loc), ("D", &loc)])).await;
    assert_eq!(
        reply.json,
        json!({"accepted": 2, "duplicates": 0, "ignored": 0}),
        "retry is not a duplicate"
    );
    let done = h.callback.wait_for(5, Duration::from_secs(10)).await;
    let mut ids: Vec<String> = done
        .iter()
        .map(|d| operation_id(&parse_result(&d.body)))
        .collect();
    ids.sort();
    assert_eq!(ids, ["A", "B", "C", "D", "X"]);
    let (_, metrics) = h.get("/metrics").await;
    assert_eq!(
        metric(
            &metrics,
            "callscribe_notifications_rejected_total{reason=\"queue_full\"}"
        ),
        2.0
    );
    h.stop().await;
}

/// On shutdown, new notifications get 503 while queued and running jobs finish and are
/// delivered; `serve` then returns with nothing unfinished.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_jobs_in_flight_and_refuses_new_ones() {
    let callback = CallbackServer::start().await;
    let tmp = temp_dir("serve-shutdown");
    let dir = tmp.path();
    let mut config = base_config(dir, &callback);
    config.download_concurrency = 2;
    let runner: Arc<dyn JobRunner> = Arc::new(|job: RecordingJob| async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        stub_result(&job)
    });
    let mut h = start(config, runner, callback).await;
    let loc = url::Url::parse("https://media.test/r").expect("url");
    for i in 0..6 {
        assert_eq!(
            h.post(notification(&[(&format!("op-{i}"), &loc)]))
                .await
                .status,
            202
        );
    }
    let _ = h.stop.take().expect("stop").send(());
    // Readiness drops as soon as shutdown begins; HTTP keeps answering meanwhile.
    let deadline = Instant::now() + Duration::from_secs(5);
    while h.get("/readyz").await.0 != 503 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let reply = h.post(notification(&[("op-late", &loc)])).await;
    assert_eq!(reply.status, 503, "{reply:?}");
    assert_eq!(reply.json["error"]["kind"], "shutting_down");
    assert!(reply.headers.contains_key(header::RETRY_AFTER));
    assert!(
        h.callback.deliveries().len() < 6,
        "jobs were still running when shutdown began"
    );

    let report = tokio::time::timeout(Duration::from_secs(20), &mut h.serving)
        .await
        .expect("drained in time")
        .expect("task")
        .expect("serve");
    assert_eq!(
        report,
        ServeReport {
            finished: 6,
            unfinished: 0
        }
    );
    let mut ids: Vec<String> = h
        .callback
        .deliveries()
        .iter()
        .map(|d| operation_id(&parse_result(&d.body)))
        .collect();
    ids.sort();
    assert_eq!(ids, ["op-0", "op-1", "op-2", "op-3", "op-4", "op-5"]);
}

/// When the shutdown deadline passes, `serve` stops anyway and reports the unfinished jobs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_deadline_reports_unfinished_jobs() {
    let callback = CallbackServer::start().await;
    let tmp = temp_dir("serve-deadline");
    let dir = tmp.path();
    let mut config = base_config(dir, &callback);
    config.download_concurrency = 1;
    config.shutdown_grace_s = 0;
    let h = start(config, gated_runner(Arc::new(Semaphore::new(0))), callback).await;
    let loc = url::Url::parse("https://media.test/r").expect("url");
    let reply = h
        .post(notification(&[
            ("stuck-1", &loc),
            ("stuck-2", &loc),
            ("stuck-3", &loc),
        ]))
        .await;
    assert_eq!(reply.json["accepted"], 3);
    let started = Instant::now();
    let report = h.stop().await;
    assert_eq!(
        report,
        ServeReport {
            finished: 0,
            unfinished: 3
        }
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

/// Malformed and oversized bodies get 400/413 with a JSON error; notifications about other
/// resources are acknowledged and ignored; the health endpoints answer. All through the router
/// without a socket, with authentication explicitly off.
#[tokio::test]
async fn malformed_bodies_get_400_and_unknown_resources_are_ignored() {
    let callback = CallbackServer::start().await;
    let tmp = temp_dir("serve-malformed");
    let dir = tmp.path();
    let mut config = base_config(dir, &callback);
    config.auth.mode = AuthMode::None;
    config.body_limit_bytes = 64 * 1024;
    let runner = gated_runner(Arc::new(Semaphore::new(0)));
    let server = Server::build(&config, runner).await.expect("server");
    let app = server::router(server.state());
    let sample = |name: &str| {
        std::fs::read(repo_path(&format!("samples/notifications/{name}"))).expect("sample")
    };

    let bad: Vec<(&str, Vec<u8>)> = vec![
        ("cut-off json", sample("invalid-json.json")),
        ("wrong envelope", sample("wrong-envelope.json")),
        ("empty body", Vec::new()),
        ("json array", b"[]".to_vec()),
        ("value not an array", br#"{"value": 3}"#.to_vec()),
        ("not utf-8", vec![0xff, 0xfe, 0x00, 0x81]),
    ];
    for (name, body) in bad {
        let (status, headers, json) = call(&app, post_request(body, None)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {json}");
        assert_eq!(
            headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
            Some("application/json")
        );
        assert_eq!(json["error"]["kind"], "invalid_notification", "{name}");
        assert!(
            json["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{name}"
        );
    }
    let huge = format!("{{\"value\": [], \"pad\": \"{}\"}}", "x".repeat(100 * 1024));
    let (status, _, json) = call(&app, post_request(huge.clone(), None)).await;
    assert_eq!(
        (status, json["error"]["kind"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("too_large"))
    );
    // Without Content-Length (a streamed body) the limit holds too.
    let chunks: Vec<Result<String, std::io::Error>> = huge
        .as_bytes()
        .chunks(8192)
        .map(|c| Ok(String::from_utf8_lossy(c).into_owned()))
        .collect();
    let streamed = Body::from_stream(futures_util::stream::iter(chunks));
    let (status, _, _) = call(&app, post_request(streamed, None)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

    let (status, _, json) = call(&app, post_request(sample("mixed-batch.json"), None)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{json}");
    assert_eq!(json, json!({"accepted": 1, "duplicates": 0, "ignored": 3}));
    let (status, _, json) = call(
        &app,
        post_request(sample("record-failed-initial-silence.json"), None),
    )
    .await;
    assert_eq!(
        (status, json["accepted"].as_u64()),
        (StatusCode::ACCEPTED, Some(1)),
        "a failed operation gets a result too"
    );

    let get = |path: &str| Request::get(path).body(Body::empty()).expect("request");
    assert_eq!(call(&app, get("/healthz")).await.0, StatusCode::OK);
    assert_eq!(
        call(&app, get("/readyz")).await.0,
        StatusCode::SERVICE_UNAVAILABLE,
        "workers not started"
    );
    assert_eq!(call(&app, get("/nowhere")).await.0, StatusCode::NOT_FOUND);
    let (status, headers, metrics) = call(&app, get("/metrics")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/plain")));
    let metrics = metrics.as_str().expect("text").to_owned();
    assert_eq!(
        metric(&metrics, "callscribe_notifications_received_total"),
        10.0
    );
    assert_eq!(
        metric(
            &metrics,
            "callscribe_notifications_rejected_total{reason=\"invalid_notification\"}"
        ),
        6.0
    );
    assert_eq!(
        metric(
            &metrics,
            "callscribe_notifications_rejected_total{reason=\"too_large\"}"
        ),
        2.0
    );
    assert_eq!(metric(&metrics, "callscribe_operations_ignored_total"), 3.0);
    assert_eq!(metric(&metrics, "callscribe_queue_depth_jobs"), 2.0);
    assert_eq!(
        metric(&metrics, "callscribe_notification_response_seconds_count"),
        10.0
    );
}

/// Every size refusal is a `413` with its own kind, and the limits agree: the body limit may
/// be the parser's own cap (a body of exactly that size is parsed) but not more (the service
/// does not build); more than `MAX_NOTIFICATIONS` notifications in one POST is
/// `too_many_notifications`.
#[tokio::test]
async fn size_refusals_are_413_with_their_own_kind() {
    use callscribe::notification::{MAX_BODY_BYTES, MAX_NOTIFICATIONS};

    let callback = CallbackServer::start().await;
    let tmp = temp_dir("serve-limits");
    let dir = tmp.path();
    let mut config = base_config(dir, &callback);
    config.auth.mode = AuthMode::None;
    config.body_limit_bytes = MAX_BODY_BYTES + 1;
    let refused = Server::build(&config, gated_runner(Arc::new(Semaphore::new(0))))
        .await
        .err()
        .expect("a body limit above the parser's is refused");
    assert!(
        matches!(&refused, server::ServerError::Config(m) if m.contains("body_limit_bytes")),
        "{refused}"
    );

    config.body_limit_bytes = MAX_BODY_BYTES;
    let server = Server::build(&config, gated_runner(Arc::new(Semaphore::new(0))))
        .await
        .expect("server");
    let app = server::router(server.state());
    // `{"value": []}` padded with spaces to `len` bytes: valid JSON of any size.
    let padded = |len: usize| {
        let mut body = br#"{"value": []"#.to_vec();
        body.resize(len - 1, b' ');
        body.push(b'}');
        body
    };
    let (status, _, json) = call(&app, post_request(padded(MAX_BODY_BYTES), None)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "exactly the limit: {json}");
    let (status, _, json) = call(&app, post_request(padded(MAX_BODY_BYTES + 1), None)).await;
    assert_eq!(
        (status, json["error"]["kind"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("too_large")),
        "refused on Content-Length"
    );
    // Streamed without Content-Length: refused while reading.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = padded(MAX_BODY_BYTES + 1)
        .chunks(64 * 1024)
        .map(|c| Ok(c.to_vec()))
        .collect();
    let streamed = Body::from_stream(futures_util::stream::iter(chunks));
    let (status, _, json) = call(&app, post_request(streamed, None)).await;
    assert_eq!(
        (status, json["error"]["kind"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("too_large")),
        "refused while streaming"
    );

    // Notifications that are not record operations: ignored, so only their number counts.
    let envelope = |count: usize| {
        let item = json!({"@odata.type": "#microsoft.graph.commsNotification",
                          "changeType": "updated", "resourceUrl": "/communications/calls/c"});
        json!({"value": vec![item; count]}).to_string()
    };
    let (status, _, json) = call(&app, post_request(envelope(MAX_NOTIFICATIONS), None)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{json}");
    assert_eq!(json["ignored"], MAX_NOTIFICATIONS);
    let (status, _, json) = call(&app, post_request(envelope(MAX_NOTIFICATIONS + 1), None)).await;
    assert_eq!(
        (status, json["error"]["kind"].as_str()),
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            Some("too_many_notifications")
        ),
        "{json}"
    );
    assert!(json["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains(&MAX_NOTIFICATIONS.to_string())));

    let metrics = server.state().metrics_text();
    for (reason, count) in [
        ("too_large", 2.0),
        ("too_many_notifications", 1.0),
        ("invalid_notification", 0.0),
    ] {
        let name = format!("callscribe_notifications_rejected_total{{reason=\"{reason}\"}}");
        assert_eq!(metric(&metrics, &name), count, "{name}");
    }
}

/// The callback is retried with back-off until the bot accepts it; the bot gets the result once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callback_is_retried_until_the_bot_accepts() {
    let callback = CallbackServer::start_failing(2).await;
    let tmp = temp_dir("serve-retry");
    let dir = tmp.path();
    let config = base_config(dir, &callback);
    let runner: Arc<dyn JobRunner> = Arc::new(|job: RecordingJob| async move { stub_result(&job) });
    let h = start(config, runner, callback).await;
    let loc = url::Url::parse("https://media.test/r").expect("url");
    assert_eq!(
        h.post(notification(&[("op-retry", &loc)])).await.status,
        202
    );
    let deliveries = h.callback.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(deliveries.len(), 1);
    assert_eq!(h.callback.attempts(), 3, "two refusals, then success");
    let d = &deliveries[0];
    assert!(server::verify_signature(
        SECRET.as_bytes(),
        &d.body,
        d.signature.as_deref().unwrap_or("")
    ));
    assert!(!server::verify_signature(
        b"wrong secret",
        &d.body,
        d.signature.as_deref().unwrap_or("")
    ));
    h.stop().await;
}

/// A `callscribe serve` child process: killed when dropped, so a failing test leaves none.
struct ServeProcess {
    child: std::process::Child,
    /// `IP:PORT` from its `listening on` line.
    addr: String,
    /// Its stdout, line by line (results as JSON Lines).
    stdout: std::sync::mpsc::Receiver<String>,
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether this build of the binary has the `serve` subcommand (`false` only while main.rs
/// was not wired yet; refused on CI).
fn serve_is_wired(bin: &str) -> bool {
    use std::process::{Command, Stdio};
    let wired = Command::new(bin)
        .args(["serve", "--help"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !wired {
        assert!(
            std::env::var_os("CI").is_none(),
            "`callscribe serve` is not wired in main.rs"
        );
        eprintln!("\n***** `callscribe serve` tests: SKIPPED (`serve` not in main.rs yet) *****\n");
    }
    wired
}

/// Spawns `command` (a `callscribe serve`) with piped output and waits, at most 30 s, for its
/// `listening on` line. Readers run on threads and hand lines over channels, so every later
/// wait can be bounded.
fn launch(mut command: std::process::Command) -> ServeProcess {
    use std::io::BufRead as _;
    use std::process::Stdio;

    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn callscribe serve");
    let (err_tx, err_rx) = std::sync::mpsc::channel::<String>();
    let stderr = child.stderr.take().expect("stderr");
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = err_tx.send(line);
        }
    });
    let (out_tx, out_rx) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = out_tx.send(line);
        }
    });
    let mut process = ServeProcess {
        child,
        addr: String::new(),
        stdout: out_rx,
    };
    let mut stderr_seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match err_rx.recv_timeout(left) {
            Ok(line) => {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    process.addr = rest.split('/').next().expect("addr").to_owned();
                    return process;
                }
                stderr_seen.push(line);
            }
            Err(_) => panic!("no `listening on` line within 30 s; stderr: {stderr_seen:?}"),
        }
    }
}

/// The soft and hard `Max open files` of a running process, from `/proc`.
#[cfg(target_os = "linux")]
fn open_file_limits(pid: u32) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("Max open files line");
    let fields: Vec<&str> = line.split_whitespace().collect();
    (fields[3].to_owned(), fields[4].to_owned())
}

/// Reads from `stream` until the server closes it (end of stream, or a reset) or `deadline`
/// passes. Returns when it closed (`None` if it did not) and every byte received.
async fn closed_by_server(
    stream: &mut (impl tokio::io::AsyncRead + Unpin),
    deadline: Instant,
) -> (Option<Instant>, Vec<u8>) {
    use tokio::io::AsyncReadExt as _;
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return (None, received),
            Ok(Ok(0)) | Ok(Err(_)) => return (Some(Instant::now()), received),
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
        }
    }
}

/// Sends a request head one byte every 100 ms, never finishing it, and returns how long after
/// `connecting` (taken before the connection was opened, so before the server's header timer
/// started) the server closed the connection (`None` if not before `deadline`). Measured from
/// when this task first ran instead, a loaded machine that ran it late made a connection the
/// server had held for its whole timeout look closed early (3.99 s of 4 s).
async fn dribble_head(
    stream: tokio::net::TcpStream,
    connecting: Instant,
    deadline: Instant,
) -> Option<Duration> {
    use tokio::io::AsyncWriteExt as _;
    let (mut reader, mut writer) = stream.into_split();
    let head = format!(
        "POST /api/calls HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: {}",
        "a".repeat(400)
    );
    let dribble = async {
        for byte in head.as_bytes() {
            if writer.write_all(std::slice::from_ref(byte)).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Keep the write half open: the head is never finished.
        std::future::pending::<()>().await;
    };
    tokio::select! {
        (closed, _) = closed_by_server(&mut reader, deadline) => closed.map(|at| at - connecting),
        () = dribble => None,
    }
}

/// The reported attack on the real binary, started with the common soft open-file limit of
/// 1024: 1,000 connections that send nothing and 50 that dribble a request head a byte at a
/// time. While they are held, `/healthz`, `/readyz` and a signed notification are answered
/// within seconds; the server raised its limit to the hard one; and it closes every one of
/// those connections after the header timeout.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_connections_do_not_starve_the_real_binary_and_are_closed() {
    const SILENT: usize = 1000;
    const SLOW: usize = 50;
    let bin = env!("CARGO_BIN_EXE_callscribe");
    if !serve_is_wired(bin) {
        return;
    }
    // This process holds the client end of every connection.
    let limit = rlimit::increase_nofile_limit(u64::MAX).expect("raise the open-file limit");
    assert!(
        limit >= 2 * (SILENT + SLOW) as u64,
        "this test needs a hard open-file limit of at least {}, have {limit}",
        2 * (SILENT + SLOW)
    );
    let header_timeout = Duration::from_secs(4);
    let tmp = temp_dir("serve-held");
    let dir = tmp.path();
    let jwks = dir.join("jwks.json");
    jwt::write_jwks(&jwks, &[(1, jwt::KID1)]);
    let mut command = std::process::Command::new("sh");
    // `exec` keeps the pid, so /proc shows the server's own limits.
    command
        .args(["-c", "ulimit -Sn 1024 && exec \"$0\" \"$@\"", bin])
        .args(["serve", "--listen", "127.0.0.1:0", "--no-transcribe"])
        .args(["--auth", "jwks-file", "--jwks-file"])
        .arg(&jwks)
        .args([
            "--header-timeout-ms",
            &header_timeout.as_millis().to_string(),
        ])
        .env("CALLSCRIBE_APP_ID", jwt::APP_ID)
        .env("RUST_LOG", "warn");
    let serve = launch(command);
    let (soft, hard) = open_file_limits(serve.child.id());
    assert_eq!(
        soft, hard,
        "the soft open-file limit is raised to the hard one"
    );
    let addr = serve.addr.clone();

    let opened = Instant::now();
    let connect_all = async {
        let mut silent = Vec::with_capacity(SILENT);
        for _ in 0..SILENT {
            silent.push(
                tokio::net::TcpStream::connect(&addr)
                    .await
                    .expect("connect"),
            );
        }
        let mut slow = tokio::task::JoinSet::new();
        let deadline = opened + header_timeout + Duration::from_secs(15);
        for _ in 0..SLOW {
            let connecting = Instant::now();
            let stream = tokio::net::TcpStream::connect(&addr)
                .await
                .expect("connect");
            slow.spawn(dribble_head(stream, connecting, deadline));
        }
        (silent, slow)
    };
    let (mut silent, mut slow) = tokio::time::timeout(Duration::from_secs(30), connect_all)
        .await
        .expect("1,050 loopback connections within 30 s");
    let connected = opened.elapsed();

    let base = format!("http://{addr}");
    let probe = Instant::now();
    let health = client()
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status().as_u16(), 200);
    assert_eq!(health.text().await.expect("text"), "ok\n");
    let health_took = probe.elapsed();
    let ready = client()
        .get(format!("{base}/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status().as_u16(), 200);
    let posted = client()
        .post(format!("{base}/api/calls"))
        .bearer_auth(jwt::valid_token())
        .body(r#"{"value": []}"#)
        .send()
        .await
        .expect("post");
    assert_eq!(posted.status().as_u16(), 202);
    let probes_took = probe.elapsed();
    eprintln!(
        "held connections: {} opened in {connected:?}; /healthz in {health_took:?}, \
         all probes in {probes_took:?}",
        SILENT + SLOW
    );
    assert!(
        health_took < Duration::from_secs(3),
        "/healthz took {health_took:?}"
    );
    // The probes count only if the connections were still held meanwhile.
    assert!(
        opened.elapsed() < header_timeout,
        "probes ended after the header timeout; the test proves nothing on a machine this slow"
    );
    let mut buf = [0u8; 16];
    for stream in &silent {
        assert!(
            matches!(stream.try_read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
            "a silent connection was closed before the header timeout"
        );
    }

    let deadline = opened + header_timeout + Duration::from_secs(15);
    for stream in &mut silent {
        let (closed, received) = closed_by_server(stream, deadline).await;
        let closed = closed.expect("the server closes a silent connection");
        assert!(closed - opened >= header_timeout, "closed early");
        assert!(received.is_empty(), "nothing is sent to a silent client");
    }
    let mut slow_closed = 0;
    while let Some(joined) = slow.join_next().await {
        let lived = joined
            .expect("dribble task")
            .expect("the server closes a connection that dribbles its head");
        assert!(lived >= header_timeout, "closed after {lived:?}");
        slow_closed += 1;
    }
    assert_eq!(slow_closed, SLOW);
    eprintln!(
        "held connections: all closed {:?} after the first connect",
        opened.elapsed()
    );

    // Afterwards, still serving.
    let health = client()
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status().as_u16(), 200);
    drop(serve);
}

/// The cap and the two timeouts in process, with short settings: beyond `max_connections` a
/// client waits in the listen backlog until a connection closes and is then served; an idle
/// keep-alive connection is closed after the header timeout; a request whose body stalls is
/// closed after the idle timeout, unanswered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_cap_idle_keep_alive_and_stalled_bodies() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::TcpStream;

    let callback = CallbackServer::start().await;
    let tmp = temp_dir("serve-conns");
    let dir = tmp.path();
    let mut config = base_config(dir, &callback);
    let header_timeout = Duration::from_millis(1000);
    let idle_timeout = Duration::from_millis(4000);
    config.header_timeout_ms = 1000;
    config.idle_timeout_ms = 4000;
    config.max_connections = 8;
    let runner: Arc<dyn JobRunner> = Arc::new(|job: RecordingJob| async move { stub_result(&job) });
    let h = start(config, runner, callback).await;
    let addr = h.base.trim_start_matches("http://").to_owned();

    // At the cap, the next client waits for a free slot instead of being refused.
    let started = Instant::now();
    let mut silent = Vec::new();
    for _ in 0..8 {
        silent.push(TcpStream::connect(&addr).await.expect("connect"));
    }
    let (status, body) = h.get("/healthz").await;
    let waited = started.elapsed();
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    assert!(
        waited >= header_timeout - Duration::from_millis(100),
        "served only once a silent connection was closed, after {waited:?}"
    );
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    for stream in &mut silent {
        let (closed, _) = closed_by_server(stream, Instant::now() + Duration::from_secs(5)).await;
        assert!(closed.is_some(), "silent connections are closed");
    }

    // An idle keep-alive connection is closed by the header timeout, not the idle timeout.
    let mut kept = TcpStream::connect(&addr).await.expect("connect");
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .expect("write");
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while !answer.ends_with(b"\r\n\r\nok\n") {
        let n = tokio::time::timeout(Duration::from_secs(5), kept.read(&mut buf))
            .await
            .expect("answer within 5 s")
            .expect("read");
        assert!(n > 0, "closed before answering: {answer:?}");
        answer.extend_from_slice(&buf[..n]);
    }
    let answered = Instant::now();
    assert!(answer.starts_with(b"HTTP/1.1 200"));
    let (closed, _) = closed_by_server(&mut kept, answered + Duration::from_secs(10)).await;
    let idle = closed.expect("an idle keep-alive connection is closed") - answered;
    // hyper starts the clock when it has written the answer, a little before it was read here.
    assert!(
        idle >= header_timeout / 2 && idle < idle_timeout,
        "closed after {idle:?}"
    );

    // A body that stops halfway: the head is complete, so only the idle timeout applies.
    let mut stalled = TcpStream::connect(&addr).await.expect("connect");
    let head = format!(
        "POST /api/calls HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"value\": [",
        jwt::valid_token()
    );
    stalled.write_all(head.as_bytes()).await.expect("write");
    let sent = Instant::now();
    let (closed, received) = closed_by_server(&mut stalled, sent + Duration::from_secs(15)).await;
    let lived = closed.expect("a stalled request is closed") - sent;
    assert!(
        lived >= idle_timeout - Duration::from_millis(50) && lived < idle_timeout * 2,
        "closed after {lived:?}"
    );
    assert!(received.is_empty(), "no answer to a request never finished");

    let (_, metrics) = h.get("/metrics").await;
    assert_eq!(
        metric(&metrics, "callscribe_notifications_accepted_total"),
        0.0
    );
    h.stop().await;
}

/// The real binary: `callscribe serve` starts, accepts a signed notification, prints the result
/// on stdout as JSON Lines, and exits 0 after SIGTERM. Refuses to start without an app id, or
/// with a body limit the notification parser would not honour (exit 2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_binary_serves_and_stops_on_sigterm() {
    use std::process::Command;

    let bin = env!("CARGO_BIN_EXE_callscribe");
    if !serve_is_wired(bin) {
        return;
    }

    // Without an app id (and without --auth none) the service refuses to start.
    let refused = Command::new(bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--no-transcribe"])
        .env_remove("CALLSCRIBE_APP_ID")
        .env_remove("CALLSCRIBE_AUTH")
        .output()
        .expect("run");
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--auth none"),
        "{refused:?}"
    );
    let too_big = (callscribe::notification::MAX_BODY_BYTES + 1).to_string();
    let refused = Command::new(bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--no-transcribe"])
        .args(["--auth", "none", "--body-limit", &too_big])
        .output()
        .expect("run");
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("body_limit_bytes"),
        "{refused:?}"
    );

    let media =
        MediaServer::start([Behaviour::serve_with_bearer(&wav(SHORT_WAV), MEDIA_TOKEN)]).await;
    let tmp = temp_dir("serve-bin");
    let dir = tmp.path();
    let jwks = dir.join("jwks.json");
    jwt::write_jwks(&jwks, &[(1, jwt::KID1)]);
    let mut command = Command::new(bin);
    command
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--auth",
            "jwks-file",
            "--no-transcribe",
        ])
        .arg("--jwks-file")
        .arg(&jwks)
        .args([
            "--allow-host",
            &media.authority(),
            "--allow-insecure-http",
            "--shutdown-grace",
            "10",
        ])
        .env("CALLSCRIBE_APP_ID", jwt::APP_ID)
        .env("RUST_LOG", "warn");
    let serve = launch(command);
    let addr = serve.addr.clone();

    let reply = client()
        .post(format!("http://{addr}/api/calls"))
        .bearer_auth(jwt::valid_token())
        .body(notification(&[("op-bin", &media.url("/r/bin"))]))
        .send()
        .await
        .expect("post");
    assert_eq!(reply.status().as_u16(), 202);
    // The wait blocks a thread: not one of the runtime's, which serves the media meanwhile.
    let (line, mut serve) = tokio::task::spawn_blocking(move || {
        (serve.stdout.recv_timeout(Duration::from_secs(20)), serve)
    })
    .await
    .expect("join");
    let line = line.expect("a result line on stdout within 20 s");
    let result = parse_result(line.as_bytes());
    assert_eq!(operation_id(&result), "op-bin");
    assert_eq!(result.status, Status::Ok, "{result:?}");

    let pid = serve.child.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = serve.child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "callscribe serve did not exit within 15 s of SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "exit status {status:?}");
    assert_eq!(media.request_count(), 1);
}
