//! `setup.wk-object-invalid`.

use super::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
An otherWellKnownObjects entry points to a deleted or invalid object.
## Evidence
The last setup run, the [ERROR] lines that identify the failure (with their continuation lines, task and line numbers).
## Action
Remove the otherWellKnownObjects entry named in the evidence from the Microsoft Exchange container (ADSI Edit), wait for replication, then run Setup /PrepareAD again.
## Source
reference/findings.md; ../shared/fixtures/css-exchange-setup-logs (CSS-Exchange SetupLogReviewer cases); ../shared/seeds.";

/// `setup.wk-object-invalid`.
pub static RULE: Known = Known {
    id: "setup.wk-object-invalid",
    doc: DOC,
    any_of: &[&["otherWellKnownObjects", "invalid DN or a deleted object"]],
    cite_backup_version: false,
};
