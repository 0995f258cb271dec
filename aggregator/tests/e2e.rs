//! End to end over loopback: a simulated fleet's collectors push to a real aggregator with
//! per-test mutual TLS certificates, port 0.

use exfleet_aggregator::certs::{self, Pem};
use exfleet_aggregator::server::{DatasetOptions, Loopback, ServeOptions, TlsPem};
use exfleet_aggregator::store::Store;
use exfleet_collector::client::{self, ClientTls, UploadError};
use exfleet_proto::v1::upload_ack::Status as AckStatus;
use exfleet_proto::v1::Snapshot;
use exfleet_tests::fleet::FleetConfig;

pub(crate) struct Harness {
    pub(crate) aggregator: Loopback,
    pub(crate) ca: Pem,
    pub(crate) store: Store,
    pub(crate) _dir: tempfile::TempDir,
}

impl Harness {
    pub(crate) async fn start() -> Harness {
        Self::start_with(|_| ServeOptions::default()).await
    }

    pub(crate) async fn start_with(opts: impl FnOnce(&std::path::Path) -> ServeOptions) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let opts = opts(dir.path());
        let ca = certs::make_ca("test CA").unwrap();
        let server_cert = certs::make_server(&ca, &["localhost".into()]).unwrap();
        let store = Store::open(dir.path()).unwrap();
        let tls = TlsPem {
            cert: server_cert.cert,
            key: server_cert.key,
            client_ca: ca.cert.clone(),
        };
        let aggregator = Loopback::start(store.clone(), tls, opts).await.unwrap();
        Harness {
            aggregator,
            ca,
            store,
            _dir: dir,
        }
    }

    pub(crate) fn url(&self) -> String {
        self.aggregator.url.clone()
    }

    pub(crate) fn client_tls(&self, id: &str) -> ClientTls {
        let c = certs::make_collector(&self.ca, id).unwrap();
        ClientTls {
            ca: self.ca.cert.clone(),
            cert: c.cert,
            key: c.key,
        }
    }

    pub(crate) async fn stop(self) {
        self.aggregator.stop().await.unwrap();
    }
}

