//! Graph notification → download → pipeline, end to end: the real `Processor` and the
//! `callscribe notification` CLI against a loopback media server serving the real samples.
//!
//! Payloads are the fixtures in `samples/notifications/`, with their `recordingLocation` /
//! `recordResourceLocation` rewritten to `http://127.0.0.1:<port><path>` and their token to
//! [`TOKEN`] (the server checks it). Every result is checked for the token, the location's
//! path and its signed query, none of which may appear in a result, on stdout or on stderr.
//! All traffic stays on 127.0.0.1 (allow-listed with `allow_insecure_http`); every download
//! runs under a total deadline and every CLI run under a kill deadline.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use callscribe::fetch::FetchConfig;
use callscribe::notification::SkipReason;
use callscribe::result::{ResultInfo, Source, Stage, Status};
use callscribe::{ErrorKind, Outcome, Pipeline, Processor, ProcessorConfig, RecordingResult};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use crate::support::cli_run::{run_cli, run_cli_env, CliRun};
use crate::support::media_server::{Behaviour, MediaServer};
use crate::support::model::repo_path;
use crate::support::samples::{no_transcribe_config, Manifest};
use crate::support::temp_dir;

const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.NOTIFTOKEN.fake";
/// The recording's path and a signed query: both must stay out of every result and log line.
const REC_PATH: &str = "/recordings/17e3b46c-f61d-4f4d-9635-c626ef18e6ad?sig=SECRETSIG&se=2030";
const SECRETS: [&str; 8] = [
    TOKEN,
    "NOTIFTOKEN",
    "17e3b46c",
    "/recordings",
    "recordings/",
    "SECRETSIG",
    "sig=",
    "se=2030",
];
/// Deadline for one CLI run (a few downloads of small files, no transcription).
const CLI_LIMIT: Duration = Duration::from_secs(60);

const SPEECH_16K: &str = "pcm16-16000hz-mono-speech.wav";
const BEEP_SPEECH_DTMF: &str = "pcm16-8000hz-mono-beep-speech-dtmf-hash.wav";
const ALAW_SPEECH: &str = "alaw-8000hz-mono-speech-dtmf-hash.wav";

fn sample(name: &str) -> Vec<u8> {
    Manifest::get().entry(name).bytes()
}

