//! The Ingest service: one stream per collector connection, one ack per snapshot, sent only
//! after the store made it durable.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use exfleet_proto::v1::ingest_server::Ingest;
use exfleet_proto::v1::upload_ack::Status as AckStatus;
use exfleet_proto::v1::{StoredSnapshot, UploadAck, UploadRequest};
use prost::Message;
use tokio::sync::{mpsc, Semaphore};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::Stream;
use tonic::{Request, Response, Status, Streaming};

use crate::dataset::flush::Queued;
use crate::identity::{CollectorId, Enrolled, Policy};
use crate::metrics::{Metrics, Rejection};
use crate::store::{valid_id, Put, Store};
use exfleet_proto::v1::stored_snapshot::IdentityKind;

/// Acks waiting to be sent per stream; a slow reader slows its own uploads only.
const ACK_BUFFER: usize = 64;

/// Durable writes in flight at once without group commit. Each holds a blocking thread
/// through its fsyncs; more than this only makes threads and the file system journal contend
/// (BENCHMARKS.md). With group commit a write waits for its batch without a thread, and the
/// uploads in flight are the only bound.
const CONCURRENT_PUTS: usize = 32;

/// Back-pressure (ingest.proto): how many uploads may be in flight, and how long a collector
/// refused for one more is told to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackPressure {
    /// Upload streams open at once.
    pub max_uploads_in_flight: usize,
    /// The `retry-after` of a refusal (whole seconds, at least 1).
    pub retry_after: Duration,
}

impl Default for BackPressure {
    fn default() -> Self {
        BackPressure {
            max_uploads_in_flight: 256,
            retry_after: Duration::from_secs(5),
        }
    }
}

/// The metadata key of the wait a RESOURCE_EXHAUSTED refusal asks for, in seconds.
pub const RETRY_AFTER: &str = "retry-after";

/// The Ingest service over a store.
#[derive(Debug, Clone)]
pub struct IngestService {
    store: Store,
    puts: Arc<Semaphore>,
    /// One permit per upload stream open; none left means refuse with retry-after.
    uploads: Arc<Semaphore>,
    back_pressure: BackPressure,
    /// Told the id of every newly stored snapshot (the dataset flusher).
    stored: Option<mpsc::UnboundedSender<Queued>>,
    /// The largest message accepted (named when one is refused).
    max_message_bytes: usize,
    /// What each certificate may speak for.
    identities: Arc<Policy>,
    /// Counts what happens to uploads.
    metrics: Metrics,
}

impl IngestService {
    /// A service that stores into `store` and reports new ids to `stored`.
    pub fn new(store: Store, stored: Option<mpsc::UnboundedSender<Queued>>) -> Self {
        IngestService {
            store,
            puts: Arc::new(Semaphore::new(CONCURRENT_PUTS)),
            uploads: Arc::new(Semaphore::new(
                BackPressure::default().max_uploads_in_flight,
            )),
            back_pressure: BackPressure::default(),
            stored,
            max_message_bytes: 32 << 20,
            identities: Arc::new(Policy::default()),
            metrics: Metrics::new(),
        }
    }

    /// Counts into `metrics` (the ones the metrics listener serves).
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// The identity policy (which certificates are triage workstations).
    pub fn with_identities(mut self, policy: Policy) -> Self {
        self.identities = Arc::new(policy);
        self
    }

    /// Bounds the uploads in flight.
    pub fn with_back_pressure(mut self, b: BackPressure) -> Self {
        self.uploads = Arc::new(Semaphore::new(b.max_uploads_in_flight.max(1)));
        self.back_pressure = b;
        self
    }

    /// Names the message size limit the server enforces, for the refusal's message.
    pub fn with_max_message_bytes(mut self, bytes: usize) -> Self {
        self.max_message_bytes = bytes;
        self
    }
}

type AckStream = Pin<Box<dyn Stream<Item = Result<UploadAck, Status>> + Send>>;

#[tonic::async_trait]
impl Ingest for IngestService {
    type UploadStream = AckStream;

