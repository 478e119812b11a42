//! [`ImportError`]: why a model import failed, with a stable `kind()` name per variant.

use std::io;
use std::path::PathBuf;

use super::Ct2Dtype;

/// Why an import failed. [`ImportError::kind`] gives a stable name for each variant.
#[derive(thiserror::Error, Debug)]
pub enum ImportError {
    /// A file system operation failed.
    #[error("cannot {op} {path}: {source}")]
    Io {
        /// What was being done ("read", "create", "write", "rename", ...).
        op: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Writing the ggml stream failed (no path: the sink is any writer).
    #[error("cannot write ggml output: {source}")]
    Write {
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The input archive could not be read as a zip file.
    #[error("cannot read archive {path}: {source}")]
    Archive {
        /// The archive.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: zip::result::ZipError,
    },
    /// A required file is in none of the model directories or archives.
    #[error("{file} not found in {}", display_paths(.inputs))]
    MissingFile {
        /// The file name looked for.
        file: &'static str,
        /// The directories and archives searched.
        inputs: Vec<PathBuf>,
    },
    /// The inputs hold more than one file with the name looked for (or both `model.bin` and
    /// `model.bin` parts).
    #[error("{file} appears more than once: {first} and {second}")]
    AmbiguousFile {
        /// The file name looked for.
        file: &'static str,
        /// The first match: a file's path, or `entry in archive`.
        first: String,
        /// Another match, likewise.
        second: String,
    },
    /// `model.bin` comes in parts and part `part` is in none of the inputs.
    #[error(
        "model.bin.part{part} not found in {} (parts found: {found:?})",
        display_paths(.inputs)
    )]
    MissingPart {
        /// The first missing part number (parts are numbered from 1).
        part: u32,
        /// The part numbers found, in order.
        found: Vec<u32>,
        /// The directories and archives searched.
        inputs: Vec<PathBuf>,
    },
    /// The inputs hold a `model.bin` part twice.
    #[error("model.bin.part{part} appears more than once: {first} and {second}")]
    DuplicatePart {
        /// The part number.
        part: u32,
        /// The first copy: a file's path, or `entry in archive`.
        first: String,
        /// Another copy, likewise.
        second: String,
    },
    /// An input file is larger than this importer accepts.
    #[error("{file} is {size} bytes, over the {limit} byte limit")]
    TooLarge {
        /// The file name.
        file: &'static str,
        /// Its size (or a lower bound of it).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// `model.bin` has a binary version other than 6, the only one the parser reads.
    #[error("unsupported ctranslate2 binary version {found} (supported: {supported})")]
    UnsupportedVersion {
        /// The version in the file.
        found: u32,
        /// The version this parser reads.
        supported: u32,
    },
    /// `model.bin` is not a Whisper model.
    #[error("model spec is {found:?}, expected \"WhisperSpec\"")]
    WrongSpec {
        /// The spec name in the file.
        found: String,
    },
    /// `model.bin` ends inside a field.
    #[error(
        "model.bin truncated at offset {offset} reading {field}: {needed} bytes needed, {available} left"
    )]
    Truncated {
        /// Byte offset of the field.
        offset: usize,
        /// The field being read.
        field: &'static str,
        /// Bytes the field needs.
        needed: u64,
        /// Bytes left in the input.
        available: usize,
    },
    /// A length-prefixed string in `model.bin` is malformed.
    #[error("bad string at offset {offset} of model.bin: {reason}")]
    BadString {
        /// Byte offset of the string's length prefix.
        offset: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A variable has a data type id CTranslate2 does not define.
    #[error("variable {name} has unknown dtype id {dtype}")]
    UnknownDtype {
        /// The variable.
        name: String,
        /// The type id found.
        dtype: u8,
    },
    /// A variable's byte count does not match its shape and data type.
    #[error(
        "variable {name}: shape {shape:?} of {dtype} needs {expected:?} bytes, record has {found}"
    )]
    SizeMismatch {
        /// The variable.
        name: String,
        /// Its shape.
        shape: Vec<u32>,
        /// Its data type.
        dtype: Ct2Dtype,
        /// Bytes the shape needs (`None` when that overflows).
        expected: Option<u64>,
        /// Bytes in the record.
        found: u32,
    },
    /// Two variables or aliases share a name.
    #[error("variable {name} is defined twice")]
    DuplicateVariable {
        /// The name.
        name: String,
    },
    /// `model.bin` has bytes after its alias table.
    #[error("{count} unexpected bytes after the end of model.bin at offset {offset}")]
    TrailingBytes {
        /// Where the unexpected bytes start.
        offset: usize,
        /// How many there are.
        count: usize,
    },
    /// A variable the conversion needs (or an alias target) is not in the model.
    #[error("missing variable {name}")]
    MissingVariable {
        /// The variable name.
        name: String,
    },
    /// A variable has a data type the conversion cannot use (e.g. an int8-quantized model).
    #[error("variable {name} has dtype {found}, expected {expected}")]
    UnexpectedDtype {
        /// The variable.
        name: String,
        /// Its data type.
        found: Ct2Dtype,
        /// What was expected.
        expected: &'static str,
    },
    /// A variable has a shape inconsistent with the rest of the model.
    #[error("variable {name} has shape {found:?}, expected {expected:?}")]
    UnexpectedShape {
        /// The variable.
        name: String,
        /// Its shape.
        found: Vec<u32>,
        /// The shape implied by the other variables (all zeros when only the rank is checked).
        expected: Vec<u64>,
    },
    /// A key-projection bias is not zero, so dropping it would change the model.
    #[error("key bias in {name} is not zero")]
    NonZeroKeyBias {
        /// The fused bias variable.
        name: String,
    },
    /// `config.json` is not valid.
    #[error("bad config.json: {reason}")]
    BadConfig {
        /// What is wrong with it.
        reason: String,
    },
    /// The vocabulary file is not valid.
    #[error("bad vocabulary at token {index}: {reason}")]
    BadVocabulary {
        /// Zero-based token index (line number minus one for `vocabulary.txt`).
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The model is valid CTranslate2 but cannot be expressed in whisper.cpp's format.
    #[error("unsupported model: {reason}")]
    UnsupportedModel {
        /// Why.
        reason: String,
    },
}