fn notification(name: &str) -> Value {
    let path = repo_path("samples/notifications").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Points every recording location in `payload` at `authority` + `path` and sets every token
/// to [`TOKEN`]; returns how many locations were rewritten.
fn point_at(payload: &mut Value, authority: &str, path: &str) -> usize {
    let mut rewritten = 0;
    let items = payload["value"].as_array_mut().expect("value array");
    for item in items {
        let Some(data) = item.get_mut("resourceData").and_then(Value::as_object_mut) else {
            continue;
        };
        for key in ["recordingLocation", "recordResourceLocation"] {
            if data.get(key).is_some_and(Value::is_string) {
                data.insert(key.into(), json!(format!("http://{authority}{path}")));
                rewritten += 1;
            }
        }
        for key in ["recordingAccessToken", "recordResourceAccessToken"] {
            if data.get(key).is_some_and(Value::is_string) {
                data.insert(key.into(), json!(TOKEN));
            }
        }
    }
    rewritten
}

fn fetch_config(authorities: &[String]) -> FetchConfig {
    FetchConfig {
        connect_timeout_ms: 2_000,
        read_stall_timeout_ms: 5_000,
        total_timeout_ms: 20_000,
        max_retries: 1,
        backoff_base_ms: 10,
        backoff_max_ms: 40,
        allow_hosts: authorities.to_vec(),
        allow_insecure_http: true,
        ..FetchConfig::default()
    }
}

/// A processor that downloads only from `authorities`, without transcription.
fn processor(authorities: &[String]) -> Processor {
    let pipeline = no_transcribe_config();
    Processor::new(ProcessorConfig {
        pipeline,
        fetch: fetch_config(authorities),
        cpu_jobs: 0,
    })
    .expect("processor")
}

async fn handle(processor: &Processor, payload: &Value) -> Vec<Outcome> {
    let body = serde_json::to_vec(payload).expect("payload json");
    processor.handle_notification(&body).await
}

fn only_results(outcomes: Vec<Outcome>) -> Vec<RecordingResult> {
    outcomes
        .into_iter()
        .map(|o| match o {
            Outcome::Result(r) => *r,
            Outcome::Skipped(s) => panic!("unexpected skip: {s:?}"),
        })
        .collect()
}

/// The result in every printed form holds none of [`SECRETS`] (nor `also`), and its JSON line
/// reads back strictly (`deny_unknown_fields`) to the same value.
fn assert_clean(result: &RecordingResult, also: &[&str]) {
    let line = result.to_json_line();
    let texts = [
        line.clone(),
        format!("{result:?}"),
        serde_json::to_string_pretty(result).expect("json"),
    ];
    for text in &texts {
        for secret in SECRETS.iter().chain(also) {
            assert!(!text.contains(secret), "{secret:?} in result: {text}");
        }
    }
    let back: RecordingResult = serde_json::from_str(&line).expect("result reads back strictly");
    assert_eq!(&back, result);
}

fn result_info(code: i64, subcode: Option<i64>, message: &str) -> Option<ResultInfo> {
    Some(ResultInfo {
        code: Some(code),
        subcode,
        message: Some(message.to_owned()),
    })
}

fn completed_source() -> Source {
    Source {
        path: None,
        call_id: Some("57DAB8B1894C409AB240BD8BEAE78896".into()),
        operation_id: Some("0fe0623f-d628-42ed-b4bd-8ac290072cc5".into()),
        client_context: Some("d45324c1-fcb5-430a-902c-f20af696537c".into()),
        result_info: result_info(
            200,
            Some(8515),
            "Action completed, max record duration reached.",
        ),
        reason: Some("max_record_duration_reached".into()),
    }
}

/// What the pipeline reports for `name` processed straight from disk, to compare the
/// downloaded result's audio report with.
fn local_audio_report(name: &str) -> callscribe::result::AudioReport {
    let pipeline = Pipeline::new(no_transcribe_config()).expect("pipeline");
    let result = pipeline.process(&sample(name), Source::default());
    assert_eq!(result.status, Status::Ok, "{name} locally: {result:?}");
    result.audio.expect("audio report")
}

#[tokio::test]
async fn completed_operation_gives_one_ok_result_with_its_source() {
    let body = sample(SPEECH_16K);
    let server = MediaServer::start([Behaviour::serve_with_bearer(&body, TOKEN)]).await;
    let mut payload = notification("record-completed.json");
    assert_eq!(point_at(&mut payload, &server.authority(), REC_PATH), 1);

    let results = only_results(handle(&processor(&[server.authority()]), &payload).await);
    assert_eq!(results.len(), 1, "{results:?}");
    let result = &results[0];
    assert_eq!(result.status, Status::Ok, "{result:?}");
    assert_eq!(result.error, None);
    assert_eq!(result.schema, "callscribe.result/v1");
    assert_eq!(result.source, completed_source());
    assert_eq!(result.transcript, None, "transcription is off");

    // The audio report is the one the file gives when processed from disk: the download
    // delivered the recording byte for byte.
    let audio = result.audio.as_ref().expect("audio report");
    assert_eq!(audio, &local_audio_report(SPEECH_16K));
    assert_eq!(audio.codec, "pcm_s16le");
    assert_eq!((audio.sample_rate, audio.channels), (16_000, 1));
    let truth = Manifest::get().entry(SPEECH_16K);
    let (start, end) = (
        audio.speech_start_s.expect("start"),
        audio.speech_end_s.expect("end"),
    );
    let spoken = truth.speech_start_s.zip(truth.speech_end_s);
    let (spoken_start, spoken_end) = spoken.expect("manifest speech boundaries");
    assert!(
        start <= spoken_start && start >= spoken_start - 0.5,
        "{audio:?}"
    );
    assert!(
        end >= spoken_end - 0.1 && end <= spoken_end + 0.5,
        "{audio:?}"
    );
    for stage in [Stage::Download, Stage::Decode, Stage::Total] {
        assert!(
            result.timings_ms.get(stage).is_some(),
            "no {stage} timing: {:?}",
            result.timings_ms
        );
    }
    assert_clean(result, &[&server.authority(), "127.0.0.1", "http:"]);

    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].target, REC_PATH,
        "the location is fetched exactly as given"
    );
    assert_eq!(
        seen[0].header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
}

