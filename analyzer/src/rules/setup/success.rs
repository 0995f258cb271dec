//! `setup.success`.

use super::run_evidence;
use crate::finding::{Finding, Severity};
use crate::rules::{action_of, Context, Rule};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
The last setup run of ExchangeSetup.log completed (\"The Exchange Server setup operation completed successfully.\").
## Evidence
The run: start time, setup version, mode, user, and its lines.
## Action
Nothing to do.
## Source
reference/findings.md; reference/evidence.md (ExchangeSetup.log).";

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
    fn check(&self, h: &HostView, _: &Context, out: &mut Vec<Finding>) {
        let Some(r) = h.last_run() else { return };
        if r.outcome != "succeeded" {
            return;
        }
        let title = format!(
            "The last setup run ({} {}) completed",
            r.mode, r.setup_version
        );
        out.push(self.finding(h, title, vec![run_evidence(r)], &action_of(DOC)));
    }
}
