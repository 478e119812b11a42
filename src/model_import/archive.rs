//! Reads the model files from CTranslate2 folders and zip archives (`.whl`, `.zip`).
//!
//! The files may be spread over several inputs, and `model.bin` may come in numbered parts
//! (`model.bin.part1`, `model.bin.part2`, …), as when a model is split over packages to stay
//! under a registry's size limit; the parts are concatenated in number order. Each file is
//! read into memory up to a size bound; nothing is extracted to disk.

use std::fs::{self, File};
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use super::ImportError;

/// Largest `model.bin` read, whole or all parts together (large-v3 in f16 is about 3.1 GB).
const MAX_MODEL_BIN_BYTES: u64 = 4 << 30;
/// Largest `config.json` or vocabulary file read (tiny.en's vocabulary is 422 kB).
const MAX_TEXT_FILE_BYTES: u64 = 16 << 20;

/// The name prefix of a `model.bin` part; the part number follows in decimal.
const PART_PREFIX: &str = "model.bin.part";

/// The three input files, read into memory.
pub(super) struct Ct2Files {
    /// `model.bin`, or its parts concatenated.
    pub(super) model_bin: Vec<u8>,
    /// `config.json`.
    pub(super) config_json: Vec<u8>,
    /// `vocabulary.txt`, or `vocabulary.json` when `vocabulary_is_json`.
    pub(super) vocabulary: Vec<u8>,
    /// Whether `vocabulary` is the JSON list rather than the text file.
    pub(super) vocabulary_is_json: bool,
    /// How many parts `model_bin` was read from (1 for a whole `model.bin`).
    pub(super) model_parts: usize,
}

/// A file the import looks for, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wanted {
    Model,
    /// `model.bin.part<N>`, N ≥ 1.
    ModelPart(u32),
    Config,
    VocabularyTxt,
    VocabularyJson,
}

impl Wanted {
    /// What a file named `name` (no folder) is, if anything the import reads. Names that merely
    /// resemble one ("model.bin.bak", "old_model.bin", "model.bin.part0") are not.
    fn of(name: &str) -> Option<Self> {
        match name {
            "model.bin" => Some(Self::Model),
            "config.json" => Some(Self::Config),
            "vocabulary.txt" => Some(Self::VocabularyTxt),
            "vocabulary.json" => Some(Self::VocabularyJson),
            _ => {
                let digits = name.strip_prefix(PART_PREFIX)?;
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                digits
                    .parse::<u32>()
                    .ok()
                    .filter(|&n| n >= 1)
                    .map(Self::ModelPart)
            }
        }
    }

    /// The name used in errors.
    fn file(self) -> &'static str {
        match self {
            Self::Model | Self::ModelPart(_) => "model.bin",
            Self::Config => "config.json",
            Self::VocabularyTxt => "vocabulary.txt",
            Self::VocabularyJson => "vocabulary.json",
        }
    }
}

/// A wanted file, found.
struct Found {
    wanted: Wanted,
    entry: Entry,
}

/// Where a found file is.
enum Entry {
    /// A file of an input folder (its files, not its sub-folders, are looked at).
    File(PathBuf),
    /// An entry of the zip archive `archives[archive]`, anywhere inside it: its index and
    /// full name.
    Zip {
        archive: usize,
        index: usize,
        name: String,
    },
}

/// All the inputs, indexed by the files they hold; the archives stay open.
struct Inputs {
    archives: Vec<(PathBuf, zip::ZipArchive<BufReader<File>>)>,
    found: Vec<Found>,
    paths: Vec<PathBuf>,
}

