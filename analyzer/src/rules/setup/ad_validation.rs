//! `setup.ad-validation`.

use super::{Lacking, Prereq};

/// The catalog entry.
pub const DOC: &str = "## Detects
Setup encountered a problem while validating the state of Active Directory: the organization, schema or domain is not prepared for this build, or the preparation has not replicated to the domain controller setup uses.
## Evidence
The last setup run, setup's rule lines (Failed [Rule:...] or evaluated True) with their line numbers, and the facts that say where to act.
## Action
Run Setup.exe /PrepareAD (it also updates the schema) with the new media, as a member of Schema Admins and Enterprise Admins, on a machine in the same domain and AD site as the schema master named in the evidence; wait for replication, then run the upgrade again.
## Source
reference/findings.md; the ExchangeSetup.log prerequisite rules (CSS-Exchange SetupLogReviewer cases in ../shared/fixtures/css-exchange-setup-logs).";

/// `setup.ad-validation`.
pub static RULE: Prereq = Prereq {
    id: "setup.ad-validation",
    doc: DOC,
    setup_rules: &[
        "AdInitErrorRule",
        "Setup encountered a problem while validating the state of Active Directory",
    ],
    facts: &["Schema Master", "has not been run"],
    lacking: Lacking::Nothing,
};
