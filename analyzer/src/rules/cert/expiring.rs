//! `cert.expiring`.

use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, Context, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
A certificate of LocalMachine\\My with 30 to 59 days left at the analysis date (whole days to NotAfter): time to renew it before it breaks TLS, OAuth or transport. Under 30 days it is `cert.expiring-soon`. Certificates Windows makes itself (`MS-Organization-P2P-Access`, `Windows Azure CRP Certificate Generator`) are left out.
## Evidence
Per certificate: thumbprint, subject, NotAfter and the days left, with the store key it was read from.
## Action
Renew the certificate now (a new request to the CA, or New-ExchangeCertificate for the self-signed one), assign it to its services (Enable-ExchangeCertificate) and bind it in IIS.
## Source
Exchange Health Checker (CSS-Exchange HealthChecker.ps1, aka.ms/ExchangeHealthChecker): Exchange certificates, lifetime 30 to 59 days (Yellow); \"Renew an Exchange Server certificate\" (Microsoft Learn).";

/// `cert.expiring`; its catalog entry is [`DOC`].
pub struct Expiring;

impl Rule for Expiring {
    fn id(&self) -> &'static str {
        "cert.expiring"
    }
    fn severity(&self) -> Severity {
        Severity::Warning
    }
    fn doc(&self) -> &'static str {
        DOC
    }
    fn module_path(&self) -> &'static str {
        module_path!()
    }
    fn check(&self, h: &HostView, cx: &Context, out: &mut Sink) {
        let as_of_ms = cx.day_start_ms();
        let ev: Vec<Evidence> = super::judged(h)
            .filter(|c| (30..60).contains(&super::lifetime_days(c, as_of_ms)))
            .map(|c| {
                Evidence::new(
                    format!(
                        "certificate {} expires on {} ({} days left)",
                        super::name(c),
                        super::not_after(c),
                        super::lifetime_days(c, as_of_ms)
                    ),
                    &c.provenance,
                )
            })
            .collect();
        if ev.is_empty() {
            return;
        }
        out.push(self.finding(
            h,
            format!("{} certificate(s) expire within 60 days", ev.len()),
            ev,
            &action_of(DOC),
        ));
    }
}
