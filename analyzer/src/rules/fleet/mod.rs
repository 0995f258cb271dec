//! The `fleet.*` rules, and what every fleet rule shares: the [`Fleet`] view and the
//! [`FleetRule`] trait. A fleet rule finds things about groups of hosts, with polars over each
//! host's latest snapshot, the host findings, and every snapshot over time. Fleet rules whose
//! id has another prefix live in the folder of that prefix (`config/`, `topology/`); what makes
//! a fleet rule is this trait and its place in `FLEET_RULES`.

pub mod build_drift;
pub mod failure_correlate;
pub mod incident_window;
pub mod mismatch_pattern;
pub mod stale_collection;
pub mod tls_drift;

use polars::prelude::*;

use crate::finding::{Evidence, Finding, Severity};
use crate::input::{Frames, History};
use crate::rules::Context;

/// What a fleet rule looks at.
pub struct Fleet<'a> {
    /// Each host's latest snapshot as of the analysis.
    pub latest: &'a Frames,
    /// The host findings as a frame (`id`, `host`, `severity`, `signature`).
    pub findings: &'a DataFrame,
    /// Every snapshot, lazily.
    pub history: &'a History,
    /// The end of the analysis day (UTC ms): nothing collected later is looked at.
    pub end_ms: i64,
    /// Each host's view of its latest snapshot, with the builds it ran over the history
    /// (computed once for the host and the fleet rules).
    pub hosts: &'a [crate::view::HostView],
}

/// A rule over the whole fleet.
pub trait FleetRule: Sync {
    /// Stable finding id.
    fn id(&self) -> &'static str;
    /// Default severity.
    fn severity(&self) -> Severity;
    /// The catalog entry.
    fn doc(&self) -> &'static str;
    /// `module_path!()` of the file that defines the rule: the registry checks the id's prefix
    /// against it.
    fn module_path(&self) -> &'static str;
    /// Adds this rule's findings about `fleet`.
    fn check(&self, fleet: &Fleet, cx: &Context, out: &mut Vec<Finding>) -> PolarsResult<()>;
}

/// A finding about a group of hosts (`host` is "fleet").
pub fn fleet_finding<R: FleetRule + ?Sized>(
    rule: &R,
    title: String,
    group: String,
    evidence: Vec<Evidence>,
    mut hosts: Vec<String>,
) -> Finding {
    hosts.sort();
    hosts.dedup();
    Finding {
        id: rule.id().into(),
        severity: rule.severity(),
        host: "fleet".into(),
        snapshot_id: String::new(),
        title,
        evidence,
        action: crate::rules::action_of(rule.doc()),
        group,
        hosts,
        signature: String::new(),
    }
}

/// A list cell as strings.
pub fn strings(col: &Column, row: usize) -> PolarsResult<Vec<String>> {
    let s = col.list()?.get_as_series(row).unwrap_or_default();
    Ok(s.str()?.iter().flatten().map(str::to_string).collect())
}

/// The host findings as a frame.
pub fn findings_frame(findings: &[Finding]) -> PolarsResult<DataFrame> {
    let ids: Vec<&str> = findings.iter().map(|f| f.id.as_str()).collect();
    let hosts: Vec<&str> = findings.iter().map(|f| f.host.as_str()).collect();
    let severities: Vec<&str> = findings.iter().map(|f| f.severity.name()).collect();
    let sigs: Vec<&str> = findings.iter().map(|f| f.signature.as_str()).collect();
    DataFrame::new(
        findings.len(),
        vec![
            Column::new("id".into(), ids),
            Column::new("host".into(), hosts),
            Column::new("severity".into(), severities),
            Column::new("signature".into(), sigs),
        ],
    )
}
