//! The Enrollment service (`proto/exfleet/v1/enroll.proto`): a token buys a certificate for a
//! computer name no other host holds; a valid certificate buys its successor.

use std::sync::Arc;

use exfleet_proto::v1::enrollment_server::Enrollment;
use exfleet_proto::v1::{EnrollRequest, Issued, RenewRequest};
use tonic::{Request, Response, Status};

use super::issue::{Signed, Signer};
use super::ledger::{Claimed, Event, Ledger};
use super::{now_ms, show_time, tokens};
use crate::identity::{CertSerial, CollectorId, Policy};

/// The Enrollment service over the ledger and the fleet CA.
#[derive(Debug, Clone)]
pub struct EnrollmentService {
    ledger: Arc<Ledger>,
    signer: Arc<Signer>,
    identities: Arc<Policy>,
}

impl EnrollmentService {
    /// A service recording in `ledger` and signing with `signer`; names `identities` lists as
    /// triage workstations cannot be enrolled (an enrolled certificate is a server identity).
    pub fn new(ledger: Arc<Ledger>, signer: Arc<Signer>, identities: Policy) -> Self {
        EnrollmentService {
            ledger,
            signer,
            identities: Arc::new(identities),
        }
    }

    fn issued(&self, cn: String, signed: Signed) -> Response<Issued> {
        Response::new(Issued {
            certificate_pem: signed.pem,
            ca_pem: self.signer.ca_pem().to_string(),
            common_name: cn,
            not_after_ms: signed.not_after_ms,
        })
    }
}

impl From<crate::error::Error> for Status {
    fn from(e: crate::error::Error) -> Status {
        tracing::error!("enrollment: {e}");
        Status::unavailable(format!(
            "the aggregator could not record the enrollment: {e}"
        ))
    }
}

fn peer(req: &Request<impl Sized>) -> String {
    req.remote_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|| "unknown".into())
}

#[tonic::async_trait]
impl Enrollment for EnrollmentService {
    async fn enroll(&self, req: Request<EnrollRequest>) -> Result<Response<Issued>, Status> {
        let from = peer(&req);
        let EnrollRequest { token, csr_der } = req.into_inner();
        let csr = self
            .signer
            .read(&csr_der)
            .map_err(|e| Status::invalid_argument(format!("enrollment refused: {e}")))?;
        let cn = csr.cn.clone();
        if self.identities.is_triage(&cn) {
            return Err(Status::invalid_argument(format!(
                "enrollment refused: {cn} is configured as a triage identity, not a server"
            )));
        }
        // A bad token is refused on the state as last read, before the ledger's lock is taken:
        // junk from the unauthenticated listener costs no lock and no file read. On a shared
        // ledger the state read may predate the token: the refusal is made on a fresh one.
        let bad = |state: &super::ledger::State| tokens::check(state, &token, &cn, now_ms()).err();
        let why = match bad(&*self.ledger.state()?) {
            Some(_) => bad(&*self.ledger.fresh_state()?),
            None => None,
        };
        if let Some(why) = why {
            tracing::warn!(name = %cn, %from, "enrollment refused: {why}");
            return Err(Status::unauthenticated(format!(
                "enrollment refused: {why}"
            )));
        }
        let ledger = self.ledger.clone();
        let signer = self.signer.clone();
        let (cn2, from2) = (cn.clone(), from.clone());
        let signed = tokio::task::spawn_blocking(move || {
            ledger.update(|state| {
                let now = now_ms();
                let token_id = tokens::check(state, &token, &cn2, now).map_err(|why| {
                    tracing::warn!(name = %cn2, from = %from2, "enrollment refused: {why}");
                    Status::unauthenticated(format!("enrollment refused: {why}"))
                })?;
                match state.claims.get(&cn2.to_ascii_lowercase()) {
                    // The same key asking again (its answer was lost): issued again.
                    Some(c) if c.key_sha256 == csr.key_sha256 => {}
                    Some(c) => {
                        tracing::warn!(name = %cn2, from = %from2, "enrollment refused: name taken");
                        return Err(Status::already_exists(format!(
                            "enrollment refused: {} was enrolled from {} at {}; \
                             `exfleet-aggregator release {}` lets another host claim it",
                            c.cn,
                            c.from,
                            show_time(c.at_ms),
                            c.cn
                        )));
                    }
                    None => {}
                }
                // Aggregators sharing a bucket decide at once on the same state: the token and
                // the name are claimed first, and only the claim's winner (or the same host
                // asking again) goes on.
                let lower = cn2.to_ascii_lowercase();
                let single_use = state.tokens.get(&token_id).is_some_and(|t| t.single_use);
                if single_use {
                    if let Claimed::Theirs(other) =
                        ledger.claim(&format!("token-{token_id}"), &lower)?
                    {
                        tracing::warn!(name = %cn2, from = %from2, "enrollment refused: token claimed by {other}");
                        return Err(Status::unauthenticated(format!(
                            "enrollment refused: token {token_id} is single-use and was used by {other}"
                        )));
                    }
                }
                let generation = state.releases.get(&lower).copied().unwrap_or(0);
                if let Claimed::Theirs(_) =
                    ledger.claim(&format!("name-{lower}-{generation}"), &csr.key_sha256)?
                {
                    tracing::warn!(name = %cn2, from = %from2, "enrollment refused: name claimed with another key");
                    return Err(Status::already_exists(format!(
                        "enrollment refused: {cn2} was just enrolled by another host (another key); \
                         `exfleet-aggregator release {cn2}` lets another host claim it"
                    )));
                }
                let key_sha256 = csr.key_sha256.clone();
                let signed = signer.sign(csr, chrono::Utc::now().date_naive())?;
                let event = Event::Enrolled {
                    cn: cn2.clone(),
                    serial: signed.serial.clone(),
                    token: token_id,
                    from: from2.clone(),
                    at_ms: now,
                    not_after_ms: signed.not_after_ms,
                    key_sha256,
                    revocations_seen: Some(state.revocations_of(&cn2)),
                };
                Ok((vec![event], signed))
            })
        })
        .await
        .map_err(|e| Status::internal(format!("enrollment task failed: {e}")))??;
        tracing::info!(name = %cn, %from, serial = %signed.serial, "enrolled");
        Ok(self.issued(cn, signed))
    }

