//! The CTranslate2 `model.bin` reader: [`parse_ct2_model`] and the variables it returns.

use std::collections::HashMap;
use std::fmt;

use super::ImportError;

/// The only CTranslate2 binary format version this parser reads.
pub(crate) const CT2_BINARY_VERSION: u32 = 6;

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
    fn from_id(id: u8) -> Option<Self> {
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

    /// Whether this is a floating-point type (the only ones the conversion reads).
    pub(super) fn is_float(self) -> bool {
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
// The revision and the alias list are read by the fuzz target and the tests only.
#[cfg_attr(not(any(fuzzing, test)), allow(dead_code))]
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
    #[cfg_attr(not(any(fuzzing, test)), allow(dead_code))]
    pub fn spec_revision(&self) -> u32 {
        self.spec_revision
    }

    /// The variables in file order (CTranslate2 writes them sorted by name).
    pub fn variables(&self) -> &[Ct2Variable<'a>] {
        &self.variables
    }

    /// The aliases as `(alias, target)` pairs, e.g. the output projection sharing the token
    /// embedding.
    #[cfg_attr(not(any(fuzzing, test)), allow(dead_code))]
    pub fn aliases(&self) -> &[(String, String)] {
        &self.aliases
    }

    /// The variable with this name, following an alias if the name is one.
    pub fn get(&self, name: &str) -> Option<&Ct2Variable<'a>> {
        self.index.get(name).and_then(|&i| self.variables.get(i))
    }

    /// The variable with this name, or [`ImportError::MissingVariable`].
    pub(super) fn require(&self, name: &str) -> Result<&Ct2Variable<'a>, ImportError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model_import::fixtures::{assert_kind, put_string, Ct2Builder, TestResult};

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
}
