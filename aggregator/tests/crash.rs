//! Crash safety: the aggregator process is SIGKILLed at varied points while collectors
//! upload; after each restart every snapshot it acknowledged is on disk exactly once, whole,
//! and equal to what was sent. Unacknowledged snapshots are re-sent, as collectors do. Run
//! with each `group-commit`: `fsync` (the default: many uploads made durable by one round of
//! fsyncs), `syncfs` (by two syncfs) and `off` (two fsyncs per upload).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use exfleet_aggregator::certs;
use exfleet_collector::client::{self, ClientTls};
use exfleet_dataset::copies::Copies;
use exfleet_dataset::layout::FLUSHED;
use exfleet_proto::v1::upload_ack::Status as AckStatus;
use exfleet_proto::v1::{Snapshot, UploadRequest};
use exfleet_tests::fleet::FleetConfig;
use polars::prelude::{ParquetReader, SerReader};
use prost::Message;
use tokio_stream::wrappers::ReceiverStream;

const ROUNDS: usize = 22;
const COLLECTORS: usize = 6;

struct Aggregator {
    child: Child,
    url: String,
}

/// The address a started `exfleet-aggregator serve` says it listens on (its first stdout line).
pub(crate) fn bound_address(child: &mut Child) -> String {
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    line.trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected: {line:?}"))
        .to_string()
}

