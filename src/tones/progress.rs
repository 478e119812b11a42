//! Steady tones anywhere in a recording: the call-progress tones of a telephone network
//! (ringback, busy, congestion, dial tone; ITU-T E.180), which earshot scores as speech and
//! Whisper then turns into invented sentences.
//!
//! The frame test is the beep's (`beep`: 32 ms Hann spectra every 16 ms) widened to two
//! tones, since most networks' tones are pairs (350 + 440 Hz, 440 + 480 Hz, 480 + 620 Hz,
//! 400 + 450 Hz): a frame is tonal when its one or two strongest peaks (±2 bins each) hold
//! ≥ 90 % of its energy, and each tone's 2nd and 3rd harmonics are 30 dB down. A vowel spreads
//! its energy over many harmonics and fails that; a voice whose fundamental carries nearly
//! everything (a sustained "oo") still has harmonics above that, and a pair at a 2:1 or 3:1
//! ratio, which no network's pair has, is refused as one voice's harmonics. A tone is a run of such
//! frames whose centroids stay within [`MAX_DRIFT_BINS`] for at least [`MIN_TONE_S`]: the shortest
//! on-period of the common cadences (congestion, 0.25 s on and off) fits, a syllable does not
//! hold its pitch that long that purely.

use super::beep::{band, Spectrum, BEEP_FFT, BEEP_HOP, BEEP_PEAK_HALF_WIDTH};
use super::{power_ratio, FS};

/// Share of a frame's energy its one or two peaks must hold.
const MIN_CONCENTRATION: f64 = 0.9;

/// Quietest frame examined, in dBFS: a ringback heard down a line can be well below speech.
const MIN_DBFS: f64 = -45.0;

/// Shortest tone, in seconds.
const MIN_TONE_S: f64 = 0.2;

/// How far a tone's centroid may move over the whole tone, in bins (31.25 Hz): a generated
/// tone holds its frequency; a sustained vowel's pitch wanders further.
const MAX_DRIFT_BINS: f64 = 0.25;

/// Each tone's 2nd and 3rd harmonics must be this far below it, in dB (the beep's own limit,
/// `beep`): a sustained vowel's harmonics are stronger.
const MAX_HARMONIC_DB: f64 = -30.0;

/// A pair whose ratio is within this of 2 or 3 is one voice's harmonics, not two tones.
const HARMONIC_TOLERANCE: f64 = 0.03;

/// A steady tone, in seconds from the start of the given samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SteadyTone {
    /// Start of the first tonal frame.
    pub start_s: f64,
    /// End of the last tonal frame.
    pub end_s: f64,
}

/// The tones of a tonal frame: the energy centroid, in bins, of each tone's ±2 bins. Two tones
/// closer than that (400 + 450 Hz is 1.6 bins apart) make one region and count as one.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Peaks {
    One(f64),
    Two(f64, f64),
}

/// The open run of tonal frames: its first frame's start, its frame count, and the lowest and
/// highest centroid of each tone so far.
#[derive(Debug, Clone, Copy)]
struct Run {
    first: usize,
    frames: usize,
    low: Peaks,
    high: Peaks,
}

impl Run {
    /// The run with `peaks` added, if it stays one steady tone (or pair): every centroid
    /// within [`MAX_DRIFT_BINS`] of the run's others.
    fn extended(self, peaks: Peaks) -> Option<Self> {
        let low = each(self.low, peaks, f64::min)?;
        let high = each(self.high, peaks, f64::max)?;
        let steady = match (low, high) {
            (Peaks::One(a), Peaks::One(b)) => b - a <= MAX_DRIFT_BINS,
            (Peaks::Two(a1, a2), Peaks::Two(b1, b2)) => {
                b1 - a1 <= MAX_DRIFT_BINS && b2 - a2 <= MAX_DRIFT_BINS
            }
            _ => false,
        };
        steady.then_some(Self {
            frames: self.frames + 1,
            low,
            high,
            ..self
        })
    }
}

/// `pick` applied tone by tone to two frames of the same kind (the lower or the higher
/// centroid of each tone); `None` for a single tone against a pair.
fn each(a: Peaks, b: Peaks, pick: fn(f64, f64) -> f64) -> Option<Peaks> {
    match (a, b) {
        (Peaks::One(x), Peaks::One(y)) => Some(Peaks::One(pick(x, y))),
        (Peaks::Two(x1, x2), Peaks::Two(y1, y2)) => Some(Peaks::Two(pick(x1, y1), pick(x2, y2))),
        _ => None,
    }
}

