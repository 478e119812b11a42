//! Runs the `callscribe` binary with a deadline: output captured, optional stdin, killed (and
//! the test failed) if it does not exit in time.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// What a finished run printed and returned.
#[derive(Debug)]
pub struct CliRun {
    /// Exit status.
    pub status: ExitStatus,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
}

impl CliRun {
    /// The exit code (`None` if killed by a signal).
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Non-empty stdout lines.
    pub fn lines(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect()
    }
}

/// Runs `callscribe ARGS…` from the package root with `RUST_LOG` and `CALLSCRIBE_MODEL` cleared,
/// feeding `stdin` (or nothing). Blocking: call it from `spawn_blocking` inside async tests.
///
/// Panics if the process is still running after `limit` (it is killed first).
pub fn run_cli(args: &[&str], stdin: Option<Vec<u8>>, limit: Duration) -> CliRun {
    run_cli_env(args, stdin, &[], limit)
}

/// [`run_cli`] with extra environment variables.
pub fn run_cli_env(
    args: &[&str],
    stdin: Option<Vec<u8>>,
    env: &[(&str, &str)],
    limit: Duration,
) -> CliRun {
    let mut command = Command::new(env!("CARGO_BIN_EXE_callscribe"));
    command
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("RUST_LOG")
        .env_remove("CALLSCRIBE_MODEL")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("spawn callscribe");
    let writer = child.stdin.take().zip(stdin).map(|(mut pipe, bytes)| {
        // A child that exits without reading stdin closes the pipe: not our failure.
        thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        })
    });
    let run = collect(child, limit).unwrap_or_else(|stderr| {
        panic!("callscribe {args:?} still running after {limit:?}; killed. stderr:\n{stderr}")
    });
    if let Some(w) = writer {
        let _ = w.join();
    }
    run
}

/// Reads a spawned child's piped stdout and stderr on threads and waits for it, polling at
/// most `limit` (a bounded number of 20 ms steps). On time-out the child is killed and reaped,
/// and its stderr so far is the error.
pub fn collect(mut child: Child, limit: Duration) -> Result<CliRun, String> {
    let read_all = |pipe: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut buf);
            }
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = read_all(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = read_all(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );

    let started = Instant::now();
    let step = Duration::from_millis(20);
    let max_polls = (limit.as_millis() / step.as_millis()).max(1) + 1;
    let mut status = None;
    for _ in 0..max_polls {
        if let Some(s) = child.try_wait().expect("wait for the child") {
            status = Some(s);
            break;
        }
        if started.elapsed() >= limit {
            break;
        }
        thread::sleep(step);
    }
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(err.join().unwrap_or_default());
    };
    Ok(CliRun {
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    })
}
