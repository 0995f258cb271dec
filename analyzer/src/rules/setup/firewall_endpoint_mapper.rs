//! `setup.firewall-endpoint-mapper`.

use super::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
No endpoints from the endpoint mapper: the Windows Firewall service is stopped.
## Evidence
The last setup run, the [ERROR] lines that identify the failure (with their continuation lines, task and line numbers).
## Action
Start the Windows Defender Firewall service (Automatic) and run setup again; setup configures firewall rules through it.
## Source
reference/findings.md; ../shared/fixtures/css-exchange-setup-logs (CSS-Exchange SetupLogReviewer cases); ../shared/seeds.";

/// `setup.firewall-endpoint-mapper`.
pub static RULE: Known = Known {
    id: "setup.firewall-endpoint-mapper",
    doc: DOC,
    any_of: &[&["no more endpoints available from the endpoint mapper"]],
    cite_backup_version: false,
};
