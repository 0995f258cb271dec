//! The collector's spool against a real aggregator on loopback: runs while the aggregator is
//! down, collectors killed with SIGKILL mid-run, a full spool, and back-pressure. The
//! collector runs as a process of its own (so that it can be killed): this test binary run
//! again with only [`collector_main`], which runs the collector's command line, as its
//! `main.rs` does.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use exfleet_aggregator::server::ServeOptions;
use exfleet_aggregator::service::{BackPressure, RETRY_AFTER};
use exfleet_collector::client::{self, ClientTls};
use exfleet_collector::deliver::deliver;
use exfleet_collector::retry::{Failure, RetryPolicy};
use exfleet_collector::spool::Spool;
use exfleet_proto::v1::{Snapshot, UploadRequest};
use exfleet_tests::fleet::{self, render, FleetConfig, HostSpec};

use crate::e2e::Harness;

const ARGS_ENV: &str = "EXFLEET_TEST_COLLECTOR_ARGS";

/// The collector process: runs only when the spool tests start this binary with its
/// arguments in [`ARGS_ENV`].
#[test]
#[ignore = "the collector process the spool tests start; not a test of its own"]
fn collector_main() {
    let Ok(args) = std::env::var(ARGS_ENV) else {
        return;
    };
    let args: Vec<String> = serde_json::from_str(&args).unwrap();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("exfleet_collector=info"))
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let cli = exfleet_collector::cli::Cli::parse_from(
        std::iter::once("exfleet-collector".to_string()).chain(args),
    );
    std::process::exit(exfleet_collector::cli::main(cli).into());
}

/// `exfleet-collector <args>` as a process of its own: this test binary, running only
/// [`collector_main`].
pub(crate) fn collector_process(args: &[String]) -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args([
        "--ignored",
        "--exact",
        "spool::collector_main",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(ARGS_ENV, serde_json::to_string(args).unwrap())
    .stdin(Stdio::null());
    c
}

/// A host's triage copy, the collector's certificate files, and its spool.
struct Server {
    tmp: tempfile::TempDir,
    name: String,
}

impl Server {
    fn new(h: &Harness) -> Server {
        let host: HostSpec = fleet::generate(&FleetConfig {
            seed: 9,
            servers: 1,
            fault_rate: 0.0,
        })
        .remove(0);
        let tmp = tempfile::tempdir().unwrap();
        render::write(&host, 9, &tmp.path().join("root")).unwrap();
        let tls = h.client_tls(&host.name);
        std::fs::write(tmp.path().join("ca.pem"), &tls.ca).unwrap();
        std::fs::write(tmp.path().join("me.pem"), &tls.cert).unwrap();
        std::fs::write(tmp.path().join("me.key"), &tls.key).unwrap();
        Server {
            tmp,
            name: host.name,
        }
    }

    fn spool(&self) -> PathBuf {
        self.tmp.path().join("spool")
    }

    /// `collect --spool` to `url`, with `extra` arguments.
    fn collector(&self, url: &str, extra: &[&str]) -> Command {
        let p = |f: &str| self.tmp.path().join(f).display().to_string();
        let mut args = vec![
            "collect".to_string(),
            "--root".into(),
            p("root"),
            "--aggregator".into(),
            url.into(),
            "--ca".into(),
            p("ca.pem"),
            "--cert".into(),
            p("me.pem"),
            "--key".into(),
            p("me.key"),
            "--spool".into(),
            self.spool().display().to_string(),
            "--timeout-secs".into(),
            "5".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        collector_process(&args)
    }

    /// Snapshot ids waiting in the spool, oldest first.
    fn pending(&self) -> Vec<String> {
        let spool = Spool::open(&self.spool()).unwrap();
        spool
            .pending()
            .unwrap()
            .into_iter()
            .map(|e| e.snapshot_id)
            .collect()
    }
}

/// Runs a collector process to its end (off the runtime's threads, which serve the
/// aggregator).
async fn run(mut c: Command) -> Output {
    tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The ids a collector's log says it spooled, or delivered, in order.
fn logged(stderr: &str, what: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| l.contains(&format!(": {what} ")) || l.ends_with(&format!(": {what}")))
        .filter_map(|l| {
            let at = l.find("snapshot=")? + "snapshot=".len();
            Some(l[at..].split_whitespace().next()?.to_string())
        })
        .collect()
}

/// A loopback address where nothing listens: the aggregator is down.
fn down_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("https://localhost:{port}")
}

/// Every stored file, by snapshot id.
fn on_disk(dir: &Path) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for shard in std::fs::read_dir(dir.join("snapshots")).unwrap().flatten() {
        for f in std::fs::read_dir(shard.path()).unwrap().flatten() {
            let id = f.path().file_stem().unwrap().to_string_lossy().into_owned();
            *out.entry(id).or_default() += 1;
        }
    }
    out
}

