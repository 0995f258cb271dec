//! Exports for reporting tools: every dataset table, and the findings, as Parquet partitioned
//! by collection date (hive style, `date=YYYY-MM-DD`, for pruning), CSV and JSON lines, with
//! a manifest of row counts and column types. The columns are those of `aggregator/DATASET.md`
//! (findings: `report::frame`).
//!
//! ```text
//! <out>/parquet/<table>/date=<YYYY-MM-DD>/part-0.parquet
//! <out>/parquet/findings/findings.parquet
//! <out>/csv/<table>.csv          <out>/jsonl/<table>.jsonl
//! <out>/manifest.json
//! ```

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use exfleet_aggregator::dataset::writer::date_of;
use exfleet_aggregator::dataset::TABLES;
use polars::prelude::*;
use serde::Serialize;

use crate::error::Error;
use crate::finding::Finding;
use crate::input::History;

/// One exported table.
#[derive(Debug, Clone, Serialize)]
pub struct TableExport {
    /// Rows.
    pub rows: usize,
    /// Rows per collection date (Parquet partitions).
    pub rows_by_date: BTreeMap<String, usize>,
    /// (column, polars type).
    pub columns: Vec<(String, String)>,
}

/// The manifest: what was written.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    /// Snapshots up to the end of this day were exported.
    pub as_of: String,
    /// Per table (the 19 of the dataset, and `findings`).
    pub tables: BTreeMap<String, TableExport>,
}

/// Writes every table of `history` collected up to `end_ms`, and `findings`, under `out`.
pub fn export(
    history: &History,
    end_ms: i64,
    as_of: &str,
    findings: &[Finding],
    out: &Path,
) -> Result<Manifest, Error> {
    let mut manifest = Manifest {
        as_of: as_of.to_string(),
        tables: BTreeMap::new(),
    };
    for name in TABLES {
        let mut df = history
            .table(name)
            .filter(col("collected_at_ms").lt_eq(lit(end_ms)))
            .sort(["collected_at_ms", "snapshot_id"], Default::default())
            .collect()
            .map_err(|e| Error::polars(out, e))?;
        let rows_by_date = write_partitions(&df, &out.join("parquet").join(name))?;
        write_flat(&mut df, out, name)?;
        manifest.tables.insert(
            name.to_string(),
            TableExport {
                rows: df.height(),
                rows_by_date,
                columns: columns(&df),
            },
        );
    }
    let mut df = crate::report::frame(findings).map_err(|e| Error::polars(out, e))?;
    let dir = out.join("parquet").join("findings");
    std::fs::create_dir_all(&dir).map_err(Error::io(&dir))?;
    parquet(&mut df, &dir.join("findings.parquet"))?;
    write_flat(&mut df, out, "findings")?;
    manifest.tables.insert(
        "findings".into(),
        TableExport {
            rows: df.height(),
            rows_by_date: BTreeMap::new(),
            columns: columns(&df),
        },
    );
    let path = out.join("manifest.json");
    let text = serde_json::to_vec_pretty(&manifest).map_err(std::io::Error::other);
    std::fs::write(&path, text.map_err(Error::io(&path))?).map_err(Error::io(&path))?;
    Ok(manifest)
}

/// One Parquet file per collection date.
fn write_partitions(df: &DataFrame, dir: &Path) -> Result<BTreeMap<String, usize>, Error> {
    let mut counts = BTreeMap::new();
    std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
    if df.height() == 0 {
        return Ok(counts);
    }
    let times = df
        .column("collected_at_ms")
        .and_then(|c| c.i64().cloned())
        .map_err(|e| Error::polars(dir, e))?;
    let mut days: Vec<i64> = times
        .iter()
        .flatten()
        .map(|t| t.div_euclid(86_400_000))
        .collect();
    days.sort_unstable();
    days.dedup();
    for day in days {
        let (from, to) = (day * 86_400_000, (day + 1) * 86_400_000);
        let mask = times.gt_eq(from) & times.lt(to);
        let mut part = df.filter(&mask).map_err(|e| Error::polars(dir, e))?;
        let date = date_of(from);
        let pdir = dir.join(format!("date={date}"));
        std::fs::create_dir_all(&pdir).map_err(Error::io(&pdir))?;
        parquet(&mut part, &pdir.join("part-0.parquet"))?;
        counts.insert(date, part.height());
    }
    Ok(counts)
}

fn parquet(df: &mut DataFrame, path: &Path) -> Result<(), Error> {
    let mut f = File::create(path).map_err(Error::io(path))?;
    ParquetWriter::new(&mut f)
        .with_compression(ParquetCompression::Zstd(None))
        .finish(df)
        .map_err(|e| Error::polars(path, e))?;
    Ok(())
}

/// `csv/<name>.csv` and `jsonl/<name>.jsonl`.
fn write_flat(df: &mut DataFrame, out: &Path, name: &str) -> Result<(), Error> {
    let csv: PathBuf = out.join("csv").join(format!("{name}.csv"));
    let jsonl: PathBuf = out.join("jsonl").join(format!("{name}.jsonl"));
    for p in [&csv, &jsonl] {
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).map_err(Error::io(d))?;
        }
    }
    let mut f = File::create(&csv).map_err(Error::io(&csv))?;
    CsvWriter::new(&mut f)
        .finish(df)
        .map_err(|e| Error::polars(&csv, e))?;
    let mut f = File::create(&jsonl).map_err(Error::io(&jsonl))?;
    JsonWriter::new(&mut f)
        .with_json_format(JsonFormat::JsonLines)
        .finish(df)
        .map_err(|e| Error::polars(&jsonl, e))?;
    Ok(())
}

fn columns(df: &DataFrame) -> Vec<(String, String)> {
    df.schema()
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect()
}
