//! `iis.web-config-missing`.

use exfleet_proto::kinds::ConfigFileKind;

use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, first_of, Context, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
A virtual directory's web.config of the install (the owa and ecp folders under ClientAccess and FrontEnd\\HttpProxy, and the other vdirs the collector lists) is missing or is not well-formed XML: IIS answers that virtual directory with HTTP 500 (a CU or SU that stopped halfway, an antivirus quarantine, a hand edit gone wrong). Judged only when the install's ClientAccess or FrontEnd folders are in the evidence.
## Evidence
Each file missing or malformed, with the XML error and its line.
## Action
Restore the file from a healthy server of the same build (the same CU and SU), or re-run the SU or CU setup that writes it; then `iisreset` and test OWA and ECP.
## Source
Microsoft Learn: \"HTTP 500 error when accessing OWA or ECP after installing a CU or SU\"; CSS-Exchange HealthChecker's IIS section (web.config files of the Exchange virtual directories).";

/// `iis.web-config-missing`; its catalog entry is [`DOC`].
pub struct WebConfigMissing;

impl Rule for WebConfigMissing {
    fn id(&self) -> &'static str {
        "iis.web-config-missing"
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
        if !(h.front_end_present || h.client_access_present) {
            return;
        }
        let mut ev = Vec::new();
        let mut files = Vec::new();
        for f in h
            .config_files
            .iter()
            .filter(|f| f.kind == ConfigFileKind::WebConfig)
        {
            // A file the collector could not read is a collection error, not a broken file.
            let fact = if !f.exists {
                format!("{} is missing", f.path)
            } else if !f.xml_error.is_empty() && !f.xml_error.starts_with("unreadable") {
                format!("{} is not well-formed XML: {}", f.path, f.xml_error)
            } else {
                continue;
            };
            ev.push(Evidence::new(fact, &f.provenance));
            files.push(f.path.clone());
        }
        if ev.is_empty() {
            return;
        }
        let title = format!("web.config missing or broken: {}", first_of(&files, 3));
        out.push(self.finding(h, title, ev, &action_of(DOC)));
    }
}
