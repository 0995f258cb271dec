//! `setup.ad-validation`.

use super::known::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
Setup encountered a problem while validating the state of Active Directory: the organization, schema or domain is not prepared for this build, or the preparation has not replicated to the domain controller setup uses.
## Evidence
The run judged, the [ERROR] line and the internal exception it gives, and where setup ran (user, computer, domain, site, schema master and its site).
## Action
Run Setup.exe /PrepareAD (it also updates the schema) with the new media, as a member of Schema Admins and Enterprise Admins, on a machine in the same domain and AD site as the schema master named in the evidence; wait for replication, then run the upgrade again.
## Source
Repair failed installations of Exchange cumulative and security updates (Microsoft Learn): \"Error during Setup: Setup encountered a problem while validating the state of Active Directory\"; CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts), prerequisite check.";

/// `setup.ad-validation`.
pub static RULE: Known = Known {
    id: "setup.ad-validation",
    doc: DOC,
    module_path: module_path!(),
};
