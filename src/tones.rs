//! Tone detection: the bot's leading `playBeep` beep and the caller's DTMF key presses (the stop
//! tone that ends a Graph `recordResponse` recording), so both stay out of the speech span.
//!
//! Every function takes 16 kHz mono `f32` samples in [-1, 1] ([`SAMPLE_RATE`]), is pure, never
//! panics, and treats empty or too-short input as "nothing found". std only: the transforms
//! needed (8 Goertzel filters, one 512-point FFT, a few single-frequency DFTs) are a few dozen
//! lines each, and an FFT crate would bring planning, complex types and a dependency for one
//! fixed-size transform over a few hundred frames.
//!
//! # Method
//! - **DTMF** ([`find_dtmf`]): Goertzel filters at the 8 ITU-T Q.23 frequencies over 25 ms
//!   rectangular windows advanced in 5 ms hops. A window counts for a key with the classic
//!   receiver checks (AT&T/Bellcore limits, as collected in ITU-T Q.24): the strongest row and
//!   column tone each stand 8 dB above the rest of their group, both reach -40 dBFS, the twist is
//!   within ±8 dB, and the two tones carry ≥ 90 % of the window's energy. That last test keeps
//!   speech out (a vowel spreads its energy over many harmonics); each tone's power is measured
//!   at its actual frequency within ±1.5 % so that off-nominal keypads still reach 90 %. A press
//!   needs 3 consecutive windows; its edges are then put where both tones are 6 dB below their
//!   steady level, and presses shorter than 35 ms are dropped.
//! - **Beep** ([`find_leading_beep`]): a 512-point FFT (32 ms Hann window, 16 ms hop) over the
//!   leading seconds only. A frame is tonal when one spectral peak (±2 bins) holds ≥ 90 % of its
//!   energy; a vowel's harmonics and DTMF's two tones fail that. A run of tonal frames at one
//!   frequency is then measured on the signal demodulated at that frequency: edges at half
//!   amplitude, frequency from the phase advance. It is a beep if it lasts 0.1–1.5 s, its
//!   frequency is the same (±0.3 %) in both halves, and its 2nd–5th harmonics are all ≥ 30 dB
//!   down: a high-pitched voice can pass the frame test but not both of these.
//! - **Stop tone** ([`find_stop_tone`]): the last DTMF press, if the audio after it is silence
//!   apart from at most 200 ms of noise bursts, all within `tail_s` of the press.
//!
//! The thresholds were checked against 78 minutes of espeak-ng, flite and festival speech
//! (several voices and pitches, each also through 8 kHz µ-law): no press and no beep found.
//!
//! # Levels
//! dBFS follows AES17: a full-scale sine (amplitude 1.0) is 0 dBFS, so any signal at L dBFS has
//! mean square 10^(L/10) / 2. This is 3 dB above a plain `20·log10(rms)` reading.

use std::f64::consts::TAU;

/// The only sample rate this module accepts, in Hz (the pipeline's rate after resampling).
pub const SAMPLE_RATE: u32 = 16_000;

/// Default for [`find_leading_beep`]'s `search_s`, in seconds: Graph plays the beep right after
/// the prompt, so it starts within the first few seconds of the recording.
pub const DEFAULT_BEEP_SEARCH_S: f64 = 3.0;

/// Default for [`find_stop_tone`]'s `tail_s`, in seconds.
pub const DEFAULT_STOP_TAIL_S: f64 = 2.0;

/// A detected leading beep, in seconds from the start of the given samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Beep {
    /// Start, in seconds (where the tone's envelope first reaches half its steady amplitude).
    pub start_s: f64,
    /// End, in seconds (where the envelope falls below half its steady amplitude).
    pub end_s: f64,
    /// The tone's frequency, in Hz.
    pub freq_hz: f64,
}

/// A detected DTMF key press.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DtmfTone {
    /// The key: `'0'`–`'9'`, `'*'`, `'#'` or `'A'`–`'D'`.
    pub key: char,
    /// Start, in seconds (where both tones reach half their steady amplitude).
    pub start_s: f64,
    /// End, in seconds.
    pub end_s: f64,
}

/// [`SAMPLE_RATE`] as `f64`, for time arithmetic.
const FS: f64 = SAMPLE_RATE as f64;

/// Mean square of a signal at `dbfs` (AES17: a full-scale sine, mean square 1/2, is 0 dBFS).
fn mean_square_at(dbfs: f64) -> f64 {
    10f64.powf(dbfs / 10.0) / 2.0
}

/// A power ratio for `db` decibels.
fn power_ratio(db: f64) -> f64 {
    10f64.powf(db / 10.0)
}

// ---------------------------------------------------------------------------------------------
// DTMF
// ---------------------------------------------------------------------------------------------

