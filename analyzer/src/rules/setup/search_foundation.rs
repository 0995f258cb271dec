//! `setup.search-foundation`.

use std::sync::LazyLock;

use regex::Regex;

use super::known::Known;
use super::reviewer::{context_hit, pattern, Context, Hit, Scope};

/// The catalog entry.
pub const DOC: &str = "## Detects
The Search Foundation configuration failed.
## Evidence
The run judged (the last one, or the one before a run cut off within 30 lines) and how it was selected, the first error and the line the check matched in its context, with their line numbers.
## Action
Check that the Search Host Controller service can start (and that no proxy blocks local calls), restart the server, then run setup again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts), known issues by errors: \"Failure configuring SearchFoundation through InstallConfig.ps1\".";

/// `setup.search-foundation`.
pub static RULE: Known = Known {
    id: "setup.search-foundation",
    doc: DOC,
    module_path: module_path!(),
};

/// In the first error's context: Search Foundation could not be configured, old Fsis nodes
/// first.
pub fn detect(s: &Scope, cx: &Context) -> Option<Hit> {
    static OLD: LazyLock<Regex> = LazyLock::new(|| {
        pattern(
            r#"was run: "System\.Exception: Failure configuring SearchFoundation through InstallConfig\.ps1 - Old nodes belonging to the system 'Fsis', already exist in"#,
        )
    });
    static ANY: LazyLock<Regex> = LazyLock::new(|| {
        pattern(
            r#"was run: "System\.Exception: Failure configuring SearchFoundation through InstallConfig\.ps1"#,
        )
    });
    context_hit(
        s,
        cx,
        &OLD,
        RULE.id,
        "Search Foundation configuration failed: old nodes of the system 'Fsis' already exist",
    )
    .or_else(|| {
        context_hit(
            s,
            cx,
            &ANY,
            RULE.id,
            "Search Foundation configuration failed (InstallConfig.ps1)",
        )
    })
}
