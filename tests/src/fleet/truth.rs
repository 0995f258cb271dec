//! The ground truth of a simulated fleet: for each host, the findings its planted faults (and
//! the product the simulator chose for it) must produce, with strings their evidence must
//! cite; and the fleet-wide findings the plants add up to. Derived from the plan alone.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::builds::text;
use super::render::{self, disabled_by_fault};
use super::{Fault, HostSpec};

/// The ground-truth file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroundTruth {
    /// Seed the fleet was generated from.
    pub seed: u64,
    /// Number of servers.
    pub servers: usize,
    /// Simulator version.
    pub generator: String,
    /// Per host.
    pub hosts: Vec<HostTruth>,
    /// Findings about groups of hosts (`fleet.*`).
    pub fleet: Vec<Expected>,
}

/// What one host is and must produce.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostTruth {
    /// NetBIOS name.
    pub name: String,
    /// DNS name.
    pub fqdn: String,
    /// AD site.
    pub site: String,
    /// DAG.
    pub dag: Option<String>,
    /// "Exchange 2019 CU15".
    pub line: String,
    /// Build of ExSetup.exe.
    pub exsetup_build: String,
    /// Build the registry's Msi* values give (the CU).
    pub msi_version: String,
    /// .NET release DWORD.
    pub dotnet_release: u32,
    /// Faults planted.
    pub faults: Vec<Fault>,
    /// Triage directory, relative to the fleet directory.
    pub triage_dir: String,
    /// Labels file, relative to the fleet directory.
    pub labels_file: String,
    /// Findings this host must produce, and no others.
    pub expected: Vec<Expected>,
}

/// One expected finding.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Expected {
    /// Finding id (analyzer/FINDINGS.md).
    pub id: String,
    /// What was planted.
    pub because: String,
    /// Strings the finding's evidence or text must contain.
    pub evidence: Vec<String>,
    /// For fleet findings: the group ("dag:DAG01") and its hosts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// For fleet findings: the hosts concerned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
}

impl Expected {
    fn host(id: &str, because: String, evidence: Vec<String>) -> Self {
        Expected {
            id: id.to_string(),
            because,
            evidence,
            group: None,
            hosts: Vec::new(),
        }
    }
}

/// Builds the ground truth of a fleet.
pub fn ground_truth(seed: u64, hosts: &[HostSpec]) -> GroundTruth {
    GroundTruth {
        seed,
        servers: hosts.len(),
        generator: format!("exfleet-sim {}", env!("CARGO_PKG_VERSION")),
        hosts: hosts.iter().map(|h| host_truth(h, seed)).collect(),
        fleet: fleet_truth(hosts),
    }
}

