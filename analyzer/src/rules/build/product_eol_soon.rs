//! `build.product-eol-soon`.

use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, Context, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
The product the server runs reaches the end of its support within a year of the analysis date (HealthChecker: Yellow within a year, Red within 178 days; exfleet warns for the year and reports the end itself as `build.product-eol`).
## Evidence
ExSetup.exe's build and the product it belongs to; the product's end-of-support date from the catalog and the days left.
## Action
Plan the move to a supported product (Exchange Server Subscription Edition) before the date: after it the server gets no security update.
## Source
Microsoft Lifecycle pages of Exchange Server; Exchange Health Checker (CSS-Exchange HealthChecker.ps1, aka.ms/ExchangeHealthChecker): the end-of-support warnings of the Exchange information section.";

/// How long before the end of support the warning starts.
const WARN_DAYS: i64 = 365;

/// `build.product-eol-soon`; its catalog entry is [`DOC`].
pub struct ProductEolSoon;

impl Rule for ProductEolSoon {
    fn id(&self) -> &'static str {
        "build.product-eol-soon"
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
        let Some(b) = h.exsetup.or(h.msi) else { return };
        let Some(p) = cx.catalog.product_of(&b) else {
            return;
        };
        let left = (p.end_of_support - cx.as_of).num_days();
        if !(0..=WARN_DAYS).contains(&left) {
            return;
        }
        let ev = vec![
            Evidence::new(format!("build {b} is {}", p.name), &h.exsetup_provenance),
            Evidence::new(
                format!(
                    "{} support ends on {}, {left} days after {}",
                    p.name, p.end_of_support, cx.as_of
                ),
                "build catalog",
            ),
        ];
        let title = format!(
            "{} reaches its end of support on {} ({left} days)",
            p.name, p.end_of_support
        );
        out.push(self.finding(h, title, ev, &action_of(DOC)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Build, Catalog};
    use chrono::NaiveDate;

    #[test]
    fn warns_within_the_year_before_the_end_only() {
        let c = Catalog::embedded();
        let h = HostView {
            exsetup: Build::parse("15.1.2507.72"),
            ..Default::default()
        };
        let at = |y, m, d| {
            let cx = Context {
                catalog: &c,
                as_of: NaiveDate::from_ymd_opt(y, m, d).unwrap(),
            };
            let mut out = Sink::empty();
            ProductEolSoon.check(&h, &cx, &mut out);
            out.into_vec().len()
        };
        // Exchange 2016 ends on 2025-10-14.
        assert_eq!(at(2024, 10, 13), 0);
        assert_eq!(at(2024, 10, 14), 1);
        assert_eq!(at(2025, 10, 14), 1);
        assert_eq!(at(2025, 10, 15), 0);
    }
}
