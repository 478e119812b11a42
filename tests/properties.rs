//! Property tests (proptest): resampling keeps duration, frequency and time alignment at any
//! rate; speech spans always lie inside the recording; JSON results round-trip exactly.
//!
//! Case counts are kept low (each case resamples or runs the VAD over seconds of audio);
//! raise them for a deeper run with `PROPTEST_CASES=1000`. A failing case is shrunk and
//! printed; proptest also records its seed in `tests/properties.proptest-regressions`, which
//! should be committed so the case is replayed first from then on.

use std::f64::consts::TAU;

use callscribe::audio::{Mono16k, Pcm, SampleRate, TARGET_RATE};
use callscribe::config::{PipelineConfig, TrimOptions};
use callscribe::result::{
    AudioReport, BeepReport, ErrorInfo, NoSpeechReason, RecordingResult, ResultInfo, Source, Stage,
    Status, StopToneReport, Timings, Transcript, TranscriptSegment,
};
use callscribe::trim::{find_speech, Segment};
use callscribe::{resample, ErrorKind, Pipeline};
use proptest::prelude::*;
use proptest::test_runner::Config;
use zeroize::Zeroizing;

use crate::support::model::VAD_MODEL_FILE;
use crate::support::wav::{float32_wav, pcm16_wav, read_pcm16_sample};

/// Cases per property unless `PROPTEST_CASES` says otherwise.
fn cases(n: u32) -> Config {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(n);
    Config {
        cases: n,
        // Persist failures next to this file (the default looks for a `src/lib.rs` sibling).
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..Config::default()
    }
}

// --- Resampling --------------------------------------------------------------------------------

/// Any rate callscribe accepts (up to the default 192 kHz limit): the common ones, and
/// arbitrary integers, whose ratio to 16 kHz has no small common factor.
fn any_rate() -> impl Strategy<Value = u32> {
    prop_oneof![
        prop::sample::select(vec![
            8_000u32, 11_025, 12_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000, 88_200,
            96_000, 176_400, 192_000
        ]),
        // Whole multiples of 16 kHz: the ratios rubato turns into the smallest FFTs.
        (1u32..=12).prop_map(|n| n * TARGET_RATE),
        4_000u32..=192_000,
    ]
}

/// Largest gain error of the resampler in its passband (FFT sinc filter ripple).
const GAIN_TOLERANCE: f64 = 0.02;
/// Largest misalignment, in 16 kHz samples (125 µs): the resampler's delay is removed in
/// whole samples, so a fraction of a sample is left at non-integer ratios (measured up to 1.5
/// samples for sources near 5 kHz).
const MAX_LAG_SAMPLES: f64 = 2.0;
/// Largest residual after fitting the input's sine, relative to its amplitude (aliasing,
/// imaging and edge effects).
const DISTORTION_TOLERANCE: f64 = 0.02;

fn sine(rate: u32, frames: usize, freq: f64, amp: f64, phase: f64) -> Vec<f32> {
    (0..frames)
        .map(|i| (amp * (TAU * freq * i as f64 / f64::from(rate) + phase).sin()) as f32)
        .collect()
}

/// Sign changes of `x`, counting a sample exactly at 0 with the sign before it.
fn zero_crossings(x: &[f32]) -> usize {
    x.windows(2)
        .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
        .count()
}

/// What resampling a sine did to it, judged on the middle of the output.
struct SineFit {
    /// The input frequency, in Hz.
    freq: f64,
    /// The frequency measured from zero crossings, in Hz.
    measured_hz: f64,
    /// Fitted amplitude over the input amplitude.
    gain: f64,
    /// Where the fitted phase puts the output relative to the input, in 16 kHz samples.
    lag_samples: f64,
    /// RMS of what the sine fit leaves (distortion, aliasing).
    residual: f64,
    /// Length of the judged middle, in seconds.
    middle_s: f64,
}

