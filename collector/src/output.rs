//! Writing a snapshot to a file: protobuf (the storage contract) or JSON (for people and for
//! independent checkers), chosen by the file's extension.

use std::path::Path;

use exfleet_proto::v1::Snapshot;
use prost::Message;

use crate::error::Error;

/// Writes `snapshot` to `path`: JSON when the name ends in `.json`, protobuf otherwise.
/// The file is written beside its final name and renamed, so a reader never sees half of it.
pub fn write(snapshot: &Snapshot, path: &Path) -> Result<(), Error> {
    let bytes = if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        serde_json::to_vec_pretty(snapshot).map_err(|e| Error::Encode(e.to_string()))?
    } else {
        snapshot.encode_to_vec()
    };
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Reads a snapshot written by [`write()`].
pub fn read(path: &Path) -> Result<Snapshot, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::Encode(format!("{}: {e}", path.display())))
    } else {
        Snapshot::decode(bytes.as_slice())
            .map_err(|e| Error::Encode(format!("{}: {e}", path.display())))
    }
}
