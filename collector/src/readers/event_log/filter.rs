//! Which events matter (collector/EVIDENCE.md): the collector ships these and no others.
//! Providers reuse small ids (Kernel-Boot also logs 20, Hyper-V-Netvsc 12 and 13), so events
//! are keyed on provider and id. What each one says is [`super::facts`]'s.

/// (provider names, event ids) that matter, whatever log they are in.
pub const MATTER: [(&[&str], &[u32]); 12] = [
    // Unhandled exception (1309) and configuration error (1310) in a web application.
    (&["ASP.NET 4.0.30319.0"], &[1309, 1310]),
    // Front-end proxy errors.
    (&["MSExchange Front End HTTP Proxy"], &[1003]),
    // Error using the TLS configuration of an endpoint (0.0.0.0:444).
    (&["HttpEvent", "Microsoft-Windows-HttpEvent"], &[15021]),
    // Start type changed (7040), state changed (7036); failed to start (7000), no connection
    // in time (7009), no answer to a control in time (7011), stopped with an error (7023),
    // terminated unexpectedly (7031 with a recovery action, 7034 without).
    (
        &["Service Control Manager"],
        &[7040, 7036, 7000, 7009, 7011, 7023, 7031, 7034],
    ),
    // Patch installed / failed / failed without a log, product and update status, install
    // result.
    (
        &["MsiInstaller"],
        &[1022, 1023, 1024, 1033, 1036, 11707, 11708],
    ),
    // Update installed / failed, restart required, installation started.
    (
        &["Microsoft-Windows-WindowsUpdateClient"],
        &[19, 20, 21, 43],
    ),
    // The event log service started (at boot) / stopped (clean shutdown); the previous
    // shutdown was unexpected.
    (&["EventLog"], &[6005, 6006, 6008]),
    // A process asked for a restart or shutdown.
    (&["User32"], &[1074]),
    // The operating system started / is shutting down.
    (&["Microsoft-Windows-Kernel-General"], &[12, 13]),
    // A process crashed.
    (&["Application Error"], &[1000]),
    // A .NET process ended on an unhandled exception.
    (&[".NET Runtime"], &[1026]),
    // An Exchange process crashed (Watson report).
    (&["MSExchange Common"], &[4999]),
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
        assert!(matters("Service Control Manager", 7031));
        assert!(matters("Microsoft-Windows-WindowsUpdateClient", 20));
        assert!(!matters("Microsoft-Windows-Kernel-Boot", 20));
        assert!(matters("Microsoft-Windows-Kernel-General", 12));
        assert!(!matters("Microsoft-Windows-Hyper-V-Netvsc", 12));
        assert!(!matters("Microsoft-Windows-UserModePowerService", 12));
        assert!(matters("EventLog", 6008));
        assert!(!matters("EventLog", 6013));
        assert!(matters("asp.net 4.0.30319.0", 1309));
        assert!(!matters("Service Control Manager", 7045));
        assert!(!matters("", 0));
    }
}