fn start(dir: &Path, certs_dir: &Path, group_commit: &str) -> Aggregator {
    let mut child = Command::new(env!("CARGO_BIN_EXE_exfleet-aggregator"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .arg("--tls-cert")
        .arg(certs_dir.join("server.pem"))
        .arg("--tls-key")
        .arg(certs_dir.join("server.key"))
        .arg("--client-ca")
        .arg(certs_dir.join("ca.pem"))
        .args(["--flush-interval-secs", "1"])
        .args(["--group-commit", group_commit])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the aggregator starts");
    let addr = bound_address(&mut child);
    Aggregator {
        child,
        url: format!("https://{addr}"),
    }
}

fn digest(s: &Snapshot) -> u64 {
    let mut h = DefaultHasher::new();
    s.encode_to_vec().hash(&mut h);
    h.finish()
}

/// The snapshot ids of the dataset's `hosts` rows that count, one a row: a kill may cut a
/// compaction between its commit and the removal of what it replaced, whose rows readers
/// then leave out by the dataset's rule ([`Copies`]). With the number of rows on disk.
fn counted_hosts_rows(dataset: &Path) -> (Vec<String>, usize) {
    let mut commits = BTreeMap::new();
    for f in std::fs::read_dir(dataset.join(FLUSHED)).unwrap().flatten() {
        if let Some(batch) = f.file_name().to_str().and_then(|n| n.strip_suffix(".ids")) {
            commits.insert(
                batch.to_string(),
                std::fs::read_to_string(f.path()).unwrap(),
            );
        }
    }
    let mut parts = Vec::new();
    for day in std::fs::read_dir(dataset.join("hosts")).unwrap().flatten() {
        for f in std::fs::read_dir(day.path()).unwrap().flatten() {
            let name = f.file_name().to_string_lossy().into_owned();
            if let Some(batch) = name
                .strip_prefix("part-")
                .and_then(|n| n.strip_suffix(".parquet"))
            {
                parts.push((batch.to_string(), f.path()));
            }
        }
    }
    let with_parts: HashSet<&str> = parts.iter().map(|(b, _)| b.as_str()).collect();
    let copies = Copies::new(
        commits.iter().map(|(b, t)| (b.as_str(), Some(t.as_str()))),
        |b| with_parts.contains(b),
    );
    let (mut ids, mut on_disk) = (Vec::new(), 0);
    for (batch, path) in &parts {
        let df = ParquetReader::new(std::fs::File::open(path).unwrap())
            .finish()
            .unwrap();
        let left_out: HashSet<&String> =
            copies.left_out(batch).unwrap_or_default().iter().collect();
        on_disk += df.height();
        let column = df.column("snapshot_id").unwrap().str().unwrap().clone();
        ids.extend(
            column
                .iter()
                .flatten()
                .map(str::to_string)
                .filter(|id| !left_out.contains(id)),
        );
    }
    (ids, on_disk)
}

/// Every stored file, by snapshot id, with how many files hold it.
fn on_disk(dir: &Path) -> HashMap<String, Vec<PathBuf>> {
    let mut out: HashMap<String, Vec<PathBuf>> = HashMap::new();
    for shard in std::fs::read_dir(dir.join("snapshots")).unwrap().flatten() {
        for f in std::fs::read_dir(shard.path()).unwrap().flatten() {
            let id = f.path().file_stem().unwrap().to_string_lossy().into_owned();
            out.entry(id).or_default().push(f.path());
        }
    }
    out
}

#[derive(Default)]
struct Ledger {
    /// Digest of every snapshot sent, by id.
    sent: HashMap<String, u64>,
    /// Ids acknowledged as durable (stored or duplicate).
    acked: HashSet<String>,
    /// Acknowledged ids and the collector that sent each.
    acked_by: BTreeMap<String, usize>,
}

/// One collector: streams snapshots (first its unacked backlog) until the connection dies.
async fn collector(
    index: usize,
    url: String,
    tls: ClientTls,
    base: Snapshot,
    backlog: Vec<Snapshot>,
    ledger: Arc<Mutex<Ledger>>,
) -> Vec<Snapshot> {
    let Ok(mut c) = client::connect(&url, &tls).await else {
        return backlog;
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<UploadRequest>(8);
    let pending: Arc<Mutex<Vec<Snapshot>>> = Arc::new(Mutex::new(Vec::new()));
    let feeder = {
        let pending = pending.clone();
        let ledger = ledger.clone();
        tokio::spawn(async move {
            let fresh = std::iter::repeat_with(move || {
                let mut s = base.clone();
                s.snapshot_id = uuid_like();
                s
            });
            for s in backlog.into_iter().chain(fresh) {
                ledger
                    .lock()
                    .unwrap()
                    .sent
                    .insert(s.snapshot_id.clone(), digest(&s));
                pending.lock().unwrap().push(s.clone());
                if tx.send(UploadRequest { snapshot: Some(s) }).await.is_err() {
                    break;
                }
            }
        })
    };
    if let Ok(resp) = c.upload(ReceiverStream::new(rx)).await {
        let mut acks = resp.into_inner();
        while let Ok(Some(ack)) = acks.message().await {
            assert_ne!(ack.status, AckStatus::Rejected as i32, "{ack:?}");
            let mut l = ledger.lock().unwrap();
            l.acked.insert(ack.snapshot_id.clone());
            l.acked_by.insert(ack.snapshot_id.clone(), index);
            drop(l);
            pending
                .lock()
                .unwrap()
                .retain(|s| s.snapshot_id != ack.snapshot_id);
        }
    }
    feeder.abort();
    let left = pending.lock().unwrap().clone();
    left
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("crash-{:016x}-{n:08}", std::process::id())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acked_snapshots_survive_sigkill_exactly_once_with_group_commit() {
    sigkill_rounds("fsync").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acked_snapshots_survive_sigkill_exactly_once_with_group_commit_by_syncfs() {
    sigkill_rounds("syncfs").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acked_snapshots_survive_sigkill_exactly_once_without_group_commit() {
    sigkill_rounds("off").await;
}

async fn sigkill_rounds(group_commit: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let (data, certs_dir) = (tmp.path().join("data"), tmp.path().join("certs"));
    let ca = certs::make_ca("crash CA").unwrap();
    certs::write(&certs_dir, "ca", &ca).unwrap();
    certs::write(
        &certs_dir,
        "server",
        &certs::make_server(&ca, &["127.0.0.1".into()]).unwrap(),
    )
    .unwrap();
    let fleet = tmp.path().join("fleet");
    let cfg = FleetConfig {
        seed: 9,
        servers: COLLECTORS,
        ..Default::default()
    };
    let (truth, bases) = exfleet_tests::collected_fleet(&cfg, &fleet).unwrap();
    let tls: Vec<ClientTls> = truth
        .hosts
        .iter()
        .map(|h| {
            let c = certs::make_collector(&ca, &h.name).unwrap();
            ClientTls {
                ca: ca.cert.clone(),
                cert: c.cert,
                key: c.key,
            }
        })
        .collect();

    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut backlogs: Vec<Vec<Snapshot>> = vec![Vec::new(); COLLECTORS];
    let mut rounds = Vec::new();
    let mut verified = HashSet::new();
    let mut last_acked: Option<(usize, String)> = None;
    for round in 0..ROUNDS {
        let mut agg = start(&data, &certs_dir, group_commit);
        // The restarted aggregator knows what it acked before the kill: re-sent, it is a
        // duplicate, not a second copy.
        let resend = last_acked.take().map(|(i, id): (usize, String)| {
            let mut s = bases[i].clone();
            s.snapshot_id = id;
            (i, s)
        });
        if let Some((i, s)) = resend {
            let mut c = client::connect(&agg.url, &tls[i]).await.unwrap();
            let acks = client::upload(&mut c, vec![s]).await.unwrap();
            assert_eq!(
                acks[0].status,
                AckStatus::Duplicate as i32,
                "round {round}: {:?}",
                acks[0]
            );
        }
        let acked_before = ledger.lock().unwrap().acked.len();
        let tasks: Vec<_> = (0..COLLECTORS)
            .map(|i| {
                tokio::spawn(collector(
                    i,
                    agg.url.clone(),
                    tls[i].clone(),
                    bases[i].clone(),
                    std::mem::take(&mut backlogs[i]),
                    ledger.clone(),
                ))
            })
            .collect();
        // Wait for this round's first acks, then kill at a point that varies by round.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while ledger.lock().unwrap().acked.len() <= acked_before {
            assert!(
                tokio::time::Instant::now() < deadline,
                "round {round}: no ack in 30 s"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tokio::time::sleep(Duration::from_millis((round as u64 * 37) % 300)).await;
        agg.child.kill().unwrap(); // SIGKILL
        let (acked, in_flight) = {
            let l = ledger.lock().unwrap();
            (l.acked.len() - acked_before, l.sent.len() - l.acked.len())
        };
        agg.child.wait().unwrap();
        for (i, t) in tasks.into_iter().enumerate() {
            backlogs[i] = t.await.unwrap();
        }
        rounds.push((acked, in_flight));
        // Remember an acked snapshot and its collector, to re-send after the restart.
        last_acked = ledger
            .lock()
            .unwrap()
            .acked_by
            .iter()
            .next_back()
            .map(|(id, i)| (*i, id.clone()));
        assert!(
            acked >= 1 && in_flight >= 1,
            "round {round}: {acked} acked, {in_flight} in flight at the kill"
        );

        // Every acked snapshot is on disk exactly once; those first seen since the last kill
        // (earlier ones were checked then) are read back whole and equal to what was sent.
        let disk = on_disk(&data);
        let l = ledger.lock().unwrap();
        for id in &l.acked {
            let files = disk
                .get(id)
                .unwrap_or_else(|| panic!("round {round}: acked {id} lost"));
            assert_eq!(
                files.len(),
                1,
                "round {round}: {id} stored {} times",
                files.len()
            );
            if verified.insert(id.clone()) {
                let stored = exfleet_aggregator::store::read_file(&files[0]).unwrap();
                assert_eq!(
                    digest(stored.snapshot.as_ref().unwrap()),
                    l.sent[id],
                    "round {round}: {id} differs"
                );
            }
        }
        // Nothing on disk that was never sent, and no unacked file half-written.
        for (id, files) in &disk {
            assert!(l.sent.contains_key(id), "{id} on disk but never sent");
            assert_eq!(files.len(), 1);
            if verified.insert(id.clone()) {
                exfleet_aggregator::store::read_file(&files[0]).unwrap();
            }
        }
    }
    // The restarted aggregator takes the last backlog: in-flight snapshots end up stored too.
    let mut agg = start(&data, &certs_dir, group_commit);
    for (i, backlog) in backlogs.into_iter().enumerate() {
        if backlog.is_empty() {
            continue;
        }
        let mut c = client::connect(&agg.url, &tls[i]).await.unwrap();
        let acks = client::upload(&mut c, backlog.clone()).await.unwrap();
        assert_eq!(acks.len(), backlog.len());
    }
    // A graceful stop flushes the dataset: every stored snapshot is in it exactly once, as
    // readers count rows, although batches and compactions were cut by the kills.
    // SIGTERM through the shell's own kill: every system has sh, not every one has procps.
    let status = Command::new("sh")
        .args(["-c", "kill -TERM \"$1\"", "sh", &agg.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(agg.child.wait().unwrap().success());
    let disk = on_disk(&data);
    let (ids, rows) = counted_hosts_rows(&data.join("dataset"));
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let unique: HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(
        ids.len(),
        unique.len(),
        "a snapshot appears twice in the dataset"
    );
    assert_eq!(unique.len(), disk.len(), "dataset and store disagree");
    assert!(disk.keys().all(|id| unique.contains(id.as_str())));
    let total: usize = rounds.iter().map(|r| r.0).sum();
    eprintln!(
        "group commit {group_commit}: {ROUNDS} kills; acked per round {:?}; {total} acked in all; \
         {rows} hosts rows on disk, {} counted",
        rounds,
        ids.len()
    );
}
