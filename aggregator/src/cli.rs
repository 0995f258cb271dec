//! Command line of `exfleet-aggregator`.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::enroll::ledger::{Event, Ledger};
use crate::enroll::{now_ms, show_time, tokens};
use crate::error::Error;
use crate::server::TlsPem;
use crate::store::Store;
use crate::{certs, server};
use exfleet_dataset::bucket::Bucket;

/// Receives exfleet snapshots from collectors and keeps them.
#[derive(Debug, Parser)]
#[command(name = "exfleet-aggregator", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs the gRPC server.
    Serve(Box<ServeArgs>),
    /// Makes certificates for a test or small deployment.
    #[command(subcommand)]
    Certs(CertsCommand),
    /// Enrollment tokens: made here, handed to the collectors that enroll with them.
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Lists the names enrolled: who, when, from where.
    Enrollments(DataArgs),
    /// Lets another host enroll a name already enrolled (a server rebuilt, renamed, replaced).
    Release {
        /// The name (certificate CN).
        cn: String,
        /// Where the data is.
        #[command(flatten)]
        data: DataArgs,
    },
    /// Revokes every certificate of a name issued so far: the aggregator refuses them from
    /// the next call on, also after a restart.
    Revoke {
        /// The name (certificate CN).
        cn: String,
        /// Where the data is.
        #[command(flatten)]
        data: DataArgs,
    },
}

/// Where the aggregator's data is: its configuration file, or the folder itself.
#[derive(Debug, clap::Args)]
pub struct DataArgs {
    /// TOML configuration file (its data-dir).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Data directory (overrides the configuration's).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// The bucket the aggregators share, `s3://<bucket>/<prefix>` (overrides the
    /// configuration's): the enrollment ledger is the one shared there.
    #[arg(long)]
    pub bucket: Option<String>,
}

impl DataArgs {
    /// The enrollment ledger: shared in the bucket when one is configured, else the data
    /// directory's.
    fn ledger(&self) -> Result<Ledger, Error> {
        let cfg = match &self.config {
            Some(p) => Config::load(p)?,
            None => Config::default(),
        };
        if let Some(url) = self.bucket.clone().or(cfg.bucket) {
            let bucket = Bucket::open(&url)?.child(server::ENROLL_DIR);
            let writer = cfg.aggregator_id.unwrap_or_else(|| OPERATOR.to_string());
            return Ledger::open_bucket(&bucket, &writer, std::time::Duration::ZERO);
        }
        let dir = self.data_dir.clone().unwrap_or(cfg.data_dir);
        Ledger::open(&dir.join(LEDGER_DIR))
    }
}

/// Who the operator's commands write a shared ledger's events as, without an aggregator id.
const OPERATOR: &str = "operator";

/// The ledger's folder in the data directory.
pub const LEDGER_DIR: &str = "enroll";

/// `tokens` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Makes a token and prints it (once: only its hash is kept).
    Create {
        /// Fleet-wide: any number of hosts may enroll with it until it expires (default:
        /// single-use, one host).
        #[arg(long)]
        fleet: bool,
        /// Hours it is valid.
        #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..))]
        valid_hours: u32,
        /// Where the data is.
        #[command(flatten)]
        data: DataArgs,
    },
    /// Lists the tokens: id, kind, expiry, names enrolled with it.
    List(DataArgs),
}

