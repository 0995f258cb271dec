//! Command line of `exfleet-analyzer`.

use std::path::PathBuf;

use anyhow::Context as _;
use chrono::NaiveDate;
use clap::{Parser, Subcommand};

use crate::catalog::Catalog;
use crate::finding::Severity;
use crate::input::{History, LeftOut};
use crate::report;
use crate::rules::registry::{catalog_markdown, doc_of, implemented, PENDING};

/// Judges an Exchange fleet's patch health from its snapshots.
#[derive(Debug, Parser)]
#[command(name = "exfleet-analyzer", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyzes the fleet and writes findings.json, findings.csv and findings.parquet.
    Analyze(AnalyzeArgs),
    /// Prints the catalog entry of a finding id.
    Explain {
        /// Finding id (e.g. build.su-behind).
        id: String,
    },
    /// Lists the finding ids: implemented, and pending with the issue that brings them.
    Rules {
        /// `text`: one line per id; `markdown`: the finding catalog (analyzer/FINDINGS.md).
        #[arg(long, default_value = "text", value_parser = ["text", "markdown"])]
        format: String,
    },
    /// Reviews one ExchangeSetup.log: its runs, and what went wrong in the last one.
    Review {
        /// The log file.
        log: PathBuf,
        /// `text` for people, `json` for scripts.
        #[arg(long, default_value = "text", value_parser = ["text", "json"])]
        format: String,
    },
    /// Shows what changed on each host between two days: build, installed updates, service
    /// start types, bindings, config file hashes.
    Changes {
        /// Input; `--as-of` is the end of the period.
        #[command(flatten)]
        source: SourceArgs,
        /// Start of the period, YYYY-MM-DD: each host's latest snapshot by the end of it.
        #[arg(long)]
        since: NaiveDate,
        /// Only this host.
        #[arg(long)]
        host: Option<String>,
        /// `text` for people, `json` for scripts.
        #[arg(long, default_value = "text", value_parser = ["text", "json"])]
        format: String,
    },
    /// Exports every dataset table and the findings as date-partitioned Parquet, CSV and
    /// JSON lines, with a manifest.
    Export {
        /// Input and date.
        #[command(flatten)]
        source: SourceArgs,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
    },
    /// Plans the next update for the whole fleet: each host's blockers for the target, then
    /// the waves of the others. Exit code 0 when every host is scheduled or already there, 1
    /// when a host is blocked or a server was not collected, 2 when the tool failed.
    Plan(PlanArgs),
    /// After a rollout: per host, did it reach the target, are its services back, what is new
    /// since `--since`; done, failed (and why), not started. Exit code 0 when no host failed,
    /// none is left not started and every server reported, 1 otherwise, 2 when the tool
    /// failed.
    Verify(VerifyArgs),
    /// Checks a build catalog file.
    Catalog {
        /// The file to check.
        #[arg(long)]
        check: PathBuf,
    },
}

/// Where the snapshots come from, and the analysis date.
#[derive(Debug, clap::Args)]
pub struct SourceArgs {
    /// The aggregator's dataset directory (`<data-dir>/dataset`), or the aggregators'
    /// dataset on an S3-compatible bucket, `s3://<bucket>/<prefix>/dataset` (endpoint and
    /// credentials from AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
    /// AWS_REGION, AWS_ALLOW_HTTP).
    #[arg(
        long,
        conflicts_with = "snapshots",
        required_unless_present = "snapshots"
    )]
    pub dataset: Option<PathBuf>,
    /// A directory of snapshot files (the aggregator's `snapshots/`, or collector output).
    #[arg(long)]
    pub snapshots: Option<PathBuf>,
    /// Build catalog file (default: the one shipped with exfleet).
    #[arg(long)]
    pub catalog: Option<PathBuf>,
    /// Analysis date, YYYY-MM-DD (default: today, UTC): the latest snapshot of each host
    /// collected by then is judged at that date, and nothing collected later is looked at.
    #[arg(long)]
    pub as_of: Option<NaiveDate>,
}

