//! `setup.shared-config-dc`.

use std::sync::LazyLock;

use regex::Regex;

use super::known::Known;
use super::reviewer::{pattern, Hit, Scope};

/// The catalog entry.
pub const DOC: &str = "## Detects
Setting the shared configuration domain controller failed (the AD Topology service stopped mid-setup, or no suitable directory server).
## Evidence
The run judged, the error and its error reference, and the inner error logged while setting the shared config DC.
## Action
Start the Microsoft Exchange Active Directory Topology service, check that a domain controller of the site is reachable, then run setup again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts): \"Unable to set shared config DC\" (the Microsoft Exchange Active Directory Topology service).";

/// `setup.shared-config-dc`.
pub static RULE: Known = Known {
    id: "setup.shared-config-dc",
    doc: DOC,
    module_path: module_path!(),
};

/// Setup could not set the shared config DC (with its service-control error reference), and
/// the inner error it logged.
pub fn detect(s: &Scope) -> Option<Hit> {
    static UNABLE: LazyLock<Regex> =
        LazyLock::new(|| pattern(r"\[ERROR\] Unable to set shared config DC"));
    static REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
        pattern(
            r"\[ERROR-REFERENCE\] Id=AllADRolesCommonServiceControl___ee47ab1c06fb47919398e2e95ed99c6c",
        )
    });
    static ERROR: LazyLock<Regex> =
        LazyLock::new(|| pattern(r"An error ocurred while setting shared config DC\. Error: (.+)"));
    static EXCEPTION: LazyLock<Regex> = LazyLock::new(|| {
        pattern(r"An exception ocurred while setting shared config DC\. Exception: (.+)")
    });
    let (l, _) = s.last_in_run(&UNABLE)?;
    let (r, _) = s.last_in_run(&REFERENCE)?;
    let mut ev = vec![s.quote(l), s.quote(r)];
    let inner = s.last_in_run(&ERROR).or_else(|| s.last_in_run(&EXCEPTION));
    let title = match inner {
        Some((i, c)) => {
            let inner = c.get(1).map_or("", |m| m.as_str()).trim();
            ev.push(s.cite(i, format!("Inner Exception: {inner}")));
            if inner.contains("Topology Provider coundn't find the Microsoft Exchange Active Directory Topology service") {
                "MSExchangeADTopology was not running: start it and keep it running for the whole setup".to_string()
            } else {
                format!("Unable to set the shared config DC: {inner}")
            }
        }
        None => "Unable to set the shared config DC: start MSExchangeADTopology and troubleshoot its errors".into(),
    };
    Some(s.hit(RULE.id, title, ev))
}
