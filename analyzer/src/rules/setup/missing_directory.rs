//! `setup.missing-directory`.

use super::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
A path setup expects does not exist.
## Evidence
The last setup run, the [ERROR] lines that identify the failure (with their continuation lines, task and line numbers).
## Action
Create the folder named in the evidence (or restore it from another server of the same build), then run setup again.
## Source
reference/findings.md; ../shared/fixtures/css-exchange-setup-logs (CSS-Exchange SetupLogReviewer cases); ../shared/seeds.";

/// `setup.missing-directory`.
pub static RULE: Known = Known {
    id: "setup.missing-directory",
    doc: DOC,
    any_of: &[&["Cannot find path", "because it does not exist"]],
    cite_backup_version: false,
};