fn host_truth(h: &HostSpec, seed: u64) -> HostTruth {
    let build = text(h.exsetup_build);
    let msi = text(h.line.base);
    let mut expected: Vec<Expected> = h
        .faults
        .iter()
        // The CAS update order and the web shell are findings about groups (see `fleet_truth`).
        .filter(|&&f| f != Fault::CasProxyOrder && f != Fault::IocWebShell)
        .map(|&f| {
            Expected::host(
                f.finding_id(),
                format!("fault {}", fault_name(f)),
                fault_evidence(h, f, seed),
            )
        })
        .collect();
    if matches!(
        h.line.product,
        "Exchange 2019" | "Exchange 2016" | "Exchange 2010"
    ) {
        expected.push(Expected::host(
            "build.product-eol",
            format!("product {} chosen", h.line.product),
            vec![h.line.product.to_string()],
        ));
    }
    if super::builds::open_to_newest_cve(h.exsetup_build) {
        expected.push(Expected::host(
            "security.cve-open",
            format!("build {build} is below {}", super::builds::NEWEST_CVE_FIX.0),
            vec![super::builds::NEWEST_CVE_FIX.1.to_string()],
        ));
    }
    if !h.line.is_2010() {
        // FIP-FS's Configuration.xml is not collected: ADV24199947 waits on evidence on every
        // Exchange 2013 or later server whose build carries Mar24SU (SE came out after it).
        // Extended Protection is judged from applicationHost.config (properly configured,
        // its CVEs are closed), CVE-2020-1147 and the TokenCacheModule from the .NET release
        // and the Windows update revision where they decide.
        expected.push(Expected::host(
            "security.cve-unverified",
            "FIP-FS's Configuration.xml is not in the evidence".into(),
            vec!["ADV24199947".into()],
        ));
    }
    if h.has(Fault::EpNotSecured) || h.has(Fault::EpSuppressed) {
        expected.push(Expected::host(
            "security.cve-open",
            "Extended Protection planted not properly set: its CVE group is open".into(),
            vec!["CVE-2022-24516".into(), "Extended Protection".into()],
        ));
    }
    if h.has(Fault::IocEcpWrite) {
        // The reset of the virtual directory came through the proxy's server cookie.
        expected.push(Expected::host(
            "ioc.cve-2021-26855",
            "the planted ResetOABVirtualDirectory request is routed by ServerInfo~".into(),
            vec![super::ioc::ATTACKER_ECP.into()],
        ));
    }
    if h.has(Fault::CertWeak) {
        expected.push(Expected::host(
            "cert.weak-signature",
            "the weak certificate planted is signed with SHA-1".into(),
            vec!["SHA-1".into(), weak_cert(h, seed)],
        ));
    }
    if h.has(Fault::BackendCertExpired) {
        expected.push(Expected::host(
            "cert.expiring-soon",
            "the expired back-end certificate is in the store".into(),
            vec![
                render::certs(h, seed).back.thumbprint,
                "expired on 2026-06-01".into(),
            ],
        ));
    }
    if h.has(Fault::ServicesDisabled) {
        // The saved `sc queryex` capture shows the disabled services stopped.
        expected.push(Expected::host(
            "services.not-running",
            "the disabled services are stopped in the sc queryex capture".into(),
            disabled_by_fault()
                .into_iter()
                .take(1)
                .map(str::to_string)
                .collect(),
        ));
    }
    if h.has(Fault::ServicesDisabled) && h.update.is_some() {
        expected.push(Expected::host(
            "services.state-cache-left",
            "the SU's restore step never ran: ServiceState.xml is left".into(),
            vec!["ServiceState.xml".into()],
        ));
    }
    if h.has(Fault::SuFailedNoLog) {
        // The newest SU failed: the server is still on the one before.
        expected.push(Expected::host(
            "build.su-behind",
            "the newest SU failed to install".into(),
            vec![text(h.exsetup_build)],
        ));
    }
    if h.has(Fault::KnownBad) {
        // The known-bad build is an older build of its CU: behind its newest SU as well.
        expected.push(Expected::host(
            "build.su-behind",
            "the known-bad build is not the newest of its CU".into(),
            vec![text(h.exsetup_build)],
        ));
    }
    if h.has(Fault::DotnetUpgradeOrder) {
        // .NET 4.7.2 is older than the server's own CU (2019 CU15) supports too.
        expected.push(Expected::host(
            "dotnet.unsupported",
            "the .NET planted for the failed upgrade is too old for CU15 as well".into(),
            vec![h.dotnet_release.to_string()],
        ));
    }
    let last_run_failed = h.has(Fault::DotnetUpgradeOrder)
        || h.has(Fault::SetupInterrupted)
        || h.has(Fault::InstallFromBin)
        || h.has(Fault::SetupUnknownError);
    if !last_run_failed {
        let last = render::runs(h)
            .last()
            .map(|r| r.setup_version.clone())
            .unwrap_or_default();
        expected.push(Expected::host(
            "setup.success",
            "last setup run completed".into(),
            vec![last],
        ));
    }
    // Two faults with one id (e.g. an expired and a missing certificate) are one finding.
    expected.sort_by(|a, b| a.id.cmp(&b.id));
    expected.dedup_by(|a, b| a.id == b.id);
    HostTruth {
        name: h.name.clone(),
        fqdn: h.fqdn(),
        site: h.site.clone(),
        dag: h.dag.clone(),
        line: format!("{} {}", h.line.product, h.line.cu),
        exsetup_build: build,
        msi_version: msi,
        dotnet_release: h.dotnet_release,
        faults: h.faults.clone(),
        triage_dir: format!("hosts/{}", h.name),
        labels_file: format!("labels/{}.toml", h.name),
        expected,
    }
}

