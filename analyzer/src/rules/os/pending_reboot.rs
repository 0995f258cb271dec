//! `os.pending-reboot`.

use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, Context, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
A reboot is pending: PendingFileRenameOperations in the SYSTEM hive, UpdateExeVolatile Flags not 0, or the Component Based Servicing RebootPending / Windows Update RebootRequired keys (volatile keys, so often absent from an offline copy: their absence proves nothing).
## Evidence
Each indicator with the value found and its registry location.
## Action
Reboot the server before installing a CU or SU (setup stops on a pending reboot) and after one (files replaced at boot are not in use until then); put the DAG member in maintenance mode first.
## Source
Exchange Health Checker (CSS-Exchange HealthChecker.ps1, aka.ms/ExchangeHealthChecker) and CSS-Exchange SetupAssist.ps1 (aka.ms/ExSetupScripts): pending reboot (PendingFileRenameOperations, UpdateExeVolatile, Component Based Servicing, Windows Update; aka.ms/HC-RebootPending, aka.ms/SA-RebootPending); Repair failed installations of Exchange cumulative and security updates (Microsoft Learn): reboot before installing a CU or SU.";

/// `os.pending-reboot`; its catalog entry is [`DOC`].
pub struct PendingReboot;

impl Rule for PendingReboot {
    fn id(&self) -> &'static str {
        "os.pending-reboot"
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
        if h.pending_reboots.is_empty() {
            return;
        }
        let ev: Vec<Evidence> = h
            .pending_reboots
            .iter()
            .map(|r| {
                let mut detail = r.detail.replace('\n', ", ");
                if detail.len() > 300 {
                    detail.truncate(300);
                    detail.push_str("...");
                }
                Evidence::new(format!("{}: {detail}", r.indicator), &r.provenance)
            })
            .collect();
        let names: Vec<&str> = h
            .pending_reboots
            .iter()
            .map(|r| r.indicator.as_str())
            .collect();
        let title = format!("A reboot is pending ({})", names.join(", "));
        let mut f = self.finding(h, title, ev, &action_of(DOC));
        f.signature = "reboot pending".into();
        out.push(f);
    }
}