/// Resamples a sine at `fraction` of the lower Nyquist frequency and fits `a·sin + b·cos` of
/// the ideal 16 kHz phase to the middle of the output (the first and last 50 ms hold the
/// filter's edge effects): the fitted amplitude is the gain, its phase the misalignment, what
/// it leaves the distortion. Also checks the output length. `None` if the output is too short
/// to judge.
fn resample_sine(
    rate: u32,
    seconds: f64,
    fraction: f64,
    amp: f64,
    phase: f64,
) -> Result<Option<SineFit>, TestCaseError> {
    let frames = (seconds * f64::from(rate)).round() as usize;
    let freq = fraction * f64::from(rate.min(TARGET_RATE)) / 2.0;
    let pcm = Pcm {
        samples: Zeroizing::new(sine(rate, frames, freq, amp, phase)),
        rate: SampleRate(rate),
    };
    let out = resample::to_mono16k(pcm).expect("resample");
    let got = out.samples();
    let expected_len = (frames as u64 * u64::from(TARGET_RATE) / u64::from(rate)) as i64;
    prop_assert!(
        (got.len() as i64 - expected_len).abs() <= 1,
        "{frames} frames at {rate} Hz gave {} samples, expected {expected_len}",
        got.len()
    );
    let edge = 800;
    if got.len() <= 2 * edge + 1600 {
        return Ok(None);
    }
    let middle = &got[edge..got.len() - edge];
    let middle_s = middle.len() as f64 / f64::from(TARGET_RATE);
    let measured_hz = zero_crossings(middle) as f64 / (2.0 * middle_s);

    let w = TAU * freq / f64::from(TARGET_RATE);
    let basis = |i: usize| (w * (i + edge) as f64 + phase).sin_cos();
    let (mut ss, mut cc, mut sc, mut ys, mut yc) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (i, &y) in middle.iter().enumerate() {
        let (s, c) = basis(i);
        let y = f64::from(y);
        ss += s * s;
        cc += c * c;
        sc += s * c;
        ys += y * s;
        yc += y * c;
    }
    let det = ss * cc - sc * sc;
    let a = (ys * cc - yc * sc) / det;
    let b = (yc * ss - ys * sc) / det;
    let residual = (middle
        .iter()
        .enumerate()
        .map(|(i, &y)| {
            let (s, c) = basis(i);
            (f64::from(y) - a * s - b * c).powi(2)
        })
        .sum::<f64>()
        / middle.len() as f64)
        .sqrt();
    Ok(Some(SineFit {
        freq,
        measured_hz,
        gain: a.hypot(b) / amp,
        lag_samples: b.atan2(a) / w,
        residual,
        middle_s,
    }))
}

proptest! {
    #![proptest_config(cases(48))]

    /// A sine at any rate comes out at 16 kHz with the input's duration (to one output
    /// sample) and frequency, undistorted, and in time: output sample `i` is the input at
    /// `i / 16000` s (to [`MAX_LAG_SAMPLES`]), so the resampler's delay was removed.
    #[test]
    fn resampling_keeps_duration_frequency_and_alignment(
        rate in any_rate(),
        seconds in 0.3f64..2.0,
        // Fraction of the lower Nyquist frequency: inside every filter's passband.
        fraction in 0.05f64..0.7,
        amp in 0.05f64..0.95,
        phase in 0.0f64..TAU,
    ) {
        let Some(fit) = resample_sine(rate, seconds, fraction, amp, phase)? else {
            return Ok(());
        };
        let SineFit { freq, measured_hz, lag_samples, residual, middle_s, .. } = fit;
        prop_assert!(
            (measured_hz - freq).abs() <= 0.01 * freq + 2.0 / middle_s,
            "{freq:.1} Hz at {rate} Hz came out at {measured_hz:.1} Hz"
        );
        prop_assert!(
            lag_samples.abs() <= MAX_LAG_SAMPLES,
            "{freq:.1} Hz at {rate} Hz: output is {lag_samples:.3} samples off the input's time"
        );
        prop_assert!(
            residual <= DISTORTION_TOLERANCE * amp,
            "{freq:.1} Hz at {rate} Hz: residual {residual:.5} after the sine fit (amplitude {amp:.3})"
        );
    }

    /// The telephone band (up to 4 kHz) keeps its level from any source rate. Fails today for
    /// sources at 7–12 × 16 kHz (112–192 kHz): rubato's FFT sizes follow the ratio, and with
    /// `CHUNK_FRAMES` = 1024 the 16 kHz side of the FFT is so short that its anti-alias
    /// filter rolls off inside the speech band (measured: −23 % at 2.1 kHz, −75 % at 4 kHz
    /// from 192 kHz; 48 kHz and non-integer ratios are flat to 0.1 %).
    #[test]
    fn resampling_keeps_the_telephone_band_level(
        rate in any_rate(),
        seconds in 0.3f64..1.0,
        hz in 100.0f64..4_000.0,
        amp in 0.05f64..0.95,
    ) {
        let fraction = hz / (f64::from(rate.min(TARGET_RATE)) / 2.0);
        prop_assume!(fraction < 0.7);
        let Some(fit) = resample_sine(rate, seconds, fraction, amp, 0.3)? else {
            return Ok(());
        };
        prop_assert!(
            (fit.gain - 1.0).abs() <= GAIN_TOLERANCE,
            "{:.1} Hz at {rate} Hz: gain {:.4}", fit.freq, fit.gain
        );
    }

    /// Any input length, including 0 and 1 frame, gives the duration at 16 kHz (at least one
    /// sample for non-empty input).
    #[test]
    fn resampling_short_inputs_keeps_duration(rate in any_rate(), frames in 0usize..3000) {
        let pcm = Pcm {
            samples: Zeroizing::new(vec![0.25; frames]),
            rate: SampleRate(rate),
        };
        let out = resample::to_mono16k(pcm).expect("resample");
        let expected = (frames as u64 * u64::from(TARGET_RATE) / u64::from(rate)) as usize;
        let expected = if frames > 0 { expected.max(1) } else { 0 };
        prop_assert!(
            out.samples().len().abs_diff(expected) <= 1,
            "{frames} frames at {rate} Hz gave {}, expected {expected}", out.samples().len()
        );
    }
}

