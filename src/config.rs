//! Configuration of the pipeline: limits on everything that comes from outside, and the options
//! of each stage. Every field documents its default.
//!
//! Config flows one way: CLI flags / environment / file → [`PipelineConfig`] →
//! [`crate::Pipeline::new`], which builds the expensive parts once.

use std::path::PathBuf;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::result::RedactKind;

/// Default smallest Whisper encoder context ([`TranscribeOptions::min_audio_ctx`]), in 20 ms
/// positions: a clip shorter than 3.84 s (192 positions plus the 64 of margin) gets 256.
///
/// Measured 2026-12-06 (`benches/context-floor.sh`, BENCHMARKS.md "The encoder context
/// floor"): short clips decoded alone, language given, word errors at the floors 512 / 256 /
/// 128:
/// - 309 Spanish and French asterisk prompts of 1–8.5 s (2,787 words), base q8_0:
///   459 / 461 / 457;
/// - 64 English espeak sentences (661 words), base q8_0: 200 / 173 / 173; tiny.en f16:
///   189 / 184 / 216 (at 128, tiny.en repeated sentences and wrote on after them).
///
/// Every file came back `ok` at every floor. 256 is the smallest floor no model measured worse
/// with; 512, the floor before, gave clips up to 8.96 s twice the encoder work or more. A clip
/// that keeps no words at a reduced context is decoded again at the full one (`transcribe`).
pub const DEFAULT_MIN_AUDIO_CTX: u32 = 256;

/// Bounds on an input recording. Exceeding one ends the job with `too_large` or `too_long`
/// before the memory for it is allocated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest accepted input, in bytes. Default: 64 MiB.
    pub max_bytes: u64,
    /// Longest accepted decoded duration, in seconds (Graph records at most 120 s).
    /// Default: 600.
    pub max_duration_s: f64,
    /// Most channels accepted. Default: 8.
    pub max_channels: u32,
    /// Highest accepted sample rate, in Hz. Default: 192000.
    pub max_sample_rate: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 64 * 1024 * 1024,
            max_duration_s: 600.0,
            max_channels: 8,
            max_sample_rate: 192_000,
        }
    }
}

/// Options of the speech finder ([`crate::trim`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrimOptions {
    /// VAD score (0–1) at which speech starts. Default: 0.5.
    pub onset_threshold: f32,
    /// VAD score below which speech ends (hysteresis: lower than the onset). Default: 0.35.
    pub offset_threshold: f32,
    /// Shortest run of speech kept, in ms; shorter blips are dropped. Default: 120.
    pub min_speech_ms: u32,
    /// Shortest pause that splits two segments, in ms; shorter gaps are bridged. Default: 300.
    pub min_silence_ms: u32,
    /// Padding added before the first and after the last speech frame, in ms. Default: 200.
    pub padding_ms: u32,
    /// Look for a leading beep (the bot's `playBeep`) and exclude it. Default: true.
    pub detect_beep: bool,
    /// Look for a trailing DTMF stop tone and exclude it. Default: true.
    pub detect_stop_tone: bool,
    /// Drop what the VAD took for speech where the audio is music alone (hold music, a
    /// radio), and count it in [`crate::trim::SpeechReport::music_s`]. Speech over music is
    /// kept. Default: true.
    pub reject_music: bool,
    /// Exclude steady tones of one or two frequencies held at least 0.2 s anywhere in the
    /// recording: the network's call-progress tones (ringback, busy, congestion), which the
    /// VAD takes for speech. Default: true.
    pub reject_tones: bool,
    /// Silero VAD v6's ONNX file (`models/silero_vad_v6.onnx`, made by
    /// `models/build-model.sh`). With it, the first and last speech earshot finds are moved to
    /// where Silero hears a quiet caller's first and last words (up to 3 s further); whether a
    /// recording holds speech at all stays earshot's and the music detector's decision. `None`:
    /// earshot alone. Default: `None` (the command line uses [`default_vad_model_path`] when
    /// that file exists).
    pub vad_model: Option<PathBuf>,
}

