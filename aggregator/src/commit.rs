//! Group commit for the local store: one committer thread takes every put waiting, and makes
//! the whole batch durable with one round of syncs, instead of two fsyncs per upload, each
//! waiting for its own journal commit.
//!
//! A batch: every snapshot is written to its temporary file; every temporary file is fsynced
//! (the data is durable before it has a name, as in [`crate::store`]); each is hard-linked to
//! its final name (a link that finds the name taken is the dedup: `Duplicate`); each shard
//! directory the batch touched is fsynced once; then every waiter is answered.
//!
//! On Linux, `sync_file_range(SYNC_FILE_RANGE_WRITE)` first starts the writeback of every file
//! of the batch, so that their blocks are allocated in one journal transaction: the first
//! fsync commits it, and the others find their metadata committed and only wait for their
//! data. That call is a hint, it makes nothing durable; durability rests on each file's
//! fsync and each directory's, as in the store without group commit, so an ack still comes
//! only once the bytes and the directory entry are durable.
//!
//! [`GroupCommit::Syncfs`] (Linux, opt-in) replaces each round of fsyncs by one `syncfs(2)`
//! on the store's file system: after the writes (the data of every temporary file written
//! back and the journal committed, one cache flush) and after the links (the directory
//! entries). Each fsync on ext4 ends with a cache flush, even when the journal has nothing to
//! commit; two `syncfs` per batch are two. What it relies on: `syncfs` writes back and waits
//! for every dirty inode of the file system and then has the file system commit and flush
//! (`sync_filesystem`); since Linux 5.8 it returns the write-back errors of the file system
//! seen since the descriptor was opened or last reported (the committer keeps one descriptor
//! of the store's root for its life). Its cost: it also writes back every other dirty file
//! of that file system, other processes' too, so it is for a data directory on a file system
//! of its own, on Linux 5.8 or later.
//!
//! Failure: a temporary file that cannot be written fails its own upload. An fsync that fails
//! (data or directory) fails every upload of the batch, none acked: after a failed fsync the
//! kernel may have dropped the dirty pages, so nothing of that batch is known to be on disk.
//! The temporary files are removed and no final name is made when a data fsync fails; when a
//! directory fsync fails, the final names may exist but are not in the index. The kernel
//! reports a failed fsync once: a later fsync of that directory may succeed without the lost
//! entry being on disk. So the collector's retry, finding the name taken by an id the index
//! does not hold, renames its own synced file over it (a new entry, which its batch's
//! directory fsync does make durable) and is acked as stored (and queued for the dataset).
//!
//! A panic of the committer thread aborts the process: every waiter is unanswered (none
//! acked) and the service manager restarts the aggregator, rather than it serving on with a
//! store that refuses every upload.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, RwLock};

use tokio::sync::oneshot;

use crate::error::Error;
use crate::store::Put;

/// Largest batch: bounds the temporary files open at once and the wait of the first upload
/// of a batch behind the others.
const MAX_BATCH: usize = 512;

/// How a file's or directory's data is made durable (`File::sync_all`, or `syncfs` of the
/// store's root); a test makes it fail.
pub(crate) type SyncFn = fn(&File) -> std::io::Result<()>;

/// Group commit of the local store, and how a batch is made durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupCommit {
    /// No group commit: one write and two fsyncs per upload, on the upload's own thread.
    Off,
    /// Batches: every file of the batch fsynced, then every shard directory it touched.
    #[default]
    Fsync,
    /// Batches: one `syncfs` after the writes and one after the links (Linux 5.8 or later;
    /// for a data directory on a file system of its own).
    Syncfs,
}

impl std::str::FromStr for GroupCommit {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "off" => Ok(GroupCommit::Off),
            "fsync" => Ok(GroupCommit::Fsync),
            "syncfs" => Ok(GroupCommit::Syncfs),
            _ => Err(format!("{s:?}: off, fsync or syncfs")),
        }
    }
}

