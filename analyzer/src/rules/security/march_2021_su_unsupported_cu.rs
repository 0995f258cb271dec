//! `security.march-2021-su-unsupported-cu`.

use super::{build_line, exposures, grouped, ids};
use crate::exposure::{Status, MARCH_2021_UNSUPPORTED_CU_KB};
use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, first_of, Context, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
The March 2021 security update for CUs that were already unsupported (KB5000871, published against ProxyLogon) is installed on the exact base build of an unsupported CU: it fixed the ProxyLogon CVEs only, and every CVE fixed for that CU's line afterwards stays open. HealthChecker's Yellow advisory \"March 2021 Exchange Security Update for unsupported CU detected\": a warning.
## Evidence
ExSetup.exe's build; the installed KB5000871; per update the CU never got, the CVEs it leaves open.
## Action
Move the server to a supported CU and install its newest SU; KB5000871 was a stopgap, not a patch level.
## Source
Exchange Health Checker (CSS-Exchange HealthChecker.ps1, aka.ms/ExchangeHealthChecker): Invoke-AnalyzerSecurityCveCheck.ps1, the March 2021 unsupported-CU advisories; Microsoft's March 2021 Exchange Server security updates for older CUs (KB5000871); analyzer/CVE.md.";

/// `security.march-2021-su-unsupported-cu`; its catalog entry is [`DOC`].
pub struct March2021SuUnsupportedCu;

impl Rule for March2021SuUnsupportedCu {
    fn id(&self) -> &'static str {
        "security.march-2021-su-unsupported-cu"
    }
    fn severity(&self) -> Severity {
        Status::Advisory.severity()
    }
    fn doc(&self) -> &'static str {
        DOC
    }
    fn module_path(&self) -> &'static str {
        module_path!()
    }
    fn check(&self, h: &HostView, cx: &Context, out: &mut Sink) {
        let advisories = exposures(h, cx, Status::Advisory);
        if advisories.is_empty() {
            return;
        }
        let cves = ids(&advisories);
        let mut ev: Vec<_> = build_line(h, cx).into_iter().collect();
        if let Some(u) = h
            .updates
            .iter()
            .find(|u| u.kb.eq_ignore_ascii_case(MARCH_2021_UNSUPPORTED_CU_KB))
        {
            ev.push(Evidence::new(
                format!("installed update {}: {}", u.kb, u.package_name),
                &u.provenance,
            ));
        }
        ev.extend(grouped(
            &advisories,
            |e| e.fixed_by.as_str(),
            |e, ids| format!("{} fixes {ids}; {}", e.fixed_by, e.remedy),
            cx,
        ));
        let title = format!(
            "Only the March 2021 SU on an unsupported CU: {} older CVE{} stay open ({})",
            cves.len(),
            if cves.len() == 1 { "" } else { "s" },
            first_of(&cves, 3)
        );
        out.push(self.finding(h, title, ev, &action_of(DOC)));
    }
}
