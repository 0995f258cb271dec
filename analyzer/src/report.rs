//! What an analysis leaves behind: the terminal summary, and `report.html`, `findings.json`,
//! `findings.csv` and `findings.parquet` in the output directory. The summary's data (servers
//! per build, the action plan) is [`crate::summary`]'s; `report.html` is [`crate::html`]'s
//! rendering of it, with the timeline of [`crate::queries`].

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::analyze::Analysis;
use crate::catalog::Catalog;
use crate::error::Error;
use crate::finding::{Finding, Severity};
use crate::input::History;
pub use crate::summary::{plan, summarize, ExposureSummary, Fix, Summary};

/// How many fixes the terminal summary lists.
const FIRST_FIXES: usize = 10;

/// The terminal summary: short, what to do first first, then the fleet's builds.
pub fn summary(a: &Analysis, catalog: &Catalog) -> String {
    let sum = summarize(a, catalog);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "exfleet: {} servers, analysed as of {} (build catalog as of {})",
        sum.servers, sum.as_of, sum.catalog_as_of
    );
    let sev: Vec<String> = [
        Severity::Critical,
        Severity::Error,
        Severity::Warning,
        Severity::Info,
    ]
    .iter()
    .filter_map(|k| {
        sum.findings_by_severity
            .get(k.name())
            .map(|n| format!("{} {n}", k.name()))
    })
    .collect();
    for w in &sum.catalog_warnings {
        let _ = writeln!(s, "Warning: {w}");
    }
    let _ = writeln!(s, "Findings: {} ({})", a.findings.len(), sev.join(", "));
    if !a.left_out.is_empty() {
        let named: Vec<String> = a
            .left_out
            .iter()
            .map(|l| format!("{} ({})", l.host, l.snapshot_id))
            .collect();
        let _ = writeln!(
            s,
            "Left out: {} snapshot{} with an impossible collection time (before 2000 or ahead of the clock): {}",
            named.len(),
            if named.len() == 1 { "" } else { "s" },
            crate::rules::first_of(&named, 5)
        );
    }
    if !sum.not_collected.is_empty() {
        let named: Vec<String> = sum
            .not_collected
            .iter()
            .map(|n| format!("{} ({})", n.host, n.why))
            .collect();
        let _ = writeln!(
            s,
            "Not collected: {} server{} that should report: {}",
            named.len(),
            if named.len() == 1 { "" } else { "s" },
            crate::rules::first_of(&named, 10)
        );
    }
    if !sum.plan.is_empty() {
        let _ = writeln!(s, "\nDo first:");
    }
    for (i, fix) in sum.plan.iter().take(FIRST_FIXES).enumerate() {
        let first_sentence = short(&fix.action, 110);
        let _ = writeln!(
            s,
            "{:>3}. {:<8} {} host{} [{}]\n      {}\n      {}",
            i + 1,
            fix.severity.name(),
            fix.hosts.len(),
            if fix.hosts.len() == 1 { "" } else { "s" },
            fix.ids.join(", "),
            first_sentence,
            crate::rules::first_of(&fix.hosts, 6)
        );
    }
    if sum.plan.len() > FIRST_FIXES {
        let _ = writeln!(
            s,
            "     ... {} more fixes in report.html",
            sum.plan.len() - FIRST_FIXES
        );
    }
    exposure_lines(&mut s, &sum.exposure);
    let _ = writeln!(s, "\nServers by build:");
    let mut builds: Vec<_> = sum.servers_by_build.iter().collect();
    builds.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (name, n) in builds {
        let _ = writeln!(s, "  {n:>5}  {name}");
    }
    s
}

/// How many CVEs the terminal summary lists.
const FIRST_CVES: usize = 5;

/// The exposure lines of the terminal summary.
fn exposure_lines(s: &mut String, e: &ExposureSummary) {
    if e.cve_table_as_of.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "\nCVE exposure (CVE table as of {}): {} servers open, {} waiting on a setting the evidence does not show, {} on the March 2021 SU for unsupported CUs, {} out of support and behind (expired){}",
        e.cve_table_as_of,
        e.servers_open,
        e.servers_unverified,
        e.servers_advisory,
        e.servers_expired,
        if e.servers_unknown > 0 {
            format!(", {} unknown (build not read)", e.servers_unknown)
        } else {
            String::new()
        }
    );
    for c in e
        .per_cve
        .iter()
        .filter(|c| !c.open.is_empty())
        .take(FIRST_CVES)
    {
        let _ = writeln!(
            s,
            "  {:>5} open  {:<16} fixed by {}",
            c.open.len(),
            c.cve,
            c.fixed_by.join(", ")
        );
    }
}

