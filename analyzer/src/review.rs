//! Reviewing one log for an administrator in a hurry: an ExchangeSetup.log, a
//! ServiceControl.log or the MSI verbose log of an SU install (told apart by their first
//! lines), with the same parsers and rules as the fleet pipeline, over a single file, with no
//! triage copy and no aggregator.

use std::fmt::Write as _;
use std::path::Path;

use exfleet_collector::readers::{msi_log, service_control, setup_log::parser};
use exfleet_dataset::value::Text;
use exfleet_dataset::Batch;
use exfleet_proto::kinds::{MsiLineKind, ScActionKind};
use exfleet_proto::v1::{
    provenance::Locator, service_control_run, setup_run, HostIdentity, Provenance, Snapshot,
    StoredSnapshot,
};
use serde::Serialize;

use crate::catalog::Catalog;
use crate::error::Error;
use crate::finding::Finding;
use crate::input::History;

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
    /// First and last line (for a run cut off, its last line in the log).
    pub lines: [u32; 2],
    /// `[ERROR]` lines.
    pub errors: usize,
}

/// What a review found.
#[derive(Debug, Clone, Serialize)]
pub struct Review {
    /// The file reviewed.
    pub file: String,
    /// What it is: `ExchangeSetup.log`, `ServiceControl.log` or `MSI log`.
    pub kind: String,
    /// Every run, oldest first; findings are about the last.
    pub runs: Vec<RunSummary>,
    /// Lines that could not be read, as `line: message`.
    pub unreadable_lines: Vec<String>,
    /// Findings about the last run.
    pub findings: Vec<Finding>,
}

/// Bytes read to tell what a log is (an MSI log by its header, ServiceControl.log by its
/// banner).
const SNIFF: u64 = 64 * 1024;

