//! DTMF key presses: 8 Goertzel filters over 25 ms windows in 5 ms hops, each window checked
//! like a telephone receiver checks a digit (ITU-T Q.23 frequencies, Q.24 limits).

use std::f64::consts::TAU;

use super::{mean_square_at, median, power_ratio, DtmfTone, FS};

/// Low-group (row) frequencies in Hz, ITU-T Q.23.
pub(super) const ROW_HZ: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
/// High-group (column) frequencies in Hz, ITU-T Q.23.
pub(super) const COL_HZ: [f64; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
/// The keypad, indexed `[row][column]`, ITU-T Q.23.
pub(super) const KEYPAD: [[char; 4]; 4] = [
    ['1', '2', '3', 'A'],
    ['4', '5', '6', 'B'],
    ['7', '8', '9', 'C'],
    ['*', '0', '#', 'D'],
];

/// Goertzel block length and hop between analysis windows: 80 samples = 5 ms. Each sample
/// passes through the filters once per block; windows are sums of block results, so the 5×
/// window overlap costs nothing in the per-sample loop. 5 ms hops put press edges within
/// ±2.5 ms.
pub(super) const DTMF_HOP: usize = 80;
/// Blocks per analysis window: 5 × 80 = 400 samples = 25 ms. A rectangular window of 25 ms has
/// 40 Hz from peak to first null, so the nearest neighbour tone (697 → 770 Hz, 73 Hz away)
/// lands 1.8 bins off, at -21 dB, and speech harmonics (≥ 80 Hz apart) mostly fall in separate
/// bins; it still leaves several whole windows inside a 40 ms press (the AT&T minimum tone
/// duration). Its narrow response would cost a tone 1.5 % off nominal up to 6.7 dB; see
/// [`Checks::drift_compensated`] for how that is undone.
const DTMF_WINDOW_HOPS: usize = 5;
/// Analysis window length in samples (25 ms).
pub(super) const DTMF_WINDOW: usize = DTMF_HOP * DTMF_WINDOW_HOPS;
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
pub(super) fn block_sums(block: &[f32]) -> (f64, f64) {
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
pub(super) fn dtmf_from(samples: &[f32], from: usize) -> Vec<DtmfTone> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tones::test_signals::*;
    use crate::tones::SAMPLE_RATE;

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
            let x = through_mulaw(&x8, 8000);
            let p = one_press(&find_dtmf(&x));
            assert_eq!(p.key, key);
            assert!((p.start_s - 0.2).abs() <= 0.02, "{p:?}");
            // µ-law at 16 kHz too, with weak tones, where quantisation noise is relatively larger.
            let y = concat(&[
                silence(0.2),
                dtmf_at(FS, key, -30.0, -30.0, 0.08),
                silence(0.2),
            ]);
            assert_eq!(
                one_press(&find_dtmf(&through_mulaw(&y, SAMPLE_RATE))).key,
                key
            );
        }
    }
}
