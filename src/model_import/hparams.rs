//! whisper.cpp's hyper-parameters, derived from the shapes of a CTranslate2 Whisper model.

use std::collections::BTreeSet;

use super::{Ct2Model, ImportError};

/// Head width of every Whisper size (384/6, 512/8, 768/12, 1024/16, 1280/20); used only when a
/// model stores no `num_heads` scalar.
const WHISPER_HEAD_DIM: u64 = 64;

/// whisper.cpp hyper-parameters, in header order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Hparams {
    pub(super) n_vocab: i32,
    pub(super) n_audio_ctx: i32,
    pub(super) n_audio_state: i32,
    pub(super) n_audio_head: i32,
    pub(super) n_audio_layer: i32,
    pub(super) n_text_ctx: i32,
    pub(super) n_text_state: i32,
    pub(super) n_text_head: i32,
    pub(super) n_text_layer: i32,
    pub(super) n_mels: i32,
}

/// Derives the hyper-parameters from variable shapes.
pub(super) fn hparams(model: &Ct2Model<'_>) -> Result<Hparams, ImportError> {
    if model.spec_name() != "WhisperSpec" {
        return Err(ImportError::WrongSpec {
            found: model.spec_name().to_owned(),
        });
    }
    let embeddings = "decoder/embeddings/weight";
    let enc_pos = "encoder/position_encodings/encodings";
    let dec_pos = "decoder/position_encodings/encodings";
    let n_vocab = dim(model, embeddings, 0, 2)?;
    let n_text_state = dim(model, embeddings, 1, 2)?;
    let n_audio_ctx = dim(model, enc_pos, 0, 2)?;
    let n_audio_state = dim(model, enc_pos, 1, 2)?;
    let n_text_ctx = dim(model, dec_pos, 0, 2)?;
    let n_mels = dim(model, "encoder/conv1/weight", 1, 3)?;
    // Whisper models use 80 or 128 mel bands; a header claiming millions would make the
    // filterbank allocation explode (found by the memory tests).
    if n_mels == 0 || n_mels > 512 {
        return Err(ImportError::UnsupportedModel {
            reason: format!("{n_mels} mel bands (Whisper uses 80 or 128)"),
        });
    }
    if n_text_state != n_audio_state {
        return Err(ImportError::UnsupportedModel {
            reason: format!(
                "decoder width {n_text_state} differs from encoder width {n_audio_state}"
            ),
        });
    }
    let n_audio_layer = count_layers(model, "encoder");
    let n_text_layer = count_layers(model, "decoder");
    if n_audio_layer == 0 || n_text_layer == 0 {
        return Err(ImportError::MissingVariable {
            name: "encoder/layer_0 or decoder/layer_0".into(),
        });
    }
    Ok(Hparams {
        n_vocab: to_i32("n_vocab", n_vocab)?,
        n_audio_ctx: to_i32("n_audio_ctx", n_audio_ctx)?,
        n_audio_state: to_i32("n_audio_state", n_audio_state)?,
        n_audio_head: to_i32("n_audio_head", heads(model, "encoder", n_audio_state)?)?,
        n_audio_layer: to_i32("n_audio_layer", n_audio_layer)?,
        n_text_ctx: to_i32("n_text_ctx", n_text_ctx)?,
        n_text_state: to_i32("n_text_state", n_text_state)?,
        n_text_head: to_i32("n_text_head", heads(model, "decoder", n_text_state)?)?,
        n_text_layer: to_i32("n_text_layer", n_text_layer)?,
        n_mels: to_i32("n_mels", n_mels)?,
    })
}

/// Dimension `axis` of `name`, which must have rank `rank`.
fn dim(model: &Ct2Model<'_>, name: &str, axis: usize, rank: usize) -> Result<u64, ImportError> {
    let var = model.require(name)?;
    match var.shape.get(axis) {
        Some(&d) if var.shape.len() == rank => Ok(u64::from(d)),
        _ => Err(ImportError::UnexpectedShape {
            name: name.to_owned(),
            found: var.shape.clone(),
            // Only the rank is known here; the full shape is checked by the plan.
            expected: vec![0; rank],
        }),
    }
}

/// Counts `<prefix>/layer_<N>/` blocks (exact pattern: `<prefix>/layer_norm` is not a block).
fn count_layers(model: &Ct2Model<'_>, prefix: &str) -> u64 {
    let start = format!("{prefix}/layer_");
    let indices: BTreeSet<u64> = model
        .variables()
        .iter()
        .filter_map(|v| {
            let rest = v.name.strip_prefix(&start)?;
            let (digits, _) = rest.split_once('/')?;
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            digits.parse::<u64>().ok()
        })
        .collect();
    // A gap in the indices shows up as a missing variable when the plan reaches it.
    indices.len() as u64
}

/// Attention heads from the `num_heads` scalar, or width/64 when the model has none.
fn heads(model: &Ct2Model<'_>, scope: &str, state: u64) -> Result<u64, ImportError> {
    let name = format!("{scope}/num_heads");
    match model.get(&name) {
        None if state > 0 && state % WHISPER_HEAD_DIM == 0 => Ok(state / WHISPER_HEAD_DIM),
        None => Err(ImportError::MissingVariable { name }),
        Some(var) => var
            .scalar_int()
            .and_then(|h| u64::try_from(h).ok())
            .filter(|&h| h > 0 && state % h == 0)
            .ok_or_else(|| ImportError::UnsupportedModel {
                reason: format!("{name} is not a positive divisor of the width {state}"),
            }),
    }
}

/// `value` as an i32, or [`ImportError::UnsupportedModel`] naming `what`.
pub(super) fn to_i32(what: &str, value: u64) -> Result<i32, ImportError> {
    i32::try_from(value).map_err(|_| ImportError::UnsupportedModel {
        reason: format!("{what} = {value} exceeds i32"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model_import::fixtures::{assert_kind, convert, tiny_whisper, TestResult};
    use crate::model_import::parse_ct2_model;

    #[test]
    fn counts_layers_by_exact_pattern() -> TestResult {
        let bytes = tiny_whisper().bytes();
        let model = parse_ct2_model(&bytes)?;
        // `encoder/layer_norm/*` must not count as a block.
        assert_eq!(count_layers(&model, "encoder"), 1);
        assert_eq!(count_layers(&model, "decoder"), 2);
        let h = hparams(&model)?;
        assert_eq!((h.n_audio_head, h.n_text_head), (2, 2));
        Ok(())
    }

    #[test]
    fn missing_num_heads_falls_back_to_width_over_64() -> TestResult {
        let mut b = tiny_whisper();
        b.remove("encoder/num_heads");
        let bytes = b.bytes();
        let model = parse_ct2_model(&bytes)?;
        assert_eq!(heads(&model, "encoder", 384)?, 6);
        assert_eq!(heads(&model, "encoder", 1280)?, 20);
        // Width 4 has no 64-wide heads: without the scalar the model is unusable.
        assert_kind(heads(&model, "encoder", 4), "missing_variable");
        assert_kind(convert(&b), "missing_variable");
        Ok(())
    }
}
