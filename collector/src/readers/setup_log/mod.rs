//! `ExchangeSetupLogs\ExchangeSetup.log`: every setup run appended to one log. This reader
//! ships parsed runs (setup version, mode, previous version, source dir, times, outcome, the
//! `[ERROR]` lines with their numbers), not the multi-megabyte log itself.
//!
//! A log may be on any drive (setup writes it to the system drive's root). Unreadable lines
//! are recorded with their line numbers; the rest of the log is still read.

pub mod parser;

use exfleet_proto::v1::artifact_status::State;

use crate::provenance;
use crate::readers::{text_artifact, Reader};
use crate::sink::Sink;
use crate::triage::TriageDir;

/// Reads ExchangeSetup.log.
pub struct SetupLog;

const PATH: &str = r"ExchangeSetupLogs\ExchangeSetup.log";

impl Reader for SetupLog {
    const NAME: &'static str = "setup_log";

    fn read(&self, dir: &TriageDir, out: &mut Sink) {
        let Some((path, text)) = text_artifact(dir, out, Self::NAME, PATH) else {
            return;
        };
        let parsed = parser::parse(&text);
        let damaged = !parsed.issues.is_empty();
        out.line_issues(Self::NAME, &path, &parsed.issues);
        if text.trim().is_empty() {
            out.error(
                Self::NAME,
                "empty",
                &path,
                None,
                format!("{path}: the log is empty"),
            );
        } else if parsed.runs.is_empty() {
            out.error(
                Self::NAME,
                "no_setup_run",
                &path,
                None,
                format!("{path}: no line starts a setup run"),
            );
        }
        let damaged = damaged || parsed.runs.is_empty();
        let state = match (damaged, parsed.runs.is_empty()) {
            (false, _) => State::Read,
            (true, false) => State::Partial,
            (true, true) => State::Unreadable,
        };
        for mut run in parsed.runs {
            run.provenance = Some(provenance::line(Self::NAME, &path, run.start_line));
            out.evidence_mut().setup_runs.push(run);
        }
        out.artifact(Self::NAME, &path, state);
    }
}
