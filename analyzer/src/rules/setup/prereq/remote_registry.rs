//! `setup.prereq.remote-registry`.

use crate::rules::setup::known::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
Setup could not read the registry remotely during its prerequisite checks (Remote Registry service stopped or blocked).
## Evidence
The run judged and how it was selected, setup's last evaluation of the rule (True) with its line number, and, for the tests that stop setup, where setup ran (user, computer, domain, site, schema master and its site).
## Action
Start the Remote Registry service (set it to Automatic), check that the firewall allows it, then run setup again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts), prerequisite check: setup's RemoteRegException rule.";

/// `setup.prereq.remote-registry`.
pub static RULE: Known = Known {
    id: "setup.prereq.remote-registry",
    doc: DOC,
    module_path: module_path!(),
};
