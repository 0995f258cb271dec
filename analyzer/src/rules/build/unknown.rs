//! `build.unknown`.

use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, Context, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
ExSetup.exe's build is not in the build catalog: a private fix, or a catalog older than the build (the finding says which, and the catalog's as-of date).
## Evidence
ExSetup.exe's FileVersion; the newest catalog build of the same CU line; the catalog date.
## Action
If the build is newer than the catalog, update the catalog (`--catalog FILE`) and analyze again; otherwise find out where the private build came from and move the server to a published SU.
## Source
Exchange Server build numbers and release dates (Microsoft Learn); Exchange Health Checker (CSS-Exchange HealthChecker.ps1, aka.ms/ExchangeHealthChecker): the build is ExSetup.exe's FileVersion; exfleet's build catalog (analyzer/catalog/exchange-builds.toml, replaceable with --catalog).";

/// `build.unknown`; its catalog entry is [`DOC`].
pub struct Unknown;

impl Rule for Unknown {
    fn id(&self) -> &'static str {
        "build.unknown"
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
        if cx.catalog.exact(&b).is_some() {
            return;
        }
        let line = cx.catalog.cu_of(&b);
        let newest = line.and_then(|cu| {
            cx.catalog
                .line(&cu.product, &cu.cu)
                .into_iter()
                .max_by_key(|r| r.build)
        });
        let (why, context) = match newest {
            Some(n) if b > n.build => (
                format!("newer than any {} build the catalog knows (catalog as of {}): the catalog may be stale", n.friendly(), cx.catalog.as_of),
                format!("newest catalog build of the line: {} ({})", n.build, n.friendly()),
            ),
            Some(n) => (
                format!("not a published build of {} {} (catalog as of {}): a private fix?", n.product, n.cu, cx.catalog.as_of),
                format!("newest catalog build of the line: {} ({})", n.build, n.friendly()),
            ),
            None => (
                format!("not a build of any product the catalog knows (catalog as of {})", cx.catalog.as_of),
                String::new(),
            ),
        };
        let mut ev = vec![Evidence::new(
            format!("ExSetup.exe FileVersion {b}"),
            &h.exsetup_provenance,
        )];
        if !context.is_empty() {
            ev.push(Evidence::new(context, ""));
        }
        out.push(self.finding(
            h,
            format!("Build {b} is unknown: {why}"),
            ev,
            &action_of(DOC),
        ));
    }
}
