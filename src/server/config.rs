//! Configuration of the webhook service: one serde tree, also the shape of the TOML file.
//!
//! Every field documents its default. The binary's `ServeArgs` (`src/cli/serve.rs`) overlays
//! flags and `CALLSCRIBE_*` variables on this tree after reading the optional file.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};
use url::Url;

use super::auth::AuthMode;
use super::ServerError;
use crate::notification;
use crate::processor::ProcessorConfig;

/// Microsoft's OpenID configuration for tokens sent to calling bots.
pub const DEFAULT_OPENID_URL: &str = "https://api.aps.skype.com/v1/.well-known/OpenIdConfiguration";

/// The issuers of the tokens Graph's calling platform signs.
pub const DEFAULT_ISSUERS: [&str; 2] = [
    "https://api.botframework.com",
    "https://graph.microsoft.com",
];

/// Everything `callscribe serve` needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on. Default: `127.0.0.1:8080` (put a TLS-terminating proxy in front;
    /// use `0.0.0.0:8080` in a container).
    pub listen: SocketAddr,
    /// Path of the notification endpoint. Default: `/api/calls`.
    pub path: String,
    /// Largest notification body accepted, in bytes; larger ones get `413 too_large`. At most
    /// [`notification::MAX_BODY_BYTES`] (4 MiB), the parser's own cap. Default: 1048576
    /// (1 MiB).
    pub body_limit_bytes: usize,
    /// Jobs that may wait in the queue; beyond it notifications get 503. Default: 256.
    pub queue_capacity: usize,
    /// Jobs processed at once (download, then the CPU stages, which are further limited to
    /// `processor.cpu_jobs`). Default: 8.
    pub download_concurrency: usize,
    /// How long an operation id (+ etag) is remembered to drop redeliveries, in seconds.
    /// Default: 3600 (1 h).
    pub dedup_ttl_s: u64,
    /// Most operation ids remembered; the oldest are forgotten first. Default: 100000.
    pub dedup_capacity: usize,
    /// `Retry-After` sent with every 503, in seconds. Default: 5.
    pub retry_after_s: u64,
    /// Time to finish queued and running jobs after SIGTERM/Ctrl-C, in seconds. Default: 25
    /// (below Kubernetes' default 30 s termination grace period).
    pub shutdown_grace_s: u64,
    /// Time a client has to send a complete request head, in ms, counted from when the
    /// connection opens or the previous answer was sent; then the connection is closed. This
    /// also closes idle keep-alive connections. Default: 10000 (10 s: Graph sends a whole
    /// request at once).
    pub header_timeout_ms: u64,
    /// A connection on which no byte is read or written for this long is closed, in ms (a
    /// stalled request body, a client that does not read the answer). Default: 60000 (60 s).
    pub idle_timeout_ms: u64,
    /// HTTP connections open at once; further clients wait in the listen backlog until one
    /// closes. Lowered at start-up to the open-file limit less 256 descriptors kept for the
    /// rest of the service. Default: 4096.
    pub max_connections: usize,
    /// Authentication of inbound requests.
    pub auth: AuthConfig,
    /// Where results go.
    pub sinks: SinkConfig,
    /// Download policy, pipeline and CPU parallelism (see [`ProcessorConfig`]).
    pub processor: ProcessorConfig,
    /// A shared queue and de-duplication in Redis, for a fleet of replicas (see
    /// [`RedisConfig`]). Default: off (in-process queue and de-duplication).
    pub redis: RedisConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            path: "/api/calls".to_owned(),
            body_limit_bytes: 1024 * 1024,
            queue_capacity: 256,
            download_concurrency: 8,
            dedup_ttl_s: 3600,
            dedup_capacity: 100_000,
            retry_after_s: 5,
            shutdown_grace_s: 25,
            header_timeout_ms: 10_000,
            idle_timeout_ms: 60_000,
            max_connections: 4096,
            auth: AuthConfig::default(),
            sinks: SinkConfig::default(),
            processor: ProcessorConfig::default(),
            redis: RedisConfig::default(),
        }
    }
}

