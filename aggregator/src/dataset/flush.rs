//! The flush loop: every `interval`, the snapshots stored since the last flush are written to
//! the dataset as one batch, so an acked snapshot is visible to the analyzer within one
//! interval (plus the time to write it). At start, stored snapshots that no committed batch
//! holds are queued first.

use std::collections::HashSet;
use std::time::Duration;

use tokio::sync::mpsc;

use super::writer::Dataset;
use crate::error::Error;
use crate::store::Store;

/// Largest batch written at once, so that a long backlog is written in bounded pieces.
const MAX_BATCH: usize = 5_000;

/// Runs until `ids` closes (the server stopped), then flushes what is left.
pub async fn run(
    store: Store,
    dataset: Dataset,
    already: HashSet<String>,
    mut ids: mpsc::UnboundedReceiver<String>,
    interval: Duration,
) -> Result<(), Error> {
    let mut pending: Vec<String> = store
        .ids()
        .into_iter()
        .filter(|id| !already.contains(id))
        .collect();
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            id = ids.recv() => match id {
                Some(id) => pending.push(id),
                None => break,
            },
            _ = tick.tick() => flush(&store, &dataset, &mut pending).await?,
        }
    }
    while let Ok(id) = ids.try_recv() {
        pending.push(id);
    }
    flush(&store, &dataset, &mut pending).await
}

async fn flush(store: &Store, dataset: &Dataset, pending: &mut Vec<String>) -> Result<(), Error> {
    while !pending.is_empty() {
        let take = pending.len().min(MAX_BATCH);
        let batch: Vec<String> = pending.drain(..take).collect();
        let (s, d) = (store.clone(), dataset.clone());
        let info = tokio::task::spawn_blocking(move || {
            let snapshots = batch
                .iter()
                .map(|id| s.get(id))
                .collect::<Result<Vec<_>, _>>()?;
            d.write_batch(&snapshots)
        })
        .await
        .map_err(|e| Error::Io {
            path: dataset.root().to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        })??;
        tracing::info!(batch = %info.batch, snapshots = info.snapshots, files = info.files, "dataset flushed");
    }
    Ok(())
}