#[tokio::test]
async fn failed_operation_is_a_failed_result_with_result_info() {
    // Nothing may be downloaded for a failed operation: a server is allow-listed only to show
    // that it is never contacted.
    let server = MediaServer::start([Behaviour::serve(b"never")]).await;
    let payload = notification("record-failed-initial-silence.json");
    let results = only_results(handle(&processor(&[server.authority()]), &payload).await);
    assert_eq!(results.len(), 1, "{results:?}");
    let result = &results[0];
    assert_eq!(result.status, Status::Failed);
    let error = result.error.as_ref().expect("error");
    assert_eq!(error.kind, ErrorKind::OperationFailed);
    assert!(!error.message.is_empty());
    assert_eq!(
        result.source,
        Source {
            path: None,
            call_id: Some("2e1f3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5b".into()),
            operation_id: Some("6c7d8e9f-0a1b-4c2d-8e3f-4a5b6c7d8e9f".into()),
            client_context: Some("ask-account-number#7".into()),
            result_info: result_info(400, Some(8510), "Action failed, initial silence timeout."),
            reason: Some("initial_silence_timeout".into()),
        }
    );
    assert_eq!((&result.audio, &result.transcript), (&None, &None));
    assert_clean(result, &[]);
    assert_eq!(server.connection_count(), 0);
}

#[tokio::test]
async fn mixed_batch_gives_one_result_per_record_operation_and_skips_the_rest() {
    let server =
        MediaServer::start([Behaviour::serve_with_bearer(&sample(ALAW_SPEECH), TOKEN)]).await;
    let mut payload = notification("mixed-batch.json");
    assert_eq!(point_at(&mut payload, &server.authority(), REC_PATH), 1);

    let outcomes = handle(&processor(&[server.authority()]), &payload).await;
    assert_eq!(outcomes.len(), 4, "one outcome per notification, in order");
    let skip_reason = |o: &Outcome| match o {
        Outcome::Skipped(s) => Some(s.reason),
        Outcome::Result(_) => None,
    };
    assert_eq!(
        skip_reason(&outcomes[0]),
        Some(SkipReason::NotARecordOperation)
    );
    assert_eq!(
        skip_reason(&outcomes[1]),
        Some(SkipReason::NotARecordOperation)
    );
    assert_eq!(
        skip_reason(&outcomes[3]),
        Some(SkipReason::OperationRunning)
    );
    let Outcome::Result(result) = &outcomes[2] else {
        panic!("{:?}", outcomes[2])
    };
    assert_eq!(result.status, Status::Ok, "{result:?}");
    assert_eq!(
        result.source,
        Source {
            path: None,
            call_id: Some("9a1b2c3d-0000-4000-8000-00000000c0de".into()),
            operation_id: Some("b7a1c2d3-0000-4000-8000-000000000003".into()),
            client_context: Some("ask-reason-for-call".into()),
            result_info: result_info(200, Some(8509), "Action completed, max silence timeout."),
            reason: Some("max_silence_timeout".into()),
        }
    );
    let audio = result.audio.as_ref().expect("audio");
    assert_eq!(
        (audio.codec.as_str(), audio.sample_rate),
        ("pcm_alaw", 8_000)
    );
    assert_clean(result, &[&server.authority()]);
    assert_eq!(
        server.request_count(),
        1,
        "only the completed record operation is downloaded"
    );
}

