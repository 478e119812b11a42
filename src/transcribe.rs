//! Transcribe: the speech span of a [`Mono16k`] → timed text, with whisper.cpp via whisper-rs.
//!
//! The model ([`WhisperContext`]) is loaded once and shared; each job makes its own
//! [`whisper_rs::WhisperState`]. Only the span found by [`crate::trim`] is decoded, so silence
//! never reaches the model, and the guards below drop what Whisper is known to invent on
//! non-speech ("you", "Thank you.", `[BLANK_AUDIO]`).

use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters};

use crate::audio::{Mono16k, Seconds, TARGET_RATE};
use crate::config::TranscribeOptions;
use crate::error::{Error, Result};
use crate::pipeline::round_ms;
use crate::result::{Transcript, TranscriptSegment};
use crate::trim::SpeechReport;

/// whisper.cpp returns nothing for input under 1 s; shorter spans are padded to this, in
/// seconds.
const MIN_CLIP_S: f64 = 1.1;

/// One encoder position (`audio_ctx` unit) covers 20 ms: 1500 positions = 30 s.
const CTX_PER_SECOND: f64 = 50.0;

/// Extra encoder positions beyond the clip's length (≈1.3 s), so the decoder sees the end of the
/// last word followed by some silence and can emit its final timestamp.
const CTX_MARGIN: u32 = 64;

/// Phrases Whisper produces on near-silence. Dropped when the segment also looks like non-speech
/// (no-speech probability above [`HALLUCINATION_NO_SPEECH`]), so a caller who really says
/// "thank you" keeps it.
const HALLUCINATIONS: &[&str] = &[
    "you",
    "thank you",
    "thanks for watching",
    "thank you for watching",
    "bye",
];

/// No-speech probability above which a known hallucination phrase is dropped.
const HALLUCINATION_NO_SPEECH: f32 = 0.3;

/// A loaded Whisper model; cheap to share by reference across threads.
pub struct Transcriber {
    ctx: WhisperContext,
    opts: TranscribeOptions,
    multilingual: bool,
    n_audio_ctx: u32,
}

impl Transcriber {
    /// Loads a ggml model (any of whisper.cpp's: tiny/base/small…, `.en` or multilingual).
    ///
    /// Errors: `config` when the file is missing or whisper.cpp rejects it.
    pub fn load(opts: &TranscribeOptions) -> Result<Self> {
        let path = &opts.model;
        if !path.is_file() {
            return Err(Error::Config {
                detail: format!(
                    "Whisper model not found at {} (build it with models/build-model.sh, pass \
                     --model PATH or set CALLSCRIBE_MODEL, or use --no-transcribe)",
                    path.display()
                ),
            });
        }
        // whisper.cpp prints to stderr by default; route it into `tracing` instead.
        whisper_rs::install_logging_hooks();
        let ctx = WhisperContext::new_with_params(path, WhisperContextParameters::default())
            .map_err(|e| Error::Config {
                detail: format!("whisper.cpp could not load {}: {e}", path.display()),
            })?;
        let multilingual = ctx.is_multilingual();
        let n_audio_ctx = u32::try_from(ctx.model_n_audio_ctx()).unwrap_or(1500);
        tracing::info!(model = %path.display(), multilingual, "whisper model loaded");
        Ok(Self {
            ctx,
            opts: opts.clone(),
            multilingual,
            n_audio_ctx,
        })
    }

