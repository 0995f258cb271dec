//! `ExchangeSetupLogs\ServiceControl.log`: what ServiceControl.ps1 did to services around
//! each SU install (saved, stopped, killed, disabled, restored), one entry per run, with local
//! times converted to UTC by the host's time zone bias (from the SYSTEM hive, read before).

pub mod parser;

use crate::artifacts::SERVICE_CONTROL_LOG;
use crate::files::ServerFiles;
use crate::provenance;
use crate::readers::{text_artifact, text_log_state, Reader};
use crate::sink::Sink;

/// Reads ServiceControl.log.
pub struct ServiceControlLog;

impl Reader for ServiceControlLog {
    const NAME: &'static str = "service_control";

    fn read(&self, dir: &ServerFiles, out: &mut Sink) {
        let Some((path, text)) = text_artifact(dir, out, Self::NAME, SERVICE_CONTROL_LOG.path)
        else {
            return;
        };
        let bias = out.time_bias_minutes();
        let parsed = parser::parse(&text, bias);
        let state = text_log_state(
            out,
            Self::NAME,
            &path,
            text.trim().is_empty(),
            &parsed.issues,
            parsed.runs.len(),
            ("no_run", "a ServiceControl.ps1 run"),
        );
        out.over_budget(Self::NAME, &path, &parsed.over_budget);
        for mut run in parsed.runs {
            run.provenance = Some(provenance::line(Self::NAME, &path, run.start_line));
            out.evidence_mut().service_control_runs.push(run);
        }
        out.artifact(Self::NAME, &path, state);
    }
}
