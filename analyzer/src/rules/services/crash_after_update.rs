//! `services.crash-after-update`.

use std::collections::BTreeMap;

use exfleet_dataset::EventRow;
use exfleet_proto::kinds::EventKind;

use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, first_of, utc, Context, Rule, Sink};
use crate::view::{HostView, UpdateRun};

/// The catalog entry.
pub const DOC: &str = "## Detects
Services that began crashing or failing to start right after an update: a Service Control Manager event of a service that failed to start (7000, 7009), did not answer in time (7011), stopped with an error (7023) or terminated unexpectedly (7031, 7034), or a process crash (Application Error 1000, .NET Runtime 1026, MSExchange Common 4999 Watson report), within 48 hours after an update run on the host (an MsiInstaller or Windows Update install event other than a Defender definition update, an ExchangeSetup.log run, an MSI log), when the same service or process logged no such event in the 7 days before that update run (a service that failed before the update is not the update's doing).
## Evidence
The update run (what and when, with its record), and for each service or process its first failure after it: the event, how long after the update, what it says (the error, the recovery action, the faulting module), with the event record; how many such events followed.
## Action
Look at the listed services now (Get-Service, the System log): start what is stopped, and read the first failure's error. After an SU, a service that fails to start is most often one the SU left Disabled or whose files were not all replaced: re-run the SU from an elevated prompt, then UpdateCas.ps1 and UpdateConfigFiles.ps1 if OWA or ECP are among them; a crash of an Exchange process after an update is worth a support case with the Watson report.
## Source
Repair failed installations of Exchange cumulative and security updates (Microsoft Learn): services not started after an SU, re-run the SU elevated; Service Control Manager events 7000, 7009, 7011, 7023, 7031, 7034 and Application Error 1000 (Windows event documentation, Microsoft Learn); exfleet's own correlation of update runs and failures (README.md, \"The analyzer\").";

/// `services.crash-after-update`; its catalog entry is [`DOC`].
pub struct CrashAfterUpdate;

/// A failure this long after an update run is counted as the update's.
const AFTER_MS: i64 = 48 * 3_600_000;
/// A failure of the same service this long before the update run makes it an old one.
const QUIET_BEFORE_MS: i64 = 7 * 86_400_000;

/// Failure kinds this rule counts.
pub const FAILURES: [EventKind; 4] = [
    EventKind::ServiceStartFailed,
    EventKind::ServiceHung,
    EventKind::ServiceCrashed,
    EventKind::ProcessCrashed,
];

impl Rule for CrashAfterUpdate {
    fn id(&self) -> &'static str {
        "services.crash-after-update"
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
        let runs: Vec<UpdateRun> = h
            .update_runs()
            .into_iter()
            .filter(|u| !u.definition_update)
            .collect();
        let failures: Vec<&EventRow> = h.events_of(&FAILURES).collect();
        // Per update run, the services that began failing after it: their first failure
        // and how many there were.
        let mut by_run: BTreeMap<usize, BTreeMap<String, (&EventRow, usize)>> = BTreeMap::new();
        for e in &failures {
            let subject = e.subject.to_ascii_lowercase();
            let Some(i) = runs.iter().rposition(|u| u.at_ms <= e.time_ms) else {
                continue;
            };
            let u = &runs[i];
            if e.time_ms - u.at_ms > AFTER_MS {
                continue;
            }
            let failed_before = failures.iter().any(|x| {
                x.subject.eq_ignore_ascii_case(&subject)
                    && x.time_ms < u.at_ms
                    && x.time_ms >= u.at_ms - QUIET_BEFORE_MS
            });
            if failed_before {
                continue;
            }
            by_run
                .entry(i)
                .or_default()
                .entry(subject)
                .and_modify(|(_, n)| *n += 1)
                .or_insert((e, 1));
        }
        // The latest run with failures after it: the one that matters now.
        let Some((i, services)) = by_run.into_iter().next_back() else {
            return;
        };
        let u = &runs[i];
        let mut ev = vec![Evidence::new(
            format!("update run: {} at {}", u.what, utc(u.at_ms)),
            &u.provenance,
        )];
        let mut named: Vec<(&EventRow, usize)> = services.into_values().collect();
        named.sort_by_key(|(e, _)| e.time_ms);
        for (e, n) in &named {
            ev.push(Evidence::new(
                format!(
                    "{}: {} {} at {}, {} minutes after the update: {}{}",
                    e.subject,
                    e.provider,
                    e.event_id,
                    utc(e.time_ms),
                    (e.time_ms - u.at_ms) / 60_000,
                    e.detail,
                    if *n > 1 {
                        format!(" ({n} such events)")
                    } else {
                        String::new()
                    }
                ),
                &e.provenance,
            ));
        }
        let names: Vec<&str> = named.iter().map(|(e, _)| e.subject.as_str()).collect();
        let title = format!(
            "{} service{} or process{} failed within 48 hours after the update run of {}: {}",
            names.len(),
            if names.len() == 1 { "" } else { "s" },
            if names.len() == 1 { "" } else { "es" },
            utc(u.at_ms),
            first_of(&names, 5)
        );
        let mut f = self.finding(h, title, ev, &action_of(DOC));
        f.signature = "failures after update".into();
        out.push(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::view::test_events::event;

    fn run(events: Vec<EventRow>) -> Vec<crate::finding::Finding> {
        let catalog = Catalog::embedded();
        let cx = Context {
            catalog: &catalog,
            as_of: chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
        };
        let h = HostView {
            events,
            ..Default::default()
        };
        let mut out = Sink::empty();
        CrashAfterUpdate.check(&h, &cx, &mut out);
        out.into_vec()
    }

    fn su(hours: f64) -> EventRow {
        event(
            "MsiInstaller",
            1022,
            EventKind::UpdateInstalled,
            hours,
            "SU (KB5050000)",
        )
    }

    fn crash(hours: f64, service: &str) -> EventRow {
        event(
            "Service Control Manager",
            7031,
            EventKind::ServiceCrashed,
            hours,
            service,
        )
    }

    #[test]
    fn failures_that_begin_after_an_update() {
        let f = run(vec![
            su(0.0),
            crash(1.0, "MSExchangeTransport"),
            crash(2.0, "MSExchangeTransport"),
        ]);
        assert_eq!(f.len(), 1);
        assert!(f[0].title.contains("MSExchangeTransport"), "{}", f[0].title);
        assert!(f[0].evidence[1].fact.contains("(2 such events)"));
        // Too late after it.
        assert!(run(vec![su(0.0), crash(49.0, "MSExchangeTransport")]).is_empty());
        // Failing before the update already.
        assert!(run(vec![
            crash(-30.0, "MSExchangeHM"),
            su(0.0),
            crash(1.0, "MSExchangeHM")
        ])
        .is_empty());
        // No update before it.
        assert!(run(vec![crash(1.0, "MSExchangeTransport")]).is_empty());
        // A Defender definition update is no update run.
        let defender = event(
            "Microsoft-Windows-WindowsUpdateClient",
            19,
            EventKind::UpdateInstalled,
            0.0,
            "Security Intelligence Update for Microsoft Defender Antivirus - KB2267602 (Version 1.421.1236.0)",
        );
        assert!(run(vec![defender, crash(1.0, "MSExchangeTransport")]).is_empty());
    }
}
