//! Which events matter (collector/EVIDENCE.md): the collector ships these and no others.
//! Providers reuse small ids (Kernel-Boot also logs 20), so events are keyed on provider and id.

/// (provider names, event ids) that matter, whatever log they are in.
const MATTER: [(&[&str], &[u32]); 6] = [
    // Unhandled exception (1309) and configuration error (1310) in a web application.
    (&["ASP.NET 4.0.30319.0"], &[1309, 1310]),
    // Front-end proxy errors.
    (&["MSExchange Front End HTTP Proxy"], &[1003]),
    // Error using the TLS configuration of an endpoint (0.0.0.0:444).
    (&["HttpEvent", "Microsoft-Windows-HttpEvent"], &[15021]),
    // Start type changed (7040), state changed (7036).
    (&["Service Control Manager"], &[7040, 7036]),
    // Patch installed / failed / no log, update and product status, install result.
    (
        &["MsiInstaller"],
        &[1022, 1023, 1024, 1033, 1036, 11707, 11708],
    ),
    // Update installed / failed.
    (&["Microsoft-Windows-WindowsUpdateClient"], &[19, 20]),
];

/// Whether an event of `provider` with `id` matters.
pub fn matters(provider: &str, id: u32) -> bool {
    MATTER.iter().any(|(providers, ids)| {
        ids.contains(&id) && providers.iter().any(|p| p.eq_ignore_ascii_case(provider))
    })
}

#[cfg(test)]
mod tests {
    use super::matters;

    #[test]
    fn keyed_on_provider_and_id() {
        assert!(matters("Service Control Manager", 7040));
        assert!(matters("Microsoft-Windows-WindowsUpdateClient", 20));
        assert!(!matters("Microsoft-Windows-Kernel-Boot", 20));
        assert!(matters("asp.net 4.0.30319.0", 1309));
        assert!(!matters("Service Control Manager", 7045));
    }
}
