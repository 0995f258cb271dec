//! The spool: snapshots kept on the collector's disk until the aggregator acknowledges them as
//! durable, so that an aggregator down or slow when the collector runs costs nothing but time.
//!
//! ```text
//! <spool>/pending/<collected_at_ms>-<snapshot_id>.pb   waiting, oldest first by name
//! <spool>/rejected/<name>.pb, <name>.why.txt           refused by the aggregator, kept aside
//! <spool>/dropped.jsonl                                drops not yet reported in a snapshot
//! <spool>/tmp/                                         writes in progress (stale ones cleared)
//! <spool>/lock                                         held by the run that delivers
//! ```
//!
//! A snapshot is written to `tmp/`, fsynced, renamed into `pending/` and the folder fsynced:
//! after a crash it is either whole in `pending/` or not there. It leaves only when its ack
//! says it is durable (or it is moved aside, or dropped by the bounds, which is recorded and
//! reported in the next snapshot's collection errors).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use exfleet_proto::v1::{CollectionError, Snapshot};
use prost::Message;
use serde::{Deserialize, Serialize};

use crate::error::Error;

const PENDING: &str = "pending";
const REJECTED: &str = "rejected";
const TMP: &str = "tmp";
const DROPPED: &str = "dropped.jsonl";
const LOCK: &str = "lock";
/// The reader name spool errors carry in a snapshot.
pub const READER: &str = "spool";

/// How much the spool may hold; past any bound the oldest snapshots are dropped (never the
/// one just spooled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Snapshots waiting.
    pub max_count: usize,
    /// Bytes of snapshots waiting.
    pub max_bytes: u64,
    /// Age of a snapshot (from its collection time).
    pub max_age: Duration,
}

impl Default for Limits {
    /// 100 snapshots, 512 MiB, 30 days: a month of daily runs, several times a snapshot's
    /// usual size.
    fn default() -> Self {
        Limits {
            max_count: 100,
            max_bytes: 512 << 20,
            max_age: Duration::from_secs(30 * 86_400),
        }
    }
}

/// A snapshot waiting in the spool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its file.
    pub path: PathBuf,
    /// Its snapshot id.
    pub snapshot_id: String,
    /// When it was collected (UTC ms).
    pub collected_at_ms: i64,
    /// Its size on disk.
    pub bytes: u64,
}

/// A snapshot the spool dropped before it was delivered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dropped {
    /// Its snapshot id.
    pub snapshot_id: String,
    /// When it was collected (UTC ms).
    pub collected_at_ms: i64,
    /// Its size.
    pub bytes: u64,
    /// Which bound dropped it.
    pub reason: String,
}

/// Why a spooled snapshot could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreadable {
    /// The file could not be read now (gone, locked, an I/O error): kept, tried again later.
    Io(String),
    /// It is not a snapshot: set aside.
    Invalid(String),
}

/// A spool folder.
#[derive(Debug, Clone)]
pub struct Spool {
    dir: PathBuf,
}

impl Spool {
    /// Opens (creating) the spool at `dir`.
    pub fn open(dir: &Path) -> Result<Spool, Error> {
        let created = !dir.join(PENDING).is_dir();
        for sub in [PENDING, REJECTED, TMP] {
            let d = dir.join(sub);
            fs::create_dir_all(&d).map_err(io(&d))?;
        }
        if created {
            sync_dir(dir)?;
            if let Some(parent) = dir.parent() {
                sync_dir(parent)?;
            }
        }
        Ok(Spool {
            dir: dir.to_path_buf(),
        })
    }

