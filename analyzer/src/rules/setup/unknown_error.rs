//! `setup.unknown-error`.

use super::reviewer::{review, Scope};
use crate::finding::{Evidence, Finding, Severity};
use crate::rules::{action_of, line_of, Context, SecondPassRule, Sink};
use crate::view::HostView;
use exfleet_proto::kinds::MsiLineKind;
use exfleet_proto::v1::setup_run::Outcome;

/// The catalog entry.
pub const DOC: &str = "## Detects
The last setup run failed with an error that no check of the reference reviewer's chain explains (and no other setup rule); or an SU install's MSI log ended with a fatal error (1603) that no other rule explains and no later install of an update succeeded.
## Evidence
The run judged, its first [ERROR] line (with its continuation lines) and the lines before it, with their line numbers, and whether the log stops inside the run; for an MSI log, the update, its result and its first failed action and error lines.
## Action
Read the log around the first error (ExchangeSetupLogs\\ExchangeSetup.log, or the MSI log, at the line given), fix the cause, and run the same setup again from the media (an SU from an elevated prompt).
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts): when no known issue matches, the first error of the last run with its context; Repair failed installations of Exchange cumulative and security updates (Microsoft Learn) for the known ones.";

/// `setup.unknown-error`; its catalog entry is [`DOC`]. A rule of the second pass: it reads
/// the host rules' findings to tell which failures they explain.
pub struct UnknownError;

impl SecondPassRule for UnknownError {
    fn id(&self) -> &'static str {
        "setup.unknown-error"
    }
    fn severity(&self) -> Severity {
        Severity::Error
    }
    fn doc(&self) -> &'static str {
        DOC
    }
    fn module_path(&self) -> &'static str {
        module_path!()
    }
    fn check(&self, h: &HostView, _: &Context, first: &[Finding], out: &mut Sink) {
        self.msi_failures(h, first, out);
        // The reviewer's fallback: the run has an error no check of its chain explains.
        let Some(review) = review(h).filter(|r| !r.succeeded && r.hits.is_empty()) else {
            return;
        };
        let Some(s) = Scope::new(h) else { return };
        let Some(cx) = s.error_context(None) else {
            return;
        };
        let r = s.run;
        if explained(first, &r.provenance) {
            return;
        }
        let mut ev = vec![s.run_evidence()];
        for b in &cx.before {
            let (at, text) = match b.split_once(": ").map(|(n, t)| (n.parse::<i64>(), t)) {
                Some((Ok(n), t)) => (line_of(&r.provenance, n), t),
                _ => (r.provenance.clone(), *b),
            };
            ev.push(Evidence::new(format!("before the error: {text}"), at));
        }
        let mut error = cx.first.text.clone();
        if !cx.first.continuation.is_empty() {
            error = format!("{error}\n{}", cx.first.continuation);
        }
        ev.push(s.cite(cx.first, error));
        if h.runs[review.run..]
            .iter()
            .all(|x| x.outcome == Outcome::CutOff)
        {
            ev.push(Evidence::new(
                "the run has no End of Setup: the log stops inside it",
                &r.provenance,
            ));
        }
        let errors: i64 = h.runs[review.run..].iter().map(|x| x.error_count).sum();
        let title = format!(
            "Setup {} {} failed with an error no known check explains (first at line {}, {} error lines)",
            r.mode, r.setup_version, cx.first.line, errors
        );
        out.push(self.finding(h, title, ev, &action_of(DOC)));
    }
}

impl UnknownError {
    /// Fatal MSI errors (1603) no finding of the first pass explains (1642 is
    /// `build.su-wrong-cu`).
    fn msi_failures(&self, h: &HostView, first: &[Finding], out: &mut Sink) {
        // ServiceControl.ps1 runs inside the SU install: a stop failure during it explains it.
        let stop_failed_during = |start: i64| {
            first.iter().any(|f| f.id == "setup.services-stop-failed")
                && h.sc_runs.last().is_some_and(|r| {
                    r.started_at_ms >= start.saturating_sub(5 * 60_000)
                        && r.started_at_ms <= start.saturating_add(3 * 3_600_000)
                })
        };
        for log in h.standing_msi_failures() {
            if log.result() != 1603
                || explained(first, &log.provenance)
                || stop_failed_during(log.started_at_ms)
            {
                continue;
            }
            let mut ev = vec![Evidence::new(
                format!(
                    "MSI log of {} ({}) started {}: error {}",
                    log.update_name,
                    log.patch,
                    log.header_time,
                    log.result()
                ),
                &log.provenance,
            )];
            let first_failed = log
                .lines
                .iter()
                .find(|l| l.kind == MsiLineKind::FailedAction);
            let errors = log
                .lines
                .iter()
                .filter(|l| l.kind == MsiLineKind::Error)
                .take(3);
            for l in first_failed.into_iter().chain(errors) {
                ev.push(Evidence::new(
                    l.text.clone(),
                    line_of(&log.provenance, l.line),
                ));
            }
            let title = format!("SU install of {} failed with 1603", log.update_name);
            out.push(self.finding(h, title, ev, &action_of(DOC)));
        }
    }
}

/// Whether a finding of the first pass (other than `setup.success`, which explains nothing)
/// already cites the log that `provenance` is in.
fn explained(first: &[Finding], provenance: &str) -> bool {
    let log = path_of(provenance);
    first.iter().any(|f| {
        f.id != "setup.success" && f.evidence.iter().any(|e| path_of(&e.provenance) == log)
    })
}

/// The file of a `path:line` provenance.
fn path_of(provenance: &str) -> &str {
    match provenance.rsplit_once(':') {
        Some((p, line)) if line.bytes().all(|b| b.is_ascii_digit()) => p,
        _ => provenance,
    }
}
