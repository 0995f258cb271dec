//! `setup.security-groups-ou-deleted`.

use std::sync::LazyLock;

use regex::Regex;

use super::known::Known;
use super::reviewer::{pattern, Context, Hit, Scope};

/// The catalog entry.
pub const DOC: &str = "## Detects
The Microsoft Exchange Security Groups OU was deleted: preparing the universal groups fails with a null reference.
## Evidence
The run judged (the last one, or the one before a run cut off within 30 lines) and how it was selected, the first error and the line the check matched in its context, with their line numbers.
## Action
Restore the Microsoft Exchange Security Groups OU from the AD recycle bin (or delete the stale otherWellKnownObjects entries pointing into it), then run Setup /PrepareAD again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts), known issues by errors: the Microsoft Exchange Security Groups OU deleted (InitializeExchangeUniversalGroups).";

/// `setup.security-groups-ou-deleted`.
pub static RULE: Known = Known {
    id: "setup.security-groups-ou-deleted",
    doc: DOC,
    module_path: module_path!(),
};

/// In the first error's context: a null reference in `CreateOrMoveEWPGroup`, on the next line.
pub fn detect(s: &Scope, cx: &Context) -> Option<Hit> {
    static NULL: LazyLock<Regex> = LazyLock::new(|| {
        pattern(
            r"System\.NullReferenceException: Object reference not set to an instance of an object\.",
        )
    });
    static EWP: LazyLock<Regex> = LazyLock::new(|| {
        pattern(
            r"Microsoft\.Exchange\.Management\.Tasks\.InitializeExchangeUniversalGroups\.CreateOrMoveEWPGroup\(ADGroup ewp, ADOrganizationalUnit usgContainer\)",
        )
    });
    let pair = cx
        .lines
        .windows(2)
        .find(|w| NULL.is_match(w[0].text) && EWP.is_match(w[1].text))?;
    Some(s.hit(
        RULE.id,
        "'OU=Microsoft Exchange Security Groups' was deleted from the root of the domain".into(),
        vec![
            s.cite(pair[0].row, pair[0].text.trim()),
            s.cite(pair[1].row, pair[1].text.trim()),
        ],
    ))
}
