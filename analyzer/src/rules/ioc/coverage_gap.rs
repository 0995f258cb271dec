//! `ioc.coverage-gap`.

use std::collections::BTreeMap;

use exfleet_dataset::{IocMatchRow, IocScanRow, Row, Table};
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
Servers whose indicator scans cannot rule out a compromise: for a log indicator (the HttpProxy, ECP, OAB generator and IIS log scans, the Application log), the scans of all the server's snapshots (a daily scan reads only the bytes written since the previous one; with `--ioc-since`, no older than that bound) do not cover the window that matters without a hole (their `[oldest, newest]` record times, joined across gaps of at most a day, over all the log's folders together: a server's logs get records every few minutes, a quiet HttpProxy protocol folder can go days without a request; and, for the HttpProxy logs, the oldest record of each protocol folder, judged on the folder that reaches back least, as the reference reports log age per folder: a busy folder trimmed to a few days is not hidden by a quiet one that reaches far back), or read no record of a log the server keeps (an Edge server keeps only the Application log), or the server shipped no indicator scan while others did. The windows, each only for the logs of a CVE the server could be attacked through: the incident window, from the first log indicator seen anywhere in the fleet, when the server was open to the log's CVE then (the build of its last snapshot before it, below the CVE's fix with the updates installed before that day); and the server's exposure window of the CVE when a build it ran was below the fix (the CVE table): from the fix's release (the CVE public; attacks began around then) until it was installed. CVE-2021-26857 (the Application log) concerns Unified Messaging only: Exchange 2010 to 2016, not Edge. The reference's log-age report exists for this: \"nothing found\" only means clean back to the age of the oldest log.
## Evidence
Per server and log: how far back its scans reach (for the HttpProxy logs, in the protocol folder named, the one reaching back least), and the window start they miss (the first indicator of the fleet with its server, or the CVE, the build that was open to it and the fix's release date).
## Action
No match on these servers means \"not looked\", not \"clean\": find older copies of the logs (backups, a SIEM, the IIS and HttpProxy logs of the period on the server if retention was raised) and scan them with `exfleet-collector --ioc-since`, or handle the server as possibly compromised (Microsoft Defender or the Safety Scanner, the web folders of ioc.aspx-outlier); keep logs at least as long as the exposure window of the next CVE.
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

/// Largest gap between the records of one scan and the next still read as continuous: a
/// server's proxy, IIS and event logs get records (health probes, services) every few
/// minutes, so a longer gap is records lost between two scans (a log rotated away), a hole.
pub const HOLE_MS: i64 = 24 * 60 * 60 * 1000;

/// How far back scans reach without a hole, and the hole before that (see [`reach`]).
type Reach = (i64, Option<(i64, i64)>);

/// Where a scan's records start, no earlier than its `--ioc-since` bound (UTC ms).
fn start(s: &IocScanRow) -> i64 {
    s.oldest_ms.max(s.since_ms)
}

/// How far back one host's scans of one log reach without a hole: the union of the
/// `[oldest, newest]` intervals of all its snapshots (each no older than its `--ioc-since`
/// bound), merged across gaps up to [`HOLE_MS`]; the reach is the start of the block that ends
/// last, with the hole before it (0: no record read).
fn reach(scans: &[IocScanRow]) -> Reach {
    let mut spans: Vec<(i64, i64)> = scans
        .iter()
        .filter(|s| s.oldest_ms != 0)
        .map(|s| (start(s), s.newest_ms.max(start(s))))
        .collect();
    spans.sort_unstable();
    let mut blocks: Vec<(i64, i64)> = Vec::new();
    for (from, to) in spans {
        match blocks.last_mut() {
            Some(last) if from <= last.1.saturating_add(HOLE_MS) => last.1 = last.1.max(to),
            _ => blocks.push((from, to)),
        }
    }
    match blocks.as_slice() {
        [] => (0, None),
        [.., before, last] => (last.0, Some((before.1, last.0))),
        [last] => (last.0, None),
    }
}

/// How far back one host's scans of one log reach, and on what: holes are looked for in all
/// its scans together (by [`reach`]: the assumption of records every few minutes holds of a
/// server's HttpProxy logs as a whole, health probes included, not of each protocol folder,
/// some of which go days without a request); per log folder (see `ioc_scans.folder`; the
/// HttpProxy protocol folders) only the oldest record reached counts, and the folder whose
/// oldest record is the latest bounds the reach when it is not earlier than the start of the
/// hole-free span (a busy folder trimmed short is not hidden by a quiet one that reaches far
/// back). Rows of no folder (all the log's folders at once: older collectors) count in every
/// folder. A folder whose scans read no record is left out (its logs hold no request to miss). Gives the folder
/// named (`""` when a hole in all the scans bounds the reach, or the scans name no folder), the
/// reach with its hole, and the rows it was judged on.
fn weakest(scans: &[IocScanRow]) -> (String, Reach, Vec<IocScanRow>) {
    let all = reach(scans);
    let mut oldest: BTreeMap<&str, i64> = BTreeMap::new();
    for s in scans
        .iter()
        .filter(|s| s.oldest_ms != 0 && !s.folder.is_empty())
    {
        let o = oldest.entry(s.folder.as_str()).or_insert(start(s));
        *o = (*o).min(start(s));
    }
    // Older collectors' rows reach back for every folder.
    if let Some(whole) = scans
        .iter()
        .filter(|s| s.folder.is_empty() && s.oldest_ms != 0)
        .map(start)
        .min()
    {
        for o in oldest.values_mut() {
            *o = (*o).min(whole);
        }
    }
    match oldest.into_iter().max_by_key(|(_, o)| *o) {
        Some((folder, o)) if all.0 != 0 && o >= all.0 => {
            let rows = scans
                .iter()
                .filter(|s| s.folder == folder || s.folder.is_empty())
                .cloned()
                .collect();
            let reach = if o == all.0 { all } else { (o, None) };
            (folder.to_string(), reach, rows)
        }
        _ => (String::new(), all, scans.to_vec()),
    }
}

/// Whether a server of this kind keeps the log at all: an Edge server runs no client access
/// (no HttpProxy, IIS, ECP or OAB generator logs); every server has an Application log.
fn keeps(kind: &IocKind, edge: bool) -> bool {
    !edge || *kind == IocKind::Cve2021_26857
}

/// Whether `cve` can concern `build` at all beyond the CVE table: CVE-2021-26857 is in
/// Unified Messaging, which Exchange 2019 and later do not have (the reference: only servers
/// with UM, Exchange 2010 to 2016), nor an Edge server.
fn applies(cve: &str, build: &Build, edge: bool) -> bool {
    let [major, minor, ..] = build.0;
    cve != "CVE-2021-26857" || (!edge && (major < 15 || (major == 15 && minor <= 1)))
}

/// One host's exposures per (build, updates installed before a day), each computed once.
struct Exposures<'a> {
    host: &'a HostView,
    cx: &'a Context<'a>,
    memo: BTreeMap<(Build, Option<chrono::NaiveDate>), Vec<crate::exposure::Exposure>>,
}

impl<'a> Exposures<'a> {
    /// The CVEs `b` was open to with the host's updates (only those installed before
    /// `before`, when given: the March 2021 SU of an unsupported CU is known by its KB).
    fn of(&mut self, b: Build, before: Option<chrono::NaiveDate>) -> &[crate::exposure::Exposure] {
        let (h, cx) = (self.host, self.cx);
        self.memo.entry((b, before)).or_insert_with(|| {
            let view = HostView {
                exsetup: Some(b),
                roles: h.roles.clone(),
                facts: h.facts.clone(),
                updates: h
                    .updates
                    .iter()
                    .filter(|u| {
                        before.is_none_or(|d| super::installed_on(u).is_some_and(|i| i < d))
                    })
                    .cloned()
                    .collect(),
                ..Default::default()
            };
            crate::exposure::of_host(&view, cx.catalog, cx.as_of)
        })
    }

    /// Whether the host was open to `cve` at `t_ms`, with the build that shows it: the build
    /// it ran then (a change after a stale snapshot placed by the KB's InstalledDate; left
    /// unplaced, the older build), with the updates installed before that day; with no
    /// snapshot that old, its oldest build when that one is open (an older one was too).
    /// `None`: not open, or not known to be.
    fn open_at(&mut self, t_ms: i64, cve: &str) -> Option<(Build, String)> {
        let h = self.host;
        let day = chrono::DateTime::from_timestamp_millis(t_ms)?.date_naive();
        let at = super::build_then(h, self.cx, t_ms, day)
            .0
            .or_else(|| h.build_at(t_ms))
            .or_else(|| h.build_history.first().cloned())?;
        let b = at.build?;
        if !applies(cve, &b, h.is_edge()) {
            return None;
        }
        let e = self.of(b, Some(day)).iter().find(|e| e.cve == cve)?;
        Some((
            b,
            format!(
                "it was open to {cve} then (it ran {b} at the snapshot of {}, below {})",
                utc(at.collected_at_ms),
                e.fixed_by
            ),
        ))
    }

    /// The start of the host's exposure window of `cve`, with why: the release of the fix,
    /// when a build the host ran (its oldest open one) was below it, by the CVE table and the
    /// updates it has now. Each distinct build is judged once.
    fn window_start(&mut self, cve: &str) -> Option<(i64, String)> {
        let (h, cx) = (self.host, self.cx);
        let mut seen: Vec<Build> = Vec::new();
        for at in &h.build_history {
            let Some(b) = at.build else {
                continue;
            };
            if seen.contains(&b) {
                continue;
            }
            seen.push(b);
            if !applies(cve, &b, h.is_edge()) {
                continue;
            }
            let Some(fixed_by) = self
                .of(b, None)
                .iter()
                .find(|e| e.cve == cve)
                .map(|e| e.fixed_by.clone())
            else {
                continue;
            };
            let Some(product) = cx.catalog.product_of(&b) else {
                continue;
            };
            let Some(released) = cx.catalog.update_date(&product.name, &fixed_by) else {
                continue;
            };
            let Some(start) = released.and_hms_opt(0, 0, 0) else {
                continue;
            };
            return Some((
                start.and_utc().timestamp_millis(),
                format!(
                    "it was exposed to {cve}: it ran {b} at the snapshot of {}, below {fixed_by} \
                     released on {released}",
                    utc(at.collected_at_ms)
                ),
            ));
        }
        None
    }
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
        let scans = IocScanRow::read(&scans)?;
        // The incident window: the first log indicator seen in the fleet.
        let first = IocMatchRow::read(&fleet.latest.ioc_matches)?
            .into_iter()
            .filter(|m| is_log(&m.indicator) && m.time_ms != 0)
            .min_by_key(|m| m.time_ms);
        let (hosts, ev) = gaps(fleet.hosts, &scans, first.as_ref(), cx);
        if hosts.is_empty() {
            return Ok(());
        }
        let title = format!(
            "Indicator scans do not reach back to the exposure or incident window on {} servers: \
             no match there is not clean",
            hosts.len()
        );
        out.push(fleet_finding(self, title, "coverage".into(), ev, hosts));
        Ok(())
    }
}

