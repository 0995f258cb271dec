//! `setup.prereq.enterprise-admin-required`.

use crate::rules::setup::known::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
The schema or the organization must be updated and the account running setup is not in Schema Admins and Enterprise Admins.
## Evidence
The run judged, the \"Update Required Status : 'True'\" line (schema, organization or domain) that needs it, the EnterpriseAdmin setting evaluated False, the user that lacked the group, and where setup ran.
## Action
Run setup (or /PrepareSchema and /PrepareAD first) with an account in Schema Admins and Enterprise Admins; the user in the evidence is the one that lacked them.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts), prerequisite check: the schema, organization and domain \"Update Required Status\" and setup's EnterpriseAdmin setting; Prepare Active Directory and domains for Exchange Server (Microsoft Learn).";

/// `setup.prereq.enterprise-admin-required`.
pub static RULE: Known = Known {
    id: "setup.prereq.enterprise-admin-required",
    doc: DOC,
    module_path: module_path!(),
};
