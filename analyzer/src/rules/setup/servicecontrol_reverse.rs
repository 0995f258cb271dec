//! `setup.servicecontrol-reverse`.

use super::known::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
The ServiceControl.ps1 Reverse exception: the saved service state list was empty or missing.
## Evidence
The last setup run, the [ERROR] lines that identify the failure (with their continuation lines, task and line numbers).
## Action
Start the Exchange services and run setup again; if it repeats, remove the stale ServiceState files from ExchangeSetupLogs first.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts), known issues by errors: the ServiceControl.ps1 exception calling \"Reverse\".";

/// `setup.servicecontrol-reverse`.
pub static RULE: Known = Known {
    id: "setup.servicecontrol-reverse",
    doc: DOC,
    module_path: module_path!(),
    any_of: &[&["Exception calling \"Reverse\""]],
    cite_backup_version: false,
};
