//! ggml's block quantisations q8_0, q5_0 and q5_1, bit-exact with ggml's reference quantisers,
//! and whisper.cpp's rule for which tensors of a model get quantised.
//!
//! # Source
//! whisper.cpp 1.8.3, the version whisper-rs-sys 0.15 vendors (so the one callscribe loads
//! models with):
//! - the block layouts are `block_q8_0`, `block_q5_0` and `block_q5_1` of
//!   `ggml/src/ggml-common.h`, 32 values a block, little-endian;
//! - the arithmetic is `quantize_row_q8_0_ref`, `quantize_row_q5_0_ref` and
//!   `quantize_row_q5_1_ref` of `ggml/src/ggml-quants.c`, which `ggml_quantize_chunk` runs
//!   when no importance matrix is given (whisper.cpp's `quantize` tool gives none), step by
//!   step in f32 as there (no fused multiply-add: ggml-base is built without `-mfma`), and
//!   the scales go through ggml's own f32 → f16 routine (`ggml_compute_fp32_to_fp16`);
//! - which tensors are quantised is `examples/quantize/quantize.cpp` with
//!   `examples/common-ggml.cpp` (`ggml_common_quantize_0`): every 2-D tensor but the conv
//!   biases and the positional embeddings; 1-D biases and norms stay f32, the 3-D conv kernels
//!   stay f16.
//!
//! Importing with a quantisation gives the file `whisper-quantize` writes from the f16 import
//! (checked byte for byte for tiny.en, see `models/README.md`).
//!
//! # Why hand-written
//! These are three loops of a dozen lines. The Rust crates that write ggml blocks either come
//! with a runtime this converter does not need (candle's `quantized` module, `ggml-quants` 0.1
//! with rayon and `digit-layout`, the quantisers inside inference engines) or do not claim
//! to reproduce ggml's reference bytes, which is what makes a file identical to whisper.cpp's.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// Values per block, for all three types (`QK8_0`, `QK5_0`, `QK5_1`).
pub(super) const BLOCK_VALUES: usize = 32;

/// ggml's `GGML_QNT_VERSION`: the header stores `ftype + 1000 * GGML_QNT_VERSION` for a
/// quantised model (`GGML_QNT_VERSION_FACTOR` is 1000), and whisper.cpp takes it apart again.
const GGML_QNT_VERSION: i32 = 2;
/// ggml's `GGML_QNT_VERSION_FACTOR`.
const GGML_QNT_VERSION_FACTOR: i32 = 1000;

/// Tensors whisper.cpp's `quantize` tool leaves as they are although they are 2-D (its
/// `to_skip` list; it matches them as regular expressions, whose `.` also matches the dot).
const NEVER_QUANTIZED: [&str; 4] = [
    "encoder.conv1.bias",
    "encoder.conv2.bias",
    "encoder.positional_embedding",
    "decoder.positional_embedding",
];

/// A ggml block quantisation of the weight matrices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Quantization {
    /// 8-bit: an f16 scale and 32 signed bytes a block (8.5 bits a weight).
    #[serde(rename = "q8_0")]
    Q8_0,
    /// 5-bit, symmetric: an f16 scale, the 32 fifth bits, 16 bytes of nibbles (5.5 bits).
    #[serde(rename = "q5_0")]
    Q5_0,
    /// 5-bit with a minimum: f16 scale and minimum, fifth bits, nibbles (6 bits a weight).
    #[serde(rename = "q5_1")]
    Q5_1,
}

impl Quantization {
    /// Every quantisation, in the order of the command line's help.
    pub const ALL: [Self; 3] = [Self::Q8_0, Self::Q5_0, Self::Q5_1];

