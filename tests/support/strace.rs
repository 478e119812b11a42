//! Runs the `callscribe` binary under `strace` and reads the trace back as events: which files
//! it opened for writing, created, renamed or removed, and every byte it wrote anywhere (files,
//! pipes, sockets). The audit tests (tests/audit.rs) judge those events.
//!
//! strace is started as `strace -f --seccomp-bpf -qq -yy -xx -s 1048576 -e trace=…`:
//! `-f` follows every thread and child; `--seccomp-bpf` stops only on the traced system calls,
//! so the audio threads run at full speed; `-yy` annotates every descriptor with its path (or
//! socket endpoints); `-xx` prints every string as `\xNN` escapes, so the trace parses without
//! guessing at quoting; `-s 1048576` keeps up to 1 MiB of each written buffer.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::Duration;

use crate::support::cli_run::collect;
use crate::support::temp::temp_file;

/// The system calls traced: every file-name call (`%file`: open, creat, rename, unlink, mkdir,
/// truncate, link, chmod, …) and every call that writes bytes to a descriptor.
pub const TRACED: &str = "%file,write,pwrite64,writev,pwritev,pwritev2,sendto,sendmsg,\
                          sendmmsg,sendfile,copy_file_range,splice,ftruncate,memfd_create";

/// File-name calls that change the file system.
const MUTATING: &[&str] = &[
    "creat",
    "rename",
    "renameat",
    "renameat2",
    "link",
    "linkat",
    "symlink",
    "symlinkat",
    "unlink",
    "unlinkat",
    "rmdir",
    "mkdir",
    "mkdirat",
    "mknod",
    "mknodat",
    "truncate",
    "chmod",
    "fchmodat",
    "fchmodat2",
    "chown",
    "lchown",
    "fchownat",
    "utime",
    "utimes",
    "utimensat",
    "futimesat",
    "setxattr",
    "lsetxattr",
    "removexattr",
    "lremovexattr",
];

/// Calls that write a buffer to a descriptor (their first argument).
const WRITES: &[&str] = &[
    "write", "pwrite64", "writev", "pwritev", "pwritev2", "sendto", "sendmsg", "sendmmsg",
];

/// Whether `strace` can be used here. Missing on CI (env `CI` set) is a failure; elsewhere the
/// caller gets `false` after a loud SKIPPED line and returns.
pub fn require_strace() -> bool {
    let ok = Command::new("strace")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return true;
    }
    let test = thread::current().name().unwrap_or("?").to_owned();
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: strace is missing on CI; scripts/setup.sh installs it"
    );
    eprintln!("\n***** {test}: SKIPPED (strace missing: apt-get install strace) *****\n");
    false
}

/// One traced system call, as far as the audit cares.
#[derive(Debug, Clone)]
pub enum Event {
    /// `open`/`openat`/`openat2`/`creat` with a flag that allows writing or creates the file.
    OpenForWrite {
        /// The path, made absolute.
        path: PathBuf,
        /// The flags as strace printed them.
        flags: String,
        /// The traced line.
        line: String,
    },
    /// Another call that changes the file system (rename, unlink, mkdir, truncate, …), with
    /// every path it names.
    Mutate {
        /// The system call.
        call: String,
        /// Its paths, made absolute.
        paths: Vec<PathBuf>,
        /// The traced line.
        line: String,
    },
    /// Bytes written to a descriptor.
    Write {
        /// The system call.
        call: String,
        /// What the descriptor is: a path, `pipe:[…]`, `TCP:[a->b]`, `/dev/null`, …
        target: String,
        /// The bytes (up to strace's `-s` limit per buffer).
        data: Vec<u8>,
    },
    /// `memfd_create`: an anonymous in-memory file (not on disk, but worth knowing about).
    MemFd {
        /// The traced line.
        line: String,
    },
}

/// A finished traced run.
#[derive(Debug)]
pub struct Traced {
    /// callscribe's exit status (strace returns it).
    pub status: ExitStatus,
    /// callscribe's standard output.
    pub stdout: String,
    /// callscribe's standard error.
    pub stderr: String,
    /// The events, in trace order.
    pub events: Vec<Event>,
    /// Lines of the trace that looked like system calls but could not be parsed.
    pub unparsed: Vec<String>,
}

impl Traced {
    /// Every path opened for writing, created, renamed, removed or otherwise changed.
    pub fn changed_paths(&self) -> Vec<(PathBuf, String)> {
        let mut out = Vec::new();
        for e in &self.events {
            match e {
                Event::OpenForWrite { path, line, .. } => out.push((path.clone(), line.clone())),
                Event::Mutate { paths, line, .. } => {
                    out.extend(paths.iter().map(|p| (p.clone(), line.clone())));
                }
                Event::Write { .. } | Event::MemFd { .. } => {}
            }
        }
        out
    }

    /// Every write: (target, data).
    pub fn writes(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.events.iter().filter_map(|e| match e {
            Event::Write { target, data, .. } => Some((target.as_str(), data.as_slice())),
            _ => None,
        })
    }
}

