//! One collection: the server's files and registry (a triage copy, or live) in, a snapshot out.

use exfleet_proto::v1::{collection_source::Kind, CollectionSource, HostLabels, Snapshot};

use crate::error::Error;
use crate::files::ServerFiles;
use crate::readers::{self, Reader};
use crate::sink::Sink;

/// Version written into every snapshot.
pub const COLLECTOR_VERSION: &str = env!("CARGO_PKG_VERSION");

/// How a collection reads its evidence.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Keep only events written at or after this time (UTC ms; 0 = all): a collector that runs
    /// regularly reads the window since its last collection.
    pub events_since_ms: i64,
    /// Scan only log records written at or after this time for indicators of compromise
    /// (UTC ms; 0 = all).
    pub ioc_since_ms: i64,
    /// Where the previous durable scan of each log stopped: only the bytes after are read.
    pub ioc_marks: crate::readers::ioc::marks::Marks,
}

/// Whether a collection found nothing at all: every artifact a reader looked for is absent (a
/// wrong root, an empty folder) and nothing went wrong. Refused and unreadable artifacts count
/// as found.
pub fn found_nothing(snapshot: &Snapshot) -> bool {
    use exfleet_proto::v1::artifact_status::State;
    snapshot.errors.is_empty()
        && snapshot
            .artifacts
            .iter()
            .all(|a| a.state == State::Absent as i32)
}

/// Reads every artifact of the server at `dir` (a triage copy, or [`ServerFiles::live`]) into a
/// new snapshot.
pub fn collect(dir: &ServerFiles, labels: HostLabels) -> Result<Snapshot, Error> {
    collect_with(dir, labels, &Options::default())
}

/// The computer name the server's snapshots report (the SYSTEM hive's, read as a collection
/// reads it): the name a collector enrolls under. An error, with what the reader met, when
/// there is none.
pub fn computer_name(dir: &ServerFiles) -> Result<String, Error> {
    let mut sink = Sink::new(Snapshot::default());
    readers::hive::system::SystemHive.read(dir, &mut sink);
    let s = sink.finish();
    match s.host.map(|h| h.computer_name).filter(|n| !n.is_empty()) {
        Some(name) => Ok(name),
        None => Err(Error::Config {
            path: dir.root().to_path_buf(),
            message: format!(
                "no computer name could be read from the SYSTEM hive{}",
                s.errors
                    .iter()
                    .map(|e| format!("; {}", e.message))
                    .collect::<String>()
            ),
        }),
    }
}

/// [`collect`], with options.
pub fn collect_with(
    dir: &ServerFiles,
    labels: HostLabels,
    options: &Options,
) -> Result<Snapshot, Error> {
    collect_with_marks(dir, labels, options).map(|(s, _)| s)
}

/// [`collect_with`], giving also where the scan of each log stopped: the read marks to save
/// once the snapshot is durable (spooled, written or acknowledged), never before.
pub fn collect_with_marks(
    dir: &ServerFiles,
    labels: HostLabels,
    options: &Options,
) -> Result<(Snapshot, crate::readers::ioc::marks::Marks), Error> {
    if !dir.is_live() && !dir.root().is_dir() {
        return Err(Error::NotADirectory(dir.root().to_path_buf()));
    }
    let kind = if dir.is_live() {
        Kind::Live
    } else {
        Kind::Triage
    };
    let snapshot = Snapshot {
        snapshot_id: uuid::Uuid::new_v4().to_string(),
        collector_version: COLLECTOR_VERSION.to_string(),
        collected_at_ms: chrono::Utc::now().timestamp_millis(),
        source: Some(CollectionSource {
            kind: kind as i32,
            root: dir.root().display().to_string(),
        }),
        labels: Some(labels),
        events_since_ms: options.events_since_ms,
        ioc_since_ms: options.ioc_since_ms,
        ..Default::default()
    };
    let mut sink = Sink::with_ioc_marks(snapshot, options.ioc_marks.clone());
    readers::read_all(dir, &mut sink);
    Ok(sink.finish_with_marks())
}
