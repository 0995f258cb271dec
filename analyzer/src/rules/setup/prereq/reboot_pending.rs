//! `setup.prereq.reboot-pending`.

use crate::rules::setup::known::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
Setup stopped because a reboot is pending (Windows components or updates).
## Evidence
The last setup run, setup's rule lines (Failed [Rule:...] or evaluated True) with their line numbers, and the facts that say where to act.
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
