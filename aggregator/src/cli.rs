//! Command line of `exfleet-aggregator`.

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::error::Error;
use crate::server::TlsPem;
use crate::store::Store;
use crate::{certs, server};

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
    Serve(ServeArgs),
    /// Makes certificates for a test or small deployment.
    #[command(subcommand)]
    Certs(CertsCommand),
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
        Command::Serve(args) => serve(args),
        Command::Certs(c) => Ok(make_certs(c)?),
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
    let read = |p: &PathBuf| std::fs::read_to_string(p).map_err(Error::io(p));
    let tls = TlsPem {
        cert: read(&cfg.tls.cert)?,
        key: read(&cfg.tls.key)?,
        client_ca: read(&cfg.tls.client_ca)?,
    };
    let store = Store::open(&cfg.data_dir)?;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(cfg.listen)
            .await
            .map_err(Error::io(format!("listen {}", cfg.listen)))?;
        let addr = listener.local_addr().map_err(Error::io("listen"))?;
        // Scripts and tests read the bound address (port 0 picks one) from stdout.
        println!("listening on {addr}");
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
        };
        server::serve(listener, store, tls, opts, shutdown_signal()).await?;
        Ok::<(), anyhow::Error>(())
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
