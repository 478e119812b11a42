//! Resample: the rate × channel matrix through `downmix_into` and `to_mono16k` keeps length,
//! level, frequency and timing; stereo downmix is the channel mean.

use callscribe::audio::{Pcm, SampleRate, TARGET_RATE};
use callscribe::resample::{downmix_into, to_mono16k};
use zeroize::Zeroizing;

use crate::support::samples::sine;

/// Source rates of the matrix, in Hz: telephony, the target itself, and the common music rates.
const RATES: [u32; 5] = [8_000, 16_000, 22_050, 44_100, 48_000];

/// -6 dBFS peak as a linear amplitude.
fn amplitude_6dbfs() -> f64 {
    10f64.powf(-6.0 / 20.0)
}

/// Length of every test signal, in seconds.
const SECONDS: f64 = 2.0;

/// Output samples per millisecond at 16 kHz: the tolerance for length and alignment (1 ms).
const ONE_MS: usize = TARGET_RATE as usize / 1000;

/// Interleaves `channels` copies of the signal produced by `channel(c)`.
fn interleave(frames: usize, channels: usize, channel: impl Fn(usize) -> Vec<f32>) -> Vec<f32> {
    let planes: Vec<Vec<f32>> = (0..channels).map(channel).collect();
    let mut out = Vec::with_capacity(frames * channels);
    for i in 0..frames {
        for plane in &planes {
            out.push(plane[i]);
        }
    }
    out
}

/// `downmix_into` then `to_mono16k`, as the decoder and pipeline chain them.
fn downmix_and_resample(interleaved: &[f32], channels: usize, rate: u32) -> (Vec<f32>, Vec<f32>) {
    let mut mono = Zeroizing::new(Vec::new());
    downmix_into(interleaved, channels, &mut mono);
    let downmixed = mono.to_vec();
    let out = to_mono16k(Pcm {
        samples: mono,
        rate: SampleRate(rate),
    })
    .unwrap_or_else(|e| panic!("{rate} Hz: to_mono16k failed: {e}"));
    (downmixed, out.samples().to_vec())
}

fn rms(samples: &[f32]) -> f64 {
    let energy: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    (energy / samples.len() as f64).sqrt()
}

fn db(ratio: f64) -> f64 {
    20.0 * ratio.log10()
}

/// The middle second (0.5–1.5 s) of a 16 kHz signal: away from both edges' transients, and a
/// whole number of periods of 440 Hz and 1000 Hz, so its RMS is exactly amplitude / √2.
fn middle(samples: &[f32]) -> &[f32] {
    &samples[TARGET_RATE as usize / 2..TARGET_RATE as usize * 3 / 2]
}

/// Frequency from upward zero crossings, each located by linear interpolation between the two
/// samples around it: (crossings − 1) periods between the first and the last.
fn zero_crossing_frequency(samples: &[f32], rate: f64) -> f64 {
    let crossings: Vec<f64> = samples
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w[0] < 0.0 && w[1] >= 0.0)
        .map(|(i, w)| i as f64 + f64::from(w[0]) / f64::from(w[0] - w[1]))
        .collect();
    assert!(
        crossings.len() > 10,
        "too few zero crossings ({})",
        crossings.len()
    );
    let span = crossings[crossings.len() - 1] - crossings[0];
    (crossings.len() - 1) as f64 * rate / span
}

/// Largest frequency error accepted, as a fraction: 10 ppm. A resampler whose ratio is off by
/// one output sample per second (62.5 ppm) fails; the estimator itself is good to well under
/// 1 ppm on a clean sine.
const FREQ_TOLERANCE: f64 = 10e-6;

/// Largest level change accepted, in dB.
const LEVEL_TOLERANCE_DB: f64 = 0.1;

/// The matrix: 5 rates × mono/stereo × 440/1000 Hz at -6 dBFS for 2 s. Every cell must come out
/// 2 s long (±1 ms), at the same level (±0.1 dB on the middle second), at the same frequency
/// (±10 ppm); and a click at 0.5 s must come out at 0.5 s (±1 ms), which shows the resampler's
/// delay is removed. All cells run before the first assertion so a failure lists all of them.
#[test]
fn matrix_keeps_length_level_frequency_and_timing() {
    let amplitude = amplitude_6dbfs();
    let expected_rms = amplitude / 2f64.sqrt();
    let expected_len = (SECONDS * f64::from(TARGET_RATE)) as usize;
    let mut failures = Vec::new();
    let mut cells = 0;
    for rate in RATES {
        let frames = (SECONDS * f64::from(rate)).round() as usize;
        for channels in [1usize, 2] {
            for freq in [440.0, 1000.0] {
                cells += 1;
                let cell = format!("{rate} Hz × {channels} ch × {freq} Hz");
                let tone = sine(freq, amplitude, rate, SECONDS);
                let input = interleave(frames, channels, |_| tone.clone());
                let (_, out) = downmix_and_resample(&input, channels, rate);

                if out.len().abs_diff(expected_len) > ONE_MS {
                    failures.push(format!(
                        "{cell}: {} samples, expected {expected_len} ± {ONE_MS}",
                        out.len()
                    ));
                    continue;
                }
                let level = db(rms(middle(&out)) / expected_rms);
                if level.abs() > LEVEL_TOLERANCE_DB {
                    failures.push(format!("{cell}: level changed by {level:+.3} dB"));
                }
                let measured = zero_crossing_frequency(middle(&out), f64::from(TARGET_RATE));
                if ((measured - freq) / freq).abs() > FREQ_TOLERANCE {
                    failures.push(format!("{cell}: frequency {measured:.4} Hz"));
                }
            }

            // A click: one sample at 0.5 s (every rate here is even, so 0.5 s is a whole
            // sample), silence elsewhere. Its band-limited image peaks where the click was.
            let click_at = rate as usize / 2;
            let click: Vec<f32> = (0..frames)
                .map(|i| if i == click_at { 0.9 } else { 0.0 })
                .collect();
            let input = interleave(frames, channels, |_| click.clone());
            let (_, out) = downmix_and_resample(&input, channels, rate);
            let peak = out
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
                .map(|(i, _)| i)
                .expect("output is not empty");
            let expected = TARGET_RATE as usize / 2;
            if peak.abs_diff(expected) > ONE_MS {
                failures.push(format!(
                    "{rate} Hz × {channels} ch: click at 0.5 s came out at {:.4} s (sample {peak})",
                    peak as f64 / f64::from(TARGET_RATE)
                ));
            }
        }
    }
    assert_eq!(cells, 20);
    crate::support::report(failures);
}

