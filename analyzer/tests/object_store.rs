//! Aggregators on an S3-compatible object store (issue 23), against a real server started on
//! loopback: `s3s-fs` (crates.io; tests/scripts/install-test-tools.sh installs it), which
//! keeps each object as a file under its root and answers `If-None-Match: *` on an existing
//! key with 412. Three aggregator processes share one bucket, collectors are spread over
//! them, one aggregator is SIGKILLed mid-ingest (its collectors fail over to another, then to
//! it restarted): every acked snapshot is in the bucket once and equal to what was sent, the
//! dataset holds every stored snapshot, and the analyzer over `s3://` says what it says over
//! a plain copy of the same objects.
//!
//! The aggregators are this test binary run again ([`aggregator_process`]): the analyzer's
//! tests have the analyzer's binary, not the aggregator's, and the aggregator's command line
//! is its library's ([`exfleet_aggregator::cli`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Parser;
use exfleet_aggregator::certs;
use exfleet_collector::client::{self, ClientTls};
use exfleet_proto::v1::upload_ack::Status as AckStatus;
use exfleet_proto::v1::{Snapshot, StoredSnapshot};
use exfleet_tests::fleet::FleetConfig;
use prost::Message;

const BUCKET: &str = "exfleet";
const PREFIX: &str = "fleet";
const COLLECTORS: usize = 12;
const PER_COLLECTOR: usize = 30;
/// Held by a test while this process's AWS variables point at its server.
static ENV: Mutex<()> = Mutex::new(());
/// The variable that makes [`aggregator_process`] an aggregator: its arguments, as JSON.
const CHILD_ARGS: &str = "EXFLEET_TEST_AGGREGATOR_ARGS";

/// Not a test: the aggregator process of [`three_aggregators_on_one_bucket`], which runs this
/// binary again with only this (ignored) function, the arguments in [`CHILD_ARGS`].
#[test]
#[ignore = "an aggregator process run by three_aggregators_on_one_bucket"]
fn aggregator_process() {
    let Ok(args) = std::env::var(CHILD_ARGS) else {
        return;
    };
    let args: Vec<String> = serde_json::from_str(&args).unwrap();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let cli = exfleet_aggregator::cli::Cli::parse_from(
        std::iter::once("exfleet-aggregator".to_string()).chain(args),
    );
    exfleet_aggregator::cli::run(cli).unwrap();
}

/// The S3 server, stopped when dropped.
struct S3(exfleet_tests::s3::S3Server);

impl S3 {
    /// Starts `s3s_fs` with the bucket, its objects under `root`.
    fn start(s3s_fs: &Path, root: &Path) -> S3 {
        S3(exfleet_tests::s3::S3Server::start(s3s_fs, root, BUCKET))
    }

    /// The standard AWS variables that point at this server.
    fn env(&self) -> Vec<(&'static str, String)> {
        self.0.env()
    }

    /// Where the server keeps the objects under the prefix (one file per object).
    fn objects(&self) -> PathBuf {
        self.0.root().join(BUCKET).join(PREFIX)
    }
}

struct Aggregator {
    child: Child,
    url: String,
}

