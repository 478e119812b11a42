//! Load benchmark of `callscribe serve` on loopback: a Rust load generator (no criterion),
//! reported in `BENCHMARKS.md` under "Webhook service".
//!
//! Run: `cargo bench --bench serve_load` (environment: `SERVE_LOAD_RATE` requests/s, default
//! 1000; `SERVE_LOAD_SECS`, default 10; `SERVE_LOAD_E2E_RUNS`, default 5).
//!
//! 1. **Time to 202, open loop.** Requests are sent on a fixed schedule (`rate` per second)
//!    regardless of how fast answers come, so a slow server cannot slow the generator down and
//!    hide its own latency (coordinated omission). Each request is a real RS256-signed
//!    notification verified by the server against a JWKS file; processing is stubbed (the
//!    runner returns a `no_speech` result at once and results go to no sink), so this measures
//!    the HTTP path: auth, body, parse, dedup, enqueue. Latency is send → response, and
//!    scheduled time → response (which adds the generator's own lag, mostly tokio's 1 ms timer
//!    granularity). Run once with one token for every request (as Graph sends it: the server
//!    verifies it once and then hits its verified-token cache) and once with a new token per
//!    request (a full RS256 verification each time).
//! 2. **Throughput, closed loop.** 32 concurrent senders for 5 s: accepted notifications/s.
//! 3. **End to end.** A 10 s recording (the 8.07 s speech sample padded with silence) served by
//!    the loopback media server, the real `Processor` with Whisper tiny.en, results POSTed to a
//!    loopback callback receiver: time from POST to the callback's arrival, sequential runs.
//!    Skipped when the model is missing.
//!
//! The server runs on its own 2-thread tokio runtime; the generator on a 1-thread runtime in
//! another OS thread. Both share the machine's cores, as they would on a 2-core host.

use std::sync::Arc;
use std::time::{Duration, Instant};

use callscribe::notification::source_of;
use callscribe::notification::RecordingJob;
use callscribe::result::{RecordingResult, Status, SCHEMA};
use callscribe::server::{self, AuthMode, CallbackConfig, JobRunner, Server, ServerConfig};
use callscribe::{Processor, ProcessorConfig};
use serde_json::{json, Value};

#[path = "../tests/support/callback_server.rs"]
mod callback_server;
#[path = "../tests/support/jwt.rs"]
mod jwt;
#[path = "../tests/support/media_server.rs"]
mod media_server;
#[path = "../tests/support/temp.rs"]
mod temp;
#[path = "../tests/support/wav.rs"]
mod wav;

const MEDIA_TOKEN: &str = "bench-media-token";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn notification(op: &str, location: &str) -> String {
    json!({
        "@odata.type": "#microsoft.graph.commsNotifications",
        "value": [{
            "@odata.type": "#microsoft.graph.commsNotification",
            "changeType": "deleted",
            "resourceUrl": format!("/communications/calls/bench-call/operations/{op}"),
            "resourceData": {
                "@odata.type": "#microsoft.graph.recordOperation",
                "id": op,
                "clientContext": "bench",
                "status": "completed",
                "resultInfo": {"code": 200, "subcode": 8515, "message": "max record duration"},
                "recordingLocation": location,
                "recordingAccessToken": MEDIA_TOKEN,
            }
        }]
    })
    .to_string()
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .no_proxy()
        .pool_max_idle_per_host(256)
        .build()
        .expect("client")
}

fn base_config(dir: &std::path::Path) -> ServerConfig {
    let jwks = dir.join("jwks.json");
    jwt::write_jwks(&jwks, &[(1, jwt::KID1)]);
    let mut c = ServerConfig::default();
    c.auth.mode = AuthMode::JwksFile;
    c.auth.app_id = Some(jwt::APP_ID.to_owned());
    c.auth.jwks_file = Some(jwks);
    c.sinks.stdout = Some(false);
    c
}

