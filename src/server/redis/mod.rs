//! The shared queue of a `serve` fleet: de-duplication, the job stream and its consumer group
//! in one Redis, so any replica may accept a notification and any replica may run its job.
//!
//! ```text
//!  intake replica                         Redis                          worker replica
//!  ──────────────                         ─────                          ──────────────
//!  admit(POST) ── EVALSHA admit.lua ──▶  <p>:seen:<h>  SET NX PX ttl
//!                 (one atomic script)     <p>:jobs      XADD MAXLEN cap ◀── XREADGROUP / XAUTOCLAIM
//!                                                                           renew: XCLAIM JUSTID
//!                                         <p>:delivered:<sink>:<h> ◀────── after each sink took it
//!                                         <p>:jobs      XACK + XDEL ◀───── once every sink is done
//! ```
//!
//! # Decisions
//!
//! * **Claim and enqueue are one Lua script** (`ADMIT_SCRIPT`). Redis runs a script
//!   atomically, and the script makes every check (which operations were seen, whether the
//!   stream has room for all new ones) before its first write, so a POST is accepted all or
//!   nothing exactly as in memory: a refused POST claims nothing, and no replica can accept an
//!   operation another replica is accepting. The claim is `SET key NX PX ttl` on
//!   `<prefix>:seen:<hash of operation id + etag>`.
//! * **"Cannot reach Redis" is never a 202.** Any error running the script answers `503
//!   queue_unavailable` with `Retry-After`. If the script ran but its reply was lost, Graph's
//!   retry finds the claim and is answered `202` as a duplicate: the job is in the stream,
//!   so nothing is lost.
//! * **The stream is bounded by `queue_capacity`**: the script refuses (`503 queue_full`)
//!   when the entries not yet finished plus the new ones would exceed it; `XADD … MAXLEN cap`
//!   is only the hard backstop (never reached, since the script checked first). Finished
//!   entries are deleted, so the length is the backlog: waiting plus running jobs.
//! * **At-least-once processing, exactly-once delivery per sink.** A job is `XACK`ed and
//!   `XDEL`ed only after every sink got its result. A worker renews its claim every third of
//!   the visibility timeout; a job whose claim is older than that is taken over
//!   (`XAUTOCLAIM`) by another worker, at most `max_takeovers` times, then delivered as
//!   `worker_lost`. A job that runs twice (its worker died after delivering but before the
//!   `XACK`, or while a slow callback was still being retried) is delivered once: each sink's
//!   success is recorded under `<prefix>:delivered:<sink>:<hash>` (for the dedup TTL) as soon
//!   as that sink took the result, and a sink already recorded is skipped. The window left is
//!   a worker dying between a sink taking the result and the marker being written (one round
//!   trip): that sink may get it twice.
//! * **Clocks.** A job's age is "now" minus the millisecond part of its stream id (Redis's
//!   clock when it was added), and "now" is Redis's clock too: every health poll reads `TIME`
//!   and keeps the offset from this machine's clock (error: half the round trip), so a replica
//!   whose clock is off does not expire jobs early or keep them too long. Until the first poll
//!   the offset is 0.
//! * **Health.** One poller per replica (`poll`) reads the stream length and pending count
//!   every second; any failed command marks Redis down at once (so `/readyz` fails) and a
//!   successful poll marks it up again. The connection manager reconnects by itself.
//! * **Not Redis Cluster**: the admit script touches the stream and the claim keys together,
//!   which a cluster allows only within one hash slot. A single primary (with replicas for
//!   failover, as Azure Cache for Redis Basic/Standard/Premium without clustering) is what
//!   this is for.

pub(crate) mod job;
pub(crate) mod worker;

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::streams::{StreamAutoClaimReply, StreamId, StreamPendingCountReply, StreamReadReply};
use ::redis::{RedisError, Script, Value};
use sha2::{Digest as _, Sha256};

use super::config::{RedisConfig, Role};
use super::metrics::{Metrics, Sink};
use super::queue::{Admit, Work};
use super::sink::SinkSet;
use super::ServerError;

/// The consumer group every worker joins.
const GROUP: &str = "workers";

/// How long a worker's `XREADGROUP` waits for a new entry, in ms: also how quickly an idle
/// worker notices shutdown or a due takeover scan.
pub(crate) const READ_BLOCK_MS: u64 = 1000;

/// Polls between two age trims of the stream (one poll a second).
const TRIM_EVERY_POLLS: u64 = 10;