/// What a replica does when it shares a Redis with others (`--role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Answers notifications and queues their operations; runs no jobs.
    Intake,
    /// Runs queued jobs; serves only `/healthz`, `/readyz` and `/metrics`.
    Worker,
    /// Both (the only role without Redis).
    Both,
}

impl Role {
    /// Every role's name, as in the configuration file and `--role`.
    pub const NAMES: [&'static str; 3] = ["intake", "worker", "both"];

    /// Whether this replica answers notifications.
    pub fn intake(self) -> bool {
        matches!(self, Self::Intake | Self::Both)
    }

    /// Whether this replica runs jobs.
    pub fn worker(self) -> bool {
        matches!(self, Self::Worker | Self::Both)
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        match name {
            "intake" => Ok(Self::Intake),
            "worker" => Ok(Self::Worker),
            "both" => Ok(Self::Both),
            _ => Err(format!(
                "unknown role {name:?} (expected intake, worker or both)"
            )),
        }
    }
}

/// The Redis connection URL: `redis://[:PASSWORD@]HOST[:PORT][/DB]` or `rediss://…` (TLS).
///
/// It may carry a password, so it is held like a secret: zeroized on drop, and its `Debug`
/// (and [`RedisUrl::redacted`], used in logs) show only `scheme://host:port/db`.
#[derive(Clone)]
pub struct RedisUrl(SecretValue);

impl RedisUrl {
    /// Wraps a URL string; checked by [`ServerConfig::validate`].
    pub fn new(url: impl Into<String>) -> Self {
        Self(SecretValue::new(url))
    }

    /// The URL itself, for connecting: never log it.
    pub(crate) fn expose(&self) -> &str {
        self.0.expose()
    }

    /// `scheme://host:port/db`, without user name or password; `redis://?` when the URL
    /// does not parse (the text itself is never echoed: it may be a mistyped password).
    pub fn redacted(&self) -> String {
        match Url::parse(self.expose()) {
            Ok(url) => {
                let host = url.host_str().unwrap_or("");
                let port = url.port().unwrap_or(6379);
                format!("{}://{host}:{port}{}", url.scheme(), url.path())
            }
            Err(_) => "redis://?".to_owned(),
        }
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedisUrl({})", self.redacted())
    }
}

impl std::str::FromStr for RedisUrl {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::new(s))
    }
}

impl<'de> Deserialize<'de> for RedisUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

/// The shared queue and de-duplication of a fleet (`[redis]` in the TOML file).
///
/// With a URL, operations are claimed with `SET NX PX` and queued on a Redis Stream read by a
/// consumer group, so any replica may take a notification and any replica may run its job;
/// see `src/server/redis/mod.rs` and the README's "Running a fleet". Without one, every
/// setting here but `role` (which must stay `both`) is ignored.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisConfig {
    /// `redis://…` or `rediss://…` (TLS); a password goes in the URL. Prefer the variable
    /// `CALLSCRIBE_REDIS_URL` to the flag: flags show in the process list. Default: none.
    pub url: Option<RedisUrl>,
    /// `intake`, `worker` or `both`. Default: `both`.
    pub role: Role,
    /// Prefix of every key this service writes (`<prefix>:jobs`, `<prefix>:seen:…`,
    /// `<prefix>:delivered:…`), so several services can share one Redis. Default:
    /// `callscribe`.
    pub key_prefix: String,
    /// A job whose worker has not renewed its claim for this long is taken over by another
    /// worker, in ms. A running job renews its claim every third of this. Default: 30000.
    pub visibility_timeout_ms: u64,
    /// How many times a job may be taken over from a worker that died (or stopped renewing);
    /// the next time it becomes a failed result `worker_lost` instead of running again.
    /// Default: 2.
    pub max_takeovers: u32,
    /// Jobs accepted longer ago than this are not downloaded (Graph keeps a recording only a
    /// few minutes after the call) and become a failed result `expired`, in seconds.
    /// Default: 300.
    pub job_max_age_s: u64,
    /// Stream entries older than this are trimmed even if no worker took them (no replica
    /// with the worker role ran meanwhile), in seconds: the longest a recording token can
    /// stay in Redis. Default: 3600.
    pub entry_ttl_s: u64,
    /// Timeout of one Redis command (and of connecting), in ms. Default: 2000.
    pub command_timeout_ms: u64,
    /// PEM file of the certificate authorities trusted for `rediss://` (a private CA, or a
    /// self-signed server certificate), instead of the system's roots. Read once at start-up.
    /// Default: none (the system's roots, as for Azure Cache for Redis).
    pub ca_file: Option<PathBuf>,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            url: None,
            role: Role::Both,
            key_prefix: "callscribe".to_owned(),
            visibility_timeout_ms: 30_000,
            max_takeovers: 2,
            job_max_age_s: 300,
            entry_ttl_s: 3600,
            command_timeout_ms: 2000,
            ca_file: None,
        }
    }
}

