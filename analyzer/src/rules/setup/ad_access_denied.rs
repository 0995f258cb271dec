//! `setup.ad-access-denied`.

use std::sync::LazyLock;

use regex::Regex;

use super::known::Known;
use super::reviewer::{pattern, Context, Hit, Scope};

/// The catalog entry.
pub const DOC: &str = "## Detects
Insufficient access rights on an AD object while preparing the organization or domain.
## Evidence
The run judged, the first error, the INSUFF_ACCESS_RIGHTS line, the object setup read on the line before the error (and its domain controller), the user, and the error reference.
## Action
Run the preparation with an account in Enterprise Admins and Domain Admins; check that inheritance is enabled on the object in the evidence (and on AdminSDHolder-protected accounts), then run setup again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts), known issues by error reference: INSUFF_ACCESS_RIGHTS while setting domain permissions.";

/// `setup.ad-access-denied`.
pub static RULE: Known = Known {
    id: "setup.ad-access-denied",
    doc: DOC,
    module_path: module_path!(),
};

/// Keyed on the error reference `DomainGlobalConfig___27a706ffe123425f9ee60cb02b930e81`:
/// insufficient access rights, and the object read on the line before the first error.
pub fn detect(s: &Scope, cx: &Context, reference: &str) -> Option<Hit> {
    static SECERR: LazyLock<Regex> =
        LazyLock::new(|| pattern(r"SecErr: DSid-.+ problem 4003 \(INSUFF_ACCESS_RIGHTS\)"));
    static READ: LazyLock<Regex> =
        LazyLock::new(|| pattern(r"Used domain controller (.+) to read object (.+)."));
    if !reference.eq_ignore_ascii_case("DomainGlobalConfig___27a706ffe123425f9ee60cb02b930e81") {
        return None;
    }
    let (l, _) = cx.find(&SECERR)?;
    let before = cx.before.last()?;
    let (n, text) = before.split_once(": ")?;
    if n.parse::<i64>().ok()? != cx.first.line - 1 {
        return None;
    }
    let c = READ.captures(text)?;
    let dc = c.get(1).map_or("", |m| m.as_str());
    let object = c.get(2).map_or("", |m| m.as_str());
    let user = s.user();
    Some(s.hit(
        RULE.id,
        format!("The current user {user} lacks the permission to write ACEs to '{object}'"),
        vec![
            s.cite(cx.first, cx.first.text.clone()),
            s.cite(l.row, l.text.trim()),
            s.cite(
                cx.first,
                format!("object: {object} (read on domain controller {dc})"),
            ),
            s.cite(cx.first, format!("user: {user}")),
        ],
    ))
}
