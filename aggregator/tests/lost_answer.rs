//! A dataset batch's commit (the put of its `_flushed/<batch>.ids` object) whose answer is
//! lost: the writer reads the object back and takes the batch as committed when the server
//! applied the put, and as failed when it did not. Between the writer and a real S3 server
//! (`s3s-fs`, [`S3`]) a proxy on loopback ([`Proxy`]) passes every request but the commit's:
//! that one it forwards, or not, and answers 400 itself whatever the server said.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use exfleet_aggregator::dataset::Dataset;
use exfleet_dataset::layout::{batch_of_ids, batch_of_part};
use exfleet_proto::v1::{Snapshot, StoredSnapshot};

use crate::s3::{self, S3};

/// What the proxy does with a commit's put.
struct Proxy {
    url: String,
    /// Forward the commit to the server before answering 400 (the answer lost), or not (the
    /// request lost).
    forward: Arc<AtomicBool>,
    /// Commits answered 400.
    spoiled: Arc<AtomicUsize>,
}

impl Proxy {
    fn start(upstream: &str) -> Proxy {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let forward = Arc::new(AtomicBool::new(true));
        let spoiled = Arc::new(AtomicUsize::new(0));
        let (f, s) = (forward.clone(), spoiled.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (up, f, s) = (upstream.clone(), f.clone(), s.clone());
                std::thread::spawn(move || relay(client, &up, &f, &s));
            }
        });
        Proxy {
            url,
            forward,
            spoiled,
        }
    }
}

/// One request on `client`, relayed to the server with `Connection: close` (so that each
/// connection carries one request, and its end is the server's close).
fn relay(mut client: TcpStream, upstream: &str, forward: &AtomicBool, spoiled: &AtomicUsize) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match client.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let line = text.lines().next().unwrap_or("");
    let commit = line.starts_with("PUT ") && line.contains("/_flushed/") && line.contains(".ids");
    let head = format!(
        "{}Connection: close\r\n\r\n",
        text.trim_end_matches("\r\n")
            .lines()
            .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
            .map(|l| format!("{l}\r\n"))
            .collect::<String>()
    );
    let refuse = |client: &mut TcpStream| {
        spoiled.fetch_add(1, Ordering::SeqCst);
        let _ = client.write_all(
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    };
    if commit && !forward.load(Ordering::SeqCst) {
        refuse(&mut client);
        return;
    }
    let Ok(mut server) = TcpStream::connect(upstream) else {
        return;
    };
    if server.write_all(head.as_bytes()).is_err() {
        return;
    }
    let (mut from_client, mut to_server) =
        (client.try_clone().unwrap(), server.try_clone().unwrap());
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from_client, &mut to_server);
    });
    let mut answer = Vec::new();
    let _ = server.read_to_end(&mut answer);
    if commit {
        refuse(&mut client);
    } else {
        let _ = client.write_all(&answer);
    }
    let _ = client.shutdown(std::net::Shutdown::Both);
}

