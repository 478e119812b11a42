//! The JSON result: one object per recording, schema `callscribe.result/v1`.
//!
//! The types derive `Deserialize` with `deny_unknown_fields` too, so tests (and Rust consumers)
//! can read results back strictly: a renamed or added field breaks a test, not a bot.

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind};
use crate::trim::Segment;

/// The schema name and version written in every result.
pub const SCHEMA: &str = "callscribe.result/v1";

/// One recording's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordingResult {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// `ok`, `no_speech` or `failed`.
    pub status: Status,
    /// Why the status is `no_speech` (present only then): `no_voice_activity`, `music` or
    /// `no_words`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<NoSpeechReason>,
    /// Why the job failed (`null` unless `status` is `failed`).
    pub error: Option<ErrorInfo>,
    /// Where the recording came from.
    pub source: Source,
    /// What was decoded and found (`null` when decoding failed).
    pub audio: Option<AudioReport>,
    /// The transcript (`null` when transcription is off or the job failed).
    pub transcript: Option<Transcript>,
    /// Wall time per stage in milliseconds; only the stages that ran are present.
    pub timings_ms: Timings,
}

/// A stage whose wall time a result reports in `timings_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Reading the input file (batch mode).
    Read,
    /// Downloading the recording (notifications).
    Download,
    /// Decoding the container to PCM.
    Decode,
    /// Downmixing and resampling to 16 kHz mono.
    Resample,
    /// Finding the speech (VAD, beep, stop tone).
    Trim,
    /// Speech to text.
    Transcribe,
    /// The whole job: for a download, from its start to the end of the last stage.
    Total,
}

impl Stage {
    /// Every stage, in the order the JSON writes them (alphabetical, see [`Timings`]).
    pub const ALL: [Stage; 7] = [
        Self::Decode,
        Self::Download,
        Self::Read,
        Self::Resample,
        Self::Total,
        Self::Transcribe,
        Self::Trim,
    ];

    /// The key in `timings_ms` (`"decode"`, …), also the `stage` label of the service's metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Download => "download",
            Self::Decode => "decode",
            Self::Resample => "resample",
            Self::Trim => "trim",
            Self::Transcribe => "transcribe",
            Self::Total => "total",
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Wall time per [`Stage`] in milliseconds, serialized as the `timings_ms` object.
///
/// Absent stages are omitted. The fields are declared in alphabetical order, so the object's
/// keys come out sorted, exactly as the map that `timings_ms` used to be wrote them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timings {
    /// [`Stage::Decode`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decode: Option<f64>,
    /// [`Stage::Download`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download: Option<f64>,
    /// [`Stage::Read`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read: Option<f64>,
    /// [`Stage::Resample`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resample: Option<f64>,
    /// [`Stage::Total`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<f64>,
    /// [`Stage::Transcribe`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcribe: Option<f64>,
    /// [`Stage::Trim`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trim: Option<f64>,
}

impl Timings {
    /// The time of `stage`, if it ran.
    pub fn get(&self, stage: Stage) -> Option<f64> {
        match stage {
            Stage::Read => self.read,
            Stage::Download => self.download,
            Stage::Decode => self.decode,
            Stage::Resample => self.resample,
            Stage::Trim => self.trim,
            Stage::Transcribe => self.transcribe,
            Stage::Total => self.total,
        }
    }

    /// Records (or replaces) the time of `stage`.
    pub fn set(&mut self, stage: Stage, ms: f64) {
        let slot = match stage {
            Stage::Read => &mut self.read,
            Stage::Download => &mut self.download,
            Stage::Decode => &mut self.decode,
            Stage::Resample => &mut self.resample,
            Stage::Trim => &mut self.trim,
            Stage::Transcribe => &mut self.transcribe,
            Stage::Total => &mut self.total,
        };
        *slot = Some(ms);
    }

