//! `setup.missing-directory`.

use super::known::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
A path setup expects does not exist.
## Evidence
The last setup run, the [ERROR] lines that identify the failure (with their continuation lines, task and line numbers).
## Action
Create the folder named in the evidence (or restore it from another server of the same build), then run setup again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts), known issues by errors: \"Cannot find path ... because it does not exist\"; CSS-Exchange SetupAssist.ps1 (aka.ms/ExSetupScripts): \"Missing Directories\".";

/// `setup.missing-directory`.
pub static RULE: Known = Known {
    id: "setup.missing-directory",
    doc: DOC,
    module_path: module_path!(),
    any_of: &[&["Cannot find path", "because it does not exist"]],
    cite_backup_version: false,
};
