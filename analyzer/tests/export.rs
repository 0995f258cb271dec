//! Exports read back by another engine: `exfleet-analyzer export` over a dataset holding a
//! collected triage fleet and a week of daily snapshots, then DuckDB (the Python package,
//! tests/scripts/duckdb_check.py) counts every table in the date-partitioned Parquet, the
//! CSV and the JSON lines files: the same rows as the dataset, each in its date's partition.

use std::path::Path;
use std::process::Command;

use exfleet_aggregator::dataset::Dataset;
use exfleet_analyzer::input::History;
use exfleet_dataset::Table;
use exfleet_tests::fleet::FleetConfig;
use exfleet_tests::history::{self, HistoryConfig};

#[test]
fn duckdb_reads_every_exported_table_with_the_same_counts() {
    let Some(python) = exfleet_tests::tools::python_module("duckdb") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("dataset");
    let (ds, _) = Dataset::open(&data).unwrap();
    let cfg = HistoryConfig {
        servers: 12,
        days: 6,
        ..Default::default()
    };
    let (hosts, _) = history::hosts(&cfg);
    for day in 0..cfg.days {
        ds.write_batch(&history::day(&cfg, &hosts, day)).unwrap();
    }
    let fleet = FleetConfig {
        servers: 12,
        ..Default::default()
    };
    let (_, snapshots) = exfleet_tests::collected_fleet(&fleet, &tmp.path().join("fleet")).unwrap();
    let stored: Vec<_> = snapshots
        .into_iter()
        .map(|s| exfleet_proto::v1::StoredSnapshot {
            snapshot: Some(s),
            collector_id: "test".into(),
            received_at_ms: 1,
            ..Default::default()
        })
        .collect();
    ds.write_batch(&stored).unwrap();

    let out = tmp.path().join("export");
    // A stale partition from an earlier export into the same directory is not kept.
    let stale = out.join("parquet/hosts/date=2020-01-01");
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::write(stale.join("part-0.parquet"), b"stale").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_exfleet-analyzer"))
        .args(["export", "--dataset"])
        .arg(&data)
        .arg("--out")
        .arg(&out)
        .args(["--as-of", "2026-11-23"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!stale.exists());

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/scripts/duckdb_check.py");
    let o = Command::new(&python)
        .arg(&script)
        .arg(&out)
        .output()
        .expect("python3 runs");
    assert!(
        o.status.success(),
        "DuckDB check failed (is the duckdb Python package installed?): {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let duck: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();

    let history = History::open(&data).unwrap();
    let mut non_empty = 0;
    for &t in Table::ALL {
        let table = t.name();
        let rows = history.table(t).collect().unwrap().height() as u64;
        let d = &duck[table];
        assert_eq!(manifest["tables"][table]["rows"], rows, "{table}");
        for format in ["parquet", "csv", "jsonl"] {
            assert_eq!(d[format], rows, "{table} {format}: {d}");
        }
        assert_eq!(d["misplaced"].as_u64().unwrap_or(0), 0, "{table}");
        if rows > 0 {
            non_empty += 1;
            assert_eq!(
                d["parquet_by_date"], manifest["tables"][table]["rows_by_date"],
                "{table}"
            );
        }
    }
    // Every kind of table was exercised.
    assert!(non_empty >= 15, "{non_empty} tables with rows");
    let findings = manifest["tables"]["findings"]["rows"].as_u64().unwrap();
    assert!(findings > 0);
    assert_eq!(duck["findings"]["csv"], findings);
    assert_eq!(duck["findings"]["jsonl"], findings);
    // CVE exposure: one row per host and CVE; DuckDB's hosts per open CVE are the summary's.
    let exposure = manifest["tables"]["cve_exposure"]["rows"].as_u64().unwrap();
    assert!(exposure > 0);
    assert_eq!(duck["cve_exposure"]["parquet"], exposure);
    assert_eq!(duck["cve_exposure"]["csv"], exposure);
    let analysis = exfleet_analyzer::analyze(
        &history,
        &exfleet_analyzer::catalog::Catalog::embedded(),
        chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
    )
    .unwrap();
    let summary = exfleet_analyzer::report::summarize(
        &analysis,
        &exfleet_analyzer::catalog::Catalog::embedded(),
    );
    let open: serde_json::Map<String, serde_json::Value> = summary
        .exposure
        .per_cve
        .iter()
        .filter(|c| !c.open.is_empty())
        .map(|c| (c.cve.clone(), c.open.len().into()))
        .collect();
    assert!(open.contains_key("CVE-2026-21527"), "{open:?}");
    assert_eq!(
        duck["cve_exposure"]["open_hosts_by_cve"],
        serde_json::Value::Object(open)
    );
    // Six collection dates; the triage fleet was collected on the history's last day.
    let dates = manifest["tables"]["hosts"]["rows_by_date"]
        .as_object()
        .unwrap();
    assert_eq!(dates.len(), 6, "{dates:?}");
    assert_eq!(dates["2026-11-23"], 24);
}