/// Reads `model.bin` (whole or in parts), `config.json` and the vocabulary from `inputs`,
/// each a CTranslate2 folder or a zip archive holding the files anywhere inside it. Every
/// file must be found exactly once over all inputs; `vocabulary.txt` is taken when present,
/// else `vocabulary.json`.
pub(super) fn read_inputs<P: AsRef<Path>>(inputs: &[P]) -> Result<Ct2Files, ImportError> {
    let mut all = Inputs {
        archives: Vec::new(),
        found: Vec::new(),
        paths: inputs.iter().map(|p| p.as_ref().to_path_buf()).collect(),
    };
    for input in inputs {
        all.open(input.as_ref())?;
    }

    let config = all.require(Wanted::Config)?;
    let (vocabulary, vocabulary_is_json) = match all.unique(Wanted::VocabularyTxt)? {
        Some(i) => (i, false),
        None => match all.unique(Wanted::VocabularyJson)? {
            Some(i) => (i, true),
            None => return Err(all.missing("vocabulary.txt")),
        },
    };
    let model = all.model_files()?;

    let mut model_bin = Vec::new();
    let mut budget = Budget {
        file: "model.bin",
        limit: MAX_MODEL_BIN_BYTES,
        used: 0,
    };
    // Reserve what the parts declare (bounded by the limit) so the concatenation is not
    // copied as it grows; a declared size is only a hint, the reads enforce the limit.
    let mut declared = 0u64;
    for &i in &model {
        declared = declared.saturating_add(all.declared_size(i)?);
    }
    if declared > MAX_MODEL_BIN_BYTES {
        return Err(ImportError::TooLarge {
            file: "model.bin",
            size: declared,
            limit: MAX_MODEL_BIN_BYTES,
        });
    }
    if let Ok(n) = usize::try_from(declared) {
        // Best effort: when the allocation fails, the reads grow the buffer instead.
        let _ = model_bin.try_reserve_exact(n);
    }
    for &i in &model {
        all.read(i, &mut budget, &mut model_bin)?;
    }

    let mut text = |i: usize, file: &'static str| {
        let mut out = Vec::new();
        let mut budget = Budget {
            file,
            limit: MAX_TEXT_FILE_BYTES,
            used: 0,
        };
        all.read(i, &mut budget, &mut out).map(|()| out)
    };
    Ok(Ct2Files {
        model_bin,
        config_json: text(config, "config.json")?,
        vocabulary: text(
            vocabulary,
            if vocabulary_is_json {
                "vocabulary.json"
            } else {
                "vocabulary.txt"
            },
        )?,
        vocabulary_is_json,
        model_parts: model.len(),
    })
}

/// A size limit shared by the reads that make up one file.
struct Budget {
    file: &'static str,
    limit: u64,
    used: u64,
}

impl Inputs {
    /// Opens `input` and records the wanted files it holds.
    fn open(&mut self, input: &Path) -> Result<(), ImportError> {
        let meta = fs::metadata(input).map_err(|source| ImportError::Io {
            op: "read",
            path: input.to_path_buf(),
            source,
        })?;
        if meta.is_dir() {
            let list_err = |source| ImportError::Io {
                op: "list",
                path: input.to_path_buf(),
                source,
            };
            let mut files = Vec::new();
            for entry in fs::read_dir(input).map_err(list_err)? {
                let entry = entry.map_err(list_err)?;
                let name = entry.file_name();
                if let Some(wanted) = name.to_str().and_then(Wanted::of) {
                    files.push((wanted, entry.path()));
                }
            }
            // read_dir's order is the file system's; errors should not depend on it.
            files.sort_by(|a, b| a.1.cmp(&b.1));
            for (wanted, path) in files {
                self.found.push(Found {
                    wanted,
                    entry: Entry::File(path),
                });
            }
            return Ok(());
        }

        let file = File::open(input).map_err(|source| ImportError::Io {
            op: "open",
            path: input.to_path_buf(),
            source,
        })?;
        let archive_err = |source| ImportError::Archive {
            path: input.to_path_buf(),
            source,
        };
        let archive = zip::ZipArchive::new(BufReader::new(file)).map_err(archive_err)?;
        for (index, name) in archive.file_names().enumerate() {
            let name = name.map_err(archive_err)?;
            let base = name.rsplit('/').next().unwrap_or(&name);
            if let Some(wanted) = Wanted::of(base) {
                self.found.push(Found {
                    wanted,
                    entry: Entry::Zip {
                        archive: self.archives.len(),
                        index,
                        name: name.into_owned(),
                    },
                });
            }
        }
        self.archives.push((input.to_path_buf(), archive));
        Ok(())
    }

    /// The one file matching `wanted`, if any; two are an error.
    fn unique(&self, wanted: Wanted) -> Result<Option<usize>, ImportError> {
        let mut matches = (0..self.found.len()).filter(|&i| self.found[i].wanted == wanted);
        let first = matches.next();
        if let (Some(first), Some(second)) = (first, matches.next()) {
            return Err(self.ambiguous(wanted.file(), first, second));
        }
        Ok(first)
    }

    /// The one file matching `wanted`; none or two are an error.
    fn require(&self, wanted: Wanted) -> Result<usize, ImportError> {
        self.unique(wanted)?
            .ok_or_else(|| self.missing(wanted.file()))
    }

    /// The files making up `model.bin`: the whole file, or its parts in number order.
    fn model_files(&self) -> Result<Vec<usize>, ImportError> {
        let whole = self.unique(Wanted::Model)?;
        let mut parts: Vec<(u32, usize)> = self
            .found
            .iter()
            .enumerate()
            .filter_map(|(i, f)| match f.wanted {
                Wanted::ModelPart(n) => Some((n, i)),
                _ => None,
            })
            .collect();
        match (whole, parts.first()) {
            (Some(whole), Some(&(_, part))) => Err(self.ambiguous("model.bin", whole, part)),
            (Some(whole), None) => Ok(vec![whole]),
            (None, None) => Err(self.missing("model.bin")),
            (None, Some(_)) => {
                // Stable: equal numbers keep their input order, for the error message.
                parts.sort_by_key(|&(n, _)| n);
                if let Some(pair) = parts.windows(2).find(|p| p[0].0 == p[1].0) {
                    return Err(ImportError::DuplicatePart {
                        part: pair[0].0,
                        first: self.location(pair[0].1),
                        second: self.location(pair[1].1),
                    });
                }
                // Numbers are distinct and sorted: the first gap is the first missing part.
                for (expected, &(n, _)) in (1u32..).zip(&parts) {
                    if n != expected {
                        return Err(self.missing_part(expected, &parts));
                    }
                }
                Ok(parts.into_iter().map(|(_, i)| i).collect())
            }
        }
    }

