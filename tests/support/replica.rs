//! A `callscribe serve` child process for the fleet tests: started with any arguments,
//! listening on a free loopback port, its stderr kept (to check that no secret shows), killed
//! with SIGKILL when dropped or asked to.
#![allow(dead_code)]

use std::io::BufRead as _;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running replica.
pub struct Replica {
    child: Child,
    /// `IP:PORT` from its `listening on` line.
    pub addr: String,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Replica {
    /// Spawns `callscribe serve ARGS…` with `env` and waits (at most 30 s) for its
    /// `listening on` line. stdout is discarded (tests read the sinks).
    pub fn start(args: &[String], env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_callscribe"));
        command
            .arg("serve")
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_remove("RUST_LOG")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("spawn callscribe serve");
        let stderr = child.stderr.take().expect("stderr");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        {
            let lines = Arc::clone(&lines);
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(stderr)
                    .lines()
                    .map_while(Result::ok)
                {
                    let _ = tx.send(line.clone());
                    lines.lock().unwrap_or_else(|p| p.into_inner()).push(line);
                }
            });
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.split("listening on http://").nth(1) {
                        let addr = rest.split('/').next().expect("addr").to_owned();
                        return Self {
                            child,
                            addr,
                            stderr: lines,
                        };
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let seen = lines.lock().unwrap_or_else(|p| p.into_inner()).clone();
                    panic!("no `listening on` line within 30 s; stderr: {seen:?}");
                }
            }
        }
    }

    /// `http://ADDR<path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Kills the process with SIGKILL, as a crash or an eviction would, and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Everything it wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .join("\n")
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}
