//! Retention: snapshots older than the retention setting expire, their store objects and
//! their dataset rows alike, on a folder and on a bucket.
//!
//! "Older" is by the later of collection and reception: a date partition (by collection
//! time, `collected_at_ms`, in whole UTC days) whose day ended more than the retention before
//! now expires whole, unless one of its snapshots was received within the retention (a
//! collector offline for longer sends old snapshots: they are kept as long as if they had
//! been collected when received, the rest of their day with them). The store objects of the snapshots its parts hold are deleted first, then
//! its parts, then the ids files of batches left without parts, so that a crash in between
//! leaves rows whose snapshots are gone (deleted at the next pass), never a stored snapshot
//! the dataset no longer holds that a restart would write back.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Cursor;
use std::time::Duration;

use exfleet_dataset::layout::FLUSHED;
use exfleet_dataset::Table;
use polars::prelude::*;

use super::compact::{committed_parts, day_end_ms, Part, LOCKS};
use super::objects::Objects;
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
    let mut days: BTreeMap<&str, Vec<&Part>> = BTreeMap::new();
    for p in &gone {
        days.entry(p.date.as_str()).or_default().push(p);
    }
    // Each day on its own: one that fails (an unreadable part, a delete refused) is logged
    // naming the object and tried again at the next pass; the others expire.
    let mut dates = BTreeSet::new();
    let mut left: BTreeSet<&str> = kept.iter().map(|p| p.batch.as_str()).collect();
    for (date, day) in days {
        match expire_day(store, &objects, &day, cutoff) {
            Ok(None) => {
                tracing::info!(date, "the day's collection is past the retention but some of its snapshots were received since: kept until they are");
                left.extend(day.iter().map(|p| p.batch.as_str()));
            }
            Ok(Some(snapshots)) => {
                out.snapshots += snapshots;
                out.parts += day.len();
                dates.insert(date.to_string());
            }
            Err(e) => {
                tracing::error!(
                    date,
                    "the day could not be expired, tried again at the next pass: {e}"
                );
                left.extend(day.iter().map(|p| p.batch.as_str()));
            }
        }
    }
    let emptied: BTreeSet<&str> = gone.iter().map(|p| p.batch.as_str()).collect();
    for b in emptied.difference(&left) {
        let key = format!("{FLUSHED}/{b}.ids");
        if let Err(e) = objects.delete(&key) {
            tracing::error!("the ids file of an expired batch could not be deleted, tried again at the next pass: {e}");
        }
    }
    for key in objects.list()? {
        let lock_of_gone_day = key
            .strip_prefix(LOCKS)
            .and_then(|k| k.strip_prefix('/'))
            .and_then(|k| k.split('/').next())
            .is_some_and(|d| dates.contains(d));
        if lock_of_gone_day {
            if let Err(e) = objects.delete(&key) {
                tracing::warn!("a compaction lock of an expired day could not be deleted: {e}");
            }
        }
    }
    out.dates = dates.into_iter().collect();
    if out.dates.is_empty() {
        return Ok(out);
    }
    tracing::info!(dates = ?out.dates, snapshots = out.snapshots, parts = out.parts, "snapshots expired");
    Ok(out)
}

/// Expires one day's parts: the store objects of their snapshots, then the parts; the
/// snapshots deleted from the store. `None` when a snapshot of the day was received after
/// `cutoff` (a collector offline for longer than the retention, its snapshots just acked):
/// the day is kept until those expire too.
fn expire_day(
    store: &Store,
    objects: &Objects,
    day: &[&Part],
    cutoff: i64,
) -> Result<Option<usize>, Error> {
    let mut ids: BTreeSet<String> = BTreeSet::new();
    let mut received = i64::MIN;
    for p in day {
        let Some(bytes) = objects.get(&p.key)? else {
            continue;
        };
        let unreadable = |e: PolarsError| Error::Corrupt {
            path: objects.name(&p.key),
            message: format!("cannot read the snapshot ids of an expired part: {e}"),
        };
        let mut columns = vec!["snapshot_id".into()];
        if p.table == Table::Hosts {
            columns.push("received_at_ms".into());
        }
        let df = ParquetReader::new(Cursor::new(bytes))
            .with_columns(Some(columns))
            .finish()
            .map_err(unreadable)?;
        if let Ok(col) = df.column("snapshot_id").and_then(|c| c.str().cloned()) {
            ids.extend(col.iter().flatten().map(str::to_string));
        }
        if let Ok(col) = df.column("received_at_ms").and_then(|c| c.i64().cloned()) {
            received = received.max(col.max().unwrap_or(i64::MIN));
        }
    }
    if received > cutoff {
        return Ok(None);
    }
    for id in &ids {
        store.remove(id)?;
    }
    for p in day {
        objects.delete(&p.key)?;
    }
    Ok(Some(ids.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::stored;

    /// A day whose part cannot be read stays, named in the log, and is tried again; the
    /// other expired days go.
    #[test]
    fn an_unreadable_expired_day_does_not_stop_the_others() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(&tmp.path().join("store")).unwrap();
        let (d, _) = Dataset::open(&tmp.path().join("dataset")).unwrap();
        let mut next_day = stored("aaaaaaaa-2");
        if let Some(s) = next_day.snapshot.as_mut() {
            s.collected_at_ms += 86_400_000;
        }
        for s in [stored("aaaaaaaa-1"), next_day] {
            let id = s.snapshot.as_ref().unwrap().snapshot_id.clone();
            store.put(&id, &s).unwrap();
            d.write_batch(&[s]).unwrap();
        }
        let objects = d.objects();
        let (parts, _) = committed_parts(&objects).unwrap();
        let bad = parts.iter().find(|p| p.date == "2026-11-18").unwrap();
        objects.put(&bad.key, b"not parquet").unwrap();
        let later = day_end_ms("2026-11-19").unwrap() + 86_400_000;
        let day = Duration::from_secs(86_400);
        let out = expire(&store, &d, later, day).unwrap();
        assert_eq!(out.dates, ["2026-11-19"]);
        assert_eq!((out.snapshots, out.parts), (1, 1));
        let (left, committed) = committed_parts(&objects).unwrap();
        assert_eq!(left.len(), 1, "the unreadable day is left");
        assert_eq!(left[0].date, "2026-11-18");
        assert_eq!(committed.len(), 1, "the expired batch's ids file is gone");
        assert!(store.get("aaaaaaaa-1").is_ok());
        assert!(store.get("aaaaaaaa-2").is_err());
    }

    /// A snapshot collected long ago but received within the retention (its collector was
    /// offline) keeps its day until it has been kept as long as any other.
    #[test]
    fn a_day_received_late_is_kept_as_long_as_if_collected_when_received() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(&tmp.path().join("store")).unwrap();
        let (d, _) = Dataset::open(&tmp.path().join("dataset")).unwrap();
        let day = Duration::from_secs(86_400);
        let end = day_end_ms("2026-11-18").unwrap();
        let mut late = stored("aaaaaaaa-1");
        late.received_at_ms = end + 10 * 86_400_000;
        store.put("aaaaaaaa-1", &late).unwrap();
        d.write_batch(&[late.clone()]).unwrap();
        let out = expire(&store, &d, end + 5 * 86_400_000, day).unwrap();
        assert!(out.dates.is_empty(), "{out:?}");
        let out = expire(&store, &d, late.received_at_ms + 86_400_000, day).unwrap();
        assert_eq!(out.dates, ["2026-11-18"]);
        assert!(store.get("aaaaaaaa-1").is_err());
    }
}
