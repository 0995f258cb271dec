//! `setup.delegated-rights`.

use super::known::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
A delegated setup (run by a member of Delegated Setup, not Organization Management) lacked rights on the server object: the server was not provisioned (Setup /NewProvisionedServer), or the account was not delegated on it.
## Evidence
The last setup run, the [ERROR] lines that identify the failure (with their continuation lines, task and line numbers).
## Action
Have an Organization Management member provision the server (Setup.exe /NewProvisionedServer:<name> /IAcceptExchangeServerLicenseTerms_DiagnosticDataON or _OFF) and add the installing account to the Delegated Setup role group, or run setup as an Organization Management member.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts) with -DelegatedSetup: a delegated installer without the rights it needs on the server object; KB 2961741.";

/// `setup.delegated-rights`.
pub static RULE: Known = Known {
    id: "setup.delegated-rights",
    doc: DOC,
    module_path: module_path!(),
    any_of: &[
        &["Delegated Setup"],
        &["NewProvisionedServer"],
        &[
            "insufficient access rights",
            "CN=Servers,CN=Exchange Administrative Group",
        ],
    ],
    cite_backup_version: false,
};