#[tokio::test]
async fn beta_field_names_are_downloaded_and_reported() {
    let server = MediaServer::start([Behaviour::serve_with_bearer(
        &sample(BEEP_SPEECH_DTMF),
        TOKEN,
    )])
    .await;
    let mut payload = notification("record-completed-beta-names.json");
    let data = &payload["value"][0]["resourceData"];
    assert!(data["recordResourceLocation"].is_string() && data.get("recordingLocation").is_none());
    let beta_path =
        "/beta/recordings/5f0e9d8c-7b6a-4c3d-9e2f-1a0b9c8d7e6f?sv=2019-02-02&sig=FAKESIG";
    assert_eq!(point_at(&mut payload, &server.authority(), beta_path), 1);

    let results = only_results(handle(&processor(&[server.authority()]), &payload).await);
    assert_eq!(results.len(), 1);
    let result = &results[0];
    assert_eq!(result.status, Status::Ok, "{result:?}");
    assert_eq!(
        result.source,
        Source {
            path: None,
            call_id: Some("421f0c00-1b2d-4a8e-9f2a-5c1e2d3f4a5b".into()),
            operation_id: Some("11aa22bb-33cc-44dd-8eee-ff0011223344".into()),
            client_context: Some("survey-q2".into()),
            result_info: result_info(200, None, "Action completed, stop tone detected."),
            reason: Some("stop_tone_detected".into()),
        }
    );
    let audio = result.audio.as_ref().expect("audio");
    assert_eq!(
        audio.stop_tone.as_ref().map(|t| t.key.as_str()),
        Some("#"),
        "{audio:?}"
    );
    assert!(audio.beep.is_some(), "{audio:?}");
    assert_clean(result, &["FAKESIG", "5f0e9d8c", "/beta", "sv=2019"]);

    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].target, beta_path);
    assert_eq!(
        seen[0].header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
}

#[tokio::test]
async fn refused_token_and_missing_recording_become_typed_failures() {
    let cases = [
        (
            Behaviour::serve_with_bearer(&sample(SPEECH_16K), "a-different-token"),
            ErrorKind::Unauthorized,
        ),
        (Behaviour::status(403), ErrorKind::Unauthorized),
        (Behaviour::status(404), ErrorKind::NotFound),
        (Behaviour::status(410), ErrorKind::NotFound),
    ];
    for (behaviour, kind) in cases {
        let server = MediaServer::start([behaviour]).await;
        let mut payload = notification("record-completed.json");
        point_at(&mut payload, &server.authority(), REC_PATH);
        let results = only_results(handle(&processor(&[server.authority()]), &payload).await);
        assert_eq!(results.len(), 1);
        let result = &results[0];
        assert_eq!(result.status, Status::Failed, "{kind}: {result:?}");
        assert_eq!(
            result.error.as_ref().map(|e| e.kind),
            Some(kind),
            "{result:?}"
        );
        // The source survives a failed download: the bot can still correlate it.
        assert_eq!(result.source, completed_source(), "{kind}");
        assert_eq!(result.audio, None);
        assert!(
            result.timings_ms.download.is_some(),
            "{:?}",
            result.timings_ms
        );
        assert_clean(result, &[]);
        assert_eq!(server.request_count(), 1, "{kind} is final: no retry");
    }
}

#[tokio::test]
async fn unparseable_bodies_give_one_invalid_notification_result() {
    let p = processor(&[]);
    let invalid_json =
        std::fs::read(repo_path("samples/notifications/invalid-json.json")).expect("read");
    let wrong_envelope = serde_json::to_vec(&notification("wrong-envelope.json")).expect("json");
    for body in [
        invalid_json,
        wrong_envelope,
        b"".to_vec(),
        b"[1, 2]".to_vec(),
    ] {
        let results = only_results(p.handle_notification(&body).await);
        assert_eq!(results.len(), 1, "{}", String::from_utf8_lossy(&body));
        let result = &results[0];
        assert_eq!(result.status, Status::Failed);
        assert_eq!(
            result.error.as_ref().map(|e| e.kind),
            Some(ErrorKind::InvalidNotification)
        );
        assert_eq!(result.source, Source::default());
        // The body is never quoted back: it can hold a location and a token.
        assert_clean(result, &["media.example.test", "eyJ0eXAi"]);
    }
}

/// What [`BarrierServer`] saw: each request's target and `Authorization` header.
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// A one-shot HTTP server that answers nobody until `n` requests are waiting at once, then
/// serves `body` to all of them. If they don't all arrive within `patience`, each gets `503`.
/// So downloads made one after another fail, and only concurrent ones succeed.
struct BarrierServer {
    addr: SocketAddr,
    seen: Seen,
    task: JoinHandle<()>,
}

