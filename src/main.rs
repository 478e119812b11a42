//! The `callscribe` command line: parse the arguments, call the library, map the outcome to an
//! exit code (0 all succeeded, 1 some input failed, 2 usage or set-up error). Everything that
//! is about the command line (clap, indicatif, anyhow, tracing-subscriber) lives here and in
//! `src/cli/`; the library compiles without it (`--no-default-features`).

mod cli;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command, ModelCommand};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let outcome = match cli.command {
        Command::Process(args) => cli::process::run(args),
        #[cfg(feature = "fetch")]
        Command::Notification(args) => cli::notification::run(args),
        #[cfg(feature = "server")]
        // Accepted operations left without a result at the shutdown deadline are a failure.
        Command::Serve(args) => cli::serve::run(&args)
            .map(|report| {
                if report.unfinished == 0 {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                }
            })
            .map_err(Into::into),
        Command::Model(ModelCommand::Import(args)) => cli::import_model(&args),
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
