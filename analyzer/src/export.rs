//! Exports for reporting tools: every dataset table, and the findings, as Parquet partitioned
//! by collection date (hive style, `date=YYYY-MM-DD`, for pruning), CSV and JSON lines, with
//! a manifest of row counts and column types. The columns are those of `dataset/DATASET.md`
//! (findings: `report::frame`). In the CSV files a text cell a spreadsheet would read as a
//! formula has a `'` before it ([`crate::spreadsheet`]); Parquet and JSON lines hold the
//! true values. Beside the dataset's tables, two the analysis computes: `findings`
//! ([`crate::report::frame`]) and `cve_exposure`, one row per host and CVE it is exposed to
//! ([`crate::exposure::frame`]).
//!
//! ```text
//! <out>/parquet/<table>/date=<YYYY-MM-DD>/part-0.parquet
//! <out>/parquet/findings/findings.parquet
//! <out>/parquet/cve_exposure/cve_exposure.parquet
//! <out>/csv/<table>.csv          <out>/jsonl/<table>.jsonl
//! <out>/manifest.json
//! ```

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use exfleet_dataset::layout::{date_of, partition};
use exfleet_dataset::Table;
use polars::prelude::*;
use serde::Serialize;

use crate::analyze::Analysis;
use crate::error::Error;
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
    /// Per table (those of the dataset, `findings` and `cve_exposure`).
    pub tables: BTreeMap<String, TableExport>,
}

/// Writes every table of `history` collected up to `end_ms`, the findings and the CVE
/// exposure of `analysis`, under `out`.
pub fn export(
    history: &History,
    end_ms: i64,
    analysis: &Analysis,
    out: &Path,
) -> Result<Manifest, Error> {
    let as_of = analysis.as_of.to_string();
    let mut manifest = Manifest {
        as_of,
        tables: BTreeMap::new(),
    };
    // An earlier export into the same directory may hold dates this one does not: what is
    // there must be what the manifest says.
    for owned in ["parquet", "csv", "jsonl"] {
        let d = out.join(owned);
        if d.exists() {
            std::fs::remove_dir_all(&d).map_err(Error::io(&d))?;
        }
    }
    for &table in Table::ALL {
        let t = export_table(history, table, end_ms, out)?;
        manifest.tables.insert(table.name().to_string(), t);
    }
    let computed = [
        ("findings", crate::report::frame(&analysis.findings)),
        ("cve_exposure", crate::exposure::frame(&analysis.exposure)),
    ];
    for (name, df) in computed {
        let mut df = df.map_err(|e| Error::polars(out, e))?;
        let dir = out.join("parquet").join(name);
        std::fs::create_dir_all(&dir).map_err(Error::io(&dir))?;
        parquet(&mut df, &dir.join(format!("{name}.parquet")))?;
        Flat::create(out, name)?.write(&mut df)?;
        manifest.tables.insert(
            name.into(),
            TableExport {
                rows: df.height(),
                rows_by_date: BTreeMap::new(),
                columns: columns(&df),
            },
        );
    }
    let path = out.join("manifest.json");
    let text = serde_json::to_vec_pretty(&manifest).map_err(std::io::Error::other);
    std::fs::write(&path, text.map_err(Error::io(&path))?).map_err(Error::io(&path))?;
    Ok(manifest)
}

/// One table, a collection date at a time (only one day's rows in memory): a Parquet file
/// per date, appended to the CSV and JSON lines files.
fn export_table(
    history: &History,
    table: Table,
    end_ms: i64,
    out: &Path,
) -> Result<TableExport, Error> {
    let err = |e| Error::polars(out, e);
    let name = table.name();
    let rows = history
        .table(table)
        .filter(col("collected_at_ms").lt_eq(lit(end_ms)));
    let days = rows
        .clone()
        .select([(col("collected_at_ms") / lit(DAY_MS)).alias("day")])
        .unique(None, UniqueKeepStrategy::Any)
        .sort(["day"], Default::default())
        .collect()
        .map_err(err)?;
    let days: Vec<i64> = days
        .column("day")
        .and_then(|c| c.i64().cloned())
        .map_err(err)?
        .iter()
        .flatten()
        .collect();
    let dir = out.join("parquet").join(name);
    std::fs::create_dir_all(&dir).map_err(Error::io(&dir))?;
    let mut flat = Flat::create(out, name)?;
    let mut export = TableExport {
        rows: 0,
        rows_by_date: BTreeMap::new(),
        columns: columns(&rows.clone().limit(0).collect().map_err(err)?),
    };
    if days.is_empty() {
        flat.write(&mut rows.clone().limit(0).collect().map_err(err)?)?;
    }
    for day in days {
        let mut part = rows
            .clone()
            .filter(
                col("collected_at_ms")
                    .gt_eq(lit(day.saturating_mul(DAY_MS)))
                    .and(
                        col("collected_at_ms")
                            .lt(lit(day.saturating_add(1).saturating_mul(DAY_MS))),
                    ),
            )
            .sort(["collected_at_ms", "snapshot_id"], Default::default())
            .collect()
            .map_err(err)?;
        let date = date_of(day.saturating_mul(DAY_MS));
        let pdir = dir.join(partition(&date));
        std::fs::create_dir_all(&pdir).map_err(Error::io(&pdir))?;
        parquet(&mut part, &pdir.join("part-0.parquet"))?;
        flat.write(&mut part)?;
        export.rows += part.height();
        export.rows_by_date.insert(date, part.height());
    }
    Ok(export)
}

const DAY_MS: i64 = 86_400_000;

fn parquet(df: &mut DataFrame, path: &Path) -> Result<(), Error> {
    let mut f = File::create(path).map_err(Error::io(path))?;
    ParquetWriter::new(&mut f)
        .with_compression(ParquetCompression::Zstd(None))
        .finish(df)
        .map_err(|e| Error::polars(path, e))?;
    Ok(())
}

/// `csv/<name>.csv` and `jsonl/<name>.jsonl`, written a chunk at a time.
struct Flat {
    csv: (PathBuf, File),
    jsonl: (PathBuf, File),
    header_written: bool,
}

impl Flat {
    fn create(out: &Path, name: &str) -> Result<Flat, Error> {
        let open = |dir: &str, ext: &str| -> Result<(PathBuf, File), Error> {
            let d = out.join(dir);
            std::fs::create_dir_all(&d).map_err(Error::io(&d))?;
            let p = d.join(format!("{name}.{ext}"));
            let f = File::create(&p).map_err(Error::io(&p))?;
            Ok((p, f))
        };
        Ok(Flat {
            csv: open("csv", "csv")?,
            jsonl: open("jsonl", "jsonl")?,
            header_written: false,
        })
    }

    fn write(&mut self, df: &mut DataFrame) -> Result<(), Error> {
        // The CSV only: a cell a spreadsheet would run as a formula gets a `'` before it.
        let mut safe =
            crate::spreadsheet::csv_safe(df).map_err(|e| Error::polars(&self.csv.0, e))?;
        CsvWriter::new(&mut self.csv.1)
            .include_header(!self.header_written)
            .finish(&mut safe)
            .map_err(|e| Error::polars(&self.csv.0, e))?;
        self.header_written = true;
        JsonWriter::new(&mut self.jsonl.1)
            .with_json_format(JsonFormat::JsonLines)
            .finish(df)
            .map_err(|e| Error::polars(&self.jsonl.0, e))?;
        Ok(())
    }
}

fn columns(df: &DataFrame) -> Vec<(String, String)> {
    df.schema()
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect()
}
