//! The event rules through collector and analyzer: hosts of the simulator whose event logs are
//! replaced by logs written here (tests/src/evtx.rs). Service failures that begin right after
//! the update runs of several hosts are one `fleet.incident-window`, and each host's
//! `services.crash-after-update`; failures that began before the updates are neither. The
//! report's timeline counts each host's start once beside the update runs.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use exfleet_analyzer::catalog::Catalog;
use exfleet_analyzer::finding::Finding;
use exfleet_analyzer::input::History;
use exfleet_collector::{collect, ServerFiles};
use exfleet_tests::evtx::{to_bytes, utf16, Datum, EventSpec};
use exfleet_tests::fleet::{self, FleetConfig};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// 2026-10-21 09:30 UTC.
const T0: i64 = 1_792_575_000_000;

fn spec(provider: &str, id: u16, at: i64, channel: &str, data: Vec<Datum>) -> EventSpec {
    EventSpec {
        provider: provider.into(),
        event_id: id,
        level: 4,
        time_ms: at,
        channel: channel.into(),
        computer: "ex.contoso.local".into(),
        data,
        binary: Vec::new(),
    }
}

/// The logs of host `i`: a start ten days before its SU (EventLog 6005 and Kernel-General 12),
/// the SU (MsiInstaller 1022) on day `i`, MSExchangeTransport terminating an hour later, and,
/// when `crashed_before`, three days before the SU too.
fn logs(i: i64, crashed_before: bool) -> (Vec<EventSpec>, Vec<EventSpec>) {
    let su = T0 + i * DAY;
    let app = vec![spec(
        "MsiInstaller",
        1022,
        su,
        "Application",
        vec![
            Datum::positional("Microsoft Exchange Server"),
            Datum::positional("Security Update for Exchange Server 2019 CU15 SU1 (KB5050000)"),
            Datum::positional("(NULL)"),
            Datum::positional("(NULL)"),
        ],
    )];
    let crash = |at| EventSpec {
        binary: utf16("MSExchangeTransport\0"),
        level: 2,
        ..spec(
            "Service Control Manager",
            7031,
            at,
            "System",
            vec![
                Datum::named("param1", "Microsoft Exchange Transport"),
                Datum::named("param2", "1"),
                Datum::named("param3", "5000"),
                Datum::named("param4", "1"),
                Datum::named("param5", "Restart the service"),
            ],
        )
    };
    let mut sys = vec![
        spec(
            "Microsoft-Windows-Kernel-General",
            12,
            su - 10 * DAY,
            "System",
            vec![Datum::named("StartTime", "2026-10-11T09:30:00.000000000Z")],
        ),
        spec(
            "EventLog",
            6005,
            su - 10 * DAY + 20_000,
            "System",
            Vec::new(),
        ),
    ];
    if crashed_before {
        sys.push(crash(su - 3 * DAY));
    }
    sys.push(crash(su + HOUR));
    (app, sys)
}

fn find(dir: &Path, name: &str) -> Option<PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.is_dir() {
            if let Some(f) = find(&p, name) {
                return Some(f);
            }
        } else if p.file_name().is_some_and(|n| n == name) {
            return Some(p);
        }
    }
    None
}

/// Four simulated hosts with the logs of [`logs`], collected; the history of their snapshots.
fn history(crashed_before: bool, tmp: &Path) -> History {
    let snaps = tmp.join("snapshots");
    std::fs::create_dir_all(&snaps).unwrap();
    let hosts = fleet::generate(&FleetConfig {
        seed: 3,
        servers: 4,
        fault_rate: 0.0,
    });
    for (i, mut h) in hosts.into_iter().enumerate() {
        h.faults.clear();
        let dir = tmp.join("hosts").join(&h.name);
        fleet::render::write(&h, 3, &dir).unwrap();
        let (app, sys) = logs(i as i64, crashed_before);
        std::fs::write(find(&dir, "Application.evtx").unwrap(), to_bytes(&app)).unwrap();
        std::fs::write(find(&dir, "System.evtx").unwrap(), to_bytes(&sys)).unwrap();
        let s = exfleet_tests::at_sim_time(
            collect(&ServerFiles::new(&dir), Default::default()).unwrap(),
        );
        exfleet_collector::output::write(&s, &snaps.join(format!("{}.json", h.name))).unwrap();
    }
    History::from_snapshots(&snaps).unwrap().0
}

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

fn analyze(h: &History) -> Vec<Finding> {
    exfleet_analyzer::analyze(h, &Catalog::embedded(), as_of())
        .unwrap()
        .findings
}

#[test]
fn service_failures_after_the_updates_are_an_incident() {
    let tmp = tempfile::tempdir().unwrap();
    let h = history(false, tmp.path());
    let findings = analyze(&h);
    let incident = findings
        .iter()
        .find(|f| f.id == "fleet.incident-window" && f.group == "incident:service failure")
        .unwrap_or_else(|| panic!("no incident: {findings:#?}"));
    assert_eq!(incident.hosts.len(), 4, "{incident:#?}");
    assert!(incident
        .evidence
        .iter()
        .all(|e| e.fact.contains("MsiInstaller 1022")
            && e.fact.contains("7031 60 minutes later")
            && e.provenance.contains("System.evtx#record")));
    let crashed: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.id == "services.crash-after-update")
        .collect();
    assert_eq!(crashed.len(), 4);
    assert!(crashed
        .iter()
        .all(|f| f.title.contains("MSExchangeTransport")));

    // The timeline: one start per host (two events each), and the four update runs.
    let end = exfleet_analyzer::analyze::end_of_day(as_of());
    let t = exfleet_analyzer::queries::timeline(&h, end).unwrap();
    assert_eq!(t.reboots.iter().sum::<u32>(), 4, "{:?}", t.reboots);
    assert_eq!(t.days.iter().map(|d| d.0).sum::<u32>(), 4);
    let a = exfleet_analyzer::analyze(&h, &Catalog::embedded(), as_of()).unwrap();
    let out = tmp.path().join("report");
    let written = exfleet_analyzer::report::write(&a, &Catalog::embedded(), &h, &out).unwrap();
    let html = std::fs::read_to_string(written.html).unwrap();
    assert_eq!(
        html.matches("<circle class=\"reboot\"").count(),
        4,
        "one start a day on four days"
    );
}

#[test]
fn service_failures_that_began_before_the_updates_are_not() {
    let tmp = tempfile::tempdir().unwrap();
    let findings = analyze(&history(true, tmp.path()));
    let ids: Vec<(&str, &str)> = findings
        .iter()
        .map(|f| (f.id.as_str(), f.group.as_str()))
        .collect();
    assert!(
        !ids.iter()
            .any(|(id, _)| *id == "fleet.incident-window" || *id == "services.crash-after-update"),
        "{ids:?}"
    );
}
