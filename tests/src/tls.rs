//! A throwaway self-signed certificate and key (PEM), for tests that need a client's TLS
//! configuration to load but never finish a handshake.

/// A self-signed certificate for `cn` and its private key, both PEM.
pub fn self_signed_pem(cn: &str) -> (String, String) {
    let key = rcgen::KeyPair::generate().expect("a key pair");
    let mut params = rcgen::CertificateParams::new(vec![cn.to_string()]).expect("valid names");
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, cn);
    params.distinguished_name = dn;
    // Its own CA as well, so that it loads as a trust anchor.
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).expect("a self-signed certificate");
    (cert.pem(), key.serialize_pem())
}
