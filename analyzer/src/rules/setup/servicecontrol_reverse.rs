//! `setup.servicecontrol-reverse`.

use super::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
The ServiceControl.ps1 Reverse exception: the saved service state list was empty or missing.
## Evidence
The last setup run, the [ERROR] lines that identify the failure (with their continuation lines, task and line numbers).
## Action
Start the Exchange services and run setup again; if it repeats, remove the stale ServiceState files from ExchangeSetupLogs first.
## Source
reference/findings.md; ../shared/fixtures/css-exchange-setup-logs (CSS-Exchange SetupLogReviewer cases); ../shared/seeds.";

/// `setup.servicecontrol-reverse`.
pub static RULE: Known = Known {
    id: "setup.servicecontrol-reverse",
    doc: DOC,
    any_of: &[&["Exception calling \"Reverse\""]],
    cite_backup_version: false,
};
