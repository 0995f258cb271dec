//! `setup.firewall-endpoint-mapper`.

use std::sync::LazyLock;

use regex::Regex;

use super::known::Known;
use super::reviewer::{context_hit, pattern, Context, Hit, Scope};

/// The catalog entry.
pub const DOC: &str = "## Detects
No endpoints from the endpoint mapper: the Windows Firewall service is stopped.
## Evidence
The run judged (the last one, or the one before a run cut off within 30 lines) and how it was selected, the first error and the line the check matched in its context, with their line numbers.
## Action
Start the Windows Defender Firewall service (Automatic) and run setup again; setup configures firewall rules through it.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts), known issues by errors: \"There are no more endpoints available from the endpoint mapper\" (0x800706D9).";

/// `setup.firewall-endpoint-mapper`.
pub static RULE: Known = Known {
    id: "setup.firewall-endpoint-mapper",
    doc: DOC,
    module_path: module_path!(),
};

/// In the first error's context: RPC error 0x800706D9 from the endpoint mapper.
pub fn detect(s: &Scope, cx: &Context) -> Option<Hit> {
    static RE: LazyLock<Regex> = LazyLock::new(|| {
        pattern(
            r#"System\.Runtime\.InteropServices\.COMException \(0x800706D9\): There are no more endpoints available from the endpoint mapper\. \(Exception from HRESULT: 0x800706D9\)"#,
        )
    });
    context_hit(s, cx, &RE, RULE.id, "No more endpoints available from the endpoint mapper: the Windows Firewall service is not running")
}
