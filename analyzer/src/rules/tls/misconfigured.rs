//! `tls.misconfigured`.

use crate::finding::Severity;
use crate::rules::{action_of, Context, Rule, Sink};
use crate::tls::Kind;
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
A TLS protocol version set so that Exchange cannot rely on it, as HealthChecker judges the SCHANNEL keys (`HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS <v>\\Server|Client`, values Enabled and DisabledByDefault): a version Misconfigured (server and client sides differ: Exchange is both), or Half Disabled (the server side half off); TLS 1.2 Disabled; TLS 1.3 not Disabled (not supported by Windows Server 2012 to 2019, nor by Exchange before 2019 CU15 and SE, and flagged by HealthChecker as known to cause issues within the cluster).
## Evidence
Each version at fault with its four values as read (absent values say so).
## Action
Set each version the same on the Server and Client keys, both values defined: TLS 1.2 enabled, TLS 1.3 disabled on Exchange (Enabled = 0, DisabledByDefault = 1), then reboot. Microsoft's Exchange TLS guidance (aka.ms/HC-TLSGuide) gives the values.
## Source
Exchange Health Checker (CSS-Exchange HealthChecker.ps1, aka.ms/ExchangeHealthChecker): Security Settings, TLS (Shared/TLS/Get-AllTlsSettingsFromRegistry.ps1); Exchange Server TLS configuration best practices (Microsoft Learn, aka.ms/HC-TLSGuide).";

/// `tls.misconfigured`; its catalog entry is [`DOC`].
pub struct Misconfigured;

impl Rule for Misconfigured {
    fn id(&self) -> &'static str {
        "tls.misconfigured"
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
        let ev = super::problems(h, Kind::Misconfigured);
        let Some(first) = ev.first() else { return };
        let what = first.fact.split(" (").next().unwrap_or(&first.fact);
        let title = format!("TLS misconfigured: {what}");
        out.push(self.finding(h, title, ev, &action_of(DOC)));
    }
}
