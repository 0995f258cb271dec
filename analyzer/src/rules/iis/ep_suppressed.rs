//! `iis.ep-suppressed`.

use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, Context, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
`HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa` value SuppressExtendedProtection is non-zero: Windows disables Extended Protection whatever IIS is set to, so it does not work and causes problems, and the Extended Protection CVEs stay open (`security.cve-open`).
## Evidence
The value and the key it was read from.
## Action
Delete the SuppressExtendedProtection value (or set it to 0) and restart the server; configure Extended Protection as expected (ExchangeExtendedProtectionManagement.ps1).
## Source
Exchange Health Checker (CSS-Exchange HealthChecker.ps1, aka.ms/ExchangeHealthChecker): Frequent Configuration Issues, \"SuppressExtendedProtection ... disables EP resulting it to not work correctly and causes problems. --- ERROR\" (Red); \"Configure Windows Extended Protection in Exchange Server\" (Microsoft Learn, aka.ms/ExchangeEPDoc).";

/// `iis.ep-suppressed`; its catalog entry is [`DOC`].
pub struct EpSuppressed;

impl Rule for EpSuppressed {
    fn id(&self) -> &'static str {
        "iis.ep-suppressed"
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
        let Some((value, provenance)) = h.suppress_extended_protection() else {
            return;
        };
        out.push(self.finding(
            h,
            "SuppressExtendedProtection turns Extended Protection off".into(),
            vec![Evidence::new(
                format!("Lsa SuppressExtendedProtection = {value}"),
                &provenance,
            )],
            &action_of(DOC),
        ));
    }
}
