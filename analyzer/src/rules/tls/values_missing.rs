//! `tls.values-missing`.

use crate::finding::Severity;
use crate::rules::{action_of, Context, Rule, Sink};
use crate::tls::Kind;
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
TLS registry values HealthChecker wants defined are not: any of the four SCHANNEL values (Server and Client Enabled and DisabledByDefault) of TLS 1.0, 1.1 or 1.2, or .NET's SystemDefaultTlsVersions and SchUseStrongCrypto under `HKLM\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319` and its WOW6432Node twin; or TLS 1.0 or 1.1 is disabled while one of those .NET values is not 1 (.NET applications would then still offer the disabled versions, or fail).
## Evidence
Each value not defined, and the .NET values not set to 1.
## Action
Define every value explicitly as Microsoft's Exchange TLS guidance gives them (aka.ms/HC-TLSGuide), .NET's two values set to 1 in both registry views, then reboot.
## Source
Exchange Health Checker (CSS-Exchange HealthChecker.ps1, aka.ms/ExchangeHealthChecker): \"Value should be defined in registry for consistent results\", \"SystemDefaultTlsVersions or SchUseStrongCrypto is not set to the recommended value\"; Exchange Server TLS configuration best practices (Microsoft Learn, aka.ms/HC-TLSGuide).";

/// `tls.values-missing`; its catalog entry is [`DOC`].
pub struct ValuesMissing;

impl Rule for ValuesMissing {
    fn id(&self) -> &'static str {
        "tls.values-missing"
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
    fn check(&self, h: &HostView, _: &Context, out: &mut Sink) {
        let ev = super::problems(h, Kind::ValuesMissing);
        if ev.is_empty() {
            return;
        }
        let title = format!(
            "{} TLS registry value{} not defined as recommended",
            ev.len(),
            if ev.len() == 1 { "" } else { "s" }
        );
        out.push(self.finding(h, title, ev, &action_of(DOC)));
    }
}
