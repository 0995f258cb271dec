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

/// How many servers the summary lists as the worst.
const WORST: usize = 8;

/// The terminal summary: servers per product/CU/SU, findings by id and severity, the worst
/// servers.
pub fn summary(a: &Analysis, catalog: &Catalog) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "exfleet: {} servers, analysed as of {} (build catalog as of {})",
        a.hosts.len(),
        a.as_of,
        a.catalog_as_of
    );
    let mut builds: BTreeMap<String, usize> = BTreeMap::new();
    for h in &a.hosts {
        let name = match h.exsetup {
            Some(b) => match catalog.exact(&b) {
                Some(r) => format!("{} ({b})", r.friendly()),
                None => format!(
                    "{} + unknown build ({b})",
                    catalog
                        .cu_of(&b)
                        .map(|c| c.friendly())
                        .unwrap_or_else(|| "?".into())
                ),
            },
            None => "no ExSetup.exe read".into(),
        };
        *builds.entry(name).or_default() += 1;
    }
    let _ = writeln!(s, "\nServers by build:");
    for (name, n) in &builds {
        let _ = writeln!(s, "  {n:>5}  {name}");
    }
    let mut by_sev: BTreeMap<Severity, usize> = BTreeMap::new();
    let mut by_id: BTreeMap<(&str, Severity), usize> = BTreeMap::new();
    for f in &a.findings {
        *by_sev.entry(f.severity).or_default() += 1;
        *by_id.entry((f.id.as_str(), f.severity)).or_default() += 1;
    }
    let sev: Vec<String> = by_sev
        .iter()
        .rev()
        .map(|(k, v)| format!("{} {v}", k.name()))
        .collect();
    let _ = writeln!(s, "\nFindings: {} ({})", a.findings.len(), sev.join(", "));
    let mut ids: Vec<_> = by_id.into_iter().collect();
    ids.sort_by(|a, b| {
        b.0 .1
            .cmp(&a.0 .1)
            .then(b.1.cmp(&a.1))
            .then(a.0 .0.cmp(b.0 .0))
    });
    for ((id, sev), n) in ids {
        let _ = writeln!(s, "  {n:>5}  {:<9} {id}", sev.name());
    }
    let mut worst: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in a
        .findings
        .iter()
        .filter(|f| f.host != "fleet" && f.severity > Severity::Info)
    {
        worst.entry(f.host.as_str()).or_default().push(f);
    }
    let mut worst: Vec<_> = worst.into_iter().collect();
    worst.sort_by_key(|(h, fs)| {
        let top = fs.iter().map(|f| f.severity).max();
        (
            std::cmp::Reverse(top),
            std::cmp::Reverse(fs.len()),
            h.to_string(),
        )
    });
    if !worst.is_empty() {
        let _ = writeln!(s, "\nWorst servers:");
    }
    for (h, fs) in worst.iter().take(WORST) {
        let mut ids: Vec<&str> = fs.iter().map(|f| f.id.as_str()).collect();
        ids.sort();
        let top = fs.iter().map(|f| f.severity).max().map_or("", |v| v.name());
        let _ = writeln!(s, "  {h:<12} {top:<9} {}", ids.join(", "));
    }
    s
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

/// Writes report.html, findings.json, findings.csv and findings.parquet into `out`.
pub fn write(a: &Analysis, catalog: &Catalog, out: &Path) -> Result<Written, Error> {
    std::fs::create_dir_all(out).map_err(Error::io(out))?;
    let html = out.join("report.html");
    std::fs::write(&html, crate::html::render(a, catalog, &a.timeline))
        .map_err(Error::io(&html))?;
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
