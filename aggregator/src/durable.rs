//! Durable file writes: data fsynced before it is named, and directories fsynced after an
//! entry is added, so that a crash leaves either nothing or the whole file.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use crate::error::Error;

/// Writes `bytes` to a new file at `path` and fsyncs it.
pub fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let mut f = File::create(path).map_err(Error::io(path))?;
    f.write_all(bytes).map_err(Error::io(path))?;
    f.sync_all().map_err(Error::io(path))
}

/// Fsyncs a directory, making its new entries durable.
pub fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(Error::io(dir))
}
