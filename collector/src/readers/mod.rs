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
pub mod installer_cache;
pub mod ioc;
pub mod msi_log;
pub mod sc_queryex;
pub mod service_control;
#[cfg(windows)]
pub mod service_manager;
pub mod service_state;
pub mod setup_log;

use crate::files::ServerFiles;
use crate::sink::Sink;

/// Reads one kind of artifact of a triage copy into typed evidence.
///
/// A reader never fails the collection: absence, damage and unreadable parts are recorded in
/// the sink, with where they were met, and the reader keeps what it could read.
pub trait Reader {
    /// Stable name, used in provenance and collection errors.
    const NAME: &'static str;
    /// Reads the artifact from `dir` into `out`.
    fn read(&self, dir: &ServerFiles, out: &mut Sink);
}

/// Largest file read whole for the formats that cannot be read as a stream (hives): Windows
/// caps a hive at 2 GiB.
pub const MAX_HIVE_BYTES: u64 = 2 << 30;
/// Largest PE image read (ExSetup.exe, the ECP DLL: a few MB each).
pub const MAX_PE_BYTES: u64 = 256 << 20;
/// Largest XML configuration read whole (applicationHost.config, web.config, saved service
/// states: at most a few MB each).
pub const MAX_CONFIG_BYTES: u64 = 64 << 20;

/// Finds a text log at a Windows path and reads it as a stream, decoded, with each line cut at
/// [`MAX_LINE_BYTES`](crate::text::MAX_LINE_BYTES) and the file at
/// [`MAX_LOG_BYTES`](crate::text::MAX_LOG_BYTES), every cut recorded: `(path in the copy,
/// text)`. An absent file is recorded as absent, an unreadable or refused one as unreadable
/// with its error; both give `None`, and the reader has nothing more to do.
pub fn text_artifact(
    dir: &ServerFiles,
    out: &mut Sink,
    reader: &str,
    windows_path: &str,
) -> Option<(String, String)> {
    let caps = (crate::text::MAX_LOG_BYTES, crate::text::MAX_LINE_BYTES);
    text_artifact_capped(dir, out, reader, windows_path, caps)
}

/// [`text_artifact`] with its caps: `(bytes read, bytes kept per line)`. XML is read with no
/// line cap (a cut line would be a malformed file), under a smaller file cap.
pub fn text_artifact_capped(
    dir: &ServerFiles,
    out: &mut Sink,
    reader: &str,
    windows_path: &str,
    caps: (u64, usize),
) -> Option<(String, String)> {
    let Some(file) = dir.resolve(windows_path) else {
        out.absent(reader, &dir.expected(windows_path));
        return None;
    };
    read_text(dir, out, reader, &file, caps)
}

/// Reads a text file of the copy (see [`text_artifact_capped`]).
pub fn read_text(
    dir: &ServerFiles,
    out: &mut Sink,
    reader: &str,
    file: &std::path::Path,
    caps: (u64, usize),
) -> Option<(String, String)> {
    let mut text = String::new();
    let path = read_lines(dir, out, reader, file, caps, |line, newline| {
        text.push_str(line);
        if newline {
            text.push('\n');
        }
    })?;
    Some((path, text))
}

/// Finds a text log at a Windows path and hands its lines to `on_line` as they are read (see
/// [`crate::text::read_lines`]), with the caps and records of [`text_artifact`]: the log is
/// never held whole. Gives the path in the copy, or `None` as [`text_artifact`] does.
pub fn stream_artifact(
    dir: &ServerFiles,
    out: &mut Sink,
    reader: &str,
    windows_path: &str,
    on_line: impl FnMut(&str, bool),
) -> Option<String> {
    let Some(file) = dir.resolve(windows_path) else {
        out.absent(reader, &dir.expected(windows_path));
        return None;
    };
    let caps = (crate::text::MAX_LOG_BYTES, crate::text::MAX_LINE_BYTES);
    read_lines(dir, out, reader, &file, caps, on_line)
}

fn read_lines(
    dir: &ServerFiles,
    out: &mut Sink,
    reader: &str,
    file: &std::path::Path,
    (max_bytes, max_line): (u64, usize),
    on_line: impl FnMut(&str, bool),
) -> Option<String> {
    let path = dir.display(file);
    let read = dir.open(file).and_then(|(f, _)| {
        crate::text::read_lines(f, max_bytes, max_line, on_line).map_err(|e| {
            crate::files::Refusal {
                kind: crate::files::kinds::IO,
                path: path.clone(),
                message: format!("{path}: {e}"),
            }
        })
    });
    match read {
        Ok(cuts) => {
            out.text_cuts(reader, &path, &cuts, max_line);
            Some(path)
        }
        Err(r) => {
            out.refused(reader, &r, true);
            None
        }
    }
}

/// Records what went wrong reading a text log into records (its unreadable lines; a `blank`
/// file (nothing but white space), or when no line starts a record the error `(kind, what a record is)`) and returns its
/// state: unreadable without records, partial with unreadable lines, read otherwise.
pub fn text_log_state(
    out: &mut Sink,
    reader: &str,
    path: &str,
    blank: bool,
    issues: &[crate::text::LineIssue],
    records: usize,
    (no_record, what): (&str, &str),
) -> exfleet_proto::v1::artifact_status::State {
    use exfleet_proto::v1::artifact_status::State;
    out.line_issues(reader, path, issues);
    if blank {
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
pub const NAMES: [&str; 13] = [
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
    installer_cache::InstallerCache::NAME,
    ioc::Ioc::NAME,
];

/// Runs every reader over `dir`. The SOFTWARE hive comes before ExSetup.exe, whose location
/// it gives; the SYSTEM hive before the logs written in local time, whose time zone it gives.
/// The paths a reader asked for that lead out of the copy are recorded as its collection
/// errors once it is done (see [`ServerFiles::resolve`]).
pub fn read_all(dir: &ServerFiles, out: &mut Sink) {
    dir.take_refusals();
    run(hive::system::SystemHive, dir, out);
    run(hive::software::SoftwareHive, dir, out);
    run(exsetup::ExSetup, dir, out);
    run(iis_config::IisConfig, dir, out);
    run(setup_log::SetupLog, dir, out);
    run(service_control::ServiceControlLog, dir, out);
    run(service_state::ServiceState, dir, out);
    run(msi_log::MsiLogs, dir, out);
    run(event_log::EventLogs, dir, out);
    run(sc_queryex::ScQueryex, dir, out);
    run(exchange_files::ExchangeFiles, dir, out);
    run(installer_cache::InstallerCache, dir, out);
    run(ioc::Ioc, dir, out);
}

fn run<R: Reader>(reader: R, dir: &ServerFiles, out: &mut Sink) {
    reader.read(dir, out);
    for refusal in dir.take_refusals() {
        out.refused(R::NAME, &refusal, false);
    }
}