/// Arguments of `serve`; flags override the configuration file.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// TOML configuration file.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Address to listen on (port 0 picks one; the bound address is printed on stdout).
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
    /// Data directory.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Server certificate (PEM).
    #[arg(long)]
    pub tls_cert: Option<PathBuf>,
    /// Server key (PEM).
    #[arg(long)]
    pub tls_key: Option<PathBuf>,
    /// CA of collector certificates (PEM).
    #[arg(long)]
    pub client_ca: Option<PathBuf>,
    /// Seconds between dataset flushes.
    #[arg(long)]
    pub flush_interval_secs: Option<u64>,
    /// Where collectors enroll (port 0 picks one; printed on stdout as "enrollment listening
    /// on ADDR"); needs --enroll-ca-key.
    #[arg(long)]
    pub enroll_listen: Option<std::net::SocketAddr>,
    /// The fleet CA's private key, which signs enrolled certificates.
    #[arg(long)]
    pub enroll_ca_key: Option<PathBuf>,
    /// Keeps snapshots and the dataset in `s3://<bucket>/<prefix>` (endpoint and
    /// credentials from the AWS environment variables); needs --aggregator-id.
    #[arg(long)]
    pub bucket: Option<String>,
    /// This aggregator's id among those sharing the bucket.
    #[arg(long)]
    pub aggregator_id: Option<String>,

    // Ingest at the disk's limit, and metrics.
    /// Group commit of the local store: `fsync` (default), `syncfs` or `off`.
    #[arg(long)]
    pub group_commit: Option<crate::store::GroupCommit>,
    /// Where Prometheus scrapes `GET /metrics`, plain HTTP (port 0 picks one; printed on
    /// stdout as "metrics listening on ADDR").
    #[arg(long)]
    pub metrics_listen: Option<std::net::SocketAddr>,
}

/// `certs` subcommands.
#[derive(Debug, Subcommand)]
pub enum CertsCommand {
    /// Makes a CA: `<out>/ca.pem`, `<out>/ca.key`.
    Ca {
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// CA common name.
        #[arg(long, default_value = "exfleet CA")]
        name: String,
    },
    /// Makes the aggregator's certificate: `<out>/server.pem`, `<out>/server.key`.
    Server {
        /// Directory holding ca.pem and ca.key.
        #[arg(long)]
        ca: PathBuf,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// DNS names or IP addresses the server is reached at.
        #[arg(long = "name", default_values_t = ["localhost".to_string(), "127.0.0.1".to_string()])]
        names: Vec<String>,
    },
    /// Makes a collector's certificate: `<out>/<id>.pem`, `<out>/<id>.key`.
    Collector {
        /// Directory holding ca.pem and ca.key.
        #[arg(long)]
        ca: PathBuf,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// Collector identity (certificate subject CN).
        #[arg(long)]
        id: String,
    },
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(*args),
        Command::Certs(c) => Ok(make_certs(c)?),
        Command::Tokens(TokensCommand::Create {
            fleet,
            valid_hours,
            data,
        }) => {
            let now = now_ms();
            let t = tokens::create(!fleet, now, now + i64::from(valid_hours) * 3_600_000);
            data.ledger()?.append(vec![t.event])?;
            println!("{}", t.text);
            Ok(())
        }
        Command::Tokens(TokensCommand::List(data)) => {
            let state = data.ledger()?.state()?;
            let mut ids: Vec<_> = state.tokens.iter().collect();
            ids.sort_by_key(|(_, t)| t.expires_at_ms);
            println!("id\tkind\texpires\tused by");
            for (id, t) in ids {
                let kind = if t.single_use { "single-use" } else { "fleet" };
                let at = show_time(t.expires_at_ms);
                println!("{id}\t{kind}\t{at}\t{}", t.used_by.join(","));
            }
            Ok(())
        }
        Command::Enrollments(data) => {
            let state = data.ledger()?.state()?;
            let mut claims: Vec<_> = state.claims.values().collect();
            claims.sort_by(|a, b| a.cn.cmp(&b.cn));
            println!("name\tenrolled\tfrom");
            for c in claims {
                println!("{}\t{}\t{}", c.cn, show_time(c.at_ms), c.from);
            }
            Ok(())
        }
        Command::Release { cn, data } => {
            data.ledger()?.append(vec![Event::Released {
                cn: cn.clone(),
                at_ms: now_ms(),
            }])?;
            println!("released {cn}: another host may enroll it");
            Ok(())
        }
        Command::Revoke { cn, data } => {
            data.ledger()?.append(vec![Event::Revoked {
                cn: cn.clone(),
                at_ms: now_ms(),
            }])?;
            println!("revoked every certificate of {cn} issued so far");
            Ok(())
        }
    }
}

