//! `setup.firewall-endpoint-mapper`.

use super::known::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
No endpoints from the endpoint mapper: the Windows Firewall service is stopped.
## Evidence
The last setup run, the [ERROR] lines that identify the failure (with their continuation lines, task and line numbers).
## Action
Start the Windows Defender Firewall service (Automatic) and run setup again; setup configures firewall rules through it.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts), known issues by errors: \"There are no more endpoints available from the endpoint mapper\" (0x800706D9).";

/// `setup.firewall-endpoint-mapper`.
pub static RULE: Known = Known {
    id: "setup.firewall-endpoint-mapper",
    doc: DOC,
    module_path: module_path!(),
    any_of: &[&["no more endpoints available from the endpoint mapper"]],
    cite_backup_version: false,
};