/// `syncfs(2)` of the file system holding `dir`.
#[cfg(target_os = "linux")]
pub(crate) fn syncfs(dir: &File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: a valid open descriptor; syncfs only reads it.
    match unsafe { libc::syncfs(dir.as_raw_fd()) } {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}

/// Whether this kernel's `syncfs` returns write-back errors: Linux 5.8 or later.
#[cfg(target_os = "linux")]
fn syncfs_reports_errors() -> bool {
    // SAFETY: uname fills the zeroed struct it is given.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut u) } != 0 {
        return false;
    }
    // SAFETY: uname NUL-terminates `release`.
    let release = unsafe { std::ffi::CStr::from_ptr(u.release.as_ptr()) };
    kernel_at_least(&release.to_string_lossy(), (5, 8))
}

#[cfg(not(target_os = "linux"))]
fn syncfs_reports_errors() -> bool {
    false
}

/// Whether a kernel release string (`6.1.0-18-amd64`) is at least `min` (major, minor).
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn kernel_at_least(release: &str, min: (u32, u32)) -> bool {
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(minor)) => (major, minor) >= min,
        _ => false,
    }
}

/// `syncfs` is Linux's: elsewhere this mode is refused at start ([`Committer::start`]).
#[cfg(not(target_os = "linux"))]
pub(crate) fn syncfs(_dir: &File) -> std::io::Result<()> {
    Err(std::io::Error::other("syncfs is Linux's"))
}

/// One upload waiting for its batch.
struct Job {
    id: String,
    bytes: Vec<u8>,
    reply: oneshot::Sender<Result<Put, Error>>,
}

/// The handle on the committer thread; the thread ends when the last handle is dropped.
#[derive(Debug)]
pub(crate) struct Committer {
    tx: mpsc::Sender<Job>,
}

/// What the committer thread works on.
struct Disk {
    /// The store's root (`snapshots/`, `tmp/`).
    root: PathBuf,
    /// The store's index: an id goes in once its batch is durable.
    ids: Arc<RwLock<HashSet<String>>>,
    sync: SyncFn,
    /// With `syncfs`, the store's root, kept open (write-back errors are reported to a
    /// descriptor from its opening on); `None`: fsync each file and directory.
    whole: Option<File>,
    seq: u64,
}

impl Committer {
    /// Starts the committer thread of the store at `root`.
    pub(crate) fn start(
        root: &Path,
        ids: Arc<RwLock<HashSet<String>>>,
        sync: SyncFn,
        syncfs: bool,
    ) -> Result<Committer, Error> {
        if syncfs && !syncfs_reports_errors() {
            return Err(Error::Io {
                path: root.to_path_buf(),
                reason: std::io::Error::other(
                    "group-commit = \"syncfs\" needs Linux 5.8 or later (before it, syncfs does not report write-back errors)",
                ),
            });
        }
        let whole = match syncfs {
            true => Some(File::open(root).map_err(Error::io(root))?),
            false => None,
        };
        let (tx, rx) = mpsc::channel::<Job>();
        let mut disk = Disk {
            root: root.to_path_buf(),
            ids,
            sync,
            whole,
            seq: 0,
        };
        std::thread::Builder::new()
            .name("store-commit".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match rx.try_recv() {
                            Ok(job) => batch.push(job),
                            Err(_) => break,
                        }
                    }
                    let committed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        disk.commit(batch)
                    }));
                    if committed.is_err() {
                        tracing::error!(root = %disk.root.display(), "the store's committer thread panicked; aborting so that the aggregator is restarted");
                        std::process::abort();
                    }
                }
            })
            .map_err(Error::io(root))?;
        Ok(Committer { tx })
    }

    /// Queues a put; the answer comes once its batch is durable (or failed).
    pub(crate) fn submit(&self, id: &str, bytes: Vec<u8>) -> oneshot::Receiver<Result<Put, Error>> {
        let (reply, answer) = oneshot::channel();
        // The thread lives as long as a handle does: a send fails only if it panicked, and
        // then the dropped reply answers the waiter with an error.
        let _ = self.tx.send(Job {
            id: id.to_string(),
            bytes,
            reply,
        });
        answer
    }
}