    /// ggml's name (`q8_0`, `q5_0`, `q5_1`), as whisper.cpp's `quantize` tool spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Q8_0 => "q8_0",
            Self::Q5_0 => "q5_0",
            Self::Q5_1 => "q5_1",
        }
    }

    /// The tensor type id in a tensor record (`enum ggml_type`).
    pub(super) fn ggml_type(self) -> i32 {
        match self {
            Self::Q8_0 => 8,
            Self::Q5_0 => 6,
            Self::Q5_1 => 7,
        }
    }

    /// The header's `ftype`: `enum ggml_ftype` (`GGML_FTYPE_MOSTLY_Q8_0` = 7, `_Q5_0` = 8,
    /// `_Q5_1` = 9) plus the quantisation format version times 1000.
    pub(super) fn header_ftype(self) -> i32 {
        let ftype = match self {
            Self::Q8_0 => 7,
            Self::Q5_0 => 8,
            Self::Q5_1 => 9,
        };
        GGML_QNT_VERSION * GGML_QNT_VERSION_FACTOR + ftype
    }

    /// Bytes of one block of [`BLOCK_VALUES`] values.
    pub(super) fn block_bytes(self) -> usize {
        match self {
            Self::Q8_0 => 2 + 32,
            Self::Q5_0 => 2 + 4 + 16,
            Self::Q5_1 => 2 + 2 + 4 + 16,
        }
    }

    /// Appends the blocks of `row` to `out`. `row.len()` is a multiple of [`BLOCK_VALUES`]
    /// (the caller checks; a shorter tail would be dropped, as ggml's `assert` is compiled
    /// out of release builds).
    pub(super) fn quantize_row(self, row: &[f32], out: &mut Vec<u8>) {
        out.reserve(row.len() / BLOCK_VALUES * self.block_bytes());
        for block in row.chunks_exact(BLOCK_VALUES) {
            match self {
                Self::Q8_0 => q8_0(block, out),
                Self::Q5_0 => q5_0(block, out),
                Self::Q5_1 => q5_1(block, out),
            }
        }
    }
}

impl fmt::Display for Quantization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not `q8_0`, `q5_0` or `q5_1`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown quantization {0:?} (expected q8_0, q5_0 or q5_1)")]
pub struct UnknownQuantization(pub String);

impl FromStr for Quantization {
    type Err = UnknownQuantization;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|q| q.name() == s)
            .ok_or_else(|| UnknownQuantization(s.to_owned()))
    }
}

/// Whether whisper.cpp's `quantize` tool quantises the tensor `name` of `n_dims` dimensions.
pub(super) fn is_quantized(name: &str, n_dims: usize) -> bool {
    n_dims == 2 && !NEVER_QUANTIZED.contains(&name)
}

/// `quantize_row_q8_0_ref` for one block: `d = max|x| / 127`, `q = round(x / d)`.
fn q8_0(x: &[f32], out: &mut Vec<u8>) {
    // ggml's MAX(a, b) is `a > b ? a : b`.
    let amax = x
        .iter()
        .fold(0.0f32, |m, v| if m > v.abs() { m } else { v.abs() });
    let d = amax / 127.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    out.extend_from_slice(&ggml_fp32_to_fp16(d).to_le_bytes());
    // C's roundf rounds halves away from zero, as f32::round does; |x * id| <= 127.
    out.extend(x.iter().map(|v| (v * id).round() as i8 as u8));
}

/// `quantize_row_q5_0_ref` for one block: the value of largest magnitude (the first, on ties)
/// maps to -16, `q = min(31, trunc(x / d + 16.5))`.
fn q5_0(x: &[f32], out: &mut Vec<u8>) {
    let (mut amax, mut max) = (0.0f32, 0.0f32);
    for &v in x {
        if amax < v.abs() {
            amax = v.abs();
            max = v;
        }
    }
    let d = max / -16.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    // (int8_t) truncates toward zero; the value is in [0, 32.5] for finite input.
    let level = |v: f32| ((v * id + 16.5) as i8).min(31) as u8;
    out.extend_from_slice(&ggml_fp32_to_fp16(d).to_le_bytes());
    pack_5bit(x, level, out);
}

/// `quantize_row_q5_1_ref` for one block: `d = (max - min) / 31`, `q = trunc((x - min) / d
/// + 0.5)`, with the minimum stored beside the scale.
fn q5_1(x: &[f32], out: &mut Vec<u8>) {
    let (mut min, mut max) = (f32::MAX, -f32::MAX);
    for &v in x {
        if v < min {
            min = v;
        }
        if v > max {
            max = v;
        }
    }
    let d = (max - min) / 31.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    let level = |v: f32| ((v - min) * id + 0.5) as u8;
    out.extend_from_slice(&ggml_fp32_to_fp16(d).to_le_bytes());
    out.extend_from_slice(&ggml_fp32_to_fp16(min).to_le_bytes());
    pack_5bit(x, level, out);
}

