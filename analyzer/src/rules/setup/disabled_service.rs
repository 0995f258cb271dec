//! `setup.disabled-service`.

use super::known::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
A service setup needs is disabled, so setup cannot start it.
## Evidence
The last setup run, the [ERROR] lines that identify the failure (with their continuation lines, task and line numbers).
## Action
Set the service named in the evidence (and the other Exchange, IIS and WMI services) back to Automatic, then run setup again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts), known issues by errors: \"The service cannot be started, either because it is disabled\".";

/// `setup.disabled-service`.
pub static RULE: Known = Known {
    id: "setup.disabled-service",
    doc: DOC,
    module_path: module_path!(),
    any_of: &[&["cannot be started", "disabled"]],
    cite_backup_version: false,
};
