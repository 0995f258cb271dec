//! `setup.mount-database`.

use std::sync::LazyLock;

use regex::Regex;

use super::known::Known;
use super::reviewer::{pattern, Context, Hit, Scope};

/// The catalog entry.
pub const DOC: &str = "## Detects
Setup could not mount a database.
## Evidence
The run judged, the line and the database that failed to mount.
## Action
Check the database named in the evidence (free disk space, log files, dismounted copies), mount it, then run setup again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts), known issues by errors: \"Failed to mount database\".";

/// `setup.mount-database`.
pub static RULE: Known = Known {
    id: "setup.mount-database",
    doc: DOC,
    module_path: module_path!(),
};

/// In the first error's context: setup could not mount a database.
pub fn detect(s: &Scope, cx: &Context) -> Option<Hit> {
    static RE: LazyLock<Regex> = LazyLock::new(|| {
        pattern(r#"was run: "System\.InvalidOperationException: Failed to mount database "(.+)"\."#)
    });
    let (l, c) = cx.find(&RE)?;
    let db = c.get(1).map_or("", |m| m.as_str());
    Some(s.hit(
        RULE.id,
        format!("Failed to mount database \"{db}\""),
        vec![
            s.cite(l.row, l.text.trim()),
            s.cite(l.row, format!("database: {db}")),
        ],
    ))
}
