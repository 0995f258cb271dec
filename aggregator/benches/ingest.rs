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
//! The aggregator runs on a runtime of its own, apart from the collectors', and the CPU time of
//! its threads (and of the group committer's, given apart: one thread, its own bound) is read
//! from /proc per run: the collectors share this machine's cores with it, so the aggregator's
//! CPU per snapshot says what it could ingest with the cores to itself. First, its codec work
//! alone per snapshot (gunzip, decode, encode as stored).
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
    /// CPU time of the aggregator's threads during the run (ingest only).
    cpu: Duration,
    /// Of it, the group committer's thread (one thread: its own bound).
    committer: Duration,
}

impl Run {
    fn rate(&self) -> f64 {
        self.snapshots as f64 / self.wall.as_secs_f64()
    }

    /// The aggregator's CPU time per snapshot, in microseconds.
    fn cpu_us(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.snapshots as f64
    }

    /// The group committer's CPU time per snapshot, in microseconds.
    fn committer_us(&self) -> f64 {
        self.committer.as_secs_f64() * 1e6 / self.snapshots as f64
    }

    fn pct(&self, p: f64) -> Duration {
        let mut v = self.latencies.clone();
        v.sort();
        v[((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1]
    }
}

fn snapshots() -> Vec<Snapshot> {
    // Kept until the end too (`run_dir`): the fleet's files are removed after the runs.
    let tmp = run_dir();
    let cfg = FleetConfig {
        seed: 3,
        servers: 20,
        ..Default::default()
    };
    exfleet_tests::collected_fleet(&cfg, &tmp).unwrap().1
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
    server: &tokio::runtime::Handle,
    (collectors, per): (usize, usize),
    bases: &[Snapshot],
    target: Target<'_>,
) -> Result<Run, String> {
    let dir = run_dir();
    let ca = certs::make_ca("bench CA").unwrap();
    let sc = certs::make_server(&ca, &["localhost".into()]).unwrap();
    let store = open(target, &dir, collectors).await;
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
    // The aggregator runs on its own runtime, whose threads are counted apart from the
    // collectors' (`cpu_of`).
    let aggregator = server
        .spawn(Loopback::start(store, tls, opts))
        .await
        .unwrap()
        .unwrap();
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
    let cpu_before = cpu_of(&AGGREGATOR_THREADS);
    let committer_before = cpu_of(&[COMMITTER_THREAD]);
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
    let cpu = cpu_of(&AGGREGATOR_THREADS).saturating_sub(cpu_before);
    let committer = cpu_of(&[COMMITTER_THREAD]).saturating_sub(committer_before);
    aggregator.stop().await.unwrap();
    if let Some(e) = failed {
        return Err(e);
    }
    Ok(Run {
        collectors,
        snapshots: collectors * per,
        wall,
        latencies,
        cpu,
        committer,
    })
}

/// The peer: the same durable writes straight into the store, same concurrency.
async fn store_only(
    collectors: usize,
    per: usize,
    bases: &[Snapshot],
    group_commit: GroupCommit,
) -> Run {
    let dir = run_dir();
    let store = open(Target::Folder { group_commit }, &dir, collectors).await;
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
        cpu: Duration::ZERO,
        committer: Duration::ZERO,
    }
}

/// The group committer's thread name (`aggregator/src/commit.rs`).
const COMMITTER_THREAD: &str = "store-commit";

/// The thread names of the aggregator: its runtime's workers and blocking threads, the
/// group committer, and the bucket client's runtime.
const AGGREGATOR_THREADS: [&str; 3] = ["aggregator", COMMITTER_THREAD, "exfleet-s3"];

/// CPU time (user and system) so far of this process's threads whose names start with one
/// of `names`, from `/proc/self/task/*/stat`. The aggregator's threads are kept alive through
/// a run (`thread_keep_alive`), so none of its time leaves with an exited thread.
fn cpu_of(names: &[&str]) -> Duration {
    // SAFETY: sysconf only reads a constant.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let mut total = 0u64;
    for task in std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
    {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ...`: comm may hold spaces, the fields after it do not.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = &stat[open + 1..close];
        if !names.iter().any(|t| comm.starts_with(t)) {
            continue;
        }
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        // utime and stime: fields 14 and 15 of proc_pid_stat(5), from 0 after the comm 11 and 12.
        let field = |n: usize| {
            fields
                .get(n)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0)
        };
        total += field(11) + field(12);
    }
    Duration::from_secs_f64(total as f64 / ticks)
}

/// The aggregator's CPU work per upload apart from TLS, HTTP/2 and the file system, on one
/// core: gunzip (tonic's gzip is flate2), decode, and encode as stored. Microseconds each,
/// averaged over `rounds` passes over the snapshots.
fn codec_costs(bases: &[Snapshot], rounds: usize) -> (f64, f64, f64) {
    use std::io::{Read, Write};
    let gzipped: Vec<Vec<u8>> = bases
        .iter()
        .map(|s| {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            gz.write_all(&s.encode_to_vec()).unwrap();
            gz.finish().unwrap()
        })
        .collect();
    let (mut gunzip, mut decode, mut encode) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    for _ in 0..rounds {
        for gz in &gzipped {
            let t = Instant::now();
            let mut bytes = Vec::new();
            flate2::read::GzDecoder::new(gz.as_slice())
                .read_to_end(&mut bytes)
                .unwrap();
            gunzip += t.elapsed();
            let t = Instant::now();
            let s = Snapshot::decode(bytes.as_slice()).unwrap();
            decode += t.elapsed();
            let t = Instant::now();
            let stored = StoredSnapshot {
                snapshot: Some(s),
                collector_id: "bench".into(),
                received_at_ms: 1,
                ..Default::default()
            }
            .encode_to_vec();
            encode += t.elapsed();
            std::hint::black_box(stored);
        }
    }
    let n = (rounds * bases.len()) as f64;
    let us = |d: Duration| d.as_secs_f64() * 1e6 / n;
    (us(gunzip), us(decode), us(encode))
}

/// The disk's limit: files of `size` bytes created, written and fsynced one after the other
/// on one thread (pairs/s), in the file system of the stores.
fn disk_limit(size: usize, files: usize) -> f64 {
    use std::io::Write;
    let dir = run_dir();
    let bytes = vec![0x5a_u8; size];
    let start = Instant::now();
    for n in 0..files {
        let mut f = std::fs::File::create(dir.join(n.to_string())).unwrap();
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

/// The folder holding every run's files until the benchmark ends.
static RUNS: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();

/// A new folder for one run, removed only at the end of the benchmark: on ext4, inodes freed
/// in the last 30 s or so are skipped by the allocator one by one
/// (`find_inode_bit`/`recently_deleted`), so removing a run's thousands of files just before
/// the next run made its file creations scan past them: up to 40% of the CPU in a profile,
/// a cost of the benchmark's own clean-up that an aggregator's ingest does not have.
fn run_dir() -> std::path::PathBuf {
    let runs = RUNS.get_or_init(|| tempfile::tempdir_in(bench_dir()).unwrap());
    tempfile::tempdir_in(runs.path()).unwrap().keep()
}

/// Removes every run's files (a static is never dropped).
fn remove_runs() {
    if let Some(runs) = RUNS.get() {
        let _ = std::fs::remove_dir_all(runs.path());
    }
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
    // The collectors (and the store-only peers) on one runtime, the aggregator on another.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = tokio::runtime::Builder::new_multi_thread()
        .thread_name("aggregator")
        .thread_keep_alive(Duration::from_secs(3600))
        .enable_all()
        .build()
        .unwrap();
    let server = server.handle();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let bases = snapshots();
    let size: usize = bases.iter().map(|s| s.encoded_len()).sum::<usize>() / bases.len();
    println!(
        "snapshot size: {size} bytes on average ({} distinct hosts)",
        bases.len()
    );
    let (gunzip, decode, encode) = codec_costs(&bases, 50);
    println!(
        "aggregator work per snapshot on one core, without TLS, HTTP/2 or files: gunzip {gunzip:.0} µs, decode {decode:.0} µs, encode as stored {encode:.0} µs"
    );
    let pairs = disk_limit(size, 1000);
    println!(
        "disk limit: {pairs:.0} write+fsync pairs/s (one thread, 1000 files of {size} bytes, in {})\n",
        bench_dir().display()
    );
    println!("| store | collectors | snapshots | ingest snapshots/s | ack p50 | ack p99 | ack max | aggregator CPU per snapshot | of which the committer | {cores} cores' worth of it | store-only snapshots/s | store-only p99 | ingest / store-only |");
    println!("|-|-:|-:|-:|-:|-:|-:|-:|-:|-:|-:|-:|-:|");
    for (collectors, per) in sizes() {
        for group_commit in [GroupCommit::Off, GroupCommit::Fsync, GroupCommit::Syncfs] {
            let target = Target::Folder { group_commit };
            let name = match group_commit {
                GroupCommit::Off => "folder, fsync per upload",
                GroupCommit::Fsync => "folder, group commit (fsync)",
                GroupCommit::Syncfs => "folder, group commit (syncfs)",
            };
            let s = rt.block_on(store_only(collectors, per, &bases, group_commit));
            let i = match rt.block_on(ingest(server, (collectors, per), &bases, target)) {
                Ok(i) => i,
                Err(e) => {
                    println!(
                        "| {name} | {collectors} | {} | failed: {e} | | | | | | | {:.0} | {:.1} ms | |",
                        collectors * per,
                        s.rate(),
                        s.pct(0.99).as_secs_f64() * 1e3
                    );
                    continue;
                }
            };
            println!(
            "| {name} | {} | {} | {:.0} | {:.1} ms | {:.1} ms | {:.1} ms | {:.0} µs | {:.0} µs | {:.0}/s | {:.0} | {:.1} ms | {:.2} |",
            i.collectors,
            i.snapshots,
            i.rate(),
            i.pct(0.50).as_secs_f64() * 1e3,
            i.pct(0.99).as_secs_f64() * 1e3,
            i.pct(1.0).as_secs_f64() * 1e3,
            i.cpu_us(),
            i.committer_us(),
            cores as f64 * 1e6 / i.cpu_us(),
            s.rate(),
            s.pct(0.99).as_secs_f64() * 1e3,
            i.rate() / s.rate()
        );
        }
    }
    let Some(s3) = s3 else {
        println!("\nS3: s3s-fs not found, not measured (tests/scripts/install-test-tools.sh installs it)");
        remove_runs();
        return;
    };
    println!("\nInto an S3 bucket of s3s-fs on loopback (create-only put per snapshot):\n");
    println!("| collectors | snapshots | ingest snapshots/s | ack p50 | ack p99 | ack max | aggregator CPU per snapshot |");
    println!("|-:|-:|-:|-:|-:|-:|-:|");
    for (collectors, per) in sizes() {
        let i = match rt.block_on(ingest(
            server,
            (collectors, per),
            &bases,
            Target::Bucket(&s3.bucket),
        )) {
            Ok(i) => i,
            Err(e) => {
                println!(
                    "| {collectors} | {} | failed: {e} | | | | |",
                    collectors * per
                );
                continue;
            }
        };
        println!(
            "| {} | {} | {:.0} | {:.1} ms | {:.1} ms | {:.1} ms | {:.0} µs |",
            i.collectors,
            i.snapshots,
            i.rate(),
            i.pct(0.50).as_secs_f64() * 1e3,
            i.pct(0.99).as_secs_f64() * 1e3,
            i.pct(1.0).as_secs_f64() * 1e3,
            i.cpu_us(),
        );
    }
    remove_runs();
}
