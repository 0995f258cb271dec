//! `setup.multi-eas-vdir`.

use super::known::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
More than one ActiveSync virtual directory exists for the server, so setup cannot pick one.
## Evidence
The last setup run, the [ERROR] lines that identify the failure (with their continuation lines, task and line numbers).
## Action
Remove the extra Microsoft-Server-ActiveSync virtual directory (Get-ActiveSyncVirtualDirectory -Server), then run setup again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts), known issues by error reference: more than one ActiveSync virtual directory; CSS-Exchange SetupAssist.ps1 (aka.ms/ExSetupScripts): \"Multiple Active Sync VDirs Detected\".";

/// `setup.multi-eas-vdir`.
pub static RULE: Known = Known {
    id: "setup.multi-eas-vdir",
    doc: DOC,
    module_path: module_path!(),
    any_of: &[&["System.Object[]", "VirtualDirectoryIdParameter"]],
    cite_backup_version: false,
};