// --- Speech spans ------------------------------------------------------------------------------

/// One stretch of a synthetic call.
#[derive(Debug, Clone)]
enum Piece {
    Silence(f64),
    /// Seeded white noise at a level in dBFS (RMS).
    Noise(f64, f64, u64),
    /// A sine at a frequency (Hz) and peak level (dBFS): a beep, a hum, a whistle.
    Tone(f64, f64, f64),
    /// Two sines at once (a DTMF key's pair, or any other pair).
    Pair(f64, f64, f64, f64),
    /// Real speech: a stretch of the 16 kHz speech sample from an offset (s), scaled.
    Speech(f64, f64, f64),
}

fn piece() -> impl Strategy<Value = Piece> {
    let dur = 0.0f64..2.0;
    prop_oneof![
        dur.clone().prop_map(Piece::Silence),
        (dur.clone(), -90.0f64..0.0, any::<u64>()).prop_map(|(d, l, s)| Piece::Noise(d, l, s)),
        (dur.clone(), 50.0f64..7_900.0, -60.0f64..0.0).prop_map(|(d, f, l)| Piece::Tone(d, f, l)),
        (
            dur.clone(),
            prop::sample::select(vec![697.0, 770.0, 852.0, 941.0]),
            prop::sample::select(vec![1209.0, 1336.0, 1477.0, 1633.0]),
            -30.0f64..0.0
        )
            .prop_map(|(d, lo, hi, l)| Piece::Pair(d, lo, hi, l)),
        (dur, 0.0f64..7.0, 0.05f64..2.0).prop_map(|(d, o, g)| Piece::Speech(d, o, g)),
    ]
}

/// The 16 kHz speech sample as floats (read once).
fn speech_16k() -> &'static [f32] {
    static SPEECH: std::sync::OnceLock<Vec<f32>> = std::sync::OnceLock::new();
    SPEECH.get_or_init(|| {
        let (samples, spec) = read_pcm16_sample("pcm16-16000hz-mono-speech.wav");
        assert_eq!((spec.sample_rate, spec.channels), (16_000, 1));
        samples.iter().map(|&s| f32::from(s) / 32768.0).collect()
    })
}

