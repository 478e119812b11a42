//! Transcription with the real Whisper model (tiny.en): word error rate on every speech sample,
//! no words from silence, noise or tones, timed segments, short clips, long spans decoded in
//! pieces, audio_ctx, CLI options.
//!
//! Every model test starts with the model gate (`support::model::require_model`): without
//! `models/ggml-tiny.en.bin` it fails on CI and prints a loud `SKIPPED` line elsewhere. Model
//! runs are serialized (`model_lock`), and the default-settings transcripts of all speech
//! samples are computed once and shared by the tests that only read them.
//!
//! WER is computed after the normalization described in `tests/support/model.rs` (lowercase,
//! no punctuation, contractions expanded, numbers compared in their closest spoken reading).
//! Run with `-- --nocapture` to see the per-file tables.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use callscribe::audio::Seconds;
use callscribe::batch::{self, BatchOptions};
use callscribe::config::{ContextSettings, Limits, PipelineConfig, DEFAULT_MIN_AUDIO_CTX};
use callscribe::result::{RecordingResult, Source, Stage, Status, Transcript};
use callscribe::{decode, resample, Pipeline, RunOptions};

use crate::support::cli_run::run_cli;
use crate::support::model::{
    model_lock, normalized_words, require_model, run_with_threads, span_beyond_one_window, wer,
    word_errors, PER_FILE_WER_BOUND, PROMPTED_WAV, PROMPT_DIGITS, PROMPT_GLOBAL, THREADS,
};
use crate::support::samples::{quiet_caller, wav_pcm16, Manifest, SampleEntry};

/// Bound on the aggregate WER over all speech samples (edits / reference words), tiny.en
/// (`models/ggml-tiny.en.bin`, greedy, 1 thread). Measured on 2026-11-27: 20.0% (35 edits / 175
/// words) at first, with min_audio_ctx 512 and the full 1500 alike; 18.3% (32) after the VAD
/// began skipping frames below the level gate and whisper.cpp was built with llamafile's SGEMM;
/// 22.9% (40) after comfort noise was added to the VAD's input. That last change moved two
/// speech starts by one or two 16 ms frames, and tiny.en turned "running about 10 minutes late"
/// into "running an out-band minute slate" and "Hi, it's Jennifer" into "High is standard": on
/// 13 short espeak clips the aggregate moves by several points with the clip's first frame. The
/// transcripts are identical over repeated runs. tiny.en on espeak voices over 8 kHz lines also
/// mishears real words ("dental" → "mental"), so the bound sits above the measurements (44
/// edits), not near zero.
const AGGREGATE_BOUND: f64 = 0.25;

/// How much worse the reduced encoder context (min_audio_ctx 256, the default) may be than the
/// full one (1500), in aggregate WER. Measured 2026-11-27 with the floor at 512: both 20.0%
/// (22.9% vs 23.4% before the normalizer read "5.5.1.2" as digits). 2026-12-06 (a6f7495), floor
/// 256: 22.3% (39 edits) against 21.1% (37) at full context; at 512, four of the 13
/// transcripts differ from 256's in one or two words each.
const AUDIO_CTX_MARGIN: f64 = 0.03;

fn config(model: &Path, min_audio_ctx: u32) -> PipelineConfig {
    let mut config = PipelineConfig::default();
    config.transcribe.enabled = true;
    config.transcribe.model = model.to_path_buf();
    config.transcribe.threads = THREADS;
    config.transcribe.beam_size = 0;
    config.transcribe.min_audio_ctx = min_audio_ctx;
    crate::support::model::find_speech_as_the_cli_does(&mut config);
    config
}

fn pipeline(model: &Path, min_audio_ctx: u32) -> Pipeline {
    Pipeline::new(config(model, min_audio_ctx)).expect("pipeline with the model")
}

/// Top-level samples the manifest expects to be `ok` with a known text (hostile/ and
/// unsupported/ excluded): the WER set.
fn speech_samples() -> Vec<&'static SampleEntry> {
    Manifest::get().select(10, |f| {
        f.is_top_level() && f.has_speech() && f.text.is_some()
    })
}

fn truth(entry: &SampleEntry) -> &str {
    entry.text.as_deref().expect("speech samples have a text")
}

/// One sample transcribed.
struct Run {
    entry: &'static SampleEntry,
    result: RecordingResult,
}

