//! `iis.shared-web-config-missing`.

use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, utc, Context, Rule, Sink};
use crate::view::HostView;
use exfleet_proto::kinds::ConfigFileKind;

/// The catalog entry.
pub const DOC: &str = "## Detects
SharedWebConfig.config is missing or not well-formed XML in FrontEnd\\HttpProxy or ClientAccess (the vdir web.config files link to it, so OWA, ECP and the other web services fail); ASP.NET 1309/1310 or front-end proxy 1003 events naming SharedWebConfig.config corroborate it, and alone they fire when the install's folders were not collected.
## Evidence
The file (missing, or its XML error with the line); the events that name it (how many, first and last).
## Action
Regenerate the file from an elevated prompt in the install's Bin folder: `DependentAssemblyGenerator.exe -exchangePath \"$exinstall\\bin\" -exchangePath \"$exinstall\\FrontEnd\\HttpProxy\\bin\" -configFile \"$exinstall\\FrontEnd\\HttpProxy\\SharedWebConfig.config\"` (and the same for ClientAccess with its bin folder), then `iisreset`.
## Source
Repair failed installations of Exchange cumulative and security updates (Microsoft Learn): \"Event ID 1309 and you cannot access EAC or OWA\" (DependentAssemblyGenerator.exe), and the Microsoft Learn article on event 1309 code 3005 it links; Exchange Health Checker (CSS-Exchange HealthChecker.ps1, aka.ms/ExchangeHealthChecker): shared web configuration missing (aka.ms/HC-MissingConfig).";

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
    fn module_path(&self) -> &'static str {
        module_path!()
    }
    fn check(&self, h: &HostView, _: &Context, out: &mut Sink) {
        let mut ev = Vec::new();
        for f in h
            .config_files
            .iter()
            .filter(|f| f.kind == ConfigFileKind::SharedWebConfig)
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
        let collected = h.front_end_present || h.client_access_present;
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