/// Renders pieces at `rate` Hz (speech is the 16 kHz sample played at `rate`: pitch-shifted,
/// still speech-like to a VAD at nearby rates, and arbitrary audio otherwise).
fn render(pieces: &[Piece], rate: u32) -> Vec<f32> {
    let fs = f64::from(rate);
    let mut out = Vec::new();
    for p in pieces {
        let n = |d: f64| (d * fs).round() as usize;
        let db = |l: f64| 10f64.powf(l / 20.0);
        match *p {
            Piece::Silence(d) => out.extend(std::iter::repeat_n(0.0, n(d))),
            Piece::Noise(d, l, seed) => {
                // xorshift64*: deterministic, uniform in [-1, 1), RMS 1/sqrt(3).
                let mut x = seed | 1;
                let gain = db(l) * 3f64.sqrt();
                out.extend((0..n(d)).map(|_| {
                    x ^= x >> 12;
                    x ^= x << 25;
                    x ^= x >> 27;
                    let u =
                        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64;
                    (gain * (2.0 * u - 1.0)) as f32
                }));
            }
            Piece::Tone(d, f, l) => out.extend(sine(rate, n(d), f.min(fs * 0.45), db(l), 0.0)),
            Piece::Pair(d, lo, hi, l) => {
                let a = sine(rate, n(d), lo.min(fs * 0.45), db(l), 0.0);
                let b = sine(rate, n(d), hi.min(fs * 0.45), db(l), 0.0);
                out.extend(a.iter().zip(&b).map(|(x, y)| x + y));
            }
            Piece::Speech(d, offset, gain) => {
                let speech = speech_16k();
                let start = ((offset * 16_000.0) as usize).min(speech.len());
                out.extend(
                    speech[start..]
                        .iter()
                        .cycle()
                        .take(n(d))
                        .map(|&s| (s * gain as f32).clamp(-1.0, 1.0)),
                );
            }
        }
    }
    out
}

fn trim_options() -> impl Strategy<Value = TrimOptions> {
    (
        (0.0f32..1.0, 0.0f32..1.0),
        (0u32..1000, 0u32..1500, 0u32..3000),
        (
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                (onset, offset),
                (min_speech_ms, min_silence_ms, padding_ms),
                (beep, stop, music, tones, silero),
            )| {
                TrimOptions {
                    onset_threshold: onset,
                    offset_threshold: offset,
                    min_speech_ms,
                    min_silence_ms,
                    padding_ms,
                    detect_beep: beep,
                    detect_stop_tone: stop,
                    reject_music: music,
                    reject_tones: tones,
                    // Silero's edges when its weights are there (they are on CI).
                    vad_model: silero
                        .then(|| crate::support::model::repo_path(VAD_MODEL_FILE))
                        .filter(|path| path.exists()),
                }
            },
        )
}

/// The span, segments and tones of a report lie in `0..=duration`, segments are ordered,
/// disjoint and inside the span, and levels exist exactly when there is speech. `rounded`:
/// the times were rounded to the millisecond (a result), so a span or segment shorter than
/// 1 ms may have collapsed to zero length and neighbours may touch.
fn check_report_inside(
    span: Option<Segment>,
    segments: &[Segment],
    tones: &[(f64, f64)],
    levels: (Option<f64>, Option<f64>),
    duration: f64,
    rounded: bool,
) -> Result<(), TestCaseError> {
    let ordered = |a: f64, b: f64| if rounded { a <= b } else { a < b };
    let inside =
        |a: f64, b: f64| a.is_finite() && b.is_finite() && 0.0 <= a && a <= b && b <= duration;
    match span {
        Some(s) => {
            prop_assert!(
                inside(s.start_s, s.end_s) && ordered(s.start_s, s.end_s),
                "span {s:?} outside 0..{duration}"
            );
            prop_assert!(!segments.is_empty());
            prop_assert!(
                levels.0.is_some_and(f64::is_finite) && levels.1.is_some_and(f64::is_finite),
                "{levels:?}"
            );
            let mut last_end = f64::NEG_INFINITY;
            for g in segments {
                prop_assert!(
                    ordered(g.start_s, g.end_s) && ordered(last_end, g.start_s),
                    "segments {segments:?}"
                );
                prop_assert!(
                    s.start_s <= g.start_s && g.end_s <= s.end_s,
                    "{g:?} outside {s:?}"
                );
                last_end = g.end_s;
            }
            prop_assert_eq!(segments.first().map(|g| g.start_s), Some(s.start_s));
            prop_assert_eq!(segments.last().map(|g| g.end_s), Some(s.end_s));
        }
        None => {
            prop_assert!(segments.is_empty(), "segments without a span: {segments:?}");
            prop_assert_eq!(levels, (None, None));
        }
    }
    for &(a, b) in tones {
        prop_assert!(inside(a, b), "tone {a}..{b} outside 0..{duration}");
    }
    Ok(())
}

