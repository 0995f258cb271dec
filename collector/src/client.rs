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
use crate::retry::{Failure, Retry, RetryPolicy};

/// Largest message the client sends or accepts; matches the aggregator's default.
pub const MAX_MESSAGE_BYTES: usize = 32 << 20;
/// How long one attempt (connect, send, every ack) may take by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// HTTP/2 pings on an open connection, idle or not, so that a peer that stopped answering is
/// noticed...
pub const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(10);
/// ...when a ping is not answered within this.
pub const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(10);

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
    /// The aggregator did not answer in time (stopped, or too slow): retried like a broken
    /// connection.
    #[error("{0}")]
    Timeout(String),
    /// A snapshot is larger than a message may be: not sent (sending it again cannot help).
    #[error("snapshot {id} is {bytes} bytes, more than the {MAX_MESSAGE_BYTES} bytes an upload may carry; not sent")]
    TooLarge {
        /// Snapshot id.
        id: String,
        /// Its encoded size.
        bytes: usize,
    },
    /// The aggregator refused the upload before reading any snapshot (the certificate revoked
    /// or not accepted): nothing is wrong with the snapshots, and nothing more is sent.
    #[error("the aggregator refused this collector: {0}")]
    Denied(String),
    /// The aggregator refused the upload with a status that a retry cannot change (invalid,
    /// too large, not permitted for this certificate): not retried.
    #[error("the aggregator refused the upload: {0}")]
    Refused(String),
    /// The aggregator is at its bound of uploads in flight and asked for a wait
    /// (back-pressure, ingest.proto): the snapshot is kept and sent after it.
    #[error("{message} (retry after {} s)", retry_after.as_secs())]
    Busy {
        /// The wait asked for.
        retry_after: Duration,
        /// The aggregator's message.
        message: String,
    },
    /// The aggregator refused a snapshot.
    #[error("snapshot {id} rejected: {message}")]
    Rejected {
        /// Snapshot id.
        id: String,
        /// The aggregator's reason.
        message: String,
    },
}

/// Opens a channel to `url` (`https://host:port`) for a long-lived stream: connecting must end
/// within [`DEFAULT_TIMEOUT`], and keep-alive pings notice a peer that stops answering, but
/// requests have no deadline of their own ([`connect_with`] sets one).
pub async fn connect(url: &str, tls: &ClientTls) -> Result<IngestClient<Channel>, UploadError> {
    connect_with(url, tls, DEFAULT_TIMEOUT, None).await
}

/// Opens a channel to `url`: connecting (TCP and TLS) must end within `connect_timeout`;
/// requests have `request_timeout` as their deadline, if any; HTTP/2 keep-alive pings (idle or
/// not) and TCP keep-alive notice an aggregator that stopped answering.
pub async fn connect_with(
    url: &str,
    tls: &ClientTls,
    connect_timeout: Duration,
    request_timeout: Option<Duration>,
) -> Result<IngestClient<Channel>, UploadError> {
    let identity = Some((tls.cert.as_str(), tls.key.as_str()));
    let channel = channel(url, &tls.ca, identity, connect_timeout, request_timeout).await?;
    Ok(IngestClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES)
        .send_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Gzip))
}

/// A TLS channel to `url` that trusts the CA `ca_pem`, presenting `identity` (certificate and
/// key, PEM) when given (mutual TLS) or no certificate (enrollment), with the deadlines and
/// keep-alives of [`connect_with`].
pub async fn channel(
    url: &str,
    ca_pem: &str,
    identity: Option<(&str, &str)>,
    connect_timeout: Duration,
    request_timeout: Option<Duration>,
) -> Result<Channel, UploadError> {
    let mut tls_config = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca_pem));
    if let Some((cert, key)) = identity {
        tls_config = tls_config.identity(Identity::from_pem(cert, key));
    }
    let endpoint = Endpoint::from_shared(url.to_string())
        .map_err(|e| UploadError::Config(format!("{url}: {e}")))?
        .tls_config(tls_config)
        .map_err(|e| UploadError::Config(format!("{url}: {e}")))?
        .http2_keep_alive_interval(KEEP_ALIVE_INTERVAL)
        .keep_alive_timeout(KEEP_ALIVE_TIMEOUT)
        .keep_alive_while_idle(true)
        .tcp_keepalive(Some(Duration::from_secs(30)));
    let endpoint = match request_timeout {
        Some(t) => endpoint.timeout(t),
        None => endpoint,
    };
    match tokio::time::timeout(connect_timeout, endpoint.connect()).await {
        Ok(connected) => {
            connected.map_err(|e| UploadError::Transport(format!("{url}: {}", chain(&e))))
        }
        Err(_) => Err(UploadError::Timeout(format!(
            "{url}: no TLS connection within {} s (is the aggregator stopped or overloaded?)",
            connect_timeout.as_secs_f64()
        ))),
    }
}

