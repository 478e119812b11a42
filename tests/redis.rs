//! A fleet of real `callscribe serve` processes sharing one real `redis-server` on 127.0.0.1:
//! de-duplication across replicas, takeover of a killed worker's job, a Redis outage, and the
//! typed failures (`expired`, `worker_lost`, a malformed stream entry).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::callback_server::CallbackServer;
use crate::support::http_client as client;
use crate::support::jwt;
use crate::support::media_server::{Behaviour, MediaServer};
use crate::support::redis_server::{self, RedisServer, PASSWORD};
use crate::support::replica::Replica;
use crate::support::temp_dir;

/// The `recordingAccessToken` of test notifications; the media server requires it.
const MEDIA_TOKEN: &str = "media-access-token-for-fleet-tests";
/// The callback's shared secret.
const SECRET: &str = "fleet-callback-secret";
/// A short speech sample (3.2 s, 16 kHz): decoding and trimming it is quick.
const SHORT_WAV: &str = "samples/pcm32-16000hz-mono-extensible-speech.wav";
/// The stream every replica shares (default key prefix).
const STREAM: &str = "callscribe:jobs";

fn wav() -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(SHORT_WAV)).expect("sample")
}

/// A `commsNotifications` body with one completed `recordOperation` per operation id, each
/// pointing at `media` `/r/<id>`.
fn notification(ops: &[String], media: &MediaServer) -> String {
    let value: Vec<Value> = ops
        .iter()
        .map(|op| {
            json!({
                "@odata.type": "#microsoft.graph.commsNotification",
                "changeType": "deleted",
                "resourceUrl": format!("/communications/calls/call-1/operations/{op}"),
                "resourceData": {
                    "@odata.type": "#microsoft.graph.recordOperation",
                    "@odata.etag": "W/\"1\"",
                    "id": op,
                    "status": "completed",
                    "resultInfo": {"code": 200, "subcode": 8514, "message": "stop tone"},
                    "recordingLocation": media.url(&format!("/r/{op}")).as_str(),
                    "recordingAccessToken": MEDIA_TOKEN,
                }
            })
        })
        .collect();
    json!({"value": value}).to_string()
}

/// POSTs `ops` to `replica`; the status, the `Retry-After` header and the JSON answer.
async fn post(
    replica: &Replica,
    ops: &[String],
    media: &MediaServer,
) -> (u16, Option<String>, Value) {
    let reply = client()
        .post(replica.url("/api/calls"))
        .bearer_auth(jwt::valid_token())
        .body(notification(ops, media))
        .send()
        .await
        .expect("post");
    let status = reply.status().as_u16();
    let retry_after = reply
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = reply.bytes().await.unwrap_or_default();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, retry_after, body)
}

async fn get(replica: &Replica, path: &str) -> (u16, String) {
    match client().get(replica.url(path)).send().await {
        Ok(reply) => {
            let status = reply.status().as_u16();
            (status, reply.text().await.unwrap_or_default())
        }
        Err(_) => (0, String::new()),
    }
}

