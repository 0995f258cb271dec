//! `ExchangeSetupLogs\ExchangeSetup.log`: every setup run appended to one log. This reader
//! ships parsed runs (setup version, mode, previous version, source dir, times, outcome, the
//! `[ERROR]` lines with their numbers), not the multi-megabyte log itself.
//!
//! A log may be on any drive (setup writes it to the system drive's root). Unreadable lines
//! are recorded with their line numbers; the rest of the log is still read.

pub mod parser;

use crate::artifacts::SETUP_LOG;
use crate::files::ServerFiles;
use crate::provenance;
use crate::readers::{stream_artifact, text_log_state, Reader};
use crate::sink::Sink;

/// Reads ExchangeSetup.log.
pub struct SetupLog;

impl Reader for SetupLog {
    const NAME: &'static str = "setup_log";

    fn read(&self, dir: &ServerFiles, out: &mut Sink) {
        // Streamed: a real log is tens of MB, and only what matters of it is kept.
        let mut parser = parser::Parser::new();
        let Some(path) = stream_artifact(dir, out, Self::NAME, SETUP_LOG.path, |line, newline| {
            parser.line(match newline {
                true => line.strip_suffix('\r').unwrap_or(line),
                false => line,
            })
        }) else {
            return;
        };
        let parsed = parser.finish();
        let state = text_log_state(
            out,
            Self::NAME,
            &path,
            parsed.blank,
            &parsed.issues,
            parsed.runs.len(),
            ("no_setup_run", "a setup run"),
        );
        out.over_budget(Self::NAME, &path, &parsed.over_budget);
        for mut run in parsed.runs {
            run.provenance = Some(provenance::line(Self::NAME, &path, run.start_line));
            out.evidence_mut().setup_runs.push(run);
        }
        out.artifact(Self::NAME, &path, state);
    }
}