impl Drop for BarrierServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl BarrierServer {
    async fn start(n: usize, body: Vec<u8>, patience: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let barrier = Arc::new(tokio::sync::Barrier::new(n));
        let body = Arc::new(body);
        let task = tokio::spawn({
            let seen = Arc::clone(&seen);
            async move {
                let mut connections = JoinSet::new();
                // At most 2n connections: enough for every download plus stray retries.
                for _ in 0..2 * n {
                    let Ok((mut stream, _)) = listener.accept().await else {
                        continue;
                    };
                    let (seen, barrier, body) =
                        (Arc::clone(&seen), Arc::clone(&barrier), Arc::clone(&body));
                    connections.spawn(async move {
                        let Ok(Some((target, auth))) =
                            tokio::time::timeout(Duration::from_secs(5), read_request(&mut stream)).await
                        else {
                            return;
                        };
                        seen.lock().unwrap_or_else(|e| e.into_inner()).push((target, auth));
                        let all_here = tokio::time::timeout(patience, barrier.wait()).await.is_ok();
                        let head = if all_here {
                            format!(
                                "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
                                body.len()
                            )
                        } else {
                            "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
                                .to_owned()
                        };
                        let _ = stream.write_all(head.as_bytes()).await;
                        if all_here {
                            let _ = stream.write_all(&body).await;
                        }
                        let _ = stream.shutdown().await;
                    });
                }
                while connections.join_next().await.is_some() {}
            }
        });
        Self { addr, seen, task }
    }

    fn authority(&self) -> String {
        self.addr.to_string()
    }

    fn seen(&self) -> Vec<(String, Option<String>)> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Reads a request head (≤ 16 KiB): its target and `Authorization` header.
async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<(String, Option<String>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > 16 * 1024 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let mut lines = head.split("\r\n");
    let target = lines.next()?.split(' ').nth(1)?.to_owned();
    let auth = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| v.trim().to_owned());
    Some((target, auth))
}

#[tokio::test]
async fn operations_in_one_post_are_downloaded_concurrently() {
    const N: usize = 4;
    let server = BarrierServer::start(N, sample(ALAW_SPEECH), Duration::from_secs(10)).await;
    let template = notification("record-completed.json")["value"][0].clone();
    let ids: Vec<String> = (0..N)
        .map(|i| format!("0fe0623f-d628-42ed-b4bd-00000000000{i}"))
        .collect();
    let items: Vec<Value> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let mut item = template.clone();
            item["resourceUrl"] = json!(format!(
                "/communications/calls/57DAB8B1894C409AB240BD8BEAE78896/operations/{id}"
            ));
            item["resourceData"]["id"] = json!(id);
            item["resourceData"]["clientContext"] = json!(format!("question-{i}"));
            item["resourceData"]["recordingLocation"] = json!(format!(
                "http://{}/recordings/op{i}?sig=SECRETSIG",
                server.authority()
            ));
            item["resourceData"]["recordingAccessToken"] = json!(TOKEN);
            item
        })
        .collect();
    let payload = json!({ "@odata.type": "#microsoft.graph.commsNotifications", "value": items });

    let mut fetch = fetch_config(&[server.authority()]);
    fetch.max_retries = 0; // a 503 from an impatient barrier must stay a failure
    fetch.read_stall_timeout_ms = 15_000; // longer than the barrier's patience
    let pipeline = no_transcribe_config();
    let p = Processor::new(ProcessorConfig {
        pipeline,
        fetch,
        cpu_jobs: 1,
    })
    .expect("processor");
    let results = only_results(handle(&p, &payload).await);

    assert_eq!(results.len(), N);
    for result in &results {
        assert_eq!(
            result.status,
            Status::Ok,
            "a download was not in flight together with the others: {result:?}"
        );
        assert_clean(result, &[]);
    }
    let got: BTreeSet<_> = results
        .iter()
        .filter_map(|r| r.source.operation_id.clone())
        .collect();
    assert_eq!(
        got,
        ids.iter().cloned().collect::<BTreeSet<_>>(),
        "one result per operation"
    );
    let seen = server.seen();
    assert_eq!(seen.len(), N, "each operation downloads once: {seen:?}");
    let targets: BTreeSet<_> = seen.iter().map(|(t, _)| t.clone()).collect();
    assert_eq!(targets.len(), N, "{seen:?}");
    assert!(seen
        .iter()
        .all(|(_, auth)| auth.as_deref() == Some(&format!("Bearer {TOKEN}"))));
}

