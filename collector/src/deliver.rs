//! Delivering what a spool holds: oldest first, a batch per stream, each snapshot removed
//! only when its ack says it is durable, one the aggregator refuses moved aside with the
//! reason, and the waits of [`crate::retry`] between attempts that do not deliver.

use std::collections::VecDeque;
use std::time::Duration;

use exfleet_proto::v1::upload_ack::Status as AckStatus;

use crate::client::{self, ClientTls, UploadError};
use crate::error::Error;
use crate::retry::{Failure, Retry, RetryPolicy};
use crate::spool::{Entry, Spool};

/// Snapshots sent over one stream: a few MB each, so a batch stays well under the memory a
/// collector may take while a backlog of days goes in a few round trips.
const BATCH: usize = 8;

/// How a run ended, for the exit code scripts rely on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The snapshot was written, or acknowledged as durable (exit 0).
    Done,
    /// The snapshot is in the spool but not delivered yet: the aggregator could not be
    /// reached in the time given, or another run holds the spool (exit 3). The next run
    /// sends it.
    Spooled,
}

impl Outcome {
    /// The process exit code: 0 done, 3 spooled; a failure (nothing written or kept) is 2.
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Done => 0,
            Outcome::Spooled => 3,
        }
    }
}

/// What a delivery did.
#[derive(Debug, Default)]
pub struct Delivery {
    /// Snapshot ids acknowledged as durable (stored now, or already), in order.
    pub delivered: Vec<String>,
    /// Snapshots moved aside, with the reason.
    pub rejected: Vec<(String, String)>,
    /// Each wait taken before trying again, and why.
    pub waits: Vec<(Failure, Duration)>,
    /// Snapshots still in the spool.
    pub left: usize,
    /// Why delivery stopped with snapshots left (their attempts or time were spent).
    pub gave_up: Option<UploadError>,
}

/// Sends every snapshot the spool holds to `url`, oldest first.
pub async fn deliver(
    spool: &Spool,
    url: &str,
    tls: &ClientTls,
    policy: &RetryPolicy,
) -> Result<Delivery, Error> {
    let mut out = Delivery::default();
    let mut queue: VecDeque<Entry> = spool.pending()?.into();
    let mut retry = Retry::new(*policy);
    while !queue.is_empty() {
        let (batch, snapshots) = load_batch(spool, &mut queue, &mut out)?;
        if batch.is_empty() {
            continue;
        }
        let mut acked = vec![false; batch.len()];
        let mut spool_error = None;
        let result = client::attempt(url, tls, policy.attempt_timeout, snapshots, |ack| {
            let Some(i) = batch
                .iter()
                .zip(&acked)
                .position(|(e, done)| !done && e.snapshot_id == ack.snapshot_id)
            else {
                tracing::warn!(snapshot = %ack.snapshot_id, "an ack for no snapshot sent");
                return;
            };
            acked[i] = true;
            let entry = &batch[i];
            let durable = [AckStatus::Stored as i32, AckStatus::Duplicate as i32];
            if ack.status != AckStatus::Rejected as i32 && !durable.contains(&ack.status) {
                // Not an answer this collector knows: not taken for durable.
                tracing::warn!(snapshot = %ack.snapshot_id, status = ack.status, "unknown ack status");
                acked[i] = false;
                return;
            }
            let done = if ack.status == AckStatus::Rejected as i32 {
                tracing::error!(snapshot = %entry.snapshot_id, "rejected: {}", ack.message);
                out.rejected
                    .push((entry.snapshot_id.clone(), ack.message.clone()));
                spool.reject(
                    entry,
                    &format!("rejected by the aggregator: {}", ack.message),
                )
            } else {
                tracing::info!(snapshot = %entry.snapshot_id, status = ack.status, "delivered");
                out.delivered.push(entry.snapshot_id.clone());
                spool.remove(entry)
            };
            if let Err(e) = done {
                spool_error.get_or_insert(e);
            }
        })
        .await;
        if let Some(e) = spool_error {
            return Err(e);
        }
        let progressed = acked.iter().any(|a| *a);
        let unacked: Vec<Entry> = batch
            .into_iter()
            .zip(acked)
            .filter(|(_, a)| !a)
            .map(|(e, _)| e)
            .collect();
        if progressed {
            retry = Retry::new(*policy);
        }
        let (failure, error) = match result {
            Ok(()) if unacked.is_empty() => continue,
            Ok(()) => (
                Failure::Failed,
                UploadError::Transport(format!(
                    "{url}: {} acks with a status this collector does not know",
                    unacked.len()
                )),
            ),
            Err(e @ UploadError::Denied(_)) => {
                // Nothing is wrong with the snapshots: all stay spooled.
                requeue(&mut queue, unacked);
                tracing::error!("{e}");
                out.gave_up = Some(e);
                break;
            }
            Err(UploadError::Config(m)) => {
                return Err(Error::Config {
                    path: url.into(),
                    message: m,
                })
            }
            Err(e @ (UploadError::Refused(_) | UploadError::TooLarge { .. })) => {
                // The stream ended on the first snapshot not acknowledged: that one was
                // refused, and sending it again cannot help.
                let mut rest = unacked.into_iter();
                if let Some(first) = rest.next() {
                    tracing::error!(snapshot = %first.snapshot_id, "refused: {e}");
                    spool.reject(&first, &e.to_string())?;
                    out.rejected
                        .push((first.snapshot_id.clone(), e.to_string()));
                }
                requeue(&mut queue, rest.collect());
                retry = Retry::new(*policy);
                continue;
            }
            Err(e @ UploadError::Busy { retry_after, .. }) => (Failure::Busy(retry_after), e),
            Err(e) => {
                tracing::warn!("upload attempt failed: {e}");
                (Failure::Failed, e)
            }
        };
        requeue(&mut queue, unacked);
        match retry.after(failure) {
            Some(wait) => {
                tracing::info!(
                    ?failure,
                    wait_secs = wait.as_secs_f64(),
                    "waiting to try again"
                );
                out.waits.push((failure, wait));
                tokio::time::sleep(wait).await;
            }
            None => {
                out.gave_up = Some(error);
                break;
            }
        }
    }
    out.left = spool.pending()?.len();
    Ok(out)
}