    /// Transcribes the speech span of `audio`. Without speech, returns an empty transcript
    /// without running the model.
    ///
    /// `threads` = 0 uses the configured threads, or all cores.
    ///
    /// Errors: `transcription` when whisper.cpp fails.
    pub fn transcribe(
        &self,
        audio: &Mono16k,
        speech: &SpeechReport,
        threads: u32,
    ) -> Result<Transcript> {
        let language = self.language().to_owned();
        let Some(span) = speech.span else {
            return Ok(Transcript {
                text: String::new(),
                language,
                segments: Vec::new(),
            });
        };
        let (clip, clip_start) = padded_clip(audio, span.start_s, span.end_s);
        let clip_s = clip.len() as f64 / f64::from(TARGET_RATE);

        let err = |e: whisper_rs::WhisperError| Error::Transcription {
            detail: e.to_string(),
        };
        let mut state = self.ctx.create_state().map_err(err)?;
        let strategy = if self.opts.beam_size > 1 {
            SamplingStrategy::BeamSearch {
                beam_size: self.opts.beam_size as i32,
                patience: -1.0,
            }
        } else {
            SamplingStrategy::Greedy { best_of: 1 }
        };
        let mut params = FullParams::new(strategy);
        params.set_n_threads(self.threads(threads) as i32);
        params.set_audio_ctx(self.audio_ctx(clip_s) as i32);
        params.set_language(Some(if self.multilingual {
            &self.opts.language
        } else {
            "en"
        }));
        params.set_translate(false);
        // Each recording stands alone: no prompt carried over from an earlier window.
        params.set_no_context(true);
        params.set_suppress_blank(true);
        params.set_suppress_nst(true);
        // Temperature fallback (whisper.cpp's defaults, spelled out): decode at 0, retry hotter
        // when the result is repetitive (entropy) or unlikely (log-probability).
        params.set_temperature(0.0);
        params.set_temperature_inc(0.2);
        params.set_entropy_thold(2.4);
        params.set_logprob_thold(self.opts.logprob_threshold);
        params.set_no_speech_thold(self.opts.no_speech_threshold);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_special(false);
        params.set_print_timestamps(false);

        state.full(params, &clip).map_err(err)?;
        let detected = if self.multilingual && self.opts.language == "auto" {
            whisper_rs::get_lang_str(state.full_lang_id_from_state())
                .unwrap_or("auto")
                .to_owned()
        } else {
            language
        };

        let mut segments = Vec::new();
        for segment in state.as_iter() {
            let text = strip_non_speech(&segment.to_str_lossy().map_err(err)?);
            if text.is_empty() {
                continue;
            }
            let (mean_p, mean_logp) = token_stats(&segment, self.ctx.token_eot());
            let no_speech = segment.no_speech_probability();
            if no_speech > self.opts.no_speech_threshold && mean_logp < self.opts.logprob_threshold
            {
                tracing::debug!(no_speech, mean_logp, "dropped a non-speech segment");
                continue;
            }
            if no_speech > HALLUCINATION_NO_SPEECH && is_known_hallucination(&text) {
                tracing::debug!(no_speech, "dropped a likely hallucination");
                continue;
            }
            // whisper.cpp times are in 10 ms units from the clip start.
            let start = clip_start + segment.start_timestamp() as f64 / 100.0;
            let end = clip_start + segment.end_timestamp() as f64 / 100.0;
            segments.push(TranscriptSegment {
                start_s: start,
                end_s: end,
                text,
                confidence: f64::from(mean_p),
            });
        }
        clamp_times(&mut segments, span.start_s, span.end_s);
        let text = segments
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        Ok(Transcript {
            text,
            language: detected,
            segments,
        })
    }

    fn language(&self) -> &str {
        if self.multilingual {
            &self.opts.language
        } else {
            "en"
        }
    }

    fn threads(&self, requested: u32) -> u32 {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
        match (requested, self.opts.threads) {
            (0, 0) => cores,
            (0, configured) => configured,
            (n, _) => n,
        }
    }

    /// Encoder context for a clip: its length plus a margin, at least the configured floor,
    /// and the full 1500 (a 30 s window) for clips that need it.
    fn audio_ctx(&self, clip_s: f64) -> u32 {
        let needed = (clip_s * CTX_PER_SECOND).ceil() as u32 + CTX_MARGIN;
        if needed >= self.n_audio_ctx {
            // 0 = the model's full context; clips over 30 s are decoded window by window.
            return 0;
        }
        needed.max(self.opts.min_audio_ctx).min(self.n_audio_ctx)
    }
}

/// The span's samples, widened with the surrounding recording (then zeros) to at least
/// [`MIN_CLIP_S`]. Returns the clip and its start time in the original recording.
fn padded_clip(audio: &Mono16k, start_s: f64, end_s: f64) -> (zeroize::Zeroizing<Vec<f32>>, f64) {
    let duration = audio.duration().0;
    let missing = (MIN_CLIP_S - (end_s - start_s)).max(0.0);
    let start = (start_s - missing / 2.0).max(0.0);
    let end = (end_s + missing / 2.0).min(duration);
    let mut clip = zeroize::Zeroizing::new(audio.slice(Seconds(start), Seconds(end)).to_vec());
    let min_len = (MIN_CLIP_S * f64::from(TARGET_RATE)).ceil() as usize;
    if clip.len() < min_len {
        clip.resize(min_len, 0.0);
    }
    (clip, start)
}

