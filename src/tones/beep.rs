//! The leading beep: a steady pure tone near the start of the recording, found in realfft
//! spectra and measured on the signal demodulated at its frequency.

use std::f64::consts::TAU;
use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

use super::{mean_square_at, median, Beep, FS};

/// FFT size for the beep scan: 512 samples = 32 ms, 31.25 Hz bins. Fine enough that DTMF's two
/// tones (≥ 268 Hz apart) and a 100 Hz voice's harmonics fall in separate peaks, short enough
/// for three frames inside a 100 ms beep.
pub(super) const BEEP_FFT: usize = 512;
/// Hop between FFT frames: 256 samples = 16 ms (50 % overlap, where Hann windows sum flat, so no
/// instant of the beep is under-weighted).
pub(super) const BEEP_HOP: usize = 256;
/// Lowest beep frequency considered, in Hz: the bottom of the telephone band (300–3400 Hz,
/// ITU-T G.712), which also keeps mains hum and its low harmonics out.
const BEEP_MIN_HZ: f64 = 300.0;
/// Highest beep frequency considered, in Hz: the top of the telephone band.
const BEEP_MAX_HZ: f64 = 3400.0;
/// Half-width of the peak's neighbourhood, in bins: a Hann window's main lobe is ±2 bins wide.
pub(super) const BEEP_PEAK_HALF_WIDTH: usize = 2;
/// Share of a frame's energy the peak's neighbourhood must hold: a pure tone with noise 10 dB
/// down still passes; voiced speech (energy over several harmonics) and DTMF (two equal tones,
/// ~0.5 each) do not.
const BEEP_MIN_CONCENTRATION: f64 = 0.9;
/// Minimum beep level, in dBFS: far below any audible prompt beep, far above idle noise.
const BEEP_MIN_DBFS: f64 = -40.0;
/// Largest frequency step between consecutive tonal frames of one run, as a fraction (1.5 %):
/// loose, because frames that only partly cover the tone have biased peaks; the steadiness test
/// proper is [`BEEP_MAX_DRIFT`].
const BEEP_FREQ_TOLERANCE: f64 = 0.015;
/// Tonal frames needed for a candidate: 3 frames at a 16 ms hop cover 64 ms of audio.
const BEEP_MIN_FRAMES: usize = 3;
/// Shortest beep reported, in seconds. Graph does not document its `playBeep` tone; prompt
/// beeps are typically 0.2–1 s, so 0.1 s leaves margin.
const BEEP_MIN_S: f64 = 0.1;
/// Longest beep reported, in seconds; a longer steady tone is not a beep (e.g. a fax or modem
/// answer tone).
const BEEP_MAX_S: f64 = 1.5;
/// Slack on [`BEEP_MIN_S`] and [`BEEP_MAX_S`], in seconds, for edge measurement error.
const BEEP_DURATION_SLACK_S: f64 = 0.02;
/// Block for the demodulated measurements (envelope average, phase steps): 160 samples =
/// 10 ms, whose 100 Hz-spaced nulls keep the 2f image of demodulation (2f ≥ 600 Hz) ≥ 20 dB
/// down, and whose ±50 Hz unambiguous phase-step range covers the FFT's frequency error.
const BEEP_BLOCK: usize = 160;
/// Largest frequency change allowed between the two halves of a beep, as a fraction (0.3 %):
/// generated beeps measure < 0.15 % even at 12 dB SNR, a voice gliding in pitch ≥ 0.3 %.
const BEEP_MAX_DRIFT: f64 = 0.003;
/// ... or in Hz, whichever is larger: the phase measurement's own noise over two 40 ms halves.
const BEEP_MIN_DRIFT_HZ: f64 = 0.5;
/// Highest level of any of the 2nd–5th harmonics relative to the fundamental, in dB. Generated
/// beeps measured ≤ -44 dB (with noise or through G.711); the most tone-like voiced frames in
/// the speech corpus (module docs) ≥ -24 dB.
const BEEP_MAX_HARMONIC_DB: f64 = -30.0;
/// Audio scanned beyond a run's tonal frames when refining its edges, in samples (50 ms).
const BEEP_EDGE_MARGIN: usize = 800;

