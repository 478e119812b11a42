//! Load benchmark of the shared queue: real `callscribe serve` processes and a real
//! `redis-server` on loopback; reported in `BENCHMARKS.md` under "Fleet (shared Redis queue)".
//!
//! Run: `cargo bench --bench fleet_load` (environment: `FLEET_LOAD_RATE` requests/s, default
//! 1000; `FLEET_LOAD_SECS`, default 10). Needs `redis-server` (`scripts/setup.sh`).
//!
//! 1. **Time to 202, open loop**, in-memory vs Redis: one replica; requests sent on a fixed
//!    1 ms schedule whatever the answers do (no coordinated omission), each an RS256-signed
//!    notification with one new operation (one token for all, as Graph sends it: verified once,
//!    then from the verified-token cache). Latency is send → response. The in-memory replica
//!    runs its workers (each job fails at once with `blocked_url`: no download); the Redis
//!    replica is `--role intake` (jobs stay in the stream).
//! 2. **Accepted operations/s, closed loop**, with 1, 2 and 4 `--role intake` replicas on one
//!    Redis: 32 concurrent senders spread round-robin over the replicas for 5 s.
//!
//! Everything (generator, replicas, Redis) shares the machine's cores.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

#[path = "../tests/support/jwt.rs"]
mod jwt;
#[path = "../tests/support/redis_server.rs"]
mod redis_server;
#[path = "../tests/support/replica.rs"]
mod replica;

use redis_server::RedisServer;
use replica::Replica;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn notification(op: &str) -> String {
    json!({
        "value": [{
            "changeType": "deleted",
            "resourceUrl": format!("/communications/calls/bench/operations/{op}"),
            "resourceData": {
                "@odata.type": "#microsoft.graph.recordOperation",
                "@odata.etag": "W/\"1\"",
                "id": op,
                "status": "completed",
                "resultInfo": {"code": 200, "subcode": 8514, "message": "stop tone"},
                // Not on any allow-list: a worker refuses it at once (blocked_url).
                "recordingLocation": "https://media.invalid/r/bench",
                "recordingAccessToken": "bench-token",
            }
        }]
    })
    .to_string()
}

