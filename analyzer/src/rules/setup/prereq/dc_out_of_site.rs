//! `setup.prereq.dc-out-of-site`.

use crate::rules::setup::known::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
The domain controller setup uses is not in the server's AD site.
## Evidence
The run judged (and how it was selected), setup's DomainControllerIsOutOfSite evaluation, the domain controller and its site (the last DomainController and DomainControllerSiteName settings of the log, \"Failed to find DC Value\" / \"NULL VALUE\" when absent), and where setup ran (user, computer, domain, site, schema master).
## Action
Make a domain controller of the server's own site reachable (check the site and subnet definitions and the DC named in the evidence), or move the server to the right site, then run setup again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts), prerequisite check: setup's DomainControllerIsOutOfSite rule.";

/// `setup.prereq.dc-out-of-site`.
pub static RULE: Known = Known {
    id: "setup.prereq.dc-out-of-site",
    doc: DOC,
    module_path: module_path!(),
};
