//! `ExchangeSetupLogs\ServiceControl.log`: what ServiceControl.ps1 did to services around
//! each SU install (saved, stopped, killed, disabled, restored), one entry per run, with local
//! times converted to UTC by the host's time zone bias (from the SYSTEM hive, read before).

pub mod parser;

use exfleet_proto::v1::artifact_status::State;

use crate::provenance;
use crate::readers::{text_artifact, Reader};
use crate::sink::Sink;
use crate::triage::TriageDir;

/// Reads ServiceControl.log.
pub struct ServiceControlLog;

const PATH: &str = r"ExchangeSetupLogs\ServiceControl.log";

impl Reader for ServiceControlLog {
    const NAME: &'static str = "service_control";

    fn read(&self, dir: &TriageDir, out: &mut Sink) {
        let Some((path, text)) = text_artifact(dir, out, Self::NAME, PATH) else {
            return;
        };
        let bias = out
            .evidence()
            .platform
            .as_ref()
            .map_or(0, |p| p.active_time_bias_minutes);
        let parsed = parser::parse(&text, bias);
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
                "no_run",
                &path,
                None,
                format!("{path}: no line starts a ServiceControl.ps1 run"),
            );
        }
        let state = match (parsed.issues.is_empty(), parsed.runs.is_empty()) {
            (_, true) => State::Unreadable,
            (true, false) => State::Read,
            (false, false) => State::Partial,
        };
        for mut run in parsed.runs {
            run.provenance = Some(provenance::line(Self::NAME, &path, run.start_line));
            out.evidence_mut().service_control_runs.push(run);
        }
        out.artifact(Self::NAME, &path, state);
    }
}
