//! Arbitrary bytes as a Graph `commsNotifications` POST body through `notification::parse`,
//! then every failed operation through the JSON result. Findings: panics, stack overflows, a
//! result that does not read back, and any outcome whose `Debug` (plain or `#`), message or
//! JSON carries an access token or the query (signature) of a recording location.
#![no_main]

use callscribe::notification::{self, Parsed};
use callscribe::notification::failed_result;
use callscribe::{ErrorKind, RecordingResult};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// Secrets shorter than this are not checked: a short token legitimately matches text
/// elsewhere (`"a"` is in every message).
const MIN_SECRET_LEN: usize = 8;

const TOKEN_KEYS: [&str; 2] = ["recordingAccessToken", "recordResourceAccessToken"];
const LOCATION_KEYS: [&str; 2] = ["recordingLocation", "recordResourceLocation"];

fuzz_target!(|data: &[u8]| {
    let texts = match outcome_texts(data) {
        Ok(texts) => texts,
        Err(message) => {
            // Body-level messages are fixed words and numbers: they never quote the body.
            assert!(message.len() < 200, "{message}");
            return;
        }
    };
    let Ok(root) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let mut secrets = Vec::new();
    let masked = mask(&root, None, &mut secrets);
    secrets.retain(|s| s.len() >= MIN_SECRET_LEN);
    if secrets.is_empty() {
        return;
    }
    // The same body with every secret replaced by as many `Q`s: a secret still found in *its*
    // texts is a coincidence (a token equal to a fixed word of a message), not a leak.
    let masked_bytes = serde_json::to_vec(&masked).expect("a Value serializes");
    let masked_texts = outcome_texts(&masked_bytes).unwrap_or_default();
    for secret in &secrets {
        if masked_texts.iter().any(|t| t.contains(secret.as_str())) {
            continue;
        }
        for text in &texts {
            assert!(
                !text.contains(secret.as_str()),
                "{secret:?} leaked into {text}"
            );
        }
    }
});

/// Everything a caller could print about the parsed body, checking the outcomes' contracts on
/// the way; `Err` with the message when the whole body is rejected.
fn outcome_texts(data: &[u8]) -> Result<Vec<String>, String> {
    let parsed = notification::parse(data).map_err(|e| {
        assert_eq!(e.kind(), ErrorKind::InvalidNotification);
        e.to_string()
    })?;
    let mut texts = Vec::new();
    for p in &parsed {
        texts.push(format!("{p:?}"));
        texts.push(format!("{p:#?}"));
        match p {
            Parsed::Job(job) => {
                assert_eq!(format!("{:?}", job.token), "AccessToken([REDACTED])");
            }
            Parsed::Skipped(_) => {}
            Parsed::Failed(f) => {
                assert!(matches!(
                    f.kind,
                    ErrorKind::OperationFailed | ErrorKind::InvalidNotification
                ));
                texts.push(f.message.clone());
                let result = failed_result(f.clone());
                let line = result.to_json_line();
                let back: RecordingResult =
                    serde_json::from_str(&line).expect("a result reads back strictly");
                assert_eq!(back, result, "JSON round trip");
                texts.push(line);
            }
        }
    }
    Ok(texts)
}

/// A copy of `v` with tokens and location queries replaced by `Q`s; the originals are pushed
/// to `secrets`.
fn mask(v: &Value, key: Option<&str>, secrets: &mut Vec<String>) -> Value {
    let q = |s: &str| "Q".repeat(s.chars().count());
    match v {
        Value::String(s) if key.is_some_and(|k| TOKEN_KEYS.contains(&k)) => {
            secrets.push(s.clone());
            Value::String(q(s))
        }
        Value::String(s) if key.is_some_and(|k| LOCATION_KEYS.contains(&k)) => {
            match s.split_once('?') {
                Some((before, rest)) => {
                    let (query, fragment) = match rest.split_once('#') {
                        Some((query, fragment)) => (query, Some(fragment)),
                        None => (rest, None),
                    };
                    secrets.push(query.to_owned());
                    let mut out = format!("{before}?{}", q(query));
                    if let Some(f) = fragment {
                        out.push('#');
                        out.push_str(f);
                    }
                    Value::String(out)
                }
                None => v.clone(),
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(|i| mask(i, key, secrets)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), mask(v, Some(k), secrets)))
                .collect(),
        ),
        other => other.clone(),
    }
}
