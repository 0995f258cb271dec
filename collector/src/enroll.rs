//! The collector's identity: enrolled with a token, renewed before it expires, kept in one
//! folder (`proto/exfleet/v1/enroll.proto`).
//!
//! ```text
//! <identity>/identity.pem   the certificate, then its private key (owner-only on Unix)
//! <identity>/ca.pem         the fleet CA: it signed the aggregator's certificate and ours
//! ```
//!
//! The key pair is made here and never leaves the host; only a certificate request does.
//! Certificate and key are one file, replaced by a rename once the new one is fsynced, so a
//! crash during renewal leaves the old identity or the new one, never a key without its
//! certificate.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use exfleet_proto::v1::enrollment_client::EnrollmentClient;
use exfleet_proto::v1::{EnrollRequest, Issued, RenewRequest};
use rcgen::{CertificateParams, DnType, KeyPair};

use crate::client::{self, ClientTls, UploadError};
use crate::error::Error;

const IDENTITY: &str = "identity.pem";
const CA: &str = "ca.pem";
/// The key of an enrollment not answered yet: asked again with the same key, the aggregator
/// issues again instead of refusing a name it already gave this host.
const PENDING_KEY: &str = "pending-key.pem";

/// A folder holding the collector's identity.
#[derive(Debug, Clone)]
pub struct IdentityDir {
    dir: PathBuf,
}