impl SourceArgs {
    /// The history, the catalog, the analysis date, and the snapshots left out. Snapshot
    /// files and dataset parts that cannot be read are named on stderr and skipped; so are
    /// snapshots whose collection time cannot be true (before 2000, or more than a day after
    /// the analysis time), which are left out of the history returned.
    pub fn open(&self) -> anyhow::Result<(History, Catalog, NaiveDate, Vec<LeftOut>)> {
        let catalog = match &self.catalog {
            Some(p) => Catalog::load(p)?,
            None => Catalog::embedded(),
        };
        let history = match (&self.dataset, &self.snapshots) {
            (Some(d), _) => {
                let history = History::open_at(d)?;
                for k in history.skipped() {
                    eprintln!(
                        "exfleet-analyzer: {}: {} (Parquet part skipped)",
                        k.path.display(),
                        k.message
                    );
                }
                history
            }
            (None, Some(s)) => {
                let (history, skipped) = History::from_snapshots(s)?;
                for k in &skipped {
                    eprintln!(
                        "exfleet-analyzer: {}: {} (skipped)",
                        k.path.display(),
                        k.message
                    );
                }
                history
            }
            (None, None) => unreachable!("clap requires --dataset or --snapshots"),
        };
        let as_of = self
            .as_of
            .unwrap_or_else(|| chrono::Utc::now().date_naive());
        let until = crate::analyze::plausible_until(crate::analyze::end_of_day(as_of));
        let (history, left_out) = history
            .plausible(until)
            .map_err(|e| history.name_failure(e))?;
        for l in &left_out {
            eprintln!("exfleet-analyzer: {l}");
        }
        Ok((history, catalog, as_of, left_out))
    }
}

/// Arguments of `plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// Input and date.
    #[command(flatten)]
    pub source: SourceArgs,
    /// The target: `latest`, a build number (15.2.1748.49), or a CU and/or update name
    /// (`Exchange 2019 CU15 Aug26SU`, `CU15`, `Aug26SU`: an update alone means it on each
    /// host's own CU).
    #[arg(long)]
    pub target: String,
    /// The servers that should report (see `analyze --expected`).
    #[arg(long)]
    pub expected: Option<PathBuf>,
    /// Also write plan.json and plan.csv into this directory.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// `text` for people, `json` for scripts.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    pub format: String,
}

/// Arguments of `verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Input; `--as-of` is the end of the incident window.
    #[command(flatten)]
    pub source: SourceArgs,
    /// A day before the rollout, YYYY-MM-DD: the state compared with, and the start of the
    /// incident window.
    #[arg(long)]
    pub since: NaiveDate,
    /// The target (as for `plan`); without it, each host's target is the newest build of its
    /// product that any host runs now.
    #[arg(long)]
    pub target: Option<String>,
    /// The servers that should report (see `analyze --expected`).
    #[arg(long)]
    pub expected: Option<PathBuf>,
    /// Also write verify.json and verify.csv into this directory.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// `text` for people, `json` for scripts.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    pub format: String,
}

/// Reads `--expected`, naming its bad rows on stderr.
fn expected(
    path: &Option<PathBuf>,
) -> anyhow::Result<Option<crate::rollout::expected::ExpectedList>> {
    let Some(p) = path else { return Ok(None) };
    let list = crate::rollout::expected::read(p)?;
    for b in &list.bad {
        eprintln!("exfleet-analyzer: {b} (row skipped)");
    }
    Ok(Some(list))
}

/// Arguments of `analyze`.
#[derive(Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// Input and date.
    #[command(flatten)]
    pub source: SourceArgs,
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
    /// The summary on stdout: `text` for people, `json` for scripts.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    pub format: String,
    /// Exit 1 when a finding reaches this severity (info, warning, error, critical).
    #[arg(long, value_parser = parse_severity)]
    pub fail_on: Option<Severity>,
    /// The servers that should report: a CSV of server names with optional site, DAG and
    /// role columns, or `Get-ExchangeServer | Export-Csv` output. Those that never reported or
    /// went silent are listed as not collected; its site and DAG replace the collectors' labels,
    /// its role fills in a missing role group.
    #[arg(long)]
    pub expected: Option<PathBuf>,
    /// Adds the rollout plan to this target (as `plan --target`) to the report.
    #[arg(long)]
    pub target: Option<String>,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    Severity::parse(s)
        .ok_or_else(|| format!("unknown severity {s:?}: info, warning, error or critical"))
}

