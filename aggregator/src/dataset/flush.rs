//! The flush loop: every `interval`, the snapshots stored since the last flush are written to
//! the dataset as one batch, so an acked snapshot is visible to the analyzer within one
//! interval (plus the time to write it). At start, stored snapshots that no committed batch
//! holds are queued first.
//!
//! A failure never ends the loop: it is logged when it happens (the path and the OS reason),
//! the snapshots stay queued and are written again at the next interval. While the dataset
//! cannot advance, the gRPC health service reports [`DATASET_SERVICE`] as NOT_SERVING and
//! every interval logs how far behind it is; it is SERVING again once it has caught up.
//! Snapshots stay acked and durable in the store meanwhile: the dataset is derived from it.
//!
//! On a bucket shared by several aggregators, a snapshot no committed batch holds at start
//! may be another aggregator's, about to be flushed by it. Those written within
//! [`grace`] before the start are set aside (`Deferred`): once the grace has passed (or at
//! stop) the committed batches are read again and only those still in none are written. A
//! snapshot another aggregator flushes later than that is in two batches; readers keep its
//! first batch's rows. A snapshot an upload finds already in the bucket ([`Queued::Found`])
//! is set aside the same way: its writer may have been killed, or the put that wrote it may
//! have been this aggregator's own attempt whose answer was lost.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use exfleet_proto::v1::StoredSnapshot;
use tokio::sync::mpsc;
use tonic_health::server::HealthReporter;
use tonic_health::ServingStatus;

use super::writer::Dataset;
use crate::error::Error;
use crate::store::Store;

/// Largest batch written at once, so that a long backlog is written in bounded pieces.
const MAX_BATCH: usize = 5_000;

/// The name under which gRPC health reports whether the dataset keeps up with the store.
pub const DATASET_SERVICE: &str = "exfleet.v1.Dataset";

/// What the ingest service tells the flusher of an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Queued {
    /// Newly stored by this aggregator: written at the next flush.
    Stored(String),
    /// Already in the bucket: written after the grace unless a committed batch holds it then.
    Found(String),
}

/// Runs until `ids` closes (the server stopped), then flushes what is left. Returns an error
/// only when that last flush fails (the next start writes what is missing). `lag` is kept at
/// the number of snapshots stored but not yet in a committed batch (the metric).
pub async fn run(
    store: Store,
    dataset: Dataset,
    already: HashSet<String>,
    mut ids: mpsc::UnboundedReceiver<Queued>,
    interval: Duration,
    health: Option<HealthReporter>,
    lag: prometheus::IntGauge,
) -> Result<(), Error> {
    let mut pending: Vec<String> = store
        .ids()
        .into_iter()
        .filter(|id| !already.contains(id))
        .collect();
    let mut deferred = Deferred::split(&store, &mut pending, interval);
    let mut state = State {
        health,
        stuck_since: None,
    };
    state.report(ServingStatus::Serving).await;
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        lag.set((pending.len() + deferred.ids.len()) as i64);
        tokio::select! {
            id = ids.recv() => match id {
                Some(Queued::Stored(id)) => pending.push(id),
                Some(Queued::Found(id)) => deferred.add(id, interval),
                None => break,
            },
            _ = tick.tick() => {
                if deferred.due() {
                    deferred.take(&dataset, &mut pending, false).await;
                }
                let result = flush(&store, &dataset, &mut pending).await;
                state.after(result, pending.len()).await;
            }
        }
    }
    while let Ok(id) = ids.try_recv() {
        match id {
            Queued::Stored(id) => pending.push(id),
            Queued::Found(id) => deferred.add(id, interval),
        }
    }
    deferred.take(&dataset, &mut pending, true).await;
    let result = flush(&store, &dataset, &mut pending).await;
    lag.set(pending.len() as i64);
    if let Err(e) = &result {
        tracing::error!(
            behind = pending.len(),
            "the dataset could not be brought up to date before stopping ({e}); the next start \
             writes the missing snapshots from the store"
        );
    }
    result
}

/// How long after being written a snapshot no committed batch holds is taken to be left
/// behind (its aggregator killed before its flush) rather than about to be flushed by
/// another aggregator: five flush intervals, at least 10 s.
pub fn grace(interval: Duration) -> Duration {
    (interval * 5).max(Duration::from_secs(10))
}

/// Snapshots set aside (on a bucket): at start, those written within the grace before it;
/// later, those an upload found already there. Each until its own deadline.
struct Deferred {
    ids: Vec<(String, Instant)>,
}

