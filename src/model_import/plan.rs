//! The tensor plan: which ggml tensor comes from which rows of which CTranslate2 variable.
//!
//! Tensors are listed in OpenAI's `state_dict` order, the fused attention projections are split
//! again, and every source variable's shape and type is checked on the way.

use std::ops::Range;

use super::hparams::Hparams;
use super::{Ct2Dtype, Ct2Model, Ct2Variable, ImportError};

/// Storage type of an output tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OutType {
    /// ggml type 0.
    F32,
    /// ggml type 1.
    F16,
}

/// One ggml tensor record to write: rows `rows` of CTranslate2 variable `source`.
pub(super) struct Planned<'m, 'a> {
    /// OpenAI's (and whisper.cpp's) tensor name.
    pub(super) name: String,
    /// PyTorch dims, outermost first (written reversed).
    pub(super) dims: Vec<u64>,
    /// Storage type in the ggml file.
    pub(super) out: OutType,
    /// The variable the data comes from.
    pub(super) source: &'m Ct2Variable<'a>,
    /// Rows of `source` along its first axis.
    pub(super) rows: Range<u64>,
}

/// Lists the ggml tensors in OpenAI `state_dict` order, checking every source variable.
pub(super) fn plan<'m, 'a>(
    model: &'m Ct2Model<'a>,
    h: &Hparams,
) -> Result<Vec<Planned<'m, 'a>>, ImportError> {
    // All values were checked non-negative by `hparams` (they came from u32 dims).
    let u = |v: i32| u64::try_from(v).unwrap_or(0);
    let s = u(h.n_audio_state);
    let mut p = Planner {
        model,
        plan: Vec::new(),
    };
    let (f16, f32) = (OutType::F16, OutType::F32);

    p.whole(
        "encoder.positional_embedding".into(),
        "encoder/position_encodings/encodings",
        &[u(h.n_audio_ctx), s],
        f32,
    )?;
    for (conv, in_ch) in [("conv1", u(h.n_mels)), ("conv2", s)] {
        p.whole(
            format!("encoder.{conv}.weight"),
            &format!("encoder/{conv}/weight"),
            &[s, in_ch, 3],
            f16,
        )?;
        // whisper.cpp wants conv biases as [n_state, 1] (ggml ne = {1, n_state}).
        let bias = p.var(&format!("encoder/{conv}/bias"), &[s])?;
        p.plan.push(Planned {
            name: format!("encoder.{conv}.bias"),
            dims: vec![s, 1],
            out: f32,
            source: bias,
            rows: 0..s,
        });
    }
    for i in 0..u(h.n_audio_layer) {
        let (src, out) = (format!("encoder/layer_{i}"), format!("encoder.blocks.{i}"));
        p.self_attention(&format!("{src}/self_attention"), &format!("{out}.attn"), s)?;
        p.layer_norm(
            &format!("{src}/self_attention/layer_norm"),
            &format!("{out}.attn_ln"),
            s,
        )?;
        p.mlp(&format!("{src}/ffn"), &out, s)?;
    }
    p.layer_norm("encoder/layer_norm", "encoder.ln_post", s)?;

    p.whole(
        "decoder.positional_embedding".into(),
        "decoder/position_encodings/encodings",
        &[u(h.n_text_ctx), s],
        f32,
    )?;
    p.whole(
        "decoder.token_embedding.weight".into(),
        "decoder/embeddings/weight",
        &[u(h.n_vocab), s],
        f16,
    )?;
    for i in 0..u(h.n_text_layer) {
        let (src, out) = (format!("decoder/layer_{i}"), format!("decoder.blocks.{i}"));
        p.self_attention(&format!("{src}/self_attention"), &format!("{out}.attn"), s)?;
        p.layer_norm(
            &format!("{src}/self_attention/layer_norm"),
            &format!("{out}.attn_ln"),
            s,
        )?;
        p.cross_attention(&format!("{src}/attention"), &format!("{out}.cross_attn"), s)?;
        p.layer_norm(
            &format!("{src}/attention/layer_norm"),
            &format!("{out}.cross_attn_ln"),
            s,
        )?;
        p.mlp(&format!("{src}/ffn"), &out, s)?;
    }
    p.layer_norm("decoder/layer_norm", "decoder.ln", s)?;

    // whisper.cpp ties the output projection to the token embedding; refuse a model where
    // they differ rather than silently drop the projection.
    if let Some(proj) = model.get("decoder/projection/weight") {
        let emb = model.require("decoder/embeddings/weight")?;
        if proj.data != emb.data || proj.dtype != emb.dtype {
            return Err(ImportError::UnsupportedModel {
                reason: "decoder/projection/weight is not tied to the token embedding".into(),
            });
        }
    }
    Ok(p.plan)
}

