//! `verify`: after a rollout, per host, did it reach the target, are its services back, and
//! what appeared inside the incident window (from the end of `--since`'s day to the end of
//! the analysis day): findings it did not have before, and error events of a kind (log,
//! provider, event id) it had not logged before. Two analyses are compared, one as of
//! `--since` (before the rollout) and one as of the analysis date, with the events of the
//! history between them. The fleet summary counts done, failed (each with the finding that
//! says why) and not started.

use std::collections::{BTreeMap, BTreeSet};

use polars::prelude::*;
use serde::Serialize;

use super::blockers;
use super::expected::ExpectedList;
use super::plan::{labels, not_collected, silent, NotCollected};
use super::target::{for_host, reached, ForHost, Spec};
use crate::analyze::Analysis;
use crate::catalog::{Build, Catalog, Release};
use crate::finding::{Evidence, Finding, Severity};
use crate::input::History;
use crate::rules::utc;
use exfleet_dataset::Table;

/// Finding ids that say a host's services are not back.
pub const SERVICES: [&str; 5] = [
    "services.not-running",
    "services.disabled-after-update",
    "services.maintenance-mode",
    "services.state-cache-left",
    "services.crash-after-update",
];

/// Where a host stands after the rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// On the target, services back, nothing new that is an error.
    Done,
    /// Something went wrong: see `why`.
    Failed,
    /// Nothing happened on it since `--since`.
    NotStarted,
    /// It was already on the target before `--since`.
    AlreadyThere,
    /// The target is not for it (another product, unknown build).
    NotInScope,
}

impl Outcome {
    /// As the outputs write it.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::Failed => "failed",
            Outcome::NotStarted => "not-started",
            Outcome::AlreadyThere => "already-there",
            Outcome::NotInScope => "not-in-scope",
        }
    }
}

/// A finding as verify cites it.
#[derive(Debug, Clone, Serialize)]
pub struct Cited {
    /// Finding id (empty for new error events without a finding).
    pub id: String,
    /// Severity.
    pub severity: Severity,
    /// Its title.
    pub title: String,
    /// Its evidence.
    pub evidence: Vec<Evidence>,
}

impl Cited {
    fn of(f: &Finding) -> Cited {
        Cited {
            id: f.id.clone(),
            severity: f.severity,
            title: f.title.clone(),
            evidence: f.evidence.clone(),
        }
    }
}

/// An error event inside the incident window, of a kind the host had not logged before.
#[derive(Debug, Clone, Serialize)]
pub struct NewEvent {
    /// Event time (UTC).
    pub time: String,
    /// Log.
    pub log: String,
    /// Provider.
    pub provider: String,
    /// Event id.
    pub event_id: i64,
    /// How many of this kind in the window.
    pub count: usize,
    /// Where the first one was read.
    pub provenance: String,
}

/// One host after the rollout.
#[derive(Debug, Clone, Serialize)]
pub struct HostVerify {
    /// Host name.
    pub host: String,
    /// Site label.
    pub site: String,
    /// DAG label.
    pub dag: String,
    /// The build before (`--since`).
    pub build_before: String,
    /// The build now.
    pub build: String,
    /// The build now by name.
    pub build_name: String,
    /// The target build for it.
    pub target_build: String,
    /// The target by name.
    pub target_name: String,
    /// On the target now.
    pub reached: bool,
    /// No finding says its services are down.
    pub services_back: bool,
    /// Findings it has now and did not have before.
    pub new_findings: Vec<Cited>,
    /// Error events of new kinds inside the window.
    pub new_error_events: Vec<NewEvent>,
    /// Where it stands.
    pub outcome: Outcome,
    /// For a failed host, the finding that says why.
    pub why: Option<Cited>,
    /// For a host not started, the blockers it had before the rollout (finding ids, as the
    /// plan judged them against the target).
    pub blocked_by: Vec<String>,
}

/// Counts of the fleet summary.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Hosts done.
    pub done: usize,
    /// Hosts failed.
    pub failed: usize,
    /// Hosts not started.
    pub not_started: usize,
    /// Hosts already on the target before.
    pub already_there: usize,
    /// Hosts the target is not for.
    pub not_in_scope: usize,
    /// Servers that should report and did not.
    pub not_collected: usize,
}

