//! `ioc.coverage-gap`.

use std::collections::BTreeMap;

use exfleet_dataset::{IocMatchRow, IocScanRow, Row, Table, UpdateRow};
use exfleet_proto::kinds::IocKind;
use polars::prelude::*;

use super::is_log;
use crate::catalog::Build;
use crate::finding::{Evidence, Finding, Severity};
use crate::rules::fleet::{fleet_finding, Fleet, FleetRule};
use crate::rules::{utc, Context};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
Servers whose indicator scans cannot rule out a compromise: for a log indicator (the HttpProxy, ECP, OAB generator and IIS log scans, the Application log), the oldest record the server's scans ever read (the oldest of all its snapshots: a daily scan reads only the bytes written since the previous one; with `--ioc-since`, no older than that bound) is later than the start of the window that matters, or the server shipped no indicator scan while others did. The windows: the incident window, from the first log indicator seen anywhere in the fleet; and the server's exposure window of the indicator's CVE when a build it ran (any of its snapshots) was below the CVE's fix (the CVE table): from the fix's release (the CVE public; attacks began around then) until it was installed. The reference's log-age report exists for this: \"nothing found\" only means clean back to the age of the oldest log.
## Evidence
Per server and log: how far back its scans reach, and the window start they miss (the first indicator of the fleet with its server, or the CVE, the build that was open to it and the fix's release date).
## Action
No match on these servers means \"not looked\", not \"clean\": find older copies of the logs (backups, a SIEM, the IIS and HttpProxy logs of the period on the server if retention was raised) and scan them with `exfleet-collector --ioc-since`, or handle the server as possibly compromised (Microsoft Defender or the Safety Scanner, the .aspx folders); keep logs at least as long as the exposure window of the next CVE.
## Source
Microsoft CSS-Exchange Test-ProxyLogon.ps1 (its log-age report, \"Log age days\", docs/Security/Test-ProxyLogon.md); exfleet's own fleet analysis (README.md, \"The analyzer\").";

/// `ioc.coverage-gap`; its catalog entry is [`DOC`].
pub struct CoverageGap;

/// The CVE a log indicator is of, and what its logs are called in the evidence.
fn of(kind: &IocKind) -> Option<(&'static str, &'static str)> {
    Some(match kind {
        IocKind::Cve2021_26855 => ("CVE-2021-26855", "HttpProxy logs"),
        IocKind::Cve2021_26857 => ("CVE-2021-26857", "Application log"),
        IocKind::Cve2021_26858 => ("CVE-2021-26858", "OAB generator logs"),
        IocKind::Cve2021_27065Proxy => ("CVE-2021-27065", "HttpProxy ECP logs"),
        IocKind::Cve2021_27065Ecp => ("CVE-2021-27065", "ECP server logs"),
        IocKind::Cve2022_41040 => ("CVE-2022-41040", "IIS logs"),
        _ => return None,
    })
}

/// How far back one host's scans of one log reach: the oldest record read in all its
/// snapshots (0 = none read).
fn reach(scans: &[IocScanRow]) -> i64 {
    scans
        .iter()
        .filter(|s| s.oldest_ms != 0)
        .map(|s| s.oldest_ms.max(s.since_ms))
        .min()
        .unwrap_or(0)
}

impl FleetRule for CoverageGap {
    fn id(&self) -> &'static str {
        "ioc.coverage-gap"
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
    fn check(&self, fleet: &Fleet, cx: &Context, out: &mut Vec<Finding>) -> PolarsResult<()> {
        let valid = fleet
            .history
            .table(Table::Hosts)
            .filter(
                col("collected_at_ms")
                    .lt_eq(lit(fleet.end_ms))
                    .and(col("identity_mismatch").fill_null(lit(false)).not()),
            )
            .select([col("snapshot_id")]);
        let scans = fleet
            .history
            .table(Table::IocScans)
            .join(
                valid,
                [col("snapshot_id")],
                [col("snapshot_id")],
                JoinArgs::new(JoinType::Inner),
            )
            .collect()?;
        // host -> log indicator -> its scans over the history.
        let mut by_host: BTreeMap<String, BTreeMap<String, Vec<IocScanRow>>> = BTreeMap::new();
        for s in IocScanRow::read(&scans)? {
            if is_log(&s.indicator) {
                by_host
                    .entry(s.key.host.clone())
                    .or_default()
                    .entry(s.indicator.as_str().to_string())
                    .or_default()
                    .push(s);
            }
        }
        // The incident window: the first log indicator seen in the fleet.
        let first = IocMatchRow::read(&fleet.latest.ioc_matches)?
            .into_iter()
            .filter(|m| is_log(&m.indicator) && m.time_ms != 0)
            .min_by_key(|m| m.time_ms);
        let builds = crate::queries::builds_over_time(fleet.history, fleet.end_ms)?;
        let updates = UpdateRow::read(&fleet.latest.installed_updates)?;
        let mut hosts: Vec<String> = Vec::new();
        let mut ev = Vec::new();
        let all: Vec<String> = exfleet_dataset::HostRow::read(&fleet.latest.hosts)?
            .into_iter()
            .map(|h| h.key.host)
            .collect();
        for host in &all {
            let Some(logs) = by_host.get(host) else {
                if !by_host.is_empty() {
                    ev.push(Evidence::new(
                        format!("{host}: shipped no indicator scan (a collector without them?)"),
                        "",
                    ));
                    hosts.push(host.clone());
                }
                continue;
            };
            let history = builds.get(host).map(Vec::as_slice).unwrap_or_default();
            let installed: Vec<UpdateRow> = updates
                .iter()
                .filter(|u| u.key.host == *host)
                .cloned()
                .collect();
            for scans in logs.values() {
                let kind = &scans[0].indicator;
                let Some((cve, what)) = of(kind) else {
                    continue;
                };
                let reached = reach(scans);
                if reached == 0 {
                    continue;
                }
                let mut missed = Vec::new();
                if let Some(m) = first.as_ref().filter(|m| m.time_ms < reached) {
                    missed.push(format!(
                        "the first indicator of the fleet was seen at {} on {} ({})",
                        utc(m.time_ms),
                        m.key.host,
                        m.indicator.as_str()
                    ));
                }
                if let Some((start, why)) = exposure_start(history, &installed, cx, cve) {
                    if start < reached {
                        missed.push(why);
                    }
                }
                if missed.is_empty() {
                    continue;
                }
                ev.push(Evidence::new(
                    format!(
                        "{host}: its {what} scanned reach back to {} only, and {}",
                        utc(reached),
                        missed.join("; and ")
                    ),
                    format!("ioc_scans {} of snapshot {}", kind.as_str(), {
                        let oldest = scans
                            .iter()
                            .filter(|s| s.oldest_ms != 0)
                            .min_by_key(|s| s.oldest_ms.max(s.since_ms));
                        oldest
                            .map(|s| s.key.snapshot_id.clone())
                            .unwrap_or_default()
                    }),
                ));
                hosts.push(host.clone());
            }
        }
        if hosts.is_empty() {
            return Ok(());
        }
        hosts.sort();
        hosts.dedup();
        let title = format!(
            "Indicator scans do not reach back to the exposure or incident window on {} servers: \
             no match there is not clean",
            hosts.len()
        );
        out.push(fleet_finding(self, title, "coverage".into(), ev, hosts));
        Ok(())
    }
}

/// The start of the host's exposure window of `cve`, with why: the release of the fix, when a
/// build the host ran (its oldest open one) was below it, by the CVE table and the updates it
/// has now (the March 2021 SU of an unsupported CU is known by its KB).
fn exposure_start(
    history: &[crate::view::BuildAt],
    updates: &[UpdateRow],
    cx: &Context,
    cve: &str,
) -> Option<(i64, String)> {
    history.iter().find_map(|at| {
        let b: Build = at.build?;
        let view = HostView {
            exsetup: Some(b),
            updates: updates.to_vec(),
            ..Default::default()
        };
        let e = crate::exposure::of_host(&view, cx.catalog, cx.as_of)
            .into_iter()
            .find(|e| e.cve == cve)?;
        let product = cx.catalog.product_of(&b)?;
        let released = cx.catalog.update_date(&product.name, &e.fixed_by)?;
        let start = released.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis();
        Some((
            start,
            format!(
                "it was exposed to {cve}: it ran {b} at the snapshot of {}, below {} released \
                 on {released}",
                utc(at.collected_at_ms),
                e.fixed_by
            ),
        ))
    })
}
