//! `setup.expired-certificate`.

use std::sync::LazyLock;

use regex::Regex;

use super::known::Known;
use super::reviewer::{pattern, Hit, Scope};

/// The catalog entry.
pub const DOC: &str = "## Detects
Setup failed because a certificate it binds or uses has expired (\"The certificate is expired\", CERT_E_EXPIRED 0x800B0101), typically the certificate of the Exchange Back End site's 0.0.0.0:444 binding or the one bound to a service.
## Evidence
The run judged, \"[ERROR] The certificate is expired.\", and the last certificate setup installed: its signer, its site, and its validity (valid from, expired on).
## Action
Renew or replace the expired certificate (New-ExchangeCertificate, or import a valid one), assign it (Enable-ExchangeCertificate, and the 0.0.0.0:444 binding of Exchange Back End in IIS), remove the expired one, then run setup again.
## Source
CSS-Exchange SetupLogReviewer.ps1 (aka.ms/ExSetupScripts): expired certificate (\"The certificate is expired\").";

/// `setup.expired-certificate`.
pub static RULE: Known = Known {
    id: "setup.expired-certificate",
    doc: DOC,
    module_path: module_path!(),
};

/// `The certificate is expired` in the run, and the last certificate setup installed: its
/// signer, site and validity.
pub fn detect(s: &Scope) -> Option<Hit> {
    static EXPIRED: LazyLock<Regex> =
        LazyLock::new(|| pattern(r"\[ERROR\] The certificate is expired."));
    static INSTALLING: LazyLock<Regex> = LazyLock::new(|| {
        pattern(
            r"Installing certificate signed by '(.*)' for site '(.*)'\.  Certificate is valid from (\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}:\d{2} \w\w) until (\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}:\d{2} \w\w)",
        )
    });
    let (l, _) = s.last_in_run(&EXPIRED)?;
    let mut ev = vec![s.quote(l)];
    let mut title = "The certificate setup uses has expired".to_string();
    if let Some((c, caps)) = s.last_in_run(&INSTALLING) {
        let g = |i| caps.get(i).map_or("", |m| m.as_str());
        title = format!("Certificate: {} has expired (expired on {})", g(2), g(4));
        ev.push(s.quote(c));
        ev.push(s.cite(c, format!("site: {}", g(2))));
        ev.push(s.cite(c, format!("signed by: {}", g(1))));
        ev.push(s.cite(c, format!("valid from {} until {}", g(3), g(4))));
        ev.push(s.cite(c, format!("expired on: {}", g(4))));
    }
    Some(s.hit(RULE.id, title, ev))
}
