//! A real `redis-server` for the fleet tests: a free port on 127.0.0.1, a password, its own
//! temporary folder (for the append-only file), stopped with SIGKILL when dropped. `redis-cli`
//! (installed with it, Debian's `redis-tools`) runs the commands tests make directly.
#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// The password every test server requires; it must never show in a replica's output.
pub const PASSWORD: &str = "redis-test-pw-5e1c9a";

/// A running (or stopped, between [`RedisServer::stop`] and [`RedisServer::start_again`])
/// `redis-server`.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: TempDir,
    aof: bool,
}

/// Whether `redis-server` is installed. Without it the fleet tests are skipped, except on CI
/// (`CI` set), where `scripts/setup.sh` installs it and its absence is a failure.
pub fn available() -> bool {
    let found = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "redis-server is not installed (scripts/setup.sh installs it)"
        );
        eprintln!(
            "\n***** fleet tests: SKIPPED (no redis-server; apt-get install redis-server) *****\n"
        );
    }
    found
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl RedisServer {
    /// Starts a server; with `aof`, every write is appended and fsynced before it is
    /// acknowledged (`appendfsync always`), so a SIGKILL loses nothing acknowledged.
    pub fn start(aof: bool) -> Self {
        let mut server = Self {
            child: None,
            port: free_port(),
            // tempfile directly, not `support::temp_dir`: benches/fleet_load.rs includes
            // this file on its own.
            dir: tempfile::Builder::new()
                .prefix("callscribe-redis-")
                .tempdir()
                .expect("a temp dir for redis"),
            aof,
        };
        server.start_again();
        server
    }

    /// (Re)starts the server on the same port and folder, and waits (at most 10 s) until it
    /// answers.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "already running");
        let mut command = Command::new("redis-server");
        command
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--requirepass", PASSWORD, "--save", "", "--daemonize", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .args(["--appendonly", if self.aof { "yes" } else { "no" }])
            .args(["--appendfsync", "always", "--loglevel", "warning"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        self.child = Some(command.spawn().expect("spawn redis-server"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.cli(&["PING"]).trim() != "PONG" {
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer within 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server (SIGKILL: nothing is flushed that was not already).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// `redis://:PASSWORD@127.0.0.1:PORT/0`.
    pub fn url(&self) -> String {
        format!("redis://:{PASSWORD}@127.0.0.1:{}/0", self.port)
    }

    /// Runs `redis-cli` with `args` against this server; its stdout (empty if it failed).
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["--no-auth-warning", "-a", PASSWORD])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run redis-cli");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `XLEN` of a stream (0 if it cannot be read).
    pub fn xlen(&self, key: &str) -> u64 {
        self.cli(&["XLEN", key]).trim().parse().unwrap_or(0)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
