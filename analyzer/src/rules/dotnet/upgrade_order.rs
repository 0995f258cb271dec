//! `dotnet.upgrade-order`.

use super::unsupported::{family, name, supported};
use crate::catalog::Build;
use crate::finding::{Evidence, Severity};
use crate::rules::setup::{run_evidence, unsuccessful_last_run};
use crate::rules::{action_of, Context, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
A CU upgrade did not complete while the installed .NET Framework is older than the target CU supports: the order is .NET first (to the newest release the current CU supports, which the target CU must support too), then the CU. When the current CU supports no release the target accepts, an intermediate CU is needed.
## Evidence
The last setup run (target version, the version it upgrades), the installed .NET release and family, and the families the current and the target CU support.
## Action
Install the .NET Framework release the evidence names (the newest the current CU supports), reboot, then run the CU setup again; if no such release exists, upgrade to an intermediate CU first.
## Source
Repair failed installations of Exchange cumulative and security updates (Microsoft Learn): \"How to update .NET when migrating from an unsupported CU\"; Exchange Server supportability matrix (Microsoft Learn), .NET Framework.";

/// `dotnet.upgrade-order`; its catalog entry is [`DOC`].
pub struct DotnetUpgradeOrder;

impl Rule for DotnetUpgradeOrder {
    fn id(&self) -> &'static str {
        "dotnet.upgrade-order"
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
        let Some(r) = unsuccessful_last_run(h) else {
            return;
        };
        let (Some(target), Some(from)) = (
            Build::parse(&r.setup_version).and_then(|b| cx.catalog.cu_of(&b)),
            h.exsetup.or(h.msi).and_then(|b| cx.catalog.cu_of(&b)),
        ) else {
            return;
        };
        if target.build <= from.build || h.dotnet_release == 0 {
            return;
        }
        let (Some((t_lo, t_hi)), Some((_, f_hi))) = (
            supported(&target.product, &target.cu),
            supported(&from.product, &from.cu),
        ) else {
            return;
        };
        let installed = family(h.dotnet_release);
        if installed.is_some_and(|i| i >= t_lo) {
            return;
        }
        let step = if f_hi >= t_lo {
            format!(
                "install .NET {} (the newest {} supports; {} accepts {} to {}) before the upgrade",
                name(f_hi),
                from.friendly(),
                target.friendly(),
                name(t_lo),
                name(t_hi)
            )
        } else {
            format!(
                "{} supports no .NET release that {} accepts: upgrade to an intermediate CU first",
                from.friendly(),
                target.friendly()
            )
        };
        let ev = vec![
            run_evidence(r),
            Evidence::new(
                format!("upgrade from {} to {}", from.friendly(), target.friendly()),
                &r.provenance,
            ),
            Evidence::new(
                format!(
                    "Release {} (.NET {})",
                    h.dotnet_release,
                    installed.map_or("older than 4.5", name)
                ),
                &h.dotnet_provenance,
            ),
            Evidence::new(step.clone(), ""),
        ];
        let title = format!("{} upgrade needs .NET first: {step}", target.friendly());
        out.push(self.finding(h, title, ev, &action_of(DOC)));
    }
}
