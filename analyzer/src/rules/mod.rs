//! Rules, in ruff's shape: one rule per file, the id's prefix is the folder
//! (`build.su-behind` is `build/su_behind.rs`, `setup.prereq.reboot-pending` is
//! `setup/prereq/reboot_pending.rs`), and only [`registry`] maps ids to rules. A registry test
//! checks every id against the `module_path!()` its rule gives, so a rule cannot drift into
//! another folder.
//!
//! Three kinds of rules, told apart by the trait they implement and the registry list they are
//! in, not by their folder:
//!
//! - host rules ([`Rule`], in `HOST_RULES`), the first pass: pure functions of one host's
//!   [`HostView`] and the [`Context`]. A rule writes its findings to a [`Sink`] it cannot read,
//!   so it never sees another rule's findings and the registry's order changes nothing.
//! - second-pass rules ([`SecondPassRule`], in `SECOND_PASS_RULES`): rules that judge what the
//!   first pass found. For each host they run after all its host rules, given that host's
//!   first-pass findings (`setup.unknown-error`: a failure that no other rule explains).
//! - fleet rules ([`fleet::FleetRule`], in `FLEET_RULES`): over the whole fleet (each host's
//!   latest snapshot, the host findings, the history) with polars, after the host rules. Most
//!   are `fleet.*` and live in `fleet/`, which also holds the trait and the [`fleet::Fleet`]
//!   view; `config.customizations-overwritten` (in `config/`) and `topology.cas-proxy-order`
//!   (in `topology/`) are fleet rules too, in the folder their id names.
//!
//! A rule's documentation is its catalog entry (`## Detects`, `## Evidence`, `## Action`,
//! `## Source`), printed by `exfleet-analyzer explain` and gathered in `analyzer/FINDINGS.md`
//! ([`registry::catalog_markdown`]). Its Source cites what a user can open: the Microsoft
//! article, KB or tool, or this project's documentation.

pub mod build;
pub mod cert;
pub mod config;
pub mod dotnet;
pub mod fleet;
pub mod iis;
pub mod ioc;
pub mod os;
pub mod owa;
pub mod registry;
pub mod security;
pub mod services;
pub mod setup;
pub mod tls;
pub mod topology;

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

impl Context<'_> {
    /// The start of the analysis day (midnight UTC, ms): what "expired" is judged against.
    pub fn day_start_ms(&self) -> i64 {
        self.as_of
            .and_hms_opt(0, 0, 0)
            .map_or(0, |t| t.and_utc().timestamp_millis())
    }
}

/// Where a host rule puts its findings. A rule can add to it, not read it: what a rule finds
/// never depends on what another rule found, nor on the order of the registry.
#[derive(Debug)]
pub struct Sink(Vec<Finding>);

impl Sink {
    /// An empty sink.
    pub fn empty() -> Sink {
        Sink(Vec::new())
    }

    /// Adds a finding.
    pub fn push(&mut self, finding: Finding) {
        self.0.push(finding);
    }

    /// The findings, in the order they were added: for the runner, once the rules are done.
    pub fn into_vec(self) -> Vec<Finding> {
        self.0
    }
}

impl Extend<Finding> for Sink {
    fn extend<I: IntoIterator<Item = Finding>>(&mut self, findings: I) {
        self.0.extend(findings);
    }
}

/// A host rule (the first pass): a pure function of one host and the context.
pub trait Rule: Sync {
    /// Stable finding id.
    fn id(&self) -> &'static str;
    /// Default severity.
    fn severity(&self) -> Severity;
    /// The catalog entry (markdown with the fixed headings).
    fn doc(&self) -> &'static str;
    /// `module_path!()` of the file that defines the rule (for a rule that is a value of a
    /// shared type, the file of that value): the registry checks the id's prefix against it.
    fn module_path(&self) -> &'static str;
    /// Adds this rule's findings about `h` to `out`.
    fn check(&self, h: &HostView, cx: &Context, out: &mut Sink);

    /// A finding of this rule about `h`.
    fn finding(
        &self,
        h: &HostView,
        title: String,
        evidence: Vec<Evidence>,
        action: &str,
    ) -> Finding {
        host_finding(self.id(), self.severity(), h, title, evidence, action)
    }
}

/// A rule of the second pass: it judges the findings of the first pass about one host.
pub trait SecondPassRule: Sync {
    /// Stable finding id.
    fn id(&self) -> &'static str;
    /// Default severity.
    fn severity(&self) -> Severity;
    /// The catalog entry (markdown with the fixed headings).
    fn doc(&self) -> &'static str;
    /// `module_path!()` of the file that defines the rule.
    fn module_path(&self) -> &'static str;
    /// Adds this rule's findings about `h` to `out`; `first` holds every finding of the host
    /// rules about `h` (and nothing of the second pass).
    fn check(&self, h: &HostView, cx: &Context, first: &[Finding], out: &mut Sink);

    /// A finding of this rule about `h`.
    fn finding(
        &self,
        h: &HostView,
        title: String,
        evidence: Vec<Evidence>,
        action: &str,
    ) -> Finding {
        host_finding(self.id(), self.severity(), h, title, evidence, action)
    }
}

/// A finding about one host.
fn host_finding(
    id: &str,
    severity: Severity,
    h: &HostView,
    title: String,
    evidence: Vec<Evidence>,
    action: &str,
) -> Finding {
    Finding {
        id: id.to_string(),
        severity,
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
