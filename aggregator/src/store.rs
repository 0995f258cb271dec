//! The durable snapshot store: one file per snapshot, `snapshots/<id[..2]>/<id>.pb`, holding a
//! `StoredSnapshot` (the snapshot, who sent it, when).
//!
//! A snapshot is durable, and only then acknowledged, once its bytes are fsynced in a
//! temporary file, the file is hard-linked to its final name (which fails if the id is
//! already stored: that is the dedup, atomic across concurrent uploads) and the shard
//! directory is fsynced. A crash at any point leaves either no final file or a complete one;
//! temporary files are removed at the next start. Every snapshot is kept: history is the
//! analyzer's to read.
//!
//! With group commit ([`Store::with_group_commit`], [`crate::commit`]) the same steps are
//! taken for a batch of uploads at once: one round of fsyncs, every upload of the batch acked
//! once the batch is durable.
//!
//! On a bucket ([`Store::open_bucket`]) the layout is the same under the bucket's prefix, and
//! several aggregators share it: a snapshot is durable once the put returned, written
//! create-only (`If-None-Match: *`, answered 412 when another aggregator stored the id
//! first: a duplicate). A server that does not take the condition overwrites the key with the
//! same snapshot; the dataset's readers deduplicate by snapshot id.

use std::collections::HashSet;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use exfleet_dataset::bucket::{Bucket, Created};
use exfleet_proto::v1::StoredSnapshot;
use prost::Message;

pub use crate::commit::GroupCommit;
use crate::durable;
use crate::error::Error;

/// Outcome of storing a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    /// Durable now.
    Stored,
    /// Was already durable.
    Duplicate,
    /// Was already in the bucket, put there by another aggregator or by an attempt whose
    /// answer was lost (a client time-out, a retried 5xx): whether a batch holds it is unknown.
    Exists,
}

/// The store. Cheap to clone; all clones share the index.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
    ids: Arc<RwLock<HashSet<String>>>,
    tmp_seq: Arc<AtomicU64>,
    /// The bucket and this aggregator's id, for a store on an object store.
    bucket: Option<(Bucket, String)>,
    /// When each snapshot in the bucket at open was written (UTC ms); empty for a folder.
    written_ms: Arc<std::collections::HashMap<String, i64>>,
    /// The committer thread, with group commit on (a local folder only).
    group: Option<Arc<crate::commit::Committer>>,
}

