//! `setup.arbitration-upn`.

use super::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
An arbitration mailbox UPN is not unique forest-wide.
## Evidence
The last setup run, the [ERROR] lines that identify the failure (with their continuation lines, task and line numbers).
## Action
Find the object holding the same UPN as the arbitration mailbox (Get-ADObject with its userPrincipalName), give one of them a unique UPN, then run setup again.
## Source
reference/findings.md; ../shared/fixtures/css-exchange-setup-logs (CSS-Exchange SetupLogReviewer cases); ../shared/seeds.";

/// `setup.arbitration-upn`.
pub static RULE: Known = Known {
    id: "setup.arbitration-upn",
    doc: DOC,
    any_of: &[&["UPN value provided for addition/modification is not unique forest-wide"]],
    cite_backup_version: false,
};