    /// The stages that ran and their times, in JSON order.
    pub fn iter(&self) -> impl Iterator<Item = (Stage, f64)> + '_ {
        Stage::ALL
            .into_iter()
            .filter_map(|stage| self.get(stage).map(|ms| (stage, ms)))
    }
}

/// The outcome class of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Speech was found (and transcribed when enabled).
    Ok,
    /// The recording decoded but holds no speech (silence, noise, only a beep or tone).
    NoSpeech,
    /// The job ended with an error; see `error`.
    Failed,
}

/// Why a recording that decoded is `no_speech`.
///
/// The rule: the VAD must find speech, the speech must not be music, and, when transcription
/// is on, Whisper must keep at least one word of it (after its no-speech, repetition and
/// hallucination checks). The first test that fails names the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoSpeechReason {
    /// The VAD found no speech: silence, noise, or only the beep and the stop tone.
    NoVoiceActivity,
    /// What the VAD took for speech is music (hold music, ringback melodies).
    Music,
    /// The VAD found speech, but transcription kept no words of it.
    NoWords,
}

/// A failure, with its stable kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorInfo {
    /// Stable snake_case name, e.g. `unsupported_format`.
    pub kind: ErrorKind,
    /// Human-readable detail; never contains a token, URL query or media.
    pub message: String,
}

impl From<&Error> for ErrorInfo {
    fn from(e: &Error) -> Self {
        Self {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

/// Graph's `resultInfo` of a record operation, verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultInfo {
    /// HTTP-like status code.
    pub code: Option<i64>,
    /// Graph's subcode (8508–8589 explain how a recording ended).
    pub subcode: Option<i64>,
    /// Graph's message.
    pub message: Option<String>,
}

/// Where a recording came from: a file, or a Graph notification. Absent fields are omitted.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Input file path (batch mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Graph call id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<String>,
    /// Graph record operation id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<String>,
    /// The bot's `clientContext`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_context: Option<String>,
    /// Graph's `resultInfo`, verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_info: Option<ResultInfo>,
    /// Why the recording ended, from `resultInfo.subcode` (`stop_tone_detected`,
    /// `max_silence_timeout`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What the audio stages found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AudioReport {
    /// Container (`wav`, `mp3`, `flac`, `ogg`, `isomp4`).
    pub container: String,
    /// Codec (`pcm_s16le`, `pcm_mulaw`, `pcm_alaw`, `mp3`, `aac`, `vorbis`, `flac`, …).
    pub codec: String,
    /// Original sample rate in Hz.
    pub sample_rate: u32,
    /// Original channel count.
    pub channels: u32,
    /// Decoded duration in seconds.
    pub duration_s: f64,
    /// True when the stream broke off and only the valid part was decoded.
    pub truncated: bool,
    /// Start of the padded speech span, seconds of the original (`null`: no speech).
    pub speech_start_s: Option<f64>,
    /// End of the padded speech span (`null`: no speech).
    pub speech_end_s: Option<f64>,
    /// Length of the span in seconds (0 without speech).
    pub speech_s: f64,
    /// Speech segments inside the span.
    pub segments: Vec<Segment>,
    /// Peak level of the span in dBFS.
    pub peak_dbfs: Option<f64>,
    /// RMS level of the span in dBFS.
    pub rms_dbfs: Option<f64>,
    /// Fraction of all decoded samples at digital full scale.
    pub clipped_ratio: f64,
    /// The bot's leading beep, if found.
    pub beep: Option<BeepReport>,
    /// The caller's DTMF stop tone, if found.
    pub stop_tone: Option<StopToneReport>,
}

/// A leading beep.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BeepReport {
    /// Start in seconds.
    pub start_s: f64,
    /// End in seconds.
    pub end_s: f64,
    /// Tone frequency in Hz.
    pub freq_hz: f64,
}

