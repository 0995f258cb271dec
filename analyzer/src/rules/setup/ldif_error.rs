//! `setup.ldif-error`.

use super::known::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
The schema import with ldifde failed (error code, .ldf file and ldif.err location in the evidence).
## Evidence
The last setup run, the [ERROR] lines that identify the failure (with their continuation lines, task and line numbers).
## Action
Read the ldif.err file named in the evidence, fix its cause (often a schema master that is unreachable or a user without Schema Admins), then run Setup /PrepareSchema again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts): known LDIF errors (ldifde.exe schema import, ldif.err).";

/// `setup.ldif-error`.
pub static RULE: Known = Known {
    id: "setup.ldif-error",
    doc: DOC,
    module_path: module_path!(),
    any_of: &[&["ldifde.exe", "error code is"]],
    cite_backup_version: false,
};
