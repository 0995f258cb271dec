//! `setup.search-foundation`.

use super::known::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
The Search Foundation configuration failed.
## Evidence
The last setup run, the [ERROR] lines that identify the failure (with their continuation lines, task and line numbers).
## Action
Check that the Search Host Controller service can start (and that no proxy blocks local calls), restart the server, then run setup again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts), known issues by errors: \"Failure configuring SearchFoundation through InstallConfig.ps1\".";

/// `setup.search-foundation`.
pub static RULE: Known = Known {
    id: "setup.search-foundation",
    doc: DOC,
    module_path: module_path!(),
    any_of: &[&["Failure configuring SearchFoundation"]],
    cite_backup_version: false,
};
