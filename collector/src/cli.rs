//! Command line of `exfleet-collector`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::labels::LabelsFile;
use crate::triage::TriageDir;

/// Collects an Exchange server's patch-health evidence into a snapshot.
#[derive(Debug, Parser)]
#[command(name = "exfleet-collector", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Reads a triage copy of a server and writes its snapshot.
    Collect(CollectArgs),
}

/// Arguments of `collect`.
#[derive(Debug, clap::Args)]
pub struct CollectArgs {
    /// The triage directory: a copy of the system drive, or one folder per drive letter.
    #[arg(long)]
    pub root: PathBuf,
    /// Where to write the snapshot (`.json` for JSON, protobuf otherwise).
    #[arg(long)]
    pub out: PathBuf,
    /// TOML file with host labels (dag, role-group, owner, [extra]).
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Database availability group (overrides the labels file).
    #[arg(long)]
    pub dag: Option<String>,
    /// Role group (overrides the labels file).
    #[arg(long)]
    pub role_group: Option<String>,
    /// Owner (overrides the labels file).
    #[arg(long)]
    pub owner: Option<String>,
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Collect(args) => collect(args),
    }
}

fn collect(args: CollectArgs) -> anyhow::Result<()> {
    let file = match &args.labels {
        Some(p) => LabelsFile::load(p)?,
        None => LabelsFile::default(),
    };
    let labels = file.into_labels(args.dag, args.role_group, args.owner);
    let dir = TriageDir::new(&args.root);
    let snapshot = crate::collect(&dir, labels)?;
    crate::output::write(&snapshot, &args.out)?;
    let host = snapshot
        .host
        .as_ref()
        .map(|h| h.computer_name.as_str())
        .unwrap_or("");
    tracing::info!(
        host,
        errors = snapshot.errors.len(),
        out = %args.out.display(),
        "snapshot written"
    );
    Ok(())
}