impl Aggregator {
    fn start(id: &str, dir: &Path, certs_dir: &Path, s3: &S3) -> Aggregator {
        let path = |p: PathBuf| p.display().to_string();
        // The simulated fleet's days are over by the real clock: compaction would merge the
        // aggregators' batches, and this test checks that each wrote its own (compaction has
        // its own tests below).
        let config = dir.join(format!("{id}.toml"));
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(&config, "compact-after-hours = 0\n").unwrap();
        let args = vec![
            "serve".to_string(),
            "--config".into(),
            path(config),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--data-dir".into(),
            path(dir.join(id)),
            "--tls-cert".into(),
            path(certs_dir.join("server.pem")),
            "--tls-key".into(),
            path(certs_dir.join("server.key")),
            "--client-ca".into(),
            path(certs_dir.join("ca.pem")),
            "--flush-interval-secs".into(),
            "1".into(),
            "--bucket".into(),
            format!("s3://{BUCKET}/{PREFIX}"),
            "--aggregator-id".into(),
            id.into(),
        ];
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "object_store::aggregator_process"])
            .args(["--ignored", "--nocapture", "--test-threads=1"])
            .env(CHILD_ARGS, serde_json::to_string(&args).unwrap())
            .envs(s3.env())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the aggregator starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = loop {
            let line = lines
                .next()
                .unwrap_or_else(|| panic!("aggregator {id} ended before listening"))
                .unwrap();
            // The test harness starts the line with the test's name.
            match line.split_once("listening on ") {
                Some((before, addr)) if !before.ends_with("enrollment ") => {
                    break addr.trim().to_string()
                }
                _ => {}
            }
        };
        std::thread::spawn(move || lines.for_each(drop));
        Aggregator {
            child,
            url: format!("https://{addr}"),
        }
    }

    /// SIGTERM, and a clean exit (the dataset flushed).
    fn stop(mut self) {
        let status = Command::new("sh")
            .args([
                "-c",
                "kill -TERM \"$1\"",
                "sh",
                &self.child.id().to_string(),
            ])
            .status()
            .unwrap();
        assert!(status.success());
        assert!(self.child.wait().unwrap().success(), "a clean stop");
    }
}

/// What was sent and acked, by snapshot id.
#[derive(Default)]
struct Book {
    sent: HashMap<String, Vec<u8>>,
    acked: BTreeSet<String>,
}

/// Sends `snapshots` to `url` on one stream; returns those not acked when it ended.
async fn send(
    url: &str,
    tls: &ClientTls,
    snapshots: Vec<Snapshot>,
    book: &Arc<Mutex<Book>>,
) -> Vec<Snapshot> {
    {
        let mut b = book.lock().unwrap();
        for s in &snapshots {
            b.sent.insert(s.snapshot_id.clone(), s.encode_to_vec());
        }
    }
    let mut acked = BTreeSet::new();
    if let Ok(mut c) = client::connect(url, tls).await {
        let _ = client::upload_each(&mut c, snapshots.clone(), |a| {
            assert_ne!(a.status, AckStatus::Rejected as i32, "{a:?}");
            acked.insert(a.snapshot_id.clone());
            book.lock().unwrap().acked.insert(a.snapshot_id.clone());
        })
        .await;
    }
    snapshots
        .into_iter()
        .filter(|s| !acked.contains(&s.snapshot_id))
        .collect()
}

/// Every stored snapshot in the server's folder: id → its object files.
fn stored(objects: &Path) -> BTreeMap<String, Vec<PathBuf>> {
    let mut out: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    let Ok(shards) = std::fs::read_dir(objects.join("snapshots")) else {
        return out;
    };
    for shard in shards.flatten() {
        for f in std::fs::read_dir(shard.path()).unwrap().flatten() {
            let name = f.file_name().to_string_lossy().into_owned();
            if let Some(id) = name.strip_suffix(".pb") {
                out.entry(id.to_string()).or_default().push(f.path());
            }
        }
    }
    out
}

/// Copies a folder's files (the server's own metadata files aside).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if e.path().is_dir() {
            copy_tree(&e.path(), &to.join(&name));
        } else {
            std::fs::copy(e.path(), to.join(&name)).unwrap();
        }
    }
}

