//! Ingest benchmark: snapshots/s and ack latency (p50, p99, max) with 10, 100 and 1,000
//! concurrent collectors, each on its own mutual-TLS connection over loopback, uploading real
//! simulated-fleet snapshots one at a time (send, wait for the durable ack, send the next).
//! Beside it, in the same run, the store alone (the same writes and fsyncs, no network, TLS
//! or gRPC) at the same concurrency, as the peer that bounds what ingest can reach.
//!
//! Each is measured for the local folder three times: one write and two fsyncs per upload
//! (group commit off), and group commit by fsyncs and by `syncfs` (`aggregator/src/commit.rs`).
//! First, the disk's own limit: write-and-fsync pairs per second on one thread, files of the
//! snapshots' average size, in the same file system as the stores.
//!
//! With `s3s-fs` on PATH (tests/scripts/install-test-tools.sh), the same ingest again into an
//! S3 bucket of that server started on loopback (`Store::open_bucket`: one create-only put
//! per snapshot, acked when the put returned).
//!
//! Run: `cargo bench -p exfleet-aggregator --bench ingest` (numbers in BENCHMARKS.md);
//! `EXFLEET_BENCH_SIZES=10x200,100x20` measures only those collectors x snapshots each
//! (default `1x300,10x200,100x20,1000x3`: one collector decides the default of
//! `group-commit`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use exfleet_aggregator::certs;
use exfleet_aggregator::server::{Loopback, ServeOptions, TlsPem};
use exfleet_aggregator::service::BackPressure;
use exfleet_aggregator::store::{GroupCommit, Store};
use exfleet_collector::client::{self, ClientTls};
use exfleet_dataset::bucket::Bucket;
use exfleet_proto::v1::{Snapshot, StoredSnapshot, UploadRequest};
use exfleet_tests::fleet::FleetConfig;
use prost::Message;
use tokio_stream::wrappers::ReceiverStream;

struct Run {
    collectors: usize,
    snapshots: usize,
    wall: Duration,
    latencies: Vec<Duration>,
}

impl Run {
    fn rate(&self) -> f64 {
        self.snapshots as f64 / self.wall.as_secs_f64()
    }

    fn pct(&self, p: f64) -> Duration {
        let mut v = self.latencies.clone();
        v.sort();
        v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1]
    }
}

fn snapshots() -> Vec<Snapshot> {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = FleetConfig {
        seed: 3,
        servers: 20,
        ..Default::default()
    };
    exfleet_tests::collected_fleet(&cfg, tmp.path()).unwrap().1
}

/// A copy of `base` with a fresh UUID, as a collector makes each snapshot (UUIDs spread the
/// store's shard directories as in production).
fn fresh(base: &Snapshot) -> Snapshot {
    let mut s = base.clone();
    s.snapshot_id = uuid::Uuid::new_v4().to_string();
    s
}

/// Where a run stores.
#[derive(Clone, Copy)]
enum Target<'a> {
    /// The local folder, with group commit or not.
    Folder {
        group_commit: GroupCommit,
    },
    Bucket(&'a Bucket),
}

/// The store of a run, in `dir` for a folder.
async fn open(target: Target<'_>, dir: &std::path::Path, collectors: usize) -> Store {
    match target {
        Target::Bucket(b) => {
            let b = b.child(&format!("run-{collectors}"));
            tokio::task::spawn_blocking(move || Store::open_bucket(&b, "bench").unwrap())
                .await
                .unwrap()
        }
        Target::Folder { group_commit } => Store::open(dir).unwrap().with(group_commit).unwrap(),
    }
}

