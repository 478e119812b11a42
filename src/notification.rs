//! Graph `commsNotifications` webhook bodies → recording jobs, skipped items and failed operations.
//!
//! When a bot's `call: recordResponse` finishes, Microsoft Graph POSTs a `commsNotifications`
//! envelope to the bot's callback URL. Its `recordOperation` resource carries the outcome
//! (`status`, `resultInfo`, `clientContext`) and, on success, a short-lived `recordingLocation`
//! URL plus a `recordingAccessToken` that must be presented as a bearer token to download the
//! recording. This module is the pure, synchronous first stage of callscribe: it turns the raw
//! body into one [`Parsed`] item per notification and never touches the network.
//!
//! # Contract
//!
//! * In: the raw POST body (`&[u8]`); the caller has already bounded its size, and
//!   [`MAX_BODY_BYTES`] is a second line of defence.
//! * Out: `Vec<Parsed>`, one entry per notification, in body order:
//!   * [`Parsed::Job`]: a `recordOperation` with `status: completed` and a usable location and
//!     token. Hand it to `fetch`.
//!   * [`Parsed::Skipped`]: anything that is not the end of a recording (call state updates,
//!     participant rosters, `playPromptOperation`, a record operation that is still `running`
//!     or `notStarted`, …) with a [`SkipReason`]. Never an error: Graph sends many of these to
//!     the same callback.
//!   * [`Parsed::Failed`]: a record operation that ended without a recording
//!     ([`FailedOperation::kind`] `operation_failed`) or whose fields are unusable
//!     (`invalid_notification`). Problems in one operation never sink the others in the same
//!     POST.
//!
//!   Every notification whose `resourceData` claims to be a `recordOperation` gives a job or a
//!   failure, except a `running` or `notStarted` one (Graph notifies again when it ends): a
//!   bot waiting for an operation always hears of it, however malformed the notification.
//! * Errors ([`NotificationError`], always kind `invalid_notification`): only problems with the
//!   body as a whole: not JSON, not an object, the wrong envelope, too many notifications.
//!
//! # Decisions where Graph leaves room
//!
//! * **Bare notification.** A body that is a single `commsNotification` object (it has
//!   `resourceData` or `resourceUrl` and no `value`) is accepted as a batch of one. Graph itself
//!   always sends the envelope, but relays and replay tools often forward single items, and the
//!   shape is unambiguous.
//! * **Envelope type.** If the envelope has an `@odata.type` it must be
//!   `#microsoft.graph.commsNotifications` (compared case-insensitively); other Graph
//!   envelopes, such as a `changeNotificationCollection` sent to the wrong endpoint, are
//!   rejected. An envelope without `@odata.type` but with a `value` array is accepted.
//! * **`clientContext` longer than 256 characters** (Graph's documented limit) makes that
//!   operation `invalid_notification`. Truncating would hand the bot a correlation key it never
//!   sent, which is worse than an explicit failure.
//! * **Missing `id`.** The operation id falls back to the one in `resourceUrl`
//!   (`…/operations/{opId}`), which Graph always fills; only when both are missing is the
//!   operation `invalid_notification` (with an empty [`NotificationSource::operation_id`]).
//! * **`resultInfo.subcode` of 0** means "no specific reason": [`NotificationSource::reason`]
//!   then falls back to the beta `completionReason` string, if any.
//! * **Fields of the wrong JSON type.** A record operation whose `status`, `id`,
//!   `clientContext`, `resultInfo` (an object of integer `code` and `subcode` and a string
//!   `message`), `completionReason`, `@odata.etag`, the notification's `resourceUrl`, or, when
//!   completed, its location or token has another type than Graph documents is
//!   `invalid_notification`. `null` counts as absent, as does an empty string where a value
//!   is optional. The failure still carries the ids that could be read: the call id from
//!   `resourceUrl`, the operation id from a string `id` or else `resourceUrl`, and a string
//!   `clientContext` within its limit.
//! * **Status.** `completed` and `failed` (compared case-insensitively) end the operation;
//!   `running` and `notStarted` are skipped because Graph notifies again when the operation
//!   ends. Any other value is `invalid_notification`: a missing or `null` status, a non-string,
//!   a name Graph does not define, and Graph's own `unknownFutureValue` (what v1.0 sends for a
//!   status added after the client's API version). Callscribe cannot tell whether such an
//!   operation will notify again, and a failure the bot hears about beats one it waits for
//!   forever; should a later notification for the same operation follow, it gets its own
//!   result.
//! * **The location's scheme and host** are not judged here: any absolute URL is accepted, and
//!   `fetch`'s URL policy (https only, SSRF guard, allow-list) decides whether to download it.
//!   That keeps one owner for that policy.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

use crate::error::ErrorKind;
use crate::result::{ErrorInfo, RecordingResult, Source};

/// Largest body [`parse`] accepts, in bytes.
///
/// A `commsNotifications` POST is a few kilobytes; the HTTP layer should already cap bodies
/// far below this, so hitting it means the caller forgot to.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Most notifications [`parse`] accepts in one envelope's `value` array.
pub const MAX_NOTIFICATIONS: usize = 1000;

/// Longest `clientContext` accepted, in characters (Graph documents "Max limit is 256 chars").
pub const MAX_CLIENT_CONTEXT_CHARS: usize = 256;

const ENVELOPE_TYPE: &str = "#microsoft.graph.commsNotifications";
const NOTIFICATION_TYPE: &str = "#microsoft.graph.commsNotification";
const RECORD_OPERATION_TYPE: &str = "#microsoft.graph.recordOperation";

/// Why a whole notification body was rejected.
///
/// Every variant has [`kind`](Self::kind) `invalid_notification`; the variants only make the
/// message precise. Messages never quote body content, so they are safe to log and to return
/// to the sender.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NotificationError {
    /// The body is not syntactically valid JSON (or nests deeper than serde_json's limit of 128).
    #[error("notification body is not valid json: {0}")]
    Json(#[from] serde_json::Error),
    /// The body is larger than [`MAX_BODY_BYTES`].
    #[error("notification body is {len} bytes, more than the {limit} byte limit")]
    TooLarge {
        /// Size of the body, in bytes.
        len: usize,
        /// The limit, in bytes.
        limit: usize,
    },
    /// The JSON value at the top level is not an object.
    #[error("notification body is not a json object")]
    NotAnObject,
    /// The top-level object is neither a `commsNotifications` envelope nor a single
    /// `commsNotification`.
    #[error("notification body is not a {ENVELOPE_TYPE} envelope: {reason}")]
    WrongEnvelope {
        /// What was wrong, in fixed words (never quotes the body).
        reason: &'static str,
    },
    /// The envelope's `value` array has more than [`MAX_NOTIFICATIONS`] entries.
    #[error("notification envelope has {count} notifications, more than the limit of {limit}")]
    TooManyNotifications {
        /// Number of entries in `value`.
        count: usize,
        /// The limit.
        limit: usize,
    },
}

impl NotificationError {
    /// The kind written in the JSON result: always [`ErrorKind::InvalidNotification`].
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidNotification
    }
}

/// What became of one notification in the body.
#[derive(Debug, Clone)]
pub enum Parsed {
    /// A completed recording, ready to download.
    Job(RecordingJob),
    /// Not a finished recording: nothing to do.
    Skipped(Skipped),
    /// A record operation that finished without a usable recording.
    Failed(FailedOperation),
}

