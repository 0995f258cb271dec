//! Pushing snapshots to an aggregator: gRPC over mutual TLS, one stream per connection, and
//! a snapshot counts as delivered only when its ack says it is durable (stored now or
//! already). Re-sending is harmless: the aggregator dedups by snapshot id.

use std::path::Path;
use std::time::Duration;

use exfleet_proto::v1::ingest_client::IngestClient;
use exfleet_proto::v1::upload_ack::Status as AckStatus;
use exfleet_proto::v1::{Snapshot, UploadAck, UploadRequest};
use tonic::codec::CompressionEncoding;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::error::Error;

/// Largest message the client sends or accepts; matches the aggregator's default.
pub const MAX_MESSAGE_BYTES: usize = 32 << 20;

/// The collector's side of mutual TLS, PEM-encoded.
#[derive(Debug, Clone)]
pub struct ClientTls {
    /// CA that signed the aggregator's certificate.
    pub ca: String,
    /// The collector's certificate (its subject CN is its identity).
    pub cert: String,
    /// The collector's private key.
    pub key: String,
}

impl ClientTls {
    /// Reads the three PEM files.
    pub fn load(ca: &Path, cert: &Path, key: &Path) -> Result<Self, Error> {
        let read = |p: &Path| {
            std::fs::read_to_string(p).map_err(|source| Error::Io {
                path: p.to_path_buf(),
                source,
            })
        };
        Ok(ClientTls {
            ca: read(ca)?,
            cert: read(cert)?,
            key: read(key)?,
        })
    }
}

/// An upload failure.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The endpoint or TLS configuration is invalid.
    #[error("{0}")]
    Config(String),
    /// The connection failed or the aggregator ended the stream.
    #[error("{0}")]
    Transport(String),
    /// The aggregator refused a snapshot.
    #[error("snapshot {id} rejected: {message}")]
    Rejected {
        /// Snapshot id.
        id: String,
        /// The aggregator's reason.
        message: String,
    },
}

/// Opens a channel to `url` (`https://host:port`).
pub async fn connect(url: &str, tls: &ClientTls) -> Result<IngestClient<Channel>, UploadError> {
    let tls_config = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&tls.ca))
        .identity(Identity::from_pem(&tls.cert, &tls.key));
    let channel = Endpoint::from_shared(url.to_string())
        .map_err(|e| UploadError::Config(format!("{url}: {e}")))?
        .tls_config(tls_config)
        .map_err(|e| UploadError::Config(format!("{url}: {e}")))?
        .connect_timeout(Duration::from_secs(10))
        .connect()
        .await
        .map_err(|e| UploadError::Transport(format!("{url}: {}", chain(&e))))?;
    Ok(IngestClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
        .send_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Gzip))
}

/// Uploads snapshots over one stream and returns their acks, in order. Ends with an error
/// if the stream breaks before every snapshot is acked or a snapshot is rejected; acks
/// received before that are kept in the error's place by [`upload_each`].
pub async fn upload(
    client: &mut IngestClient<Channel>,
    snapshots: Vec<Snapshot>,
) -> Result<Vec<UploadAck>, UploadError> {
    let mut acks = Vec::with_capacity(snapshots.len());
    let result = upload_each(client, snapshots, |a| acks.push(a.clone())).await;
    result.map(|()| acks)
}

/// Uploads snapshots over one stream, calling `on_ack` as each ack arrives.
pub async fn upload_each(
    client: &mut IngestClient<Channel>,
    snapshots: Vec<Snapshot>,
    mut on_ack: impl FnMut(&UploadAck),
) -> Result<(), UploadError> {
    let expected = snapshots.len();
    let requests = tokio_stream::iter(
        snapshots
            .into_iter()
            .map(|s| UploadRequest { snapshot: Some(s) }),
    );
    let mut acks = client
        .upload(requests)
        .await
        .map_err(|s| UploadError::Transport(format!("{}: {}", s.code(), s.message())))?
        .into_inner();
    let mut seen = 0;
    while seen < expected {
        let ack = acks
            .message()
            .await
            .map_err(|s| UploadError::Transport(format!("{}: {}", s.code(), s.message())))?
            .ok_or_else(|| {
                UploadError::Transport(format!("stream ended after {seen} of {expected} acks"))
            })?;
        seen += 1;
        on_ack(&ack);
        if ack.status == AckStatus::Rejected as i32 {
            return Err(UploadError::Rejected {
                id: ack.snapshot_id,
                message: ack.message,
            });
        }
    }
    Ok(())
}

/// Uploads with retries: a broken connection is retried (`attempts` times, doubling the
/// pause from one second), since re-sending is harmless.
pub async fn upload_with_retry(
    url: &str,
    tls: &ClientTls,
    snapshots: Vec<Snapshot>,
    attempts: u32,
) -> Result<Vec<UploadAck>, UploadError> {
    let mut pause = Duration::from_secs(1);
    let mut last = None;
    for attempt in 1..=attempts.max(1) {
        let result = match connect(url, tls).await {
            Ok(mut c) => upload(&mut c, snapshots.clone()).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(acks) => return Ok(acks),
            Err(e @ (UploadError::Rejected { .. } | UploadError::Config(_))) => return Err(e),
            Err(e) => {
                tracing::warn!(attempt, "upload failed: {e}");
                last = Some(e);
                if attempt < attempts {
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
            }
        }
    }
    Err(last.unwrap_or_else(|| UploadError::Transport("no attempt made".into())))
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