/// Renders `pieces` as a 16-bit WAV (mono, or the same signal on two channels) and runs the
/// pipeline without transcription; also returns the frame count.
fn run_pipeline(
    pieces: &[Piece],
    rate: u32,
    stereo: bool,
    opts: TrimOptions,
) -> (RecordingResult, usize) {
    let mono = render(pieces, rate);
    let channels: u16 = if stereo { 2 } else { 1 };
    let interleaved: Vec<i16> = mono
        .iter()
        .flat_map(|&s| std::iter::repeat_n((s * 32767.0) as i16, usize::from(channels)))
        .collect();
    let wav = pcm16_wav(&interleaved, rate, channels);
    let mut config = PipelineConfig::default();
    config.transcribe.enabled = false;
    config.trim = opts;
    let pipeline = Pipeline::new(config).expect("pipeline");
    (pipeline.process(&wav, Source::default()), mono.len())
}

proptest! {
    #![proptest_config(cases(48))]

    /// `find_speech` on any mix of silence, noise, tones, DTMF-like pairs and speech, with any
    /// options: everything it reports lies inside the recording.
    #[test]
    fn speech_spans_lie_inside_the_recording(
        pieces in prop::collection::vec(piece(), 0..6),
        opts in trim_options(),
    ) {
        let audio = Mono16k::from_samples(Zeroizing::new(render(&pieces, TARGET_RATE)));
        let duration = audio.duration().0;
        let r = find_speech(&audio, &opts);
        let tones: Vec<(f64, f64)> = r
            .beep
            .map(|b| (b.start_s, b.end_s))
            .into_iter()
            .chain(r.stop_tone.map(|t| (t.start_s, t.end_s)))
            .collect();
        let levels = (r.peak_dbfs, r.rms_dbfs);
        check_report_inside(r.span, &r.segments, &tones, levels, duration, false)?;
        // Music removed is VAD speech removed: never negative, never more than the recording.
        prop_assert!((0.0..=duration + 1e-9).contains(&r.music_s), "music_s {}", r.music_s);
        if !opts.reject_music {
            prop_assert_eq!(r.music_s, 0.0);
        }
    }

    /// The same through the whole pipeline from a 16-bit WAV at any rate and channel count:
    /// the result's times lie inside its `duration_s`, and `status` says whether there is a
    /// span.
    #[test]
    fn pipeline_results_lie_inside_the_recording(
        pieces in prop::collection::vec(piece(), 1..5),
        rate in prop::sample::select(vec![8_000u32, 11_025, 16_000, 22_050, 44_100, 48_000]),
        stereo in any::<bool>(),
        opts in trim_options(),
    ) {
        let (result, frames) = run_pipeline(&pieces, rate, stereo, opts);
        if frames == 0 {
            return Ok(());
        }
        prop_assert_ne!(result.status, Status::Failed, "{:?}", result.error);
        let audio = result.audio.as_ref().expect("audio report");
        prop_assert_eq!(audio.sample_rate, rate);
        prop_assert_eq!(audio.channels, if stereo { 2 } else { 1 });
        let span = audio
            .speech_start_s
            .zip(audio.speech_end_s)
            .map(|(a, b)| Segment { start_s: a, end_s: b });
        prop_assert_eq!(result.status == Status::Ok, span.is_some());
        let tones: Vec<(f64, f64)> = audio
            .beep
            .as_ref()
            .map(|b| (b.start_s, b.end_s))
            .into_iter()
            .chain(audio.stop_tone.as_ref().map(|t| (t.start_s, t.end_s)))
            .collect();
        let levels = (audio.peak_dbfs, audio.rms_dbfs);
        check_report_inside(span, &audio.segments, &tones, levels, audio.duration_s, true)?;
    }

    /// Real pipeline results read back from their JSON line exactly (every number in them,
    /// including the unrounded `clipped_ratio`).
    #[test]
    fn pipeline_results_round_trip_through_json(
        pieces in prop::collection::vec(piece(), 1..5),
        rate in prop::sample::select(vec![8_000u32, 11_025, 16_000, 44_100]),
        stereo in any::<bool>(),
    ) {
        let (result, _) = run_pipeline(&pieces, rate, stereo, TrimOptions::default());
        assert_round_trips(&result)?;
    }

    /// Hostile float WAVs (NaN, infinities, values far beyond full scale) still give a result
    /// whose numbers are finite, so its JSON line reads back to the same result.
    #[test]
    fn pipeline_results_from_hostile_float_samples_round_trip(
        samples in prop::collection::vec(
            prop_oneof![
                4 => -1.0f32..1.0,
                1 => prop::sample::select(vec![f32::NAN, f32::INFINITY, f32::NEG_INFINITY, f32::MAX, -f32::MAX, 1e30]),
            ],
            1..20_000,
        ),
        rate in prop::sample::select(vec![8_000u32, 16_000, 44_100]),
    ) {
        let mut config = PipelineConfig::default();
        config.transcribe.enabled = false;
        let pipeline = Pipeline::new(config).expect("pipeline");
        let result = pipeline.process(&float32_wav(&samples, rate), Source::default());
        assert_round_trips(&result)?;
    }
}

