//! The sample set as data: `samples/manifest.json` in serde structs, paths of sample files, a
//! pipeline configuration without transcription and WAV byte builders.

#![allow(dead_code)] // Each test module uses a different subset of the helpers.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use callscribe::config::PipelineConfig;
use callscribe::{ErrorKind, Pipeline};
use serde::Deserialize;

/// `samples/manifest.json`. Only the parts the tests read are modelled; the manifest carries
/// more (verification details, segment lists) which are ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    /// One entry per fixture, in the manifest's order.
    pub files: Vec<SampleEntry>,
    /// The beep every beep file uses.
    pub beep: BeepSpec,
    /// The DTMF level and ramp every stop tone uses.
    pub dtmf: DtmfSpec,
}

/// The shared beep parameters.
#[derive(Debug, Clone, Deserialize)]
pub struct BeepSpec {
    /// Tone frequency in Hz.
    pub freq_hz: f64,
    /// Tone length in seconds, ramps included.
    pub duration_s: f64,
    /// Raised-cosine ramp at each end, in seconds.
    pub ramp_s: f64,
}

/// The shared DTMF parameters.
#[derive(Debug, Clone, Deserialize)]
pub struct DtmfSpec {
    /// Raised-cosine ramp at each end of a press, in seconds.
    pub ramp_s: f64,
}

/// One fixture.
#[derive(Debug, Clone, Deserialize)]
pub struct SampleEntry {
    /// Path relative to `samples/` (`hostile/empty.wav`).
    pub name: String,
    /// Container as the manifest names it (`wav`, `rf64`, `mp3`, `flac`, `ogg`, `mp4`, `text`,
    /// `html`), `None` for the empty file.
    pub container: Option<String>,
    /// Codec in ffmpeg's naming (`pcm_s16le`, `pcm_mulaw`, `mp3`, `aac`, …).
    pub codec: Option<String>,
    /// Sample rate in Hz.
    pub sample_rate: Option<u32>,
    /// Channel count.
    pub channels: Option<u32>,
    /// Decoded duration in seconds (lossy: what a gapless decoder returns).
    pub duration_s: Option<f64>,
    /// Decoded frame count (lossy: gapless).
    pub frames: Option<u64>,
    /// First sample of speech, in seconds (unpadded truth).
    pub speech_start_s: Option<f64>,
    /// Last sample of speech, in seconds (unpadded truth).
    pub speech_end_s: Option<f64>,
    /// The leading beep, if the file has one.
    pub beep: Option<BeepTruth>,
    /// The trailing DTMF stop tone, if the file has one.
    pub stop_tone: Option<StopToneTruth>,
    /// The spoken text, if any.
    pub text: Option<String>,
    /// `ok`, `no_speech` or an error kind name.
    pub expect: String,
    /// Other acceptable error kind names.
    #[serde(default)]
    pub accept: Vec<String>,
    /// `Some(true)`: the file ends before its header says; `None`: either report is fine.
    pub truncated: Option<bool>,
    /// Encoder delay facts of lossy files.
    pub lossy: Option<LossyTruth>,
    /// File size in bytes.
    pub size_bytes: u64,
}

/// A beep's position and frequency.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct BeepTruth {
    /// Start in seconds (first sample of the ramp).
    pub start_s: f64,
    /// End in seconds (last sample of the ramp).
    pub end_s: f64,
    /// Frequency in Hz.
    pub freq_hz: f64,
}

/// A DTMF stop tone's key and position.
#[derive(Debug, Clone, Deserialize)]
pub struct StopToneTruth {
    /// `#`, `*`, …
    pub key: String,
    /// Start in seconds.
    pub start_s: f64,
    /// End in seconds.
    pub end_s: f64,
}

/// Frame counts of a lossy file with and without gapless trimming.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct LossyTruth {
    /// Frames a gapless decoder (ffmpeg) returns.
    pub gapless_frames: u64,
    /// Frames a decoder that ignores gapless metadata returns.
    pub raw_frames: u64,
    /// Encoder delay at the start, in frames.
    pub leading_skip_frames: u64,
}

impl Manifest {
    /// The parsed manifest (read once per test binary).
    pub fn get() -> &'static Manifest {
        static MANIFEST: OnceLock<Manifest> = OnceLock::new();
        MANIFEST.get_or_init(|| {
            let path = sample_path("manifest.json");
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            let manifest: Manifest = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
            assert!(
                manifest.files.len() >= 20,
                "the manifest lists only {} files",
                manifest.files.len()
            );
            manifest
        })
    }

    /// The entry named `name`.
    pub fn entry(&self, name: &str) -> &SampleEntry {
        self.files
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("{name} is not in samples/manifest.json"))
    }

    /// Entries matching `keep`, asserting that at least `min` match (so a filter that silently
    /// matches nothing fails instead of testing nothing).
    pub fn select(&self, min: usize, keep: impl Fn(&SampleEntry) -> bool) -> Vec<&SampleEntry> {
        let picked: Vec<&SampleEntry> = self.files.iter().filter(|f| keep(f)).collect();
        assert!(
            picked.len() >= min,
            "only {} manifest entries matched, expected ≥ {min}",
            picked.len()
        );
        picked
    }
}

impl SampleEntry {
    /// Absolute path of the file.
    pub fn path(&self) -> PathBuf {
        sample_path(&self.name)
    }

    /// The file's bytes.
    pub fn bytes(&self) -> Vec<u8> {
        let path = self.path();
        std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
    }