/// Mean probability and mean log-probability of a segment's text tokens (special tokens, whose
/// ids are at or above end-of-text, excluded).
fn token_stats(segment: &whisper_rs::WhisperSegment<'_>, eot: i32) -> (f32, f32) {
    let (mut sum_p, mut sum_logp, mut n) = (0f32, 0f32, 0u32);
    for i in 0..segment.n_tokens() {
        if let Some(token) = segment.get_token(i) {
            let data = token.token_data();
            if data.id >= eot {
                continue;
            }
            sum_p += data.p;
            sum_logp += data.plog;
            n += 1;
        }
    }
    if n == 0 {
        (0.0, f32::NEG_INFINITY)
    } else {
        (sum_p / n as f32, sum_logp / n as f32)
    }
}

/// Removes bracketed non-speech markers (`[BLANK_AUDIO]`, `(music)`, `*sigh*`, `♪`) and trims.
pub fn strip_non_speech(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut closing: Option<char> = None;
    for c in text.chars() {
        match closing {
            Some(close) if c == close => closing = None,
            Some(_) => {}
            None => match c {
                '[' => closing = Some(']'),
                '(' => closing = Some(')'),
                '*' => closing = Some('*'),
                '♪' | '♫' => {}
                _ => out.push(c),
            },
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_known_hallucination(text: &str) -> bool {
    let normalized: String = text
        .chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace())
        .collect::<String>()
        .to_lowercase();
    let normalized = normalized.split_whitespace().collect::<Vec<_>>().join(" ");
    HALLUCINATIONS.contains(&normalized.as_str())
}

/// Keeps segment times inside the speech span and monotone.
fn clamp_times(segments: &mut [TranscriptSegment], start_s: f64, end_s: f64) {
    let mut floor = start_s;
    for s in segments {
        s.start_s = round_ms(s.start_s.clamp(floor, end_s));
        s.end_s = round_ms(s.end_s.clamp(s.start_s, end_s));
        s.confidence = (s.confidence * 1000.0).round() / 1000.0;
        floor = s.end_s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_speech_markers_are_removed() {
        assert_eq!(strip_non_speech(" [BLANK_AUDIO]"), "");
        assert_eq!(
            strip_non_speech("(upbeat music) Hello there. ♪"),
            "Hello there."
        );
        assert_eq!(strip_non_speech("*sigh* call me back"), "call me back");
        assert_eq!(strip_non_speech("five five five"), "five five five");
    }

    #[test]
    fn known_hallucinations_match_loosely() {
        assert!(is_known_hallucination(" Thank you."));
        assert!(is_known_hallucination("you"));
        assert!(!is_known_hallucination(
            "Thank you for calling the dental office."
        ));
    }

    #[test]
    fn segment_times_are_clamped_and_monotone() {
        let seg = |a, b| TranscriptSegment {
            start_s: a,
            end_s: b,
            text: "x".into(),
            confidence: 0.5,
        };
        let mut segs = vec![seg(0.5, 2.0), seg(1.5, 9.0)];
        clamp_times(&mut segs, 1.0, 5.0);
        assert_eq!((segs[0].start_s, segs[0].end_s), (1.0, 2.0));
        assert_eq!((segs[1].start_s, segs[1].end_s), (2.0, 5.0));
    }

    #[test]
    fn short_spans_are_padded_to_the_minimum() {
        let audio = Mono16k::from_samples(zeroize::Zeroizing::new(vec![0.1; 16_000 * 3]));
        let (clip, start) = padded_clip(&audio, 1.0, 1.5);
        assert!(clip.len() >= 17_600);
        assert!((start - 0.7).abs() < 1e-9);
        let (clip, start) = padded_clip(&audio, 0.0, 0.2);
        assert_eq!(start, 0.0);
        assert!(clip.len() >= 17_600);
    }
}
