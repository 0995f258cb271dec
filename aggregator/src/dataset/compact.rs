//! Compaction: once a day is over, the parts of that day's date partitions, one per batch
//! and table (a batch every flush interval makes many small files), are rewritten as one
//! batch, on a folder and on a bucket alike.
//!
//! The swap never lets a reader count a snapshot twice, nor miss one:
//! 1. The compacted batch is named to sort before every batch it replaces
//!    ([`compacted_batch`]): readers keep a snapshot's rows from the first batch holding it.
//! 2. Its parts are written, then its ids file (the commit). Until then readers leave its
//!    parts out (a compaction's parts count only once committed:
//!    [`exfleet_dataset::layout::is_compacted`]); once
//!    committed, the replaced batches' copies are the ones left out.
//! 3. Then the replaced parts are deleted, and the ids file of a replaced batch once none of
//!    its parts is left (its snapshots are in the compacted batch's ids file).
//!
//! One compaction per day's state: the first to create `_compact/<date>/<newest batch>.lock`
//! (create-only, on a bucket `If-None-Match: *`, read back) compacts, another aggregator
//! trying the same skips it; a lock left by a compactor that died is taken over once stale. Snapshots of the day flushed later (a collector that was offline) make a new
//! newest batch: the day is compacted again, the previous compaction's batch among those
//! replaced.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Cursor;

use exfleet_dataset::copies::Copies;
use exfleet_dataset::layout::{batch_of_ids, batch_of_part, compacted_batch, part_key, FLUSHED};
use exfleet_dataset::Table;
use polars::prelude::*;

use super::objects::Objects;
use super::Dataset;
use crate::error::Error;

/// The folder of the compaction locks, under the dataset's root.
pub const LOCKS: &str = "_compact";

/// One day compacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compacted {
    /// The date partition (`YYYY-MM-DD`).
    pub date: String,
    /// The compacted batch.
    pub batch: String,
    /// The batches it replaced.
    pub replaced: usize,
    /// The part files deleted.
    pub parts_removed: usize,
    /// Snapshots in it.
    pub snapshots: usize,
}

/// A part of a committed batch, as listed.
#[derive(Debug, Clone)]
pub(crate) struct Part {
    pub key: String,
    pub table: Table,
    pub date: String,
    pub batch: String,
}

/// The parts of committed batches, and the committed batches.
pub(crate) fn committed_parts(objects: &Objects) -> Result<(Vec<Part>, BTreeSet<String>), Error> {
    let keys = objects.list()?;
    let committed: BTreeSet<String> = keys
        .iter()
        .filter_map(|k| batch_of_ids(k))
        .map(str::to_string)
        .collect();
    let mut parts = Vec::new();
    for key in keys {
        let Some(batch) = batch_of_part(&key).map(str::to_string) else {
            continue;
        };
        if !committed.contains(&batch) {
            continue;
        }
        let mut it = key.split('/');
        let (Some(table), Some(date)) = (it.next(), it.next()) else {
            continue;
        };
        let Some(table) = Table::ALL.iter().copied().find(|t| t.name() == table) else {
            continue;
        };
        let date = date.trim_start_matches("date=").to_string();
        parts.push(Part {
            key,
            table,
            date,
            batch,
        });
    }
    Ok((parts, committed))
}

/// The end of a date partition's day, UTC ms.
pub(crate) fn day_end_ms(date: &str) -> Option<i64> {
    let d = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    Some(
        d.succ_opt()?
            .and_time(chrono::NaiveTime::MIN)
            .and_utc()
            .timestamp_millis(),
    )
}