impl Deferred {
    /// Moves out of `pending` the snapshots the store's bucket says were written within
    /// [`grace`] before now.
    ///
    /// The times are the server's (`LastModified`), and "now" is too: the earlier of this
    /// clock and the newest object's time, which the server's clock is past. A server clock
    /// behind this one would otherwise make a snapshot written a moment ago look older than
    /// the grace; setting aside more than needed only delays its rows.
    fn split(store: &Store, pending: &mut Vec<String>, interval: Duration) -> Deferred {
        let grace = grace(interval);
        let local = chrono::Utc::now().timestamp_millis();
        let now = store
            .newest_written_ms()
            .map_or(local, |newest| newest.min(local));
        let since = now - grace.as_millis() as i64;
        let (recent, old): (Vec<String>, Vec<String>) = pending
            .drain(..)
            .partition(|id| store.written_ms(id).is_some_and(|at| at > since));
        *pending = old;
        if !recent.is_empty() {
            tracing::info!(
                snapshots = recent.len(),
                grace_secs = grace.as_secs(),
                "recent snapshots in no committed batch: written once the grace has passed,                  unless another aggregator has by then"
            );
        }
        let until = Instant::now() + grace;
        Deferred {
            ids: recent.into_iter().map(|id| (id, until)).collect(),
        }
    }

    /// Sets aside `id` until the grace from now has passed.
    fn add(&mut self, id: String, interval: Duration) {
        self.ids.push((id, Instant::now() + grace(interval)));
    }

    fn due(&self) -> bool {
        let now = Instant::now();
        self.ids.iter().any(|(_, until)| *until <= now)
    }

    /// Adds to `pending` the set-aside snapshots whose grace has passed and no committed
    /// batch holds now; at stop (`all`), every set-aside one. If the committed batches cannot
    /// be read, all of those (readers deduplicate).
    async fn take(&mut self, dataset: &Dataset, pending: &mut Vec<String>, all: bool) {
        let now = Instant::now();
        let (ids, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.ids)
            .into_iter()
            .partition(|(_, until)| all || *until <= now);
        self.ids = later;
        let ids: Vec<String> = ids.into_iter().map(|(id, _)| id).collect();
        if ids.is_empty() {
            return;
        }
        let d = dataset.clone();
        let committed = tokio::task::spawn_blocking(move || d.committed()).await;
        let before = ids.len();
        match committed {
            Ok(Ok(committed)) => {
                pending.extend(ids.into_iter().filter(|id| !committed.contains(id)))
            }
            Ok(Err(e)) => {
                tracing::warn!("cannot read the committed batches again ({e}): writing every set-aside snapshot");
                pending.extend(ids);
            }
            Err(e) => {
                tracing::warn!("cannot read the committed batches again ({e}): writing every set-aside snapshot");
                pending.extend(ids);
            }
        }
        tracing::info!(set_aside = before, "set-aside snapshots taken up");
    }
}

struct State {
    health: Option<HealthReporter>,
    /// When the dataset stopped advancing.
    stuck_since: Option<Instant>,
}

impl State {
    async fn report(&self, status: ServingStatus) {
        if let Some(h) = &self.health {
            h.set_service_status(DATASET_SERVICE, status).await;
        }
    }

    async fn after(&mut self, result: Result<(), Error>, behind: usize) {
        match result {
            Ok(()) => {
                if let Some(since) = self.stuck_since.take() {
                    tracing::info!(
                        stuck_secs = since.elapsed().as_secs(),
                        "the dataset caught up with the store"
                    );
                    self.report(ServingStatus::Serving).await;
                }
            }
            Err(e) => {
                let since = *self.stuck_since.get_or_insert_with(Instant::now);
                tracing::error!(
                    behind,
                    stuck_secs = since.elapsed().as_secs(),
                    "the dataset cannot advance: {e}; acked snapshots are safe in the store, \
                     retrying every interval (health: {DATASET_SERVICE} NOT_SERVING)"
                );
                self.report(ServingStatus::NotServing).await;
            }
        }
    }
}

