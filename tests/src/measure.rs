//! Measuring a command for the benchmarks: wall time and peak resident set, from GNU time.

use std::process::{Command, Stdio};
use std::time::Instant;

/// What a measured command did.
#[derive(Debug, Clone)]
pub struct Measured {
    /// Wall time, seconds.
    pub secs: f64,
    /// Peak resident set, KiB.
    pub peak_rss_kib: u64,
    /// CPU time, user and system, seconds.
    pub cpu_secs: f64,
    /// Its standard output (empty from [`timed`], which discards it).
    pub stdout: Vec<u8>,
}

/// Runs `cmd` under `/usr/bin/time`, its output discarded; panics, with its standard error,
/// if it fails.
pub fn timed(cmd: &Command) -> Measured {
    run(cmd, Stdio::null())
}

/// [`timed`], keeping the command's standard output.
pub fn timed_with_output(cmd: &Command) -> Measured {
    run(cmd, Stdio::piped())
}

fn run(cmd: &Command, stdout: Stdio) -> Measured {
    let t = Instant::now();
    let mut time = Command::new("/usr/bin/time");
    time.args(["-f", "maxrss=%M\ncpu=%U %S"])
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .stdout(stdout);
    for (key, value) in cmd.get_envs() {
        match value {
            Some(v) => time.env(key, v),
            None => time.env_remove(key),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        time.current_dir(dir);
    }
    let out = time.output().expect("GNU time (/usr/bin/time)");
    let secs = t.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let peak_rss_kib = stderr
        .lines()
        .find_map(|l| l.strip_prefix("maxrss="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let cpu_secs = stderr
        .lines()
        .find_map(|l| l.strip_prefix("cpu="))
        .map(|v| {
            v.split_whitespace()
                .filter_map(|t| t.parse::<f64>().ok())
                .sum()
        })
        .unwrap_or(0.0);
    Measured {
        secs,
        peak_rss_kib,
        cpu_secs,
        stdout: out.stdout,
    }
}