/// Regression test for a finding of the `decode_pipeline` fuzz target (inputs in
/// `fuzz/regressions/decode_pipeline/`): a float WAV with one infinite or NaN sample reached
/// the resampler, whose FFT then failed an internal `unwrap` (rubato `synchro.rs`), or at
/// 16 kHz earshot, which asserts its input is in [-1, 1]; in `callscribe process` the panic
/// took the whole batch down (exit 101). Non-finite samples are now zeroed in `decode`, but a
/// *finite* huge sample (`f32::MAX`) still overflows inside the FFT to the same panic. Every
/// such recording must give a result.
#[test]
fn float_wavs_with_non_finite_or_huge_samples_give_a_result() {
    let mut config = PipelineConfig::default();
    config.transcribe.enabled = false;
    let pipeline = Pipeline::new(config).expect("pipeline");
    for bad in [
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        f32::MAX,
        -f32::MAX,
        1e30,
    ] {
        for rate in [48_000, 16_000, 8_000] {
            let mut samples = vec![0.0f32; 2048];
            samples[100] = bad;
            let wav = float32_wav(&samples, rate);
            let result = std::panic::catch_unwind(|| pipeline.process(&wav, Source::default()));
            let result = result.unwrap_or_else(|_| {
                panic!("a {rate} Hz float WAV with one {bad:e} sample panicked the pipeline")
            });
            let line = result.to_json_line();
            let back: RecordingResult = serde_json::from_str(&line).expect("reads back");
            assert_eq!(back, result, "{bad:e} at {rate} Hz: {line}");
        }
    }
}

// --- JSON round trip -----------------------------------------------------------------------

/// The result's JSON line reads back strictly (`deny_unknown_fields`) to an equal result.
fn assert_round_trips(result: &RecordingResult) -> Result<(), TestCaseError> {
    let line = result.to_json_line();
    let back: RecordingResult =
        serde_json::from_str(&line).map_err(|e| TestCaseError::fail(format!("{e}: {line}")))?;
    prop_assert_eq!(&back, result, "{}", line);
    let pretty = serde_json::to_string_pretty(result).expect("pretty json");
    let back: RecordingResult = serde_json::from_str(&pretty).expect("pretty reads back");
    prop_assert_eq!(&back, result);
    Ok(())
}

/// Seconds as the pipeline writes them: rounded to the millisecond.
fn seconds() -> impl Strategy<Value = f64> {
    (0u64..100_000_000).prop_map(|ms| ms as f64 / 1000.0)
}

/// Decibels as the pipeline writes them: rounded to 0.01 dB.
fn decibels() -> impl Strategy<Value = f64> {
    (-12_000i64..=0).prop_map(|cb| cb as f64 / 100.0)
}

fn opt_string() -> impl Strategy<Value = Option<String>> {
    prop::option::of(any::<String>())
}

fn source() -> impl Strategy<Value = Source> {
    (
        (
            opt_string(),
            opt_string(),
            opt_string(),
            opt_string(),
            opt_string(),
        ),
        prop::option::of((
            prop::option::of(any::<i64>()),
            prop::option::of(any::<i64>()),
            opt_string(),
        )),
    )
        .prop_map(
            |((path, call_id, operation_id, client_context, reason), ri)| Source {
                path,
                call_id,
                operation_id,
                client_context,
                result_info: ri.map(|(code, subcode, message)| ResultInfo {
                    code,
                    subcode,
                    message,
                }),
                reason,
            },
        )
}

