//! Where the analyzer's facts come from: the aggregator's Parquet dataset, or a directory of
//! snapshot files (the aggregator's store, or collector output, told apart by content),
//! flattened into the same tables ([`History`], every snapshot, lazily); then the latest
//! snapshot of each host as of the analysis time ([`Frames`]).

use std::path::{Path, PathBuf};

use exfleet_dataset::{Batch, Table, TableSet};
use exfleet_proto::v1::{Snapshot, StoredSnapshot};
use polars::prelude::*;
use prost::Message;

use crate::error::Error;

/// The dataset tables reduced to each host's latest snapshot, one frame per table.
pub type Frames = TableSet<DataFrame>;

/// Every snapshot of the fleet, table by table, as lazy frames: the dataset's Parquet files
/// are scanned, not read, until a query needs them, and a query reads only the columns and
/// rows it asks for. The analysis takes each host's latest snapshot from it
/// ([`History::latest`]); history rules query it across time.
#[derive(Clone)]
pub struct History {
    tables: TableSet<LazyFrame>,
}

impl History {
    /// Every snapshot of in-memory rows.
    pub fn from_batch(rows: &Batch) -> PolarsResult<History> {
        let frames = rows.frames()?;
        Ok(History {
            tables: frames.try_map(|_, df| Ok::<_, PolarsError>(df.clone().lazy()))?,
        })
    }

    /// Scans the aggregator's dataset directory. A table with no file yet is empty; a file
    /// written before a column existed reads it as null.
    pub fn open(dir: &Path) -> Result<History, Error> {
        if !dir.is_dir() {
            return Err(Error::Input {
                path: dir.to_path_buf(),
                message: "not a directory".into(),
            });
        }
        let tables = TableSet::try_from_fn(|t| {
            let table = dir.join(t.name());
            if !has_parquet(&table) {
                return Ok(t.empty_frame().lazy());
            }
            let glob = format!("{}/**/*.parquet", table.display());
            let args = ScanArgsParquet {
                hive_options: HiveOptions::new_disabled(),
                schema: Some(t.schema().into()),
                allow_missing_columns: true,
                ..Default::default()
            };
            LazyFrame::scan_parquet(glob.as_str().into(), args)
                .map_err(|e| Error::polars(&table, e))
        })?;
        Ok(History { tables })
    }

    /// Reads every file under `dir` as a snapshot, whatever its name: the aggregator's
    /// stored snapshots and a collector's protobuf or JSON output are told apart by content.
    /// Files that are not snapshots are returned, not fatal; a directory with no snapshot at
    /// all is an error naming what it found.
    pub fn from_snapshots(dir: &Path) -> Result<(History, Vec<Skipped>), Error> {
        if !dir.is_dir() {
            return Err(Error::Input {
                path: dir.to_path_buf(),
                message: "not a directory".into(),
            });
        }
        let mut rows = Batch::default();
        let mut skipped = Vec::new();
        let mut read = 0;
        for path in walk(dir) {
            match read_snapshot(&path) {
                Ok(s) => {
                    rows.add(&s);
                    read += 1;
                }
                Err(message) => {
                    tracing::warn!(path = %path.display(), "{message}");
                    skipped.push(Skipped { path, message });
                }
            }
        }
        if read == 0 {
            let found = match skipped.as_slice() {
                [] => "no file".to_string(),
                s => {
                    let named: Vec<String> = s
                        .iter()
                        .take(3)
                        .map(|x| format!("{}: {}", x.path.display(), x.message))
                        .collect();
                    let more = if s.len() > 3 { "; ..." } else { "" };
                    format!(
                        "{} file(s), none a snapshot ({}{more})",
                        s.len(),
                        named.join("; ")
                    )
                }
            };
            return Err(Error::Input {
                path: dir.to_path_buf(),
                message: format!("no readable snapshot: {found}"),
            });
        }
        let history = History::from_batch(&rows).map_err(|e| Error::polars(dir, e))?;
        Ok((history, skipped))
    }

    /// One table, every snapshot's rows.
    pub fn table(&self, table: Table) -> LazyFrame {
        self.tables.get(table).clone()
    }

