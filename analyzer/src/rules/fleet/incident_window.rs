//! `fleet.incident-window`.

use std::collections::BTreeMap;

use polars::prelude::*;

use super::{fleet_finding, Fleet, FleetRule};
use crate::finding::{Evidence, Finding, Severity};
use crate::input::History;
use crate::queries::{error_events, events, update_runs_frame, ERRORS};
use crate::rules::{utc, Context};
use exfleet_dataset::Table;

/// The catalog entry.
pub const DOC: &str = "## Detects
Errors that began on several hosts right after their update runs: for each kind of error event (ASP.NET 1309 and 1310, Front End HTTP Proxy 1003, HttpEvent 15021, service failures: Service Control Manager 7000, 7009, 7011, 7023, 7031 and 7034, process crashes: Application Error 1000, .NET Runtime 1026 and MSExchange Common 4999), the hosts whose first such event in the whole history came within 24 hours after an update run on that host (an MsiInstaller or Windows Update install event other than a Defender definition update, an ExchangeSetup.log run, an MSI log), with none in the 7 days before it. Reported when at least 3 hosts qualify and they are at least half of the hosts on which that error began during the history (errors that begin at random moments are not an incident of the updates).
## Evidence
Per host: the update run (time and what it was), the first error after it and how long after, with the event record.
## Action
Treat it as one incident of the update: compare the hosts' update runs (same package, same step that failed), read the first error's text on one host, fix that host (often UpdateCas.ps1 and UpdateConfigFiles.ps1, then iisreset, for 1309/1310 after an SU; the certificate for 15021; for services that fail or crash, their first error in the System log, and the SU re-run elevated), then the others; hold the update wave until it is understood.
## Source
exfleet's own fleet analysis (README.md, \"The analyzer\"); the error events are those of Repair failed installations of Exchange cumulative and security updates (Microsoft Learn): ASP.NET 1309/1310 (\"OWA or ECP 500 errors\", \"Event ID 1309 and you cannot access EAC or OWA\") and HttpEvent 15021 (\"Blank page after logging in EAC or OWA\").";

/// `fleet.incident-window`; its catalog entry is [`DOC`].
pub struct IncidentWindow;

const WINDOW_MS: i64 = 24 * 3_600_000;
const QUIET_BEFORE_MS: i64 = 7 * 86_400_000;
const MIN_HOSTS: usize = 3;

impl FleetRule for IncidentWindow {
    fn id(&self) -> &'static str {
        "fleet.incident-window"
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
    fn check(&self, fleet: &Fleet, _: &Context, out: &mut Vec<Finding>) -> PolarsResult<()> {
        let events = events(fleet.history, fleet.end_ms);
        let updates = update_runs(fleet.history, events.clone(), fleet.end_ms)?;
        let coverage = coverage(fleet)?;
        // The first event of each error kind on each host.
        let firsts = error_events(events)
            .sort(["time_ms"], Default::default())
            .group_by([col("kind"), col("host")])
            .agg([
                col("time_ms").first().alias("first"),
                col("event_id").first().alias("event_id"),
                col("provenance").first().alias("provenance"),
            ])
            .sort(["kind", "host"], Default::default())
            .collect()?;
        let mut kinds = Vec::new();
        for (_, _, name) in ERRORS {
            let first = firsts
                .clone()
                .lazy()
                .filter(col("kind").eq(lit(name)))
                .collect()?;
            kinds.push((name, first));
        }
        for (name, first) in kinds {
            let hosts = first.column("host")?.str()?;
            let times = first.column("first")?.i64()?;
            let ids = first.column("event_id")?.i64()?;
            let provs = first.column("provenance")?.str()?;
            let mut qualifying = Vec::new();
            let mut ev = Vec::new();
            for i in 0..first.height() {
                let (Some(h), Some(t)) = (hosts.get(i), times.get(i)) else {
                    continue;
                };
                let Some((u, what)) = updates
                    .get(h)
                    .and_then(|runs| runs.iter().rev().find(|(u, _)| *u <= t))
                else {
                    continue;
                };
                // The first error is the first of the history: it began after the update
                // only if the history's events reach a week back before the update.
                let from = coverage.get(h).copied().unwrap_or(i64::MAX);
                let after = t.saturating_sub(*u);
                if after > WINDOW_MS || from > u.saturating_sub(QUIET_BEFORE_MS) {
                    continue;
                }
                qualifying.push(h.to_string());
                ev.push(Evidence::new(
                    format!(
                        "{h}: {what} at {}, first {name} {} {} minutes later, at {}",
                        utc(*u),
                        ids.get(i).unwrap_or_default(),
                        after / 60_000,
                        utc(t)
                    ),
                    provs.get(i).unwrap_or_default(),
                ));
            }
            if qualifying.len() < MIN_HOSTS || qualifying.len() * 2 < first.height() {
                continue;
            }
            let title = format!(
                "{name} errors began on {} hosts within 24 hours after their update runs ({} of {} hosts where they began)",
                qualifying.len(),
                qualifying.len(),
                first.height()
            );
            out.push(fleet_finding(
                self,
                title,
                format!("incident:{name}"),
                ev,
                qualifying,
            ));
        }
        Ok(())
    }
}

/// Where each host's collected events begin: the earliest window start of its snapshots
/// (`i64::MIN` when a snapshot holds whole logs).
fn coverage(fleet: &Fleet) -> PolarsResult<BTreeMap<String, i64>> {
    let df = fleet
        .history
        .table(Table::Hosts)
        .filter(col("collected_at_ms").lt_eq(lit(fleet.end_ms)))
        .group_by([col("host")])
        .agg([col("events_since_ms").min().alias("from")])
        .collect()?;
    let hosts = df.column("host")?.str()?;
    let from = df.column("from")?.i64()?;
    Ok((0..df.height())
        .filter_map(|i| {
            let h = hosts.get(i)?;
            let f = from.get(i).unwrap_or(0);
            Some((h.to_string(), if f <= 0 { i64::MIN } else { f }))
        })
        .collect())
}

/// Each host's update runs, oldest first: (time, what).
fn update_runs(
    history: &History,
    events: LazyFrame,
    end_ms: i64,
) -> PolarsResult<BTreeMap<String, Vec<(i64, String)>>> {
    let all = update_runs_frame(history, events, end_ms)?.collect()?;
    let mut out: BTreeMap<String, Vec<(i64, String)>> = BTreeMap::new();
    let hosts = all.column("host")?.str()?;
    let at = all.column("at")?.i64()?;
    let what = all.column("what")?.str()?;
    for i in 0..all.height() {
        if let (Some(h), Some(t), Some(w)) = (hosts.get(i), at.get(i), what.get(i)) {
            out.entry(h.to_string())
                .or_default()
                .push((t, w.to_string()));
        }
    }
    Ok(out)
}
