//! The certificate `Blob` of `SystemCertificates\MY\Certificates\<thumbprint>`: a sequence of
//! properties, each `u32 id, u32 reserved, u32 length, data` (little-endian); the DER
//! certificate is property 0x20 (collector/EVIDENCE.md). Beside names and dates, the key's
//! algorithm and size and the signature's hash, which HealthChecker judges.

use exfleet_proto::v1::Certificate;
use x509_parser::der_parser::der::parse_der_integer;
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};
use x509_parser::public_key::PublicKey;
use x509_parser::signature_algorithm::SignatureAlgorithm;
use x509_parser::x509::SubjectPublicKeyInfo;

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
        key_algorithm: key_algorithm(&cert.public_key().algorithm.algorithm.to_id_string()),
        key_size_bits: key_size_bits(cert.public_key()),
        signature_algorithm: cert.signature_algorithm.algorithm.to_id_string(),
        signature_hash: signature_hash(&cert),
    })
}

/// The name of a public key algorithm OID, else the OID.
fn key_algorithm(oid: &str) -> String {
    match oid {
        // rsaEncryption, and RSASSA-PSS keys.
        "1.2.840.113549.1.1.1" | "1.2.840.113549.1.1.10" => "RSA",
        "1.2.840.10040.4.1" => "DSA",
        "1.2.840.10045.2.1" => "EC",
        "1.3.101.112" => "Ed25519",
        "1.3.101.113" => "Ed448",
        other => other,
    }
    .to_string()
}

/// Key size in bits: the RSA modulus, the DSA prime p (from the algorithm's parameters), the
/// EC point's coordinates; 0 when unknown.
fn key_size_bits(spki: &SubjectPublicKeyInfo) -> u32 {
    let bits = match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => significant_bits(rsa.modulus),
        Ok(PublicKey::DSA(_)) => spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| parse_der_integer(p.data).ok())
            .and_then(|(_, p)| p.as_slice().ok().map(significant_bits))
            .unwrap_or(0),
        Ok(key) => key.key_size(),
        Err(_) => 0,
    };
    u32::try_from(bits).unwrap_or(0)
}

/// Bits of a big-endian unsigned integer, leading zeros not counted.
fn significant_bits(be: &[u8]) -> usize {
    match be.iter().position(|b| *b != 0) {
        Some(i) => (be.len() - i) * 8 - be[i].leading_zeros() as usize,
        None => 0,
    }
}

/// The hash of the signature algorithm ("SHA-1"); empty when it names none (Ed25519) or an
/// unknown one. RSASSA-PSS names it in its parameters (SHA-1 when absent, RFC 4055).
fn signature_hash(cert: &X509Certificate) -> String {
    let alg = &cert.signature_algorithm;
    let oid = alg.algorithm.to_id_string();
    let hash = match oid.as_str() {
        "1.2.840.113549.1.1.10" => match SignatureAlgorithm::try_from(alg) {
            Ok(SignatureAlgorithm::RSASSA_PSS(p)) => p.hash_algorithm_oid().to_id_string(),
            _ => String::new(),
        },
        other => other.to_string(),
    };
    match hash.as_str() {
        "1.2.840.113549.1.1.2" | "1.2.840.113549.2.2" => "MD2",
        "1.2.840.113549.1.1.3" | "1.2.840.113549.2.4" => "MD4",
        "1.2.840.113549.1.1.4" | "1.2.840.113549.2.5" => "MD5",
        "1.2.840.113549.1.1.5"
        | "1.3.14.3.2.29"
        | "1.3.14.3.2.26"
        | "1.2.840.10040.4.3"
        | "1.2.840.10045.4.1" => "SHA-1",
        "1.2.840.113549.1.1.14" | "1.2.840.10045.4.3.1" | "2.16.840.1.101.3.4.2.4" => "SHA-224",
        "1.2.840.113549.1.1.11"
        | "1.2.840.10045.4.3.2"
        | "2.16.840.1.101.3.4.3.2"
        | "2.16.840.1.101.3.4.2.1" => "SHA-256",
        "1.2.840.113549.1.1.12" | "1.2.840.10045.4.3.3" | "2.16.840.1.101.3.4.2.2" => "SHA-384",
        "1.2.840.113549.1.1.13" | "1.2.840.10045.4.3.4" | "2.16.840.1.101.3.4.2.3" => "SHA-512",
        _ => "",
    }
    .to_string()
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

    fn fixture(name: &str) -> Certificate {
        let path = format!(
            "{}/../tests/fixtures/certs/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let der = std::fs::read(path).unwrap();
        let mut blob = vec![0x20, 0, 0, 0, 1, 0, 0, 0];
        blob.extend((der.len() as u32).to_le_bytes());
        blob.extend(der);
        parse(&blob).unwrap()
    }

    #[test]
    fn key_size_and_signature_hash_of_real_certificates() {
        let weak = fixture("rsa1024-sha1.der");
        assert_eq!(weak.key_algorithm, "RSA");
        assert_eq!(weak.key_size_bits, 1024);
        assert_eq!(weak.signature_algorithm, "1.2.840.113549.1.1.5");
        assert_eq!(weak.signature_hash, "SHA-1");
        let good = fixture("rsa2048-sha256.der");
        assert_eq!(
            (good.key_size_bits, good.signature_hash.as_str()),
            (2048, "SHA-256")
        );
        let pss = fixture("rsa2048-pss-sha384.der");
        assert_eq!(
            (pss.key_algorithm.as_str(), pss.signature_hash.as_str()),
            ("RSA", "SHA-384")
        );
        let dsa = fixture("dsa1024-sha256.der");
        assert_eq!(
            (dsa.key_algorithm.as_str(), dsa.key_size_bits),
            ("DSA", 1024)
        );
        let ec = fixture("ecp256-sha256.der");
        assert_eq!(
            (ec.key_algorithm.as_str(), ec.signature_hash.as_str()),
            ("EC", "SHA-256")
        );
        let md5 = fixture("rsa2048-md5.der");
        assert_eq!(md5.signature_hash, "MD5");
    }

    #[test]
    fn significant_bits_skip_leading_zeros() {
        assert_eq!(significant_bits(&[0, 0x80, 0]), 16);
        assert_eq!(significant_bits(&[0x01, 0xff]), 9);
        assert_eq!(significant_bits(&[0, 0]), 0);
    }

    proptest! {
        #[test]
        fn never_panics(blob in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&blob);
        }
    }
}
