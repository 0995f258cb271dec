//! The settings a simulated server's hives hold (the collector's `settings` keys): TLS as
//! Microsoft's Exchange TLS guidance sets it (1.0 and 1.1 off, 1.2 on, every value defined, .NET
//! strong crypto on), Exchange's server component states all Active, and Microsoft Defender
//! running with the exclusions Set-ExchAVExclusions.ps1 sets. The TLS, maintenance and
//! Defender faults break them.
//!
//! The component states' value format (`<state>:<.NET ticks>`, 1 = Active, 0 = Inactive) is
//! the assumption the analyzer states (services.maintenance-mode): the reference marks it
//! unverified, and no real sample was at hand.

use super::{Fault, HostSpec};
use crate::regf::{HiveBuilder, RegData};

/// 2026-11-02T08:00:00Z in .NET ticks: when the simulated components were last set.
pub const STATE_TICKS: i64 = 639_292_032_000_000_000;

/// The component a maintenance fault leaves inactive, and the requester that did.
pub const INACTIVE_COMPONENT: (&str, &str) = ("ServerWideOffline", "Maintenance");

/// The folder and process the Defender fault leaves out of the exclusions.
pub const NOT_EXCLUDED: (&str, &str) = (r"Mailbox", "Microsoft.Exchange.Store.Worker.exe");

const PROTOCOLS: &str = r"Control\SecurityProviders\SCHANNEL\Protocols";

/// SYSTEM: SCHANNEL's protocol keys, LSA, and the WinDefend service.
pub fn system(s: &mut HiveBuilder, h: &HostSpec, ccs: &str) {
    for (version, on) in [("1.0", false), ("1.1", false), ("1.2", true)] {
        // The legacy fault turns 1.0 and 1.1 back on; the misconfigured one turns 1.2 off on
        // the client side only.
        let on = on || (h.has(Fault::TlsLegacyEnabled) && version != "1.2");
        for side in ["Server", "Client"] {
            let key = format!(r"{ccs}\{PROTOCOLS}\TLS {version}\{side}");
            let side_on =
                on && !(h.has(Fault::TlsMisconfigured) && version == "1.2" && side == "Client");
            s.set(&key, "Enabled", RegData::Dword(u32::from(side_on)));
            s.set(
                &key,
                "DisabledByDefault",
                RegData::Dword(u32::from(!side_on)),
            );
        }
    }
    s.set(
        &format!(r"{ccs}\Control\Lsa"),
        "LmCompatibilityLevel",
        RegData::Dword(5),
    );
    let defender = format!(r"{ccs}\Services\WinDefend");
    s.set(&defender, "Start", RegData::Dword(2));
    s.set(
        &defender,
        "DisplayName",
        RegData::Sz("Microsoft Defender Antivirus Service".into()),
    );
    s.set(&defender, "Type", RegData::Dword(16));
    // Wine's Service Control Manager registers no service without a binary (the live tests).
    s.set(
        &defender,
        "ImagePath",
        RegData::ExpandSz(
            r#""C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.25100.9-0\MsMpEng.exe""#
                .into(),
        ),
    );
}

/// SOFTWARE: .NET strong crypto, the component states, Defender's exclusions.
pub fn software(s: &mut HiveBuilder, h: &HostSpec) {
    for view in [r"Microsoft", r"WOW6432Node\Microsoft"] {
        let key = format!(r"{view}\.NETFramework\v4.0.30319");
        s.set(&key, "SystemDefaultTlsVersions", RegData::Dword(1));
        // The values fault: the 32-bit view's strong crypto was never set.
        if !(h.has(Fault::TlsValuesMissing) && view.starts_with("WOW")) {
            s.set(&key, "SchUseStrongCrypto", RegData::Dword(1));
        }
    }
    if !h.line.is_2010() {
        let states = r"Microsoft\ExchangeServer\v15\ServerComponentStates";
        for component in [
            "ServerWideOffline",
            "HubTransport",
            "FrontendTransport",
            "Monitoring",
        ] {
            let key = format!(r"{states}\{component}");
            for requester in ["Maintenance", "Functional"] {
                let state = if h.has(Fault::MaintenanceMode)
                    && (component, requester) == INACTIVE_COMPONENT
                {
                    0
                } else {
                    1
                };
                s.set(
                    &key,
                    requester,
                    RegData::Sz(format!("{state}:{STATE_TICKS}")),
                );
            }
        }
        // Inactive on every on-premises server: HealthChecker ignores them, so must a rule.
        for component in ["ForwardSyncDaemon", "ProvisioningRps"] {
            let key = format!(r"{states}\{component}");
            s.set(&key, "Functional", RegData::Sz(format!("0:{STATE_TICKS}")));
        }
    }
    let install = h.install_path();
    let paths = s_exclusions(&install).into_iter().filter(|p| {
        !(h.has(Fault::DefenderExclusionsMissing) && p.ends_with(&format!(r"\{}", NOT_EXCLUDED.0)))
    });
    for p in paths {
        s.set(
            r"Microsoft\Windows Defender\Exclusions\Paths",
            &p,
            RegData::Dword(0),
        );
    }
    for p in PROCESSES {
        if h.has(Fault::DefenderExclusionsMissing) && p == NOT_EXCLUDED.1 {
            continue;
        }
        s.set(
            r"Microsoft\Windows Defender\Exclusions\Processes",
            p,
            RegData::Dword(0),
        );
    }
}

/// The folders Set-ExchAVExclusions.ps1 excludes for a Mailbox server (default locations): the
/// simulator's own copy, so that the ground truth does not rest on the analyzer's list.
fn s_exclusions(install: &str) -> Vec<String> {
    let mut v: Vec<String> = [
        r"ClientAccess\OAB",
        r"FIP-FS",
        r"GroupMetrics",
        r"Logging",
        r"Mailbox",
        r"TransportRoles\Data",
        r"TransportRoles\Logs",
        r"TransportRoles\Pickup",
        r"TransportRoles\Replay",
        r"Working\OleConverter",
    ]
    .iter()
    .map(|f| format!("{install}{f}"))
    .collect();
    v.extend(
        [
            r"C:\Windows\Microsoft.NET\Framework64\v4.0.30319\Temporary ASP.NET Files",
            r"C:\Windows\System32\inetsrv",
            r"C:\inetpub\temp\IIS Temporary Compressed Files",
            r"C:\Windows\Cluster",
        ]
        .map(str::to_string),
    );
    v
}

const PROCESSES: [&str; 14] = [
    "EdgeTransport.exe",
    "Microsoft.Exchange.Store.Service.exe",
    "Microsoft.Exchange.Store.Worker.exe",
    "MSExchangeDelivery.exe",
    "MSExchangeFrontendTransport.exe",
    "MSExchangeHMHost.exe",
    "MSExchangeHMWorker.exe",
    "MSExchangeMailboxAssistants.exe",
    "MSExchangeRepl.exe",
    "MSExchangeSubmission.exe",
    "MSExchangeTransport.exe",
    "NodeRunner.exe",
    "UMWorkerProcess.exe",
    "w3wp.exe",
];
