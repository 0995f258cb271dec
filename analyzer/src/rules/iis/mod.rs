//! Web front end rules (IIS, HTTP.sys).

pub mod backend_binding_cert;
pub mod backend_binding_ip;
pub mod binding_cert;
pub mod config_variable_unexpanded;
pub mod ep_not_secured;
pub mod ep_suppressed;
pub mod ep_unsupported;
pub mod shared_web_config_missing;
pub mod vdir_path_wrong;
pub mod web_config_missing;

use exfleet_dataset::BindingRow;

/// What is wrong with the certificate of an HTTP.sys binding at `as_of_ms` (midnight UTC of
/// the analysis date): no hash, not in LocalMachine\My, or expired; `None` when it is fine.
/// One judgement for `iis.backend-binding-cert` (0.0.0.0:443/444) and `iis.binding-cert`
/// (every other binding).
pub(crate) fn cert_problem(b: &BindingRow, as_of_ms: i64) -> Option<String> {
    let endpoint = &b.endpoint;
    if b.cert_thumbprint.is_empty() {
        return Some(format!("{endpoint} has no certificate hash"));
    }
    if !b.cert_in_store {
        return Some(format!(
            "{endpoint} is bound to certificate {}, which is not in LocalMachine\\My",
            b.cert_thumbprint
        ));
    }
    (b.cert_not_after_ms < as_of_ms).then(|| {
        let expired = chrono::DateTime::from_timestamp_millis(b.cert_not_after_ms)
            .map(|t| t.date_naive().to_string())
            .unwrap_or_default();
        format!(
            "{endpoint} is bound to certificate {}, expired on {expired}",
            b.cert_thumbprint
        )
    })
}
