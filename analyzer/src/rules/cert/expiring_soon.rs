//! `cert.expiring-soon`.

use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, Context, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
A certificate of LocalMachine\\My that has expired, or has less than 30 days left, at the analysis date (whole days to NotAfter). Certificates Windows makes itself (`MS-Organization-P2P-Access`, `Windows Azure CRP Certificate Generator`) are left out, as HealthChecker does.
## Evidence
Per certificate: thumbprint, subject, NotAfter and the days left (negative: expired), with the store key it was read from.
## Action
Renew the certificate (a new request to the CA, or New-ExchangeCertificate for the self-signed one), assign it to the services that use it (Enable-ExchangeCertificate) and bind it in IIS; then remove the old one.
## Source
Exchange Health Checker (CSS-Exchange HealthChecker.ps1, aka.ms/ExchangeHealthChecker): Exchange certificates, lifetime under 30 days and \"Certificate has expired\" (Red); \"Renew an Exchange Server certificate\" (Microsoft Learn).";

/// `cert.expiring-soon`; its catalog entry is [`DOC`].
pub struct ExpiringSoon;

impl Rule for ExpiringSoon {
    fn id(&self) -> &'static str {
        "cert.expiring-soon"
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
    fn check(&self, h: &HostView, cx: &Context, out: &mut Sink) {
        let as_of_ms = cx.day_start_ms();
        let mut expired = 0;
        let ev: Vec<Evidence> = super::judged(h)
            .filter(|c| super::lifetime_days(c, as_of_ms) < 30)
            .map(|c| {
                let days = super::lifetime_days(c, as_of_ms);
                let state = if c.not_after_ms < as_of_ms {
                    expired += 1;
                    format!("expired on {}", super::not_after(c))
                } else {
                    format!("expires on {} ({days} days left)", super::not_after(c))
                };
                Evidence::new(
                    format!("certificate {} {state}", super::name(c)),
                    &c.provenance,
                )
            })
            .collect();
        if ev.is_empty() {
            return;
        }
        let title = format!(
            "{} certificate(s) expired, {} expiring within 30 days",
            expired,
            ev.len() - expired
        );
        out.push(self.finding(h, title, ev, &action_of(DOC)));
    }
}
