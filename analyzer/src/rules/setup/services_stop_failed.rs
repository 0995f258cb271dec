//! `setup.services-stop-failed`.

use crate::finding::{Evidence, Severity};
use crate::rules::services::{last_stopping_run, sc_run_fact};
use crate::rules::{action_of, line_of, Context, Rule, Sink};
use crate::view::HostView;
use exfleet_proto::kinds::{ScActionKind, SetupLineKind};

/// The catalog entry.
pub const DOC: &str = "## Detects
Services did not stop when setup or an SU install asked them to: the ServiceControl.ps1 run that stopped services for the last SU install (ServiceControl.log) timed out on a service, killed it instead of stopping it ('Killing instead of Stopping'), or logged an [Error] while stopping; or the last ExchangeSetup.log run logged such a ServiceControl error.
## Evidence
The ServiceControl.ps1 run, and each time-out, kill and error line with its line number and service.
## Action
Find what holds the service (a hung process, antivirus scanning Exchange folders, a backup agent): stop it, stop the listed services by hand (Stop-Service -Force, then the process if it hangs), reboot if a service stays in Stopping, then run the update again elevated and check that every Exchange service is back to Automatic and running.
## Source
Repair failed installations of Exchange cumulative and security updates (Microsoft Learn): \"Installation fails because service cannot stop properly\".";

/// Words of a stop failure in an ExchangeSetup.log line.
const STOP_WORDS: [&str; 5] = [
    "timed out",
    "did not stop",
    "failed to stop",
    "could not stop",
    "Killing",
];

/// `setup.services-stop-failed`; its catalog entry is [`DOC`].
pub struct ServicesStopFailed;

impl Rule for ServicesStopFailed {
    fn id(&self) -> &'static str {
        "setup.services-stop-failed"
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
        let mut ev = Vec::new();
        let mut services: Vec<String> = Vec::new();
        if let Some(r) = last_stopping_run(h) {
            let hits: Vec<_> = r
                .actions
                .iter()
                .filter(|a| match a.kind {
                    ScActionKind::Kill | ScActionKind::StopFailed => true,
                    ScActionKind::Error => a.text.to_ascii_lowercase().contains("stop"),
                    _ => false,
                })
                .collect();
            if !hits.is_empty() {
                ev.push(Evidence::new(sc_run_fact(r), &r.provenance));
            }
            for a in hits {
                if !a.service.is_empty() && !services.contains(&a.service) {
                    services.push(a.service.clone());
                }
                ev.push(Evidence::new(
                    a.text.clone(),
                    line_of(&r.provenance, a.line),
                ));
            }
        }
        if let Some(r) = h.last_run() {
            for l in r.lines.iter().filter(|l| {
                matches!(l.kind, SetupLineKind::Error | SetupLineKind::Warning)
                    && l.text.contains("ServiceControl")
                    && !l.text.contains("Reverse")
                    && STOP_WORDS.iter().any(|w| l.text.contains(w))
            }) {
                ev.push(Evidence::new(
                    l.text.clone(),
                    line_of(&r.provenance, l.line),
                ));
            }
        }
        if ev.is_empty() {
            return;
        }
        let title = if services.is_empty() {
            "Services did not stop during the update".to_string()
        } else {
            format!(
                "Services did not stop during the update: {}",
                services.join(", ")
            )
        };
        let mut f = self.finding(h, title, ev, &action_of(DOC));
        f.signature = "services did not stop during the update".into();
        out.push(f);
    }
}
