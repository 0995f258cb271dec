//! Writing batches of snapshots as Parquet parts:
//! `<table>/date=<YYYY-MM-DD>/part-<batch>.parquet`, partitioned by collection date for
//! pruning (hive style, read by polars, DuckDB, Spark, Trino).
//!
//! A batch is committed by `_flushed/<batch>.ids`, the list of its snapshot ids, written last.
//! Parts are written to `_tmp/`, fsynced and renamed into place before it. At open, parts of
//! batches without an ids file (a crash mid-batch) are deleted, and their snapshots, being
//! in no committed batch, are written again: the store is the truth, the dataset derived.
//! Compaction locks are removed there too (one process writes a folder).
//!
//! On a bucket ([`Dataset::open_bucket`]) the keys are the same under the bucket's prefix; a
//! part is put whole (no staging), the ids object last. Several aggregators write there, so a
//! batch's name ends with its writer's id (`<ms>-<pid>-<seq>-<aggregator>`) and the roll-back
//! at open touches only this aggregator's uncommitted parts older than `ROLL_BACK_AFTER`:
//! another's may be in progress, and so may a batch of an overlapping process with the same
//! id (a restart before the old one stopped). Readers ignore uncommitted parts meanwhile.
//! Once the ids object's put was attempted, the batch's parts are never deleted: the put may
//! have succeeded though its answer was lost.
//! A snapshot two aggregators both wrote (one was killed after storing it, before its ack, and
//! both flushed it) is in two committed batches: readers keep its first batch's rows
//! (`_flushed/` says which rows are whose).

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use exfleet_dataset::bucket::Bucket;
use exfleet_dataset::layout::{batch_of_ids, batch_of_part, date_of, part_key, FLUSHED};
use exfleet_dataset::{Batch, Table};
use exfleet_proto::v1::StoredSnapshot;
use polars::prelude::*;

use super::objects::Objects;
use crate::durable;
use crate::error::Error;

/// How old an uncommitted part of this aggregator's on a bucket must be before the
/// roll-back at open deletes it: far longer than any batch takes to write.
const ROLL_BACK_AFTER: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// Batches written by this process.
static BATCH_SEQ: AtomicU64 = AtomicU64::new(0);

/// The dataset: a directory, or a prefix of a bucket.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The directory, or the bucket's URL (for messages).
    root: PathBuf,
    /// The bucket, and this aggregator's id, for a dataset on a bucket.
    bucket: Option<(Bucket, String)>,
}

/// What a batch wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchInfo {
    /// Batch name (sorts by time).
    pub batch: String,
    /// Snapshots in it.
    pub snapshots: usize,
    /// Parquet files written.
    pub files: usize,
}

