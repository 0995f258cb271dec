//! One analysis: the latest snapshot of each host as of a date, every host rule, then the
//! fleet rules.

use chrono::NaiveDate;

use crate::catalog::Catalog;
use crate::error::Error;
use crate::exposure::{self, HostExposure};
use crate::finding::Finding;
use crate::input::{History, LeftOut, AHEAD_MS};
use crate::rules::fleet::{findings_frame, Fleet};
use crate::rules::registry::{FLEET_RULES, HOST_RULES};
use crate::rules::Context;
use crate::view::{host_views, HostView};

/// What an analysis found.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// The analysis date.
    pub as_of: NaiveDate,
    /// The catalog's as-of date.
    pub catalog_as_of: NaiveDate,
    /// Each host's view (its latest snapshot).
    pub hosts: Vec<HostView>,
    /// Host findings, then fleet findings.
    pub findings: Vec<Finding>,
    /// Each host's CVE exposure.
    pub exposure: Vec<HostExposure>,
    /// Why the catalog may miss what is new at the analysis date ([`Catalog::staleness`]).
    pub catalog_warnings: Vec<String>,
    /// Snapshots left out: their collection time cannot be true (before 2000, or more than a
    /// day after the analysis time).
    pub left_out: Vec<LeftOut>,
    /// The rollout plan, when one was asked for (`analyze --target`): a section of the report.
    pub rollout: Option<crate::rollout::Plan>,
    /// Servers that should report and did not (`--expected`), or went silent.
    pub not_collected: Vec<crate::rollout::plan::NotCollected>,
}

/// Runs every host rule over the latest snapshots collected up to the end of `as_of`, then
/// the fleet rules over those, the host findings and the history up to then. Snapshots whose
/// collection time cannot be true ([`plausible_until`]) are left out, each with a warning.
pub fn analyze(history: &History, catalog: &Catalog, as_of: NaiveDate) -> Result<Analysis, Error> {
    let end_of_day = end_of_day(as_of);
    let (history, left_out) = history
        .plausible(plausible_until(end_of_day))
        .map_err(|e| history.name_failure(e))?;
    for l in &left_out {
        tracing::warn!("{l}");
    }
    let history = &history;
    let mut frames = history
        .latest(end_of_day)
        .map_err(|e| history.name_failure(e))?;
    frames.ioc_matches =
        crate::queries::ioc_matches(history, &frames.hosts, &frames.ioc_matches, end_of_day)
            .map_err(|e| history.name_failure(e))?;
    let mut hosts = host_views(&frames).map_err(|e| history.name_failure(e))?;
    let mut builds = crate::queries::builds_over_time(history, end_of_day)
        .map_err(|e| history.name_failure(e))?;
    for h in &mut hosts {
        h.build_history = builds.remove(&h.host).unwrap_or_default();
    }
    let cx = Context { catalog, as_of };
    let mut findings = Vec::new();
    for h in &hosts {
        // First pass: each host rule sees the host and the context only (a sink it cannot read).
        let mut first = crate::rules::Sink::empty();
        for rule in HOST_RULES {
            rule.check(h, &cx, &mut first);
        }
        let first = first.into_vec();
        // Second pass: the rules that judge the first pass's findings about this host.
        let mut second = crate::rules::Sink::empty();
        for rule in crate::rules::registry::SECOND_PASS_RULES {
            rule.check(h, &cx, &first, &mut second);
        }
        findings.extend(first);
        findings.extend(second.into_vec());
    }
    let frame = findings_frame(&findings).map_err(|e| history.name_failure(e))?;
    let fleet_view = Fleet {
        latest: &frames,
        findings: &frame,
        history,
        end_ms: end_of_day,
        hosts: &hosts,
    };
    let mut fleet = Vec::new();
    for rule in FLEET_RULES {
        rule.check(&fleet_view, &cx, &mut fleet)
            .map_err(|e| history.name_failure(e))?;
    }
    findings.extend(fleet);
    let catalog_warnings = catalog.staleness(as_of);
    for w in &catalog_warnings {
        tracing::warn!("{w}");
    }
    Ok(Analysis {
        as_of,
        catalog_as_of: catalog.as_of,
        exposure: exposure::of_fleet(&hosts, catalog, as_of),
        hosts,
        findings,
        left_out,
        catalog_warnings,
        rollout: None,
        not_collected: Vec::new(),
    })
}

/// The latest collection time an analysis up to `end_ms` trusts: a day after the clock, or
/// after `end_ms` when that is later (an analysis as of a future day).
pub fn plausible_until(end_ms: i64) -> i64 {
    chrono::Utc::now()
        .timestamp_millis()
        .max(end_ms)
        .saturating_add(AHEAD_MS)
}

/// The last millisecond of a UTC day.
pub fn end_of_day(day: NaiveDate) -> i64 {
    day.succ_opt()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(i64::MAX, |t| t.and_utc().timestamp_millis() - 1)
}