    /// Removes writes a crash left unfinished in `tmp/`: those older than ten minutes, so that
    /// a run spooling now (without the lock) keeps its own. Called by the lock holder.
    pub fn clean_tmp(&self) -> Result<(), Error> {
        let tmp = self.dir.join(TMP);
        for e in fs::read_dir(&tmp).map_err(io(&tmp))? {
            let e = e.map_err(io(&tmp))?;
            let stale = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > Duration::from_secs(600));
            if stale {
                match fs::remove_file(e.path()) {
                    Ok(()) => {}
                    Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                    Err(err) => return Err(io(&e.path())(err)),
                }
            }
        }
        Ok(())
    }

    /// The spool's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Takes the spool for delivery: `None` when another run holds it (it sends what is
    /// here, or the next run does). Released when the guard is dropped, or the process ends.
    pub fn try_lock(&self) -> Result<Option<File>, Error> {
        let path = self.dir.join(LOCK);
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io(&path))?;
        match f.try_lock() {
            Ok(()) => Ok(Some(f)),
            Err(fs::TryLockError::WouldBlock) => Ok(None),
            Err(fs::TryLockError::Error(e)) => Err(io(&path)(e)),
        }
    }

    /// Writes `snapshot` into the spool, durably, and returns its entry.
    pub fn put(&self, snapshot: &Snapshot) -> Result<Entry, Error> {
        let name = file_name(snapshot.collected_at_ms, &snapshot.snapshot_id);
        if parse_name(&name).is_none() {
            return Err(Error::Encode(format!(
                "snapshot id '{}' cannot name a spool file (letters, digits, '-', '_')",
                snapshot.snapshot_id
            )));
        }
        let bytes = snapshot.encode_to_vec();
        // Its own name: another run may be writing into tmp/ at the same time.
        let tmp = self
            .dir
            .join(TMP)
            .join(format!("{name}.{}.tmp", std::process::id()));
        let mut f = File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(&bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        let path = self.dir.join(PENDING).join(&name);
        fs::rename(&tmp, &path).map_err(io(&path))?;
        sync_dir(&self.dir.join(PENDING))?;
        Ok(Entry {
            path,
            snapshot_id: snapshot.snapshot_id.clone(),
            collected_at_ms: snapshot.collected_at_ms,
            bytes: bytes.len() as u64,
        })
    }

    /// The snapshots waiting, oldest first. A file whose name is not a spooled snapshot's is
    /// moved aside (rejected) with the reason.
    pub fn pending(&self) -> Result<Vec<Entry>, Error> {
        let dir = self.dir.join(PENDING);
        let mut entries = Vec::new();
        for e in fs::read_dir(&dir).map_err(io(&dir))? {
            let e = e.map_err(io(&dir))?;
            let path = e.path();
            let bytes = match e.metadata() {
                Ok(m) => m.len(),
                // Delivered (or dropped) by another run since the listing.
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
                Err(err) => return Err(io(&path)(err)),
            };
            match parse_name(&e.file_name().to_string_lossy()) {
                Some((collected_at_ms, snapshot_id)) => entries.push(Entry {
                    path,
                    snapshot_id,
                    collected_at_ms,
                    bytes,
                }),
                None => self.set_aside(&path, "not a spooled snapshot's file name")?,
            }
        }
        entries.sort_by(|a, b| {
            (a.collected_at_ms, &a.snapshot_id).cmp(&(b.collected_at_ms, &b.snapshot_id))
        });
        Ok(entries)
    }

    /// Reads a waiting snapshot.
    pub fn load(&self, entry: &Entry) -> Result<Snapshot, Unreadable> {
        let bytes = fs::read(&entry.path)
            .map_err(|e| Unreadable::Io(format!("{}: {e}", entry.path.display())))?;
        Snapshot::decode(bytes.as_slice()).map_err(|e| {
            Unreadable::Invalid(format!(
                "{}: not a snapshot ({} bytes): {e}",
                entry.path.display(),
                bytes.len()
            ))
        })
    }

    /// Removes a snapshot the aggregator acknowledged as durable.
    pub fn remove(&self, entry: &Entry) -> Result<(), Error> {
        match fs::remove_file(&entry.path) {
            Ok(()) => sync_dir(&self.dir.join(PENDING)),
            // Another run delivered it first.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(&entry.path)(e)),
        }
    }

    /// Moves a snapshot the aggregator refused into `rejected/`, with the reason beside it: it
    /// is not sent again.
    pub fn reject(&self, entry: &Entry, why: &str) -> Result<(), Error> {
        self.set_aside(&entry.path, why)
    }

    fn set_aside(&self, path: &Path, why: &str) -> Result<(), Error> {
        let name = path.file_name().unwrap_or_default();
        let aside = self.dir.join(REJECTED).join(name);
        let reason = aside.with_extension("why.txt");
        fs::write(&reason, format!("{why}\n"))
            .and_then(|()| File::options().write(true).open(&reason)?.sync_all())
            .map_err(io(&reason))?;
        match fs::rename(path, &aside) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(path)(e)),
        }
        sync_dir(&self.dir.join(REJECTED))?;
        sync_dir(&self.dir.join(PENDING))
    }

    /// Drops the oldest snapshots past `limits` (never `keep`, the one just spooled, nor a
    /// snapshot carrying indicator-of-compromise matches: the read marks moved past them once
    /// it was spooled, so no later run finds them again), and records each drop for the next
    /// snapshot to report.
    pub fn enforce(
        &self,
        limits: &Limits,
        now_ms: i64,
        keep: &Entry,
    ) -> Result<Vec<Dropped>, Error> {
        let mut entries = self.pending()?;
        let oldest_kept = now_ms.saturating_sub(limits.max_age.as_millis() as i64);
        let mut dropped = Vec::new();
        let mut count = entries.len();
        let mut bytes: u64 = entries.iter().map(|e| e.bytes).sum();
        entries.retain(|e| e.path != keep.path);
        for e in entries {
            let reason = if e.collected_at_ms < oldest_kept {
                format!(
                    "older than the spool's {} days",
                    limits.max_age.as_secs() / 86_400
                )
            } else if count > limits.max_count {
                format!("the spool holds at most {} snapshots", limits.max_count)
            } else if bytes > limits.max_bytes {
                format!("the spool holds at most {} bytes", limits.max_bytes)
            } else {
                continue;
            };
            if self.carries_log_matches(&e) {
                tracing::warn!(snapshot = %e.snapshot_id, %reason, "kept past the spool's bounds: it carries indicator-of-compromise matches of logs read past");
                continue;
            }
            let d = Dropped {
                snapshot_id: e.snapshot_id.clone(),
                collected_at_ms: e.collected_at_ms,
                bytes: e.bytes,
                reason,
            };
            // Recorded before the file goes: a crash between reports a drop twice, never none.
            self.record_drop(&d)?;
            match fs::remove_file(&e.path) {
                Ok(()) => {}
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => return Err(io(&e.path)(err)),
            }
            tracing::warn!(snapshot = %d.snapshot_id, reason = %d.reason, "dropped from the spool");
            count -= 1;
            bytes -= e.bytes;
            dropped.push(d);
        }
        sync_dir(&self.dir.join(PENDING))?;
        Ok(dropped)
    }

    /// Whether a waiting snapshot carries IoC matches of the logs the read marks have moved
    /// past (HttpProxy, ECP, OAB generator, IIS): dropped, they would never be read again. The
    /// file listings (dumps, archives, .aspx files) and the Application log are read whole at
    /// every run, so a later snapshot carries them again. An unreadable snapshot is not sent
    /// anyway.
    fn carries_log_matches(&self, e: &Entry) -> bool {
        use exfleet_proto::kinds::IocKind;
        self.load(e).is_ok_and(|s| {
            s.ioc_matches.iter().any(|m| {
                matches!(
                    IocKind::parse(&m.indicator),
                    IocKind::Cve2021_26855
                        | IocKind::Cve2021_26858
                        | IocKind::Cve2021_27065Proxy
                        | IocKind::Cve2021_27065Ecp
                        | IocKind::Cve2022_41040
                )
            })
        })
    }

    fn record_drop(&self, d: &Dropped) -> Result<(), Error> {
        let path = self.dir.join(DROPPED);
        let new = !path.exists();
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        let line = serde_json::to_string(d).map_err(|e| Error::Encode(e.to_string()))?;
        writeln!(f, "{line}").map_err(io(&path))?;
        f.sync_all().map_err(io(&path))?;
        if new {
            sync_dir(&self.dir)?;
        }
        Ok(())
    }

    /// The drops not yet reported. An unreadable line is reported as such, not lost.
    pub fn unreported(&self) -> Result<Vec<CollectionError>, Error> {
        let path = self.dir.join(DROPPED);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&path)(e)),
        };
        let shown = path.display().to_string();
        Ok(text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| match serde_json::from_str::<Dropped>(l) {
                Ok(d) => CollectionError {
                    reader: READER.into(),
                    kind: "spool_dropped".into(),
                    path: shown.clone(),
                    message: format!(
                        "snapshot {} collected at {} ({} bytes) was dropped from the spool \
                         before it was delivered: {}",
                        d.snapshot_id,
                        show_time(d.collected_at_ms),
                        d.bytes,
                        d.reason
                    ),
                    ..Default::default()
                },
                Err(e) => CollectionError {
                    reader: READER.into(),
                    kind: "spool_record_unreadable".into(),
                    path: shown.clone(),
                    message: format!(
                        "{shown}: line {}: a drop record that cannot be read: {e}",
                        i + 1
                    ),
                    ..Default::default()
                },
            })
            .collect())
    }

    /// Forgets the drops reported: called once the snapshot reporting them is spooled.
    pub fn reported(&self) -> Result<(), Error> {
        let path = self.dir.join(DROPPED);
        match fs::remove_file(&path) {
            Ok(()) => sync_dir(&self.dir),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(&path)(e)),
        }
    }
}

