//! Signing a collector's certificate request with the fleet CA: only the request's public key
//! and its subject CN are taken; everything else (validity, usage, serial) is the
//! aggregator's.

use rcgen::{
    CertificateParams, CertificateSigningRequestParams, ExtendedKeyUsagePurpose, Issuer, KeyPair,
    KeyUsagePurpose, SerialNumber,
};
use rustls_pki_types::CertificateSigningRequestDer;

use super::hex;
use crate::certs::Pem;
use crate::error::Error;

/// Longest computer name: NetBIOS names are at most 15 characters, DNS host labels 63.
const MAX_NAME: usize = 63;

/// The fleet CA, ready to sign.
pub struct Signer {
    ca_pem: String,
    issuer: Issuer<'static, KeyPair>,
    validity_days: u32,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("validity_days", &self.validity_days)
            .finish_non_exhaustive()
    }
}

/// A request read and checked: the name it asks for.
pub struct Request {
    csr: CertificateSigningRequestParams,
    /// The subject CN: the computer name.
    pub cn: String,
    /// SHA-256 of the request's public key (SubjectPublicKeyInfo), hex.
    pub key_sha256: String,
}

/// A certificate issued.
#[derive(Debug, Clone)]
pub struct Signed {
    /// PEM.
    pub pem: String,
    /// Serial, hex (as [`serial_hex`] reads it back from a certificate).
    pub serial: String,
    /// End of validity, UTC ms.
    pub not_after_ms: i64,
}

impl Signer {
    /// The CA of `ca` (certificate and key), issuing certificates valid `validity_days`.
    pub fn new(ca: &Pem, validity_days: u32) -> Result<Signer, Error> {
        let key = KeyPair::from_pem(&ca.key).map_err(|e| Error::Certs(format!("CA key: {e}")))?;
        let issuer = Issuer::from_ca_cert_pem(&ca.cert, key)
            .map_err(|e| Error::Certs(format!("CA certificate: {e}")))?;
        Ok(Signer {
            ca_pem: ca.cert.clone(),
            issuer,
            validity_days: validity_days.max(1),
        })
    }

    /// The CA certificate, PEM.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Reads a PKCS#10 request (its signature checked) and the computer name it asks for.
    pub fn read(&self, csr_der: &[u8]) -> Result<Request, String> {
        let der = CertificateSigningRequestDer::from(csr_der.to_vec());
        let csr = CertificateSigningRequestParams::from_der(&der)
            .map_err(|e| format!("not a valid signed PKCS#10 certificate request: {e}"))?;
        let cn = csr
            .params
            .distinguished_name
            .iter()
            .find_map(|(t, v)| match (t, v) {
                (rcgen::DnType::CommonName, rcgen::DnValue::PrintableString(s)) => {
                    Some(s.as_str().to_string())
                }
                (rcgen::DnType::CommonName, rcgen::DnValue::Utf8String(s)) => Some(s.clone()),
                _ => None,
            })
            .ok_or("the request has no subject common name")?;
        check_computer_name(&cn)?;
        let key_sha256 = {
            use rcgen::PublicKeyData;
            use sha2::{Digest, Sha256};
            hex(&Sha256::digest(csr.public_key.subject_public_key_info()))
        };
        Ok(Request {
            csr,
            cn,
            key_sha256,
        })
    }

    /// Signs `req` as a collector's client certificate, valid from today.
    pub fn sign(&self, req: Request, today: chrono::NaiveDate) -> Result<Signed, Error> {
        let err = |e: rcgen::Error| Error::Certs(e.to_string());
        let mut p = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
        p.distinguished_name = crate::certs::dn(&req.cn);
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let mut serial = rand::random::<[u8; 16]>();
        // Positive, and no leading zero byte, so that DER keeps all 16 bytes as they are.
        serial[0] = (serial[0] & 0x7f) | 0x40;
        p.serial_number = Some(SerialNumber::from(serial.to_vec()));
        let end = today + chrono::Days::new(u64::from(self.validity_days));
        {
            use chrono::Datelike;
            let ymd = |d: chrono::NaiveDate| (d.year(), d.month() as u8, d.day() as u8);
            let (y, m, d) = ymd(today);
            p.not_before = rcgen::date_time_ymd(y, m, d);
            let (y, m, d) = ymd(end);
            p.not_after = rcgen::date_time_ymd(y, m, d);
        }
        let mut csr = req.csr;
        csr.params = p;
        let cert = csr.signed_by(&self.issuer).map_err(err)?;
        Ok(Signed {
            pem: cert.pem(),
            serial: hex(&serial),
            not_after_ms: end
                .and_time(chrono::NaiveTime::MIN)
                .and_utc()
                .timestamp_millis(),
        })
    }
}

/// A computer name: letters, digits and `-`, 1 to 63 of them, not starting or ending with
/// `-` (what Windows and DNS allow a host name).
pub fn check_computer_name(name: &str) -> Result<(), String> {
    let ok = (1..=MAX_NAME).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a computer name (letters, digits and '-', 1 to {MAX_NAME})"
        ))
    }
}

/// The serial of a DER certificate, hex, as the ledger records it.
pub fn serial_hex(der: &[u8]) -> Option<String> {
    use x509_parser::prelude::{FromDer, X509Certificate};
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    Some(hex(cert.raw_serial()))
}
