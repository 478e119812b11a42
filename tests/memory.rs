//! Memory bounds: the peak RSS of the real binary on a 2-minute call, a batch of 50 files and
//! hostile inputs (a 6-hour FLAC of silence, an RF64 header claiming 2^63 bytes, a tiny
//! CTranslate2 model claiming 2^31 mel bands) stays under documented bounds.
//!
//! Each measurement runs `callscribe` as its own child process under GNU time
//! (`/usr/bin/time -f %M`, the child's `ru_maxrss`), so one measurement never sees another's
//! memory. Every child also runs under `ulimit -v` ([`ADDRESS_SPACE_KIB`]) so that a
//! regression fails this test quickly instead of taking the machine's memory with it.
//!
//! The bounds were set from measurements on the CI machine (x86_64, 2 cores, so `-j` = 2
//! jobs), with headroom for allocator and thread-count noise; see SECURITY.md "Resource
//! exhaustion" for the table. Recordings are generated at test time from `samples/` in a
//! scratch folder that is removed afterwards. GNU time missing: the tests fail on CI (env `CI`)
//! and print a loud SKIPPED elsewhere.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use callscribe::result::Status;
use callscribe::{ErrorKind, RecordingResult};

use crate::support::cli_run::collect;
use crate::support::model::{model_lock, repo_path, require_model};
use crate::support::temp_dir;
use crate::support::wav::{looped_pcm16_wav, pcm16_wav, read_pcm16_sample};

const MIB: u64 = 1024;

/// Address-space cap of every measured child, in KiB (6 GiB): far above any bound below (the
/// Whisper run maps its model and thread arenas), far below what would endanger the machine.
const ADDRESS_SPACE_KIB: u64 = 6 * 1024 * 1024;

/// Bounds on peak RSS, in KiB: about twice the measurement (in each comment) or more, for
/// allocator and thread-timing noise. Measured with the test build (opt-level 2) on the CI
/// machine, 2 cores.
mod bound {
    use super::MIB;
    /// 2-minute 16 kHz mono PCM WAV (3.8 MB), no transcription. Measured 21.4 MiB.
    pub const CALL_16K_MONO: u64 = 48 * MIB;
    /// 2-minute 48 kHz stereo PCM WAV (23 MB), no transcription. Measured 60.4 MiB.
    pub const CALL_48K_STEREO: u64 = 128 * MIB;
    /// 50 mixed-format files, two jobs at a time, no transcription. Measured 18.2 MiB.
    pub const BATCH_50: u64 = 48 * MIB;
    /// What 50 files may cost over 5: memory follows the job count, not the batch size.
    /// Measured 3.4 MiB (14.8 MiB for 5 files).
    pub const BATCH_GROWTH: u64 = 16 * MIB;
    /// The 6-hour FLAC of silence (stops at the 600 s duration limit). Measured 27.6 MiB.
    pub const SIX_HOUR_FLAC: u64 = 64 * MIB;
    /// The RF64 file whose ds64 chunk claims 2^63 data bytes. Measured 9.1 MiB.
    pub const RF64_2POW63: u64 = 32 * MIB;
    /// `model import` of a 2 KB model.bin claiming 2^31 - 1 mel bands. The same model with 80
    /// bands imports in 8.4 MiB; today the hostile one aborts (see the test).
    pub const HOSTILE_MODEL_IMPORT: u64 = 64 * MIB;
    /// 2-minute 16 kHz mono call (8 s of speech, then silence) transcribed with
    /// ggml-tiny.en: the model, encoder and decoder buffers dominate. Measured 147 MiB (328 MiB
    /// for 2 minutes of continuous speech, which is transcribed in 30 s windows).
    pub const CALL_16K_MONO_WHISPER: u64 = 320 * MIB;
}

