//! `setup.arbitration-upn`.

use std::sync::LazyLock;

use regex::Regex;

use super::known::Known;
use super::reviewer::{context_hit, pattern, Context, Hit, Scope};

/// The catalog entry.
pub const DOC: &str = "## Detects
An arbitration mailbox UPN is not unique forest-wide.
## Evidence
The run judged (the last one, or the one before a run cut off within 30 lines) and how it was selected, the first error and the line the check matched in its context, with their line numbers.
## Action
Find the object holding the same UPN as the arbitration mailbox (Get-ADObject with its userPrincipalName), give one of them a unique UPN, then run setup again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts), known issues by errors: an arbitration mailbox UPN \"is not unique forest-wide\".";

/// `setup.arbitration-upn`.
pub static RULE: Known = Known {
    id: "setup.arbitration-upn",
    doc: DOC,
    module_path: module_path!(),
};

/// In the first error's context: an AD constraint violation on a UPN that is not unique forest-wide.
pub fn detect(s: &Scope, cx: &Context) -> Option<Hit> {
    static RE: LazyLock<Regex> = LazyLock::new(|| {
        pattern(
            r#"Microsoft\.Exchange\.Data\.Directory\.ADConstraintViolationException.+the operation failed because UPN value provided for addition/modification is not unique forest-wide"#,
        )
    });
    context_hit(
        s,
        cx,
        &RE,
        RULE.id,
        "An arbitration mailbox UPN is not unique forest-wide",
    )
}