/// What the aggregator said no to, or why enrollment could not be done.
#[derive(Debug, thiserror::Error)]
pub enum EnrollError {
    /// The aggregator refused (a bad token, a name taken, a revoked certificate).
    #[error("{0}")]
    Refused(String),
    /// It could not be reached.
    #[error(transparent)]
    Upload(#[from] UploadError),
    /// A file could not be written or read.
    #[error(transparent)]
    Io(#[from] Error),
    /// A key or request could not be made.
    #[error("making the key or the certificate request: {0}")]
    Key(String),
}

impl IdentityDir {
    /// The identity folder `dir`.
    pub fn new(dir: &Path) -> IdentityDir {
        IdentityDir {
            dir: dir.to_path_buf(),
        }
    }

    /// The identity to push with: the CA and the certificate with its key.
    pub fn load(&self) -> Result<ClientTls, Error> {
        let read = |name: &str| {
            let p = self.dir.join(name);
            std::fs::read_to_string(&p).map_err(|source| Error::Io { path: p, source })
        };
        let identity = read(IDENTITY)?;
        Ok(ClientTls {
            ca: read(CA)?,
            cert: identity.clone(),
            key: identity,
        })
    }

    /// Whether the current certificate is in the last third of its validity (or unreadable).
    pub fn needs_renewal(&self, now_ms: i64) -> Result<bool, Error> {
        let tls = self.load()?;
        Ok(match validity(&tls.cert) {
            Some((from, to)) => now_ms >= to - (to - from) / 3,
            None => true,
        })
    }

    fn store(&self, issued: &Issued, key: &KeyPair) -> Result<(), Error> {
        std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        write_replacing(&self.dir.join(CA), issued.ca_pem.as_bytes(), false)?;
        let both = format!("{}{}", issued.certificate_pem, key.serialize_pem());
        write_replacing(&self.dir.join(IDENTITY), both.as_bytes(), true)
    }
}

/// Makes a key pair and a certificate request for `name`.
fn request(name: &str) -> Result<(KeyPair, Vec<u8>), EnrollError> {
    let key = KeyPair::generate().map_err(|e| EnrollError::Key(e.to_string()))?;
    request_with(name, key)
}

/// A certificate request for `name` with `key`.
fn request_with(name: &str, key: KeyPair) -> Result<(KeyPair, Vec<u8>), EnrollError> {
    let mut params = CertificateParams::new(Vec::<String>::new())
        .map_err(|e| EnrollError::Key(e.to_string()))?;
    params.distinguished_name.push(DnType::CommonName, name);
    let csr = params
        .serialize_request(&key)
        .map_err(|e| EnrollError::Key(e.to_string()))?;
    Ok((key, csr.der().to_vec()))
}

fn refused(s: tonic::Status) -> EnrollError {
    use tonic::Code::*;
    match s.code() {
        Unavailable | DeadlineExceeded | Unknown | Internal | Cancelled => EnrollError::Upload(
            UploadError::Transport(format!("{:?}: {}", s.code(), s.message())),
        ),
        _ => EnrollError::Refused(format!("{:?}: {}", s.code(), s.message())),
    }
}

/// Enrolls `name` at the enrollment listener `url` with `token`, trusting the CA `ca_pem`,
/// and stores the identity in `dir`.
pub async fn enroll(
    url: &str,
    token: &str,
    ca_pem: &str,
    name: &str,
    dir: &IdentityDir,
    timeout: Duration,
) -> Result<Issued, EnrollError> {
    // The key is kept before it is sent, so that a retry after a lost answer asks with it.
    let pending = dir.dir.join(PENDING_KEY);
    let key = match std::fs::read_to_string(&pending)
        .ok()
        .and_then(|pem| KeyPair::from_pem(&pem).ok())
    {
        Some(key) => key,
        None => {
            let key = KeyPair::generate().map_err(|e| EnrollError::Key(e.to_string()))?;
            std::fs::create_dir_all(&dir.dir).map_err(io(&dir.dir))?;
            write_replacing(&pending, key.serialize_pem().as_bytes(), true)?;
            key
        }
    };
    let (key, csr_der) = request_with(name, key)?;
    let channel = client::channel(url, ca_pem, None, timeout, Some(timeout)).await?;
    let issued = EnrollmentClient::new(channel)
        .enroll(EnrollRequest {
            token: token.to_string(),
            csr_der,
        })
        .await
        .map_err(refused)?
        .into_inner();
    dir.store(&issued, &key)?;
    let _ = std::fs::remove_file(&pending);
    Ok(issued)
}

/// Renews the identity in `dir` at `url` (the ingest listener, mutual TLS with the current
/// certificate): a new key pair, the same name. The old identity stays until the new one is
/// stored.
pub async fn renew(url: &str, dir: &IdentityDir, timeout: Duration) -> Result<Issued, EnrollError> {
    let tls = dir.load()?;
    let name = common_name(&tls.cert)
        .ok_or_else(|| EnrollError::Key("the current certificate has no subject CN".into()))?;
    let (key, csr_der) = request(&name)?;
    let channel = client::channel(
        url,
        &tls.ca,
        Some((&tls.cert, &tls.key)),
        timeout,
        Some(timeout),
    )
    .await?;
    let issued = EnrollmentClient::new(channel)
        .renew(RenewRequest { csr_der })
        .await
        .map_err(refused)?
        .into_inner();
    dir.store(&issued, &key)?;
    Ok(issued)
}

/// The first certificate of a PEM text.
fn first_cert(pem: &str) -> Option<Vec<u8>> {
    let (_, p) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).ok()?;
    (p.label == "CERTIFICATE").then_some(p.contents)
}

/// The subject CN of the first certificate of a PEM text.
pub fn common_name(pem: &str) -> Option<String> {
    let der = first_cert(pem)?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der).ok()?;
    let cn = cert.subject().iter_common_name().next()?;
    cn.as_str().ok().map(str::to_string)
}

/// The validity of the first certificate of a PEM text, UTC ms.
fn validity(pem: &str) -> Option<(i64, i64)> {
    let der = first_cert(pem)?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der).ok()?;
    let v = cert.validity();
    Some((
        v.not_before.timestamp() * 1000,
        v.not_after.timestamp() * 1000,
    ))
}

/// Writes `bytes` to `path` through a temporary file, fsynced, then renamed over it.
fn write_replacing(path: &Path, bytes: &[u8], private: bool) -> Result<(), Error> {
    let tmp = path.with_extension("pem.new");
    let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io(&tmp))?;
    }
    #[cfg(not(unix))]
    let _ = private;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))?;
    if let Some(dir) = path.parent().filter(|_| cfg!(unix)) {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io(dir))?;
    }
    Ok(())
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}
