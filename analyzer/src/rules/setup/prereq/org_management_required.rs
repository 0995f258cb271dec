//! `setup.prereq.org-management-required`.

use crate::rules::setup::known::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
The account running setup is not in Organization Management (or /PrepareAD has not run yet for this build).
## Evidence
The run judged, the ExOrgAdmin setting evaluated False, the DelegatedMailboxFirstInstall rule, the SID of the group looked for (SidExOrgAdmins), and the user; or, with no SID logged, that /PrepareAD has probably not run.
## Action
Add the account to the Organization Management role group (the group whose SID the evidence gives), sign out and in again, then run setup; if AD is not prepared, run /PrepareAD first.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts), prerequisite check: setup's ExOrgAdmin setting and the SID of Organization Management; Prepare Active Directory and domains for Exchange Server (Microsoft Learn).";

/// `setup.prereq.org-management-required`.
pub static RULE: Known = Known {
    id: "setup.prereq.org-management-required",
    doc: DOC,
    module_path: module_path!(),
};
