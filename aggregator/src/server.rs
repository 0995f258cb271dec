//! The gRPC server: Ingest behind mutual TLS and the identity interceptor, plus the standard
//! gRPC health service (grpc.health.v1, under the same TLS: `exfleet.v1.Ingest`, and
//! `exfleet.v1.Dataset`, NOT_SERVING while the dataset cannot advance), with explicit message
//! size limits and gzip compression, a TLS handshake deadline, and the connection limits and
//! idle timeout of [`crate::listen`].

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use exfleet_proto::v1::enrollment_server::EnrollmentServer;
use exfleet_proto::v1::ingest_server::IngestServer;
use tokio::net::TcpListener;
use tonic::codec::CompressionEncoding;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};

use crate::dataset::{self, Dataset};
use crate::enroll::issue::Signer;
use crate::enroll::ledger::Ledger;
use crate::enroll::service::EnrollmentService;
use crate::error::Error;
use crate::identity;
use crate::identity::Policy;
use crate::listen::{self, Limits};
use crate::metrics::Metrics;
use crate::service::{BackPressure, IngestService};
use crate::store::Store;

/// The PEM material of mutual TLS.
#[derive(Debug, Clone)]
pub struct TlsPem {
    /// Server certificate chain.
    pub cert: String,
    /// Server private key.
    pub key: String,
    /// CA that client certificates must chain to.
    pub client_ca: String,
}

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Largest message accepted or sent.
    pub max_message_bytes: usize,
    /// Where and how often to write the dataset (`None`: snapshots only).
    pub dataset: Option<DatasetOptions>,
    /// Longest time from accepting a connection to the end of its TLS handshake.
    pub handshake_timeout: Duration,
    /// A connection that sends nothing this long is closed.
    pub idle_timeout: Duration,
    /// Connections open at once, handshakes included ([`listen`]).
    pub max_connections: usize,
    /// Uploads in flight at once, and the retry-after that refuses one more.
    pub back_pressure: BackPressure,
    /// What each certificate may speak for.
    pub identities: Policy,
    /// Where the enrollment ledger lives: revocations are checked against it, and
    /// enrollments recorded in it (`None`: no ledger, nothing revoked, no enrollment). For a
    /// store on a bucket, the ledger is shared there, `<prefix>/enroll` ([`ENROLL_DIR`]), and
    /// this only turns it on.
    pub ledger_dir: Option<PathBuf>,
    /// How old the state of a ledger shared on a bucket may be when the identity gate reads
    /// it: a revocation made through another aggregator is enforced here within it.
    pub ledger_refresh: Duration,
    /// Enrollment, when the fleet CA's key is given (served on its own listener).
    pub enrollment: Option<EnrollOptions>,
    /// Compaction and retention of the dataset and the store (with a dataset; `None`: off).
    pub maintenance: Option<dataset::maintain::Maintenance>,
    /// What ingest counts; served on [`Listeners::metrics`] when there is one.
    pub metrics: Metrics,
    /// [`Loopback::start`] also binds a loopback metrics listener ([`Loopback::metrics_url`]).
    pub loopback_metrics: bool,
}

/// Enrollment's settings.
#[derive(Debug, Clone)]
pub struct EnrollOptions {
    /// The fleet CA (the collectors' CA): its certificate and key.
    pub ca: crate::certs::Pem,
    /// Days a certificate it issues is valid.
    pub validity_days: u32,
}

/// The dataset's folder under a bucket's prefix (beside `snapshots/`).
pub const DATASET_DIR: &str = "dataset";

/// The shared enrollment ledger's folder under a bucket's prefix.
pub const ENROLL_DIR: &str = "enroll";

/// Dataset writing.
#[derive(Debug, Clone)]
pub struct DatasetOptions {
    /// Dataset directory; for a store on a bucket, the dataset is `<prefix>/dataset` there
    /// ([`DATASET_DIR`]) and this is not used.
    pub dir: PathBuf,
    /// Longest time from an ack to the snapshot's rows in the dataset.
    pub flush_interval: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            max_message_bytes: 32 << 20,
            dataset: None,
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(300),
            max_connections: 1024,
            back_pressure: BackPressure::default(),
            identities: Policy::default(),
            ledger_dir: None,
            ledger_refresh: Duration::from_secs(5),
            enrollment: None,
            maintenance: None,
            metrics: Metrics::new(),
            loopback_metrics: false,
        }
    }
}

