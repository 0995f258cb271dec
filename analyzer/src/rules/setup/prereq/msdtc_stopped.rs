//! `setup.prereq.msdtc-stopped`.

use crate::rules::setup::known::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
Setup stopped because the Distributed Transaction Coordinator (MSDTC) service is not running.
## Evidence
The last setup run, setup's rule lines (Failed [Rule:...] or evaluated True) with their line numbers, and the facts that say where to act.
## Action
Start the Distributed Transaction Coordinator service (Automatic), then run setup again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts), prerequisite check: setup's MSDTCStopped rule.";

/// `setup.prereq.msdtc-stopped`.
pub static RULE: Known = Known {
    id: "setup.prereq.msdtc-stopped",
    doc: DOC,
    module_path: module_path!(),
};
