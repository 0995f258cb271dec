//! What the unit tests of the store and the dataset share.

use exfleet_proto::v1::{Snapshot, StoredSnapshot};

/// A stored snapshot with only an id and a collection time (2026-11-18).
pub(crate) fn stored(id: &str) -> StoredSnapshot {
    StoredSnapshot {
        snapshot: Some(Snapshot {
            snapshot_id: id.into(),
            collected_at_ms: 1_795_000_000_000,
            ..Default::default()
        }),
        collector_id: "c".into(),
        received_at_ms: 1,
        ..Default::default()
    }
}
