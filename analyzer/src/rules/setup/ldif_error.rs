//! `setup.ldif-error`.

use std::sync::LazyLock;

use regex::Regex;

use super::known::Known;
use super::reviewer::{pattern, Hit, Scope};

/// The catalog entry.
pub const DOC: &str = "## Detects
The schema import with ldifde failed (error code, .ldf file and ldif.err location in the evidence).
## Evidence
The run judged, the line, the schema file, ldifde's error code and the error file (ldif.err).
## Action
Read the ldif.err file named in the evidence, fix its cause (often a schema master that is unreachable or a user without Schema Admins), then run Setup /PrepareSchema again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts): known LDIF errors (ldifde.exe schema import, ldif.err).";

/// `setup.ldif-error`.
pub static RULE: Known = Known {
    id: "setup.ldif-error",
    doc: DOC,
    module_path: module_path!(),
};

/// The last ldifde.exe failure of the run: the schema file, the error code, the ldif.err file.
pub fn detect(s: &Scope) -> Option<Hit> {
    static RE: LazyLock<Regex> = LazyLock::new(|| {
        pattern(
            r"\[ERROR\] There was an error while running 'ldifde\.exe' to import the schema file '(.*)'. The error code is: (\d+). More details can be found in the error file: '(.*)'",
        )
    });
    let (l, c) = s.last_in_run(&RE)?;
    let g = |i| c.get(i).map_or("", |m| m.as_str());
    Some(s.hit(
        RULE.id,
        format!("Failed to import schema setting from file '{}'", g(1)),
        vec![
            s.quote(l),
            s.cite(l, format!("schema file: {}", g(1))),
            s.cite(l, format!("ldifde error code: {}", g(2))),
            s.cite(l, format!("error file: {}", g(3))),
        ],
    ))
}
