//! The dataset on a bucket of an S3-compatible object store (`--dataset s3://bucket/prefix`,
//! the aggregators' `<prefix>/dataset` folder): the objects of its committed batches (their
//! `_flushed/<batch>.ids` and their parts) are fetched with `object_store` into a temporary
//! folder of the same layout, and read from there as a local dataset is, by the same code.
//! Parts of batches not committed yet (an aggregator writing them now, or one killed while
//! it did) are not fetched: their rows are not in the dataset yet.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;

use exfleet_dataset::bucket::Bucket;
use exfleet_dataset::layout::{batch_of_ids, batch_of_part, FLUSHED};

use crate::error::Error;

/// Times the objects are listed again when one listed is gone before it is read.
const ATTEMPTS: usize = 3;

/// Fetches the committed objects of the dataset at `url` into a new temporary folder.
///
/// An object listed and gone before it is read, or `_flushed/` listed again after the fetch
/// and found changed (a compaction or retention swapping batches meanwhile: one listing is
/// paginated, and `_flushed/` sorts first, before the parts), makes the listing stale: it is
/// listed and fetched again, so that a day being compacted is read whole, from commits and
/// parts that belong together.
pub(super) fn fetch(url: &str) -> Result<tempfile::TempDir, Error> {
    let mut attempt = 1;
    loop {
        match fetch_once(url)? {
            Some(dir) => return Ok(dir),
            None if attempt < ATTEMPTS => {
                tracing::info!(
                    url,
                    attempt,
                    "the dataset changed while fetched (compaction or retention): listing again"
                );
                attempt += 1;
            }
            None => {
                return Err(Error::Input {
                    path: url.into(),
                    message: format!(
                        "the dataset changed while it was fetched, {ATTEMPTS} times: it is \
                         being rewritten (compaction, retention); try again"
                    ),
                })
            }
        }
    }
}

/// One listing and its fetch; `None` when an object listed was gone, or the commits changed
/// meanwhile.
fn fetch_once(url: &str) -> Result<Option<tempfile::TempDir>, Error> {
    let input = |message: String| Error::Input {
        path: url.into(),
        message,
    };
    let bucket = Bucket::open(url).map_err(|e| input(e.to_string()))?;
    let listed = bucket.list("").map_err(|e| input(e.to_string()))?;
    // A batch with no part listed holds no rows: its ids file (one left without its parts)
    // is not fetched, so that it marks no other batch's rows as copies.
    let with_parts: HashSet<&str> = listed
        .iter()
        .filter_map(|o| batch_of_part(&o.key))
        .collect();
    let commits: BTreeSet<&str> = listed
        .iter()
        .filter(|o| batch_of_ids(&o.key).is_some())
        .map(|o| o.key.as_str())
        .collect();
    let committed: HashSet<&str> = listed
        .iter()
        .filter_map(|o| batch_of_ids(&o.key))
        .filter(|b| with_parts.contains(b))
        .collect();
    if committed.is_empty() {
        return Err(input(
            "no committed dataset batch there (no _flushed/<batch>.ids): is it the \
             aggregators' <prefix>/dataset?"
                .into(),
        ));
    }
    let dir = tempfile::Builder::new()
        .prefix("exfleet-dataset-")
        .tempdir()
        .map_err(Error::io(std::env::temp_dir()))?;
    let (mut fetched, mut bytes, mut pending) = (0usize, 0u64, 0usize);
    for o in &listed {
        let wanted = batch_of_ids(&o.key).is_some_and(|b| committed.contains(b))
            || batch_of_part(&o.key).is_some_and(|b| committed.contains(b));
        if !wanted {
            if batch_of_part(&o.key).is_some() {
                pending += 1;
            }
            continue;
        }
        // Keys are '/'-separated and were listed from the bucket: a key that would leave the
        // folder is not one of the dataset's.
        if o.key.split('/').any(|c| c == ".." || c.is_empty()) {
            tracing::warn!(url = %bucket.url_of(&o.key), "skipping an object whose key is not a path");
            continue;
        }
        let Some(data) = bucket.get(&o.key).map_err(|e| input(e.to_string()))? else {
            return Ok(None);
        };
        let local = dir.path().join(Path::new(&o.key));
        if let Some(parent) = local.parent() {
            std::fs::create_dir_all(parent).map_err(Error::io(parent))?;
        }
        std::fs::write(&local, &data).map_err(Error::io(&local))?;
        fetched += 1;
        bytes += data.len() as u64;
    }
    let again = bucket.list(FLUSHED).map_err(|e| input(e.to_string()))?;
    let now: BTreeSet<&str> = again
        .iter()
        .filter(|o| batch_of_ids(&o.key).is_some())
        .map(|o| o.key.as_str())
        .collect();
    if now != commits {
        return Ok(None);
    }
    tracing::info!(
        url,
        objects = fetched,
        bytes,
        batches = committed.len(),
        "dataset fetched"
    );
    if pending > 0 {
        tracing::info!(
            url,
            parts = pending,
            "parts of batches not committed yet left out"
        );
    }
    Ok(Some(dir))
}