impl Dataset {
    /// Compacts every day that ended at least `after` before `now_ms` and has parts of more
    /// than one committed batch. Blocking. A day that fails is logged and left as it was;
    /// the others go on.
    pub fn compact(
        &self,
        now_ms: i64,
        after: std::time::Duration,
    ) -> Result<Vec<Compacted>, Error> {
        let objects = self.objects();
        let (parts, _) = committed_parts(&objects)?;
        let mut days: BTreeMap<&str, Vec<&Part>> = BTreeMap::new();
        for p in &parts {
            days.entry(p.date.as_str()).or_default().push(p);
        }
        let mut done = Vec::new();
        for (date, day) in days {
            let over = day_end_ms(date).is_some_and(|end| end + after.as_millis() as i64 <= now_ms);
            let batches: BTreeSet<&str> = day.iter().map(|p| p.batch.as_str()).collect();
            if !over || batches.len() < 2 {
                continue;
            }
            match self.compact_day(&objects, date, &day, now_ms) {
                Ok(Some(c)) => {
                    tracing::info!(date, batch = %c.batch, replaced = c.replaced, snapshots = c.snapshots, "dataset day compacted");
                    done.push(c);
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(date, "the day could not be compacted, left as it was: {e}")
                }
            }
        }
        Ok(done)
    }

    fn compact_day(
        &self,
        objects: &Objects,
        date: &str,
        day: &[&Part],
        now_ms: i64,
    ) -> Result<Option<Compacted>, Error> {
        let batches: BTreeSet<&str> = day.iter().map(|p| p.batch.as_str()).collect();
        let (first, newest) = (batches.first().expect("two"), batches.last().expect("two"));
        let owner = self.aggregator();
        let Some(name) = compacted_batch(date, first, owner) else {
            tracing::warn!(
                date,
                batch = first,
                "not compacted: a batch name without its time"
            );
            return Ok(None);
        };
        let Some(lock) = take_lock(objects, date, newest, owner, now_ms)? else {
            tracing::debug!(date, "compacted, or being compacted, by another");
            return Ok(None);
        };
        let result = self.rewrite(objects, date, day, &batches, &name);
        let snapshots = match result {
            Ok(x) => x,
            Err(e) => {
                // Tried again at the next pass.
                let _ = objects.delete(&lock);
                return Err(e);
            }
        };
        // Committed: the replaced parts go, then the ids files of batches with none left.
        // The newest batch's go last: another compactor listing meanwhile sees the day's
        // newest batch unchanged, so it meets this compaction's lock and leaves the day.
        let mut gone: Vec<&&Part> = day.iter().collect();
        gone.sort_by(|a, b| (&a.batch, &a.key).cmp(&(&b.batch, &b.key)));
        for p in gone {
            objects.delete(&p.key)?;
        }
        // Listed again: another aggregator may be compacting the batch's other day now; of
        // the two, the one that lists after both removals removes the ids file.
        let listed = objects.list()?;
        for b in &batches {
            let left = listed.iter().any(|k| batch_of_part(k) == Some(*b));
            if !left {
                objects.delete(&format!("{FLUSHED}/{b}.ids"))?;
            }
        }
        Ok(Some(Compacted {
            date: date.to_string(),
            batch: name,
            replaced: batches.len(),
            parts_removed: day.len(),
            snapshots,
        }))
    }

