//! `callscribe notification`: one Graph `commsNotifications` payload in, one result per record
//! operation out.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

use super::PipelineArgs;

#[derive(Args)]
pub struct NotificationArgs {
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

/// Largest payload `callscribe notification` reads: the parser's own cap (Graph's
/// notifications are a few KiB).
const MAX_PAYLOAD_BYTES: u64 = callscribe::notification::MAX_BODY_BYTES as u64;

/// Runs `callscribe notification`.
pub fn run(args: NotificationArgs) -> Result<ExitCode> {
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
            "callscribe: WARNING: {}",
            callscribe::fetch::INSECURE_HTTP_WARNING
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
