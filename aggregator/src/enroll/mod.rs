//! Enrollment: collectors get their certificates from the aggregator instead of having them
//! copied by hand. A collector makes its key on its host and sends a certificate request with
//! a token ([`tokens`]); the aggregator checks the token and that no other host holds the name,
//! signs with the fleet CA ([`issue`]) and records it ([`ledger`]). Renewal goes over mutual
//! TLS with the current certificate; `revoke` makes the identity gate
//! ([`crate::identity::Gate`]) refuse a name's certificates from the next call on.

pub mod issue;
pub mod ledger;
pub mod service;
mod shared;
pub mod tokens;

/// Now, UTC ms.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A UTC ms time as RFC 3339.
pub fn show_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| ms.to_string())
}

/// Bytes as lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