/// Appends the 5-bit levels of a block as ggml lays them out: `qh`, a u32 whose bit `j` is
/// the fifth bit of value `j`, then 16 bytes pairing value `j` (low nibble) with value
/// `j + 16` (high nibble).
fn pack_5bit(x: &[f32], level: impl Fn(f32) -> u8, out: &mut Vec<u8>) {
    let half = BLOCK_VALUES / 2;
    let mut qh = 0u32;
    let mut qs = [0u8; BLOCK_VALUES / 2];
    for (j, q) in qs.iter_mut().enumerate() {
        let (lo, hi) = (level(x[j]), level(x[j + half]));
        *q = (lo & 0x0f) | ((hi & 0x0f) << 4);
        qh |= u32::from((lo & 0x10) >> 4) << j;
        qh |= u32::from((hi & 0x10) >> 4) << (j + half);
    }
    out.extend_from_slice(&qh.to_le_bytes());
    out.extend_from_slice(&qs);
}

/// ggml's `ggml_compute_fp32_to_fp16` (the portable routine every ggml build uses in
/// `ggml-quants.c`): round to nearest even through float arithmetic on scaled values;
/// NaN becomes 0x7e00 with the sign kept.
fn ggml_fp32_to_fp16(f: f32) -> u16 {
    let scale_to_inf = f32::from_bits(0x7780_0000); // 2^112
    let scale_to_zero = f32::from_bits(0x0880_0000); // 2^-110
    let mut base = (f.abs() * scale_to_inf) * scale_to_zero;

    let w = f.to_bits();
    let shl1_w = w.wrapping_add(w);
    let sign = w & 0x8000_0000;
    let bias = (shl1_w & 0xff00_0000).max(0x7100_0000);

    base += f32::from_bits((bias >> 1) + 0x0780_0000);
    let bits = base.to_bits();
    let exp_bits = (bits >> 13) & 0x0000_7c00;
    let mantissa_bits = bits & 0x0000_0fff;
    let nonsign = exp_bits + mantissa_bits;
    let magnitude = if shl1_w > 0xff00_0000 {
        0x7e00
    } else {
        nonsign
    };
    ((sign >> 16) | magnitude) as u16
}

#[cfg(test)]
mod tests {
    use half::f16;

    use super::*;

    /// Block `i` of a quantised row.
    fn block(q: Quantization, row: &[f32], i: usize) -> Vec<u8> {
        let mut out = Vec::new();
        q.quantize_row(row, &mut out);
        let n = q.block_bytes();
        out[i * n..(i + 1) * n].to_vec()
    }

    fn f16_bytes(v: f32) -> [u8; 2] {
        f16::from_f32(v).to_le_bytes()
    }

    /// The ramp -16, -15, …, 15 (exact in every format here).
    fn ramp() -> Vec<f32> {
        (0..32).map(|i| i as f32 - 16.0).collect()
    }

    #[test]
    fn header_and_type_ids_are_ggmls() {
        let ids: Vec<_> = Quantization::ALL
            .iter()
            .map(|q| (q.name(), q.ggml_type(), q.header_ftype(), q.block_bytes()))
            .collect();
        assert_eq!(
            ids,
            [
                ("q8_0", 8, 2007, 34),
                ("q5_0", 6, 2008, 22),
                ("q5_1", 7, 2009, 24)
            ]
        );
        for q in Quantization::ALL {
            assert_eq!(q.name().parse::<Quantization>(), Ok(q));
            assert_eq!(q.to_string(), q.name());
            assert_eq!(serde_json::to_value(q).ok(), Some(q.name().into()));
        }
        assert!("q4_0".parse::<Quantization>().is_err());
        assert!("Q8_0".parse::<Quantization>().is_err());
    }

    #[test]
    fn whisper_quantize_rule() {
        assert!(is_quantized("encoder.blocks.0.attn.query.weight", 2));
        assert!(is_quantized("decoder.token_embedding.weight", 2));
        assert!(is_quantized("decoder.blocks.3.mlp.2.weight", 2));
        assert!(!is_quantized("encoder.conv1.weight", 3));
        assert!(!is_quantized("encoder.conv2.bias", 2));
        assert!(!is_quantized("encoder.positional_embedding", 2));
        assert!(!is_quantized("decoder.positional_embedding", 2));
        assert!(!is_quantized("decoder.blocks.0.mlp.0.bias", 1));
        assert!(!is_quantized("decoder.ln.weight", 1));
    }

