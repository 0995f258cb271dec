//! `setup.missing-homemdb`.

use super::known::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
An arbitration or system mailbox has no database (homeMDB).
## Evidence
The last setup run, the [ERROR] lines that identify the failure (with their continuation lines, task and line numbers).
## Action
Set the homeMDB of the arbitration mailbox named in the evidence to an existing database (ADSI Edit), then run setup again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts), known issues by errors: \"Database is mandatory on UserMailbox\"; CSS-Exchange SetupAssist.ps1 (aka.ms/ExSetupScripts): \"Valid Home MDB\".";

/// `setup.missing-homemdb`.
pub static RULE: Known = Known {
    id: "setup.missing-homemdb",
    doc: DOC,
    module_path: module_path!(),
    any_of: &[&["Database is mandatory on UserMailbox"]],
    cite_backup_version: false,
};
