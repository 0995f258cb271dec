//! `setup.hybrid-object`.

use super::known::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
Setup failed on an on-premises hybrid object: an organization relationship (or the hybrid configuration object) whose settings setup cannot read or update, e.g. a TargetSharingEpr or TargetOwaURL value it rejects.
## Evidence
The last setup run, the [ERROR] lines that identify the failure (with their continuation lines, task and line numbers).
## Action
Note the organization relationship's settings (Get-OrganizationRelationship | Format-List), correct or clear the value the error names (Set-OrganizationRelationship), or remove the relationship and re-create it after setup (re-run the Hybrid Configuration Wizard), then run setup again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts): hybrid object found on premises (an organization relationship setting).";

/// `setup.hybrid-object`.
pub static RULE: Known = Known {
    id: "setup.hybrid-object",
    doc: DOC,
    module_path: module_path!(),
    any_of: &[
        &["OrganizationRelationship"],
        &["organization relationship"],
        &["Organization Relationship"],
        &["HybridConfiguration"],
        &["TargetSharingEpr"],
    ],
    cite_backup_version: false,
};
