//! Result sinks: JSON Lines on stdout, one file per result in a folder, a signed callback.
//!
//! Every result goes to every configured sink. A sink that fails logs a warning (with the
//! operation id, never the callback URL's path or query) and counts
//! `callscribe_deliveries_failed_total{sink}`; it does not stop the other sinks.
//!
//! # The callback signature
//!
//! The callback body is the result JSON, exactly as it is signed: the header
//! `X-Callscribe-Signature: sha256=<hex HMAC-SHA256(secret, body)>` lets the bot check that the
//! body came from callscribe and was not altered ([`verify_signature`] does it in constant
//! time). `X-Callscribe-Operation-Id` repeats the operation id so a bot can de-duplicate
//! retried deliveries without parsing the body first.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hmac::{Hmac, Mac};
use reqwest::header::{HeaderValue, CONTENT_TYPE};
use sha2::Sha256;
use url::Url;

use super::config::{CallbackConfig, SecretValue, SinkConfig};
use super::metrics::{Metrics, Sink};
use super::ServerError;
use crate::fetch::retry::{retry_after, Backoff};
use crate::notification::redact_url;
use crate::result::RecordingResult;

/// The name of the callback's signature header (lowercase, as HTTP/2 sends it).
pub const SIGNATURE_HEADER: &str = "x-callscribe-signature";

/// The header repeating the result's operation id.
const OPERATION_HEADER: &str = "x-callscribe-operation-id";

/// How many `<id>~<n>.json` names are tried when `<id>.json` already exists (the same
/// operation delivered again with a new etag).
const MAX_NAME_SUFFIX: u32 = 100;

/// The `X-Callscribe-Signature` value for `body`: `sha256=` and the lowercase hex
/// HMAC-SHA256 of the body under `secret`.
pub fn sign_body(secret: &[u8], body: &[u8]) -> String {
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256=");
    for byte in mac(secret, body).finalize().into_bytes() {
        // Writing to a String cannot fail.
        let _ = std::fmt::Write::write_fmt(&mut out, format_args!("{byte:02x}"));
    }
    out
}

/// Checks an `X-Callscribe-Signature` value against `body`, in constant time.
pub fn verify_signature(secret: &[u8], body: &[u8], header: &str) -> bool {
    let Some(hex) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Some(expected) = decode_hex(hex) else {
        return false;
    };
    mac(secret, body).verify_slice(&expected).is_ok()
}

fn mac(secret: &[u8], body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("hmac accepts any key length"));
    mac.update(body);
    mac
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect()
}

/// The configured sinks, built once.
pub(crate) struct Sinks {
    /// Lines are written on the blocking pool, so a slow reader of our stdout blocks only
    /// deliveries, never the runtime; std's stdout lock keeps each line whole.
    stdout: bool,
    dir: Option<PathBuf>,
    callback: Option<Callback>,
}

struct Callback {
    client: reqwest::Client,
    url: Url,
    secret: SecretValue,
    max_retries: u32,
    backoff: Backoff,
}

