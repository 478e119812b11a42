//! Privacy audit of the real binary: under `strace`, `process` and `notification` open no file
//! for writing but their declared outputs and write no audio anywhere; the access token reaches
//! only the media server, never stdout, stderr or a result; the token type cannot be printed.
//!
//! What the strace audit flags (see `support/strace.rs` for how the trace is read):
//! * any file opened with a writing or creating flag, renamed, removed, truncated, linked or
//!   created as a folder outside the folders the command was told to write to;
//! * any write, to any descriptor (files, pipes, sockets), that carries recognisable media: a
//!   container signature (`RIFF`, `RF64`, `WAVEfmt `, `fLaC`, `OggS`, `ftyp`), a 64-byte run
//!   of the input recording's own bytes, or a long run of binary (non-text) data.
//!
//! Each audit has a positive control so it cannot pass by seeing nothing: `--keep-audio`
//! (the one documented way to persist media) must be caught by the same detector, and the
//! trace must show the results being written and the token being sent to the media server.
//! strace missing: the tests fail on CI (env `CI`) and print a loud SKIPPED elsewhere.

use std::collections::HashSet;
use std::fmt::Display;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::time::Duration;

use callscribe::fetch::FetchConfig;
use callscribe::notification::{self, redact_url, AccessToken, Parsed};
use callscribe::result::Status;
use callscribe::{Outcome, Processor, ProcessorConfig, RecordingResult};
use proptest::prelude::*;
use serde_json::{json, Value};

use crate::support::media_server::{Behaviour, MediaServer};
use crate::support::model::{model_lock, repo_path, require_model};
use crate::support::strace::{require_strace, run_traced, Traced};
use crate::support::temp_dir;

const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.AUDITTOKEN7f3a9c.fake";
/// The recording's path and signed query: neither may appear in any output.
const REC_PATH: &str = "/recordings/audit-1c9e5b?sig=AUDITSIG55aa&se=2031";
const SECRETS: [&str; 5] = [
    TOKEN,
    "AUDITTOKEN7f3a9c",
    "audit-1c9e5b",
    "AUDITSIG55aa",
    "sig=",
];
/// Deadline of one traced run (strace slows start-up and every traced call).
const LIMIT: Duration = Duration::from_secs(120);

/// Samples in every container callscribe decodes (plus a broken one), for the `process` audit.
const INPUTS: [&str; 8] = [
    "pcm16-16000hz-mono-speech.wav",
    "ulaw-8000hz-mono-beep-speech.wav",
    "flac-16000hz-mono-speech-dtmf-star.flac",
    "mp3-44100hz-stereo-speech.mp3",
    "vorbis-22050hz-mono-speech.ogg",
    "aac-24000hz-mono-beep-speech.m4a",
    "pcm24-44100hz-stereo-speech.wav",
    "hostile/pcm16-8000hz-mono-truncated-half.wav",
];

fn sample_path(name: &str) -> PathBuf {
    repo_path("samples").join(name)
}

// --- Recognising audio in written bytes ------------------------------------------------------

/// Length of the runs of input bytes looked for in writes.
const RUN: usize = 64;
/// Indexed windows of the input: every `WINDOW`-aligned window, so any run of [`RUN`] bytes
/// copied from the input, at any alignment, contains one whole indexed window.
const WINDOW: usize = RUN / 2;

/// What an input recording looks like on the wire: its signature-free high-entropy windows.
struct Fingerprint {
    windows: HashSet<[u8; WINDOW]>,
}

