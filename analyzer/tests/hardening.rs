//! Hardening (issue 13), the analyzer's side, each case as the probe met it: snapshots whose
//! collection time cannot be true (i64::MIN panicked `fleet.stale-collection`), a host name a
//! spreadsheet runs as a formula (it went unchanged into findings.csv and the exported CSVs),
//! and Parquet parts that cannot be read (a 0-byte part silently dropped most of the fleet; a
//! corrupt one aborted the analysis without naming the file).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::NaiveDate;
use exfleet_aggregator::dataset::Dataset;
use exfleet_analyzer::catalog::Catalog;
use exfleet_analyzer::input::History;
use exfleet_analyzer::spreadsheet::formula_like;
use exfleet_dataset::Batch;
use exfleet_proto::v1::StoredSnapshot;
use exfleet_tests::history::{self, HistoryConfig};
use polars::prelude::*;

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

/// Six days of daily snapshots of 12 servers, up to 2026-11-23.
fn fleet() -> Vec<StoredSnapshot> {
    let cfg = HistoryConfig {
        servers: 12,
        days: 6,
        ..Default::default()
    };
    let (hosts, _) = history::hosts(&cfg);
    (0..cfg.days)
        .flat_map(|d| history::day(&cfg, &hosts, d))
        .collect()
}

/// The fleet written as the aggregator writes it.
/// When the last snapshot of `snaps` was collected.
fn last_collected(snaps: &[StoredSnapshot]) -> i64 {
    snaps
        .last()
        .and_then(|s| s.snapshot.as_ref())
        .map_or(0, |s| s.collected_at_ms)
}

fn dataset(dir: &Path, snapshots: &[StoredSnapshot]) {
    let (ds, _) = Dataset::open(dir).unwrap();
    ds.write_batch(snapshots).unwrap();
}

/// Writes `snapshots` into the dataset at `dir` as one part per table,
/// `<table>/date=<date>/part-<name>.parquet`, whatever their times (the aggregator's writer
/// may refuse them): the path of each part by table name.
fn write_parts(
    dir: &Path,
    date: &str,
    name: &str,
    snapshots: &[StoredSnapshot],
) -> Vec<(String, PathBuf)> {
    let mut rows = Batch::default();
    for s in snapshots {
        rows.add(s);
    }
    let mut out = Vec::new();
    for (table, frame) in rows.frames().unwrap().iter() {
        if frame.height() == 0 {
            continue;
        }
        out.push((
            table.name().to_string(),
            write_frame(dir, table.name(), date, name, &mut frame.clone()),
        ));
    }
    out
}

fn write_frame(dir: &Path, table: &str, date: &str, name: &str, df: &mut DataFrame) -> PathBuf {
    let d = dir.join(table).join(format!("date={date}"));
    std::fs::create_dir_all(&d).unwrap();
    let p = d.join(format!("part-{name}.parquet"));
    let mut f = std::fs::File::create(&p).unwrap();
    ParquetWriter::new(&mut f).finish(df).unwrap();
    p
}

/// A copy of `s` renamed, re-identified and re-timed.
fn variant(s: &StoredSnapshot, host: &str, id: &str, at: i64) -> StoredSnapshot {
    let mut s = s.clone();
    let x = s.snapshot.as_mut().unwrap();
    x.host.as_mut().unwrap().computer_name = host.into();
    x.snapshot_id = id.into();
    x.collected_at_ms = at;
    s
}

fn host_of(s: &StoredSnapshot) -> &str {
    &s.snapshot
        .as_ref()
        .unwrap()
        .host
        .as_ref()
        .unwrap()
        .computer_name
}

