//! `tls.legacy-enabled`.

use crate::finding::Severity;
use crate::rules::{action_of, Context, Rule, Sink};
use crate::tls::Kind;
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
TLS 1.0 or TLS 1.1 is enabled (its SCHANNEL keys set so, or absent: absent means enabled for these versions).
## Evidence
Each legacy version enabled, with its four values as read.
## Action
Once every client and partner speaks TLS 1.2, disable TLS 1.0 and 1.1 on both the Server and Client keys (Enabled = 0, DisabledByDefault = 1) on every Exchange server together, with .NET's SystemDefaultTlsVersions and SchUseStrongCrypto set to 1, then reboot.
## Source
Exchange Health Checker (CSS-Exchange HealthChecker.ps1, aka.ms/ExchangeHealthChecker): TLS hardening recommendations; Exchange Server TLS configuration best practices (Microsoft Learn, aka.ms/HC-TLSGuide).";

/// `tls.legacy-enabled`; its catalog entry is [`DOC`].
pub struct LegacyEnabled;

impl Rule for LegacyEnabled {
    fn id(&self) -> &'static str {
        "tls.legacy-enabled"
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
    fn check(&self, h: &HostView, _: &Context, out: &mut Sink) {
        let ev = super::problems(h, Kind::LegacyEnabled);
        if ev.is_empty() {
            return;
        }
        let versions: Vec<&str> = ev
            .iter()
            .filter_map(|e| e.fact.split(" is ").next())
            .collect();
        let title = format!("{} enabled", versions.join(" and "));
        out.push(self.finding(h, title, ev, &action_of(DOC)));
    }
}
