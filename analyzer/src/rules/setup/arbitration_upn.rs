//! `setup.arbitration-upn`.

use super::known::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
An arbitration mailbox UPN is not unique forest-wide.
## Evidence
The last setup run, the [ERROR] lines that identify the failure (with their continuation lines, task and line numbers).
## Action
Find the object holding the same UPN as the arbitration mailbox (Get-ADObject with its userPrincipalName), give one of them a unique UPN, then run setup again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts), known issues by errors: an arbitration mailbox UPN \"is not unique forest-wide\".";

/// `setup.arbitration-upn`.
pub static RULE: Known = Known {
    id: "setup.arbitration-upn",
    doc: DOC,
    module_path: module_path!(),
    any_of: &[&["UPN value provided for addition/modification is not unique forest-wide"]],
    cite_backup_version: false,
};
