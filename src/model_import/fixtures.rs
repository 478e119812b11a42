//! Test fixtures: a CTranslate2 `model.bin` builder and a miniature Whisper model built with it.

use std::fmt;

use half::f16;

use super::ggml::{write_ggml, GgmlSummary};
use super::quant::Quantization;
use super::vocab::Ct2WhisperConfig;
use super::{parse_ct2_model, ImportError};

pub(super) type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// Asserts that `result` failed with error kind `kind`.
pub(super) fn assert_kind<T: fmt::Debug>(result: Result<T, ImportError>, kind: &str) {
    match result {
        Ok(v) => panic!("expected error {kind}, got Ok({v:?})"),
        Err(e) => assert_eq!(e.kind(), kind, "wrong error: {e}"),
    }
}

/// Serializes a CTranslate2 `model.bin` the way `ModelSpec._serialize` does.
#[derive(Clone)]
pub(super) struct Ct2Builder {
    /// Binary version (6).
    pub(super) version: u32,
    /// Spec name (`WhisperSpec`).
    pub(super) spec: String,
    /// Variables: name, shape, dtype id, raw data.
    pub(super) vars: Vec<(String, Vec<u32>, u8, Vec<u8>)>,
    /// `(alias, target)` pairs.
    pub(super) aliases: Vec<(String, String)>,
}

/// Appends a CTranslate2 string: u16 length counting the NUL, the bytes, the NUL.
pub(super) fn put_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u16 + 1).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
    out.push(0);
}

impl Ct2Builder {
    /// An empty version-6 `WhisperSpec`.
    pub(super) fn new() -> Self {
        Self {
            version: 6,
            spec: "WhisperSpec".into(),
            vars: Vec::new(),
            aliases: Vec::new(),
        }
    }

    /// Adds an f16 variable whose element `i` is `seed + i/8` (distinct, exact in f16).
    pub(super) fn f16(&mut self, name: &str, shape: &[u32], seed: f32) -> &mut Self {
        let n: u32 = shape.iter().product();
        let data = (0..n)
            .flat_map(|i| f16::from_f32(seed + i as f32 / 8.0).to_le_bytes())
            .collect();
        self.vars.push((name.into(), shape.to_vec(), 4, data));
        self
    }

    /// Adds an all-zero f16 variable.
    pub(super) fn zeros(&mut self, name: &str, shape: &[u32]) -> &mut Self {
        let n: u32 = shape.iter().product();
        self.vars
            .push((name.into(), shape.to_vec(), 4, vec![0; n as usize * 2]));
        self
    }

    /// Adds a variable with any dtype id and data.
    pub(super) fn raw(&mut self, name: &str, shape: &[u32], dtype: u8, data: Vec<u8>) -> &mut Self {
        self.vars.push((name.into(), shape.to_vec(), dtype, data));
        self
    }

    /// Sets rows `row_range` of the f16 vector `name` to `value`.
    pub(super) fn set_bias(&mut self, name: &str, row_range: std::ops::Range<usize>, value: f32) {
        if let Some(v) = self.vars.iter_mut().find(|v| v.0 == name) {
            for r in row_range {
                v.3[r * 2..r * 2 + 2].copy_from_slice(&f16::from_f32(value).to_le_bytes());
            }
        }
    }

    /// Removes the variable `name`.
    pub(super) fn remove(&mut self, name: &str) {
        self.vars.retain(|v| v.0 != name);
    }

    /// The serialized `model.bin` (variables sorted by name, as CTranslate2 writes them).
    pub(super) fn bytes(&self) -> Vec<u8> {
        let mut vars = self.vars.clone();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out = Vec::new();
        out.extend_from_slice(&self.version.to_le_bytes());
        put_string(&mut out, &self.spec);
        out.extend_from_slice(&3u32.to_le_bytes());
        out.extend_from_slice(&(vars.len() as u32).to_le_bytes());
        for (name, shape, dtype, data) in &vars {
            put_string(&mut out, name);
            out.push(shape.len() as u8);
            for d in shape {
                out.extend_from_slice(&d.to_le_bytes());
            }
            out.push(*dtype);
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(data);
        }
        out.extend_from_slice(&(self.aliases.len() as u32).to_le_bytes());
        for (a, t) in &self.aliases {
            put_string(&mut out, a);
            put_string(&mut out, t);
        }
        out
    }
}

// A miniature Whisper: width 4 (2 heads), 3 mel bands, 5 audio and 3 text positions,
// 1 encoder block, 2 decoder blocks, 6 tokens.
pub(super) const S: u32 = 4;
pub(super) const N_MELS: u32 = 3;
pub(super) const AUDIO_CTX: u32 = 5;
pub(super) const TEXT_CTX: u32 = 3;
pub(super) const VOCAB: [&str; 6] = [
    "!",
    "Ġa",
    "Ã©",
    "<|endoftext|>",
    "<|startoftranscript|>",
    "<|en|>",
];

/// The pre-norm of an attention or feed-forward block.
fn attention(b: &mut Ct2Builder, scope: &str, s: u32, seed: f32) {
    b.f16(&format!("{scope}/layer_norm/gamma"), &[s], seed).f16(
        &format!("{scope}/layer_norm/beta"),
        &[s],
        seed + 1.0,
    );
}