/// How inbound requests are authenticated.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// `openid`, `jwks-file` or `none`. Default: `openid`.
    pub mode: AuthMode,
    /// The bot's Microsoft app id: the required `aud` of every token. Required unless `mode`
    /// is `none`. Default: none.
    pub app_id: Option<String>,
    /// OpenID configuration whose `jwks_uri` lists the signing keys (mode `openid`; https
    /// only). Default: [`DEFAULT_OPENID_URL`].
    pub openid_url: String,
    /// A local JWKS file with the signing keys (mode `jwks-file`). Default: none.
    pub jwks_file: Option<PathBuf>,
    /// Accepted `iss` values. Default: [`DEFAULT_ISSUERS`].
    pub issuers: Vec<String>,
    /// If non-empty, the only tenant ids (`tid`) accepted; others get 403. A `tid` claim is
    /// required either way. Default: `[]`.
    pub allowed_tenants: Vec<String>,
    /// Clock skew allowed for `exp` and `nbf`, in seconds. Default: 30.
    pub leeway_s: u64,
    /// Period of the signing-key refresh, in seconds (Microsoft's samples use 2 h).
    /// Default: 7200.
    pub refresh_interval_s: u64,
    /// Shortest time between two refreshes caused by tokens with an unknown `kid`, in
    /// seconds, so forged `kid`s cannot make us hammer the key endpoint. Default: 60.
    pub min_refresh_interval_s: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            mode: AuthMode::OpenId,
            app_id: None,
            openid_url: DEFAULT_OPENID_URL.to_owned(),
            jwks_file: None,
            issuers: DEFAULT_ISSUERS.iter().map(|s| (*s).to_owned()).collect(),
            allowed_tenants: Vec::new(),
            leeway_s: 30,
            refresh_interval_s: 7200,
            min_refresh_interval_s: 60,
        }
    }
}

/// Where results are delivered. Several sinks may be active at once.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SinkConfig {
    /// JSON Lines on standard output. Default: on when no other sink is configured.
    pub stdout: Option<bool>,
    /// One `<operation_id>.json` per result in this folder, written atomically (results
    /// only: media is never written). Default: none.
    pub results_dir: Option<PathBuf>,
    /// POST each result to a URL. Default: none.
    pub callback: Option<CallbackConfig>,
}

impl SinkConfig {
    /// Whether results go to stdout once the default is applied.
    pub fn stdout_enabled(&self) -> bool {
        self.stdout
            .unwrap_or(self.results_dir.is_none() && self.callback.is_none())
    }
}

/// The signed result callback.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallbackConfig {
    /// Where to POST (`https://…`; `http://` is allowed for local bots and logged as a
    /// warning for other hosts).
    pub url: Url,
    /// Shared secret of the `X-Callscribe-Signature` HMAC-SHA256. Required.
    pub secret: SecretValue,
    /// Retries after the first attempt, for connection errors, 408, 429 and 5xx.
    /// Default: 5.
    #[serde(default = "default_callback_retries")]
    pub max_retries: u32,
    /// Back-off before the first retry, doubling per retry, with jitter, in ms.
    /// Default: 500.
    #[serde(default = "default_callback_backoff_ms")]
    pub backoff_base_ms: u64,
    /// Upper bound of the back-off, in ms. Default: 30000.
    #[serde(default = "default_callback_backoff_max_ms")]
    pub backoff_max_ms: u64,
    /// Timeout of one attempt, in ms. Default: 10000.
    #[serde(default = "default_callback_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_callback_retries() -> u32 {
    5
}
fn default_callback_backoff_ms() -> u64 {
    500
}
fn default_callback_backoff_max_ms() -> u64 {
    30_000
}
fn default_callback_timeout_ms() -> u64 {
    10_000
}