impl Run {
    fn text(&self) -> &str {
        self.result
            .transcript
            .as_ref()
            .map_or("", |t| t.text.as_str())
    }
}

fn transcribe_all(pipeline: &Pipeline) -> Vec<Run> {
    speech_samples()
        .into_iter()
        .map(|entry| Run {
            result: pipeline.process_file(&entry.path()),
            entry,
        })
        .collect()
}

static DEFAULT_RUNS: OnceLock<Vec<Run>> = OnceLock::new();

/// Every speech sample with the default settings (min_audio_ctx 256), computed once. Never call
/// this while holding `model_lock` (it takes the lock itself).
fn default_runs(model: &Path) -> &'static [Run] {
    DEFAULT_RUNS.get_or_init(|| {
        let default = PipelineConfig::default().transcribe.min_audio_ctx;
        assert_eq!(
            default, 256,
            "the default floor changed: update this module's comments"
        );
        let _serial = model_lock();
        transcribe_all(&pipeline(model, default))
    })
}

/// Per-file WER lines and the aggregate (edits / reference words).
fn wer_table(runs: &[Run]) -> (f64, String) {
    let (mut edits, mut words) = (0, 0);
    let mut table = String::new();
    for run in runs {
        let (e, w) = word_errors(truth(run.entry), run.text());
        edits += e;
        words += w;
        table.push_str(&format!(
            "  {:>5.1}%  {:<48} {:?}\n",
            100.0 * e as f64 / w.max(1) as f64,
            run.entry.name,
            run.text()
        ));
    }
    let aggregate = edits as f64 / words.max(1) as f64;
    table.push_str(&format!(
        "  {:>5.1}%  aggregate ({edits} edits / {words} words)\n",
        100.0 * aggregate
    ));
    (aggregate, table)
}

// --- The metric itself (no model) -----------------------------------------------------------

#[test]
fn wer_normalizer_reads_numbers_and_ignores_punctuation() {
    let same = [
        (
            "call me back at five five five, one two three four.",
            "Call me back at 555-1234.",
        ),
        (
            "call me back at five five five, one two three four.",
            "call me back at 5.5.5.1.2.3.4",
        ),
        (
            "I am running about ten minutes late",
            "I'm running about 10 minutes late.",
        ),
        ("for Tuesday at three thirty.", "for Tuesday at 3:30"),
        ("moved to room two oh four", "moved to room 204."),
        ("room two hundred four", "Room 204"),
        (
            "my date of birth is March twelfth.",
            "My date of birth is March 12th.",
        ),
        (
            "my date of birth is March twelfth.",
            "My date of birth is March 12.",
        ),
        (
            "account number is four seven two, nine one eight",
            "Account number is 472-918.",
        ),
        (
            "between nine and eleven on Friday",
            "between 9 and 11 on Friday",
        ),
        ("Hi, it's Jennifer.", "Hi, it is Jennifer!"),
        ("on Oak Street", "on Oak St."),
        ("at three", "at 3:00"),
        ("at three o'clock", "at 3:00"),
    ];
    for (reference, hypothesis) in same {
        assert_eq!(
            wer(reference, hypothesis),
            0.0,
            "{reference:?} vs {hypothesis:?}"
        );
    }
    // Real differences still count, including a wrong digit inside a number.
    assert_eq!(
        word_errors("call me back at five five five", "call me back at 556"),
        (1, 7)
    );
    assert_eq!(word_errors("ten minutes late", "11 minutes late"), (1, 3));
    assert_eq!(word_errors("room two oh four", "room 240"), (2, 4));
    assert_eq!(
        word_errors("on the twelfth", "on the 12"),
        (1, 3),
        "ordinal only after a month"
    );
    assert_eq!(word_errors("a b c d", "a x c"), (2, 4));
    assert_eq!(word_errors("yes please", ""), (2, 2));
    assert_eq!(word_errors("yes", "yes thank you"), (2, 1));
    assert_eq!(normalized_words("Thank you."), ["thank", "you"]);
}

// --- The model ------------------------------------------------------------------------------