impl Fingerprint {
    fn of(files: &[PathBuf]) -> Self {
        let mut windows = HashSet::new();
        for f in files {
            let bytes = std::fs::read(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            for chunk in bytes.chunks_exact(WINDOW) {
                // Runs of silence or padding would match any zero-filled buffer: skip
                // windows with few distinct byte values.
                let distinct: HashSet<u8> = chunk.iter().copied().collect();
                if distinct.len() >= 12 {
                    windows.insert(chunk.try_into().expect("window"));
                }
            }
        }
        assert!(
            windows.len() > 100,
            "the inputs give too few windows to recognise"
        );
        Self { windows }
    }

    /// Why `data` looks like media, if it does.
    fn media_in(&self, data: &[u8]) -> Option<String> {
        const SIGNATURES: [&[u8]; 6] = [b"RIFF", b"RF64", b"WAVEfmt ", b"fLaC", b"OggS", b"ftyp"];
        for sig in SIGNATURES {
            if let Some(at) = find(data, sig) {
                return Some(format!("{:?} at byte {at}", String::from_utf8_lossy(sig)));
            }
        }
        if data.len() >= WINDOW {
            for (at, w) in data.windows(WINDOW).enumerate() {
                if self.windows.contains(w) {
                    return Some(format!("a run of the input's bytes at byte {at}"));
                }
            }
        }
        binary_run(data).map(|at| format!("{BINARY_RUN} bytes of binary data at byte {at}"))
    }
}

/// Length of a run of non-text bytes that counts as binary data.
const BINARY_RUN: usize = 256;

/// Start of the first run of [`BINARY_RUN`] bytes of which over a third are neither printable
/// ASCII, common whitespace, nor part of valid UTF-8 (results are UTF-8 JSON or text).
fn binary_run(data: &[u8]) -> Option<usize> {
    let text_like = |b: u8| matches!(b, b'\t' | b'\n' | b'\r' | 0x20..=0x7e);
    let utf8 = std::str::from_utf8(data).is_ok();
    if utf8 || data.len() < BINARY_RUN {
        return None;
    }
    data.windows(BINARY_RUN)
        .step_by(BINARY_RUN / 4)
        .position(|w| w.iter().filter(|&&b| !text_like(b)).count() * 3 > BINARY_RUN)
        .map(|i| i * BINARY_RUN / 4)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

// --- The audit ---------------------------------------------------------------------------------

/// Fails unless every changed path lies in `writable` and media was written only to files in
/// `media_dirs`; returns the number of writes that carried media.
fn audit(traced: &Traced, writable: &[&Path], media_dirs: &[&Path], fp: &Fingerprint) -> usize {
    let mut problems = Vec::new();
    for (path, line) in traced.changed_paths() {
        if !writable.iter().any(|d| path.starts_with(d)) {
            problems.push(format!(
                "changed {} outside the outputs: {line}",
                path.display()
            ));
        }
    }
    let mut media_writes = 0;
    for (target, data) in traced.writes() {
        if let Some(why) = fp.media_in(data) {
            if media_dirs.iter().any(|d| Path::new(target).starts_with(d)) {
                media_writes += 1;
            } else {
                problems.push(format!("media written to {target}: {why}"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "persistence audit failed:\n{}\n(unparsed trace lines: {})",
        problems.join("\n"),
        traced.unparsed.len()
    );
    media_writes
}

/// Bytes written to descriptors whose target starts with `prefix`.
fn written_to(traced: &Traced, prefix: &str) -> Vec<u8> {
    traced
        .writes()
        .filter(|(t, _)| t.starts_with(prefix))
        .flat_map(|(_, d)| d.to_vec())
        .collect()
}

fn assert_no_secrets(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{secret:?} in {what}:\n{text}");
    }
}

fn parse_results(stdout: &str) -> Vec<RecordingResult> {
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn process_writes_only_its_result_files_and_no_audio() {
    if !require_strace() {
        return;
    }
    let scratch = temp_dir("audit-process");
    let out = scratch.path().join("results");
    let inputs: Vec<PathBuf> = INPUTS.iter().map(|n| sample_path(n)).collect();
    let fp = Fingerprint::of(&inputs);
    let mut args = vec!["process", "--no-transcribe", "-j", "2", "--out"];
    let out_str = out.display().to_string();
    args.push(&out_str);
    let input_strs: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
    args.extend(input_strs.iter().map(String::as_str));

    let traced = run_traced(&args, &[], LIMIT);
    assert_eq!(traced.status.code(), Some(0), "stderr:\n{}", traced.stderr);
    audit(&traced, &[&out], &[], &fp);

    // Positive controls: the trace saw each result file being created and its JSON written.
    let created = traced
        .changed_paths()
        .iter()
        .filter(|(p, _)| p.starts_with(&out))
        .count();
    assert!(
        created >= INPUTS.len(),
        "only {created} result files seen created"
    );
    let written = String::from_utf8_lossy(&written_to(&traced, &out_str)).into_owned();
    assert_eq!(
        written.matches("callscribe.result/v1").count(),
        INPUTS.len(),
        "{written}"
    );
    for entry in std::fs::read_dir(&out).expect("results folder") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("result file");
        let result: RecordingResult = serde_json::from_str(&text).expect("result json");
        assert_ne!(result.status, Status::Failed, "{}: {text}", path.display());
    }
}

#[test]
fn process_to_stdout_changes_no_file_at_all() {
    if !require_strace() {
        return;
    }
    let inputs: Vec<PathBuf> = INPUTS[..3].iter().map(|n| sample_path(n)).collect();
    let fp = Fingerprint::of(&inputs);
    let input_strs: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
    let mut args = vec!["process", "--no-transcribe", "-vv"];
    args.extend(input_strs.iter().map(String::as_str));

    let traced = run_traced(&args, &[], LIMIT);
    assert_eq!(traced.status.code(), Some(0), "stderr:\n{}", traced.stderr);
    audit(&traced, &[], &[], &fp);
    assert_eq!(parse_results(&traced.stdout).len(), 3);
    let piped = String::from_utf8_lossy(&written_to(&traced, "pipe:")).into_owned();
    assert!(
        piped.contains("callscribe.result/v1"),
        "the trace missed the stdout writes"
    );
}

/// The positive control: `--keep-audio` is the documented way to persist media, and the same
/// detector must see it — in the keep folder and nowhere else.
#[test]
fn keep_audio_is_the_only_media_written_and_the_audit_sees_it() {
    if !require_strace() {
        return;
    }
    let scratch = temp_dir("audit-keep");
    let (out, keep) = (scratch.path().join("results"), scratch.path().join("kept"));
    // 16 kHz input passes through the resampler untouched, so the kept speech is a run of the
    // input's own bytes as well as a RIFF file.
    let input = sample_path("pcm16-16000hz-mono-speech.wav");
    let fp = Fingerprint::of(std::slice::from_ref(&input));
    let (out_s, keep_s, input_s) = (
        out.display().to_string(),
        keep.display().to_string(),
        input.display().to_string(),
    );
    let args = [
        "process",
        "--no-transcribe",
        "--out",
        &out_s,
        "--keep-audio",
        &keep_s,
        &input_s,
    ];
    let traced = run_traced(&args, &[], LIMIT);
    assert_eq!(traced.status.code(), Some(0), "stderr:\n{}", traced.stderr);
    let media_writes = audit(&traced, &[&out, &keep], &[&keep], &fp);
    assert!(
        media_writes > 0,
        "the audit did not recognise the kept WAV as media: it would miss a leak too"
    );
    let kept = written_to(&traced, &keep_s);
    assert!(kept.starts_with(b"RIFF"), "kept audio is not a WAV");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notification_writes_nothing_and_sends_the_token_only_to_the_media_server() {
    if !require_strace() {
        return;
    }
    let name = "pcm16-8000hz-mono-beep-speech-dtmf-hash.wav";
    let body = std::fs::read(sample_path(name)).expect("sample");
    let server = MediaServer::start([Behaviour::serve_with_bearer(&body, TOKEN)]).await;
    let fp = Fingerprint::of(&[sample_path(name)]);

    let mut payload: Value = serde_json::from_slice(
        &std::fs::read(repo_path("samples/notifications/record-completed.json")).expect("read"),
    )
    .expect("json");
    let data = &mut payload["value"][0]["resourceData"];
    data["recordingLocation"] = json!(format!("http://{}{REC_PATH}", server.authority()));
    data["recordingAccessToken"] = json!(TOKEN);
    let scratch = temp_dir("audit-notification");
    let payload_file = scratch.path().join("payload.json");
    std::fs::write(&payload_file, serde_json::to_vec(&payload).expect("json")).expect("write");

    let authority = server.authority();
    let payload_s = payload_file.display().to_string();
    let traced = tokio::task::spawn_blocking(move || {
        let args = [
            "notification",
            &payload_s,
            "--allow-host",
            &authority,
            "--allow-insecure-http",
            "--no-transcribe",
            "-vv",
        ];
        run_traced(&args, &[], LIMIT)
    })
    .await
    .expect("traced run");

    assert_eq!(traced.status.code(), Some(0), "stderr:\n{}", traced.stderr);
    audit(&traced, &[], &[], &fp);
    let results = parse_results(&traced.stdout);
    assert_eq!(results.len(), 1, "{}", traced.stdout);
    assert_eq!(results[0].status, Status::Ok, "{:?}", results[0]);
    assert_no_secrets("stdout", &traced.stdout);
    assert_no_secrets("stderr (debug logging)", &traced.stderr);
    assert!(
        traced.stderr.contains("127.0.0.1"),
        "no debug log of the download:\n{}",
        traced.stderr
    );

    // The token left the process exactly where it should: in the request to the media server.
    let port = format!(":{}]", server.port());
    let mut to_server = 0;
    for (target, data) in traced.writes() {
        if find(data, TOKEN.as_bytes()).is_some() {
            assert!(
                target.starts_with("TCP:") && target.ends_with(&port),
                "the token was written to {target}"
            );
            to_server += 1;
        }
    }
    assert_eq!(
        to_server, 1,
        "the trace should show the one request carrying the token"
    );
    assert_eq!(server.request_count(), 1);
}

#[test]
fn transcription_writes_no_file_and_no_audio() {
    if !require_strace() {
        return;
    }
    let Some(model) = require_model() else { return };
    let _serial = model_lock();
    let input = sample_path("pcm16-16000hz-mono-speech.wav");
    let fp = Fingerprint::of(std::slice::from_ref(&input));
    let (model_s, input_s) = (model.display().to_string(), input.display().to_string());
    let args = ["process", "--model", &model_s, &input_s];
    let traced = run_traced(&args, &[], Duration::from_secs(300));
    assert_eq!(traced.status.code(), Some(0), "stderr:\n{}", traced.stderr);
    audit(&traced, &[], &[], &fp);
    let results = parse_results(&traced.stdout);
    assert!(results[0]
        .transcript
        .as_ref()
        .is_some_and(|t| !t.text.is_empty()));
}

// --- Secrets -----------------------------------------------------------------------------

/// Autoref specialisation: `Probe::<T>::display()` is the inherent method (true) when `T:
/// Display`, and the trait's fallback (false) otherwise. Decided at compile time.
struct Probe<T>(PhantomData<T>);

impl<T: Display> Probe<T> {
    fn display(&self) -> bool {
        true
    }
}

trait NotDisplay {
    fn display(&self) -> bool {
        false
    }
}

impl<T> NotDisplay for Probe<T> {}

struct SerializeProbe<T>(PhantomData<T>);

impl<T: serde::Serialize> SerializeProbe<T> {
    fn serialize(&self) -> bool {
        true
    }
}

trait NotSerialize {
    fn serialize(&self) -> bool {
        false
    }
}

impl<T> NotSerialize for SerializeProbe<T> {}

#[test]
fn access_token_has_no_display_no_serialize_and_a_redacted_debug() {
    // The probe itself works.
    assert!(Probe::<String>(PhantomData).display());
    assert!(SerializeProbe::<String>(PhantomData).serialize());

    assert!(
        !Probe::<AccessToken>(PhantomData).display(),
        "AccessToken must not be Display"
    );
    assert!(
        !SerializeProbe::<AccessToken>(PhantomData).serialize(),
        "AccessToken must not be Serialize"
    );
    assert!(!Probe::<notification::RecordingJob>(PhantomData).display());
    assert!(!SerializeProbe::<notification::RecordingJob>(PhantomData).serialize());

    let token = AccessToken::new(TOKEN);
    for text in [format!("{token:?}"), format!("{token:#?}")] {
        assert_eq!(text, "AccessToken([REDACTED])");
    }

    let mut payload: Value = serde_json::from_slice(
        &std::fs::read(repo_path("samples/notifications/record-completed.json")).expect("read"),
    )
    .expect("json");
    let data = &mut payload["value"][0]["resourceData"];
    data["recordingLocation"] = json!(format!("https://media.example.test{REC_PATH}"));
    data["recordingAccessToken"] = json!(TOKEN);
    let parsed = notification::parse(&serde_json::to_vec(&payload).expect("json")).expect("parse");
    let Some(Parsed::Job(job)) = parsed.first() else {
        panic!("{parsed:?}")
    };
    for text in [
        format!("{job:?}"),
        format!("{job:#?}"),
        format!("{parsed:?}"),
    ] {
        assert_no_secrets("a RecordingJob's Debug", &text);
        assert!(text.contains("https://media.example.test"), "{text}");
    }
}

/// Every way a download can fail, through the whole `Processor`: the result (JSON, Debug,
/// indented) names the host at most, never the path, the signed query or the token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_results_never_carry_the_url_query_or_the_token() {
    let wav = std::fs::read(sample_path("pcm16-16000hz-mono-speech.wav")).expect("sample");
    let target = MediaServer::start([Behaviour::serve(&wav)]).await;
    let cases: Vec<(&str, Behaviour)> = vec![
        (
            "unauthorized",
            Behaviour::serve_with_bearer(&wav, "another-token"),
        ),
        ("unauthorized", Behaviour::status(403)),
        ("not_found", Behaviour::status(404)),
        ("not_found", Behaviour::status(410)),
        ("download_failed", Behaviour::status(500)),
        ("download_failed", Behaviour::status(400)),
        (
            "download_incomplete",
            Behaviour::Truncated {
                declared: 100_000,
                body: wav[..1000].to_vec(),
            },
        ),
        (
            "too_large",
            Behaviour::HugeContentLength { declared: 1 << 40 },
        ),
        (
            "download_timeout",
            Behaviour::StallHeaders {
                pause: Duration::from_secs(3),
            },
        ),
        (
            "blocked_url",
            Behaviour::redirect("http://10.1.2.3/moved/audit-1c9e5b?sig=AUDITSIG55aa"),
        ),
        (
            "blocked_url",
            Behaviour::redirect("file:///etc/audit-1c9e5b?sig=AUDITSIG55aa"),
        ),
        (
            "unsupported_format",
            Behaviour::serve(b"<html>403 sig=AUDITSIG55aa</html>"),
        ),
    ];
    for (kind, behaviour) in cases {
        let server = MediaServer::start([behaviour]).await;
        let result = process_one(
            &server,
            &[&target],
            &format!("http://{}{REC_PATH}", server.authority()),
        )
        .await;
        assert_eq!(
            result.error.as_ref().map(|e| e.kind.as_str()),
            Some(kind),
            "{result:?}"
        );
        assert_result_clean(&result);
    }
    // Refused before any request: a private address, and a closed port on an allowed host.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    for (kind, url) in [
        ("blocked_url", format!("https://192.168.7.7{REC_PATH}")),
        (
            "blocked_url",
            format!("https://user:AUDITSIG55aa@media.example.test{REC_PATH}"),
        ),
        (
            "download_failed",
            format!("http://127.0.0.1:{closed}{REC_PATH}"),
        ),
    ] {
        let result = process_one(&target, &[], &url).await;
        assert_eq!(
            result.error.as_ref().map(|e| e.kind.as_str()),
            Some(kind),
            "{result:?}"
        );
        assert_result_clean(&result);
    }
}

/// Runs one completed-recording notification for `url` through a `Processor` that allows
/// `server` and `extra` (plain http on loopback), without transcription.
async fn process_one(server: &MediaServer, extra: &[&MediaServer], url: &str) -> RecordingResult {
    let mut allow: Vec<String> = extra.iter().map(|s| s.authority()).collect();
    allow.push(server.authority());
    if url.contains("127.0.0.1:") && !url.contains(&server.authority()) {
        if let Some(authority) = url
            .strip_prefix("http://")
            .and_then(|r| r.split('/').next())
        {
            allow.push(authority.to_owned());
        }
    }
    let mut pipeline = callscribe::PipelineConfig::default();
    pipeline.transcribe.enabled = false;
    let processor = Processor::new(ProcessorConfig {
        pipeline,
        fetch: FetchConfig {
            connect_timeout_ms: 1_000,
            read_stall_timeout_ms: 1_000,
            total_timeout_ms: 5_000,
            max_retries: 0,
            max_bytes: 4 * 1024 * 1024,
            allow_hosts: allow,
            allow_insecure_http: true,
            ..FetchConfig::default()
        },
        cpu_jobs: 1,
    })
    .expect("processor");
    let body = json!({"value": [{
        "resourceUrl": "/communications/calls/C1/operations/O1",
        "resourceData": {
            "@odata.type": "#microsoft.graph.recordOperation",
            "id": "O1",
            "status": "completed",
            "recordingLocation": url,
            "recordingAccessToken": TOKEN,
        },
    }]});
    let mut outcomes = processor
        .handle_notification(&serde_json::to_vec(&body).expect("json"))
        .await;
    assert_eq!(outcomes.len(), 1);
    match outcomes.remove(0) {
        Outcome::Result(r) => *r,
        Outcome::Skipped(s) => panic!("skipped: {s:?}"),
    }
}

fn assert_result_clean(result: &RecordingResult) {
    for text in [
        result.to_json_line(),
        format!("{result:?}"),
        serde_json::to_string_pretty(result).expect("json"),
    ] {
        assert_no_secrets("a result", &text);
        assert!(!text.contains("/moved"), "{text}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// `redact_url` keeps `scheme://host[:port]` and drops everything else: user, password,
    /// path, query and fragment, whatever they hold.
    #[test]
    fn redacted_urls_keep_only_scheme_host_and_port(
        scheme in prop::sample::select(vec!["https", "http"]),
        host in "[a-z][a-z0-9]{0,12}(\\.[a-z][a-z0-9]{0,12}){0,3}",
        port in prop::option::of(1u16..=65535),
        user in "[A-Za-z0-9]{0,8}",
        path in "(/[A-Za-z0-9._~%-]{1,12}){0,4}",
        query in prop::option::of("[A-Za-z0-9=&%._~-]{1,40}"),
        fragment in prop::option::of("[A-Za-z0-9]{1,12}"),
    ) {
        let mut raw = format!("{scheme}://");
        if !user.is_empty() {
            raw.push_str(&format!("{user}:PW{user}@"));
        }
        raw.push_str(&host);
        if let Some(p) = port {
            raw.push_str(&format!(":{p}"));
        }
        raw.push_str(&path);
        if let Some(q) = &query {
            raw.push_str(&format!("?SECRETQ{q}"));
        }
        if let Some(f) = &fragment {
            raw.push_str(&format!("#SECRETF{f}"));
        }
        let url = url::Url::parse(&raw).expect("url");
        let redacted = redact_url(&url);
        let expected = match url.port() {
            Some(p) => format!("{scheme}://{}:{p}", url.host_str().expect("host")),
            None => format!("{scheme}://{}", url.host_str().expect("host")),
        };
        prop_assert_eq!(&redacted, &expected);
        prop_assert!(!redacted.contains("SECRET") && !redacted.contains('@'));
        prop_assert!(!redacted.contains("PW"));
    }
}