/// Finds every steady tone of one or two frequencies (300–3400 Hz) lasting at least 0.2 s
/// (`MIN_TONE_S`), in order.
pub fn find_steady_tones(samples: &[f32]) -> Vec<SteadyTone> {
    let mut found = Vec::new();
    if samples.len() < BEEP_FFT {
        return found;
    }
    let mut analyser = Spectrum::new();
    let min_frames = ((MIN_TONE_S * FS - BEEP_FFT as f64) / BEEP_HOP as f64).ceil() as usize + 1;
    let mut close = |run: Option<Run>, end: usize| {
        if let Some(run) = run.filter(|r| r.frames >= min_frames) {
            found.push(SteadyTone {
                start_s: run.first as f64 / FS,
                end_s: end as f64 / FS,
            });
        }
    };
    let mut run: Option<Run> = None;
    let mut start = 0;
    while start + BEEP_FFT <= samples.len() {
        let peaks = analyser
            .power_spectrum(&samples[start..start + BEEP_FFT], MIN_DBFS)
            .and_then(|_| tone_peaks(analyser.power()));
        let extended = run.zip(peaks).and_then(|(r, p)| r.extended(p));
        if extended.is_none() {
            close(run, start + BEEP_FFT - BEEP_HOP);
        }
        run = extended.or_else(|| {
            peaks.map(|p| Run {
                first: start,
                frames: 1,
                low: p,
                high: p,
            })
        });
        start += BEEP_HOP;
    }
    close(run, start + BEEP_FFT - BEEP_HOP);
    found
}

