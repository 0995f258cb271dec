//! `setup.ad-object-exists`.

use super::known::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
An AD object setup creates already exists (e.g. the public folder hierarchy).
## Evidence
The last setup run, the [ERROR] lines that identify the failure (with their continuation lines, task and line numbers).
## Action
Check the object named in the evidence: if it is a leftover of an earlier install, remove it (or restore its parent) and run setup again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts), known issues by errors: \"Active Directory operation failed ... already exists\".";

/// `setup.ad-object-exists`.
pub static RULE: Known = Known {
    id: "setup.ad-object-exists",
    doc: DOC,
    module_path: module_path!(),
    any_of: &[
        &["The object exists"],
        &["already exists", "Folder Hierarchies"],
    ],
    cite_backup_version: false,
};
