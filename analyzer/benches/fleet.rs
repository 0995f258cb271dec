//! Fleet analysis at scale: 1,000 and 10,000 servers with 90 days of daily snapshots (the
//! dataset written directly from the history generator, as the aggregator writes it, one
//! batch per day), then, in one run per size:
//! - the whole analysis, `exfleet-analyzer analyze` (every host and fleet rule, the history
//!   rules, the report), in its own process: wall time and peak RSS;
//! - `exfleet-analyzer export` (Parquet by date, CSV, JSON lines): wall time and peak RSS;
//! - the main queries of the analysis, in polars (lazy scans, this process) and in DuckDB
//!   (tests/scripts/duckdb_queries.py, its own process) over the same exported Parquet files,
//!   with their results compared, and the time ratio.
//!
//! ```sh
//! CARGO_TARGET_DIR=target/bench-build cargo bench -p exfleet-analyzer --bench fleet
//! FLEET_SERVERS=1000 FLEET_DAYS=30 ...   # sizes; datasets are kept in target/bench-fleet/
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use exfleet_aggregator::dataset::Dataset;
use exfleet_tests::history::{self, HistoryConfig};
use exfleet_tests::measure::{timed, timed_with_output};
use polars::prelude::*;

const DAY: i64 = 86_400_000;

fn main() {
    let sizes: Vec<usize> = std::env::var("FLEET_SERVERS")
        .unwrap_or_else(|_| "1000,10000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let days: usize = std::env::var("FLEET_DAYS")
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(90);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-fleet");
    let end = exfleet_analyzer::analyze::end_of_day(
        chrono::NaiveDate::from_ymd_opt(2026, 11, 23).expect("a date"),
    );
    for n in sizes {
        let dir = root.join(format!("{n}x{days}"));
        let dataset = dir.join("dataset");
        let cfg = HistoryConfig {
            servers: n,
            days,
            ..Default::default()
        };
        if !complete(&dataset, days) {
            let _ = std::fs::remove_dir_all(&dir);
            let t = Instant::now();
            let (hosts, _) = history::hosts(&cfg);
            let (ds, _) = Dataset::open(&dataset).expect("dataset");
            for day in 0..days {
                ds.write_batch(&history::day(&cfg, &hosts, day))
                    .expect("batch");
            }
            eprintln!(
                "{n} servers x {days} days: dataset written in {:.1}s",
                t.elapsed().as_secs_f64()
            );
        }
        let snapshots = n * days;
        let size = du(&dataset);
        let bin = env!("CARGO_BIN_EXE_exfleet-analyzer");
        let out = dir.join("out");
        let analyzed = timed(
            Command::new(bin)
                .args(["analyze", "--dataset"])
                .arg(&dataset)
                .arg("--out")
                .arg(&out)
                .args(["--as-of", "2026-11-23", "--format", "json"]),
        );
        let (analyze_s, analyze_rss) = (analyzed.secs, analyzed.peak_rss_kib);
        let export = dir.join("export");
        let _ = std::fs::remove_dir_all(&export);
        let exported = timed(
            Command::new(bin)
                .args(["export", "--dataset"])
                .arg(&dataset)
                .arg("--out")
                .arg(&export)
                .args(["--as-of", "2026-11-23"]),
        );
        let (export_s, export_rss) = (exported.secs, exported.peak_rss_kib);
        let ours = polars_queries(&export, end);
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/scripts/duckdb_queries.py");
        let duck = timed_with_output(
            Command::new("python3")
                .arg(&script)
                .arg(&export)
                .arg(end.to_string()),
        );
        let (duck_wall, duck_rss) = (duck.secs, duck.peak_rss_kib);
        let theirs: serde_json::Value = serde_json::from_slice(&duck.stdout).expect("JSON");
        println!(
            "\n{n} servers x {days} days: {snapshots} snapshots, dataset {:.0} MB",
            size as f64 / 1e6
        );
        println!(
            "  analyze (all rules, history, report): {analyze_s:.2} s, peak RSS {} MiB",
            analyze_rss / 1024
        );
        println!(
            "  export (Parquet by date, CSV, JSON lines): {export_s:.2} s, peak RSS {} MiB",
            export_rss / 1024
        );
        println!("  | query | polars s | DuckDB s | polars / DuckDB | result |");
        let (mut sum_p, mut sum_d) = (0.0, 0.0);
        for (name, secs, rows) in &ours {
            let d = &theirs[*name];
            let d_secs = d["seconds"].as_f64().unwrap_or(f64::NAN);
            let d_rows: Vec<Vec<String>> =
                serde_json::from_value(d["rows"].clone()).unwrap_or_default();
            assert_eq!(rows, &d_rows, "{name}: polars and DuckDB disagree");
            sum_p += secs;
            sum_d += d_secs;
            let shown = if rows.len() == 1 {
                rows[0].join(" ")
            } else {
                format!("{} rows", rows.len())
            };
            println!(
                "  | {name} | {secs:.3} | {d_secs:.3} | {:.2} | {shown} |",
                secs / d_secs
            );
        }
        println!(
            "  | all five | {sum_p:.3} | {sum_d:.3} | {:.2} | |",
            sum_p / sum_d
        );
        println!(
            "  DuckDB process: {duck_wall:.2} s wall (Python start and connect included), peak RSS {} MiB; this process (polars queries): peak RSS {} MiB",
            duck_rss / 1024,
            self_rss() / 1024
        );
    }
}

fn complete(dataset: &Path, days: usize) -> bool {
    std::fs::read_dir(dataset.join("_flushed"))
        .map(|d| d.count() == days)
        .unwrap_or(false)
}

fn self_rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn du(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p: PathBuf = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                total += e.metadata().map(|m| m.len()).unwrap_or(0);
            }
        }
    }
    total
}