    /// Writes the compacted batch `name` of `date` from the `day`'s parts and commits it:
    /// the snapshots in it.
    fn rewrite(
        &self,
        objects: &Objects,
        date: &str,
        day: &[&Part],
        batches: &BTreeSet<&str>,
        name: &str,
    ) -> Result<usize, Error> {
        // A snapshot in two of the day's batches (a compaction cut short before removing
        // what it replaced; two aggregators wrote it) is kept from the first, as readers
        // keep it.
        let mut texts = Vec::new();
        for b in batches {
            let key = format!("{FLUSHED}/{b}.ids");
            let text = objects.get(&key)?.ok_or_else(|| Error::Corrupt {
                path: objects.name(&key),
                message: "listed, then gone: compacted meanwhile by another?".into(),
            })?;
            texts.push((*b, String::from_utf8_lossy(&text).into_owned()));
        }
        let copies = Copies::new(texts.iter().map(|(b, t)| (*b, Some(t.as_str()))), |_| true);
        let mut ids: BTreeSet<String> = BTreeSet::new();
        let mut encoded = Vec::new();
        for table in Table::ALL.iter().copied() {
            let mut frames = Vec::new();
            for p in day.iter().filter(|p| p.table == table) {
                let bytes = objects.get(&p.key)?.ok_or_else(|| Error::Corrupt {
                    path: objects.name(&p.key),
                    message: "listed, then gone: compacted meanwhile by another?".into(),
                })?;
                let unreadable = |e: PolarsError| Error::Corrupt {
                    path: objects.name(&p.key),
                    message: format!("not compacted, cannot read the part: {e}"),
                };
                let df = ParquetReader::new(Cursor::new(bytes))
                    .finish()
                    .map_err(unreadable)?;
                let left_out = copies.left_out(&p.batch).unwrap_or_default().to_vec();
                let copies = Series::new("copies".into(), left_out);
                let keep = col("snapshot_id")
                    .is_in(lit(copies).implode(false), false)
                    .not();
                frames.push(aligned(df, table).filter(keep));
            }
            if frames.is_empty() {
                continue;
            }
            let mut df = concat(frames, UnionArgs::default())
                .and_then(|f| f.collect())
                .map_err(|e| self.compaction_err(date, e))?;
            if df.height() == 0 {
                continue;
            }
            let col = df
                .column("snapshot_id")
                .and_then(|c| c.str().cloned())
                .map_err(|e| self.compaction_err(date, e))?;
            ids.extend(col.iter().flatten().map(str::to_string));
            let mut bytes = Vec::new();
            ParquetWriter::new(&mut bytes)
                .with_compression(ParquetCompression::Zstd(None))
                .finish(&mut df)
                .map_err(|e| self.compaction_err(date, e))?;
            encoded.push((part_key(table.name(), date, name), bytes));
        }
        let mut written = Vec::new();
        let parts = (|| {
            for (key, bytes) in &encoded {
                objects.put(key, bytes)?;
                written.push(key.clone());
            }
            Ok::<_, Error>(())
        })();
        if let Err(e) = parts {
            for key in &written {
                let _ = objects.delete(key);
            }
            return Err(e);
        }
        let text: String = ids.iter().map(|i| format!("{i}\n")).collect();
        commit(objects, name, text.as_bytes())?;
        Ok(ids.len())
    }

    fn compaction_err(&self, date: &str, e: PolarsError) -> Error {
        Error::Io {
            path: self.root().join(format!("date={date}")),
            reason: std::io::Error::other(format!("compaction: {e}")),
        }
    }
}

/// Puts the compacted batch `name`'s ids file, its commit. A put that fails may still have
/// been applied (the answer lost on the way back): the object is read back, and if it is
/// there the batch is committed. If it is not (or cannot be read), the error is returned and
/// the batch's parts are left: were the commit to land after all, deleting them would leave
/// an ids file with no part; uncommitted, readers leave them out and the roll-back at a
/// later open removes them.
fn commit(objects: &Objects, name: &str, text: &[u8]) -> Result<(), Error> {
    let key = format!("{FLUSHED}/{name}.ids");
    let Err(e) = objects.put(&key, text) else {
        return Ok(());
    };
    match objects.get(&key) {
        Ok(Some(there)) if there == text => {
            tracing::warn!(
                batch = name,
                "the compaction's commit failed ({e}) but its ids object is there: committed"
            );
            Ok(())
        }
        Ok(_) => Err(e),
        Err(again) => {
            tracing::warn!(
                batch = name,
                "cannot read the compaction's ids object back ({again}): its parts are left"
            );
            Err(e)
        }
    }
}

/// How old a compaction lock must be before another compactor takes the day over: far
/// longer than any compaction takes, so only one whose compactor died holds it that long.
const LOCK_STALE_MS: i64 = 6 * 3_600_000;