    async fn renew(&self, req: Request<RenewRequest>) -> Result<Response<Issued>, Status> {
        let from = peer(&req);
        let id = req
            .extensions()
            .get::<CollectorId>()
            .cloned()
            .ok_or_else(|| {
                Status::unauthenticated("renewal needs the current certificate (mutual TLS)")
            })?;
        let req_serial = req
            .extensions()
            .get::<CertSerial>()
            .map(|s| s.0.clone())
            .unwrap_or_default();
        let csr = self
            .signer
            .read(&req.into_inner().csr_der)
            .map_err(|e| Status::invalid_argument(format!("renewal refused: {e}")))?;
        if !csr.cn.eq_ignore_ascii_case(&id.0) {
            return Err(Status::permission_denied(format!(
                "renewal refused: the certificate of {} cannot renew as {}",
                id.0, csr.cn
            )));
        }
        let cn = id.0.clone();
        let serial = req_serial;
        let ledger = self.ledger.clone();
        let signer = self.signer.clone();
        let (cn2, from2) = (cn.clone(), from.clone());
        let signed = tokio::task::spawn_blocking(move || {
            ledger.update(|state| {
                // Under the lock: a revocation or a release since the call began counts.
                if let Some(at) = state.revoked(&cn2, &serial) {
                    return Err(Status::unauthenticated(format!(
                        "renewal refused: the certificate of {cn2} was revoked at {}",
                        show_time(at)
                    )));
                }
                let current = state
                    .claims
                    .get(&cn2.to_ascii_lowercase())
                    .is_some_and(|c| c.serials.contains(&serial));
                if !current {
                    return Err(Status::permission_denied(format!(
                        "renewal refused: this certificate of {cn2} (serial {serial}) is not one \
                         the current enrollment of the name was issued; enroll with a token"
                    )));
                }
                let signed = signer.sign(csr, chrono::Utc::now().date_naive())?;
                let event = Event::Renewed {
                    revocations_seen: Some(state.revocations_of(&cn2)),
                    cn: cn2,
                    serial: signed.serial.clone(),
                    from: from2,
                    at_ms: now_ms(),
                    not_after_ms: signed.not_after_ms,
                };
                Ok::<_, Status>((vec![event], signed))
            })
        })
        .await
        .map_err(|e| Status::internal(format!("renewal task failed: {e}")))??;
        tracing::info!(name = %cn, %from, serial = %signed.serial, "renewed");
        Ok(self.issued(cn, signed))
    }
}
