//! Rules: pure functions from a typed view to findings. One rule per file; only
//! [`registry`] maps ids to rules. A rule's documentation is its catalog entry
//! (`## Detects`, `## Evidence`, `## Action`, `## Source`), printed by `exfleet-analyzer explain`.

pub mod build;
pub mod config;
pub mod fleet;
pub mod iis;
pub mod owa;
pub mod platform;
pub mod registry;
pub mod services;
pub mod setup;

use chrono::NaiveDate;

use crate::catalog::Catalog;
use crate::finding::{Evidence, Finding, Severity};
use crate::view::HostView;

/// What every rule may consult besides the host: the catalog and the analysis date.
pub struct Context<'a> {
    /// The build catalog.
    pub catalog: &'a Catalog,
    /// The analysis date: "behind" and "out of support" are judged at it.
    pub as_of: NaiveDate,
}

/// A rule over one host.
pub trait Rule: Sync {
    /// Stable finding id.
    fn id(&self) -> &'static str;
    /// Default severity.
    fn severity(&self) -> Severity;
    /// The catalog entry (markdown with the fixed headings).
    fn doc(&self) -> &'static str;
    /// Adds this rule's findings about `h` to `out`. `out` already holds the findings of the
    /// rules registered before this one, for this host.
    fn check(&self, h: &HostView, cx: &Context, out: &mut Vec<Finding>);

    /// A finding of this rule about `h`.
    fn finding(
        &self,
        h: &HostView,
        title: String,
        evidence: Vec<Evidence>,
        action: &str,
    ) -> Finding {
        Finding {
            id: self.id().to_string(),
            severity: self.severity(),
            host: h.host.clone(),
            snapshot_id: h.snapshot_id.clone(),
            title,
            evidence,
            action: action.to_string(),
            group: String::new(),
            hosts: Vec::new(),
            signature: String::new(),
        }
    }
}

/// The `## Action` section of a rule's doc, as one line.
pub fn action_of(doc: &str) -> String {
    section(doc, "Action")
}

/// A section of a rule doc, joined into one line.
pub fn section(doc: &str, heading: &str) -> String {
    let mut lines = doc
        .lines()
        .skip_while(|l| l.trim() != format!("## {heading}"));
    lines.next();
    lines
        .take_while(|l| !l.starts_with("## "))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `path:start` (a record's provenance) → `path:line`, for another line of the same file.
pub fn line_of(provenance: &str, line: i64) -> String {
    let path = provenance.rsplit_once(':').map_or(provenance, |(p, _)| p);
    format!("{path}:{line}")
}

/// UTC ms as an administrator reads it (empty when unknown).
pub fn utc(ms: i64) -> String {
    if ms == 0 {
        return String::new();
    }
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

/// The first `n` items, comma-separated, with ", ..." when there are more: lists in titles.
pub fn first_of<S: AsRef<str>>(items: &[S], n: usize) -> String {
    let mut shown = items
        .iter()
        .take(n)
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > n {
        shown.push_str(", ...");
    }
    shown
}
