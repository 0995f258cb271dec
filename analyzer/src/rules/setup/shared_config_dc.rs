//! `setup.shared-config-dc`.

use super::known::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
Setting the shared configuration domain controller failed (the AD Topology service stopped mid-setup, or no suitable directory server).
## Evidence
The last setup run, the [ERROR] lines that identify the failure (with their continuation lines, task and line numbers).
## Action
Start the Microsoft Exchange Active Directory Topology service, check that a domain controller of the site is reachable, then run setup again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts): \"Unable to set shared config DC\" (the Microsoft Exchange Active Directory Topology service).";

/// `setup.shared-config-dc`.
pub static RULE: Known = Known {
    id: "setup.shared-config-dc",
    doc: DOC,
    module_path: module_path!(),
    any_of: &[&["Unable to set shared config DC"]],
    cite_backup_version: false,
};