#[test]
fn speech_samples_transcribe_within_wer_bounds() {
    let Some(model) = require_model() else { return };
    let runs = default_runs(&model);
    let (aggregate, table) = wer_table(runs);
    eprintln!(
        "WER, tiny.en, min_audio_ctx {DEFAULT_MIN_AUDIO_CTX} ({} files):\n{table}",
        runs.len()
    );
    for run in runs {
        assert_eq!(
            run.result.status,
            Status::Ok,
            "{}: {:?}",
            run.entry.name,
            run.result
        );
        let rate = wer(truth(run.entry), run.text());
        assert!(
            rate <= PER_FILE_WER_BOUND,
            "{}: WER {:.1}% > {:.0}%\n{table}",
            run.entry.name,
            rate * 100.0,
            PER_FILE_WER_BOUND * 100.0
        );
    }
    assert!(
        aggregate <= AGGREGATE_BOUND,
        "aggregate WER {:.1}% > {:.0}% (see AGGREGATE_BOUND for the measurement)\n{table}",
        aggregate * 100.0,
        AGGREGATE_BOUND * 100.0
    );
}

#[test]
fn transcript_segments_are_ordered_inside_the_speech_span() {
    let Some(model) = require_model() else { return };
    for run in default_runs(&model) {
        let name = &run.entry.name;
        let audio = run
            .result
            .audio
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: no audio"));
        let transcript = run
            .result
            .transcript
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: no transcript"));
        let span = audio.speech_start_s.zip(audio.speech_end_s);
        let (start, end) = span.unwrap_or_else(|| panic!("{name}: no speech span"));
        let spoken = run.entry.speech_start_s.zip(run.entry.speech_end_s);
        let (spoken_start, spoken_end) = spoken.expect("speech samples have boundaries");
        assert!(!transcript.segments.is_empty(), "{name}: no segments");
        assert_eq!(transcript.language, "en");
        check_segments(name, transcript, start, end);
        for s in &transcript.segments {
            // Against the manifest: every segment touches the real speech.
            assert!(
                s.end_s >= spoken_start - 0.3 && s.start_s <= spoken_end + 0.3,
                "{name}: {s:?} outside the spoken {spoken_start}..{spoken_end}"
            );
        }
    }
}

/// The transcript's text is its segments joined; segments are non-empty, ordered, not
/// overlapping, inside the speech span `start..end`, with a confidence in [0, 1].
fn check_segments(name: &str, transcript: &Transcript, start: f64, end: f64) {
    let joined: Vec<&str> = transcript
        .segments
        .iter()
        .map(|s| s.text.as_str())
        .collect();
    assert_eq!(
        transcript.text,
        joined.join(" "),
        "{name}: text is the segments joined"
    );
    let mut previous_end = start;
    for s in &transcript.segments {
        assert!(!s.text.trim().is_empty(), "{name}: empty segment {s:?}");
        assert!(s.start_s <= s.end_s, "{name}: {s:?}");
        assert!(
            s.start_s >= previous_end - 1e-9,
            "{name}: overlaps the previous: {s:?}"
        );
        assert!(
            s.start_s >= start - 1e-9 && s.end_s <= end + 1e-9,
            "{name}: {s:?} outside the speech span {start}..{end}"
        );
        assert!((0.0..=1.0).contains(&s.confidence), "{name}: {s:?}");
        previous_end = s.end_s;
    }
}

/// No transcript words at all, and never Whisper's classic inventions.
fn assert_silent(what: &str, result: &RecordingResult) {
    assert_eq!(result.status, Status::NoSpeech, "{what}: {result:?}");
    let transcript = result
        .transcript
        .as_ref()
        .unwrap_or_else(|| panic!("{what}: no transcript"));
    let words = normalized_words(&transcript.text);
    for phrase in [
        &["you"][..],
        &["thank", "you"],
        &["bye"],
        &["thanks", "for", "watching"],
    ] {
        assert!(
            !words.windows(phrase.len()).any(|w| w == phrase),
            "{what} hallucinated {:?}",
            transcript.text
        );
    }
    assert_eq!(transcript.text, "", "{what}");
    assert!(
        transcript.segments.is_empty(),
        "{what}: {:?}",
        transcript.segments
    );
}

#[test]
fn silence_and_noise_samples_have_empty_transcripts() {
    let Some(model) = require_model() else { return };
    let quiet = Manifest::get().select(3, |f| f.is_top_level() && f.expect == "no_speech");
    let _serial = model_lock();
    let pipeline = pipeline(&model, DEFAULT_MIN_AUDIO_CTX);
    for entry in quiet {
        assert_silent(&entry.name, &pipeline.process_file(&entry.path()));
    }
}

