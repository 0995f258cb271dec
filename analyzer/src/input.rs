//! Where the analyzer's facts come from: the aggregator's Parquet dataset, or a directory of
//! snapshot files (the aggregator's store, or collector output, told apart by content),
//! flattened into the same tables ([`History`], every snapshot, lazily); then the latest
//! snapshot of each host as of the analysis time ([`Frames`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use exfleet_dataset::copies::Copies;
use exfleet_dataset::{Batch, Table, TableSet};
use exfleet_proto::v1::{Snapshot, StoredSnapshot};
use polars::prelude::*;
use prost::Message;

use crate::error::Error;

mod parts;
mod remote;
mod window;

pub use window::{LeftOut, AHEAD_MS, EARLIEST_MS};

/// The dataset tables reduced to each host's latest snapshot, one frame per table.
pub type Frames = TableSet<DataFrame>;

/// Every snapshot of the fleet, table by table, as lazy frames: the dataset's Parquet files
/// are scanned, not read, until a query needs them, and a query reads only the columns and
/// rows it asks for. The analysis takes each host's latest snapshot from it
/// ([`History::latest`]); history rules query it across time.
#[derive(Clone)]
pub struct History {
    tables: TableSet<LazyFrame>,
    /// Parquet parts of the dataset that could not be read, left out.
    skipped: Vec<Skipped>,
    /// The parts scanned.
    parts: Vec<PathBuf>,
    /// The dataset directory (none for in-memory rows).
    dir: Option<PathBuf>,
    /// The end of the plausible window applied ([`History::plausible`]), if any.
    until: Option<i64>,
    /// The temporary folder a dataset on a bucket was fetched into: kept while the lazy
    /// frames may read it.
    mirror: Option<std::sync::Arc<tempfile::TempDir>>,
}

impl History {
    /// Every snapshot of in-memory rows.
    pub fn from_batch(rows: &Batch) -> PolarsResult<History> {
        let frames = rows.frames()?;
        Ok(History {
            tables: frames.try_map(|_, df| Ok::<_, PolarsError>(df.clone().lazy()))?,
            skipped: Vec::new(),
            parts: Vec::new(),
            dir: None,
            until: None,
            mirror: None,
        })
    }

    /// Scans the aggregator's dataset directory. A table with no file yet is empty; a file
    /// written before a column existed reads it as null. Each Parquet part is checked first
    /// (its magic numbers, its footer, its column types): a part that cannot be read is
    /// named in a warning and left out, never silently shrinking the fleet nor aborting
    /// the analysis ([`History::skipped`] lists them).
    pub fn open(dir: &Path) -> Result<History, Error> {
        History::open_excluding(dir, Vec::new())
    }

    /// Opens the dataset at `location`: a directory ([`History::open`]), or
    /// `s3://<bucket>/<prefix>`, the dataset on an S3-compatible bucket (endpoint and
    /// credentials from the AWS environment variables), whose committed batches are fetched
    /// first and read the same way.
    pub fn open_at(location: &Path) -> Result<History, Error> {
        let Some(url) = location
            .to_str()
            .filter(|l| exfleet_dataset::bucket::is_url(l))
        else {
            return History::open(location);
        };
        let mirror = remote::fetch(url)?;
        let mut history = History::open(mirror.path())?;
        history.mirror = Some(std::sync::Arc::new(mirror));
        Ok(history)
    }

    /// [`History::open`], leaving out `excluded` parts as well (named with their reasons).
    fn open_excluding(dir: &Path, excluded: Vec<Skipped>) -> Result<History, Error> {
        if !dir.is_dir() {
            return Err(Error::Input {
                path: dir.to_path_buf(),
                message: "not a directory".into(),
            });
        }
        let mut skipped = Vec::new();
        let mut scanned = Vec::new();
        let listing = Listing::take(dir);
        let copies = copies(&listing);
        let is_excluded = |p: &Path| excluded.iter().any(|x| x.path == p);
        // A compaction's parts count once its ids file commits it: until then the batches it
        // replaces hold the same rows (aggregator/src/dataset/compact.rs).
        let pending_compaction = |p: &Path| {
            batch_of_path(p).is_some_and(|b| {
                exfleet_dataset::layout::is_compacted(b) && !listing.ids.contains_key(b)
            })
        };
        let tables = TableSet::try_from_fn(|t| {
            let table = dir.join(t.name());
            let mut good = Vec::new();
            for path in listing.parts.get(t).iter().cloned() {
                if is_excluded(&path) || pending_compaction(&path) {
                    continue;
                }
                match parts::check(&path, t) {
                    Ok(()) => good.push(path),
                    Err(message) => {
                        tracing::warn!(path = %path.display(), "{message}; part skipped");
                        skipped.push(Skipped { path, message });
                    }
                }
            }
            if good.is_empty() {
                return Ok(t.empty_frame().lazy());
            }
            let scan = scan_deduplicated(&good, t, &copies).map_err(|e| Error::polars(&table, e));
            scanned.extend(good);
            scan
        })?;
        skipped.extend(excluded);
        Ok(History {
            tables,
            skipped,
            parts: scanned,
            dir: Some(dir.to_path_buf()),
            until: None,
            mirror: None,
        })
    }

