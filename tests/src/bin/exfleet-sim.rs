//! `exfleet-sim`: writes a simulated fleet of Exchange servers' triage copies and its ground
//! truth.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use exfleet_tests::fleet::{ArtifactSizes, FleetConfig};

/// Writes triage copies of a simulated Exchange fleet, with planted faults and ground truth.
#[derive(Debug, Parser)]
#[command(name = "exfleet-sim", version)]
struct Args {
    /// Output directory (hosts/, labels/, ground-truth.json).
    #[arg(long)]
    out: PathBuf,
    /// Number of servers.
    #[arg(long, default_value_t = 32)]
    servers: usize,
    /// Seed: the same seed gives the same fleet.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Chance that a host beyond those carrying one fault kind each has a fault.
    #[arg(long, default_value_t = 0.4)]
    fault_rate: f64,
    /// Artifact sizes: `default` (about 0.5 MB a host) or `real` (SOFTWARE hive 100 MiB,
    /// Application.evtx and System.evtx 200 MiB each, ExchangeSetup.log 30 MiB, per host).
    /// Padding is ordinary content that is not evidence: the ground truth is the same.
    #[arg(long, value_enum, default_value_t = Size::Default)]
    size: Size,
    /// SOFTWARE hive size in MiB (0 = as simulated), over what --size gives.
    #[arg(long, value_name = "MIB")]
    software_mib: Option<u64>,
    /// Application.evtx size in MiB (0 = as simulated), over what --size gives.
    #[arg(long, value_name = "MIB")]
    application_mib: Option<u64>,
    /// System.evtx size in MiB (0 = as simulated), over what --size gives.
    #[arg(long, value_name = "MIB")]
    system_mib: Option<u64>,
    /// ExchangeSetup.log size in MiB (0 = as simulated), over what --size gives.
    #[arg(long, value_name = "MIB")]
    setup_log_mib: Option<u64>,
}

/// Artifact size presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Size {
    /// The simulator's own small artifacts.
    Default,
    /// The sizes of a real server ([`ArtifactSizes::REAL`]).
    Real,
}

impl Args {
    fn sizes(&self) -> ArtifactSizes {
        let mut s = match self.size {
            Size::Default => ArtifactSizes::DEFAULT,
            Size::Real => ArtifactSizes::REAL,
        };
        let mib = |v: u64| v << 20;
        for (given, slot) in [
            (self.software_mib, &mut s.software_hive),
            (self.application_mib, &mut s.application_evtx),
            (self.system_mib, &mut s.system_evtx),
            (self.setup_log_mib, &mut s.setup_log),
        ] {
            if let Some(v) = given {
                *slot = mib(v);
            }
        }
        s
    }
}

fn main() -> ExitCode {
    let a = Args::parse();
    let cfg = FleetConfig {
        seed: a.seed,
        servers: a.servers,
        fault_rate: a.fault_rate,
    };
    match exfleet_tests::fleet::write_fleet_sized(&cfg, &a.sizes(), &a.out) {
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
