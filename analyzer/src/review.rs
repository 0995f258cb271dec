//! Reviewing one ExchangeSetup.log for an administrator in a hurry: the same parser and rules
//! as the fleet pipeline, over a single file, with no triage copy and no aggregator.

use std::fmt::Write as _;
use std::path::Path;

use exfleet_aggregator::dataset::Tables;
use exfleet_collector::readers::setup_log::parser;
use exfleet_proto::v1::{provenance::Locator, HostIdentity, Provenance, Snapshot, StoredSnapshot};
use serde::Serialize;

use crate::catalog::Catalog;
use crate::error::Error;
use crate::finding::Finding;
use crate::input::Frames;

/// One run of the log, in short.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// Start (UTC, ISO 8601).
    pub started: String,
    /// Setup version.
    pub setup_version: String,
    /// Mode.
    pub mode: String,
    /// Logged-on user.
    pub user: String,
    /// `succeeded`, `failed`, `ended_unknown`, `cut_off`.
    pub outcome: String,
    /// First and last line (0 = no end).
    pub lines: [u32; 2],
    /// `[ERROR]` lines.
    pub errors: usize,
}

/// What a review found.
#[derive(Debug, Clone, Serialize)]
pub struct Review {
    /// The file reviewed.
    pub file: String,
    /// Every run, oldest first; findings are about the last.
    pub runs: Vec<RunSummary>,
    /// Lines that could not be read, as `line: message`.
    pub unreadable_lines: Vec<String>,
    /// Findings about the last run.
    pub findings: Vec<Finding>,
}

/// Reviews one log file.
pub fn review(path: &Path, catalog: &Catalog, as_of: chrono::NaiveDate) -> Result<Review, Error> {
    let bytes = std::fs::read(path).map_err(Error::io(path))?;
    let parsed = parser::parse(&exfleet_collector::text::decode(&bytes));
    let file = path.display().to_string();
    let mut runs = parsed.runs;
    for r in &mut runs {
        r.provenance = Some(Provenance {
            reader: "setup_log".into(),
            path: file.clone(),
            locator: Some(Locator::Line(r.start_line)),
        });
    }
    let summaries = runs
        .iter()
        .map(|r| RunSummary {
            started: chrono::DateTime::from_timestamp_millis(r.started_at_ms)
                .map(|t| t.to_rfc3339())
                .unwrap_or_default(),
            setup_version: r.setup_version.clone(),
            mode: r.mode.clone(),
            user: r.logged_on_user.clone(),
            outcome: exfleet_aggregator::dataset::tables::outcome(r.outcome).to_string(),
            lines: [r.start_line, r.end_line],
            errors: r.errors.len(),
        })
        .collect();
    let host = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stored = StoredSnapshot {
        snapshot: Some(Snapshot {
            snapshot_id: "review".into(),
            host: Some(HostIdentity {
                computer_name: host,
                ..Default::default()
            }),
            collected_at_ms: 0,
            setup_runs: runs,
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut tables = Tables::default();
    tables.add(&stored);
    let frames = Frames::from_tables(&tables).map_err(|e| Error::polars(path, e))?;
    let analysis = crate::analyze(frames, catalog, as_of)?;
    let findings = analysis
        .findings
        .into_iter()
        .filter(|f| f.id.starts_with("setup."))
        .collect();
    Ok(Review {
        file,
        runs: summaries,
        unreadable_lines: parsed
            .issues
            .iter()
            .map(|i| format!("{}: {}", i.line, i.message))
            .collect(),
        findings,
    })
}

/// The review as text for a terminal.
pub fn text(r: &Review) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}: {} setup run(s)", r.file, r.runs.len());
    for (i, run) in r.runs.iter().enumerate() {
        let last = if i + 1 == r.runs.len() {
            "last"
        } else {
            "    "
        };
        let _ = writeln!(
            s,
            "  {last} {} setup {} {} by {}: {} (lines {}-{}, {} errors)",
            run.started,
            run.setup_version,
            run.mode,
            run.user,
            run.outcome,
            run.lines[0],
            run.lines[1],
            run.errors
        );
    }
    for u in &r.unreadable_lines {
        let _ = writeln!(s, "  unreadable line {u}");
    }
    if r.findings.is_empty() {
        let _ = writeln!(s, "\nNo finding about the last run.");
    }
    for f in &r.findings {
        let _ = writeln!(
            s,
            "\n{} {}: {}",
            f.severity.name().to_uppercase(),
            f.id,
            f.title
        );
        for e in &f.evidence {
            let _ = writeln!(
                s,
                "  - {} [{}]",
                e.fact.replace('\n', "\n    "),
                e.provenance
            );
        }
        let _ = writeln!(s, "  Action: {}", f.action);
    }
    s
}
