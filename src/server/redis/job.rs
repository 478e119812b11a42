//! A queued operation as a Redis Stream entry: two fields, `op` (the operation id, readable
//! even when the rest is not) and `job` (versioned JSON of the [`Work`]).
//!
//! The entry holds the recording URL and its access token: it is the one place the service
//! writes a token outside its own memory, so the JSON is built in a [`Zeroizing`] buffer and
//! the entry is deleted (`XDEL`) as soon as its result has been delivered.

use serde::{Deserialize, Serialize};
use url::Url;
use zeroize::Zeroizing;

use crate::error::ErrorKind;
use crate::notification::{AccessToken, FailedOperation, NotificationSource, RecordingJob};
use crate::server::queue::Work;

/// The stream field holding the operation id.
pub(crate) const FIELD_OP: &str = "op";
/// The stream field holding the job JSON.
pub(crate) const FIELD_JOB: &str = "job";

/// Version of the `job` JSON. A replica that meets another version delivers the entry as a
/// failed result rather than guessing (a fleet is upgraded with the queue drained, or both
/// versions read each other's entries: bump this only for incompatible changes).
const VERSION: u32 = 1;

// No `deny_unknown_fields`: serde does not support it together with `flatten`.
#[derive(Serialize, Deserialize)]
struct Stored {
    v: u32,
    source: NotificationSource,
    #[serde(flatten)]
    work: StoredWork,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum StoredWork {
    Download { location: String, token: String },
    Failed { kind: ErrorKind, message: String },
}

/// The `job` field for `work`. Zeroized when dropped: it may hold an access token.
pub(crate) fn encode(work: &Work) -> Zeroizing<String> {
    let (source, stored) = match work {
        Work::Download(job) => (
            &job.source,
            StoredWork::Download {
                location: job.location.to_string(),
                token: job.token.expose().to_owned(),
            },
        ),
        Work::Failed(failed) => (
            &failed.source,
            StoredWork::Failed {
                kind: failed.kind,
                message: failed.message.clone(),
            },
        ),
    };
    let stored = Stored {
        v: VERSION,
        source: source.clone(),
        work: stored,
    };
    // Serializing plain strings and enums cannot fail; an empty job would be delivered as
    // malformed rather than panic here.
    let json = Zeroizing::new(serde_json::to_string(&stored).unwrap_or_default());
    if let StoredWork::Download { mut token, .. } = stored.work {
        zeroize::Zeroize::zeroize(&mut token);
    }
    json
}

/// Why a `job` field could not be turned back into [`Work`]. The message never quotes the
/// field: it may hold a token.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DecodeError {
    /// Not JSON of the expected shape.
    #[error("the queued job is not valid job JSON")]
    Shape,
    /// Written by an incompatible version.
    #[error("the queued job has version {0}, this service reads version 1")]
    Version(u32),
    /// The recording location is not a URL.
    #[error("the queued job's recording location is not a URL")]
    Location,
}

/// Reads a `job` field back.
pub(crate) fn decode(json: &[u8]) -> Result<Work, DecodeError> {
    let stored: Stored = serde_json::from_slice(json).map_err(|_| DecodeError::Shape)?;
    if stored.v != VERSION {
        return Err(DecodeError::Version(stored.v));
    }
    Ok(match stored.work {
        StoredWork::Download {
            location,
            mut token,
        } => {
            let location = Url::parse(&location).map_err(|_| DecodeError::Location)?;
            let job = RecordingJob {
                source: stored.source,
                location,
                token: AccessToken::new(token.as_str()),
            };
            zeroize::Zeroize::zeroize(&mut token);
            Work::Download(job)
        }
        StoredWork::Failed { kind, message } => Work::Failed(FailedOperation {
            kind,
            source: stored.source,
            message,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(op: &str) -> NotificationSource {
        NotificationSource {
            call_id: Some("call-1".into()),
            operation_id: op.into(),
            client_context: Some("ctx".into()),
            result_info: None,
            reason: None,
            etag: Some("W/\"1\"".into()),
        }
    }

    #[test]
    fn download_and_failed_jobs_round_trip() {
        let job = Work::Download(RecordingJob {
            source: source("op-1"),
            location: Url::parse("https://media.test/r/1?sig=abc").expect("url"),
            token: AccessToken::new("tok-123"),
        });
        let json = encode(&job);
        match decode(json.as_bytes()) {
            Ok(Work::Download(back)) => {
                assert_eq!(back.source, source("op-1"));
                assert_eq!(back.location.as_str(), "https://media.test/r/1?sig=abc");
                assert_eq!(back.token.expose(), "tok-123");
            }
            _ => panic!("not a download"),
        }
        let failed = Work::Failed(FailedOperation {
            kind: ErrorKind::OperationFailed,
            source: source("op-2"),
            message: "graph said no".into(),
        });
        match decode(encode(&failed).as_bytes()) {
            Ok(Work::Failed(back)) => {
                assert_eq!(back.kind, ErrorKind::OperationFailed);
                assert_eq!(back.message, "graph said no");
            }
            _ => panic!("not a failure"),
        }
    }

    #[test]
    fn malformed_jobs_are_typed_errors_that_quote_nothing() {
        assert_eq!(decode(b"not json").err(), Some(DecodeError::Shape));
        assert_eq!(decode(b"{}").err(), Some(DecodeError::Shape));
        let other = br#"{"v":7,"source":{"call_id":null,"operation_id":"x","client_context":null,"result_info":null,"reason":null,"etag":null},"type":"failed","kind":"io","message":"m"}"#;
        assert_eq!(decode(other).err(), Some(DecodeError::Version(7)));
        let bad_url = br#"{"v":1,"source":{"call_id":null,"operation_id":"x","client_context":null,"result_info":null,"reason":null,"etag":null},"type":"download","location":"no url","token":"secret-tok"}"#;
        let err = decode(bad_url).err().expect("error");
        assert_eq!(err, DecodeError::Location);
        assert!(!err.to_string().contains("secret-tok"));
    }
}
