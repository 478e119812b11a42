//! earshot's neural voice-activity model behind a faster feature front end.
//!
//! earshot 1.2 is two parts: a front end that turns each 16 ms frame into 40 log-mel features,
//! and a small convolutional + recurrent network (`DefaultPredictor`) that scores them.
//! `earshot::Detector` hard-wires the front end to a scalar 1024-point FFT (microfft; earshot's
//! own source says it is ~2.5× slower than realfft), which was about 30 % of the whole audio
//! chain's time. [`Vad`] is that front end re-done with realfft (SIMD, already in the build
//! through rubato) and vectorisable mel sums, in front of earshot's unchanged network and weights.
//!
//! The computation is earshot's, step for step: pre-emphasis 0.97 at 16-bit scale, a 768-sample
//! periodic Hann window zero-padded to 1024, power spectrum scaled back to [-1, 1] units, 40
//! triangular mel bands, `ln(x + 1e-20)`, then the predictor's own normalisation and network.
//! Sums are taken in a different order, so scores differ from `Detector`'s by float rounding
//! only; a unit test pins the two to each other on recorded speech.
//!
//! The predictor is driven through `earshot::Predictor`, whose methods earshot documents as
//! unstable; that is why Cargo.toml pins earshot to an exact version.

use std::sync::Arc;

use earshot::{DefaultPredictor, Predictor};
use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

/// Samples per frame: 16 ms at 16 kHz.
pub const FRAME: usize = 256;

const FFT_SIZE: usize = 1024;
const WINDOW: usize = 768;
const BINS: usize = FFT_SIZE / 2 + 1;
const N_MELS: usize = 40;
/// earshot's network sees the features of the current and the two previous frames.
const CONTEXT_FRAMES: usize = 3;
const PRE_EMPHASIS: f32 = 0.97;
/// earshot works at 16-bit scale and scales the power back to [-1, 1] units.
const SCALE: f32 = 32768.0;
const POWER_FAC: f32 = 1.0 / (SCALE * SCALE);
/// Scratch the predictor needs: it splits the buffer at 288 and uses 144 values after that.
const PREDICTOR_SCRATCH: usize = 288 + 144;

/// FFT bins bounding earshot's 40 triangular mel filters: band `i` rises from `MEL_EDGES[i]` to
/// a peak of 1 at `MEL_EDGES[i + 1]` and falls to 0 at `MEL_EDGES[i + 2]` (62.5 Hz … 7.6 kHz).
/// These are the bounds of earshot 1.2's private `MEL_COEFFS` table; the weights computed from
/// them in f32 are bit-identical to that table's (checked when this was written).
const MEL_EDGES: [usize; N_MELS + 2] = [
    4, 7, 10, 13, 17, 21, 25, 29, 33, 38, 43, 48, 54, 60, 66, 73, 80, 87, 95, 103, 112, 122, 132,
    142, 153, 165, 178, 191, 205, 220, 236, 253, 270, 289, 309, 330, 353, 376, 402, 428, 456, 486,
];

/// One band of the mel filterbank: its first FFT bin and its weights.
struct MelBand {
    start: usize,
    weights: Vec<f32>,
}

/// A voice-activity detector for one stream of 16 kHz audio: feed it consecutive 256-sample
/// frames, get a speech score in [0, 1] for each (above 0.5 is speech).
pub struct Vad {
    predictor: DefaultPredictor,
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    mel: Vec<MelBand>,
    /// The last 768 pre-emphasised samples (three frames).
    ring: Vec<f32>,
    prev_sample: f32,
    /// Features of the last three frames, oldest first.
    features: [f32; N_MELS * CONTEXT_FRAMES],
    fft_in: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    fft_scratch: Vec<Complex<f32>>,
    power: Vec<f32>,
    predictor_scratch: Vec<f32>,
}

impl Default for Vad {
    fn default() -> Self {
        Self::new()
    }
}

impl Vad {
    /// A detector in its initial state.
    pub fn new() -> Self {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(FFT_SIZE);
        let spectrum = fft.make_output_vec();
        let fft_scratch = fft.make_scratch_vec();
        // Periodic Hann window, as earshot's table (within 2.2e-7 of it).
        let window = (0..WINDOW)
            .map(|i| {
                let phase = 2.0 * std::f64::consts::PI * i as f64 / WINDOW as f64;
                (0.5 - 0.5 * phase.cos()) as f32
            })
            .collect();
        let mel = MEL_EDGES
            .windows(3)
            .map(|edge| {
                let (lo, mid, hi) = (edge[0], edge[1], edge[2]);
                let weights = (lo..hi)
                    .map(|bin| {
                        if bin <= mid {
                            (bin - lo) as f32 / (mid - lo) as f32
                        } else {
                            (hi - bin) as f32 / (hi - mid) as f32
                        }
                    })
                    .collect();
                MelBand { start: lo, weights }
            })
            .collect();
        Self {
            predictor: DefaultPredictor::new(),
            fft,
            window,
            mel,
            ring: vec![0.0; WINDOW],
            prev_sample: 0.0,
            features: [0.0; N_MELS * CONTEXT_FRAMES],
            fft_in: vec![0.0; FFT_SIZE],
            spectrum,
            fft_scratch,
            power: vec![0.0; BINS],
            predictor_scratch: vec![0.0; PREDICTOR_SCRATCH],
        }
    }