/// A metric's value in a replica's `/metrics` (0 when absent).
async fn metric(replica: &Replica, name: &str) -> f64 {
    let (_, text) = get(replica, "/metrics").await;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

/// Polls `check` every 50 ms until it holds or `limit` passes; whether it held.
async fn wait_until<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The shared settings of a fleet: JWKS, results folder, callback receiver, Redis.
struct Fleet {
    _dir: tempfile::TempDir,
    jwks: String,
    results: std::path::PathBuf,
    callback: CallbackServer,
    redis: RedisServer,
}

impl Fleet {
    async fn new(aof: bool) -> Self {
        Self::with_redis(RedisServer::start(aof)).await
    }

    async fn with_redis(redis: RedisServer) -> Self {
        Self::with(redis, CallbackServer::start().await)
    }

    fn with(redis: RedisServer, callback: CallbackServer) -> Self {
        let dir = temp_dir("fleet");
        let jwks = dir.path().join("jwks.json");
        jwt::write_jwks(&jwks, &[(1, jwt::KID1)]);
        let results = dir.path().join("results");
        Self {
            jwks: jwks.to_string_lossy().into_owned(),
            results,
            callback,
            redis,
            _dir: dir,
        }
    }

    /// Starts a replica in `role` that downloads from `media`, with `extra` flags.
    fn replica(&self, role: &str, media: &MediaServer, extra: &[&str]) -> Replica {
        let mut args: Vec<String> = [
            "--listen",
            "127.0.0.1:0",
            "--auth",
            "jwks-file",
            "--jwks-file",
            &self.jwks,
            "--no-transcribe",
            "--allow-host",
            &media.authority(),
            "--allow-insecure-http",
            "--callback-url",
            self.callback.url().as_str(),
            "--role",
            role,
            "--shutdown-grace",
            "5",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        args.push("--results-dir".into());
        args.push(self.results.to_string_lossy().into_owned());
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let url = self.redis.url();
        Replica::start(
            &args,
            &[
                ("CALLSCRIBE_APP_ID", jwt::APP_ID),
                ("CALLSCRIBE_CALLBACK_SECRET", SECRET),
                ("CALLSCRIBE_REDIS_URL", &url),
            ],
        )
    }

    /// Result files in the shared folder: name → parsed JSON.
    fn result_files(&self) -> BTreeMap<String, Value> {
        let Ok(entries) = std::fs::read_dir(&self.results) else {
            return BTreeMap::new();
        };
        entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') {
                    return None;
                }
                let text = std::fs::read_to_string(e.path()).ok()?;
                Some((name, serde_json::from_str(&text).ok()?))
            })
            .collect()
    }

    /// Callback deliveries per operation id.
    fn callbacks(&self) -> BTreeMap<String, Vec<Value>> {
        let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for d in self.callback.deliveries() {
            let body: Value = serde_json::from_slice(&d.body).expect("callback json");
            let op = d.operation_id.clone().unwrap_or_default();
            out.entry(op).or_default().push(body);
        }
        out
    }

    /// Asserts one result file `<op>.json` and one callback for each of `ops` and for no other
    /// operation; returns the results by operation id.
    fn assert_exactly_once(&self, ops: &BTreeSet<String>) -> BTreeMap<String, Value> {
        let files = self.result_files();
        let names: BTreeSet<String> = files.keys().cloned().collect();
        let expected: BTreeSet<String> = ops.iter().map(|op| format!("{op}.json")).collect();
        assert_eq!(
            names, expected,
            "one result file per operation, no `~2` copies"
        );
        let callbacks = self.callbacks();
        let doubled: Vec<_> = callbacks.iter().filter(|(_, v)| v.len() != 1).collect();
        assert!(
            doubled.is_empty(),
            "operations called back more than once: {doubled:?}"
        );
        let called: BTreeSet<String> = callbacks.keys().cloned().collect();
        assert_eq!(&called, ops, "one callback per operation");
        files
            .into_iter()
            .map(|(name, v)| (name.trim_end_matches(".json").to_owned(), v))
            .collect()
    }

    /// Entries in the shared stream, and entries delivered but not acknowledged.
    fn backlog(&self) -> (u64, u64) {
        let pending = self.redis.cli(&["XPENDING", STREAM, "workers"]);
        let pending = pending
            .lines()
            .next()
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or(0);
        (self.redis.xlen(STREAM), pending)
    }
}

fn ops(prefix: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("{prefix}-{i:03}")).collect()
}

fn kind(result: &Value) -> &str {
    result["error"]["kind"].as_str().unwrap_or("")
}

