//! earshot 1.2.2's voice-activity network, evaluated with its own weights
//! (`earshot-weights.bin`, copied from the crate; see `WEIGHTS.md`).
//!
//! Why not call `earshot::DefaultPredictor`: its two float convolution layers sum each output
//! channel in one scalar chain (`ic += dw[c] * w[oc][c]` for c in 0..16), so they run at the
//! latency of an add, not its throughput, and its minGRU layers end every one of their 128
//! dot products with a horizontal sum, which made the network a large share of the VAD's time
//! (measured: BENCHMARKS.md, "How the VAD was made faster"). Here the same sums are computed
//! with the loops interchanged (an input channel at a time, added to all 16 output channels or
//! 128 pre-activations at once), which the compiler vectorises. The order of every float
//! addition is unchanged and the integer sums wrap, as earshot's do in release builds, so the
//! results are bit-identical; a unit test checks this against `earshot::DefaultPredictor` on
//! recorded speech.

use std::sync::LazyLock;

/// Input features per frame (log-mel bands).
pub const N_FEATURES: usize = 40;
/// Frames of features the network sees: the current one and the two before it.
pub const CONTEXT_FRAMES: usize = 3;

const CHANNELS: usize = 16;
/// Layer 1: a 3×3 depthwise convolution over (3 frames × 40 bands) → 38 values, 16 pointwise
/// channels, max-pool 3 stride 2 → 18.
const L1_COLS: usize = N_FEATURES - 2;
const L1_POOLED: usize = (L1_COLS - 3) / 2 + 1;
/// Layers 2 and 3: depthwise 1×3 stride 2 (padding 1), then pointwise 16 → 16.
const L2_OUT: usize = 9;
const L3_OUT: usize = 5;
const RNN1_IN: usize = L3_OUT * CHANNELS;
const RNN_HIDDEN: usize = 64;

/// The weights of earshot's `weights.bin` (layout in `WEIGHTS.md`), some transposed so that the
/// loops below run over contiguous output channels.
struct Weights {
    norm: [f32; N_FEATURES],
    l1_kernel: [f32; 9],
    l1_weight: [f32; CHANNELS],
    l1_bias: [f32; CHANNELS],
    /// Depthwise taps, `[tap][channel]`.
    l2_kernel_t: [[f32; CHANNELS]; 3],
    /// Pointwise weights, `[input channel][output channel]`.
    l2_weight_t: [f32; CHANNELS * CHANNELS],
    l2_bias: [f32; CHANNELS],
    /// Laid out like `l2_kernel_t`.
    l3_kernel_t: [[f32; CHANNELS]; 3],
    /// Laid out like `l2_weight_t`.
    l3_weight_t: [f32; CHANNELS * CHANNELS],
    /// Q9, `[80 inputs][128 outputs]`.
    rnn1_t: [i16; 2 * RNN_HIDDEN * RNN1_IN],
    /// Q9, `[64 inputs][128 outputs]`.
    rnn2_t: [i16; 2 * RNN_HIDDEN * RNN_HIDDEN],
    /// Q9, 128.
    output: [i16; 2 * RNN_HIDDEN],
}

const WEIGHTS_BIN: &[u8] = include_bytes!("earshot-weights.bin");

/// The file's f32 part: this many values; its i16 part follows.
const F32_COUNT: usize = 705;

