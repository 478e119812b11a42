//! Running the service as a process: the TOML configuration file, the open-file limit, the
//! listen socket, SIGTERM/Ctrl-C and the runtime around [`serve`]. `callscribe serve` (the
//! binary's `src/cli/serve.rs`) turns flags into a [`ServerConfig`] and calls [`run`].

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use super::auth::AuthMode;
use super::config::ServerConfig;
use super::{serve, ServeReport, Server, ServerError};

/// Largest configuration file read, in bytes.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Connections the kernel completes and queues for `accept`: the listen backlog. std's and
/// tokio's `bind` ask for 128, which a burst of clients (or clients waiting for a connection
/// slot, see `max_connections`) overflows while the process is busy; the kernel then drops
/// their handshakes and they retry only a second later. Linux caps it at
/// `net.core.somaxconn` (4096 by default).
const LISTEN_BACKLOG: u32 = 1024;

/// How long the runtime waits for blocking work (a transcription cut off by the shutdown
/// deadline) before the process exits anyway.
const RUNTIME_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(2);

/// Reads a TOML configuration file with the shape of [`ServerConfig`] (at most 1 MiB).
///
/// # Errors
///
/// [`ServerError::Io`] for an unreadable file, [`ServerError::Config`] for invalid TOML (the
/// message says where, never quoting the line, which may hold a secret). The result is not
/// validated yet: see [`ServerConfig::validate`].
pub fn read_config_file(path: &Path) -> Result<ServerConfig, ServerError> {
    use std::io::Read as _;
    let context = || format!("reading {}", path.display());
    let file = std::fs::File::open(path).map_err(|e| ServerError::io(context(), e))?;
    let mut text = String::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| ServerError::io(context(), e))?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(ServerError::Config(format!(
            "{} is larger than 1 MiB",
            path.display()
        )));
    }
    // toml's messages quote the offending line, which may hold a secret: keep only the
    // first line of the message (what and where).
    toml::from_str(&text).map_err(|e| {
        let message = e
            .message()
            .lines()
            .next()
            .unwrap_or("invalid TOML")
            .to_owned();
        let at = e
            .span()
            .map(|s| format!(" (byte {})", s.start))
            .unwrap_or_default();
        ServerError::Config(format!("{}: {message}{at}", path.display()))
    })
}

/// Runs the service as a process: validates `config`, raises the open-file limit, loads the
/// model, binds, serves until SIGTERM or Ctrl-C, drains. Logging must already be set up by the
/// caller. Returns the drain's report: a caller should treat `unfinished > 0` as a failure
/// (`callscribe serve` exits 1), since accepted operations produced no result.
///
/// # Errors
///
/// Configuration, model and bind errors (all before anything is accepted).
pub fn run(config: ServerConfig) -> Result<ServeReport, crate::Error> {
    config.validate()?;
    warn_about_risky_settings(&config);
    raise_open_file_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("callscribe-serve")
        .build()
        .map_err(|e| crate::Error::io("starting the async runtime", e))?;
    let outcome = runtime.block_on(async {
        // The model is loaded before the socket is bound: nobody can reach a service that
        // is not ready yet, and a bad model path fails before any notification is accepted.
        let server = Server::with_processor(&config).await?;
        let listener = bind(config.listen)
            .map_err(|e| ServerError::io(format!("binding {}", config.listen), e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| ServerError::io("reading the bound address", e))?;
        // On stderr so that stdout stays pure JSON Lines; tests read the port from it.
        eprintln!("callscribe: listening on http://{addr}{}", config.path);
        let report = serve(listener, server, shutdown_signal()).await?;
        eprintln!(
            "callscribe: stopped: {} results produced, {} accepted operations unfinished",
            report.finished, report.unfinished
        );
        Ok::<_, ServerError>(report)
    });
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN_TIMEOUT);
    outcome.map_err(crate::Error::from)
}

/// A listener on `addr` with a backlog of [`LISTEN_BACKLOG`].
fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // As std's `bind` does on Unix: a restarted service can bind while connections of the
    // previous process linger in TIME_WAIT.
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

fn warn_about_risky_settings(config: &ServerConfig) {
    if config.auth.mode == AuthMode::None {
        eprintln!(
            "callscribe: WARNING: --auth none: requests are NOT authenticated. Anyone who can \
             reach {} can make this service download URLs and spend CPU. Use it only for local \
             testing behind a firewall.",
            config.listen
        );
        tracing::warn!("authentication is disabled (--auth none)");
    }
    if config.processor.fetch.allow_insecure_http {
        eprintln!(
            "callscribe: WARNING: {}",
            crate::fetch::INSECURE_HTTP_WARNING
        );
    }
}

/// Raises the soft open-file limit to the hard limit. Every connection, download and callback
/// takes a descriptor, and the usual soft default (1024) is what a few hundred idle clients
/// exhaust; the hard limit is what the operator allows. The `rlimit` crate makes the
/// `setrlimit` call, because this crate denies `unsafe` code (an FFI call is unsafe).
fn raise_open_file_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::info!(open_file_limit = limit, "open-file limit"),
        // Not fatal: the connection cap follows whatever limit is in force.
        Err(e) => tracing::warn!("cannot raise the open-file limit: {e}"),
    }
}

/// Resolves on Ctrl-C or (on Unix) SIGTERM, the signal orchestrators send before killing.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            // Without a handler we can never be asked to stop: wait forever rather than
            // shutting down at once.
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received"),
        () = terminate => tracing::info!("SIGTERM received"),
    }
}