    #[test]
    fn q8_0_blocks() {
        // max |x| = 127/8: d = 1/8, every value an exact multiple of d.
        let row: Vec<f32> = (0..32).map(|i| (i as f32 - 16.0) / 8.0).collect();
        let mut row = row;
        row[31] = 127.0 / 8.0;
        let b = block(Quantization::Q8_0, &row, 0);
        assert_eq!(b[..2], f16_bytes(0.125));
        let q: Vec<i8> = b[2..].iter().map(|&v| v as i8).collect();
        let mut expected: Vec<i8> = (-16..15).collect();
        expected.push(127);
        assert_eq!(q, expected);

        // d = 2/127 is not exact in f16: the scale is rounded, the levels come from the f32
        // scale; halves round away from zero (0.5 * 127/2 = 31.75 → 32, 1/127 · 63.5 …).
        let mut row = vec![0.0f32; 32];
        row[0] = -2.0;
        row[1] = 1.0; // 63.5 → 64 (away from zero)
        row[2] = -1.0; // -63.5 → -64
        row[3] = 0.25; // 15.875 → 16
        let b = block(Quantization::Q8_0, &row, 0);
        let d = 2.0f32 / 127.0;
        assert_eq!(b[..2], f16_bytes(d));
        let id = 1.0 / d;
        assert_eq!((1.0 * id).round(), 64.0);
        assert_eq!(
            b[2..6].iter().map(|&v| v as i8).collect::<Vec<_>>(),
            [-127, 64, -64, 16]
        );
        assert!(b[6..].iter().all(|&v| v == 0));

        // An all-zero block has scale 0 and levels 0 (no division by zero).
        assert_eq!(block(Quantization::Q8_0, &[0.0; 32], 0), vec![0u8; 34]);
    }

    #[test]
    fn q5_0_blocks() {
        // The ramp's largest magnitude is -16 (the first value): d = -16 / -16 = 1, and
        // level = trunc(x + 16.5) = x + 16, i.e. 0..31 in order.
        let b = block(Quantization::Q5_0, &ramp(), 0);
        assert_eq!(b[..2], f16_bytes(1.0));
        // Fifth bit set for levels 16..31, the values 16..31 of the block: qh = 0xffff0000.
        assert_eq!(b[2..6], 0xffff_0000u32.to_le_bytes());
        // Byte j pairs level j (low nibble) with level j + 16 (high nibble, fifth bit in qh).
        let qs: Vec<u8> = (0..16).map(|j| j | (j << 4)).collect();
        assert_eq!(b[6..], qs[..]);

        // Positive extreme: max = 8 maps to level 0 with d = -0.5; a negative value -8
        // reaches level 32, capped at 31; the first of two equal magnitudes wins.
        let mut row = vec![0.0f32; 32];
        row[0] = 8.0;
        row[1] = -8.0;
        row[2] = 1.0; // 1 / -0.5 = -2 → trunc(14.5) = 14
        let b = block(Quantization::Q5_0, &row, 0);
        assert_eq!(b[..2], f16_bytes(-0.5));
        let levels = unpack_5bit(&b[2..]);
        assert_eq!(levels[..3], [0, 31, 14]);
        assert!(levels[3..].iter().all(|&l| l == 16), "zeros sit at 16");

        // An all-zero block: d = 0 / -16 is -0 (f16 0x8000, as in ggml), every level 16.
        let b = block(Quantization::Q5_0, &[0.0; 32], 0);
        assert_eq!(b[..2], [0x00, 0x80]);
        assert_eq!(unpack_5bit(&b[2..]), vec![16; 32]);
    }

