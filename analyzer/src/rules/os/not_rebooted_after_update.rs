//! `os.not-rebooted-after-update`.

use exfleet_collector::readers::event_log::facts::REBOOT_REQUIRED;
use exfleet_proto::kinds::EventKind;

use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, utc, Context, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
An update was installed that needs a reboot to finish, and the server has not started since: an MsiInstaller install event whose result is 3010 (success, reboot required: 1036 or 1033 status 3010) or WindowsUpdateClient 21 (restart required), with no boot event after it (EventLog 6005 or Kernel-General 12, which Windows logs at each start) in the events collected. Files the update replaces are in use until the reboot, so the server runs a mix of old and new binaries.
## Evidence
The last update event that asked for a reboot (the update, its KB, the result, with the event record), the last boot before it when there is one, and the collection time up to which no boot was logged.
## Action
Reboot the server (a DAG member in maintenance mode first, one member at a time), then check that the build and the services are as the update expects; install no further update before the reboot.
## Source
MsiExec.exe and InstMsi.exe error messages (Microsoft Learn): 3010 ERROR_SUCCESS_REBOOT_REQUIRED; Exchange Health Checker (CSS-Exchange, aka.ms/HC-RebootPending): a pending reboot; Repair failed installations of Exchange cumulative and security updates (Microsoft Learn): reboot after installing a CU or SU.";

/// `os.not-rebooted-after-update`; its catalog entry is [`DOC`].
pub struct NotRebootedAfterUpdate;

impl Rule for NotRebootedAfterUpdate {
    fn id(&self) -> &'static str {
        "os.not-rebooted-after-update"
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
        let Some(update) = h
            .events
            .iter()
            .filter(|e| {
                (e.kind == EventKind::UpdateInstalled && e.result_code == REBOOT_REQUIRED)
                    || e.kind == EventKind::RebootRequired
            })
            .max_by_key(|e| e.time_ms)
        else {
            return;
        };
        if h.boots().any(|b| b.time_ms > update.time_ms) {
            return;
        }
        let what = if update.kind == EventKind::RebootRequired {
            "restart required".to_string()
        } else {
            format!("result {REBOOT_REQUIRED} (success, reboot required)")
        };
        let name = if update.kb.is_empty() {
            update.subject.clone()
        } else {
            update.kb.clone()
        };
        let mut ev = vec![Evidence::new(
            format!(
                "{} {} at {}: {}: {what}",
                update.provider,
                update.event_id,
                utc(update.time_ms),
                update.subject
            ),
            &update.provenance,
        )];
        match h.boots().filter(|b| b.time_ms <= update.time_ms).last() {
            Some(b) => ev.push(Evidence::new(
                format!(
                    "last boot before it: {} {} at {}",
                    b.provider,
                    b.event_id,
                    utc(b.time_ms)
                ),
                &b.provenance,
            )),
            None => ev.push(Evidence::new(
                "no boot event in the events collected".to_string(),
                "",
            )),
        }
        ev.push(Evidence::new(
            format!(
                "no boot event (EventLog 6005, Kernel-General 12) after it, up to the collection at {}",
                utc(h.collected_at_ms)
            ),
            "",
        ));
        let title = format!(
            "Not rebooted since {name} was installed at {}, which requires a reboot",
            utc(update.time_ms)
        );
        let mut f = self.finding(h, title, ev, &action_of(DOC));
        f.signature = "not rebooted after update".into();
        out.push(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::view::test_events::{event, with_code};

    fn run(h: &HostView) -> usize {
        let catalog = Catalog::embedded();
        let cx = Context {
            catalog: &catalog,
            as_of: chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
        };
        let mut out = Sink::empty();
        NotRebootedAfterUpdate.check(h, &cx, &mut out);
        out.into_vec().len()
    }

    #[test]
    fn a_boot_after_the_last_update_needing_one_settles_it() {
        let su = |hours| {
            with_code(
                event(
                    "MsiInstaller",
                    1036,
                    EventKind::UpdateInstalled,
                    hours,
                    "SU (KB5050000)",
                ),
                REBOOT_REQUIRED,
            )
        };
        let boot = |hours| event("EventLog", 6005, EventKind::Boot, hours, "");
        let view = |events| HostView {
            events,
            ..Default::default()
        };
        assert_eq!(run(&view(vec![boot(-5.0), su(0.0)])), 1);
        assert_eq!(run(&view(vec![su(0.0), boot(1.0)])), 0);
        // A second update needing a reboot after that boot.
        assert_eq!(run(&view(vec![su(0.0), boot(1.0), su(2.0)])), 1);
        // Installed without asking for a reboot.
        let plain = with_code(su(0.0), 0);
        assert_eq!(run(&view(vec![plain])), 0);
        // Windows Update's restart required.
        let wu21 = event(
            "Microsoft-Windows-WindowsUpdateClient",
            21,
            EventKind::RebootRequired,
            0.0,
            "KB5066835",
        );
        assert_eq!(run(&view(vec![wu21])), 1);
    }
}
