//! The Ingest service: one stream per collector connection, one ack per snapshot, sent only
//! after the store made it durable.

use std::pin::Pin;
use std::sync::Arc;

use exfleet_proto::v1::ingest_server::Ingest;
use exfleet_proto::v1::upload_ack::Status as AckStatus;
use exfleet_proto::v1::{StoredSnapshot, UploadAck, UploadRequest};
use tokio::sync::{mpsc, Semaphore};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::Stream;
use tonic::{Request, Response, Status, Streaming};

use crate::identity::CollectorId;
use crate::store::{valid_id, Put, Store};

/// Acks waiting to be sent per stream; a slow reader slows its own uploads only.
const ACK_BUFFER: usize = 64;

/// Durable writes in flight at once. Each holds a blocking thread through its fsyncs; more
/// than this only makes threads and the file system journal contend (BENCHMARKS.md).
const CONCURRENT_PUTS: usize = 32;

/// The Ingest service over a store.
#[derive(Debug, Clone)]
pub struct IngestService {
    store: Store,
    puts: Arc<Semaphore>,
    /// Told the id of every newly stored snapshot (the dataset flusher).
    stored: Option<mpsc::UnboundedSender<String>>,
}

impl IngestService {
    /// A service that stores into `store` and reports new ids to `stored`.
    pub fn new(store: Store, stored: Option<mpsc::UnboundedSender<String>>) -> Self {
        IngestService {
            store,
            puts: Arc::new(Semaphore::new(CONCURRENT_PUTS)),
            stored,
        }
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
        let mut inbound = req.into_inner();
        let store = self.store.clone();
        let puts = self.puts.clone();
        let stored = self.stored.clone();
        let (tx, rx) = mpsc::channel(ACK_BUFFER);
        tokio::spawn(async move {
            loop {
                let msg = match inbound.message().await {
                    Ok(Some(m)) => m,
                    Ok(None) => break,
                    Err(status) => {
                        tracing::debug!(collector = %collector.0, %status, "upload stream ended");
                        break;
                    }
                };
                let reply = accept(&store, &puts, &collector, msg).await;
                if let (Ok(ack), Some(notify)) = (&reply, &stored) {
                    if ack.status == AckStatus::Stored as i32 {
                        let _ = notify.send(ack.snapshot_id.clone());
                    }
                }
                if tx.send(reply).await.is_err() {
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
    store: &Store,
    puts: &Semaphore,
    collector: &CollectorId,
    msg: UploadRequest,
) -> Result<UploadAck, Status> {
    let Some(snapshot) = msg.snapshot else {
        return Ok(ack(
            "",
            AckStatus::Rejected,
            "the request carries no snapshot",
        ));
    };
    let id = snapshot.snapshot_id.clone();
    if !valid_id(&id) {
        return Ok(ack(
            &id,
            AckStatus::Rejected,
            "snapshot_id must be 8 to 64 letters, digits, '-' or '_'",
        ));
    }
    let stored = StoredSnapshot {
        snapshot: Some(snapshot),
        collector_id: collector.0.clone(),
        received_at_ms: chrono::Utc::now().timestamp_millis(),
    };
    let s = store.clone();
    let key = id.clone();
    let _permit = puts
        .acquire()
        .await
        .map_err(|_| Status::unavailable("shutting down"))?;
    let put = tokio::task::spawn_blocking(move || s.put(&key, &stored))
        .await
        .map_err(|e| Status::internal(format!("store task failed: {e}")))?;
    match put {
        Ok(Put::Stored) => {
            tracing::debug!(collector = %collector.0, snapshot = %id, "stored");
            Ok(ack(&id, AckStatus::Stored, ""))
        }
        Ok(Put::Duplicate) => Ok(ack(&id, AckStatus::Duplicate, "already stored")),
        Err(e) => {
            tracing::error!(snapshot = %id, "{e:#}");
            Err(Status::unavailable(format!(
                "the aggregator could not store the snapshot: {e}"
            )))
        }
    }
}

fn ack(id: &str, status: AckStatus, message: &str) -> UploadAck {
    UploadAck {
        snapshot_id: id.to_string(),
        status: status as i32,
        message: message.to_string(),
    }
}
