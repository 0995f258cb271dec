//! `build.su-behind`.

use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, Context, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
The server is on a known build of its CU but not on the newest SU or HU published for that CU at the analysis date.
## Evidence
ExSetup.exe's build and its name; the newest update of the CU with its KB and date.
## Action
Install the newest SU for the server's CU from an elevated prompt, then check that ExSetup.exe shows its build.
## Source
Exchange Server build numbers and release dates (Microsoft Learn: the SUs and HUs of each CU, with their KB); Exchange Health Checker (CSS-Exchange HealthChecker.ps1, aka.ms/ExchangeHealthChecker): \"Not on the latest SU\" (aka.ms/HC-ExBuilds).";

/// `build.su-behind`; its catalog entry is [`DOC`].
pub struct SuBehind;

impl Rule for SuBehind {
    fn id(&self) -> &'static str {
        "build.su-behind"
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
        let Some(b) = h.exsetup else { return };
        let Some(current) = cx.catalog.exact(&b) else {
            return;
        };
        let Some(newest) = cx
            .catalog
            .newest_in_line(&current.product, &current.cu, cx.as_of)
        else {
            return;
        };
        if newest.build <= b {
            return;
        }
        let kb = if newest.kb.is_empty() {
            String::new()
        } else {
            format!(", {}", newest.kb)
        };
        let ev = vec![
            Evidence::new(
                format!("ExSetup.exe {b} ({})", current.friendly()),
                &h.exsetup_provenance,
            ),
            Evidence::new(
                format!(
                    "newest for {} {}: {} {} ({}{kb})",
                    newest.product, newest.cu, newest.name, newest.build, newest.date
                ),
                "build catalog",
            ),
        ];
        let title = format!(
            "{b} is behind: {} {} is {}",
            newest.cu, newest.name, newest.build
        );
        out.push(self.finding(h, title, ev, &action_of(DOC)));
    }
}
