//! Writes whisper.cpp's ggml model file for a parsed CTranslate2 Whisper model.
//!
//! The file holds the hyper-parameters, the mel filters, the text tokens, then one record per
//! planned tensor; values change between f32, f16 and bf16 through the `half` crate, and the
//! weight matrices are block-quantised by `quant` when a quantisation is asked for.

use std::io::Write;

use half::{bf16, f16};

use super::hparams::{hparams, to_i32, Hparams};
use super::mel::{mel_filterbank, WHISPER_N_FFT, WHISPER_SAMPLE_RATE};
use super::plan::{plan, row_bytes, OutType, Planned};
use super::quant::{is_quantized, Quantization, BLOCK_VALUES};
use super::vocab::{text_tokens, Ct2WhisperConfig};
use super::{Ct2Dtype, Ct2Model, ImportError};

/// The ggml file magic, "ggml" as a little-endian u32.
const GGML_MAGIC: u32 = 0x6767_6d6c;

/// ggml type id of f32 tensors in a tensor record.
const GGML_TYPE_F32: i32 = 0;
/// ggml type id of f16 tensors in a tensor record.
const GGML_TYPE_F16: i32 = 1;
/// whisper.cpp's `ftype` header value for "large tensors in f16".
const GGML_FTYPE_MOSTLY_F16: i32 = 1;

/// Elements converted per chunk when a tensor changes type on the way out.
const CONVERT_CHUNK_ELEMENTS: usize = 64 * 1024;

/// What [`write_ggml`] wrote.
#[derive(Debug)]
pub(super) struct GgmlSummary {
    /// The header's hyper-parameters.
    pub(super) hparams: Hparams,
    /// The header's `ftype`.
    pub(super) ftype: i32,
    /// Text tokens in the vocabulary section.
    pub(super) n_vocab_tokens: usize,
    /// Tensor records.
    pub(super) n_tensors: usize,
    /// Tensor records stored block-quantised.
    pub(super) n_quantized: usize,
}

/// Little-endian writer that maps write errors to [`ImportError::Write`].
struct Out<W: Write> {
    inner: W,
}

impl<W: Write> Out<W> {
    fn bytes(&mut self, b: &[u8]) -> Result<(), ImportError> {
        self.inner
            .write_all(b)
            .map_err(|source| ImportError::Write { source })?;
        Ok(())
    }

    fn i32(&mut self, v: i32) -> Result<(), ImportError> {
        self.bytes(&v.to_le_bytes())
    }
}

/// Writes the ggml model for a parsed CTranslate2 Whisper model and its vocabulary (the token
/// strings in GPT-2's byte alphabet, one per token id) to `out`, with the weight matrices in
/// f16 or, given `quantization`, block-quantised as whisper.cpp's `quantize` tool does.
pub(super) fn write_ggml<W: Write>(
    model: &Ct2Model<'_>,
    vocabulary: &[String],
    config: &Ct2WhisperConfig,
    quantization: Option<Quantization>,
    out: W,
) -> Result<GgmlSummary, ImportError> {
    let h = hparams(model)?;
    let tensors = plan(model, &h)?;
    let tokens = text_tokens(vocabulary, config, h.n_vocab)?;
    let ftype = quantization.map_or(GGML_FTYPE_MOSTLY_F16, Quantization::header_ftype);

    let mut out = Out { inner: out };
    out.bytes(&GGML_MAGIC.to_le_bytes())?;
    for v in [
        h.n_vocab,
        h.n_audio_ctx,
        h.n_audio_state,
        h.n_audio_head,
        h.n_audio_layer,
        h.n_text_ctx,
        h.n_text_state,
        h.n_text_head,
        h.n_text_layer,
        h.n_mels,
        ftype,
    ] {
        out.i32(v)?;
    }

    let n_mels = usize::try_from(h.n_mels).unwrap_or(0);
    let filters = mel_filterbank(WHISPER_SAMPLE_RATE, WHISPER_N_FFT, n_mels);
    out.i32(h.n_mels)?;
    out.i32(to_i32("n_fft", (WHISPER_N_FFT / 2 + 1) as u64)?)?;
    let filter_bytes: Vec<u8> = filters.iter().flat_map(|f| f.to_le_bytes()).collect();
    out.bytes(&filter_bytes)?;

    out.i32(to_i32("vocabulary size", tokens.len() as u64)?)?;
    for t in &tokens {
        let len = u32::try_from(t.len()).map_err(|_| ImportError::BadVocabulary {
            index: 0,
            reason: "token longer than 4 GiB".into(),
        })?;
        out.bytes(&len.to_le_bytes())?;
        out.bytes(t)?;
    }

    let mut n_quantized = 0;
    for t in &tensors {
        match quantization.filter(|_| is_quantized(&t.name, t.dims.len())) {
            Some(q) => {
                write_quantized(&mut out, t, q)?;
                n_quantized += 1;
            }
            None => write_tensor(&mut out, t)?,
        }
    }
    out.inner
        .flush()
        .map_err(|source| ImportError::Write { source })?;
    Ok(GgmlSummary {
        hparams: h,
        ftype,
        n_vocab_tokens: tokens.len(),
        n_tensors: tensors.len(),
        n_quantized,
    })
}

