//! `setup.wk-object-invalid`.

use super::known::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
An otherWellKnownObjects entry points to a deleted or invalid object.
## Evidence
The last setup run, the [ERROR] lines that identify the failure (with their continuation lines, task and line numbers).
## Action
Remove the otherWellKnownObjects entry named in the evidence from the Microsoft Exchange container (ADSI Edit), wait for replication, then run Setup /PrepareAD again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts): otherWellKnownObjects pointing to an invalid DN or a deleted object; CSS-Exchange SetupAssist.ps1 (aka.ms/ExSetupScripts): \"Other Well Known Objects\".";

/// `setup.wk-object-invalid`.
pub static RULE: Known = Known {
    id: "setup.wk-object-invalid",
    doc: DOC,
    module_path: module_path!(),
    any_of: &[&["otherWellKnownObjects", "invalid DN or a deleted object"]],
    cite_backup_version: false,
};
