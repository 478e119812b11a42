//! `callscribe serve`: flags, `CALLSCRIBE_*` variables and a TOML file → [`ServerConfig`] →
//! [`callscribe::server::run`].
//!
//! Precedence, highest first: command-line flags, environment variables, the `--config`
//! file, built-in defaults. Every flag is optional in clap (`Option`) so that "not given" can
//! fall through to the file; the defaults are written in each flag's help.

use std::net::SocketAddr;
use std::path::PathBuf;

use callscribe::server::{
    read_config_file, AuthMode, CallbackConfig, RedisUrl, Role, SecretValue, ServerConfig,
    ServerError,
};
use clap::builder::TypedValueParser as _;
use clap::Args;
use url::Url;

/// Options of `callscribe serve`.
#[derive(Debug, Clone, Default, Args)]
#[command(after_long_help = "\
Precedence: flags > CALLSCRIBE_* environment variables > --config file > defaults.

The TOML file has the shape of callscribe::server::ServerConfig, for example:

    listen = \"0.0.0.0:8080\"
    queue_capacity = 256
    [auth]
    mode = \"openid\"
    app_id = \"00000000-0000-0000-0000-000000000000\"
    allowed_tenants = [\"11111111-1111-1111-1111-111111111111\"]
    [sinks]
    results_dir = \"/var/lib/callscribe/results\"
    [sinks.callback]
    url = \"https://bot.example.com/api/transcripts\"
    secret = \"...\"
    [processor.fetch]
    allow_hosts = [\"*.media.microsoft.com\"]
    [processor.pipeline]
    redact = \"card,ssn\"
    [processor.pipeline.transcribe]
    model = \"models/ggml-tiny.en.bin\"

Endpoints: POST <path> (202 accepted, 400/401/403/413, 503 + Retry-After when the queue is
full or shutting down), GET /healthz, GET /readyz, GET /metrics (Prometheus text).")]
pub struct ServeArgs {
    /// TOML configuration file (see below). Flags and environment variables override it.
    #[arg(long, env = "CALLSCRIBE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Address to listen on. Default: 127.0.0.1:8080.
    #[arg(
        long,
        env = "CALLSCRIBE_LISTEN",
        value_name = "ADDR",
        help_heading = "Service"
    )]
    pub listen: Option<SocketAddr>,
    /// Path of the notification endpoint (the bot's Graph callback path). Default: /api/calls.
    #[arg(
        long,
        env = "CALLSCRIBE_PATH",
        value_name = "PATH",
        help_heading = "Service"
    )]
    pub path: Option<String>,
    /// Largest notification body, in bytes; larger ones get 413. At most 4194304 (4 MiB, what
    /// the notification parser accepts). Default: 1048576 (1 MiB).
    #[arg(
        long,
        env = "CALLSCRIBE_BODY_LIMIT",
        value_name = "BYTES",
        help_heading = "Service"
    )]
    pub body_limit: Option<usize>,
    /// Jobs that may wait for a worker; when full, notifications get 503 with Retry-After.
    /// Default: 256.
    #[arg(
        long,
        env = "CALLSCRIBE_QUEUE_CAPACITY",
        value_name = "N",
        help_heading = "Service"
    )]
    pub queue_capacity: Option<usize>,
    /// Jobs processed at once (downloads run concurrently up to this). Default: 8.
    #[arg(
        long,
        env = "CALLSCRIBE_DOWNLOAD_CONCURRENCY",
        value_name = "N",
        help_heading = "Service"
    )]
    pub download_concurrency: Option<usize>,
    /// Recordings decoded/transcribed at once on the blocking pool; 0 = one per core.
    /// Default: 0.
    #[arg(
        long,
        env = "CALLSCRIBE_CPU_JOBS",
        value_name = "N",
        help_heading = "Service"
    )]
    pub cpu_jobs: Option<usize>,
    /// Seconds an operation id (+ etag) is remembered so redeliveries are not processed twice.
    /// Default: 3600.
    #[arg(
        long,
        env = "CALLSCRIBE_DEDUP_TTL",
        value_name = "SECONDS",
        help_heading = "Service"
    )]
    pub dedup_ttl: Option<u64>,
    /// Retry-After sent with 503 answers, in seconds. Default: 5.
    #[arg(
        long,
        env = "CALLSCRIBE_RETRY_AFTER",
        value_name = "SECONDS",
        help_heading = "Service"
    )]
    pub retry_after: Option<u64>,
    /// Seconds to finish queued and running jobs after SIGTERM/Ctrl-C; what is left is logged.
    /// Default: 25.
    #[arg(
        long,
        env = "CALLSCRIBE_SHUTDOWN_GRACE",
        value_name = "SECONDS",
        help_heading = "Service"
    )]
    pub shutdown_grace: Option<u64>,
    /// Milliseconds a client has to send a complete request head, from when it connects or
    /// got its previous answer; then the connection is closed (this also closes idle
    /// keep-alive connections). Default: 10000.
    #[arg(
        long,
        env = "CALLSCRIBE_HEADER_TIMEOUT_MS",
        value_name = "MS",
        help_heading = "Service"
    )]
    pub header_timeout_ms: Option<u64>,
    /// Milliseconds without a byte read or written after which a connection is closed (a
    /// stalled body, a client that does not read the answer). Default: 60000.
    #[arg(
        long,
        env = "CALLSCRIBE_IDLE_TIMEOUT_MS",
        value_name = "MS",
        help_heading = "Service"
    )]
    pub idle_timeout_ms: Option<u64>,
    /// HTTP connections open at once; more wait in the listen backlog. Lowered to fit the
    /// open-file limit (raised to the hard limit at start-up) less 256. Default: 4096.
    #[arg(
        long,
        env = "CALLSCRIBE_MAX_CONNECTIONS",
        value_name = "N",
        help_heading = "Service"
    )]
    pub max_connections: Option<usize>,

    /// Share the queue and de-duplication with other replicas through this Redis:
    /// redis://[:PASSWORD@]HOST[:PORT][/DB], or rediss://… for TLS. Prefer the variable: flags
    /// are visible in the process list. Default: none (in-process queue).
    #[arg(
        long,
        env = "CALLSCRIBE_REDIS_URL",
        value_name = "URL",
        hide_env_values = true,
        help_heading = "Fleet (shared Redis queue)"
    )]
    pub redis_url: Option<RedisUrl>,
    /// What this replica does: intake (answers notifications, queues them), worker (runs
    /// queued jobs) or both. intake and worker need --redis-url. Default: both.
    #[arg(
        long,
        env = "CALLSCRIBE_ROLE",
        value_parser = clap::builder::PossibleValuesParser::new(Role::NAMES)
            .try_map(|name| name.parse::<Role>()),
        value_name = "ROLE",
        help_heading = "Fleet (shared Redis queue)"
    )]
    pub role: Option<Role>,
    /// A job whose worker stopped renewing its claim for this long is taken over by another
    /// worker, in ms. Default: 30000.
    #[arg(
        long,
        env = "CALLSCRIBE_VISIBILITY_TIMEOUT_MS",
        value_name = "MS",
        help_heading = "Fleet (shared Redis queue)"
    )]
    pub visibility_timeout_ms: Option<u64>,
    /// Takeovers of one job before it becomes a failed result (kind worker_lost).
    /// Default: 2.
    #[arg(
        long,
        env = "CALLSCRIBE_MAX_TAKEOVERS",
        value_name = "N",
        help_heading = "Fleet (shared Redis queue)"
    )]
    pub max_takeovers: Option<u32>,
    /// Jobs accepted longer ago than this are not downloaded (Graph keeps recordings only a
    /// few minutes) and become a failed result (kind expired), in seconds. Default: 300.
    #[arg(
        long,
        env = "CALLSCRIBE_JOB_MAX_AGE",
        value_name = "SECONDS",
        help_heading = "Fleet (shared Redis queue)"
    )]
    pub job_max_age: Option<u64>,
    /// PEM file of the certificate authorities to trust for a rediss:// URL (a private CA)
    /// instead of the system's roots. Default: the system's roots.
    #[arg(
        long,
        env = "CALLSCRIBE_REDIS_CA_FILE",
        value_name = "PATH",
        help_heading = "Fleet (shared Redis queue)"
    )]
    pub redis_ca_file: Option<PathBuf>,

    /// How to authenticate Graph's requests: openid (Microsoft's signing keys, production),
    /// jwks-file (keys from --jwks-file), or none (anyone may submit work: warned about at
    /// start-up). Default: openid.
    #[arg(
        long,
        env = "CALLSCRIBE_AUTH",
        value_parser = clap::builder::PossibleValuesParser::new(AuthMode::NAMES)
            .try_map(|name| name.parse::<AuthMode>()),
        value_name = "MODE",
        help_heading = "Authentication"
    )]
    pub auth: Option<AuthMode>,
    /// The bot's Microsoft app id: the required audience (`aud`) of tokens. Required unless
    /// --auth none.
    #[arg(
        long,
        env = "CALLSCRIBE_APP_ID",
        value_name = "ID",
        help_heading = "Authentication"
    )]
    pub app_id: Option<String>,
    /// OpenID configuration URL whose jwks_uri lists the signing keys.
    /// Default: `https://api.aps.skype.com/v1/.well-known/OpenIdConfiguration`.
    #[arg(
        long,
        env = "CALLSCRIBE_OPENID_URL",
        value_name = "URL",
        help_heading = "Authentication"
    )]
    pub openid_url: Option<String>,
    /// JWKS file with the signing keys (for --auth jwks-file).
    #[arg(
        long,
        env = "CALLSCRIBE_JWKS_FILE",
        value_name = "FILE",
        help_heading = "Authentication"
    )]
    pub jwks_file: Option<PathBuf>,
    /// Accept only tokens of this tenant id (`tid`); repeatable, or comma-separated in the
    /// variable. Default: any tenant (a `tid` claim is always required).
    #[arg(
        long = "allowed-tenant",
        env = "CALLSCRIBE_ALLOWED_TENANTS",
        value_name = "TID",
        value_delimiter = ',',
        help_heading = "Authentication"
    )]
    pub allowed_tenants: Vec<String>,
    /// Clock skew allowed for the token's exp/nbf, in seconds. Default: 30.
    #[arg(
        long,
        env = "CALLSCRIBE_AUTH_LEEWAY",
        value_name = "SECONDS",
        help_heading = "Authentication"
    )]
    pub auth_leeway: Option<u64>,
    /// Period of the signing-key refresh, in seconds (keys are also refreshed when a token
    /// names an unknown key). Default: 7200.
    #[arg(
        long,
        env = "CALLSCRIBE_JWKS_REFRESH",
        value_name = "SECONDS",
        help_heading = "Authentication"
    )]
    pub jwks_refresh: Option<u64>,

    /// Also write results as JSON Lines on stdout. Default: on only when no other sink is set.
    #[arg(long, env = "CALLSCRIBE_STDOUT", help_heading = "Results")]
    pub stdout: bool,
    /// Write one `<operation_id>.json` per result into this folder (atomically; results only,
    /// never media).
    #[arg(
        long,
        env = "CALLSCRIBE_RESULTS_DIR",
        value_name = "DIR",
        help_heading = "Results"
    )]
    pub results_dir: Option<PathBuf>,
    /// POST each result as JSON to this URL, signed with `X-Callscribe-Signature:
    /// sha256=<hex HMAC-SHA256 of the body>`; retried with back-off on errors, 408, 429, 5xx.
    #[arg(
        long,
        env = "CALLSCRIBE_CALLBACK_URL",
        value_name = "URL",
        help_heading = "Results"
    )]
    pub callback_url: Option<Url>,
    /// Shared secret for the callback signature (required with --callback-url). Prefer the
    /// variable or the file: flags are visible in the process list.
    #[arg(
        long,
        env = "CALLSCRIBE_CALLBACK_SECRET",
        value_name = "SECRET",
        hide_env_values = true,
        help_heading = "Results"
    )]
    pub callback_secret: Option<String>,
    /// Callback retries after the first attempt. Default: 5.
    #[arg(
        long,
        env = "CALLSCRIBE_CALLBACK_RETRIES",
        value_name = "N",
        help_heading = "Results"
    )]
    pub callback_retries: Option<u32>,

    /// Only download recordings from this host (HOST or HOST:PORT; repeatable, or
    /// comma-separated in the variable). Default: any public https host.
    #[arg(
        long = "allow-host",
        env = "CALLSCRIBE_ALLOW_HOSTS",
        value_name = "HOST[:PORT]",
        value_delimiter = ',',
        help_heading = "Download"
    )]
    pub allow_hosts: Vec<String>,
    /// Allow plain http and loopback for allow-listed hosts (local testing only).
    #[arg(
        long,
        env = "CALLSCRIBE_ALLOW_INSECURE_HTTP",
        help_heading = "Download"
    )]
    pub allow_insecure_http: bool,
    /// Largest recording downloaded, in bytes. Default: 67108864 (64 MiB).
    #[arg(
        long,
        env = "CALLSCRIBE_MAX_DOWNLOAD_BYTES",
        value_name = "BYTES",
        help_heading = "Download"
    )]
    pub max_download_bytes: Option<u64>,
    /// Deadline of one download including retries, in milliseconds. Default: 60000.
    #[arg(
        long,
        env = "CALLSCRIBE_DOWNLOAD_TIMEOUT_MS",
        value_name = "MS",
        help_heading = "Download"
    )]
    pub download_timeout_ms: Option<u64>,

    /// Silero VAD v6's ONNX file, which places the first and last words of a quiet caller
    /// (TOML: `processor.pipeline.trim.vad_model`). Default: models/silero_vad_v6.onnx when it
    /// exists (made by models/build-model.sh).
    #[arg(
        long,
        env = "CALLSCRIBE_VAD_MODEL",
        value_name = "FILE",
        help_heading = "Speech",
        conflicts_with = "no_vad_model"
    )]
    pub vad_model: Option<PathBuf>,
    /// Find speech with earshot alone, without Silero's edges.
    #[arg(long, help_heading = "Speech")]
    pub no_vad_model: bool,

    /// Skip transcription (decode, resample and trim only).
    #[arg(long, env = "CALLSCRIBE_NO_TRANSCRIBE", help_heading = "Transcription")]
    pub no_transcribe: bool,
    /// ggml Whisper model file, loaded once before the service reports ready.
    /// Default: models/ggml-tiny.en.bin.
    #[arg(
        long,
        env = "CALLSCRIBE_MODEL",
        value_name = "FILE",
        help_heading = "Transcription"
    )]
    pub model: Option<PathBuf>,
    /// Whisper threads per job; 0 balances jobs and threads to the cores. Default: 0.
    #[arg(
        long,
        env = "CALLSCRIBE_THREADS",
        value_name = "N",
        help_heading = "Transcription"
    )]
    pub threads: Option<u32>,
    /// Spoken language: a code, `auto`, or a set to detect among (`en,es,fr`). Default: en.
    #[arg(
        long,
        env = "CALLSCRIBE_LANGUAGE",
        value_name = "LANG",
        help_heading = "Transcription"
    )]
    pub language: Option<String>,
    /// Whisper's initial prompt: words the callers are likely to say. Default: none.
    #[arg(
        long,
        env = "CALLSCRIBE_PROMPT",
        value_name = "TEXT",
        help_heading = "Transcription"
    )]
    pub prompt: Option<String>,
    /// Replace these in every result before any sink sees it: a comma-separated list of card,
    /// ssn, phone, email, digits, or all. Default: nothing (TOML: `processor.pipeline.redact`).
    #[arg(
        long,
        env = "CALLSCRIBE_REDACT",
        value_name = "KINDS",
        value_parser = callscribe::config::RedactSet::parse,
        help_heading = "Transcription"
    )]
    pub redact: Option<callscribe::config::RedactSet>,
}

