//! `setup.prereq.org-management-required`.

use super::{Lacking, Prereq};

/// The catalog entry.
pub const DOC: &str = "## Detects
The account running setup is not in Organization Management (or /PrepareAD has not run yet for this build).
## Evidence
The last setup run, setup's rule lines (Failed [Rule:...] or evaluated True) with their line numbers, and the facts that say where to act.
## Action
Add the account to the Organization Management role group (the group whose SID the evidence gives), sign out and in again, then run setup; if AD is not prepared, run /PrepareAD first.
## Source
reference/findings.md; the ExchangeSetup.log prerequisite rules (CSS-Exchange SetupLogReviewer cases in ../shared/fixtures/css-exchange-setup-logs).";

/// `setup.prereq.org-management-required`.
pub static RULE: Prereq = Prereq {
    id: "setup.prereq.org-management-required",
    doc: DOC,
    setup_rules: &[
        "GlobalServerInstall",
        "DelegatedBridgeheadFirstInstall",
        "DelegatedCafeFirstInstall",
        "DelegatedClientAccessFirstInstall",
        "DelegatedFrontendTransportFirstInstall",
        "DelegatedMailboxFirstInstall",
        "DelegatedUnifiedMessagingFirstInstall",
    ],
    facts: &["SidExOrgAdmins"],
    lacking: Lacking::Nothing,
};