fn analyzer(args: &[&str], dataset: &Path, out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_exfleet-analyzer"))
        .args(args)
        .arg("--dataset")
        .arg(dataset)
        .arg("--out")
        .arg(out)
        .args(["--as-of", "2026-11-23"])
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn snapshots_with_impossible_collection_times_are_left_out_and_named_not_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("dataset");
    let snaps = fleet();
    dataset(&data, &snaps);
    // i64::MIN made `fleet.stale-collection` subtract with overflow; the others are as
    // impossible: 1999, 2200, i64::MAX.
    let odd = [
        variant(&snaps[0], "EXMIN", "min-1", i64::MIN),
        variant(&snaps[1], "EXMAX", "max-1", i64::MAX),
        variant(&snaps[2], "EX2200", "future-1", 7_258_118_400_000),
        variant(&snaps[3], "EX1999", "old-1", 915_148_800_000),
    ];
    write_parts(&data, "1970-01-01", "odd", &odd);

    let history = History::open(&data).unwrap();
    assert!(history.skipped().is_empty(), "{:?}", history.skipped());
    let a = exfleet_analyzer::analyze(&history, &Catalog::embedded(), as_of()).unwrap();
    let left: Vec<(&str, &str)> = a
        .left_out
        .iter()
        .map(|l| (l.host.as_str(), l.snapshot_id.as_str()))
        .collect();
    assert_eq!(
        left,
        [
            ("EX1999", "old-1"),
            ("EX2200", "future-1"),
            ("EXMAX", "max-1"),
            ("EXMIN", "min-1")
        ]
    );
    let reason = |host: &str| {
        a.left_out
            .iter()
            .find(|l| l.host == host)
            .unwrap()
            .reason
            .clone()
    };
    assert!(
        reason("EXMIN").contains("before 2000-01-01"),
        "{}",
        reason("EXMIN")
    );
    assert!(
        reason("EX1999").contains("1999-01-01"),
        "{}",
        reason("EX1999")
    );
    assert!(
        reason("EX2200").contains("2200-01-01"),
        "{}",
        reason("EX2200")
    );
    assert!(
        reason("EXMAX").contains("more than a day after"),
        "{}",
        reason("EXMAX")
    );
    // The fleet is judged whole, and the left-out snapshots nowhere.
    let fleet_hosts: BTreeSet<&str> = snaps.iter().map(host_of).collect();
    let judged: BTreeSet<&str> = a.hosts.iter().map(|h| h.host.as_str()).collect();
    assert_eq!(judged, fleet_hosts);
    for f in &a.findings {
        for odd in ["EXMIN", "EXMAX", "EX2200", "EX1999"] {
            assert!(
                f.host != odd && !f.hosts.iter().any(|h| h == odd),
                "{odd} in {f:?}"
            );
        }
    }

    // The command line names them on stderr and counts them in the summary; `export` and
    // `changes` leave them out too.
    let o = analyzer(&["analyze"], &data, &tmp.path().join("report"));
    let (stdout, stderr) = (text(&o.stdout), text(&o.stderr));
    assert_eq!(o.status.code(), Some(0), "{stdout}\n{stderr}");
    for named in [
        "snapshot min-1 of host EXMIN",
        "snapshot max-1 of host EXMAX",
        "snapshot future-1 of host EX2200",
        "snapshot old-1 of host EX1999",
    ] {
        assert!(stderr.contains(named), "{named} not in {stderr}");
    }
    assert!(stdout.contains("Left out: 4 snapshots"), "{stdout}");
    assert!(stdout.contains("12 servers"), "{stdout}");
    let out = tmp.path().join("export");
    let o = analyzer(&["export"], &data, &out);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let hosts_csv = std::fs::read_to_string(out.join("csv/hosts.csv")).unwrap();
    assert!(!hosts_csv.contains("EXMIN") && !hosts_csv.contains("EX2200"));
    let o = Command::new(env!("CARGO_BIN_EXE_exfleet-analyzer"))
        .args(["changes", "--dataset"])
        .arg(&data)
        .args(["--since", "2026-11-20", "--as-of", "2026-11-23"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(!text(&o.stdout).contains("EXMIN"));
}

/// Every cell of a CSV file, read back by polars as text: (column, value).
fn csv_cells(path: &Path) -> Vec<(String, String)> {
    let df = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .try_into_reader_with_file_path(Some(path.to_path_buf()))
        .unwrap()
        .finish()
        .unwrap();
    let mut out = Vec::new();
    for c in df.columns() {
        for v in c.str().unwrap().iter().flatten() {
            out.push((c.name().to_string(), v.to_string()));
        }
    }
    out
}

/// Cells a spreadsheet would run: formula-like text (a negative number is a number).
fn formulas(cells: &[(String, String)]) -> Vec<&(String, String)> {
    cells
        .iter()
        .filter(|(_, v)| formula_like(v) && v.parse::<f64>().is_err())
        .collect()
}

fn string_column(df: &DataFrame, name: &str) -> Vec<String> {
    df.column(name)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .flatten()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_host_named_like_a_formula_is_escaped_in_every_csv_and_true_elsewhere() {
    const NAME: &str = "=HYPERLINK(\"x\")";
    const ESCAPED: &str = "'=HYPERLINK(\"x\")";
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("dataset");
    let mut snaps = fleet();
    // The host renamed is one with findings of its own.
    let mut rows = Batch::default();
    for s in &snaps {
        rows.add(s);
    }
    let a = exfleet_analyzer::analyze(
        &History::from_batch(&rows).unwrap(),
        &Catalog::embedded(),
        as_of(),
    )
    .unwrap();
    let victim = a
        .findings
        .iter()
        .find(|f| f.host != "fleet")
        .expect("a host finding")
        .host
        .clone();
    for s in &mut snaps {
        let host = s.snapshot.as_mut().unwrap().host.as_mut().unwrap();
        if host.computer_name == victim {
            host.computer_name = NAME.into();
        }
    }
    dataset(&data, &snaps);

    let report = tmp.path().join("report");
    let o = analyzer(&["analyze"], &data, &report);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let cells = csv_cells(&report.join("findings.csv"));
    assert!(
        cells.iter().any(|(c, v)| c == "host" && v == ESCAPED),
        "no escaped host in findings.csv"
    );
    let run = formulas(&cells);
    assert!(run.is_empty(), "{run:?}");
    // JSON and Parquet keep the true name.
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report.join("findings.json")).unwrap()).unwrap();
    assert!(json.as_array().unwrap().iter().any(|f| f["host"] == NAME));
    let parquet = ParquetReader::new(std::fs::File::open(report.join("findings.parquet")).unwrap())
        .finish()
        .unwrap();
    assert!(string_column(&parquet, "host").iter().any(|h| h == NAME));

    let out = tmp.path().join("export");
    let o = analyzer(&["export"], &data, &out);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    for e in std::fs::read_dir(out.join("csv")).unwrap() {
        let p = e.unwrap().path();
        if std::fs::metadata(&p).unwrap().len() == 0 {
            continue;
        }
        let cells = csv_cells(&p);
        let run = formulas(&cells);
        assert!(run.is_empty(), "{}: {run:?}", p.display());
    }
    for table in ["hosts", "findings"] {
        let cells = csv_cells(&out.join("csv").join(format!("{table}.csv")));
        assert!(
            cells.iter().any(|(c, v)| c == "host" && v == ESCAPED),
            "no escaped host in {table}.csv"
        );
    }
    let hosts = LazyFrame::scan_parquet(
        format!("{}/parquet/hosts/**/*.parquet", out.display())
            .as_str()
            .into(),
        ScanArgsParquet {
            hive_options: HiveOptions::new_disabled(),
            ..Default::default()
        },
    )
    .unwrap()
    .collect()
    .unwrap();
    assert!(string_column(&hosts, "host").iter().any(|h| h == NAME));
    let jsonl = std::fs::read_to_string(out.join("jsonl/hosts.jsonl")).unwrap();
    assert!(
        jsonl.contains(r#""host":"=HYPERLINK(\"x\")""#),
        "{jsonl:.300}"
    );
}

#[test]
fn unreadable_parquet_parts_are_named_and_skipped_and_the_fleet_stays_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("dataset");
    let snaps = fleet();
    dataset(&data, &snaps);
    let last = last_collected(&snaps);
    // A part cut in half (its footer gone): EXBAD's hosts row.
    let bad = write_parts(
        &data,
        "2026-11-23",
        "cut",
        &[variant(&snaps[0], "EXBAD", "bad-1", last)],
    );
    let cut = bad.iter().find(|(t, _)| t == "hosts").unwrap().1.clone();
    let bytes = std::fs::read(&cut).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    // A 0-byte part, as a full disk leaves it.
    let empty = data.join("hosts/date=2026-11-23/part-empty.parquet");
    std::fs::write(&empty, b"").unwrap();
    // Magic numbers right, footer garbage.
    let garbage = data.join("hosts/date=2026-11-22/part-garbage.parquet");
    std::fs::create_dir_all(garbage.parent().unwrap()).unwrap();
    let mut g = b"PAR1".to_vec();
    g.extend([0xAB; 200]);
    g.extend(64u32.to_le_bytes());
    g.extend(b"PAR1");
    std::fs::write(&garbage, g).unwrap();
    // A part written before a column existed still reads, the column null.
    let mut rows = Batch::default();
    rows.add(&variant(&snaps[1], "EXOLD", "old-1", last));
    let frames = rows.frames().unwrap();
    let mut old = frames.hosts.drop("owner").unwrap();
    write_frame(&data, "hosts", "2026-11-23", "old", &mut old);

    let history = History::open(&data).unwrap();
    let skipped: Vec<(&Path, &str)> = history
        .skipped()
        .iter()
        .map(|s| (s.path.as_path(), s.message.as_str()))
        .collect();
    assert_eq!(skipped.len(), 3, "{skipped:?}");
    let why = |p: &Path| {
        skipped
            .iter()
            .find(|(s, _)| *s == p)
            .unwrap_or_else(|| panic!("{} not skipped: {skipped:?}", p.display()))
            .1
    };
    assert!(why(&empty).contains("0 bytes"), "{}", why(&empty));
    assert!(why(&cut).contains("truncated"), "{}", why(&cut));
    assert!(why(&garbage).contains("footer"), "{}", why(&garbage));

    let a = exfleet_analyzer::analyze(&history, &Catalog::embedded(), as_of()).unwrap();
    let mut expected: BTreeSet<&str> = snaps.iter().map(host_of).collect();
    expected.insert("EXOLD");
    let judged: BTreeSet<&str> = a.hosts.iter().map(|h| h.host.as_str()).collect();
    assert_eq!(judged, expected);
    let exold = a.hosts.iter().find(|h| h.host == "EXOLD").unwrap();
    assert_eq!(exold.facts.owner, "");

    // The command line names each file and why, and judges the whole fleet.
    let o = analyzer(&["analyze"], &data, &tmp.path().join("report"));
    let (stdout, stderr) = (text(&o.stdout), text(&o.stderr));
    assert_eq!(o.status.code(), Some(0), "{stdout}\n{stderr}");
    for p in [&empty, &cut, &garbage] {
        assert!(
            stderr.contains(&format!("{}:", p.display())),
            "{} not named in {stderr}",
            p.display()
        );
    }
    assert!(stderr.contains("Parquet part skipped"), "{stderr}");
    assert!(stdout.contains("13 servers"), "{stdout}");
}

#[test]
fn a_part_damaged_inside_its_data_is_named_and_left_out_by_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("dataset");
    let snaps = fleet();
    dataset(&data, &snaps);
    let last = last_collected(&snaps);
    let bad = write_parts(
        &data,
        "2026-11-23",
        "overwritten",
        &[variant(&snaps[0], "EXBAD", "bad-1", last)],
    );
    // Its ends and footer intact, its pages overwritten: only reading the data shows it.
    let p = bad.iter().find(|(t, _)| t == "hosts").unwrap().1.clone();
    let mut bytes = std::fs::read(&p).unwrap();
    let n = bytes.len();
    for b in &mut bytes[8..n / 2] {
        *b = 0x5A;
    }
    std::fs::write(&p, &bytes).unwrap();
    let history = History::open(&data).unwrap();
    let e = exfleet_analyzer::analyze(&history, &Catalog::embedded(), as_of())
        .expect_err("the analysis stops")
        .to_string();
    assert!(e.contains(&p.display().to_string()), "{e}");
    assert!(e.contains("damaged Parquet part"), "{e}");
    // The command line names the part, leaves it out and judges the rest of the fleet.
    let o = analyzer(&["analyze"], &data, &tmp.path().join("report"));
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains(&p.display().to_string()), "{stderr}");
    assert!(stderr.contains("Parquet part skipped"), "{stderr}");
    let stdout = text(&o.stdout);
    assert!(stdout.contains("12 servers"), "{stdout}");
}
