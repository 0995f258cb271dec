//! `services.not-running`.

use super::update_managed;
use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, first_of, Context, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
Services that should run are not running: in the saved `sc queryex` capture (exfleet/sc-queryex.txt, saved into the copy by whoever made it), an Exchange service (MSExchange*, except the POP3/IMAP4 ones, Manual by default) or one Exchange needs (W3SVC, IISAdmin, WinMgmt, HostControllerService, FMS, ...) whose start type is Automatic or Disabled is not RUNNING. Without a capture, running state is unknown and nothing is said.
## Evidence
Each service with its state and exit code from the capture (with its line), and its start type from the SYSTEM hive.
## Action
Start the services (`Start-Service`), Microsoft Exchange Active Directory Topology first; if one is Disabled, set it back to Automatic first (see services.disabled-after-update); if one stops again, read its exit code and the Application log.
## Source
Exchange Health Checker (CSS-Exchange HealthChecker.ps1, aka.ms/ExchangeHealthChecker): \"Critical Services Not Running\"; Repair failed installations of Exchange cumulative and security updates (Microsoft Learn): \"Services are not started after Security Update installation is completed\"; the collector's sc_queryex reader (README.md).";

/// `services.not-running`; its catalog entry is [`DOC`].
pub struct NotRunning;

impl Rule for NotRunning {
    fn id(&self) -> &'static str {
        "services.not-running"
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
        let mut names = Vec::new();
        for s in &h.run_states {
            if s.state == "RUNNING" || !update_managed(&s.name) {
                continue;
            }
            let start = h
                .services
                .iter()
                .find(|x| x.name.eq_ignore_ascii_case(&s.name))
                .map(|x| x.start);
            let start_text = match start {
                Some(2) => "Automatic",
                Some(4) => "Disabled",
                // Manual, or not in the hive: not expected to run.
                _ => continue,
            };
            names.push(s.name.clone());
            ev.push(Evidence::new(
                format!(
                    "{}: {} (exit code {}), start type {start_text}",
                    s.name, s.state, s.exit_code
                ),
                &s.provenance,
            ));
        }
        if names.is_empty() {
            return;
        }
        let shown = first_of(&names, 5);
        let title = format!(
            "{} service(s) that should run are stopped: {shown}",
            names.len()
        );
        let mut f = self.finding(h, title, ev, &action_of(DOC));
        f.signature = "Exchange services stopped".into();
        out.push(f);
    }
}
