//! The sink readers write to: evidence, collection errors and artifact states.
//!
//! Readers see only this (as vector's sources see only their output): they cannot fail the
//! collection, they record what went wrong and go on.

use exfleet_proto::v1::{
    artifact_status::State, ArtifactStatus, CollectionError, Provenance, Snapshot,
};

use crate::files::Refusal;
use crate::provenance;
use crate::readers::ioc::marks::Marks;
use crate::text::{Cuts, LineIssue};

/// Unreadable lines recorded per log before the rest are only counted, so that a damaged
/// multi-megabyte log does not flood the snapshot.
pub const MAX_LINE_ERRORS: usize = 20;

/// Collects what readers produce into one snapshot.
#[derive(Debug, Default)]
pub struct Sink {
    snapshot: Snapshot,
    ioc_marks: Marks,
    next_ioc_marks: Option<Marks>,
}

impl Sink {
    /// A sink that fills `snapshot` (identity, labels and source already set).
    pub fn new(snapshot: Snapshot) -> Self {
        Sink {
            snapshot,
            ..Default::default()
        }
    }

    /// A sink that also starts the log scans of the indicators of compromise where `marks`
    /// say the previous durable scan stopped.
    pub fn with_ioc_marks(snapshot: Snapshot, marks: Marks) -> Self {
        Sink {
            snapshot,
            ioc_marks: marks,
            next_ioc_marks: None,
        }
    }

    /// Where the previous durable scan of each log stopped.
    pub fn ioc_marks(&self) -> &Marks {
        &self.ioc_marks
    }

    /// Where this scan stopped: to be saved once the snapshot is durable.
    pub fn set_next_ioc_marks(&mut self, marks: Marks) {
        self.next_ioc_marks = Some(marks);
    }

    /// The evidence so far: readers run in order, and a later one may use what an earlier one
    /// found (the ExSetup reader uses the install path from the SOFTWARE hive).
    pub fn evidence(&self) -> &Snapshot {
        &self.snapshot
    }

    /// The host's time zone bias in minutes (UTC = local + bias) from the SYSTEM hive read
    /// before, for logs written in local time; 0 when unknown.
    pub fn time_bias_minutes(&self) -> i32 {
        self.snapshot
            .platform
            .as_ref()
            .map_or(0, |p| p.active_time_bias_minutes)
    }

    /// Mutable access to the evidence sections.
    pub fn evidence_mut(&mut self) -> &mut Snapshot {
        &mut self.snapshot
    }

    /// Records a collection error. `kind` is a stable snake_case string.
    pub fn error(
        &mut self,
        reader: &str,
        kind: &str,
        path: &str,
        location: Option<Provenance>,
        message: impl Into<String>,
    ) {
        let message = message.into();
        tracing::warn!(reader, kind, path, "{message}");
        self.snapshot.errors.push(CollectionError {
            reader: reader.to_string(),
            kind: kind.to_string(),
            path: path.to_string(),
            location,
            message,
        });
    }

    /// Records the unreadable lines of a text log, the first [`MAX_LINE_ERRORS`] each with its
    /// line, the rest counted in one more error.
    pub fn line_issues(&mut self, reader: &str, path: &str, issues: &[LineIssue]) {
        for issue in issues.iter().take(MAX_LINE_ERRORS) {
            let loc = provenance::line(reader, path, issue.line);
            self.error(
                reader,
                "malformed_line",
                path,
                Some(loc),
                format!("{path}: line {}: {}", issue.line, issue.message),
            );
        }
        if issues.len() > MAX_LINE_ERRORS {
            self.error(
                reader,
                "malformed_line",
                path,
                None,
                format!(
                    "{path}: {} more unreadable lines",
                    issues.len() - MAX_LINE_ERRORS
                ),
            );
        }
    }