/// The one or two tones holding [`MIN_CONCENTRATION`] of a power spectrum, or `None`.
fn tone_peaks(power: &[f64]) -> Option<Peaks> {
    let half = power.len() - 1;
    let (total, lo, hi) = band(power);
    // Samples too large for f32 arithmetic leave infinities and NaNs: nothing to measure.
    if !total.is_finite() || total <= 0.0 {
        return None;
    }
    let w = BEEP_PEAK_HALF_WIDTH;
    // Energy and energy-weighted bin sum over bins [a, b].
    let region = |a: usize, b: usize| -> (f64, f64) {
        (a..=b).fold((0.0, 0.0), |(e, m), k| {
            (e + power[k], m + power[k] * k as f64)
        })
    };
    let strongest = |skip: &dyn Fn(usize) -> bool| {
        (lo..=hi)
            .filter(|&k| !skip(k))
            .max_by(|&a, &b| power[a].total_cmp(&power[b]))
    };
    // A generated tone has no harmonics to speak of; a voice's pitch does, even when its
    // fundamental carries nearly everything.
    let pure = |centre: f64, energy: f64| {
        (2..=3).all(|h| {
            let k = (centre * f64::from(h)).round() as usize;
            k + w >= half || region(k - w, k + w).0 < power_ratio(MAX_HARMONIC_DB) * energy
        })
    };
    let first = strongest(&|_| false)?;
    let (e1, m1) = region(first - w, first + w);
    if e1 >= MIN_CONCENTRATION * total {
        return pure(m1 / e1, e1).then(|| Peaks::One(m1 / e1));
    }
    let second = strongest(&|k| k.abs_diff(first) <= w)?;
    let (a, b) = (first.min(second), first.max(second));
    if b - a <= 2 * w + 1 {
        // The two regions touch: one region from the lower's start to the upper's end.
        let (e, m) = region(a - w, b + w);
        return (e >= MIN_CONCENTRATION * total && pure(m / e, e)).then(|| Peaks::One(m / e));
    }
    let (e2, m2) = region(second - w, second + w);
    if e1 + e2 < MIN_CONCENTRATION * total {
        return None;
    }
    let (f1, f2) = (m1 / e1, m2 / e2);
    if !(pure(f1, e1) && pure(f2, e2)) {
        return None;
    }
    let (low, high) = (f1.min(f2), f1.max(f2));
    let ratio = high / low;
    if [2.0, 3.0]
        .iter()
        .any(|h| (ratio - h).abs() <= HARMONIC_TOLERANCE * h)
    {
        return None;
    }
    Some(Peaks::Two(low, high))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tones::test_signals::*;

    /// `cycles` of a cadence: `on` seconds of the tones, then `off` of silence.
    fn cadence(tones: &[(f64, f64)], on: f64, off: f64, cycles: usize) -> Vec<f32> {
        let one = concat(&[sines(tones, on), silence(off)]);
        one.iter()
            .copied()
            .cycle()
            .take(one.len() * cycles)
            .collect()
    }

    #[test]
    fn ringback_busy_and_congestion_cadences_are_found_burst_by_burst() {
        // North American ringback, 2 s on, 4 s off.
        let us = find_steady_tones(&cadence(&[(440.0, -20.0), (480.0, -20.0)], 2.0, 4.0, 3));
        assert_eq!(us.len(), 3, "{us:?}");
        for (i, tone) in us.iter().enumerate() {
            assert!((tone.start_s - 6.0 * i as f64).abs() < 0.05, "{tone:?}");
            assert!((tone.end_s - tone.start_s - 2.0).abs() < 0.05, "{tone:?}");
        }
        // European ringback: one 425 Hz tone.
        assert_eq!(
            find_steady_tones(&cadence(&[(425.0, -25.0)], 1.0, 4.0, 2)).len(),
            2
        );
        // British ringback (0.4 s, 0.2 s, 0.4 s, 2 s) and busy (0.375 s on and off), and
        // North American congestion (0.25 s on and off) down to -40 dBFS.
        let uk = concat(&[
            cadence(&[(400.0, -25.0), (450.0, -25.0)], 0.4, 0.2, 1),
            cadence(&[(400.0, -25.0), (450.0, -25.0)], 0.4, 2.0, 1),
        ]);
        assert_eq!(find_steady_tones(&uk).len(), 2);
        assert_eq!(
            find_steady_tones(&cadence(&[(400.0, -30.0)], 0.375, 0.375, 4)).len(),
            4
        );
        assert_eq!(
            find_steady_tones(&cadence(&[(480.0, -40.0), (620.0, -40.0)], 0.25, 0.25, 4)).len(),
            4
        );
    }

    #[test]
    fn japanese_ringback_and_special_information_tones_are_found() {
        // Japanese ringback: 400 Hz amplitude-modulated at 16 Hz (sidebands at 384 and
        // 416 Hz, within the ±2 bins of one tone), 1 s on, 2 s off.
        let burst: Vec<f32> = sines(&[(400.0, -20.0)], 1.0)
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let t = i as f64 / FS;
                x * (0.5 + 0.5 * (std::f64::consts::TAU * 16.0 * t).sin()) as f32
            })
            .collect();
        let japan = concat(&[burst.clone(), silence(2.0), burst, silence(2.0)]);
        let found = find_steady_tones(&japan);
        assert_eq!(found.len(), 2, "{found:?}");
        for (tone, start) in found.iter().zip([0.0, 3.0]) {
            assert!((tone.start_s - start).abs() < 0.1, "{tone:?}");
            assert!(tone.end_s - tone.start_s > 0.8, "{tone:?}");
        }
        // The special information tones before an intercept announcement ("the number you
        // have dialled is not in service"): 913.8, 1,370.6 and 1,776.7 Hz, 274, 274 and
        // 380 ms (ITU-T E.180 / Telcordia SR-2275), one after the other without a gap.
        let sit = concat(&[
            sines(&[(913.8, -20.0)], 0.274),
            sines(&[(1370.6, -20.0)], 0.274),
            sines(&[(1776.7, -20.0)], 0.380),
            silence(1.0),
        ]);
        let found = find_steady_tones(&sit);
        assert_eq!(found.len(), 3, "{found:?}");
        let covered: f64 = found.iter().map(|t| t.end_s - t.start_s).sum();
        assert!(covered > 0.8, "{found:?}");
    }

    #[test]
    fn harmonics_of_one_voice_short_bursts_and_noise_are_not_tones() {
        // A 300 Hz fundamental with a strong second harmonic: one voice, not two tones.
        assert!(find_steady_tones(&sines(&[(300.0, -20.0), (600.0, -24.0)], 1.0)).is_empty());
        // A 150 ms blip is shorter than any cadence's on-period.
        assert!(
            find_steady_tones(&concat(&[sines(&[(440.0, -20.0)], 0.15), silence(0.5)])).is_empty()
        );
        // Quiet tones and silence.
        assert!(find_steady_tones(&sines(&[(440.0, -50.0)], 1.0)).is_empty());
        assert!(find_steady_tones(&silence(1.0)).is_empty());
        assert!(find_steady_tones(&[]).is_empty());
        // Samples no f32 spectrum can hold.
        let huge: Vec<f32> = sines(&[(440.0, -20.0)], 1.0)
            .iter()
            .map(|x| x * f32::MAX)
            .collect();
        assert!(find_steady_tones(&huge).is_empty());
        assert!(find_steady_tones(&[f32::NAN; 16_000]).is_empty());
    }
}