/// Starts `server` on 127.0.0.1 inside `runtime`; returns the base URL and the stop switch.
fn start(
    runtime: &tokio::runtime::Runtime,
    config: ServerConfig,
    runner: Arc<dyn JobRunner>,
) -> (String, server::AppState, tokio::sync::oneshot::Sender<()>) {
    runtime.block_on(async {
        let server = Server::build(&config, runner).await.expect("server");
        let state = server.state();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(server::serve(listener, server, async {
            let _ = stopped.await;
        }));
        (base, state, stop)
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

/// Phase 1: open loop at `rate` requests/s for `secs` seconds.
/// `tokens` are used in turn: one token for all requests (what Graph does) or a new one for
/// each (the cost without the verified-token cache).
fn open_loop(base: &str, rate: u64, secs: u64, label: &str, tokens: &[String]) {
    let total = rate * secs;
    let tokens: Vec<String> = tokens.iter().map(|t| format!("Bearer {t}")).collect();
    let bodies: Vec<String> = (0..total)
        .map(|i| notification(&format!("open-{i}"), "https://media.example.test/r"))
        .collect();
    let url = format!("{base}/api/calls");
    let generator = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let (service, scheduled, statuses) = generator.block_on(async move {
        let client = client();
        let start = tokio::time::Instant::now() + Duration::from_millis(100);
        let mut tasks = tokio::task::JoinSet::new();
        for (i, body) in bodies.into_iter().enumerate() {
            let due = start + Duration::from_nanos(i as u64 * 1_000_000_000 / rate);
            tokio::time::sleep_until(due).await;
            let (client, url) = (client.clone(), url.clone());
            let token = tokens[i % tokens.len()].clone();
            tasks.spawn(async move {
                let sent = Instant::now();
                let status = client
                    .post(&url)
                    .header("authorization", token)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0);
                let done = Instant::now();
                (done - sent, done.duration_since(due.into_std()), status)
            });
        }
        let (mut service, mut scheduled, mut statuses) = (Vec::new(), Vec::new(), Vec::new());
        while let Some(joined) = tasks.join_next().await {
            let (s, d, status) = joined.expect("task");
            service.push(s);
            scheduled.push(d);
            statuses.push(status);
        }
        (service, scheduled, statuses)
    });
    let mut service = service;
    let mut scheduled = scheduled;
    service.sort();
    scheduled.sort();
    let accepted = statuses.iter().filter(|s| **s == 202).count();
    let refused = statuses.iter().filter(|s| **s == 503).count();
    let other = statuses.len() - accepted - refused;
    println!("\n### Time to 202, open loop, {label}: {rate} requests/s for {secs} s ({total} requests)\n");
    println!("| measured from | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |");
    println!("|---|---|---|---|---|---|");
    for (name, v) in [("send", &service), ("schedule", &scheduled)] {
        println!(
            "| {name} | {} | {} | {} | {} | {} |",
            ms(percentile(v, 0.5)),
            ms(percentile(v, 0.9)),
            ms(percentile(v, 0.99)),
            ms(percentile(v, 0.999)),
            ms(percentile(v, 1.0))
        );
    }
    println!("\n202: {accepted}, 503: {refused}, other/errors: {other}");
}

/// Phase 2: `concurrency` senders in a closed loop for `secs` seconds.
fn closed_loop(base: &str, concurrency: usize, secs: u64) {
    let token = format!("Bearer {}", jwt::valid_token());
    let url = format!("{base}/api/calls");
    let generator = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let (accepted, other, elapsed) = generator.block_on(async move {
        let client = client();
        let started = Instant::now();
        let deadline = started + Duration::from_secs(secs);
        let mut tasks = tokio::task::JoinSet::new();
        for worker in 0..concurrency {
            let (client, url, token) = (client.clone(), url.clone(), token.clone());
            tasks.spawn(async move {
                let (mut accepted, mut other, mut i) = (0u64, 0u64, 0u64);
                while Instant::now() < deadline {
                    let body = notification(
                        &format!("closed-{worker}-{i}"),
                        "https://media.example.test/r",
                    );
                    i += 1;
                    let status = client
                        .post(&url)
                        .header("authorization", &token)
                        .body(body)
                        .send()
                        .await
                        .map(|r| r.status().as_u16())
                        .unwrap_or(0);
                    if status == 202 {
                        accepted += 1;
                    } else {
                        other += 1;
                    }
                }
                (accepted, other)
            });
        }
        let (mut accepted, mut other) = (0, 0);
        while let Some(joined) = tasks.join_next().await {
            let (a, o) = joined.expect("task");
            accepted += a;
            other += o;
        }
        (accepted, other, started.elapsed())
    });
    println!("\n### Throughput, closed loop: {concurrency} concurrent senders for {secs} s\n");
    println!(
        "accepted notifications/s: **{:.0}** ({accepted} answered 202, {other} other, in {:.1} s)",
        accepted as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64()
    );
}

/// A 10 s WAV: the 8.07 s speech sample followed by silence.
fn ten_second_wav() -> Vec<u8> {
    let (mut samples, spec) = wav::read_pcm16_sample("pcm16-16000hz-mono-speech.wav");
    samples.resize(spec.sample_rate as usize * 10, 0);
    wav::pcm16_wav(&samples, spec.sample_rate, spec.channels)
}

/// Phase 3: POST → result callback for a 10 s recording, `runs` times in a row.
fn end_to_end(runs: usize) {
    let model = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/ggml-tiny.en.bin");
    println!("\n### End to end: POST → result callback, 10 s recording, Whisper tiny.en\n");
    if !model.is_file() {
        println!(
            "SKIPPED: model missing ({}); build it with models/build-model.sh",
            model.display()
        );
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("rt");
    let wav = ten_second_wav();
    let tmp = temp::temp_dir("bench-e2e");
    let dir = tmp.path();
    let (media, callback) = runtime.block_on(async {
        let media = media_server::MediaServer::start([media_server::Behaviour::serve_with_bearer(
            &wav,
            MEDIA_TOKEN,
        )])
        .await;
        let callback = callback_server::CallbackServer::start().await;
        (media, callback)
    });
    let mut config = base_config(dir);
    config.sinks.callback = Some(CallbackConfig::new(callback.url(), "bench-secret"));
    let mut processor_config = ProcessorConfig::default();
    processor_config.fetch.allow_hosts = vec![media.authority()];
    processor_config.fetch.allow_insecure_http = true;
    processor_config.pipeline.transcribe.model = model;
    let processor = Processor::new(processor_config).expect("processor");
    let (base, _state, stop) = start(&runtime, config, Arc::new(processor));
    let client = client();
    let token = format!("Bearer {}", jwt::valid_token());
    let mut latencies = Vec::new();
    let mut transcript = String::new();
    for run in 0..runs {
        let body = notification(
            &format!("e2e-{run}"),
            media.url(&format!("/r/{run}")).as_str(),
        );
        let (latency, text) = runtime.block_on(async {
            let started = Instant::now();
            let status = client
                .post(format!("{base}/api/calls"))
                .header("authorization", &token)
                .body(body)
                .send()
                .await
                .expect("post")
                .status();
            assert_eq!(status.as_u16(), 202);
            let got = callback.wait_for(run + 1, Duration::from_secs(120)).await;
            let delivery = got.get(run).expect("a result within 120 s");
            let result: Value = serde_json::from_slice(&delivery.body).expect("json");
            (
                delivery.at.duration_since(started),
                result["transcript"]["text"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
            )
        });
        latencies.push(latency);
        transcript = text;
    }
    let _ = stop.send(());
    latencies.sort();
    println!("| runs | min s | median s | max s |");
    println!("|---|---|---|---|");
    println!(
        "| {runs} | {:.2} | {:.2} | {:.2} |",
        percentile(&latencies, 0.0).as_secs_f64(),
        percentile(&latencies, 0.5).as_secs_f64(),
        percentile(&latencies, 1.0).as_secs_f64()
    );
    println!("\ntranscript: {transcript:?}");
}

/// Phase 0: the cost of one RS256 verification (what every notification pays for auth).
fn verify_cost() {
    let jwk: jsonwebtoken::jwk::Jwk =
        serde_json::from_value(jwt::public_jwk(1, jwt::KID1)).expect("jwk");
    let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).expect("key");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[jwt::APP_ID]);
    validation.set_issuer(&[jwt::ISSUER]);
    let token = jwt::valid_token();
    let n = 2000;
    let started = Instant::now();
    for _ in 0..n {
        jsonwebtoken::decode::<Value>(&token, &key, &validation).expect("valid");
    }
    let each = started.elapsed() / n;
    println!(
        "\nRS256 verification (jsonwebtoken, rust_crypto): {:.1} µs per token",
        each.as_secs_f64() * 1e6
    );
}

fn main() {
    let rate: u64 = env_or("SERVE_LOAD_RATE", 1000);
    let secs: u64 = env_or("SERVE_LOAD_SECS", 10);
    let runs: usize = env_or("SERVE_LOAD_E2E_RUNS", 5);
    println!(
        "serve_load: {} cores, rate {rate}/s, {secs} s",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    verify_cost();

    // Phases 1 and 2: the HTTP path with processing stubbed.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("rt");
    let tmp = temp::temp_dir("bench-load");
    let dir = tmp.path();
    let mut config = base_config(dir);
    // Room for every request: this phase measures answering, not back-pressure.
    config.queue_capacity = 16 * 1024;
    config.download_concurrency = 64;
    let runner: Arc<dyn JobRunner> = Arc::new(|job: RecordingJob| async move {
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
    });
    let (base, state, stop) = start(&runtime, config, runner);
    open_loop(
        &base,
        rate,
        secs,
        "one token (as Graph sends)",
        &[jwt::valid_token()],
    );
    // A new token per request defeats the verified-token cache: every request pays a full
    // RS256 verification. Signing is slow, so this run is shorter.
    let fresh_secs = secs.clamp(1, 2);
    let fresh: Vec<String> = (0..rate * fresh_secs)
        .map(|i| {
            let mut claims = jwt::valid_claims();
            claims["jti"] = json!(i);
            jwt::sign(&claims, 1, jwt::KID1)
        })
        .collect();
    open_loop(&base, rate, fresh_secs, "a new token per request", &fresh);
    closed_loop(&base, 32, 5);
    let metrics = state.metrics_text();
    let server_p = |le: &str| {
        metrics
            .lines()
            .find_map(|l| {
                l.strip_prefix(&format!(
                    "callscribe_notification_response_seconds_bucket{{le=\"{le}\"}} "
                ))
            })
            .unwrap_or("?")
            .to_owned()
    };
    println!(
        "\nserver-side handler time (callscribe_notification_response_seconds): {} of {} answers \
         within 1 ms, {} within 5 ms",
        server_p("0.001"),
        server_p("+Inf"),
        server_p("0.005")
    );
    let _ = stop.send(());
    drop(runtime);
    drop(tmp);

    end_to_end(runs);
}