/// Runs `callscribe ARGS…` under strace from the package root (with `RUST_LOG` and
/// `CALLSCRIBE_MODEL` cleared), killing it after `limit`. Blocking.
pub fn run_traced(args: &[&str], env: &[(&str, &str)], limit: Duration) -> Traced {
    let cwd = Path::new(env!("CARGO_MANIFEST_DIR"));
    // strace truncates and writes the file by name; it is removed when `log` is dropped, the
    // panics below included.
    let log = temp_file("strace", ".log");
    let mut command = Command::new("strace");
    command
        .args(["-f", "--seccomp-bpf", "-qq", "-yy", "-xx", "-s", "1048576"])
        .arg("-e")
        .arg(format!("trace={TRACED}"))
        .args(["-e", "signal=none"])
        .arg("-o")
        .arg(log.path())
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_callscribe"))
        .args(args)
        .current_dir(cwd)
        .env_remove("RUST_LOG")
        .env_remove("CALLSCRIBE_MODEL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    let child = command.spawn().expect("spawn strace");
    let run = collect(child, limit).unwrap_or_else(|_| {
        panic!("strace callscribe {args:?} still running after {limit:?}; killed")
    });
    let trace = std::fs::read(log.path()).expect("read the strace log");
    drop(log);
    let (events, unparsed) = parse_trace(&String::from_utf8_lossy(&trace), cwd);
    Traced {
        status: run.status,
        stdout: run.stdout,
        stderr: run.stderr,
        events,
        unparsed,
    }
}

/// Parses an strace log written with `-f -yy -xx`.
pub fn parse_trace(trace: &str, cwd: &Path) -> (Vec<Event>, Vec<String>) {
    let mut events = Vec::new();
    let mut unparsed = Vec::new();
    for line in trace.lines() {
        // "<pid>  <call>(<args>) = <result>" or "… <unfinished ...>"; "<... call resumed>"
        // lines carry only the result.
        let rest = line
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .trim_start();
        if rest.starts_with("<...") || rest.starts_with("+++") || rest.starts_with("---") {
            continue;
        }
        let Some(open) = rest.find('(') else {
            if !rest.is_empty() {
                unparsed.push(line.to_owned());
            }
            continue;
        };
        let call = &rest[..open];
        if !call.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') || call.is_empty() {
            unparsed.push(line.to_owned());
            continue;
        }
        let args = &rest[open + 1..];
        let failed = line.contains(") = -1 ");
        match call {
            "open" | "openat" | "openat2" | "creat" => {
                if failed {
                    continue;
                }
                let strings = quoted(args);
                let Some(path) = strings.first() else {
                    unparsed.push(line.to_owned());
                    continue;
                };
                let flags_writable = call == "creat"
                    || [
                        "O_WRONLY",
                        "O_RDWR",
                        "O_CREAT",
                        "O_TRUNC",
                        "O_APPEND",
                        "O_TMPFILE",
                    ]
                    .iter()
                    .any(|f| args.contains(f));
                if flags_writable {
                    let base = if call == "openat" || call == "openat2" {
                        first_annotation(args)
                    } else {
                        None
                    };
                    events.push(Event::OpenForWrite {
                        path: absolute(&bytes_to_path(path), base.as_deref(), cwd),
                        flags: args
                            .split(", ")
                            .find(|a| a.contains("O_"))
                            .unwrap_or("")
                            .to_owned(),
                        line: readable(line),
                    });
                }
            }
            c if MUTATING.contains(&c) => {
                if failed {
                    continue;
                }
                let base = first_annotation(args);
                let paths = quoted(args)
                    .iter()
                    .map(|p| absolute(&bytes_to_path(p), base.as_deref(), cwd))
                    .collect();
                events.push(Event::Mutate {
                    call: c.to_owned(),
                    paths,
                    line: readable(line),
                });
            }
            c if WRITES.contains(&c) => {
                let target = first_annotation(args)
                    .map(|t| String::from_utf8_lossy(&t).into_owned())
                    .unwrap_or_else(|| "?".to_owned());
                let data: Vec<u8> = quoted(args).concat();
                events.push(Event::Write {
                    call: c.to_owned(),
                    target,
                    data,
                });
            }
            "memfd_create" => events.push(Event::MemFd {
                line: readable(line),
            }),
            _ => {}
        }
    }
    (events, unparsed)
}

/// The line with its `\xNN` escapes decoded where they are printable, for messages.
fn readable(line: &str) -> String {
    let bytes = unescape(line);
    let text = String::from_utf8_lossy(&bytes);
    text.chars().take(400).collect()
}

/// Every double-quoted string in `args`, unescaped.
fn quoted(args: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = args;
    while let Some(start) = rest.find('"') {
        let after = &rest[start + 1..];
        // With -xx a string holds only `\xNN` escapes, so the next quote closes it.
        let Some(end) = after.find('"') else { break };
        out.push(unescape(&after[..end]));
        rest = &after[end + 1..];
    }
    out
}

/// The `<…>` annotation of the first argument (a descriptor's path or socket), unescaped.
fn first_annotation(args: &str) -> Option<Vec<u8>> {
    let first = args.split(", ").next()?;
    let start = first.find('<')?;
    let end = first.rfind('>')?;
    (end > start).then(|| unescape(&first[start + 1..end]))
}

/// Decodes `\xNN` escapes (and strace's few other escapes); other bytes pass through.
fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len() / 4);
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1] == b'x' {
            if let Some(v) = std::str::from_utf8(&b[i + 2..i + 4])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 4;
                continue;
            }
        }
        if b[i] == b'\\' && i + 1 < b.len() {
            let v = match b[i + 1] {
                b'n' => Some(b'\n'),
                b't' => Some(b'\t'),
                b'r' => Some(b'\r'),
                b'\\' => Some(b'\\'),
                b'"' => Some(b'"'),
                _ => None,
            };
            if let Some(v) = v {
                out.push(v);
                i += 2;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

fn bytes_to_path(b: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(b))
}

/// `path` made absolute against the call's directory descriptor, or the working directory.
fn absolute(path: &Path, base: Option<&[u8]>, cwd: &Path) -> PathBuf {
    if path.is_absolute() {
        return path.to_path_buf();
    }
    match base {
        Some(b) if b.starts_with(b"/") => bytes_to_path(b).join(path),
        _ => cwd.join(path),
    }
}