/// The answer a waiter gets when its committer thread died.
pub(crate) fn lost(root: &Path) -> Error {
    Error::Io {
        path: root.join("tmp"),
        reason: std::io::Error::other("the store's committer thread ended"),
    }
}

/// A job whose temporary file is written.
struct Staged {
    job: Job,
    tmp: PathBuf,
    file: File,
}

impl Disk {
    fn commit(&mut self, batch: Vec<Job>) {
        let mut staged = Vec::with_capacity(batch.len());
        for job in batch {
            if self.ids.read().expect("index lock").contains(&job.id) {
                let _ = job.reply.send(Ok(Put::Duplicate));
                continue;
            }
            self.seq += 1;
            let tmp = self.root.join("tmp").join(format!(
                "{}.{}.g{}",
                job.id,
                std::process::id(),
                self.seq
            ));
            match write(&tmp, &job.bytes) {
                Ok(file) => staged.push(Staged { job, tmp, file }),
                Err(e) => {
                    let _ = fs::remove_file(&tmp);
                    let _ = job.reply.send(Err(e));
                }
            }
        }
        if staged.is_empty() {
            return;
        }
        let synced = match &self.whole {
            Some(root) => (self.sync)(root).err().map(|e| (self.root.clone(), e)),
            None => {
                for s in &staged {
                    start_writeback(&s.file);
                }
                staged
                    .iter()
                    .find_map(|s| (self.sync)(&s.file).err().map(|e| (s.tmp.clone(), e)))
            }
        };
        if let Some((path, e)) = synced {
            tracing::error!(path = %path.display(), uploads = staged.len(), "fsync failed: {e}; the whole batch fails");
            for s in staged {
                let _ = fs::remove_file(&s.tmp);
                let _ = s.job.reply.send(Err(copy(&path, &e)));
            }
            return;
        }
        // Shard directory -> the uploads linked into it, with how each link went.
        let mut shards: BTreeMap<PathBuf, Vec<(Job, Put)>> = BTreeMap::new();
        let mut linked_here = HashSet::new();
        // A shard directory made by this batch is an entry of `snapshots/`, durable once
        // that directory is synced too.
        let mut new_shard = false;
        for Staged { job, tmp, file } in staged {
            drop(file);
            let final_path = self.root.join(crate::store::key_of(&job.id));
            let shard = final_path
                .parent()
                .expect("a shard directory")
                .to_path_buf();
            new_shard |= !shard.is_dir();
            let linked = fs::create_dir_all(&shard)
                .map_err(Error::io(&shard))
                .and_then(|()| match fs::hard_link(&tmp, &final_path) {
                    Ok(()) => Ok(Put::Stored),
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        if linked_here.contains(&job.id) {
                            Ok(Put::Duplicate)
                        } else {
                            // Not in the index: a name an earlier batch linked but failed to
                            // make durable (module doc). Replace it by this synced file.
                            fs::rename(&tmp, &final_path)
                                .map(|()| Put::Stored)
                                .map_err(Error::io(&final_path))
                        }
                    }
                    Err(e) => Err(Error::io(&final_path)(e)),
                });
            if linked.is_ok() {
                linked_here.insert(job.id.clone());
            }
            let _ = fs::remove_file(&tmp);
            match linked {
                Ok(put) => shards.entry(shard).or_default().push((job, put)),
                Err(e) => {
                    let _ = job.reply.send(Err(e));
                }
            }
        }
        // The new directory entries are durable only once their directories are.
        let failed = match &self.whole {
            Some(root) if !shards.is_empty() => {
                (self.sync)(root).err().map(|e| (self.root.clone(), e))
            }
            _ => {
                let snapshots = self.root.join("snapshots");
                let parent = new_shard.then_some(&snapshots);
                shards.keys().chain(parent).find_map(|dir| {
                    File::open(dir)
                        .and_then(|d| (self.sync)(&d))
                        .err()
                        .map(|e| (dir.clone(), e))
                })
            }
        };
        if let Some((dir, e)) = &failed {
            tracing::error!(path = %dir.display(), "fsync of a shard directory failed: {e}; the whole batch fails");
        }
        for (job, put) in shards.into_values().flatten() {
            let answer = match &failed {
                Some((dir, e)) => Err(copy(dir, e)),
                None => {
                    self.ids.write().expect("index lock").insert(job.id.clone());
                    Ok(put)
                }
            };
            let _ = job.reply.send(answer);
        }
    }
}

