//! `setup.mount-database`.

use super::known::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
Setup could not mount a database.
## Evidence
The last setup run, the [ERROR] lines that identify the failure (with their continuation lines, task and line numbers).
## Action
Check the database named in the evidence (free disk space, log files, dismounted copies), mount it, then run setup again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts), known issues by errors: \"Failed to mount database\".";

/// `setup.mount-database`.
pub static RULE: Known = Known {
    id: "setup.mount-database",
    doc: DOC,
    module_path: module_path!(),
    any_of: &[&["Failed to mount database"]],
    cite_backup_version: false,
};
