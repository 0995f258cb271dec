//! `setup.prereq.process-open`.

use crate::rules::setup::known::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
Setup stopped because other processes (PowerShell sessions, Exchange Management Shell, mscorsvw) hold Exchange files open.
## Evidence
The run judged and how it was selected, setup's last evaluation of the rule (True) with its line number, and, for the tests that stop setup, where setup ran (user, computer, domain, site, schema master and its site).
## Action
Close the processes named in the evidence (sign out other sessions, wait for native image generation to end, or restart), then run setup again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts), prerequisite check: setup's ProcessNeedsToBeClosedOnUpgrade rule.";

/// `setup.prereq.process-open`.
pub static RULE: Known = Known {
    id: "setup.prereq.process-open",
    doc: DOC,
    module_path: module_path!(),
};