const DOWN: &[&str] = &["--attempts", "2", "--retry-secs", "3"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn down_for_three_runs_then_up_all_are_stored_once_oldest_first() {
    let h = Harness::start().await;
    let s = Server::new(&h);
    let down = down_url();
    let mut spooled = Vec::new();
    for run_no in 1..=3 {
        let o = run(s.collector(&down, DOWN)).await;
        assert_eq!(code(&o), 3, "run {run_no}: {}", stderr(&o));
        spooled.extend(logged(&stderr(&o), "spooled"));
        assert_eq!(s.pending(), spooled, "run {run_no}");
    }
    assert_eq!(h.store.len(), 0);

    let o = run(s.collector(&h.url(), &[])).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let new = logged(&stderr(&o), "spooled");
    let expected: Vec<String> = spooled.iter().chain(&new).cloned().collect();
    assert_eq!(expected.len(), 4);
    assert_eq!(logged(&stderr(&o), "delivered"), expected, "oldest first");
    assert!(s.pending().is_empty(), "the spool is empty");
    let disk = on_disk(h._dir.path());
    for id in &expected {
        assert_eq!(disk.get(id), Some(&1), "{id} stored once");
        assert_eq!(h.store.get(id).unwrap().collector_id, s.name);
    }
    assert_eq!(disk.len(), 4);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_killed_mid_run_loses_nothing_and_stores_nothing_twice() {
    let h = Harness::start().await;
    let s = Server::new(&h);
    // How long a whole run takes here, to spread the kills over it.
    let t = Instant::now();
    let o = run(s.collector(&h.url(), &[])).await;
    let whole = t.elapsed();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let mut known: BTreeSet<String> = logged(&stderr(&o), "spooled").into_iter().collect();
    let (mut before_spooled, mut spooled_only, mut delivered, mut mid_upload) = (0, 0, 0, 0);
    for i in 1..=20u32 {
        let delay = whole.mul_f64(f64::from(i) / 10.0);
        let mut c = s.collector(&h.url(), &[]);
        let child = tokio::task::spawn_blocking(move || {
            let mut child = c
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            std::thread::sleep(delay);
            // SIGKILL: no destructor, no flush, no unlock.
            child.kill().unwrap();
            child.wait_with_output().unwrap()
        })
        .await
        .unwrap();
        let log = stderr(&child);
        let ids = logged(&log, "spooled");
        match (ids.is_empty(), logged(&log, "delivered").is_empty()) {
            (true, _) => before_spooled += 1,
            (false, true) => spooled_only += 1,
            (false, false) => delivered += 1,
        }
        known.extend(ids);
        // Put but killed before it said so: the spool still has it.
        let pending = s.pending();
        // Stored by the aggregator, but the collector died before it heard so: sent again.
        mid_upload += pending.iter().filter(|id| h.store.contains(id)).count();
        known.extend(pending);
    }
    eprintln!(
        "killed {before_spooled} times before the snapshot was spooled, {spooled_only} after, \
         before any ack, {delivered} after an ack; {mid_upload} snapshots were stored but \
         still spooled when the collector died (a whole run took {whole:?})"
    );
    assert!(
        spooled_only + delivered > 0,
        "no kill came after a snapshot was spooled"
    );
    let o = run(s.collector(&h.url(), &[])).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    known.extend(logged(&stderr(&o), "spooled"));
    assert!(s.pending().is_empty(), "{:?}", s.pending());
    // Half-written files of killed runs stay in tmp/ until they are stale (another run may be
    // writing there); none was ever taken for a snapshot.
    for e in std::fs::read_dir(s.spool().join("tmp")).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(name.ends_with(".tmp"), "{name}");
    }
    let disk = on_disk(h._dir.path());
    let stored: BTreeSet<String> = disk.keys().cloned().collect();
    assert_eq!(
        stored, known,
        "every snapshot spooled is stored, and nothing else"
    );
    assert!(disk.values().all(|n| *n == 1), "{disk:?}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_spool_drops_the_oldest_and_the_next_snapshot_reports_it() {
    let h = Harness::start().await;
    let s = Server::new(&h);
    let down = down_url();
    let full: Vec<&str> = DOWN
        .iter()
        .copied()
        .chain(["--spool-max-count", "2"])
        .collect();
    let mut spooled = Vec::new();
    for _ in 0..3 {
        let o = run(s.collector(&down, &full)).await;
        assert_eq!(code(&o), 3, "{}", stderr(&o));
        spooled.extend(logged(&stderr(&o), "spooled"));
    }
    assert_eq!(s.pending(), spooled[1..], "the oldest was dropped");
    let o = run(s.collector(&h.url(), &["--spool-max-count", "2"])).await;
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let next = logged(&stderr(&o), "spooled").remove(0);
    assert!(!h.store.contains(&spooled[0]));
    assert!(h.store.contains(&spooled[1]) && h.store.contains(&spooled[2]));
    let report = h.store.get(&next).unwrap().snapshot.unwrap();
    let drop = report
        .errors
        .iter()
        .find(|e| e.kind == "spool_dropped")
        .expect("the drop is reported in the next snapshot");
    assert_eq!(drop.reader, "spool");
    assert!(
        drop.message.contains(&spooled[0]) && drop.message.contains("at most 2 snapshots"),
        "{}",
        drop.message
    );
    assert!(!s.spool().join("dropped.jsonl").exists(), "reported once");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_its_bound_the_aggregator_asks_for_a_wait_and_the_collector_takes_it() {
    let retry_after = Duration::from_secs(2);
    let h = Harness::start_with(|_| ServeOptions {
        back_pressure: BackPressure {
            max_uploads_in_flight: 1,
            retry_after,
        },
        ..Default::default()
    })
    .await;
    let tls: ClientTls = h.client_tls("EXHOLD01");
    // One upload stream held open: the bound of one is reached.
    let (tx, rx) = tokio::sync::mpsc::channel::<UploadRequest>(1);
    let mut holder = client::connect(&h.url(), &tls).await.unwrap();
    let held = holder
        .upload(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .expect("the first upload is let in");

    // One more is refused at once, with the wait in the metadata.
    let mut other = client::connect(&h.url(), &tls).await.unwrap();
    let refused = other
        .upload(tokio_stream::empty::<UploadRequest>())
        .await
        .expect_err("an upload beyond the bound is refused");
    assert_eq!(refused.code(), tonic::Code::ResourceExhausted);
    assert_eq!(
        refused
            .metadata()
            .get(RETRY_AFTER)
            .unwrap()
            .to_str()
            .unwrap(),
        "2"
    );

    // A collector delivering now is told to wait, and waits that long before trying again;
    // the held upload ends half a second in.
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(dir.path()).unwrap();
    let snapshot = Snapshot {
        snapshot_id: uuid::Uuid::new_v4().to_string(),
        collected_at_ms: chrono::Utc::now().timestamp_millis(),
        host: Some(exfleet_proto::v1::HostIdentity {
            computer_name: "EXHOLD01".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    spool.put(&snapshot).unwrap();
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        drop(tx);
        drop(held);
    });
    let t = Instant::now();
    let policy = RetryPolicy {
        attempts: 2,
        attempt_timeout: Duration::from_secs(5),
        total: Duration::from_secs(30),
        ..Default::default()
    };
    let d = deliver(&spool, &h.url(), &tls, &policy).await.unwrap();
    let took = t.elapsed();
    release.await.unwrap();
    assert_eq!(
        d.delivered,
        std::slice::from_ref(&snapshot.snapshot_id),
        "{d:?}"
    );
    let (why, wait) = d.waits[0];
    assert_eq!(why, Failure::Busy(retry_after), "{d:?}");
    assert!(
        wait >= retry_after && wait <= retry_after.mul_f64(1.5),
        "{wait:?}"
    );
    assert!(took >= retry_after, "the next attempt came after {took:?}");
    assert_eq!(d.left, 0);
    assert!(h.store.contains(&snapshot.snapshot_id));
    h.stop().await;
}
