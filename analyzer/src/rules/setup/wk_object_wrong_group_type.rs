//! `setup.wk-object-wrong-group-type`.

use std::sync::LazyLock;

use regex::Regex;

use super::known::Known;
use super::reviewer::{pattern, Hit, Scope};

/// The catalog entry.
pub const DOC: &str = "## Detects
A well-known Exchange group (otherWellKnownObjects) has the wrong group type.
## Evidence
The run judged, the line, the well-known object's GUID, its container, the group and the type it must have.
## Action
Convert the group named in the evidence to Universal, Security (or remove the well-known object entry), wait for replication, then run setup again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts): a well-known object entry that refers to a group of the wrong group type.";

/// `setup.wk-object-wrong-group-type`.
pub static RULE: Known = Known {
    id: "setup.wk-object-wrong-group-type",
    doc: DOC,
    module_path: module_path!(),
};

/// A well-known object entry that refers to a group of the wrong type.
pub fn detect(s: &Scope) -> Option<Hit> {
    static RE: LazyLock<Regex> = LazyLock::new(|| {
        pattern(
            r#"The well-known object entry with the GUID "(.+)", which is on the "(.+)" container object's otherWellKnownObjects attribute, refers to a group "(.+)" of the wrong group type\. Either delete the well-known object entry, or promote the target object to "(.+)"\."#,
        )
    });
    let (l, c) = s.last_in_run(&RE)?;
    let g = |i| c.get(i).map_or("", |m| m.as_str());
    Some(s.hit(
        RULE.id,
        format!("Change the {} object to {}", g(3), g(4)),
        vec![
            s.quote(l),
            s.cite(l, format!("GUID: {}", g(1))),
            s.cite(l, format!("container: {}", g(2))),
            s.cite(l, format!("group: {}", g(3))),
            s.cite(l, format!("required type: {}", g(4))),
        ],
    ))
}
