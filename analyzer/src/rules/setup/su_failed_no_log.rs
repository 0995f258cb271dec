//! `setup.su-failed-no-log`.

use exfleet_dataset::EventRow;
use exfleet_proto::kinds::EventKind;

use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, utc, Context, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
An Exchange security update (SU) install failed according to the event logs, and no verbose MSI log of that install was collected: MsiInstaller 1023 (patch failed, with its error code), 1024 (failed and no log was written), 1036 (update status other than 0 or 3010), 11708 (installation failed) for the Exchange product or an update that names Exchange, or WindowsUpdateClient 20 for an Exchange update. An install counts only when nothing later succeeded for it: no later install event of the same update (the same KB) and no installed-update key for its KB. An install with an MSI log within the 12 hours before its event (or naming its KB) is left to the rules that read that log.
## Evidence
The failing event with the update, its KB, the result code and what it means (1603 fatal error, 1642 not applicable to this CU), with the event record; the number of failed attempts.
## Action
Install the SU again from an elevated command prompt with a verbose log (`msiexec /p <SU>.msp /lv* C:\\Temp\\SU.log`), then read the log: 1642 means the SU is for another CU (install the SU of the CU the server runs); 1603 says its cause a few lines above \"Return value 3\".
## Source
Repair failed installations of Exchange cumulative and security updates (Microsoft Learn): install the SU from an elevated prompt, read the MSI log; Windows Installer event logging (Microsoft Learn): MsiInstaller events 1022, 1023, 1024 and 1036 and their error codes; MsiExec.exe and InstMsi.exe error messages (Microsoft Learn): 1603, 1642, 3010.";

/// `setup.su-failed-no-log`; its catalog entry is [`DOC`].
pub struct SuFailedNoLog;

/// An MSI log written this long before a failure event belongs to that install.
const LOG_BEFORE_MS: i64 = 12 * 3_600_000;

/// What a Windows Installer result code means.
pub fn meaning(code: i64) -> &'static str {
    match code {
        1603 => "fatal error during installation",
        1642 => "not applicable: the update is for another version (CU) of the product",
        1618 => "another installation was in progress",
        1638 => "another version of the product is installed",
        1641 | 3010 => "succeeded, a reboot is required",
        0 => "succeeded",
        _ => "failed",
    }
}

/// Whether an update event is about Exchange (its MSI product or the update's name).
fn exchange(e: &EventRow) -> bool {
    let about = |s: &str| s.to_ascii_lowercase().contains("exchange");
    about(&e.product) || about(&e.subject)
}

/// The same update: the same KB, or the same name when there is no KB.
fn same_update(a: &EventRow, b: &EventRow) -> bool {
    if a.kb.is_empty() || b.kb.is_empty() {
        a.subject.eq_ignore_ascii_case(&b.subject)
    } else {
        a.kb == b.kb
    }
}