/// Downmix is the mean of the channels, at every rate of the matrix, before and after
/// resampling: L = sine, R = silence → half the amplitude (-6.02 dB); L = R → the same signal;
/// L = −R → silence. Six channels with the sine in one → a sixth.
#[test]
fn downmix_is_the_channel_mean() {
    let amplitude = amplitude_6dbfs();
    let mut failures = Vec::new();
    for rate in RATES {
        let frames = (SECONDS * f64::from(rate)).round() as usize;
        let tone = sine(1000.0, amplitude, rate, SECONDS);
        // (name, gain of the sine in each channel); the mean of the gains is the expected
        // gain of the downmix.
        let cases: [(&str, &[f32]); 4] = [
            ("L=sine R=0", &[1.0, 0.0]),
            ("L=R", &[1.0, 1.0]),
            ("L=-R", &[1.0, -1.0]),
            ("6 ch, sine in ch 3", &[0.0, 0.0, 0.0, 1.0, 0.0, 0.0]),
        ];
        for (name, gains) in cases {
            let channels = gains.len();
            let gain = f64::from(gains.iter().sum::<f32>()) / channels as f64;
            let input = interleave(frames, channels, |c| {
                tone.iter().map(|s| s * gains[c]).collect()
            });
            let (downmixed, out) = downmix_and_resample(&input, channels, rate);
            let cell = format!("{rate} Hz, {name}");

            assert_eq!(downmixed.len(), frames, "{cell}: one mono sample per frame");
            let worst = downmixed
                .iter()
                .zip(&tone)
                .map(|(&m, &s)| (f64::from(m) - gain * f64::from(s)).abs())
                .fold(0.0, f64::max);
            // The mean of f32 values is exact to about one rounding step.
            if worst > 1e-6 {
                failures.push(format!(
                    "{cell}: downmix differs from {gain} × sine by {worst:e}"
                ));
            }

            let out_level = rms(middle(&out));
            if gain == 0.0 {
                let peak = out.iter().fold(0f32, |m, s| m.max(s.abs()));
                if peak > 1e-6 {
                    failures.push(format!(
                        "{cell}: opposite channels left {peak:e} after resampling"
                    ));
                }
            } else {
                let change = db(out_level / (gain * amplitude / 2f64.sqrt()));
                if change.abs() > LEVEL_TOLERANCE_DB {
                    failures.push(format!(
                        "{cell}: level off by {change:+.3} dB after resampling"
                    ));
                }
            }
        }
    }
    crate::support::report(failures);
}

/// 16 kHz input is passed through untouched, and an empty buffer stays empty at every rate.
#[test]
fn passthrough_and_empty_input() {
    let tone = sine(440.0, 0.5, TARGET_RATE, 0.3);
    let (_, out) = downmix_and_resample(&tone, 1, TARGET_RATE);
    assert!(out == tone, "16 kHz mono must pass through bit-exactly");

    for rate in RATES {
        let out = to_mono16k(Pcm {
            samples: Zeroizing::new(Vec::new()),
            rate: SampleRate(rate),
        })
        .unwrap_or_else(|e| panic!("{rate} Hz: empty input failed: {e}"));
        assert!(
            out.samples().is_empty(),
            "{rate} Hz: empty input gave {} samples",
            out.samples().len()
        );
    }
}

/// Short inputs (shorter than one resampler chunk) keep their duration too: a 1 kHz burst of
/// 10 ms, 50 ms and 100 ms at every rate comes out as long (±1 ms) and still carries the tone.
#[test]
fn short_inputs_keep_their_duration() {
    let mut failures = Vec::new();
    for rate in RATES {
        for seconds in [0.01, 0.05, 0.1] {
            let tone = sine(1000.0, 0.5, rate, seconds);
            let (_, out) = downmix_and_resample(&tone, 1, rate);
            let expected = (seconds * f64::from(TARGET_RATE)).round() as usize;
            if out.len().abs_diff(expected) > ONE_MS {
                failures.push(format!(
                    "{rate} Hz, {seconds} s: {} samples, expected {expected}",
                    out.len()
                ));
                continue;
            }
            let peak = out.iter().fold(0f32, |m, s| m.max(s.abs()));
            if !(0.3..0.7).contains(&peak) {
                failures.push(format!(
                    "{rate} Hz, {seconds} s: peak {peak} instead of about 0.5"
                ));
            }
        }
    }
    crate::support::report(failures);
}
