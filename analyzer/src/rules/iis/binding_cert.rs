//! `iis.binding-cert`.

use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, Context, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
An HTTP.sys TLS binding other than 0.0.0.0:443 and 0.0.0.0:444 (which `iis.backend-binding-cert` judges): an IP binding (`10.0.0.5:443`, `127.0.0.1:443`, a Back End bound to one address) or an SNI binding (`mail.contoso.com:443`), whose certificate hash is empty, names a certificate that is not in LocalMachine\\My, or names one that has expired at the analysis date: clients of that address or host name get a TLS error.
## Evidence
The SslBindingInfo or SslSniBindingInfo key and its SslCertHash; the certificate store entry and its NotAfter.
## Action
Bind a valid certificate of LocalMachine\\My to the endpoint (IIS Manager, the site's https binding for that address or host name; or `netsh http update sslcert`), or remove the binding if nothing uses it; then iisreset.
## Source
Exchange Health Checker (CSS-Exchange HealthChecker.ps1, aka.ms/ExchangeHealthChecker): IIS configuration, binding certificate (a binding whose certificate thumbprint is not on the server or is expired is Red); \"Netsh http commands\" (Microsoft Learn) for SslBindingInfo and SNI bindings.";

/// `iis.binding-cert`; its catalog entry is [`DOC`].
pub struct BindingCert;

/// The endpoints `iis.backend-binding-cert` judges.
const JUDGED_ELSEWHERE: [&str; 2] = ["0.0.0.0:443", "0.0.0.0:444"];

impl Rule for BindingCert {
    fn id(&self) -> &'static str {
        "iis.binding-cert"
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
        let ev: Vec<Evidence> = h
            .tls_bindings
            .iter()
            .filter(|b| !JUDGED_ELSEWHERE.contains(&b.endpoint.as_str()))
            .filter_map(|b| {
                super::cert_problem(b, as_of_ms).map(|p| Evidence::new(p, &b.provenance))
            })
            .collect();
        if ev.is_empty() {
            return;
        }
        out.push(self.finding(
            h,
            format!("{} TLS binding(s) have no valid certificate", ev.len()),
            ev,
            &action_of(DOC),
        ));
    }
}
