//! `callscribe process`: files and folders in, one result per file out, in input order.

use std::collections::{BTreeMap, HashMap};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::{Context, Result};
use callscribe::batch::{self, BatchOptions};
use callscribe::format::Format;
use callscribe::result::RecordingResult;
use clap::builder::TypedValueParser as _;
use clap::Args;

use super::PipelineArgs;

#[derive(Args)]
pub struct ProcessArgs {
    /// Audio files or folders (searched recursively for audio extensions).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Parallel jobs (0 = one per core).
    #[arg(short, long, default_value_t = 0)]
    jobs: usize,
    /// Write one `<file>.<format extension>` per input into this folder instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Output format: jsonl (one JSON result per line), json (indented), txt (transcript
    /// text), srt or vtt (transcript subtitles; on stdout only for a single input).
    #[arg(
        long,
        default_value = "jsonl",
        value_parser = clap::builder::PossibleValuesParser::new(Format::NAMES)
            .try_map(|name| name.parse::<Format>())
    )]
    format: Format,
    /// Also write each input's cleaned 16 kHz speech as WAV into this folder. Off by default:
    /// callscribe persists no media unless asked.
    #[arg(long)]
    keep_audio: Option<PathBuf>,
    #[command(flatten)]
    pipeline: PipelineArgs,
}

/// Runs `callscribe process`.
pub fn run(args: ProcessArgs) -> Result<ExitCode> {
    let inputs = batch::collect_inputs(&args.inputs)?;
    if inputs.is_empty() {
        anyhow::bail!("no audio files found in the given paths");
    }
    for dir in [&args.out, &args.keep_audio].into_iter().flatten() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let format = args.format;
    if matches!(format, Format::Srt | Format::Vtt) && args.out.is_none() && inputs.len() > 1 {
        anyhow::bail!("--format srt/vtt writes one subtitle file per input: add --out DIR");
    }
    let out_names = args
        .out
        .as_ref()
        .map(|dir| output_names(dir, &inputs, format.extension()));

    let progress = progress_bar(inputs.len());
    // Results are printed in input order as soon as every earlier one is done.
    let pending: Mutex<(usize, BTreeMap<usize, String>)> = Mutex::new((0, BTreeMap::new()));
    let write_errors = Mutex::new(Vec::<String>::new());
    let on_result = |index: usize, _path: &Path, result: &RecordingResult| {
        let line = format.render(result);
        if let Some(names) = &out_names {
            if let Err(e) = write_atomic(&names[index], line.as_bytes()) {
                lock(&write_errors).push(format!("{}: {e}", names[index].display()));
            }
        } else {
            let mut guard = lock(&pending);
            let (next, buffered) = &mut *guard;
            buffered.insert(index, line);
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            while let Some(line) = buffered.remove(next) {
                let _ = out.write_all(line.as_bytes());
                *next += 1;
            }
            let _ = out.flush();
        }
        if let Some(bar) = &progress {
            bar.inc(1);
        }
    };
    let opts = BatchOptions {
        jobs: args.jobs,
        keep_audio: args.keep_audio.clone(),
    };
    let summary = batch::build_and_run(args.pipeline.config(), &inputs, &opts, on_result)?;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let write_errors = write_errors.into_inner().unwrap_or_else(|p| p.into_inner());
    for e in &write_errors {
        eprintln!("callscribe: writing a result failed: {e}");
    }
    eprintln!(
        "callscribe: {} files: {} ok, {} no speech, {} failed",
        summary.total(),
        summary.ok,
        summary.no_speech,
        summary.failed
    );
    Ok(if summary.failed > 0 || !write_errors.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A progress bar on stderr, only when stderr is a terminal.
fn progress_bar(len: usize) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} {per_sec} eta {eta}",
    ) {
        bar.set_style(style);
    }
    Some(bar)
}

/// `<file name>.<ext>` per input; names that collide (same file name in two folders) get `-2`,
/// `-3`, … so no result overwrites another.
fn output_names(dir: &Path, inputs: &[PathBuf], ext: &str) -> Vec<PathBuf> {
    let mut used: HashMap<String, usize> = HashMap::new();
    inputs
        .iter()
        .map(|input| {
            let base = input
                .file_name()
                .map_or_else(|| "input".into(), |n| n.to_string_lossy());
            let count = used.entry(base.to_string()).or_insert(0);
            *count += 1;
            let name = if *count == 1 {
                format!("{base}.{ext}")
            } else {
                format!("{base}-{count}.{ext}")
            };
            dir.join(name)
        })
        .collect()
}

/// Writes through a temporary file in the same folder and renames it, so a reader never sees a
/// half-written result.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