/// Low-group (row) frequencies in Hz, ITU-T Q.23.
const ROW_HZ: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
/// High-group (column) frequencies in Hz, ITU-T Q.23.
const COL_HZ: [f64; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
/// The keypad, indexed `[row][column]`, ITU-T Q.23.
const KEYPAD: [[char; 4]; 4] = [
    ['1', '2', '3', 'A'],
    ['4', '5', '6', 'B'],
    ['7', '8', '9', 'C'],
    ['*', '0', '#', 'D'],
];

/// Goertzel block length and hop between analysis windows: 80 samples = 5 ms. Each sample
/// passes through the filters once per block; windows are sums of block results, so the 5×
/// window overlap costs nothing in the per-sample loop. 5 ms hops put press edges within
/// ±2.5 ms.
const DTMF_HOP: usize = 80;
/// Blocks per analysis window: 5 × 80 = 400 samples = 25 ms. A rectangular window of 25 ms has
/// 40 Hz from peak to first null, so the nearest neighbour tone (697 → 770 Hz, 73 Hz away)
/// lands 1.8 bins off, at -21 dB, and speech harmonics (≥ 80 Hz apart) mostly fall in separate
/// bins; it still leaves several whole windows inside a 40 ms press (the AT&T minimum tone
/// duration). Its narrow response would cost a tone 1.5 % off nominal up to 6.7 dB; see
/// [`Checks::drift_compensated`] for how that is undone.
const DTMF_WINDOW_HOPS: usize = 5;
/// Analysis window length in samples (25 ms).
const DTMF_WINDOW: usize = DTMF_HOP * DTMF_WINDOW_HOPS;
/// Frequency deviation from nominal that a press may have, as a fraction: ±1.5 %, the deviation
/// AT&T receivers must accept (they must reject ±3.5 %, which this module does not try to).
const DTMF_FREQ_TOLERANCE: f64 = 0.015;
/// Minimum level of each tone, in dBFS (≈ -37 dBm0, G.711's full-scale sine being +3.14 dBm0).
/// AT&T receivers must detect through up to 26 dB of attenuation; from a typical send level of
/// about -10 dBFS per tone that is -36 dBFS, and -40 leaves a little for gain lost on the way.
const DTMF_MIN_TONE_DBFS: f64 = -40.0;
/// The strongest tone of each group must exceed every other tone of that group by this many
/// dB (8 dB: spandsp's and Asterisk's `DTMF_RELATIVE_PEAK`).
const DTMF_RELATIVE_PEAK_DB: f64 = 8.0;
/// Accepted twist (column level minus row level) either way, in dB. AT&T accepts 8 dB normal
/// twist (high group weaker) and 4 dB reverse; we accept 8 dB both ways because a recording
/// passes through codecs and resamplers of unknown frequency response.
const DTMF_MAX_TWIST_DB: f64 = 8.0;
/// Share of a window's energy (DC removed) that the row and column tones must carry together.
/// Measured over every key: a clean press gives ≥ 0.99, 1.5 % off nominal 0.965, 1.5 % off with
/// noise 15 dB down (the AT&T S/N limit) 0.935; synthetic speech (78 min, see the module docs)
/// reaches at most 0.81 over 3 consecutive windows. spandsp's `DTMF_TO_TOTAL_ENERGY` is the same
/// test at ~0.82 with a 12.75 ms window and no drift compensation.
const DTMF_MIN_ENERGY_SHARE: f64 = 0.9;
/// Consecutive windows with the same key needed before a press is considered: 3 windows span
/// 35 ms of audio (two 5 ms hops + the 25 ms window).
const DTMF_MIN_CORE_WINDOWS: usize = 3;
/// A press's edge is where each tone's power falls to this fraction of its steady power (6 dB
/// down = half amplitude = the window's centre crossing the tone's edge).
const DTMF_EDGE_POWER_FRACTION: f64 = 0.25;
/// Shortest press reported, in seconds. Measured durations are quantised to the 5 ms hop, so
/// 35 ms accepts every 40 ms press (the AT&T minimum tone duration) and rejects 25 ms ones
/// (receivers commonly reject tones under ~20–25 ms).
const DTMF_MIN_PRESS_S: f64 = 0.035;
/// Presses of the same key separated by less than this, in seconds, are one press (a dropout in
/// noise); real pauses are longer (AT&T's minimum tone-off time is 50 ms).
const DTMF_MERGE_GAP_S: f64 = 0.020;

/// Per-window Goertzel output: the 8 tone powers and the key the window passed as, if any.
struct DtmfWindows {
    /// Mean-square power of each tone per window: 4 rows, then 4 columns.
    power: Vec<[f32; 8]>,
    /// `(row, column)` of the key each window passed as.
    key: Vec<Option<(usize, usize)>>,
}

/// Runs the 8 Goertzel filters over every [`DTMF_HOP`] block and classifies each window.
fn dtmf_windows(samples: &[f32]) -> DtmfWindows {
    let blocks = samples.len() / DTMF_HOP;
    let windows = (blocks + 1).saturating_sub(DTMF_WINDOW_HOPS);
    let mut out = DtmfWindows {
        power: Vec::with_capacity(windows),
        key: Vec::with_capacity(windows),
    };
    if windows == 0 {
        return out;
    }

    let omega: [f64; 8] = std::array::from_fn(|k| TAU * tone_hz(k) / FS);
    let coef: [f32; 8] = omega.map(|w| (2.0 * w.cos()) as f32);
    let (cos, sin) = (omega.map(f64::cos), omega.map(f64::sin));
    // Rotation by one block, e^{-jωL}, to give every block's DFT the same time origin.
    let step: [(f64, f64); 8] = omega.map(|w| {
        let a = w * DTMF_HOP as f64;
        (a.cos(), -a.sin())
    });
    let mut phase = [(1.0f64, 0.0f64); 8];
    // The Goertzel states (s1, s2) → the block's DFT values referred to sample 0.
    let mut to_dft = |(s1, s2): ([f32; 8], [f32; 8])| {
        let mut z = [(0f32, 0f32); 8];
        for (k, zk) in z.iter_mut().enumerate() {
            // y = s1 - e^{-jω}·s2 = e^{jω(L-1)} Σ x[m] e^{-jωm}; the constant e^{jω(L-1)} is the
            // same for every block and drops out of the window's magnitude.
            let yr = f64::from(s1[k]) - cos[k] * f64::from(s2[k]);
            let yi = sin[k] * f64::from(s2[k]);
            let (pr, pi) = phase[k];
            *zk = ((yr * pr - yi * pi) as f32, (yr * pi + yi * pr) as f32);
            let (sr, si) = step[k];
            phase[k] = (pr * sr - pi * si, pr * si + pi * sr);
        }
        z
    };

    let checks = Checks::new();
    // The last DTMF_WINDOW_HOPS blocks' DFT values and (sum, sum of squares), the oldest at
    // index `(b + 1) % DTMF_WINDOW_HOPS` once block `b` is in; and their running totals.
    let mut ring = [([(0f32, 0f32); 8], (0f64, 0f64)); DTMF_WINDOW_HOPS];
    let mut total_z = [(0f64, 0f64); 8];
    let mut total_sums = (0f64, 0f64);
    let mut window = [[(0f32, 0f32); 8]; DTMF_WINDOW_HOPS];
    let mut push = |b: usize, block: &[f32], z: [(f32, f32); 8], out: &mut DtmfWindows| {
        let sums = block_sums(block);
        let slot = &mut ring[b % DTMF_WINDOW_HOPS];
        for (t, (old, new)) in total_z.iter_mut().zip(slot.0.iter().zip(&z)) {
            t.0 += f64::from(new.0) - f64::from(old.0);
            t.1 += f64::from(new.1) - f64::from(old.1);
        }
        total_sums.0 += sums.0 - slot.1 .0;
        total_sums.1 += sums.1 - slot.1 .1;
        *slot = (z, sums);
        if b + 1 < DTMF_WINDOW_HOPS {
            return;
        }
        let power: [f32; 8] = total_z.map(|(re, im)| ((re * re + im * im) * checks.scale) as f32);
        let (sum, sq) = total_sums;
        let energy = (sq - sum * sum / checks.n) / checks.n;
        let key = checks.candidate(&power).and_then(|(row, col)| {
            // Oldest block first: the drift estimate needs them in time order.
            for (i, w) in window.iter_mut().enumerate() {
                *w = ring[(b + 1 + i) % DTMF_WINDOW_HOPS].0;
            }
            checks.confirm(&window, &power, energy, row, col)
        });
        out.key.push(key);
        out.power.push(power);
    };
    // Two blocks at a time: their Goertzel recursions are independent, and interleaving them
    // hides the recursion's latency (it is a dependency chain of a multiply and an add).
    let mut pairs = samples.chunks_exact(2 * DTMF_HOP);
    let mut b = 0;
    for pair in pairs.by_ref() {
        let (first, second) = pair.split_at(DTMF_HOP);
        let (za, zb) = goertzel8x2(first, second, &coef);
        let za = to_dft(za);
        let zb = to_dft(zb);
        push(b, first, za, &mut out);
        push(b + 1, second, zb, &mut out);
        b += 2;
    }
    if let Some(last) = pairs.remainder().get(..DTMF_HOP) {
        let (za, _) = goertzel8x2(last, last, &coef);
        let za = to_dft(za);
        push(b, last, za, &mut out);
    }
    out
}

/// Sum and sum of squares of a block (for the window's DC-free energy).
fn block_sums(block: &[f32]) -> (f64, f64) {
    // Eight partial sums in f32, one pass per sum, so the compiler vectorises each; 80 samples
    // lose no precision that matters here.
    let chunks = block.chunks_exact(8);
    let tail = chunks.remainder();
    let mut sum = [0f32; 8];
    for c in chunks.clone() {
        for (s, &x) in sum.iter_mut().zip(c) {
            *s += x;
        }
    }
    let mut sq = [0f32; 8];
    for c in chunks {
        for (q, &x) in sq.iter_mut().zip(c) {
            *q += x * x;
        }
    }
    let total = |acc: [f32; 8], f: fn(f32) -> f32| {
        acc.iter().map(|&v| f64::from(v)).sum::<f64>()
            + tail.iter().map(|&x| f64::from(f(x))).sum::<f64>()
    };
    (total(sum, |x| x), total(sq, |x| x * x))
}

/// Frequency of Goertzel lane `k` in Hz: rows 0–3, then columns 4–7.
fn tone_hz(k: usize) -> f64 {
    if k < 4 {
        ROW_HZ[k]
    } else {
        COL_HZ[k - 4]
    }
}

/// Goertzel recursions for the 8 frequencies over two equally long blocks at once; returns each
/// block's last two states.
///
/// The 16 filters are independent lanes, which the compiler vectorises.
#[allow(clippy::type_complexity, clippy::needless_range_loop)] // 8 lanes × 2 blocks, indexed
fn goertzel8x2(
    a: &[f32],
    b: &[f32],
    coef: &[f32; 8],
) -> (([f32; 8], [f32; 8]), ([f32; 8], [f32; 8])) {
    let (mut a1, mut a2) = ([0f32; 8], [0f32; 8]);
    let (mut b1, mut b2) = ([0f32; 8], [0f32; 8]);
    for (&x, &y) in a.iter().zip(b) {
        for k in 0..8 {
            // (x - s2) + c·s1: only the multiply-add on s1 is on the critical path.
            let s0 = (x - a2[k]) + coef[k] * a1[k];
            a2[k] = a1[k];
            a1[k] = s0;
            let t0 = (y - b2[k]) + coef[k] * b1[k];
            b2[k] = b1[k];
            b1[k] = t0;
        }
    }
    ((a1, a2), (b1, b2))
}

/// The per-window DTMF checks, with their thresholds in linear units.
struct Checks {
    /// Window length in samples, as `f64`.
    n: f64,
    /// |X|² → mean-square power of a sine: a sine of amplitude A gives |X| = A·N/2 and has mean
    /// square A²/2, so the factor is 2/N².
    scale: f64,
    floor: f64,
    rel_peak: f64,
    max_twist: f64,
    min_share: f64,
    /// Largest block-to-block phase drift a tone within [`DTMF_FREQ_TOLERANCE`] makes, per lane,
    /// in radians.
    max_drift: [f64; 8],
}

impl Checks {
    fn new() -> Self {
        let n = DTMF_WINDOW as f64;
        Self {
            n,
            scale: 2.0 / (n * n),
            floor: mean_square_at(DTMF_MIN_TONE_DBFS),
            rel_peak: power_ratio(DTMF_RELATIVE_PEAK_DB),
            max_twist: power_ratio(DTMF_MAX_TWIST_DB),
            min_share: DTMF_MIN_ENERGY_SHARE,
            max_drift: std::array::from_fn(|k| {
                TAU * tone_hz(k) * DTMF_FREQ_TOLERANCE * DTMF_HOP as f64 / FS
            }),
        }
    }

    /// The cheap checks on the window's tone powers: the strongest row and column each stand
    /// out in their group. Returns their `(row, column)`.
    ///
    /// Also drops tones under an eighth of the level floor: drift compensation can raise a
    /// tone's power by at most 6.7 dB (×4.7), so those can never pass.
    fn candidate(&self, power: &[f32; 8]) -> Option<(usize, usize)> {
        let (rows, cols) = power.split_at(4);
        let row = strongest(rows)?;
        let col = strongest(cols)?;
        let dominant = |group: &[f32], best: usize| {
            let p = f64::from(group[best]);
            p >= self.floor / 8.0
                && group
                    .iter()
                    .enumerate()
                    .all(|(i, &q)| i == best || p >= self.rel_peak * f64::from(q))
        };
        (dominant(rows, row) && dominant(cols, col)).then_some((row, col))
    }

    /// The remaining checks on a [`Checks::candidate`]: level, twist and energy share, with each
    /// tone's power taken at its actual frequency. Returns the key's `(row, column)`.
    fn confirm(
        &self,
        blocks: &[[(f32, f32); 8]],
        power: &[f32; 8],
        energy: f64,
        row: usize,
        col: usize,
    ) -> Option<(usize, usize)> {
        let pr = self
            .drift_compensated(blocks, row)
            .max(f64::from(power[row]));
        let pc = self
            .drift_compensated(blocks, 4 + col)
            .max(f64::from(power[4 + col]));
        let share = if energy > 0.0 {
            (pr + pc) / energy
        } else {
            0.0
        };
        let ok = pr >= self.floor
            && pc >= self.floor
            && pc <= self.max_twist * pr
            && pr <= self.max_twist * pc
            && share >= self.min_share;
        ok.then_some((row, col))
    }

    /// Window power of lane `k` after undoing a small frequency offset.
    ///
    /// A tone Δf off the filter's frequency turns each block's DFT value by 2π·Δf·L/fs more than
    /// the previous one; summing blocks without undoing that loses up to 6.7 dB at 1.5 % off
    /// 1633 Hz. The drift is estimated from consecutive blocks, limited to what
    /// [`DTMF_FREQ_TOLERANCE`] allows (so speech harmonics further off get no credit), and
    /// removed before summing; what remains is the 5 ms block's own loss, < 0.3 dB.
    fn drift_compensated(&self, blocks: &[[(f32, f32); 8]], k: usize) -> f64 {
        let (mut dr, mut di) = (0f64, 0f64);
        for pair in blocks.windows(2) {
            let (ar, ai) = (f64::from(pair[1][k].0), f64::from(pair[1][k].1));
            let (br, bi) = (f64::from(pair[0][k].0), f64::from(pair[0][k].1));
            dr += ar * br + ai * bi;
            di += ai * br - ar * bi;
        }
        let drift = di.atan2(dr).clamp(-self.max_drift[k], self.max_drift[k]);
        let (sr, si) = (drift.cos(), -drift.sin());
        let (mut rr, mut ri) = (1f64, 0f64);
        let (mut re, mut im) = (0f64, 0f64);
        for z in blocks {
            let (zr, zi) = (f64::from(z[k].0), f64::from(z[k].1));
            re += zr * rr - zi * ri;
            im += zr * ri + zi * rr;
            (rr, ri) = (rr * sr - ri * si, rr * si + ri * sr);
        }
        (re * re + im * im) * self.scale
    }
}

/// Index of the largest value (NaN never wins; all-NaN gives `None`).
fn strongest(group: &[f32]) -> Option<usize> {
    group
        .iter()
        .enumerate()
        .filter(|(_, p)| p.is_finite())
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i)
}