/// The servers whose log scans miss a window that matters, with the evidence.
fn gaps(
    views: &[HostView],
    scans: &[IocScanRow],
    first: Option<&IocMatchRow>,
    cx: &Context,
) -> (Vec<String>, Vec<Evidence>) {
    // host -> log indicator -> its scans over the history.
    let mut by_host: BTreeMap<&str, BTreeMap<&str, Vec<IocScanRow>>> = BTreeMap::new();
    for s in scans.iter().filter(|s| is_log(&s.indicator)) {
        by_host
            .entry(s.key.host.as_str())
            .or_default()
            .entry(s.indicator.as_str())
            .or_default()
            .push(s.clone());
    }
    let mut hosts: Vec<String> = Vec::new();
    let mut ev = Vec::new();
    for h in views {
        let host = &h.host;
        let Some(logs) = by_host.get(host.as_str()) else {
            if !by_host.is_empty() {
                ev.push(Evidence::new(
                    format!("{host}: shipped no indicator scan (a collector without them?)"),
                    "",
                ));
                hosts.push(host.clone());
            }
            continue;
        };
        let mut exposures = Exposures {
            host: h,
            cx,
            memo: BTreeMap::new(),
        };
        for scans in logs.values() {
            let kind = &scans[0].indicator;
            let Some((cve, what)) = of(kind) else {
                continue;
            };
            if !keeps(kind, h.is_edge()) {
                continue;
            }
            let (folder, (reached, hole), scans) = weakest(scans);
            // Nothing read: any window that matters is missed.
            let covers = |start: i64| reached != 0 && reached <= start;
            let mut missed = Vec::new();
            if let Some(m) = first.filter(|m| !covers(m.time_ms)) {
                if let Some((_, open)) = exposures.open_at(m.time_ms, cve) {
                    missed.push(format!(
                        "the first indicator of the fleet was seen at {} on {} ({}), and {open}",
                        utc(m.time_ms),
                        m.key.host,
                        m.indicator.as_str()
                    ));
                }
            }
            if let Some((start, why)) = exposures.window_start(cve) {
                if !covers(start) {
                    missed.push(why);
                }
            }
            if missed.is_empty() {
                continue;
            }
            let how = match (reached, hole) {
                (0, _) => "read no record".to_string(),
                (_, Some((from, to))) => format!(
                    "reach back to {} only, after a hole from {} to {}",
                    utc(reached),
                    utc(from),
                    utc(to)
                ),
                (_, None) => format!("reach back to {} only", utc(reached)),
            };
            let cited = scans
                .iter()
                .filter(|s| s.oldest_ms != 0 && start(s) >= reached)
                .min_by_key(|s| start(s))
                .or(scans.last())
                .map(|s| s.key.snapshot_id.clone())
                .unwrap_or_default();
            let what = if folder.is_empty() {
                what.to_string()
            } else {
                format!("{what} of folder {folder} (the one reaching back least)")
            };
            ev.push(Evidence::new(
                format!(
                    "{host}: its {what} scanned {how}, and {}",
                    missed.join("; and ")
                ),
                if folder.is_empty() {
                    format!("ioc_scans {} of snapshot {cited}", kind.as_str())
                } else {
                    format!(
                        "ioc_scans {} folder {folder} of snapshot {cited}",
                        kind.as_str()
                    )
                },
            ));
            hosts.push(host.clone());
        }
    }
    hosts.sort();
    hosts.dedup();
    (hosts, ev)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::view::BuildAt;

    const DAY: i64 = 24 * 60 * 60 * 1000;
    /// 2026-11-20 00:00 UTC.
    const NOW: i64 = 1_795_132_800_000;

    fn view(host: &str, build: &str) -> HostView {
        HostView {
            host: host.into(),
            exsetup: Build::parse(build),
            collected_at_ms: NOW,
            snapshot_id: format!("{host}-1"),
            build_history: vec![BuildAt {
                collected_at_ms: NOW - 60 * DAY,
                build: Build::parse(build),
                snapshot_id: format!("{host}-0"),
            }],
            ..Default::default()
        }
    }

    fn scan(host: &str, kind: IocKind, oldest: i64, newest: i64) -> IocScanRow {
        let mut s = IocScanRow {
            indicator: kind,
            files: 1,
            oldest_ms: oldest,
            newest_ms: newest,
            ..Default::default()
        };
        s.key.host = host.into();
        s.key.snapshot_id = format!("{host}-{oldest}");
        s
    }

    fn hit(host: &str, at: i64) -> IocMatchRow {
        let mut m = IocMatchRow {
            indicator: IocKind::Cve2022_41040,
            time_ms: at,
            ..Default::default()
        };
        m.key.host = host.into();
        m
    }

    fn cx(catalog: &Catalog) -> Context<'_> {
        Context {
            catalog,
            as_of: chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
        }
    }

    #[test]
    fn one_hit_does_not_list_servers_patched_against_the_logs_cve() {
        let catalog = Catalog::embedded();
        let cx = cx(&catalog);
        let incident = NOW - 10 * DAY;
        // EX02: Exchange 2019 CU15 with a 2025 SU, patched against 41040; its Application log
        // reaches back three days only (26857 does not concern 2019), its IIS logs too.
        // EX03: Exchange 2016 CU23 Aug22SU, open to 41040 when the hit came: listed.
        let views = [
            view("EX01", "15.2.1748.24"),
            view("EX02", "15.2.1748.24"),
            view("EX03", "15.1.2507.12"),
        ];
        let mut scans = Vec::new();
        for h in ["EX01", "EX02", "EX03"] {
            scans.push(scan(h, IocKind::Cve2021_26857, NOW - 3 * DAY, NOW));
            scans.push(scan(h, IocKind::Cve2022_41040, NOW - 5 * DAY, NOW));
        }
        let (hosts, ev) = gaps(&views, &scans, Some(&hit("EX01", incident)), &cx);
        assert_eq!(hosts, ["EX03"], "{ev:#?}");
        let facts: Vec<&str> = ev.iter().map(|e| e.fact.as_str()).collect();
        assert!(
            facts.iter().any(
                |f| f.starts_with("EX03: its IIS logs scanned reach back to")
                    && f.contains("the first indicator of the fleet was seen at")
                    && f.contains("it was open to CVE-2022-41040 then (it ran 15.1.2507.12")
            ),
            "{facts:#?}"
        );
        // Its Application log is judged: 2016 has UM, and 15.1.2507.12 carries Mar21SU.
        assert!(
            !facts.iter().any(|f| f.contains("Application log")),
            "{facts:#?}"
        );
    }

    #[test]
    fn cve_2021_26857_concerns_unified_messaging_only() {
        let b = |s: &str| Build::parse(s).unwrap();
        for (build, edge, want) in [
            ("14.3.513.0", false, true),
            ("15.0.1497.2", false, true),
            ("15.1.2507.12", false, true),
            ("15.1.2507.12", true, false),
            ("15.2.1748.24", false, false),
        ] {
            assert_eq!(applies("CVE-2021-26857", &b(build), edge), want, "{build}");
        }
        assert!(applies("CVE-2022-41040", &b("15.2.1748.24"), false));
    }

    /// Midnight UTC of `d` (`YYYY-MM-DD`), in ms.
    fn at(d: &str) -> i64 {
        chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp_millis()
    }

    #[test]
    fn the_httpproxy_logs_are_judged_on_the_folder_reaching_back_least() {
        let catalog = Catalog::embedded();
        let cx = cx(&catalog);
        // Exchange 2019 CU8 without its March 2021 SU: exposed to CVE-2021-26855 since the
        // fix's release (2 March 2021). Its Owa logs reach back to 2021-02-10, its busy Ecp
        // logs to 2021-03-12 only (about 30 and 5 days before the last scan).
        let mut h = view("EX05", "15.2.792.3");
        h.collected_at_ms = at("2021-03-17");
        h.build_history[0].collected_at_ms = at("2021-03-16");
        let folder = |name: &str, oldest: i64| {
            let mut s = scan("EX05", IocKind::Cve2021_26855, oldest, at("2021-03-17"));
            s.folder = name.into();
            s
        };
        let scans = [
            folder("Owa", at("2021-02-10")),
            folder("Ecp", at("2021-03-12")),
        ];
        let (hosts, ev) = gaps(std::slice::from_ref(&h), &scans, None, &cx);
        assert_eq!(hosts, ["EX05"], "{ev:#?}");
        assert!(
            ev[0].fact.starts_with(
                "EX05: its HttpProxy logs of folder Ecp (the one reaching back least) scanned reach back to 2021-03-12"
            ) && ev[0].fact.contains("CVE-2021-26855"),
            "{ev:#?}"
        );
        assert!(ev[0].provenance.contains("folder Ecp"), "{ev:#?}");
        // Both folders reaching back before the window: no gap.
        let scans = [
            folder("Owa", at("2021-02-10")),
            folder("Ecp", at("2021-02-20")),
        ];
        let (hosts, ev) = gaps(std::slice::from_ref(&h), &scans, None, &cx);
        assert!(hosts.is_empty(), "{ev:#?}");
        // A scan of an older collector (no folder) counts for every folder, as before.
        let mut old = scan(
            "EX05",
            IocKind::Cve2021_26855,
            at("2021-02-01"),
            at("2021-03-11"),
        );
        old.key.snapshot_id = "EX05-old".into();
        let scans = [old, folder("Ecp", at("2021-03-11"))];
        let (hosts, ev) = gaps(std::slice::from_ref(&h), &scans, None, &cx);
        assert!(hosts.is_empty(), "{ev:#?}");
    }

    #[test]
    fn a_quiet_httpproxy_folder_s_silence_is_not_a_hole() {
        let catalog = Catalog::embedded();
        let cx = cx(&catalog);
        // Exposed to CVE-2021-26855 since 2 March 2021, as above.
        let mut h = view("EX05", "15.2.792.3");
        h.collected_at_ms = at("2021-03-17");
        h.build_history[0].collected_at_ms = at("2021-03-16");
        let row = |name: &str, snapshot: &str, oldest: &str, newest: &str| {
            let mut s = scan("EX05", IocKind::Cve2021_26855, at(oldest), at(newest));
            s.folder = name.into();
            s.key.snapshot_id = snapshot.into();
            s
        };
        // PushNotifications gets no request from 21 January to 15 March: no hole, the Owa
        // logs of the same server were written all along.
        let quiet = [
            row("Owa", "s1", "2021-02-10", "2021-03-17"),
            row("PushNotifications", "s1", "2021-01-20", "2021-01-21"),
            row("PushNotifications", "s2", "2021-03-15", "2021-03-15"),
        ];
        let (hosts, ev) = gaps(std::slice::from_ref(&h), &quiet, None, &cx);
        assert!(hosts.is_empty(), "{ev:#?}");
        // An Ecp folder trimmed to 12 March in every snapshot is still a gap, named.
        let mut trimmed = quiet.to_vec();
        trimmed.push(row("Ecp", "s1", "2021-03-12", "2021-03-16"));
        trimmed.push(row("Ecp", "s2", "2021-03-12", "2021-03-17"));
        let (hosts, ev) = gaps(std::slice::from_ref(&h), &trimmed, None, &cx);
        assert_eq!(hosts, ["EX05"], "{ev:#?}");
        assert!(
            ev[0].fact.starts_with(
                "EX05: its HttpProxy logs of folder Ecp (the one reaching back least) scanned reach back to 2021-03-12"
            ),
            "{ev:#?}"
        );
        // A hole in all the folders at once is still one.
        let holed = [
            row("Owa", "s1", "2021-01-10", "2021-01-20"),
            row("Ecp", "s1", "2021-01-10", "2021-01-20"),
            row("Owa", "s2", "2021-03-10", "2021-03-17"),
            row("Ecp", "s2", "2021-03-10", "2021-03-17"),
        ];
        let (hosts, ev) = gaps(std::slice::from_ref(&h), &holed, None, &cx);
        assert_eq!(hosts, ["EX05"], "{ev:#?}");
        assert!(
            ev[0].fact.contains("after a hole from 2021-01-20"),
            "{ev:#?}"
        );
    }

    #[test]
    fn the_reach_stops_at_a_hole_and_a_log_read_empty_is_a_gap() {
        let catalog = Catalog::embedded();
        let cx = cx(&catalog);
        let incident = NOW - 10 * DAY;
        let views = [view("EX03", "15.1.2507.12")];
        // Two scans: 30 to 20 days ago, then 5 days ago on: the minimum oldest (30 days)
        // would cover the incident; the hole between does not.
        let scans = [
            scan(
                "EX03",
                IocKind::Cve2022_41040,
                NOW - 30 * DAY,
                NOW - 20 * DAY,
            ),
            scan("EX03", IocKind::Cve2022_41040, NOW - 5 * DAY, NOW),
        ];
        assert_eq!(
            reach(&scans),
            (NOW - 5 * DAY, Some((NOW - 20 * DAY, NOW - 5 * DAY)))
        );
        let (hosts, ev) = gaps(&views, &scans, Some(&hit("EX01", incident)), &cx);
        assert_eq!(hosts, ["EX03"]);
        assert!(ev[0].fact.contains("after a hole from"), "{ev:#?}");
        // Contiguous daily scans (records up to a day apart) reach back to the first one.
        let daily: Vec<IocScanRow> = (0..30)
            .map(|d| {
                scan(
                    "EX03",
                    IocKind::Cve2022_41040,
                    NOW - (d + 1) * DAY + DAY / 2,
                    NOW - d * DAY,
                )
            })
            .collect();
        assert_eq!(reach(&daily), (NOW - 30 * DAY + DAY / 2, None));
        // Nothing read: a gap, not silence.
        let empty = [scan("EX03", IocKind::Cve2022_41040, 0, 0)];
        let (hosts, ev) = gaps(&views, &empty, Some(&hit("EX01", incident)), &cx);
        assert_eq!(hosts, ["EX03"]);
        assert!(
            ev[0].fact.contains("its IIS logs scanned read no record"),
            "{ev:#?}"
        );
    }
}
