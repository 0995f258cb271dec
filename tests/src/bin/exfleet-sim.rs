//! `exfleet-sim`: writes a simulated fleet of Exchange servers' triage copies and its ground
//! truth.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use exfleet_tests::fleet::FleetConfig;

/// Writes triage copies of a simulated Exchange fleet, with planted faults and ground truth.
#[derive(Debug, Parser)]
#[command(name = "exfleet-sim", version)]
struct Args {
    /// Output directory (hosts/, labels/, ground-truth.json).
    #[arg(long)]
    out: PathBuf,
    /// Number of servers.
    #[arg(long, default_value_t = 30)]
    servers: usize,
    /// Seed: the same seed gives the same fleet.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Chance that a host beyond those carrying one fault kind each has a fault.
    #[arg(long, default_value_t = 0.4)]
    fault_rate: f64,
}

fn main() -> ExitCode {
    let a = Args::parse();
    let cfg = FleetConfig {
        seed: a.seed,
        servers: a.servers,
        fault_rate: a.fault_rate,
    };
    match exfleet_tests::write_fleet(&cfg, &a.out) {
        Ok(truth) => {
            let expected: usize = truth.hosts.iter().map(|h| h.expected.len()).sum();
            println!(
                "{} servers written to {} ({} expected host findings, {} fleet findings)",
                truth.servers,
                a.out.display(),
                expected,
                truth.fleet.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("exfleet-sim: {}: {e}", a.out.display());
            ExitCode::from(2)
        }
    }
}