/// A finished measured run.
#[derive(Debug)]
struct Measured {
    peak_kib: u64,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Measured {
    fn results(&self) -> Vec<RecordingResult> {
        self.stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

/// Whether GNU time is there. Missing on CI (env `CI` set) fails the test; elsewhere the caller
/// gets `false` after a loud SKIPPED line.
fn require_time() -> bool {
    let ok = Path::new("/usr/bin/time").is_file()
        && Command::new("/usr/bin/time")
            .args(["-f", "%M", "true"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    if ok {
        return true;
    }
    let test = std::thread::current().name().unwrap_or("?").to_owned();
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: /usr/bin/time (GNU time) is missing on CI; scripts/setup.sh installs it"
    );
    eprintln!("\n***** {test}: SKIPPED (GNU time missing: apt-get install time) *****\n");
    false
}

/// Runs `callscribe ARGS…` under GNU time and `ulimit -v`, killing it after `limit`.
fn measure(args: &[&str], limit: Duration) -> Measured {
    let scratch = temp_dir("memory-time");
    let report = scratch.path().join("time.txt");
    let child = Command::new("/usr/bin/time")
        .args(["-f", "%M", "-o"])
        .arg(&report)
        .args(["sh", "-c", r#"ulimit -v "$1" && shift && exec "$@""#, "sh"])
        .arg(ADDRESS_SPACE_KIB.to_string())
        .arg(env!("CARGO_BIN_EXE_callscribe"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("RUST_LOG")
        .env_remove("CALLSCRIBE_MODEL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn /usr/bin/time");
    let run = collect(child, limit)
        .unwrap_or_else(|_| panic!("callscribe {args:?} still running after {limit:?}; killed"));
    let text = std::fs::read_to_string(&report).expect("GNU time's report");
    // A child killed by a signal makes time write "Command terminated by signal N" first.
    let peak_kib = text
        .lines()
        .filter_map(|l| l.trim().parse::<u64>().ok())
        .next_back()
        .unwrap_or_else(|| panic!("no peak RSS in GNU time's report: {text:?}"));
    let measured = Measured {
        peak_kib,
        code: run.status.code(),
        stdout: run.stdout,
        stderr: run.stderr,
    };
    eprintln!(
        "memory: callscribe {}: peak RSS {} KiB ({:.1} MiB), exit {:?}",
        args.first().copied().unwrap_or(""),
        measured.peak_kib,
        measured.peak_kib as f64 / 1024.0,
        measured.code
    );
    measured
}

fn assert_under(what: &str, m: &Measured, bound_kib: u64) {
    assert!(
        m.peak_kib <= bound_kib,
        "{what}: peak RSS {} KiB ({:.1} MiB) is over the bound of {} KiB ({} MiB)\nstderr:\n{}",
        m.peak_kib,
        m.peak_kib as f64 / 1024.0,
        bound_kib,
        bound_kib / 1024,
        m.stderr
    );
}

fn path_str(p: &Path) -> String {
    p.display().to_string()
}

/// `callscribe process --no-transcribe FILES…` to stdout.
fn process(files: &[PathBuf]) -> Measured {
    let names: Vec<String> = files.iter().map(|p| path_str(p)).collect();
    let mut args = vec!["process", "--no-transcribe", "-j", "2"];
    args.extend(names.iter().map(String::as_str));
    measure(&args, Duration::from_secs(300))
}

#[test]
fn two_minute_calls_stay_under_their_bounds() {
    if !require_time() {
        return;
    }
    let scratch = temp_dir("memory-call");
    let mono = scratch.path().join("call-16k-mono-120s.wav");
    std::fs::write(
        &mono,
        looped_pcm16_wav("pcm16-16000hz-mono-speech.wav", 120.0),
    )
    .expect("write");

    // 48 kHz stereo: the 16 kHz speech with every sample repeated three times, on both sides.
    let (speech, _) = read_pcm16_sample("pcm16-16000hz-mono-speech.wav");
    let frames = 120 * 48_000;
    let stereo_samples: Vec<i16> = speech
        .iter()
        .flat_map(|&s| [s; 6])
        .cycle()
        .take(frames * 2)
        .collect();
    let stereo = scratch.path().join("call-48k-stereo-120s.wav");
    std::fs::write(&stereo, pcm16_wav(&stereo_samples, 48_000, 2)).expect("write");

    for (file, bound, what) in [
        (&mono, bound::CALL_16K_MONO, "2-minute 16 kHz mono call"),
        (
            &stereo,
            bound::CALL_48K_STEREO,
            "2-minute 48 kHz stereo call",
        ),
    ] {
        let m = process(std::slice::from_ref(file));
        assert_eq!(m.code, Some(0), "{what}: stderr:\n{}", m.stderr);
        let results = m.results();
        assert_eq!(results[0].status, Status::Ok, "{what}: {:?}", results[0]);
        let duration = results[0].audio.as_ref().map_or(0.0, |a| a.duration_s);
        assert!((duration - 120.0).abs() < 0.01, "{what}: {duration} s");
        assert_under(what, &m, bound);
    }
}

#[test]
fn batch_memory_follows_the_job_count_not_the_batch_size() {
    if !require_time() {
        return;
    }
    let scratch = temp_dir("memory-batch");
    let mut sources: Vec<PathBuf> = std::fs::read_dir(repo_path("samples"))
        .expect("samples")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.extension().is_some_and(|e| {
                ["wav", "mp3", "flac", "ogg", "m4a"].contains(&&*e.to_string_lossy())
            })
        })
        .collect();
    sources.sort();
    assert!(sources.len() >= 10, "{sources:?}");
    let batch: Vec<PathBuf> = (0..50)
        .map(|i| {
            let src = &sources[i % sources.len()];
            let name = src.file_name().expect("name").to_string_lossy();
            let dst = scratch.path().join(format!("{i:02}-{name}"));
            std::fs::copy(src, &dst).expect("copy sample");
            dst
        })
        .collect();

    let five = process(&batch[..5]);
    let fifty = process(&batch);
    for (m, n) in [(&five, 5), (&fifty, 50)] {
        assert_eq!(m.code, Some(0), "stderr:\n{}", m.stderr);
        let results = m.results();
        assert_eq!(results.len(), n);
        assert!(
            results.iter().all(|r| r.status != Status::Failed),
            "{}",
            m.stdout
        );
    }
    assert_under("batch of 50 files", &fifty, bound::BATCH_50);
    assert!(
        fifty.peak_kib <= five.peak_kib + bound::BATCH_GROWTH,
        "50 files peaked at {} KiB, 5 files at {} KiB: memory grows with the batch",
        fifty.peak_kib,
        five.peak_kib
    );
}

#[test]
fn hostile_headers_are_refused_within_bounds() {
    if !require_time() {
        return;
    }
    for (name, kinds, bound) in [
        (
            "hostile/flac-8000hz-mono-6h-silence.flac",
            &[ErrorKind::TooLong][..],
            bound::SIX_HOUR_FLAC,
        ),
        (
            "hostile/rf64-pcm16-8000hz-mono-ds64-data-size-2pow63.wav",
            // symphonia has no RF64 reader, so today it is not even recognised.
            &[
                ErrorKind::CorruptMedia,
                ErrorKind::TooLarge,
                ErrorKind::TooLong,
                ErrorKind::UnsupportedFormat,
            ][..],
            bound::RF64_2POW63,
        ),
    ] {
        let started = Instant::now();
        let m = process(&[repo_path("samples").join(name)]);
        let results = m.results();
        assert_eq!(results.len(), 1, "{name}: {}", m.stdout);
        let kind = results[0].error.as_ref().map(|e| e.kind);
        assert!(
            kind.is_some_and(|k| kinds.contains(&k)),
            "{name}: expected one of {kinds:?}, got {:?}",
            results[0]
        );
        assert_eq!(m.code, Some(1), "{name}: stderr:\n{}", m.stderr);
        assert_under(name, &m, bound);
        eprintln!("memory: {name}: refused in {:?}", started.elapsed());
    }
}

#[test]
fn transcribing_a_two_minute_call_stays_under_its_bound() {
    if !require_time() {
        return;
    }
    let Some(model) = require_model() else { return };
    let _serial = model_lock();
    let scratch = temp_dir("memory-whisper");
    // A typical voicemail: 8 s of speech, then silence until Graph's 120 s limit. Only the
    // speech span is transcribed, so this measures the whole 2-minute decode plus one Whisper
    // run, without spending minutes of CI on transcribing 2 minutes of speech.
    let (speech, spec) = read_pcm16_sample("pcm16-16000hz-mono-speech.wav");
    assert_eq!((spec.sample_rate, spec.channels), (16_000, 1));
    let mut samples = speech;
    samples.resize(120 * 16_000, 0);
    let call = scratch
        .path()
        .join("call-16k-mono-120s-speech-then-silence.wav");
    std::fs::write(&call, pcm16_wav(&samples, 16_000, 1)).expect("write");
    let (model_s, call_s) = (path_str(&model), path_str(&call));
    let m = measure(
        &["process", "--model", &model_s, &call_s],
        Duration::from_secs(600),
    );
    assert_eq!(m.code, Some(0), "stderr:\n{}", m.stderr);
    let results = m.results();
    assert!(
        results[0]
            .transcript
            .as_ref()
            .is_some_and(|t| !t.text.is_empty()),
        "{:?}",
        results[0]
    );
    assert_under(
        "2-minute call with Whisper tiny.en",
        &m,
        bound::CALL_16K_MONO_WHISPER,
    );
}

// --- A hostile CTranslate2 model -----------------------------------------------------------

/// A CTranslate2 string: u16 length counting a NUL, the bytes, the NUL.
fn ct2_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u16 + 1).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
    out.push(0);
}

/// A structurally valid WhisperSpec `model.bin` of width 0 (so every tensor holds 0 bytes),
/// 2 heads, 6 tokens, and `n_mels` mel bands: about 2 KB whatever `n_mels` claims.
fn zero_width_whisper(n_mels: u32) -> Vec<u8> {
    let mut vars: Vec<(String, Vec<u32>, u8, Vec<u8>)> = vec![
        (
            "encoder/num_heads".into(),
            vec![],
            2,
            2i16.to_le_bytes().to_vec(),
        ),
        (
            "decoder/num_heads".into(),
            vec![],
            2,
            2i16.to_le_bytes().to_vec(),
        ),
        ("encoder/conv1/weight".into(), vec![0, n_mels, 3], 4, vec![]),
        ("encoder/conv2/weight".into(), vec![0, 0, 3], 4, vec![]),
        (
            "encoder/position_encodings/encodings".into(),
            vec![5, 0],
            4,
            vec![],
        ),
        ("decoder/embeddings/weight".into(), vec![6, 0], 4, vec![]),
        (
            "decoder/position_encodings/encodings".into(),
            vec![3, 0],
            4,
            vec![],
        ),
    ];
    let mut f16 = |name: String, shape: Vec<u32>| vars.push((name, shape, 4, vec![]));
    for conv in ["conv1", "conv2"] {
        f16(format!("encoder/{conv}/bias"), vec![0]);
    }
    for scope in ["encoder", "decoder"] {
        f16(format!("{scope}/layer_norm/gamma"), vec![0]);
        f16(format!("{scope}/layer_norm/beta"), vec![0]);
    }
    for (layer, cross) in [("encoder/layer_0", false), ("decoder/layer_0", true)] {
        let mut blocks = vec![("self_attention", 2), ("ffn", 2)];
        if cross {
            blocks.push(("attention", 3));
        }
        for (block, linears) in blocks {
            f16(format!("{layer}/{block}/layer_norm/gamma"), vec![0]);
            f16(format!("{layer}/{block}/layer_norm/beta"), vec![0]);
            for l in 0..linears {
                f16(format!("{layer}/{block}/linear_{l}/weight"), vec![0, 0]);
                f16(format!("{layer}/{block}/linear_{l}/bias"), vec![0]);
            }
        }
    }
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = 6u32.to_le_bytes().to_vec();
    ct2_string(&mut out, "WhisperSpec");
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(&(vars.len() as u32).to_le_bytes());
    for (name, shape, dtype, data) in &vars {
        ct2_string(&mut out, name);
        out.push(shape.len() as u8);
        for d in shape {
            out.extend_from_slice(&d.to_le_bytes());
        }
        out.push(*dtype);
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
    }
    out.extend_from_slice(&0u32.to_le_bytes());
    out
}

/// Writes a CTranslate2 model folder around `model_bin`.
fn model_dir(scratch: &Path, name: &str, model_bin: &[u8]) -> PathBuf {
    let dir = scratch.join(name);
    std::fs::create_dir_all(&dir).expect("model dir");
    std::fs::write(dir.join("model.bin"), model_bin).expect("model.bin");
    std::fs::write(dir.join("config.json"), b"{}").expect("config.json");
    let vocab = "!\na\nb\n<|endoftext|>\n<|startoftranscript|>\n<|en|>\n";
    std::fs::write(dir.join("vocabulary.txt"), vocab).expect("vocabulary.txt");
    dir
}

/// Regression test for a bug found while writing the `ct2_parse` fuzz target (and reproduced
/// by it, `fuzz/regressions/ct2_parse/`): a 2 KB model.bin of width 0
/// (every tensor empty, so the byte counts all check out) that claims 2^31 - 1 mel bands made
/// `model import` allocate the mel filterbank from that claim (n_mels × 201 floats, 1.7 TB)
/// and abort. It must be refused with an error, in bounded memory.
#[test]
fn model_import_refuses_a_tiny_model_claiming_huge_dimensions() {
    if !require_time() {
        return;
    }
    let scratch = temp_dir("memory-ct2");
    // The same model with 80 bands is valid: only the claimed size differs.
    let sane = model_dir(scratch.path(), "sane", &zero_width_whisper(80));
    let sane_out = scratch.path().join("sane.bin");
    let m = measure(
        &[
            "model",
            "import",
            &path_str(&sane),
            "-o",
            &path_str(&sane_out),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(
        m.code,
        Some(0),
        "the 80-band control model must import: {}",
        m.stderr
    );

    let hostile = model_dir(
        scratch.path(),
        "hostile",
        &zero_width_whisper(i32::MAX as u32),
    );
    assert!(
        std::fs::metadata(hostile.join("model.bin"))
            .expect("model.bin")
            .len()
            < 4096
    );
    let out = scratch.path().join("hostile.bin");
    let m = measure(
        &[
            "model",
            "import",
            &path_str(&hostile),
            "-o",
            &path_str(&out),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(
        m.code,
        Some(2),
        "model import of a 2 KB model claiming 2^31-1 mel bands must fail with an error \
         (exit 2), not crash; stderr:\n{}",
        m.stderr
    );
    assert_under("hostile model import", &m, bound::HOSTILE_MODEL_IMPORT);
    assert!(!out.exists(), "no output may be left behind");
}