/// An aggregator's id on a shared bucket: 1 to 32 letters, digits or '_' (it ends the names
/// of the dataset batches it writes, after a '-').
pub fn valid_aggregator_id(id: &str) -> bool {
    (1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

impl Store {
    /// Opens (creating) the store under `root`: removes temporary files a crash left, and
    /// indexes the stored ids.
    pub fn open(root: &Path) -> Result<Store, Error> {
        let snapshots = root.join("snapshots");
        let tmp = root.join("tmp");
        fs::create_dir_all(&snapshots).map_err(Error::io(&snapshots))?;
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(Error::io(&tmp))?;
        }
        fs::create_dir_all(&tmp).map_err(Error::io(&tmp))?;
        let mut ids = HashSet::new();
        for shard in fs::read_dir(&snapshots).map_err(Error::io(&snapshots))? {
            let shard = shard.map_err(Error::io(&snapshots))?.path();
            if !shard.is_dir() {
                tracing::warn!(path = %shard.display(), "skipping a stray file in the store (not a shard directory)");
                continue;
            }
            // A crash may have left names linked but not yet durable: the index answers
            // DUPLICATE for them without a sync, so they are made durable first.
            durable::sync_dir(&shard)?;
            for f in fs::read_dir(&shard).map_err(Error::io(&shard))? {
                let f = f.map_err(Error::io(&shard))?.path();
                match stored_id(&f) {
                    Some(id) => {
                        ids.insert(id);
                    }
                    None => tracing::warn!(
                        path = %f.display(),
                        "skipping a stray file in the store (not <id>.pb in its shard)"
                    ),
                }
            }
        }
        durable::sync_dir(&snapshots)?;
        tracing::info!(root = %root.display(), snapshots = ids.len(), "store opened");
        Ok(Store {
            root: root.to_path_buf(),
            ids: Arc::new(RwLock::new(ids)),
            tmp_seq: Arc::new(AtomicU64::new(0)),
            bucket: None,
            written_ms: Arc::default(),
            group: None,
        })
    }

    /// Opens the store on a bucket shared with other aggregators, as `aggregator` (its id
    /// among them, [`valid_aggregator_id`]): indexes the snapshots stored there. Nothing is
    /// cleaned up: a put is one request, and leaves nothing behind when it fails.
    pub fn open_bucket(bucket: &Bucket, aggregator: &str) -> Result<Store, Error> {
        if !valid_aggregator_id(aggregator) {
            return Err(Error::Config {
                path: PathBuf::from(bucket.url()),
                message: format!(
                    "aggregator-id {aggregator:?}: 1 to 32 letters, digits or '_' are needed"
                ),
            });
        }
        let mut ids = HashSet::new();
        let mut written_ms = std::collections::HashMap::new();
        for o in bucket.list(SNAPSHOTS)? {
            match bucket_id(&o.key) {
                Some(id) => {
                    written_ms.insert(id.clone(), o.modified_ms);
                    ids.insert(id);
                }
                None => tracing::warn!(
                    url = %bucket.url_of(&o.key),
                    "skipping a stray object in the store (not snapshots/<id[..2]>/<id>.pb)"
                ),
            }
        }
        tracing::info!(url = %bucket.url(), aggregator, snapshots = ids.len(), "store opened");
        Ok(Store {
            root: PathBuf::from(bucket.url()),
            ids: Arc::new(RwLock::new(ids)),
            tmp_seq: Arc::new(AtomicU64::new(0)),
            bucket: Some((bucket.clone(), aggregator.to_string())),
            written_ms: Arc::new(written_ms),
            group: None,
        })
    }

    /// Turns group commit on ([`crate::commit`], fsyncs): puts wait for a batch made durable
    /// by one committer thread. A store on a bucket is returned as it is (a put is one
    /// request).
    pub fn with_group_commit(self) -> Result<Store, Error> {
        self.with(GroupCommit::Fsync)
    }

    /// Sets group commit as configured (`group-commit`); on a bucket, nothing changes.
    pub fn with(mut self, mode: GroupCommit) -> Result<Store, Error> {
        let (sync, whole): (crate::commit::SyncFn, bool) = match mode {
            GroupCommit::Off => return Ok(self),
            GroupCommit::Fsync => (File::sync_all, false),
            GroupCommit::Syncfs => (crate::commit::syncfs, true),
        };
        if self.bucket.is_none() && self.group.is_none() {
            let c = crate::commit::Committer::start(&self.root, self.ids.clone(), sync, whole)?;
            self.group = Some(Arc::new(c));
        }
        Ok(self)
    }

    /// Whether group commit is on.
    pub fn group_commit(&self) -> bool {
        self.group.is_some()
    }

    /// When a snapshot found in the bucket at open was written (UTC ms); `None` for a folder
    /// or a snapshot stored since.
    pub fn written_ms(&self, id: &str) -> Option<i64> {
        self.written_ms.get(id).copied()
    }

    /// The latest time a snapshot found in the bucket at open was written (UTC ms, the
    /// server's clock); `None` for a folder or an empty bucket.
    pub fn newest_written_ms(&self) -> Option<i64> {
        self.written_ms.values().copied().max()
    }

    /// The bucket and this aggregator's id, for a store on a bucket.
    pub fn bucket(&self) -> Option<(&Bucket, &str)> {
        self.bucket.as_ref().map(|(b, a)| (b, a.as_str()))
    }

    /// Whether a snapshot id is stored.
    pub fn contains(&self, id: &str) -> bool {
        self.ids.read().expect("index lock").contains(id)
    }

    /// Number of stored snapshots.
    pub fn len(&self) -> usize {
        self.ids.read().expect("index lock").len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Path of a stored snapshot (its URL on a bucket).
    pub fn path_of(&self, id: &str) -> PathBuf {
        match &self.bucket {
            Some((b, _)) => PathBuf::from(b.url_of(&key_of(id))),
            None => self.root.join(key_of(id)),
        }
    }

    /// Stores a snapshot durably (blocking: call from a blocking thread). `id` must have
    /// passed [`valid_id`].
    pub fn put(&self, id: &str, stored: &StoredSnapshot) -> Result<Put, Error> {
        if self.contains(id) {
            return Ok(Put::Duplicate);
        }
        if let Some((bucket, _)) = &self.bucket {
            let outcome = match bucket.create(&key_of(id), stored.encode_to_vec())? {
                Created::New => Put::Stored,
                Created::Exists => Put::Exists,
            };
            self.ids.write().expect("index lock").insert(id.to_string());
            return Ok(outcome);
        }
        if let Some(group) = &self.group {
            return group
                .submit(id, stored.encode_to_vec())
                .blocking_recv()
                .unwrap_or_else(|_| Err(crate::commit::lost(&self.root)));
        }
        let final_path = self.path_of(id);
        let shard = final_path
            .parent()
            .expect("a shard directory")
            .to_path_buf();
        fs::create_dir_all(&shard).map_err(Error::io(&shard))?;
        let seq = self.tmp_seq.fetch_add(1, Ordering::Relaxed);
        let tmp = self
            .root
            .join("tmp")
            .join(format!("{id}.{}.{seq}", std::process::id()));
        durable::write_synced(&tmp, &stored.encode_to_vec())?;
        let linked = fs::hard_link(&tmp, &final_path);
        let _ = fs::remove_file(&tmp);
        let outcome = match linked {
            Ok(()) => Put::Stored,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Put::Duplicate,
            Err(e) => return Err(Error::io(&final_path)(e)),
        };
        // The new directory entry is durable only once its directory is.
        durable::sync_dir(&shard)?;
        self.ids.write().expect("index lock").insert(id.to_string());
        Ok(outcome)
    }

    /// Stores a snapshot durably from async code: with group commit, waits for its batch
    /// without holding a thread; else [`Store::put`] on a blocking thread.
    pub async fn put_async(&self, id: &str, stored: StoredSnapshot) -> Result<Put, Error> {
        match &self.group {
            Some(group) if !self.contains(id) => {
                // Only the encoded copy waits for the batch.
                let bytes = stored.encode_to_vec();
                drop(stored);
                group
                    .submit(id, bytes)
                    .await
                    .unwrap_or_else(|_| Err(crate::commit::lost(&self.root)))
            }
            _ => {
                let (s, id) = (self.clone(), id.to_string());
                tokio::task::spawn_blocking(move || s.put(&id, &stored))
                    .await
                    .map_err(|e| Error::Io {
                        path: self.root.join("tmp"),
                        reason: std::io::Error::other(format!("store task failed: {e}")),
                    })?
            }
        }
    }

    /// Reads a stored snapshot.
    pub fn get(&self, id: &str) -> Result<StoredSnapshot, Error> {
        let Some((bucket, _)) = &self.bucket else {
            return read_file(&self.path_of(id));
        };
        let corrupt = |message: String| Error::Corrupt {
            path: self.path_of(id),
            message,
        };
        let bytes = bucket
            .get(&key_of(id))?
            .ok_or_else(|| corrupt("listed, but no longer in the bucket".into()))?;
        StoredSnapshot::decode(bytes).map_err(|e| corrupt(e.to_string()))
    }

    /// Deletes a stored snapshot (retention: [`crate::dataset::retention`]); one not stored
    /// is not an error.
    pub fn remove(&self, id: &str) -> Result<(), Error> {
        match &self.bucket {
            Some((bucket, _)) => bucket.delete(&key_of(id))?,
            None => {
                let path = self.path_of(id);
                match fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(Error::io(&path)(e)),
                }
            }
        }
        self.ids.write().expect("index lock").remove(id);
        Ok(())
    }

    /// Ids of all stored snapshots.
    pub fn ids(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .ids
            .read()
            .expect("index lock")
            .iter()
            .cloned()
            .collect();
        v.sort();
        v
    }
}

/// The store's folder, under its root or its bucket's prefix.
const SNAPSHOTS: &str = "snapshots";

/// Where a snapshot is kept, relative to the store's root: `snapshots/<id[..2]>/<id>.pb`.
pub(crate) fn key_of(id: &str) -> String {
    let shard = id.get(..2).unwrap_or("__");
    format!("{SNAPSHOTS}/{shard}/{id}.pb")
}

/// The snapshot id an object of the bucket holds, if it is one: the key [`key_of`] gives.
fn bucket_id(key: &str) -> Option<String> {
    let id = key.rsplit('/').next()?.strip_suffix(".pb")?;
    (valid_id(id) && key == key_of(id)).then(|| id.to_string())
}

/// The snapshot id a store file holds, if it is one: `<id[..2]>/<id>.pb` with a valid id.
/// Anything else (`<id>.pb.bak`, an editor's swap file) is a stray file, not a snapshot.
fn stored_id(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let id = name.strip_suffix(".pb")?;
    let shard = path.parent()?.file_name()?.to_str()?;
    (valid_id(id) && id.get(..2) == Some(shard) && path.is_file()).then(|| id.to_string())
}

/// Reads one stored snapshot file.
pub fn read_file(path: &Path) -> Result<StoredSnapshot, Error> {
    let bytes = fs::read(path).map_err(Error::io(path))?;
    StoredSnapshot::decode(bytes.as_slice()).map_err(|e| Error::Corrupt {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Snapshot ids become file names: letters, digits, '-' and '_' only, 8 to 64 of them.
pub fn valid_id(id: &str) -> bool {
    (8..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::stored;

    #[test]
    fn stores_once_and_survives_reopening() {
        let tmp = tempfile::tempdir().unwrap();
        let s = Store::open(tmp.path()).unwrap();
        let id = "0123abcd-0000-4000-8000-000000000001";
        assert_eq!(s.put(id, &stored(id)).unwrap(), Put::Stored);
        assert_eq!(s.put(id, &stored(id)).unwrap(), Put::Duplicate);
        // A leftover temporary file from a crash is cleaned up.
        std::fs::write(tmp.path().join("tmp/leftover"), b"x").unwrap();
        let s = Store::open(tmp.path()).unwrap();
        assert!(s.contains(id));
        assert_eq!(s.len(), 1);
        assert!(!tmp.path().join("tmp/leftover").exists());
        assert_eq!(s.get(id).unwrap(), stored(id));
    }

    #[test]
    fn group_commit_stores_concurrent_duplicates_once() {
        let tmp = tempfile::tempdir().unwrap();
        let s = Store::open(tmp.path())
            .unwrap()
            .with_group_commit()
            .unwrap();
        assert!(s.group_commit());
        let ids = [
            "0123abcd-0000-4000-8000-000000000001",
            "0123abcd-0000-4000-8000-000000000002",
        ];
        // 16 threads, each putting both ids: every put answered, each id stored once.
        let outcomes: Vec<Put> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..16)
                .map(|_| {
                    let s = s.clone();
                    scope.spawn(move || ids.map(|id| s.put(id, &stored(id)).unwrap()))
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        assert_eq!(outcomes.iter().filter(|p| **p == Put::Stored).count(), 2);
        assert_eq!(
            outcomes.iter().filter(|p| **p == Put::Duplicate).count(),
            30
        );
        drop(s);
        let s = Store::open(tmp.path()).unwrap();
        assert_eq!(s.ids(), ids.map(String::from).to_vec());
        for id in ids {
            assert_eq!(s.get(id).unwrap(), stored(id));
        }
        assert_eq!(
            std::fs::read_dir(tmp.path().join("snapshots/01"))
                .unwrap()
                .count(),
            2
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn group_commit_from_async_code() {
        let tmp = tempfile::tempdir().unwrap();
        let s = Store::open(tmp.path())
            .unwrap()
            .with_group_commit()
            .unwrap();
        let id = "0123abcd-0000-4000-8000-000000000001";
        let puts = futures_join(&s, id).await;
        assert_eq!(puts.iter().filter(|p| **p == Put::Stored).count(), 1);
        assert_eq!(puts.len(), 8);
        assert_eq!(
            Store::open(tmp.path()).unwrap().get(id).unwrap(),
            stored(id)
        );
    }

    async fn futures_join(s: &Store, id: &str) -> Vec<Put> {
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (s, id) = (s.clone(), id.to_string());
                tokio::spawn(async move { s.put_async(&id, stored(&id)).await.unwrap() })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    }

    #[test]
    fn stray_files_in_the_store_are_skipped_not_indexed() {
        let tmp = tempfile::tempdir().unwrap();
        let s = Store::open(tmp.path()).unwrap();
        let id = "0123abcd-0000-4000-8000-000000000001";
        s.put(id, &stored(id)).unwrap();
        let shard = tmp.path().join("snapshots/01");
        std::fs::copy(
            shard.join(format!("{id}.pb")),
            shard.join(format!("{id}.pb.bak")),
        )
        .unwrap();
        std::fs::write(shard.join(".swp"), b"x").unwrap();
        std::fs::write(tmp.path().join("snapshots/README"), b"x").unwrap();
        let s = Store::open(tmp.path()).unwrap();
        assert_eq!(s.ids(), vec![id.to_string()]);
        assert_eq!(s.get(id).unwrap(), stored(id));
    }

    #[test]
    fn bucket_keys_are_the_folder_layout() {
        let id = "0123abcd-0000-4000-8000-000000000001";
        assert_eq!(key_of(id), format!("snapshots/01/{id}.pb"));
        assert_eq!(bucket_id(&key_of(id)).as_deref(), Some(id));
        assert_eq!(bucket_id(&format!("snapshots/02/{id}.pb")), None);
        assert_eq!(bucket_id(&format!("snapshots/01/{id}.pb.bak")), None);
        assert!(valid_aggregator_id("agg_1") && valid_aggregator_id("A2"));
        assert!(!valid_aggregator_id("") && !valid_aggregator_id("a-b"));
    }

    #[test]
    fn ids_that_are_not_file_names_are_refused() {
        assert!(valid_id("0123abcd-0000-4000-8000-000000000001"));
        assert!(!valid_id("../../etc/passwd"));
        assert!(!valid_id(""));
        assert!(!valid_id("short"));
    }
}