/// The miniature Whisper above, with f16 values distinct per variable and zero key biases.
pub(super) fn tiny_whisper() -> Ct2Builder {
    whisper_of_width(S)
}

/// The miniature Whisper with width `s` (2 heads) instead of [`S`]: 32 gives rows of whole
/// quantisation blocks.
pub(super) fn whisper_of_width(s: u32) -> Ct2Builder {
    let mut b = Ct2Builder::new();
    let i16_scalar = |v: i16| v.to_le_bytes().to_vec();
    b.raw("encoder/num_heads", &[], 2, i16_scalar(2))
        .raw("decoder/num_heads", &[], 2, i16_scalar(2))
        .raw("decoder/activation", &[], 1, vec![3])
        .f16("encoder/conv1/weight", &[s, N_MELS, 3], 1.0)
        .f16("encoder/conv1/bias", &[s], 2.0)
        .f16("encoder/conv2/weight", &[s, s, 3], 3.0)
        .f16("encoder/conv2/bias", &[s], 4.0)
        .f16("encoder/position_encodings/encodings", &[AUDIO_CTX, s], 5.0)
        .f16("encoder/layer_norm/gamma", &[s], 6.0)
        .f16("encoder/layer_norm/beta", &[s], 7.0)
        .f16("decoder/embeddings/weight", &[VOCAB.len() as u32, s], 8.0)
        .f16("decoder/position_encodings/encodings", &[TEXT_CTX, s], 9.0)
        .f16("decoder/layer_norm/gamma", &[s], 10.0)
        .f16("decoder/layer_norm/beta", &[s], 11.0);
    let blocks = [
        ("encoder/layer_0", false),
        ("decoder/layer_0", true),
        ("decoder/layer_1", true),
    ];
    for (n, (layer, cross)) in blocks.into_iter().enumerate() {
        let seed = 20.0 * (n as f32 + 1.0);
        let sa = format!("{layer}/self_attention");
        attention(&mut b, &sa, s, seed);
        b.f16(&format!("{sa}/linear_0/weight"), &[3 * s, s], seed + 2.0)
            .f16(&format!("{sa}/linear_0/bias"), &[3 * s], seed + 3.0)
            .f16(&format!("{sa}/linear_1/weight"), &[s, s], seed + 4.0)
            .f16(&format!("{sa}/linear_1/bias"), &[s], seed + 5.0);
        b.set_bias(
            &format!("{sa}/linear_0/bias"),
            s as usize..2 * s as usize,
            0.0,
        );
        if cross {
            let ca = format!("{layer}/attention");
            attention(&mut b, &ca, s, seed + 6.0);
            b.f16(&format!("{ca}/linear_0/weight"), &[s, s], seed + 8.0)
                .f16(&format!("{ca}/linear_0/bias"), &[s], seed + 9.0)
                .f16(&format!("{ca}/linear_1/weight"), &[2 * s, s], seed + 10.0)
                .f16(&format!("{ca}/linear_1/bias"), &[2 * s], seed + 11.0)
                .f16(&format!("{ca}/linear_2/weight"), &[s, s], seed + 12.0)
                .f16(&format!("{ca}/linear_2/bias"), &[s], seed + 13.0);
            b.set_bias(&format!("{ca}/linear_1/bias"), 0..s as usize, -0.0);
        }
        let ffn = format!("{layer}/ffn");
        attention(&mut b, &ffn, s, seed + 14.0);
        b.f16(&format!("{ffn}/linear_0/weight"), &[4 * s, s], seed + 15.0)
            .f16(&format!("{ffn}/linear_0/bias"), &[4 * s], seed + 16.0)
            .f16(&format!("{ffn}/linear_1/weight"), &[s, 4 * s], seed + 17.0)
            .f16(&format!("{ffn}/linear_1/bias"), &[s], seed + 18.0);
    }
    b.aliases.push((
        "decoder/projection/weight".into(),
        "decoder/embeddings/weight".into(),
    ));
    b
}

/// [`VOCAB`] as owned strings.
pub(super) fn vocabulary() -> Vec<String> {
    VOCAB.iter().map(|s| s.to_string()).collect()
}

/// Parses the builder's `model.bin` and writes the f16 ggml file to memory.
pub(super) fn convert(b: &Ct2Builder) -> Result<(GgmlSummary, Vec<u8>), ImportError> {
    convert_quantized(b, None)
}

/// Parses the builder's `model.bin` and writes the ggml file, quantised or not, to memory.
pub(super) fn convert_quantized(
    b: &Ct2Builder,
    quantization: Option<Quantization>,
) -> Result<(GgmlSummary, Vec<u8>), ImportError> {
    let bytes = b.bytes();
    let model = parse_ct2_model(&bytes)?;
    let mut out = Vec::new();
    let summary = write_ggml(
        &model,
        &vocabulary(),
        &Ct2WhisperConfig::default(),
        quantization,
        &mut out,
    )?;
    Ok((summary, out))
}
