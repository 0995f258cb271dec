//! The dataset's files as objects by key ('/'-separated, relative to its root), on a folder
//! or a bucket alike, for the maintenance that treats both the same way (compaction,
//! retention): list, read, write whole, create only if new, delete.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use exfleet_dataset::bucket::{Bucket, Created};

use crate::durable;
use crate::error::Error;

/// How long an object just created on a bucket waits before it is read back.
const SETTLE: std::time::Duration = std::time::Duration::from_millis(500);

/// Temporary files of this process's writes to a folder.
static TMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// A dataset's root: a folder, or a prefix of a bucket.
#[derive(Debug, Clone)]
pub(crate) enum Objects {
    /// A local folder.
    Dir(PathBuf),
    /// A bucket's prefix.
    Bucket(Bucket),
}

impl Objects {
    /// Where `key` is, for messages.
    pub fn name(&self, key: &str) -> PathBuf {
        match self {
            Objects::Dir(root) => root.join(key),
            Objects::Bucket(b) => PathBuf::from(b.url_of(key)),
        }
    }

    /// Every object's key, sorted (a folder's staging area `_tmp/` left out).
    pub fn list(&self) -> Result<Vec<String>, Error> {
        match self {
            Objects::Bucket(b) => Ok(b.list("")?.into_iter().map(|o| o.key).collect()),
            Objects::Dir(root) => {
                let mut out = Vec::new();
                walk(root, root, &mut out)?;
                out.sort();
                Ok(out)
            }
        }
    }

    /// Reads an object; `None` when there is none.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        match self {
            Objects::Bucket(b) => Ok(b.get(key)?.map(|x| x.to_vec())),
            Objects::Dir(root) => {
                let p = root.join(key);
                match fs::read(&p) {
                    Ok(x) => Ok(Some(x)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(Error::io(&p)(e)),
                }
            }
        }
    }

    /// Writes an object whole, durable when it returns (a folder's: staged, fsynced, renamed
    /// into place, its directory fsynced).
    pub fn put(&self, key: &str, bytes: &[u8]) -> Result<(), Error> {
        match self {
            Objects::Bucket(b) => Ok(b.put(key, bytes.to_vec())?),
            Objects::Dir(root) => {
                let (tmp, dest, dir) = staged(root, key, bytes)?;
                fs::rename(&tmp, &dest).map_err(Error::io(&dest))?;
                durable::sync_dir(&dir)
            }
        }
    }

    /// Writes an object only if its key is new: whether it was, and holds `bytes` (which
    /// the caller makes unique). On a bucket the object is read back after [`SETTLE`]: a
    /// server may check `If-None-Match` apart from the write (s3s-fs 0.14 tests that the
    /// file exists, then renames a temporary file into place), so that two puts at once may
    /// both be answered 200, the later rename winning.
    pub fn create(&self, key: &str, bytes: &[u8]) -> Result<bool, Error> {
        match self {
            Objects::Bucket(b) => {
                if b.create(key, bytes.to_vec())? != Created::New {
                    return Ok(false);
                }
                std::thread::sleep(SETTLE);
                Ok(b.get(key)?.is_some_and(|there| there.as_ref() == bytes))
            }
            Objects::Dir(root) => {
                // Linked whole: the name never shows a partial body, which another
                // compactor reading a lock would judge by the file's age instead.
                let (tmp, dest, dir) = staged(root, key, bytes)?;
                let linked = fs::hard_link(&tmp, &dest);
                let _ = fs::remove_file(&tmp);
                match linked {
                    Ok(()) => {
                        durable::sync_dir(&dir)?;
                        Ok(true)
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
                    Err(e) => Err(Error::io(&dest)(e)),
                }
            }
        }
    }

    /// When an object was last written, UTC ms (a folder's file's mtime, a bucket's
    /// object's LastModified); `None` when there is none.
    pub fn modified_ms(&self, key: &str) -> Result<Option<i64>, Error> {
        match self {
            Objects::Bucket(b) => Ok(b
                .list(key)?
                .into_iter()
                .find(|o| o.key == key)
                .map(|o| o.modified_ms)),
            Objects::Dir(root) => {
                let p = root.join(key);
                match fs::metadata(&p).and_then(|m| m.modified()) {
                    Ok(t) => Ok(Some(
                        chrono::DateTime::<chrono::Utc>::from(t).timestamp_millis(),
                    )),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(Error::io(&p)(e)),
                }
            }
        }
    }

    /// Deletes an object (none of that key is not an error).
    pub fn delete(&self, key: &str) -> Result<(), Error> {
        match self {
            Objects::Bucket(b) => Ok(b.delete(key)?),
            Objects::Dir(root) => {
                let p = root.join(key);
                match fs::remove_file(&p) {
                    Ok(()) => Ok(()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    Err(e) => Err(Error::io(&p)(e)),
                }
            }
        }
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), Error> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(dir)(e)),
    };
    for e in entries {
        let p = e.map_err(Error::io(dir))?.path();
        if p.is_dir() {
            if p != root.join("_tmp") {
                walk(root, &p, out)?;
            }
            continue;
        }
        let Ok(rel) = p.strip_prefix(root) else {
            continue;
        };
        let key: Vec<&str> = rel.iter().filter_map(|c| c.to_str()).collect();
        out.push(key.join("/"));
    }
    Ok(())
}

/// `bytes` written and fsynced under the folder's staging area `_tmp/`, for `key`: the
/// temporary file, the destination and its (created) folder.
fn staged(root: &Path, key: &str, bytes: &[u8]) -> Result<(PathBuf, PathBuf, PathBuf), Error> {
    let staging = root.join("_tmp");
    fs::create_dir_all(&staging).map_err(Error::io(&staging))?;
    let tmp = staging.join(format!(
        "maint-{}-{}",
        std::process::id(),
        TMP_SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    durable::write_synced(&tmp, bytes)?;
    let dest = root.join(key);
    let dir = dest.parent().expect("a key has a folder").to_path_buf();
    fs::create_dir_all(&dir).map_err(Error::io(&dir))?;
    Ok((tmp, dest, dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder's create-only object appears with its whole body or not at all: readers
    /// racing the first create never read it empty (a compaction lock read empty was judged
    /// by its file's age, and taken over), and the second create leaves the first's body.
    #[test]
    fn a_created_object_is_never_seen_partial_and_is_kept_by_a_second_create() {
        let tmp = tempfile::tempdir().unwrap();
        let objects = Objects::Dir(tmp.path().to_path_buf());
        let body = vec![b'x'; 1 << 20];
        for n in 0..20 {
            let key = format!("_compact/2026-11-21/{n}.lock");
            std::thread::scope(|t| {
                let reader = t.spawn(|| loop {
                    if let Some(seen) = objects.get(&key).unwrap() {
                        return seen.len();
                    }
                });
                assert!(objects.create(&key, &body).unwrap());
                assert_eq!(reader.join().unwrap(), body.len(), "{key} read partial");
            });
            assert!(!objects.create(&key, b"another").unwrap());
            assert_eq!(objects.get(&key).unwrap().unwrap(), body);
        }
        let staging: Vec<_> = fs::read_dir(tmp.path().join("_tmp")).unwrap().collect();
        assert!(staging.is_empty(), "staging files left: {staging:?}");
    }
}
