//! `fleet.stale-collection`.

use polars::prelude::*;

use super::{fleet_finding, Fleet, FleetRule};
use crate::finding::{Evidence, Finding, Severity};
use crate::rules::{utc, Context};
use exfleet_dataset::Table;

/// The catalog entry.
pub const DOC: &str = "## Detects
Hosts that stopped reporting: the last snapshot of a host is older, at the end of the analysis day, than three times the host's usual interval between snapshots (the median of its gaps; the fleet's median for a host seen once) and than two days. A fleet collected once (no host with two snapshots) has no cadence to judge and is not judged.
## Evidence
Each silent host with its last collection time, how long ago that was, and its usual interval.
## Action
Check the collector's scheduled task and its last result on each host (Task Scheduler, or `Get-ScheduledTaskInfo`), the host itself (powered off, decommissioned, renamed), and the collector's client certificate (expired or revoked certificates are refused by the aggregator); remove decommissioned hosts from the inventory.
## Source
exfleet's own fleet analysis (README.md, \"The analyzer\"): the aggregator keeps every snapshot, so a host that stops reporting shows.";

/// `fleet.stale-collection`; its catalog entry is [`DOC`].
pub struct StaleCollection;

/// Never call a host silent before this long.
const MIN_SILENCE_MS: i64 = 2 * 86_400_000;

impl FleetRule for StaleCollection {
    fn id(&self) -> &'static str {
        "fleet.stale-collection"
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
    fn check(&self, fleet: &Fleet, _: &Context, out: &mut Vec<Finding>) -> PolarsResult<()> {
        let per_host = fleet
            .history
            .table(Table::Hosts)
            .select([col("host"), col("collected_at_ms")])
            .filter(col("collected_at_ms").lt_eq(lit(fleet.end_ms)))
            .unique(None, UniqueKeepStrategy::First)
            .sort(["host", "collected_at_ms"], Default::default())
            .with_column(
                (col("collected_at_ms") - col("collected_at_ms").shift(lit(1)))
                    .over([col("host")])?
                    .alias("gap"),
            )
            .group_by([col("host")])
            .agg([
                col("collected_at_ms").max().alias("last"),
                col("gap").median().alias("usual"),
            ])
            .sort(["host"], Default::default())
            .collect()?;
        let hosts = per_host.column("host")?.str()?.clone();
        let last = per_host.column("last")?.i64()?.clone();
        let usual = per_host.column("usual")?.cast(&DataType::Int64)?;
        let usual = usual.i64()?;
        let known: Vec<i64> = usual.iter().flatten().collect();
        let Some(fleet_usual) = median(known) else {
            return Ok(());
        };
        let mut ev = Vec::new();
        let mut silent = Vec::new();
        for i in 0..per_host.height() {
            let (Some(h), Some(last)) = (hosts.get(i), last.get(i)) else {
                continue;
            };
            let usual = usual.get(i).unwrap_or(fleet_usual);
            // Stored times: the analysis leaves out the impossible ones, but this rule must
            // not overflow whatever it is given.
            let silence = fleet.end_ms.saturating_sub(last);
            if silence <= usual.saturating_mul(3).max(MIN_SILENCE_MS) {
                continue;
            }
            silent.push(h.to_string());
            ev.push(Evidence::new(
                format!(
                    "{h}: last snapshot {} ({} days before the end of the analysis day; usually every {})",
                    utc(last),
                    silence / 86_400_000,
                    interval(usual)
                ),
                "hosts.collected_at_ms",
            ));
        }
        if silent.is_empty() {
            return Ok(());
        }
        let title = format!(
            "{} host{} stopped reporting: {}",
            silent.len(),
            if silent.len() == 1 { "" } else { "s" },
            crate::rules::first_of(&silent, 5)
        );
        out.push(fleet_finding(self, title, "collection".into(), ev, silent));
        Ok(())
    }
}

fn median(mut v: Vec<i64>) -> Option<i64> {
    v.sort_unstable();
    v.get(v.len() / 2).copied()
}

/// "1 day", "6 hours".
fn interval(ms: i64) -> String {
    let hours = ms / 3_600_000;
    if hours >= 24 && hours % 24 == 0 {
        let d = hours / 24;
        format!("{d} day{}", if d == 1 { "" } else { "s" })
    } else {
        format!("{hours} hours")
    }
}
