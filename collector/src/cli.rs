//! Command line of `exfleet-collector`.

use std::path::PathBuf;
use std::time::Duration;

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
    Collect(Box<CollectArgs>),
    /// Gets this collector's certificate from the aggregator with an enrollment token: the key
    /// pair is made here and never leaves the host; the certificate names the computer.
    Enroll(EnrollArgs),
    /// Renews the enrolled certificate now (over mutual TLS with the current one); `collect
    /// --identity` does it by itself in the certificate's last third.
    Renew(RenewArgs),
    /// The collector as a Windows service: collects on a schedule and delivers through its
    /// spool; settings in `%ProgramData%\exfleet\collector.toml`.
    #[command(subcommand)]
    Service(ServiceCommand),
}

/// `service` subcommands.
#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// Registers the service (automatic start, LocalSystem). The MSI does this itself.
    Install,
    /// Stops and removes the service; its data folder (identity, spool, settings, logs) stays.
    Uninstall,
    /// What the Service Control Manager starts; `--console` runs the same work in the
    /// foreground until Ctrl-C (logging to standard error).
    Run {
        /// In the foreground, not under the Service Control Manager.
        #[arg(long)]
        console: bool,
        /// The data folder (default `%ProgramData%\exfleet`).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Asks the running service to collect at once.
    CollectNow,
}

/// Arguments of `enroll`.
#[derive(Debug, clap::Args)]
pub struct EnrollArgs {
    /// The aggregator's enrollment listener (`https://host:7444`).
    #[arg(long)]
    pub aggregator: String,
    /// The token `exfleet-aggregator tokens create` printed.
    #[arg(long)]
    pub token: String,
    /// The fleet CA (PEM), which signed the aggregator's certificate: what makes the
    /// aggregator's certificate trusted before this collector has one of its own.
    #[arg(long)]
    pub ca: PathBuf,
    /// Where to keep the identity (`identity.pem`, `ca.pem`), e.g.
    /// `C:\ProgramData\exfleet\identity`.
    #[arg(long)]
    pub identity: PathBuf,
    /// Take the computer name from the running server (Windows).
    #[arg(long, conflicts_with = "root")]
    pub live: bool,
    /// Take the computer name from a triage copy's SYSTEM hive.
    #[arg(long, required_unless_present = "live")]
    pub root: Option<PathBuf>,
    /// Seconds the enrollment may take.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout_secs: u64,
}