/// Claims, checks and queues one POST's operations atomically.
///
/// KEYS: `[stream, claim keys…]`. ARGV: `[capacity, ttl_ms, n, then per operation: index of
/// its claim key in KEYS (0 = none), operation id, job JSON]`. Returns `{queued, duplicates}`,
/// or `{-1, d}` when the stream has no room for all, `{-2, d}` when they could never fit.
/// Every check comes before the first write, so a refusal writes nothing.
const ADMIT_SCRIPT: &str = r"
local cap = tonumber(ARGV[1])
local n = tonumber(ARGV[3])
local fresh = {}
local seen = {}
local dup = 0
for i = 0, n - 1 do
  local k = tonumber(ARGV[4 + i * 3])
  local is_dup = false
  if k > 0 then
    local key = KEYS[k]
    if seen[key] or redis.call('EXISTS', key) == 1 then
      is_dup = true
    else
      seen[key] = true
    end
  end
  if is_dup then dup = dup + 1 else table.insert(fresh, i) end
end
if #fresh == 0 then return {0, dup} end
if #fresh > cap then return {-2, dup} end
if redis.call('XLEN', KEYS[1]) + #fresh > cap then return {-1, dup} end
for _, i in ipairs(fresh) do
  local k = tonumber(ARGV[4 + i * 3])
  if k > 0 then redis.call('SET', KEYS[k], '1', 'NX', 'PX', ARGV[2]) end
  redis.call('XADD', KEYS[1], 'MAXLEN', cap, '*', 'op', ARGV[5 + i * 3], 'job', ARGV[6 + i * 3])
end
return {#fresh, dup}
";

/// Why the shared queue could not be set up.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RedisSetupError {
    /// The URL was refused by the client (never quoted: it may hold a password).
    #[error("the Redis URL is not usable ({0:?})")]
    Url(::redis::ErrorKind),
    /// The CA file of `rediss://` could not be read or holds no certificate.
    #[error("redis.ca_file {path}: {reason}")]
    CaFile { path: String, reason: String },
}

impl From<RedisSetupError> for ServerError {
    fn from(e: RedisSetupError) -> Self {
        ServerError::Config(e.to_string())
    }
}

/// A CA bundle is a few kB; anything past this is not one.
const MAX_CA_FILE_BYTES: u64 = 1 << 20;

/// The PEM certificates of `redis.ca_file`, checked here so that a wrong file stops the
/// start-up with its own message (the client would only say "invalid client config").
fn read_ca_file(path: &std::path::Path) -> Result<Vec<u8>, RedisSetupError> {
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    use std::io::Read;

    let fail = |reason: String| RedisSetupError::CaFile {
        path: path.display().to_string(),
        reason,
    };
    let mut pem = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_CA_FILE_BYTES + 1).read_to_end(&mut pem))
        .map_err(|e| fail(e.to_string()))?;
    if pem.len() as u64 > MAX_CA_FILE_BYTES {
        return Err(fail(format!("larger than {MAX_CA_FILE_BYTES} bytes")));
    }
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(format!("not PEM: {e}")))?;
    if certs.is_empty() {
        return Err(fail("no CERTIFICATE block".into()));
    }
    Ok(pem)
}

/// One stream entry handed to a worker.
pub(crate) struct Entry {
    /// The stream id, `<ms>-<seq>`.
    pub(crate) id: String,
    /// The `op` field, when present and UTF-8.
    pub(crate) op: Option<String>,
    /// The `job` field, when present.
    pub(crate) job: Option<Vec<u8>>,
    /// How often it has been delivered to a worker, this time included (1 = first run).
    pub(crate) deliveries: u64,
}

impl Entry {
    fn from_stream(id: StreamId, deliveries: u64) -> Self {
        let bytes = |field: &str| match id.map.get(field) {
            Some(Value::BulkString(b)) => Some(b.clone()),
            Some(Value::SimpleString(s)) => Some(s.clone().into_bytes()),
            _ => None,
        };
        let op = bytes(job::FIELD_OP).and_then(|b| String::from_utf8(b).ok());
        let job = bytes(job::FIELD_JOB);
        Self {
            id: id.id,
            op,
            job,
            deliveries,
        }
    }

    /// When the entry was added, in ms since the epoch (Redis's clock), from its id.
    pub(crate) fn added_ms(&self) -> Option<u64> {
        self.id.split('-').next()?.parse().ok()
    }
}