/// The listeners a server serves: ingest (mutual TLS) and, with enrollment on, enrollment
/// (server-authenticated TLS: a collector enrolling has no certificate yet).
#[derive(Debug)]
pub struct Listeners {
    /// Ingest, renewal and health, mutual TLS.
    pub ingest: TcpListener,
    /// Enrollment; `None` with enrollment off.
    pub enroll: Option<TcpListener>,
    /// Prometheus metrics, plain HTTP ([`crate::metrics`]); `None`: not served.
    pub metrics: Option<TcpListener>,
}

/// Serves until `shutdown` resolves, on already bound listeners (port 0 in tests); then
/// writes what the dataset still lacks.
pub async fn serve(
    listeners: Listeners,
    store: Store,
    tls: TlsPem,
    opts: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let listener = listeners.ingest;
    let (stop, stopping) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let ledger = match (&opts.ledger_dir, store.bucket()) {
        (Some(_), Some((bucket, aggregator))) => {
            let (b, a, refresh) = (
                bucket.child(ENROLL_DIR),
                aggregator.to_string(),
                opts.ledger_refresh,
            );
            let opened = tokio::task::spawn_blocking(move || Ledger::open_bucket(&b, &a, refresh))
                .await
                .map_err(|e| Error::Io {
                    path: PathBuf::from(bucket.url_of(ENROLL_DIR)),
                    reason: std::io::Error::other(e.to_string()),
                })??;
            if opts.enrollment.is_some() {
                opened.check_claims()?;
            }
            Some(Arc::new(opened))
        }
        (Some(dir), None) => Some(Arc::new(Ledger::open(dir)?)),
        (None, _) => None,
    };
    let enrollment = match (&opts.enrollment, &ledger) {
        (Some(e), Some(ledger)) => Some(EnrollmentService::new(
            ledger.clone(),
            Arc::new(Signer::new(&e.ca, e.validity_days)?),
            opts.identities.clone(),
        )),
        (Some(_), None) => {
            return Err(Error::Certs(
                "enrollment needs a ledger directory (ledger_dir)".into(),
            ))
        }
        _ => None,
    };
    let metrics_task = listeners.metrics.map(|l| {
        tokio::spawn(crate::metrics::serve(
            l,
            opts.metrics.clone(),
            stopped(stopping.clone()),
        ))
    });
    let enroll_task = match (&enrollment, listeners.enroll) {
        (Some(service), Some(l)) => {
            let tls = ServerTlsConfig::new()
                .identity(Identity::from_pem(&tls.cert, &tls.key))
                .timeout(opts.handshake_timeout);
            let incoming = listen::incoming(
                l,
                Limits {
                    max_connections: opts.max_connections,
                    idle_timeout: opts.idle_timeout,
                },
            );
            let server = Server::builder()
                .tls_config(tls)?
                .add_service(EnrollmentServer::new(service.clone()))
                .serve_with_incoming_shutdown(incoming, stopped(stopping.clone()));
            Some(tokio::spawn(server))
        }
        _ => None,
    };
    let tls = ServerTlsConfig::new()
        .identity(Identity::from_pem(tls.cert, tls.key))
        .client_ca_root(Certificate::from_pem(tls.client_ca))
        .client_auth_optional(false)
        .timeout(opts.handshake_timeout);
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter.set_serving::<IngestServer<IngestService>>().await;
    let mut maintenance = None;
    let (notify, flusher) = match &opts.dataset {
        Some(d) => {
            let (dataset, already) = match store.bucket() {
                Some((bucket, aggregator)) => {
                    let (b, a) = (bucket.child(DATASET_DIR), aggregator.to_string());
                    tokio::task::spawn_blocking(move || Dataset::open_bucket(&b, &a))
                        .await
                        .map_err(|e| Error::Io {
                            path: PathBuf::from(bucket.url_of(DATASET_DIR)),
                            reason: std::io::Error::other(e.to_string()),
                        })??
                }
                None => Dataset::open(&d.dir)?,
            };
            maintenance = opts.maintenance.as_ref().map(|m| {
                tokio::spawn(dataset::maintain::run(
                    store.clone(),
                    dataset.clone(),
                    m.clone(),
                    stopped(stopping.clone()),
                ))
            });
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            let task = tokio::spawn(dataset::flush::run(
                store.clone(),
                dataset,
                already,
                rx,
                d.flush_interval,
                Some(reporter.clone()),
                opts.metrics.dataset_lag().clone(),
            ));
            (Some(tx), Some(task))
        }
        None => (None, None),
    };
    let service = IngestService::new(store, notify)
        .with_max_message_bytes(opts.max_message_bytes)
        .with_back_pressure(opts.back_pressure)
        .with_identities(opts.identities.clone())
        .with_metrics(opts.metrics.clone());
    let ingest = IngestServer::new(service)
        .max_decoding_message_size(opts.max_message_bytes)
        .max_encoding_message_size(opts.max_message_bytes)
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip);
    let gate = identity::Gate::new(ledger.clone());
    let ingest = tonic::service::interceptor::InterceptedService::new(ingest, gate.clone());
    let renew = enrollment.map(|service| {
        tonic::service::interceptor::InterceptedService::new(EnrollmentServer::new(service), gate)
    });
    let incoming = listen::incoming(
        listener,
        Limits {
            max_connections: opts.max_connections,
            idle_timeout: opts.idle_timeout,
        },
    );
    let served = Server::builder()
        .tls_config(tls)?
        .add_service(health)
        .add_service(ingest)
        .add_optional_service(renew)
        .serve_with_incoming_shutdown(incoming, stopped(stopping))
        .await;
    if let Some(task) = enroll_task {
        task.await.map_err(|e| Error::Io {
            path: PathBuf::from("enrollment server"),
            reason: std::io::Error::other(e.to_string()),
        })??;
    }
    if let Some(task) = metrics_task {
        let _ = task.await;
    }
    // The server (and with it the service's sender) is gone: the flusher writes the rest.
    if let Some(task) = flusher {
        task.await.map_err(|e| Error::Io {
            path: PathBuf::from("dataset"),
            reason: std::io::Error::other(e.to_string()),
        })??;
    }
    // A compaction or expiry under way ends before the process does (it is safe to cut,
    // but what it replaced would stay on disk until the next start).
    if let Some(task) = maintenance {
        let _ = task.await;
    }
    served?;
    Ok(())
}

