//! The gRPC server: Ingest behind mutual TLS and the identity interceptor, plus the standard
//! gRPC health service (grpc.health.v1, under the same TLS), with explicit message size
//! limits and gzip compression.

use std::future::Future;

use exfleet_proto::v1::ingest_server::IngestServer;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::codec::CompressionEncoding;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};

use crate::error::Error;
use crate::identity;
use crate::service::IngestService;
use crate::store::Store;

/// The PEM material of mutual TLS.
#[derive(Debug, Clone)]
pub struct TlsPem {
    /// Server certificate chain.
    pub cert: String,
    /// Server private key.
    pub key: String,
    /// CA that client certificates must chain to.
    pub client_ca: String,
}

/// Serves until `shutdown` resolves, on an already bound listener (port 0 in tests).
pub async fn serve(
    listener: TcpListener,
    store: Store,
    tls: TlsPem,
    max_message_bytes: usize,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let tls = ServerTlsConfig::new()
        .identity(Identity::from_pem(tls.cert, tls.key))
        .client_ca_root(Certificate::from_pem(tls.client_ca))
        .client_auth_optional(false);
    let ingest = IngestServer::new(IngestService::new(store))
        .max_decoding_message_size(max_message_bytes)
        .max_encoding_message_size(max_message_bytes)
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip);
    let ingest = tonic::service::interceptor::InterceptedService::new(ingest, identity::intercept);
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter.set_serving::<IngestServer<IngestService>>().await;
    Server::builder()
        .tls_config(tls)?
        .add_service(health)
        .add_service(ingest)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await?;
    Ok(())
}