/// A trailing DTMF stop tone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StopToneReport {
    /// The key: `0`–`9`, `*`, `#`, `A`–`D`.
    pub key: String,
    /// Start in seconds.
    pub start_s: f64,
    /// End in seconds.
    pub end_s: f64,
}

/// The words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transcript {
    /// The whole text, segments joined by spaces (empty without speech).
    pub text: String,
    /// Language code (`en`): given (`--language es`), detected once per recording from its
    /// speech, or `en` for an English-only model.
    pub language: String,
    /// The detected language's probability, 0–1 (renormalised over the allowed set when
    /// `--language` lists several); `null` when the language was not detected.
    #[serde(default)]
    pub language_probability: Option<f64>,
    /// Timed segments.
    pub segments: Vec<TranscriptSegment>,
    /// Phone numbers and email addresses found in the text ([`crate::entities`]), in time
    /// order; omitted when there are none. Entities of a redacted kind are never listed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entities: Vec<Entity>,
    /// What redaction replaced (kind and time, never the value), in time order; omitted when
    /// nothing was redacted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redactions: Vec<Redaction>,
}

/// A timed piece of the transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TranscriptSegment {
    /// Start in seconds of the original recording.
    pub start_s: f64,
    /// End in seconds of the original recording.
    pub end_s: f64,
    /// The text.
    pub text: String,
    /// Mean token probability, 0–1.
    pub confidence: f64,
    /// Word timings (`--word-timestamps`), from whisper.cpp's token timestamps: approximate
    /// (tens of milliseconds off, more at pauses), monotone and inside the segment. Omitted
    /// unless asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub words: Option<Vec<Word>>,
}

/// One word of a segment, with its approximate timing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Word {
    /// The word as transcribed, with its punctuation (or a redaction placeholder).
    pub text: String,
    /// Start in seconds of the original recording.
    pub start_s: f64,
    /// End in seconds of the original recording.
    pub end_s: f64,
    /// Mean probability of the word's tokens, 0–1.
    pub probability: f64,
}

/// Something a bot acts on, found in the transcript; `type` names the kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Entity {
    /// A phone number valid for the default region (or with its country code).
    PhoneNumber(PhoneNumberEntity),
    /// An email address, written or spoken ("john dot smith at contoso dot com").
    Email(EmailEntity),
}

impl Entity {
    /// Start of the words the entity was read from, in seconds of the recording.
    pub fn start_s(&self) -> f64 {
        match self {
            Self::PhoneNumber(e) => e.start_s,
            Self::Email(e) => e.start_s,
        }
    }

    /// End of the words the entity was read from, in seconds of the recording.
    pub fn end_s(&self) -> f64 {
        match self {
            Self::PhoneNumber(e) => e.end_s,
            Self::Email(e) => e.end_s,
        }
    }
}

/// A phone number (`"type": "phone_number"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhoneNumberEntity {
    /// The words as transcribed ("five five five, oh one four two").
    pub text: String,
    /// E.164 (`+14255550142`); `null` when the number lacks its area code (a local number).
    pub e164: Option<String>,
    /// The national significant number, digits only (`4255550142`, `5550142`).
    pub national: String,
    /// The extension's digits ("extension 24" → `24`), or `null`.
    pub extension: Option<String>,
    /// Start in seconds of the original recording.
    pub start_s: f64,
    /// End in seconds of the original recording.
    pub end_s: f64,
}

/// An email address (`"type": "email"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailEntity {
    /// The words as transcribed ("john dot smith at contoso dot com").
    pub text: String,
    /// The address, lowercase (`john.smith@contoso.com`).
    pub address: String,
    /// Start in seconds of the original recording.
    pub start_s: f64,
    /// End in seconds of the original recording.
    pub end_s: f64,
}

