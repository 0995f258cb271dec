//! `setup.ad-object-exists`.

use std::sync::LazyLock;

use regex::Regex;

use super::known::Known;
use super::reviewer::{pattern, Context, Hit, Scope};

/// The catalog entry.
pub const DOC: &str = "## Detects
An AD object setup creates already exists (e.g. the public folder hierarchy).
## Evidence
The run judged, the line, the domain controller, the object that already exists and what to do for it.
## Action
Check the object named in the evidence: if it is a leftover of an earlier install, remove it (or restore its parent) and run setup again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts), known issues by errors: \"Active Directory operation failed ... already exists\".";

/// `setup.ad-object-exists`.
pub static RULE: Known = Known {
    id: "setup.ad-object-exists",
    doc: DOC,
    module_path: module_path!(),
};

/// In the first error's context: the first "object ... already exists" failure, with the
/// domain controller and the object.
pub fn detect(s: &Scope, cx: &Context) -> Option<Hit> {
    static RE: LazyLock<Regex> = LazyLock::new(|| {
        // The dots are the reference's, unescaped (any character).
        pattern(r"Active Directory operation failed on (.+). The object '(.+)' already exists.")
    });
    let (l, c) = cx.find(&RE)?;
    // The reference's group runs to the last ". The object": the name is up to the first ". ".
    let dc = c.get(1).map_or("", |m| m.as_str());
    let dc = dc.split(". ").next().unwrap_or(dc);
    let dn = c.get(2).map_or("", |m| m.as_str());
    let what = if dn
        .to_ascii_lowercase()
        .starts_with("cn=folder hierarchies,cn=exchange administrative group")
    {
        format!("create an msExchPFTree object (msExchPFTreeType = 1) in \"{dn}\" with ADSIEdit and wait for replication")
    } else {
        format!("validate that permissions are inherited on \"{dn}\" with no stray denies")
    };
    Some(s.hit(
        RULE.id,
        format!("The object '{dn}' already exists (domain controller {dc})"),
        vec![
            s.cite(l.row, l.text.trim()),
            s.cite(l.row, format!("domain controller: {dc}")),
            s.cite(l.row, format!("object: {dn}")),
            s.cite(l.row, format!("to do: {what}")),
        ],
    ))
}