    /// Back to the initial state, as for a new stream.
    pub fn reset(&mut self) {
        self.predictor.reset();
        self.ring.fill(0.0);
        self.prev_sample = 0.0;
        self.features.fill(0.0);
    }

    /// Scores the next frame of samples in [-1, 1].
    pub fn score(&mut self, frame: &[f32; FRAME]) -> f32 {
        self.ring.copy_within(FRAME.., 0);
        let mut prev = self.prev_sample;
        for (emphasised, &sample) in self.ring[WINDOW - FRAME..].iter_mut().zip(frame) {
            let sample = sample * SCALE;
            *emphasised = sample - PRE_EMPHASIS * prev;
            prev = sample;
        }
        self.prev_sample = prev;

        for ((dst, &sample), &w) in self.fft_in.iter_mut().zip(&self.ring).zip(&self.window) {
            *dst = sample * w;
        }
        self.fft_in[WINDOW..].fill(0.0);
        // realfft only fails on wrongly sized buffers, and these are sized by the plan.
        if self
            .fft
            .process_with_scratch(&mut self.fft_in, &mut self.spectrum, &mut self.fft_scratch)
            .is_err()
        {
            return 0.0;
        }
        for (power, bin) in self.power.iter_mut().zip(&self.spectrum) {
            *power = bin.norm_sqr() * POWER_FAC;
        }

        self.features.copy_within(N_MELS.., 0);
        let current = &mut self.features[N_MELS * (CONTEXT_FRAMES - 1)..];
        for (feature, band) in current.iter_mut().zip(&self.mel) {
            let energy = dot(&self.power[band.start..], &band.weights);
            *feature = (energy + 1e-20).ln();
        }
        self.predictor.normalize(current);
        self.predictor
            .predict(&self.features, &mut self.predictor_scratch)
    }
}

/// Dot product of `weights` with the start of `values`, in eight independent partial sums so
/// the compiler can use SIMD (a single running sum is one long dependency chain).
pub(crate) fn dot(values: &[f32], weights: &[f32]) -> f32 {
    let values = &values[..weights.len()];
    let mut lanes = [0f32; 8];
    let mut value_chunks = values.chunks_exact(8);
    let mut weight_chunks = weights.chunks_exact(8);
    for (v, w) in (&mut value_chunks).zip(&mut weight_chunks) {
        for lane in 0..8 {
            lanes[lane] += v[lane] * w[lane];
        }
    }
    let tail: f32 = value_chunks
        .remainder()
        .iter()
        .zip(weight_chunks.remainder())
        .map(|(v, w)| v * w)
        .sum();
    lanes.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Limits;

    /// Speech from the samples, decoded and resampled by the pipeline's own stages.
    fn speech() -> Vec<f32> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/samples/ulaw-8000hz-mono-beep-speech.wav"
        );
        let bytes = std::fs::read(path).expect("sample");
        let decoded = crate::decode::decode(&bytes, &Limits::default()).expect("decode");
        let mono = crate::resample::to_mono16k(decoded.pcm).expect("resample");
        mono.samples().to_vec()
    }

    #[test]
    fn scores_match_earshots_detector() {
        let samples = speech();
        let mut ours = Vad::new();
        let mut theirs = earshot::Detector::default();
        let (mut max_diff, mut sum_diff) = (0f32, 0f32);
        let (mut speech_frames, mut frames) = (0, 0);
        for chunk in samples.chunks_exact(FRAME) {
            let frame: &[f32; FRAME] = chunk.try_into().expect("frame");
            let (a, b) = (ours.score(frame), theirs.predict_f32(chunk));
            max_diff = max_diff.max((a - b).abs());
            sum_diff += (a - b).abs();
            frames += 1;
            speech_frames += usize::from(b > 0.5);
            // The same decision wherever the score is not within a hair of the threshold.
            if (b - 0.5).abs() > 0.01 {
                assert_eq!(a > 0.5, b > 0.5, "frame {frames}: {a} vs {b}");
            }
        }
        let mean_diff = sum_diff / frames as f32;
        eprintln!(
            "{frames} frames, {speech_frames} speech, |diff| max {max_diff} mean {mean_diff}"
        );
        assert!(speech_frames > 50, "{speech_frames} speech frames");
        // Recurrent state is held in 16-bit fixed point, so a rounding difference in a feature
        // can move a later score by a few thousandths; never more.
        assert!(max_diff < 5e-3, "largest score difference {max_diff}");
        assert!(mean_diff < 5e-4, "mean score difference {mean_diff}");
    }

    #[test]
    fn reset_restores_the_initial_state() {
        let samples = speech();
        let frames: Vec<&[f32; FRAME]> = samples
            .chunks_exact(FRAME)
            .map(|c| c.try_into().expect("frame"))
            .collect();
        let mut vad = Vad::new();
        let first: Vec<f32> = frames.iter().map(|f| vad.score(f)).collect();
        vad.reset();
        let again: Vec<f32> = frames.iter().map(|f| vad.score(f)).collect();
        assert_eq!(first, again);
    }

    #[test]
    fn dot_matches_a_plain_sum() {
        let values: Vec<f32> = (0..61).map(|i| i as f32 * 0.25).collect();
        let weights: Vec<f32> = (0..58).map(|i| 1.0 - i as f32 / 58.0).collect();
        let plain: f32 = values.iter().zip(&weights).map(|(v, w)| v * w).sum();
        assert!((dot(&values, &weights) - plain).abs() < 1e-3 * plain);
    }
}
