//! `setup.prereq.domain-prep-required`.

use crate::rules::setup::known::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
The local domain is not prepared for this build (or the Microsoft Exchange System Objects container is duplicated).
## Evidence
The run judged and how it was selected, setup's last evaluation of the rule (True) with its line number, and, for the tests that stop setup, where setup ran (user, computer, domain, site, schema master and its site).
## Action
Run Setup.exe /PrepareDomain (or /PrepareAllDomains) from the new media as a Domain Admin, wait for replication, then run setup again; if the domain was prepared, look for a duplicate Microsoft Exchange System Objects container.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts), prerequisite check: setup's LocalDomainIsPrepped setting and DomainPrepRequired rule; Prepare Active Directory and domains for Exchange Server (Microsoft Learn).";

/// `setup.prereq.domain-prep-required`.
pub static RULE: Known = Known {
    id: "setup.prereq.domain-prep-required",
    doc: DOC,
    module_path: module_path!(),
};
