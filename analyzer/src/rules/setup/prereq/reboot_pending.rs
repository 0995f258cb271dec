//! `setup.prereq.reboot-pending`.

use crate::rules::setup::known::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
Setup stopped because a reboot is pending (Windows components or updates).
## Evidence
The run judged and how it was selected, setup's last evaluation of the rule (True) with its line number, and, for the tests that stop setup, where setup ran (user, computer, domain, site, schema master and its site).
## Action
Restart the server, then run setup again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts), prerequisite check: setup's PendingRebootWindowsComponents and RebootPending rules.";

/// `setup.prereq.reboot-pending`.
pub static RULE: Known = Known {
    id: "setup.prereq.reboot-pending",
    doc: DOC,
    module_path: module_path!(),
};