    /// The size `found[i]` declares (a file's metadata, an archive entry's header).
    fn declared_size(&mut self, i: usize) -> Result<u64, ImportError> {
        match &self.found[i].entry {
            Entry::File(path) => {
                fs::metadata(path)
                    .map(|m| m.len())
                    .map_err(|source| ImportError::Io {
                        op: "read",
                        path: path.clone(),
                        source,
                    })
            }
            &Entry::Zip { archive, index, .. } => {
                let (path, archive) = &mut self.archives[archive];
                archive
                    .by_index(index)
                    .map(|e| e.size())
                    .map_err(|source| ImportError::Archive {
                        path: path.clone(),
                        source,
                    })
            }
        }
    }

    /// Appends the bytes of `found[i]` to `out`, within `budget`.
    fn read(
        &mut self,
        i: usize,
        budget: &mut Budget,
        out: &mut Vec<u8>,
    ) -> Result<(), ImportError> {
        let location = self.location(i);
        let remaining = budget.limit.saturating_sub(budget.used);
        let too_large = |budget: &Budget, size: u64| ImportError::TooLarge {
            file: budget.file,
            size: budget.used.saturating_add(size),
            limit: budget.limit,
        };
        let read = match &self.found[i].entry {
            Entry::File(path) => {
                let handle = File::open(path).map_err(|source| ImportError::Io {
                    op: "open",
                    path: path.clone(),
                    source,
                })?;
                read_limited(handle, remaining, out).map_err(|e| match e {
                    ReadLimitedError::TooLarge(size) => too_large(budget, size),
                    ReadLimitedError::Io(source) => ImportError::Io {
                        op: "read",
                        path: path.clone(),
                        source,
                    },
                })?
            }
            &Entry::Zip { archive, index, .. } => {
                let (path, archive) = &mut self.archives[archive];
                let entry = archive
                    .by_index(index)
                    .map_err(|source| ImportError::Archive {
                        path: path.clone(),
                        source,
                    })?;
                // The declared size is checked first; `read_limited` then enforces the limit
                // on what actually decompresses, in case the header lies.
                if entry.size() > remaining {
                    return Err(too_large(budget, entry.size()));
                }
                read_limited(entry, remaining, out).map_err(|e| match e {
                    ReadLimitedError::TooLarge(size) => too_large(budget, size),
                    ReadLimitedError::Io(source) => ImportError::Io {
                        op: "decompress",
                        path: PathBuf::from(&location),
                        source,
                    },
                })?
            }
        };
        budget.used += read;
        Ok(())
    }

    /// Where `found[i]` is, for messages: a file's path, or `entry in archive`.
    fn location(&self, i: usize) -> String {
        match &self.found[i].entry {
            Entry::File(path) => path.display().to_string(),
            Entry::Zip { archive, name, .. } => match self.archives.get(*archive) {
                Some((path, _)) => format!("{name} in {}", path.display()),
                None => name.clone(),
            },
        }
    }
    fn ambiguous(&self, file: &'static str, first: usize, second: usize) -> ImportError {
        ImportError::AmbiguousFile {
            file,
            first: self.location(first),
            second: self.location(second),
        }
    }

    fn missing(&self, file: &'static str) -> ImportError {
        ImportError::MissingFile {
            file,
            inputs: self.paths.clone(),
        }
    }

    fn missing_part(&self, part: u32, found: &[(u32, usize)]) -> ImportError {
        ImportError::MissingPart {
            part,
            found: found.iter().map(|&(n, _)| n).collect(),
            inputs: self.paths.clone(),
        }
    }
}

enum ReadLimitedError {
    /// At least this many bytes, over the limit.
    TooLarge(u64),
    Io(io::Error),
}

/// Appends at most `limit` bytes of `reader` to `out` and returns how many; one byte more
/// means the input is too large, whatever any header claimed.
fn read_limited(reader: impl Read, limit: u64, out: &mut Vec<u8>) -> Result<u64, ReadLimitedError> {
    let read = reader
        .take(limit.saturating_add(1))
        .read_to_end(out)
        .map_err(ReadLimitedError::Io)? as u64;
    if read > limit {
        return Err(ReadLimitedError::TooLarge(read));
    }
    Ok(read)
}