/// Builds the tensor plan while checking shapes and types.
struct Planner<'m, 'a> {
    model: &'m Ct2Model<'a>,
    plan: Vec<Planned<'m, 'a>>,
}

impl<'m, 'a> Planner<'m, 'a> {
    /// The float variable `name`, checked to have shape `expected`.
    fn var(&self, name: &str, expected: &[u64]) -> Result<&'m Ct2Variable<'a>, ImportError> {
        let var = self.model.require(name)?;
        if !var.dtype.is_float() {
            return Err(ImportError::UnexpectedDtype {
                name: name.to_owned(),
                found: var.dtype,
                expected: "float16, float32 or bfloat16",
            });
        }
        if !var
            .shape
            .iter()
            .map(|&d| u64::from(d))
            .eq(expected.iter().copied())
        {
            return Err(ImportError::UnexpectedShape {
                name: name.to_owned(),
                found: var.shape.clone(),
                expected: expected.to_vec(),
            });
        }
        Ok(var)
    }

    /// Adds the whole of `source` (of shape `dims`) as tensor `name`.
    fn whole(
        &mut self,
        name: String,
        source: &str,
        dims: &[u64],
        out: OutType,
    ) -> Result<(), ImportError> {
        let var = self.var(source, dims)?;
        let rows = 0..dims.first().copied().unwrap_or(1);
        self.plan.push(Planned {
            name,
            dims: dims.to_vec(),
            out,
            source: var,
            rows,
        });
        Ok(())
    }

    /// Adds rows `rows` of `var` as tensor `name`; the other dims are the variable's.
    fn rows(&mut self, name: String, var: &'m Ct2Variable<'a>, rows: Range<u64>, out: OutType) {
        let mut dims = vec![rows.end - rows.start];
        dims.extend(var.shape.iter().skip(1).map(|&d| u64::from(d)));
        self.plan.push(Planned {
            name,
            dims,
            out,
            source: var,
            rows,
        });
    }

    /// A layer norm: `gamma`/`beta` → `<out>.weight`/`<out>.bias`.
    fn layer_norm(&mut self, src: &str, out: &str, s: u64) -> Result<(), ImportError> {
        self.whole(
            format!("{out}.weight"),
            &format!("{src}/gamma"),
            &[s],
            OutType::F32,
        )?;
        self.whole(
            format!("{out}.bias"),
            &format!("{src}/beta"),
            &[s],
            OutType::F32,
        )
    }

    /// A plain linear layer: `weight` `[rows, cols]` and `bias` `[rows]`.
    fn linear(&mut self, src: &str, out: &str, rows: u64, cols: u64) -> Result<(), ImportError> {
        let w = format!("{out}.weight");
        self.whole(w, &format!("{src}/weight"), &[rows, cols], OutType::F16)?;
        self.whole(
            format!("{out}.bias"),
            &format!("{src}/bias"),
            &[rows],
            OutType::F32,
        )
    }

    /// Splits stacked projections: `parts` gives, for each block of `s` rows, the output
    /// prefix and whether it has a bias (`false` for the key projection, whose bias must be
    /// zero and is dropped).
    fn fused(&mut self, src: &str, parts: &[(&str, bool)], s: u64) -> Result<(), ImportError> {
        let n = parts.len() as u64 * s;
        let weight = self.var(&format!("{src}/weight"), &[n, s])?;
        let bias_name = format!("{src}/bias");
        let bias = self.var(&bias_name, &[n])?;
        for (i, &(out, has_bias)) in parts.iter().enumerate() {
            let rows = i as u64 * s..(i as u64 + 1) * s;
            self.rows(format!("{out}.weight"), weight, rows.clone(), OutType::F16);
            if has_bias {
                self.rows(format!("{out}.bias"), bias, rows, OutType::F32);
            } else if !rows_are_zero(bias, rows)? {
                return Err(ImportError::NonZeroKeyBias { name: bias_name });
            }
        }
        Ok(())
    }

    /// Self-attention block: fused q,k,v `linear_0`, output `linear_1`, pre-norm.
    fn self_attention(&mut self, src: &str, out: &str, s: u64) -> Result<(), ImportError> {
        let (q, k, v) = (
            format!("{out}.query"),
            format!("{out}.key"),
            format!("{out}.value"),
        );
        self.fused(
            &format!("{src}/linear_0"),
            &[(&q, true), (&k, false), (&v, true)],
            s,
        )?;
        self.linear(&format!("{src}/linear_1"), &format!("{out}.out"), s, s)
    }

    /// Cross-attention block: q `linear_0`, fused k,v `linear_1`, output `linear_2`.
    fn cross_attention(&mut self, src: &str, out: &str, s: u64) -> Result<(), ImportError> {
        self.linear(&format!("{src}/linear_0"), &format!("{out}.query"), s, s)?;
        let (k, v) = (format!("{out}.key"), format!("{out}.value"));
        self.fused(&format!("{src}/linear_1"), &[(&k, false), (&v, true)], s)?;
        self.linear(&format!("{src}/linear_2"), &format!("{out}.out"), s, s)
    }