/// Writes `pending` in batches. A batch that fails goes back to the front of `pending`.
async fn flush(store: &Store, dataset: &Dataset, pending: &mut Vec<String>) -> Result<(), Error> {
    // An id pending twice (two uploads of one snapshot both stored where the server's
    // create-only put is not atomic) is written once.
    let mut once = HashSet::new();
    pending.retain(|id| once.insert(id.clone()));
    while !pending.is_empty() {
        let take = pending.len().min(MAX_BATCH);
        let batch: Vec<String> = pending[..take].to_vec();
        let (s, d) = (store.clone(), dataset.clone());
        let written = tokio::task::spawn_blocking(move || {
            let snapshots = read_all(&s, &batch)?;
            d.write_batch(&snapshots)
        })
        .await
        .map_err(|e| Error::Io {
            path: dataset.root().to_path_buf(),
            reason: std::io::Error::other(e.to_string()),
        })
        .and_then(|r| r);
        let info = written?;
        pending.drain(..take);
        tracing::info!(batch = %info.batch, snapshots = info.snapshots, files = info.files, "dataset flushed");
    }
    Ok(())
}

/// Snapshots read back from the store at once, at most: on a bucket each is a GET, and one
/// at a time the flush would wait out every round trip in turn.
const READERS: usize = 8;

