//! `setup.vdir-failure`.

use super::known::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
A virtual directory setup configures is missing or duplicated, or appcmd failed.
## Evidence
The last setup run, the [ERROR] lines that identify the failure (with their continuation lines, task and line numbers).
## Action
Recreate the missing virtual directory (New-*VirtualDirectory) or remove the duplicate named in the evidence from IIS and AD, then run setup again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts), known issues by errors: virtual directory already exists, not found, or appcmd failed; CSS-Exchange SetupAssist.ps1 (aka.ms/ExSetupScripts): \"Virtual Directory Configuration\".";

/// `setup.vdir-failure`.
pub static RULE: Known = Known {
    id: "setup.vdir-failure",
    doc: DOC,
    module_path: module_path!(),
    any_of: &[
        &["(Exchange Back End)' couldn't be found"],
        &["(Default Web Site)' couldn't be found"],
        &["The virtual directory", "already exists under"],
        &["appcmd"],
    ],
    cite_backup_version: false,
};
