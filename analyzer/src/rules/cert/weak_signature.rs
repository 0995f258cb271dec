//! `cert.weak-signature`.

use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, Context, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
A certificate of LocalMachine\\My signed with an MD2, MD4, MD5 or SHA-1 hash (told by the signature algorithm's OID; for RSASSA-PSS, the hash its parameters name).
## Evidence
Per certificate: thumbprint, subject, the signature hash and algorithm OID, with the store key it was read from.
## Action
Replace the certificate with one signed with a hash of the SHA-2 family (SHA-256 or above), assign it to its services and bind it in IIS.
## Source
Exchange Health Checker (CSS-Exchange HealthChecker.ps1, aka.ms/ExchangeHealthChecker): Exchange certificates, \"use a hash algorithm from the SHA-2 family\" (Yellow), aka.ms/HC-SSLBP.";

/// `cert.weak-signature`; its catalog entry is [`DOC`].
pub struct WeakSignature;

/// The hashes HealthChecker calls weak.
const WEAK: [&str; 4] = ["MD2", "MD4", "MD5", "SHA-1"];

impl Rule for WeakSignature {
    fn id(&self) -> &'static str {
        "cert.weak-signature"
    }
    fn severity(&self) -> Severity {
        Severity::Warning
    }
    fn doc(&self) -> &'static str {
        DOC
    }
    fn module_path(&self) -> &'static str {
        module_path!()
    }
    fn check(&self, h: &HostView, _cx: &Context, out: &mut Sink) {
        let ev: Vec<Evidence> = super::judged(h)
            .filter(|c| WEAK.contains(&c.signature_hash.as_str()))
            .map(|c| {
                Evidence::new(
                    format!(
                        "certificate {} is signed with {} ({})",
                        super::name(c),
                        c.signature_hash,
                        c.signature_algorithm
                    ),
                    &c.provenance,
                )
            })
            .collect();
        if ev.is_empty() {
            return;
        }
        out.push(self.finding(
            h,
            format!("{} certificate(s) signed with a weak hash", ev.len()),
            ev,
            &action_of(DOC),
        ));
    }
}
