//! What an analysis leaves behind: the terminal summary, and `report.html`, `findings.json`,
//! `findings.csv` and `findings.parquet` in the output directory.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::analyze::Analysis;
use crate::catalog::Catalog;
use crate::error::Error;
use crate::finding::{Finding, Severity};
use crate::input::History;
use serde::Serialize;

/// How many fixes the terminal summary lists.
const FIRST_FIXES: usize = 10;

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
    /// Servers per build ("Exchange 2019 CU15 Aug26SU").
    pub servers_by_build: BTreeMap<String, usize>,
    /// Findings per severity.
    pub findings_by_severity: BTreeMap<String, usize>,
    /// Findings per id.
    pub findings_by_id: BTreeMap<String, usize>,
    /// The action plan, what to do first first.
    pub plan: Vec<Fix>,
}

/// The summary of an analysis.
pub fn summarize(a: &Analysis, catalog: &Catalog) -> Summary {
    let mut servers_by_build = BTreeMap::new();
    for h in &a.hosts {
        *servers_by_build
            .entry(crate::html::build_name(h, catalog))
            .or_default() += 1;
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
        servers_by_build,
        findings_by_severity,
        findings_by_id,
        plan: plan(&a.findings),
    }
}

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
    let _ = writeln!(s, "Findings: {} ({})", a.findings.len(), sev.join(", "));
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
    let _ = writeln!(s, "\nServers by build:");
    let mut builds: Vec<_> = sum.servers_by_build.iter().collect();
    builds.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (name, n) in builds {
        let _ = writeln!(s, "  {n:>5}  {name}");
    }
    s
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
    let timeline = crate::html::timeline(history, crate::analyze::end_of_day(a.as_of))
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
    CsvWriter::new(&mut f)
        .finish(&mut df)
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