/// Finds a pure tone that starts within the first `search_s` seconds
/// ([`DEFAULT_BEEP_SEARCH_S`](super::DEFAULT_BEEP_SEARCH_S)) and lasts 0.1–1.5 s: the beep Graph
/// plays before the caller speaks.
///
/// Only the leading `search_s` + 1.5 s of audio are examined. Returns the first such tone.
pub fn find_leading_beep(samples: &[f32], search_s: f64) -> Option<Beep> {
    if search_s.is_nan() || search_s <= 0.0 || samples.len() < BEEP_FFT {
        return None;
    }
    let search_end = (search_s * FS).min(samples.len() as f64) as usize;
    let scan_end = samples
        .len()
        .min(search_end + ((BEEP_MAX_S + 0.1) * FS) as usize);
    let scan = &samples[..scan_end];
    // One plan and one set of buffers for the whole scan.
    let mut analyser = Spectrum::new();

    // The open run of tonal frames at one frequency: (frame start, frequency).
    let mut run: Vec<(usize, f64)> = Vec::new();
    // A tone that starts just before `search_s` may fill its first frame only later: allow new
    // runs to open up to one frame past it; `judge_run` checks the refined start.
    let last_run_start = search_end + BEEP_FFT;
    let mut start = 0;
    while start + BEEP_FFT <= scan.len() {
        let tonal = analyser.tonal(&scan[start..start + BEEP_FFT]);
        let extends = match (tonal, run.last()) {
            (Some(f), Some(&(_, prev))) => (f - prev).abs() <= BEEP_FREQ_TOLERANCE * prev,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if !extends {
            if let Some(beep) = judge_run(scan, &run, search_s) {
                return Some(beep);
            }
            run.clear();
        }
        if run.is_empty() && start >= last_run_start {
            return None;
        }
        if let Some(f) = tonal {
            run.push((start, f));
        }
        start += BEEP_HOP;
    }
    judge_run(scan, &run, search_s)
}

/// Decides whether a run of tonal frames is a beep, refining its edges and frequency.
fn judge_run(samples: &[f32], run: &[(usize, f64)], search_s: f64) -> Option<Beep> {
    if run.len() < BEEP_MIN_FRAMES {
        return None;
    }
    let freq = median(run.iter().map(|&(_, f)| f as f32));
    let (first, last) = (run.first()?.0, run.last()?.0);
    let tone = measure_tone(samples, first, last + BEEP_FFT, freq)?;
    let duration = tone.end_s - tone.start_s;
    // A generated beep holds its frequency exactly and has no harmonics; a voice's pitch
    // mostly glides, and where it holds still its harmonics give it away.
    let (f1, f2) = tone.half_freqs_hz;
    let freq = (f1 + f2) / 2.0;
    let steady = (f1 - f2).abs() <= (BEEP_MAX_DRIFT * freq).max(BEEP_MIN_DRIFT_HZ);
    let ok = steady
        && pure(samples, tone.steady.clone(), freq)
        && tone.start_s < search_s
        && (BEEP_MIN_S - BEEP_DURATION_SLACK_S..=BEEP_MAX_S + BEEP_DURATION_SLACK_S)
            .contains(&duration);
    ok.then_some(Beep {
        start_s: tone.start_s,
        end_s: tone.end_s,
        freq_hz: freq,
    })
}

/// Whether the 2nd to 5th harmonics of `freq` over `samples[span]` all stay
/// [`BEEP_MAX_HARMONIC_DB`] below the fundamental.
///
/// A synthesised beep has none (G.711 quantisation puts them near -40 dB even at -35 dBFS);
/// a voice whose fundamental dominates a frame still has harmonics at -10 to -25 dB. Each
/// level is a Hann-windowed DFT at the exact multiple over the whole span: a narrow band, so
/// broadband noise barely registers, and the window's fast-falling sidelobes keep the
/// fundamental's leakage out of the harmonics' bins.
fn pure(samples: &[f32], span: std::ops::Range<usize>, freq: f64) -> bool {
    let Some(x) = samples.get(span) else {
        return false;
    };
    // Hann window by a rotating phasor rather than a cosine per sample.
    let w0 = TAU / x.len() as f64;
    let (cr, ci) = (w0.cos(), w0.sin());
    let (mut hr, mut hi) = (1f64, 0f64);
    let windowed: Vec<f64> = x
        .iter()
        .map(|&v| {
            let w = 0.5 - 0.5 * hr;
            (hr, hi) = (hr * cr - hi * ci, hr * ci + hi * cr);
            f64::from(v) * w
        })
        .collect();
    let level = |h: f64| {
        let w = TAU * h * freq / FS;
        let (sr, si) = (w.cos(), -w.sin());
        let (mut pr, mut pi) = (1f64, 0f64);
        let (mut re, mut im) = (0f64, 0f64);
        for &v in &windowed {
            re += v * pr;
            im += v * pi;
            (pr, pi) = (pr * sr - pi * si, pr * si + pi * sr);
        }
        (re * re + im * im).sqrt()
    };
    let fundamental = level(1.0);
    let limit = fundamental * 10f64.powf(BEEP_MAX_HARMONIC_DB / 20.0);
    (2..=5)
        .map(f64::from)
        .take_while(|&h| h * freq < FS / 2.0 - BEEP_MIN_HZ)
        .all(|h| level(h) <= limit)
}

/// Edges and frequency of a tone, from [`measure_tone`].
struct ToneMeasure {
    start_s: f64,
    end_s: f64,
    /// The tone's frequency over the first and the second half of its steady part, in Hz.
    half_freqs_hz: (f64, f64),
    /// The steady part: the tone without 10 ms at either edge, in samples.
    steady: std::ops::Range<usize>,
}

/// Measures a tone near `freq` Hz whose tonal frames span samples `[from, to)`.
///
/// The signal is demodulated by `freq` to near 0 Hz. Edges are where the envelope (the
/// demodulated signal averaged over 10 ms, centred, so it reaches half amplitude exactly at a
/// step onset) crosses half its steady value. The frequency comes from the phase advance of
/// the demodulated signal between 10 ms blocks, measured separately over each half of the
/// tone's steady part (edges excluded) so that a drifting pitch shows.
fn measure_tone(samples: &[f32], from: usize, to: usize, freq: f64) -> Option<ToneMeasure> {
    let lo = from.saturating_sub(BEEP_EDGE_MARGIN);
    let hi = samples.len().min(to + BEEP_EDGE_MARGIN);
    let region = samples.get(lo..hi)?;
    // Prefix sums of x[n]·e^{-jωn}, so any block sum is one subtraction.
    let omega = TAU * freq / FS;
    let (step_re, step_im) = (omega.cos(), -omega.sin());
    let mut prefix: Vec<(f64, f64)> = Vec::with_capacity(region.len() + 1);
    let (mut acc_re, mut acc_im) = (0.0, 0.0);
    let (mut ph_re, mut ph_im) = (1.0f64, 0.0f64);
    prefix.push((0.0, 0.0));
    for &x in region {
        acc_re += f64::from(x) * ph_re;
        acc_im += f64::from(x) * ph_im;
        prefix.push((acc_re, acc_im));
        (ph_re, ph_im) = (
            ph_re * step_re - ph_im * step_im,
            ph_re * step_im + ph_im * step_re,
        );
    }
    let block_sum = |a: usize, b: usize| (prefix[b].0 - prefix[a].0, prefix[b].1 - prefix[a].1);
    let half = BEEP_BLOCK / 2;
    // Envelope at region index i (amplitude of a sine: 2·|mean of the demodulated signal|).
    let envelope = |i: usize| {
        let (re, im) = block_sum(i.saturating_sub(half), (i + half).min(region.len()));
        2.0 * (re * re + im * im).sqrt() / BEEP_BLOCK as f64
    };
    // Steady amplitude: median over the centres of the tonal frames' span, where every window
    // lay inside the tone.
    let core_from = from + BEEP_FFT / 2 - lo;
    let core_to = (to - BEEP_FFT / 2 - lo)
        .max(core_from + 1)
        .min(region.len());
    let steady = median((core_from..core_to).step_by(16).map(|i| envelope(i) as f32));
    if steady.is_nan() || steady <= 0.0 {
        return None;
    }
    let threshold = steady / 2.0;
    let mut start = core_from;
    while start > 0 && envelope(start - 1) >= threshold {
        start -= 1;
    }
    let mut end = core_to.saturating_sub(1);
    while end + 1 < region.len() && envelope(end + 1) >= threshold {
        end += 1;
    }
    end += 1;

    // Frequency offset from `freq` over [a, b): the mean phase advance between consecutive
    // blocks, e^{jΔφ} with Δφ = 2π·Δf·block/fs.
    let offset_hz = |a: usize, b: usize| {
        let blocks: Vec<(f64, f64)> = (a..b)
            .step_by(BEEP_BLOCK)
            .take_while(|&i| i + BEEP_BLOCK <= b)
            .map(|i| block_sum(i, i + BEEP_BLOCK))
            .collect();
        let (mut re, mut im) = (0.0, 0.0);
        for pair in blocks.windows(2) {
            let ((ar, ai), (br, bi)) = (pair[1], pair[0]);
            re += ar * br + ai * bi;
            im += ai * br - ar * bi;
        }
        freq + im.atan2(re) * FS / (TAU * BEEP_BLOCK as f64)
    };
    let (a, b) = (start + BEEP_BLOCK, end.saturating_sub(BEEP_BLOCK));
    if b < a + 4 * BEEP_BLOCK {
        return None;
    }
    let mid = (a + b) / 2;
    Some(ToneMeasure {
        start_s: (lo + start) as f64 / FS,
        end_s: (lo + end) as f64 / FS,
        half_freqs_hz: (offset_hz(a, mid), offset_hz(mid, b)),
        steady: lo + a..lo + b,
    })
}

/// The single-tone test on [`BEEP_FFT`]-sample frames.
pub(super) struct Spectrum {
    fft: Arc<dyn RealToComplex<f32>>,
    hann: Vec<f32>,
    /// Σ w², to turn windowed energy back into mean-square power.
    hann_energy: f64,
    /// Buffers reused across frames: the windowed frame (realfft also uses it as scratch), its
    /// spectrum, realfft's scratch and the one-sided power spectrum.
    frame: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    power: Vec<f64>,
}

impl Spectrum {
    pub(super) fn new() -> Self {
        // Periodic Hann, the form whose 50 %-overlapped copies sum to a constant.
        let hann: Vec<f32> = (0..BEEP_FFT)
            .map(|i| (0.5 - 0.5 * (TAU * i as f64 / BEEP_FFT as f64).cos()) as f32)
            .collect();
        let hann_energy = hann.iter().map(|&w| f64::from(w) * f64::from(w)).sum();
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(BEEP_FFT);
        Self {
            hann,
            hann_energy,
            frame: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            power: vec![0.0; BEEP_FFT / 2 + 1],
            fft,
        }
    }

    /// The tone frequency in Hz of a [`BEEP_FFT`]-sample frame: `None` unless one peak holds
    /// [`BEEP_MIN_CONCENTRATION`] of the frame's energy at ≥ [`BEEP_MIN_DBFS`].
    fn tonal(&mut self, frame: &[f32]) -> Option<f64> {
        let level = self.power_spectrum(frame, BEEP_MIN_DBFS)?;
        single_tone(&self.power, level)
    }

    /// Fills [`Self::power`] with the one-sided Hann power spectrum of a [`BEEP_FFT`]-sample
    /// frame and returns the frame's mean-square level; `None` (spectrum not computed) below
    /// `min_dbfs`.
    pub(super) fn power_spectrum(&mut self, frame: &[f32], min_dbfs: f64) -> Option<f64> {
        let level = window_into(frame, &self.hann, &mut self.frame) / self.hann_energy;
        // Cheap exit for silence and quiet noise, which is most of what precedes a beep (and
        // for NaN, which no comparison passes).
        if level.is_nan() || level < mean_square_at(min_dbfs) {
            return None;
        }
        // realfft only fails on wrongly sized buffers, and these are sized by the plan.
        self.fft
            .process_with_scratch(&mut self.frame, &mut self.spectrum, &mut self.scratch)
            .ok()?;
        for (p, z) in self.power.iter_mut().zip(&self.spectrum) {
            *p = f64::from(z.re).powi(2) + f64::from(z.im).powi(2);
        }
        Some(level)
    }

    /// The power spectrum [`Self::power_spectrum`] last computed.
    pub(super) fn power(&self) -> &[f64] {
        &self.power
    }
}

/// Writes `frame` minus its mean, times `window`, into `out`; returns the windowed energy.
fn window_into(frame: &[f32], window: &[f32], out: &mut [f32]) -> f64 {
    let mean = frame.iter().map(|&x| f64::from(x)).sum::<f64>() / frame.len().max(1) as f64;
    let mut energy = 0.0;
    for ((o, &x), &w) in out.iter_mut().zip(frame).zip(window) {
        let v = ((f64::from(x) - mean) * f64::from(w)) as f32;
        *o = v;
        energy += f64::from(v) * f64::from(v);
    }
    energy
}

/// A one-sided power spectrum's total energy, and its first and last bins inside
/// [`BEEP_MIN_HZ`]–[`BEEP_MAX_HZ`].
pub(super) fn band(power: &[f64]) -> (f64, usize, usize) {
    let half = power.len() - 1;
    // One-sided total: DC and Nyquist appear once in the two-sided spectrum, the rest twice.
    let total: f64 = power[1..half].iter().sum::<f64>() + (power[0] + power[half]) / 2.0;
    let bin_hz = FS / (2 * half) as f64;
    let lo = (BEEP_MIN_HZ / bin_hz).ceil() as usize;
    let hi = (BEEP_MAX_HZ / bin_hz).floor() as usize;
    (total, lo, hi)
}

/// The single-tone test on a one-sided Hann power spectrum of a frame with mean-square power
/// `level`: returns the tone's frequency in Hz.
fn single_tone(power: &[f64], level: f64) -> Option<f64> {
    let (total, lo, hi) = band(power);
    let half = power.len() - 1;
    let bin_hz = FS / (2 * half) as f64;
    let peak = (lo..=hi).max_by(|&a, &b| power[a].total_cmp(&power[b]))?;
    let around = power.get(peak - BEEP_PEAK_HALF_WIDTH..=peak + BEEP_PEAK_HALF_WIDTH)?;
    let concentration = around.iter().sum::<f64>() / total;
    let tonal = concentration >= BEEP_MIN_CONCENTRATION
        && level * concentration >= mean_square_at(BEEP_MIN_DBFS);
    if !tonal {
        return None;
    }
    // Exact interpolation for a Hann window: a tone δ bins above `peak` gives neighbour / peak
    // magnitude ratios r = (1+δ)/(2-δ) upwards and (1-δ)/(2+δ) downwards, so
    // δ = ±(2r-1)/(1+r) from the larger neighbour.
    let mag = |k: usize| power[k].sqrt();
    let (below, at, above) = (mag(peak - 1), mag(peak), mag(peak + 1));
    let delta = if above >= below {
        let r = above / at;
        (2.0 * r - 1.0) / (1.0 + r)
    } else {
        let r = below / at;
        -(2.0 * r - 1.0) / (1.0 + r)
    };
    Some((peak as f64 + delta.clamp(-0.5, 0.5)) * bin_hz)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tones::test_signals::*;
    use crate::tones::DEFAULT_BEEP_SEARCH_S;

    #[test]
    fn a_1000_hz_beep_is_found_with_edges_and_frequency() {
        let x = concat(&[
            silence(0.3),
            sines(&[(1000.0, -12.0)], 0.5),
            silence(0.5),
            speechlike(2.0, 21),
        ]);
        let b = find_leading_beep(&x, DEFAULT_BEEP_SEARCH_S).expect("beep");
        assert!((b.start_s - 0.3).abs() <= 0.02, "{b:?}");
        assert!((b.end_s - 0.8).abs() <= 0.02, "{b:?}");
        assert!((b.freq_hz - 1000.0).abs() <= 5.0, "{b:?}");
    }

    #[test]
    fn beeps_across_the_usual_range_are_found() {
        for (i, freq) in [400.0, 850.0, 1400.0, 440.0, 1234.5]
            .into_iter()
            .enumerate()
        {
            // Speech starts right after the beep, and background noise runs throughout.
            let x = concat(&[
                silence(0.6),
                sines(&[(freq, -18.0)], 0.25),
                speechlike(2.0, 30 + i as u64),
            ]);
            let x = mix(x, &noise(-50.0, 3.0, 40 + i as u64));
            let b = find_leading_beep(&x, DEFAULT_BEEP_SEARCH_S).expect("beep");
            assert!((b.freq_hz - freq).abs() <= 5.0, "{freq}: {b:?}");
            assert!(
                (b.start_s - 0.6).abs() <= 0.02 && (b.end_s - 0.85).abs() <= 0.02,
                "{freq}: {b:?}"
            );
        }
    }

    #[test]
    fn beep_duration_and_position_limits() {
        let beep =
            |at: f64, dur: f64| concat(&[silence(at), sines(&[(800.0, -12.0)], dur), silence(0.5)]);
        assert!(find_leading_beep(&beep(0.2, 0.1), 3.0).is_some());
        assert!(find_leading_beep(&beep(0.2, 1.5), 3.0).is_some());
        assert!(find_leading_beep(&beep(0.2, 0.05), 3.0).is_none());
        assert!(find_leading_beep(&beep(0.2, 2.5), 3.0).is_none());
        // Starting after the search window: not a leading beep.
        assert!(find_leading_beep(&beep(3.5, 0.5), 3.0).is_none());
        assert!(find_leading_beep(&beep(2.9, 0.5), 3.0).is_some());
        assert!(find_leading_beep(&beep(0.2, 0.5), 0.0).is_none());
        assert!(find_leading_beep(&beep(0.2, 0.5), f64::NAN).is_none());
    }

    #[test]
    fn no_beep_in_noise_silence_vowel_dtmf_chirp_or_speech() {
        assert_eq!(find_leading_beep(&noise(-20.0, 3.0, 50), 3.0), None);
        assert_eq!(find_leading_beep(&silence(3.0), 3.0), None);
        assert_eq!(find_leading_beep(&vowel(1.0), 3.0), None);
        assert_eq!(
            find_leading_beep(&concat(&[silence(0.3), dtmf('#', 0.5)]), 3.0),
            None
        );
        assert_eq!(find_leading_beep(&chirp(300.0, 3400.0, 2.0), 3.0), None);
        assert_eq!(find_leading_beep(&speechlike(3.0, 51), 3.0), None);
        for f0 in (80..=300).step_by(11) {
            let f0 = f64::from(f0);
            let v = voiced(
                f0,
                f0,
                &[(300.0, 60.0), (870.0, 80.0), (2250.0, 150.0)],
                -15.0,
                0.4,
                2,
            );
            assert_eq!(find_leading_beep(&v, 3.0), None, "/u/ at f0 {f0}");
        }
    }

    #[test]
    fn a_beep_in_noise_is_found() {
        // 15 dB below the beep, over the whole band.
        let x = concat(&[silence(0.5), sines(&[(700.0, -20.0)], 0.4), silence(1.0)]);
        let x = mix(x, &noise(-35.0, 2.0, 60));
        let b = find_leading_beep(&x, DEFAULT_BEEP_SEARCH_S).expect("beep");
        assert!(
            (b.freq_hz - 700.0).abs() <= 5.0 && (b.start_s - 0.5).abs() <= 0.02,
            "{b:?}"
        );
    }

    #[test]
    fn gliding_or_harmonic_tones_are_not_beeps() {
        // A 1 % pitch glide over 0.3 s, like a held vowel's intonation.
        let len = n(0.3);
        let glide: Vec<f32> = (0..len)
            .map(|i| {
                let t = i as f64 / FS;
                let f = 400.0 * (1.0 + 0.01 * t / 0.3);
                (amp(-15.0) * (TAU * (400.0 * t + (f - 400.0) * t / 2.0)).sin()) as f32
            })
            .collect();
        let x = concat(&[silence(0.3), glide, silence(0.5)]);
        assert_eq!(find_leading_beep(&x, DEFAULT_BEEP_SEARCH_S), None);
        // A buzzer-like tone: 3rd harmonic 20 dB down (still 99 % of the energy in one peak).
        let buzz = sines(&[(500.0, -15.0), (1500.0, -35.0)], 0.3);
        let x = concat(&[silence(0.3), buzz, silence(0.5)]);
        assert_eq!(find_leading_beep(&x, DEFAULT_BEEP_SEARCH_S), None);
        // ... while harmonics 40 dB down (a slightly distorted generator) are fine.
        let beep = sines(&[(500.0, -15.0), (1000.0, -55.0), (1500.0, -55.0)], 0.3);
        let x = concat(&[silence(0.3), beep, silence(0.5)]);
        assert!(find_leading_beep(&x, DEFAULT_BEEP_SEARCH_S).is_some());
    }

    #[test]
    fn beep_survives_mulaw_and_8_khz_band_limiting() {
        for freq in [400.0, 1000.0, 1400.0, 3000.0] {
            let x8 = [
                vec![0.0; 2400],
                sines_at(8000.0, &[(freq, -20.0)], 0.3),
                vec![0.0; 4000],
            ]
            .concat();
            let x = through_mulaw(&x8, 8000);
            let b = find_leading_beep(&x, 3.0).expect("beep");
            assert!(
                (b.freq_hz - freq).abs() <= 5.0 && (b.start_s - 0.3).abs() <= 0.02,
                "{b:?}"
            );
        }
    }
}
