//! Who is calling: the collector identity is the subject common name of the client
//! certificate that mutual TLS verified against the configured CA. One interceptor puts it
//! into the request extensions; handlers never read identity from message fields.

use std::sync::Arc;

use exfleet_proto::v1::stored_snapshot::IdentityKind;
use tonic::service::Interceptor;
use tonic::{Request, Status};

use crate::enroll::issue::serial_hex;
use crate::enroll::ledger::Ledger;
use crate::enroll::show_time;
use x509_parser::prelude::{FromDer, X509Certificate};

/// The verified identity of a collector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectorId(pub String);

/// The serial (hex) of the client certificate a call came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSerial(pub String);

/// Whether the client certificate was issued by enrollment (the ledger knows its serial):
/// such a certificate is a server identity whatever the triage configuration says of its
/// name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enrolled(pub bool);

/// The identity gate, an interceptor on every mutual-TLS service: refuses a call without a
/// verified client certificate, or with one the enrollment ledger says is revoked (with a log
/// line naming it), and records the certificate's CN for the handlers.
#[derive(Debug, Clone, Default)]
pub struct Gate {
    ledger: Option<Arc<Ledger>>,
}

impl Gate {
    /// A gate that checks revocations in `ledger` (none: no certificate is revoked).
    pub fn new(ledger: Option<Arc<Ledger>>) -> Gate {
        Gate { ledger }
    }
}

impl Interceptor for Gate {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        let certs = req
            .peer_certs()
            .ok_or_else(|| Status::unauthenticated("a client certificate is required"))?;
        let leaf = certs
            .first()
            .ok_or_else(|| Status::unauthenticated("a client certificate is required"))?;
        let id = common_name(leaf.as_ref()).ok_or_else(|| {
            Status::unauthenticated("the client certificate has no subject common name")
        })?;
        let serial = serial_hex(leaf.as_ref()).unwrap_or_default();
        let mut enrolled = false;
        if let Some(ledger) = &self.ledger {
            let state = ledger.state().map_err(|e| {
                tracing::error!("enrollment ledger: {e}");
                Status::unavailable(format!("the aggregator cannot read its ledger: {e}"))
            })?;
            if let Some(at) = state.revoked(&id, &serial) {
                tracing::warn!(collector = %id, %serial, "refused: certificate revoked");
                return Err(Status::unauthenticated(format!(
                    "the certificate of {id} (serial {serial}) was revoked at {}",
                    show_time(at)
                )));
            }
            enrolled = state.issued_here(&id, &serial);
        }
        req.extensions_mut().insert(CollectorId(id));
        req.extensions_mut().insert(CertSerial(serial));
        req.extensions_mut().insert(Enrolled(enrolled));
        Ok(req)
    }
}

/// The first subject common name of a DER certificate.
pub fn common_name(der: &[u8]) -> Option<String> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let cn = cert.subject().iter_common_name().next()?;
    cn.as_str().ok().map(str::to_string)
}

/// A certificate the configuration names as a triage workstation: it collects copies of
/// other servers, for the hosts listed (any host when the list is empty).
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TriageIdentity {
    /// The certificate's subject common name.
    pub cn: String,
    /// Computer names it may submit snapshots of (empty: any).
    #[serde(default)]
    pub hosts: Vec<String>,
}

/// What a certificate may speak for. Every certificate not listed as a triage identity is a
/// server identity: it speaks for the computer its CN names, and a snapshot naming another
/// one is stored as evidence but never taken as that host's state (the dataset flags it).
#[derive(Debug, Clone, Default)]
pub struct Policy {
    triage: Vec<TriageIdentity>,
}

impl Policy {
    /// The policy of the configured triage identities.
    pub fn new(triage: Vec<TriageIdentity>) -> Policy {
        Policy { triage }
    }

    /// Whether `cn` is configured as a triage workstation.
    pub fn is_triage(&self, cn: &str) -> bool {
        self.triage.iter().any(|t| t.cn.eq_ignore_ascii_case(cn))
    }

    /// The kind of identity `cn` has for a snapshot of `host`, or why it may not submit it
    /// (a triage identity outside its hosts). Names compare without regard to case.
    pub fn judge(&self, cn: &str, host: &str) -> Result<IdentityKind, String> {
        match self.triage.iter().find(|t| t.cn.eq_ignore_ascii_case(cn)) {
            None => Ok(IdentityKind::Server),
            Some(t)
                if t.hosts.is_empty() || t.hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) =>
            {
                Ok(IdentityKind::Triage)
            }
            Some(_) => Err(format!(
                "the triage identity {cn} may not submit snapshots of {host} (not in its hosts)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triage_identities_speak_for_their_hosts_and_every_other_certificate_for_itself() {
        let p = Policy::new(vec![
            TriageIdentity {
                cn: "IR-WS01".into(),
                hosts: vec!["EX01".into()],
            },
            TriageIdentity {
                cn: "IR-ANY".into(),
                hosts: vec![],
            },
        ]);
        assert_eq!(p.judge("EX02", "EX01"), Ok(IdentityKind::Server));
        assert_eq!(p.judge("ir-ws01", "ex01"), Ok(IdentityKind::Triage));
        assert!(p.judge("IR-WS01", "EX02").unwrap_err().contains("EX02"));
        assert_eq!(p.judge("IR-ANY", "EXPAR01"), Ok(IdentityKind::Triage));
    }
}