    #[test]
    fn q5_1_blocks() {
        // min -16, max 15: d = 31 / 31 = 1, levels 0..31, minimum stored after the scale.
        let b = block(Quantization::Q5_1, &ramp(), 0);
        assert_eq!(b[..2], f16_bytes(1.0));
        assert_eq!(b[2..4], f16_bytes(-16.0));
        assert_eq!(unpack_5bit(&b[4..]), (0..32).collect::<Vec<u8>>());

        // Rounding: d = 3.1 / 31 = 0.1 (f32), level = trunc((x - min) / d + 0.5).
        let mut row = vec![0.0f32; 32];
        row[0] = 3.0;
        row[1] = -0.1;
        row[2] = 0.04; // (0.14 / 0.1) + 0.5 = 1.9 → 1
        row[3] = 0.06; // 2.1 → 2
        let b = block(Quantization::Q5_1, &row, 0);
        let (min, d) = (-0.1f32, (3.0f32 - -0.1) / 31.0);
        assert_eq!(b[..2], f16_bytes(d));
        assert_eq!(b[2..4], f16_bytes(min));
        let levels = unpack_5bit(&b[4..]);
        let id = 1.0 / d;
        let expect = |v: f32| ((v - min) * id + 0.5) as u8;
        assert_eq!(levels[..4], [31, 0, 1, 2]);
        assert_eq!((expect(3.0), expect(0.04), expect(0.0)), (31, 1, 1));
        assert!(levels[4..].iter().all(|&l| l == 1));

        // A constant block has d = 0: all levels 0, the value kept in the minimum.
        let b = block(Quantization::Q5_1, &[0.75; 32], 0);
        assert_eq!(b[..4], [0, 0, f16_bytes(0.75)[0], f16_bytes(0.75)[1]]);
        assert!(b[4..].iter().all(|&v| v == 0));
    }

    /// The 32 levels of a q5 block's `qh` + `qs` bytes.
    fn unpack_5bit(b: &[u8]) -> Vec<u8> {
        let qh = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let qs = &b[4..20];
        (0..32)
            .map(|j| {
                let nibble = if j < 16 {
                    qs[j] & 0x0f
                } else {
                    qs[j - 16] >> 4
                };
                nibble | (((qh >> j) & 1) as u8) << 4
            })
            .collect()
    }

    #[test]
    fn rows_are_quantised_block_by_block() {
        // A row of three blocks equals its blocks quantised one at a time.
        let row: Vec<f32> = (0..96).map(|i| ((i * 37) % 23) as f32 - 11.3).collect();
        for q in Quantization::ALL {
            let mut whole = Vec::new();
            q.quantize_row(&row, &mut whole);
            assert_eq!(whole.len(), 3 * q.block_bytes());
            for (i, chunk) in row.chunks(32).enumerate() {
                let mut one = Vec::new();
                q.quantize_row(chunk, &mut one);
                assert_eq!(one, block(q, &row, i), "{q} block {i}");
            }
        }
    }

    #[test]
    fn ggml_fp16_rounding_matches_round_to_nearest_even() {
        // ggml's routine and `half` (IEEE round to nearest even) agree on every finite value
        // and infinity; a sweep over the f32 bit patterns, plus the halfway and boundary cases.
        let mut checked = 0u32;
        let mut check = |bits: u32| {
            let v = f32::from_bits(bits);
            if v.is_nan() {
                assert_eq!(ggml_fp32_to_fp16(v) & 0x7fff, 0x7e00, "{bits:#x}");
            } else {
                assert_eq!(
                    ggml_fp32_to_fp16(v),
                    f16::from_f32(v).to_bits(),
                    "{v:e} ({bits:#x})"
                );
            }
            checked += 1;
        };
        for bits in (0..=u32::MAX).step_by(4099) {
            check(bits);
        }
        for v in [
            0.0f32, -0.0, 1.0, 65504.0, 65519.99, 65520.0, 1e9, 6.1e-5, 5.96e-8, 2.98e-8, 1e-10,
        ] {
            check(v.to_bits());
            check((-v).to_bits());
        }
        // Exactly halfway between two f16 values, both parities of the lower one.
        for h in [0x3c00u16, 0x3c01, 0x0001, 0x0400, 0x7bfe] {
            let lo = f16::from_bits(h).to_f32();
            let hi = f16::from_bits(h + 1).to_f32();
            check(((lo + hi) / 2.0).to_bits());
        }
        check(f32::INFINITY.to_bits());
        check(f32::NAN.to_bits());
        assert!(checked > 1_000_000);
    }
}
