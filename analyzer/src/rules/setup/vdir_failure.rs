//! `setup.vdir-failure`.

use std::sync::LazyLock;

use regex::Regex;

use super::known::Known;
use super::reviewer::{context_hit, pattern, Context, Hit, Scope};

/// The catalog entry.
pub const DOC: &str = "## Detects
A virtual directory setup configures is missing or duplicated, or appcmd failed.
## Evidence
The run judged (the last one, or the one before a run cut off within 30 lines) and how it was selected, the first error and the line the check matched in its context, with their line numbers.
## Action
Recreate the missing virtual directory (New-*VirtualDirectory) or remove the duplicate named in the evidence from IIS and AD, then run setup again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts), known issues by errors: virtual directory already exists, not found, or appcmd failed; CSS-Exchange SetupAssist.ps1 (aka.ms/ExSetupScripts): \"Virtual Directory Configuration\".";

/// `setup.vdir-failure`.
pub static RULE: Known = Known {
    id: "setup.vdir-failure",
    doc: DOC,
    module_path: module_path!(),
};

/// In the first error's context: a virtual directory that already exists, an IIS object not
/// found, or appcmd.exe failing.
pub fn detect(s: &Scope, cx: &Context) -> Option<Hit> {
    static EXISTS: LazyLock<Regex> =
        LazyLock::new(|| pattern(r"\[ERROR\] The virtual directory '.+' already exists under"));
    // The reference's `(?(Default Web Site | Exchange Back End))` is a .NET conditional that
    // matches the empty string: dropped.
    static NOT_FOUND: LazyLock<Regex> = LazyLock::new(|| {
        pattern(
            r"\[ERROR\] The operation couldn't be performed because object '.+' couldn't be found on",
        )
    });
    static PROCESS: LazyLock<Regex> =
        LazyLock::new(|| pattern(r"\[ERROR\] Process execution failed with exit code"));
    static APPCMD: LazyLock<Regex> = LazyLock::new(|| pattern(r"System32\\inetSrv\\appCmd\.exe"));
    let title = "A virtual directory could not be created or configured";
    context_hit(s, cx, &EXISTS, RULE.id, title)
        .or_else(|| context_hit(s, cx, &NOT_FOUND, RULE.id, title))
        .or_else(|| {
            cx.has(&APPCMD)
                .then(|| context_hit(s, cx, &PROCESS, RULE.id, title))
                .flatten()
        })
}