/// A completed recording operation: where the recording is and the token that unlocks it.
///
/// `Debug` shows only the redacted location (`scheme://host[:port]`, see [`redact_url`]) and
/// never the token, so a job can be logged with `?job`.
#[derive(Clone)]
pub struct RecordingJob {
    /// Which call and operation this recording belongs to, and how it ended.
    pub source: NotificationSource,
    /// `recordingLocation`: the URL to GET. It may carry a signature in its query, so log it
    /// only through [`redact_url`].
    pub location: Url,
    /// `recordingAccessToken`: sent as `Authorization: Bearer …` by `fetch`.
    pub token: AccessToken,
}

impl fmt::Debug for RecordingJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordingJob")
            .field("source", &self.source)
            .field("location", &redact_url(&self.location))
            .field("token", &self.token)
            .finish()
    }
}

/// A notification that needs no work, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// The notification's `resourceUrl` (or `resourceData.@odata.id`), if it had one.
    pub resource_url: Option<String>,
    /// Why it needs no work.
    pub reason: SkipReason,
}

/// Why a notification needs no work; serialized (and displayed) as its snake_case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// The entry of `value` is not a JSON object.
    NotAnObject,
    /// The notification has no `resourceData` (or it is `null`).
    NoResourceData,
    /// `resourceData` is something else: a call, a participant roster, another operation.
    NotARecordOperation,
    /// A record operation with `status: notStarted`; Graph notifies again when it ends.
    OperationNotStarted,
    /// A record operation with `status: running`; Graph notifies again when it ends.
    OperationRunning,
}

impl SkipReason {
    /// The snake_case name (`"not_a_record_operation"`, …), as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotAnObject => "not_an_object",
            Self::NoResourceData => "no_resource_data",
            Self::NotARecordOperation => "not_a_record_operation",
            Self::OperationNotStarted => "operation_not_started",
            Self::OperationRunning => "operation_running",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A record operation that ended without a recording callscribe can download.
#[derive(Debug, Clone, Serialize)]
pub struct FailedOperation {
    /// [`ErrorKind::OperationFailed`] when Graph reported the failure (`status: failed`, or
    /// `completed` without a location or token); [`ErrorKind::InvalidNotification`] when the
    /// operation's fields are unusable (no id at all, a status that does not say how it ended,
    /// a location that is not a URL, an oversized `clientContext`, a field of the wrong JSON
    /// type).
    pub kind: ErrorKind,
    /// Which call and operation failed; `resultInfo` is kept verbatim.
    pub source: NotificationSource,
    /// Human-readable explanation. Never contains the access token or the location URL.
    pub message: String,
}

/// Identifies the call and operation a notification is about, and how the operation ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationSource {
    /// The call id from `resourceUrl` (`…/calls/{callId}/…`), if present.
    pub call_id: Option<String>,
    /// The operation's `id` (falls back to the id in `resourceUrl`; empty only for an
    /// `invalid_notification` that carried neither).
    pub operation_id: String,
    /// The `clientContext` the bot passed to `recordResponse`: its correlation key.
    pub client_context: Option<String>,
    /// `resultInfo` exactly as Graph sent it.
    pub result_info: Option<ResultInfo>,
    /// Why the recording ended, from `resultInfo.subcode` or the beta `completionReason`.
    pub reason: Option<CompletionReason>,
    /// `resourceData.@odata.etag`, if present.
    pub etag: Option<String>,
}

pub use crate::result::ResultInfo;

/// Why a recording operation ended, from `resultInfo.subcode` (or the beta `completionReason`).
///
/// Serialized as a snake_case string. Subcodes callscribe does not know are kept as
/// `Other(n)` and serialized as the string `"other_<n>"` (e.g. `"other_1234"`), so the field
/// is always a string in JSON output and round-trips through [`FromStr`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompletionReason {
    /// 8508: the operation was cancelled (beta `operationCanceled`).
    OperationCancelled,
    /// 8509: the caller stopped speaking for longer than `maxSilenceTimeoutInSeconds`.
    MaxSilenceTimeout,
    /// 8510: the caller never started speaking within `initialSilenceTimeoutInSeconds`.
    InitialSilenceTimeout,
    /// 8511: the prompt before the recording could not be played.
    PlayPromptFailed,
    /// 8512: the beep before the recording could not be played.
    PlayBeepFailed,
    /// 8513: no media arrived from the caller.
    MediaReceiveTimeout,
    /// 8514: the caller pressed one of the `stopTones`.
    StopToneDetected,
    /// 8515: the recording reached `maxRecordDurationInSeconds`.
    MaxRecordDurationReached,
    /// 8588: the recording completed, then media stopped arriving.
    CompletedThenMediaReceiveTimeout,
    /// 8589: Graph throttled the operation.
    Throttled,
    /// Beta `completionReason: unspecifiedError` (no subcode equivalent).
    UnspecifiedError,
    /// A subcode callscribe does not know.
    Other(i64),
}

impl CompletionReason {
    /// Maps a `resultInfo.subcode` to a reason; unknown subcodes become [`Self::Other`].
    pub fn from_subcode(subcode: i64) -> Self {
        match subcode {
            8508 => Self::OperationCancelled,
            8509 => Self::MaxSilenceTimeout,
            8510 => Self::InitialSilenceTimeout,
            8511 => Self::PlayPromptFailed,
            8512 => Self::PlayBeepFailed,
            8513 => Self::MediaReceiveTimeout,
            8514 => Self::StopToneDetected,
            8515 => Self::MaxRecordDurationReached,
            8588 => Self::CompletedThenMediaReceiveTimeout,
            8589 => Self::Throttled,
            n => Self::Other(n),
        }
    }

    /// Maps a beta `completionReason` string (camelCase, compared case-insensitively).
    ///
    /// Returns `None` for `"none"` and for names callscribe does not know.
    pub fn from_beta_name(name: &str) -> Option<Self> {
        const NAMES: [(&str, CompletionReason); 9] = [
            ("operationCanceled", CompletionReason::OperationCancelled),
            ("operationCancelled", CompletionReason::OperationCancelled),
            ("stopToneDetected", CompletionReason::StopToneDetected),
            (
                "maxRecordDurationReached",
                CompletionReason::MaxRecordDurationReached,
            ),
            (
                "initialSilenceTimeout",
                CompletionReason::InitialSilenceTimeout,
            ),
            ("maxSilenceTimeout", CompletionReason::MaxSilenceTimeout),
            ("playPromptFailed", CompletionReason::PlayPromptFailed),
            ("playBeepFailed", CompletionReason::PlayBeepFailed),
            ("mediaReceiveTimeout", CompletionReason::MediaReceiveTimeout),
        ];
        if name.eq_ignore_ascii_case("unspecifiedError") {
            return Some(Self::UnspecifiedError);
        }
        NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, r)| *r)
    }

    /// The Graph subcode for this reason, if it has one.
    pub fn subcode(&self) -> Option<i64> {
        match self {
            Self::OperationCancelled => Some(8508),
            Self::MaxSilenceTimeout => Some(8509),
            Self::InitialSilenceTimeout => Some(8510),
            Self::PlayPromptFailed => Some(8511),
            Self::PlayBeepFailed => Some(8512),
            Self::MediaReceiveTimeout => Some(8513),
            Self::StopToneDetected => Some(8514),
            Self::MaxRecordDurationReached => Some(8515),
            Self::CompletedThenMediaReceiveTimeout => Some(8588),
            Self::Throttled => Some(8589),
            Self::UnspecifiedError => None,
            Self::Other(n) => Some(*n),
        }
    }

    /// The stable snake_case name used in JSON (`"other_<n>"` for unknown subcodes).
    pub fn as_str(&self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            Self::OperationCancelled => "operation_cancelled",
            Self::MaxSilenceTimeout => "max_silence_timeout",
            Self::InitialSilenceTimeout => "initial_silence_timeout",
            Self::PlayPromptFailed => "play_prompt_failed",
            Self::PlayBeepFailed => "play_beep_failed",
            Self::MediaReceiveTimeout => "media_receive_timeout",
            Self::StopToneDetected => "stop_tone_detected",
            Self::MaxRecordDurationReached => "max_record_duration_reached",
            Self::CompletedThenMediaReceiveTimeout => "completed_then_media_receive_timeout",
            Self::Throttled => "throttled",
            Self::UnspecifiedError => "unspecified_error",
            Self::Other(n) => return Cow::Owned(format!("other_{n}")),
        })
    }
}

