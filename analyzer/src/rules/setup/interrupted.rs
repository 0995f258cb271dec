//! `setup.interrupted`.

use super::reviewer::review;
use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, Context, Rule, Sink};
use crate::view::HostView;
use exfleet_proto::v1::setup_run::Outcome;

/// The catalog entry.
pub const DOC: &str = "## Detects
Setup was interrupted: a role key still holds a setup Watermark with Action Install, setup's InstallWatermark rule evaluated True in the last run, or the last run of ExchangeSetup.log stops without an error and without \"End of Setup\" (a run that stops inside a known failure is that failure).
## Evidence
The role keys with their Watermark and Action; or the last run's InstallWatermark rule evaluated True; or the run judged and the line where the log stops inside it.
## Action
Reboot if one is pending, then run the same CU setup again from the media (elevated) so it resumes from the watermark; do not install SUs before it completes.
## Source
CSS-Exchange SetupAssist.ps1 (aka.ms/ExSetupScripts): \"Install Watermark\" (aka.ms/SA-InstallWatermark: run setup again so that it resumes from the watermark).";

/// The finding id (the reviewer's install watermark test reports it too).
pub const ID: &str = "setup.interrupted";

/// `setup.interrupted`; its catalog entry is [`DOC`].
pub struct Interrupted;

impl Rule for Interrupted {
    fn id(&self) -> &'static str {
        ID
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
    fn check(&self, h: &HostView, _: &Context, out: &mut Sink) {
        let mut ev: Vec<Evidence> = h
            .roles
            .iter()
            .filter(|r| !r.watermark.is_empty() && r.action.eq_ignore_ascii_case("install"))
            .map(|r| {
                Evidence::new(
                    format!(
                        "{} Watermark {} (Action {})",
                        r.role().unwrap_or_default(),
                        r.watermark,
                        r.action
                    ),
                    &r.provenance,
                )
            })
            .collect();
        let mut title = "Exchange setup was interrupted".to_string();
        if let Some(r) = review(h) {
            for hit in r.of(ID) {
                title = hit.title.clone();
                ev.extend(hit.evidence.iter().cloned());
            }
            // A run that stops without an error nor a known cause: the log stops inside it. One
            // that stops inside a failure is that failure (its own finding or setup.unknown-error).
            let run = &h.runs[r.run];
            let cut_off = h.runs[r.run..].iter().all(|x| x.outcome == Outcome::CutOff);
            if cut_off && r.hits.is_empty() && !r.succeeded && run.first_error_line == 0 {
                ev.extend(super::reviewer::Scope::new(h).map(|s| s.run_evidence()));
                ev.push(Evidence::new(
                    format!(
                        "the run has no End of Setup: the log stops inside it, after line {}",
                        run.start_line + run.line_count.max(1) - 1
                    ),
                    &run.provenance,
                ));
            }
        }
        if ev.is_empty() {
            return;
        }
        out.push(self.finding(h, title, ev, &action_of(DOC)));
    }
}
