//! `setup.disabled-service`.

use std::sync::LazyLock;

use regex::Regex;

use super::known::Known;
use super::reviewer::{context_hit, pattern, Context, Hit, Scope};

/// The catalog entry.
pub const DOC: &str = "## Detects
A service setup needs is disabled, so setup cannot start it.
## Evidence
The run judged (the last one, or the one before a run cut off within 30 lines) and how it was selected, the first error and the line the check matched in its context, with their line numbers.
## Action
Set the service named in the evidence (and the other Exchange, IIS and WMI services) back to Automatic, then run setup again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts), known issues by errors: \"The service cannot be started, either because it is disabled\".";

/// `setup.disabled-service`.
pub static RULE: Known = Known {
    id: "setup.disabled-service",
    doc: DOC,
    module_path: module_path!(),
};

/// In the first error's context: a service could not start because it is disabled.
pub fn detect(s: &Scope, cx: &Context) -> Option<Hit> {
    static RE: LazyLock<Regex> = LazyLock::new(|| {
        pattern(
            r#"System\.ComponentModel\.Win32Exception: The service cannot be started, either because it is disabled or because it has no enabled devices associated with it"#,
        )
    });
    context_hit(
        s,
        cx,
        &RE,
        RULE.id,
        "A service setup needs cannot be started because it is disabled",
    )
}