impl ImportError {
    /// Stable snake_case name of the variant, for JSON output and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Io { .. } | Self::Write { .. } => "io",
            Self::Archive { .. } => "bad_archive",
            Self::MissingFile { .. } => "missing_file",
            Self::AmbiguousFile { .. } => "ambiguous_file",
            Self::MissingPart { .. } => "missing_part",
            Self::DuplicatePart { .. } => "duplicate_part",
            Self::TooLarge { .. } => "too_large",
            Self::UnsupportedVersion { .. } => "unsupported_version",
            Self::WrongSpec { .. } => "wrong_spec",
            Self::Truncated { .. } => "truncated",
            Self::BadString { .. } => "bad_string",
            Self::UnknownDtype { .. } => "unknown_dtype",
            Self::SizeMismatch { .. } => "size_mismatch",
            Self::DuplicateVariable { .. } => "duplicate_variable",
            Self::TrailingBytes { .. } => "trailing_bytes",
            Self::MissingVariable { .. } => "missing_variable",
            Self::UnexpectedDtype { .. } => "unexpected_dtype",
            Self::UnexpectedShape { .. } => "unexpected_shape",
            Self::NonZeroKeyBias { .. } => "nonzero_key_bias",
            Self::BadConfig { .. } => "bad_config",
            Self::BadVocabulary { .. } => "bad_vocabulary",
            Self::UnsupportedModel { .. } => "unsupported_model",
        }
    }
}

/// Paths for a message: `a, b and c`.
fn display_paths(paths: &[PathBuf]) -> String {
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    match names.split_last() {
        None => "no input".to_owned(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}
