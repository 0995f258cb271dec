//! `setup.prereq.msdtc-stopped`.

use crate::rules::setup::known::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
Setup stopped because the Distributed Transaction Coordinator (MSDTC) service is not running.
## Evidence
The run judged and how it was selected, setup's last evaluation of the rule (True) with its line number, and, for the tests that stop setup, where setup ran (user, computer, domain, site, schema master and its site).
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