    /// The scanned parts a full read fails on, with why. Reads every part.
    fn damaged_parts(&self) -> Vec<Skipped> {
        self.parts
            .iter()
            .filter_map(|p| {
                parts::read_fully(p).err().map(|message| Skipped {
                    path: p.clone(),
                    message,
                })
            })
            .collect()
    }

    /// After a query failed: the same dataset without the parts a full read fails on (damage
    /// inside a part, past the checks of its ends and footer), each named in a warning; `None`
    /// when no part is damaged (the failure is something else) or the rows are in memory.
    /// Reads every part: for the failure path only.
    pub fn without_damaged(&self) -> Option<History> {
        let dir = self.dir.as_ref()?;
        let bad = self.damaged_parts();
        if bad.is_empty() {
            return None;
        }
        for b in &bad {
            tracing::warn!(path = %b.path.display(), "{}; part skipped", b.message);
        }
        let mut again = History::open_excluding(dir, bad).ok()?;
        again.mirror = self.mirror.clone();
        match self.until {
            Some(until) => again.plausible(until).ok().map(|(h, _)| h),
            None => Some(again),
        }
    }

    /// The dataset's Parquet parts that could not be read and were left out, with why.
    pub fn skipped(&self) -> &[Skipped] {
        &self.skipped
    }