    /// Records a path of the copy that was not read (outside the root, not a regular file, too
    /// large, unreadable) as a collection error of its kind. With `artifact`, the artifact is
    /// recorded as unreadable; without, an artifact the reader recorded as absent at that path
    /// (it was refused while it was looked for) becomes unreadable.
    pub fn refused(&mut self, reader: &str, refusal: &Refusal, artifact: bool) {
        if artifact {
            self.artifact(reader, &refusal.path, State::Unreadable);
        } else {
            for a in self.snapshot.artifacts.iter_mut() {
                if a.reader == reader && a.path == refusal.path && a.state == State::Absent as i32 {
                    a.state = State::Unreadable as i32;
                }
            }
        }
        self.error(
            reader,
            refusal.kind,
            &refusal.path,
            None,
            refusal.message.clone(),
        );
    }

    /// Records what the caps cut from a text file read as a stream: each line cut (the first
    /// [`MAX_LINE_ERRORS`] with their line, the rest counted), and the file's end when it was
    /// not read to the end.
    pub fn text_cuts(&mut self, reader: &str, path: &str, cuts: &Cuts, max_line: usize) {
        for cut in cuts.cut_lines.iter().take(MAX_LINE_ERRORS) {
            let loc = provenance::line(reader, path, cut.line);
            self.error(
                reader,
                "line_truncated",
                path,
                Some(loc),
                format!(
                    "{path}: line {}: {} bytes long; its first {max_line} bytes are kept",
                    cut.line, cut.bytes
                ),
            );
        }
        if cuts.cut_lines.len() > MAX_LINE_ERRORS {
            self.error(
                reader,
                "line_truncated",
                path,
                None,
                format!(
                    "{path}: {} more lines longer than {max_line} bytes were cut",
                    cuts.cut_lines.len() - MAX_LINE_ERRORS
                ),
            );
        }
        if let Some(at) = cuts.cut_at {
            self.error(
                reader,
                "artifact_truncated",
                path,
                Some(provenance::offset(reader, path, at)),
                format!(
                    "{path}: larger than {at} bytes; read up to offset {at}, the rest is not read"
                ),
            );
        }
    }

    /// Records the lines a log's parser did not keep because what is kept of one log is capped
    /// ([`MAX_KEPT_BYTES`](crate::text::MAX_KEPT_BYTES), [`MAX_RUNS`](crate::text::MAX_RUNS)).
    pub fn over_budget(&mut self, reader: &str, path: &str, over: &crate::text::OverBudget) {
        if over.lines == 0 {
            return;
        }
        self.error(
            reader,
            "kept_truncated",
            path,
            Some(provenance::line(reader, path, over.first_line)),
            format!(
                "{path}: line {}: from here, {} lines are not kept: what is kept of one log is \
                 capped ({} MiB of lines, {} runs)",
                over.first_line,
                over.lines,
                crate::text::MAX_KEPT_BYTES >> 20,
                crate::text::MAX_RUNS
            ),
        );
    }

    /// Records the state of an artifact a reader looked for.
    pub fn artifact(&mut self, reader: &str, path: &str, state: State) {
        self.snapshot.artifacts.push(ArtifactStatus {
            reader: reader.to_string(),
            path: path.to_string(),
            state: state as i32,
        });
    }

    /// Records an artifact that is not in the copy, so that a report can tell "not
    /// collected" from "healthy". Absence is not an error: many artifacts are optional.
    pub fn absent(&mut self, reader: &str, path: &str) {
        tracing::debug!(reader, path, "absent");
        self.artifact(reader, path, State::Absent);
    }

    /// Ends the sink.
    pub fn finish(self) -> Snapshot {
        self.snapshot
    }

    /// Ends the sink, with the read marks of the scan (the marks it started from when the
    /// scan did not run).
    pub fn finish_with_marks(self) -> (Snapshot, Marks) {
        let marks = self.next_ioc_marks.unwrap_or(self.ioc_marks);
        (self.snapshot, marks)
    }
}