/// The enrolled identity in `dir`, renewed first when it is in the last third of its
/// validity (a failed renewal is a warning: the current certificate is still good).
pub fn identity_for_push(
    rt: &tokio::runtime::Runtime,
    url: &str,
    dir: &std::path::Path,
    timeout_secs: u64,
) -> anyhow::Result<crate::client::ClientTls> {
    let identity = crate::enroll::IdentityDir::new(dir);
    if identity.needs_renewal(chrono::Utc::now().timestamp_millis())? {
        let timeout = Duration::from_secs(timeout_secs);
        match rt.block_on(crate::enroll::renew(url, &identity, timeout)) {
            Ok(issued) => tracing::info!(
                name = %issued.common_name,
                not_after_ms = issued.not_after_ms,
                "certificate renewed"
            ),
            Err(e) => {
                tracing::warn!("certificate renewal failed, pushing with the current one: {e}")
            }
        }
    }
    Ok(identity.load()?)
}

/// Puts the snapshot in the spool, then delivers everything the spool holds and applies the
/// spool's bounds to what is left (so that nothing is dropped that could have been
/// delivered). Only the run holding the spool's lock reports and applies drops and delivers;
/// another run spools its snapshot and leaves it to that one. `tls` is read once the snapshot
/// is spooled, so that an identity that cannot be loaded costs a delivery, not the evidence.
/// Once the snapshot is spooled, a failure is logged and the outcome is
/// [`Outcome::Spooled`]: the snapshot is kept, the next run sends it.
pub fn spool_and_deliver(
    rt: &tokio::runtime::Runtime,
    dir: &std::path::Path,
    limits: &crate::spool::Limits,
    mut snapshot: exfleet_proto::v1::Snapshot,
    url: &str,
    tls: impl FnOnce() -> anyhow::Result<crate::client::ClientTls>,
    policy: &crate::retry::RetryPolicy,
) -> anyhow::Result<Outcome> {
    let spool = crate::spool::Spool::open(dir)?;
    let Some(_lock) = spool.try_lock()? else {
        let entry = spool.put(&snapshot)?;
        tracing::info!(snapshot = %entry.snapshot_id, spool = %dir.display(), "spooled");
        tracing::warn!(
            spool = %dir.display(),
            "another run is delivering from this spool; the snapshot waits there for it or the next run"
        );
        return Ok(Outcome::Spooled);
    };
    spool.clean_tmp()?;
    snapshot.errors.extend(spool.unreported()?);
    let entry = spool.put(&snapshot)?;
    tracing::info!(snapshot = %entry.snapshot_id, spool = %dir.display(), "spooled");
    // Reported in a snapshot that is now durable: a crash before this line reports the drops
    // twice, never not at all.
    if let Err(e) = spool.reported() {
        tracing::warn!("{e:#}");
    }
    match deliver_spooled(rt, &spool, &entry, limits, url, tls, policy) {
        Ok(outcome) => Ok(outcome),
        Err(e) if e.downcast_ref::<Rejected>().is_some() => Err(e),
        Err(e) => {
            tracing::warn!(
                snapshot = %entry.snapshot_id,
                "not delivered, kept in the spool: {e:#}"
            );
            Ok(Outcome::Spooled)
        }
    }
}

