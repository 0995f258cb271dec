//! `iis.backend-binding-cert`.

use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, utc, Context, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
The HTTP.sys TLS binding of the Exchange Back End (0.0.0.0:444) or of the front end (0.0.0.0:443) is missing, has no certificate, or its certificate is not in LocalMachine\\My or has expired at the analysis date: OWA and ECP fail.
Event 15021 (HttpEvent: error using the TLS configuration of an endpoint) for 0.0.0.0:443 or :444 is evidence too, and alone it fires when the bindings were not collected.
## Evidence
The SslBindingInfo key and its SslCertHash; the certificate store entry and its NotAfter; the 15021 events (how many, first and last, with the record of the last).
## Action
In IIS Manager, edit the https binding of the site (\"Exchange Back End\" on 444, \"Default Web Site\" on 443) and select a valid certificate (the \"Microsoft Exchange\" self-signed one for 444); then iisreset.
## Source
\"You get a blank page after logging in EAC or OWA in Exchange 2013 or Exchange 2016\" (Microsoft Support), also \"Blank page after logging in EAC or OWA\" in Repair failed installations of Exchange cumulative and security updates (Microsoft Learn); Exchange Health Checker (CSS-Exchange HealthChecker.ps1, aka.ms/ExchangeHealthChecker): IIS bindings (the Exchange Back End binding on *:444, a binding certificate missing or expired).";

/// `iis.backend-binding-cert`; its catalog entry is [`DOC`].
pub struct BackendBindingCert;

impl Rule for BackendBindingCert {
    fn id(&self) -> &'static str {
        "iis.backend-binding-cert"
    }
    fn severity(&self) -> Severity {
        Severity::Critical
    }
    fn doc(&self) -> &'static str {
        DOC
    }
    fn module_path(&self) -> &'static str {
        module_path!()
    }
    fn check(&self, h: &HostView, cx: &Context, out: &mut Sink) {
        let as_of_ms = cx.day_start_ms();
        let mut ev = Vec::new();
        for (port, site) in [("444", "Exchange Back End"), ("443", "Default Web Site")] {
            let site_uses = h.site_bindings.iter().find(|b| {
                b.protocol == "https"
                    && b.site == site
                    && b.endpoint.split(':').nth(1) == Some(port)
            });
            let Some(site_binding) = site_uses else {
                continue;
            };
            let endpoint = format!("0.0.0.0:{port}");
            match h.tls_bindings.iter().find(|b| b.endpoint == endpoint) {
                None => ev.push(Evidence::new(
                    format!(
                        "{site} binds https {} but HTTP.sys has no {endpoint} binding",
                        site_binding.endpoint
                    ),
                    &site_binding.provenance,
                )),
                Some(b) => {
                    if let Some(problem) = super::cert_problem(b, as_of_ms) {
                        ev.push(Evidence::new(problem, &b.provenance));
                    }
                }
            }
        }
        let tls_errors: Vec<_> = h
            .events
            .iter()
            .filter(|e| {
                e.event_id == 15021
                    && e.provider.to_ascii_lowercase().contains("httpevent")
                    && (e.text().contains(":444") || e.text().contains(":443"))
            })
            .collect();
        // Events alone speak only when the bindings themselves were not collected.
        let bindings_known = !h.tls_bindings.is_empty() || !h.site_bindings.is_empty();
        if let (Some(first), Some(last)) = (tls_errors.first(), tls_errors.last()) {
            if !ev.is_empty() || !bindings_known {
                ev.push(Evidence::new(
                    format!(
                        "{} HttpEvent 15021 event(s) (TLS configuration error for {}) from {} to {}",
                        tls_errors.len(),
                        last.data
                            .iter()
                            .find(|d| d.contains(":443") || d.contains(":444"))
                            .cloned()
                            .unwrap_or_default(),
                        utc(first.time_ms),
                        utc(last.time_ms)
                    ),
                    &last.provenance,
                ));
            }
        }
        if ev.is_empty() {
            return;
        }
        out.push(self.finding(
            h,
            "An Exchange TLS binding has no valid certificate".into(),
            ev,
            &action_of(DOC),
        ));
    }
}
