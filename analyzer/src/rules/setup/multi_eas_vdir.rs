//! `setup.multi-eas-vdir`.

use std::sync::LazyLock;

use regex::Regex;

use super::known::Known;
use super::reviewer::{context_hit, pattern, Context, Hit, Scope};

/// The catalog entry.
pub const DOC: &str = "## Detects
More than one ActiveSync virtual directory exists for the server, so setup cannot pick one.
## Evidence
The run judged (the last one, or the one before a run cut off within 30 lines) and how it was selected, the first error and the line the check matched in its context, with their line numbers.
## Action
Remove the extra Microsoft-Server-ActiveSync virtual directory (Get-ActiveSyncVirtualDirectory -Server), then run setup again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts), known issues by error reference: more than one ActiveSync virtual directory; CSS-Exchange SetupAssist.ps1 (aka.ms/ExSetupScripts): \"Multiple Active Sync VDirs Detected\".";

/// `setup.multi-eas-vdir`.
pub static RULE: Known = Known {
    id: "setup.multi-eas-vdir",
    doc: DOC,
    module_path: module_path!(),
};

/// Keyed on the error reference of the EAS virtual directories: more than one for the server.
pub fn detect(s: &Scope, cx: &Context, reference: &str) -> Option<Hit> {
    static RE: LazyLock<Regex> = LazyLock::new(|| {
        pattern(
            r"Cannot convert 'System\.Object\[\]' to the type 'Microsoft\.Exchange\.Configuration\.Tasks\.VirtualDirectoryIdParameter'",
        )
    });
    if !reference.eq_ignore_ascii_case("CafeComponent___e1130a139a734d90b6c5eec88868fbe9") {
        return None;
    }
    context_hit(
        s,
        cx,
        &RE,
        RULE.id,
        "More than one ActiveSync virtual directory on the server",
    )
}