/// The verification.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    /// `--since`.
    pub since: chrono::NaiveDate,
    /// The analysis date.
    pub as_of: chrono::NaiveDate,
    /// The target as given (or how it was chosen).
    pub target: String,
    /// The counts.
    pub summary: Summary,
    /// Every collected host.
    pub hosts: Vec<HostVerify>,
    /// Servers that should report and did not (or went silent, or sent nothing since `--since`).
    pub not_collected: Vec<NotCollected>,
}

impl Verification {
    /// The rollout is complete: no host failed or left not started, every server reported
    /// (the command's exit code is 0, else 1).
    pub fn complete(&self) -> bool {
        let s = &self.summary;
        s.failed == 0 && s.not_started == 0 && s.not_collected == 0
    }
}

/// Compares `before` (as of `--since`) with `now` over `history`. Without a target, each
/// host's target is the newest build of its CU line that any host runs now: how far the
/// rollout went.
pub fn verify(
    before: &Analysis,
    now: &Analysis,
    history: &History,
    catalog: &Catalog,
    spec: Option<&Spec>,
    expected: Option<&ExpectedList>,
) -> PolarsResult<Verification> {
    // The state compared with is the one at the end of `--since`'s day: the window opens there.
    let window_start = crate::analyze::end_of_day(before.as_of);
    let window_end = crate::analyze::end_of_day(now.as_of);
    let update_ends = update_ends(history, window_start, window_end)?;
    let events = new_error_events(history, window_start, window_end, &update_ends)?;
    let silent: Vec<&str> = silent(now).iter().map(|h| h.host.as_str()).collect();
    let mut hosts = Vec::new();
    let mut stale = not_collected(now, expected);
    for h in &now.hosts {
        if silent.contains(&h.host.as_str()) {
            continue;
        }
        let (site, dag, _) = labels(h, expected);
        if h.collected_at_ms < window_start {
            stale.push(NotCollected {
                host: h.host.clone(),
                site,
                dag,
                role: h.role_group.clone(),
                why: format!(
                    "no snapshot since {}: last one {}",
                    before.as_of,
                    utc(h.collected_at_ms)
                ),
            });
            continue;
        }
        let prior = before
            .hosts
            .iter()
            .find(|b| b.host.eq_ignore_ascii_case(&h.host));
        let build_before = prior.and_then(|p| p.exsetup.or(p.msi));
        let build = h.exsetup.or(h.msi);
        // An update not published for the host's CU before the rollout: reached if the host
        // moved to a CU it is published for and installed it, else not started for that reason.
        let mut not_for_its_cu = false;
        let target: Option<&Release> = match spec {
            Some(s) => match for_host(s, catalog, before.as_of, build_before.or(build)) {
                ForHost::Update { target, .. } | ForHost::AlreadyThere(target) => Some(target),
                ForHost::NotForThisCu { .. } => match for_host(s, catalog, before.as_of, build) {
                    ForHost::Update { target, .. } | ForHost::AlreadyThere(target) => Some(target),
                    _ => {
                        not_for_its_cu = true;
                        None
                    }
                },
                _ => None,
            },
            None => high_water(
                now.hosts.iter().filter_map(|h| h.exsetup.or(h.msi)),
                catalog,
                build,
            ),
        };
        let had = |f: &Finding| {
            before
                .findings
                .iter()
                .any(|b| names(b, &h.host) && same(b, f))
        };
        let mine: Vec<&Finding> = now.findings.iter().filter(|f| names(f, &h.host)).collect();
        let new_findings: Vec<Cited> = mine
            .iter()
            .filter(|f| !had(f) && f.severity > Severity::Info)
            .map(|f| Cited::of(f))
            .collect();
        let services: Vec<&&Finding> = mine
            .iter()
            .filter(|f| SERVICES.contains(&f.id.as_str()))
            .collect();
        let new_error_events = events
            .get(&h.host.to_ascii_uppercase())
            .cloned()
            .unwrap_or_default();
        let mut v = HostVerify {
            host: h.host.clone(),
            site,
            dag,
            build_before: build_before.map(|b| b.to_string()).unwrap_or_default(),
            build: build.map(|b| b.to_string()).unwrap_or_default(),
            build_name: build.map(|b| catalog.describe(&b)).unwrap_or_default(),
            target_build: target.map(|t| t.build.to_string()).unwrap_or_default(),
            target_name: target.map(Release::friendly).unwrap_or_default(),
            reached: target.is_some_and(|t| reached(build, t, catalog)),
            services_back: services.is_empty(),
            new_findings,
            new_error_events,
            outcome: Outcome::NotInScope,
            why: None,
            blocked_by: Vec::new(),
        };
        let changed = build_before.is_some() && build_before != build;
        // A failure is what is new since the rollout began; what a host that did not move
        // already had is its blockers, not a failure. On a host whose build did not change,
        // only a new finding about an update attempt says one was made and failed; any other
        // new finding is news about a host the rollout has not touched.
        let failing = v
            .new_findings
            .iter()
            .filter(|f| f.severity >= Severity::Error && (changed || attempt(&f.id)))
            .max_by_key(|f| f.severity)
            .cloned();
        (v.outcome, v.why) = match target {
            None if not_for_its_cu => (Outcome::NotStarted, None),
            None => (Outcome::NotInScope, None),
            Some(t) if reached(build_before, t, catalog) && !changed => {
                (Outcome::AlreadyThere, None)
            }
            Some(_) if v.reached && !v.services_back => {
                (Outcome::Failed, services.first().map(|f| Cited::of(f)))
            }
            Some(_) if failing.is_some() => (Outcome::Failed, failing),
            Some(_) if v.reached && !v.new_error_events.is_empty() => {
                (Outcome::Failed, Some(events_cited(&v.new_error_events)))
            }
            Some(_) if v.reached => (Outcome::Done, None),
            Some(t) if changed => (
                Outcome::Failed,
                Some(Cited {
                    id: String::new(),
                    severity: Severity::Error,
                    title: format!(
                        "moved to {} instead of the target {}",
                        v.build_name,
                        t.friendly()
                    ),
                    evidence: vec![Evidence::new(
                        format!("ExSetup.exe {}", v.build),
                        &h.exsetup_provenance,
                    )],
                }),
            ),
            Some(_) => (Outcome::NotStarted, None),
        };
        if not_for_its_cu {
            v.blocked_by = vec!["build.su-wrong-cu".to_string()];
        }
        if let (Outcome::NotStarted, Some(t), Some(p)) = (v.outcome, target, prior) {
            let cu_upgrade = catalog.cu_of(&t.build).map(|c| &c.cu)
                != build_before.and_then(|b| catalog.cu_of(&b)).map(|c| &c.cu);
            v.blocked_by = blockers::from_findings(&h.host, &before.findings, cu_upgrade)
                .into_iter()
                .chain(blockers::against_target(p, t))
                .filter(|b| b.effect == blockers::Effect::Blocks)
                .map(|b| b.id)
                .collect();
        }
        hosts.push(v);
    }
    hosts.sort_by(|a, b| a.host.cmp(&b.host));
    let mut summary = Summary {
        not_collected: stale.len(),
        ..Default::default()
    };
    for h in &hosts {
        match h.outcome {
            Outcome::Done => summary.done += 1,
            Outcome::Failed => summary.failed += 1,
            Outcome::NotStarted => summary.not_started += 1,
            Outcome::AlreadyThere => summary.already_there += 1,
            Outcome::NotInScope => summary.not_in_scope += 1,
        }
    }
    Ok(Verification {
        since: before.as_of,
        as_of: now.as_of,
        target: spec.map_or_else(
            || "the newest build of each CU line in the fleet now".to_string(),
            Spec::to_string,
        ),
        summary,
        hosts,
        not_collected: stale,
    })
}