fn scan(export: &Path, table: &str) -> LazyFrame {
    let glob = format!("{}/parquet/{table}/*/*.parquet", export.display());
    let args = ScanArgsParquet {
        hive_options: HiveOptions::new_disabled(),
        ..Default::default()
    };
    LazyFrame::scan_parquet(glob.as_str().into(), args).expect("scan")
}

/// The same five queries as tests/scripts/duckdb_queries.py: (name, seconds, rows as text).
fn polars_queries(export: &Path, end: i64) -> Vec<(&'static str, f64, Vec<Vec<String>>)> {
    let mut out = Vec::new();
    let mut run = |name: &'static str, q: &dyn Fn() -> PolarsResult<DataFrame>| {
        let t = Instant::now();
        let df = q().expect(name);
        let secs = t.elapsed().as_secs_f64();
        out.push((name, secs, rows(&df)));
    };
    let hosts = || scan(export, "hosts").filter(col("collected_at_ms").lt_eq(lit(end)));
    let latest = || {
        hosts()
            .sort_by_exprs([col("collected_at_ms")], SortMultipleOptions::default())
            .group_by([col("host")])
            .agg([col("snapshot_id").last()])
            .select([col("snapshot_id")])
    };
    let on_latest = || {
        scan(export, "hosts").join(
            latest(),
            [col("snapshot_id")],
            [col("snapshot_id")],
            JoinArgs::new(JoinType::Inner),
        )
    };
    run("latest_builds", &|| {
        on_latest()
            .group_by([col("exsetup_version")])
            .agg([len().alias("n")])
            .sort(["exsetup_version"], Default::default())
            .collect()
    });
    run("stale_hosts", &|| {
        hosts()
            .group_by([col("host")])
            .agg([col("collected_at_ms").max().alias("last")])
            .filter(col("last").lt(lit(end - 2 * DAY)))
            .select([len()])
            .collect()
    });
    run("errors_after_update", &|| {
        let ev = scan(export, "events")
            .filter(col("collected_at_ms").lt_eq(lit(end)))
            .select([
                col("host"),
                col("log"),
                col("record_id"),
                col("time_ms"),
                col("provider"),
                col("event_id"),
            ])
            .unique(None, UniqueKeepStrategy::Any);
        let errs = Series::new("e".into(), [1309i64, 1310]);
        let installs = Series::new("i".into(), [1022i64, 1023, 1024, 1033, 1036, 11707, 11708]);
        let first = ev
            .clone()
            .filter(
                col("provider")
                    .str()
                    .starts_with(lit("ASP.NET"))
                    .and(col("event_id").is_in(lit(errs).implode(false), false)),
            )
            .group_by([col("host")])
            .agg([col("time_ms").min().alias("t")]);
        let upd = ev
            .filter(
                col("provider")
                    .eq(lit("MsiInstaller"))
                    .and(col("event_id").is_in(lit(installs).implode(false), false)),
            )
            .select([col("host"), col("time_ms").alias("u")]);
        first
            .join(
                upd,
                [col("host")],
                [col("host")],
                JoinArgs::new(JoinType::Inner),
            )
            .filter(
                col("u")
                    .lt_eq(col("t"))
                    .and((col("t") - col("u")).lt_eq(lit(DAY))),
            )
            .select([col("host").n_unique()])
            .collect()
    });
    run("stock_files", &|| {
        let builds = scan(export, "hosts")
            .select([col("snapshot_id"), col("exsetup_version").alias("build")]);
        scan(export, "config_files")
            .filter(
                col("collected_at_ms")
                    .lt_eq(lit(end))
                    .and(col("exists"))
                    .and(col("sha256").neq(lit(""))),
            )
            .join(
                builds,
                [col("snapshot_id")],
                [col("snapshot_id")],
                JoinArgs::new(JoinType::Inner),
            )
            .group_by([col("path"), col("build"), col("sha256")])
            .agg([col("host").n_unique().alias("n")])
            .with_column(
                col("n")
                    .sum()
                    .over([col("path"), col("build")])?
                    .alias("total"),
            )
            .filter(
                col("n")
                    .gt_eq(lit(3))
                    .and((col("n") * lit(2)).gt(col("total"))),
            )
            .select([len()])
            .collect()
    });
    run("attribute_counts", &|| {
        on_latest()
            .group_by([col("dotnet_release"), col("exsetup_version")])
            .agg([len().alias("n")])
            .select([len(), col("n").max()])
            .collect()
    });
    out
}

fn rows(df: &DataFrame) -> Vec<Vec<String>> {
    let cols: Vec<Column> = df
        .columns()
        .iter()
        .map(|c| c.cast(&DataType::String).expect("cast"))
        .collect();
    (0..df.height())
        .map(|i| {
            cols.iter()
                .map(|c| {
                    c.str()
                        .ok()
                        .and_then(|s| s.get(i))
                        .unwrap_or("")
                        .to_string()
                })
                .collect()
        })
        .collect()
}