/// Reviews one log file. ExchangeSetup.log (tens to hundreds of MB on a long-lived server) is
/// read as a stream: memory does not grow with the log.
pub fn review(path: &Path, catalog: &Catalog, as_of: chrono::NaiveDate) -> Result<Review, Error> {
    use std::io::Read as _;
    let open = || std::fs::File::open(path).map_err(Error::io(path));
    let mut head = Vec::new();
    open()?
        .take(SNIFF)
        .read_to_end(&mut head)
        .map_err(Error::io(path))?;
    let head = exfleet_collector::text::decode(&head);
    let whole = || -> Result<String, Error> {
        let bytes = std::fs::read(path).map_err(Error::io(path))?;
        Ok(exfleet_collector::text::decode(&bytes))
    };
    let file = path.display().to_string();
    let at = |reader: &str, line: u32| Provenance {
        reader: reader.into(),
        path: file.clone(),
        locator: Some(Locator::Line(line)),
    };
    let mut snapshot = Snapshot {
        snapshot_id: "review".into(),
        // Collected as the review judges it: the analysis leaves out snapshots with no
        // plausible collection time.
        collected_at_ms: crate::analyze::end_of_day(as_of),
        host: Some(HostIdentity {
            computer_name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let (kind, runs, unreadable) = if msi_log::parser::is_msi_log(&head) {
        let text = whole()?;
        // The reviewer does not know the host's time zone: times stay local (bias 0).
        let parsed = msi_log::parser::parse(&text, 0);
        let mut log = parsed.log;
        log.provenance = Some(Provenance {
            reader: "msi_log".into(),
            path: file.clone(),
            locator: None,
        });
        let run = RunSummary {
            started: local(log.started_at_ms),
            setup_version: log.product_version.clone(),
            mode: format!("MSI install of {}", log.update_name),
            user: String::new(),
            outcome: match (log.error_code, log.install_status) {
                (0, -1) => "no result logged".into(),
                (0, s) => format!("status {s}"),
                (e, _) => format!("error {e}"),
            },
            lines: [1, text.lines().count() as u32],
            errors: log
                .lines
                .iter()
                .filter(|l| MsiLineKind::parse(&l.kind) == MsiLineKind::Error)
                .count(),
        };
        snapshot.msi_logs.push(log);
        ("MSI log", vec![run], parsed.issues)
    } else if head.contains("* ServiceControl.ps1:") {
        let text = whole()?;
        let parsed = service_control::parser::parse(&text, 0);
        let mut runs = Vec::new();
        for mut r in parsed.runs {
            r.provenance = Some(at("service_control", r.start_line));
            runs.push(RunSummary {
                started: local(r.started_at_ms),
                setup_version: String::new(),
                mode: "ServiceControl.ps1".into(),
                user: String::new(),
                outcome: service_control_run::Outcome::try_from(r.outcome)
                    .unwrap_or_default()
                    .to_text(),
                lines: [r.start_line, r.end_line],
                errors: r
                    .actions
                    .iter()
                    .filter(|a| ScActionKind::parse(&a.kind) == ScActionKind::Error)
                    .count(),
            });
            snapshot.service_control_runs.push(r);
        }
        ("ServiceControl.log", runs, parsed.issues)
    } else {
        let mut stream = parser::Parser::new();
        exfleet_collector::text::read_lines(
            open()?,
            u64::MAX,
            exfleet_collector::text::MAX_LINE_BYTES,
            |line, newline| {
                stream.line(match newline {
                    true => line.strip_suffix('\r').unwrap_or(line),
                    false => line,
                })
            },
        )
        .map_err(Error::io(path))?;
        let parsed = stream.finish();
        let mut runs = Vec::new();
        for mut r in parsed.runs {
            r.provenance = Some(at("setup_log", r.start_line));
            runs.push(RunSummary {
                started: iso(r.started_at_ms),
                setup_version: r.setup_version.clone(),
                mode: r.mode.clone(),
                user: r.logged_on_user.clone(),
                outcome: setup_run::Outcome::try_from(r.outcome)
                    .unwrap_or_default()
                    .to_text(),
                // A run cut off has no end line: it spans its lines to the next run or the end.
                lines: [
                    r.start_line,
                    match r.end_line {
                        0 => r.start_line + r.line_count.max(1) - 1,
                        end => end,
                    },
                ],
                errors: r.errors.len(),
            });
            snapshot.setup_runs.push(r);
        }
        ("ExchangeSetup.log", runs, parsed.issues)
    };
    let mut rows = Batch::default();
    rows.add(&StoredSnapshot {
        snapshot: Some(snapshot),
        ..Default::default()
    });
    let history = History::from_batch(&rows).map_err(|e| Error::polars(path, e))?;
    let analysis = crate::analyze(&history, catalog, as_of)?;
    Ok(Review {
        file,
        kind: kind.into(),
        runs,
        unreadable_lines: unreadable
            .iter()
            .map(|i| format!("{}: {}", i.line, i.message))
            .collect(),
        findings: analysis.findings,
    })
}

/// A local time read with bias 0, said to be local.
fn local(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .filter(|_| ms != 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S local").to_string())
        .unwrap_or_default()
}

fn iso(ms: i64) -> String {
    if ms == 0 {
        return String::new();
    }
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339())
        .unwrap_or_default()
}

/// The review as text for a terminal.
pub fn text(r: &Review) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{} ({}): {} run(s)", r.file, r.kind, r.runs.len());
    for (i, run) in r.runs.iter().enumerate() {
        let last = if i + 1 == r.runs.len() {
            "last"
        } else {
            "    "
        };
        let what: Vec<&str> = [
            run.started.as_str(),
            run.mode.as_str(),
            run.setup_version.as_str(),
        ]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect();
        let by = if run.user.is_empty() {
            String::new()
        } else {
            format!(" by {}", run.user)
        };
        let _ = writeln!(
            s,
            "  {last} {}{by}: {} (lines {}-{}, {} errors)",
            what.join(" "),
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
        let _ = writeln!(s, "\nNo finding.");
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
