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
//! first batch's rows.

use std::collections::HashSet;
use std::time::{Duration, Instant};

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

/// Runs until `ids` closes (the server stopped), then flushes what is left. Returns an error
/// only when that last flush fails (the next start writes what is missing).
pub async fn run(
    store: Store,
    dataset: Dataset,
    already: HashSet<String>,
    mut ids: mpsc::UnboundedReceiver<String>,
    interval: Duration,
    health: Option<HealthReporter>,
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
        tokio::select! {
            id = ids.recv() => match id {
                Some(id) => pending.push(id),
                None => break,
            },
            _ = tick.tick() => {
                if deferred.due() {
                    deferred.take(&dataset, &mut pending).await;
                }
                let result = flush(&store, &dataset, &mut pending).await;
                state.after(result, pending.len()).await;
            }
        }
    }
    while let Ok(id) = ids.try_recv() {
        pending.push(id);
    }
    deferred.take(&dataset, &mut pending).await;
    let result = flush(&store, &dataset, &mut pending).await;
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

/// Snapshots set aside at start (on a bucket): written within the grace before it.
struct Deferred {
    ids: Vec<String>,
    until: Instant,
}

impl Deferred {
    /// Moves out of `pending` the snapshots the store's bucket says were written within
    /// [`grace`] before now.
    fn split(store: &Store, pending: &mut Vec<String>, interval: Duration) -> Deferred {
        let grace = grace(interval);
        let since = chrono::Utc::now().timestamp_millis() - grace.as_millis() as i64;
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
        Deferred {
            ids: recent,
            until: Instant::now() + grace,
        }
    }

    fn due(&self) -> bool {
        !self.ids.is_empty() && Instant::now() >= self.until
    }

    /// Adds to `pending` the deferred snapshots no committed batch holds now. If the
    /// committed batches cannot be read, all of them (readers deduplicate).
    async fn take(&mut self, dataset: &Dataset, pending: &mut Vec<String>) {
        if self.ids.is_empty() {
            return;
        }
        let d = dataset.clone();
        let committed = tokio::task::spawn_blocking(move || d.committed()).await;
        let ids = std::mem::take(&mut self.ids);
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
            let mut snapshots = Vec::with_capacity(batch.len());
            for id in &batch {
                match s.get(id) {
                    Ok(x) => snapshots.push(x),
                    // Undecodable: writing it again cannot help. Named, and left out.
                    Err(e @ Error::Corrupt { .. }) => {
                        tracing::error!(
                            "a stored snapshot cannot be read, left out of the dataset: {e}"
                        )
                    }
                    Err(e) => return Err(e),
                }
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::stored;

    /// The writer over `store`, flushing every 50 ms: the sender of stored ids and its task.
    fn spawn_writer(
        store: &Store,
        dataset: Dataset,
        already: HashSet<String>,
    ) -> (
        mpsc::UnboundedSender<String>,
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
        ));
        (tx, task)
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
        tx.send(id2.to_string()).unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!task.is_finished(), "the writer must keep running");
        drop(tx);
        task.await.unwrap().unwrap();
        let (_, ids) = Dataset::open(&tmp.path().join("dataset")).unwrap();
        assert_eq!(ids.len(), 2, "{ids:?}");
        assert!(ids.contains(id) && ids.contains(id2));
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
        tx.send(id.to_string()).unwrap();
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
