//! Certificates for a test or small deployment (rcgen): a CA, a server certificate for the
//! aggregator, and client certificates for collectors, whose subject CN is the collector
//! identity. Larger deployments use their own PKI; the aggregator only needs PEM files.

use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};

use crate::error::Error;

/// A certificate and its private key, PEM-encoded.
#[derive(Debug, Clone)]
pub struct Pem {
    /// The certificate.
    pub cert: String,
    /// Its private key (PKCS#8).
    pub key: String,
}

fn err(e: rcgen::Error) -> Error {
    Error::Certs(e.to_string())
}

/// The subject of an exfleet certificate: its CN, organization `exfleet`.
pub(crate) fn dn(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn.push(DnType::OrganizationName, "exfleet");
    dn
}

/// Makes a self-signed CA valid for ten years.
pub fn make_ca(name: &str) -> Result<Pem, Error> {
    let key = KeyPair::generate().map_err(err)?;
    let mut p = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    p.distinguished_name = dn(name);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.not_before = rcgen::date_time_ymd(2024, 1, 1);
    p.not_after = rcgen::date_time_ymd(2036, 1, 1);
    let cert = p.self_signed(&key).map_err(err)?;
    Ok(Pem {
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}

/// Makes a server certificate for the aggregator, for DNS names and IP addresses.
pub fn make_server(ca: &Pem, names: &[String]) -> Result<Pem, Error> {
    leaf(
        ca,
        names
            .first()
            .map(String::as_str)
            .unwrap_or("exfleet-aggregator"),
        names,
        ExtendedKeyUsagePurpose::ServerAuth,
    )
}

/// Makes a collector's client certificate; `id` becomes its subject CN.
pub fn make_collector(ca: &Pem, id: &str) -> Result<Pem, Error> {
    leaf(ca, id, &[], ExtendedKeyUsagePurpose::ClientAuth)
}

fn leaf(
    ca: &Pem,
    cn: &str,
    names: &[String],
    usage: ExtendedKeyUsagePurpose,
) -> Result<Pem, Error> {
    let ca_key = KeyPair::from_pem(&ca.key).map_err(err)?;
    let issuer = Issuer::from_ca_cert_pem(&ca.cert, ca_key).map_err(err)?;
    let key = KeyPair::generate().map_err(err)?;
    let mut p = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    p.distinguished_name = dn(cn);
    p.subject_alt_names = names
        .iter()
        .map(|n| match n.parse::<std::net::IpAddr>() {
            Ok(ip) => Ok(SanType::IpAddress(ip)),
            Err(_) => n.clone().try_into().map(SanType::DnsName),
        })
        .collect::<Result<_, _>>()
        .map_err(err)?;
    p.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    p.extended_key_usages = vec![usage];
    p.not_before = rcgen::date_time_ymd(2024, 1, 1);
    p.not_after = rcgen::date_time_ymd(2031, 1, 1);
    let cert = p.signed_by(&key, &issuer).map_err(err)?;
    Ok(Pem {
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}

/// Refuses a name that is not a plain file name: letters, digits, `-`, `_` and `.` only (no
/// path separator), 1 to 64 of them, not `.` or `..`. A collector id becomes `<out>/<id>.pem`,
/// so `../../x` would write outside `--out`.
pub fn check_plain_name(what: &str, name: &str) -> Result<(), Error> {
    let plain = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && name != "."
        && name != "..";
    if plain {
        Ok(())
    } else {
        Err(Error::Certs(format!(
            "{what} {name:?} is not a plain name: letters, digits, '-', '_' and '.' only, 1 to 64 \
             of them, not '.' or '..'"
        )))
    }
}

/// Refuses a server name that is neither an IP address nor a plain DNS name (optionally a
/// `*.` wildcard): names go into the certificate, and none may look like a path.
pub fn check_server_name(name: &str) -> Result<(), Error> {
    if name.parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    check_plain_name("server name", name.strip_prefix("*.").unwrap_or(name))
}

/// Writes `<dir>/<stem>.pem` and `<dir>/<stem>.key` (the key readable by its owner only).
pub fn write(dir: &Path, stem: &str, pem: &Pem) -> Result<(), Error> {
    check_plain_name("file name", stem)?;
    std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
    let cert = dir.join(format!("{stem}.pem"));
    std::fs::write(&cert, &pem.cert).map_err(Error::io(&cert))?;
    let key = dir.join(format!("{stem}.key"));
    std::fs::write(&key, &pem.key).map_err(Error::io(&key))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))
            .map_err(Error::io(&key))?;
    }
    Ok(())
}

/// Reads `<dir>/<stem>.pem` and `<dir>/<stem>.key`.
pub fn read(dir: &Path, stem: &str) -> Result<Pem, Error> {
    let cert = dir.join(format!("{stem}.pem"));
    let key = dir.join(format!("{stem}.key"));
    Ok(Pem {
        cert: std::fs::read_to_string(&cert).map_err(Error::io(&cert))?,
        key: std::fs::read_to_string(&key).map_err(Error::io(&key))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_that_are_paths_are_refused() {
        for bad in ["../../x", "..", ".", "a/b", "a\\b", "", "/etc/x", "EX01\0"] {
            assert!(check_plain_name("collector id", bad).is_err(), "{bad:?}");
            assert!(check_server_name(bad).is_err(), "{bad:?}");
        }
        for good in ["EX01", "ex-01.corp_a", "IR-WS01"] {
            check_plain_name("collector id", good).unwrap();
        }
        for good in [
            "aggregator.example.org",
            "*.example.org",
            "127.0.0.1",
            "::1",
            "localhost",
        ] {
            check_server_name(good).unwrap();
        }
        let e = check_plain_name("collector id", "../../x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("../../x"), "{e}");
    }
}
