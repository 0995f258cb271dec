//! Evidence readers, one per artifact, all behind [`Reader`]. Adding a reader means: its module
//! here (`pub mod`, and a [`Reader`] that records its artifact's state and its errors in the
//! [`Sink`]); a call in [`read_all`], after the readers whose evidence it needs; its name in
//! [`NAMES`] (and the array's length); and, for a new kind of evidence, a field of the snapshot
//! (`proto/exfleet/v1/snapshot.proto`, under its evolution rule) and, for the aggregator's
//! dataset and the analyzer to see it, its columns in the dataset tables (DATASET.md).

pub mod event_log;
pub mod exchange_files;
pub mod exsetup;
pub mod hive;
pub mod iis_config;
pub mod msi_log;
pub mod sc_queryex;
pub mod service_control;
pub mod service_state;
pub mod setup_log;

use crate::sink::Sink;
use crate::triage::TriageDir;

/// Reads one kind of artifact of a triage copy into typed evidence.
///
/// A reader never fails the collection: absence, damage and unreadable parts are recorded in
/// the sink, with where they were met, and the reader keeps what it could read.
pub trait Reader {
    /// Stable name, used in provenance and collection errors.
    const NAME: &'static str;
    /// Reads the artifact from `dir` into `out`.
    fn read(&self, dir: &TriageDir, out: &mut Sink);
}

/// Finds a text artifact at a Windows path and reads it, decoded: `(path in the copy, text)`.
/// An absent file is recorded as absent, an unreadable one as unreadable with its error; both
/// give `None`, and the reader has nothing more to do.
pub fn text_artifact(
    dir: &TriageDir,
    out: &mut Sink,
    reader: &str,
    windows_path: &str,
) -> Option<(String, String)> {
    let Some(file) = dir.resolve(windows_path) else {
        out.absent(reader, &dir.expected(windows_path));
        return None;
    };
    let path = dir.display(&file);
    match std::fs::read(&file) {
        Ok(b) => Some((path, crate::text::decode(&b))),
        Err(e) => {
            out.artifact(
                reader,
                &path,
                exfleet_proto::v1::artifact_status::State::Unreadable,
            );
            out.error(reader, "io", &path, None, format!("{path}: {e}"));
            None
        }
    }
}

/// Records what went wrong reading a text log into records (its unreadable lines; an empty
/// file, or when no line starts a record the error `(kind, what a record is)`) and returns its
/// state: unreadable without records, partial with unreadable lines, read otherwise.
pub fn text_log_state(
    out: &mut Sink,
    reader: &str,
    path: &str,
    text: &str,
    issues: &[crate::text::LineIssue],
    records: usize,
    (no_record, what): (&str, &str),
) -> exfleet_proto::v1::artifact_status::State {
    use exfleet_proto::v1::artifact_status::State;
    out.line_issues(reader, path, issues);
    if text.trim().is_empty() {
        out.error(
            reader,
            "empty",
            path,
            None,
            format!("{path}: the log is empty"),
        );
    } else if records == 0 {
        out.error(
            reader,
            no_record,
            path,
            None,
            format!("{path}: no line starts {what}"),
        );
    }
    match (issues.is_empty(), records) {
        (_, 0) => State::Unreadable,
        (true, _) => State::Read,
        (false, _) => State::Partial,
    }
}

/// Names of all readers, in the order [`read_all`] runs them.
pub const NAMES: [&str; 11] = [
    hive::system::SystemHive::NAME,
    hive::software::SoftwareHive::NAME,
    exsetup::ExSetup::NAME,
    iis_config::IisConfig::NAME,
    setup_log::SetupLog::NAME,
    service_control::ServiceControlLog::NAME,
    service_state::ServiceState::NAME,
    msi_log::MsiLogs::NAME,
    event_log::EventLogs::NAME,
    sc_queryex::ScQueryex::NAME,
    exchange_files::ExchangeFiles::NAME,
];

/// Runs every reader over `dir`. The SOFTWARE hive comes before ExSetup.exe, whose location
/// it gives; the SYSTEM hive before the logs written in local time, whose time zone it gives.
pub fn read_all(dir: &TriageDir, out: &mut Sink) {
    hive::system::SystemHive.read(dir, out);
    hive::software::SoftwareHive.read(dir, out);
    exsetup::ExSetup.read(dir, out);
    iis_config::IisConfig.read(dir, out);
    setup_log::SetupLog.read(dir, out);
    service_control::ServiceControlLog.read(dir, out);
    service_state::ServiceState.read(dir, out);
    msi_log::MsiLogs.read(dir, out);
    event_log::EventLogs.read(dir, out);
    sc_queryex::ScQueryex.read(dir, out);
    exchange_files::ExchangeFiles.read(dir, out);
}
