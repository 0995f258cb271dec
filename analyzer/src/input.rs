//! Where the analyzer's facts come from: the aggregator's Parquet dataset, or a directory of
//! snapshot files (the aggregator's store, or collector output), flattened into the same
//! tables ([`History`], every snapshot, lazily); then the latest snapshot of each host as of
//! the analysis time ([`Frames`]).

use std::path::{Path, PathBuf};

use exfleet_aggregator::dataset::{Tables, TABLES};
use exfleet_proto::v1::{Snapshot, StoredSnapshot};
use polars::prelude::*;
use prost::Message;

use crate::error::Error;

/// The dataset tables reduced to each host's latest snapshot.
#[derive(Debug, Clone)]
pub struct Frames {
    /// One row per snapshot.
    pub hosts: DataFrame,
    /// Build facts.
    pub builds: DataFrame,
    /// Installed updates.
    pub installed_updates: DataFrame,
    /// Services.
    pub services: DataFrame,
    /// IIS and HTTP.sys bindings.
    pub bindings: DataFrame,
    /// Certificates.
    pub certificates: DataFrame,
    /// Setup runs.
    pub setup_runs: DataFrame,
    /// Lines that matter of setup runs.
    pub setup_lines: DataFrame,
    /// Collection errors.
    pub collection_errors: DataFrame,
    /// ServiceControl.ps1 runs.
    pub service_control_runs: DataFrame,
    /// Their actions.
    pub service_control_actions: DataFrame,
    /// Saved service-state files left behind.
    pub service_state_files: DataFrame,
    /// MSI verbose logs.
    pub msi_logs: DataFrame,
    /// Their lines that matter.
    pub msi_lines: DataFrame,
    /// Events of the Windows event logs that matter.
    pub events: DataFrame,
    /// Reboot-pending indicators.
    pub pending_reboots: DataFrame,
    /// Running state of services (from a saved capture).
    pub service_states: DataFrame,
    /// IIS virtual directories.
    pub iis_vdirs: DataFrame,
    /// Config files OWA and ECP need.
    pub config_files: DataFrame,
}

impl Frames {
    /// Frames of in-memory tables.
    pub fn from_tables(t: &Tables) -> PolarsResult<Frames> {
        let mut f = t.frames()?.into_iter().map(|(_, df)| df);
        let mut next = || f.next().expect("one frame per table");
        Ok(Frames {
            hosts: next(),
            builds: next(),
            installed_updates: next(),
            services: next(),
            bindings: next(),
            certificates: next(),
            setup_runs: next(),
            setup_lines: next(),
            collection_errors: next(),
            service_control_runs: next(),
            service_control_actions: next(),
            service_state_files: next(),
            msi_logs: next(),
            msi_lines: next(),
            events: next(),
            pending_reboots: next(),
            service_states: next(),
            iis_vdirs: next(),
            config_files: next(),
        })
    }

    fn tables_mut(&mut self) -> [&mut DataFrame; 19] {
        [
            &mut self.hosts,
            &mut self.builds,
            &mut self.installed_updates,
            &mut self.services,
            &mut self.bindings,
            &mut self.certificates,
            &mut self.setup_runs,
            &mut self.setup_lines,
            &mut self.collection_errors,
            &mut self.service_control_runs,
            &mut self.service_control_actions,
            &mut self.service_state_files,
            &mut self.msi_logs,
            &mut self.msi_lines,
            &mut self.events,
            &mut self.pending_reboots,
            &mut self.service_states,
            &mut self.iis_vdirs,
            &mut self.config_files,
        ]
    }
}

/// Every snapshot of the fleet, table by table, as lazy frames: the dataset's Parquet files
/// are scanned, not read, until a query needs them, and a query reads only the columns and
/// rows it asks for. The analysis takes each host's latest snapshot from it
/// ([`History::latest`]); history rules query it across time.
#[derive(Clone)]
pub struct History {
    /// In [`TABLES`] order.
    tables: Vec<LazyFrame>,
}

impl History {
    /// Every snapshot of in-memory tables.
    pub fn from_tables(t: &Tables) -> PolarsResult<History> {
        Ok(History {
            tables: t.frames()?.into_iter().map(|(_, df)| df.lazy()).collect(),
        })
    }

