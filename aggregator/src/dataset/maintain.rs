//! The maintenance loop: every interval, compaction of the days that are over
//! ([`super::compact`]) and expiry of the snapshots past the retention ([`super::retention`]).
//! A failure is logged and tried again at the next interval; ingest goes on meanwhile.

use std::future::Future;
use std::time::Duration;

use super::{retention, Dataset};
use crate::store::Store;

/// When and what the maintenance does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Maintenance {
    /// Time between passes (the first runs at start).
    pub every: Duration,
    /// How long after a day's end (UTC) its parts are compacted: snapshots of the day that
    /// arrive later are compacted again at the next pass after them (`None`: never).
    pub compact_after: Option<Duration>,
    /// How long snapshots are kept, by collection day (`None`: forever).
    pub retention: Option<Duration>,
}

/// Runs a pass every interval until `stop` resolves.
pub async fn run(
    store: Store,
    dataset: Dataset,
    m: Maintenance,
    stop: impl Future<Output = ()> + Send + 'static,
) {
    let mut tick = tokio::time::interval(m.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(stop);
    loop {
        // A stop asked for during a pass is seen when it ends, before another starts.
        tokio::select! {
            biased;
            _ = &mut stop => break,
            _ = tick.tick() => {
                let (s, d, m) = (store.clone(), dataset.clone(), m.clone());
                let pass = tokio::task::spawn_blocking(move || pass(&s, &d, &m)).await;
                if let Err(e) = pass {
                    tracing::error!("the dataset maintenance failed: {e}");
                }
            }
        }
    }
}

/// One pass, now.
pub fn pass(store: &Store, dataset: &Dataset, m: &Maintenance) {
    let now = chrono::Utc::now().timestamp_millis();
    if let Some(after) = m.compact_after {
        if let Err(e) = dataset.compact(now, after) {
            tracing::error!("dataset compaction: {e}; tried again at the next pass");
        }
    }
    if let Some(keep) = m.retention {
        if let Err(e) = retention::expire(store, dataset, now, keep) {
            tracing::error!("retention: {e}; tried again at the next pass");
        }
    }
}
