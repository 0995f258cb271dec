//! `services.state-cache-left`.

use super::sc_run_fact;
use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, first_of, utc, Context, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
A saved service-state file (ServiceState.xml, ServiceState<version>.xml or ServiceStartupMode.xml) is left in ExchangeSetupLogs. Setup and ServiceControl.ps1 delete it when they restore the services, so a file left behind means a run stopped before its restore step (unless an install was running while the copy was taken).
## Evidence
Each file with its last write time and the services and start modes it saved; the last ServiceControl.ps1 run and how it ended.
## Action
Make sure no setup or SU install is running, then re-run the interrupted update elevated so that it completes and restores the services; if that is not possible, set each service back to the start mode the file saved and start it, then move the file out of ExchangeSetupLogs.
## Source
CSS-Exchange SetupAssist.ps1 (aka.ms/ExSetupScripts): \"Services Cache Files\" (Service*.xml left in ExchangeSetupLogs); Repair failed installations of Exchange cumulative and security updates (Microsoft Learn): \"Installation fails because service cannot stop properly\".";

/// `services.state-cache-left`; its catalog entry is [`DOC`].
pub struct StateCacheLeft;

impl Rule for StateCacheLeft {
    fn id(&self) -> &'static str {
        "services.state-cache-left"
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
    fn check(&self, h: &HostView, _: &Context, out: &mut Sink) {
        if h.state_files.is_empty() {
            return;
        }
        let mut ev = Vec::new();
        for f in &h.state_files {
            let saved: &[String] = &f.services;
            let shown = first_of(saved, 8);
            ev.push(Evidence::new(
                format!(
                    "{} written {}, saves {} service(s){}",
                    f.name,
                    utc(f.modified_at_ms),
                    saved.len(),
                    if shown.is_empty() {
                        String::new()
                    } else {
                        format!(": {shown}")
                    }
                ),
                &f.provenance,
            ));
        }
        if let Some(r) = h.sc_runs.last() {
            ev.push(Evidence::new(sc_run_fact(r), &r.provenance));
        }
        let names: Vec<&str> = h.state_files.iter().map(|f| f.name.as_str()).collect();
        let title = format!(
            "{} left in ExchangeSetupLogs by an unfinished update",
            names.join(", ")
        );
        out.push(self.finding(h, title, ev, &action_of(DOC)));
    }
}