fn file_name(collected_at_ms: i64, snapshot_id: &str) -> String {
    // Fixed width, so that names sort as times do (until the year 2286).
    format!("{:013}-{snapshot_id}.pb", collected_at_ms.max(0))
}

fn parse_name(name: &str) -> Option<(i64, String)> {
    let stem = name.strip_suffix(".pb")?;
    let (ms, id) = stem.split_once('-')?;
    let ok = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    Some((ms.parse().ok()?, id.to_string())).filter(|_| ok)
}

fn show_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| ms.to_string())
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Fsyncs a folder so that its new and removed entries are durable (a no-op on Windows,
/// where a folder cannot be opened as a file and NTFS journals its entries).
fn sync_dir(dir: &Path) -> Result<(), Error> {
    if cfg!(windows) {
        return Ok(());
    }
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY_MS: i64 = 86_400_000;
    const NOW: i64 = 1_795_000_000_000;

    fn snapshot(id: &str, at: i64, size: usize) -> Snapshot {
        Snapshot {
            snapshot_id: id.into(),
            collected_at_ms: at,
            collector_version: "x".repeat(size),
            ..Default::default()
        }
    }

    fn ids(entries: &[Entry]) -> Vec<&str> {
        entries.iter().map(|e| e.snapshot_id.as_str()).collect()
    }

    #[test]
    fn snapshots_wait_oldest_first_and_leave_when_removed() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        let c = spool.put(&snapshot("cccccccc", NOW, 10)).unwrap();
        spool.put(&snapshot("aaaaaaaa", NOW - 5, 10)).unwrap();
        // Before the Unix epoch's 13 digits run out, and a time given with fewer digits.
        spool.put(&snapshot("bbbbbbbb", 999, 10)).unwrap();
        let pending = spool.pending().unwrap();
        assert_eq!(ids(&pending), ["bbbbbbbb", "aaaaaaaa", "cccccccc"]);
        assert_eq!(
            spool.load(&pending[2]).unwrap(),
            snapshot("cccccccc", NOW, 10)
        );
        spool.remove(&c).unwrap();
        spool.remove(&c).unwrap();
        assert_eq!(ids(&spool.pending().unwrap()), ["bbbbbbbb", "aaaaaaaa"]);
    }

    #[test]
    fn a_write_a_crash_left_in_tmp_is_cleared_when_stale_and_never_sent() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        let tmp = dir.path().join(TMP);
        let stale = tmp.join("stale.pb.1.tmp");
        let fresh = tmp.join("fresh.pb.2.tmp");
        fs::write(&stale, b"\x0a\x08half").unwrap();
        fs::write(&fresh, b"\x0a\x08half").unwrap();
        let old = std::time::SystemTime::now() - Duration::from_secs(1200);
        File::options()
            .write(true)
            .open(&stale)
            .unwrap()
            .set_modified(old)
            .unwrap();
        spool.clean_tmp().unwrap();
        assert!(!stale.exists(), "a crash's leftover goes");
        assert!(fresh.exists(), "another run's write in progress stays");
        assert!(spool.pending().unwrap().is_empty());
    }

    #[test]
    fn the_bounds_drop_the_oldest_record_them_and_spare_the_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        let limits = Limits {
            max_count: 3,
            max_bytes: 10_000,
            max_age: Duration::from_secs(7 * 86_400),
        };
        spool
            .put(&snapshot("ancient1", NOW - 8 * DAY_MS, 10))
            .unwrap();
        for (i, id) in ["second22", "third333", "fourth44"].iter().enumerate() {
            spool.put(&snapshot(id, NOW - 3 + i as i64, 100)).unwrap();
        }
        let new = spool.put(&snapshot("newest55", NOW, 9_800)).unwrap();
        let dropped = spool.enforce(&limits, NOW, &new).unwrap();
        // Too old; then one over the count; then over the bytes until all fit.
        let got: Vec<(&str, &str)> = dropped
            .iter()
            .map(|d| (d.snapshot_id.as_str(), d.reason.as_str()))
            .collect();
        assert_eq!(got[0], ("ancient1", "older than the spool's 7 days"));
        assert_eq!(got[1], ("second22", "the spool holds at most 3 snapshots"));
        assert_eq!(got[2], ("third333", "the spool holds at most 10000 bytes"));
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(ids(&spool.pending().unwrap()), ["fourth44", "newest55"]);

        let errors = spool.unreported().unwrap();
        assert_eq!(errors.len(), 3);
        assert!(errors
            .iter()
            .all(|e| e.reader == READER && e.kind == "spool_dropped"));
        assert!(
            errors[0]
                .message
                .contains("snapshot ancient1 collected at 2026-11-")
                && errors[0].message.contains("older than the spool's 7 days"),
            "{}",
            errors[0].message
        );
        spool.reported().unwrap();
        assert!(spool.unreported().unwrap().is_empty());
    }

    #[test]
    fn a_snapshot_carrying_ioc_matches_is_never_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        let limits = Limits {
            max_count: 1,
            max_bytes: 10,
            max_age: Duration::from_secs(7 * 86_400),
        };
        let mut hunted = snapshot("hunted11", NOW - 8 * DAY_MS, 10);
        hunted.ioc_matches.push(exfleet_proto::v1::IocMatch {
            indicator: "cve_2021_26855".into(),
            ..Default::default()
        });
        spool.put(&hunted).unwrap();
        // A listed web file is listed again at the next run: no reason to keep it.
        let mut listed = snapshot("plain222", NOW - 8 * DAY_MS, 10);
        listed.ioc_matches.push(exfleet_proto::v1::IocMatch {
            indicator: "aspx_file".into(),
            ..Default::default()
        });
        spool.put(&listed).unwrap();
        let new = spool.put(&snapshot("newest33", NOW, 10)).unwrap();
        let dropped = spool.enforce(&limits, NOW, &new).unwrap();
        let got: Vec<&str> = dropped.iter().map(|d| d.snapshot_id.as_str()).collect();
        assert_eq!(got, ["plain222"]);
        assert_eq!(ids(&spool.pending().unwrap()), ["hunted11", "newest33"]);
    }

    #[test]
    fn the_new_snapshot_is_kept_even_alone_over_the_bounds() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        let limits = Limits {
            max_count: 1,
            max_bytes: 10,
            max_age: Duration::from_secs(1),
        };
        let new = spool.put(&snapshot("onlyone1", NOW - DAY_MS, 100)).unwrap();
        assert!(spool.enforce(&limits, NOW, &new).unwrap().is_empty());
        assert_eq!(ids(&spool.pending().unwrap()), ["onlyone1"]);
    }

    #[test]
    fn a_refused_snapshot_and_a_stray_file_are_moved_aside_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        let e = spool.put(&snapshot("refused1", NOW, 10)).unwrap();
        fs::write(dir.path().join(PENDING).join("notes.txt"), "hi").unwrap();
        spool
            .reject(&e, "rejected by the aggregator: bad id")
            .unwrap();
        assert!(spool.pending().unwrap().is_empty());
        let aside = dir.path().join(REJECTED);
        let why = fs::read_to_string(aside.join(format!("{NOW:013}-refused1.why.txt"))).unwrap();
        assert_eq!(why, "rejected by the aggregator: bad id\n");
        assert!(aside.join(file_name(NOW, "refused1")).exists());
        assert_eq!(
            fs::read_to_string(aside.join("notes.why.txt")).unwrap(),
            "not a spooled snapshot's file name\n"
        );
    }

    #[test]
    fn an_unreadable_drop_record_is_reported_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        fs::write(dir.path().join(DROPPED), "{\"snapshot_id\":1}\n").unwrap();
        let errors = spool.unreported().unwrap();
        assert_eq!(errors[0].kind, "spool_record_unreadable");
        assert!(
            errors[0].message.contains("line 1"),
            "{}",
            errors[0].message
        );
    }

    #[test]
    fn one_run_at_a_time_delivers() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(dir.path()).unwrap();
        let held = spool.try_lock().unwrap();
        assert!(held.is_some());
        assert!(spool.try_lock().unwrap().is_none());
        drop(held);
        assert!(spool.try_lock().unwrap().is_some());
    }
}
