//! `setup.prereq.url-rewrite-missing`.

use crate::rules::setup::known::Known;

/// The catalog entry.
pub const DOC: &str = "## Detects
Setup stopped because the IIS URL Rewrite module is not installed (required since Exchange 2016 CU22 / 2019 CU11).
## Evidence
The run judged and how it was selected, setup's last evaluation of the rule (True) with its line number, and, for the tests that stop setup, where setup ran (user, computer, domain, site, schema master and its site).
## Action
Install the IIS URL Rewrite module 2.1 for the server's architecture, then run setup again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts), prerequisite check: setup's IisUrlRewriteNotInstalled rule; Exchange Server prerequisites (Microsoft Learn): IIS URL Rewrite Module; CSS-Exchange SetupAssist.ps1 (aka.ms/ExSetupScripts): \"IIS URL Rewrite\" (aka.ms/SA-IISRewrite).";

/// `setup.prereq.url-rewrite-missing`.
pub static RULE: Known = Known {
    id: "setup.prereq.url-rewrite-missing",
    doc: DOC,
    module_path: module_path!(),
};
