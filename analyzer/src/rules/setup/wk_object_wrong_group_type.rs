//! `setup.wk-object-wrong-group-type`.

use super::known::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
A well-known Exchange group (otherWellKnownObjects) has the wrong group type.
## Evidence
The last setup run, the [ERROR] lines that identify the failure (with their continuation lines, task and line numbers).
## Action
Convert the group named in the evidence to Universal, Security (or remove the well-known object entry), wait for replication, then run setup again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts): a well-known object entry that refers to a group of the wrong group type.";

/// `setup.wk-object-wrong-group-type`.
pub static RULE: Known = Known {
    id: "setup.wk-object-wrong-group-type",
    doc: DOC,
    module_path: module_path!(),
    any_of: &[&["otherWellKnownObjects", "of the wrong group type"]],
    cite_backup_version: false,
};