/// Writes a tensor record's header: rank, name length, type, reversed dims, name.
fn write_header<W: Write>(
    out: &mut Out<W>,
    t: &Planned<'_, '_>,
    ggml_type: i32,
) -> Result<(), ImportError> {
    out.i32(to_i32("tensor rank", t.dims.len() as u64)?)?;
    out.i32(to_i32("tensor name length", t.name.len() as u64)?)?;
    out.i32(ggml_type)?;
    for &d in t.dims.iter().rev() {
        out.i32(to_i32(&t.name, d)?)?;
    }
    out.bytes(t.name.as_bytes())
}

/// Writes one tensor record with its data converted to the output type (f32 or f16).
fn write_tensor<W: Write>(out: &mut Out<W>, t: &Planned<'_, '_>) -> Result<(), ImportError> {
    let ggml_type = match t.out {
        OutType::F32 => GGML_TYPE_F32,
        OutType::F16 => GGML_TYPE_F16,
    };
    write_header(out, t, ggml_type)?;

    let data = row_bytes(t.source, t.rows.clone())?;
    match (t.source.dtype, t.out) {
        (Ct2Dtype::F16, OutType::F16) | (Ct2Dtype::F32, OutType::F32) => out.bytes(data),
        (dtype, kind) => {
            let size = dtype.size();
            let mut buf = Vec::with_capacity(CONVERT_CHUNK_ELEMENTS * 4);
            for chunk in data.chunks(CONVERT_CHUNK_ELEMENTS * size) {
                buf.clear();
                for e in chunk.chunks_exact(size) {
                    let value = element_to_f32(dtype, e);
                    match kind {
                        OutType::F32 => buf.extend_from_slice(&value.to_le_bytes()),
                        // Round to nearest even, as numpy's `astype(float16)` does.
                        OutType::F16 => buf.extend_from_slice(&f16::from_f32(value).to_le_bytes()),
                    }
                }
                out.bytes(&buf)?;
            }
            Ok(())
        }
    }
}

/// Writes one tensor record block-quantised, row by row (a row is the innermost dimension,
/// ggml's `ne[0]`, which must hold whole blocks).
///
/// The values are the source's, read as f32 without rounding: for an f16 source (every
/// published CTranslate2 Whisper model) these are exactly the values of the f16 import that
/// whisper.cpp's `quantize` tool would read, so the blocks are the same.
fn write_quantized<W: Write>(
    out: &mut Out<W>,
    t: &Planned<'_, '_>,
    q: Quantization,
) -> Result<(), ImportError> {
    let row_len = t.dims.last().copied().unwrap_or(0);
    let row_len = usize::try_from(row_len)
        .ok()
        .filter(|&n| n > 0 && n % BLOCK_VALUES == 0)
        .ok_or_else(|| ImportError::UnsupportedModel {
            reason: format!(
                "{} has rows of {row_len} values, not a whole number of {q} blocks of {BLOCK_VALUES}",
                t.name
            ),
        })?;
    write_header(out, t, q.ggml_type())?;

    let data = row_bytes(t.source, t.rows.clone())?;
    let size = t.source.dtype.size();
    // Buffers grow with the first row, so a tensor that claims long rows but has none
    // allocates nothing.
    let (mut values, mut blocks) = (Vec::new(), Vec::new());
    for row in data.chunks(row_len.saturating_mul(size)) {
        values.clear();
        values.extend(
            row.chunks_exact(size)
                .map(|e| element_to_f32(t.source.dtype, e)),
        );
        blocks.clear();
        q.quantize_row(&values, &mut blocks);
        out.bytes(&blocks)?;
    }
    Ok(())
}