impl fmt::Display for CompletionReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str())
    }
}

/// Error returned when a string is not a [`CompletionReason`] name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown completion reason")]
pub struct UnknownCompletionReason;

impl FromStr for CompletionReason {
    type Err = UnknownCompletionReason;

    /// Parses the snake_case names produced by [`CompletionReason::as_str`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(n) = s.strip_prefix("other_") {
            return n
                .parse()
                .map(Self::Other)
                .map_err(|_| UnknownCompletionReason);
        }
        let known = [
            Self::OperationCancelled,
            Self::MaxSilenceTimeout,
            Self::InitialSilenceTimeout,
            Self::PlayPromptFailed,
            Self::PlayBeepFailed,
            Self::MediaReceiveTimeout,
            Self::StopToneDetected,
            Self::MaxRecordDurationReached,
            Self::CompletedThenMediaReceiveTimeout,
            Self::Throttled,
            Self::UnspecifiedError,
        ];
        known
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or(UnknownCompletionReason)
    }
}

impl Serialize for CompletionReason {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.as_str())
    }
}

impl<'de> Deserialize<'de> for CompletionReason {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = Cow::<'de, str>::deserialize(deserializer)?;
        s.parse().map_err(|_| {
            serde::de::Error::custom("expected a snake_case completion reason or other_<n>")
        })
    }
}

/// The short-lived `recordingAccessToken`.
///
/// Held in a [`SecretString`] so it is zeroized on drop. It has no `Display`, and `Debug`
/// prints `AccessToken([REDACTED])`, so it cannot leak through logs or error messages by
/// accident. Only `fetch` reads the value, to build the `Authorization` header.
#[derive(Clone)]
pub struct AccessToken(SecretString);

impl AccessToken {
    /// Wraps a token string.
    pub fn new(token: impl Into<String>) -> Self {
        Self(SecretString::from(token.into()))
    }

    /// The token itself. Crate-private on purpose: the only legitimate reader is `fetch`.
    #[cfg_attr(not(feature = "fetch"), allow(dead_code))]
    pub(crate) fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken([REDACTED])")
    }
}

/// A URL reduced to `scheme://host[:port]`, safe for logs, error messages and results.
///
/// Only the host survives: the query may hold a signature, and the path of a recording
/// location names the recording itself, which results and logs must not carry. Userinfo and
/// fragment are dropped too.
pub fn redact_url(url: &Url) -> String {
    let Some(host) = url.host() else {
        // `mailto:`, `data:` and other URLs without a host: their opaque part may itself be
        // sensitive, and no such URL is ever fetched anyway.
        return format!("{}:", url.scheme());
    };
    match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    }
}

/// Parses a `commsNotifications` POST body.
///
/// Returns one [`Parsed`] per notification, in order. Only body-level problems are errors;
/// see the module docs for what each outcome means and for the decisions made where Graph is
/// silent.
///
/// # Errors
///
/// [`NotificationError`] (kind `invalid_notification`) when the body is larger than
/// [`MAX_BODY_BYTES`], is not JSON, is not an object, is neither a `commsNotifications`
/// envelope nor a single `commsNotification`, or has more than [`MAX_NOTIFICATIONS`]
/// entries.
pub fn parse(body: &[u8]) -> Result<Vec<Parsed>, NotificationError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(NotificationError::TooLarge {
            len: body.len(),
            limit: MAX_BODY_BYTES,
        });
    }
    // Parse into a `Value` first: a syntax error then never quotes body content (which may
    // include a token), and a badly typed field in one notification cannot fail the others.
    let root: Value = serde_json::from_slice(body)?;
    let Value::Object(root) = root else {
        return Err(NotificationError::NotAnObject);
    };
    let odata_type = root.get("@odata.type").and_then(Value::as_str);
    match root.get("value") {
        Some(Value::Array(items)) => {
            if odata_type.is_some_and(|t| !same_type(t, ENVELOPE_TYPE)) {
                return Err(NotificationError::WrongEnvelope {
                    reason: "@odata.type names a different collection",
                });
            }
            if items.len() > MAX_NOTIFICATIONS {
                return Err(NotificationError::TooManyNotifications {
                    count: items.len(),
                    limit: MAX_NOTIFICATIONS,
                });
            }
            Ok(items.iter().map(parse_notification).collect())
        }
        Some(_) => Err(NotificationError::WrongEnvelope {
            reason: "`value` is not an array",
        }),
        None => {
            let looks_like_notification =
                root.contains_key("resourceData") || root.contains_key("resourceUrl");
            let type_ok = odata_type.is_none_or(|t| same_type(t, NOTIFICATION_TYPE));
            if looks_like_notification && type_ok {
                Ok(vec![parse_object(&root)])
            } else {
                Err(NotificationError::WrongEnvelope {
                    reason: "no `value` array and not a single commsNotification",
                })
            }
        }
    }
}

/// Compares OData type names, ignoring case and an optional leading `#`.
fn same_type(actual: &str, expected: &str) -> bool {
    let strip = |s: &str| s.strip_prefix('#').unwrap_or(s).to_owned();
    strip(actual).eq_ignore_ascii_case(&strip(expected))
}

fn skipped(resource_url: Option<&str>, reason: SkipReason) -> Parsed {
    Parsed::Skipped(Skipped {
        resource_url: resource_url.map(str::to_owned),
        reason,
    })
}

fn parse_notification(item: &Value) -> Parsed {
    match item {
        Value::Object(obj) => parse_object(obj),
        _ => skipped(None, SkipReason::NotAnObject),
    }
}