impl ServeArgs {
    /// The configuration these arguments describe: the `--config` file (if any) with every
    /// given flag or variable applied on top.
    ///
    /// # Errors
    ///
    /// As [`read_config_file`]. The result is not validated yet: see
    /// [`ServerConfig::validate`].
    pub fn to_config(&self) -> Result<ServerConfig, ServerError> {
        let mut c = match &self.config {
            Some(path) => read_config_file(path)?,
            None => ServerConfig::default(),
        };
        macro_rules! set {
            ($field:expr, $value:expr) => {
                if let Some(v) = $value.clone() {
                    $field = v;
                }
            };
        }
        set!(c.listen, self.listen);
        set!(c.path, self.path);
        set!(c.body_limit_bytes, self.body_limit);
        set!(c.queue_capacity, self.queue_capacity);
        set!(c.download_concurrency, self.download_concurrency);
        set!(c.processor.cpu_jobs, self.cpu_jobs);
        set!(c.dedup_ttl_s, self.dedup_ttl);
        set!(c.retry_after_s, self.retry_after);
        set!(c.shutdown_grace_s, self.shutdown_grace);
        set!(c.header_timeout_ms, self.header_timeout_ms);
        set!(c.idle_timeout_ms, self.idle_timeout_ms);
        set!(c.max_connections, self.max_connections);

        if self.redis_url.is_some() {
            c.redis.url = self.redis_url.clone();
        }
        set!(c.redis.role, self.role);
        set!(c.redis.visibility_timeout_ms, self.visibility_timeout_ms);
        set!(c.redis.max_takeovers, self.max_takeovers);
        set!(c.redis.job_max_age_s, self.job_max_age);
        if self.redis_ca_file.is_some() {
            c.redis.ca_file = self.redis_ca_file.clone();
        }

        set!(c.auth.mode, self.auth);
        if self.app_id.is_some() {
            c.auth.app_id = self.app_id.clone();
        }
        set!(c.auth.openid_url, self.openid_url);
        if self.jwks_file.is_some() {
            c.auth.jwks_file = self.jwks_file.clone();
        }
        if !self.allowed_tenants.is_empty() {
            c.auth.allowed_tenants = self.allowed_tenants.clone();
        }
        set!(c.auth.leeway_s, self.auth_leeway);
        set!(c.auth.refresh_interval_s, self.jwks_refresh);

        if self.stdout {
            c.sinks.stdout = Some(true);
        }
        if self.results_dir.is_some() {
            c.sinks.results_dir = self.results_dir.clone();
        }
        match (&self.callback_url, &mut c.sinks.callback) {
            (Some(url), Some(existing)) => existing.url = url.clone(),
            (Some(url), None) => {
                c.sinks.callback = Some(CallbackConfig::new(url.clone(), String::new()));
            }
            _ => {}
        }
        if let Some(callback) = &mut c.sinks.callback {
            if let Some(secret) = &self.callback_secret {
                callback.secret = SecretValue::new(secret.clone());
            }
            set!(callback.max_retries, self.callback_retries);
        }

        let fetch = &mut c.processor.fetch;
        if !self.allow_hosts.is_empty() {
            fetch.allow_hosts = self.allow_hosts.clone();
        }
        if self.allow_insecure_http {
            fetch.allow_insecure_http = true;
        }
        set!(fetch.max_bytes, self.max_download_bytes);
        set!(fetch.total_timeout_ms, self.download_timeout_ms);

        let trim = &mut c.processor.pipeline.trim;
        trim.vad_model = super::vad_model(
            self.vad_model.as_ref().or(trim.vad_model.as_ref()),
            self.no_vad_model,
        );

        let transcribe = &mut c.processor.pipeline.transcribe;
        if self.no_transcribe {
            transcribe.enabled = false;
        }
        set!(transcribe.model, self.model);
        set!(transcribe.threads, self.threads);
        set!(transcribe.language, self.language);
        if let Some(prompt) = &self.prompt {
            transcribe.prompt = Some(prompt.clone());
        }
        set!(c.processor.pipeline.redact, self.redact);
        Ok(c)
    }
}