impl Default for TrimOptions {
    fn default() -> Self {
        Self {
            onset_threshold: 0.5,
            offset_threshold: 0.35,
            min_speech_ms: 120,
            min_silence_ms: 300,
            padding_ms: 200,
            detect_beep: true,
            detect_stop_tone: true,
            reject_music: true,
            reject_tones: true,
            vad_model: None,
        }
    }
}

/// Options of the transcription stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TranscribeOptions {
    /// Transcribe at all. Default: true (when built with the `whisper` feature).
    pub enabled: bool,
    /// Path of a ggml Whisper model. Default: `models/ggml-tiny.en.bin`, or `$CALLSCRIBE_MODEL`.
    pub model: PathBuf,
    /// Threads per transcription job; 0 picks from the cores and the batch's job count.
    /// Default: 0.
    pub threads: u32,
    /// Beam size; 0 or 1 decodes greedily. Default: 0 (greedy).
    pub beam_size: u32,
    /// The spoken language: a code (`es`), `auto` (detect it), or a comma-separated set
    /// (`en,es,fr`: detect among those). Detection needs a multilingual model; an English-only
    /// model always transcribes `en`. Default: `en`.
    pub language: String,
    /// With a set of languages: when the detected one's probability (renormalised over the
    /// set) is below this, the first listed is used instead. Default: 0.5.
    pub language_floor: f32,
    /// Whisper's initial prompt: words the caller is likely to say (company names, product
    /// words), at most 223 tokens. Default: none.
    pub prompt: Option<String>,
    /// Settings per operation: a recording whose Graph `clientContext` starts with one of these
    /// prefixes gets that entry's `prompt` and `language` instead of the ones above (the
    /// longest matching prefix wins). A bot sets `clientContext` when it calls
    /// `recordResponse`, e.g. `pharmacy-es:<call id>`. At most 1,000 entries, each checked (and
    /// its prompt tokenized) when the model loads. Default: none.
    pub by_client_context: Vec<ContextSettings>,
    /// Drop a segment whose no-speech probability is above this. Default: 0.6.
    pub no_speech_threshold: f32,
    /// … and whose average token log-probability is below this. Default: -1.0.
    pub logprob_threshold: f32,
    /// Smallest encoder context (whisper.cpp `audio_ctx`, 1 = 20 ms); short spans use fewer
    /// than the full window to be faster. Contexts are rounded up to a multiple of 16, and the
    /// full window is 1,488 (29.76 s) rather than the model's 1,500, which measured 40 % slower
    /// for 0.24 s more padding (BENCHMARKS.md). Default: [`DEFAULT_MIN_AUDIO_CTX`] (256).
    pub min_audio_ctx: u32,
    /// Give every segment its `words` with approximate timings, from whisper.cpp's token
    /// timestamps. Default: false.
    pub word_timestamps: bool,
}

impl Default for TranscribeOptions {
    fn default() -> Self {
        Self {
            enabled: cfg!(feature = "whisper"),
            model: default_model_path(),
            threads: 0,
            beam_size: 0,
            language: "en".to_owned(),
            language_floor: 0.5,
            prompt: None,
            by_client_context: Vec::new(),
            no_speech_threshold: 0.6,
            logprob_threshold: -1.0,
            min_audio_ctx: DEFAULT_MIN_AUDIO_CTX,
            word_timestamps: false,
        }
    }
}

/// The transcription settings of the operations whose `clientContext` starts with a prefix
/// ([`TranscribeOptions::by_client_context`]). A setting left out is the general one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextSettings {
    /// Non-empty; compared with the start of the operation's `clientContext`, byte for byte.
    pub client_context_prefix: String,
    /// Whisper's initial prompt for those operations (at most 223 tokens); `""` for none.
    #[serde(default)]
    pub prompt: Option<String>,
    /// Their language, as [`TranscribeOptions::language`]: a code (a tenant that speaks one
    /// language skips detection), `auto`, or a set.
    #[serde(default)]
    pub language: Option<String>,
}