impl CallbackConfig {
    /// A callback to `url` signed with `secret`, other settings at their defaults.
    pub fn new(url: Url, secret: impl Into<String>) -> Self {
        Self {
            url,
            secret: SecretValue::new(secret),
            max_retries: default_callback_retries(),
            backoff_base_ms: default_callback_backoff_ms(),
            backoff_max_ms: default_callback_backoff_max_ms(),
            timeout_ms: default_callback_timeout_ms(),
        }
    }
}

/// A secret setting: zeroized on drop, `[REDACTED]` in `Debug`.
#[derive(Clone)]
pub struct SecretValue(SecretString);

impl SecretValue {
    /// Wraps a secret string.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(SecretString::from(secret.into()))
    }

    /// The secret itself, for signing (secrecy's explicit `expose_secret` pattern): never log it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl<'de> Deserialize<'de> for SecretValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

impl ServerConfig {
    /// Checks the settings that would otherwise fail later or silently misbehave.
    ///
    /// # Errors
    ///
    /// [`ServerError::Config`] naming the setting.
    pub fn validate(&self) -> Result<(), ServerError> {
        let bad = |msg: String| Err(ServerError::Config(msg));
        if !self.path.starts_with('/') || self.path.contains(['{', '}', '*', '?', '#']) {
            return bad(format!(
                "path {:?} must start with `/` and be a literal path",
                self.path
            ));
        }
        if ["/healthz", "/readyz", "/metrics"].contains(&self.path.as_str()) {
            return bad(format!(
                "path {} is taken by a built-in endpoint",
                self.path
            ));
        }
        for (name, value) in [
            ("body_limit_bytes", self.body_limit_bytes as u64),
            ("queue_capacity", self.queue_capacity as u64),
            ("download_concurrency", self.download_concurrency as u64),
            ("dedup_capacity", self.dedup_capacity as u64),
            ("max_connections", self.max_connections as u64),
            ("header_timeout_ms", self.header_timeout_ms),
            ("idle_timeout_ms", self.idle_timeout_ms),
        ] {
            if value == 0 {
                return bad(format!("{name} must be greater than 0"));
            }
        }
        // A larger limit would only move the refusal into the parser, as a 400 that Graph
        // does not retry instead of a 413.
        if self.body_limit_bytes > notification::MAX_BODY_BYTES {
            return bad(format!(
                "body_limit_bytes ({}) is larger than the notification parser accepts ({} bytes)",
                self.body_limit_bytes,
                notification::MAX_BODY_BYTES
            ));
        }
        // tokio's bounded channel panics above this.
        if self.queue_capacity > usize::MAX >> 3 {
            return bad("queue_capacity is too large".into());
        }
        let auth = &self.auth;
        if auth.mode != AuthMode::None {
            match auth.app_id.as_deref().map(str::trim) {
                None | Some("") => return bad(
                    "the bot's app id (--app-id / CALLSCRIBE_APP_ID / auth.app_id) is required; \
                         pass --auth none to turn authentication off explicitly"
                        .into(),
                ),
                Some(_) => {}
            }
            if auth.issuers.is_empty() {
                return bad("auth.issuers must not be empty".into());
            }
            if auth.refresh_interval_s == 0 {
                return bad("auth.refresh_interval_s must be greater than 0".into());
            }
        }
        match auth.mode {
            AuthMode::JwksFile if auth.jwks_file.is_none() => {
                return bad("--auth jwks-file needs --jwks-file PATH".into())
            }
            AuthMode::OpenId => match Url::parse(&auth.openid_url) {
                Ok(url) if url.scheme() == "https" => {}
                _ => return bad("auth.openid_url must be an https URL".into()),
            },
            _ => {}
        }
        let redis = &self.redis;
        match &redis.url {
            None if redis.role != Role::Both => {
                return bad("--role intake or worker needs a shared queue (--redis-url)".into())
            }
            None => {}
            Some(url) => {
                // The parse error would quote the URL, password included: name the problem
                // only.
                match Url::parse(url.expose()) {
                    Ok(u) if u.scheme() == "redis" && redis.ca_file.is_some() => {
                        return bad(
                            "redis.ca_file (--redis-ca-file) needs a rediss:// (TLS) URL".into(),
                        )
                    }
                    Ok(u) if matches!(u.scheme(), "redis" | "rediss") && u.host().is_some() => {}
                    _ => {
                        return bad(
                            "the Redis URL must be redis://[:PASSWORD@]HOST[:PORT][/DB] or \
                             rediss://…"
                                .into(),
                        )
                    }
                }
                for (name, value) in [
                    ("redis.visibility_timeout_ms", redis.visibility_timeout_ms),
                    ("redis.job_max_age_s", redis.job_max_age_s),
                    ("redis.entry_ttl_s", redis.entry_ttl_s),
                    ("redis.command_timeout_ms", redis.command_timeout_ms),
                ] {
                    if value == 0 {
                        return bad(format!("{name} must be greater than 0"));
                    }
                }
                if redis.key_prefix.is_empty() {
                    return bad("redis.key_prefix must not be empty".into());
                }
                // Claims are renewed every third of the timeout: anything shorter than a
                // few hundred ms would be renewals and takeovers racing each other.
                if redis.visibility_timeout_ms < 300 {
                    return bad("redis.visibility_timeout_ms must be at least 300".into());
                }
            }
        }
        if let Some(cb) = &self.sinks.callback {
            if !matches!(cb.url.scheme(), "http" | "https") || cb.url.host().is_none() {
                return bad("the callback URL must be http(s)://host/…".into());
            }
            if cb.secret.expose().is_empty() {
                return bad("the callback needs a secret (--callback-secret)".into());
            }
            if cb.timeout_ms == 0 || cb.backoff_base_ms > cb.backoff_max_ms {
                return bad("callback timeout must be > 0 and backoff base ≤ backoff max".into());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> ServerConfig {
        let mut c = ServerConfig::default();
        c.auth.app_id = Some("app".into());
        c
    }

    #[test]
    fn defaults_need_an_app_id_unless_auth_is_off() {
        let err = ServerConfig::default().validate().expect_err("no app id");
        assert!(err.to_string().contains("--auth none"), "{err}");
        valid().validate().expect("with app id");
        let mut largest = valid();
        largest.body_limit_bytes = notification::MAX_BODY_BYTES;
        largest
            .validate()
            .expect("the parser's own limit is allowed");
        let mut off = ServerConfig::default();
        off.auth.mode = AuthMode::None;
        off.validate().expect("auth none");
    }

    #[test]
    fn invalid_settings_are_named() {
        type Edit = fn(&mut ServerConfig);
        let cases: [(&str, Edit); 10] = [
            ("path", |c| c.path = "api".into()),
            ("body_limit_bytes", |c| {
                c.body_limit_bytes = notification::MAX_BODY_BYTES + 1
            }),
            ("max_connections", |c| c.max_connections = 0),
            ("header_timeout_ms", |c| c.header_timeout_ms = 0),
            ("idle_timeout_ms", |c| c.idle_timeout_ms = 0),
            ("path", |c| c.path = "/metrics".into()),
            ("queue_capacity", |c| c.queue_capacity = 0),
            ("jwks-file", |c| c.auth.mode = AuthMode::JwksFile),
            ("openid_url", |c| {
                c.auth.openid_url = "http://x.test/".into()
            }),
            ("secret", |c| {
                let url = Url::parse("https://bot.test/r").expect("url");
                c.sinks.callback = Some(CallbackConfig::new(url, ""));
            }),
        ];
        for (needle, edit) in cases {
            let mut c = valid();
            edit(&mut c);
            let err = c.validate().expect_err(needle);
            assert!(err.to_string().contains(needle), "{needle}: {err}");
        }
    }

    #[test]
    fn redis_settings_are_checked_and_the_url_never_shown() {
        let mut c = valid();
        c.redis.role = Role::Worker;
        let err = c.validate().expect_err("role without redis");
        assert!(err.to_string().contains("--redis-url"), "{err}");
        c.redis.url = Some(RedisUrl::new("redis://:hunter2pw@cache.test:6380/3"));
        c.validate().expect("valid");
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2pw"), "{shown}");
        assert!(
            shown.contains("RedisUrl(redis://cache.test:6380/3)"),
            "{shown}"
        );
        for bad in ["http://cache.test/", "not a url hunter2pw", "redis://"] {
            c.redis.url = Some(RedisUrl::new(bad));
            let err = c.validate().expect_err(bad).to_string();
            assert!(
                err.contains("Redis URL") && !err.contains("hunter2pw"),
                "{err}"
            );
        }
        c.redis.url = Some(RedisUrl::new("rediss://cache.test"));
        c.redis.visibility_timeout_ms = 100;
        let err = c.validate().expect_err("short visibility");
        assert!(err.to_string().contains("visibility_timeout_ms"), "{err}");
        c.redis.visibility_timeout_ms = 30_000;
        c.redis.ca_file = Some("/etc/callscribe/redis-ca.pem".into());
        c.validate().expect("a CA file with rediss://");
        c.redis.url = Some(RedisUrl::new("redis://cache.test"));
        let err = c.validate().expect_err("a CA file without TLS");
        assert!(err.to_string().contains("rediss://"), "{err}");
        let parsed: ServerConfig =
            toml::from_str("[redis]\nurl = \"redis://h:1/0\"\nrole = \"intake\"").expect("toml");
        assert_eq!(parsed.redis.role, Role::Intake);
        assert_eq!(parsed.redis.max_takeovers, 2);
    }

    #[test]
    fn toml_file_shape() {
        let text = r#"
            listen = "0.0.0.0:9000"
            queue_capacity = 10
            header_timeout_ms = 2000
            max_connections = 100
            [auth]
            mode = "jwks-file"
            app_id = "app"
            jwks_file = "keys.json"
            allowed_tenants = ["t1"]
            [sinks]
            results_dir = "out"
            [sinks.callback]
            url = "https://bot.test/results"
            secret = "s3cret"
            [processor.fetch]
            allow_hosts = ["media.test"]
            [processor.pipeline.transcribe]
            enabled = false
            prompt = "Contoso Pharmacy"
            [[processor.pipeline.transcribe.by_client_context]]
            client_context_prefix = "refills:"
            prompt = "prescription number, refill, pickup"
            [[processor.pipeline.transcribe.by_client_context]]
            client_context_prefix = "es:"
            language = "es"
        "#;
        let c: ServerConfig = toml::from_str(text).expect("toml");
        c.validate().expect("valid");
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(
            (c.header_timeout_ms, c.idle_timeout_ms, c.max_connections),
            (2000, 60_000, 100)
        );
        assert_eq!(c.auth.mode, AuthMode::JwksFile);
        assert!(
            !c.sinks.stdout_enabled(),
            "stdout is off once another sink is set"
        );
        assert!(!c.processor.pipeline.transcribe.enabled);
        let entries = &c.processor.pipeline.transcribe.by_client_context;
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].client_context_prefix, "refills:");
        assert_eq!(entries[0].language, None);
        assert_eq!(entries[1].language.as_deref(), Some("es"));
        assert_eq!(entries[1].prompt, None);
        assert_eq!(
            format!("{:?}", c.sinks.callback.as_ref().map(|c| &c.secret)),
            "Some([REDACTED])"
        );
        let err = toml::from_str::<ServerConfig>("queue_capacty = 1").expect_err("unknown");
        assert!(err.to_string().contains("unknown field"), "{err}");
    }
}