    async fn upload(
        &self,
        req: Request<Streaming<UploadRequest>>,
    ) -> Result<Response<AckStream>, Status> {
        let collector = req
            .extensions()
            .get::<CollectorId>()
            .cloned()
            .ok_or_else(|| Status::unauthenticated("no collector identity"))?;
        let enrolled = req.extensions().get::<Enrolled>().is_some_and(|e| e.0);
        let Ok(in_flight) = self.uploads.clone().try_acquire_owned() else {
            tracing::info!(collector = %collector.0, "upload refused: uploads in flight at their bound");
            self.metrics.rejected(Rejection::BackPressure);
            return Err(busy(&self.back_pressure));
        };
        let mut inbound = req.into_inner();
        let store = self.store.clone();
        let puts = self.puts.clone();
        let stored = self.stored.clone();
        let max_message_bytes = self.max_message_bytes;
        let identities = self.identities.clone();
        let metrics = self.metrics.clone();
        let (tx, rx) = mpsc::channel(ACK_BUFFER);
        tokio::spawn(async move {
            // Held until the stream ends: the upload is in flight until then.
            let _in_flight = in_flight;
            loop {
                let msg = match inbound.message().await {
                    Ok(Some(m)) => m,
                    Ok(None) => break,
                    Err(status) => {
                        // Too large, undecodable or garbage: the stream ends with a status
                        // that says why, never with OK and no ack.
                        let status = refused(status, max_message_bytes);
                        let why = match status.code() {
                            tonic::Code::ResourceExhausted => Some(Rejection::Size),
                            tonic::Code::InvalidArgument => Some(Rejection::Invalid),
                            _ => None,
                        };
                        if let Some(why) = why {
                            metrics.rejected(why);
                            tracing::warn!(collector = %collector.0, "{}", status.message());
                        } else {
                            // The client went away or the connection broke.
                            tracing::debug!(collector = %collector.0, %status, "upload stream ended");
                        }
                        let _ = tx.send(Err(status)).await;
                        break;
                    }
                };
                let reply = accept(
                    (&store, &puts),
                    &identities,
                    &metrics,
                    (&collector, enrolled),
                    msg,
                )
                .await;
                let reply = match (reply, &stored) {
                    (Ok((ack, Some(queued))), Some(notify)) => {
                        let _ = notify.send(queued);
                        Ok(ack)
                    }
                    (reply, _) => reply.map(|(ack, _)| ack),
                };
                let failed = reply.is_err();
                if tx.send(reply).await.is_err() || failed {
                    break;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

/// Stores one uploaded snapshot and says how it went. A storage failure ends the stream
/// with `UNAVAILABLE` (nothing was acked, the collector sends again later).
async fn accept(
    (store, puts): (&Store, &Semaphore),
    identities: &Policy,
    metrics: &Metrics,
    (collector, enrolled): (&CollectorId, bool),
    msg: UploadRequest,
) -> Result<(UploadAck, Option<Queued>), Status> {
    let received = std::time::Instant::now();
    let Some(snapshot) = msg.snapshot else {
        metrics.rejected(Rejection::Invalid);
        return Ok((
            ack("", AckStatus::Rejected, "the request carries no snapshot"),
            None,
        ));
    };
    let id = snapshot.snapshot_id.clone();
    if !valid_id(&id) {
        metrics.rejected(Rejection::Invalid);
        return Ok((
            ack(
                &id,
                AckStatus::Rejected,
                "snapshot_id must be 8 to 64 letters, digits, '-' or '_'",
            ),
            None,
        ));
    }
    if let Err(why) = check_time(
        snapshot.collected_at_ms,
        chrono::Utc::now().timestamp_millis(),
    ) {
        tracing::warn!(collector = %collector.0, snapshot = %id, "upload refused: {why}");
        metrics.rejected(Rejection::Time);
        return Err(Status::invalid_argument(format!(
            "snapshot {id} refused: {why}"
        )));
    }
    let host = snapshot
        .host
        .as_ref()
        .map_or("", |h| h.computer_name.as_str());
    // An enrolled certificate is a server identity, whatever the triage list says of its name.
    let judged = if enrolled {
        Ok(IdentityKind::Server)
    } else {
        identities.judge(&collector.0, host)
    };
    let kind = match judged {
        Ok(kind) => kind,
        Err(why) => {
            tracing::warn!(collector = %collector.0, snapshot = %id, "upload refused: {why}");
            metrics.rejected(Rejection::Identity);
            return Err(Status::permission_denied(format!(
                "snapshot {id} refused: {why}"
            )));
        }
    };
    if kind == IdentityKind::Server && !collector.0.eq_ignore_ascii_case(host) {
        // Kept as evidence; the dataset flags it and the analysis never takes it as the
        // host's state (security.identity-mismatch).
        tracing::warn!(
            collector = %collector.0,
            snapshot = %id,
            host,
            "a server certificate sent a snapshot of another computer: stored, flagged"
        );
    }
    let stored = StoredSnapshot {
        snapshot: Some(snapshot),
        collector_id: collector.0.clone(),
        received_at_ms: chrono::Utc::now().timestamp_millis(),
        identity_kind: kind as i32,
    };
    let (bytes, version) = (
        stored.encoded_len(),
        stored
            .snapshot
            .as_ref()
            .map_or(String::new(), |s| s.collector_version.clone()),
    );
    let permit = match store.group_commit() {
        true => None,
        false => Some(
            puts.acquire()
                .await
                .map_err(|_| Status::unavailable("shutting down"))?,
        ),
    };
    metrics.writes_in_flight().inc();
    let put = store.put_async(&id, stored).await;
    metrics.writes_in_flight().dec();
    drop(permit);
    match put {
        Ok(Put::Stored) => {
            tracing::debug!(collector = %collector.0, snapshot = %id, "stored");
            metrics.stored(bytes, &collector.0, &version);
            metrics.acked(received.elapsed());
            Ok((ack(&id, AckStatus::Stored, ""), Some(Queued::Stored(id))))
        }
        Ok(Put::Duplicate) => {
            metrics.duplicate();
            metrics.acked(received.elapsed());
            Ok((ack(&id, AckStatus::Duplicate, "already stored"), None))
        }
        // Maybe never flushed (its writer killed, or this aggregator's own lost attempt):
        // checked against the committed batches once the grace has passed.
        Ok(Put::Exists) => {
            metrics.duplicate();
            metrics.acked(received.elapsed());
            Ok((
                ack(&id, AckStatus::Duplicate, "already stored"),
                Some(Queued::Found(id)),
            ))
        }
        Err(e) => {
            tracing::error!(snapshot = %id, "{e:#}");
            metrics.rejected(Rejection::Storage);
            Err(Status::unavailable(format!(
                "the aggregator could not store the snapshot: {e}"
            )))
        }
    }
}

/// The refusal of an upload beyond the bound: RESOURCE_EXHAUSTED with `retry-after`.
fn busy(b: &BackPressure) -> Status {
    let secs = b.retry_after.as_secs().max(1);
    let mut status = Status::resource_exhausted(format!(
        "the aggregator has {} uploads in flight, its bound; nothing was read: retry after \
         {secs} s",
        b.max_uploads_in_flight
    ));
    status
        .metadata_mut()
        .insert(RETRY_AFTER, tonic::metadata::MetadataValue::from(secs));
    status
}

fn ack(id: &str, status: AckStatus, message: &str) -> UploadAck {
    UploadAck {
        snapshot_id: id.to_string(),
        status: status as i32,
        message: message.to_string(),
    }
}

/// 2000-01-01T00:00:00Z: no Exchange snapshot is older.
const EARLIEST_MS: i64 = 946_684_800_000;
/// How far ahead of the aggregator's clock a collector's clock may be.
const AHEAD_MS: i64 = 86_400_000;

/// Refuses a collection time outside the sane window: before 2000 or more than a day ahead
/// of `now_ms`; such times would become absurd dataset partitions (year -251540 or 2200).
pub fn check_time(collected_at_ms: i64, now_ms: i64) -> Result<(), String> {
    let show = |ms: i64| match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => format!(
            "{ms} ({})",
            t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ),
        None => format!("{ms} (not a representable date)"),
    };
    if collected_at_ms < EARLIEST_MS {
        Err(format!(
            "collected_at_ms {} is before 2000-01-01T00:00:00Z",
            show(collected_at_ms)
        ))
    } else if collected_at_ms > now_ms.saturating_add(AHEAD_MS) {
        Err(format!(
            "collected_at_ms {} is more than a day ahead of the aggregator's clock ({})",
            show(collected_at_ms),
            show(now_ms)
        ))
    } else {
        Ok(())
    }
}

/// The status a stream that could not be read ends with: tonic's, reworded so that the
/// collector can tell what was wrong and that nothing was stored.
fn refused(status: Status, max_message_bytes: usize) -> Status {
    match status.code() {
        tonic::Code::OutOfRange | tonic::Code::ResourceExhausted => {
            Status::resource_exhausted(format!(
                "upload refused, nothing stored: the message is larger than this aggregator's \
             max-message-bytes ({max_message_bytes}): {}",
                status.message()
            ))
        }
        tonic::Code::Internal | tonic::Code::InvalidArgument | tonic::Code::Unimplemented => {
            Status::invalid_argument(format!(
                "upload refused, nothing stored: not a valid UploadRequest: {}",
                status.message()
            ))
        }
        _ => status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_outside_the_sane_window_are_refused_naming_the_time() {
        let now = 1_795_000_000_000; // 2026-11-18
        let e = check_time(i64::MIN, now).unwrap_err();
        assert!(
            e.contains(&i64::MIN.to_string()) && e.contains("before 2000"),
            "{e}"
        );
        // 2200-01-01
        let e = check_time(7_258_118_400_000, now).unwrap_err();
        assert!(
            e.contains("2200-01-01T00:00:00Z") && e.contains("ahead"),
            "{e}"
        );
        assert!(check_time(i64::MAX, now).is_err());
        assert!(check_time(EARLIEST_MS - 1, now).is_err());
        assert!(check_time(EARLIEST_MS, now).is_ok());
        assert!(check_time(now + AHEAD_MS, now).is_ok());
        assert!(check_time(now + AHEAD_MS + 1, now).is_err());
    }
}