fn snapshot(n: u32) -> StoredSnapshot {
    StoredSnapshot {
        snapshot: Some(Snapshot {
            snapshot_id: format!("0123abcd-0000-4000-8000-{n:012}"),
            collected_at_ms: 1_795_000_000_000,
            ..Default::default()
        }),
        collector_id: "EX01".into(),
        received_at_ms: 1_795_000_000_000,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_whose_answer_is_lost_is_read_back() {
    let _one = s3::serial().await;
    let Some(s3) = S3::start("exfleet") else {
        return;
    };
    let url = "s3://exfleet/lost/dataset";
    // The server itself, to look at what is there.
    let direct = s3.open(url);
    let endpoint = s3
        .env()
        .into_iter()
        .find(|(k, _)| *k == "AWS_ENDPOINT_URL")
        .unwrap()
        .1;
    let proxy = Proxy::start(&endpoint);
    std::env::set_var("AWS_ENDPOINT_URL", &proxy.url);
    let through = exfleet_dataset::bucket::Bucket::open(url).unwrap();
    let (dataset, _) = tokio::task::spawn_blocking(move || Dataset::open_bucket(&through, "agg1"))
        .await
        .unwrap()
        .unwrap();
    let committed = || -> Vec<String> {
        direct
            .list("")
            .unwrap()
            .into_iter()
            .filter_map(|o| batch_of_ids(&o.key).map(str::to_string))
            .collect()
    };
    let parts_of = |batch: &str| {
        direct
            .list("")
            .unwrap()
            .into_iter()
            .filter(|o| batch_of_part(&o.key) == Some(batch))
            .count()
    };

    // The server applied the commit, its answer was lost: committed.
    let d = dataset.clone();
    let info = tokio::task::spawn_blocking(move || d.write_batch(&[snapshot(1), snapshot(2)]))
        .await
        .unwrap()
        .expect("the commit read back is there: the batch is committed");
    assert_eq!(
        proxy.spoiled.load(Ordering::SeqCst),
        1,
        "the answer was spoiled"
    );
    assert_eq!(committed(), vec![info.batch.clone()]);
    assert!(parts_of(&info.batch) > 0);

    // The commit never reached the server: an error, the parts left for the roll-back, and
    // no commit.
    proxy.forward.store(false, Ordering::SeqCst);
    let d = dataset.clone();
    let err = tokio::task::spawn_blocking(move || d.write_batch(&[snapshot(3)]))
        .await
        .unwrap()
        .expect_err("no commit there: the batch failed");
    assert!(err.to_string().contains("_flushed"), "{err}");
    assert_eq!(proxy.spoiled.load(Ordering::SeqCst), 2);
    assert_eq!(committed(), vec![info.batch], "no second commit");
    std::env::set_var("AWS_ENDPOINT_URL", endpoint);
}

/// A compaction's commit whose answer is lost: the compactor reads its ids object back, finds
/// it there and goes on (the replaced parts removed, the compacted ones kept); a commit that
/// never reached the server leaves the compacted parts uncommitted, never an ids file without
/// its parts (which would make readers take the day's later rows for copies).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compaction_commit_whose_answer_is_lost_is_read_back() {
    let _one = s3::serial().await;
    let Some(s3) = S3::start("exfleet") else {
        return;
    };
    let url = "s3://exfleet/lostc/dataset";
    let direct = s3.open(url);
    let endpoint = s3
        .env()
        .into_iter()
        .find(|(k, _)| *k == "AWS_ENDPOINT_URL")
        .unwrap()
        .1;
    let proxy = Proxy::start(&endpoint);
    let writer = direct.clone();
    let (plain, _) = tokio::task::spawn_blocking(move || Dataset::open_bucket(&writer, "agg1"))
        .await
        .unwrap()
        .unwrap();
    std::env::set_var("AWS_ENDPOINT_URL", &proxy.url);
    let through = exfleet_dataset::bucket::Bucket::open(url).unwrap();
    let (dataset, _) = tokio::task::spawn_blocking(move || Dataset::open_bucket(&through, "agg2"))
        .await
        .unwrap()
        .unwrap();
    let listed = || -> (Vec<String>, Vec<String>) {
        let keys: Vec<String> = direct
            .list("")
            .unwrap()
            .into_iter()
            .map(|o| o.key)
            .collect();
        let ids = keys
            .iter()
            .filter_map(|k| batch_of_ids(k).map(str::to_string))
            .collect();
        let parts = keys
            .iter()
            .filter_map(|k| batch_of_part(k).map(str::to_string))
            .collect();
        (ids, parts)
    };
    let later = 1_795_000_000_000 + 3 * 86_400_000;
    let hour = std::time::Duration::from_secs(3600);

    // The commit never reached the server: not compacted, the compacted parts left
    // uncommitted, the replaced batches whole.
    proxy.forward.store(false, Ordering::SeqCst);
    for n in [1, 2] {
        let p = plain.clone();
        tokio::task::spawn_blocking(move || p.write_batch(&[snapshot(n)]))
            .await
            .unwrap()
            .unwrap();
    }
    let (before, _) = listed();
    let d = dataset.clone();
    let done = tokio::task::spawn_blocking(move || d.compact(later, hour))
        .await
        .unwrap()
        .unwrap();
    assert!(done.is_empty(), "{done:?}");
    assert_eq!(proxy.spoiled.load(Ordering::SeqCst), 1);
    let (ids, parts) = listed();
    assert_eq!(ids, before, "no commit");
    let compacted: Vec<&String> = parts
        .iter()
        .filter(|b| exfleet_dataset::layout::is_compacted(b))
        .collect();
    assert!(
        !compacted.is_empty(),
        "the compacted parts are left: {parts:?}"
    );
    assert!(
        before.iter().all(|b| parts.contains(b)),
        "replaced parts kept"
    );

    // The server applied the commit, its answer was lost: committed, the replaced batches
    // removed, the compacted batch's parts kept.
    proxy.forward.store(true, Ordering::SeqCst);
    let d = dataset.clone();
    let done = tokio::task::spawn_blocking(move || d.compact(later + 1, hour))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(proxy.spoiled.load(Ordering::SeqCst), 2);
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(done[0].snapshots, 2);
    let (ids, parts) = listed();
    assert_eq!(ids, vec![done[0].batch.clone()]);
    assert!(parts.iter().all(|b| *b == done[0].batch), "{parts:?}");
    assert!(!parts.is_empty());
    std::env::set_var("AWS_ENDPOINT_URL", endpoint);
}