/// Uploads snapshots over one stream and returns their acks, in order. Ends with an error
/// if the stream breaks before every snapshot is acked or a snapshot is rejected.
pub async fn upload(
    client: &mut IngestClient<Channel>,
    snapshots: Vec<Snapshot>,
) -> Result<Vec<UploadAck>, UploadError> {
    let mut acks = Vec::with_capacity(snapshots.len());
    upload_each(client, snapshots, |a| acks.push(a.clone())).await?;
    match acks.iter().find(|a| a.status == AckStatus::Rejected as i32) {
        Some(a) => Err(UploadError::Rejected {
            id: a.snapshot_id.clone(),
            message: a.message.clone(),
        }),
        None => Ok(acks),
    }
}

/// Uploads snapshots over one stream, calling `on_ack` as each ack arrives (a rejected
/// snapshot is acked as such, and the stream goes on).
pub async fn upload_each(
    client: &mut IngestClient<Channel>,
    snapshots: Vec<Snapshot>,
    on_ack: impl FnMut(&UploadAck),
) -> Result<(), UploadError> {
    upload_each_within(client, snapshots, on_ack, None).await
}

/// [`upload_each`], where the stream's opening and each ack must come within `idle`: a slow
/// link sending a large batch is not a timeout while acks keep coming.
async fn upload_each_within(
    client: &mut IngestClient<Channel>,
    snapshots: Vec<Snapshot>,
    mut on_ack: impl FnMut(&UploadAck),
    idle: Option<Duration>,
) -> Result<(), UploadError> {
    let expected = snapshots.len();
    for s in &snapshots {
        check_size(s)?;
    }
    let requests = tokio_stream::iter(
        snapshots
            .into_iter()
            .map(|s| UploadRequest { snapshot: Some(s) }),
    );
    let within = |what: String| async move {
        UploadError::Timeout(format!(
            "{what} within {} s (--timeout-secs); is the aggregator stopped or overloaded?",
            idle.map_or(0.0, |d| d.as_secs_f64())
        ))
    };
    let opened = match idle {
        Some(d) => tokio::time::timeout(d, client.upload(requests))
            .await
            .map_err(|_| ())
            .map(Some),
        None => Ok(Some(client.upload(requests).await)),
    };
    let opened = match opened {
        Ok(Some(r)) => r,
        _ => return Err(within("the aggregator did not answer the upload".into()).await),
    };
    // A refusal before any snapshot was read is about the connection (a revoked or unknown
    // certificate), not about a snapshot.
    let mut acks = opened
        .map_err(|s| match from_status(s) {
            UploadError::Refused(m) => UploadError::Denied(m),
            other => other,
        })?
        .into_inner();
    let mut seen = 0;
    while seen < expected {
        let next = match idle {
            Some(d) => match tokio::time::timeout(d, acks.message()).await {
                Ok(r) => r,
                Err(_) => {
                    return Err(
                        within(format!("no acknowledgement after {seen} of {expected}")).await,
                    )
                }
            },
            None => acks.message().await,
        };
        let ack = next.map_err(from_status)?.ok_or_else(|| {
            UploadError::Transport(format!("stream ended after {seen} of {expected} acks"))
        })?;
        seen += 1;
        on_ack(&ack);
    }
    Ok(())
}

/// One attempt: connects to `url` within `timeout` and uploads `snapshots` over one stream,
/// calling `on_ack` as acks arrive; the aggregator must answer the upload and each ack within
/// `timeout` (an aggregator that accepts and never answers is a timeout), however long the
/// whole batch takes.
pub async fn attempt(
    url: &str,
    tls: &ClientTls,
    timeout: Duration,
    snapshots: Vec<Snapshot>,
    on_ack: impl FnMut(&UploadAck),
) -> Result<(), UploadError> {
    let mut c = connect_with(url, tls, timeout, None).await?;
    upload_each_within(&mut c, snapshots, on_ack, Some(timeout)).await
}