/// A press in window indices, before conversion to seconds.
#[derive(Clone, Copy)]
struct Press {
    row: usize,
    col: usize,
    /// First window (inclusive) after edge extension.
    first: usize,
    /// Last window (inclusive) after edge extension.
    last: usize,
}

/// Finds every DTMF key press, in time order.
///
/// Validation follows the classic receiver checks (see the module docs): both tones present
/// and ≥ -40 dBFS, each 8 dB above the rest of its group, twist within ±8 dB, the pair holding
/// ≥ 90 % of the energy, for ≥ 35 ms. Presses of one key interrupted for < 20 ms are merged.
/// Times are accurate to ±2.5 ms for a clean press.
pub fn find_dtmf(samples: &[f32]) -> Vec<DtmfTone> {
    dtmf_from(samples, 0)
}

/// [`find_dtmf`] on `samples[from..]`, with times still in seconds of the whole of `samples`.
fn dtmf_from(samples: &[f32], from: usize) -> Vec<DtmfTone> {
    let from = from.min(samples.len());
    let win = dtmf_windows(&samples[from..]);
    let count = win.key.len();

    // Cores: runs of ≥ DTMF_MIN_CORE_WINDOWS windows that passed as the same key.
    let mut cores: Vec<Press> = Vec::new();
    let mut w = 0;
    while w < count {
        let Some((row, col)) = win.key[w] else {
            w += 1;
            continue;
        };
        let mut last = w;
        while last + 1 < count && win.key[last + 1] == Some((row, col)) {
            last += 1;
        }
        if last + 1 - w >= DTMF_MIN_CORE_WINDOWS {
            cores.push(Press {
                row,
                col,
                first: w,
                last,
            });
        }
        w = last + 1;
    }

    // Edges: extend each core over the windows where both tones are still ≥ 6 dB under their
    // steady level (the window's centre is still inside the tone), without crossing into the
    // neighbouring cores and by at most one window length (beyond that the window no longer
    // overlaps the core's audio at all).
    let mut presses: Vec<Press> = Vec::with_capacity(cores.len());
    for (i, core) in cores.iter().enumerate() {
        let (r, c) = (core.row, 4 + core.col);
        let steady_r = median(win.power[core.first..=core.last].iter().map(|p| p[r]));
        let steady_c = median(win.power[core.first..=core.last].iter().map(|p| p[c]));
        let loud = |w: usize| {
            let p = &win.power[w];
            f64::from(p[r]) >= DTMF_EDGE_POWER_FRACTION * steady_r
                && f64::from(p[c]) >= DTMF_EDGE_POWER_FRACTION * steady_c
        };
        let lower = presses
            .last()
            .map_or(0, |p| p.last + 1)
            .max(core.first.saturating_sub(DTMF_WINDOW_HOPS));
        let upper = cores
            .get(i + 1)
            .map_or(count - 1, |next| next.first - 1)
            .min(core.last + DTMF_WINDOW_HOPS);
        let mut first = core.first;
        while first > lower && loud(first - 1) {
            first -= 1;
        }
        let mut last = core.last;
        while last < upper && loud(last + 1) {
            last += 1;
        }
        presses.push(Press {
            first,
            last,
            ..*core
        });
    }

    // Seconds: a window stands for its centre ± half a hop.
    let total_s = samples.len() as f64 / FS;
    let centre_s = |w: usize| (from + w * DTMF_HOP + DTMF_WINDOW / 2) as f64 / FS;
    let half_hop_s = DTMF_HOP as f64 / 2.0 / FS;
    let mut tones: Vec<DtmfTone> = Vec::with_capacity(presses.len());
    for p in presses {
        let tone = DtmfTone {
            key: KEYPAD[p.row][p.col],
            start_s: (centre_s(p.first) - half_hop_s).max(0.0),
            end_s: (centre_s(p.last) + half_hop_s).min(total_s),
        };
        match tones.last_mut() {
            Some(prev) if prev.key == tone.key && tone.start_s - prev.end_s < DTMF_MERGE_GAP_S => {
                prev.end_s = tone.end_s;
            }
            _ => tones.push(tone),
        }
    }
    // Compare with a tolerance of a tenth of a sample so that exactly 35 ms passes despite
    // floating-point rounding.
    tones.retain(|t| t.end_s - t.start_s >= DTMF_MIN_PRESS_S - 0.1 / FS);
    tones
}

/// Median of the values (0 for none).
fn median(values: impl Iterator<Item = f32>) -> f64 {
    let mut v: Vec<f32> = values.filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return 0.0;
    }
    let mid = v.len() / 2;
    let (_, m, _) = v.select_nth_unstable_by(mid, f32::total_cmp);
    f64::from(*m)
}

