//! The certificate `Blob` of `SystemCertificates\MY\Certificates\<thumbprint>`: a sequence of
//! properties, each `u32 id, u32 reserved, u32 length, data` (little-endian); the DER
//! certificate is property 0x20 (collector/EVIDENCE.md).

use exfleet_proto::v1::Certificate;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

/// Property id of the encoded certificate.
const CERT_PROP_ID: u32 = 0x20;

/// Why a blob could not be read; offsets are within the blob.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BlobError {
    /// A property header or its data runs past the end of the blob.
    #[error("offset 0x{offset:x}: property runs past the end of the blob (needs {need} bytes, {have} left)")]
    Truncated {
        /// Offset of the property.
        offset: usize,
        /// Bytes the property needs.
        need: usize,
        /// Bytes left in the blob.
        have: usize,
    },
    /// No certificate property.
    #[error("no certificate property (id 0x20) in the blob")]
    NoCertificate,
    /// The certificate property is not valid DER X.509.
    #[error("offset 0x{offset:x}: certificate is not valid X.509: {detail}")]
    BadCertificate {
        /// Offset of the certificate data.
        offset: usize,
        /// What the X.509 parser said.
        detail: String,
    },
}

impl BlobError {
    /// Stable snake_case kind for collection errors.
    pub fn kind(&self) -> &'static str {
        match self {
            BlobError::Truncated { .. } => "truncated",
            BlobError::NoCertificate => "missing_certificate",
            BlobError::BadCertificate { .. } => "malformed_certificate",
        }
    }
}

/// Parses a blob into the certificate's facts (thumbprint and provenance left empty).
pub fn parse(blob: &[u8]) -> Result<Certificate, BlobError> {
    let mut at = 0;
    while at < blob.len() {
        let header = blob.get(at..at + 12).ok_or(BlobError::Truncated {
            offset: at,
            need: 12,
            have: blob.len() - at,
        })?;
        let id = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
        let len = u32::from_le_bytes([header[8], header[9], header[10], header[11]]) as usize;
        let data =
            blob.get(at + 12..)
                .and_then(|rest| rest.get(..len))
                .ok_or(BlobError::Truncated {
                    offset: at,
                    need: 12 + len,
                    have: blob.len() - at,
                })?;
        if id == CERT_PROP_ID {
            return certificate(data, at + 12);
        }
        at += 12 + len;
    }
    Err(BlobError::NoCertificate)
}

fn certificate(der: &[u8], offset: usize) -> Result<Certificate, BlobError> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| BlobError::BadCertificate {
        offset,
        detail: e.to_string(),
    })?;
    let dns_names = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    GeneralName::DNSName(d) => Some(d.to_string()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Certificate {
        thumbprint: String::new(),
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        not_before_ms: cert.validity().not_before.timestamp() * 1000,
        not_after_ms: cert.validity().not_after.timestamp() * 1000,
        dns_names,
        provenance: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn truncated_header_is_located() {
        let blob = [0x20, 0, 0, 0, 1, 0, 0, 0, 0xff, 0, 0, 0, 1, 2];
        assert_eq!(
            parse(&blob),
            Err(BlobError::Truncated {
                offset: 0,
                need: 12 + 255,
                have: 14
            })
        );
    }

    #[test]
    fn skips_other_properties_and_reports_bad_der() {
        let mut blob = vec![0x03, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0xaa, 0xbb];
        blob.extend([0x20, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 1, 2, 3]);
        assert!(matches!(
            parse(&blob),
            Err(BlobError::BadCertificate { offset: 26, .. })
        ));
    }

    proptest! {
        #[test]
        fn never_panics(blob in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&blob);
        }
    }
}