/// A gRPC status as an upload error: RESOURCE_EXHAUSTED with `retry-after` is back-pressure,
/// the codes a retry cannot change are refusals, the rest (unavailable, a broken stream, ...)
/// are transport errors, retried.
fn from_status(s: tonic::Status) -> UploadError {
    use tonic::Code::*;
    let text = format!("{:?}: {}", s.code(), s.message());
    let retry_after = s
        .metadata()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match (s.code(), retry_after) {
        (ResourceExhausted, Some(secs)) => UploadError::Busy {
            retry_after: Duration::from_secs(secs.max(1)),
            message: text,
        },
        (
            InvalidArgument | PermissionDenied | ResourceExhausted | FailedPrecondition
            | OutOfRange | Unauthenticated,
            _,
        ) => UploadError::Refused(text),
        _ => UploadError::Transport(text),
    }
}

/// The metadata key of the wait an aggregator at its bound asks for (ingest.proto).
pub const RETRY_AFTER: &str = "retry-after";

/// Refuses a snapshot too large for one message before anything is sent.
pub fn check_size(s: &Snapshot) -> Result<(), UploadError> {
    let bytes = prost::Message::encoded_len(s);
    if bytes > MAX_MESSAGE_BYTES {
        return Err(UploadError::TooLarge {
            id: s.snapshot_id.clone(),
            bytes,
        });
    }
    Ok(())
}

/// Uploads with retries (the default [`RetryPolicy`] but for `attempts`): a broken
/// connection is retried, since re-sending is harmless, and an aggregator at its bound is
/// given the wait it asks for.
pub async fn upload_with_retry(
    url: &str,
    tls: &ClientTls,
    snapshots: Vec<Snapshot>,
    attempts: u32,
) -> Result<Vec<UploadAck>, UploadError> {
    let policy = RetryPolicy {
        attempts,
        ..RetryPolicy::default()
    };
    upload_with_policy(url, tls, snapshots, &policy).await
}

/// Uploads snapshots held in memory (no spool): each attempt as [`attempt`], and between
/// attempts the waits of [`Retry`]. Ends with the last error when the policy's attempts or
/// time are spent, or at once when the aggregator refuses or rejects a snapshot.
pub async fn upload_with_policy(
    url: &str,
    tls: &ClientTls,
    snapshots: Vec<Snapshot>,
    policy: &RetryPolicy,
) -> Result<Vec<UploadAck>, UploadError> {
    for s in &snapshots {
        check_size(s)?;
    }
    let mut retry = Retry::new(*policy);
    loop {
        let mut acks = Vec::with_capacity(snapshots.len());
        let result = attempt(url, tls, policy.attempt_timeout, snapshots.clone(), |a| {
            acks.push(a.clone())
        })
        .await;
        let (failure, error) = match result {
            Ok(()) => match acks.iter().find(|a| a.status == AckStatus::Rejected as i32) {
                Some(a) => {
                    return Err(UploadError::Rejected {
                        id: a.snapshot_id.clone(),
                        message: a.message.clone(),
                    })
                }
                None => return Ok(acks),
            },
            Err(e @ UploadError::Busy { retry_after, .. }) => (Failure::Busy(retry_after), e),
            Err(e @ (UploadError::Transport(_) | UploadError::Timeout(_))) => {
                tracing::warn!(attempt = retry.failed() + 1, "upload failed: {e}");
                (Failure::Failed, e)
            }
            Err(e) => return Err(e),
        };
        match retry.after(failure) {
            Some(wait) => tokio::time::sleep(wait).await,
            None => {
                let tries = retry.failed();
                return Err(match error {
                    UploadError::Timeout(m) => {
                        UploadError::Timeout(format!("{m} (gave up after {tries} attempts)"))
                    }
                    UploadError::Transport(m) => {
                        UploadError::Transport(format!("{m} (gave up after {tries} attempts)"))
                    }
                    other => other,
                });
            }
        }
    }
}

/// An error with its sources, `: `-separated.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_snapshot_too_large_to_send_is_refused_before_connecting() {
        let mut s = Snapshot {
            snapshot_id: "big".into(),
            ..Default::default()
        };
        s.errors.push(exfleet_proto::v1::CollectionError {
            message: "x".repeat(MAX_MESSAGE_BYTES + 1),
            ..Default::default()
        });
        let tls = ClientTls {
            ca: String::new(),
            cert: String::new(),
            key: String::new(),
        };
        // Nothing listens there: the size is judged before any connection.
        let e = upload_with_retry("https://127.0.0.1:9", &tls, vec![s], 3)
            .await
            .unwrap_err();
        assert!(matches!(e, UploadError::TooLarge { .. }), "{e}");
        assert!(
            e.to_string().contains("more than the 33554432 bytes"),
            "{e}"
        );
    }
}