/// Gaussian white noise at `rms_dbfs`, 16 kHz, from a fixed seed (xorshift64* + Box–Muller).
fn white_noise(seconds: f64, rms_dbfs: f64, seed: u64) -> Vec<f32> {
    let mut state = seed.max(1);
    let mut uniform = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        ((state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let rms = 10f64.powf(rms_dbfs / 20.0);
    (0..(seconds * 16_000.0) as usize)
        .map(|_| {
            let (u1, u2) = (uniform(), uniform());
            (rms * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
        })
        .collect()
}

/// Adds a sum of sines (each `peak_dbfs` peak) from `start` to `end` seconds at 16 kHz, with
/// raised-cosine ramps of `ramp` seconds at both ends.
fn add_tone(out: &mut [f32], freqs: &[f64], peak_dbfs: f64, start: f64, end: f64, ramp: f64) {
    let amp = 10f64.powf(peak_dbfs / 20.0);
    let (a, b) = ((start * 16_000.0) as usize, (end * 16_000.0) as usize);
    for (i, sample) in out.iter_mut().enumerate().take(b).skip(a) {
        let t = (i - a) as f64 / 16_000.0;
        let edge = t.min(end - start - t);
        let gain = if edge < ramp {
            0.5 * (1.0 - (std::f64::consts::PI * edge / ramp).cos())
        } else {
            1.0
        };
        let v: f64 = freqs
            .iter()
            .map(|f| (std::f64::consts::TAU * f * i as f64 / 16_000.0).sin())
            .sum();
        *sample += (amp * gain * v) as f32;
    }
}

#[test]
fn synthetic_silence_noise_and_tones_have_empty_transcripts() {
    let Some(model) = require_model() else { return };
    let zeros = vec![0.0f32; 5 * 16_000];
    let noise = white_noise(5.0, -50.0, 0x00C0_FFEE);
    // The bot's 1 kHz beep (0.5 s, −10 dBFS), then the caller pressing # (941 + 1477 Hz,
    // −10 dBFS each, 0.3 s) and nothing else: a recording in which nobody spoke.
    let mut tones = vec![0.0f32; 4 * 16_000];
    add_tone(&mut tones, &[1000.0], -10.0, 0.3, 0.8, 0.01);
    add_tone(&mut tones, &[941.0, 1477.0], -10.0, 2.5, 2.8, 0.003);

    let _serial = model_lock();
    let pipeline = pipeline(&model, DEFAULT_MIN_AUDIO_CTX);
    for (what, samples) in [
        ("5 s of digital zeros", &zeros),
        ("5 s of white noise at -50 dBFS", &noise),
        ("a 1 kHz beep and a DTMF #", &tones),
    ] {
        let result = pipeline.process(&wav_pcm16(16_000, 1, samples), Source::default());
        assert_silent(what, &result);
    }
}

#[test]
fn short_utterance_is_padded_and_transcribed() {
    let Some(model) = require_model() else { return };
    // "Yes, please.": 0.86 s of speech in a 1.0 s file (whose size fields claim 74 h).
    let entry = Manifest::get().entry("hostile/pcm16-8000hz-mono-size-fields-0xffffffff.wav");
    let result = {
        let _serial = model_lock();
        pipeline(&model, DEFAULT_MIN_AUDIO_CTX).process_file(&entry.path())
    };
    assert_eq!(result.status, Status::Ok, "{result:?}");
    let audio = result.audio.as_ref().expect("audio");
    // Under the transcriber's 1.1 s minimum clip, so the padding path runs.
    assert!(audio.speech_s < 1.1, "not a short clip any more: {audio:?}");
    let text = result.transcript.as_ref().map_or("", |t| t.text.as_str());
    let rate = wer(truth(entry), text);
    eprintln!("short utterance: {text:?} (WER {:.0}%)", rate * 100.0);
    assert!(
        !text.is_empty(),
        "a sub-second utterance gave no words: {result:?}"
    );
    assert!(rate <= 0.5, "{text:?} vs {:?}", truth(entry));
}

/// A quiet caller ([`quiet_caller`]: the beep sample's speech 35 and 45 dB down, the beep and
/// the `#` as they were) is transcribed as at its own level: `ok`, within the per-file bound.
/// Whisper normalises its spectrogram to the loudest frame, so the words hold; before trim
/// listened to a quiet recording louder, 35 dB down was `no_speech`.
#[test]
fn a_quiet_caller_is_transcribed() {
    let Some(model) = require_model() else { return };
    let entry = Manifest::get().entry("pcm16-8000hz-mono-beep-speech-dtmf-hash.wav");
    let _serial = model_lock();
    let pipeline = pipeline(&model, DEFAULT_MIN_AUDIO_CTX);
    for down_db in [35.0, 45.0] {
        let result = pipeline.process(&quiet_caller(entry, down_db), Default::default());
        assert_eq!(result.status, Status::Ok, "{down_db} dB down: {result:?}");
        let text = result.transcript.as_ref().map_or("", |t| t.text.as_str());
        let rate = wer(truth(entry), text);
        eprintln!("{down_db} dB down: {text:?} (WER {:.0}%)", rate * 100.0);
        assert!(
            rate <= PER_FILE_WER_BOUND,
            "{down_db} dB down: {text:?} vs {:?}",
            truth(entry)
        );
    }
}

/// Digital silence between the sentences of [`long_recording`], in seconds: longer than trim's
/// 300 ms minimum silence, so each sentence is its own speech segment and the pauses are where
/// the transcriber may cut.
const LONG_PAUSE_S: f64 = 0.6;

/// [`long_recording`] adds sentences until it is at least this long, in seconds: over 30 s, so
/// the span needs more than one encoder window, and under a minute to keep the test quick.
const LONG_MIN_S: f64 = 45.0;

/// One sentence of [`long_recording`] and where it lies there, in seconds.
struct Placed {
    entry: &'static SampleEntry,
    start_s: f64,
    end_s: f64,
}

/// A 16 kHz recording of the speech samples' sentences one after the other (in manifest order,
/// until [`LONG_MIN_S`]), each cut to its manifest speech span after callscribe's own decode and
/// resample, with [`LONG_PAUSE_S`] of silence between them and 0.5 s before and after.
fn long_recording() -> (Vec<f32>, Vec<Placed>) {
    let edge = vec![0.0f32; 8_000];
    let pause = vec![0.0f32; (LONG_PAUSE_S * 16_000.0) as usize];
    let mut out = edge.clone();
    let mut placed = Vec::new();
    for entry in speech_samples() {
        if out.len() as f64 / 16_000.0 >= LONG_MIN_S {
            break;
        }
        let decoded = decode::decode(&entry.bytes(), &Limits::default())
            .unwrap_or_else(|e| panic!("{}: {e}", entry.name));
        let mono =
            resample::to_mono16k(decoded.pcm).unwrap_or_else(|e| panic!("{}: {e}", entry.name));
        let (start, end) = entry
            .speech_start_s
            .zip(entry.speech_end_s)
            .expect("speech samples have boundaries");
        if !placed.is_empty() {
            out.extend_from_slice(&pause);
        }
        let start_s = out.len() as f64 / 16_000.0;
        out.extend_from_slice(mono.slice(Seconds(start), Seconds(end)));
        placed.push(Placed {
            entry,
            start_s,
            end_s: out.len() as f64 / 16_000.0,
        });
    }
    out.extend_from_slice(&edge);
    (out, placed)
}

/// The normalized words of `part`'s text, of at least four letters, that no other part's text
/// has: words whose presence in the transcript shows that this sentence was transcribed.
fn distinctive_words(part: &Placed, all: &[Placed]) -> Vec<String> {
    let others: Vec<String> = all
        .iter()
        .filter(|p| p.entry.name != part.entry.name)
        .flat_map(|p| normalized_words(truth(p.entry)))
        .collect();
    normalized_words(truth(part.entry))
        .into_iter()
        .filter(|w| w.len() >= 4 && w.chars().all(|c| c.is_alphabetic()))
        .filter(|w| !others.contains(w))
        .collect()
}

#[test]
fn long_recording_is_transcribed_in_pieces() {
    let Some(model) = require_model() else { return };
    let (recording, parts) = long_recording();
    let seconds = recording.len() as f64 / 16_000.0;
    assert!(
        (LONG_MIN_S..=65.0).contains(&seconds),
        "{seconds} s recording"
    );
    let reference: Vec<&str> = parts.iter().map(|p| truth(p.entry)).collect();
    let reference = reference.join(" ");
    let result = {
        let _serial = model_lock();
        let bytes = wav_pcm16(16_000, 1, &recording);
        run_with_threads(&pipeline(&model, DEFAULT_MIN_AUDIO_CTX), &bytes, THREADS)
    };
    assert_eq!(result.status, Status::Ok, "{result:?}");
    let audio = result.audio.as_ref().expect("audio");
    let transcript = result.transcript.as_ref().expect("transcript");
    // More than one 30 s window: the transcriber must cut it.
    let (start, end) = span_beyond_one_window(&result);
    let rate = wer(&reference, &transcript.text);
    eprintln!(
        "long recording: {seconds:.2} s, {} sentences, speech {start:.2}..{end:.2} s, \
         {} speech segments, {} transcript segments, WER {:.1}%, timings_ms {:?}\n{:?}",
        parts.len(),
        audio.segments.len(),
        transcript.segments.len(),
        rate * 100.0,
        result.timings_ms,
        transcript.text
    );
    assert!(
        rate <= PER_FILE_WER_BOUND,
        "WER {:.1}% > {:.0}%: {:?}",
        rate * 100.0,
        PER_FILE_WER_BOUND * 100.0,
        transcript.text
    );

    // The first and the last sentence are both there: neither end of the span was lost.
    let said = normalized_words(&transcript.text);
    let (first, last) = (&parts[0], &parts[parts.len() - 1]);
    for part in [first, last] {
        let words = distinctive_words(part, &parts);
        let found = words.iter().filter(|w| said.contains(w)).count();
        assert!(
            found >= (words.len() / 2).max(1),
            "{}: only {found} of {words:?} in {:?}",
            part.entry.name,
            transcript.text
        );
    }

    // Segments: ordered, inside the span, and reaching both ends of it (a piece timed from the
    // wrong origin would land elsewhere or be clamped away).
    check_segments("long recording", transcript, start, end);
    let segments = &transcript.segments;
    let (Some(first_segment), Some(last_segment)) = (segments.first(), segments.last()) else {
        panic!("no segments")
    };
    assert!(
        first_segment.start_s < first.end_s,
        "{first_segment:?} starts after the first sentence ({}..{})",
        first.start_s,
        first.end_s
    );
    assert!(
        last_segment.end_s > last.start_s,
        "{last_segment:?} ends before the last sentence ({}..{})",
        last.start_s,
        last.end_s
    );
}

#[test]
fn reduced_audio_ctx_is_not_worse_than_full_context() {
    let Some(model) = require_model() else { return };
    let fast = default_runs(&model);
    let full = {
        let _serial = model_lock();
        transcribe_all(&pipeline(&model, 1500))
    };
    for run in &full {
        assert_eq!(
            run.result.status,
            Status::Ok,
            "{}: {:?}",
            run.entry.name,
            run.result
        );
    }
    let (fast_wer, fast_table) = wer_table(fast);
    let (full_wer, full_table) = wer_table(&full);
    let report = format!(
        "WER with min_audio_ctx {DEFAULT_MIN_AUDIO_CTX}: {:.1}%; with 1500 (full context): \
         {:.1}%\n{DEFAULT_MIN_AUDIO_CTX}:\n{fast_table}1500:\n{full_table}",
        fast_wer * 100.0,
        full_wer * 100.0
    );
    eprintln!("{report}");
    assert!(fast_wer <= full_wer + AUDIO_CTX_MARGIN, "{report}");
}

/// A piece that keeps no words at a reduced encoder context is decoded again at the full one:
/// the reduced context is a speed-up and must never cost an utterance. With the context floor
/// at 300 positions, the noisy car call's 5 s clip gets 314: tiny.en loops there, loops again at
/// the hotter retry, and every segment is dropped (found 2026-12-04; the floors 400 and 512 do
/// not loop). Without the full-context decode this recording came back `no_speech`.
#[test]
fn a_piece_without_words_at_a_reduced_context_is_decoded_at_full_context() {
    let Some(model) = require_model() else { return };
    let name = "pcm16-16000hz-mono-speech-pink-noise-snr25.wav";
    let entry = speech_samples()
        .into_iter()
        .find(|e| e.name == name)
        .expect("the noisy car call is a speech sample");
    let result = {
        let _serial = model_lock();
        pipeline(&model, 300).process_file(&entry.path())
    };
    assert_eq!(result.status, Status::Ok, "{result:?}");
    let text = result.transcript.as_ref().map_or("", |t| t.text.as_str());
    let (edits, words) = word_errors(truth(entry), text);
    let wer = edits as f64 / words as f64;
    assert!(wer <= PER_FILE_WER_BOUND, "WER {wer:.3} on {text:?}");
}

#[test]
fn cli_threads_and_beam_size_options_transcribe_a_file() {
    let Some(model) = require_model() else { return };
    let entry = Manifest::get().entry("pcm16-16000hz-mono-speech.wav");
    let (model, input) = (
        model.display().to_string(),
        entry.path().display().to_string(),
    );
    let args = [
        "process",
        "--threads",
        "1",
        "--beam-size",
        "5",
        "--model",
        &model,
        &input,
    ];
    let run = {
        let _serial = model_lock();
        run_cli(&args, None, Duration::from_secs(300))
    };
    assert_eq!(run.code(), Some(0), "stderr:\n{}", run.stderr);
    let lines = run.lines();
    assert_eq!(lines.len(), 1, "{}", run.stdout);
    let result: RecordingResult = serde_json::from_str(lines[0]).expect("a strict JSON result");
    assert_eq!(result.status, Status::Ok, "{result:?}");
    let text = result.transcript.as_ref().map_or("", |t| t.text.as_str());
    let rate = wer(truth(entry), text);
    eprintln!(
        "--threads 1 --beam-size 5: {text:?} (WER {:.1}%)",
        rate * 100.0
    );
    assert!(rate <= PER_FILE_WER_BOUND, "WER {rate:.2}: {text:?}");
}

/// `batch::build_and_run` (what `process` runs) reads, decodes and trims the first input while
/// the model loads, and transcribes it once the model is there: every result, the first
/// included, is the one `Pipeline::process_file` gives, timings aside, with the same stages
/// timed. A first input that cannot be read fails as it does alone, and the rest still run.
#[test]
fn a_batch_whose_first_input_is_heard_while_the_model_loads_gives_each_file_its_result() {
    let Some(model) = require_model() else { return };
    let runs = &default_runs(&model)[..3];
    let missing = std::env::temp_dir().join("callscribe-no-such-recording.wav");
    let alone = pipeline(&model, DEFAULT_MIN_AUDIO_CTX).process_file(&missing);
    assert_eq!(alone.status, Status::Failed, "{alone:?}");
    let first_read: Vec<PathBuf> = runs.iter().map(|run| run.entry.path()).collect();
    let first_missing = [missing.clone(), runs[0].entry.path()];
    for (inputs, expected) in [
        (
            &first_read[..],
            runs.iter().map(|run| &run.result).collect::<Vec<_>>(),
        ),
        (&first_missing[..], vec![&alone, &runs[0].result]),
    ] {
        let results = Mutex::new(BTreeMap::new());
        let summary = {
            let _serial = model_lock();
            let options = BatchOptions {
                jobs: 1,
                keep_audio: None,
            };
            batch::build_and_run(
                config(&model, DEFAULT_MIN_AUDIO_CTX),
                inputs,
                &options,
                |index, _, result| {
                    results
                        .lock()
                        .expect("results")
                        .insert(index, result.clone());
                },
            )
            .expect("the batch runs")
        };
        let results = results.into_inner().expect("results");
        assert_eq!(summary.total(), inputs.len());
        assert_eq!(results.len(), inputs.len());
        for ((index, got), want) in results.iter().zip(expected) {
            let name = inputs[*index].display();
            assert_eq!(without_timings(got), without_timings(want), "{name}");
            let stages =
                |r: &RecordingResult| Stage::ALL.map(|stage| r.timings_ms.get(stage).is_some());
            assert_eq!(stages(got), stages(want), "timed stages of {name}");
        }
    }
}

/// A result as JSON without its `timings_ms`, which differ from run to run.
fn without_timings(result: &RecordingResult) -> serde_json::Value {
    let mut value = serde_json::to_value(result).expect("a result serializes");
    value
        .as_object_mut()
        .expect("a result is an object")
        .remove("timings_ms");
    value
}

/// The operation's `clientContext` picks the prompt (`transcribe.by_client_context`, the way a
/// `serve` config file sets it): a recording whose context starts with a listed prefix is
/// transcribed exactly as with that entry's prompt as `--prompt` (the longest prefix wins; an
/// empty prompt means none), any other exactly as with the global prompt. The prompts give
/// this recording three different transcripts, so a prompt ignored or mixed up fails.
#[test]
fn the_prompt_is_picked_by_the_operations_client_context() {
    let Some(model) = require_model() else { return };
    let _serial = model_lock();
    let wav = crate::support::model::repo_path(PROMPTED_WAV);
    let bytes = std::fs::read(&wav).expect("the fixture");
    let with_prompt = |prompt: Option<&str>| {
        let mut c = config(&model, DEFAULT_MIN_AUDIO_CTX);
        c.transcribe.prompt = prompt.map(str::to_owned);
        Pipeline::new(c).expect("pipeline")
    };
    let text = |pipeline: &Pipeline, client_context: Option<&str>| {
        let source = Source {
            client_context: client_context.map(str::to_owned),
            ..Source::default()
        };
        let result = pipeline.run(&bytes, source, &RunOptions::default()).result;
        assert_eq!(result.status, Status::Ok, "{result:?}");
        result.transcript.expect("a transcript").text
    };
    let plain = text(&with_prompt(None), None);
    let global = text(&with_prompt(Some(PROMPT_GLOBAL)), None);
    let digits = text(&with_prompt(Some(PROMPT_DIGITS)), None);
    eprintln!("no prompt: {plain}\nglobal:    {global}\ndigits:    {digits}");
    assert!(
        plain != global && plain != digits && global != digits,
        "the prompts must change this recording's transcript, or the test proves nothing"
    );

    let mut c = config(&model, DEFAULT_MIN_AUDIO_CTX);
    c.transcribe.prompt = Some(PROMPT_GLOBAL.to_owned());
    c.transcribe.by_client_context = vec![
        ContextSettings {
            client_context_prefix: "shop:".into(),
            prompt: Some(PROMPT_DIGITS.into()),
            language: None,
        },
        ContextSettings {
            client_context_prefix: "shop:plain".into(),
            prompt: Some(String::new()),
            language: None,
        },
        // Leaves the prompt as it is: the general one.
        ContextSettings {
            client_context_prefix: "shopping".into(),
            prompt: None,
            language: Some("en".into()),
        },
    ];
    let per_operation = Pipeline::new(c).expect("pipeline with context prompts");
    for (context, expected, what) in [
        (Some("shop:call-17"), &digits, "the prefix's prompt"),
        (
            Some("shop:plain-4"),
            &plain,
            "the longer prefix's empty prompt",
        ),
        (
            Some("shopping"),
            &global,
            "no prefix matches: the global prompt",
        ),
        (None, &global, "no clientContext: the global prompt"),
    ] {
        assert_eq!(
            &text(&per_operation, context),
            expected,
            "{context:?}: {what}"
        );
    }
}

/// `by_client_context` entries are checked when the model loads: an empty or repeated
/// prefix, an over-long prompt and an unknown language are configuration errors that name the
/// entry.
#[test]
fn bad_client_context_settings_are_refused_at_start_up() {
    let Some(model) = require_model() else { return };
    let _serial = model_lock();
    let entry = |prefix: &str, prompt: String| ContextSettings {
        client_context_prefix: prefix.into(),
        prompt: Some(prompt),
        language: None,
    };
    let unknown_language = ContextSettings {
        language: Some("xx".into()),
        ..entry("tenant-x", String::new())
    };
    for (entries, expected) in [
        (
            vec![entry("", "hi".into())],
            "non-empty client_context_prefix",
        ),
        (
            vec![entry("a", "hi".into()), entry("a", "ho".into())],
            "listed twice",
        ),
        (
            vec![entry("long", "word ".repeat(400))],
            "by_client_context \"long\": --prompt is",
        ),
        (
            vec![unknown_language],
            "by_client_context \"tenant-x\": unknown language",
        ),
    ] {
        let mut c = config(&model, DEFAULT_MIN_AUDIO_CTX);
        c.transcribe.by_client_context = entries;
        let err = Pipeline::new(c).err().expect("refused");
        assert_eq!(err.kind(), callscribe::ErrorKind::Config, "{err}");
        assert!(err.to_string().contains(expected), "{err}");
    }
}
