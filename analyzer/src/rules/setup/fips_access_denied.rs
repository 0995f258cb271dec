//! `setup.fips-access-denied`.

use super::known::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
Access to the FIP-FS configuration (Configuration.xml) was denied during the upgrade.
## Evidence
The last setup run, the [ERROR] lines that identify the failure (with their continuation lines, task and line numbers).
## Action
Give SYSTEM and the Exchange servers full control of the FIP-FS Data folder, or stop the process holding Configuration.xml, then run setup again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts), known issues by error reference: access denied to FIP-FS Configuration.xml during the upgrade.";

/// `setup.fips-access-denied`.
pub static RULE: Known = Known {
    id: "setup.fips-access-denied",
    doc: DOC,
    module_path: module_path!(),
    any_of: &[&["Configuration.xml", "Access to the path is denied"]],
    cite_backup_version: false,
};
