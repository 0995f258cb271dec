//! `setup.wk-object-invalid`.

use std::sync::LazyLock;

use regex::Regex;

use super::known::Known;
use super::reviewer::{pattern, Hit, Scope};

/// The catalog entry.
pub const DOC: &str = "## Detects
An otherWellKnownObjects entry points to a deleted or invalid object.
## Evidence
The run judged, the line, the well-known object entry and its container.
## Action
Remove the otherWellKnownObjects entry named in the evidence from the Microsoft Exchange container (ADSI Edit), wait for replication, then run Setup /PrepareAD again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts): otherWellKnownObjects pointing to an invalid DN or a deleted object; CSS-Exchange SetupAssist.ps1 (aka.ms/ExSetupScripts): \"Other Well Known Objects\".";

/// `setup.wk-object-invalid`.
pub static RULE: Known = Known {
    id: "setup.wk-object-invalid",
    doc: DOC,
    module_path: module_path!(),
};

/// An otherWellKnownObjects entry that points to an invalid DN or a deleted object.
pub fn detect(s: &Scope) -> Option<Hit> {
    static RE: LazyLock<Regex> = LazyLock::new(|| {
        pattern(
            r"\[ERROR\] The well-known object entry (.+) on the otherWellKnownObjects attribute in the container object (.+) points to an invalid DN or a deleted object",
        )
    });
    let (l, c) = s.last_in_run(&RE)?;
    let g = |i| c.get(i).map_or("", |m| m.as_str());
    Some(s.hit(
        RULE.id,
        format!(
            "A well-known object entry of {} points to an invalid DN or a deleted object",
            g(2)
        ),
        vec![
            s.quote(l),
            s.cite(l, format!("entry: {}", g(1))),
            s.cite(l, format!("container: {}", g(2))),
        ],
    ))
}