/// Takes the lock on compacting `date` as it is (its newest batch `newest`): the key made,
/// or `None` when another holds it. A lock older than [`LOCK_STALE_MS`] (its compactor died
/// half-way) is passed over to the next key, `<newest>.<n>.lock`, created the same way.
fn take_lock(
    objects: &Objects,
    date: &str,
    newest: &str,
    owner: Option<&str>,
    now_ms: i64,
) -> Result<Option<String>, Error> {
    let body = format!(
        "{} {:016x} {now_ms}\n",
        owner.unwrap_or("local"),
        rand::random::<u64>()
    );
    for attempt in 0..8 {
        let key = match attempt {
            0 => format!("{LOCKS}/{date}/{newest}.lock"),
            n => format!("{LOCKS}/{date}/{newest}.{n}.lock"),
        };
        if objects.create(&key, body.as_bytes())? {
            return Ok(Some(key));
        }
        let there = objects.get(&key)?.unwrap_or_default();
        let written = String::from_utf8_lossy(&there)
            .split_whitespace()
            .nth(2)
            .and_then(|t| t.parse::<i64>().ok());
        // A lock without its time (being written, or left empty by a crash on a folder) is
        // as old as its file: held while that is recent, taken over once stale.
        let taken_at = match written {
            Some(at) => Some(at),
            None => objects.modified_ms(&key)?,
        };
        if taken_at.is_none_or(|at| now_ms - at < LOCK_STALE_MS) {
            return Ok(None);
        }
        tracing::warn!(date, lock = %objects.name(&key).display(), "a compaction lock left by a compactor that died: taking the day over");
    }
    Ok(None)
}

