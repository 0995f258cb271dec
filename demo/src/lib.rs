//! `exfleet-demo`, the main job on the embedded default, for a newcomer: a simulated fleet, an aggregator on
//! loopback with mutual TLS writing the local store and dataset, one collector per server
//! pushing its snapshot, then the analyzer over the dataset. Nothing to install.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use exfleet_aggregator::certs;
use exfleet_aggregator::server::{DatasetOptions, Loopback, ServeOptions, TlsPem};
use exfleet_aggregator::store::Store;
use exfleet_collector::client::{self, ClientTls};
use exfleet_collector::labels::LabelsFile;
use exfleet_collector::{collect, ServerFiles};
use exfleet_tests::fleet::FleetConfig;

use exfleet_analyzer::catalog::Catalog;
use exfleet_analyzer::input::History;
use exfleet_analyzer::{report, Analysis};

/// What the demo did and where it left things.
#[derive(Debug)]
pub struct DemoRun {
    /// The analysis.
    pub analysis: Analysis,
    /// Simulated triage copies and their ground truth.
    pub fleet: PathBuf,
    /// The aggregator's data directory (snapshots and dataset).
    pub data: PathBuf,
    /// Where findings were written.
    pub report: report::Written,
    /// Time per step.
    pub timings: Vec<(&'static str, Duration)>,
}

/// Runs the main job under `out` (created; a previous run there is replaced).
pub async fn run(
    out: &Path,
    servers: usize,
    seed: u64,
    catalog: &Catalog,
    as_of: chrono::NaiveDate,
) -> anyhow::Result<DemoRun> {
    if out.exists() {
        std::fs::remove_dir_all(out)?;
    }
    let mut timings = Vec::new();
    let mut t = Instant::now();
    let mut lap = |name: &'static str, timings: &mut Vec<(&'static str, Duration)>| {
        timings.push((name, t.elapsed()));
        t = Instant::now();
    };
    let fleet = out.join("fleet");
    let truth = exfleet_tests::write_fleet(
        &FleetConfig {
            seed,
            servers,
            ..Default::default()
        },
        &fleet,
    )?;
    lap("simulate fleet", &mut timings);

    let certs_dir = out.join("certs");
    let ca = certs::make_ca("exfleet demo CA")?;
    certs::write(&certs_dir, "ca", &ca)?;
    let sc = certs::make_server(&ca, &["localhost".into(), "127.0.0.1".into()])?;
    certs::write(&certs_dir, "server", &sc)?;
    let data = out.join("data");
    let store = Store::open(&data)?;
    let opts = ServeOptions {
        dataset: Some(DatasetOptions {
            dir: data.join("dataset"),
            flush_interval: Duration::from_secs(1),
        }),
        ..Default::default()
    };
    let tls = TlsPem {
        cert: sc.cert,
        key: sc.key,
        client_ca: ca.cert.clone(),
    };
    let aggregator = Loopback::start(store, tls, opts).await?;
    let url = aggregator.url.clone();
    eprintln!(
        "aggregator listening on {url} (mutual TLS), data in {}",
        data.display()
    );
    lap("start aggregator", &mut timings);

    // One collector per server, each with its own certificate, a few at a time.
    let mut tasks = tokio::task::JoinSet::new();
    let limit = std::sync::Arc::new(tokio::sync::Semaphore::new(8));
    for h in &truth.hosts {
        let collector_cert = certs::make_collector(&ca, &h.name)?;
        certs::write(&certs_dir, &h.name, &collector_cert)?;
        let tls = ClientTls {
            ca: ca.cert.clone(),
            cert: collector_cert.cert,
            key: collector_cert.key,
        };
        let (root, labels, url, limit) = (
            fleet.join(&h.triage_dir),
            fleet.join(&h.labels_file),
            url.clone(),
            limit.clone(),
        );
        tasks.spawn(async move {
            let _slot = limit.acquire_owned().await?;
            let labels = LabelsFile::load(&labels)?.into_labels(None, None, None);
            let snapshot =
                tokio::task::spawn_blocking(move || collect(&ServerFiles::new(&root), labels))
                    .await??;
            client::upload_with_retry(&url, &tls, vec![snapshot], 3).await?;
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    eprintln!("{} collectors pushed their snapshots", truth.hosts.len());
    lap("collect and push", &mut timings);
    aggregator.stop().await?;
    lap("stop aggregator (flush dataset)", &mut timings);

    let history = History::open(&data.join("dataset"))?;
    let analysis = exfleet_analyzer::analyze(&history, catalog, as_of)?;
    let report = report::write(&analysis, catalog, &history, &out.join("report"))?;
    lap("analyze", &mut timings);
    Ok(DemoRun {
        analysis,
        fleet,
        data,
        report,
        timings,
    })
}