impl Rule for SuFailedNoLog {
    fn id(&self) -> &'static str {
        "setup.su-failed-no-log"
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
        // 1033 is a product install (a CU's setup), which ExchangeSetup.log judges.
        let failures: Vec<&EventRow> = h
            .events_of(&[EventKind::UpdateFailed])
            .filter(|e| e.event_id != 1033 && exchange(e))
            .collect();
        let mut reported: Vec<&EventRow> = Vec::new();
        for (i, e) in failures.iter().enumerate().rev() {
            if reported.iter().any(|r| same_update(r, e)) {
                continue;
            }
            let succeeded_later = h
                .events_of(&[EventKind::UpdateInstalled])
                .any(|s| s.time_ms >= e.time_ms && same_update(s, e))
                || (!e.kb.is_empty() && h.updates.iter().any(|u| u.kb.eq_ignore_ascii_case(&e.kb)));
            let logged = h.msi_logs.iter().any(|l| {
                let near = l.started_at_ms > 0
                    && l.started_at_ms <= e.time_ms + 60_000
                    && l.started_at_ms >= e.time_ms - LOG_BEFORE_MS;
                let names = !e.kb.is_empty()
                    && (l.update_name.to_ascii_uppercase().contains(&e.kb)
                        || l.patch.to_ascii_uppercase().contains(&e.kb));
                near || names
            });
            reported.push(e);
            if succeeded_later || logged {
                continue;
            }
            let attempts = failures[..=i].iter().filter(|x| same_update(x, e)).count();
            let code = e.result_code;
            let result = if code >= 0 {
                format!("{code} ({})", meaning(code))
            } else {
                "failed, no code".to_string()
            };
            let mut ev = vec![Evidence::new(
                format!(
                    "{} {} at {}: {}{}{}: {result}",
                    e.provider,
                    e.event_id,
                    utc(e.time_ms),
                    e.subject,
                    if e.product.is_empty() || e.product == e.subject {
                        String::new()
                    } else {
                        format!(" of {}", e.product)
                    },
                    if e.subject.to_ascii_uppercase().contains(&e.kb) {
                        String::new()
                    } else {
                        format!(" ({})", e.kb)
                    },
                ),
                &e.provenance,
            )];
            if attempts > 1 {
                ev.push(Evidence::new(
                    format!("{attempts} failed attempts of this update in the event logs"),
                    "",
                ));
            }
            ev.push(Evidence::new(
                "no MSI verbose log of this install was collected".to_string(),
                "",
            ));
            let code_text = if code >= 0 {
                code.to_string()
            } else {
                "no code".into()
            };
            let title = format!(
                "SU install of {} failed ({code_text}) according to the event log, with no MSI log",
                if e.kb.is_empty() { &e.subject } else { &e.kb }
            );
            let mut f = self.finding(h, title, ev, &action_of(DOC));
            f.signature = format!("su failed {code_text}");
            out.push(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::view::test_events::{event, with_code, HOUR, T0};
    use exfleet_dataset::{MsiLogRow, UpdateRow};

    const SU: &str = "Security Update for Exchange Server 2019 CU15 SU1 (KB5050000)";

    fn failed(hours: f64) -> EventRow {
        let mut e = with_code(
            event("MsiInstaller", 1024, EventKind::UpdateFailed, hours, SU),
            1603,
        );
        e.product = "Microsoft Exchange Server".into();
        e
    }

    fn run(h: &HostView) -> Vec<crate::finding::Finding> {
        let catalog = Catalog::embedded();
        let cx = Context {
            catalog: &catalog,
            as_of: chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
        };
        let mut out = Sink::empty();
        SuFailedNoLog.check(h, &cx, &mut out);
        out.into_vec()
    }

    #[test]
    fn a_failure_without_log_fires_once_per_update() {
        let h = HostView {
            events: vec![failed(0.0), failed(2.0)],
            ..Default::default()
        };
        let f = run(&h);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert!(f[0].title.contains("KB5050000") && f[0].title.contains("1603"));
        assert!(f[0].evidence[1].fact.starts_with("2 failed attempts"));
        assert_eq!(f[0].evidence[0].provenance, "System.evtx#record 1020");
    }

    #[test]
    fn a_log_a_later_success_or_the_installed_key_explain_it() {
        let log = HostView {
            events: vec![failed(0.0)],
            msi_logs: vec![crate::view::MsiLog {
                log: MsiLogRow {
                    started_at_ms: T0 - HOUR,
                    ..Default::default()
                },
                lines: Vec::new(),
            }],
            ..Default::default()
        };
        assert!(run(&log).is_empty());
        let later = HostView {
            events: vec![
                failed(0.0),
                with_code(
                    event("MsiInstaller", 1022, EventKind::UpdateInstalled, 3.0, SU),
                    0,
                ),
            ],
            ..Default::default()
        };
        assert!(run(&later).is_empty());
        let key = HostView {
            events: vec![failed(0.0)],
            updates: vec![UpdateRow {
                kb: "KB5050000".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert!(run(&key).is_empty());
        // A failed Windows update is not an Exchange SU.
        let windows = HostView {
            events: vec![with_code(
                event(
                    "Microsoft-Windows-WindowsUpdateClient",
                    20,
                    EventKind::UpdateFailed,
                    0.0,
                    "2026-10 Cumulative Update for Microsoft server operating system (KB5066835)",
                ),
                0x80240022,
            )],
            ..Default::default()
        };
        assert!(run(&windows).is_empty());
    }
}