fn make_certs(c: CertsCommand) -> Result<(), Error> {
    match c {
        CertsCommand::Ca { out, name } => certs::write(&out, "ca", &certs::make_ca(&name)?),
        CertsCommand::Server { ca, out, names } => {
            for n in &names {
                certs::check_server_name(n)?;
            }
            let ca = certs::read(&ca, "ca")?;
            certs::write(&out, "server", &certs::make_server(&ca, &names)?)
        }
        CertsCommand::Collector { ca, out, id } => {
            certs::check_plain_name("collector id", &id)?;
            let ca = certs::read(&ca, "ca")?;
            certs::write(&out, &id, &certs::make_collector(&ca, &id)?)
        }
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut cfg = match &args.config {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    if let Some(v) = args.listen {
        cfg.listen = v;
    }
    if let Some(v) = args.data_dir {
        cfg.data_dir = v;
    }
    if let Some(v) = args.tls_cert {
        cfg.tls.cert = v;
    }
    if let Some(v) = args.tls_key {
        cfg.tls.key = v;
    }
    if let Some(v) = args.client_ca {
        cfg.tls.client_ca = v;
    }
    if let Some(v) = args.flush_interval_secs {
        cfg.flush_interval_secs = v;
    }
    if let Some(v) = args.enroll_listen {
        cfg.enroll_listen = Some(v);
    }
    if let Some(v) = args.enroll_ca_key {
        cfg.enroll_ca_key = Some(v);
    }
    if let Some(v) = args.bucket {
        cfg.bucket = Some(v);
    }
    if let Some(v) = args.aggregator_id {
        cfg.aggregator_id = Some(v);
    }
    if let Some(v) = args.group_commit {
        cfg.group_commit = v;
    }
    if let Some(v) = args.metrics_listen {
        cfg.metrics_listen = Some(v);
    }
    let read = |p: &PathBuf| std::fs::read_to_string(p).map_err(Error::io(p));
    let tls = TlsPem {
        cert: read(&cfg.tls.cert)?,
        key: read(&cfg.tls.key)?,
        client_ca: read(&cfg.tls.client_ca)?,
    };
    let store = open_store(
        cfg.bucket.as_deref(),
        cfg.aggregator_id.as_deref(),
        &cfg.data_dir,
    )?
    .with(cfg.group_commit)?;
    let enrollment = match (&cfg.enroll_listen, &cfg.enroll_ca_key) {
        (Some(_), Some(key)) => Some(server::EnrollOptions {
            ca: certs::Pem {
                cert: tls.client_ca.clone(),
                key: read(key)?,
            },
            validity_days: cfg.cert_validity_days.max(1),
        }),
        (Some(_), None) => anyhow::bail!(
            "enroll-listen is set but enroll-ca-key is not: enrollment signs with the fleet CA's key"
        ),
        _ => None,
    };
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(cfg.listen)
            .await
            .map_err(Error::io(format!("listen {}", cfg.listen)))?;
        let addr = listener.local_addr().map_err(Error::io("listen"))?;
        // Scripts and tests read the bound address (port 0 picks one) from stdout.
        println!("listening on {addr}");
        let enroll = match cfg.enroll_listen {
            Some(at) if enrollment.is_some() => {
                let l = tokio::net::TcpListener::bind(at)
                    .await
                    .map_err(Error::io(format!("enroll-listen {at}")))?;
                let addr = l.local_addr().map_err(Error::io("enroll-listen"))?;
                println!("enrollment listening on {addr}");
                Some(l)
            }
            _ => None,
        };
        let metrics = match cfg.metrics_listen {
            Some(at) => {
                let l = tokio::net::TcpListener::bind(at)
                    .await
                    .map_err(Error::io(format!("metrics-listen {at}")))?;
                let addr = l.local_addr().map_err(Error::io("metrics-listen"))?;
                println!("metrics listening on {addr}");
                Some(l)
            }
            None => None,
        };
        std::io::stdout().flush().ok();
        tracing::info!(%addr, data = %cfg.data_dir.display(), "serving");
        let opts = server::ServeOptions {
            max_message_bytes: cfg.max_message_bytes,
            dataset: Some(server::DatasetOptions {
                dir: cfg.data_dir.join("dataset"),
                flush_interval: std::time::Duration::from_secs(cfg.flush_interval_secs.max(1)),
            }),
            handshake_timeout: std::time::Duration::from_secs(
                cfg.tls_handshake_timeout_secs.max(1),
            ),
            idle_timeout: std::time::Duration::from_secs(cfg.idle_timeout_secs.max(1)),
            max_connections: cfg.max_connections.max(1),
            back_pressure: crate::service::BackPressure {
                max_uploads_in_flight: cfg.max_uploads_in_flight.max(1),
                retry_after: std::time::Duration::from_secs(cfg.retry_after_secs.max(1)),
            },
            identities: crate::identity::Policy::new(cfg.triage.clone()),
            ledger_dir: Some(cfg.data_dir.join(LEDGER_DIR)),
            ledger_refresh: std::time::Duration::from_secs(cfg.enroll_refresh_secs.max(1)),
            maintenance: maintenance(&cfg),
            enrollment,
            metrics: crate::metrics::Metrics::new(),
            loopback_metrics: false,
        };
        let listeners = server::Listeners {
            ingest: listener,
            enroll,
            metrics,
        };
        server::serve(listeners, store, tls, opts, shutdown_signal()).await?;
        Ok::<(), anyhow::Error>(())
    })
}

