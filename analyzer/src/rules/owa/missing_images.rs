//! `owa.missing-images`.

use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, Context, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
The OWA or ECP resource folder of the version in use is missing, so pages load without images and scripts: ClientAccess\\Owa\\prem\\<OwaVersion> or FrontEnd\\HttpProxy\\owa\\auth\\<OwaVersion> (OwaVersion from the setup key), or ClientAccess\\ecp\\<version of Microsoft.Exchange.Management.ControlPanel.dll>. Usually the SU was installed without elevation.
## Evidence
The version in use and where it comes from; the version folders that are there.
## Action
Re-install the SU from an elevated prompt (Run as administrator), then `iisreset`.
## Source
Repair failed installations of Exchange cumulative and security updates (Microsoft Learn): \"ECP Missing Images\" (reinstall the SU from an elevated prompt).";

/// `owa.missing-images`; its catalog entry is [`DOC`].
pub struct MissingImages;

impl Rule for MissingImages {
    fn id(&self) -> &'static str {
        "owa.missing-images"
    }
    fn severity(&self) -> Severity {
        Severity::Critical
    }
    fn doc(&self) -> &'static str {
        DOC
    }
    fn module_path(&self) -> &'static str {
        module_path!()
    }
    fn check(&self, h: &HostView, _: &Context, out: &mut Sink) {
        let mut ev = Vec::new();
        let mut missing = Vec::new();
        let mut check =
            |present: bool, version: &str, from: &str, folder: &str, have: &[String]| {
                if !present
                    || version.is_empty()
                    || have.is_empty()
                    || have.iter().any(|v| v == version)
                {
                    return;
                }
                missing.push(format!("{folder}\\{version}"));
                ev.push(Evidence::new(
                    format!(
                        "{folder}\\{version} is missing ({from} is {version}); present: {}",
                        have.join(", ")
                    ),
                    &h.exchange_files_provenance,
                ));
            };
        check(
            h.client_access_present,
            &h.owa_version,
            "OwaVersion",
            r"ClientAccess\Owa\prem",
            &h.owa_prem_versions,
        );
        check(
            h.front_end_present,
            &h.owa_version,
            "OwaVersion",
            r"FrontEnd\HttpProxy\owa\auth",
            &h.owa_auth_versions,
        );
        check(
            h.client_access_present,
            &h.ecp_dll_version,
            "the ECP DLL's version",
            r"ClientAccess\ecp",
            &h.ecp_versions,
        );
        if ev.is_empty() {
            return;
        }
        let title = format!("OWA/ECP resource folders missing: {}", missing.join(", "));
        let mut finding = self.finding(h, title, ev, &action_of(DOC));
        finding.signature = "OWA/ECP resource folder missing".into();
        out.push(finding);
    }
}
