//! `setup.security-groups-ou-deleted`.

use super::known::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
The Microsoft Exchange Security Groups OU was deleted: preparing the universal groups fails with a null reference.
## Evidence
The last setup run, the [ERROR] lines that identify the failure (with their continuation lines, task and line numbers).
## Action
Restore the Microsoft Exchange Security Groups OU from the AD recycle bin (or delete the stale otherWellKnownObjects entries pointing into it), then run Setup /PrepareAD again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts), known issues by errors: the Microsoft Exchange Security Groups OU deleted (InitializeExchangeUniversalGroups).";

/// `setup.security-groups-ou-deleted`.
pub static RULE: Known = Known {
    id: "setup.security-groups-ou-deleted",
    doc: DOC,
    module_path: module_path!(),
    any_of: &[&[
        "Object reference not set to an instance of an object",
        "task:initialize-ExchangeUniversalGroups",
    ]],
    cite_backup_version: false,
};