/// Whether a finding id is about an update attempt: setup's own findings (its readiness
/// checks and its success aside), MSI failures among them (1603 is `setup.unknown-error`,
/// 1642 an update for another CU), files left half-updated, and services or a reboot left
/// behind after an update.
pub fn attempt(id: &str) -> bool {
    (id.starts_with("setup.") && !id.starts_with("setup.ready.") && id != "setup.success")
        || id.ends_with("-after-update")
        || ["build.file-registry-mismatch", "build.su-wrong-cu"].contains(&id)
}

/// Whether `now` is the finding `before` was. An update attempt's finding cites the attempt
/// (its log, its start time), so a new attempt failing the same way is a new finding: its
/// evidence is compared. Other findings are states (a stopped service, a certificate), the
/// same while their id is, whatever counts or ages their evidence quotes.
fn same(before: &Finding, now: &Finding) -> bool {
    before.id == now.id && (!attempt(&now.id) || before.evidence == now.evidence)
}

fn names(f: &Finding, host: &str) -> bool {
    f.host.eq_ignore_ascii_case(host) || f.hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
}

fn events_cited(events: &[NewEvent]) -> Cited {
    let kinds: Vec<String> = events
        .iter()
        .map(|e| format!("{} {} ({}x)", e.provider, e.event_id, e.count))
        .collect();
    Cited {
        id: String::new(),
        severity: Severity::Error,
        title: format!("new error events after the update: {}", kinds.join(", ")),
        evidence: events
            .iter()
            .map(|e| {
                Evidence::new(
                    format!(
                        "{} {} {} {} ({}x)",
                        e.time, e.log, e.provider, e.event_id, e.count
                    ),
                    &e.provenance,
                )
            })
            .collect(),
    }
}

