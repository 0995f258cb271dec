//! `services.disabled-after-update`.

use std::collections::BTreeMap;

use super::{disabled_by_default, sc_run_fact, update_managed};
use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, first_of, line_of, utc, Context, Rule, Sink};
use crate::view::{HostView, ScRun};
use exfleet_dataset::ScActionRow;
use exfleet_proto::kinds::ScActionKind;

/// The catalog entry.
pub const DOC: &str = "## Detects
Exchange services (or IIS, WinMgmt and the others ServiceControl.ps1 handles) left Disabled after an update: their start type is 4 in the SYSTEM hive, or ServiceControl.log shows a ServiceControl.ps1 run that disabled them and no later run that restored them. MSExchangeIMAP4/IMAP4BE/POP3/POP3BE are Manual or Disabled by default and never count; RemoteRegistry and pla count only when the log disabled them.
## Evidence
Each service with its start type and registry key, the last Service Control Manager 7040 event that changed its start type (old and new type as logged, in the system's language), whether ServiceControl.log agrees (the 'Disabling service' line with its number, and no 'Enabling services' after it), and the services the log disabled that were restored since.
## Action
Set each listed service back to its normal start type (Automatic for the MSExchange*, W3SVC, IISAdmin and WinMgmt services; see ServiceState.xml if it is still there) and start them, or re-run the SU elevated so that its restore step runs; ExchangeSetupLogs\\ServiceControl.log shows what was disabled ('Disabling service').
## Source
Repair failed installations of Exchange cumulative and security updates (Microsoft Learn): \"Services are not started after Security Update installation is completed\" (ServiceControl.log, 'Disabling services').";

/// `services.disabled-after-update`; its catalog entry is [`DOC`].
pub struct DisabledAfterUpdate;

impl Rule for DisabledAfterUpdate {
    fn id(&self) -> &'static str {
        "services.disabled-after-update"
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
        // What the runs disabled and no later run restored, by lower-case service name, with
        // the run that did it.
        let mut by_log: BTreeMap<String, (&ScRun, &ScActionRow)> = BTreeMap::new();
        for r in &h.sc_runs {
            for a in &r.actions {
                match a.kind {
                    ScActionKind::Disable
                        if !disabled_by_default(&a.service) && !a.service.is_empty() =>
                    {
                        by_log.insert(a.service.to_ascii_lowercase(), (r, a));
                    }
                    ScActionKind::EnableRoles | ScActionKind::RemoveState => by_log.clear(),
                    ScActionKind::Enable => {
                        by_log.remove(&a.service.to_ascii_lowercase());
                    }
                    _ => {}
                }
            }
        }
        let run = by_log.values().next().map(|(r, _)| *r);
        let sc_prov = run.map(|r| r.provenance.as_str()).unwrap_or_default();
        let has_log = !h.sc_runs.is_empty();
        let mut ev = Vec::new();
        let mut names = Vec::new();
        if h.services.is_empty() {
            // No SYSTEM hive: the log alone speaks.
            let mut left: Vec<&ScActionRow> = by_log.values().map(|(_, a)| *a).collect();
            left.sort_by_key(|a| a.line);
            for a in left {
                names.push(a.service.clone());
                ev.push(Evidence::new(
                    format!("{} (no restore after it; start type not collected)", a.text),
                    line_of(sc_prov, a.line),
                ));
            }
        } else {
            for s in h.services.iter().filter(|s| s.start == 4) {
                let logged = by_log.get(&s.name.to_ascii_lowercase()).map(|(_, a)| a);
                if logged.is_none() && !update_managed(&s.name) {
                    continue;
                }
                names.push(s.name.clone());
                let agrees = match logged {
                    Some(a) => format!(
                        "; ServiceControl.log line {} disabled it and nothing restored it",
                        a.line
                    ),
                    None if has_log => "; ServiceControl.log does not show it left disabled".into(),
                    None => "; no ServiceControl.log in the copy".into(),
                };
                ev.push(Evidence::new(
                    format!("{}: Start=4 (Disabled){agrees}", s.name),
                    &s.provenance,
                ));
            }
            let restored: Vec<&str> = by_log
                .values()
                .filter(|(_, a)| {
                    h.services
                        .iter()
                        .any(|s| s.name.eq_ignore_ascii_case(&a.service) && s.start != 4)
                })
                .map(|(_, a)| a.service.as_str())
                .collect();
            if !restored.is_empty() && !names.is_empty() {
                ev.push(Evidence::new(
                    format!(
                        "disabled by the log but no longer Disabled in the registry: {}",
                        restored.join(", ")
                    ),
                    sc_prov,
                ));
            }
        }
        if names.is_empty() {
            return;
        }
        for name in &names {
            let change = h.events.iter().rev().find(|e| {
                e.event_id == 7040
                    && e.provider == "Service Control Manager"
                    && e.named("param4")
                        .is_some_and(|k| k.eq_ignore_ascii_case(name))
            });
            if let Some(e) = change {
                ev.push(Evidence::new(
                    format!(
                        "7040 at {}: {} start type changed from {} to {}",
                        utc(e.time_ms),
                        name,
                        e.named("param2").unwrap_or("?"),
                        e.named("param3").unwrap_or("?")
                    ),
                    &e.provenance,
                ));
            }
        }
        if let Some(r) = run {
            ev.push(Evidence::new(sc_run_fact(r), &r.provenance));
        }
        let shown = first_of(&names, 5);
        let title = format!(
            "{} service(s) left Disabled after an update: {shown}",
            names.len()
        );
        let mut f = self.finding(h, title, ev, &action_of(DOC));
        f.signature = "services left Disabled after an update".into();
        out.push(f);
    }
}
