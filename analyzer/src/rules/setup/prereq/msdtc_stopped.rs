//! `setup.prereq.msdtc-stopped`.

use super::{Lacking, Prereq};

/// The catalog entry.
pub const DOC: &str = "## Detects
Setup stopped because the Distributed Transaction Coordinator (MSDTC) service is not running.
## Evidence
The last setup run, setup's rule lines (Failed [Rule:...] or evaluated True) with their line numbers, and the facts that say where to act.
## Action
Start the Distributed Transaction Coordinator service (Automatic), then run setup again.
## Source
reference/findings.md; the ExchangeSetup.log prerequisite rules (CSS-Exchange SetupLogReviewer cases in ../shared/fixtures/css-exchange-setup-logs).";

/// `setup.prereq.msdtc-stopped`.
pub static RULE: Prereq = Prereq {
    id: "setup.prereq.msdtc-stopped",
    doc: DOC,
    setup_rules: &["MSDTCStopped"],
    facts: &[],
    lacking: Lacking::Nothing,
};