/// The shared queue: connections, key names, the admit script and the health state.
pub(crate) struct RedisQueue {
    /// Short commands: admit, acknowledge, claims, markers, polls.
    conn: ConnectionManager,
    /// Only the blocking `XREADGROUP`: on the multiplexed connection above it would hold
    /// every other command up for the block time.
    blocking: ConnectionManager,
    stream: String,
    prefix: String,
    consumer: String,
    capacity: usize,
    dedup_ttl_ms: u64,
    pub(crate) config: RedisConfig,
    admit: Script,
    up: AtomicBool,
    /// Whether the current outage has been logged.
    down_logged: AtomicBool,
    /// Redis's clock minus this machine's, in ms, at the last poll.
    clock_offset_ms: AtomicI64,
    stream_len: AtomicU64,
    pending: AtomicU64,
    /// Where the redacted URL goes in logs.
    redacted_url: String,
}

impl RedisQueue {
    /// Connects lazily (the service starts, unready, while Redis is unreachable).
    pub(crate) fn new(
        config: &RedisConfig,
        capacity: usize,
        dedup_ttl_s: u64,
    ) -> Result<Self, RedisSetupError> {
        let Some(url) = &config.url else {
            return Err(RedisSetupError::Url(
                ::redis::ErrorKind::InvalidClientConfig,
            ));
        };
        // `rediss://` uses rustls with the process's default provider; the service's other
        // clients pass ring explicitly, so make it the default (a no-op if one is set).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = match &config.ca_file {
            None => ::redis::Client::open(url.expose()),
            Some(path) => {
                let certs = ::redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(read_ca_file(path)?),
                };
                ::redis::Client::build_with_tls(url.expose(), certs)
            }
        }
        .map_err(|e| RedisSetupError::Url(e.kind()))?;
        let timeout = Duration::from_millis(config.command_timeout_ms);
        let manager = |response: Duration| {
            let cfg = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(timeout))
                .set_response_timeout(Some(response))
                // Reconnection is retried a few times per failed command; the poller and
                // the worker loop add their own back-off on top.
                .set_number_of_retries(2)
                .set_max_delay(Duration::from_millis(500));
            client
                .get_connection_manager_lazy(cfg)
                .map_err(|e| RedisSetupError::Url(e.kind()))
        };
        let conn = manager(timeout)?;
        let blocking = manager(timeout + Duration::from_millis(READ_BLOCK_MS))?;
        let prefix = config.key_prefix.clone();
        Ok(Self {
            conn,
            blocking,
            stream: format!("{prefix}:jobs"),
            prefix,
            consumer: consumer_name(),
            capacity,
            dedup_ttl_ms: dedup_ttl_s.saturating_mul(1000).max(1),
            config: config.clone(),
            admit: Script::new(ADMIT_SCRIPT),
            up: AtomicBool::new(false),
            down_logged: AtomicBool::new(false),
            clock_offset_ms: AtomicI64::new(0),
            stream_len: AtomicU64::new(0),
            pending: AtomicU64::new(0),
            redacted_url: url.redacted(),
        })
    }

    /// This replica's consumer name in the group.
    pub(crate) fn consumer(&self) -> &str {
        &self.consumer
    }

    pub(crate) fn role(&self) -> Role {
        self.config.role
    }

    /// Whether the last command (or poll) reached Redis.
    pub(crate) fn is_up(&self) -> bool {
        self.up.load(Ordering::Acquire)
    }

    /// Entries in the stream at the last poll: waiting plus running jobs.
    pub(crate) fn depth(&self) -> usize {
        usize::try_from(self.stream_len.load(Ordering::Relaxed)).unwrap_or(usize::MAX)
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Redis's clock now, in ms since the epoch: this machine's clock corrected by the offset
    /// measured at the last poll. Stream ids carry Redis's clock, so job ages use this.
    pub(crate) fn now_ms(&self) -> u64 {
        let offset = self.clock_offset_ms.load(Ordering::Relaxed);
        local_now_ms().saturating_add_signed(offset)
    }

    /// Records a failed command: Redis counts as down until the next successful poll.
    pub(crate) fn mark_down(&self, what: &str, e: &RedisError) {
        self.up.store(false, Ordering::Release);
        if !self.down_logged.swap(true, Ordering::AcqRel) {
            // Logged once per outage (and for a Redis never reached since start-up, e.g. a
            // certificate it does not trust): a down Redis would otherwise log every poll.
            tracing::warn!(redis = %self.redacted_url, "redis unreachable ({what}): {e}");
        } else {
            tracing::debug!("redis command failed ({what}): {e}");
        }
    }

    fn mark_up(&self) {
        self.down_logged.store(false, Ordering::Release);
        if !self.up.swap(true, Ordering::AcqRel) {
            tracing::info!(redis = %self.redacted_url, consumer = %self.consumer, "redis reachable");
        }
    }

    /// `<prefix>:<what>:<hex SHA-256 of key, 128 bits>`: printable, bounded key names,
    /// whatever the operation id holds.
    fn hashed_key(&self, what: &str, key: &str) -> String {
        let digest = Sha256::digest(key.as_bytes());
        let mut out = format!("{}:{what}:", self.prefix);
        for byte in &digest[..16] {
            let _ = std::fmt::Write::write_fmt(&mut out, format_args!("{byte:02x}"));
        }
        out
    }

    /// Claims and queues every new operation of one POST, or none (see the module docs).
    pub(crate) async fn admit(&self, works: Vec<Work>) -> Admit {
        if works.is_empty() {
            return Admit::Accepted {
                queued: 0,
                duplicates: 0,
            };
        }
        let mut invocation = self.admit.prepare_invoke();
        invocation.key(&self.stream);
        invocation
            .arg(self.capacity)
            .arg(self.dedup_ttl_ms)
            .arg(works.len());
        let mut keys = 1;
        for work in &works {
            let index = match work.dedup_key() {
                Some(key) => {
                    invocation.key(self.hashed_key("seen", &key));
                    keys += 1;
                    keys
                }
                None => 0,
            };
            let json = job::encode(work);
            invocation
                .arg(index)
                .arg(work.operation_id())
                .arg(json.as_str());
        }
        let mut conn = self.conn.clone();
        match invocation.invoke_async::<(i64, i64)>(&mut conn).await {
            Ok((queued, duplicates)) => {
                self.mark_up();
                let duplicates = usize::try_from(duplicates).unwrap_or(0);
                match queued {
                    -1 => Admit::Full,
                    -2 => Admit::TooMany,
                    n => {
                        let queued = usize::try_from(n).unwrap_or(0);
                        self.stream_len.fetch_add(queued as u64, Ordering::Relaxed);
                        Admit::Accepted { queued, duplicates }
                    }
                }
            }
            Err(e) => {
                self.mark_down("admit", &e);
                Admit::Unavailable
            }
        }
    }

    /// Creates the stream and the consumer group if they do not exist yet.
    pub(crate) async fn ensure_group(&self) -> Result<(), RedisError> {
        let mut conn = self.conn.clone();
        let created: Result<(), RedisError> = ::redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&self.stream)
            .arg(GROUP)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut conn)
            .await;
        match created {
            Err(e) if e.code() != Some("BUSYGROUP") => Err(e),
            _ => Ok(()),
        }
    }

    /// The next entry no worker of the group has seen, waiting up to [`READ_BLOCK_MS`].
    pub(crate) async fn read_new(&self) -> Result<Option<Entry>, RedisError> {
        let mut conn = self.blocking.clone();
        let reply: Result<Option<StreamReadReply>, RedisError> = ::redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(GROUP)
            .arg(&self.consumer)
            .arg("COUNT")
            .arg(1)
            .arg("BLOCK")
            .arg(READ_BLOCK_MS)
            .arg("STREAMS")
            .arg(&self.stream)
            .arg(">")
            .query_async(&mut conn)
            .await;
        let reply = match reply {
            Ok(reply) => reply,
            Err(e) if e.code() == Some("NOGROUP") => {
                // Redis restarted without persistence (or the key was deleted): start over.
                self.ensure_group().await?;
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        Ok(reply
            .and_then(|r| r.keys.into_iter().next())
            .and_then(|k| k.ids.into_iter().next())
            .map(|id| Entry::from_stream(id, 1)))
    }

    /// Takes over one entry whose claim is older than the visibility timeout, scanning the
    /// pending list from `cursor`. Returns the next cursor (`0-0` after a full pass), the
    /// entry with its delivery count, and how many pending entries had been trimmed away.
    pub(crate) async fn take_over(
        &self,
        cursor: &str,
    ) -> Result<(String, Option<Entry>, usize), RedisError> {
        let mut conn = self.conn.clone();
        let reply: StreamAutoClaimReply = ::redis::cmd("XAUTOCLAIM")
            .arg(&self.stream)
            .arg(GROUP)
            .arg(&self.consumer)
            .arg(self.config.visibility_timeout_ms)
            .arg(cursor)
            .arg("COUNT")
            .arg(1)
            .query_async(&mut conn)
            .await?;
        let trimmed = reply.deleted_ids.len();
        let Some(id) = reply.claimed.into_iter().next() else {
            return Ok((reply.next_stream_id, None, trimmed));
        };
        let pending: StreamPendingCountReply = ::redis::cmd("XPENDING")
            .arg(&self.stream)
            .arg(GROUP)
            .arg(&id.id)
            .arg(&id.id)
            .arg(1)
            .query_async(&mut conn)
            .await?;
        // XAUTOCLAIM counted this delivery; missing means it was acknowledged meanwhile,
        // which the worker finds out when it acknowledges again (harmless).
        let deliveries = pending.ids.first().map_or(2, |p| p.times_delivered as u64);
        Ok((
            reply.next_stream_id,
            Some(Entry::from_stream(id, deliveries)),
            trimmed,
        ))
    }

    /// Renews this worker's claim on `id` (resets its idle time without counting a
    /// delivery), so a long job is not taken over while it runs.
    pub(crate) async fn renew(&self, id: &str) -> Result<(), RedisError> {
        let mut conn = self.conn.clone();
        ::redis::cmd("XCLAIM")
            .arg(&self.stream)
            .arg(GROUP)
            .arg(&self.consumer)
            .arg(0)
            .arg(id)
            .arg("JUSTID")
            .query_async::<Value>(&mut conn)
            .await
            .map(drop)
    }

    /// Records the sinks in `delivered` under `key` (see [`RedisQueue::delivered`]), then
    /// acknowledges and deletes the entry, in one `MULTI`: the token leaves Redis, and a
    /// takeover can never find the entry without finding the delivery records too.
    pub(crate) async fn finish(
        &self,
        id: &str,
        key: &str,
        delivered: SinkSet,
    ) -> Result<(), RedisError> {
        let mut conn = self.conn.clone();
        let mut pipe = ::redis::pipe();
        pipe.atomic();
        // Each sink recorded its delivery when it took the result (`record_delivered`); written
        // again here, idempotently, in case that write failed.
        for sink in Sink::ALL.into_iter().filter(|s| delivered.contains(*s)) {
            pipe.add_command(self.delivered_marker(sink, key)).ignore();
        }
        pipe.cmd("XACK")
            .arg(&self.stream)
            .arg(GROUP)
            .arg(id)
            .ignore()
            .cmd("XDEL")
            .arg(&self.stream)
            .arg(id)
            .ignore()
            .query_async::<()>(&mut conn)
            .await?;
        let _ = self
            .stream_len
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_sub(1))
            });
        Ok(())
    }

    /// Records that `sink` took the result delivered under `key`.
    pub(crate) async fn record_delivered(&self, key: &str, sink: Sink) -> Result<(), RedisError> {
        let mut conn = self.conn.clone();
        self.delivered_marker(sink, key)
            .query_async(&mut conn)
            .await
    }

    /// `SET <prefix>:delivered:<sink>:<hash> 1 PX <dedup TTL>`.
    fn delivered_marker(&self, sink: Sink, key: &str) -> ::redis::Cmd {
        let mut set = ::redis::cmd("SET");
        set.arg(self.delivered_key(sink, key))
            .arg(1)
            .arg("PX")
            .arg(self.dedup_ttl_ms);
        set
    }

    fn delivered_key(&self, sink: Sink, key: &str) -> String {
        self.hashed_key(&format!("delivered:{}", sink.as_str()), key)
    }

    /// Which sinks already took the result delivered under `key`.
    pub(crate) async fn delivered(&self, key: &str) -> Result<SinkSet, RedisError> {
        let mut conn = self.conn.clone();
        let mut command = ::redis::cmd("MGET");
        for sink in Sink::ALL {
            command.arg(self.delivered_key(sink, key));
        }
        let found: Vec<Option<String>> = command.query_async(&mut conn).await?;
        let mut set = SinkSet::EMPTY;
        for (sink, value) in Sink::ALL.into_iter().zip(found) {
            if value.is_some() {
                set.insert(sink);
            }
        }
        Ok(set)
    }

    /// One health poll: stream length, pending entries, and every [`TRIM_EVERY_POLLS`]th
    /// time the age trim. Updates the health state and the stream gauges.
    async fn poll_once(&self, n: u64, metrics: &Metrics) -> Result<(), RedisError> {
        self.ensure_group().await?;
        let mut conn = self.conn.clone();
        let sent = local_now_ms();
        let ((secs, micros), len, pending): ((u64, u64), u64, Value) = ::redis::pipe()
            .cmd("TIME")
            .cmd("XLEN")
            .arg(&self.stream)
            .cmd("XPENDING")
            .arg(&self.stream)
            .arg(GROUP)
            .query_async(&mut conn)
            .await?;
        let received = local_now_ms();
        let redis_ms = secs.saturating_mul(1000).saturating_add(micros / 1000);
        self.clock_offset_ms
            .store(clock_offset(redis_ms, sent, received), Ordering::Relaxed);
        // The summary form of XPENDING: [count, smallest id, greatest id, consumers].
        let pending = match pending {
            Value::Array(items) => match items.first() {
                Some(Value::Int(n)) => u64::try_from(*n).unwrap_or(0),
                _ => 0,
            },
            _ => 0,
        };
        if n % TRIM_EVERY_POLLS == 0 {
            let min_ms = self
                .now_ms()
                .saturating_sub(self.config.entry_ttl_s.saturating_mul(1000));
            let trimmed: u64 = ::redis::cmd("XTRIM")
                .arg(&self.stream)
                .arg("MINID")
                .arg(min_ms)
                .query_async(&mut conn)
                .await?;
            if trimmed > 0 {
                tracing::warn!(
                    trimmed,
                    "stream entries older than redis.entry_ttl_s were trimmed unprocessed \
                     (no worker took them)"
                );
                if let Some(stream) = &metrics.stream {
                    stream.trimmed.inc_by(trimmed);
                }
            }
        }
        self.stream_len.store(len, Ordering::Relaxed);
        self.pending.store(pending, Ordering::Relaxed);
        if let Some(stream) = &metrics.stream {
            stream.length.set(i64::try_from(len).unwrap_or(i64::MAX));
            stream
                .pending
                .set(i64::try_from(pending).unwrap_or(i64::MAX));
        }
        Ok(())
    }

    /// Polls once a second until the task is aborted.
    pub(crate) async fn poll(&self, metrics: &Metrics) {
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut n = 0u64;
        loop {
            ticker.tick().await;
            match self.poll_once(n, metrics).await {
                Ok(()) => self.mark_up(),
                Err(e) => self.mark_down("poll", &e),
            }
            if let Some(stream) = &metrics.stream {
                stream.up.set(i64::from(self.is_up()));
            }
            n += 1;
        }
    }
}