/// An aggregator serving in this process on a free loopback port: for the main job on the
/// embedded default, tests and benchmarks.
#[derive(Debug)]
pub struct Loopback {
    /// `https://localhost:<port>` (the server certificate must name `localhost`).
    pub url: String,
    /// The bound address.
    pub addr: std::net::SocketAddr,
    /// The enrollment listener's `https://localhost:<port>`, with enrollment on.
    pub enroll_url: Option<String>,
    /// `http://127.0.0.1:<port>/metrics`, with [`ServeOptions::loopback_metrics`].
    pub metrics_url: Option<String>,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), Error>>,
}

impl Loopback {
    /// Binds `127.0.0.1:0` (and another for enrollment when it is on) and serves.
    pub async fn start(store: Store, tls: TlsPem, opts: ServeOptions) -> Result<Loopback, Error> {
        let bind = || async {
            TcpListener::bind("127.0.0.1:0")
                .await
                .map_err(Error::io("127.0.0.1:0"))
        };
        let listener = bind().await?;
        let addr = listener.local_addr().map_err(Error::io("127.0.0.1:0"))?;
        let enroll = match opts.enrollment {
            Some(_) => Some(bind().await?),
            None => None,
        };
        let enroll_url = match &enroll {
            Some(l) => Some(format!(
                "https://localhost:{}",
                l.local_addr().map_err(Error::io("127.0.0.1:0"))?.port()
            )),
            None => None,
        };
        let metrics = match opts.loopback_metrics {
            true => Some(bind().await?),
            false => None,
        };
        let metrics_url = match &metrics {
            Some(l) => Some(format!(
                "http://{}/metrics",
                l.local_addr().map_err(Error::io("127.0.0.1:0"))?
            )),
            None => None,
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let listeners = Listeners {
            ingest: listener,
            enroll,
            metrics,
        };
        let task = tokio::spawn(serve(listeners, store, tls, opts, async {
            let _ = stopped.await;
        }));
        Ok(Loopback {
            url: format!("https://localhost:{}", addr.port()),
            addr,
            enroll_url,
            metrics_url,
            stop,
            task,
        })
    }

    /// Stops accepting, lets the dataset flush, and returns how serving ended.
    pub async fn stop(self) -> Result<(), Error> {
        let _ = self.stop.send(());
        self.task.await.map_err(|e| Error::Io {
            path: PathBuf::from("aggregator task"),
            reason: std::io::Error::other(e.to_string()),
        })?
    }
}
