//! `setup.vdir-failure`.

use super::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
A virtual directory setup configures is missing or duplicated, or appcmd failed.
## Evidence
The last setup run, the [ERROR] lines that identify the failure (with their continuation lines, task and line numbers).
## Action
Recreate the missing virtual directory (New-*VirtualDirectory) or remove the duplicate named in the evidence from IIS and AD, then run setup again.
## Source
reference/findings.md; ../shared/fixtures/css-exchange-setup-logs (CSS-Exchange SetupLogReviewer cases); ../shared/seeds.";

/// `setup.vdir-failure`.
pub static RULE: Known = Known {
    id: "setup.vdir-failure",
    doc: DOC,
    any_of: &[
        &["(Exchange Back End)' couldn't be found"],
        &["(Default Web Site)' couldn't be found"],
        &["The virtual directory", "already exists under"],
        &["appcmd"],
    ],
    cite_backup_version: false,
};