/// The default model: `$CALLSCRIBE_MODEL` if set, else `models/ggml-tiny.en.bin`.
pub fn default_model_path() -> PathBuf {
    std::env::var_os("CALLSCRIBE_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("models/ggml-tiny.en.bin"))
}

/// The Silero VAD weights the command line uses when they exist: `$CALLSCRIBE_VAD_MODEL` if
/// set, else `models/silero_vad_v6.onnx` ([`TrimOptions::vad_model`]).
pub fn default_vad_model_path() -> PathBuf {
    std::env::var_os("CALLSCRIBE_VAD_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("models/silero_vad_v6.onnx"))
}

/// Everything the audio pipeline needs, built once into a [`crate::Pipeline`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    /// Input bounds.
    pub limits: Limits,
    /// Speech finder options.
    pub trim: TrimOptions,
    /// Transcription options.
    pub transcribe: TranscribeOptions,
    /// What is looked for in the transcript ([`crate::entities`]).
    pub entities: EntityOptions,
    /// What is replaced in the transcript before the result leaves the pipeline: a list
    /// (`["card", "ssn"]`) or a comma-separated string (`"card,ssn"`, `"all"`).
    /// Default: nothing.
    pub redact: RedactSet,
}

/// Options of the entity finder ([`crate::entities`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EntityOptions {
    /// Look for phone numbers and email addresses in the transcript. Default: true.
    pub enabled: bool,
    /// Region (ISO 3166 code) whose numbering plan reads numbers said without a country
    /// code; a number that is not valid there is not reported. Default: `US`.
    pub default_region: String,
}

impl Default for EntityOptions {
    fn default() -> Self {
        Self {
            enabled: true,
            default_region: "US".to_owned(),
        }
    }
}

/// The kinds `--redact` replaces: a set, in [`RedactKind::ALL`] order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedactSet(Vec<RedactKind>);

impl RedactSet {
    /// Nothing redacted.
    pub fn none() -> Self {
        Self(Vec::new())
    }

    /// Every kind.
    pub fn all() -> Self {
        Self(RedactKind::ALL.to_vec())
    }

    /// These kinds (duplicates removed).
    pub fn of(kinds: &[RedactKind]) -> Self {
        Self(
            RedactKind::ALL
                .into_iter()
                .filter(|k| kinds.contains(k))
                .collect(),
        )
    }

    /// Parses `card,ssn,phone,email,digits` (any subset, any order) or `all`; an empty
    /// string or `none` is the empty set.
    ///
    /// Errors: the unknown name, for the caller's message.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut kinds = Vec::new();
        for name in spec.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name.to_ascii_lowercase().as_str() {
                "all" => return Ok(Self::all()),
                "none" => {}
                other => match RedactKind::ALL.into_iter().find(|k| k.as_str() == other) {
                    Some(kind) => kinds.push(kind),
                    None => {
                        return Err(format!(
                            "unknown redaction {name:?} (card, ssn, phone, email, digits, all)"
                        ))
                    }
                },
            }
        }
        Ok(Self::of(&kinds))
    }

    /// Whether `kind` is redacted.
    pub fn contains(&self, kind: RedactKind) -> bool {
        self.0.contains(&kind)
    }

    /// Whether nothing is redacted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The kinds, in precedence order.
    pub fn kinds(&self) -> &[RedactKind] {
        &self.0
    }
}

impl std::str::FromStr for RedactSet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::parse(s)
    }
}

impl Serialize for RedactSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RedactSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Spec {
            Text(String),
            List(Vec<String>),
        }
        let spec = match Spec::deserialize(deserializer)? {
            Spec::Text(text) => text,
            Spec::List(names) => names.join(","),
        };
        Self::parse(&spec).map_err(serde::de::Error::custom)
    }
}

/// The cores this process may use (1 when the platform can't tell).
pub fn available_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// How many recordings to process at once: `requested`, or one per core when it is 0.
pub fn jobs_or_cores(requested: usize) -> usize {
    match requested {
        0 => available_cores(),
        n => n,
    }
}

/// Whisper threads for each of `jobs` recordings processed at once: `requested` when it is set,
/// otherwise the cores split evenly between the jobs, at least one each. This is the one place
/// where a thread count of 0 ("balance to the cores") is resolved.
pub fn threads_per_job(requested: u32, jobs: usize) -> u32 {
    match requested {
        0 => (available_cores() / jobs.max(1)).max(1) as u32,
        n => n,
    }
}
