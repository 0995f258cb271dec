//! The hardening probes of issue 13, each reproduced: a dataset that cannot advance says so in
//! gRPC health; refused uploads end with a non-OK status saying why; an idle TCP flood does
//! not lock a collector out; absurd collection times are refused.

use std::time::{Duration, Instant};

use exfleet_aggregator::dataset::flush::DATASET_SERVICE;
use exfleet_aggregator::server::{DatasetOptions, ServeOptions};
use exfleet_collector::client::{self, UploadError};
use exfleet_proto::v1::upload_ack::Status as AckStatus;
use exfleet_proto::v1::{CollectionError, UploadAck};
use prost::bytes::{Buf, BufMut};
use prost::Message;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic_health::pb::health_check_response::ServingStatus;

use crate::e2e::{fleet_snapshots, Harness};

async fn channel(h: &Harness, id: &str) -> Channel {
    let tls = h.client_tls(id);
    let cfg = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&tls.ca))
        .identity(Identity::from_pem(&tls.cert, &tls.key));
    Endpoint::from_shared(h.url())
        .unwrap()
        .tls_config(cfg)
        .unwrap()
        .connect()
        .await
        .unwrap()
}

async fn health_of(ch: &Channel, service: &str) -> i32 {
    let mut health = tonic_health::pb::health_client::HealthClient::new(ch.clone());
    health
        .check(tonic_health::pb::HealthCheckRequest {
            service: service.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .status
}

/// Polls `service`'s health until it is `want`, for at most `within`.
async fn wait_for(ch: &Channel, service: &str, want: ServingStatus, within: Duration) {
    let start = Instant::now();
    loop {
        let now = health_of(ch, service).await;
        if now == want as i32 {
            return;
        }
        assert!(
            start.elapsed() < within,
            "{service} still {now} after {within:?}, want {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Snapshot ids of the committed dataset batches.
fn flushed_ids(dataset: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dataset.join("_flushed"))
        .unwrap()
        .flatten()
    {
        let text = std::fs::read_to_string(e.path()).unwrap();
        out.extend(text.lines().map(str::to_string));
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dataset_that_cannot_advance_is_not_serving_until_it_catches_up() {
    let h = Harness::start_with(|dir| ServeOptions {
        dataset: Some(DatasetOptions {
            dir: dir.join("dataset"),
            flush_interval: Duration::from_millis(100),
        }),
        ..Default::default()
    })
    .await;
    let dataset = h._dir.path().join("dataset");
    let ch = channel(&h, "monitor").await;
    wait_for(
        &ch,
        DATASET_SERVICE,
        ServingStatus::Serving,
        Duration::from_secs(5),
    )
    .await;
    let mut snapshots = fleet_snapshots(2);
    let (first, second) = (snapshots.remove(0), snapshots.remove(0));
    let mut c = client::connect(&h.url(), &h.client_tls("EX01"))
        .await
        .unwrap();
    client::upload(&mut c, vec![first.clone()]).await.unwrap();
    let start = Instant::now();
    while flushed_ids(&dataset) != [first.snapshot_id.clone()] {
        assert!(start.elapsed() < Duration::from_secs(10), "never flushed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A write error injected: the staging directory becomes a file (as root, as the tests may
    // run, a read-only directory would still be writable).
    let staging = dataset.join("_tmp");
    std::fs::remove_dir_all(&staging).unwrap();
    std::fs::write(&staging, b"in the way").unwrap();
    let acks = client::upload(&mut c, vec![second.clone()]).await.unwrap();
    assert_eq!(
        acks[0].status,
        AckStatus::Stored as i32,
        "still stored and acked"
    );
    wait_for(
        &ch,
        DATASET_SERVICE,
        ServingStatus::NotServing,
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(
        health_of(&ch, "exfleet.v1.Ingest").await,
        ServingStatus::Serving as i32,
        "uploads are still taken"
    );
    // Repaired: the writer retries on its interval and catches up.
    std::fs::remove_file(&staging).unwrap();
    wait_for(
        &ch,
        DATASET_SERVICE,
        ServingStatus::Serving,
        Duration::from_secs(10),
    )
    .await;
    let mut want = vec![first.snapshot_id, second.snapshot_id];
    want.sort();
    assert_eq!(flushed_ids(&dataset), want);
    h.stop().await;
}

/// Sends raw bytes as gRPC messages: what a broken or hostile client sends.
#[derive(Debug, Clone, Default)]
struct Raw;

impl Codec for Raw {
    type Encode = Vec<u8>;
    type Decode = UploadAck;
    type Encoder = Raw;
    type Decoder = Raw;

    fn encoder(&mut self) -> Raw {
        Raw
    }

    fn decoder(&mut self) -> Raw {
        Raw
    }
}

impl Encoder for Raw {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for Raw {
    type Item = UploadAck;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<UploadAck>, tonic::Status> {
        let mut bytes = vec![0; src.remaining()];
        src.copy_to_slice(&mut bytes);
        UploadAck::decode(bytes.as_slice())
            .map(Some)
            .map_err(|e| tonic::Status::internal(e.to_string()))
    }
}

/// Uploads raw messages and returns how the stream ended: the acks, or the status.
async fn upload_raw(ch: &Channel, messages: Vec<Vec<u8>>) -> Result<Vec<UploadAck>, tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(ch.clone());
    grpc.ready().await.unwrap();
    let path = tonic::codegen::http::uri::PathAndQuery::from_static("/exfleet.v1.Ingest/Upload");
    let req = tonic::Request::new(tokio_stream::iter(messages));
    let mut acks = grpc.streaming(req, path, Raw).await?.into_inner();
    let mut out = Vec::new();
    while let Some(a) = acks.message().await? {
        out.push(a);
    }
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_garbage_uploads_end_with_a_status_that_says_why() {
    let h = Harness::start_with(|_| ServeOptions {
        max_message_bytes: 64 << 10,
        ..Default::default()
    })
    .await;
    // Oversized, through the collector: hex digits that gzip cannot shrink below the limit.
    let mut big = fleet_snapshots(1).remove(0);
    let mut x: u64 = 7;
    let noise: String = (0..400_000)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            char::from_digit(((x >> 60) & 0xf) as u32, 16).unwrap()
        })
        .collect();
    big.errors.push(CollectionError {
        message: noise,
        ..Default::default()
    });
    let mut c = client::connect(&h.url(), &h.client_tls("EX01"))
        .await
        .unwrap();
    let e = client::upload(&mut c, vec![big]).await.unwrap_err();
    eprintln!("the collector prints: {e}");
    assert!(matches!(e, UploadError::Refused(_)), "{e}");
    let text = e.to_string();
    assert!(text.contains("max-message-bytes (65536)"), "{text}");
    assert!(!text.contains("acks"), "a status, not a silent end: {text}");

    // Garbage and an undecodable message (a field of the wrong wire type).
    let ch = channel(&h, "EX01").await;
    for bad in [
        b"\xff\xff\xff\xff garbage".to_vec(),
        vec![0x08, 0x01],
        vec![0x0a, 0x10, 0x01],
    ] {
        let status = upload_raw(&ch, vec![bad.clone()]).await.unwrap_err();
        assert_eq!(
            status.code(),
            tonic::Code::InvalidArgument,
            "{bad:?}: {status:?}"
        );
        assert!(
            status.message().contains("not a valid UploadRequest"),
            "{bad:?}: {status:?}"
        );
    }
    // Oversized, raw: refused before it is read.
    let status = upload_raw(&ch, vec![vec![0x0a; 100 << 10]])
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    assert!(h.store.is_empty());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_tcp_flood_does_not_lock_a_collector_out() {
    let handshake = Duration::from_secs(3);
    let h = Harness::start_with(|_| ServeOptions {
        handshake_timeout: handshake,
        // Below a 256 file-descriptor limit, as the probe had.
        max_connections: 100,
        ..Default::default()
    })
    .await;
    let s = fleet_snapshots(1).remove(0);
    let tls = h.client_tls("EX01");
    // 300 connections that never send a ClientHello.
    let mut idle = Vec::new();
    for _ in 0..300 {
        idle.push(
            tokio::net::TcpStream::connect(h.aggregator.addr)
                .await
                .unwrap(),
        );
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let start = Instant::now();
    let acks = client::upload_with_policy(&h.url(), &tls, vec![s], &one_attempt(handshake))
        .await
        .unwrap();
    let took = start.elapsed();
    eprintln!("acked {} ms into the flood", took.as_millis());
    assert_eq!(acks[0].status, AckStatus::Stored as i32);
    assert!(took < handshake, "took {took:?}");
    // The silent connections are closed within the handshake timeout (or evicted before).
    let mut last = idle.pop().unwrap();
    let mut buf = [0u8; 1];
    let read = tokio::time::timeout(handshake + Duration::from_secs(2), async {
        tokio::io::AsyncReadExt::read(&mut last, &mut buf).await
    })
    .await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "a silent connection is still open: {read:?}"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_from_before_2000_or_from_the_future_are_refused_naming_the_time() {
    let h = Harness::start_with(|_| ServeOptions::default()).await;
    let base = fleet_snapshots(1).remove(0);
    for (at, says) in [
        (i64::MIN, "-9223372036854775808"),
        (7_258_118_400_000, "2200-01-01T00:00:00Z"),
    ] {
        let mut s = base.clone();
        s.collected_at_ms = at;
        let mut c = client::connect(&h.url(), &h.client_tls("EX01"))
            .await
            .unwrap();
        let e = client::upload(&mut c, vec![s]).await.unwrap_err();
        eprintln!("the collector prints: {e}");
        let text = e.to_string();
        assert!(text.contains(says), "{text}");
        assert!(text.contains("collected_at_ms"), "{text}");
        let ch = channel(&h, "EX01").await;
        let mut raw = base.clone();
        raw.collected_at_ms = at;
        let req = exfleet_proto::v1::UploadRequest {
            snapshot: Some(raw),
        };
        let status = upload_raw(&ch, vec![req.encode_to_vec()])
            .await
            .unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    }
    assert!(h.store.is_empty());
    h.stop().await;
}

#[test]
fn a_collector_id_that_is_a_path_is_refused() {
    let out = tempfile::tempdir().unwrap();
    let certs = out.path().join("certs");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_exfleet-aggregator"))
            .args(args)
            .output()
            .unwrap()
    };
    let c = certs.to_str().unwrap();
    assert!(run(&["certs", "ca", "--out", c]).status.success());
    let o = run(&[
        "certs",
        "collector",
        "--ca",
        c,
        "--out",
        c,
        "--id",
        "../../x",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("../../x") && stderr.contains("not a plain name"),
        "{stderr}"
    );
    assert!(
        !out.path().join("x.pem").exists() && !out.path().parent().unwrap().join("x.pem").exists()
    );
    let o = run(&[
        "certs", "server", "--ca", c, "--out", c, "--name", "../evil",
    ]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        run(&["certs", "collector", "--ca", c, "--out", c, "--id", "EX01"])
            .status
            .success()
    );
    assert!(certs.join("EX01.pem").exists());
}

/// The probe's exact case: an aggregator process with a file-descriptor limit of 256, 300 idle
/// TCP connections that never send a ClientHello, and a real collector that must still get its
/// ack within the handshake timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_256_file_descriptors_300_idle_connections_do_not_lock_a_collector_out() {
    let dir = tempfile::tempdir().unwrap();
    let ca = exfleet_aggregator::certs::make_ca("flood CA").unwrap();
    let server = exfleet_aggregator::certs::make_server(&ca, &["localhost".into()]).unwrap();
    let collector = exfleet_aggregator::certs::make_collector(&ca, "EX01").unwrap();
    let certs = dir.path().join("certs");
    exfleet_aggregator::certs::write(&certs, "ca", &ca).unwrap();
    exfleet_aggregator::certs::write(&certs, "server", &server).unwrap();
    let config = dir.path().join("aggregator.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\ndata-dir = {:?}\ntls-handshake-timeout-secs = 3\n\
             max-connections = 200\n[tls]\ncert = {:?}\nkey = {:?}\nclient-ca = {:?}\n",
            dir.path().join("data"),
            certs.join("server.pem"),
            certs.join("server.key"),
            certs.join("ca.pem"),
        ),
    )
    .unwrap();
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 256 && exec \"$0\" serve --config \"$1\"")
        .arg(env!("CARGO_BIN_EXE_exfleet-aggregator"))
        .arg(&config)
        .env("RUST_LOG", "error")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let addr = crate::crash::bound_address(&mut child);
    let port = addr.rsplit(':').next().unwrap().to_string();
    let mut idle = Vec::new();
    for _ in 0..300 {
        idle.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let tls = client::ClientTls {
        ca: ca.cert.clone(),
        cert: collector.cert,
        key: collector.key,
    };
    let start = Instant::now();
    let acked = client::upload_with_policy(
        &format!("https://localhost:{port}"),
        &tls,
        vec![fleet_snapshots(1).remove(0)],
        &one_attempt(Duration::from_secs(3)),
    )
    .await;
    let took = start.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    let acks = acked.unwrap_or_else(|e| panic!("locked out by the flood: {e}"));
    eprintln!("acked {} ms into the flood", took.as_millis());
    assert_eq!(acks[0].status, AckStatus::Stored as i32);
    assert!(took < Duration::from_secs(3), "took {took:?}");
    drop(idle);
}

/// One attempt that must end within `timeout`.
fn one_attempt(timeout: Duration) -> exfleet_collector::retry::RetryPolicy {
    exfleet_collector::retry::RetryPolicy {
        attempts: 1,
        attempt_timeout: timeout,
        ..Default::default()
    }
}