    /// Each table reduced to each host's latest snapshot collected at or before `as_of_ms`
    /// (the snapshot id breaks ties), with hosts sorted by name.
    pub fn latest(&self, as_of_ms: i64) -> PolarsResult<Frames> {
        let ids = self
            .table(Table::Hosts)
            .filter(col("collected_at_ms").lt_eq(lit(as_of_ms)))
            .sort_by_exprs(
                [col("collected_at_ms"), col("snapshot_id")],
                SortMultipleOptions::default(),
            )
            .group_by([col("host")])
            .agg([col("snapshot_id").last()])
            .select([col("snapshot_id")])
            .collect()?
            .lazy();
        let mut frames = self.tables.try_map(|_, lf| {
            lf.clone()
                .join(
                    ids.clone(),
                    [col("snapshot_id")],
                    [col("snapshot_id")],
                    JoinArgs::new(JoinType::Inner),
                )
                .collect()
        })?;
        frames
            .hosts
            .sort_in_place(["host"], SortMultipleOptions::default())?;
        Ok(frames)
    }
}

fn has_parquet(dir: &Path) -> bool {
    walk(dir)
        .iter()
        .any(|p| p.extension().is_some_and(|e| e == "parquet"))
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// A file that could not be read as a snapshot: named, and skipped.
#[derive(Debug, Clone)]
pub struct Skipped {
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub message: String,
}

/// A snapshot as the collector writes it has an id and a collection time.
fn plausible(s: &Snapshot) -> bool {
    !s.snapshot_id.is_empty()
        && s.snapshot_id.chars().all(|c| c.is_ascii_graphic())
        && s.collected_at_ms > 0
}

/// Reads a snapshot file by its content: JSON (a collector's `Snapshot`, or a
/// `StoredSnapshot`) when it starts with `{`, else protobuf, a `StoredSnapshot` (the
/// aggregator's store) or a `Snapshot` (a collector's output), whichever decodes to a
/// plausible snapshot.
fn read_snapshot(path: &Path) -> Result<StoredSnapshot, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let plain = |snapshot: Snapshot| StoredSnapshot {
        snapshot: Some(snapshot),
        collector_id: String::new(),
        received_at_ms: 0,
    };
    if bytes.trim_ascii_start().starts_with(b"{") {
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| format!("not a snapshot: JSON: {e}"))?;
        let stored = if value.get("snapshot").is_some() {
            serde_json::from_value::<StoredSnapshot>(value)
        } else {
            serde_json::from_value::<Snapshot>(value).map(plain)
        }
        .map_err(|e| format!("not a snapshot: JSON: {e}"))?;
        return match &stored.snapshot {
            Some(s) if plausible(s) => Ok(stored),
            _ => Err("not a snapshot: JSON without a snapshot_id and collection time".into()),
        };
    }
    if let Ok(stored) = StoredSnapshot::decode(bytes.as_slice()) {
        if stored.snapshot.as_ref().is_some_and(plausible) {
            return Ok(stored);
        }
    }
    match Snapshot::decode(bytes.as_slice()) {
        Ok(s) if plausible(&s) => Ok(plain(s)),
        Ok(_) => Err("not a snapshot: protobuf without a snapshot_id and collection time".into()),
        Err(e) => Err(format!("not a snapshot: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(id: &str) -> Snapshot {
        Snapshot {
            snapshot_id: id.into(),
            collected_at_ms: 1_795_000_000_000,
            ..Default::default()
        }
    }

    #[test]
    fn snapshots_are_read_whatever_their_names() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::write(d.join("ex01.snapshot"), snapshot("a-1").encode_to_vec()).unwrap();
        std::fs::write(
            d.join("ex02"),
            serde_json::to_vec(&snapshot("a-2")).unwrap(),
        )
        .unwrap();
        let stored = StoredSnapshot {
            snapshot: Some(snapshot("a-3")),
            collector_id: "EX03".into(),
            received_at_ms: 5,
        };
        std::fs::write(d.join("x.json"), stored.encode_to_vec()).unwrap();
        std::fs::write(d.join("notes.txt"), "hello").unwrap();
        let (history, skipped) = History::from_snapshots(d).unwrap();
        let hosts = history.table(Table::Hosts).collect().unwrap();
        assert_eq!(hosts.height(), 3);
        let mut ids: Vec<String> = <exfleet_dataset::HostRow as exfleet_dataset::Row>::read(&hosts)
            .unwrap()
            .into_iter()
            .map(|r| format!("{}/{}", r.key.snapshot_id, r.collector_id))
            .collect();
        ids.sort();
        assert_eq!(ids, ["a-1/", "a-2/", "a-3/EX03"]);
        assert_eq!(skipped.len(), 1);
        assert!(skipped[0].path.ends_with("notes.txt"));
    }

    #[test]
    fn a_directory_without_a_snapshot_is_an_error_naming_what_it_found() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("a.pb"), b"\xff\xff\xff").unwrap();
        let e = History::from_snapshots(tmp.path())
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("no readable snapshot"), "{e}");
        assert!(e.contains("a.pb"), "{e}");
    }
}