/// One ingest run; a failed connection or stream fails the run (named in its row) rather
/// than the benchmark.
async fn ingest(
    collectors: usize,
    per: usize,
    bases: &[Snapshot],
    target: Target<'_>,
) -> Result<Run, String> {
    let dir = tempfile::tempdir_in(bench_dir()).unwrap();
    let ca = certs::make_ca("bench CA").unwrap();
    let sc = certs::make_server(&ca, &["localhost".into()]).unwrap();
    let store = open(target, dir.path(), collectors).await;
    let tls = TlsPem {
        cert: sc.cert,
        key: sc.key,
        client_ca: ca.cert.clone(),
    };
    // Every collector uploads at once: the bound on uploads in flight (256 by default, a
    // refusal beyond it) must not turn the measurement into one of retries.
    let opts = ServeOptions {
        back_pressure: BackPressure {
            max_uploads_in_flight: collectors.max(256),
            ..Default::default()
        },
        ..Default::default()
    };
    let aggregator = Loopback::start(store, tls, opts).await.unwrap();
    let url = aggregator.url.clone();
    let cert = certs::make_collector(&ca, "bench").unwrap();
    let ctls = ClientTls {
        ca: ca.cert.clone(),
        cert: cert.cert,
        key: cert.key,
    };
    // Connect everyone first: the measurement is steady-state upload, not handshakes.
    let mut clients = Vec::new();
    for n in 0..collectors {
        let c = client::connect(&url, &ctls)
            .await
            .map_err(|e| format!("connecting collector {n}: {e}"))?;
        clients.push(c);
    }
    let bases = Arc::new(bases.to_vec());
    let start = Instant::now();
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(c, mut cl)| {
            let bases = bases.clone();
            tokio::spawn(async move {
                let (tx, rx) = tokio::sync::mpsc::channel(1);
                let mut acks = cl
                    .upload(ReceiverStream::new(rx))
                    .await
                    .map_err(|e| format!("collector {c}: opening the stream: {e}"))?
                    .into_inner();
                let mut lat = Vec::with_capacity(per);
                for n in 0..per {
                    let s = fresh(&bases[(c + n) % bases.len()]);
                    let t = Instant::now();
                    tx.send(UploadRequest { snapshot: Some(s) })
                        .await
                        .map_err(|_| format!("collector {c}: the stream closed"))?;
                    match acks.message().await {
                        Ok(Some(_)) => {}
                        Ok(None) => return Err(format!("collector {c}: the stream ended")),
                        Err(e) => return Err(format!("collector {c}: {e}")),
                    }
                    lat.push(t.elapsed());
                }
                Ok::<_, String>(lat)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut failed = None;
    for t in tasks {
        match t.await.unwrap() {
            Ok(l) => latencies.extend(l),
            Err(e) => failed = failed.or(Some(e)),
        }
    }
    let wall = start.elapsed();
    aggregator.stop().await.unwrap();
    if let Some(e) = failed {
        return Err(e);
    }
    Ok(Run {
        collectors,
        snapshots: collectors * per,
        wall,
        latencies,
    })
}

/// The peer: the same durable writes straight into the store, same concurrency.
async fn store_only(
    collectors: usize,
    per: usize,
    bases: &[Snapshot],
    group_commit: GroupCommit,
) -> Run {
    let dir = tempfile::tempdir_in(bench_dir()).unwrap();
    let store = open(Target::Folder { group_commit }, dir.path(), collectors).await;
    let bases = Arc::new(bases.to_vec());
    let start = Instant::now();
    let tasks: Vec<_> = (0..collectors)
        .map(|c| {
            let (store, bases) = (store.clone(), bases.clone());
            tokio::spawn(async move {
                let mut lat = Vec::with_capacity(per);
                for n in 0..per {
                    let s = fresh(&bases[(c + n) % bases.len()]);
                    let t = Instant::now();
                    // Decode as the server does, then store as it does: put_async waits for
                    // the batch with group commit, and a blocking thread's put without.
                    let bytes = s.encode_to_vec();
                    let s = Snapshot::decode(bytes.as_slice()).unwrap();
                    let id = s.snapshot_id.clone();
                    let stored = StoredSnapshot {
                        snapshot: Some(s),
                        collector_id: "bench".into(),
                        received_at_ms: 1,
                        ..Default::default()
                    };
                    store.put_async(&id, stored).await.unwrap();
                    lat.push(t.elapsed());
                }
                lat
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    Run {
        collectors,
        snapshots: collectors * per,
        wall: start.elapsed(),
        latencies,
    }
}

/// The disk's limit: files of `size` bytes created, written and fsynced one after the other
/// on one thread (pairs/s), in the file system of the stores.
fn disk_limit(size: usize, files: usize) -> f64 {
    use std::io::Write;
    let dir = tempfile::tempdir_in(bench_dir()).unwrap();
    let bytes = vec![0x5a_u8; size];
    let start = Instant::now();
    for n in 0..files {
        let mut f = std::fs::File::create(dir.path().join(n.to_string())).unwrap();
        f.write_all(&bytes).unwrap();
        f.sync_all().unwrap();
    }
    files as f64 / start.elapsed().as_secs_f64()
}

/// Where the stores of the runs are made: `EXFLEET_BENCH_DIR`, else the system's temporary
/// folder (which must be on the disk measured, not a tmpfs).
fn bench_dir() -> std::path::PathBuf {
    std::env::var_os("EXFLEET_BENCH_DIR")
        .map(Into::into)
        .unwrap_or_else(std::env::temp_dir)
}

/// s3s-fs on loopback, its bucket, and where it keeps it (removed with it).
struct S3 {
    child: std::process::Child,
    _root: tempfile::TempDir,
    bucket: Bucket,
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts s3s-fs if it is on PATH. Called before any thread is started: it sets the AWS
/// variables of this process.
fn s3() -> Option<S3> {
    use std::io::BufRead;
    let program = exfleet_tests::tools::find("s3s-fs")?;
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("bench")).unwrap();
    let mut child = std::process::Command::new(program)
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--access-key",
            "bench",
        ])
        .args(["--secret-key", "bench-secret"])
        .arg(root.path())
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let endpoint = loop {
        let line = lines.next().expect("s3s-fs says where it listens").unwrap();
        if let Some((_, at)) = line.split_once("server is running at ") {
            break at.trim().to_string();
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    for (k, v) in [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "bench"),
        ("AWS_SECRET_ACCESS_KEY", "bench-secret"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ALLOW_HTTP", "true"),
    ] {
        std::env::set_var(k, v);
    }
    let bucket = Bucket::open("s3://bench/ingest").unwrap();
    Some(S3 {
        child,
        _root: root,
        bucket,
    })
}

/// The runs: collectors and snapshots per collector (`EXFLEET_BENCH_SIZES`).
fn sizes() -> Vec<(usize, usize)> {
    let text = std::env::var("EXFLEET_BENCH_SIZES").unwrap_or("1x300,10x200,100x20,1000x3".into());
    text.split(',')
        .map(|run| {
            let (c, p) = run
                .trim()
                .split_once('x')
                .expect("EXFLEET_BENCH_SIZES: <collectors>x<per collector>,...");
            (
                c.parse().expect("collectors"),
                p.parse().expect("per collector"),
            )
        })
        .collect()
}

fn main() {
    let s3 = s3();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let bases = snapshots();
    let size: usize = bases.iter().map(|s| s.encoded_len()).sum::<usize>() / bases.len();
    println!(
        "snapshot size: {size} bytes on average ({} distinct hosts)",
        bases.len()
    );
    let pairs = disk_limit(size, 1000);
    println!(
        "disk limit: {pairs:.0} write+fsync pairs/s (one thread, 1000 files of {size} bytes, in {})\n",
        bench_dir().display()
    );
    println!("| store | collectors | snapshots | ingest snapshots/s | ack p50 | ack p99 | ack max | store-only snapshots/s | store-only p99 | ingest / store-only |");
    println!("|-|-:|-:|-:|-:|-:|-:|-:|-:|-:|");
    for (collectors, per) in sizes() {
        for group_commit in [GroupCommit::Off, GroupCommit::Fsync, GroupCommit::Syncfs] {
            let target = Target::Folder { group_commit };
            let name = match group_commit {
                GroupCommit::Off => "folder, fsync per upload",
                GroupCommit::Fsync => "folder, group commit (fsync)",
                GroupCommit::Syncfs => "folder, group commit (syncfs)",
            };
            let s = rt.block_on(store_only(collectors, per, &bases, group_commit));
            let i = match rt.block_on(ingest(collectors, per, &bases, target)) {
                Ok(i) => i,
                Err(e) => {
                    println!(
                        "| {name} | {collectors} | {} | failed: {e} | | | | {:.0} | {:.1} ms | |",
                        collectors * per,
                        s.rate(),
                        s.pct(0.99).as_secs_f64() * 1e3
                    );
                    continue;
                }
            };
            println!(
            "| {name} | {} | {} | {:.0} | {:.1} ms | {:.1} ms | {:.1} ms | {:.0} | {:.1} ms | {:.2} |",
            i.collectors,
            i.snapshots,
            i.rate(),
            i.pct(0.50).as_secs_f64() * 1e3,
            i.pct(0.99).as_secs_f64() * 1e3,
            i.pct(1.0).as_secs_f64() * 1e3,
            s.rate(),
            s.pct(0.99).as_secs_f64() * 1e3,
            i.rate() / s.rate()
        );
        }
    }
    let Some(s3) = s3 else {
        println!("\nS3: s3s-fs not found, not measured (tests/scripts/install-test-tools.sh installs it)");
        return;
    };
    println!("\nInto an S3 bucket of s3s-fs on loopback (create-only put per snapshot):\n");
    println!("| collectors | snapshots | ingest snapshots/s | ack p50 | ack p99 | ack max |");
    println!("|-:|-:|-:|-:|-:|-:|");
    for (collectors, per) in sizes() {
        let i = match rt.block_on(ingest(collectors, per, &bases, Target::Bucket(&s3.bucket))) {
            Ok(i) => i,
            Err(e) => {
                println!(
                    "| {collectors} | {} | failed: {e} | | | |",
                    collectors * per
                );
                continue;
            }
        };
        println!(
            "| {} | {} | {:.0} | {:.1} ms | {:.1} ms | {:.1} ms |",
            i.collectors,
            i.snapshots,
            i.rate(),
            i.pct(0.50).as_secs_f64() * 1e3,
            i.pct(0.99).as_secs_f64() * 1e3,
            i.pct(1.0).as_secs_f64() * 1e3,
        );
    }
}
