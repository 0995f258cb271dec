//! What an analysis comes to, as data: the servers per build and how far behind they are,
//! the CVE exposure per CVE, the findings per severity and id, and the action plan grouped by
//! fix. `report` prints it and
//! writes it as JSON; `html` renders it.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use crate::analyze::Analysis;
use crate::catalog::{Catalog, Kind};
use crate::exposure::{per_cve, CveHosts, HostExposure};
use crate::finding::{Finding, Severity};
use crate::view::HostView;

/// One fix of the action plan: the findings it answers and the hosts it concerns.
#[derive(Debug, Clone, Serialize)]
pub struct Fix {
    /// The most severe finding it answers.
    pub severity: Severity,
    /// What to do (the findings' action).
    pub action: String,
    /// Finding ids it answers.
    pub ids: Vec<String>,
    /// Hosts concerned.
    pub hosts: Vec<String>,
}

/// The action plan: findings above info grouped by fix, most severe first, then the fix
/// that concerns the most hosts.
pub fn plan(findings: &[Finding]) -> Vec<Fix> {
    let mut by_action: BTreeMap<&str, Fix> = BTreeMap::new();
    for f in findings.iter().filter(|f| f.severity > Severity::Info) {
        let fix = by_action.entry(f.action.as_str()).or_insert_with(|| Fix {
            severity: f.severity,
            action: f.action.clone(),
            ids: Vec::new(),
            hosts: Vec::new(),
        });
        fix.severity = fix.severity.max(f.severity);
        fix.ids.push(f.id.clone());
        if f.host == "fleet" {
            fix.hosts.extend(f.hosts.iter().cloned());
        } else {
            fix.hosts.push(f.host.clone());
        }
    }
    let mut fixes: Vec<Fix> = by_action.into_values().collect();
    for f in &mut fixes {
        f.ids.sort();
        f.ids.dedup();
        f.hosts.sort();
        f.hosts.dedup();
    }
    fixes.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.hosts.len().cmp(&a.hosts.len()))
            .then(a.action.cmp(&b.action))
    });
    fixes
}

/// What scripts read (`analyze --format json`).
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Analysis date.
    pub as_of: String,
    /// The build catalog's as-of date.
    pub catalog_as_of: String,
    /// Servers judged.
    pub servers: usize,
    /// Snapshots left out of the analysis: their collection time cannot be true (before
    /// 2000, or more than a day after the analysis time).
    pub snapshots_left_out: usize,
    /// Why the catalog may miss what is new at the analysis date (empty: current).
    pub catalog_warnings: Vec<String>,
    /// Servers per build ("Exchange 2019 CU15 Aug26SU").
    pub servers_by_build: BTreeMap<String, usize>,
    /// CVE exposure across the fleet.
    pub exposure: ExposureSummary,
    /// Findings per severity.
    pub findings_by_severity: BTreeMap<String, usize>,
    /// Findings per id.
    pub findings_by_id: BTreeMap<String, usize>,
    /// The action plan, what to do first first.
    pub plan: Vec<Fix>,
    /// Servers that should report and did not (`--expected`), or went silent.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_collected: Vec<crate::rollout::plan::NotCollected>,
}

/// CVE exposure across the fleet: servers per status, and servers per CVE.
#[derive(Debug, Clone, Serialize)]
pub struct ExposureSummary {
    /// Date of the catalog's CVE table (empty: none, exposure not judged).
    pub cve_table_as_of: String,
    /// Servers open to at least one CVE.
    pub servers_open: usize,
    /// Servers with a CVE waiting on a setting the evidence does not show.
    pub servers_unverified: usize,
    /// Servers with only the March 2021 SU on an unsupported CU.
    pub servers_advisory: usize,
    /// Servers whose build was not read: exposure unknown.
    pub servers_unknown: usize,
    /// Servers past their product's end of support and not on their CU's newest update
    /// (HealthChecker: "Expired Version of Exchange").
    pub servers_expired: usize,
    /// Per CVE, with its servers by status, most open first.
    pub per_cve: Vec<CveHosts>,
}

/// The exposure summary of a fleet's exposures.
pub fn exposure(fleet: &[HostExposure], catalog: &Catalog) -> ExposureSummary {
    let with = |status| {
        fleet
            .iter()
            .filter(|h| h.exposures.iter().any(|e| e.status == status))
            .count()
    };
    use crate::exposure::Status;
    ExposureSummary {
        cve_table_as_of: catalog.cve_as_of.map(|d| d.to_string()).unwrap_or_default(),
        servers_open: with(Status::Open),
        servers_unverified: with(Status::Unverified),
        servers_advisory: with(Status::Advisory),
        servers_unknown: fleet.iter().filter(|h| h.build.is_empty()).count(),
        servers_expired: fleet.iter().filter(|h| h.expired).count(),
        per_cve: per_cve(fleet),
    }
}

/// The summary of an analysis.
pub fn summarize(a: &Analysis, catalog: &Catalog) -> Summary {
    let mut servers_by_build = BTreeMap::new();
    for h in &a.hosts {
        *servers_by_build.entry(build_name(h, catalog)).or_default() += 1;
    }
    let mut findings_by_severity = BTreeMap::new();
    let mut findings_by_id = BTreeMap::new();
    for f in &a.findings {
        *findings_by_severity
            .entry(f.severity.name().to_string())
            .or_default() += 1;
        *findings_by_id.entry(f.id.clone()).or_default() += 1;
    }
    Summary {
        as_of: a.as_of.to_string(),
        catalog_as_of: a.catalog_as_of.to_string(),
        servers: a.hosts.len(),
        snapshots_left_out: a.left_out.len(),
        catalog_warnings: a.catalog_warnings.clone(),
        servers_by_build,
        exposure: exposure(&a.exposure, catalog),
        findings_by_severity,
        findings_by_id,
        plan: plan(&a.findings),
        not_collected: a.not_collected.clone(),
    }
}

/// The host's build as reports name it.
pub fn build_name(h: &HostView, catalog: &Catalog) -> String {
    h.exsetup
        .map_or_else(|| "ExSetup.exe not read".into(), |b| catalog.describe(&b))
}

/// How far a host is from the newest update of its CU, as of `as_of`.
pub fn lag(h: &HostView, catalog: &Catalog, as_of: NaiveDate) -> &'static str {
    let Some(b) = h.exsetup else {
        return "unknown (no build read)";
    };
    let Some(cu) = catalog.cu_of(&b) else {
        return "unknown (build not in the catalog)";
    };
    let newer = catalog
        .line(&cu.product, &cu.cu)
        .into_iter()
        .filter(|r| r.kind != Kind::Cu && r.date <= as_of && r.build > b)
        .count();
    match newer {
        0 => "on the newest",
        1 => "1 update behind",
        2..=3 => "2 to 3 updates behind",
        _ => "4 or more updates behind",
    }
}
