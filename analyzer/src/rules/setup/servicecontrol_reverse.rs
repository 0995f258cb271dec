//! `setup.servicecontrol-reverse`.

use std::sync::LazyLock;

use regex::Regex;

use super::known::Known;
use super::reviewer::{context_hit, pattern, Context, Hit, Scope};

/// The catalog entry.
pub const DOC: &str = "## Detects
The ServiceControl.ps1 Reverse exception: the saved service state list was empty or missing.
## Evidence
The run judged (the last one, or the one before a run cut off within 30 lines) and how it was selected, the first error and the line the check matched in its context, with their line numbers.
## Action
Start the Exchange services and run setup again; if it repeats, remove the stale ServiceState files from ExchangeSetupLogs first.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts), known issues by errors: the ServiceControl.ps1 exception calling \"Reverse\".";

/// `setup.servicecontrol-reverse`.
pub static RULE: Known = Known {
    id: "setup.servicecontrol-reverse",
    doc: DOC,
    module_path: module_path!(),
};

/// In the first error's context: `Reverse` called on a null list in ServiceControl.ps1.
pub fn detect(s: &Scope, cx: &Context) -> Option<Hit> {
    static REVERSE: LazyLock<Regex> = LazyLock::new(|| {
        pattern(
            r#"System\.Management\.Automation\.MethodInvocationException: Exception calling "Reverse" with "1" argument"#,
        )
    });
    static SCRIPT: LazyLock<Regex> = LazyLock::new(|| pattern(r"ServiceControl\.ps1"));
    if !cx.has(&SCRIPT) {
        return None;
    }
    context_hit(
        s,
        cx,
        &REVERSE,
        RULE.id,
        "ServiceControl.ps1 called Reverse on an empty list of services",
    )
}