/// The newest build of a build's CU line (product and CU) that any host runs now: a host on
/// another CU is not behind a host that moved to a newer CU, only one on its own line is.
fn high_water(
    fleet: impl Iterator<Item = Build>,
    catalog: &Catalog,
    build: Option<Build>,
) -> Option<&Release> {
    let line = catalog.cu_of(&build?)?;
    fleet
        .filter(|b| {
            catalog
                .cu_of(b)
                .is_some_and(|c| c.product == line.product && c.cu == line.cu)
        })
        .filter_map(|b| catalog.exact(&b))
        .max_by_key(|r| r.build)
}

/// Per host (upper case), when its last update run inside `(start, end]` ended: the install
/// events (MsiInstaller and Windows Update log them when the install is over, done or
/// failed; Defender definition updates aside) and the end of ExchangeSetup.log's runs.
fn update_ends(history: &History, start: i64, end: i64) -> PolarsResult<BTreeMap<String, i64>> {
    let inside = |c: &str| col(c).gt(lit(start)).and(col(c).lt_eq(lit(end)));
    let mut installs = history
        .table(Table::Events)
        .filter(
            inside("time_ms")
                .and(
                    col("kind")
                        .eq(lit("update_installed"))
                        .or(col("kind").eq(lit("update_failed"))),
                )
                .and(
                    crate::view::DEFINITION_UPDATES
                        .iter()
                        .fold(lit(true), |keep, p| {
                            keep.and(col("subject").str().starts_with(lit(*p)).not())
                        }),
                ),
        )
        .select([
            col("host").str().to_uppercase(),
            col("time_ms").alias("end"),
        ]);
    let runs = history
        .table(Table::SetupRuns)
        .filter(inside("started_at_ms"))
        .select([
            col("host").str().to_uppercase(),
            col("ended_at_ms").alias("end"),
        ]);
    installs = concat([installs, runs], UnionArgs::default())?;
    let df = installs
        .group_by([col("host")])
        .agg([col("end").max()])
        .collect()?;
    let hosts = df.column("host")?.str()?.clone();
    let ends = df.column("end")?.i64()?.clone();
    Ok((0..df.height())
        .filter_map(|r| Some((hosts.get(r)?.to_string(), ends.get(r)?)))
        .collect())
}