/// Redis's clock (read at some point between `sent` and `received`, this machine's clock)
/// minus this machine's, taking the midpoint of the round trip.
fn clock_offset(redis_ms: u64, sent: u64, received: u64) -> i64 {
    let local = sent / 2 + received / 2;
    let diff = i128::from(redis_ms) - i128::from(local);
    i64::try_from(diff).unwrap_or(if diff < 0 { i64::MIN } else { i64::MAX })
}

/// Milliseconds since the epoch, by this machine's clock.
fn local_now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `<host>-<pid>-<random>`: unique per process, readable in `XINFO CONSUMERS`.
fn consumer_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_owned());
    format!(
        "{host}-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_offset_is_taken_at_the_round_trips_midpoint() {
        assert_eq!(clock_offset(1_000_000, 1_000_000, 1_000_000), 0);
        // Redis 5 s ahead, answered within a 10 ms round trip.
        assert_eq!(clock_offset(1_005_005, 1_000_000, 1_000_010), 5000);
        // Redis 2 s behind.
        assert_eq!(clock_offset(998_000, 1_000_000, 1_000_000), -2000);
        assert_eq!(clock_offset(0, u64::MAX, u64::MAX), i64::MIN);
    }

    #[test]
    fn a_ca_file_must_hold_a_certificate() {
        let dir = tempfile::tempdir().expect("temp dir");
        let missing = dir.path().join("missing.pem");
        let err = read_ca_file(&missing).expect_err("missing").to_string();
        assert!(err.contains("missing.pem"), "{err}");

        let key_only = dir.path().join("key.pem");
        std::fs::write(
            &key_only,
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        )
        .expect("write");
        let err = read_ca_file(&key_only).expect_err("no cert").to_string();
        assert!(err.contains("no CERTIFICATE"), "{err}");

        let big = dir.path().join("big.pem");
        std::fs::write(&big, vec![b'A'; (MAX_CA_FILE_BYTES + 1) as usize]).expect("write");
        let err = read_ca_file(&big).expect_err("too big").to_string();
        assert!(err.contains("larger than"), "{err}");
    }
}
