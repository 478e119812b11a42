//! Voice activity: earshot's neural VAD, evaluated by callscribe.
//!
//! earshot 1.2 is two parts: a front end that turns each 16 ms frame into 40 log-mel features,
//! and a small convolutional + recurrent network that scores them. Through `earshot::Detector`
//! both were over half of the audio chain's time, for two reasons that are not the model's:
//! the front end is a scalar 1024-point FFT (microfft; earshot's own source says it is ~2.5×
//! slower than realfft), and the network's two float layers sum in one scalar chain per output
//! (latency-bound). So [`Vad`] computes earshot's features with realfft (SIMD, already in the
//! build through rubato) and `network` evaluates earshot's network, with earshot's weights,
//! with those sums vectorised (and compiled for AVX2 when the CPU has it). What each step
//! gained is measured in BENCHMARKS.md, "How the VAD was made faster".
//!
//! The computation is earshot's, step for step: pre-emphasis 0.97 at 16-bit scale, a 768-sample
//! periodic Hann window zero-padded to 1024, power spectrum scaled back to [-1, 1] units, 40
//! triangular mel bands, `ln(x + 1e-20)`, per-frame normalisation, the network. The network is
//! bit-identical to `earshot::DefaultPredictor`; the front end sums in a different order, so
//! scores differ from `earshot::Detector`'s by float rounding only. Unit tests pin both against
//! earshot (a dev-dependency) on recorded speech.
//!
//! [`music`] judges what the VAD found: speech, or music alone (which earshot takes for
//! speech).

pub(crate) mod music;
mod network;
pub mod silero;

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

use self::network::{Network, CONTEXT_FRAMES, N_FEATURES};

/// Samples per frame: 16 ms at 16 kHz.
pub const FRAME: usize = 256;

const FFT_SIZE: usize = 1024;
const WINDOW: usize = 768;
const BINS: usize = FFT_SIZE / 2 + 1;
const N_MELS: usize = N_FEATURES;
const PRE_EMPHASIS: f32 = 0.97;
/// earshot works at 16-bit scale and scales the power back to [-1, 1] units.
const SCALE: f32 = 32768.0;
const POWER_FAC: f32 = 1.0 / (SCALE * SCALE);
/// Length of [`Vad::history`] in frames.
const HISTORY_FRAMES: usize = 16;

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
    network: Network,
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    mel: Vec<MelBand>,
    /// Pre-emphasised samples; the analysis window is the [`WINDOW`] samples before `end`.
    /// [`HISTORY_FRAMES`] frames long, so the window is moved back to the start only once every
    /// few frames instead of shifting 512 samples each frame.
    history: Vec<f32>,
    end: usize,
    prev_sample: f32,
    /// Features of the last three frames, oldest first.
    features: [f32; N_MELS * CONTEXT_FRAMES],
    fft_in: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    fft_scratch: Vec<Complex<f32>>,
    power: Vec<f32>,
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
            network: Network::new(),
            fft,
            window,
            mel,
            history: vec![0.0; HISTORY_FRAMES * FRAME],
            end: WINDOW,
            prev_sample: 0.0,
            features: [0.0; N_MELS * CONTEXT_FRAMES],
            fft_in: vec![0.0; FFT_SIZE],
            spectrum,
            fft_scratch,
            power: vec![0.0; BINS],
        }
    }

    /// Back to the initial state, as for a new stream.
    pub fn reset(&mut self) {
        self.network.reset();
        self.history.fill(0.0);
        self.end = WINDOW;
        self.prev_sample = 0.0;
        self.features.fill(0.0);
    }

    /// Scores the next frame of samples in [-1, 1].
    pub fn score(&mut self, frame: &[f32; FRAME]) -> f32 {
        #[cfg(target_arch = "x86_64")]
        #[allow(unsafe_code)]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: `score_avx2` only requires AVX2, which the CPU was just checked to have.
            return unsafe { self.score_avx2(frame) };
        }
        self.score_portable(frame)
    }

    /// [`Self::score`] compiled for AVX2 (8-wide f32 and i32 lanes), chosen at run time so the
    /// build stays portable while AVX2 CPUs get the wider lanes for the network's sums (the
    /// measured gain: BENCHMARKS.md, "How the VAD was made faster"). FMA is deliberately not
    /// enabled, so sums round exactly as earshot's do. This and its call are the crate's only
    /// unsafe code.
    #[cfg(target_arch = "x86_64")]
    #[allow(unsafe_code)]
    #[target_feature(enable = "avx2")]
    unsafe fn score_avx2(&mut self, frame: &[f32; FRAME]) -> f32 {
        self.score_portable(frame)
    }

    #[inline(always)]
    fn score_portable(&mut self, frame: &[f32; FRAME]) -> f32 {
        if self.end + FRAME > self.history.len() {
            self.history
                .copy_within(self.end - (WINDOW - FRAME)..self.end, 0);
            self.end = WINDOW - FRAME;
        }
        let mut prev = self.prev_sample;
        for (emphasised, &sample) in self.history[self.end..self.end + FRAME]
            .iter_mut()
            .zip(frame)
        {
            let sample = sample * SCALE;
            *emphasised = sample - PRE_EMPHASIS * prev;
            prev = sample;
        }
        self.prev_sample = prev;
        self.end += FRAME;
        let analysed = &self.history[self.end - WINDOW..self.end];

        for ((dst, &sample), &w) in self.fft_in.iter_mut().zip(analysed).zip(&self.window) {
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
        self.network.normalize(current);
        self.network.predict(&self.features)
    }
}

/// The history and FFT buffers hold (filtered) audio: zeroized like every media buffer.
impl Drop for Vad {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.history.zeroize();
        self.fft_in.zeroize();
        self.power.zeroize();
        for bin in &mut self.spectrum {
            bin.re.zeroize();
            bin.im.zeroize();
        }
        self.prev_sample.zeroize();
    }
}

/// Dot product of `weights` with the start of `values`, in eight independent partial sums so
/// the compiler can use SIMD (a single running sum is one long dependency chain).
#[inline(always)]
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
    fn the_network_is_bit_identical_to_earshots() {
        use earshot::Predictor;
        let samples = speech();
        let mut ours = Vad::new();
        let mut portable = Vad::new();
        let mut theirs = earshot::DefaultPredictor::new();
        let mut scratch = vec![0f32; 1026];
        let mut speech_frames = 0;
        for chunk in samples.chunks_exact(FRAME) {
            let frame: &[f32; FRAME] = chunk.try_into().expect("frame");
            let score = ours.score(frame);
            // `ours.features` now holds exactly what our network was given.
            let reference = theirs.predict(&ours.features, &mut scratch);
            assert_eq!(
                score.to_bits(),
                reference.to_bits(),
                "{score} vs {reference}"
            );
            // `score` took the AVX2 path if the CPU has it; the portable one must agree too.
            let portable = portable.score_portable(frame);
            assert_eq!(
                portable.to_bits(),
                reference.to_bits(),
                "portable {portable}"
            );
            speech_frames += usize::from(score > 0.5);
        }
        assert!(speech_frames > 50, "{speech_frames} speech frames");

        let raw: Vec<f32> = (0..N_FEATURES)
            .map(|i| -20.0 + (i as f32).sin() * 5.0)
            .collect();
        let (mut a, mut b) = (raw.clone(), raw);
        ours.network.normalize(&mut a);
        theirs.normalize(&mut b);
        assert_eq!(a, b);
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
