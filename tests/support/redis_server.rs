//! A real `redis-server` for the fleet tests: a free port on 127.0.0.1, a password, its own
//! temporary folder (for the append-only file), stopped with SIGKILL when dropped; or the same
//! behind TLS only, with a certificate from a private CA made for it (`rediss://`).
//! `redis-cli` (installed with it, Debian's `redis-tools`) runs the commands tests make
//! directly.
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
    /// Serves TLS only (no plain port), with `server.pem`/`server.key` signed by `ca.pem`.
    tls: bool,
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
        Self::start_with(aof, false)
    }

    /// Starts a server that speaks TLS only: its certificate (for `127.0.0.1`) is signed by a
    /// CA made here, whose certificate is [`RedisServer::ca_file`]; clients must trust that
    /// file, as no system root signed it.
    pub fn start_tls() -> Self {
        Self::start_with(false, true)
    }

    fn start_with(aof: bool, tls: bool) -> Self {
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
            tls,
        };
        if tls {
            server.write_certificates();
        }
        server.start_again();
        server
    }

    /// (Re)starts the server on the same port and folder, and waits (at most 10 s) until it
    /// answers.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "already running");
        let mut command = Command::new("redis-server");
        let port = self.port.to_string();
        command.args(["--bind", "127.0.0.1"]);
        if self.tls {
            let file = |name: &str| self.dir.path().join(name);
            command
                .args(["--port", "0", "--tls-port", &port])
                .arg("--tls-cert-file")
                .arg(file("server.pem"))
                .arg("--tls-key-file")
                .arg(file("server.key"))
                .arg("--tls-ca-cert-file")
                .arg(file("ca.pem"))
                .args(["--tls-auth-clients", "no"]);
        } else {
            command.args(["--port", &port]);
        }
        command
            .args(["--requirepass", PASSWORD, "--save", "", "--daemonize", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .args(["--appendonly", if self.aof { "yes" } else { "no" }])
            .args(["--appendfsync", "always", "--loglevel", "warning"])
            .arg("--logfile")
            .arg(self.dir.path().join("redis.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        self.child = Some(command.spawn().expect("spawn redis-server"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.cli(&["PING"]).trim() != "PONG" {
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer within 10 s; its log:\n{}",
                std::fs::read_to_string(self.dir.path().join("redis.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A CA (`ca.pem`) and the server's certificate and key for 127.0.0.1 signed by it, in
    /// the server's folder.
    fn write_certificates(&self) {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        // Subject names must differ from the server's (rcgen's default for both is the same),
        // or OpenSSL takes the server's certificate for a self-signed one.
        ca.distinguished_name
            .push(DnType::CommonName, "callscribe test CA");
        let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
        let issuer = Issuer::new(ca, ca_key);
        let key = KeyPair::generate().expect("server key");
        let mut server =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
                .expect("server params");
        server
            .distinguished_name
            .push(DnType::CommonName, "callscribe test redis");
        let cert = server.signed_by(&key, &issuer).expect("server certificate");
        let dir = self.dir.path();
        std::fs::write(dir.join("ca.pem"), ca_cert.pem()).expect("write ca.pem");
        std::fs::write(dir.join("server.pem"), cert.pem()).expect("write server.pem");
        std::fs::write(dir.join("server.key"), key.serialize_pem()).expect("write server.key");
    }

    /// The CA certificate a TLS server's certificate is signed by.
    pub fn ca_file(&self) -> std::path::PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// Kills the server (SIGKILL: nothing is flushed that was not already).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// `redis://:PASSWORD@127.0.0.1:PORT/0`, or `rediss://…` for a TLS server.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "rediss" } else { "redis" };
        format!("{scheme}://:{PASSWORD}@127.0.0.1:{}/0", self.port)
    }

    /// Runs `redis-cli` with `args` against this server; its stdout (empty if it failed).
    pub fn cli(&self, args: &[&str]) -> String {
        let mut command = Command::new("redis-cli");
        if self.tls {
            command.arg("--tls").arg("--cacert").arg(self.ca_file());
        }
        let out = command
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