fn parse_object(obj: &Map<String, Value>) -> Parsed {
    let data = obj.get("resourceData");
    let resource_url = obj.get("resourceUrl").and_then(Value::as_str).or_else(|| {
        data.and_then(|d| d.get("@odata.id"))
            .and_then(Value::as_str)
    });
    let data = match data {
        None | Some(Value::Null) => return skipped(resource_url, SkipReason::NoResourceData),
        // Participant rosters arrive as arrays of participants: not ours either.
        Some(Value::Object(data)) => data,
        Some(_) => return skipped(resource_url, SkipReason::NotARecordOperation),
    };
    let is_record_op = data
        .get("@odata.type")
        .and_then(Value::as_str)
        .is_some_and(|t| same_type(t, RECORD_OPERATION_TYPE));
    if !is_record_op {
        return skipped(resource_url, SkipReason::NotARecordOperation);
    }
    // From here on the value claims to be a record operation: it gives exactly one job or
    // failure, unless Graph will notify again.
    let status = match data.get("status") {
        Some(Value::String(s)) => Some(s.as_str()),
        _ => None,
    };
    if status.is_some_and(|s| s.eq_ignore_ascii_case("running")) {
        return skipped(resource_url, SkipReason::OperationRunning);
    }
    if status.is_some_and(|s| s.eq_ignore_ascii_case("notStarted")) {
        return skipped(resource_url, SkipReason::OperationNotStarted);
    }
    record_operation(obj, data)
}

/// How a record operation's `status` says it ended.
enum Ending {
    Completed,
    Failed,
}

/// Builds the outcome of a record operation that is neither `running` nor `notStarted`.
///
/// Reads every field it can, noting each one that has the wrong type, so that even an
/// `invalid_notification` failure carries the ids a bot correlates on.
fn record_operation(notification: &Map<String, Value>, data: &Map<String, Value>) -> Parsed {
    let mut fields = Fields {
        data,
        problems: Vec::new(),
    };
    let ids = match notification.get("resourceUrl") {
        None | Some(Value::Null) => data.get("@odata.id").and_then(Value::as_str),
        Some(Value::String(url)) => Some(url.as_str()),
        Some(_) => {
            fields.problem("resourceUrl is not a string");
            None
        }
    }
    .map(ResourceIds::from_resource_url)
    .unwrap_or_default();

    let ending = match data.get("status") {
        None | Some(Value::Null) => {
            fields.problem("record operation has no status");
            None
        }
        Some(Value::String(s)) if s.eq_ignore_ascii_case("completed") => Some(Ending::Completed),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("failed") => Some(Ending::Failed),
        // Never quoted: the value is the sender's, of any length.
        Some(Value::String(_)) => {
            fields
                .problem("record operation status is not completed, failed, running or notStarted");
            None
        }
        Some(_) => {
            fields.problem("status is not a string");
            None
        }
    };
    let problems_before = fields.problems.len();
    let id = fields.string("id");
    let id_mistyped = fields.problems.len() > problems_before;
    let operation_id = match (id, ids.operation_id) {
        (Some(id), _) => id.to_owned(),
        (None, Some(id)) => id,
        (None, None) => {
            if !id_mistyped {
                fields.problem("record operation has no id and its resourceUrl names no operation");
            }
            String::new()
        }
    };
    let client_context = match fields.string("clientContext") {
        Some(ctx) if ctx.chars().count() > MAX_CLIENT_CONTEXT_CHARS => {
            fields.problems.push(format!(
                "clientContext is longer than {MAX_CLIENT_CONTEXT_CHARS} characters"
            ));
            None
        }
        ctx => ctx.map(str::to_owned),
    };
    let result_info = fields.result_info();
    let beta_reason = fields.string("completionReason");
    let reason = match result_info.as_ref().and_then(|ri| ri.subcode) {
        Some(subcode) if subcode != 0 => Some(CompletionReason::from_subcode(subcode)),
        _ => beta_reason.and_then(CompletionReason::from_beta_name),
    };
    let etag = fields.string("@odata.etag").map(str::to_owned);
    // v1.0 names first, then the older beta ones. Only a completed operation has them.
    let (location, token) = match ending {
        Some(Ending::Completed) => (
            fields.first_string(&["recordingLocation", "recordResourceLocation"]),
            fields.first_string(&["recordingAccessToken", "recordResourceAccessToken"]),
        ),
        _ => (None, None),
    };
    let source = NotificationSource {
        call_id: ids.call_id,
        operation_id,
        client_context,
        result_info,
        reason,
        etag,
    };
    let fail = |kind: ErrorKind, source: NotificationSource, message: String| {
        Parsed::Failed(FailedOperation {
            kind,
            source,
            message,
        })
    };

    let ending = match ending {
        Some(ending) if fields.problems.is_empty() => ending,
        _ => {
            let message = fields.problems.join("; ");
            return fail(ErrorKind::InvalidNotification, source, message);
        }
    };
    if let Ending::Failed = ending {
        let message = source
            .result_info
            .as_ref()
            .and_then(|ri| ri.message.clone())
            .unwrap_or_else(|| "recording operation failed".to_owned());
        return fail(ErrorKind::OperationFailed, source, message);
    }
    let (location, token) = match (location, token) {
        (Some(l), Some(t)) => (l, t),
        (l, _) => {
            let missing = if l.is_none() {
                "recordingLocation"
            } else {
                "recordingAccessToken"
            };
            let message = format!("recording operation completed without a {missing}");
            return fail(ErrorKind::OperationFailed, source, message);
        }
    };
    // The location is never echoed: it can be a signed URL.
    let Ok(location) = Url::parse(location) else {
        let message = "recordingLocation is not an absolute url".to_owned();
        return fail(ErrorKind::InvalidNotification, source, message);
    };
    Parsed::Job(RecordingJob {
        source,
        location,
        token: AccessToken::new(token),
    })
}

/// Reads a record operation's fields leniently, noting each one of the wrong JSON type.
///
/// Problems are fixed words naming the field, never its value (a token, a signed URL or
/// arbitrary sender text).
struct Fields<'a> {
    data: &'a Map<String, Value>,
    problems: Vec<String>,
}

impl<'a> Fields<'a> {
    fn problem(&mut self, problem: &str) {
        self.problems.push(problem.to_owned());
    }

    /// An optional string field; `null` and blank strings count as absent.
    fn string(&mut self, name: &str) -> Option<&'a str> {
        match self.data.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(_) => {
                self.problems.push(format!("{name} is not a string"));
                None
            }
        }
    }

    /// The first present string among `names` (current name first, then deprecated aliases).
    fn first_string(&mut self, names: &[&str]) -> Option<&'a str> {
        names.iter().find_map(|name| self.string(name))
    }

    /// `resultInfo`, verbatim; `None` when absent or of the wrong shape.
    fn result_info(&mut self) -> Option<ResultInfo> {
        let ri = match self.data.get("resultInfo") {
            None | Some(Value::Null) => return None,
            Some(Value::Object(ri)) => ri,
            Some(_) => {
                self.problem("resultInfo is not an object");
                return None;
            }
        };
        let integer = |name: &str| match ri.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| format!("resultInfo.{name} is not an integer")),
        };
        let message = match ri.get("message") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(m)) => Ok(Some(m.clone())),
            Some(_) => Err("resultInfo.message is not a string".to_owned()),
        };
        match (integer("code"), integer("subcode"), message) {
            (Ok(code), Ok(subcode), Ok(message)) => Some(ResultInfo {
                code,
                subcode,
                message,
            }),
            (code, subcode, message) => {
                let errors = [code.err(), subcode.err(), message.err()];
                self.problems.extend(errors.into_iter().flatten());
                None
            }
        }
    }
}

/// Call and operation ids found in a `resourceUrl`.
#[derive(Debug, Default, PartialEq, Eq)]
struct ResourceIds {
    call_id: Option<String>,
    operation_id: Option<String>,
}

