//! `iis.ep-not-secured`.

use crate::extended_protection::{self, Token};
use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, Context, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
On a build that supports Extended Protection (Exchange 2013 15.0.1497.38+, 2016 15.1.2375.30+ or 15.1.2507.11+, 2019 15.2.986.28+ or 15.2.1118.11+, SE), a virtual directory whose tokenChecking is not properly secured: below the value Microsoft's Extended Protection table (and HealthChecker) expects for it (Require on ECP, OWA, RPC, MAPI, API and every Back End vdir but Autodiscover; Allow on the front end's EWS, ActiveSync and OAB), except a Back End EWS left at None behind IP filtering. The value in force is the vdir's `<location>`'s, else its parent location's, else None. The Extended Protection CVEs (CVE-2022-24516, -21979, -21980, -24477, -30134, CVE-2024-21410) stay open (`security.cve-open`).
## Evidence
Per vdir: the tokenChecking in force, the expected value, the `<location>` of applicationHost.config (file and line) it was read from, and the ExSetup build.
## Action
Configure Extended Protection with ExchangeExtendedProtectionManagement.ps1 (CSS-Exchange) on every Exchange server, after checking its prerequisites (TLS settings consistent across the organization, no SSL offloading), then iisreset.
## Source
\"Configure Windows Extended Protection in Exchange Server\" (Microsoft Learn, aka.ms/ExchangeEPDoc); Exchange Health Checker (CSS-Exchange HealthChecker.ps1, aka.ms/ExchangeHealthChecker): Security Vulnerability, Extended Protection (Red).";

/// `iis.ep-not-secured`; its catalog entry is [`DOC`].
pub struct EpNotSecured;

impl Rule for EpNotSecured {
    fn id(&self) -> &'static str {
        "iis.ep-not-secured"
    }
    fn severity(&self) -> Severity {
        Severity::Error
    }
    fn doc(&self) -> &'static str {
        DOC
    }
    fn module_path(&self) -> &'static str {
        module_path!()
    }
    fn check(&self, h: &HostView, _cx: &Context, out: &mut Sink) {
        let Some(state) = extended_protection::judge(h) else {
            return;
        };
        let mut ev: Vec<Evidence> = state
            .insecure()
            .map(|v| {
                let current = if v.written_at.is_empty() {
                    format!("{} (not set)", v.current)
                } else {
                    format!("'{}'", v.current)
                };
                let at = if v.written_at.is_empty() {
                    &v.provenance
                } else {
                    &v.written_at
                };
                Evidence::new(
                    format!(
                        "{} - Current Value: {current} Expected Value: '{}'",
                        v.path, v.expected
                    ),
                    at,
                )
            })
            .collect();
        if ev.is_empty() {
            return;
        }
        let none_anywhere = state.vdirs.iter().all(|v| v.current == Token::None);
        ev.push(Evidence::new(
            format!(
                "ExSetup build {} supports Extended Protection",
                h.exsetup.map(|b| b.to_string()).unwrap_or_default()
            ),
            &h.exsetup_provenance,
        ));
        let title = if none_anywhere {
            "Extended Protection is not configured".to_string()
        } else {
            format!(
                "Extended Protection isn't configured as expected on {} virtual directories",
                ev.len() - 1
            )
        };
        out.push(self.finding(h, title, ev, &action_of(DOC)));
    }
}
