//! `setup.missing-homemdb`.

use std::sync::LazyLock;

use regex::Regex;

use super::known::Known;
use super::reviewer::{context_hit, pattern, Context, Hit, Scope};

/// The catalog entry.
pub const DOC: &str = "## Detects
An arbitration or system mailbox has no database (homeMDB).
## Evidence
The run judged (the last one, or the one before a run cut off within 30 lines) and how it was selected, the first error and the line the check matched in its context, with their line numbers.
## Action
Set the homeMDB of the arbitration mailbox named in the evidence to an existing database (ADSI Edit), then run setup again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts), known issues by errors: \"Database is mandatory on UserMailbox\"; CSS-Exchange SetupAssist.ps1 (aka.ms/ExSetupScripts): \"Valid Home MDB\".";

/// `setup.missing-homemdb`.
pub static RULE: Known = Known {
    id: "setup.missing-homemdb",
    doc: DOC,
    module_path: module_path!(),
};

/// In the first error's context: a mailbox without a database.
pub fn detect(s: &Scope, cx: &Context) -> Option<Hit> {
    static RE: LazyLock<Regex> =
        LazyLock::new(|| pattern(r#"\[ERROR\] Database is mandatory on UserMailbox"#));
    context_hit(
        s,
        cx,
        &RE,
        RULE.id,
        "A critical mailbox has no homeMDB (Database is mandatory on UserMailbox)",
    )
}
