//! `setup.prereq.enterprise-admin-required`.

use super::{Lacking, Prereq};

/// The catalog entry.
pub const DOC: &str = "## Detects
The schema or the organization must be updated and the account running setup is not in Schema Admins and Enterprise Admins.
## Evidence
The last setup run, setup's rule lines (Failed [Rule:...] or evaluated True) with their line numbers, and the facts that say where to act.
## Action
Run setup (or /PrepareSchema and /PrepareAD first) with an account in Schema Admins and Enterprise Admins; the user in the evidence is the one that lacked them.
## Source
reference/findings.md; the ExchangeSetup.log prerequisite rules (CSS-Exchange SetupLogReviewer cases in ../shared/fixtures/css-exchange-setup-logs).";

/// `setup.prereq.enterprise-admin-required`.
pub static RULE: Prereq = Prereq {
    id: "setup.prereq.enterprise-admin-required",
    doc: DOC,
    setup_rules: &["SchemaUpdateRequired", "GlobalUpdateRequired"],
    facts: &[],
    lacking: Lacking::FalseOrUnlogged("EnterpriseAdmin"),
};