/// One redacted stretch: what kind of value was there and when, never the value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Redaction {
    /// The kind: `card`, `ssn`, `phone`, `email` or `digits`.
    #[serde(rename = "type")]
    pub kind: RedactKind,
    /// Start in seconds of the original recording.
    pub start_s: f64,
    /// End in seconds of the original recording.
    pub end_s: f64,
    /// Cards only: whether the 13–19 digits pass the Luhn checksum (a misheard digit breaks
    /// it; the digits are redacted either way). Absent for longer runs and other kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub luhn_valid: Option<bool>,
}

/// A kind of value `--redact` replaces, and its placeholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedactKind {
    /// Card numbers: any run of 13 or more digits → `[CARD]`.
    Card,
    /// US social security numbers: 9 digits with a possible area, group and serial → `[SSN]`.
    Ssn,
    /// Phone numbers, as [`PhoneNumberEntity`] finds them → `[PHONE]`.
    Phone,
    /// Email addresses → `[EMAIL]`.
    Email,
    /// Any other run of 4 or more digits (account numbers, PINs, dates) → `[DIGITS]`.
    Digits,
}

impl RedactKind {
    /// Every kind, in order of precedence: where two overlap, the earlier one names the span.
    pub const ALL: [RedactKind; 5] = [
        Self::Card,
        Self::Ssn,
        Self::Phone,
        Self::Email,
        Self::Digits,
    ];

    /// The name in `--redact` and in JSON (`card`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Card => "card",
            Self::Ssn => "ssn",
            Self::Phone => "phone",
            Self::Email => "email",
            Self::Digits => "digits",
        }
    }

    /// The placeholder that replaces the value (`[CARD]`, …).
    pub fn placeholder(self) -> &'static str {
        match self {
            Self::Card => "[CARD]",
            Self::Ssn => "[SSN]",
            Self::Phone => "[PHONE]",
            Self::Email => "[EMAIL]",
            Self::Digits => "[DIGITS]",
        }
    }
}

impl std::fmt::Display for RedactKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl RecordingResult {
    /// A failed result for a job that never got to decode.
    pub fn failed(source: Source, error: ErrorInfo) -> Self {
        Self {
            schema: SCHEMA.to_owned(),
            status: Status::Failed,
            reason: None,
            error: Some(error),
            source,
            audio: None,
            transcript: None,
            timings_ms: Timings::default(),
        }
    }

    /// The result as one line of JSON.
    pub fn to_json_line(&self) -> String {
        // Serializing these plain structs cannot fail (no maps with non-string keys).
        serde_json::to_string(self).unwrap_or_else(|e| {
            format!(r#"{{"schema":"{SCHEMA}","status":"failed","error":{{"kind":"io","message":"{e}"}}}}"#)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn timings_serialize_like_the_sorted_map_they_replace() {
        // Every subset of stages: same keys, same order, same numbers as a BTreeMap<String, f64>.
        for mask in 0u32..1 << Stage::ALL.len() {
            let mut timings = Timings::default();
            let mut map = BTreeMap::new();
            for (i, stage) in Stage::ALL.into_iter().enumerate() {
                if mask & (1 << i) != 0 {
                    let ms = f64::from(mask) + i as f64 / 8.0;
                    timings.set(stage, ms);
                    map.insert(stage.as_str().to_owned(), ms);
                }
            }
            let json = serde_json::to_string(&timings).expect("serialize");
            assert_eq!(json, serde_json::to_string(&map).expect("serialize"));
            let back: Timings = serde_json::from_str(&json).expect("deserialize");
            assert_eq!(back, timings);
            let pairs: Vec<(&str, f64)> = timings.iter().map(|(s, ms)| (s.as_str(), ms)).collect();
            let expected: Vec<(&str, f64)> = map.iter().map(|(k, v)| (k.as_str(), *v)).collect();
            assert_eq!(pairs, expected);
        }
    }

    #[test]
    fn timings_refuse_unknown_stages() {
        let err = serde_json::from_str::<Timings>(r#"{"decode":1.0,"upload":2.0}"#);
        assert!(err.is_err_and(|e| e.to_string().contains("unknown field `upload`")));
    }
}
