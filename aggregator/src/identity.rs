//! Who is calling: the collector identity is the subject common name of the client
//! certificate that mutual TLS verified against the configured CA. One interceptor puts it
//! into the request extensions; handlers never read identity from message fields.

use tonic::{Request, Status};
use x509_parser::prelude::{FromDer, X509Certificate};

/// The verified identity of a collector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectorId(pub String);

/// Interceptor: refuses calls without a verified client certificate, and records its CN.
pub fn intercept(mut req: Request<()>) -> Result<Request<()>, Status> {
    let certs = req
        .peer_certs()
        .ok_or_else(|| Status::unauthenticated("a client certificate is required"))?;
    let leaf = certs
        .first()
        .ok_or_else(|| Status::unauthenticated("a client certificate is required"))?;
    let id = common_name(leaf.as_ref()).ok_or_else(|| {
        Status::unauthenticated("the client certificate has no subject common name")
    })?;
    req.extensions_mut().insert(CollectorId(id));
    Ok(req)
}

/// The first subject common name of a DER certificate.
pub fn common_name(der: &[u8]) -> Option<String> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let cn = cert.subject().iter_common_name().next()?;
    cn.as_str().ok().map(str::to_string)
}