impl Sinks {
    pub(crate) async fn build(config: &SinkConfig) -> Result<Self, ServerError> {
        if let Some(dir) = &config.results_dir {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| ServerError::io(format!("creating {}", dir.display()), e))?;
        }
        let callback = config.callback.as_ref().map(Callback::build).transpose()?;
        Ok(Self {
            stdout: config.stdout_enabled(),
            dir: config.results_dir.clone(),
            callback,
        })
    }

    /// Hands `result` to every sink; failures are logged and counted. Stdout runs alongside;
    /// the results-dir file is written before the callback is posted, so a bot that reads the
    /// directory when its callback arrives finds the file.
    pub(crate) async fn deliver(&self, result: &RecordingResult, metrics: &Metrics) {
        self.deliver_except(result, metrics, SinkSet::EMPTY, |_| async {})
            .await;
    }

    /// The configured sinks.
    pub(crate) fn configured(&self) -> SinkSet {
        let mut set = SinkSet::EMPTY;
        if self.stdout {
            set.insert(Sink::Stdout);
        }
        if self.dir.is_some() {
            set.insert(Sink::ResultsDir);
        }
        if self.callback.is_some() {
            set.insert(Sink::Callback);
        }
        set
    }

    /// As [`Sinks::deliver`], leaving out the sinks in `skip` (they took this result
    /// before: the shared queue ran its job twice). `taken` runs as soon as a sink has taken
    /// the result (the shared queue records it there, so that a worker dying while a slow
    /// callback is still being retried does not make a takeover write the file again).
    /// Returns the sinks that took it now.
    pub(crate) async fn deliver_except<F, Taken>(
        &self,
        result: &RecordingResult,
        metrics: &Metrics,
        skip: SinkSet,
        taken: F,
    ) -> SinkSet
    where
        // Not `AsyncFn`: its futures cannot be required to be `Send`, and the workers'
        // futures are spawned.
        F: Fn(Sink) -> Taken,
        Taken: std::future::Future<Output = ()>,
    {
        let json = result.to_json_line();
        let op = result.source.operation_id.as_deref().unwrap_or("");
        let stdout = async {
            if self.stdout && !skip.contains(Sink::Stdout) {
                let mut line = Vec::with_capacity(json.len() + 1);
                line.extend_from_slice(json.as_bytes());
                line.push(b'\n');
                let written = tokio::task::spawn_blocking(move || {
                    let mut out = std::io::stdout().lock();
                    out.write_all(&line)?;
                    out.flush()
                })
                .await;
                match written {
                    Ok(Ok(())) => {
                        taken(Sink::Stdout).await;
                        return true;
                    }
                    Ok(Err(e)) => failed(metrics, Sink::Stdout, op, &e.to_string()),
                    Err(e) => failed(metrics, Sink::Stdout, op, &e.to_string()),
                }
            }
            false
        };
        let dir = async {
            if let Some(dir) = self
                .dir
                .as_ref()
                .filter(|_| !skip.contains(Sink::ResultsDir))
            {
                let (dir, op_owned, bytes) =
                    (dir.clone(), op.to_owned(), json.clone().into_bytes());
                let written =
                    tokio::task::spawn_blocking(move || write_result_file(&dir, &op_owned, &bytes))
                        .await;
                match written {
                    Ok(Ok(_)) => {
                        taken(Sink::ResultsDir).await;
                        return true;
                    }
                    Ok(Err(e)) => failed(metrics, Sink::ResultsDir, op, &e.to_string()),
                    Err(e) => failed(metrics, Sink::ResultsDir, op, &e.to_string()),
                }
            }
            false
        };
        let callback = async {
            if let Some(callback) = self
                .callback
                .as_ref()
                .filter(|_| !skip.contains(Sink::Callback))
            {
                match callback.post(&json, op).await {
                    Ok(()) => {
                        taken(Sink::Callback).await;
                        return true;
                    }
                    Err(e) => failed(metrics, Sink::Callback, op, &e),
                }
            }
            false
        };
        let (stdout, (dir, callback)) = futures_util::join!(stdout, async {
            let dir = dir.await;
            (dir, callback.await)
        });
        let mut done = SinkSet::EMPTY;
        for (sink, ok) in [
            (Sink::Stdout, stdout),
            (Sink::ResultsDir, dir),
            (Sink::Callback, callback),
        ] {
            if ok {
                done.insert(sink);
            }
        }
        done
    }
}

/// A set of sinks (a bit per [`Sink`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct SinkSet(u8);

impl SinkSet {
    /// No sink.
    pub(crate) const EMPTY: SinkSet = SinkSet(0);

    fn bit(sink: Sink) -> u8 {
        match sink {
            Sink::Stdout => 1,
            Sink::ResultsDir => 2,
            Sink::Callback => 4,
        }
    }

    pub(crate) fn insert(&mut self, sink: Sink) {
        self.0 |= Self::bit(sink);
    }

    pub(crate) fn contains(self, sink: Sink) -> bool {
        self.0 & Self::bit(sink) != 0
    }

    /// The sinks in either.
    pub(crate) fn union(self, other: SinkSet) -> SinkSet {
        SinkSet(self.0 | other.0)
    }

    /// The sinks in `self` but not in `other`.
    pub(crate) fn without(self, other: SinkSet) -> SinkSet {
        SinkSet(self.0 & !other.0)
    }
}

fn failed(metrics: &Metrics, sink: Sink, operation_id: &str, error: &str) {
    metrics.delivery_failed(sink);
    tracing::warn!(
        sink = sink.as_str(),
        operation_id,
        "delivering a result failed: {error}"
    );
}

impl Callback {
    fn build(config: &CallbackConfig) -> Result<Self, ServerError> {
        let host = config.url.host_str().unwrap_or("");
        let loopback = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
        if config.url.scheme() == "http" && !loopback {
            tracing::warn!(
                target_host = %redact_url(&config.url),
                "the result callback uses plain http: results (transcripts) travel unencrypted"
            );
        }
        let client = super::http_client(Duration::from_millis(config.timeout_ms))
            .map_err(ServerError::Config)?;
        Ok(Self {
            client,
            url: config.url.clone(),
            secret: config.secret.clone(),
            max_retries: config.max_retries,
            backoff: Backoff::new(
                Duration::from_millis(config.backoff_base_ms),
                Duration::from_millis(config.backoff_max_ms),
            ),
        })
    }