/// Compaction and retention as configured; `None` when both are off.
fn maintenance(cfg: &Config) -> Option<crate::dataset::maintain::Maintenance> {
    const HOUR: u64 = 3600;
    if cfg.compact_after_hours == 0 && cfg.retention_days == 0 {
        return None;
    }
    let secs = std::time::Duration::from_secs;
    Some(crate::dataset::maintain::Maintenance {
        every: secs(cfg.maintenance_interval_secs.max(1)),
        compact_after: (cfg.compact_after_hours > 0).then(|| secs(cfg.compact_after_hours * HOUR)),
        retention: (cfg.retention_days > 0).then(|| secs(cfg.retention_days * 24 * HOUR)),
    })
}

/// The store: on the bucket when one is set (which needs an aggregator id), else the data
/// directory. An aggregator id without a bucket is refused rather than ignored: the operator
/// meant a shared bucket.
fn open_store(
    bucket: Option<&str>,
    aggregator_id: Option<&str>,
    data_dir: &Path,
) -> anyhow::Result<Store> {
    Ok(match (bucket, aggregator_id) {
        (Some(url), Some(id)) => Store::open_bucket(&Bucket::open(url)?, id)?,
        (Some(url), None) => anyhow::bail!(
            "bucket {url} is set but aggregator-id is not: every aggregator sharing a bucket \
             needs its own id"
        ),
        (None, Some(id)) => anyhow::bail!(
            "aggregator-id {id} is set but bucket is not: --aggregator-id names this \
             aggregator among those sharing a bucket (--bucket); drop it for a local data dir"
        ),
        (None, None) => Store::open(data_dir)?,
    })
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("a SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compaction_and_retention_are_on_as_configured() {
        let day = std::time::Duration::from_secs(86_400);
        let d = maintenance(&Config::default()).expect("compaction is on by default");
        assert_eq!(d.compact_after, Some(day / 12));
        assert_eq!(d.retention, None, "kept forever by default");
        let off: Config = toml::from_str("compact-after-hours = 0").unwrap();
        assert_eq!(maintenance(&off), None);
        let kept: Config = toml::from_str(
            "compact-after-hours = 0\nretention-days = 30\nmaintenance-interval-secs = 60",
        )
        .unwrap();
        let m = maintenance(&kept).unwrap();
        assert_eq!((m.compact_after, m.retention), (None, Some(day * 30)));
        assert_eq!(m.every, std::time::Duration::from_secs(60));
    }

    #[test]
    fn an_aggregator_id_without_a_bucket_is_refused_naming_the_flag() {
        let tmp = tempfile::tempdir().unwrap();
        let Err(err) = open_store(None, Some("agg1"), tmp.path()) else {
            panic!("an aggregator id without a bucket must be refused");
        };
        let text = err.to_string();
        assert!(text.contains("aggregator-id agg1"), "{text}");
        assert!(text.contains("--bucket"), "{text}");
        assert!(open_store(None, None, tmp.path()).is_ok());
    }
}
