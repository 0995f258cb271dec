//! `exfleet-demo`: the main job on the embedded default (see the library).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use exfleet_analyzer::catalog::Catalog;
use exfleet_analyzer::report;

/// Simulates a fleet, pushes every server's snapshot to a local aggregator over mutual TLS,
/// analyzes the dataset and prints the fleet summary.
#[derive(Debug, Parser)]
#[command(name = "exfleet-demo", version)]
struct Args {
    /// Number of simulated servers.
    #[arg(long, default_value_t = exfleet_tests::fleet::EXCHANGE_2010_FROM)]
    servers: usize,
    /// Seed of the simulated fleet.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Working directory (replaced if it exists).
    #[arg(long, default_value = "exfleet-demo")]
    out: PathBuf,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let a = Args::parse();
    let catalog = Catalog::embedded();
    let today = chrono::Utc::now().date_naive();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("exfleet-demo: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(exfleet_demo::run(
        &a.out, a.servers, a.seed, &catalog, today,
    )) {
        Ok(run) => {
            print!("{}", report::summary(&run.analysis, &catalog));
            println!("\nTriage copies and ground truth: {}", run.fleet.display());
            println!("Snapshots: {}", run.data.join("snapshots").display());
            println!("Dataset (Parquet): {}", run.data.join("dataset").display());
            println!("Report: {}", run.report.html.display());
            println!(
                "Findings: {}, {}, {}",
                run.report.json.display(),
                run.report.csv.display(),
                run.report.parquet.display()
            );
            let steps: Vec<String> = run
                .timings
                .iter()
                .map(|(n, d)| format!("{n} {:.1}s", d.as_secs_f64()))
                .collect();
            println!("Timings: {}", steps.join(", "));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("exfleet-demo: {e:#}");
            ExitCode::from(2)
        }
    }
}
