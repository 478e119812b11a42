//! Scratch space for one test or benchmark, from the `tempfile` crate: folders and files named
//! `callscribe-<tag>-<random>` in the system temp dir, removed with their contents when the
//! handle is dropped (a panicking test included). Shared with `benches/serve_load.rs` (through
//! `#[path]`), so it depends on nothing else in `tests/support/`.

#![allow(dead_code)] // The tests and the benchmark use different subsets.

use std::path::{Path, PathBuf};

use tempfile::{NamedTempFile, TempDir};

/// A new, empty folder `callscribe-<tag>-<random>`; it lives as long as the returned handle.
pub fn temp_dir(tag: &str) -> TempDir {
    tempfile::Builder::new()
        .prefix(&format!("callscribe-{tag}-"))
        .tempdir()
        .unwrap_or_else(|e| panic!("creating a temp dir for {tag}: {e}"))
}

/// A new, empty file `callscribe-<tag>-<random><suffix>`; it lives as long as the returned
/// handle. For a child process that is handed a path to write to (strace's `-o`).
pub fn temp_file(tag: &str, suffix: &str) -> NamedTempFile {
    tempfile::Builder::new()
        .prefix(&format!("callscribe-{tag}-"))
        .suffix(suffix)
        .tempfile()
        .unwrap_or_else(|e| panic!("creating a temp file for {tag}: {e}"))
}

/// Every file below `dir` (folders are walked, not listed), as sorted `/`-separated paths
/// relative to it: what a command left in its scratch folder.
pub fn files_below(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        let entries = std::fs::read_dir(&folder)
            .unwrap_or_else(|e| panic!("listing {}: {e}", folder.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).expect("below the listed folder");
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    out
}