    /// A query over this history failed: the error, naming the parts a full read fails on
    /// (damage inside a part, past the checks of its ends and footer), if any. Reads every
    /// part: for the failure path only.
    pub fn name_failure(&self, e: PolarsError) -> Error {
        let bad = self.damaged_parts();
        let Some(first) = bad.first() else {
            return Error::Input {
                path: "dataset".into(),
                message: e.to_string(),
            };
        };
        let others: Vec<String> = bad[1..]
            .iter()
            .map(|s| s.path.display().to_string())
            .collect();
        let more = if others.is_empty() {
            String::new()
        } else {
            format!("; unreadable too: {}", others.join(", "))
        };
        Error::Input {
            path: first.path.clone(),
            message: format!("{}{more} (the analysis stopped: {e})", first.message),
        }
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
        // A snapshot is counted once, as the aggregator stores it once: the first file wins.
        let mut seen: HashMap<String, PathBuf> = HashMap::new();
        for path in walk(dir) {
            match read_snapshot(&path) {
                Ok(s) => {
                    let id = s.snapshot.as_ref().map_or("", |x| &x.snapshot_id);
                    if let Some(first) = seen.get(id) {
                        let message = format!("the same snapshot ({id}) as {}", first.display());
                        tracing::warn!(path = %path.display(), "{message}");
                        skipped.push(Skipped { path, message });
                        continue;
                    }
                    seen.insert(id.to_string(), path);
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
    /// (the snapshot id breaks ties), with hosts sorted by name. A snapshot a server
    /// certificate sent about another computer is never a host's state (the
    /// `security.identity-mismatch` rule reports it).
    pub fn latest(&self, as_of_ms: i64) -> PolarsResult<Frames> {
        let ids = self
            .table(Table::Hosts)
            .filter(
                col("collected_at_ms")
                    .lt_eq(lit(as_of_ms))
                    .and(col("identity_mismatch").fill_null(lit(false)).not()),
            )
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

/// Times `_flushed` is listed again when it changed while the dataset was listed.
const LISTING_ATTEMPTS: usize = 3;

/// One view of a dataset folder: its committed batches' ids files (read) and its tables'
/// Parquet parts, listed between two listings of `_flushed` that agree. A compaction or
/// retention swapping batches meanwhile changes `_flushed` (a compacted batch's ids file
/// written, the replaced ones' removed): the folder is listed again, so that the commits and
/// the parts read belong together (a day is neither counted twice nor missed).
struct Listing {
    /// Each committed batch's ids file's text (an unreadable one: `None`, named in a warning).
    ids: std::collections::BTreeMap<String, Option<String>>,
    /// Each table's Parquet parts, sorted.
    parts: TableSet<Vec<PathBuf>>,
}

impl Listing {
    fn take(dir: &Path) -> Listing {
        let flushed = dir.join(exfleet_dataset::layout::FLUSHED);
        let mut attempt = 1;
        loop {
            let before = walk(&flushed);
            let ids = before
                .iter()
                .filter_map(|p| {
                    let batch = p.file_name()?.to_str()?.strip_suffix(".ids")?.to_string();
                    let text = match std::fs::read_to_string(p) {
                        Ok(t) => Some(t),
                        Err(e) => {
                            tracing::warn!(path = %p.display(), "cannot read a batch's ids ({e}): its snapshots are not deduplicated");
                            None
                        }
                    };
                    Some((batch, text))
                })
                .collect();
            let parts = TableSet::try_from_fn(|t| {
                Ok::<_, std::convert::Infallible>(
                    walk(&dir.join(t.name()))
                        .into_iter()
                        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
                        .collect(),
                )
            })
            .unwrap_or_else(|never| match never {});
            if walk(&flushed) == before {
                return Listing { ids, parts };
            }
            if attempt == LISTING_ATTEMPTS {
                tracing::warn!(path = %flushed.display(), "the dataset's commits kept changing while it was listed ({LISTING_ATTEMPTS} times): read as last listed");
                return Listing { ids, parts };
            }
            tracing::info!(path = %flushed.display(), attempt, "the dataset's commits changed while it was listed (compaction or retention): listing again");
            attempt += 1;
        }
    }
}

/// The batch of a part file (`part-<batch>.parquet`).
fn batch_of_path(p: &Path) -> Option<&str> {
    p.file_stem()?.to_str()?.strip_prefix("part-")
}

/// The copies the listing's commits name ([`Copies`]); none for a dataset without commits.
fn copies(listing: &Listing) -> Copies {
    let with_parts: std::collections::HashSet<&str> = listing
        .parts
        .iter()
        .flat_map(|(_, ps)| ps.iter().filter_map(|p| batch_of_path(p)))
        .collect();
    Copies::new(
        listing.ids.iter().map(|(b, t)| (b.as_str(), t.as_deref())),
        |b| with_parts.contains(b),
    )
}

/// Scans a table's parts, leaving out of each committed batch's parts the rows of the
/// snapshots an earlier batch holds, and out of an uncommitted batch's parts the rows of every
/// snapshot a committed batch holds. An uncommitted part's other rows stay (a dataset written
/// before batches were committed has no ids at all).
fn scan_deduplicated(good: &[PathBuf], t: Table, copies: &Copies) -> PolarsResult<LazyFrame> {
    let copies_in = |p: &PathBuf| copies.left_out(batch_of_path(p)?);
    let (clean, dirty): (Vec<PathBuf>, Vec<PathBuf>) =
        good.iter().cloned().partition(|p| copies_in(p).is_none());
    let mut frames = Vec::new();
    if !clean.is_empty() {
        frames.push(parts::scan(&clean, t)?);
    }
    for p in &dirty {
        let ids = Series::new("ids".into(), copies_in(p).unwrap_or_default().to_vec());
        let copy = col("snapshot_id").is_in(lit(ids).implode(false), false);
        frames.push(parts::scan(std::slice::from_ref(p), t)?.filter(copy.not()));
    }
    match frames.len() {
        1 => Ok(frames.remove(0)),
        _ => concat(frames, UnionArgs::default()),
    }
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

/// A file that could not be read (as a snapshot, or as a Parquet part of the dataset):
/// named, and skipped.
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
        ..Default::default()
    };
    // A protobuf snapshot starts with 0x0a (field 1), which is also JSON whitespace: text that
    // fails as JSON is tried as protobuf before it is given up.
    let mut json_error = None;
    if bytes.trim_ascii_start().starts_with(b"{") {
        match read_json(&bytes) {
            Ok(stored) => return Ok(stored),
            Err(e) => json_error = Some(e),
        }
    }
    if let Ok(stored) = StoredSnapshot::decode(bytes.as_slice()) {
        if stored.snapshot.as_ref().is_some_and(plausible) {
            return Ok(stored);
        }
    }
    match Snapshot::decode(bytes.as_slice()) {
        Ok(s) if plausible(&s) => Ok(plain(s)),
        _ if json_error.is_some() => Err(json_error.unwrap_or_default()),
        Ok(_) => Err("not a snapshot: protobuf without a snapshot_id and collection time".into()),
        Err(e) => Err(format!("not a snapshot: {e}")),
    }
}

/// A JSON snapshot file: a collector's `Snapshot`, or a `StoredSnapshot`.
fn read_json(bytes: &[u8]) -> Result<StoredSnapshot, String> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not a snapshot: JSON: {e}"))?;
    let stored = if value.get("snapshot").is_some() {
        serde_json::from_value::<StoredSnapshot>(value)
    } else {
        serde_json::from_value::<Snapshot>(value).map(|snapshot| StoredSnapshot {
            snapshot: Some(snapshot),
            ..Default::default()
        })
    }
    .map_err(|e| format!("not a snapshot: JSON: {e}"))?;
    match &stored.snapshot {
        Some(s) if plausible(s) => Ok(stored),
        _ => Err("not a snapshot: JSON without a snapshot_id and collection time".into()),
    }
}

#[cfg(test)]
mod tests {

    /// The listing's commits and parts feed the rule: a later batch leaves out what an
    /// earlier one holds, and an ids file whose batch has no part (a compaction's commit
    /// applied after the compactor gave up and removed its parts) marks nothing.
    #[test]
    fn the_listing_names_later_copies_and_an_ids_file_without_parts_marks_none() {
        let dir = tempfile::tempdir().unwrap();
        let flushed = dir.path().join(exfleet_dataset::layout::FLUSHED);
        std::fs::create_dir_all(&flushed).unwrap();
        std::fs::write(flushed.join("1794999999999-c20261118-agg1.ids"), "x\ny\n").unwrap();
        std::fs::write(flushed.join("1795000000000-0001-agg2.ids"), "x\ny\n").unwrap();
        std::fs::write(flushed.join("1795000000001-0002-agg2.ids"), "y\nz\n").unwrap();
        let hosts = dir.path().join("hosts/date=2026-11-18");
        std::fs::create_dir_all(&hosts).unwrap();
        for b in ["1795000000000-0001-agg2", "1795000000001-0002-agg2"] {
            std::fs::write(hosts.join(format!("part-{b}.parquet")), "").unwrap();
        }
        let copies = copies(&Listing::take(dir.path()));
        assert_eq!(copies.left_out("1795000000000-0001-agg2"), None);
        assert_eq!(
            copies.left_out("1795000000001-0002-agg2"),
            Some(&["y".to_string()][..])
        );
    }

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
            ..Default::default()
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

    /// A protobuf snapshot whose first field is 123 bytes long begins "\n{": JSON whitespace
    /// and a brace. It is still read, as protobuf.
    #[test]
    fn protobuf_that_looks_like_json_is_read_as_protobuf() {
        let tmp = tempfile::tempdir().unwrap();
        let id = "a".repeat(123);
        let bytes = snapshot(&id).encode_to_vec();
        assert_eq!(&bytes[..2], b"\n{");
        std::fs::write(tmp.path().join("x.pb"), bytes).unwrap();
        let (history, skipped) = History::from_snapshots(tmp.path()).unwrap();
        assert!(skipped.is_empty(), "{skipped:?}");
        assert_eq!(history.table(Table::Hosts).collect().unwrap().height(), 1);
    }

    /// The same snapshot in two files (a copy left beside the store) counts once.
    #[test]
    fn a_snapshot_in_two_files_counts_once() {
        let tmp = tempfile::tempdir().unwrap();
        let bytes = snapshot("a-1").encode_to_vec();
        std::fs::write(tmp.path().join("a.pb"), &bytes).unwrap();
        std::fs::write(tmp.path().join("b.pb"), &bytes).unwrap();
        let (history, skipped) = History::from_snapshots(tmp.path()).unwrap();
        assert_eq!(history.table(Table::Hosts).collect().unwrap().height(), 1);
        assert_eq!(skipped.len(), 1);
        assert!(
            skipped[0].message.contains("a.pb"),
            "{}",
            skipped[0].message
        );
    }
}