/// Three replicas, 300 operations in POSTs of 10, each POST to one replica; a third of the
/// operations redelivered at the same time to a *different* replica. Every operation gives
/// exactly one result file and one callback, and is downloaded once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_process_each_operation_once_despite_redeliveries() {
    if !redis_server::available() {
        return;
    }
    let media = MediaServer::start([Behaviour::serve_with_bearer(&wav(), MEDIA_TOKEN)]).await;
    let fleet = Fleet::new(false).await;
    let extra = ["--queue-capacity", "1000", "--download-concurrency", "4"];
    let replicas: Vec<Replica> = (0..3)
        .map(|_| fleet.replica("both", &media, &extra))
        .collect();
    let all = ops("op", 0..300);

    let mut posts = tokio::task::JoinSet::new();
    let replicas = std::sync::Arc::new(replicas);
    let media = std::sync::Arc::new(media);
    for (n, chunk) in all.chunks(10).enumerate() {
        // Every third operation overall: 100 of the 300.
        let redelivered: Vec<String> = (n * 10..n * 10 + chunk.len())
            .filter(|i| i % 3 == 0)
            .map(|i| all[i].clone())
            .collect();
        for (target, batch) in [(n % 3, chunk.to_vec()), ((n + 1) % 3, redelivered)] {
            let (replicas, media) = (replicas.clone(), media.clone());
            posts.spawn(async move { post(&replicas[target], &batch, &media).await });
        }
    }
    let (mut accepted, mut duplicates) = (0, 0);
    while let Some(joined) = posts.join_next().await {
        let (status, _, body) = joined.expect("post task");
        assert_eq!(status, 202, "{body}");
        accepted += body["accepted"].as_u64().expect("accepted");
        duplicates += body["duplicates"].as_u64().expect("duplicates");
    }
    assert_eq!((accepted, duplicates), (300, 100));

    let done = wait_until(Duration::from_secs(180), || async {
        fleet.callback.deliveries().len() >= 300 && fleet.backlog() == (0, 0)
    })
    .await;
    assert!(
        done,
        "300 callbacks and an empty stream within 180 s: {}",
        fleet.callback.deliveries().len()
    );
    // Anything doubled would arrive right after the last expected delivery.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let results = fleet.assert_exactly_once(&all.iter().cloned().collect());
    assert!(
        results.values().all(|r| r["status"] == "ok"),
        "every result ok"
    );
    assert_eq!(media.request_count(), 300, "each recording downloaded once");
    for r in replicas.iter() {
        let stderr = r.stderr();
        assert!(
            !stderr.contains(PASSWORD),
            "the Redis password leaked: {stderr}"
        );
        assert!(
            !stderr.contains(MEDIA_TOKEN),
            "the media token leaked: {stderr}"
        );
    }
}

/// A fleet on `rediss://` whose server certificate comes from a private CA: the replica given
/// that CA (`--redis-ca-file`) becomes ready and processes work through TLS; a replica without
/// it refuses the certificate, stays unready and answers `503` (never `202` for work it cannot
/// store). Neither prints the password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_redis_is_used_with_its_private_ca_and_refused_without_it() {
    if !redis_server::available() {
        return;
    }
    let media = MediaServer::start([Behaviour::serve_with_bearer(&wav(), MEDIA_TOKEN)]).await;
    let fleet = Fleet::with_redis(RedisServer::start_tls()).await;
    let ca = fleet.redis.ca_file().to_string_lossy().into_owned();
    let trusting = fleet.replica("both", &media, &["--redis-ca-file", &ca]);
    let untrusting = fleet.replica("intake", &media, &["--retry-after", "3"]);
    assert!(
        wait_until(Duration::from_secs(20), || async {
            get(&trusting, "/readyz").await.0 == 200
        })
        .await,
        "the replica trusting the CA becomes ready: {}",
        trusting.stderr()
    );

    let sent = ops("tls", 0..5);
    let (status, _, body) = post(&trusting, &sent, &media).await;
    assert_eq!(
        (status, body["accepted"].as_u64()),
        (202, Some(5)),
        "{body}"
    );
    let (status, retry_after, body) = post(&untrusting, &ops("refused", 0..1), &media).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["kind"], "queue_unavailable");
    assert_eq!(retry_after.as_deref(), Some("3"));
    assert_eq!(get(&untrusting, "/readyz").await.0, 503);

    let done = wait_until(Duration::from_secs(60), || async {
        fleet.callback.deliveries().len() >= sent.len() && fleet.backlog() == (0, 0)
    })
    .await;
    assert!(done, "5 callbacks through the TLS queue within 60 s");
    let results = fleet.assert_exactly_once(&sent.iter().cloned().collect());
    assert!(results.values().all(|r| r["status"] == "ok"));

    let refused_log = untrusting.stderr();
    assert!(
        refused_log.to_lowercase().contains("certificate"),
        "the unready replica says why: {refused_log}"
    );
    for log in [trusting.stderr(), refused_log] {
        assert!(!log.contains(PASSWORD), "the Redis password leaked: {log}");
    }
}