impl ResourceIds {
    /// Finds `calls/{callId}[/operations/{opId}]` in any of the forms Graph has used:
    /// `/communications/calls/…`, `/app/calls/…`, or an absolute `https://graph…/v1.0/…` URL.
    /// Matching the `calls` segment instead of a fixed prefix keeps this working across
    /// API versions and tenants' relays.
    fn from_resource_url(resource_url: &str) -> Self {
        // Drop scheme and authority of an absolute URL, then any query or fragment.
        let path = match resource_url.find("://") {
            Some(i) => {
                let rest = &resource_url[i + 3..];
                rest.find('/').map_or("", |j| &rest[j..])
            }
            None => resource_url,
        };
        let path = path.split(['?', '#']).next().unwrap_or("");
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut ids = Self::default();
        let Some(calls) = segments
            .iter()
            .position(|s| s.eq_ignore_ascii_case("calls"))
        else {
            return ids;
        };
        ids.call_id = segments.get(calls + 1).map(|s| (*s).to_owned());
        if segments
            .get(calls + 2)
            .is_some_and(|s| s.eq_ignore_ascii_case("operations"))
        {
            ids.operation_id = segments.get(calls + 3).map(|s| (*s).to_owned());
        }
        ids
    }
}

/// The result for an operation Graph reported as failed (or that can't be acted on).
pub fn failed_result(failed: FailedOperation) -> RecordingResult {
    RecordingResult::failed(
        source_of(&failed.source),
        ErrorInfo {
            kind: failed.kind,
            message: failed.message,
        },
    )
}

