//! Arbitrary bytes as a CTranslate2 `model.bin`: `model_import::parse_ct2_model`, every
//! accessor of what it returns, and — for inputs that parse as a `WhisperSpec` — the whole
//! `model_import::import` conversion to ggml (through a scratch folder in `/dev/shm`, since
//! `import` reads a model folder). Findings: panics, overflows, out-of-bounds slices, and
//! allocations that do not follow from the input's size.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use callscribe::model_import::{import, parse_ct2_model, Ct2Dtype};
use libfuzzer_sys::fuzz_target;

/// Largest vocabulary written for the conversion; larger models only get the parse checks.
const MAX_VOCAB: u32 = 4096;

fuzz_target!(|data: &[u8]| {
    let Ok(model) = parse_ct2_model(data) else {
        return;
    };
    let _ = (model.spec_name(), model.spec_revision());
    for v in model.variables() {
        let elements: u64 = v.shape.iter().map(|&d| u64::from(d)).product();
        assert_eq!(
            elements * v.dtype.size() as u64,
            v.data.len() as u64,
            "{}: data length does not match shape {:?}",
            v.name,
            v.shape
        );
        assert!(model.get(&v.name).is_some());
        let _ = v.scalar_int();
        let _ = matches!(v.dtype, Ct2Dtype::F16);
    }
    for (alias, target) in model.aliases() {
        assert!(model.get(alias).is_some() && model.get(target).is_some());
    }
    if model.spec_name() != "WhisperSpec" {
        return;
    }
    // One embedding row per token: write a vocabulary that fits, so the conversion gets past
    // the vocabulary check to the tensor plan and the writer.
    let n_vocab = match model
        .get("decoder/embeddings/weight")
        .map(|v| v.shape.as_slice())
    {
        Some(&[n, _]) if (1..=MAX_VOCAB).contains(&n) => n,
        _ => return,
    };
    let dir = scratch();
    let mut vocabulary = "a\n".repeat(n_vocab as usize - 1);
    vocabulary.push_str("<|startoftranscript|>\n");
    std::fs::write(dir.join("vocabulary.txt"), vocabulary).expect("write vocabulary");
    std::fs::write(dir.join("model.bin"), data).expect("write model.bin");
    let output = dir.join("out").join("ggml.bin");
    if let Ok(report) = import(dir, &output) {
        assert_eq!(report.n_vocab as u32, n_vocab);
        let written = std::fs::metadata(&output).expect("output exists").len();
        assert_eq!(written, report.output_bytes);
    }
    let _ = std::fs::remove_file(&output);
});

/// A per-process scratch folder (in RAM where possible) with a fixed `config.json`.
fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // `fuzz/run.sh` names a folder of its own (removed when it ends); by hand, /dev/shm.
        let base = match std::env::var_os("CALLSCRIBE_FUZZ_SCRATCH") {
            Some(dir) => PathBuf::from(dir),
            None if std::path::Path::new("/dev/shm").is_dir() => PathBuf::from("/dev/shm"),
            None => std::env::temp_dir(),
        };
        let dir = base.join(format!("callscribe-fuzz-ct2-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch folder");
        std::fs::write(dir.join("config.json"), b"{}").expect("write config.json");
        dir
    })
}