/// Per host (upper case), error and critical events of `(start, end]` whose (log, provider,
/// event id) the host had not logged at or before `start`. A host's own update run is left
/// out: events up to the end of its last run in the window (`update_ends`) are what setup
/// does while it stops and starts services, not what the update left behind.
fn new_error_events(
    history: &History,
    start: i64,
    end: i64,
    update_ends: &BTreeMap<String, i64>,
) -> PolarsResult<BTreeMap<String, Vec<NewEvent>>> {
    let df = history
        .table(Table::Events)
        .filter(
            col("time_ms")
                .lt_eq(lit(end))
                .and(col("level").lt_eq(lit(2i64)))
                .and(col("level").gt(lit(0i64))),
        )
        .select([
            col("host").str().to_uppercase(),
            col("log"),
            col("provider"),
            col("event_id"),
            col("record_id"),
            col("time_ms"),
            col("provenance"),
        ])
        .unique(None, UniqueKeepStrategy::First)
        .sort(["time_ms"], Default::default())
        .collect()?;
    let s = |n: &str| df.column(n).and_then(|c| c.str().cloned());
    let i = |n: &str| df.column(n).and_then(|c| c.i64().cloned());
    let (host, log, provider, prov) = (s("host")?, s("log")?, s("provider")?, s("provenance")?);
    let (id, time) = (i("event_id")?, i("time_ms")?);
    let mut before: BTreeSet<(String, String, String, i64)> = BTreeSet::new();
    let mut out: BTreeMap<String, Vec<NewEvent>> = BTreeMap::new();
    for r in 0..df.height() {
        let key = (
            host.get(r).unwrap_or_default().to_string(),
            log.get(r).unwrap_or_default().to_string(),
            provider.get(r).unwrap_or_default().to_string(),
            id.get(r).unwrap_or_default(),
        );
        let t = time.get(r).unwrap_or_default();
        if t <= start {
            before.insert(key);
            continue;
        }
        if before.contains(&key) || update_ends.get(&key.0).is_some_and(|&u| t <= u) {
            continue;
        }
        let list = out.entry(key.0.clone()).or_default();
        match list
            .iter_mut()
            .find(|e| e.log == key.1 && e.provider == key.2 && e.event_id == key.3)
        {
            Some(e) => e.count += 1,
            None => list.push(NewEvent {
                time: utc(t),
                log: key.1,
                provider: key.2,
                event_id: key.3,
                count: 1,
                provenance: prov.get(r).unwrap_or_default().to_string(),
            }),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Build {
        Build::parse(s).unwrap()
    }

    fn finding(id: &str, fact: &str) -> Finding {
        Finding {
            id: id.into(),
            severity: Severity::Error,
            host: "EX01".into(),
            snapshot_id: String::new(),
            title: String::new(),
            evidence: vec![Evidence::new(fact, r"Windows\Temp\KB1.log")],
            action: String::new(),
            group: String::new(),
            hosts: Vec::new(),
            signature: String::new(),
        }
    }

    #[test]
    fn a_repeat_failure_of_an_update_attempt_is_new() {
        let before = finding(
            "setup.unknown-error",
            "MSI log started 2026-11-10: error 1603",
        );
        let again = finding(
            "setup.unknown-error",
            "MSI log started 2026-11-20: error 1603",
        );
        assert!(!same(&before, &again));
        assert!(same(&before, &before.clone()));
        // A state's evidence may quote an age: the same id is the same finding.
        let stopped = finding("services.not-running", "stopped for 2 days");
        let still = finding("services.not-running", "stopped for 5 days");
        assert!(same(&stopped, &still));
        assert!(attempt("services.disabled-after-update"));
        assert!(attempt("setup.unknown-error"));
        assert!(attempt("build.su-wrong-cu"));
        assert!(!attempt("setup.ready.ucma-missing"));
        assert!(!attempt("services.not-running"));
    }

    #[test]
    fn the_high_water_mark_is_per_cu_line() {
        let c = Catalog::embedded();
        // One host moved to CU15 Aug26SU; a CU14 host's mark is CU14's newest in the fleet.
        let fleet = [b("15.2.1748.49"), b("15.2.1544.43"), b("15.2.1544.41")];
        let mark = high_water(fleet.into_iter(), &c, Some(b("15.2.1544.41"))).unwrap();
        assert_eq!(mark.build, b("15.2.1544.43"));
        let mark = high_water(fleet.into_iter(), &c, Some(b("15.2.1748.49"))).unwrap();
        assert_eq!(mark.build, b("15.2.1748.49"));
    }
}
