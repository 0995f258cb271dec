//! `build.iu-blocks-su`.

use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, Context, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
An Interim Update (IU) is installed: the next SU for the CU will not install over it (\"The Setup Wizard has determined that this Interim Update is incompatible with the current ... configuration\"), and SUs are cumulative, so the IU must go first.
## Evidence
The installed-update key of the IU, its PackageName and KB.
## Action
Uninstall the IU (Programs and Features, View installed updates, or `msiexec /package {product code} MSIPATCHREMOVE={patch code}`), reboot, then install the newest SU for the CU, which includes the IU's fix.
## Source
Repair failed installations of Exchange cumulative and security updates (Microsoft Learn): \"Security Update Installation fails due to previous IU installation\".";

/// `build.iu-blocks-su`; its catalog entry is [`DOC`].
pub struct IuBlocksSu;

impl Rule for IuBlocksSu {
    fn id(&self) -> &'static str {
        "build.iu-blocks-su"
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
    fn check(&self, h: &HostView, _: &Context, out: &mut Sink) {
        let ius: Vec<_> = h
            .updates
            .iter()
            .filter(|u| {
                u.package_name
                    .to_ascii_lowercase()
                    .contains("interim update")
            })
            .collect();
        if ius.is_empty() {
            return;
        }
        let ev = ius
            .iter()
            .map(|u| Evidence::new(format!("{}: \"{}\"", u.kb, u.package_name), &u.provenance))
            .collect();
        let kbs: Vec<&str> = ius.iter().map(|u| u.kb.as_str()).collect();
        let title = format!(
            "Interim Update {} installed: remove it before the next SU",
            kbs.join(", ")
        );
        let mut f = self.finding(h, title, ev, &action_of(DOC));
        f.signature = format!("Interim Update {}", kbs.join(", "));
        out.push(f);
    }
}