/// Runs `callscribe serve`: the configuration these arguments describe, served by
/// [`callscribe::server::run`] until SIGTERM or Ctrl-C.
pub fn run(args: &ServeArgs) -> Result<callscribe::server::ServeReport, callscribe::Error> {
    let config = args.to_config()?;
    callscribe::server::run(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn parse(args: &[&str]) -> ServeArgs {
        let mut all = vec!["serve"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all).expect("args").serve
    }

    #[test]
    fn flags_override_the_file_and_the_file_overrides_defaults() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("serve.toml");
        std::fs::write(
            &path,
            "queue_capacity = 7\nretry_after_s = 9\n[auth]\napp_id = \"from-file\"\n\
             [sinks.callback]\nurl = \"https://bot.test/r\"\nsecret = \"file-secret\"\n",
        )
        .expect("write");
        let args = parse(&[
            "--config",
            path.to_str().expect("utf-8 path"),
            "--queue-capacity",
            "3",
            "--no-transcribe",
            "--allow-host",
            "127.0.0.1:9000",
            "--callback-retries",
            "1",
            "--header-timeout-ms",
            "2500",
            "--max-connections",
            "50",
        ]);
        let c = args.to_config().expect("config");
        assert_eq!(c.queue_capacity, 3, "flag beats file");
        assert_eq!(c.retry_after_s, 9, "file beats default");
        assert_eq!(c.body_limit_bytes, 1024 * 1024, "default");
        assert_eq!(
            (c.header_timeout_ms, c.idle_timeout_ms, c.max_connections),
            (2500, 60_000, 50),
            "flags, and the default idle timeout"
        );
        assert_eq!(c.auth.app_id.as_deref(), Some("from-file"));
        assert!(!c.processor.pipeline.transcribe.enabled);
        assert_eq!(c.processor.fetch.allow_hosts, ["127.0.0.1:9000"]);
        let callback = c.sinks.callback.as_ref().expect("callback from file");
        assert_eq!(
            (callback.secret.expose(), callback.max_retries),
            ("file-secret", 1)
        );
        c.validate().expect("valid");
    }

    #[test]
    fn silero_weights_come_from_the_flag_the_file_or_the_default() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("serve.toml");
        std::fs::write(
            &path,
            "[processor.pipeline.trim]\nvad_model = \"/srv/silero.onnx\"\n",
        )
        .expect("write");
        let config = path.to_str().expect("utf-8 path");
        let vad = |args: &[&str]| {
            parse(args)
                .to_config()
                .expect("config")
                .processor
                .pipeline
                .trim
                .vad_model
        };
        assert_eq!(
            vad(&["--config", config]),
            Some(PathBuf::from("/srv/silero.onnx"))
        );
        assert_eq!(
            vad(&["--config", config, "--vad-model", "/opt/v6.onnx"]),
            Some(PathBuf::from("/opt/v6.onnx")),
            "flag beats file"
        );
        assert_eq!(vad(&["--config", config, "--no-vad-model"]), None);
        // Neither: the default file, when it is there.
        let default = callscribe::config::default_vad_model_path();
        assert_eq!(vad(&[]), default.exists().then_some(default));
    }

    #[test]
    fn callback_url_without_secret_is_refused_and_bad_toml_does_not_echo() {
        let c = parse(&["--app-id", "a", "--callback-url", "https://bot.test/r"])
            .to_config()
            .expect("config");
        assert!(c
            .validate()
            .expect_err("no secret")
            .to_string()
            .contains("secret"));

        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("serve.toml");
        std::fs::write(&path, "[sinks.callback]\nsecret = hunter2-not-quoted\n").expect("write");
        let err = parse(&["--config", path.to_str().expect("utf-8 path")])
            .to_config()
            .expect_err("toml");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn redaction_comes_from_the_flag_or_the_file() {
        use callscribe::config::RedactSet;
        use callscribe::result::RedactKind;

        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("serve.toml");
        let path = path.to_str().expect("utf-8 path");
        std::fs::write(path, "[processor.pipeline]\nredact = [\"card\", \"ssn\"]\n")
            .expect("write");
        let from_file = parse(&["--config", path]).to_config().expect("config");
        assert_eq!(
            from_file.processor.pipeline.redact,
            RedactSet::of(&[RedactKind::Card, RedactKind::Ssn])
        );
        let flag = parse(&["--config", path, "--redact", "all"])
            .to_config()
            .expect("config");
        assert_eq!(flag.processor.pipeline.redact, RedactSet::all());
        assert!(Cli::try_parse_from(["serve", "--redact", "cards"]).is_err());
        std::fs::write(path, "[processor.pipeline]\nredact = \"card,pin\"\n").expect("write");
        let err = parse(&["--config", path])
            .to_config()
            .expect_err("unknown kind");
        assert!(err.to_string().contains("pin"), "{err}");
    }
}