/// The stored snapshots of `ids`, in their order, read by up to [`READERS`] threads. One that
/// cannot be decoded is named in the log and left out (writing it again cannot help); any
/// other failure fails the whole.
fn read_all(store: &Store, ids: &[String]) -> Result<Vec<StoredSnapshot>, Error> {
    let per = ids.len().div_ceil(READERS).max(1);
    let read: Vec<Result<Vec<StoredSnapshot>, Error>> = std::thread::scope(|scope| {
        let workers: Vec<_> = ids
            .chunks(per)
            .map(|chunk| {
                scope.spawn(move || {
                    let mut out = Vec::with_capacity(chunk.len());
                    for id in chunk {
                        match store.get(id) {
                            Ok(x) => out.push(x),
                            Err(e @ Error::Corrupt { .. }) => tracing::error!(
                                "a stored snapshot cannot be read, left out of the dataset: {e}"
                            ),
                            // Gone since it was queued (retention deletes store files): like
                            // an unreadable one, left out, not failing the batch every time.
                            Err(e @ Error::Io { .. }) if is_not_found(&e) => tracing::error!(
                                "a stored snapshot is gone, left out of the dataset: {e}"
                            ),
                            Err(e) => return Err(e),
                        }
                    }
                    Ok(out)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a reader thread does not panic"))
            .collect()
    });
    let mut snapshots = Vec::with_capacity(ids.len());
    for r in read {
        snapshots.extend(r?);
    }
    Ok(snapshots)
}

/// Whether `e` is a file that is not there.
fn is_not_found(e: &Error) -> bool {
    matches!(e, Error::Io { reason, .. } if reason.kind() == std::io::ErrorKind::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A snapshot queued, then deleted from the store (retention) before its flush: left
    /// out, the others of the batch read.
    #[test]
    fn a_snapshot_gone_from_the_store_is_left_out_not_failing_the_batch() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(tmp.path()).unwrap();
        let s = stored("aaaaaaaa-1");
        store.put("aaaaaaaa-1", &s).unwrap();
        let read = read_all(&store, &["aaaaaaaa-0".into(), "aaaaaaaa-1".into()]).unwrap();
        assert_eq!(read, vec![s]);
    }
    use crate::test_support::stored;

    /// The writer over `store`, flushing every 50 ms: the sender of stored ids and its task.
    fn spawn_writer(
        store: &Store,
        dataset: Dataset,
        already: HashSet<String>,
    ) -> (
        mpsc::UnboundedSender<Queued>,
        tokio::task::JoinHandle<Result<(), Error>>,
    ) {
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(
            store.clone(),
            dataset,
            already,
            rx,
            Duration::from_millis(50),
            None,
            crate::metrics::Metrics::new().dataset_lag().clone(),
        ));
        (tx, task)
    }

    /// The snapshots read back at once come in the order asked, an undecodable one left out.
    #[test]
    fn snapshots_read_back_concurrently_keep_their_order() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(tmp.path()).unwrap();
        let ids: Vec<String> = (0..37)
            .map(|i| format!("0123abcd-0000-4000-8000-{i:012}"))
            .collect();
        for id in &ids {
            store.put(id, &stored(id)).unwrap();
        }
        std::fs::write(store.path_of(&ids[5]), b"\xff\xff not protobuf").unwrap();
        let read = read_all(&store, &ids).unwrap();
        let got: Vec<&str> = read
            .iter()
            .map(|s| s.snapshot.as_ref().unwrap().snapshot_id.as_str())
            .collect();
        let want: Vec<&str> = ids
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 5)
            .map(|(_, id)| id.as_str())
            .collect();
        assert_eq!(got, want);
        assert!(read_all(&store, &[]).unwrap().is_empty());
    }

    /// The probe's case: a stray `<id>.pb.bak` beside a stored snapshot stopped the writer.
    #[tokio::test]
    async fn a_stray_file_in_the_store_does_not_stop_the_dataset() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(tmp.path()).unwrap();
        let id = "0123abcd-0000-4000-8000-000000000001";
        store.put(id, &stored(id)).unwrap();
        let file = store.path_of(id);
        std::fs::copy(&file, file.with_extension("pb.bak")).unwrap();
        let store = Store::open(tmp.path()).unwrap();
        let (dataset, already) = Dataset::open(&tmp.path().join("dataset")).unwrap();
        let (tx, task) = spawn_writer(&store, dataset, already);
        let id2 = "0123abcd-0000-4000-8000-000000000002";
        store.put(id2, &stored(id2)).unwrap();
        tx.send(Queued::Stored(id2.to_string())).unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!task.is_finished(), "the writer must keep running");
        drop(tx);
        task.await.unwrap().unwrap();
        let (_, ids) = Dataset::open(&tmp.path().join("dataset")).unwrap();
        assert_eq!(ids.len(), 2, "{ids:?}");
        assert!(ids.contains(id) && ids.contains(id2));
    }

    /// Every line of every committed batch's ids file.
    fn committed_lines(root: &std::path::Path) -> Vec<String> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(root.join("_flushed")).unwrap() {
            let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
            out.extend(text.lines().map(str::to_string));
        }
        out
    }

    /// A snapshot an upload found already in the bucket (acked Duplicate) reaches the
    /// dataset without a restart, unless a committed batch holds it by then.
    #[tokio::test]
    async fn a_snapshot_found_already_stored_is_written_unless_committed() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(tmp.path()).unwrap();
        let root = tmp.path().join("dataset");
        let (dataset, already) = Dataset::open(&root).unwrap();
        let (tx, task) = spawn_writer(&store, dataset.clone(), already);
        // Another handle on the store: the writer's start-up sweep has not seen these.
        let other = Store::open(tmp.path()).unwrap();
        // Put by an attempt whose answer was lost: in the store, in no batch.
        let lost = "0123abcd-0000-4000-8000-000000000001";
        other.put(lost, &stored(lost)).unwrap();
        // Put and flushed by another aggregator meanwhile.
        let flushed = "0123abcd-0000-4000-8000-000000000002";
        other.put(flushed, &stored(flushed)).unwrap();
        dataset.write_batch(&[other.get(flushed).unwrap()]).unwrap();
        tx.send(Queued::Found(lost.to_string())).unwrap();
        tx.send(Queued::Found(flushed.to_string())).unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            !committed_lines(&root).contains(&lost.to_string()),
            "set aside for the grace, not written at once"
        );
        drop(tx);
        task.await.unwrap().unwrap();
        let lines = committed_lines(&root);
        assert_eq!(lines.iter().filter(|l| *l == lost).count(), 1, "{lines:?}");
        assert_eq!(
            lines.iter().filter(|l| *l == flushed).count(),
            1,
            "{lines:?}"
        );
    }

    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A write error is logged when it happens, with the path and the OS reason, again at
    /// every interval while it lasts, and the writer keeps running.
    #[tokio::test(flavor = "current_thread")]
    async fn a_write_error_is_logged_with_path_and_reason_at_every_interval() {
        let logs = Captured::default();
        let sink = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || sink.clone())
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(tmp.path()).unwrap();
        let (dataset, already) = Dataset::open(&tmp.path().join("dataset")).unwrap();
        let staging = tmp.path().join("dataset/_tmp");
        std::fs::remove_dir_all(&staging).unwrap();
        std::fs::write(&staging, b"in the way").unwrap();
        let (tx, task) = spawn_writer(&store, dataset, already);
        let id = "0123abcd-0000-4000-8000-000000000001";
        store.put(id, &stored(id)).unwrap();
        tx.send(Queued::Stored(id.to_string())).unwrap();
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(!task.is_finished(), "the writer must keep running");
        drop(tx);
        assert!(task.await.unwrap().is_err(), "the last flush failed too");
        let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
        let stuck = text.matches("the dataset cannot advance").count();
        assert!(stuck >= 3, "logged {stuck} times:\n{text}");
        assert!(text.contains(&staging.display().to_string()), "{text}");
        assert!(text.contains("File exists"), "the OS reason: {text}");
    }
}