    /// POSTs `body`, retrying connection errors, timeouts, 408, 429 and 5xx with jittered
    /// exponential back-off (honouring `Retry-After` up to the back-off cap). Other 4xx are
    /// final: the bot refused this result and will refuse it again.
    async fn post(&self, body: &str, operation_id: &str) -> Result<(), String> {
        let signature = sign_body(self.secret.expose().as_bytes(), body.as_bytes());
        let op_header = HeaderValue::from_str(operation_id).ok();
        let mut attempt = 0u32;
        loop {
            let mut request = self
                .client
                .post(self.url.clone())
                .header(CONTENT_TYPE, "application/json")
                .header(SIGNATURE_HEADER, &signature)
                .body(body.to_owned());
            if let Some(op) = &op_header {
                request = request.header(OPERATION_HEADER, op.clone());
            }
            let (reason, retry_after) = match request.send().await {
                Ok(response) if response.status().is_success() => return Ok(()),
                Ok(response) => {
                    let status = response.status();
                    let retryable = status.as_u16() == 408
                        || status.as_u16() == 429
                        || status.is_server_error();
                    if !retryable {
                        return Err(format!("the callback answered {status}"));
                    }
                    let after = retry_after(response.headers());
                    (format!("the callback answered {status}"), after)
                }
                Err(e) => (
                    format!("callback request failed: {}", e.without_url()),
                    None,
                ),
            };
            if attempt >= self.max_retries {
                return Err(format!("{reason} (gave up after {} attempts)", attempt + 1));
            }
            attempt += 1;
            let delay = retry_after
                .unwrap_or_else(|| self.backoff.delay(attempt))
                .min(self.backoff.max());
            tracing::debug!(operation_id, attempt, "{reason}; retrying in {delay:?}");
            tokio::time::sleep(delay).await;
        }
    }
}

/// A file name stem for an operation id: `[A-Za-z0-9._-]` kept, anything else `_`, at most
/// 128 characters, never starting with a dot (no hidden files, no `..`). A result without an
/// operation id (a notification that could not be parsed) gets a unique
/// `unidentified-<unix ms>-<random>` stem, so such results never compete for one name.
fn file_stem(operation_id: &str) -> String {
    if operation_id.is_empty() {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        return format!("unidentified-{ms}-{:08x}", rand::random::<u32>());
    }
    let mut stem: String = operation_id
        .chars()
        .take(128)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if stem.is_empty() || stem.starts_with('.') {
        stem.insert_str(0, "op-");
    }
    stem
}

/// Writes `<dir>/<operation_id>.json` atomically: the bytes go to a hidden temporary file
/// that is synced and then hard-linked to its final name, so a reader sees either nothing or
/// the whole result, and an existing result (same operation, new etag) is never replaced:
/// the next free `<id>~<n>.json` is used instead.
fn write_result_file(dir: &Path, operation_id: &str, json: &[u8]) -> std::io::Result<PathBuf> {
    let stem = file_stem(operation_id);
    let tmp = dir.join(format!(".{stem}.{:016x}.tmp", rand::random::<u64>()));
    let written = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(json)?;
        file.write_all(b"\n")?;
        file.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    let mut outcome = Err(std::io::Error::other("no free result file name"));
    for n in 1..=MAX_NAME_SUFFIX {
        let name = if n == 1 {
            format!("{stem}.json")
        } else {
            format!("{stem}~{n}.json")
        };
        let target = dir.join(name);
        match std::fs::hard_link(&tmp, &target) {
            Ok(()) => {
                outcome = Ok(target);
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            // File systems without hard links: a rename is still atomic, but it replaces, so
            // taken names are skipped first (a race with another writer of the same id can
            // still replace; only this sink writes here).
            Err(_) if target.exists() => continue,
            Err(_) => {
                outcome = std::fs::rename(&tmp, &target).map(|()| target);
                break;
            }
        }
    }
    let _ = std::fs::remove_file(&tmp);
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_round_trip_and_known_vector() {
        // RFC 4231 test case 2.
        let sig = sign_body(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            sig,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(verify_signature(
            b"Jefe",
            b"what do ya want for nothing?",
            &sig
        ));
        assert!(!verify_signature(
            b"Jefe",
            b"what do ya want for nothing!",
            &sig
        ));
        assert!(!verify_signature(
            b"jefe",
            b"what do ya want for nothing?",
            &sig
        ));
        assert!(!verify_signature(b"Jefe", b"x", "sha256=zz"));
        assert!(!verify_signature(b"Jefe", b"x", "md5=00"));
    }

    #[test]
    fn file_stems_are_safe() {
        assert_eq!(file_stem("0fe0623f-d628-42ed"), "0fe0623f-d628-42ed");
        assert_eq!(file_stem("../../etc/passwd"), "op-.._.._etc_passwd");
        assert!(file_stem("").starts_with("unidentified-"));
        assert_ne!(file_stem(""), file_stem(""));
        assert_eq!(file_stem(".hidden"), "op-.hidden");
        assert_eq!(file_stem("a/b\\c:d"), "a_b_c_d");
        assert_eq!(file_stem(&"x".repeat(500)).len(), 128);
    }

    #[test]
    fn result_files_are_written_whole_and_never_replaced() {
        let scratch = tempfile::Builder::new()
            .prefix("callscribe-sink-")
            .tempdir()
            .expect("temp dir");
        let dir = scratch.path();
        let first = write_result_file(dir, "op1", b"{\"a\":1}").expect("write");
        let second = write_result_file(dir, "op1", b"{\"a\":2}").expect("write");
        assert_eq!(first.file_name().and_then(|n| n.to_str()), Some("op1.json"));
        assert_eq!(
            second.file_name().and_then(|n| n.to_str()),
            Some("op1~2.json")
        );
        assert_eq!(std::fs::read(&first).expect("read"), b"{\"a\":1}\n");
        let names: Vec<_> = std::fs::read_dir(dir)
            .expect("ls")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 2, "no temporary files left: {names:?}");
    }
}