pub(crate) fn fleet_snapshots(servers: usize) -> Vec<Snapshot> {
    let tmp = tempfile::tempdir().unwrap();
    exfleet_tests::collected_fleet(
        &FleetConfig {
            seed: 5,
            servers,
            ..Default::default()
        },
        tmp.path(),
    )
    .unwrap()
    .1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_pushes_and_the_store_holds_exactly_what_was_sent() {
    let h = Harness::start().await;
    let snapshots = fleet_snapshots(16);
    let mut tasks = Vec::new();
    for s in snapshots.clone() {
        let name = s.host.as_ref().unwrap().computer_name.clone();
        let tls = h.client_tls(&name);
        let url = h.url();
        tasks.push(tokio::spawn(async move {
            let mut c = client::connect(&url, &tls).await.unwrap();
            client::upload(&mut c, vec![s]).await.unwrap()
        }));
    }
    for t in tasks {
        let acks = t.await.unwrap();
        assert_eq!(acks.len(), 1);
        assert_eq!(acks[0].status, AckStatus::Stored as i32, "{:?}", acks[0]);
    }
    assert_eq!(h.store.len(), snapshots.len());
    for s in &snapshots {
        let stored = h.store.get(&s.snapshot_id).unwrap();
        assert_eq!(
            stored.snapshot.as_ref(),
            Some(s),
            "stored snapshot differs from what was sent"
        );
        assert_eq!(
            stored.collector_id,
            s.host.as_ref().unwrap().computer_name,
            "identity comes from the certificate"
        );
        assert!(stored.received_at_ms > 0);
    }
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resent_snapshot_is_stored_once() {
    let h = Harness::start().await;
    let s = fleet_snapshots(1).remove(0);
    let tls = h.client_tls("EX01");
    let mut c = client::connect(&h.url(), &tls).await.unwrap();
    let acks = client::upload(&mut c, vec![s.clone(), s.clone()])
        .await
        .unwrap();
    let statuses: Vec<i32> = acks.iter().map(|a| a.status).collect();
    assert_eq!(
        statuses,
        [AckStatus::Stored as i32, AckStatus::Duplicate as i32]
    );
    // Again over a new connection, as after a lost ack.
    let mut c = client::connect(&h.url(), &tls).await.unwrap();
    let acks = client::upload(&mut c, vec![s.clone()]).await.unwrap();
    assert_eq!(acks[0].status, AckStatus::Duplicate as i32);
    assert_eq!(h.store.len(), 1);
    let files: Vec<_> = walk(h._dir.path().join("snapshots"));
    assert_eq!(files.len(), 1, "{files:?}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_snapshot_id_is_rejected() {
    let h = Harness::start().await;
    let mut s = fleet_snapshots(1).remove(0);
    s.snapshot_id = "../../x".into();
    let mut c = client::connect(&h.url(), &h.client_tls("EX01"))
        .await
        .unwrap();
    let err = client::upload(&mut c, vec![s]).await.unwrap_err();
    assert!(matches!(err, UploadError::Rejected { .. }), "{err}");
    assert!(h.store.is_empty());
    h.stop().await;
}

/// Connects and uploads, returning whether the aggregator stored anything.
async fn try_upload(url: &str, tls: ClientTls, s: Snapshot) -> Result<(), UploadError> {
    let mut c = client::connect(url, &tls).await?;
    client::upload(&mut c, vec![s]).await.map(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_certificate_or_one_from_another_ca_is_refused() {
    let h = Harness::start().await;
    let s = fleet_snapshots(1).remove(0);
    // Another CA's collector certificate.
    let other_ca = certs::make_ca("intruder CA").unwrap();
    let intruder = certs::make_collector(&other_ca, "EX01").unwrap();
    let tls = ClientTls {
        ca: h.ca.cert.clone(),
        cert: intruder.cert,
        key: intruder.key,
    };
    assert!(try_upload(&h.url(), tls, s.clone()).await.is_err());
    // No client certificate at all: a TLS client with only the CA.
    let no_identity = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(&h.ca.cert));
    let refused = async {
        let channel = tonic::transport::Endpoint::from_shared(h.url())
            .unwrap()
            .tls_config(no_identity)
            .unwrap()
            .connect()
            .await
            .map_err(|e| e.to_string())?;
        let mut c = exfleet_proto::v1::ingest_client::IngestClient::new(channel);
        let req = tokio_stream::iter(vec![exfleet_proto::v1::UploadRequest {
            snapshot: Some(s.clone()),
        }]);
        let mut acks = c.upload(req).await.map_err(|e| e.to_string())?.into_inner();
        acks.message().await.map_err(|e| e.to_string())
    }
    .await;
    assert!(
        !matches!(refused, Ok(Some(_))),
        "an upload without a certificate got an ack: {refused:?}"
    );
    assert!(
        h.store.is_empty(),
        "nothing may be stored from refused clients"
    );
    // The rightful collector still gets in.
    try_upload(&h.url(), h.client_tls("EX01"), s).await.unwrap();
    assert_eq!(h.store.len(), 1);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_serving() {
    let h = Harness::start().await;
    let tls = h.client_tls("monitor");
    let cfg = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(&tls.ca))
        .identity(tonic::transport::Identity::from_pem(&tls.cert, &tls.key));
    let channel = tonic::transport::Endpoint::from_shared(h.url())
        .unwrap()
        .tls_config(cfg)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    let resp = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "exfleet.v1.Ingest".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        resp.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
    h.stop().await;
}

fn walk(dir: std::path::PathBuf) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Rows of a dataset table (all partitions).
pub(crate) fn table_rows(dataset: &std::path::Path, table: &str) -> polars::prelude::DataFrame {
    use polars::prelude::*;
    let glob = format!("{}/{table}/**/*.parquet", dataset.display());
    LazyFrame::scan_parquet(glob.as_str().into(), ScanArgsParquet::default())
        .unwrap()
        .collect()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acked_snapshots_reach_the_dataset_within_the_flush_interval() {
    let h = Harness::start_with(|dir| ServeOptions {
        dataset: Some(DatasetOptions {
            dir: dir.join("dataset"),
            flush_interval: std::time::Duration::from_millis(300),
        }),
        ..Default::default()
    })
    .await;
    let snapshots = fleet_snapshots(8);
    let mut c = client::connect(&h.url(), &h.client_tls("EX01"))
        .await
        .unwrap();
    let acks = client::upload(&mut c, snapshots.clone()).await.unwrap();
    assert!(acks.iter().all(|a| a.status == AckStatus::Stored as i32));
    let acked_at = std::time::Instant::now();
    let dataset = h._dir.path().join("dataset");
    let mut seen = 0;
    // Polled, not timed: the loop only bounds a hung flusher.
    for _ in 0..200 {
        if dataset.join("hosts").exists() {
            seen = table_rows(&dataset, "hosts").height();
            if seen == snapshots.len() {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    eprintln!(
        "visible {} ms after the last ack",
        acked_at.elapsed().as_millis()
    );
    assert_eq!(seen, snapshots.len());
    let services: usize = snapshots.iter().map(|s| s.services.len()).sum();
    assert_eq!(table_rows(&dataset, "services").height(), services);
    let runs: usize = snapshots.iter().map(|s| s.setup_runs.len()).sum();
    assert_eq!(table_rows(&dataset, "setup_runs").height(), runs);
    let updates: usize = snapshots.iter().map(|s| s.installed_updates.len()).sum();
    assert_eq!(table_rows(&dataset, "installed_updates").height(), updates);
    let hosts = table_rows(&dataset, "hosts");
    let builds = hosts.column("exsetup_version").unwrap().str().unwrap();
    for s in &snapshots {
        let want = s.exsetup.as_ref().unwrap().fixed_version.as_str();
        assert!(builds.iter().any(|b| b == Some(want)), "{want}");
    }
    h.stop().await;
}