fn audio_report(num: BoxedStrategy<f64>) -> impl Strategy<Value = AudioReport> {
    let segment =
        (num.clone(), num.clone()).prop_map(|(start_s, end_s)| Segment { start_s, end_s });
    (
        (
            any::<String>(),
            any::<String>(),
            any::<u32>(),
            any::<u32>(),
            num.clone(),
            any::<bool>(),
        ),
        (
            prop::option::of(num.clone()),
            prop::option::of(num.clone()),
            num.clone(),
            prop::collection::vec(segment, 0..4),
        ),
        (
            prop::option::of(num.clone()),
            prop::option::of(num.clone()),
            num.clone(),
            prop::option::of((num.clone(), num.clone(), num.clone())),
            prop::option::of((any::<String>(), num.clone(), num)),
        ),
    )
        .prop_map(
            |(
                (container, codec, sample_rate, channels, duration_s, truncated),
                (speech_start_s, speech_end_s, speech_s, segments),
                (peak_dbfs, rms_dbfs, clipped_ratio, beep, stop),
            )| AudioReport {
                container,
                codec,
                sample_rate,
                channels,
                duration_s,
                truncated,
                speech_start_s,
                speech_end_s,
                speech_s,
                segments,
                peak_dbfs,
                rms_dbfs,
                clipped_ratio,
                beep: beep.map(|(start_s, end_s, freq_hz)| BeepReport {
                    start_s,
                    end_s,
                    freq_hz,
                }),
                stop_tone: stop.map(|(key, start_s, end_s)| StopToneReport {
                    key,
                    start_s,
                    end_s,
                }),
            },
        )
}

fn transcript(num: BoxedStrategy<f64>) -> impl Strategy<Value = Transcript> {
    let segment = (num.clone(), num.clone(), any::<String>(), num.clone()).prop_map(
        |(start_s, end_s, text, confidence)| TranscriptSegment {
            start_s,
            end_s,
            text,
            confidence,
            words: None,
        },
    );
    (
        any::<String>(),
        any::<String>(),
        prop::option::of(num.clone()),
        prop::collection::vec(segment, 0..4),
    )
        .prop_map(
            |(text, language, language_probability, segments)| Transcript {
                text,
                language,
                language_probability,
                segments,
                entities: Vec::new(),
                redactions: Vec::new(),
            },
        )
}

/// Any subset of the stages, with times drawn from `num`.
fn timings(num: BoxedStrategy<f64>) -> impl Strategy<Value = Timings> {
    prop::collection::vec(prop::option::of(num), Stage::ALL.len()).prop_map(|times| {
        let mut timings = Timings::default();
        for (stage, ms) in Stage::ALL.into_iter().zip(times) {
            if let Some(ms) = ms {
                timings.set(stage, ms);
            }
        }
        timings
    })
}

/// Any result, with numbers drawn from `num`.
fn result(num: BoxedStrategy<f64>) -> impl Strategy<Value = RecordingResult> {
    (
        any::<String>(),
        prop::sample::select(vec![Status::Ok, Status::NoSpeech, Status::Failed]),
        prop::option::of(prop::sample::select(vec![
            NoSpeechReason::NoVoiceActivity,
            NoSpeechReason::Music,
            NoSpeechReason::NoWords,
        ])),
        prop::option::of(
            (
                prop::sample::select(ErrorKind::ALL.to_vec()),
                any::<String>(),
            )
                .prop_map(|(kind, message)| ErrorInfo { kind, message }),
        ),
        source(),
        prop::option::of(audio_report(num.clone())),
        prop::option::of(transcript(num.clone())),
        timings(num),
    )
        .prop_map(
            |(schema, status, reason, error, source, audio, transcript, timings_ms)| {
                RecordingResult {
                    schema,
                    status,
                    reason,
                    error,
                    source,
                    audio,
                    transcript,
                    timings_ms,
                }
            },
        )
}

proptest! {
    #![proptest_config(cases(256))]

    /// Results as the pipeline shapes them (times to the millisecond, levels to 0.01 dB, any
    /// strings: control characters, quotes, non-BMP text) read back exactly from JSON, in
    /// both the JSON Lines and the indented form.
    #[test]
    fn json_results_round_trip(r in result(prop_oneof![seconds(), decibels()].boxed())) {
        assert_round_trips(&r)?;
    }
}