// ---------------------------------------------------------------------------------------------
// Stop tone
// ---------------------------------------------------------------------------------------------

/// Audio right after a press that is ignored, in seconds: the tone's decay, echo and the
/// codec's ramp-down smear over a few milliseconds.
const STOP_GUARD_S: f64 = 0.03;
/// Trailing activity allowed after a stop tone, in seconds: a key-release click, a breath or a
/// line-noise burst, but not a word (even short words last ≥ 200 ms).
const STOP_MAX_TRAILING_ACTIVITY_S: f64 = 0.2;
/// A 5 ms block is active above the noise floor plus this many dB.
const ACTIVITY_ABOVE_FLOOR_DB: f64 = 12.0;
/// The noise floor is this quantile of the recording's 5 ms block powers: calls have pauses, so
/// a tenth of the blocks are background.
const NOISE_FLOOR_QUANTILE: f64 = 0.1;
/// Blocks quieter than this are never active, in dBFS: well above G.711's idle-channel noise
/// (µ-law's smallest step is about -72 dBFS), well below speech.
const ACTIVITY_MIN_DBFS: f64 = -60.0;
/// Blocks within this many dB of the press's level are always active, whatever the floor (a
/// recording without pauses has its "floor" at speech level).
const ACTIVITY_BELOW_TONE_DB: f64 = 20.0;

/// The stop tone: the last DTMF press, when nothing but silence follows it.
///
/// "Silence" allows background noise and up to 200 ms of short bursts (clicks, breaths) after
/// the press, all ending within `tail_s` seconds ([`DEFAULT_STOP_TAIL_S`]) of the press's end.
/// Speech after the last press means the caller kept talking, so it was not the stop tone.
///
/// Only the end of the recording is searched for presses: walking back from the end, once more
/// than 200 ms of audio loud enough to count as activity after *any* tone has gone by, no
/// earlier press can qualify. The DTMF filters then run from `STOP_SCAN_LOOKBACK_S` (1 s) before
/// that point (the whole recording when a press reaches back to the start of that region), so
/// the answer is the one a scan of the whole recording gives, for a fraction of its cost.
pub fn find_stop_tone(samples: &[f32], tail_s: f64) -> Option<DtmfTone> {
    let block_power = block_powers(samples);
    let floor = noise_floor(&block_power);
    let first_block = stop_scan_start(&block_power, floor);
    if first_block > 0 {
        let from = first_block * DTMF_HOP;
        let presses = dtmf_from(samples, from);
        // A press found in the region's first window may have begun before it: scan it all.
        let region_start_s = (from + DTMF_WINDOW) as f64 / FS;
        if presses.iter().all(|p| p.start_s > region_start_s) {
            return stop_tone_in(&presses, &block_power, floor, tail_s);
        }
    }
    let presses = find_dtmf(samples);
    stop_tone_in(&presses, &block_power, floor, tail_s)
}

/// How far before the point where the trailing activity exceeds
/// [`STOP_MAX_TRAILING_ACTIVITY_S`] the stop-tone search starts, in seconds: a qualifying press
/// ends after that point, so this only needs to cover the press itself (a press longer than
/// this is still found, by the fallback to a whole scan).
const STOP_SCAN_LOOKBACK_S: f64 = 1.0;

/// The first [`DTMF_HOP`] block the stop-tone search needs to look at.
///
/// The activity threshold of [`stop_tone_in`] is at most `max(floor + 12 dB, -60 dBFS)`,
/// whatever the tone's level, so a block above that is activity after any press. A press
/// followed (from its guard on) by more than [`STOP_MAX_TRAILING_ACTIVITY_S`] of such blocks is
/// not the stop tone, which puts every candidate's end after the block returned here plus the
/// lookback.
fn stop_scan_start(block_power: &[f32], floor: f64) -> usize {
    let block_s = DTMF_HOP as f64 / FS;
    let surely_active =
        (floor * power_ratio(ACTIVITY_ABOVE_FLOOR_DB)).max(mean_square_at(ACTIVITY_MIN_DBFS));
    let mut active_blocks = 0usize;
    for (i, &p) in block_power.iter().enumerate().rev() {
        if f64::from(p) >= surely_active {
            active_blocks += 1;
            if active_blocks as f64 * block_s > STOP_MAX_TRAILING_ACTIVITY_S + 1e-9 {
                // Margin: the press's guard and the rounding of its end to a block.
                let margin = ((STOP_GUARD_S + STOP_SCAN_LOOKBACK_S) / block_s).ceil() as usize;
                return i.saturating_sub(margin + 1);
            }
        }
    }
    0
}

/// [`find_stop_tone`] with the presses already found by [`find_dtmf`] over the same samples, so
/// a caller that wants both scans only once.
pub fn stop_tone_among(samples: &[f32], presses: &[DtmfTone], tail_s: f64) -> Option<DtmfTone> {
    let block_power = block_powers(samples);
    let floor = noise_floor(&block_power);
    stop_tone_in(presses, &block_power, floor, tail_s)
}

/// Mean-square power (DC removed) of every whole [`DTMF_HOP`] block.
fn block_powers(samples: &[f32]) -> Vec<f32> {
    let len = DTMF_HOP as f64;
    samples
        .chunks_exact(DTMF_HOP)
        .map(|block| {
            let (sum, sq) = block_sums(block);
            ((sq - sum * sum / len) / len) as f32
        })
        .collect()
}

/// The background level: the [`NOISE_FLOOR_QUANTILE`] of the block powers (0 for none).
fn noise_floor(block_power: &[f32]) -> f64 {
    if block_power.is_empty() {
        return 0.0;
    }
    let mut sorted = block_power.to_vec();
    let q = ((sorted.len() as f64 * NOISE_FLOOR_QUANTILE) as usize).min(sorted.len() - 1);
    let (_, f, _) = sorted.select_nth_unstable_by(q, f32::total_cmp);
    f64::from(*f)
}

/// The stop-tone decision over per-block (5 ms) mean-square powers and their noise floor.
fn stop_tone_in(
    presses: &[DtmfTone],
    block_power: &[f32],
    floor: f64,
    tail_s: f64,
) -> Option<DtmfTone> {
    let last = *presses.iter().max_by(|a, b| a.end_s.total_cmp(&b.end_s))?;
    let block_s = DTMF_HOP as f64 / FS;
    let block_at = |t: f64| ((t.max(0.0) / block_s).round() as usize).min(block_power.len());

    let tone = block_power
        .get(block_at(last.start_s)..block_at(last.end_s))
        .unwrap_or(&[]);
    let tone_power = tone.iter().map(|&p| f64::from(p)).sum::<f64>() / tone.len().max(1) as f64;
    let threshold = (floor * power_ratio(ACTIVITY_ABOVE_FLOOR_DB))
        .min(tone_power / power_ratio(ACTIVITY_BELOW_TONE_DB))
        .max(mean_square_at(ACTIVITY_MIN_DBFS));

    let after = block_at(last.end_s + STOP_GUARD_S);
    let mut active_s = 0.0;
    let mut last_active_end_s = last.end_s;
    for (i, &p) in block_power.iter().enumerate().skip(after) {
        if f64::from(p) >= threshold {
            active_s += block_s;
            last_active_end_s = (i + 1) as f64 * block_s;
        }
    }
    let quiet = active_s <= STOP_MAX_TRAILING_ACTIVITY_S + 1e-9
        && last_active_end_s - last.end_s <= tail_s.max(0.0);
    quiet.then_some(last)
}

// ---------------------------------------------------------------------------------------------
// Beep
// ---------------------------------------------------------------------------------------------

/// FFT size for the beep scan: 512 samples = 32 ms, 31.25 Hz bins. Fine enough that DTMF's two
/// tones (≥ 268 Hz apart) and a 100 Hz voice's harmonics fall in separate peaks, short enough
/// for three frames inside a 100 ms beep.
const BEEP_FFT: usize = 512;
/// Hop between FFT frames: 256 samples = 16 ms (50 % overlap, where Hann windows sum flat, so no
/// instant of the beep is under-weighted).
const BEEP_HOP: usize = 256;
/// Lowest beep frequency considered, in Hz: the bottom of the telephone band (300–3400 Hz,
/// ITU-T G.712), which also keeps mains hum and its low harmonics out.
const BEEP_MIN_HZ: f64 = 300.0;
/// Highest beep frequency considered, in Hz: the top of the telephone band.
const BEEP_MAX_HZ: f64 = 3400.0;
/// Half-width of the peak's neighbourhood, in bins: a Hann window's main lobe is ±2 bins wide.
const BEEP_PEAK_HALF_WIDTH: usize = 2;
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