/// One little-endian element of a float variable (f32, f16 or bf16) as f32: exact, since f32
/// holds every f16 and bf16 value (a signalling NaN comes back quiet, payload kept).
fn element_to_f32(dtype: Ct2Dtype, e: &[u8]) -> f32 {
    match dtype {
        Ct2Dtype::F16 => f16::from_le_bytes([e[0], e[1]]).to_f32(),
        Ct2Dtype::Bf16 => bf16::from_le_bytes([e[0], e[1]]).to_f32(),
        _ => f32::from_le_bytes([e[0], e[1], e[2], e[3]]),
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;
    use crate::model_import::fixtures::{
        assert_kind, convert, convert_quantized, tiny_whisper, vocabulary, whisper_of_width,
        TestResult, AUDIO_CTX, S, TEXT_CTX,
    };
    use crate::model_import::parse_ct2_model;

    /// A ggml file read back: header ints, filters, tokens, tensors (name, ggml dims, type, data).
    struct Ggml {
        header: Vec<i32>,
        filters: (i32, i32, Vec<f32>),
        tokens: Vec<Vec<u8>>,
        tensors: Vec<(String, Vec<i32>, i32, Vec<u8>)>,
    }

    /// Sequential reader over a ggml file in tests (panics past the end: a test failure).
    struct Reader<'b> {
        b: &'b [u8],
        pos: usize,
    }

    impl<'b> Reader<'b> {
        fn take(&mut self, n: usize) -> &'b [u8] {
            let s = &self.b[self.pos..self.pos + n];
            self.pos += n;
            s
        }

        fn i32(&mut self) -> i32 {
            let s = self.take(4);
            i32::from_le_bytes([s[0], s[1], s[2], s[3]])
        }
    }

    fn read_ggml(b: &[u8]) -> Ggml {
        let mut r = Reader { b, pos: 0 };
        let header: Vec<i32> = (0..12).map(|_| r.i32()).collect();
        let (n_mel, n_fft) = (r.i32(), r.i32());
        let filters = f32_bytes(r.take((n_mel * n_fft) as usize * 4));
        let n_tokens = r.i32();
        let tokens = (0..n_tokens)
            .map(|_| {
                let len = r.i32() as usize;
                r.take(len).to_vec()
            })
            .collect();
        let mut tensors = Vec::new();
        while r.pos < b.len() {
            let (n_dims, name_len, ttype) = (r.i32(), r.i32(), r.i32());
            let dims: Vec<i32> = (0..n_dims).map(|_| r.i32()).collect();
            let name = String::from_utf8_lossy(r.take(name_len as usize)).into_owned();
            let n = dims.iter().product::<i32>() as usize;
            let bytes = match ttype {
                0 => n * 4,
                1 => n * 2,
                8 => n / 32 * 34,
                6 => n / 32 * 22,
                7 => n / 32 * 24,
                other => panic!("unexpected tensor type {other}"),
            };
            let data = r.take(bytes).to_vec();
            tensors.push((name, dims, ttype, data));
        }
        Ggml {
            header,
            filters: (n_mel, n_fft, filters),
            tokens,
            tensors,
        }
    }

    fn tensor<'g>(g: &'g Ggml, name: &str) -> &'g (String, Vec<i32>, i32, Vec<u8>) {
        match g.tensors.iter().find(|t| t.0 == name) {
            Some(t) => t,
            None => panic!("tensor {name} missing"),
        }
    }

    fn f16_bytes_to_f32(b: &[u8]) -> Vec<f32> {
        b.chunks_exact(2)
            .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect()
    }

    fn f32_bytes(b: &[u8]) -> Vec<f32> {
        b.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    }

    #[test]
    fn converts_a_miniature_whisper() -> TestResult {
        let builder = tiny_whisper();
        let source = builder.bytes();
        let model = parse_ct2_model(&source)?;
        let (summary, out) = convert(&builder)?;
        let g = read_ggml(&out);

        assert_eq!(
            g.header,
            [
                GGML_MAGIC as i32,
                6,
                AUDIO_CTX as i32,
                4,
                2,
                1,
                TEXT_CTX as i32,
                4,
                2,
                2,
                3,
                1
            ]
        );
        assert_eq!(
            (g.filters.0, g.filters.1, g.filters.2.len()),
            (3, 201, 3 * 201)
        );
        assert_eq!(
            g.tokens,
            [&b"!"[..], b" a", "é".as_bytes(), b"<|endoftext|>"]
        );
        assert_eq!(summary.n_vocab_tokens, 4);

        // whisper.cpp's tensor count: 7 + 15 per encoder block + 4 + 24 per decoder block.
        assert_eq!(g.tensors.len(), 7 + 15 + 4 + 2 * 24);
        assert_eq!(summary.n_tensors, g.tensors.len());
        let names: Vec<&str> = g.tensors.iter().map(|t| t.0.as_str()).collect();
        assert_eq!(
            names[..12],
            [
                "encoder.positional_embedding",
                "encoder.conv1.weight",
                "encoder.conv1.bias",
                "encoder.conv2.weight",
                "encoder.conv2.bias",
                "encoder.blocks.0.attn.query.weight",
                "encoder.blocks.0.attn.query.bias",
                "encoder.blocks.0.attn.key.weight",
                "encoder.blocks.0.attn.value.weight",
                "encoder.blocks.0.attn.value.bias",
                "encoder.blocks.0.attn.out.weight",
                "encoder.blocks.0.attn.out.bias",
            ]
        );
        assert!(!names.iter().any(|n| n.contains("key.bias")));
        assert_eq!(names.last(), Some(&"decoder.ln.bias"));

        // Dims are written innermost first; types follow whisper.cpp's loader.
        let expect = [
            ("encoder.positional_embedding", vec![4, 5], 0),
            ("encoder.conv1.weight", vec![3, 3, 4], 1),
            ("encoder.conv1.bias", vec![1, 4], 0),
            ("encoder.blocks.0.mlp.0.weight", vec![4, 16], 1),
            ("encoder.blocks.0.mlp.2.weight", vec![16, 4], 1),
            ("encoder.blocks.0.mlp_ln.weight", vec![4], 0),
            ("encoder.ln_post.bias", vec![4], 0),
            ("decoder.token_embedding.weight", vec![4, 6], 1),
            ("decoder.positional_embedding", vec![4, 3], 0),
            ("decoder.blocks.1.cross_attn.key.weight", vec![4, 4], 1),
            ("decoder.blocks.1.cross_attn_ln.bias", vec![4], 0),
            ("decoder.blocks.1.mlp.0.bias", vec![16], 0),
        ];
        for (name, dims, ttype) in expect {
            let t = tensor(&g, name);
            assert_eq!((&t.1, t.2), (&dims, ttype), "{name}");
        }

        // The fused projections are split by rows, f16 bytes copied, f32 values exact.
        let var = |n: &str| model.get(n).map(|v| v.data).unwrap_or_default();
        let qkv = var("decoder/layer_1/self_attention/linear_0/weight");
        let row = (S * S * 2) as usize;
        assert_eq!(
            tensor(&g, "decoder.blocks.1.attn.query.weight").3,
            qkv[..row]
        );
        assert_eq!(
            tensor(&g, "decoder.blocks.1.attn.key.weight").3,
            qkv[row..2 * row]
        );
        assert_eq!(
            tensor(&g, "decoder.blocks.1.attn.value.weight").3,
            qkv[2 * row..]
        );
        let qkv_bias = f16_bytes_to_f32(var("decoder/layer_1/self_attention/linear_0/bias"));
        let s = S as usize;
        assert_eq!(
            f32_bytes(&tensor(&g, "decoder.blocks.1.attn.query.bias").3),
            qkv_bias[..s]
        );
        assert_eq!(
            f32_bytes(&tensor(&g, "decoder.blocks.1.attn.value.bias").3),
            qkv_bias[2 * s..]
        );
        let kv = var("decoder/layer_0/attention/linear_1/weight");
        assert_eq!(
            tensor(&g, "decoder.blocks.0.cross_attn.key.weight").3,
            kv[..row]
        );
        assert_eq!(
            tensor(&g, "decoder.blocks.0.cross_attn.value.weight").3,
            kv[row..]
        );
        let kv_bias = f16_bytes_to_f32(var("decoder/layer_0/attention/linear_1/bias"));
        assert_eq!(
            f32_bytes(&tensor(&g, "decoder.blocks.0.cross_attn.value.bias").3),
            kv_bias[s..]
        );
        let q = var("decoder/layer_0/attention/linear_0/weight");
        assert_eq!(tensor(&g, "decoder.blocks.0.cross_attn.query.weight").3, q);
        let gamma = f16_bytes_to_f32(var("encoder/layer_0/ffn/layer_norm/gamma"));
        assert_eq!(
            f32_bytes(&tensor(&g, "encoder.blocks.0.mlp_ln.weight").3),
            gamma
        );
        let conv_bias = f16_bytes_to_f32(var("encoder/conv2/bias"));
        assert_eq!(f32_bytes(&tensor(&g, "encoder.conv2.bias").3), conv_bias);
        Ok(())
    }

    #[test]
    fn converts_float32_and_bfloat16_sources() -> TestResult {
        // The same values stored as f16 and as f32 or bf16 must convert to the same file.
        // bf16 keeps 8 mantissa bits, so the values are first cut to bf16 (exact in f16 too).
        for (dtype, keep_mask, width) in [(0u8, u32::MAX, 4usize), (5, 0xffff_0000, 2)] {
            let (mut as_f16, mut other) = (tiny_whisper(), tiny_whisper());
            for (a, b) in as_f16.vars.iter_mut().zip(other.vars.iter_mut()) {
                if a.2 != 4 {
                    continue;
                }
                let values: Vec<f32> = f16_bytes_to_f32(&a.3)
                    .iter()
                    .map(|v| f32::from_bits(v.to_bits() & keep_mask))
                    .collect();
                a.3 = values
                    .iter()
                    .flat_map(|&v| f16::from_f32(v).to_le_bytes())
                    .collect();
                b.2 = dtype;
                b.3 = values
                    .iter()
                    .flat_map(|v| v.to_le_bytes()[4 - width..].to_vec())
                    .collect();
            }
            let (_, reference) = convert(&as_f16)?;
            let (_, out) = convert(&other)?;
            assert!(out == reference, "dtype {dtype} converts differently");
        }
        Ok(())
    }

    #[test]
    fn quantizes_as_whisper_cpp_quantize_does() -> TestResult {
        // whisper.cpp's `quantize` tool applied to the f16 file, step by step: header ftype
        // 2000 + ggml ftype, every 2-D tensor but the conv biases and positional embeddings
        // read as f32 and quantised row by row, everything else copied unchanged.
        let builder = whisper_of_width(32);
        let (plain_summary, plain) = convert(&builder)?;
        let plain = read_ggml(&plain);
        assert_eq!((plain_summary.ftype, plain_summary.n_quantized), (1, 0));
        for q in Quantization::ALL {
            let (summary, out) = convert_quantized(&builder, Some(q))?;
            let g = read_ggml(&out);
            assert_eq!(g.header[..11], plain.header[..11], "{q}");
            assert_eq!(g.header[11], q.header_ftype());
            assert_eq!(summary.ftype, q.header_ftype());
            assert_eq!(g.filters.2, plain.filters.2);
            assert_eq!(g.tokens, plain.tokens);
            assert_eq!(g.tensors.len(), plain.tensors.len());
            let mut quantized = Vec::new();
            for (t, p) in g.tensors.iter().zip(&plain.tensors) {
                assert_eq!((&t.0, &t.1), (&p.0, &p.1), "{q}: names and dims kept");
                if is_quantized(&p.0, p.1.len()) {
                    assert_eq!((p.2, t.2), (1, q.ggml_type()), "{q} {}", p.0);
                    let mut expected = Vec::new();
                    for row in f16_bytes_to_f32(&p.3).chunks(p.1[0] as usize) {
                        q.quantize_row(row, &mut expected);
                    }
                    assert!(t.3 == expected, "{q} {} differs", p.0);
                    quantized.push(t.0.as_str());
                } else {
                    assert_eq!((t.2, &t.3), (p.2, &p.3), "{q} {} copied", p.0);
                }
            }
            // 6 matrices per encoder block, 10 per decoder block, and the token embedding.
            assert_eq!(quantized.len(), 6 + 2 * 10 + 1, "{q}: {quantized:?}");
            assert_eq!(summary.n_quantized, quantized.len());
            assert!(quantized.contains(&"decoder.token_embedding.weight"));
            assert!(!quantized.iter().any(|n| n.contains("conv")));
        }

        // Width 4 gives rows shorter than a block: refused, not padded or cut.
        for q in Quantization::ALL {
            assert_kind(
                convert_quantized(&tiny_whisper(), Some(q)),
                "unsupported_model",
            );
        }
        Ok(())
    }

    #[test]
    fn random_corruption_never_panics() {
        // Deterministic mutation fuzzing: flip bytes of a valid model and parse; any Ok or Err
        // is fine, a panic fails the test.
        let original = tiny_whisper().bytes();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..3000 {
            let mut bytes = original.clone();
            for _ in 0..1 + next() % 4 {
                let i = (next() % bytes.len() as u64) as usize;
                bytes[i] = next() as u8;
            }
            let cut = (next() % (bytes.len() as u64 + 1)) as usize;
            if let Ok(model) = parse_ct2_model(&bytes[..cut]) {
                let _ = write_ggml(
                    &model,
                    &vocabulary(),
                    &Ct2WhisperConfig::default(),
                    None,
                    io::sink(),
                );
            }
        }
    }

    /// f32 to f16 as the writer does it.
    fn to_f16(x: f32) -> u16 {
        f16::from_f32(x).to_bits()
    }

    /// f16 to f32 as the writer does it.
    fn from_f16(h: u16) -> f32 {
        element_to_f32(Ct2Dtype::F16, &h.to_le_bytes())
    }

    #[test]
    fn half_precision_conversions() {
        assert_eq!(from_f16(0x3c00), 1.0);
        assert_eq!(from_f16(0xc000), -2.0);
        assert_eq!(from_f16(0x7bff), 65504.0);
        assert_eq!(from_f16(0x0001), 2f32.powi(-24));
        assert_eq!(from_f16(0x8000).to_bits(), 0x8000_0000);
        assert_eq!(from_f16(0x7c00), f32::INFINITY);
        assert!(from_f16(0x7e00).is_nan());
        assert_eq!(element_to_f32(Ct2Dtype::Bf16, &[0x80, 0x3f]), 1.0);
        assert_eq!(element_to_f32(Ct2Dtype::F32, &1.5f32.to_le_bytes()), 1.5);
        // Every non-NaN half survives f16 → f32 → f16.
        for h in 0..=u16::MAX {
            if h & 0x7c00 == 0x7c00 && h & 0x3ff != 0 {
                assert!(from_f16(h).is_nan());
                continue;
            }
            assert_eq!(to_f16(from_f16(h)), h, "{h:#06x}");
        }
        // Round to nearest, ties to even; overflow to infinity; underflow to zero.
        assert_eq!(to_f16(1.0 + 2f32.powi(-11)), 0x3c00);
        assert_eq!(to_f16(1.0 + 3.0 * 2f32.powi(-11)), 0x3c02);
        assert_eq!(to_f16(1.0 + 2f32.powi(-11) + 2f32.powi(-20)), 0x3c01);
        assert_eq!(to_f16(65520.0), 0x7c00);
        assert_eq!(to_f16(65519.0), 0x7bff);
        assert_eq!(to_f16(2f32.powi(-25)), 0x0000);
        assert_eq!(to_f16(1.5 * 2f32.powi(-25)), 0x0001);
        assert_eq!(to_f16(-1e-10), 0x8000);
        assert_eq!(to_f16(f32::NEG_INFINITY), 0xfc00);
        assert!(from_f16(to_f16(f32::NAN)).is_nan());
    }

    // ---- the `half` crate against the conversions it replaced ----
    //
    // Until the `half` crate took over, the writer converted with the two functions below (the
    // published `ggml-tiny.en.bin` was written with them). The tests check that `half` gives
    // the same bits on every path the writer takes: f16 and bf16 widened to f32, and f32 (from
    // f32 or bf16 sources) narrowed to f16. `half` picks x86's F16C instructions at run time
    // when the CPU has them and a software routine otherwise; its `*_const` functions are that
    // software routine, so both are checked whatever the test machine is.

    /// f32's quiet-NaN bit (the mantissa's top bit).
    const F32_QUIET_NAN: u32 = 0x0040_0000;

    /// Widening: the reference's bits for all 65,536 f16 and bf16 inputs, except that `half`
    /// returns a signalling NaN quieted (as F16C's `vcvtph2ps` does) where the reference kept it
    /// signalling; sign and payload are the same. Quiet NaNs, infinities, zeros and subnormals
    /// are bit-identical.
    #[test]
    fn widening_to_f32_matches_the_replaced_conversion() {
        for bits in 0..=u16::MAX {
            let bytes = bits.to_le_bytes();
            let cases = [
                (
                    Ct2Dtype::F16,
                    reference_f16_to_f32(bits),
                    f16::from_bits(bits).to_f32_const(),
                ),
                (
                    Ct2Dtype::Bf16,
                    f32::from_bits(u32::from(bits) << 16),
                    bf16::from_bits(bits).to_f32_const(),
                ),
            ];
            for (dtype, reference, software) in cases {
                let want = match reference.to_bits() {
                    b if reference.is_nan() => b | F32_QUIET_NAN,
                    b => b,
                };
                let got = element_to_f32(dtype, &bytes).to_bits();
                assert_eq!(got, want, "{dtype} {bits:#06x}");
                assert_eq!(software.to_bits(), want, "{dtype} {bits:#06x} (software)");
            }
        }
    }

    /// Checks `half`'s f32 → f16, run-time and software paths, against the reference.
    fn assert_narrowing_matches(bits: u32) {
        let x = f32::from_bits(bits);
        let want = reference_f32_to_f16(x);
        assert_eq!(f16::from_f32(x).to_bits(), want, "{bits:#010x}");
        assert_eq!(
            f16::from_f32_const(x).to_bits(),
            want,
            "{bits:#010x} (software)"
        );
    }

    /// Narrowing: identical bits, NaNs included. The inputs: every bf16 value (the bf16 → f16
    /// path), each combined with low halves that set, clear or straddle every bit below f16's
    /// rounding position (ties, just above and just below, for normal and subnormal results),
    /// plus a million pseudo-random bit patterns.
    #[test]
    fn narrowing_to_f16_matches_the_replaced_conversion() {
        let mut lows = vec![0u32, 0xffff];
        for k in 0..16 {
            lows.extend([1 << k, (1 << k) - 1, (1 << k) + 1, 0xffff >> k << k]);
        }
        for high in 0..=u32::from(u16::MAX) {
            for &low in &lows {
                assert_narrowing_matches(high << 16 | low);
            }
        }
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..1_000_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            assert_narrowing_matches((state >> 32) as u32);
        }
    }

    /// Narrowing for all 2^32 f32 bit patterns (about a minute; run once after changing the
    /// `half` version: `cargo test --all-features --lib model_import::ggml -- --ignored`).
    #[test]
    #[ignore = "exhaustive over 2^32 inputs; the sampled test above runs by default"]
    fn narrowing_to_f16_matches_the_replaced_conversion_everywhere() {
        for bits in 0..=u32::MAX {
            assert_narrowing_matches(bits);
        }
    }

    /// IEEE half to single precision (exact).
    fn reference_f16_to_f32(h: u16) -> f32 {
        let sign = u32::from(h & 0x8000) << 16;
        let exp = u32::from((h >> 10) & 0x1f);
        let man = u32::from(h & 0x3ff);
        match exp {
            0 => {
                // Zero or subnormal: man × 2^-24, exact in f32.
                let v = man as f32 * f32::from_bits(0x3380_0000);
                if sign != 0 {
                    -v
                } else {
                    v
                }
            }
            0x1f => f32::from_bits(sign | 0x7f80_0000 | (man << 13)),
            _ => f32::from_bits(sign | ((exp + 112) << 23) | (man << 13)),
        }
    }

    /// Single to half precision, rounding to nearest even (what numpy's `astype(float16)` does).
    fn reference_f32_to_f16(x: f32) -> u16 {
        let bits = x.to_bits();
        let sign = ((bits >> 16) & 0x8000) as u16;
        let exp = ((bits >> 23) & 0xff) as i32;
        let man = bits & 0x007f_ffff;
        if exp == 0xff {
            let nan = if man != 0 {
                0x0200 | (man >> 13) as u16
            } else {
                0
            };
            return sign | 0x7c00 | nan;
        }
        let e = exp - 127 + 15;
        if e >= 0x1f {
            return sign | 0x7c00;
        }
        let round = |value: u32, shift: u32| {
            let kept = value >> shift;
            let rem = value & ((1 << shift) - 1);
            let half = 1 << (shift - 1);
            if rem > half || (rem == half && kept & 1 == 1) {
                kept + 1
            } else {
                kept
            }
        };
        if e <= 0 {
            if e < -10 {
                return sign;
            }
            // Subnormal half: the full 24-bit significand scaled to units of 2^-24.
            return sign | round(man | 0x0080_0000, (14 - e) as u32) as u16;
        }
        // A carry out of the mantissa correctly bumps the exponent (up to infinity).
        sign | round(((e as u32) << 23) | man, 13) as u16
    }
}