fn fault_name(f: Fault) -> String {
    serde_json::to_value(f)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn fault_evidence(h: &HostSpec, f: Fault, seed: u64) -> Vec<String> {
    let build = text(h.exsetup_build);
    match f {
        Fault::SuBehind | Fault::CuOutOfSupport | Fault::UnknownBuild => vec![build],
        Fault::FileRegistryMismatch => vec![build, text(h.line.base)],
        Fault::SuWrongCu => vec![super::builds::EX2019_CU14.updates
            [super::builds::EX2019_CU14.latest()]
        .2
        .to_string()],
        Fault::SetupInterrupted => vec!["Watermark".into()],
        Fault::IocSsrf => vec![super::ioc::ATTACKER_SSRF.into(), "proxyLogon.ecp".into()],
        Fault::IocUmDeserialization => vec!["System.InvalidCastException".into()],
        Fault::IocOabWrite => vec![super::ioc::OAB_WRITTEN.into()],
        Fault::IocEcpWrite => vec!["ResetOABVirtualDirectory".into(), "<script".into()],
        Fault::IocNotShell => vec![super::ioc::ATTACKER_NOTSHELL.into()],
        Fault::IocLsassDump => vec!["lsass.dmp".into()],
        Fault::IocArchive => vec!["pm.7z".into()],
        Fault::IocWebShell => vec!["x5kqk2vc.aspx".into(), "h4vzq0ms.ashx".into()],
        Fault::InstallFromBin => vec![format!(r"{}Bin", h.install_path())],
        Fault::SetupUnknownError => vec!["0x5A17".into()],
        Fault::BackendCertMissing | Fault::BackendCertExpired => {
            vec!["0.0.0.0:444".into(), render::certs(h, seed).back.thumbprint]
        }
        Fault::PendingReboot => vec!["PendingFileRenameOperations".into()],
        Fault::ServicesDisabled => disabled_by_fault()
            .into_iter()
            .take(1)
            .map(str::to_string)
            .collect(),
        Fault::DotnetUnsupported => vec![h.dotnet_release.to_string()],
        Fault::OwaAssemblyLoad => vec![super::events::MISSING_ASSEMBLY.into(), "/owa".into()],
        Fault::VdirPathWrong => vec!["/ecp".into(), super::iis::WRONG_ECP_PATH.into()],
        Fault::SharedWebConfigMissing => vec!["SharedWebConfig.config is missing".into()],
        Fault::ConfigVariableUnexpanded => vec!["%ExchangeInstallDir%".into(), "web.config".into()],
        Fault::OwaMissingImages => vec![text(h.line.build(h.update))],
        Fault::IuInstalled => vec![super::render::IU_KB.into(), "Interim Update".into()],
        Fault::KnownBad => vec![build, "15.2.2562.27".into()],
        Fault::DotnetUpgradeOrder => vec![h.dotnet_release.to_string(), "Exchange SE RTM".into()],
        Fault::DbcsLocale => vec![format!("code page {}", h.code_page), "v14".into()],
        Fault::CasProxyOrder => vec![build],
        Fault::TlsMisconfigured => vec!["TLS 1.2 is Misconfigured".into()],
        Fault::TlsLegacyEnabled => vec!["TLS 1.0 is Enabled".into(), "TLS 1.1 is Enabled".into()],
        Fault::TlsValuesMissing => vec![
            r"WOW6432Node\Microsoft\.NETFramework\v4.0.30319\SchUseStrongCrypto is not defined"
                .into(),
        ],
        Fault::MaintenanceMode => vec![format!(
            "{} is Inactive by requester {}",
            super::settings::INACTIVE_COMPONENT.0,
            super::settings::INACTIVE_COMPONENT.1
        )],
        Fault::DefenderExclusionsMissing => vec![
            format!(r"{}{}", h.install_path(), super::settings::NOT_EXCLUDED.0),
            super::settings::NOT_EXCLUDED.1.into(),
        ],
        Fault::WebConfigMissing => vec![r"ClientAccess\Owa\web.config is missing".into()],
        Fault::SuFailedNoLog => vec![h.line.updates[h.line.latest()].2.to_string(), "1603".into()],
        Fault::NotRebooted => vec![
            h.update
                .map(|i| h.line.updates[i].2.to_string())
                .unwrap_or_default(),
            "3010".into(),
        ],
        Fault::ServiceCrashAfterUpdate => {
            vec![super::events::CRASHING_SERVICE.0.into(), "7031".into()]
        }
        Fault::EpNotSecured => {
            vec!["Default Web Site/ECP - Current Value: 'None' Expected Value: 'Require'".into()]
        }
        Fault::EpUnsupported => vec![
            "Default Web Site/Autodiscover - Current Value: 'Require' Expected Value: 'None'"
                .into(),
        ],
        Fault::EpSuppressed => vec!["SuppressExtendedProtection = 1".into()],
        Fault::CertExpiring => vec![
            render::certs(h, seed).others[0].thumbprint.clone(),
            "expires on 2027-01-05 (43 days left)".into(),
        ],
        Fault::CertWeak => vec!["1024-bit RSA key".into(), weak_cert(h, seed)],
        Fault::BackendBindingIp => vec![format!("{}:444:", super::iis::BACKEND_SINGLE_IP)],
        Fault::SniBindingCertMissing => vec![
            render::SNI_ENDPOINT.into(),
            render::certs(h, seed).sni.thumbprint,
            "not in LocalMachine".into(),
        ],
        Fault::InstallerCacheMissing => {
            let lost: Vec<String> = super::prereqs::packages(h)
                .into_iter()
                .filter(|p| p.lost && p.product.as_ref().is_none_or(|n| n.0.contains("Exchange")))
                .flat_map(|p| [p.code, format!("{} missing", p.local_package)])
                .collect();
            lost
        }
        Fault::VcRedistOutdated => vec!["12.0.21005 is outdated (needs 12.0.40664)".into()],
        Fault::UrlRewriteMissing => vec![r"Microsoft\IIS Extensions\URL Rewrite".into()],
        Fault::UcmaMissing => vec!["{902F4F35-D5DC-4363-8671-D5EF0D26C21D}".into()],
        Fault::UmDirectoryMissing => {
            vec![format!(
                r"{}UnifiedMessaging\Prompts: missing",
                h.install_path()
            )]
        }
    }
}

/// The thumbprint of the weak certificate CertWeak plants.
fn weak_cert(h: &HostSpec, seed: u64) -> String {
    render::certs(h, seed)
        .others
        .last()
        .map(|c| c.thumbprint.clone())
        .unwrap_or_default()
}

/// Build drift among `members`, when they run more than one build.
fn drift(members: &[&HostSpec], group: String, who: &str) -> Option<Expected> {
    let mut builds: Vec<String> = members.iter().map(|h| text(h.exsetup_build)).collect();
    builds.sort();
    builds.dedup();
    (builds.len() > 1).then(|| Expected {
        id: "fleet.build-drift".into(),
        because: format!("{who} planted on different builds"),
        evidence: builds,
        group: Some(group),
        hosts: members.iter().map(|h| h.name.clone()).collect(),
    })
}

/// Fleet findings: build drift inside a DAG, a site or a role group, and one mismatch shared
/// by several hosts.
fn fleet_truth(hosts: &[HostSpec]) -> Vec<Expected> {
    let mut out = Vec::new();
    let mut dags: BTreeMap<&str, Vec<&HostSpec>> = BTreeMap::new();
    for h in hosts {
        if let Some(d) = &h.dag {
            dags.entry(d).or_default().push(h);
        }
    }
    for (dag, members) in dags {
        if let Some(e) = drift(&members, format!("dag:{dag}"), "DAG members") {
            out.push(e);
        }
    }
    // Servers of one product in one site, or one role group.
    for (kind, key) in [
        (
            "site",
            (|h: &HostSpec| h.site.clone()) as fn(&HostSpec) -> String,
        ),
        ("role", |h: &HostSpec| h.role_group.clone()),
    ] {
        let mut groups: BTreeMap<(String, &str), Vec<&HostSpec>> = BTreeMap::new();
        for h in hosts {
            groups.entry((key(h), h.line.product)).or_default().push(h);
        }
        for ((value, product), members) in groups {
            let group = format!("{kind}:{value}/{product}");
            if let Some(e) = drift(&members, group, "servers of one product and group") {
                out.push(e);
            }
        }
    }
    out.extend(ioc_truth(hosts));
    // Internal CAS that took a rollup before an Internet-facing one: one finding for them all.
    let early: Vec<&HostSpec> = hosts
        .iter()
        .filter(|h| h.has(Fault::CasProxyOrder))
        .collect();
    if !early.is_empty() {
        let internet: Vec<&HostSpec> = hosts
            .iter()
            .filter(|h| h.line.is_2010() && h.role_group.contains("internet"))
            .collect();
        let mut concerned: Vec<String> = early
            .iter()
            .chain(&internet)
            .map(|h| h.name.clone())
            .collect();
        concerned.sort();
        out.push(Expected {
            id: "topology.cas-proxy-order".into(),
            because: "internal Exchange 2010 CAS planted on a newer rollup".into(),
            evidence: early
                .iter()
                .chain(&internet)
                .map(|h| text(h.exsetup_build))
                .collect(),
            group: Some("exchange-2010-cas".into()),
            hosts: concerned,
        });
    }
    // Servers whose TLS differs from the fleet's (every other server is set the same).
    let tls: Vec<&HostSpec> = hosts
        .iter()
        .filter(|h| {
            h.has(Fault::TlsMisconfigured)
                || h.has(Fault::TlsLegacyEnabled)
                || h.has(Fault::TlsValuesMissing)
        })
        .collect();
    if !tls.is_empty() && tls.len() * 2 < hosts.len() {
        out.push(Expected {
            id: "fleet.tls-drift".into(),
            because: "TLS faults planted on some servers".into(),
            evidence: tls.iter().map(|h| h.name.clone()).collect(),
            group: Some("tls".into()),
            hosts: tls.iter().map(|h| h.name.clone()).collect(),
        });
    }
    for f in [
        Fault::SuWrongCu,
        Fault::FileRegistryMismatch,
        Fault::InstallFromBin,
    ] {
        let with: Vec<String> = hosts
            .iter()
            .filter(|h| h.has(f))
            .map(|h| h.name.clone())
            .collect();
        if with.len() >= 2 {
            out.push(Expected {
                id: "fleet.mismatch-pattern".into(),
                because: format!("fault {} planted on {} hosts", fault_name(f), with.len()),
                evidence: vec![f.finding_id().to_string()],
                group: Some(f.finding_id().to_string()),
                hosts: with,
            });
        }
    }
    out
}

/// The fleet findings of the indicators planted: the CVE-2021-26855 address on the hosts that
/// share it, and the web shell against the other servers of its host's build.
fn ioc_truth(hosts: &[HostSpec]) -> Vec<Expected> {
    let mut out = Vec::new();
    let ssrf: Vec<String> = hosts
        .iter()
        .filter(|h| h.has(Fault::IocSsrf))
        .map(|h| h.name.clone())
        .collect();
    if ssrf.len() >= 2 {
        out.push(Expected {
            id: "ioc.shared-source".into(),
            because: "CVE-2021-26855 planted from one address on several hosts".into(),
            evidence: vec![super::ioc::ATTACKER_SSRF.into()],
            group: Some(format!("ip:{}", super::ioc::ATTACKER_SSRF)),
            hosts: ssrf,
        });
    }
    // The .aspx comparison (analyzer ioc.aspx-outlier): a build of three servers or more, else
    // its CU line if that has three; a server neither compares lists the auth folders' pages
    // newer than its install (ioc.aspx-uncompared): the stock pages are written at the install,
    // so only a server whose install is undated lists them (all of them).
    let listed: Vec<&HostSpec> = hosts.iter().filter(|o| !o.line.is_2010()).collect();
    for h in &listed {
        let peers = listed
            .iter()
            .filter(|o| o.exsetup_build == h.exsetup_build)
            .count();
        let line = listed
            .iter()
            .filter(|o| o.exsetup_build[..3] == h.exsetup_build[..3])
            .count();
        let [a, b, c, _] = h.exsetup_build;
        let group = if peers >= 3 {
            Some(format!("build:{}", text(h.exsetup_build)))
        } else if line >= 3 {
            Some(format!("line:{a}.{b}.{c}"))
        } else {
            None
        };
        match group {
            Some(group) if h.has(Fault::IocWebShell) => out.push(Expected {
                id: Fault::IocWebShell.finding_id().into(),
                because: "a web shell planted in aspnet_client (below the moved site root) \
                          and a handler shell in owa\\auth"
                    .into(),
                evidence: vec![
                    r"Default Web Site\aspnet_client\system_web\x5kqk2vc.aspx".into(),
                    r"FrontEnd\HttpProxy\owa\auth\h4vzq0ms.ashx".into(),
                ],
                group: Some(group),
                hosts: vec![h.name.clone()],
            }),
            // Undated: no update key, or ExSetup's build is not the update's (its SU's KB is
            // not among the installed updates).
            None if h.update.is_none() || h.exsetup_build != h.line.build(h.update) => {
                out.push(Expected {
                    id: "ioc.aspx-uncompared".into(),
                    because: "alone on its build and CU line, its install undated".into(),
                    evidence: vec!["logon.aspx".into()],
                    group: Some(format!("host:{}", h.name)),
                    hosts: vec![h.name.clone()],
                })
            }
            _ => {}
        }
    }
    out
}