fn replica(jwks: &str, extra: &[&str], redis: Option<&RedisServer>) -> Replica {
    let mut args: Vec<String> = [
        "--listen",
        "127.0.0.1:0",
        "--auth",
        "jwks-file",
        "--jwks-file",
        jwks,
        "--no-transcribe",
        "--queue-capacity",
        "1000000",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let url = redis.map(RedisServer::url).unwrap_or_default();
    let mut env = vec![("CALLSCRIBE_APP_ID", jwt::APP_ID)];
    if redis.is_some() {
        env.push(("CALLSCRIBE_REDIS_URL", url.as_str()));
    }
    Replica::start(&args, &env)
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .no_proxy()
        .pool_max_idle_per_host(256)
        .build()
        .expect("client")
}

/// Waits (at most 15 s) until `/readyz` answers 200.
async fn ready(client: &reqwest::Client, r: &Replica) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Ok(reply) = client.get(r.url("/readyz")).send().await {
            if reply.status().as_u16() == 200 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("replica not ready within 15 s: {}", r.stderr());
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Open loop at `rate`/s for `secs`: (p50 ms, p99 ms, max ms, 202s, others).
async fn open_loop(
    client: &reqwest::Client,
    r: &Replica,
    tag: &str,
    rate: u64,
    secs: u64,
) -> (f64, f64, f64, usize, usize) {
    let url = r.url("/api/calls");
    let token = Arc::new(jwt::valid_token());
    let total = rate * secs;
    let period = Duration::from_nanos(1_000_000_000 / rate.max(1));
    let mut tasks = tokio::task::JoinSet::new();
    let start = tokio::time::Instant::now();
    for i in 0..total {
        tokio::time::sleep_until(start + period * u32::try_from(i).unwrap_or(u32::MAX)).await;
        let (client, url, token) = (client.clone(), url.clone(), Arc::clone(&token));
        let body = notification(&format!("{tag}-{i}"));
        tasks.spawn(async move {
            let sent = Instant::now();
            let status = client
                .post(&url)
                .bearer_auth(token.as_str())
                .body(body)
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0);
            (status, sent.elapsed().as_secs_f64() * 1e3)
        });
    }
    let mut latencies = Vec::with_capacity(total as usize);
    let (mut ok, mut other) = (0, 0);
    while let Some(joined) = tasks.join_next().await {
        let (status, ms) = joined.expect("request task");
        if status == 202 {
            ok += 1;
            latencies.push(ms);
        } else {
            other += 1;
        }
    }
    latencies.sort_by(|a, b| a.total_cmp(b));
    (
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(f64::NAN),
        ok,
        other,
    )
}

/// Closed loop: 32 senders over `replicas` for `secs`; accepted operations per second.
async fn closed_loop(client: &reqwest::Client, replicas: &[Replica], tag: &str, secs: u64) -> f64 {
    let token = Arc::new(jwt::valid_token());
    let accepted = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tasks = tokio::task::JoinSet::new();
    for sender in 0..32usize {
        let url = replicas[sender % replicas.len()].url("/api/calls");
        let (client, token, accepted) = (client.clone(), Arc::clone(&token), Arc::clone(&accepted));
        let tag = format!("{tag}-{sender}");
        tasks.spawn(async move {
            let mut i = 0u64;
            while Instant::now() < deadline {
                let reply = client
                    .post(&url)
                    .bearer_auth(token.as_str())
                    .body(notification(&format!("{tag}-{i}")))
                    .send()
                    .await;
                if reply.is_ok_and(|r| r.status().as_u16() == 202) {
                    accepted.fetch_add(1, Ordering::Relaxed);
                }
                i += 1;
            }
        });
    }
    let started = Instant::now();
    while tasks.join_next().await.is_some() {}
    accepted.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    if !std::process::Command::new("redis-server")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        eprintln!("fleet_load: redis-server is not installed (scripts/setup.sh); skipped");
        return;
    }
    let rate: u64 = env_or("FLEET_LOAD_RATE", 1000);
    let secs: u64 = env_or("FLEET_LOAD_SECS", 10);
    let dir = tempfile::Builder::new()
        .prefix("callscribe-fleet-bench-")
        .tempdir()
        .expect("temp dir");
    let jwks = dir.path().join("jwks.json");
    jwt::write_jwks(&jwks, &[(1, jwt::KID1)]);
    let jwks = jwks.to_string_lossy().into_owned();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let client = client();
        let redis = RedisServer::start(false);

        println!("time to 202, open loop, {rate}/s for {secs} s, one new operation per request:");
        println!("| queue | p50 ms | p99 ms | max ms | 202 | other |");
        println!("|---|---|---|---|---|---|");
        for (name, use_redis) in [("in-memory", false), ("redis", true)] {
            let extra: &[&str] = if use_redis {
                &["--role", "intake"]
            } else {
                &[]
            };
            let r = replica(&jwks, extra, use_redis.then_some(&redis));
            ready(&client, &r).await;
            // Warm-up: connections, the verified-token cache, the script cache.
            let _ = open_loop(&client, &r, &format!("warm-{name}"), 200, 1).await;
            let (p50, p99, max, ok, other) = open_loop(&client, &r, name, rate, secs).await;
            println!("| {name} | {p50:.2} | {p99:.2} | {max:.2} | {ok} | {other} |");
        }
        redis.cli(&["DEL", "callscribe:jobs"]);

        println!("\naccepted operations/s, closed loop, 32 senders, 5 s, --role intake:");
        println!("| intake replicas | accepted ops/s | stream entries after |");
        println!("|---|---|---|");
        for n in [1usize, 2, 4] {
            let replicas: Vec<Replica> = (0..n)
                .map(|_| replica(&jwks, &["--role", "intake"], Some(&redis)))
                .collect();
            for r in &replicas {
                ready(&client, r).await;
            }
            let _ = closed_loop(&client, &replicas, &format!("warm{n}"), 1).await;
            redis.cli(&["DEL", "callscribe:jobs"]);
            let per_s = closed_loop(&client, &replicas, &format!("run{n}"), 5).await;
            // Every 202 must be an entry in the stream (intake replicas run no jobs).
            let entries = redis.xlen("callscribe:jobs");
            println!("| {n} | {per_s:.0} | {entries} |");
            drop(replicas);
            redis.cli(&["DEL", "callscribe:jobs"]);
        }
    });
}
