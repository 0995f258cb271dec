//! Certificates for simulated machine stores: deterministic (Ed25519 keys from a seed, fixed
//! serials and dates, so a fleet is reproducible byte for byte), wrapped in the property blob
//! format of `SystemCertificates\MY\Certificates\<thumbprint>\Blob`.

use rcgen::{
    date_time_ymd, CertificateParams, DistinguishedName, DnType, KeyPair, SanType, SerialNumber,
};

/// A certificate as the machine store holds it.
#[derive(Debug, Clone)]
pub struct StoreCert {
    /// SHA-1 of the DER, upper-case hex: the registry key name and the binding's hash.
    pub thumbprint: String,
    /// The raw 20-byte thumbprint (HTTP.sys SslCertHash).
    pub hash: Vec<u8>,
    /// The `Blob` value.
    pub blob: Vec<u8>,
    /// NotAfter, for the ground truth ("2024-06-30").
    pub not_after: String,
}

/// Makes a self-signed certificate for `cn` valid between two dates (year, month, day).
pub fn self_signed(
    seed: u64,
    cn: &str,
    sans: &[String],
    from: (i32, u8, u8),
    to: (i32, u8, u8),
) -> StoreCert {
    // PKCS#8 v1 for Ed25519 is a fixed prefix followed by the 32-byte seed (RFC 8410).
    let mut pkcs8 = hex("302e020100300506032b657004220420");
    let mut secret = [0u8; 32];
    secret[..8].copy_from_slice(&seed.to_le_bytes());
    secret[8..8 + cn.len().min(24)].copy_from_slice(&cn.as_bytes()[..cn.len().min(24)]);
    pkcs8.extend(secret);
    let key = KeyPair::try_from(pkcs8.as_slice()).expect("a valid Ed25519 PKCS#8 key");
    let mut params = CertificateParams::new(sans.to_vec()).expect("valid names");
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    params.distinguished_name = dn;
    params.serial_number = Some(SerialNumber::from(seed.to_be_bytes().to_vec()));
    params.not_before = date_time_ymd(from.0, from.1, from.2);
    params.not_after = date_time_ymd(to.0, to.1, to.2);
    params.subject_alt_names = sans
        .iter()
        .map(|s| SanType::DnsName(s.clone().try_into().expect("DNS name")))
        .collect();
    let cert = params.self_signed(&key).expect("self-signed certificate");
    let der = cert.der().to_vec();
    let hash = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &der)
        .as_ref()
        .to_vec();
    StoreCert {
        thumbprint: hash.iter().map(|b| format!("{b:02X}")).collect(),
        hash,
        blob: blob(&der, cn),
        not_after: format!("{:04}-{:02}-{:02}", to.0, to.1, to.2),
    }
}

/// A certificate given as DER (a fixture of tests/fixtures/certs, whose SOURCES.md gives its
/// NotAfter), as the store holds it.
pub fn from_der(der: &[u8], friendly_name: &str, not_after: &str) -> StoreCert {
    let hash = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, der)
        .as_ref()
        .to_vec();
    StoreCert {
        thumbprint: hash.iter().map(|b| format!("{b:02X}")).collect(),
        hash,
        blob: blob(der, friendly_name),
        not_after: not_after.to_string(),
    }
}

/// The store's property blob: a friendly name (property 11, UTF-16) then the certificate
/// (property 0x20), each `u32 id, u32 1, u32 length, data`.
pub fn blob(der: &[u8], friendly_name: &str) -> Vec<u8> {
    let name: Vec<u8> = friendly_name
        .encode_utf16()
        .chain([0])
        .flat_map(u16::to_le_bytes)
        .collect();
    let mut out = Vec::new();
    for (id, data) in [(11u32, name.as_slice()), (0x20, der)] {
        out.extend(id.to_le_bytes());
        out.extend(1u32.to_le_bytes());
        out.extend((data.len() as u32).to_le_bytes());
        out.extend(data);
    }
    out
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}