#[cfg(feature = "whisper")]
#[tokio::test]
// The guard is the process-wide std mutex that serializes Whisper runs across test threads;
// each test has its own single-threaded runtime, so holding it across awaits blocks no one
// but other model tests, which is its purpose.
#[allow(clippy::await_holding_lock)]
async fn completed_operation_is_transcribed_with_the_model() {
    use crate::support::model::{model_lock, require_model, wer, PER_FILE_WER_BOUND};

    let Some(model) = require_model() else { return };
    let _serial = model_lock();
    let server =
        MediaServer::start([Behaviour::serve_with_bearer(&sample(SPEECH_16K), TOKEN)]).await;
    let mut payload = notification("record-completed.json");
    point_at(&mut payload, &server.authority(), REC_PATH);
    let mut pipeline = callscribe::config::PipelineConfig::default();
    pipeline.transcribe.enabled = true;
    pipeline.transcribe.model = model;
    pipeline.transcribe.threads = 2;
    let config = ProcessorConfig {
        pipeline,
        fetch: fetch_config(&[server.authority()]),
        cpu_jobs: 1,
    };
    let p = Processor::new(config).expect("processor with model");

    let results = only_results(handle(&p, &payload).await);
    assert_eq!(results.len(), 1);
    let result = &results[0];
    assert_eq!(result.status, Status::Ok, "{result:?}");
    assert_eq!(result.source, completed_source());
    let transcript = result.transcript.as_ref().expect("transcript");
    assert_eq!(transcript.language, "en");
    assert!(!transcript.segments.is_empty());
    let truth = Manifest::get()
        .entry(SPEECH_16K)
        .text
        .as_deref()
        .expect("text");
    let rate = wer(truth, &transcript.text);
    eprintln!(
        "notification transcript: {:?} (WER {:.1}%)",
        transcript.text,
        rate * 100.0
    );
    assert!(
        rate <= PER_FILE_WER_BOUND,
        "WER {rate:.2}: {:?} vs {truth:?}",
        transcript.text
    );
    assert!(result.timings_ms.transcribe.is_some());
    assert_clean(result, &[&server.authority()]);
}

// --- The CLI -------------------------------------------------------------------------------

/// Stdout and stderr hold none of [`SECRETS`] (nor `also`).
fn assert_cli_clean(run: &CliRun, also: &[&str]) {
    for (name, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        for secret in SECRETS.iter().chain(also) {
            assert!(!text.contains(secret), "{secret:?} on {name}:\n{text}");
        }
    }
}

fn parse_lines(run: &CliRun) -> Vec<RecordingResult> {
    run.lines()
        .iter()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}\nstderr:\n{}", run.stderr))
        })
        .collect()
}

/// `payload` written to `<dir>/payload.json`; returns the path as a CLI argument.
fn payload_file(dir: &Path, payload: &Value) -> String {
    let path = dir.join("payload.json");
    std::fs::write(&path, serde_json::to_vec_pretty(payload).expect("json"))
        .expect("write payload");
    path.display().to_string()
}

/// Runs the CLI off the async runtime, so the media server keeps serving meanwhile.
async fn cli(args: Vec<String>, stdin: Option<Vec<u8>>, env: Vec<(String, String)>) -> CliRun {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        if env.is_empty() {
            run_cli(&args, stdin, CLI_LIMIT)
        } else {
            run_cli_env(&args, stdin, &env, CLI_LIMIT)
        }
    })
    .await
    .expect("cli task")
}

fn notification_args(input: &str, authority: &str) -> Vec<String> {
    [
        "notification",
        input,
        "--allow-host",
        authority,
        "--allow-insecure-http",
        "--no-transcribe",
    ]
    .map(str::to_owned)
    .to_vec()
}

