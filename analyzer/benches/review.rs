//! Parse-and-review throughput of ExchangeSetup.log: `exfleet-analyzer review`'s path (decode,
//! parse every line, keep the lines that matter, run the setup rules) on the largest real log
//! of tests/fixtures and on a synthetic 200 MB log, in MB/s, beside `grep -c '\[ERROR\]'` over
//! the same file in the same run (the floor: one pass that only counts a marker).
//!
//! Run: `cargo bench -p exfleet-analyzer --bench review` (numbers in BENCHMARKS.md).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use exfleet_analyzer::catalog::Catalog;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time(f: impl Fn()) -> Duration {
    median(
        (0..3)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

fn measure(name: &str, path: &Path, catalog: &Catalog) {
    let mb = std::fs::metadata(path).unwrap().len() as f64 / 1e6;
    let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let mut findings = 0;
    let ours = time(|| {
        let r = exfleet_analyzer::review::review(path, catalog, as_of).unwrap();
        assert!(!r.runs.is_empty());
        let _ = &r.findings;
    });
    if let Ok(r) = exfleet_analyzer::review::review(path, catalog, as_of) {
        findings = r.findings.len();
    }
    let grep = time(|| {
        let o = Command::new("grep")
            .args(["-c", r"\[ERROR\]"])
            .arg(path)
            .output()
            .unwrap();
        assert!(o.status.success());
    });
    println!(
        "| {name} | {mb:.1} | {:.0} | {:.0} | {:.2} | {findings} |",
        mb / ours.as_secs_f64(),
        mb / grep.as_secs_f64(),
        ours.as_secs_f64() / grep.as_secs_f64()
    );
}

fn main() {
    let fixtures =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/css-exchange-setup-logs");
    let largest =
        fixtures.join("KnownIssues/OrganizationPreparation/ExchangeSetup_AccessDenied.log");
    // A 200 MB log: the largest real log's run appended until the file is 200 MB, as a server
    // that ran setup again and again would have it.
    let tmp = tempfile::tempdir().unwrap();
    let big = tmp.path().join("ExchangeSetup-200MB.log");
    let body = std::fs::read(&largest).unwrap();
    let mut out = Vec::with_capacity(200_000_000 + body.len());
    while out.len() < 200_000_000 {
        out.extend_from_slice(&body);
    }
    std::fs::write(&big, &out).unwrap();
    let catalog = Catalog::embedded();
    println!("| log | MB | review MB/s | grep -c MB/s | review time / grep time | findings |");
    println!("|-|-:|-:|-:|-:|-:|");
    measure("largest shared (AccessDenied)", &largest, &catalog);
    measure("synthetic 200 MB", &big, &catalog);
}