/// Runs the command line; returns the process exit code (0 done, 1 `--fail-on` reached).
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Analyze(a) => analyze(a),
        Command::Plan(p) => plan(p),
        Command::Verify(v) => verify(v),
        Command::Explain { id } => {
            if let Some(doc) = doc_of(&id) {
                println!("{id}\n\n{doc}");
            } else if let Some((_, issue)) = PENDING.iter().find(|(p, _)| *p == id) {
                println!("{id}: not implemented yet (issue {issue})");
            } else {
                anyhow::bail!("unknown finding id {id:?}; `exfleet-analyzer rules` lists them");
            }
            Ok(0)
        }
        Command::Rules { format } if format == "markdown" => {
            print!("{}", catalog_markdown());
            Ok(0)
        }
        Command::Rules { .. } => {
            for (id, doc) in implemented() {
                let detects = crate::rules::section(doc, "Detects");
                println!("{id:<40} {detects}");
            }
            for (id, issue) in PENDING {
                println!("{id:<40} pending (issue {issue})");
            }
            Ok(0)
        }
        Command::Review { log, format } => {
            let today = chrono::Utc::now().date_naive();
            let r = crate::review::review(&log, &Catalog::embedded(), today)?;
            if format == "json" {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                print!("{}", crate::review::text(&r));
            }
            Ok(0)
        }
        Command::Changes {
            source,
            since,
            host,
            format,
        } => {
            let (history, _, as_of, _) = source.open()?;
            anyhow::ensure!(
                since <= as_of,
                "--since {since} is after the end of the period ({as_of}, --as-of or today)"
            );
            let end = crate::analyze::end_of_day;
            let (mut all, _) = resilient(history, |h| {
                crate::changes::changes(h, end(since), end(as_of)).map_err(anyhow::Error::from)
            })?;
            if let Some(h) = host {
                all.retain(|c| c.host.eq_ignore_ascii_case(&h));
            }
            if format == "json" {
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else {
                print!("{}", crate::changes::text(&all));
            }
            Ok(0)
        }
        Command::Export { source, out } => {
            let (history, catalog, as_of, _) = source.open()?;
            let (analysis, history) = resilient(history, |h| {
                crate::analyze(h, &catalog, as_of).map_err(anyhow::Error::from)
            })?;
            let end = crate::analyze::end_of_day(as_of);
            let m = crate::export::export(&history, end, &analysis, &out)?;
            for (name, t) in &m.tables {
                println!("{name:<26} {:>9} rows", t.rows);
            }
            println!("written to {}", out.display());
            Ok(0)
        }
        Command::Catalog { check } => {
            let c = Catalog::load(&check)?;
            println!(
                "{}: ok, {} releases of {} products, as of {}; {} CVE rows{}",
                check.display(),
                c.releases.len(),
                c.products.len(),
                c.as_of,
                c.cves.len(),
                c.cve_as_of
                    .map(|d| format!(", as of {d}"))
                    .unwrap_or_default()
            );
            Ok(0)
        }
    }
}

fn plan(p: PlanArgs) -> anyhow::Result<u8> {
    let expected = expected(&p.expected)?;
    let (history, catalog, as_of, _) = p.source.open()?;
    let spec = crate::rollout::target::parse(&p.target, &catalog).map_err(anyhow::Error::msg)?;
    let (analysis, _) = resilient(history, |h| {
        crate::analyze(h, &catalog, as_of).map_err(anyhow::Error::from)
    })?;
    let plan = crate::rollout::plan(&analysis, &catalog, &spec, expected.as_ref());
    use crate::rollout::render::{plan_csv, plan_text};
    report(
        &plan,
        "plan",
        p.out.as_deref(),
        &p.format,
        plan_csv,
        plan_text,
    )?;
    Ok(u8::from(!plan.clear()))
}

