//! Where the analyzer's facts come from: the aggregator's Parquet dataset, or a directory of
//! snapshot files (the aggregator's store, or collector output), flattened into the same
//! tables. Then the latest snapshot of each host as of the analysis time.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use exfleet_aggregator::dataset::Tables;
use exfleet_proto::v1::{Snapshot, StoredSnapshot};
use polars::prelude::*;
use prost::Message;

use crate::error::Error;

/// The dataset tables.
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

    /// Keeps, for each host, its latest snapshot collected at or before `as_of_ms`.
    pub fn latest(mut self, as_of_ms: i64) -> PolarsResult<Frames> {
        let mut best: HashMap<String, (i64, String)> = HashMap::new();
        let hosts = self.hosts.column("host")?.str()?.clone();
        let ids = self.hosts.column("snapshot_id")?.str()?.clone();
        let times = self.hosts.column("collected_at_ms")?.i64()?.clone();
        for ((h, id), t) in hosts.iter().zip(ids.iter()).zip(times.iter()) {
            let (h, id, t) = (
                h.unwrap_or_default(),
                id.unwrap_or_default(),
                t.unwrap_or_default(),
            );
            if t > as_of_ms {
                continue;
            }
            let e = best
                .entry(h.to_string())
                .or_insert((i64::MIN, String::new()));
            if (t, id) > (e.0, e.1.as_str()) {
                *e = (t, id.to_string());
            }
        }
        let keep: HashSet<String> = best.into_values().map(|(_, id)| id).collect();
        for df in self.tables_mut() {
            if df.height() == 0 {
                continue;
            }
            let mask: BooleanChunked = df
                .column("snapshot_id")?
                .str()?
                .iter()
                .map(|id| Some(id.is_some_and(|id| keep.contains(id))))
                .collect();
            *df = df.filter(&mask)?;
        }
        self.hosts
            .sort_in_place(["host"], SortMultipleOptions::default())?;
        Ok(self)
    }
}

/// Reads the aggregator's dataset directory. A table with no file yet is empty.
pub fn from_dataset(dir: &Path) -> Result<Frames, Error> {
    if !dir.is_dir() {
        return Err(Error::Input {
            path: dir.to_path_buf(),
            message: "not a directory".into(),
        });
    }
    let mut frames = Frames::from_tables(&Tables::default()).map_err(|e| Error::polars(dir, e))?;
    for (name, df) in exfleet_aggregator::dataset::TABLES
        .iter()
        .zip(frames.tables_mut())
    {
        let table = dir.join(name);
        if !has_parquet(&table) {
            continue;
        }
        let glob = format!("{}/**/*.parquet", table.display());
        let args = ScanArgsParquet {
            hive_options: HiveOptions::new_disabled(),
            ..Default::default()
        };
        *df = LazyFrame::scan_parquet(glob.as_str().into(), args)
            .and_then(|lf| lf.collect())
            .map_err(|e| Error::polars(&table, e))?;
    }
    Ok(frames)
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

/// Reads every snapshot file under `dir`: the aggregator's `*.pb` (StoredSnapshot), or a
/// collector's `*.pb` / `*.json` (Snapshot). Unreadable files are returned, not fatal.
pub fn from_snapshots(dir: &Path) -> Result<(Frames, Vec<Skipped>), Error> {
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
    let frames = Frames::from_tables(&tables).map_err(|e| Error::polars(dir, e))?;
    Ok((frames, skipped))
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