    /// In `samples/` itself (not `hostile/` or `unsupported/`).
    pub fn is_top_level(&self) -> bool {
        !self.name.contains('/')
    }

    /// Expected to decode (`ok` or `no_speech`).
    pub fn expects_audio(&self) -> bool {
        self.expect == "ok" || self.expect == "no_speech"
    }

    /// Has speech with known boundaries and is expected `ok`.
    pub fn has_speech(&self) -> bool {
        self.expect == "ok" && self.speech_start_s.is_some() && self.speech_end_s.is_some()
    }

    /// PCM in a WAV/RF64 container, or FLAC: sample-exact durations.
    pub fn is_lossless(&self) -> bool {
        self.codec
            .as_deref()
            .is_some_and(|c| c.starts_with("pcm_") || c == "flac")
    }

    /// The error kinds the manifest allows (`expect` first, then `accept`); empty when the
    /// file is expected to decode.
    pub fn expected_kinds(&self) -> Vec<ErrorKind> {
        if self.expects_audio() {
            return self
                .accept
                .iter()
                .map(|k| kind_named(k, &self.name))
                .collect();
        }
        std::iter::once(&self.expect)
            .chain(&self.accept)
            .map(|k| kind_named(k, &self.name))
            .collect()
    }
}

fn kind_named(name: &str, file: &str) -> ErrorKind {
    // The manifest spells kinds as the JSON does: read them the way a result is read.
    serde_json::from_value(serde_json::Value::String(name.to_owned()))
        .unwrap_or_else(|_| panic!("{file}: the manifest names an unknown error kind {name:?}"))
}

/// `<package root>/samples/<name>`.
pub fn sample_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

/// The bytes of a codec fixture, `tests/fixtures/<codec>/<name>` (`gsm`, `g722`; each folder's
/// README says how they were made).
pub fn codec_fixture(codec: &str, name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(codec)
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The default configuration with transcription off (decode, resample and trim only).
pub fn no_transcribe_config() -> PipelineConfig {
    let mut config = PipelineConfig::default();
    config.transcribe.enabled = false;
    config
}

/// A pipeline built from [`no_transcribe_config`] after `adjust`.
pub fn pipeline_without_transcription(adjust: impl FnOnce(&mut PipelineConfig)) -> Pipeline {
    let mut config = no_transcribe_config();
    adjust(&mut config);
    Pipeline::new(config).expect("a pipeline without transcription always builds")
}

/// A canonical 44-byte-header PCM WAV, written by hand so the header can lie: `riff_size` and
/// `data_size` are written as given, whatever `data` really holds.
pub fn wav_bytes(
    format_tag: u16,
    channels: u16,
    rate: u32,
    bits: u16,
    riff_size: u32,
    data_size: u32,
    data: &[u8],
) -> Vec<u8> {
    let block_align = channels.wrapping_mul(bits / 8);
    let byte_rate = rate.wrapping_mul(u32::from(block_align));
    let mut out = Vec::with_capacity(44 + data.len());
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&riff_size.to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&format_tag.to_le_bytes());
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&byte_rate.to_le_bytes());
    out.extend_from_slice(&block_align.to_le_bytes());
    out.extend_from_slice(&bits.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_size.to_le_bytes());
    out.extend_from_slice(data);
    out
}

/// An honest 16-bit PCM WAV of `samples` (interleaved, `channels`, full scale ±1.0), written by
/// hound through [`crate::support::wav::pcm16_wav`].
pub fn wav_pcm16(rate: u32, channels: u16, samples: &[f32]) -> Vec<u8> {
    let pcm: Vec<i16> = samples
        .iter()
        .map(|s| (s.clamp(-1.0, 1.0) * 32767.0).round() as i16)
        .collect();
    crate::support::wav::pcm16_wav(&pcm, rate, channels)
}

/// A sine at `freq_hz` with peak `amplitude`, `seconds` long at `rate`, starting at phase 0.
pub fn sine(freq_hz: f64, amplitude: f64, rate: u32, seconds: f64) -> Vec<f32> {
    let n = (seconds * f64::from(rate)).round() as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            (amplitude * (2.0 * std::f64::consts::PI * freq_hz * t).sin()) as f32
        })
        .collect()
}

/// A quiet caller: `entry` (a sample with a beep and a stop tone) decoded as the pipeline decodes
/// it, with everything from the beep's end to the stop tone's start (the caller's speech and the
/// line noise around it) `down_db` quieter and the two tones as they were (the bot's beep and
/// the keypad's tone do not get quieter with the caller), written as a 16-bit WAV at the
/// sample's rate, so the quiet speech has 16-bit resolution as a recording would.
pub fn quiet_caller(entry: &SampleEntry, down_db: f32) -> Vec<u8> {
    let decoded =
        callscribe::decode::decode(&entry.bytes(), &callscribe::config::Limits::default())
            .unwrap_or_else(|e| panic!("{}: decode failed: {e}", entry.name));
    let rate = decoded.pcm.rate.hz();
    let at = |s: f64| (s * f64::from(rate)) as usize;
    let beep = entry.beep.as_ref().expect("a sample with a beep");
    let stop = entry.stop_tone.as_ref().expect("a sample with a stop tone");
    let gain = 10f32.powf(-down_db / 20.0);
    let mut samples = decoded.pcm.samples.to_vec();
    for s in &mut samples[at(beep.end_s)..at(stop.start_s)] {
        *s *= gain;
    }
    wav_pcm16(rate, 1, &samples)
}