    /// Feed-forward block: `linear_0` `[4s, s]`, GELU, `linear_1` `[s, 4s]`, pre-norm.
    fn mlp(&mut self, src: &str, out: &str, s: u64) -> Result<(), ImportError> {
        self.linear(
            &format!("{src}/linear_0"),
            &format!("{out}.mlp.0"),
            4 * s,
            s,
        )?;
        self.linear(
            &format!("{src}/linear_1"),
            &format!("{out}.mlp.2"),
            s,
            4 * s,
        )?;
        self.layer_norm(&format!("{src}/layer_norm"), &format!("{out}.mlp_ln"), s)
    }
}

/// Whether rows `rows` of a float vector are all (positive or negative) zero.
fn rows_are_zero(var: &Ct2Variable<'_>, rows: Range<u64>) -> Result<bool, ImportError> {
    let bytes = row_bytes(var, rows)?;
    Ok(match var.dtype {
        Ct2Dtype::F32 => bytes
            .chunks_exact(4)
            .all(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) & 0x7fff_ffff == 0),
        _ => bytes
            .chunks_exact(2)
            .all(|c| u16::from_le_bytes([c[0], c[1]]) & 0x7fff == 0),
    })
}

/// The bytes of rows `rows` (along the first axis) of `var`.
pub(super) fn row_bytes<'a>(
    var: &Ct2Variable<'a>,
    rows: Range<u64>,
) -> Result<&'a [u8], ImportError> {
    let row_len = var
        .shape
        .iter()
        .skip(1)
        .try_fold(var.dtype.size() as u64, |acc, &d| {
            acc.checked_mul(u64::from(d))
        });
    let range = row_len.and_then(|len| {
        let start = usize::try_from(rows.start.checked_mul(len)?).ok()?;
        let end = usize::try_from(rows.end.checked_mul(len)?).ok()?;
        Some(start..end)
    });
    range
        .and_then(|r| var.data.get(r))
        .ok_or_else(|| ImportError::UnexpectedShape {
            name: var.name.clone(),
            found: var.shape.clone(),
            expected: vec![rows.end],
        })
}

#[cfg(test)]
mod tests {
    use crate::model_import::fixtures::{assert_kind, convert, tiny_whisper, N_MELS, S, VOCAB};

    #[test]
    fn conversion_errors_have_their_kinds() {
        let mut b = tiny_whisper();
        b.set_bias("encoder/layer_0/self_attention/linear_0/bias", 5..6, 0.5);
        assert_kind(convert(&b), "nonzero_key_bias");

        let mut b = tiny_whisper();
        b.set_bias("decoder/layer_1/attention/linear_1/bias", 0..1, 1.0);
        assert_kind(convert(&b), "nonzero_key_bias");

        let mut b = tiny_whisper();
        b.remove("decoder/layer_1/ffn/linear_1/bias");
        assert_kind(convert(&b), "missing_variable");

        let mut b = tiny_whisper();
        b.remove("encoder/layer_0/ffn/linear_0/weight");
        b.f16("encoder/layer_0/ffn/linear_0/weight", &[3 * S, S], 0.0);
        assert_kind(convert(&b), "unexpected_shape");

        let mut b = tiny_whisper();
        b.remove("encoder/conv1/weight");
        b.f16("encoder/conv1/weight", &[S, N_MELS], 0.0);
        assert_kind(convert(&b), "unexpected_shape");

        let mut b = tiny_whisper();
        b.remove("decoder/layer_0/ffn/linear_1/weight");
        b.raw(
            "decoder/layer_0/ffn/linear_1/weight",
            &[S, 4 * S],
            1,
            vec![0; 64],
        );
        assert_kind(convert(&b), "unexpected_dtype");

        let mut b = tiny_whisper();
        b.spec = "TransformerSpec".into();
        assert_kind(convert(&b), "wrong_spec");

        let mut b = tiny_whisper();
        b.aliases.clear();
        b.zeros("decoder/projection/weight", &[VOCAB.len() as u32, S]);
        assert_kind(convert(&b), "unsupported_model");

        let mut b = tiny_whisper();
        b.remove("encoder/num_heads");
        b.raw("encoder/num_heads", &[], 2, 3i16.to_le_bytes().to_vec());
        assert_kind(convert(&b), "unsupported_model");

        // A gap in the block numbering is a missing block, not a shorter model.
        let mut b = tiny_whisper();
        for v in b.vars.iter_mut() {
            if let Some(rest) = v.0.strip_prefix("decoder/layer_1/") {
                v.0 = format!("decoder/layer_7/{rest}");
            }
        }
        assert_kind(convert(&b), "missing_variable");
    }
}
