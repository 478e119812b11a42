//! CLI: `callscribe process` as a user runs it: one JSON line per input in order, exit codes,
//! `--out` and `--keep-audio` files, usage errors, the summary on stderr.

use std::path::{Path, PathBuf};
use std::time::Duration;

use callscribe::result::{RecordingResult, Status};
use callscribe::ErrorKind;

use crate::support::cli_run::{run_cli, CliRun};
use crate::support::{files_below, sample_path, temp_dir, Manifest};

/// Deadline for one CLI run (the whole samples folder takes a few seconds).
const LIMIT: Duration = Duration::from_secs(120);

/// Extensions the CLI picks up when given a folder, as the README documents them.
const AUDIO_EXTENSIONS: [&str; 18] = [
    "wav", "wave", "mp3", "flac", "ogg", "oga", "m4a", "mp4", "aac", "opus", "webm", "rf64", "gsm",
    "g722", "ulaw", "alaw", "sln", "sln16",
];

fn parse_lines(run: &CliRun) -> Vec<RecordingResult> {
    run.lines()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a result line ({e}): {l}")))
        .collect()
}

/// The `callscribe: N files: a ok, b no speech, c failed` line, checked against the results.
fn check_summary(run: &CliRun, results: &[RecordingResult]) {
    let count = |s: Status| results.iter().filter(|r| r.status == s).count();
    let want = format!(
        "callscribe: {} files: {} ok, {} no speech, {} failed",
        results.len(),
        count(Status::Ok),
        count(Status::NoSpeech),
        count(Status::Failed)
    );
    assert!(
        run.stderr.lines().any(|l| l == want),
        "no summary line {want:?} on stderr:\n{}",
        run.stderr
    );
}

fn copy_sample(name: &str, to: &Path) {
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir).expect("create folder");
    }
    std::fs::copy(sample_path(name), to).unwrap_or_else(|e| panic!("copy {name}: {e}"));
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

/// The whole `samples/` folder: one line per audio file (by extension, recursively, sorted),
/// in that order; top-level files have the manifest's status; hostile files fail, so exit 1.
#[test]
fn samples_folder_gives_one_line_per_file_in_order() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let manifest = Manifest::get();
    let mut expected: Vec<PathBuf> = manifest
        .files
        .iter()
        .filter(|f| {
            Path::new(&f.name)
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        })
        .map(|f| f.path())
        .collect();
    expected.sort();
    assert!(expected.len() >= 20, "{expected:?}");

    let run = run_cli(
        &["process", "--no-transcribe", path_str(&folder)],
        None,
        LIMIT,
    );
    let results = parse_lines(&run);
    let paths: Vec<PathBuf> = results
        .iter()
        .map(|r| PathBuf::from(r.source.path.as_deref().expect("source.path")))
        .collect();
    assert_eq!(paths, expected, "one result per audio file, in input order");
    for (result, path) in results.iter().zip(&expected) {
        let name = path
            .strip_prefix(&folder)
            .expect("under samples/")
            .to_string_lossy();
        let entry = manifest.entry(&name);
        if entry.is_top_level() {
            let want = match entry.expect.as_str() {
                "ok" => Status::Ok,
                "no_speech" => Status::NoSpeech,
                _ => Status::Failed,
            };
            assert_eq!(result.status, want, "{name}: {:?}", result.error);
        }
    }
    assert!(
        results.iter().any(|r| r.status == Status::Failed),
        "hostile files fail"
    );
    assert_eq!(
        run.code(),
        Some(1),
        "a failed file makes the exit code 1; stderr:\n{}",
        run.stderr
    );
    check_summary(&run, &results);
}