/// Starts writing a file's dirty pages back, without waiting (a hint; errors are the fsync's
/// to report).
#[cfg(target_os = "linux")]
fn start_writeback(file: &File) {
    use std::os::fd::AsRawFd;
    // SAFETY: a valid open descriptor; the call only schedules writeback of its pages.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_file: &File) {}

/// Writes a temporary file, not yet synced.
fn write(path: &Path, bytes: &[u8]) -> Result<File, Error> {
    let mut f = File::create(path).map_err(Error::io(path))?;
    f.write_all(bytes).map_err(Error::io(path))?;
    Ok(f)
}

/// The same failure for each waiter of a batch (an `io::Error` is not `Clone`).
fn copy(path: &Path, e: &std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        reason: std::io::Error::new(e.kind(), e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disk(root: &Path, sync: SyncFn) -> Disk {
        fs::create_dir_all(root.join("tmp")).unwrap();
        Disk {
            root: root.to_path_buf(),
            ids: Arc::default(),
            sync,
            whole: None,
            seq: 0,
        }
    }

    fn disk_syncfs(root: &Path, sync: SyncFn) -> Disk {
        Disk {
            whole: Some(File::open(root).unwrap()),
            ..disk(root, sync)
        }
    }

    fn job(id: &str) -> (Job, oneshot::Receiver<Result<Put, Error>>) {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            id: id.to_string(),
            bytes: id.as_bytes().to_vec(),
            reply,
        };
        (job, answer)
    }

    const IDS: [&str; 3] = [
        "0123abcd-0000-4000-8000-000000000001",
        "4567abcd-0000-4000-8000-000000000002",
        "89abcdef-0000-4000-8000-000000000003",
    ];

    #[test]
    fn a_batch_is_stored_and_a_duplicate_in_it_stored_once() {
        let tmp = tempfile::tempdir().unwrap();
        let mut d = disk(tmp.path(), File::sync_all);
        let (jobs, answers): (Vec<_>, Vec<_>) =
            [IDS[0], IDS[1], IDS[0]].into_iter().map(job).unzip();
        d.commit(jobs);
        let got: Vec<Put> = answers
            .into_iter()
            .map(|mut a| a.try_recv().unwrap().unwrap())
            .collect();
        assert_eq!(got, [Put::Stored, Put::Stored, Put::Duplicate]);
        let stored = tmp.path().join(crate::store::key_of(IDS[0]));
        assert_eq!(fs::read(stored).unwrap(), IDS[0].as_bytes());
        assert_eq!(fs::read_dir(tmp.path().join("tmp")).unwrap().count(), 0);
        assert!(d.ids.read().unwrap().contains(IDS[1]));
    }

    /// Fails the fsync of the second file synced, as a disk error would.
    fn fail_second(f: &File) -> std::io::Result<()> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        if N.fetch_add(1, Ordering::SeqCst) == 1 {
            return Err(std::io::Error::from_raw_os_error(5)); // EIO
        }
        f.sync_all()
    }

    #[test]
    fn with_syncfs_a_batch_is_stored_and_its_failure_fails_every_upload() {
        let tmp = tempfile::tempdir().unwrap();
        let mut d = disk_syncfs(tmp.path(), syncfs);
        let (jobs, answers): (Vec<_>, Vec<_>) =
            [IDS[0], IDS[1], IDS[0]].into_iter().map(job).unzip();
        d.commit(jobs);
        let got: Vec<Put> = answers
            .into_iter()
            .map(|mut a| a.try_recv().unwrap().unwrap())
            .collect();
        assert_eq!(got, [Put::Stored, Put::Stored, Put::Duplicate]);
        let stored = tmp.path().join(crate::store::key_of(IDS[1]));
        assert_eq!(fs::read(stored).unwrap(), IDS[1].as_bytes());

        fn eio(_: &File) -> std::io::Result<()> {
            Err(std::io::Error::from_raw_os_error(5))
        }
        d.sync = eio;
        let (j, mut a) = job(IDS[2]);
        d.commit(vec![j]);
        assert!(a.try_recv().unwrap().is_err());
        assert!(!tmp.path().join(crate::store::key_of(IDS[2])).exists());
        assert!(!d.ids.read().unwrap().contains(IDS[2]));
    }

    #[test]
    fn an_fsync_error_fails_every_upload_of_the_batch() {
        let tmp = tempfile::tempdir().unwrap();
        let mut d = disk(tmp.path(), fail_second);
        let (jobs, answers): (Vec<_>, Vec<_>) = IDS.into_iter().map(job).unzip();
        d.commit(jobs);
        for mut a in answers {
            let e = a.try_recv().unwrap().unwrap_err();
            assert!(e.to_string().contains("Input/output error"), "{e}");
        }
        // Nothing named, nothing indexed, nothing left behind.
        for id in IDS {
            assert!(!tmp.path().join(crate::store::key_of(id)).exists());
        }
        assert!(d.ids.read().unwrap().is_empty());
        assert_eq!(fs::read_dir(tmp.path().join("tmp")).unwrap().count(), 0);
    }

    /// Fails every directory fsync (files are fine).
    fn fail_dirs(f: &File) -> std::io::Result<()> {
        if f.metadata()?.is_dir() {
            return Err(std::io::Error::from_raw_os_error(5));
        }
        f.sync_all()
    }

    #[test]
    fn a_directory_fsync_error_fails_the_batch_and_the_retry_replaces_the_unsynced_name() {
        let tmp = tempfile::tempdir().unwrap();
        let mut d = disk(tmp.path(), fail_dirs);
        let (jobs, answers): (Vec<_>, Vec<_>) = IDS.into_iter().map(job).unzip();
        d.commit(jobs);
        for mut a in answers {
            assert!(a.try_recv().unwrap().is_err());
        }
        assert!(d.ids.read().unwrap().is_empty());
        // The retry finds the name taken by an entry never made durable: it replaces it with
        // its own synced file (a new entry its directory sync covers) and is stored.
        use std::os::unix::fs::MetadataExt;
        let name = tmp.path().join(crate::store::key_of(IDS[0]));
        let before = fs::metadata(&name).unwrap().ino();
        d.sync = File::sync_all;
        let (j, mut a) = job(IDS[0]);
        d.commit(vec![j]);
        assert_eq!(a.try_recv().unwrap().unwrap(), Put::Stored);
        assert_ne!(fs::metadata(&name).unwrap().ino(), before);
        assert_eq!(fs::read(&name).unwrap(), IDS[0].as_bytes());
        assert!(d.ids.read().unwrap().contains(IDS[0]));
        // Once indexed, a repeat is a duplicate.
        let (j, mut a) = job(IDS[0]);
        d.commit(vec![j]);
        assert_eq!(a.try_recv().unwrap().unwrap(), Put::Duplicate);
    }

    #[test]
    fn syncfs_needs_a_kernel_that_reports_its_errors() {
        assert!(kernel_at_least("5.8.0", (5, 8)));
        assert!(kernel_at_least("6.1.0-18-amd64", (5, 8)));
        assert!(!kernel_at_least("5.4.0-150-generic", (5, 8)));
        assert!(!kernel_at_least("4.18.0-553.el8_10.x86_64", (5, 8)));
        assert!(!kernel_at_least("garbage", (5, 8)));
    }
}