/// f32 number `i` of the file (little-endian).
fn f32_at(i: usize) -> f32 {
    let b = &WEIGHTS_BIN[i * 4..i * 4 + 4];
    f32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// Value `i` of the file's i16 part (little-endian).
fn i16_at(i: usize) -> i16 {
    let at = F32_COUNT * 4 + i * 2;
    i16::from_le_bytes([WEIGHTS_BIN[at], WEIGHTS_BIN[at + 1]])
}

/// The `N` values stored from `offset` on as `[N / cols][cols]` rows, returned transposed to
/// `[cols][N / cols]` (`cols = 1`: as stored).
fn load<T, const N: usize>(at: fn(usize) -> T, offset: usize, cols: usize) -> [T; N] {
    let rows = N / cols;
    std::array::from_fn(|i| at(offset + (i % rows) * cols + i / rows))
}

/// `[tap][channel]` values as three rows.
fn taps(flat: [f32; 3 * CHANNELS]) -> [[f32; CHANNELS]; 3] {
    std::array::from_fn(|kw| std::array::from_fn(|c| flat[kw * CHANNELS + c]))
}

static WEIGHTS: LazyLock<Box<Weights>> = LazyLock::new(|| {
    Box::new(Weights {
        norm: load(f32_at, 0, 1),
        l1_kernel: load(f32_at, 40, 1),
        l1_weight: load(f32_at, 49, 1),
        l1_bias: load(f32_at, 65, 1),
        l2_kernel_t: taps(load(f32_at, 81, 3)),
        l2_weight_t: load(f32_at, 129, CHANNELS),
        l2_bias: load(f32_at, 385, 1),
        l3_kernel_t: taps(load(f32_at, 401, 3)),
        l3_weight_t: load(f32_at, 449, CHANNELS),
        rnn1_t: load(i16_at, 0, RNN1_IN),
        rnn2_t: load(i16_at, 2 * RNN_HIDDEN * RNN1_IN, RNN_HIDDEN),
        output: load(i16_at, 2 * RNN_HIDDEN * (RNN1_IN + RNN_HIDDEN), 1),
    })
});

/// The network with its recurrent state (two minGRU layers of 64, Q15).
pub struct Network {
    state: [i16; 2 * RNN_HIDDEN],
    weights: &'static Weights,
}

impl Network {
    pub fn new() -> Self {
        Self {
            state: [0; 2 * RNN_HIDDEN],
            weights: &WEIGHTS,
        }
    }

    pub fn reset(&mut self) {
        self.state.fill(0);
    }

    /// Scales one frame's log-mel features to unit RMS and applies the learned per-band gain.
    #[inline(always)]
    pub fn normalize(&self, features: &mut [f32]) {
        let mean_square = features.iter().map(|x| x * x).sum::<f32>() / features.len() as f32;
        let inverse_rms = mean_square.sqrt().recip();
        for (v, gain) in features.iter_mut().zip(&self.weights.norm) {
            *v = gain * *v * inverse_rms;
        }
    }

    /// The speech probability for the last three frames' normalised features (oldest first),
    /// advancing the recurrent state.
    ///
    /// Inlined, so that it is compiled for the CPU features of its caller ([`super::Vad`]
    /// picks AVX2 at run time).
    #[inline(always)]
    pub fn predict(&mut self, features: &[f32; N_FEATURES * CONTEXT_FRAMES]) -> f32 {
        let w = self.weights;
        // Activations are column-major (`[column][channel]`) throughout, so every step is a
        // 16-channel vector operation.
        let l1 = layer1(w, features);
        let mut l2 = pointwise_layer::<L1_POOLED, L2_OUT>(&l1, &w.l2_kernel_t, &w.l2_weight_t);
        for column in &mut l2 {
            for (v, bias) in column.iter_mut().zip(&w.l2_bias) {
                *v = (*v + bias).max(0.0);
            }
        }
        let l3 = pointwise_layer::<L2_OUT, L3_OUT>(&l2, &w.l3_kernel_t, &w.l3_weight_t);
        // Transposed (time-major), no bias or ReLU, quantised to Q15.
        let mut rnn_in = [0i16; RNN1_IN];
        for (ox, row) in l3.iter().enumerate() {
            for (oc, &v) in row.iter().enumerate() {
                rnn_in[ox * CHANNELS + oc] = (v * 32768.0).round().clamp(-32768.0, 32767.0) as i16;
            }
        }
        let (h1, h2) = self.state.split_at_mut(RNN_HIDDEN);
        min_gru(&rnn_in, h1, &w.rnn1_t);
        min_gru(h1, h2, &w.rnn2_t);

        let out = self
            .state
            .iter()
            .zip(&w.output)
            .fold(0i32, |acc, (&s, &k)| {
                acc.wrapping_add(i32::from(s).wrapping_mul(i32::from(k)))
            });
        // Q24 → real.
        let x = out as f32 / 16_777_216.0;
        1.0 / (1.0 + (-x).exp())
    }
}

/// Depthwise 3×3 over the three frames, 16 pointwise channels with bias, max-pool with ReLU.
#[inline(always)]
fn layer1(
    w: &Weights,
    features: &[f32; N_FEATURES * CONTEXT_FRAMES],
) -> [[f32; CHANNELS]; L1_POOLED] {
    let mut row = [0f32; L1_COLS];
    for (ox, r) in row.iter_mut().enumerate() {
        let mut sum = 0.0;
        for kh in 0..3 {
            for kw in 0..3 {
                sum += features[kh * N_FEATURES + ox + kw] * w.l1_kernel[kh * 3 + kw];
            }
        }
        *r = sum;
    }
    let mut out = [[0f32; CHANNELS]; L1_POOLED];
    for c in 0..CHANNELS {
        let scaled = row.map(|v| v * w.l1_weight[c] + w.l1_bias[c]);
        for (q, column) in out.iter_mut().enumerate() {
            let pooled = &mut column[c];
            // Starting from 0 makes the max-pool a ReLU too.
            for x in 0..3 {
                *pooled = pooled.max(scaled[q * 2 + x]);
            }
        }
    }
    out
}

/// Depthwise 1×3 stride 2 with zero padding 1 over `IN` columns, then pointwise 16 → 16:
/// `OUT` columns of 16 channel sums, before bias/activation.
#[inline(always)]
fn pointwise_layer<const IN: usize, const OUT: usize>(
    input: &[[f32; CHANNELS]; IN],
    kernel_t: &[[f32; CHANNELS]; 3],
    weight_t: &[f32; CHANNELS * CHANNELS],
) -> [[f32; CHANNELS]; OUT] {
    let mut out = [[0f32; CHANNELS]; OUT];
    for (ox, acc) in out.iter_mut().enumerate() {
        // Every sum below adds its terms in earshot's order (taps 0, 1, 2 skipping the padding;
        // input channels 0 … 15), starting from 0, so results are identical to its scalar
        // loops; the 16 channels advance together (SIMD).
        let mut dw = [0f32; CHANNELS];
        for (kw, taps) in kernel_t.iter().enumerate() {
            let Some(column) = (ox * 2 + kw).checked_sub(1).and_then(|ix| input.get(ix)) else {
                continue;
            };
            for ((d, &x), &k) in dw.iter_mut().zip(column).zip(taps) {
                *d += x * k;
            }
        }
        for (c, &d) in dw.iter().enumerate() {
            let row = &weight_t[c * CHANNELS..(c + 1) * CHANNELS];
            for (a, &k) in acc.iter_mut().zip(row) {
                *a += d * k;
            }
        }
    }
    out
}

/// One minGRU layer in fixed point: `h ← (1 − g)·h + g·ĥ`, with the gate `g` and candidate `ĥ`
/// linear in the input (Q15 input × Q9 weights = Q24).
///
/// The 128 pre-activations are accumulated a whole input at a time (weights transposed), so all
/// 128 advance together in SIMD lanes with no horizontal sums. The sums wrap in i32 exactly as
/// earshot's do in release builds, and wrapping addition does not depend on order, so the
/// results are identical.
#[inline(always)]
fn min_gru(input: &[i16], h: &mut [i16], weight_t: &[i16]) {
    let mut pre = [0i32; 2 * RNN_HIDDEN];
    for (&x, row) in input.iter().zip(weight_t.chunks_exact(2 * RNN_HIDDEN)) {
        let x = i32::from(x);
        for (p, &k) in pre.iter_mut().zip(row) {
            *p = p.wrapping_add(x.wrapping_mul(i32::from(k)));
        }
    }
    for i in 0..RNN_HIDDEN {
        // The gate is multiplied by 4, then clamped to [0, 1] in Q24.
        let g = i64::from(pre[RNN_HIDDEN + i].wrapping_shl(2).clamp(0, 16_777_215));
        let y = (16_777_215 - g) * (i64::from(h[i]) << 9) + g * i64::from(pre[i]); // Q48
        h[i] = (y >> 33).clamp(-32768, 32767) as i16; // Q15
    }
}
