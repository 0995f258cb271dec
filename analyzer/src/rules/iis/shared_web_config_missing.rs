//! `iis.shared-web-config-missing`.

use crate::finding::{Evidence, Finding, Severity};
use crate::rules::{action_of, utc, Context, Rule};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
SharedWebConfig.config is missing or not well-formed XML in FrontEnd\\HttpProxy or ClientAccess (the vdir web.config files link to it, so OWA, ECP and the other web services fail); ASP.NET 1309/1310 or front-end proxy 1003 events naming SharedWebConfig.config corroborate it, and alone they fire when the install's folders were not collected.
## Evidence
The file (missing, or its XML error with the line); the events that name it (how many, first and last).
## Action
Regenerate the file from an elevated prompt in the install's Bin folder: `DependentAssemblyGenerator.exe -exchangePath \"$exinstall\\bin\" -exchangePath \"$exinstall\\FrontEnd\\HttpProxy\\bin\" -configFile \"$exinstall\\FrontEnd\\HttpProxy\\SharedWebConfig.config\"` (and the same for ClientAccess with its bin folder), then `iisreset`.
## Source
seeds: OWA/ECP broken by a missing SharedWebConfig.config; reference/evidence.md (SharedWebConfig.config, ASP.NET 1309/1310, proxy 1003).";

/// `iis.shared-web-config-missing`; its catalog entry is [`DOC`].
pub struct SharedWebConfigMissing;

impl Rule for SharedWebConfigMissing {
    fn id(&self) -> &'static str {
        "iis.shared-web-config-missing"
    }
    fn severity(&self) -> Severity {
        Severity::Critical
    }
    fn doc(&self) -> &'static str {
        DOC
    }
    fn check(&self, h: &HostView, _: &Context, out: &mut Vec<Finding>) {
        let mut ev = Vec::new();
        for f in h
            .files
            .config_files
            .iter()
            .filter(|f| f.kind == "shared_web_config")
        {
            if !f.exists {
                ev.push(Evidence::new(
                    format!("{} is missing", f.path),
                    &f.provenance,
                ));
            } else if !f.xml_error.is_empty() {
                ev.push(Evidence::new(
                    format!("{} is not well-formed XML: {}", f.path, f.xml_error),
                    &f.provenance,
                ));
            }
        }
        let events: Vec<_> = h
            .events
            .iter()
            .filter(|e| {
                let web = (e.provider.starts_with("ASP.NET") && matches!(e.event_id, 1309 | 1310))
                    || (e.provider == "MSExchange Front End HTTP Proxy" && e.event_id == 1003);
                web && e.text().contains("SharedWebConfig.config")
            })
            .collect();
        let collected = h.files.front_end_present || h.files.client_access_present;
        if let (Some(first), Some(last)) = (events.first(), events.last()) {
            if !ev.is_empty() || !collected {
                ev.push(Evidence::new(
                    format!(
                        "{} event(s) naming SharedWebConfig.config from {} to {}",
                        events.len(),
                        utc(first.time_ms),
                        utc(last.time_ms)
                    ),
                    &last.provenance,
                ));
            }
        }
        if ev.is_empty() {
            return;
        }
        let mut f = self.finding(
            h,
            "SharedWebConfig.config is missing or invalid: OWA and ECP fail".into(),
            ev,
            &action_of(DOC),
        );
        f.signature = "SharedWebConfig.config missing or invalid".into();
        out.push(f);
    }
}
