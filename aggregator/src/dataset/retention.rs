//! Retention: snapshots older than the retention setting expire, their store objects and
//! their dataset rows alike, on a folder and on a bucket.
//!
//! "Older" is by collection time (`collected_at_ms`, what the dataset is partitioned by),
//! in whole UTC days: a date partition whose day ended more than the retention before now
//! expires whole. The store objects of the snapshots its parts hold are deleted first, then
//! its parts, then the ids files of batches left without parts, so that a crash in between
//! leaves rows whose snapshots are gone (deleted at the next pass), never a stored snapshot
//! the dataset no longer holds that a restart would write back.

use std::collections::BTreeSet;
use std::io::Cursor;
use std::time::Duration;

use exfleet_dataset::layout::FLUSHED;
use polars::prelude::*;

use super::compact::{committed_parts, day_end_ms, LOCKS};
use super::Dataset;
use crate::error::Error;
use crate::store::Store;

/// What a pass expired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expired {
    /// The date partitions removed.
    pub dates: Vec<String>,
    /// Snapshots deleted from the store.
    pub snapshots: usize,
    /// Part files deleted.
    pub parts: usize,
}

/// Expires the snapshots collected on days that ended more than `keep` before `now_ms`.
/// Blocking.
pub fn expire(
    store: &Store,
    dataset: &Dataset,
    now_ms: i64,
    keep: Duration,
) -> Result<Expired, Error> {
    let objects = dataset.objects();
    let (parts, _) = committed_parts(&objects)?;
    let cutoff = now_ms - keep.as_millis() as i64;
    let old = |date: &str| day_end_ms(date).is_some_and(|end| end <= cutoff);
    let (gone, kept): (Vec<_>, Vec<_>) = parts.into_iter().partition(|p| old(&p.date));
    let mut out = Expired::default();
    if gone.is_empty() {
        return Ok(out);
    }
    let mut ids: BTreeSet<String> = BTreeSet::new();
    for p in &gone {
        let Some(bytes) = objects.get(&p.key)? else {
            continue;
        };
        let df = ParquetReader::new(Cursor::new(bytes))
            .with_columns(Some(vec!["snapshot_id".into()]))
            .finish()
            .map_err(|e| Error::Corrupt {
                path: objects.name(&p.key),
                message: format!("cannot read the snapshot ids of an expired part: {e}"),
            })?;
        if let Ok(col) = df.column("snapshot_id").and_then(|c| c.str().cloned()) {
            ids.extend(col.iter().flatten().map(str::to_string));
        }
    }
    for id in &ids {
        store.remove(id)?;
    }
    out.snapshots = ids.len();
    for p in &gone {
        objects.delete(&p.key)?;
        out.parts += 1;
    }
    let emptied: BTreeSet<&str> = gone.iter().map(|p| p.batch.as_str()).collect();
    for b in emptied {
        if !kept.iter().any(|p| p.batch == b) {
            objects.delete(&format!("{FLUSHED}/{b}.ids"))?;
        }
    }
    let dates: BTreeSet<String> = gone.iter().map(|p| p.date.clone()).collect();
    for key in objects.list()? {
        let lock_of_gone_day = key
            .strip_prefix(LOCKS)
            .and_then(|k| k.strip_prefix('/'))
            .and_then(|k| k.split('/').next())
            .is_some_and(|d| dates.contains(d));
        if lock_of_gone_day {
            objects.delete(&key)?;
        }
    }
    out.dates = dates.into_iter().collect();
    tracing::info!(dates = ?out.dates, snapshots = out.snapshots, parts = out.parts, "snapshots expired");
    Ok(out)
}
