//! `security.cve-open`.

use super::{build_line, exposures, grouped, ids};
use crate::exposure::Status;
use crate::finding::Severity;
use crate::rules::{action_of, first_of, Context, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
The server's build is below the update that fixes one or more CVEs of the build catalog's CVE table, by HealthChecker's build test: for each update, the server's product has rows; the build is below the highest fixing build and below the fixing build of its own CU (or its CU never got that update). Updates older than the year of the server's CU are taken as included in it, and updates published after the analysis date are not yet known. Also CVE-2020-0796 on Exchange 2019 when the Windows build is 18362 or 18363 below update revision 720. The severity is HealthChecker's Red: error (analyzer/CVE.md).
## Evidence
ExSetup.exe's build; per fixing update, the CVEs it fixes and what closes them on this server: the build of its CU that carries the update, or the CUs that have it when its own CU never got it.
## Action
Install the newest SU for the server's CU (it carries every earlier fix); a CU that no longer gets SUs must first be moved to a supported CU. Check indicators of compromise before patching a server that was exposed to a CVE exploited in the wild (ProxyLogon, ProxyShell, ProxyNotShell).
## Source
Exchange Health Checker (CSS-Exchange HealthChecker.ps1, aka.ms/ExchangeHealthChecker): the security vulnerability section (Invoke-AnalyzerSecurityCveCheck.ps1, Shared/CompareExchangeBuildLevel.ps1), whose CVE-to-build table is the build catalog's CVE table; Microsoft Security Response Center's update guide for each CVE; analyzer/CVE.md.";

/// `security.cve-open`; its catalog entry is [`DOC`].
pub struct CveOpen;

impl Rule for CveOpen {
    fn id(&self) -> &'static str {
        "security.cve-open"
    }
    fn severity(&self) -> Severity {
        Status::Open.severity()
    }
    fn doc(&self) -> &'static str {
        DOC
    }
    fn module_path(&self) -> &'static str {
        module_path!()
    }
    fn check(&self, h: &HostView, cx: &Context, out: &mut Sink) {
        let open = exposures(h, cx, Status::Open);
        if open.is_empty() {
            return;
        }
        let cves = ids(&open);
        let mut ev: Vec<_> = build_line(h, cx).into_iter().collect();
        ev.extend(grouped(
            &open,
            |e| e.fixed_by.as_str(),
            |e, ids| format!("{} fixes {ids}: {}", e.fixed_by, e.remedy),
            cx,
        ));
        let title = format!(
            "{} CVE{} open: {}",
            cves.len(),
            if cves.len() == 1 { "" } else { "s" },
            first_of(&cves, 4)
        );
        out.push(self.finding(h, title, ev, &action_of(DOC)));
    }
}