/// The result `source` for a notification's operation.
pub fn source_of(n: &NotificationSource) -> Source {
    Source {
        path: None,
        call_id: n.call_id.clone(),
        operation_id: Some(n.operation_id.clone()).filter(|id| !id.is_empty()),
        client_context: n.client_context.clone(),
        result_info: n.result_info.clone(),
        reason: n.reason.map(|r| r.as_str().into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/notifications");

    fn sample(name: &str) -> Vec<u8> {
        std::fs::read(format!("{SAMPLES}/{name}")).expect("sample file")
    }

    fn only(mut parsed: Vec<Parsed>) -> Parsed {
        assert_eq!(parsed.len(), 1, "{parsed:?}");
        parsed.remove(0)
    }

    fn job(p: Parsed) -> RecordingJob {
        match p {
            Parsed::Job(j) => j,
            other => panic!("expected a job, got {other:?}"),
        }
    }

    fn failed(p: Parsed) -> FailedOperation {
        match p {
            Parsed::Failed(f) => f,
            other => panic!("expected a failed operation, got {other:?}"),
        }
    }

    fn skip_reason(p: &Parsed) -> SkipReason {
        match p {
            Parsed::Skipped(s) => s.reason,
            other => panic!("expected skipped, got {other:?}"),
        }
    }

    /// A one-notification envelope around `resource_data`.
    fn envelope(resource_data: Value) -> Vec<u8> {
        json!({
            "@odata.type": "#microsoft.graph.commsNotifications",
            "value": [{
                "@odata.type": "#microsoft.graph.commsNotification",
                "changeType": "deleted",
                "resourceUrl": "/communications/calls/CALL1/operations/OP1",
                "resourceData": resource_data,
            }]
        })
        .to_string()
        .into_bytes()
    }

    fn record_op(extra: Value) -> Value {
        let mut base = json!({
            "@odata.type": "#microsoft.graph.recordOperation",
            "id": "op-1",
            "clientContext": "ctx-1",
            "status": "completed",
            "resultInfo": {"code": 200, "subcode": 8514, "message": "stop tone"},
            "recordingLocation": "https://media.example.test/rec/1?sig=SECRETSIG",
            "recordingAccessToken": "eyJ0eXAi.fake.token",
        });
        if let (Value::Object(b), Value::Object(e)) = (&mut base, extra) {
            for (k, v) in e {
                b.insert(k, v);
            }
        }
        base
    }

    #[test]
    fn completed_sample_becomes_a_job() {
        let j = job(only(
            parse(&sample("record-completed.json")).expect("parse"),
        ));
        assert_eq!(j.location.host_str(), Some("media.example.test"));
        assert_eq!(
            j.token.expose(),
            "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.fake.fake"
        );
        assert_eq!(
            j.source.call_id.as_deref(),
            Some("57DAB8B1894C409AB240BD8BEAE78896")
        );
        assert_eq!(
            j.source.operation_id,
            "0fe0623f-d628-42ed-b4bd-8ac290072cc5"
        );
        assert_eq!(
            j.source.client_context.as_deref(),
            Some("d45324c1-fcb5-430a-902c-f20af696537c")
        );
        assert_eq!(
            j.source.reason,
            Some(CompletionReason::MaxRecordDurationReached)
        );
        assert_eq!(j.source.etag.as_deref(), Some("W/\"54451\""));
        let ri = j.source.result_info.as_ref().expect("result info");
        assert_eq!((ri.code, ri.subcode), (Some(200), Some(8515)));
    }

    #[test]
    fn beta_field_names_are_accepted() {
        let j = job(only(
            parse(&sample("record-completed-beta-names.json")).expect("parse"),
        ));
        assert_eq!(j.location.host_str(), Some("media.example.test"));
        assert_eq!(
            j.token.expose(),
            "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.beta.fake"
        );
        // No subcode in this sample: the beta completionReason string is used.
        assert_eq!(j.source.reason, Some(CompletionReason::StopToneDetected));
        assert_eq!(
            j.source.call_id.as_deref(),
            Some("421f0c00-1b2d-4a8e-9f2a-5c1e2d3f4a5b")
        );
    }

    #[test]
    fn failed_sample_keeps_result_info() {
        let f = failed(only(
            parse(&sample("record-failed-initial-silence.json")).expect("parse"),
        ));
        assert_eq!(f.kind, ErrorKind::OperationFailed);
        assert_eq!(
            f.source.reason,
            Some(CompletionReason::InitialSilenceTimeout)
        );
        let ri = f.source.result_info.as_ref().expect("result info");
        assert_eq!((ri.code, ri.subcode), (Some(400), Some(8510)));
        assert_eq!(f.message, ri.message.clone().expect("message"));
        assert_eq!(
            f.source.client_context.as_deref(),
            Some("ask-account-number#7")
        );
    }

    #[test]
    fn mixed_batch_keeps_order_and_reasons() {
        const RECORD_OP_ID: &str = "b7a1c2d3-0000-4000-8000-000000000003";
        let parsed = parse(&sample("mixed-batch.json")).expect("parse");
        assert_eq!(parsed.len(), 4);
        assert_eq!(skip_reason(&parsed[0]), SkipReason::NotARecordOperation);
        assert_eq!(skip_reason(&parsed[1]), SkipReason::NotARecordOperation);
        assert!(matches!(&parsed[2], Parsed::Job(j) if j.source.operation_id == RECORD_OP_ID));
        assert_eq!(skip_reason(&parsed[3]), SkipReason::OperationRunning);
        match &parsed[0] {
            Parsed::Skipped(s) => assert_eq!(
                s.resource_url.as_deref(),
                Some("/communications/calls/9a1b2c3d-0000-4000-8000-00000000c0de")
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn invalid_json_and_wrong_envelope_samples_are_rejected() {
        for name in ["invalid-json.json", "wrong-envelope.json"] {
            let err = parse(&sample(name)).expect_err(name);
            assert_eq!(err.kind(), ErrorKind::InvalidNotification, "{name}: {err}");
        }
    }

    #[test]
    fn body_level_errors() {
        let cases: [(&[u8], &str); 7] = [
            (b"", "not valid json"),
            (b"[1,2]", "not a json object"),
            (b"\"x\"", "not a json object"),
            (b"{\"value\": {}}", "not an array"),
            (b"{\"hello\": 1}", "no `value` array"),
            (
                b"{\"@odata.type\":\"#microsoft.graph.changeNotificationCollection\",\"value\":[]}",
                "different collection",
            ),
            (
                b"{\"@odata.type\":\"#microsoft.graph.call\",\"resourceData\":{}}",
                "no `value` array",
            ),
        ];
        for (body, expected) in cases {
            let err = parse(body).expect_err(expected);
            assert_eq!(err.kind(), ErrorKind::InvalidNotification);
            assert!(err.to_string().contains(expected), "{err}");
        }
    }

    #[test]
    fn too_many_notifications_and_too_large_bodies() {
        let items: Vec<Value> = (0..=MAX_NOTIFICATIONS).map(|_| json!({})).collect();
        let body = json!({"value": items}).to_string();
        let err = parse(body.as_bytes()).expect_err("too many");
        assert!(matches!(
            err,
            NotificationError::TooManyNotifications { count: 1001, .. }
        ));

        let items: Vec<Value> = (0..MAX_NOTIFICATIONS).map(|_| json!({})).collect();
        let body = json!({"value": items}).to_string();
        assert_eq!(
            parse(body.as_bytes()).expect("at the limit").len(),
            MAX_NOTIFICATIONS
        );

        let big = vec![b' '; MAX_BODY_BYTES + 1];
        assert!(matches!(
            parse(&big),
            Err(NotificationError::TooLarge { .. })
        ));
    }

    #[test]
    fn deep_nesting_is_rejected_not_overflowing() {
        let body = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let err = parse(body.as_bytes()).expect_err("recursion limit");
        assert_eq!(err.kind(), ErrorKind::InvalidNotification);
    }

    #[test]
    fn errors_never_quote_the_body() {
        // A syntax error right after a token must not echo the token.
        let body = br#"{"value":[{"resourceData":{"recordingAccessToken":"eyJSECRET" oops}}]}"#;
        let err = parse(body).expect_err("bad json");
        assert!(!format!("{err} {err:?}").contains("eyJSECRET"));
    }

    #[test]
    fn bare_notification_is_a_batch_of_one() {
        let body = json!({
            "@odata.type": "#microsoft.graph.commsNotification",
            "changeType": "deleted",
            "resourceUrl": "/communications/calls/C/operations/O",
            "resourceData": record_op(json!({})),
        });
        let j = job(only(parse(body.to_string().as_bytes()).expect("parse")));
        assert_eq!(j.source.call_id.as_deref(), Some("C"));
        assert_eq!(j.source.operation_id, "op-1");
    }

    #[test]
    fn envelope_without_odata_type_is_accepted() {
        let body = json!({"value": [{"resourceData": record_op(json!({}))}]});
        assert!(matches!(
            only(parse(body.to_string().as_bytes()).expect("parse")),
            Parsed::Job(_)
        ));
    }

    #[test]
    fn unfinished_operations_are_skipped() {
        let cases = [
            (json!({"status": "running"}), SkipReason::OperationRunning),
            (
                json!({"status": "notStarted"}),
                SkipReason::OperationNotStarted,
            ),
            (
                json!({"status": "NOTSTARTED"}),
                SkipReason::OperationNotStarted,
            ),
            // Graph notifies again when it ends: a badly typed field waits for that one.
            (
                json!({"status": "running", "id": 7, "resultInfo": "x"}),
                SkipReason::OperationRunning,
            ),
        ];
        for (extra, reason) in cases {
            let p = only(parse(&envelope(record_op(extra))).expect("parse"));
            assert_eq!(skip_reason(&p), reason);
        }
    }

    /// `record_op(extra)` without `field`.
    fn record_op_without(field: &str, extra: Value) -> Value {
        let mut op = record_op(extra);
        op.as_object_mut().expect("object").remove(field);
        op
    }

    #[test]
    fn wrong_typed_fields_are_invalid_notification_with_the_ids_that_could_be_read() {
        // (resourceData, message fragment, operation id, clientContext in the failure)
        let cases = [
            (
                record_op(json!({"status": 3})),
                "status is not a string",
                "op-1",
                Some("ctx-1"),
            ),
            (
                record_op(json!({"status": true})),
                "status is not a string",
                "op-1",
                Some("ctx-1"),
            ),
            (
                record_op(json!({"status": {}})),
                "status is not a string",
                "op-1",
                Some("ctx-1"),
            ),
            (
                record_op(json!({"status": null})),
                "has no status",
                "op-1",
                Some("ctx-1"),
            ),
            (
                record_op_without("status", json!({})),
                "has no status",
                "op-1",
                Some("ctx-1"),
            ),
            (
                record_op(json!({"status": "paused"})),
                "status is not completed",
                "op-1",
                Some("ctx-1"),
            ),
            (
                record_op(json!({"status": "unknownFutureValue"})),
                "status is not completed",
                "op-1",
                Some("ctx-1"),
            ),
            (
                record_op(json!({"status": ""})),
                "status is not completed",
                "op-1",
                Some("ctx-1"),
            ),
            // The operation id falls back to resourceUrl's.
            (
                record_op(json!({"id": 42})),
                "id is not a string",
                "OP1",
                Some("ctx-1"),
            ),
            (
                record_op(json!({"id": ["a"]})),
                "id is not a string",
                "OP1",
                Some("ctx-1"),
            ),
            // A failed operation with a bad id is invalid, not operation_failed.
            (
                record_op(json!({"id": 42, "status": "failed"})),
                "id is not a string",
                "OP1",
                Some("ctx-1"),
            ),
            (
                record_op(json!({"clientContext": 9})),
                "clientContext is not a string",
                "op-1",
                None,
            ),
            (
                record_op(json!({"recordingLocation": 5})),
                "recordingLocation is not a string",
                "op-1",
                Some("ctx-1"),
            ),
            (
                record_op(json!({"recordingLocation": {"url": "https://x.test/"}})),
                "recordingLocation is not a string",
                "op-1",
                Some("ctx-1"),
            ),
            (
                record_op_without("recordingLocation", json!({"recordResourceLocation": 5})),
                "recordResourceLocation is not a string",
                "op-1",
                Some("ctx-1"),
            ),
            (
                record_op(json!({"recordingAccessToken": false})),
                "recordingAccessToken is not a string",
                "op-1",
                Some("ctx-1"),
            ),
            (
                record_op(json!({"resultInfo": "ok"})),
                "resultInfo is not an object",
                "op-1",
                Some("ctx-1"),
            ),
            (
                record_op(json!({"resultInfo": [200]})),
                "resultInfo is not an object",
                "op-1",
                Some("ctx-1"),
            ),
            (
                record_op(json!({"resultInfo": {"code": "200"}})),
                "resultInfo.code is not an integer",
                "op-1",
                Some("ctx-1"),
            ),
            (
                record_op(json!({"resultInfo": {"code": 200, "subcode": 8514.5}})),
                "resultInfo.subcode is not an integer",
                "op-1",
                Some("ctx-1"),
            ),
            (
                record_op(json!({"resultInfo": {"code": 200, "message": 1}})),
                "resultInfo.message is not a string",
                "op-1",
                Some("ctx-1"),
            ),
            (
                record_op(json!({"completionReason": 8514})),
                "completionReason is not a string",
                "op-1",
                Some("ctx-1"),
            ),
            (
                record_op(json!({"@odata.etag": 1})),
                "@odata.etag is not a string",
                "op-1",
                Some("ctx-1"),
            ),
            // Several problems are all named.
            (
                record_op(json!({"status": 1, "id": 2, "clientContext": 3})),
                "status is not a string; id is not a string; clientContext is not a string",
                "OP1",
                None,
            ),
        ];
        for (data, fragment, operation_id, client_context) in cases {
            let what = data.to_string();
            let f = failed(only(parse(&envelope(data)).expect("parse")));
            assert_eq!(
                f.kind,
                ErrorKind::InvalidNotification,
                "{what}: {}",
                f.message
            );
            assert!(f.message.contains(fragment), "{what}: {}", f.message);
            assert_eq!(f.source.call_id.as_deref(), Some("CALL1"), "{what}");
            assert_eq!(f.source.operation_id, operation_id, "{what}");
            assert_eq!(f.source.client_context.as_deref(), client_context, "{what}");
            assert!(
                !f.message.contains("SECRETSIG") && !f.message.contains("eyJ"),
                "{what}"
            );
        }
    }

    #[test]
    fn wrong_typed_resource_url_is_invalid_and_the_id_still_comes_from_the_operation() {
        let body = json!({"value": [{"resourceUrl": 17, "resourceData": record_op(json!({}))}]});
        let f = failed(only(parse(body.to_string().as_bytes()).expect("parse")));
        assert_eq!(f.kind, ErrorKind::InvalidNotification);
        assert_eq!(f.message, "resourceUrl is not a string");
        assert_eq!(
            (f.source.call_id, f.source.operation_id.as_str()),
            (None, "op-1")
        );
    }

    #[test]
    fn a_failed_operation_ignores_location_and_token() {
        // They are only read from a completed operation, so their type does not matter here.
        let extra = json!({"status": "failed", "recordingLocation": 1, "recordingAccessToken": 2});
        let f = failed(only(parse(&envelope(record_op(extra))).expect("parse")));
        assert_eq!(f.kind, ErrorKind::OperationFailed);
        assert_eq!(f.message, "stop tone");
    }

    #[test]
    fn every_value_that_claims_to_be_a_record_operation_gives_one_outcome() {
        let fields = [
            "status",
            "id",
            "clientContext",
            "resultInfo",
            "completionReason",
            "@odata.etag",
            "recordingLocation",
            "recordingAccessToken",
            "recordResourceLocation",
            "recordResourceAccessToken",
        ];
        let values = [
            json!(null),
            json!(0),
            json!(-1.5),
            json!(true),
            json!([]),
            json!({}),
            json!(""),
            json!("x"),
            json!("running"),
        ];
        for status in ["completed", "failed"] {
            for field in fields {
                for value in &values {
                    let mut op = record_op(json!({"status": status}));
                    op[field] = value.clone();
                    let what = op.to_string();
                    let outcome = only(parse(&envelope(op)).expect("parse"));
                    let running = field == "status" && value == "running";
                    assert_eq!(matches!(outcome, Parsed::Skipped(_)), running, "{what}");
                }
            }
        }
    }

    #[test]
    fn other_notifications_are_skipped_with_a_reason() {
        let body = json!({"value": [
            42,
            {"resourceUrl": "/communications/calls/C"},
            {"resourceUrl": "/communications/calls/C/participants", "resourceData": [{"id": "p"}]},
            {"resourceData": {
                "@odata.type": "#microsoft.graph.playPromptOperation",
                "status": "completed",
            }},
            {"resourceData": {"status": "completed"}},
        ]});
        let parsed = parse(body.to_string().as_bytes()).expect("parse");
        let reasons: Vec<SkipReason> = parsed.iter().map(skip_reason).collect();
        assert_eq!(
            reasons,
            [
                SkipReason::NotAnObject,
                SkipReason::NoResourceData,
                SkipReason::NotARecordOperation,
                SkipReason::NotARecordOperation,
                SkipReason::NotARecordOperation
            ]
        );
    }

    #[test]
    fn skip_reasons_display_and_serialize_as_their_names() {
        let table = [
            (SkipReason::NotAnObject, "not_an_object"),
            (SkipReason::NoResourceData, "no_resource_data"),
            (SkipReason::NotARecordOperation, "not_a_record_operation"),
            (SkipReason::OperationNotStarted, "operation_not_started"),
            (SkipReason::OperationRunning, "operation_running"),
        ];
        for (reason, name) in table {
            assert_eq!(reason.to_string(), name);
            assert_eq!(
                serde_json::to_value(reason).expect("serialize"),
                json!(name)
            );
        }
    }

    #[test]
    fn completed_without_location_or_token_is_operation_failed() {
        for (extra, missing) in [
            (json!({"recordingLocation": null}), "recordingLocation"),
            (json!({"recordingLocation": ""}), "recordingLocation"),
            (
                json!({"recordingAccessToken": "  "}),
                "recordingAccessToken",
            ),
        ] {
            let f = failed(only(parse(&envelope(record_op(extra))).expect("parse")));
            assert_eq!(f.kind, ErrorKind::OperationFailed);
            assert!(f.message.contains(missing), "{}", f.message);
            assert_eq!(
                f.source.result_info.as_ref().and_then(|r| r.code),
                Some(200)
            );
        }
    }

    #[test]
    fn per_operation_problems_do_not_sink_the_batch() {
        let long_ctx = "x".repeat(MAX_CLIENT_CONTEXT_CHARS + 1);
        let body = json!({"value": [
            {"resourceData": record_op(json!({"recordingLocation": "not a url ?sig=SECRETSIG"}))},
            {"resourceData": record_op(json!({"clientContext": long_ctx}))},
            {"resourceData": record_op(json!({"recordingAccessToken": 12345}))},
            {"resourceData": record_op(json!({"id": null}))},
            {"resourceData": record_op(json!({}))},
        ]});
        let parsed = parse(body.to_string().as_bytes()).expect("parse");
        assert_eq!(parsed.len(), 5);
        for p in &parsed[..4] {
            let Parsed::Failed(f) = p else {
                panic!("{p:?}")
            };
            assert_eq!(f.kind, ErrorKind::InvalidNotification, "{}", f.message);
            assert!(!f.message.contains("SECRETSIG") && !f.message.contains("eyJ"));
        }
        // An oversized clientContext is not echoed; a valid one is kept for correlation.
        let Parsed::Failed(long) = &parsed[1] else {
            unreachable!()
        };
        assert_eq!(long.source.client_context, None);
        let Parsed::Failed(bad_url) = &parsed[0] else {
            unreachable!()
        };
        assert_eq!(bad_url.source.client_context.as_deref(), Some("ctx-1"));
        let Parsed::Failed(no_id) = &parsed[3] else {
            unreachable!()
        };
        assert_eq!(no_id.source.operation_id, "");
        assert!(matches!(parsed[4], Parsed::Job(_)));
    }

    #[test]
    fn client_context_limit_counts_characters() {
        let at_limit = "é".repeat(MAX_CLIENT_CONTEXT_CHARS); // 512 bytes, 256 chars
        let j = job(only(
            parse(&envelope(record_op(json!({"clientContext": at_limit})))).expect("parse"),
        ));
        assert_eq!(
            j.source.client_context.map(|c| c.chars().count()),
            Some(256)
        );
    }

    #[test]
    fn missing_id_falls_back_to_resource_url() {
        let j = job(only(
            parse(&envelope(record_op(json!({"id": null})))).expect("parse"),
        ));
        assert_eq!(j.source.operation_id, "OP1");
        assert_eq!(j.source.call_id.as_deref(), Some("CALL1"));
    }

    #[test]
    fn failed_without_result_info_has_a_default_message() {
        let extra = json!({"status": "failed", "resultInfo": null});
        let f = failed(only(parse(&envelope(record_op(extra))).expect("parse")));
        assert_eq!(f.kind, ErrorKind::OperationFailed);
        assert_eq!(f.message, "recording operation failed");
        assert_eq!(f.source.reason, None);
    }

    #[test]
    fn resource_url_forms() {
        let cases = [
            ("/communications/calls/A/operations/B", Some("A"), Some("B")),
            ("/app/calls/A/operations/B", Some("A"), Some("B")),
            (
                "https://graph.microsoft.com/v1.0/communications/calls/A/operations/B",
                Some("A"),
                Some("B"),
            ),
            (
                "https://graph.microsoft.com/beta/app/calls/A/operations/B?x=1#f",
                Some("A"),
                Some("B"),
            ),
            ("communications/Calls/A/Operations/B/", Some("A"), Some("B")),
            ("/communications/calls/A", Some("A"), None),
            ("/communications/calls/A/participants/P", Some("A"), None),
            ("/communications/calls/", None, None),
            ("/subscriptions/S", None, None),
            ("", None, None),
            ("https://host", None, None),
        ];
        for (url, call, op) in cases {
            let ids = ResourceIds::from_resource_url(url);
            assert_eq!(ids.call_id.as_deref(), call, "{url}");
            assert_eq!(ids.operation_id.as_deref(), op, "{url}");
        }
    }

    #[test]
    fn completion_reasons_map_and_round_trip() {
        let table = [
            (8508, "operation_cancelled"),
            (8509, "max_silence_timeout"),
            (8510, "initial_silence_timeout"),
            (8511, "play_prompt_failed"),
            (8512, "play_beep_failed"),
            (8513, "media_receive_timeout"),
            (8514, "stop_tone_detected"),
            (8515, "max_record_duration_reached"),
            (8588, "completed_then_media_receive_timeout"),
            (8589, "throttled"),
            (1234, "other_1234"),
            (-7, "other_-7"),
        ];
        for (code, name) in table {
            let reason = CompletionReason::from_subcode(code);
            assert_eq!(reason.as_str(), name);
            assert_eq!(reason.subcode(), Some(code));
            let json = serde_json::to_string(&reason).expect("serialize");
            assert_eq!(json, format!("\"{name}\""));
            let back: CompletionReason = serde_json::from_str(&json).expect("deserialize");
            assert_eq!(back, reason);
        }
        assert!(serde_json::from_str::<CompletionReason>("\"other_x\"").is_err());
        assert!(serde_json::from_str::<CompletionReason>("\"nope\"").is_err());
        let unspecified: CompletionReason =
            serde_json::from_str("\"unspecified_error\"").expect("deserialize");
        assert_eq!(unspecified, CompletionReason::UnspecifiedError);
    }

    #[test]
    fn subcode_wins_over_beta_reason_and_zero_falls_back() {
        let both = record_op(json!({
            "resultInfo": {"code": 200, "subcode": 8509},
            "completionReason": "stopToneDetected",
        }));
        let j = job(only(parse(&envelope(both)).expect("parse")));
        assert_eq!(j.source.reason, Some(CompletionReason::MaxSilenceTimeout));

        let zero = record_op(json!({
            "resultInfo": {"code": 200, "subcode": 0},
            "completionReason": "MAXRECORDDURATIONREACHED",
        }));
        let j = job(only(parse(&envelope(zero)).expect("parse")));
        assert_eq!(
            j.source.reason,
            Some(CompletionReason::MaxRecordDurationReached)
        );

        let none = record_op(json!({"resultInfo": {"code": 200}, "completionReason": "none"}));
        let j = job(only(parse(&envelope(none)).expect("parse")));
        assert_eq!(j.source.reason, None);
        assert_eq!(
            CompletionReason::from_beta_name("operationCanceled"),
            Some(CompletionReason::OperationCancelled)
        );
        assert_eq!(
            CompletionReason::from_beta_name("unspecifiedError"),
            Some(CompletionReason::UnspecifiedError)
        );
        assert_eq!(CompletionReason::from_beta_name("somethingNew"), None);
    }

    #[test]
    fn unknown_fields_are_tolerated() {
        let extra = json!({
            "futureField": {"deep": [1, 2, 3]},
            "resultInfo": {
                "@odata.type": "#microsoft.graph.resultInfo",
                "code": 200,
                "subcode": 8515,
                "extra": true,
            },
        });
        assert!(matches!(
            only(parse(&envelope(record_op(extra))).expect("parse")),
            Parsed::Job(_)
        ));
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let j = job(only(parse(&envelope(record_op(json!({})))).expect("parse")));
        let dbg = format!("{j:?} {:?}", Parsed::Job(j.clone()));
        assert!(!dbg.contains("eyJ0eXAi"), "{dbg}");
        assert!(!dbg.contains("SECRETSIG"), "{dbg}");
        assert!(dbg.contains("AccessToken([REDACTED])"));
        assert!(dbg.contains("https://media.example.test"));
        assert!(!dbg.contains("/rec/1"), "{dbg}");
    }

    #[test]
    fn redact_url_keeps_only_scheme_host_port() {
        let cases = [
            (
                "https://user:pw@media.example.test:8443/a/b?sig=SECRET#frag",
                "https://media.example.test:8443",
            ),
            (
                "https://media.example.test/recordings/abc",
                "https://media.example.test",
            ),
            ("http://[::1]:8080/x?y", "http://[::1]:8080"),
            ("https://127.0.0.1/", "https://127.0.0.1"),
            ("mailto:someone@example.test", "mailto:"),
            ("data:text/plain,SECRET", "data:"),
        ];
        for (raw, redacted) in cases {
            let url = Url::parse(raw).expect("url");
            assert_eq!(redact_url(&url), redacted, "{raw}");
        }
    }

    #[test]
    fn source_serializes_with_stable_field_names() {
        let j = job(only(
            parse(&sample("record-completed.json")).expect("parse"),
        ));
        let v = serde_json::to_value(&j.source).expect("serialize");
        let mut keys: Vec<&str> = v
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "call_id",
                "client_context",
                "etag",
                "operation_id",
                "reason",
                "result_info"
            ]
        );
        assert_eq!(v["reason"], "max_record_duration_reached");
        let back: NotificationSource = serde_json::from_value(v).expect("deserialize");
        assert_eq!(back, j.source);
    }
}
