//! `setup.wk-object-wrong-group-type`.

use super::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
A well-known Exchange group (otherWellKnownObjects) has the wrong group type.
## Evidence
The last setup run, the [ERROR] lines that identify the failure (with their continuation lines, task and line numbers).
## Action
Convert the group named in the evidence to Universal, Security (or remove the well-known object entry), wait for replication, then run setup again.
## Source
reference/findings.md; ../shared/fixtures/css-exchange-setup-logs (CSS-Exchange SetupLogReviewer cases); ../shared/seeds.";

/// `setup.wk-object-wrong-group-type`.
pub static RULE: Known = Known {
    id: "setup.wk-object-wrong-group-type",
    doc: DOC,
    any_of: &[&["otherWellKnownObjects", "of the wrong group type"]],
    cite_backup_version: false,
};
