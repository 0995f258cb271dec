//! `setup.multi-eas-vdir`.

use super::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
More than one ActiveSync virtual directory exists for the server, so setup cannot pick one.
## Evidence
The last setup run, the [ERROR] lines that identify the failure (with their continuation lines, task and line numbers).
## Action
Remove the extra Microsoft-Server-ActiveSync virtual directory (Get-ActiveSyncVirtualDirectory -Server), then run setup again.
## Source
reference/findings.md; ../shared/fixtures/css-exchange-setup-logs (CSS-Exchange SetupLogReviewer cases); ../shared/seeds.";

/// `setup.multi-eas-vdir`.
pub static RULE: Known = Known {
    id: "setup.multi-eas-vdir",
    doc: DOC,
    any_of: &[&["System.Object[]", "VirtualDirectoryIdParameter"]],
    cite_backup_version: false,
};
