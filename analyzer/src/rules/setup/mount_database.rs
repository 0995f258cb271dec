//! `setup.mount-database`.

use super::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
Setup could not mount a database.
## Evidence
The last setup run, the [ERROR] lines that identify the failure (with their continuation lines, task and line numbers).
## Action
Check the database named in the evidence (free disk space, log files, dismounted copies), mount it, then run setup again.
## Source
reference/findings.md; ../shared/fixtures/css-exchange-setup-logs (CSS-Exchange SetupLogReviewer cases); ../shared/seeds.";

/// `setup.mount-database`.
pub static RULE: Known = Known {
    id: "setup.mount-database",
    doc: DOC,
    any_of: &[&["Failed to mount database"]],
    cite_backup_version: false,
};