#[tokio::test]
async fn cli_prints_one_json_line_per_record_operation_from_a_file() {
    let server =
        MediaServer::start([Behaviour::serve_with_bearer(&sample(ALAW_SPEECH), TOKEN)]).await;
    let mut payload = notification("mixed-batch.json");
    point_at(&mut payload, &server.authority(), REC_PATH);
    let dir = temp_dir("notification-cli");
    let file = payload_file(dir.path(), &payload);

    let run = cli(notification_args(&file, &server.authority()), None, vec![]).await;
    assert_eq!(run.code(), Some(0), "stderr:\n{}", run.stderr);
    let results = parse_lines(&run);
    assert_eq!(
        results.len(),
        1,
        "one line per record operation, none for skipped:\n{}",
        run.stdout
    );
    assert_eq!(results[0].status, Status::Ok);
    assert_eq!(
        results[0].source.operation_id.as_deref(),
        Some("b7a1c2d3-0000-4000-8000-000000000003")
    );
    assert_eq!(
        results[0].source.reason.as_deref(),
        Some("max_silence_timeout")
    );
    assert!(
        run.stderr.contains("allow-insecure-http"),
        "insecure mode must warn:\n{}",
        run.stderr
    );
    assert_cli_clean(&run, &[]);
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn cli_reads_stdin_and_exits_1_when_an_operation_failed() {
    let server =
        MediaServer::start([Behaviour::serve_with_bearer(&sample(SPEECH_16K), TOKEN)]).await;
    let mut payload = notification("record-completed.json");
    point_at(&mut payload, &server.authority(), REC_PATH);
    let failed = notification("record-failed-initial-silence.json")["value"][0].clone();
    payload["value"].as_array_mut().expect("value").push(failed);

    let stdin = serde_json::to_vec(&payload).expect("json");
    let run = cli(
        notification_args("-", &server.authority()),
        Some(stdin),
        vec![],
    )
    .await;
    assert_eq!(
        run.code(),
        Some(1),
        "one operation failed; stderr:\n{}",
        run.stderr
    );
    let results = parse_lines(&run);
    assert_eq!(results.len(), 2, "{}", run.stdout);
    assert_eq!(results[0].status, Status::Ok, "{:?}", results[0]);
    assert_eq!(results[0].source, completed_source());
    assert_eq!(results[1].status, Status::Failed);
    assert_eq!(
        results[1].error.as_ref().map(|e| e.kind),
        Some(ErrorKind::OperationFailed)
    );
    assert_eq!(
        results[1].source.reason.as_deref(),
        Some("initial_silence_timeout")
    );
    assert_cli_clean(&run, &[]);

    // Only the completed operation: exit 0.
    let mut ok_only = notification("record-completed.json");
    point_at(&mut ok_only, &server.authority(), REC_PATH);
    let stdin = serde_json::to_vec(&ok_only).expect("json");
    let run = cli(
        notification_args("-", &server.authority()),
        Some(stdin),
        vec![],
    )
    .await;
    assert_eq!(run.code(), Some(0), "stderr:\n{}", run.stderr);
    assert_eq!(parse_lines(&run).len(), 1);
    assert_cli_clean(&run, &[]);
}

#[tokio::test]
async fn cli_invalid_payload_prints_one_invalid_notification_line() {
    let stdin = std::fs::read(repo_path("samples/notifications/invalid-json.json")).expect("read");
    let args = ["notification", "-", "--no-transcribe"]
        .map(str::to_owned)
        .to_vec();
    let run = cli(args, Some(stdin), vec![]).await;
    assert_eq!(run.code(), Some(1), "stderr:\n{}", run.stderr);
    let results = parse_lines(&run);
    assert_eq!(results.len(), 1, "{}", run.stdout);
    assert_eq!(
        results[0].error.as_ref().map(|e| e.kind),
        Some(ErrorKind::InvalidNotification)
    );
    assert_cli_clean(&run, &["media.example.test", "eyJ0eXAi"]);
}

/// A record operation with a field of the wrong JSON type is a failed `invalid_notification`
/// line carrying the ids that could be read, and the exit code says so; it is never dropped.
#[tokio::test]
async fn cli_wrong_typed_record_operations_print_invalid_notification_results() {
    let template = notification("record-completed.json")["value"][0].clone();
    let call_url = "/communications/calls/57DAB8B1894C409AB240BD8BEAE78896/operations";
    // (operation id in resourceUrl, changes to resourceData)
    let cases = [
        ("URL-1", json!({"id": "op-status", "status": 3})),
        ("URL-2", json!({"id": 42})),
        (
            "URL-3",
            json!({"id": "op-location", "recordingLocation": 7}),
        ),
        // Still running: Graph notifies again, so no line.
        (
            "URL-4",
            json!({"id": "op-running", "status": "running", "resultInfo": 1}),
        ),
    ];
    let items: Vec<Value> = cases
        .iter()
        .map(|(url_op, changes)| {
            let mut item = template.clone();
            item["resourceUrl"] = json!(format!("{call_url}/{url_op}"));
            for (k, v) in changes.as_object().expect("object") {
                item["resourceData"][k] = v.clone();
            }
            item
        })
        .collect();
    let payload = json!({"@odata.type": "#microsoft.graph.commsNotifications", "value": items});
    let args = ["notification", "-", "--no-transcribe"]
        .map(str::to_owned)
        .to_vec();
    let stdin = serde_json::to_vec(&payload).expect("json");
    let run = cli(args, Some(stdin), vec![]).await;

    assert_eq!(run.code(), Some(1), "stderr:\n{}", run.stderr);
    let results = parse_lines(&run);
    let expected = [
        ("op-status", "status is not a string"),
        ("URL-2", "id is not a string"),
        ("op-location", "recordingLocation is not a string"),
    ];
    assert_eq!(results.len(), expected.len(), "{}", run.stdout);
    for (result, (operation_id, message)) in results.iter().zip(expected) {
        assert_eq!(result.status, Status::Failed, "{result:?}");
        let error = result.error.as_ref().expect("error");
        assert_eq!(error.kind, ErrorKind::InvalidNotification, "{result:?}");
        assert_eq!(error.message, message);
        assert_eq!(result.source.operation_id.as_deref(), Some(operation_id));
        assert_eq!(
            result.source.call_id.as_deref(),
            Some("57DAB8B1894C409AB240BD8BEAE78896")
        );
        assert_eq!(
            result.source.client_context.as_deref(),
            Some("d45324c1-fcb5-430a-902c-f20af696537c")
        );
    }
    assert!(
        run.stderr
            .contains("3 record operations: 0 succeeded, 3 failed"),
        "{}",
        run.stderr
    );
    assert_cli_clean(&run, &["media.example.test", "eyJ0eXAi"]);
}

#[tokio::test]
async fn cli_failed_download_with_verbose_logging_never_prints_token_or_location() {
    // `-vv` (debug) for one failure, `RUST_LOG=trace` (every crate, hyper and reqwest included)
    // for the other.
    let cases = [
        (
            Behaviour::status(404),
            ErrorKind::NotFound,
            Some("-vv"),
            vec![],
        ),
        (
            Behaviour::serve_with_bearer(b"x", "a-different-token"),
            ErrorKind::Unauthorized,
            None,
            vec![("RUST_LOG".to_owned(), "trace".to_owned())],
        ),
    ];
    for (behaviour, kind, flag, env) in cases {
        let server = MediaServer::start([behaviour]).await;
        let mut payload = notification("record-completed.json");
        point_at(&mut payload, &server.authority(), REC_PATH);
        let dir = temp_dir("notification-cli");
        let mut args = notification_args(&payload_file(dir.path(), &payload), &server.authority());
        args.extend(flag.map(str::to_owned));
        let run = cli(args, None, env).await;
        assert_eq!(run.code(), Some(1), "stderr:\n{}", run.stderr);
        let results = parse_lines(&run);
        assert_eq!(results.len(), 1);
        assert_eq!(results[0].error.as_ref().map(|e| e.kind), Some(kind));
        // Verbose logging did run and talk about this download (so the check below means
        // something): it names the host and the error kind, never the path, query or token.
        assert!(
            run.stderr.contains("127.0.0.1"),
            "no download log:\n{}",
            run.stderr
        );
        assert!(
            run.stderr.contains(kind.as_str()),
            "no error_kind in the log:\n{}",
            run.stderr
        );
        assert_cli_clean(&run, &[]);
    }
}
