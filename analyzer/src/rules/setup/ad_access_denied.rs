//! `setup.ad-access-denied`.

use super::known::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
Insufficient access rights on an AD object while preparing the organization or domain.
## Evidence
The last setup run, the [ERROR] lines that identify the failure (with their continuation lines, task and line numbers).
## Action
Run the preparation with an account in Enterprise Admins and Domain Admins; check that inheritance is enabled on the object in the evidence (and on AdminSDHolder-protected accounts), then run setup again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts), known issues by error reference: INSUFF_ACCESS_RIGHTS while setting domain permissions.";

/// `setup.ad-access-denied`.
pub static RULE: Known = Known {
    id: "setup.ad-access-denied",
    doc: DOC,
    module_path: module_path!(),
    any_of: &[
        &["INSUFF_ACCESS_RIGHTS"],
        &["Access is denied", "Active Directory operation failed"],
    ],
    cite_backup_version: false,
};
