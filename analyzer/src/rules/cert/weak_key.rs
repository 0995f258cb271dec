//! `cert.weak-key`.

use crate::finding::{Evidence, Severity};
use crate::rules::{action_of, Context, Rule, Sink};
use crate::view::HostView;

/// The catalog entry.
pub const DOC: &str = "## Detects
A certificate of LocalMachine\\My with an RSA or DSA key below 2048 bits. Elliptic-curve keys are not judged (their size is not comparable), as HealthChecker does.
## Evidence
Per certificate: thumbprint, subject, key algorithm and size, with the store key it was read from.
## Action
Replace the certificate with one on a key of at least 2048 bits (a new request with `-KeySize 2048` or more), assign it to its services and bind it in IIS; then remove the old one.
## Source
Exchange Health Checker (CSS-Exchange HealthChecker.ps1, aka.ms/ExchangeHealthChecker): Exchange certificates, \"It's recommended to use a key size of at least 2048 bit\" (Red); \"Exchange Server TLS guidance\" (Microsoft Learn, aka.ms/HC-SSLBP).";

/// `cert.weak-key`; its catalog entry is [`DOC`].
pub struct WeakKey;

/// The smallest RSA or DSA key HealthChecker accepts.
const MIN_BITS: i64 = 2048;

impl Rule for WeakKey {
    fn id(&self) -> &'static str {
        "cert.weak-key"
    }
    fn severity(&self) -> Severity {
        Severity::Error
    }
    fn doc(&self) -> &'static str {
        DOC
    }
    fn module_path(&self) -> &'static str {
        module_path!()
    }
    fn check(&self, h: &HostView, _cx: &Context, out: &mut Sink) {
        let ev: Vec<Evidence> = super::judged(h)
            .filter(|c| {
                matches!(c.key_algorithm.as_str(), "RSA" | "DSA")
                    && c.key_size_bits > 0
                    && c.key_size_bits < MIN_BITS
            })
            .map(|c| {
                Evidence::new(
                    format!(
                        "certificate {} has a {}-bit {} key (at least {MIN_BITS} expected)",
                        super::name(c),
                        c.key_size_bits,
                        c.key_algorithm
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
            format!("{} certificate(s) on a key below {MIN_BITS} bits", ev.len()),
            ev,
            &action_of(DOC),
        ));
    }
}
