//! `build.su-wrong-cu`.

use crate::catalog::Build;
use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, line_of, Context, Rule, Sink};
use crate::view::HostView;

use super::package;
use exfleet_proto::kinds::MsiLineKind;

/// The catalog entry.
pub const DOC: &str = "## Detects
An installed SU or IU targets a CU other than the one installed on the server (the setup key's CU, or ExSetup.exe's when the key is missing): \"the upgrade patch cannot be installed by the Windows Installer service\".
An attempted one shows in its MSI verbose log: the patch sequencer found it not applicable and the install ended with 1642.
## Evidence
The installed-update key, its PackageName and the CU it names; or the MSI log with the patch, the update's name, the error code and the installed product's version; the server's CU.
## Action
Uninstall the update meant for the other CU, then download and install the SU published for the server's own CU.
## Source
Repair failed installations of Exchange cumulative and security updates (Microsoft Learn): \"The upgrade patch cannot be installed by the Windows Installer service\"; Exchange Server build numbers and release dates (Microsoft Learn: the KB of each SU and the CU it is for).";

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
    fn module_path(&self) -> &'static str {
        module_path!()
    }
    fn check(&self, h: &HostView, cx: &Context, out: &mut Sink) {
        // SUs patch the installed MSI product: the CU the setup key records.
        let logged = h
            .msi_logs
            .iter()
            .find_map(|l| Build::parse(&l.product_version));
        let Some(cu) = h
            .msi
            .or(h.exsetup)
            .or(logged)
            .and_then(|b| cx.catalog.cu_of(&b))
        else {
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
        for log in h.standing_msi_failures() {
            if !log.not_applicable && log.result() != 1642 {
                continue;
            }
            let target = package::target(&log.update_name);
            if target
                .as_ref()
                .is_some_and(|(p, c)| *p == cu.product && *c == cu.cu)
            {
                continue;
            }
            let target = target
                .map(|(p, c)| format!(" targets {p} {c}"))
                .unwrap_or_default();
            ev.push(Evidence::new(
                format!(
                    "MSI log: patch {} (\"{}\"){target}, not applicable to the installed product {}: error {}",
                    log.patch,
                    log.update_name,
                    log.product_version,
                    log.result()
                ),
                &log.provenance,
            ));
            for l in log
                .lines
                .iter()
                .filter(|l| l.kind != MsiLineKind::SlowAction)
                .take(4)
            {
                ev.push(Evidence::new(
                    l.text.clone(),
                    line_of(&log.provenance, l.line),
                ));
            }
            sig.push(format!("{} not applicable", patch_name(&log.patch)));
        }
        if ev.is_empty() {
            return;
        }
        ev.push(Evidence::new(
            format!("the server runs {}", cu.friendly()),
            &h.msi_provenance,
        ));
        let title = format!(
            "{} update(s) for another CU installed or attempted on {}",
            sig.len(),
            cu.friendly()
        );
        let mut f = self.finding(h, title, ev, &action_of(DOC));
        f.signature = format!("{} on {}", sig.join(", "), cu.friendly());
        out.push(f);
    }
}

/// The file name of a patch path.
fn patch_name(path: &str) -> &str {
    path.rsplit(['\\', '/']).next().unwrap_or(path)
}
