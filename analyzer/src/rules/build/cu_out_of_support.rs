//! `build.cu-out-of-support`.

use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, Context, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
The server's CU is older than the CUs its product still gets updates for: those that received the product's most recent SU or HU in the catalog (at the analysis date).
## Evidence
ExSetup.exe's build and its CU; the CUs that received the latest update, with its date.
## Action
Install one of the supported CUs (check the .NET Framework and AD preparation it needs first), then its newest SU.
## Source
Exchange Server build numbers and release dates (Microsoft Learn); Exchange Health Checker (CSS-Exchange HealthChecker.ps1, aka.ms/ExchangeHealthChecker): \"Out of date Cumulative Update. Please upgrade to one of the two most recently released Cumulative Updates\".";

/// `build.cu-out-of-support`; its catalog entry is [`DOC`].
pub struct CuOutOfSupport;

impl Rule for CuOutOfSupport {
    fn id(&self) -> &'static str {
        "build.cu-out-of-support"
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
        let Some(cu) = cx.catalog.cu_of(&b) else {
            return;
        };
        let supported = cx.catalog.supported_cus(&cu.product, cx.as_of);
        if supported.is_empty() || supported.contains(&cu.cu.as_str()) {
            return;
        }
        let ev = vec![
            Evidence::new(
                format!("ExSetup.exe {b} is {}", cu.friendly()),
                &h.exsetup_provenance,
            ),
            Evidence::new(
                format!("{} updates go to {} only", cu.product, supported.join(", ")),
                "build catalog",
            ),
        ];
        let title = format!(
            "{} no longer gets updates (supported: {})",
            cu.friendly(),
            supported.join(", ")
        );
        out.push(self.finding(h, title, ev, &action_of(DOC)));
    }
}