/// Runs the analyzer's binary with `args` and the S3 variables; its stdout.
fn analyzer(s3: &S3, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_exfleet-analyzer"))
        .args(args)
        .envs(s3.env())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "exfleet-analyzer {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_aggregators_on_one_bucket() {
    let Some(s3s_fs) = exfleet_tests::tools::tool("s3s-fs") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let s3 = S3::start(&s3s_fs, &tmp.path().join("s3"));
    let certs_dir = tmp.path().join("certs");
    let ca = certs::make_ca("s3 CA").unwrap();
    certs::write(&certs_dir, "ca", &ca).unwrap();
    let server = certs::make_server(&ca, &["127.0.0.1".into()]).unwrap();
    certs::write(&certs_dir, "server", &server).unwrap();
    let cfg = FleetConfig {
        seed: 23,
        servers: COLLECTORS,
        fault_rate: 0.5,
    };
    let (truth, bases) = exfleet_tests::collected_fleet(&cfg, &tmp.path().join("fleet")).unwrap();
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
    // Each collector's snapshots: its base, collected a minute apart.
    let snapshots: Vec<Vec<Snapshot>> = bases
        .iter()
        .enumerate()
        .map(|(i, base)| {
            (0..PER_COLLECTOR)
                .map(|n| {
                    let mut s = base.clone();
                    s.snapshot_id = format!("s3test-{i:02}-{n:04}-0000");
                    s.collected_at_ms -= (PER_COLLECTOR - n) as i64 * 60_000;
                    s
                })
                .collect()
        })
        .collect();

    let data = tmp.path().join("aggregators");
    let ids = ["agg0", "agg1", "agg2"];
    let mut aggs: Vec<Option<Aggregator>> = ids
        .iter()
        .map(|id| Some(Aggregator::start(id, &data, &certs_dir, &s3)))
        .collect();
    let urls: Vec<String> = aggs
        .iter()
        .map(|a| a.as_ref().unwrap().url.clone())
        .collect();
    let book = Arc::new(Mutex::new(Book::default()));
    // Collector i sends to aggregator i % 3.
    let tasks: Vec<_> = (0..COLLECTORS)
        .map(|i| {
            let (url, tls, s, book) = (
                urls[i % 3].clone(),
                tls[i].clone(),
                snapshots[i].clone(),
                book.clone(),
            );
            tokio::spawn(async move { send(&url, &tls, s, &book).await })
        })
        .collect();
    // Mid-ingest: once agg0's collectors have some acks, agg0 is SIGKILLed.
    let on_agg0 = |b: &Book| {
        b.acked
            .iter()
            .filter(|id| id[7..9].parse::<usize>().unwrap() % 3 == 0)
            .count()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while on_agg0(&book.lock().unwrap()) < 8 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "agg0 acked nothing in 120 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut killed = aggs[0].take().unwrap();
    killed.child.kill().unwrap(); // SIGKILL
    killed.child.wait().unwrap();
    let acked_at_kill = book.lock().unwrap().acked.len();
    let mut backlogs = Vec::new();
    for t in tasks {
        backlogs.push(t.await.unwrap());
    }
    let left: usize = backlogs.iter().map(Vec::len).sum();
    assert!(
        left > 0,
        "the kill left agg0's collectors something to send"
    );
    // agg0's collectors fail over: half of each backlog to agg1 now, the rest to agg0 once it
    // is back (a snapshot agg0 stored but did not ack is a duplicate there).
    let mut later = vec![Vec::new(); COLLECTORS];
    for (i, backlog) in backlogs.into_iter().enumerate() {
        if backlog.is_empty() {
            continue;
        }
        let mut backlog = backlog;
        let rest = backlog.split_off(backlog.len() / 2);
        let unacked = send(&urls[1], &tls[i], backlog, &book).await;
        assert!(unacked.is_empty(), "agg1 acks every snapshot");
        later[i] = rest;
    }
    aggs[0] = Some(Aggregator::start(ids[0], &data, &certs_dir, &s3));
    let url0 = aggs[0].as_ref().unwrap().url.clone();
    for (i, rest) in later.into_iter().enumerate() {
        if !rest.is_empty() {
            assert!(send(&url0, &tls[i], rest, &book).await.is_empty());
        }
    }
    // Create-only puts: a snapshot agg0 stored, sent to agg2 (whose index, made when it
    // started, may not know it), is a duplicate there, not a second write.
    let last = snapshots[0][PER_COLLECTOR - 1].clone();
    let mut c = client::connect(&urls[2], &tls[0]).await.unwrap();
    let acks = client::upload(&mut c, vec![last]).await.unwrap();
    assert_eq!(acks[0].status, AckStatus::Duplicate as i32, "{:?}", acks[0]);
    // agg1 and agg2 stop first, flushing what they stored; agg0 then writes the snapshots
    // it set aside at its restart that no batch holds (those it stored before the kill).
    let mut aggs: Vec<Aggregator> = aggs.into_iter().flatten().collect();
    aggs.rotate_left(1);
    for a in aggs {
        a.stop();
    }

    // Every snapshot sent was acked, and is in the bucket once, equal to what was sent.
    let book = book.lock().unwrap();
    assert_eq!(book.acked.len(), COLLECTORS * PER_COLLECTOR);
    assert_eq!(book.sent.len(), book.acked.len());
    let objects = s3.objects();
    let in_bucket = stored(&objects);
    assert_eq!(
        in_bucket.keys().collect::<BTreeSet<_>>(),
        book.acked.iter().collect::<BTreeSet<_>>()
    );
    for (id, files) in &in_bucket {
        assert_eq!(files.len(), 1, "{id}: {files:?}");
        let s = StoredSnapshot::decode(std::fs::read(&files[0]).unwrap().as_slice()).unwrap();
        assert_eq!(s.snapshot.unwrap().encode_to_vec(), book.sent[id], "{id}");
    }
    // The dataset holds every stored snapshot: committed batches' ids, each aggregator's.
    let mut committed: BTreeMap<String, usize> = BTreeMap::new();
    let mut writers = BTreeSet::new();
    for e in std::fs::read_dir(objects.join("dataset/_flushed"))
        .unwrap()
        .flatten()
    {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(batch) = name.strip_suffix(".ids") else {
            continue;
        };
        writers.insert(batch.rsplit('-').next().unwrap().to_string());
        for id in std::fs::read_to_string(e.path()).unwrap().lines() {
            *committed.entry(id.to_string()).or_default() += 1;
        }
    }
    assert_eq!(
        committed.keys().collect::<BTreeSet<_>>(),
        in_bucket.keys().collect::<BTreeSet<_>>(),
        "the dataset is complete"
    );
    assert_eq!(writers, ids.iter().map(|s| s.to_string()).collect());
    // The killed aggregator's unfinished batch may have left parts (its roll-back waits for
    // their age): the reader leaves out their rows of snapshots a committed batch holds.
    let local = tmp.path().join("copy");
    copy_tree(&objects.join("dataset"), &local);
    let history = exfleet_analyzer::input::History::open(&local).unwrap();
    let hosts = history
        .table(exfleet_dataset::Table::Hosts)
        .collect()
        .unwrap();
    let rows: Vec<&str> = hosts
        .column("snapshot_id")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .flatten()
        .collect();
    let unique: BTreeSet<&str> = rows.iter().copied().collect();
    assert_eq!(rows.len(), unique.len(), "a snapshot's rows twice");
    assert_eq!(unique.len(), in_bucket.len());
    let twice = committed.values().filter(|n| **n > 1).count();

    // The analyzer over s3:// says what it says over the copy.
    let url = format!("s3://{BUCKET}/{PREFIX}/dataset");
    let local_s = local.display().to_string();
    let as_of = "2026-11-23";
    let mut findings = Vec::new();
    for (n, dataset) in [&url, &local_s].into_iter().enumerate() {
        let out = tmp.path().join(format!("report{n}"));
        let out_s = out.display().to_string();
        analyzer(
            &s3,
            &[
                "analyze",
                "--dataset",
                dataset,
                "--as-of",
                as_of,
                "--out",
                &out_s,
            ],
        );
        findings.push(std::fs::read_to_string(out.join("findings.json")).unwrap());
    }
    assert_eq!(
        findings[0], findings[1],
        "analyze over s3:// and over the copy"
    );
    assert!(
        findings[0].contains("\"id\""),
        "findings: {}",
        &findings[0][..200.min(findings[0].len())]
    );
    let changes: Vec<String> = [&url, &local_s]
        .into_iter()
        .map(|d| {
            analyzer(
                &s3,
                &[
                    "changes",
                    "--dataset",
                    d,
                    "--since",
                    "2026-11-01",
                    "--as-of",
                    as_of,
                    "--format",
                    "json",
                ],
            )
        })
        .collect();
    assert_eq!(
        changes[0], changes[1],
        "changes over s3:// and over the copy"
    );
    let exports: Vec<String> = [&url, &local_s]
        .into_iter()
        .enumerate()
        .map(|(n, d)| {
            let out = tmp.path().join(format!("export{n}")).display().to_string();
            let text = analyzer(
                &s3,
                &["export", "--dataset", d, "--as-of", as_of, "--out", &out],
            );
            text.lines()
                .filter(|l| !l.starts_with("written to"))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect();
    assert_eq!(
        exports[0], exports[1],
        "export over s3:// and over the copy"
    );
    eprintln!(
        "s3s-fs at {}: {} snapshots acked ({acked_at_kill} before agg0 was killed, {left} \
         left to send then), {} committed batches' ids, {twice} snapshots in two batches",
        s3.0.endpoint(),
        book.acked.len(),
        committed.values().sum::<usize>()
    );
}

/// Two aggregators both flushed a snapshot (one killed after storing it, before its ack): it
/// is in two committed batches, and every table reads its rows once, the first batch's; the
/// analysis is the one over a dataset that holds it once.
#[test]
fn a_snapshot_in_two_batches_is_read_once() {
    use exfleet_aggregator::dataset::Dataset;
    use exfleet_dataset::Table;
    use exfleet_tests::history::{self, HistoryConfig};
    let cfg = HistoryConfig {
        days: 3,
        ..Default::default()
    };
    let (hosts, _) = history::hosts(&cfg);
    let days: Vec<_> = (0..cfg.days)
        .map(|d| history::day(&cfg, &hosts, d))
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let (once, twice) = (tmp.path().join("once"), tmp.path().join("twice"));
    let (a, _) = Dataset::open(&once).unwrap();
    let (b, _) = Dataset::open(&twice).unwrap();
    for day in &days {
        a.write_batch(day).unwrap();
        b.write_batch(day).unwrap();
    }
    // The last day's first five snapshots again, in a later batch.
    b.write_batch(&days[2][..5]).unwrap();
    // And again in a batch never committed (its writer killed before its ids were written;
    // the roll-back leaves its parts until they are old).
    let repeat = b.write_batch(&days[2][..3]).unwrap();
    let flushed = twice.join(exfleet_dataset::layout::FLUSHED);
    std::fs::remove_file(flushed.join(format!("{}.ids", repeat.batch))).unwrap();
    assert!(repeat.files > 0);
    let rows = |dir: &Path, t: Table| {
        exfleet_analyzer::input::History::open(dir)
            .unwrap()
            .table(t)
            .collect()
            .unwrap()
            .height()
    };
    for t in [Table::Hosts, Table::InstalledUpdates, Table::Events] {
        assert_eq!(rows(&twice, t), rows(&once, t), "{}", t.name());
        assert!(rows(&once, t) > 0, "{}", t.name());
    }
    let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let findings = |dir: &Path| {
        let h = exfleet_analyzer::input::History::open(dir).unwrap();
        let f =
            exfleet_analyzer::analyze(&h, &exfleet_analyzer::catalog::Catalog::embedded(), as_of)
                .unwrap()
                .findings;
        serde_json::to_string(&f).unwrap()
    };
    assert_eq!(findings(&twice), findings(&once));
}

/// The roll-back at open deletes only this aggregator's uncommitted parts older than its age
/// limit: a fresh one may be a batch in flight of an overlapping process with the same id.
#[test]
fn open_rolls_back_only_old_uncommitted_parts() {
    use exfleet_aggregator::dataset::Dataset;
    use exfleet_dataset::bucket::Bucket;
    use exfleet_dataset::layout::part_key;
    let Some(s3s_fs) = exfleet_tests::tools::tool("s3s-fs") else {
        eprintln!("s3s-fs is not installed (tests/scripts/install-test-tools.sh): skipped");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let s3 = S3::start(&s3s_fs, &tmp.path().join("s3"));
    let _env = ENV.lock().unwrap_or_else(|p| p.into_inner());
    for (k, v) in s3.env() {
        std::env::set_var(k, v);
    }
    let bucket = Bucket::open(&format!("s3://{BUCKET}/{PREFIX}/rollback")).unwrap();
    let fresh = part_key("hosts", "2026-11-18", "1795000000000-0000abcd-000000-agg1");
    let old = part_key("hosts", "2026-11-18", "1795000000000-0000abcd-000001-agg1");
    bucket.put(&fresh, b"in flight".to_vec()).unwrap();
    bucket.put(&old, b"left behind".to_vec()).unwrap();
    // s3s-fs answers a file's modification time as the object's.
    let file = s3.objects().join("rollback").join(&old);
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - Duration::from_secs(7 * 3600))
        .unwrap();
    Dataset::open_bucket(&bucket, "agg1").unwrap();
    assert!(
        bucket.get(&fresh).unwrap().is_some(),
        "a fresh uncommitted part is kept"
    );
    assert!(
        bucket.get(&old).unwrap().is_none(),
        "an old uncommitted part is rolled back"
    );
}

/// The snapshots of the compaction tests, by day (three days of a small fleet), and the
/// batches they are flushed in: seven at a time across days, so that batches span two
/// dates, and the last day's first five again in a later batch (two aggregators wrote them).
fn compaction_batches() -> (Vec<Vec<StoredSnapshot>>, Vec<Vec<StoredSnapshot>>) {
    use exfleet_tests::history::{self, HistoryConfig};
    let cfg = HistoryConfig {
        days: 3,
        servers: 12,
        ..Default::default()
    };
    let (hosts, _) = history::hosts(&cfg);
    let days: Vec<Vec<StoredSnapshot>> = (0..cfg.days)
        .map(|d| history::day(&cfg, &hosts, d))
        .collect();
    let all: Vec<StoredSnapshot> = days.iter().flatten().cloned().collect();
    let mut batches: Vec<Vec<StoredSnapshot>> = all.chunks(7).map(<[_]>::to_vec).collect();
    batches.push(days[2][..5].to_vec());
    (days, batches)
}

/// What the analyzer says of a dataset: rows of every table, and the findings.
fn analysis(h: &exfleet_analyzer::input::History) -> (Vec<usize>, String) {
    use exfleet_dataset::Table;
    let rows = Table::ALL
        .iter()
        .map(|t| h.table(*t).collect().unwrap().height())
        .collect();
    let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
    let f = exfleet_analyzer::analyze(h, &exfleet_analyzer::catalog::Catalog::embedded(), as_of)
        .unwrap()
        .findings;
    (rows, serde_json::to_string(&f).unwrap())
}

fn analysis_of(location: &Path) -> (Vec<usize>, String) {
    analysis(&exfleet_analyzer::input::History::open_at(location).unwrap())
}

/// A time after every day of [`compaction_batches`] is over.
const LATER_MS: i64 = exfleet_tests::SIM_NOW_MS + 10 * 86_400_000;

/// Compaction by two aggregators at once, then retention, on a dataset whose objects are
/// listed by `keys`: every day is compacted once, into one part per table, and the analysis
/// is the same before and after; expired days leave the store and the dataset.
fn compact_and_expire(
    a: exfleet_aggregator::dataset::Dataset,
    b: exfleet_aggregator::dataset::Dataset,
    store: &exfleet_aggregator::store::Store,
    location: &Path,
    keys: &dyn Fn() -> Vec<String>,
) {
    use exfleet_aggregator::dataset::retention;
    use exfleet_dataset::layout::{batch_of_ids, batch_of_part};
    let (days, batches) = compaction_batches();
    for batch in &batches {
        for s in batch {
            let id = &s.snapshot.as_ref().unwrap().snapshot_id;
            store.put(id, s).unwrap();
        }
        a.write_batch(batch).unwrap();
    }
    let before = analysis_of(location);
    assert!(before.0[0] > 0 && before.1.len() > 2, "{before:?}");
    let parts_before = keys().iter().filter(|k| batch_of_part(k).is_some()).count();
    let after = Duration::from_secs(2 * 3600);
    let (ca, cb) = std::thread::scope(|t| {
        let ja = t.spawn(|| a.compact(LATER_MS, after).unwrap());
        let jb = t.spawn(|| b.compact(LATER_MS, after).unwrap());
        (ja.join().unwrap(), jb.join().unwrap())
    });
    let mut dates: Vec<&str> = ca.iter().chain(&cb).map(|c| c.date.as_str()).collect();
    dates.sort();
    assert_eq!(
        dates,
        ["2026-11-21", "2026-11-22", "2026-11-23"],
        "each day compacted once: {ca:?} {cb:?}"
    );
    let keys_after = keys();
    let mut per_partition: BTreeMap<(String, String), usize> = BTreeMap::new();
    for k in keys_after.iter().filter(|k| batch_of_part(k).is_some()) {
        let mut it = k.split('/');
        let (table, date) = (it.next().unwrap(), it.next().unwrap());
        *per_partition
            .entry((table.into(), date.into()))
            .or_default() += 1;
    }
    assert!(
        per_partition.values().all(|n| *n == 1),
        "one part per table and day: {per_partition:?}"
    );
    assert!(
        per_partition.len() < parts_before,
        "{parts_before} parts before"
    );
    let ids_files = keys_after
        .iter()
        .filter(|k| batch_of_ids(k).is_some())
        .count();
    assert_eq!(ids_files, 3, "one committed batch a day: {keys_after:?}");
    assert_eq!(
        analysis_of(location),
        before,
        "the analysis after compaction"
    );
    // Nothing more to do: a second pass compacts nothing.
    assert!(a.compact(LATER_MS, after).unwrap().is_empty());

    // Retention of one day, at the end of the second day: the first expires.
    let day0_end = exfleet_tests::SIM_NOW_MS - 12 * 3_600_000 - 86_400_000;
    let day = Duration::from_secs(86_400);
    let expired = retention::expire(store, &a, day0_end + 86_400_000, day).unwrap();
    assert_eq!(expired.dates, ["2026-11-21"]);
    assert_eq!(expired.snapshots, days[0].len());
    for s in &days[0] {
        assert!(!store.contains(&s.snapshot.as_ref().unwrap().snapshot_id));
    }
    // As if the first day had never been written.
    let tmp = tempfile::tempdir().unwrap();
    let (fresh, _) = exfleet_aggregator::dataset::Dataset::open(tmp.path()).unwrap();
    fresh.write_batch(&days[1]).unwrap();
    fresh.write_batch(&days[2]).unwrap();
    assert_eq!(
        analysis_of(location),
        analysis_of(tmp.path()),
        "after retention"
    );
}

#[test]
fn compaction_and_retention_on_a_folder_keep_the_analysis() {
    use exfleet_aggregator::dataset::Dataset;
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("dataset");
    let (a, _) = Dataset::open(&root).unwrap();
    let store = exfleet_aggregator::store::Store::open(&tmp.path().join("data")).unwrap();
    let keys = || {
        let mut out = Vec::new();
        for f in walk_files(&root) {
            let rel = f.strip_prefix(&root).unwrap();
            if !rel.starts_with("_tmp") {
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
        out
    };
    compact_and_expire(a.clone(), a, &store, &root, &keys);
    // The store reopened holds only the days kept.
    let reopened = exfleet_aggregator::store::Store::open(&tmp.path().join("data")).unwrap();
    assert_eq!(reopened.len(), store.len());
}

#[test]
fn compaction_and_retention_on_a_bucket_keep_the_analysis() {
    use exfleet_aggregator::dataset::Dataset;
    use exfleet_dataset::bucket::Bucket;
    let Some(s3s_fs) = exfleet_tests::tools::tool("s3s-fs") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let s3 = S3::start(&s3s_fs, &tmp.path().join("s3"));
    let _env = ENV.lock().unwrap_or_else(|p| p.into_inner());
    for (k, v) in s3.env() {
        std::env::set_var(k, v);
    }
    let url = format!("s3://{BUCKET}/{PREFIX}/compact");
    let root = Bucket::open(&url).unwrap();
    let bucket = root.child("dataset");
    let (a, _) = Dataset::open_bucket(&bucket, "agg1").unwrap();
    let (b, _) = Dataset::open_bucket(&bucket, "agg2").unwrap();
    let store = exfleet_aggregator::store::Store::open_bucket(&root, "agg1").unwrap();
    let keys = || {
        bucket
            .list("")
            .unwrap()
            .into_iter()
            .map(|o| o.key)
            .collect()
    };
    let location = PathBuf::from(format!("{url}/dataset"));
    compact_and_expire(a, b, &store, &location, &keys);
    let reopened = exfleet_aggregator::store::Store::open_bucket(&root, "agg1").unwrap();
    assert_eq!(reopened.len(), store.len());
}

/// A reader that lists at any point of a compaction's swap reads every snapshot once: with
/// the compacted parts there but not committed, committed beside the parts they replace,
/// and with some of those removed.
#[test]
fn a_reader_during_the_swap_counts_every_snapshot_once() {
    use exfleet_aggregator::dataset::Dataset;
    use exfleet_dataset::layout::{batch_of_part, is_compacted, FLUSHED};
    let (_, batches) = compaction_batches();
    let tmp = tempfile::tempdir().unwrap();
    let (before, after) = (tmp.path().join("before"), tmp.path().join("after"));
    let (d, _) = Dataset::open(&before).unwrap();
    for b in &batches {
        d.write_batch(b).unwrap();
    }
    copy_tree(&before, &after);
    let (d, _) = Dataset::open(&after).unwrap();
    assert_eq!(d.compact(LATER_MS, Duration::ZERO).unwrap().len(), 3);
    let want = analysis_of(&before);
    let swap = tmp.path().join("swap");
    copy_tree(&before, &swap);
    let rel = |p: &Path| p.strip_prefix(&after).unwrap().to_path_buf();
    let compacted: Vec<PathBuf> = walk_files(&after)
        .into_iter()
        .filter(|p| {
            let key = rel(p).to_string_lossy().replace('\\', "/");
            batch_of_part(&key).is_some_and(is_compacted)
                || key
                    .strip_prefix(&format!("{FLUSHED}/"))
                    .is_some_and(|n| is_compacted(n.trim_end_matches(".ids")))
        })
        .collect();
    let (ids, parts): (Vec<_>, Vec<_>) = compacted
        .into_iter()
        .partition(|p| p.extension().is_some_and(|e| e == "ids"));
    let place = |p: &PathBuf| {
        let to = swap.join(rel(p));
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(p, to).unwrap();
    };
    parts.iter().for_each(place);
    assert_eq!(analysis_of(&swap), want, "compacted parts, not committed");
    ids.iter().for_each(place);
    assert_eq!(
        analysis_of(&swap),
        want,
        "committed beside the parts it replaces"
    );
    let small: Vec<PathBuf> = walk_files(&swap)
        .into_iter()
        .filter(|p| {
            let key = p
                .strip_prefix(&swap)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            batch_of_part(&key).is_some_and(|b| !is_compacted(b))
        })
        .collect();
    assert!(small.len() > 4);
    for p in small.iter().step_by(2) {
        std::fs::remove_file(p).unwrap();
    }
    assert_eq!(analysis_of(&swap), want, "half the replaced parts removed");
    for p in &small {
        let _ = std::fs::remove_file(p);
    }
    assert_eq!(analysis_of(&swap), want, "all the replaced parts removed");
}

fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk_files(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}