/// A replica is SIGKILLed while its job's download hangs; a worker started afterwards takes
/// the job over once the claim is a visibility timeout old, and it is delivered once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_workers_job_is_taken_over_and_delivered_once() {
    if !redis_server::available() {
        return;
    }
    let media = MediaServer::start([
        Behaviour::StallHeaders {
            pause: Duration::from_secs(30),
        },
        Behaviour::serve_with_bearer(&wav(), MEDIA_TOKEN),
    ])
    .await;
    let fleet = Fleet::new(false).await;
    let (mut first, op) = one_job_on_a_first_replica(&fleet, &media, "killed").await;
    assert!(
        wait_until(Duration::from_secs(10), || async {
            media.request_count() == 1
        })
        .await,
        "the first replica started the download"
    );
    first.kill();
    let killed_at = Instant::now();
    let second = fleet.replica("worker", &media, &SHORT_VISIBILITY);
    assert!(
        wait_until(Duration::from_secs(20), || async {
            fleet.callback.deliveries().len() == 1
        })
        .await,
        "the job was finished by the second replica"
    );
    let took = killed_at.elapsed();
    // The claim turns stale 1.5 s after its last renewal; the takeover scan runs every 0.75 s;
    // the second process needs a moment to start.
    assert!(took < Duration::from_secs(6), "taken over after {took:?}");
    assert_taken_over_once(&fleet, &second, &media, &op[0]).await;
}

/// A worker is SIGKILLed after it wrote the result file but while the callback receiver
/// still holds its POST: the job is taken over and run again, and the second run skips the
/// results folder (its delivery was recorded as soon as the file was written) and delivers
/// the callback. One file, no `~2` copy, one callback.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_rerun_after_a_takeover_skips_the_sinks_that_took_its_result() {
    if !redis_server::available() {
        return;
    }
    let media = MediaServer::start([Behaviour::serve_with_bearer(&wav(), MEDIA_TOKEN)]).await;
    let callback = CallbackServer::start_stalling(1, Duration::from_secs(60)).await;
    let fleet = Fleet::with(RedisServer::start(false), callback);
    let (mut first, op) = one_job_on_a_first_replica(&fleet, &media, "rerun").await;
    assert!(
        wait_until(Duration::from_secs(20), || async {
            fleet.callback.attempts() == 1 && fleet.result_files().len() == 1
        })
        .await,
        "the first worker wrote the file and is posting the callback"
    );
    first.kill();
    let second = fleet.replica("worker", &media, &SHORT_VISIBILITY);
    assert!(
        wait_until(Duration::from_secs(20), || async {
            fleet.callback.deliveries().len() == 1
        })
        .await,
        "the second worker delivered the callback"
    );
    assert_eq!(fleet.callback.attempts(), 2);
    assert_taken_over_once(&fleet, &second, &media, &op[0]).await;
}

/// The visibility timeout of the takeover tests: 1.5 s.
const SHORT_VISIBILITY: [&str; 2] = ["--visibility-timeout-ms", "1500"];

/// Starts a replica with [`SHORT_VISIBILITY`] and has it accept one operation `<prefix>-000`.
async fn one_job_on_a_first_replica(
    fleet: &Fleet,
    media: &MediaServer,
    prefix: &str,
) -> (Replica, Vec<String>) {
    let first = fleet.replica("both", media, &SHORT_VISIBILITY);
    let op = ops(prefix, 0..1);
    let (status, _, body) = post(&first, &op, media).await;
    assert_eq!(
        (status, body["accepted"].as_u64()),
        (202, Some(1)),
        "{body}"
    );
    (first, op)
}

