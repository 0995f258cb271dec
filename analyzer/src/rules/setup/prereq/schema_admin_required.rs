//! `setup.prereq.schema-admin-required`.

use crate::rules::setup::known::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
The schema must be updated and the account running setup is not in Schema Admins (the SchemaUpdateRequired rule failed and setup evaluated the SchemaAdmin setting False).
## Evidence
The run judged, the \"Schema Update Required Status : 'True'\" line, the SchemaAdmin setting evaluated False, the user that lacked the group, and where setup ran (computer, domain, site, schema master and its site).
## Action
Run setup /PrepareSchema (or the whole setup) with an account in Schema Admins and Enterprise Admins, from a machine in the schema master's domain and site; the user in the evidence is the one that lacked the group.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts), prerequisite check: \"Schema Update Required Status\" and setup's SchemaAdmin setting; Prepare Active Directory and domains for Exchange Server (Microsoft Learn).";

/// `setup.prereq.schema-admin-required`.
pub static RULE: Known = Known {
    id: "setup.prereq.schema-admin-required",
    doc: DOC,
    module_path: module_path!(),
};