/// This run's own snapshot was refused by the aggregator (exit 2: it will not be sent again).
#[derive(Debug, thiserror::Error)]
#[error("snapshot {id} was rejected and moved to {aside}: {why}")]
struct Rejected {
    id: String,
    aside: String,
    why: String,
}

fn deliver_spooled(
    rt: &tokio::runtime::Runtime,
    spool: &Spool,
    entry: &Entry,
    limits: &crate::spool::Limits,
    url: &str,
    tls: impl FnOnce() -> anyhow::Result<crate::client::ClientTls>,
    policy: &crate::retry::RetryPolicy,
) -> anyhow::Result<Outcome> {
    let tls = tls()?;
    let d = rt.block_on(deliver(spool, url, &tls, policy))?;
    tracing::info!(
        delivered = d.delivered.len(),
        rejected = d.rejected.len(),
        left = d.left,
        "spool delivered"
    );
    if d.left > 0 {
        spool.enforce(limits, chrono::Utc::now().timestamp_millis(), entry)?;
    }
    let this_one = |id: &str| id == entry.snapshot_id;
    if let Some((_, why)) = d.rejected.iter().find(|(id, _)| this_one(id)) {
        return Err(Rejected {
            id: entry.snapshot_id.clone(),
            aside: spool.dir().join("rejected").display().to_string(),
            why: why.clone(),
        }
        .into());
    }
    if d.delivered.iter().any(|id| this_one(id)) {
        if d.left > 0 {
            tracing::warn!(left = d.left, "older snapshots still in the spool");
        }
        return Ok(Outcome::Done);
    }
    match d.gave_up {
        Some(e) => tracing::warn!(left = d.left, "not delivered, kept in the spool: {e}"),
        None => tracing::warn!(left = d.left, "not delivered, kept in the spool"),
    }
    Ok(Outcome::Spooled)
}

/// Takes the next snapshots off the queue and reads them; one that cannot be read or is too
/// large to send is moved aside, not sent.
fn load_batch(
    spool: &Spool,
    queue: &mut VecDeque<Entry>,
    out: &mut Delivery,
) -> Result<(Vec<Entry>, Vec<exfleet_proto::v1::Snapshot>), Error> {
    let mut batch = Vec::new();
    let mut snapshots = Vec::new();
    while batch.len() < BATCH {
        let Some(entry) = queue.pop_front() else {
            break;
        };
        let why = match spool.load(&entry) {
            Ok(s) => match client::check_size(&s) {
                Ok(()) => {
                    batch.push(entry);
                    snapshots.push(s);
                    continue;
                }
                Err(e) => e.to_string(),
            },
            Err(crate::spool::Unreadable::Invalid(why)) => why,
            Err(crate::spool::Unreadable::Io(why)) => {
                // Gone (another run delivered it) or not readable now: kept for a later run.
                tracing::warn!(snapshot = %entry.snapshot_id, "not read this time: {why}");
                continue;
            }
        };
        tracing::error!(snapshot = %entry.snapshot_id, "set aside: {why}");
        spool.reject(&entry, &why)?;
        out.rejected.push((entry.snapshot_id.clone(), why));
    }
    Ok((batch, snapshots))
}

fn requeue(queue: &mut VecDeque<Entry>, entries: Vec<Entry>) {
    for e in entries.into_iter().rev() {
        queue.push_front(e);
    }
}