    /// Scans the aggregator's dataset directory. A table with no file yet is empty.
    pub fn open(dir: &Path) -> Result<History, Error> {
        if !dir.is_dir() {
            return Err(Error::Input {
                path: dir.to_path_buf(),
                message: "not a directory".into(),
            });
        }
        let mut h = History::from_tables(&Tables::default()).map_err(|e| Error::polars(dir, e))?;
        for (name, lf) in TABLES.iter().zip(h.tables.iter_mut()) {
            let table = dir.join(name);
            if !has_parquet(&table) {
                continue;
            }
            let glob = format!("{}/**/*.parquet", table.display());
            // Files written before a column was added read it as null.
            let schema = lf.collect_schema().map_err(|e| Error::polars(&table, e))?;
            let args = ScanArgsParquet {
                hive_options: HiveOptions::new_disabled(),
                schema: Some(schema),
                allow_missing_columns: true,
                ..Default::default()
            };
            *lf = LazyFrame::scan_parquet(glob.as_str().into(), args)
                .map_err(|e| Error::polars(&table, e))?;
        }
        Ok(h)
    }

    /// Reads every snapshot file under `dir`: the aggregator's `*.pb` (StoredSnapshot), or a
    /// collector's `*.pb` / `*.json` (Snapshot). Unreadable files are returned, not fatal.
    pub fn from_snapshots(dir: &Path) -> Result<(History, Vec<Skipped>), Error> {
        if !dir.is_dir() {
            return Err(Error::Input {
                path: dir.to_path_buf(),
                message: "not a directory".into(),
            });
        }
        let mut tables = Tables::default();
        let mut skipped = Vec::new();
        for path in walk(dir) {
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            if ext != "pb" && ext != "json" {
                continue;
            }
            match read_snapshot(&path) {
                Ok(s) => tables.add(&s),
                Err(message) => {
                    tracing::warn!(path = %path.display(), "{message}");
                    skipped.push(Skipped { path, message });
                }
            }
        }
        let history = History::from_tables(&tables).map_err(|e| Error::polars(dir, e))?;
        Ok((history, skipped))
    }

    /// One table (a name of [`TABLES`]), every snapshot's rows.
    pub fn table(&self, name: &str) -> LazyFrame {
        let i = TABLES
            .iter()
            .position(|t| *t == name)
            .unwrap_or_else(|| panic!("{name} is not a dataset table"));
        self.tables[i].clone()
    }

    /// Each table reduced to each host's latest snapshot collected at or before `as_of_ms`
    /// (the snapshot id breaks ties), with hosts sorted by name.
    pub fn latest(&self, as_of_ms: i64) -> PolarsResult<Frames> {
        let ids = self
            .table("hosts")
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
        let mut frames = Frames::from_tables(&Tables::default())?;
        for (lf, df) in self.tables.iter().zip(frames.tables_mut()) {
            *df = lf
                .clone()
                .join(
                    ids.clone(),
                    [col("snapshot_id")],
                    [col("snapshot_id")],
                    JoinArgs::new(JoinType::Inner),
                )
                .collect()?;
        }
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

/// A snapshot file that could not be read: named, and skipped.
#[derive(Debug, Clone)]
pub struct Skipped {
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub message: String,
}

fn read_snapshot(path: &Path) -> Result<StoredSnapshot, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let snapshot = if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_slice::<Snapshot>(&bytes).map_err(|e| format!("not a snapshot: {e}"))?
    } else {
        // The aggregator's store names each file after the snapshot it holds.
        if let Ok(stored) = StoredSnapshot::decode(bytes.as_slice()) {
            if stored
                .snapshot
                .as_ref()
                .is_some_and(|s| s.snapshot_id == stem)
            {
                return Ok(stored);
            }
        }
        Snapshot::decode(bytes.as_slice()).map_err(|e| format!("not a snapshot: {e}"))?
    };
    if snapshot.snapshot_id.is_empty() {
        return Err("not a snapshot: no snapshot_id".into());
    }
    Ok(StoredSnapshot {
        snapshot: Some(snapshot),
        collector_id: String::new(),
        received_at_ms: 0,
    })
}