/// Finds a pure tone that starts within the first `search_s` seconds ([`DEFAULT_BEEP_SEARCH_S`])
/// and lasts 0.1–1.5 s: the beep Graph plays before the caller speaks.
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
    let mut analyser = Spectrum::new();
    // Frames are analysed in pairs; this holds the second frame's result.
    let mut pending: Option<Option<f64>> = None;

    // The open run of tonal frames at one frequency: (frame start, frequency).
    let mut run: Vec<(usize, f64)> = Vec::new();
    // A tone that starts just before `search_s` may fill its first frame only later: allow new
    // runs to open up to one frame past it; `judge_run` checks the refined start.
    let last_run_start = search_end + BEEP_FFT;
    let mut start = 0;
    while start + BEEP_FFT <= scan.len() {
        let tonal = match pending.take() {
            Some(tonal) => tonal,
            None => {
                let next = scan.get(start + BEEP_HOP..start + BEEP_HOP + BEEP_FFT);
                let (this, following) = analyser.tonal_pair(&scan[start..start + BEEP_FFT], next);
                pending = next.map(|_| following);
                this
            }
        };
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

/// The single-tone test on [`BEEP_FFT`]-sample frames, two frames per complex FFT.
struct Spectrum {
    fft: Fft,
    hann: Vec<f32>,
    /// Σ w², to turn windowed energy back into mean-square power.
    hann_energy: f64,
    /// FFT buffers, reused across frames.
    re: Vec<f32>,
    im: Vec<f32>,
    /// One-sided power spectra of the two frames, reused across frames.
    power: [Vec<f64>; 2],
}

impl Spectrum {
    fn new() -> Self {
        // Periodic Hann, the form whose 50 %-overlapped copies sum to a constant.
        let hann: Vec<f32> = (0..BEEP_FFT)
            .map(|i| (0.5 - 0.5 * (TAU * i as f64 / BEEP_FFT as f64).cos()) as f32)
            .collect();
        let hann_energy = hann.iter().map(|&w| f64::from(w) * f64::from(w)).sum();
        Self {
            fft: Fft::new(BEEP_FFT),
            hann,
            hann_energy,
            re: vec![0.0; BEEP_FFT],
            im: vec![0.0; BEEP_FFT],
            power: [vec![0.0; BEEP_FFT / 2 + 1], vec![0.0; BEEP_FFT / 2 + 1]],
        }
    }

    /// Tone frequencies in Hz of frame `a` and, if given, frame `b` (each `None` unless one
    /// peak holds [`BEEP_MIN_CONCENTRATION`] of the frame's energy at ≥ [`BEEP_MIN_DBFS`]).
    ///
    /// Both real frames go through one complex FFT, as the real and imaginary parts, and are
    /// separated afterwards by the transform's conjugate symmetry.
    fn tonal_pair(&mut self, a: &[f32], b: Option<&[f32]>) -> (Option<f64>, Option<f64>) {
        let floor = mean_square_at(BEEP_MIN_DBFS);
        let level_a = window_into(a, &self.hann, &mut self.re) / self.hann_energy;
        let level_b = match b {
            Some(b) => window_into(b, &self.hann, &mut self.im) / self.hann_energy,
            None => {
                self.im.fill(0.0);
                0.0
            }
        };
        // Cheap exit for silence and quiet noise, which is most of what precedes a beep.
        let audible = |level: f64| level >= floor;
        if !audible(level_a) && !audible(level_b) {
            return (None, None);
        }
        self.fft.transform(&mut self.re, &mut self.im);
        let n = BEEP_FFT;
        let [pa, pb] = &mut self.power;
        for k in 0..=n / 2 {
            // A_k = (Z_k + conj Z_{n-k}) / 2 and B_k = (Z_k - conj Z_{n-k}) / 2j.
            let j = (n - k) % n;
            let (zr, zi) = (f64::from(self.re[k]), f64::from(self.im[k]));
            let (cr, ci) = (f64::from(self.re[j]), -f64::from(self.im[j]));
            pa[k] = ((zr + cr).powi(2) + (zi + ci).powi(2)) / 4.0;
            pb[k] = ((zr - cr).powi(2) + (zi - ci).powi(2)) / 4.0;
        }
        let tone_a = if audible(level_a) {
            single_tone(pa, level_a)
        } else {
            None
        };
        let tone_b = if audible(level_b) {
            single_tone(pb, level_b)
        } else {
            None
        };
        (tone_a, tone_b)
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

/// The single-tone test on a one-sided Hann power spectrum of a frame with mean-square power
/// `level`: returns the tone's frequency in Hz.
fn single_tone(power: &[f64], level: f64) -> Option<f64> {
    let half = power.len() - 1;
    // One-sided total: DC and Nyquist appear once in the two-sided spectrum, the rest twice.
    let total: f64 = power[1..half].iter().sum::<f64>() + (power[0] + power[half]) / 2.0;
    let bin_hz = FS / (2 * half) as f64;
    let lo = (BEEP_MIN_HZ / bin_hz).ceil() as usize;
    let hi = (BEEP_MAX_HZ / bin_hz).floor() as usize;
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

/// An iterative radix-2 complex FFT of one fixed power-of-two size.
struct Fft {
    /// `e^{-2πik/n}` for `k < n/2`, as (cos, sin) pairs.
    twiddle: Vec<(f32, f32)>,
    /// Bit-reversed index of each position.
    reversed: Vec<usize>,
}

impl Fft {
    /// Plans a transform of `n` points; `n` must be a power of two.
    fn new(n: usize) -> Self {
        let bits = n.trailing_zeros();
        let twiddle = (0..n / 2)
            .map(|k| {
                let a = -TAU * k as f64 / n as f64;
                (a.cos() as f32, a.sin() as f32)
            })
            .collect();
        let reversed = (0..n)
            .map(|i| i.reverse_bits() >> (usize::BITS - bits))
            .collect();
        Self { twiddle, reversed }
    }

    /// In-place forward transform of `re + j·im` (both of the planned length).
    fn transform(&self, re: &mut [f32], im: &mut [f32]) {
        let n = self.reversed.len();
        if re.len() != n || im.len() != n {
            return;
        }
        for (i, &j) in self.reversed.iter().enumerate() {
            if i < j {
                re.swap(i, j);
                im.swap(i, j);
            }
        }
        let mut len = 2;
        while len <= n {
            let half = len / 2;
            let stride = n / len;
            for base in (0..n).step_by(len) {
                for k in 0..half {
                    let (wr, wi) = self.twiddle[k * stride];
                    let (a, b) = (base + k, base + k + half);
                    let tr = re[b] * wr - im[b] * wi;
                    let ti = re[b] * wi + im[b] * wr;
                    re[b] = re[a] - tr;
                    im[b] = im[a] - ti;
                    re[a] += tr;
                    im[a] += ti;
                }
            }
            len *= 2;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // ---- signal generators ------------------------------------------------------------------

    /// A tiny 64-bit LCG (Knuth's MMIX constants): deterministic noise without dependencies.
    struct Lcg(u64);

    impl Lcg {
        /// Uniform in [0, 1).
        fn uniform(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }

        /// Approximately standard normal (Irwin–Hall sum of 12 uniforms).
        fn gauss(&mut self) -> f64 {
            (0..12).map(|_| self.uniform()).sum::<f64>() - 6.0
        }
    }

    /// Sample count for `s` seconds at 16 kHz.
    fn n(s: f64) -> usize {
        (s * FS).round() as usize
    }

    /// Sine amplitude for a level in dBFS (AES17).
    fn amp(dbfs: f64) -> f64 {
        10f64.powf(dbfs / 20.0)
    }

    fn silence(s: f64) -> Vec<f32> {
        vec![0.0; n(s)]
    }

    /// Sum of sines `(freq_hz, dbfs)` lasting `s` seconds at rate `fs`.
    fn sines_at(fs: f64, parts: &[(f64, f64)], s: f64) -> Vec<f32> {
        let len = (s * fs).round() as usize;
        (0..len)
            .map(|i| {
                let t = i as f64 / fs;
                parts
                    .iter()
                    .map(|&(f, db)| amp(db) * (TAU * f * t).sin())
                    .sum::<f64>() as f32
            })
            .collect()
    }

    fn sines(parts: &[(f64, f64)], s: f64) -> Vec<f32> {
        sines_at(FS, parts, s)
    }

    /// The (row, column) frequencies of a key.
    fn key_freqs(key: char) -> (f64, f64) {
        for (r, row) in KEYPAD.iter().enumerate() {
            for (c, &k) in row.iter().enumerate() {
                if k == key {
                    return (ROW_HZ[r], COL_HZ[c]);
                }
            }
        }
        panic!("no such key {key}");
    }

    /// A DTMF press with each tone at `row_db` / `col_db` dBFS.
    fn dtmf_at(fs: f64, key: char, row_db: f64, col_db: f64, s: f64) -> Vec<f32> {
        let (r, c) = key_freqs(key);
        sines_at(fs, &[(r, row_db), (c, col_db)], s)
    }

    fn dtmf(key: char, s: f64) -> Vec<f32> {
        dtmf_at(FS, key, -10.0, -10.0, s)
    }

    /// White Gaussian noise at `dbfs` (AES17: mean square 10^(L/10)/2).
    fn noise(dbfs: f64, s: f64, seed: u64) -> Vec<f32> {
        let mut rng = Lcg(seed);
        let sigma = mean_square_at(dbfs).sqrt();
        (0..n(s)).map(|_| (sigma * rng.gauss()) as f32).collect()
    }

    /// Adds `b` into `a` (up to the shorter length).
    fn mix(mut a: Vec<f32>, b: &[f32]) -> Vec<f32> {
        for (x, y) in a.iter_mut().zip(b) {
            *x += y;
        }
        a
    }

    fn concat(parts: &[Vec<f32>]) -> Vec<f32> {
        parts.concat()
    }

    /// Harmonic series on `f0` (with a linear glide to `f0_end`) shaped by formant resonances
    /// `(centre, bandwidth)` and a -6 dB/octave tilt, normalised to `dbfs`.
    fn voiced(
        f0: f64,
        f0_end: f64,
        formants: &[(f64, f64)],
        dbfs: f64,
        s: f64,
        seed: u64,
    ) -> Vec<f32> {
        let mut rng = Lcg(seed);
        let len = n(s);
        let harmonics = (3800.0 / f0.max(f0_end)) as usize;
        let phases: Vec<f64> = (0..harmonics).map(|_| rng.uniform() * TAU).collect();
        let weight = |f: f64| {
            let resonance: f64 = formants
                .iter()
                .map(|&(fc, bw)| 1.0 / (1.0 + ((f - fc) / (bw / 2.0)).powi(2)).sqrt())
                .sum();
            resonance * 120.0 / f
        };
        let mut phase0 = 0.0;
        let mut out = Vec::with_capacity(len);
        for i in 0..len {
            let f = f0 + (f0_end - f0) * i as f64 / len.max(1) as f64;
            phase0 += TAU * f / FS;
            let x: f64 = (1..=harmonics)
                .map(|h| weight(h as f64 * f) * (h as f64 * phase0 + phases[h - 1]).sin())
                .sum();
            out.push(x as f32);
        }
        let ms = out
            .iter()
            .map(|&x| f64::from(x) * f64::from(x))
            .sum::<f64>()
            / len.max(1) as f64;
        let gain = (mean_square_at(dbfs) / ms.max(1e-20)).sqrt();
        out.iter().map(|&x| (f64::from(x) * gain) as f32).collect()
    }

    /// A steady /a/-like vowel: f0 = 120 Hz, formants 700, 1220, 2600 Hz. Its 6th and 10th
    /// harmonics (720, 1200 Hz) sit next to DTMF's 697 and 1209 Hz.
    fn vowel(s: f64) -> Vec<f32> {
        voiced(
            120.0,
            120.0,
            &[(700.0, 110.0), (1220.0, 120.0), (2600.0, 160.0)],
            -20.0,
            s,
            7,
        )
    }

    /// Speech-like audio: syllables of gliding voiced sound with varying formants, separated by
    /// short noise bursts (fricatives) and pauses.
    fn speechlike(s: f64, seed: u64) -> Vec<f32> {
        const VOWELS: [[(f64, f64); 3]; 5] = [
            [(700.0, 110.0), (1220.0, 120.0), (2600.0, 160.0)],
            [(300.0, 60.0), (2300.0, 100.0), (3000.0, 150.0)],
            [(500.0, 80.0), (1000.0, 90.0), (2400.0, 150.0)],
            [(400.0, 70.0), (2000.0, 100.0), (2600.0, 150.0)],
            [(350.0, 60.0), (800.0, 80.0), (2300.0, 150.0)],
        ];
        let mut rng = Lcg(seed);
        let mut out = Vec::new();
        let mut i = 0;
        while out.len() < n(s) {
            let f0 = 95.0 + 120.0 * rng.uniform();
            let glide = f0 * (0.85 + 0.3 * rng.uniform());
            let dur = 0.12 + 0.15 * rng.uniform();
            out.extend(voiced(
                f0,
                glide,
                &VOWELS[i % VOWELS.len()],
                -22.0,
                dur,
                seed + i as u64,
            ));
            out.extend(noise(
                -35.0,
                0.04 + 0.05 * rng.uniform(),
                seed * 31 + i as u64,
            ));
            if i % 3 == 2 {
                out.extend(noise(-60.0, 0.15, seed + 1000 + i as u64));
            }
            i += 1;
        }
        out.truncate(n(s));
        out
    }

    /// A linear chirp from `f_start` to `f_end` Hz at -15 dBFS.
    fn chirp(f_start: f64, f_end: f64, s: f64) -> Vec<f32> {
        let len = n(s);
        (0..len)
            .map(|i| {
                let t = i as f64 / FS;
                let k = (f_end - f_start) / s;
                (amp(-15.0) * (TAU * (f_start * t + k * t * t / 2.0)).sin()) as f32
            })
            .collect()
    }

    /// G.711 µ-law encode (the segment/mantissa algorithm of the recommendation, 14-bit).
    fn mulaw_encode(x: f32) -> u8 {
        const BIAS: i32 = 0x84;
        const CLIP: i32 = 32_635;
        let mut v = (f64::from(x).clamp(-1.0, 1.0) * 32_767.0) as i32;
        let sign = if v < 0 {
            v = -v;
            0x80
        } else {
            0
        };
        v = v.min(CLIP) + BIAS;
        let exponent = (7 - (v << 17).leading_zeros().min(7)) as i32;
        let mantissa = (v >> (exponent + 3)) & 0x0F;
        !(sign | (exponent << 4) as u8 | mantissa as u8)
    }

    /// G.711 µ-law decode.
    fn mulaw_decode(code: u8) -> f32 {
        let u = !code;
        let exponent = i32::from((u >> 4) & 0x07);
        let mantissa = i32::from(u & 0x0F);
        let magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
        let v = if u & 0x80 != 0 { -magnitude } else { magnitude };
        v as f32 / 32_768.0
    }

    fn mulaw(x: &[f32]) -> Vec<f32> {
        x.iter().map(|&s| mulaw_decode(mulaw_encode(s))).collect()
    }

    /// 8 kHz → 16 kHz: zero-stuffing and a 127-tap Blackman-windowed sinc low-pass at 3.8 kHz,
    /// like a resampler would do to a telephony recording.
    fn upsample_8k(x: &[f32]) -> Vec<f32> {
        const TAPS: usize = 127;
        let cutoff = 3800.0 / FS;
        let mid = (TAPS / 2) as f64;
        let h: Vec<f64> = (0..TAPS)
            .map(|i| {
                let t = i as f64 - mid;
                let sinc = if t == 0.0 {
                    2.0 * cutoff
                } else {
                    (TAU * cutoff * t).sin() / (std::f64::consts::PI * t)
                };
                let w = 0.42 - 0.5 * (TAU * i as f64 / (TAPS - 1) as f64).cos()
                    + 0.08 * (2.0 * TAU * i as f64 / (TAPS - 1) as f64).cos();
                2.0 * sinc * w
            })
            .collect();
        let stuffed: Vec<f64> = x.iter().flat_map(|&s| [f64::from(s), 0.0]).collect();
        (0..stuffed.len())
            .map(|i| {
                let mut acc = 0.0;
                for (j, &hj) in h.iter().enumerate() {
                    // Centre the filter so the output stays time-aligned with the input.
                    let k = i as isize + j as isize - mid as isize;
                    if k >= 0 && (k as usize) < stuffed.len() {
                        acc += hj * stuffed[k as usize];
                    }
                }
                acc as f32
            })
            .collect()
    }

    fn one_press(presses: &[DtmfTone]) -> DtmfTone {
        assert_eq!(
            presses.len(),
            1,
            "expected exactly one press, got {presses:?}"
        );
        presses[0]
    }

    // ---- DTMF -------------------------------------------------------------------------------

    #[test]
    fn every_key_is_detected_with_its_edges() {
        for key in "0123456789*#ABCD".chars() {
            let x = concat(&[silence(0.3), dtmf(key, 0.1), silence(0.2)]);
            let p = one_press(&find_dtmf(&x));
            assert_eq!(p.key, key);
            assert!(
                (p.start_s - 0.3).abs() <= 0.02,
                "{key}: start {}",
                p.start_s
            );
            assert!((p.end_s - 0.4).abs() <= 0.02, "{key}: end {}", p.end_s);
        }
    }

    #[test]
    fn press_duration_limits() {
        for (dur, expected) in [(0.020, false), (0.025, false), (0.040, true), (0.060, true)] {
            let x = concat(&[silence(0.2), dtmf('5', dur), silence(0.2)]);
            let found = find_dtmf(&x);
            assert_eq!(!found.is_empty(), expected, "{dur} s: {found:?}");
            if expected {
                let p = one_press(&found);
                assert!((p.start_s - 0.2).abs() <= 0.02 && (p.end_s - 0.2 - dur).abs() <= 0.02);
            }
        }
    }

    #[test]
    fn weak_tones_in_noise_are_detected() {
        for key in "147*2580369#".chars() {
            let x = concat(&[
                silence(0.2),
                dtmf_at(FS, key, -25.0, -25.0, 0.08),
                silence(0.2),
            ]);
            let x = mix(x, &noise(-45.0, 0.48, 3));
            let p = one_press(&find_dtmf(&x));
            assert_eq!(p.key, key);
            assert!((p.start_s - 0.2).abs() <= 0.02);
        }
        // AT&T's worst case: signal-to-noise 15 dB (per tone −25 dBFS, noise −37 dBFS in total).
        let x = concat(&[
            silence(0.2),
            dtmf_at(FS, '9', -25.0, -25.0, 0.08),
            silence(0.2),
        ]);
        assert_eq!(
            one_press(&find_dtmf(&mix(x, &noise(-37.0, 0.48, 4)))).key,
            '9'
        );
    }

    #[test]
    fn tones_below_the_level_floor_are_ignored() {
        let x = concat(&[
            silence(0.2),
            dtmf_at(FS, '1', -45.0, -45.0, 0.1),
            silence(0.2),
        ]);
        assert!(find_dtmf(&x).is_empty());
    }

    #[test]
    fn twist_within_8_db_is_accepted_and_10_db_rejected() {
        for (row_db, col_db, ok) in [
            (-10.0, -17.0, true),
            (-17.0, -10.0, true),
            (-10.0, -20.0, false),
            (-20.0, -10.0, false),
        ] {
            let x = concat(&[
                silence(0.2),
                dtmf_at(FS, '0', row_db, col_db, 0.1),
                silence(0.2),
            ]);
            assert_eq!(
                !find_dtmf(&x).is_empty(),
                ok,
                "row {row_db} dB, col {col_db} dB"
            );
        }
    }

    #[test]
    fn frequency_errors_of_1_5_percent_are_accepted() {
        for key in "1593D".chars() {
            let (r, c) = key_freqs(key);
            for err in [-0.015, 0.015] {
                let tone = sines(&[(r * (1.0 + err), -10.0), (c * (1.0 + err), -10.0)], 0.1);
                let x = concat(&[silence(0.2), tone, silence(0.2)]);
                assert_eq!(one_press(&find_dtmf(&x)).key, key, "{key} at {err}");
            }
        }
    }

    #[test]
    fn a_key_sequence_is_split_into_presses() {
        let mut parts = vec![silence(0.1)];
        for key in "1233#".chars() {
            parts.push(dtmf(key, 0.07));
            parts.push(silence(0.05));
        }
        let found = find_dtmf(&concat(&parts));
        let keys: String = found.iter().map(|p| p.key).collect();
        assert_eq!(keys, "1233#");
        for (i, p) in found.iter().enumerate() {
            let start = 0.1 + i as f64 * 0.12;
            assert!((p.start_s - start).abs() <= 0.02, "{p:?} vs {start}");
        }
    }

    #[test]
    fn no_dtmf_in_vowel_noise_chirp_or_speechlike_audio() {
        assert!(find_dtmf(&vowel(1.0)).is_empty());
        assert!(find_dtmf(&noise(-20.0, 1.0, 9)).is_empty());
        assert!(find_dtmf(&chirp(300.0, 3400.0, 2.0)).is_empty());
        assert!(find_dtmf(&chirp(600.0, 1700.0, 0.5)).is_empty());
        assert!(find_dtmf(&speechlike(10.0, 5)).is_empty());
        // A sweep of voice pitches across the DTMF rows with /a/ formants.
        for f0 in (90..=260).step_by(7) {
            let f0 = f64::from(f0);
            let v = voiced(
                f0,
                f0,
                &[(700.0, 110.0), (1220.0, 120.0), (2600.0, 160.0)],
                -15.0,
                0.3,
                1,
            );
            assert!(find_dtmf(&v).is_empty(), "f0 {f0}");
        }
    }

    #[test]
    fn dtmf_survives_mulaw_and_8_khz_band_limiting() {
        for key in "0123456789*#ABCD".chars() {
            let x8 = [
                vec![0.0; 1600],
                dtmf_at(8000.0, key, -12.0, -12.0, 0.08),
                vec![0.0; 1600],
            ]
            .concat();
            let x = upsample_8k(&mulaw(&x8));
            let p = one_press(&find_dtmf(&x));
            assert_eq!(p.key, key);
            assert!((p.start_s - 0.2).abs() <= 0.02, "{p:?}");
            // µ-law at 16 kHz too, with weak tones, where quantisation noise is relatively larger.
            let y = concat(&[
                silence(0.2),
                dtmf_at(FS, key, -30.0, -30.0, 0.08),
                silence(0.2),
            ]);
            assert_eq!(one_press(&find_dtmf(&mulaw(&y))).key, key);
        }
    }

    // ---- Stop tone --------------------------------------------------------------------------

    #[test]
    fn stop_tone_after_speech_is_found() {
        let x = concat(&[
            speechlike(3.0, 11),
            silence(0.3),
            dtmf('#', 0.15),
            silence(1.0),
        ]);
        let t = find_stop_tone(&x, DEFAULT_STOP_TAIL_S).expect("stop tone");
        assert_eq!(t.key, '#');
        assert!(
            (t.start_s - 3.3).abs() <= 0.02 && (t.end_s - 3.45).abs() <= 0.02,
            "{t:?}"
        );

        // Right after speech, with background noise and a key-release click after it.
        let mut click = silence(0.3);
        click.extend(noise(-20.0, 0.01, 5));
        click.extend(silence(0.5));
        let y = concat(&[speechlike(2.0, 12), dtmf('*', 0.1), click]);
        let y = mix(y, &noise(-55.0, 3.0, 6));
        assert_eq!(
            find_stop_tone(&y, DEFAULT_STOP_TAIL_S).map(|t| t.key),
            Some('*')
        );
    }

    #[test]
    fn a_press_followed_by_speech_is_not_the_stop_tone() {
        let x = concat(&[
            speechlike(1.5, 13),
            dtmf('#', 0.15),
            silence(0.3),
            speechlike(1.5, 14),
        ]);
        assert_eq!(find_dtmf(&x).len(), 1);
        assert_eq!(find_stop_tone(&x, DEFAULT_STOP_TAIL_S), None);
        // Short speech after the press (0.5 s) is still speech.
        let y = concat(&[
            dtmf('#', 0.15),
            silence(0.3),
            speechlike(0.5, 15),
            silence(1.0),
        ]);
        assert_eq!(find_stop_tone(&y, DEFAULT_STOP_TAIL_S), None);
    }

    #[test]
    fn trailing_noise_must_end_within_tail_s() {
        // A 50 ms click 1.5 s after the press.
        let x = concat(&[
            speechlike(1.0, 17),
            dtmf('#', 0.1),
            silence(1.5),
            noise(-20.0, 0.05, 18),
            silence(0.3),
        ]);
        assert_eq!(find_stop_tone(&x, 2.0).map(|t| t.key), Some('#'));
        assert_eq!(find_stop_tone(&x, 1.0), None);
    }

    #[test]
    fn the_stop_tone_is_the_last_press() {
        let x = concat(&[
            dtmf('1', 0.1),
            silence(0.1),
            speechlike(1.0, 16),
            dtmf('9', 0.1),
            silence(0.5),
        ]);
        let presses = find_dtmf(&x);
        assert_eq!(presses.iter().map(|p| p.key).collect::<String>(), "19");
        assert_eq!(
            stop_tone_among(&x, &presses, DEFAULT_STOP_TAIL_S).map(|t| t.key),
            Some('9')
        );
    }

    #[test]
    fn the_tail_search_answers_like_a_whole_scan() {
        // Long recordings, so the search really starts late, and a press long enough to reach
        // back past the start of the searched region (the fallback).
        let cases: Vec<(&str, Vec<f32>, Option<char>)> = vec![
            (
                "short press after long speech",
                concat(&[speechlike(20.0, 31), dtmf('#', 0.12), silence(2.0)]),
                Some('#'),
            ),
            (
                "3 s press after long speech",
                concat(&[speechlike(20.0, 32), dtmf('*', 3.0), silence(0.5)]),
                Some('*'),
            ),
            (
                "press, then long silence",
                concat(&[speechlike(10.0, 33), dtmf('5', 0.1), silence(20.0)]),
                Some('5'),
            ),
            (
                "press mid-speech only",
                concat(&[speechlike(10.0, 34), dtmf('1', 0.1), speechlike(10.0, 35)]),
                None,
            ),
            (
                "two presses, speech between",
                concat(&[
                    speechlike(8.0, 36),
                    dtmf('2', 0.1),
                    speechlike(8.0, 37),
                    dtmf('#', 0.1),
                    silence(1.0),
                ]),
                Some('#'),
            ),
        ];
        for (name, x, key) in cases {
            let whole = stop_tone_among(&x, &find_dtmf(&x), DEFAULT_STOP_TAIL_S);
            let tail = find_stop_tone(&x, DEFAULT_STOP_TAIL_S);
            assert_eq!(whole.map(|t| t.key), key, "{name}: whole scan {whole:?}");
            assert_eq!(tail, whole, "{name}");
        }
    }

    #[test]
    fn the_tail_search_starts_late_in_long_recordings() {
        let x = concat(&[speechlike(20.0, 38), silence(2.0)]);
        let power = block_powers(&x);
        let start_s = (stop_scan_start(&power, noise_floor(&power)) * DTMF_HOP) as f64 / FS;
        assert!((18.0..20.0).contains(&start_s), "{start_s}");
    }

    // ---- Beep -------------------------------------------------------------------------------

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
            let x = upsample_8k(&mulaw(&x8));
            let b = find_leading_beep(&x, 3.0).expect("beep");
            assert!(
                (b.freq_hz - freq).abs() <= 5.0 && (b.start_s - 0.3).abs() <= 0.02,
                "{b:?}"
            );
        }
    }

    // ---- Edge cases -------------------------------------------------------------------------

    #[test]
    fn empty_short_and_odd_input_find_nothing() {
        for len in [0, 1, 79, 80, 399, 400, 511, 512, 513] {
            let x: Vec<f32> = (0..len).map(|i| (i as f32 * 0.3).sin() * 0.5).collect();
            assert!(find_dtmf(&x).is_empty(), "{len}");
            assert_eq!(find_leading_beep(&x, 3.0), None, "{len}");
            assert_eq!(find_stop_tone(&x, 2.0), None, "{len}");
        }
        let weird = [f32::NAN, f32::INFINITY, -1.0, 1.0].repeat(4000);
        assert!(find_dtmf(&weird).is_empty());
        assert_eq!(find_leading_beep(&weird, 3.0), None);
        let fake = DtmfTone {
            key: '#',
            start_s: 0.0,
            end_s: 0.1,
        };
        assert_eq!(stop_tone_among(&[], &[fake], 2.0), Some(fake));
        assert_eq!(stop_tone_among(&[], &[], 2.0), None);
    }

    // ---- Fixture recordings -----------------------------------------------------------------

    /// G.711 A-law decode (the segment algorithm of the recommendation).
    fn alaw_decode(code: u8) -> f32 {
        let a = code ^ 0x55;
        let mut t = i32::from(a & 0x0F) << 4;
        let segment = i32::from((a & 0x70) >> 4);
        match segment {
            0 => t += 8,
            1 => t += 0x108,
            _ => t = (t + 0x108) << (segment - 1),
        }
        let v = if a & 0x80 != 0 { t } else { -t };
        v as f32 / 32_768.0
    }

    /// A mono WAV's samples in [-1, 1] and its rate. Handles the fixture formats this module's
    /// tests need (PCM u8 / s16, G.711 A-law / µ-law), not WAV in general: the product decodes
    /// with symphonia.
    fn read_wav(path: &std::path::Path) -> Option<(Vec<f32>, u32)> {
        let bytes = std::fs::read(path).ok()?;
        if bytes.get(0..4)? != b"RIFF" || bytes.get(8..12)? != b"WAVE" {
            return None;
        }
        let u16_at = |i: usize| Some(u16::from_le_bytes([*bytes.get(i)?, *bytes.get(i + 1)?]));
        let u32_at = |i: usize| Some(u32::from_le_bytes(bytes.get(i..i + 4)?.try_into().ok()?));
        let mut pos = 12;
        let mut format = None;
        while pos + 8 <= bytes.len() {
            let size = u32_at(pos + 4)? as usize;
            let body = pos + 8;
            let end = body.saturating_add(size).min(bytes.len());
            match bytes.get(pos..pos + 4)? {
                b"fmt " => {
                    format = Some((
                        u16_at(body)?,
                        u16_at(body + 2)?,
                        u32_at(body + 4)?,
                        u16_at(body + 14)?,
                    ))
                }
                b"data" => {
                    let (tag, channels, rate, bits) = format?;
                    if channels != 1 {
                        return None;
                    }
                    let data = &bytes[body..end];
                    let samples = match (tag, bits) {
                        (1, 16) => data
                            .chunks_exact(2)
                            .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32_768.0)
                            .collect(),
                        (1, 8) => data
                            .iter()
                            .map(|&b| (f32::from(b) - 128.0) / 128.0)
                            .collect(),
                        (6, 8) => data.iter().map(|&b| alaw_decode(b)).collect(),
                        (7, 8) => data.iter().map(|&b| mulaw_decode(b)).collect(),
                        _ => return None,
                    };
                    return Some((samples, rate));
                }
                _ => {}
            }
            pos = body.saturating_add(size + (size & 1));
        }
        None
    }

    /// Every 8 or 16 kHz mono WAV fixture in `samples/` (PCM, A-law, µ-law; 8 kHz ones are
    /// upsampled like the resampler would) against `samples/manifest.json`: speech-only files
    /// have no beep and no press; the beep and DTMF files have exactly the ones listed, within
    /// 20 ms and 5 Hz.
    #[test]
    fn sample_recordings_match_their_manifest() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
        let Ok(text) = std::fs::read_to_string(dir.join("manifest.json")) else {
            eprintln!("no samples/manifest.json: fixture check skipped");
            return;
        };
        let manifest: serde_json::Value = serde_json::from_str(&text).expect("manifest is JSON");
        let files = manifest["files"].as_array().expect("manifest lists files");
        let close = |found: f64, listed: &serde_json::Value, tol: f64| {
            listed.as_f64().is_some_and(|v| (found - v).abs() <= tol)
        };
        let mut checked = Vec::new();
        for file in files {
            let name = file["name"].as_str().expect("file name");
            // Subfolders hold hostile and unsupported files, for the decoder's tests.
            if name.contains('/') || !name.ends_with(".wav") {
                continue;
            }
            let Some((samples, rate)) = read_wav(&dir.join(name)) else {
                continue;
            };
            let x = match rate {
                16_000 => samples,
                8_000 => upsample_8k(&samples),
                _ => continue,
            };

            let beep = find_leading_beep(&x, DEFAULT_BEEP_SEARCH_S);
            match file["beep"].as_object() {
                None => assert_eq!(beep, None, "{name}: no beep expected"),
                Some(listed) => {
                    let b = beep.unwrap_or_else(|| panic!("{name}: beep {listed:?} not found"));
                    assert!(
                        close(b.start_s, &listed["start_s"], 0.02)
                            && close(b.end_s, &listed["end_s"], 0.02)
                            && close(b.freq_hz, &listed["freq_hz"], 5.0),
                        "{name}: found {b:?}, listed {listed:?}"
                    );
                }
            }

            let presses = find_dtmf(&x);
            let stop = find_stop_tone(&x, DEFAULT_STOP_TAIL_S);
            match file["stop_tone"].as_object() {
                None => {
                    assert!(presses.is_empty(), "{name}: unexpected presses {presses:?}");
                    assert_eq!(stop, None, "{name}");
                }
                Some(listed) => {
                    let p = one_press(&presses);
                    let key = listed["key"].as_str().and_then(|k| k.chars().next());
                    assert!(
                        Some(p.key) == key
                            && close(p.start_s, &listed["start_s"], 0.02)
                            && close(p.end_s, &listed["end_s"], 0.02),
                        "{name}: found {p:?}, listed {listed:?}"
                    );
                    assert_eq!(stop, Some(p), "{name}: the press is the stop tone");
                }
            }
            checked.push(name);
        }
        eprintln!("fixtures checked: {checked:?}");
        assert!(checked.len() >= 3, "too few fixtures readable: {checked:?}");
    }
}
