//! `setup.missing-directory`.

use std::sync::LazyLock;

use regex::Regex;

use super::known::Known;
use super::reviewer::{pattern, Context, Hit, Scope};

/// The catalog entry.
pub const DOC: &str = "## Detects
A path setup expects does not exist.
## Evidence
The run judged, the line and the path to create.
## Action
Create the folder named in the evidence (or restore it from another server of the same build), then run setup again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts), known issues by errors: \"Cannot find path ... because it does not exist\"; CSS-Exchange SetupAssist.ps1 (aka.ms/ExSetupScripts): \"Missing Directories\".";

/// `setup.missing-directory`.
pub static RULE: Known = Known {
    id: "setup.missing-directory",
    doc: DOC,
    module_path: module_path!(),
};

/// In the first error's context: a path setup needs does not exist.
pub fn detect(s: &Scope, cx: &Context) -> Option<Hit> {
    static RE: LazyLock<Regex> = LazyLock::new(|| {
        pattern(
            r"System\.Management\.Automation\.ItemNotFoundException: Cannot find path '(.+)' because it does not exist",
        )
    });
    let (l, c) = cx.find(&RE)?;
    let path = c.get(1).map_or("", |m| m.as_str());
    Some(s.hit(
        RULE.id,
        format!("Create the directory: \"{path}\""),
        vec![
            s.cite(l.row, l.text.trim()),
            s.cite(l.row, format!("missing directory: {path}")),
        ],
    ))
}
