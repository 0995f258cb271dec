//! `build.su-wrong-cu`.

use crate::finding::{Evidence, Finding, Severity};
use crate::rules::{action_of, Context, Rule};
use crate::view::HostView;

use super::package;

/// The catalog entry.
pub const DOC: &str = "## Detects
An installed SU or IU targets a CU other than the one installed on the server (the setup key's CU, or ExSetup.exe's when the key is missing): \"the upgrade patch cannot be installed by the Windows Installer service\".
## Evidence
The installed-update key, its PackageName and the CU it names; the server's CU.
## Action
Uninstall the update meant for the other CU, then download and install the SU published for the server's own CU.
## Source
reference/evidence.md (PackageName names the CU the update targets); seeds: SU for another CU.";

/// `build.su-wrong-cu`; its catalog entry is [`DOC`].
pub struct SuWrongCu;

impl Rule for SuWrongCu {
    fn id(&self) -> &'static str {
        "build.su-wrong-cu"
    }
    fn severity(&self) -> Severity {
        Severity::Error
    }
    fn doc(&self) -> &'static str {
        DOC
    }
    fn check(&self, h: &HostView, cx: &Context, out: &mut Vec<Finding>) {
        // SUs patch the installed MSI product: the CU the setup key records.
        let Some(cu) = h.msi.or(h.exsetup).and_then(|b| cx.catalog.cu_of(&b)) else {
            return;
        };
        let mut ev = Vec::new();
        let mut sig = Vec::new();
        for u in &h.updates {
            let Some((product, target)) = package::target(&u.package_name) else {
                continue;
            };
            if product == cu.product && target == cu.cu {
                continue;
            }
            ev.push(Evidence::new(
                format!(
                    "{}: \"{}\" targets {product} {target}",
                    u.kb, u.package_name
                ),
                &u.provenance,
            ));
            sig.push(format!("{} for {product} {target}", u.kb));
        }
        if ev.is_empty() {
            return;
        }
        ev.push(Evidence::new(
            format!("the server runs {}", cu.friendly()),
            &h.msi_provenance,
        ));
        let title = format!(
            "{} update(s) for another CU installed on {}",
            ev.len() - 1,
            cu.friendly()
        );
        let mut f = self.finding(h, title, ev, &action_of(DOC));
        f.signature = format!("{} on {}", sig.join(", "), cu.friendly());
        out.push(f);
    }
}
