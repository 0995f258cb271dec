//! `setup.prereq.schema-admin-required`.

use super::{Lacking, Prereq};

/// The catalog entry.
pub const DOC: &str = "## Detects
The schema must be updated and the account running setup is not in Schema Admins (the SchemaUpdateRequired rule failed and setup evaluated the SchemaAdmin setting False).
## Evidence
The last setup run, setup's rule line (Failed [Rule:SchemaUpdateRequired]) and the SchemaAdmin setting line, with their line numbers.
## Action
Run setup /PrepareSchema (or the whole setup) with an account in Schema Admins and Enterprise Admins, from a machine in the schema master's domain and site; the user in the evidence is the one that lacked the group.
## Source
reference/findings.md; the ExchangeSetup.log prerequisite rules and settings (CSS-Exchange SetupLogReviewer's prerequisite check).";

/// `setup.prereq.schema-admin-required`.
pub static RULE: Prereq = Prereq {
    id: "setup.prereq.schema-admin-required",
    doc: DOC,
    setup_rules: &["SchemaUpdateRequired"],
    facts: &["Schema Master"],
    lacking: Lacking::False("SchemaAdmin"),
};