/// After a takeover by `second`: one ok result file and one callback for `op`, downloaded
/// once by each worker, one takeover counted, and the entry acknowledged and deleted.
async fn assert_taken_over_once(fleet: &Fleet, second: &Replica, media: &MediaServer, op: &str) {
    // Anything doubled would arrive right after the expected delivery.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let results = fleet.assert_exactly_once(&BTreeSet::from([op.to_owned()]));
    assert_eq!(results[op]["status"], "ok");
    assert_eq!(media.request_count(), 2, "downloaded by each worker once");
    assert_eq!(metric(second, "callscribe_takeovers_total").await, 1.0);
    assert!(
        wait_until(Duration::from_secs(5), || async {
            fleet.backlog() == (0, 0)
        })
        .await,
        "the entry was acknowledged and deleted: {:?}",
        fleet.backlog()
    );
}

/// Redis (append-only file, fsync always) is killed while jobs are queued and restarted 3 s
/// later: meanwhile notifications get 503 with Retry-After and /readyz fails; afterwards the
/// replica resumes by itself, every operation accepted before, during (none) and after the
/// outage gives exactly one result, and the refused ones are accepted when Graph retries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_refuses_new_work_and_loses_none_accepted() {
    if !redis_server::available() {
        return;
    }
    // ~0.3 s per download, one at a time: most of the first batch is still queued in Redis
    // when it goes down.
    let body = wav();
    let media = MediaServer::start([Behaviour::Drip {
        chunk: body.len() / 3 + 1,
        body,
        interval: Duration::from_millis(100),
    }])
    .await;
    let mut fleet = Fleet::new(true).await;
    let replica = fleet.replica(
        "both",
        &media,
        &[
            "--download-concurrency",
            "1",
            "--visibility-timeout-ms",
            "1500",
            "--retry-after",
            "2",
        ],
    );
    let before = ops("before", 0..10);
    let (status, _, body) = post(&replica, &before, &media).await;
    assert_eq!(
        (status, body["accepted"].as_u64()),
        (202, Some(10)),
        "{body}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;

    fleet.redis.stop();
    let refused = ops("during", 0..5);
    for op in &refused {
        let (status, retry_after, body) = post(&replica, std::slice::from_ref(op), &media).await;
        assert_eq!(status, 503, "{body}");
        assert_eq!(retry_after.as_deref(), Some("2"));
        assert_eq!(body["error"]["kind"], "queue_unavailable");
    }
    assert!(
        wait_until(Duration::from_secs(5), || async {
            get(&replica, "/readyz").await.0 == 503
        })
        .await,
        "/readyz fails while Redis is down"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    fleet.redis.start_again();
    assert!(
        wait_until(Duration::from_secs(15), || async {
            get(&replica, "/readyz").await.0 == 200
        })
        .await,
        "/readyz recovers by itself"
    );
    let after = ops("after", 0..10);
    let (status, _, body) = post(&replica, &after, &media).await;
    assert_eq!(
        (status, body["accepted"].as_u64()),
        (202, Some(10)),
        "{body}"
    );
    // Graph's retry of the refused notifications: they were not marked as seen.
    let (status, _, body) = post(&replica, &refused, &media).await;
    assert_eq!(
        (status, body["accepted"].as_u64()),
        (202, Some(5)),
        "{body}"
    );

    let all: BTreeSet<String> = before
        .iter()
        .chain(&after)
        .chain(&refused)
        .cloned()
        .collect();
    let done = wait_until(Duration::from_secs(60), || async {
        fleet.callback.deliveries().len() >= all.len() && fleet.backlog() == (0, 0)
    })
    .await;
    assert!(
        done,
        "{} of {} delivered: {:?}",
        fleet.callback.deliveries().len(),
        all.len(),
        fleet.backlog()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let results = fleet.assert_exactly_once(&all);
    assert!(results.values().all(|r| r["status"] == "ok"), "{results:?}");
    assert!(
        metric(
            &replica,
            "callscribe_notifications_rejected_total{reason=\"queue_unavailable\"}"
        )
        .await
            >= 5.0
    );
}

/// A job older than the retention is not downloaded (`expired`); a job whose workers keep
/// dying is given up after `--max-takeovers` (`worker_lost`); stream entries that cannot be
/// read are acknowledged and dropped (with a failed result when their operation id is
/// readable). The consumer is never stuck: a good job afterwards is processed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_poisonous_and_malformed_jobs_become_typed_failures() {
    if !redis_server::available() {
        return;
    }
    let good = MediaServer::start([Behaviour::serve_with_bearer(&wav(), MEDIA_TOKEN)]).await;
    let stalling = MediaServer::start([Behaviour::StallHeaders {
        pause: Duration::from_secs(30),
    }])
    .await;
    let fleet = Fleet::new(false).await;
    let intake = fleet.replica("intake", &good, &[]);
    // Ready once its first poll reached Redis; no worker needed.
    assert!(
        wait_until(Duration::from_secs(10), || async {
            get(&intake, "/readyz").await.0 == 200
        })
        .await,
        "an intake replica is ready without workers"
    );

    // Expired: queued, and no worker for longer than the 1 s retention.
    let expired = ops("expired", 0..1);
    assert_eq!(post(&intake, &expired, &good).await.0, 202);
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let mut worker = fleet.replica("worker", &good, &["--job-max-age", "1"]);
    assert_eq!(
        get(&worker, "/api/calls").await.0,
        404,
        "a worker has no intake route"
    );
    assert!(
        wait_until(Duration::from_secs(10), || async {
            fleet.callback.deliveries().len() == 1
        })
        .await,
        "expired result delivered"
    );
    assert_eq!(metric(&worker, "callscribe_jobs_expired_total").await, 1.0);
    worker.kill();

    // Poisonous: every worker that runs it is killed while it downloads.
    let poison = ops("poison", 0..1);
    assert_eq!(post(&intake, &poison, &stalling).await.0, 202);
    let flags = ["--visibility-timeout-ms", "1000", "--max-takeovers", "1"];
    for n in 1..=2 {
        let mut victim = fleet.replica("worker", &stalling, &flags);
        assert!(
            wait_until(Duration::from_secs(10), || async {
                stalling.request_count() == n
            })
            .await,
            "worker {n} started the download"
        );
        victim.kill();
    }
    let good_host = good.authority();
    let mut last_flags = flags.to_vec();
    last_flags.extend(["--allow-host", good_host.as_str()]);
    let last = fleet.replica("worker", &stalling, &last_flags);
    assert!(
        wait_until(Duration::from_secs(10), || async {
            fleet.callback.deliveries().len() == 2
        })
        .await,
        "worker_lost result delivered"
    );
    assert_eq!(stalling.request_count(), 2, "not downloaded a third time");

    // Malformed entries, written straight into the stream.
    let added = fleet
        .redis
        .cli(&["XADD", STREAM, "*", "op", "garbled-000", "job", "{not json"]);
    assert!(!added.trim().is_empty(), "XADD");
    fleet.redis.cli(&["XADD", STREAM, "*", "something", "else"]);
    assert!(
        wait_until(Duration::from_secs(10), || async {
            fleet.callback.deliveries().len() == 3
                && metric(&last, "callscribe_stream_malformed_total").await == 1.0
        })
        .await,
        "malformed entries handled"
    );
    let after = ops("after", 0..1);
    assert_eq!(post(&intake, &after, &good).await.0, 202);
    assert!(
        wait_until(Duration::from_secs(10), || async {
            fleet.callback.deliveries().len() == 4 && fleet.backlog() == (0, 0)
        })
        .await,
        "a good job after them is processed and the stream is empty: {:?}",
        fleet.backlog()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let all: BTreeSet<String> = [&expired, &poison, &after]
        .into_iter()
        .flatten()
        .cloned()
        .chain(["garbled-000".to_owned()])
        .collect();
    let results = fleet.assert_exactly_once(&all);
    assert_eq!(kind(&results["expired-000"]), "expired");
    assert_eq!(kind(&results["poison-000"]), "worker_lost");
    assert_eq!(kind(&results["garbled-000"]), "invalid_notification");
    assert_eq!(results["after-000"]["status"], "ok");
    assert_eq!(
        good.request_count(),
        1,
        "only the good job was downloaded from the good server"
    );
}
