//! `setup.unknown-error`.

use super::install_from_bin::line_of;
use super::run_evidence;
use crate::finding::{Evidence, Finding, Severity};
use crate::rules::{action_of, Context, Rule};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
The last setup run failed with an error that no other setup rule explains.
## Evidence
The run, and its first [ERROR] line with its line number.
## Action
Read the log around the first error (ExchangeSetupLogs\\ExchangeSetup.log at the line given), fix the cause, and run the same setup again from the media.
## Source
reference/findings.md.";

/// `setup.unknown-error`; its catalog entry is [`DOC`]. Registered after every other setup
/// rule, whose findings it reads.
pub struct UnknownError;

impl Rule for UnknownError {
    fn id(&self) -> &'static str {
        "setup.unknown-error"
    }
    fn severity(&self) -> Severity {
        Severity::Error
    }
    fn doc(&self) -> &'static str {
        DOC
    }
    fn check(&self, h: &HostView, _: &Context, out: &mut Vec<Finding>) {
        let Some(r) = h.last_run() else { return };
        if r.outcome != "failed" {
            return;
        }
        if out
            .iter()
            .any(|f| f.id.starts_with("setup.") && f.id != self.id())
        {
            return;
        }
        let mut ev = vec![run_evidence(r)];
        if r.first_error_line > 0 {
            ev.push(Evidence::new(
                r.first_error.clone(),
                line_of(&r.provenance, r.first_error_line),
            ));
        }
        let title = format!(
            "Setup {} {} failed ({} error lines)",
            r.mode, r.setup_version, r.error_count
        );
        out.push(self.finding(h, title, ev, &action_of(DOC)));
    }
}