/// A folder of good files only: exit 0, one line each.
#[test]
fn folder_of_good_files_exits_0() {
    let tmp = temp_dir("cli-good");
    let names = [
        "pcm16-16000hz-mono-speech.wav",
        "flac-16000hz-mono-speech-dtmf-star.flac",
        "pcm16-16000hz-mono-silence-zeros.wav",
    ];
    for name in names {
        copy_sample(name, &tmp.path().join(name));
    }
    let run = run_cli(
        &["process", "--no-transcribe", path_str(tmp.path())],
        None,
        LIMIT,
    );
    let results = parse_lines(&run);
    assert_eq!(run.code(), Some(0), "stderr:\n{}", run.stderr);
    assert_eq!(results.len(), 3, "{}", run.stdout);
    assert_eq!(
        results.iter().map(|r| r.status).collect::<Vec<_>>(),
        // Sorted by file name: flac, pcm16 silence, pcm16 speech.
        [Status::Ok, Status::NoSpeech, Status::Ok]
    );
    check_summary(&run, &results);
}

/// `--out DIR`: one `.json` per input, even for two inputs with the same file name, each
/// holding that input's result; nothing on stdout; nothing but inputs and results in the
/// folder (no media is written without `--keep-audio`, no temporary files are left).
#[test]
fn out_dir_gets_one_json_per_input() {
    let tmp = temp_dir("cli-out");
    let inputs = ["a/call.wav", "b/call.wav", "quiet.wav"];
    copy_sample("pcm16-16000hz-mono-speech.wav", &tmp.path().join(inputs[0]));
    copy_sample(
        "ulaw-8000hz-mono-beep-speech.wav",
        &tmp.path().join(inputs[1]),
    );
    copy_sample(
        "pcm16-16000hz-mono-silence-zeros.wav",
        &tmp.path().join(inputs[2]),
    );
    let input_paths: Vec<PathBuf> = inputs.iter().map(|i| tmp.path().join(i)).collect();
    let out = tmp.path().join("out");

    let mut args = vec!["process", "--no-transcribe", "--out", path_str(&out)];
    args.extend(input_paths.iter().map(|p| path_str(p)));
    let run = run_cli(&args, None, LIMIT);
    assert_eq!(run.code(), Some(0), "stderr:\n{}", run.stderr);
    assert!(run.stdout.is_empty(), "stdout with --out: {}", run.stdout);

    let files = files_below(tmp.path());
    let results: Vec<&String> = files.iter().filter(|f| f.starts_with("out/")).collect();
    assert_eq!(results.len(), 3, "one result file per input: {files:?}");
    assert_eq!(files.len(), 6, "only the inputs and the results: {files:?}");
    let mut seen = Vec::new();
    for rel in results {
        assert!(rel.ends_with(".json"), "{rel}");
        let text = std::fs::read_to_string(tmp.path().join(rel)).expect("read result");
        let result: RecordingResult =
            serde_json::from_str(text.trim_end()).unwrap_or_else(|e| panic!("{rel}: {e}"));
        seen.push(PathBuf::from(result.source.path.expect("source.path")));
    }
    seen.sort();
    let mut want = input_paths.clone();
    want.sort();
    assert_eq!(seen, want, "each input's result is in its own file");
}