/// The first sentence of `text`, at most `max` characters.
fn short(text: &str, max: usize) -> String {
    let sentence = text.split_inclusive(". ").next().unwrap_or(text).trim();
    if sentence.chars().count() <= max {
        return sentence.to_string();
    }
    let cut: String = sentence.chars().take(max - 3).collect();
    format!("{}...", cut.trim_end())
}

/// Where the outputs went.
#[derive(Debug, Clone)]
pub struct Written {
    /// findings.json
    pub json: PathBuf,
    /// findings.csv
    pub csv: PathBuf,
    /// findings.parquet
    pub parquet: PathBuf,
    /// report.html
    pub html: PathBuf,
}

/// Writes report.html (its timeline from `history`), findings.json, findings.csv and
/// findings.parquet into `out`.
pub fn write(
    a: &Analysis,
    catalog: &Catalog,
    history: &History,
    out: &Path,
) -> Result<Written, Error> {
    std::fs::create_dir_all(out).map_err(Error::io(out))?;
    let timeline = crate::queries::timeline(history, crate::analyze::end_of_day(a.as_of))
        .map_err(|e| Error::polars(out, e))?;
    let html = out.join("report.html");
    std::fs::write(&html, crate::html::render(a, catalog, &timeline)).map_err(Error::io(&html))?;
    let json = out.join("findings.json");
    let text = serde_json::to_vec_pretty(&a.findings).map_err(|e| Error::Input {
        path: json.clone(),
        message: e.to_string(),
    })?;
    std::fs::write(&json, text).map_err(Error::io(&json))?;
    let mut df = frame(&a.findings).map_err(|e| Error::polars(out, e))?;
    let csv = out.join("findings.csv");
    let mut f = std::fs::File::create(&csv).map_err(Error::io(&csv))?;
    // Host names, titles and evidence come from the servers: no cell may run as a formula.
    let mut safe = crate::spreadsheet::csv_safe(&df).map_err(|e| Error::polars(&csv, e))?;
    CsvWriter::new(&mut f)
        .finish(&mut safe)
        .map_err(|e| Error::polars(&csv, e))?;
    let parquet = out.join("findings.parquet");
    let mut f = std::fs::File::create(&parquet).map_err(Error::io(&parquet))?;
    ParquetWriter::new(&mut f)
        .finish(&mut df)
        .map_err(|e| Error::polars(&parquet, e))?;
    Ok(Written {
        json,
        csv,
        parquet,
        html,
    })
}

/// Findings as a flat table: evidence as `fact [provenance]` joined by ` | `.
pub fn frame(findings: &[Finding]) -> PolarsResult<DataFrame> {
    let col = |name: &str, v: Vec<String>| Column::new(name.into(), v);
    let get = |f: fn(&Finding) -> String| findings.iter().map(f).collect::<Vec<_>>();
    DataFrame::new(
        findings.len(),
        vec![
            col("id", get(|f| f.id.clone())),
            col("severity", get(|f| f.severity.name().to_string())),
            col("host", get(|f| f.host.clone())),
            col("snapshot_id", get(|f| f.snapshot_id.clone())),
            col("title", get(|f| f.title.clone())),
            col(
                "evidence",
                get(|f| {
                    f.evidence
                        .iter()
                        .map(|e| {
                            if e.provenance.is_empty() {
                                e.fact.clone()
                            } else {
                                format!("{} [{}]", e.fact, e.provenance)
                            }
                        })
                        .collect::<Vec<_>>()
                        .join(" | ")
                }),
            ),
            col("action", get(|f| f.action.clone())),
            col("group", get(|f| f.group.clone())),
            col("hosts", get(|f| f.hosts.join(","))),
            col("signature", get(|f| f.signature.clone())),
        ],
    )
}
