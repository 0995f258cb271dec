//! `setup.success`.

use super::run_evidence;
use crate::finding::Severity;
use crate::rules::{action_of, Context, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
The last setup run of ExchangeSetup.log completed (\"The Exchange Server setup operation completed successfully.\").
## Evidence
The run: start time, setup version, mode, user, and its lines.
## Action
Nothing to do.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts): \"The Exchange Server setup operation completed successfully.\" in the last run, no action required.";

/// `setup.success`; its catalog entry is [`DOC`].
pub struct Success;

impl Rule for Success {
    fn id(&self) -> &'static str {
        "setup.success"
    }
    fn severity(&self) -> Severity {
        Severity::Info
    }
    fn doc(&self) -> &'static str {
        DOC
    }
    fn module_path(&self) -> &'static str {
        module_path!()
    }
    fn check(&self, h: &HostView, _: &Context, out: &mut Sink) {
        let Some(review) = super::reviewer::review(h).filter(|r| r.succeeded) else {
            return;
        };
        let r = &h.runs[review.run];
        let title = format!(
            "The last setup run ({} {}) completed",
            r.mode, r.setup_version
        );
        out.push(self.finding(h, title, vec![run_evidence(r)], &action_of(DOC)));
    }
}
