//! The metrics listener: an aggregator takes uploads (stored, duplicate, refused for size, for
//! time and for identity), and `GET /metrics` over plain HTTP counts exactly those.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use exfleet_aggregator::identity::{Policy, TriageIdentity};
use exfleet_aggregator::server::{DatasetOptions, ServeOptions};
use exfleet_collector::client::{self, UploadError};
use exfleet_proto::v1::CollectionError;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::e2e::{fleet_snapshots, Harness};

/// One plain HTTP/1.1 GET: the status line and the body.
async fn get(url: &str) -> (String, String) {
    let rest = url.strip_prefix("http://").unwrap();
    let (addr, path) = rest.split_at(rest.find('/').unwrap());
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut text = String::new();
    tcp.read_to_string(&mut text).await.unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_string(), body.to_string())
}

/// The samples of a text exposition: `name{labels}` -> value.
fn samples(body: &str) -> HashMap<String, f64> {
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (k, v) = l.rsplit_once(' ').unwrap();
            (k.to_string(), v.parse().unwrap())
        })
        .collect()
}

async fn scrape(url: &str) -> HashMap<String, f64> {
    let (status, body) = get(url).await;
    assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
    samples(&body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_the_uploads_imply() {
    let h = Harness::start_with(|dir| ServeOptions {
        max_message_bytes: 512 << 10,
        // Flushed at start, then not for an hour: what is stored stays behind the dataset.
        dataset: Some(DatasetOptions {
            dir: dir.join("dataset"),
            flush_interval: Duration::from_secs(3600),
        }),
        loopback_metrics: true,
        identities: Policy::new(vec![TriageIdentity {
            cn: "IR-WS01".into(),
            hosts: vec!["NOT-THIS-ONE".into()],
        }]),
        ..Default::default()
    })
    .await;
    let url = h.aggregator.metrics_url.clone().unwrap();
    let before = scrape(&url).await;
    assert_eq!(before["exfleet_snapshots_stored_total"], 0.0);
    assert_eq!(before["exfleet_rejections_total{reason=\"size\"}"], 0.0);

    let snapshots = fleet_snapshots(3);
    // Three stored, each by its own server's certificate.
    for s in &snapshots {
        let name = &s.host.as_ref().unwrap().computer_name;
        let mut c = client::connect(&h.url(), &h.client_tls(name))
            .await
            .unwrap();
        client::upload(&mut c, vec![s.clone()]).await.unwrap();
    }
    let first = snapshots[0].clone();
    let name = first.host.as_ref().unwrap().computer_name.clone();
    let tls = h.client_tls(&name);
    // One duplicate.
    let mut c = client::connect(&h.url(), &tls).await.unwrap();
    client::upload(&mut c, vec![first.clone()]).await.unwrap();
    // One too large: 2 MB of hex digits, which gzip cannot bring under 512 KiB.
    let mut big = first.clone();
    big.snapshot_id = "metrics-big-0000000001".into();
    let mut x: u64 = 11;
    big.errors.push(CollectionError {
        message: (0..2_000_000)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                char::from_digit(((x >> 60) & 0xf) as u32, 16).unwrap()
            })
            .collect(),
        ..Default::default()
    });
    let mut c = client::connect(&h.url(), &tls).await.unwrap();
    let e = client::upload(&mut c, vec![big]).await.unwrap_err();
    assert!(matches!(e, UploadError::Refused(_)), "{e}");
    // One from 1970.
    let mut old = first.clone();
    old.snapshot_id = "metrics-old-0000000001".into();
    old.collected_at_ms = 0;
    let mut c = client::connect(&h.url(), &tls).await.unwrap();
    client::upload(&mut c, vec![old]).await.unwrap_err();
    // One from a triage workstation not allowed that host.
    let mut triaged = first.clone();
    triaged.snapshot_id = "metrics-triage-000000001".into();
    let mut c = client::connect(&h.url(), &h.client_tls("IR-WS01"))
        .await
        .unwrap();
    client::upload(&mut c, vec![triaged]).await.unwrap_err();

    // The flusher hears of the stored ones after their acks: wait for it.
    let start = Instant::now();
    let m = loop {
        let m = scrape(&url).await;
        if m["exfleet_dataset_lag_snapshots"] == 3.0 || start.elapsed() > Duration::from_secs(10) {
            break m;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(m["exfleet_snapshots_stored_total"], 3.0);
    assert_eq!(m["exfleet_snapshots_duplicate_total"], 1.0);
    assert_eq!(m["exfleet_rejections_total{reason=\"size\"}"], 1.0);
    assert_eq!(m["exfleet_rejections_total{reason=\"time\"}"], 1.0);
    assert_eq!(m["exfleet_rejections_total{reason=\"identity\"}"], 1.0);
    for reason in ["back_pressure", "invalid", "storage"] {
        assert_eq!(
            m[&format!("exfleet_rejections_total{{reason=\"{reason}\"}}")],
            0.0,
            "{reason}"
        );
    }
    assert_eq!(m["exfleet_ack_seconds_count"], 4.0);
    assert_eq!(m["exfleet_writes_in_flight"], 0.0);
    assert_eq!(m["exfleet_dataset_lag_snapshots"], 3.0);
    // The bytes stored are the three files the store holds.
    let on_disk: u64 = h
        .store
        .ids()
        .iter()
        .map(|id| std::fs::metadata(h.store.path_of(id)).unwrap().len())
        .sum();
    assert_eq!(h.store.len(), 3);
    assert_eq!(m["exfleet_stored_bytes_total"], on_disk as f64);
    // Collectors by version: three identities, by their snapshots' collector version.
    let mut by_version: HashMap<String, f64> = HashMap::new();
    for s in &snapshots {
        *by_version.entry(s.collector_version.clone()).or_default() += 1.0;
    }
    for (version, n) in by_version {
        assert_eq!(
            m[&format!("exfleet_collectors{{version=\"{version}\"}}")],
            n,
            "{version}"
        );
    }
    // Anything but GET /metrics is not found.
    let other = url.replace("/metrics", "/");
    assert_eq!(get(&other).await.0, "HTTP/1.1 404 Not Found");
    h.stop().await;
}