/// Arguments of `renew`.
#[derive(Debug, clap::Args)]
pub struct RenewArgs {
    /// The aggregator (`https://host:7443`, its mutual-TLS listener).
    #[arg(long)]
    pub aggregator: String,
    /// The identity folder `enroll` wrote.
    #[arg(long)]
    pub identity: PathBuf,
    /// Seconds the renewal may take.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout_secs: u64,
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
    /// With it, the collector's identity: `--identity DIR` (enrolled), or `--ca`, `--cert` and
    /// `--key`.
    #[arg(long)]
    pub aggregator: Option<String>,
    /// The identity folder `enroll` wrote (the fleet CA, the certificate and its key); the
    /// certificate is renewed first when it is in the last third of its validity.
    #[arg(long, requires = "aggregator", conflicts_with_all = ["ca", "cert", "key"])]
    pub identity: Option<PathBuf>,
    /// CA that signed the aggregator's certificate (PEM).
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// This collector's certificate (PEM); its subject CN is the collector identity.
    #[arg(long)]
    pub cert: Option<PathBuf>,
    /// This collector's private key (PEM).
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// Failed attempts (a broken connection, a timeout) per snapshot before giving up on the
    /// aggregator; the pause between them doubles from 1 s, with jitter.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub attempts: u32,
    /// Seconds one attempt (connecting, sending, waiting for the acks) may take before it is
    /// abandoned and retried: a stopped aggregator is a timeout, not a silent wait.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout_secs: u64,
    /// Seconds one snapshot may be tried for, waits included (the pauses after failed
    /// attempts, and the waits an aggregator at its bound asks for).
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    pub retry_secs: u64,
    /// Keep snapshots in this folder until the aggregator acknowledges them as durable: the
    /// snapshot is written and fsynced there before it is sent, and every run first sends
    /// what earlier runs could not, oldest first. Without it a snapshot that cannot be
    /// delivered is lost.
    #[arg(long, requires = "aggregator", value_name = "DIR")]
    pub spool: Option<PathBuf>,
    /// Most snapshots the spool keeps; past it the oldest are dropped, and the drop reported
    /// in the next snapshot's collection errors.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    pub spool_max_count: u64,
    /// Most MiB of snapshots the spool keeps (the oldest dropped past it).
    #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u64).range(1..))]
    pub spool_max_mib: u64,
    /// Oldest a spooled snapshot may be, in days from its collection (older ones dropped).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub spool_max_age_days: u64,
    /// Write the snapshot even when nothing at all was found under the root (by default that
    /// is an error: a wrong --root would otherwise give an empty snapshot).
    #[arg(long)]
    pub allow_empty: bool,
    /// TOML file with host labels (dag, role-group, owner, `[extra]`).
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
    /// Scan only log records written at or after this time for indicators of compromise
    /// (RFC 3339 or a date); files last written before it are not read.
    #[arg(long, value_parser = parse_since)]
    pub ioc_since: Option<i64>,
    /// The read-marks file of the indicator scans (in the collector's state folder): each log
    /// is read from where the last durable snapshot's scan stopped, and the marks move once
    /// this snapshot is written, spooled or acknowledged. Without it every log is read whole.
    #[arg(long, value_name = "FILE")]
    pub ioc_marks: Option<PathBuf>,
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

pub use crate::deliver::Outcome;

impl Cli {
    /// Where this command logs: the service (not `--console`) to its rotating log file, with
    /// the size it rotates at; everything else to standard error (`None`).
    pub fn log_file(&self) -> Option<(crate::service::settings::Paths, u64)> {
        match &self.command {
            Command::Service(ServiceCommand::Run {
                console: false,
                data_dir,
            }) => {
                let paths = crate::service::paths(data_dir.clone());
                let max = crate::service::settings(&paths)
                    .map(|s| s.log_max_mib)
                    .unwrap_or(10);
                Some((paths, max))
            }
            _ => None,
        }
    }
}

/// The exit code of a run that failed: nothing was written, sent or spooled.
pub const FAILED: u8 = 2;

/// Runs the parsed command line, prints a failure on standard error, and returns the exit
/// code ([`Outcome::exit_code`], or [`FAILED`]).
pub fn main(cli: Cli) -> u8 {
    match run(cli) {
        Ok(outcome) => outcome.exit_code(),
        Err(e) => {
            eprintln!("exfleet-collector: {e:#}");
            FAILED
        }
    }
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Collect(args) => collect(*args),
        Command::Enroll(args) => enroll(args),
        Command::Service(c) => {
            match c {
                ServiceCommand::Install => crate::service::install()?,
                ServiceCommand::Uninstall => crate::service::uninstall()?,
                ServiceCommand::Run { console, data_dir } => {
                    crate::service::run(crate::service::paths(data_dir), console)?
                }
                ServiceCommand::CollectNow => crate::service::collect_now()?,
            }
            Ok(Outcome::Done)
        }
        Command::Renew(args) => {
            let dir = crate::enroll::IdentityDir::new(&args.identity);
            let timeout = Duration::from_secs(args.timeout_secs);
            let issued =
                runtime()?.block_on(crate::enroll::renew(&args.aggregator, &dir, timeout))?;
            report_issued("renewed", &issued, &args.identity);
            Ok(Outcome::Done)
        }
    }
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

fn enroll(args: EnrollArgs) -> anyhow::Result<Outcome> {
    let files = match &args.root {
        Some(root) => ServerFiles::new(root),
        None => crate::live::server_files()?,
    };
    let name = crate::collect::computer_name(&files)?;
    let ca = std::fs::read_to_string(&args.ca)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.ca.display()))?;
    let dir = crate::enroll::IdentityDir::new(&args.identity);
    let timeout = Duration::from_secs(args.timeout_secs);
    let issued = runtime()?.block_on(crate::enroll::enroll(
        &args.aggregator,
        &args.token,
        &ca,
        &name,
        &dir,
        timeout,
    ))?;
    report_issued("enrolled", &issued, &args.identity);
    Ok(Outcome::Done)
}