/// `--keep-audio DIR`: the speech of a recording is written as 16 kHz mono WAV as long as the
/// reported span; a recording without speech writes nothing.
#[test]
fn keep_audio_writes_the_speech_as_16k_mono_wav() {
    let tmp = temp_dir("cli-keep");
    let speech = tmp.path().join("in/call.wav");
    let quiet = tmp.path().join("in/quiet.wav");
    // 8 kHz source, so the kept WAV shows the resampling.
    copy_sample("pcm16-8000hz-mono-beep-speech-dtmf-hash.wav", &speech);
    copy_sample("pcm16-16000hz-mono-silence-zeros.wav", &quiet);
    let keep = tmp.path().join("keep");
    let run = run_cli(
        &[
            "process",
            "--no-transcribe",
            "--keep-audio",
            path_str(&keep),
            path_str(&speech),
            path_str(&quiet),
        ],
        None,
        LIMIT,
    );
    assert_eq!(run.code(), Some(0), "stderr:\n{}", run.stderr);
    let results = parse_lines(&run);
    assert_eq!(results.len(), 2);
    let audio = results[0].audio.as_ref().expect("audio");
    assert_eq!(results[0].status, Status::Ok);

    let kept: Vec<String> = files_below(tmp.path())
        .into_iter()
        .filter(|f| f.starts_with("keep/"))
        .collect();
    assert_eq!(
        kept.len(),
        1,
        "one WAV for the one recording with speech: {kept:?}"
    );
    let mut reader = hound::WavReader::open(tmp.path().join(&kept[0])).expect("a readable WAV");
    let spec = reader.spec();
    assert_eq!((spec.sample_rate, spec.channels), (16_000, 1), "{spec:?}");
    let duration = f64::from(reader.duration()) / 16_000.0;
    // The JSON rounds to 1 ms; the slice is whole samples.
    assert!(
        (duration - audio.speech_s).abs() <= 0.002,
        "kept {duration:.4} s, speech span {} s",
        audio.speech_s
    );
    let samples: Vec<i32> = reader
        .samples::<i32>()
        .map(|s| s.expect("sample"))
        .collect();
    let peak = samples.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
    assert!(
        peak > 3000,
        "the kept speech is nearly silent (peak {peak})"
    );
    assert_eq!(
        files_below(tmp.path()).len(),
        3,
        "inputs and the one WAV: {:?}",
        files_below(tmp.path())
    );
}

/// Usage errors exit 2 with nothing on stdout: no inputs, an unknown flag, a folder without
/// audio, a `--vad-model` that is missing or not Silero's ONNX file (refused before the first
/// input is heard: no warning from its speech finder comes before the error).
#[test]
fn usage_errors_exit_2() {
    let empty = temp_dir("cli-usage");
    let sample = sample_path("pcm16-16000hz-mono-speech.wav");
    for args in [
        vec!["process", "--no-transcribe"],
        vec![
            "process",
            "--no-transcribe",
            "--no-such-flag",
            path_str(&sample),
        ],
        vec![
            "process",
            "--no-transcribe",
            "--padding-ms",
            "lots",
            path_str(&sample),
        ],
        vec!["process", "--no-transcribe", path_str(empty.path())],
        vec![
            "process",
            "--no-transcribe",
            "--vad-model",
            "models/no-such-vad.onnx",
            path_str(&sample),
        ],
        vec![
            "process",
            "--no-transcribe",
            "--vad-model",
            path_str(&sample),
            path_str(&sample),
        ],
    ] {
        let run = run_cli(&args, None, LIMIT);
        assert_eq!(run.code(), Some(2), "{args:?}: stderr:\n{}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}: stdout {}", run.stdout);
        assert!(
            !run.stderr.trim().is_empty(),
            "{args:?}: no message on stderr"
        );
        assert!(
            !run.stderr.contains("earshot alone"),
            "{args:?}: a speech-finder warning before the error:\n{}",
            run.stderr
        );
    }
}

/// A missing input file is that file's failure, not the batch's: a failed result with kind
/// `io` naming the path, the other inputs still processed, exit 1.
#[test]
fn missing_file_is_a_failed_io_result() {
    let tmp = temp_dir("cli-missing");
    let missing = tmp.path().join("no-such-recording.wav");
    let good = sample_path("pcm16-16000hz-mono-speech.wav");
    let run = run_cli(
        &[
            "process",
            "--no-transcribe",
            path_str(&missing),
            path_str(&good),
        ],
        None,
        LIMIT,
    );
    let results = parse_lines(&run);
    assert_eq!(
        results.len(),
        2,
        "one line per input; stdout:\n{}\nstderr:\n{}",
        run.stdout,
        run.stderr
    );
    assert_eq!(results[0].status, Status::Failed);
    assert_eq!(
        results[0].error.as_ref().map(|e| e.kind),
        Some(ErrorKind::Io),
        "{:?}",
        results[0]
    );
    assert_eq!(results[0].source.path.as_deref(), Some(path_str(&missing)));
    assert_eq!(results[1].status, Status::Ok);
    assert_eq!(run.code(), Some(1), "stderr:\n{}", run.stderr);
    check_summary(&run, &results);
}