impl Dataset {
    /// Opens (creating) the dataset at `root`, rolls back uncommitted batches, and returns
    /// the ids of snapshots already in committed batches.
    pub fn open(root: &Path) -> Result<(Dataset, HashSet<String>), Error> {
        let flushed_dir = root.join(FLUSHED);
        let tmp = root.join("_tmp");
        fs::create_dir_all(&flushed_dir).map_err(Error::io(&flushed_dir))?;
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(Error::io(&tmp))?;
        }
        fs::create_dir_all(&tmp).map_err(Error::io(&tmp))?;
        // One process writes a folder: a compaction lock found now is a killed predecessor's,
        // and the day it held (its replaced parts perhaps left beside its commit) is
        // compacted again at the next pass, not only once the lock is stale.
        let locks = root.join(super::compact::LOCKS);
        if locks.exists() {
            fs::remove_dir_all(&locks).map_err(Error::io(&locks))?;
        }
        let mut committed = HashSet::new();
        let mut ids = HashSet::new();
        for e in fs::read_dir(&flushed_dir).map_err(Error::io(&flushed_dir))? {
            let p = e.map_err(Error::io(&flushed_dir))?.path();
            if p.extension().is_some_and(|x| x == "ids") {
                let text = fs::read_to_string(&p).map_err(Error::io(&p))?;
                ids.extend(text.lines().filter(|l| !l.is_empty()).map(str::to_string));
                if let Some(stem) = p.file_stem().and_then(|s| s.to_str()) {
                    committed.insert(stem.to_string());
                }
            }
        }
        let mut rolled_back = 0;
        for part in parts(root)? {
            let batch = part
                .file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| s.strip_prefix("part-"))
                .unwrap_or("");
            if !committed.contains(batch) {
                fs::remove_file(&part).map_err(Error::io(&part))?;
                rolled_back += 1;
            }
        }
        if rolled_back > 0 {
            tracing::warn!(
                files = rolled_back,
                "removed parts of an uncommitted dataset batch"
            );
        }
        Ok((
            Dataset {
                root: root.to_path_buf(),
                bucket: None,
            },
            ids,
        ))
    }

    /// Opens the dataset on a bucket shared with other aggregators, as `aggregator`: removes
    /// this aggregator's parts of uncommitted batches, and returns the ids of snapshots in
    /// committed batches (every aggregator's).
    pub fn open_bucket(
        bucket: &Bucket,
        aggregator: &str,
    ) -> Result<(Dataset, HashSet<String>), Error> {
        let mut committed = HashSet::new();
        let mut ids = HashSet::new();
        for o in bucket.list(FLUSHED)? {
            let Some(batch) = batch_of_ids(&o.key) else {
                tracing::warn!(url = %bucket.url_of(&o.key), "skipping a stray object in the dataset");
                continue;
            };
            let Some(text) = bucket.get(&o.key)? else {
                continue;
            };
            let text = String::from_utf8_lossy(&text);
            ids.extend(text.lines().filter(|l| !l.is_empty()).map(str::to_string));
            committed.insert(batch.to_string());
        }
        let mut rolled_back = 0;
        let before = chrono::Utc::now().timestamp_millis() - ROLL_BACK_AFTER.as_millis() as i64;
        for o in bucket.list("")? {
            let Some(batch) = batch_of_part(&o.key) else {
                continue;
            };
            let mine = batch.rsplit_once('-').is_some_and(|(_, a)| a == aggregator);
            if mine && !committed.contains(batch) && o.modified_ms < before {
                bucket.delete(&o.key)?;
                rolled_back += 1;
            }
        }
        if rolled_back > 0 {
            tracing::warn!(
                objects = rolled_back,
                aggregator,
                "removed this aggregator's parts of an uncommitted dataset batch"
            );
        }
        Ok((
            Dataset {
                root: PathBuf::from(bucket.url()),
                bucket: Some((bucket.clone(), aggregator.to_string())),
            },
            ids,
        ))
    }

    /// The ids of the snapshots in committed batches now, every aggregator's (read again).
    pub fn committed(&self) -> Result<HashSet<String>, Error> {
        let mut ids = HashSet::new();
        match &self.bucket {
            Some((bucket, _)) => {
                for o in bucket.list(FLUSHED)? {
                    if batch_of_ids(&o.key).is_some() {
                        if let Some(text) = bucket.get(&o.key)? {
                            ids.extend(String::from_utf8_lossy(&text).lines().map(str::to_string));
                        }
                    }
                }
            }
            None => {
                let dir = self.root.join(FLUSHED);
                for e in fs::read_dir(&dir).map_err(Error::io(&dir))? {
                    let p = e.map_err(Error::io(&dir))?.path();
                    if p.extension().is_some_and(|x| x == "ids") {
                        let text = fs::read_to_string(&p).map_err(Error::io(&p))?;
                        ids.extend(text.lines().map(str::to_string));
                    }
                }
            }
        }
        ids.remove("");
        Ok(ids)
    }

    /// The dataset directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Its files as objects by key, for the maintenance ([`super::compact`]).
    pub(crate) fn objects(&self) -> Objects {
        match &self.bucket {
            Some((b, _)) => Objects::Bucket(b.clone()),
            None => Objects::Dir(self.root.clone()),
        }
    }

    /// This aggregator's id, on a bucket.
    pub(crate) fn aggregator(&self) -> Option<&str> {
        self.bucket.as_ref().map(|(_, a)| a.as_str())
    }

    /// Writes one batch and commits it. Blocking. On failure nothing of the batch is left
    /// in the dataset (its parts are removed again), so that writing the same snapshots later
    /// cannot give readers their rows twice.
    pub fn write_batch(&self, snapshots: &[StoredSnapshot]) -> Result<BatchInfo, Error> {
        if let Some((bucket, aggregator)) = &self.bucket {
            return self.write_bucket_batch(bucket, aggregator, snapshots);
        }
        let mut written = Vec::new();
        let result = self.try_write_batch(snapshots, &mut written);
        if result.is_err() {
            for f in &written {
                let _ = fs::remove_file(f);
            }
        }
        result
    }

    fn try_write_batch(
        &self,
        snapshots: &[StoredSnapshot],
        written: &mut Vec<PathBuf>,
    ) -> Result<BatchInfo, Error> {
        // Made again if it was removed while serving.
        let tmp_dir = self.root.join("_tmp");
        fs::create_dir_all(&tmp_dir).map_err(Error::io(&tmp_dir))?;
        // Time, process and a per-process sequence: two batches of one millisecond (a bulk
        // load) must not share a name, or the second would replace the first's parts.
        let batch = format!(
            "{:013}-{:08x}-{:06}",
            chrono::Utc::now().timestamp_millis(),
            std::process::id(),
            BATCH_SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let mut staged = Vec::new();
        for (key, bytes) in self.encode(snapshots, &batch)? {
            let tmp = tmp_dir.join(key.replace('/', "-"));
            written.push(tmp.clone());
            durable::write_synced(&tmp, &bytes)?;
            let dest = self.root.join(&key);
            let dir = dest.parent().expect("a partition directory").to_path_buf();
            staged.push((tmp, dir, dest));
        }
        let mut dirs = HashSet::new();
        for (tmp, dir, dest) in &staged {
            fs::create_dir_all(dir).map_err(Error::io(dir))?;
            fs::rename(tmp, dest).map_err(Error::io(dest))?;
            written.push(dest.clone());
            dirs.insert(dir.clone());
        }
        for d in &dirs {
            durable::sync_dir(d)?;
        }
        let ids = ids_text(snapshots);
        let flushed = self.root.join(FLUSHED);
        let tmp = self.root.join("_tmp").join(format!("{batch}.ids"));
        written.push(tmp.clone());
        durable::write_synced(&tmp, ids.as_bytes())?;
        let dest = flushed.join(format!("{batch}.ids"));
        fs::rename(&tmp, &dest).map_err(Error::io(&dest))?;
        durable::sync_dir(&flushed)?;
        Ok(BatchInfo {
            batch,
            snapshots: snapshots.len(),
            files: staged.len(),
        })
    }

    /// [`Dataset::write_batch`] on a bucket: every part put, then the ids object. If a part
    /// put fails, the parts put are deleted again. If the ids put fails, the ids object is
    /// read back: there, the batch is committed; not there, the error is returned and the
    /// parts are left (the put may yet land; readers ignore them while uncommitted, the
    /// roll-back at a later open removes them).
    fn write_bucket_batch(
        &self,
        bucket: &Bucket,
        aggregator: &str,
        snapshots: &[StoredSnapshot],
    ) -> Result<BatchInfo, Error> {
        let batch = format!(
            "{:013}-{:08x}-{:06}-{aggregator}",
            chrono::Utc::now().timestamp_millis(),
            std::process::id(),
            BATCH_SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let mut written = Vec::new();
        let parts = (|| {
            for (key, bytes) in self.encode(snapshots, &batch)? {
                bucket.put(&key, bytes)?;
                written.push(key);
            }
            Ok::<_, Error>(())
        })();
        if let Err(e) = parts {
            for key in &written {
                let _ = bucket.delete(key);
            }
            return Err(e);
        }
        let ids_key = format!("{FLUSHED}/{batch}.ids");
        let ids = ids_text(snapshots);
        if let Err(e) = bucket.put(&ids_key, ids.clone().into_bytes()) {
            match bucket.get(&ids_key) {
                Ok(Some(there)) if there.as_ref() == ids.as_bytes() => {
                    tracing::warn!(
                        batch,
                        "the commit's put failed ({e}) but the ids object is there: committed"
                    );
                }
                Ok(_) => return Err(e.into()),
                Err(again) => {
                    tracing::warn!(
                        batch,
                        "cannot read the ids object back ({again}): its parts are left"
                    );
                    return Err(e.into());
                }
            }
        }
        Ok(BatchInfo {
            batch,
            snapshots: snapshots.len(),
            files: written.len(),
        })
    }

    /// The batch's parts: `<table>/date=<date>/part-<batch>.parquet` and its bytes.
    fn encode(
        &self,
        snapshots: &[StoredSnapshot],
        batch: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, Error> {
        let mut by_date: BTreeMap<String, Batch> = BTreeMap::new();
        for s in snapshots {
            let at = s.snapshot.as_ref().map_or(0, |x| x.collected_at_ms);
            by_date.entry(date_of(at)).or_default().add(s);
        }
        let mut out = Vec::new();
        for (date, rows) in &by_date {
            let frames = rows.frames().map_err(|e| self.polars_err(e))?;
            for (table, frame) in frames.iter() {
                if frame.height() == 0 {
                    continue;
                }
                let mut frame = frame.clone();
                let mut bytes = Vec::new();
                ParquetWriter::new(&mut bytes)
                    .with_compression(ParquetCompression::Zstd(None))
                    .finish(&mut frame)
                    .map_err(|e| self.polars_err(e))?;
                let key = part_key(table.name(), date, batch);
                out.push((key, bytes));
            }
        }
        Ok(out)
    }

    fn polars_err(&self, e: PolarsError) -> Error {
        Error::Io {
            path: self.root.clone(),
            reason: std::io::Error::other(e.to_string()),
        }
    }
}

/// A batch's ids file: one snapshot id a line.
fn ids_text(snapshots: &[StoredSnapshot]) -> String {
    snapshots
        .iter()
        .filter_map(|s| s.snapshot.as_ref())
        .map(|s| format!("{}\n", s.snapshot_id))
        .collect()
}

/// Every part file of the dataset.
fn parts(root: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut out = Vec::new();
    for table in Table::ALL {
        let dir = root.join(table.name());
        if !dir.exists() {
            continue;
        }
        for d in fs::read_dir(&dir).map_err(Error::io(&dir))? {
            let d = d.map_err(Error::io(&dir))?.path();
            if !d.is_dir() {
                tracing::warn!(path = %d.display(), "skipping a stray file in the dataset");
                continue;
            }
            for f in fs::read_dir(&d).map_err(Error::io(&d))? {
                let f = f.map_err(Error::io(&d))?.path();
                let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if name.starts_with("part-") && name.ends_with(".parquet") {
                    out.push(f);
                } else {
                    // Not ours to delete: only parts of uncommitted batches are rolled back.
                    tracing::warn!(path = %f.display(), "skipping a stray file in the dataset");
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::stored;

    #[test]
    fn committed_batches_are_kept_and_uncommitted_parts_rolled_back() {
        let tmp = tempfile::tempdir().unwrap();
        let (d, ids) = Dataset::open(tmp.path()).unwrap();
        assert!(ids.is_empty());
        let info = d
            .write_batch(&[stored("aaaaaaaa-1"), stored("aaaaaaaa-2")])
            .unwrap();
        assert_eq!(info.snapshots, 2);
        // A part of a batch that never committed (the process died before its ids file).
        let orphan = tmp
            .path()
            .join("hosts/date=2026-11-18/part-9999999999999-deadbeef.parquet");
        std::fs::write(&orphan, b"half").unwrap();
        let (_, ids) = Dataset::open(tmp.path()).unwrap();
        assert_eq!(ids.len(), 2);
        assert!(ids.contains("aaaaaaaa-1"));
        assert!(!orphan.exists(), "uncommitted parts are removed");
        let kept = tmp
            .path()
            .join(format!("hosts/date=2026-11-18/part-{}.parquet", info.batch));
        assert!(kept.exists(), "{}", kept.display());
    }
}
