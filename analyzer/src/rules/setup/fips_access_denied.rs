//! `setup.fips-access-denied`.

use std::sync::LazyLock;

use regex::Regex;

use super::known::Known;
use super::reviewer::{context_hit, pattern, Context, Hit, Scope};

/// The catalog entry.
pub const DOC: &str = "## Detects
Access to the FIP-FS configuration (Configuration.xml) was denied during the upgrade.
## Evidence
The run judged (the last one, or the one before a run cut off within 30 lines) and how it was selected, the first error and the line the check matched in its context, with their line numbers.
## Action
Give SYSTEM and the Exchange servers full control of the FIP-FS Data folder, or stop the process holding Configuration.xml, then run setup again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts), known issues by error reference: access denied to FIP-FS Configuration.xml during the upgrade.";

/// `setup.fips-access-denied`.
pub static RULE: Known = Known {
    id: "setup.fips-access-denied",
    doc: DOC,
    module_path: module_path!(),
};

/// Keyed on the error reference of the FIPS upgrade: access to the path denied.
pub fn detect(s: &Scope, cx: &Context, reference: &str) -> Option<Hit> {
    static RE: LazyLock<Regex> = LazyLock::new(|| pattern(r"Access to the path is denied\."));
    if !reference.eq_ignore_ascii_case("BridgeheadComponent___9FAA17C4-73D7-4E6D-9012-6274971434D5")
    {
        return None;
    }
    context_hit(
        s,
        cx,
        &RE,
        RULE.id,
        "Failed to access the path and upgrade '\\V15\\FIP-FS\\Data\\Configuration.xml'",
    )
}