fn verify(v: VerifyArgs) -> anyhow::Result<u8> {
    let expected = expected(&v.expected)?;
    let (history, catalog, as_of, _) = v.source.open()?;
    anyhow::ensure!(
        v.since <= as_of,
        "--since {} is after the end of the incident window ({as_of}, --as-of or today)",
        v.since
    );
    let spec = v
        .target
        .as_deref()
        .map(|t| crate::rollout::target::parse(t, &catalog))
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let ((before, now), history) = resilient(history, |h| {
        Ok((
            crate::analyze(h, &catalog, v.since)?,
            crate::analyze(h, &catalog, as_of)?,
        ))
    })?;
    let result = crate::rollout::verify(
        &before,
        &now,
        &history,
        &catalog,
        spec.as_ref(),
        expected.as_ref(),
    )
    .map_err(|e| history.name_failure(e))?;
    use crate::rollout::render::{verify_csv, verify_text};
    report(
        &result,
        "verify",
        v.out.as_deref(),
        &v.format,
        verify_csv,
        verify_text,
    )?;
    Ok(u8::from(!result.complete()))
}

/// Writes a rollout answer: `<name>.json` and `<name>.csv` under `out` when given, and the
/// answer on standard output as JSON or text.
fn report<T: serde::Serialize, E>(
    value: &T,
    name: &str,
    out: Option<&std::path::Path>,
    format: &str,
    csv: impl Fn(&T, &std::path::Path) -> Result<(), E>,
    text: impl Fn(&T) -> String,
) -> anyhow::Result<()>
where
    anyhow::Error: From<E>,
{
    if let Some(out) = out {
        std::fs::create_dir_all(out).with_context(|| out.display().to_string())?;
        let json = out.join(format!("{name}.json"));
        std::fs::write(&json, serde_json::to_vec_pretty(value)?)
            .with_context(|| json.display().to_string())?;
        csv(value, &out.join(format!("{name}.csv")))?;
    }
    if format == "json" {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        print!("{}", text(value));
    }
    Ok(())
}

fn analyze(a: AnalyzeArgs) -> anyhow::Result<u8> {
    let expected = expected(&a.expected)?;
    let (history, catalog, as_of, left_out) = a.source.open()?;
    let spec = a
        .target
        .as_deref()
        .map(|t| crate::rollout::target::parse(t, &catalog))
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let (mut analysis, history) = resilient(history, |h| {
        crate::analyze(h, &catalog, as_of).map_err(anyhow::Error::from)
    })?;
    // Left out (and named) when the input was opened: the summary counts them.
    analysis.left_out.extend(left_out);
    analysis.not_collected = crate::rollout::plan::not_collected(&analysis, expected.as_ref());
    if let Some(spec) = &spec {
        analysis.rollout = Some(crate::rollout::plan(
            &analysis,
            &catalog,
            spec,
            expected.as_ref(),
        ));
    }
    let written = report::write(&analysis, &catalog, &history, &a.out)?;
    if a.format == "json" {
        let files = serde_json::json!({
            "report": written.html,
            "findings_json": written.json,
            "findings_csv": written.csv,
            "findings_parquet": written.parquet,
        });
        let mut v = serde_json::to_value(report::summarize(&analysis, &catalog))?;
        v["files"] = files;
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print!("{}", report::summary(&analysis, &catalog));
        println!(
            "\nReport: {}\nFindings: {}, {}, {}",
            written.html.display(),
            written.json.display(),
            written.csv.display(),
            written.parquet.display()
        );
    }
    let failed = a
        .fail_on
        .is_some_and(|min| analysis.findings.iter().any(|f| f.severity >= min));
    Ok(u8::from(failed))
}

/// Runs `f` over `history`; if it fails on a dataset part damaged inside its data (past the
/// checks made when the dataset was opened), names the part, leaves it out and runs `f` again:
/// a damaged part never stops the analysis of the rest of the fleet.
fn resilient<T>(
    history: History,
    f: impl Fn(&History) -> anyhow::Result<T>,
) -> anyhow::Result<(T, History)> {
    match f(&history) {
        Ok(t) => Ok((t, history)),
        Err(e) => {
            let Some(again) = history.without_damaged() else {
                return Err(e);
            };
            for k in again.skipped() {
                if !history.skipped().iter().any(|x| x.path == k.path) {
                    eprintln!(
                        "exfleet-analyzer: {}: {} (Parquet part skipped)",
                        k.path.display(),
                        k.message
                    );
                }
            }
            let t = f(&again)?;
            Ok((t, again))
        }
    }
}
