//! Certificates of LocalMachine\My (the SOFTWARE hive's machine store), as HealthChecker
//! judges the server's certificates: lifetime, key size, signature hash. Out of reach of a
//! disk copy, not guessed: which certificate is the Auth or the internal transport one
//! (AuthConfig and Get-TransportService, in Active Directory) and revocation status (live).

pub mod expiring;
pub mod expiring_soon;
pub mod weak_key;
pub mod weak_signature;

use exfleet_dataset::CertificateRow;

use crate::view::HostView;

/// One day in milliseconds.
const DAY_MS: i64 = 86_400_000;

/// The certificates HealthChecker judges: all of the store but the ones Windows makes for
/// Azure AD peer-to-peer access (`CN=MS-Organization-P2P-Access [2024]`) and Azure VMs
/// (`DC=Windows Azure CRP Certificate Generator`), by subject or issuer.
pub(crate) fn judged(h: &HostView) -> impl Iterator<Item = &CertificateRow> {
    h.certificates
        .iter()
        .filter(|c| !windows_made(&c.subject) && !windows_made(&c.issuer))
}

fn windows_made(name: &str) -> bool {
    if name.contains("DC=Windows Azure CRP Certificate Generator") {
        return true;
    }
    // `CN=MS-Organization-P2P-Access [YYYY]` at the end, the year 1000-2999.
    name.rsplit_once("CN=MS-Organization-P2P-Access [")
        .and_then(|(_, rest)| rest.strip_suffix(']'))
        .is_some_and(|y| {
            y.len() == 4
                && matches!(y.as_bytes()[0], b'1' | b'2')
                && y.bytes().all(|b| b.is_ascii_digit())
        })
}

/// Whole days from `as_of_ms` to NotAfter, truncated toward zero as .NET's TimeSpan.Days.
pub(crate) fn lifetime_days(c: &CertificateRow, as_of_ms: i64) -> i64 {
    (c.not_after_ms - as_of_ms) / DAY_MS
}

/// NotAfter as a date.
pub(crate) fn not_after(c: &CertificateRow) -> String {
    chrono::DateTime::from_timestamp_millis(c.not_after_ms)
        .map(|t| t.date_naive().to_string())
        .unwrap_or_default()
}

/// `thumbprint (subject)`, how evidence names a certificate.
pub(crate) fn name(c: &CertificateRow) -> String {
    format!("{} ({})", c.thumbprint, c.subject)
}

#[cfg(test)]
mod tests {
    #[test]
    fn windows_made_certificates_are_told_by_name() {
        assert!(super::windows_made("CN=MS-Organization-P2P-Access [2024]"));
        assert!(!super::windows_made(
            "CN=MS-Organization-P2P-Access [2024] x"
        ));
        assert!(!super::windows_made("CN=MS-Organization-P2P-Access [3024]"));
        assert!(super::windows_made(
            "DC=Windows Azure CRP Certificate Generator, CN=x"
        ));
        assert!(!super::windows_made("CN=mail.contoso.com"));
    }
}