fn report_issued(what: &str, issued: &exfleet_proto::v1::Issued, dir: &std::path::Path) {
    let until = chrono::DateTime::from_timestamp_millis(issued.not_after_ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default();
    println!(
        "{what} {} (certificate valid until {until}) into {}",
        issued.common_name,
        dir.display()
    );
}

fn collect(args: CollectArgs) -> anyhow::Result<Outcome> {
    let identity_given =
        args.identity.is_some() || (args.ca.is_some() && args.cert.is_some() && args.key.is_some());
    if args.aggregator.is_some() && !identity_given {
        anyhow::bail!(
            "--aggregator needs the collector's identity: --identity DIR (see `enroll`), or \
             --ca, --cert and --key"
        );
    }
    let file = match &args.labels {
        Some(p) => LabelsFile::load(p)?,
        None => LabelsFile::default(),
    };
    let labels = file.into_labels(args.dag, args.role_group, args.owner);
    let dir = match &args.root {
        Some(root) => ServerFiles::new(root),
        None => crate::live::server_files()?,
    };
    let (marks, marks_error) = match &args.ioc_marks {
        Some(p) => crate::readers::ioc::marks::Marks::load_or_empty(p),
        None => Default::default(),
    };
    let options = crate::Options {
        events_since_ms: args.events_since.unwrap_or(0),
        ioc_since_ms: args.ioc_since.unwrap_or(0),
        ioc_marks: marks,
    };
    let (mut snapshot, next_marks) = crate::collect_with_marks(&dir, labels, &options)?;
    snapshot.errors.extend(marks_error);
    // The marks move only once the snapshot is durable (written, spooled or acknowledged).
    let save_marks = || -> anyhow::Result<()> {
        if let Some(p) = &args.ioc_marks {
            next_marks.save(p)?;
        }
        Ok(())
    };
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
            save_marks()?;
            tracing::info!(host, errors, out = %out.display(), "snapshot written");
        }
        (None, Some(url)) => {
            let rt = runtime()?;
            let timeout_secs = args.timeout_secs;
            let load_tls = || -> anyhow::Result<crate::client::ClientTls> {
                Ok(match (&args.identity, &args.ca, &args.cert, &args.key) {
                    (Some(dir), ..) => {
                        crate::deliver::identity_for_push(&rt, url, dir, timeout_secs)?
                    }
                    (None, Some(ca), Some(cert), Some(key)) => {
                        crate::client::ClientTls::load(ca, cert, key)?
                    }
                    _ => unreachable!("checked before collecting"),
                })
            };
            let policy = crate::retry::RetryPolicy {
                attempts: args.attempts,
                attempt_timeout: Duration::from_secs(args.timeout_secs),
                total: Duration::from_secs(args.retry_secs),
                ..Default::default()
            };
            if let Some(dir) = &args.spool {
                let limits = crate::spool::Limits {
                    max_count: usize::try_from(args.spool_max_count).unwrap_or(usize::MAX),
                    max_bytes: args.spool_max_mib.saturating_mul(1 << 20),
                    max_age: Duration::from_secs(args.spool_max_age_days.saturating_mul(86_400)),
                };
                let outcome = crate::deliver::spool_and_deliver(
                    &rt, dir, &limits, snapshot, url, load_tls, &policy,
                )?;
                save_marks()?;
                return Ok(outcome);
            }
            let tls = load_tls()?;
            let id = snapshot.snapshot_id.clone();
            let acks = rt.block_on(crate::client::upload_with_policy(
                url,
                &tls,
                vec![snapshot],
                &policy,
            ))?;
            save_marks()?;
            let status = acks.first().map(|a| a.status).unwrap_or_default();
            tracing::info!(host, errors, snapshot = %id, status, "snapshot acknowledged");
        }
        (None, None) => unreachable!("clap requires --out or --aggregator"),
    }
    Ok(Outcome::Done)
}
