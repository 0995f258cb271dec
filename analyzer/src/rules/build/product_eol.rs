//! `build.product-eol`.

use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, Context, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
The product the server runs is past the end of its support at the analysis date (Exchange 2013 since April 2023; 2016 and 2019 since October 2025, with security updates for enrolled customers into 2026): HealthChecker's Red \"reached end of life\". Within a year of it: `build.product-eol-soon`.
## Evidence
ExSetup.exe's build and the product it belongs to; the product's end-of-support date from the catalog.
## Action
Plan the move to Exchange Server Subscription Edition (in-place upgrade from 2019 CU14/CU15, or migration from 2016); until then keep the server on the newest SU its CU gets.
## Source
Microsoft Lifecycle pages of Exchange Server 2013, 2016 and 2019 (end of extended support); Exchange Health Checker (CSS-Exchange HealthChecker.ps1, aka.ms/ExchangeHealthChecker): \"Your Exchange server reached end of life\".";

/// `build.product-eol`; its catalog entry is [`DOC`].
pub struct ProductEol;

impl Rule for ProductEol {
    fn id(&self) -> &'static str {
        "build.product-eol"
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
        let Some(b) = h.exsetup.or(h.msi) else { return };
        let Some(p) = cx.catalog.product_of(&b) else {
            return;
        };
        if p.end_of_support >= cx.as_of {
            return;
        }
        let ev = vec![
            Evidence::new(format!("build {b} is {}", p.name), &h.exsetup_provenance),
            Evidence::new(
                format!("{} support ended on {}", p.name, p.end_of_support),
                "build catalog",
            ),
        ];
        let title = format!(
            "{} is past its end of support ({})",
            p.name, p.end_of_support
        );
        out.push(self.finding(h, title, ev, &action_of(DOC)));
    }
}
