//! `iis.ep-unsupported`.

use crate::extended_protection;
use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, Context, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
A virtual directory whose Extended Protection tokenChecking is above what the build and the vdir support: Allow or Require where None is expected (Autodiscover, the front end's PowerShell, any vdir on a build that does not support Extended Protection), or Require where Allow is expected (the front end's EWS, ActiveSync, OAB). Clients of that vdir (Outlook, ActiveSync, Autodiscover, hybrid) fail authentication. The front end's PowerShell counts only when it requires SSL, as HealthChecker has it.
## Evidence
Per vdir: the tokenChecking in force, the expected value, the `<location>` of applicationHost.config (file and line) it was read from.
## Action
Set the vdir back to the expected value with ExchangeExtendedProtectionManagement.ps1 (or in IIS Manager, Authentication, Windows Authentication, Advanced Settings); on a build below the Aug22SU, install the latest SU first. Then iisreset.
## Source
\"Configure Windows Extended Protection in Exchange Server\" (Microsoft Learn, aka.ms/ExchangeEPDoc); Exchange Health Checker (CSS-Exchange HealthChecker.ps1, aka.ms/ExchangeHealthChecker): Extended Protection, \"<vdir> - Current Value ... Expected Value\" (Yellow).";

/// `iis.ep-unsupported`; its catalog entry is [`DOC`].
pub struct EpUnsupported;

impl Rule for EpUnsupported {
    fn id(&self) -> &'static str {
        "iis.ep-unsupported"
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
    fn check(&self, h: &HostView, _cx: &Context, out: &mut Sink) {
        let Some(state) = extended_protection::judge(h) else {
            return;
        };
        let mut ev: Vec<Evidence> = state
            .vdirs
            .iter()
            .filter(|v| v.reported_unsupported())
            .map(|v| {
                Evidence::new(
                    format!(
                        "{} - Current Value: '{}' Expected Value: '{}'",
                        v.path, v.current, v.expected
                    ),
                    &v.written_at,
                )
            })
            .collect();
        if ev.is_empty() {
            return;
        }
        let n = ev.len();
        if !state.capable {
            ev.push(Evidence::new(
                format!(
                    "ExSetup build {} does not support Extended Protection",
                    h.exsetup.map(|b| b.to_string()).unwrap_or_default()
                ),
                &h.exsetup_provenance,
            ));
        }
        out.push(self.finding(
            h,
            format!("Extended Protection is set above what {n} virtual directories support"),
            ev,
            &action_of(DOC),
        ));
    }
}