/// A part's rows in its table's schema: a part written before a column existed reads it as
/// null, so that parts of every age stack.
fn aligned(df: DataFrame, table: Table) -> LazyFrame {
    let schema = table.schema();
    let missing: Vec<Expr> = schema
        .iter()
        .filter(|(name, _)| df.column(name.as_str()).is_err())
        .map(|(name, dtype)| lit(NULL).cast(dtype.clone()).alias(name.clone()))
        .collect();
    let mut lf = df.lazy();
    if !missing.is_empty() {
        lf = lf.with_columns(missing);
    }
    lf.select(
        schema
            .iter_names()
            .map(|n| col(n.clone()))
            .collect::<Vec<_>>(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::stored;

    /// Every committed batch's ids, by batch, and the parts, as listed.
    fn listed(root: &std::path::Path) -> (BTreeMap<String, Vec<String>>, Vec<String>) {
        let objects = Objects::Dir(root.to_path_buf());
        let (parts, committed) = committed_parts(&objects).unwrap();
        let ids = committed
            .into_iter()
            .map(|b| {
                let text = objects.get(&format!("{FLUSHED}/{b}.ids")).unwrap().unwrap();
                let lines = String::from_utf8(text)
                    .unwrap()
                    .lines()
                    .map(str::to_string)
                    .collect();
                (b, lines)
            })
            .collect();
        (ids, parts.into_iter().map(|p| p.key).collect())
    }

    /// A compaction killed between its commit and the removal of what it replaced leaves
    /// both (readers count the compaction's rows): on a folder the restarted aggregator takes
    /// the day over at once, not only once the dead compactor's lock is stale.
    #[test]
    fn on_a_folder_a_restart_compacts_again_a_day_whose_compactor_was_killed() {
        let tmp = tempfile::tempdir().unwrap();
        let (d, _) = Dataset::open(tmp.path()).unwrap();
        d.write_batch(&[stored("aaaaaaaa-1")]).unwrap();
        d.write_batch(&[stored("aaaaaaaa-2")]).unwrap();
        let objects = Objects::Dir(tmp.path().to_path_buf());
        let replaced: Vec<(String, Vec<u8>)> = objects
            .list()
            .unwrap()
            .into_iter()
            .map(|k| {
                let bytes = objects.get(&k).unwrap().unwrap();
                (k, bytes)
            })
            .collect();
        let end = day_end_ms("2026-11-18").unwrap() + 3_600_000;
        let hour = std::time::Duration::from_secs(3600);
        let first = d.compact(end, hour).unwrap();
        assert_eq!(first.len(), 1);
        // The state the kill left: the compaction committed, what it replaced still there,
        // and its lock.
        for (key, bytes) in &replaced {
            objects.put(key, bytes).unwrap();
        }
        assert_eq!(listed(tmp.path()).0.len(), 3);
        assert!(d.compact(end, hour).unwrap().is_empty(), "held by the lock");
        let (d, _) = Dataset::open(tmp.path()).unwrap();
        let again = d.compact(end, hour).unwrap();
        assert_eq!((again[0].replaced, again[0].snapshots), (3, 2));
        let (ids, parts) = listed(tmp.path());
        assert_eq!(ids.len(), 1, "{ids:?}");
        assert_eq!(ids.values().next().unwrap(), &["aaaaaaaa-1", "aaaaaaaa-2"]);
        assert!(parts
            .iter()
            .all(|k| batch_of_part(k) == Some(again[0].batch.as_str())));
    }

    #[test]
    fn a_day_is_compacted_once_over_and_again_when_late_snapshots_join_it() {
        let tmp = tempfile::tempdir().unwrap();
        let (d, _) = Dataset::open(tmp.path()).unwrap();
        d.write_batch(&[stored("aaaaaaaa-1"), stored("aaaaaaaa-2")])
            .unwrap();
        d.write_batch(&[stored("aaaaaaaa-2"), stored("aaaaaaaa-3")])
            .unwrap();
        // 2026-11-18 ends at 1_795_046_400_000.
        let end = day_end_ms("2026-11-18").unwrap();
        let hour = std::time::Duration::from_secs(3600);
        assert!(d.compact(end, hour).unwrap().is_empty(), "not over yet");
        let done = d.compact(end + 3_600_000, hour).unwrap();
        assert_eq!(done.len(), 1);
        assert_eq!((done[0].replaced, done[0].snapshots), (2, 3));
        let (ids, parts) = listed(tmp.path());
        assert_eq!(ids.len(), 1, "{ids:?}");
        assert_eq!(
            ids.values().next().unwrap(),
            &["aaaaaaaa-1", "aaaaaaaa-2", "aaaaaaaa-3"]
        );
        assert_eq!(parts.len(), 1, "{parts:?}");
        assert!(d.compact(end + 3_600_000, hour).unwrap().is_empty());
        // A collector that was offline: the day gets a batch more, and is compacted again.
        d.write_batch(&[stored("aaaaaaaa-4")]).unwrap();
        let again = d.compact(end + 7_200_000, hour).unwrap();
        assert_eq!((again[0].replaced, again[0].snapshots), (2, 4));
        assert!(again[0].batch < done[0].batch, "sorts before the first");
        let (ids, parts) = listed(tmp.path());
        assert_eq!(ids.len(), 1, "{ids:?}");
        assert_eq!(ids.values().next().unwrap().len(), 4);
        assert_eq!(parts.len(), 1, "{parts:?}");
        // A compactor that died half-way holds the day until its lock is stale.
        d.write_batch(&[stored("aaaaaaaa-5")]).unwrap();
        let (_, parts) = listed(tmp.path());
        let newest = parts
            .iter()
            .filter_map(|k| batch_of_part(k))
            .max()
            .unwrap()
            .to_string();
        let dead = format!("{LOCKS}/2026-11-18/{newest}.lock");
        let at = end + 7_200_000;
        Objects::Dir(tmp.path().to_path_buf())
            .create(&dead, format!("agg9 00 {at}\n").as_bytes())
            .unwrap();
        assert!(d.compact(at + 3_600_000, hour).unwrap().is_empty(), "held");
        let taken = d.compact(at + LOCK_STALE_MS, hour).unwrap();
        assert_eq!((taken[0].replaced, taken[0].snapshots), (2, 5));
        // A lock left empty by a crash while it was written is as old as its file.
        d.write_batch(&[stored("aaaaaaaa-6")]).unwrap();
        let (_, parts) = listed(tmp.path());
        let newest = parts
            .iter()
            .filter_map(|k| batch_of_part(k))
            .max()
            .unwrap()
            .to_string();
        let empty = tmp.path().join(format!("{LOCKS}/2026-11-18/{newest}.lock"));
        std::fs::create_dir_all(empty.parent().unwrap()).unwrap();
        let f = std::fs::File::create(&empty).unwrap();
        let at = at + LOCK_STALE_MS;
        f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_millis(at as u64))
            .unwrap();
        drop(f);
        assert!(d.compact(at + 3_600_000, hour).unwrap().is_empty(), "held");
        let taken = d.compact(at + LOCK_STALE_MS, hour).unwrap();
        assert_eq!((taken[0].replaced, taken[0].snapshots), (2, 6));
        // The rows are the snapshots once each.
        let (_, committed) = Dataset::open(tmp.path()).unwrap();
        assert_eq!(committed.len(), 6);
    }
}
