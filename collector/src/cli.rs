//! Command line of `exfleet-collector`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::files::ServerFiles;
use crate::labels::LabelsFile;

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
    /// Reads a server (a triage copy with --root, or this running server with --live) and
    /// writes or pushes its snapshot.
    Collect(CollectArgs),
}

/// Arguments of `collect`.
#[derive(Debug, clap::Args)]
pub struct CollectArgs {
    /// The triage directory: a copy of the system drive, or one folder per drive letter.
    #[arg(long, required_unless_present = "live", conflicts_with = "live")]
    pub root: Option<PathBuf>,
    /// Read the running server this collector runs on (Windows Server 2016 or later, as a
    /// local Administrator): its registry through the API, its services from the Service
    /// Control Manager, its files where they are. Read-only, at background priority.
    #[arg(long)]
    pub live: bool,
    /// Where to write the snapshot (`.json` for JSON, protobuf otherwise).
    #[arg(
        long,
        required_unless_present = "aggregator",
        conflicts_with = "aggregator"
    )]
    pub out: Option<PathBuf>,
    /// Push the snapshot to an aggregator (`https://host:port`) instead of writing a file.
    #[arg(long, requires_all = ["ca", "cert", "key"])]
    pub aggregator: Option<String>,
    /// CA that signed the aggregator's certificate (PEM).
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// This collector's certificate (PEM); its subject CN is the collector identity.
    #[arg(long)]
    pub cert: Option<PathBuf>,
    /// This collector's private key (PEM).
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// Connection attempts before giving up on the aggregator.
    #[arg(long, default_value_t = 5)]
    pub attempts: u32,
    /// Seconds one attempt (connecting, sending, waiting for the acks) may take before it is
    /// abandoned and retried: a stopped aggregator is a timeout, not a silent wait.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout_secs: u64,
    /// Write the snapshot even when nothing at all was found under the root (by default that
    /// is an error: a wrong --root would otherwise give an empty snapshot).
    #[arg(long)]
    pub allow_empty: bool,
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
    /// Keep only events written at or after this time (RFC 3339, e.g. 2026-11-22T00:00:00Z,
    /// or a date): the window since the last collection.
    #[arg(long, value_parser = parse_since)]
    pub events_since: Option<i64>,
}

/// The live server's files, with this process lowered to background priority first.
#[cfg(windows)]
fn live_files() -> anyhow::Result<ServerFiles> {
    for (what, e) in crate::live::lower_priority() {
        tracing::warn!("could not set {what}: {e}");
    }
    Ok(ServerFiles::live())
}

#[cfg(not(windows))]
fn live_files() -> anyhow::Result<ServerFiles> {
    anyhow::bail!(
        "--live reads the running Windows server it runs on; this build is for {}: read a \
         triage copy with --root (deploy/windows/ stages one)",
        std::env::consts::OS
    )
}

/// Folders a live collection never writes under: the Windows folder and the Exchange install.
fn protected_folders(snapshot: &exfleet_proto::v1::Snapshot) -> Vec<String> {
    let windows = std::env::var("SystemRoot").unwrap_or_else(|_| r"C:\Windows".to_string());
    let install = snapshot
        .exchange
        .as_ref()
        .map(|e| e.install_path.clone())
        .unwrap_or_default();
    vec![windows, install]
}

/// An RFC 3339 time or a date (midnight UTC) as UTC ms.
fn parse_since(s: &str) -> Result<i64, String> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_millis());
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(|d| {
            d.and_time(chrono::NaiveTime::MIN)
                .and_utc()
                .timestamp_millis()
        })
        .map_err(|_| format!("'{s}' is neither an RFC 3339 time nor a YYYY-MM-DD date"))
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
    let dir = match &args.root {
        Some(root) => ServerFiles::new(root),
        None => live_files()?,
    };
    let options = crate::Options {
        events_since_ms: args.events_since.unwrap_or(0),
    };
    let snapshot = crate::collect_with(&dir, labels, &options)?;
    if !args.allow_empty && crate::collect::found_nothing(&snapshot) {
        anyhow::bail!(
            "nothing was found under the root {}: no artifact of any reader (looked for {}); \
             is --root the copy of a server's system drive (or its drive-letter folders)? \
             --allow-empty writes the empty snapshot anyway",
            dir.root().display(),
            snapshot
                .artifacts
                .iter()
                .map(|a| a.path.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let host = snapshot
        .host
        .as_ref()
        .map(|h| h.computer_name.clone())
        .unwrap_or_default();
    let errors = snapshot.errors.len();
    match (&args.out, &args.aggregator) {
        (Some(out), _) => {
            if dir.is_live() {
                crate::live::check_output(out, &protected_folders(&snapshot))
                    .map_err(anyhow::Error::msg)?;
            }
            crate::output::write(&snapshot, out)?;
            tracing::info!(host, errors, out = %out.display(), "snapshot written");
        }
        (None, Some(url)) => {
            let (ca, cert, key) = (
                args.ca.as_deref(),
                args.cert.as_deref(),
                args.key.as_deref(),
            );
            let tls = crate::client::ClientTls::load(
                ca.expect("clap requires --ca"),
                cert.expect("clap requires --cert"),
                key.expect("clap requires --key"),
            )?;
            let id = snapshot.snapshot_id.clone();
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let acks = rt.block_on(crate::client::upload_with_retry_timeout(
                url,
                &tls,
                vec![snapshot],
                args.attempts,
                std::time::Duration::from_secs(args.timeout_secs),
            ))?;
            let status = acks.first().map(|a| a.status).unwrap_or_default();
            tracing::info!(host, errors, snapshot = %id, status, "snapshot acknowledged");
        }
        (None, None) => unreachable!("clap requires --out or --aggregator"),
    }
    Ok(())
}
