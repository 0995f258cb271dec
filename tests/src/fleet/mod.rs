//! The fleet simulator: triage directories of N Exchange servers in the real Windows formats,
//! reproducible from a seed, with a mix of products, CUs, SUs, DAGs and sites, planted faults,
//! and a ground-truth file of the findings each server must produce.
//!
//! Ground truth comes only from what the simulator planted ([`Fault`], and the product it
//! chose); the simulator never runs the analyzer.

pub mod builds;
pub mod cert;
pub mod events;
pub mod iis;
pub mod install_files;
pub mod ioc;
pub mod prereqs;
pub mod real_size;
pub mod render;
pub mod service_control;
pub mod settings;
pub mod setup_log;
pub mod truth;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use builds::Line;
pub use real_size::ArtifactSizes;

/// A fault the simulator can plant in a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// On its CU, but not on the newest SU for it.
    SuBehind,
    /// On a CU that no longer gets updates.
    CuOutOfSupport,
    /// ExSetup.exe carries a build the catalog does not know (a private fix).
    UnknownBuild,
    /// ExSetup.exe is on another CU than the registry's Msi* values say (rolled back).
    FileRegistryMismatch,
    /// An installed-update key names an SU for another CU.
    SuWrongCu,
    /// Setup was interrupted: a role watermark is left and the last run has no end.
    SetupInterrupted,
    /// The last run started setup.exe from the installation's own Bin folder.
    InstallFromBin,
    /// The last run failed with an error no known pattern explains.
    SetupUnknownError,
    /// The 0.0.0.0:444 binding's certificate is not in the machine store.
    BackendCertMissing,
    /// The 0.0.0.0:444 binding's certificate has expired.
    BackendCertExpired,
    /// A reboot is pending (PendingFileRenameOperations).
    PendingReboot,
    /// Exchange, IIS and WMI services left Disabled after an update.
    ServicesDisabled,
    /// .NET Framework below what the CU needs.
    DotnetUnsupported,
    /// OWA and ECP fail with HTTP 500: ASP.NET cannot load an Exchange assembly (1309 events).
    OwaAssemblyLoad,
    /// The front end's /ecp virtual directory points at the wrong folder.
    VdirPathWrong,
    /// FrontEnd\HttpProxy\SharedWebConfig.config is missing.
    SharedWebConfigMissing,
    /// ClientAccess\ecp\web.config still holds %ExchangeInstallDir% (SU run unelevated).
    ConfigVariableUnexpanded,
    /// The OWA resource folder of the installed version is missing (SU run unelevated).
    OwaMissingImages,
    /// An Interim Update is installed (the next SU will not install over it).
    IuInstalled,
    /// ExSetup.exe is a build with a published known issue (Exchange SE RTM, 15.2.2562.17).
    KnownBad,
    /// A CU15 server on .NET 4.7.2 whose upgrade to Exchange SE failed: .NET comes first.
    DotnetUpgradeOrder,
    /// Exchange 2010 on Windows Server 2012 R2 with a Japanese (code page 932) system locale.
    DbcsLocale,
    /// An internal Exchange 2010 CAS took the newest rollup before the Internet-facing one
    /// (a fleet finding over the pair).
    CasProxyOrder,
    /// TLS 1.2 turned off on the client side only (server and client disagree).
    TlsMisconfigured,
    /// TLS 1.0 and 1.1 turned back on.
    TlsLegacyEnabled,
    /// .NET's 32-bit SchUseStrongCrypto never set.
    TlsValuesMissing,
    /// The server left in maintenance mode (ServerWideOffline inactive by Maintenance).
    MaintenanceMode,
    /// Microsoft Defender runs without the Mailbox folder and the store worker excluded.
    DefenderExclusionsMissing,
    /// ClientAccess\owa\web.config is missing (an update stopped halfway).
    WebConfigMissing,
    /// The newest SU of the line failed to install (MsiInstaller 1024, 1603) and no MSI log of
    /// it is in the copy; the server stays on the SU before it.
    SuFailedNoLog,
    /// The SU asked for a reboot (MsiInstaller 1036 status 3010) and the server has not
    /// started since.
    NotRebooted,
    /// MSExchangeTransport terminated unexpectedly right after the SU (7031, 7034).
    ServiceCrashAfterUpdate,
    /// Extended Protection configured, but the front end's /ecp left at None.
    EpNotSecured,
    /// Extended Protection configured, but the front end's /Autodiscover set to Require.
    EpUnsupported,
    /// Lsa SuppressExtendedProtection = 1.
    EpSuppressed,
    /// A certificate of the store expires on 2027-01-05 (43 days after the ground truth's
    /// analysis date).
    CertExpiring,
    /// A 1024-bit RSA certificate signed with SHA-1 in the store.
    CertWeak,
    /// The SNI binding mail.contoso.com:443 names a certificate no longer in the store.
    SniBindingCertMissing,
    /// The Exchange Back End site is bound to one address ([`iis::BACKEND_SINGLE_IP`]:444),
    /// not `*:444:`.
    BackendBindingIp,
    /// The SU's cached package (.msp) is gone from the Windows Installer cache (the CU's
    /// .msi when no SU is installed).
    InstallerCacheMissing,
    /// Visual C++ 2013 x64 at 12.0.21005, below the 12.0.40664 setup needs.
    VcRedistOutdated,
    /// IIS URL Rewrite not installed.
    UrlRewriteMissing,
    /// The UCMA 4.0 runtime not installed.
    UcmaMissing,
    /// An Exchange 2016 server whose UnifiedMessaging\Prompts folder is gone.
    UmDirectoryMissing,
    /// CVE-2021-26855 in the HttpProxy OWA log, from [`ioc::ATTACKER_SSRF`] (planted on two
    /// hosts: one address on several servers).
    IocSsrf,
    /// CVE-2021-26857: a Unified Messaging error with System.InvalidCastException.
    IocUmDeserialization,
    /// CVE-2021-26858: the OAB generator wrote [`ioc::OAB_WRITTEN`].
    IocOabWrite,
    /// CVE-2021-27065, both signals: a ResetOABVirtualDirectory through the proxy (also a
    /// CVE-2021-26855 match) and a Set-OabVirtualDirectory with a script in its URL.
    IocEcpWrite,
    /// CVE-2022-41040: the hunting query's line in the IIS log.
    IocNotShell,
    /// An LSASS dump at [`ioc::LSASS_DUMP`].
    IocLsassDump,
    /// An archive at [`ioc::ARCHIVE`].
    IocArchive,
    /// A web shell at [`ioc::WEB_SHELL`] (a fleet finding over the host's build).
    IocWebShell,
}

impl Fault {
    /// Every fault of Exchange 2013 and later hosts, in a fixed order: each is planted at
    /// least once in a fleet of more than `ALL.len()` of them.
    pub const ALL: [Fault; 42] = [
        Fault::SuBehind,
        Fault::CuOutOfSupport,
        Fault::UnknownBuild,
        Fault::FileRegistryMismatch,
        Fault::SuWrongCu,
        Fault::SetupInterrupted,
        Fault::InstallFromBin,
        Fault::SetupUnknownError,
        Fault::BackendCertMissing,
        Fault::BackendCertExpired,
        Fault::PendingReboot,
        Fault::ServicesDisabled,
        Fault::DotnetUnsupported,
        Fault::OwaAssemblyLoad,
        Fault::VdirPathWrong,
        Fault::SharedWebConfigMissing,
        Fault::ConfigVariableUnexpanded,
        Fault::OwaMissingImages,
        Fault::IuInstalled,
        Fault::KnownBad,
        Fault::DotnetUpgradeOrder,
        Fault::TlsMisconfigured,
        Fault::TlsLegacyEnabled,
        Fault::TlsValuesMissing,
        Fault::MaintenanceMode,
        Fault::DefenderExclusionsMissing,
        Fault::WebConfigMissing,
        Fault::SuFailedNoLog,
        Fault::NotRebooted,
        Fault::ServiceCrashAfterUpdate,
        Fault::EpNotSecured,
        Fault::EpUnsupported,
        Fault::EpSuppressed,
        Fault::CertExpiring,
        Fault::CertWeak,
        Fault::SniBindingCertMissing,
        Fault::BackendBindingIp,
        Fault::InstallerCacheMissing,
        Fault::VcRedistOutdated,
        Fault::UrlRewriteMissing,
        Fault::UcmaMissing,
        Fault::UmDirectoryMissing,
    ];

    /// The indicators of compromise, planted on hosts of their own after the other faults are
    /// drawn (by `plant_iocs`), so that the rest of a fleet stays what it was.
    pub const IOC: [Fault; 8] = [
        Fault::IocSsrf,
        Fault::IocUmDeserialization,
        Fault::IocOabWrite,
        Fault::IocEcpWrite,
        Fault::IocNotShell,
        Fault::IocLsassDump,
        Fault::IocArchive,
        Fault::IocWebShell,
    ];

    /// The finding id this fault must produce (analyzer/FINDINGS.md).
    pub fn finding_id(self) -> &'static str {
        match self {
            Fault::SuBehind => "build.su-behind",
            Fault::CuOutOfSupport => "build.cu-out-of-support",
            Fault::UnknownBuild => "build.unknown",
            Fault::FileRegistryMismatch => "build.file-registry-mismatch",
            Fault::SuWrongCu => "build.su-wrong-cu",
            Fault::SetupInterrupted => "setup.interrupted",
            Fault::InstallFromBin => "setup.install-from-bin",
            Fault::SetupUnknownError => "setup.unknown-error",
            Fault::BackendCertMissing | Fault::BackendCertExpired => "iis.backend-binding-cert",
            Fault::PendingReboot => "os.pending-reboot",
            Fault::ServicesDisabled => "services.disabled-after-update",
            Fault::DotnetUnsupported => "dotnet.unsupported",
            Fault::OwaAssemblyLoad => "owa.assembly-load-500",
            Fault::VdirPathWrong => "iis.vdir-path-wrong",
            Fault::SharedWebConfigMissing => "iis.shared-web-config-missing",
            Fault::ConfigVariableUnexpanded => "iis.config-variable-unexpanded",
            Fault::OwaMissingImages => "owa.missing-images",
            Fault::IuInstalled => "build.iu-blocks-su",
            Fault::KnownBad => "build.known-bad",
            Fault::DotnetUpgradeOrder => "dotnet.upgrade-order",
            Fault::DbcsLocale => "os.dbcs-locale",
            Fault::CasProxyOrder => "topology.cas-proxy-order",
            Fault::TlsMisconfigured => "tls.misconfigured",
            Fault::TlsLegacyEnabled => "tls.legacy-enabled",
            Fault::TlsValuesMissing => "tls.values-missing",
            Fault::MaintenanceMode => "services.maintenance-mode",
            Fault::DefenderExclusionsMissing => "os.defender-exclusions",
            Fault::WebConfigMissing => "iis.web-config-missing",
            Fault::SuFailedNoLog => "setup.su-failed-no-log",
            Fault::NotRebooted => "os.not-rebooted-after-update",
            Fault::ServiceCrashAfterUpdate => "services.crash-after-update",
            Fault::EpNotSecured => "iis.ep-not-secured",
            Fault::EpUnsupported => "iis.ep-unsupported",
            Fault::EpSuppressed => "iis.ep-suppressed",
            Fault::CertExpiring => "cert.expiring",
            Fault::CertWeak => "cert.weak-key",
            Fault::SniBindingCertMissing => "iis.binding-cert",
            Fault::BackendBindingIp => "iis.backend-binding-ip",
            Fault::InstallerCacheMissing => "setup.ready.installer-cache",
            Fault::VcRedistOutdated => "setup.ready.vcredist-missing",
            Fault::UrlRewriteMissing => "setup.ready.url-rewrite-missing",
            Fault::UcmaMissing => "setup.ready.ucma-missing",
            Fault::UmDirectoryMissing => "setup.ready.um-directory-missing",
            Fault::IocSsrf => "ioc.cve-2021-26855",
            Fault::IocUmDeserialization => "ioc.cve-2021-26857",
            Fault::IocOabWrite => "ioc.cve-2021-26858",
            Fault::IocEcpWrite => "ioc.cve-2021-27065",
            Fault::IocNotShell => "ioc.cve-2022-41040",
            Fault::IocLsassDump => "ioc.lsass-dump",
            Fault::IocArchive => "ioc.suspicious-archive",
            Fault::IocWebShell => "ioc.aspx-outlier",
        }
    }

    /// The artifacts a fault touches: faults that share one cannot be planted together.
    fn groups(self) -> &'static [u8] {
        match self {
            // All choose the build or the CU line.
            Fault::SuBehind
            | Fault::CuOutOfSupport
            | Fault::UnknownBuild
            | Fault::FileRegistryMismatch
            | Fault::SuWrongCu
            | Fault::SuFailedNoLog => &[0],
            // Exchange SE RTM itself, no SU: nothing to reboot for or crash after.
            Fault::KnownBad => &[0, 14, 15],
            Fault::NotRebooted => &[14],
            Fault::ServiceCrashAfterUpdate => &[15],
            Fault::SetupInterrupted | Fault::InstallFromBin | Fault::SetupUnknownError => &[2],
            Fault::BackendCertMissing | Fault::BackendCertExpired => &[3],
            Fault::PendingReboot => &[4],
            Fault::ServicesDisabled => &[5],
            Fault::DotnetUnsupported => &[6],
            Fault::OwaAssemblyLoad => &[7],
            Fault::VdirPathWrong => &[8],
            Fault::SharedWebConfigMissing => &[9],
            Fault::ConfigVariableUnexpanded => &[10],
            Fault::OwaMissingImages => &[11],
            Fault::IuInstalled => &[12],
            // The CU line, the last setup run and the .NET release at once.
            Fault::DotnetUpgradeOrder => &[0, 2, 6],
            // Planted on the Exchange 2010 pair only, never drawn at random.
            Fault::DbcsLocale => &[13],
            Fault::CasProxyOrder => &[0],
            // The TLS keys.
            Fault::TlsMisconfigured | Fault::TlsLegacyEnabled | Fault::TlsValuesMissing => &[16],
            Fault::MaintenanceMode => &[17],
            Fault::DefenderExclusionsMissing => &[18],
            Fault::WebConfigMissing => &[19],
            // Extended Protection needs a build that supports it: the line's newest SU (0),
            // and one Extended Protection story per host (20).
            Fault::EpNotSecured | Fault::EpUnsupported | Fault::EpSuppressed => &[0, 20],
            Fault::CertExpiring | Fault::CertWeak => &[21],
            Fault::SniBindingCertMissing => &[22],
            // The back end's binding, which the certificate faults of 444 touch too.
            Fault::BackendBindingIp => &[3],
            Fault::InstallerCacheMissing => &[23],
            Fault::VcRedistOutdated => &[24],
            Fault::UrlRewriteMissing => &[25],
            Fault::UcmaMissing => &[26],
            // Exchange 2016 is chosen for it: the CU line.
            Fault::UmDirectoryMissing => &[0, 27],
            // The indicators touch only their own logs and files.
            Fault::IocSsrf => &[31],
            Fault::IocUmDeserialization => &[32],
            Fault::IocOabWrite => &[33],
            Fault::IocEcpWrite => &[34],
            Fault::IocNotShell => &[35],
            Fault::IocLsassDump => &[36],
            Fault::IocArchive => &[37],
            Fault::IocWebShell => &[38],
        }
    }
}

/// The operating systems hosts run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Os {
    /// ProductName.
    pub product_name: &'static str,
    /// CurrentBuild.
    pub build: &'static str,
    /// UBR.
    pub ubr: u32,
}

const OSES: [Os; 3] = [
    Os {
        product_name: "Windows Server 2019 Datacenter",
        build: "17763",
        ubr: 6532,
    },
    Os {
        product_name: "Windows Server 2022 Datacenter",
        build: "20348",
        ubr: 3807,
    },
    Os {
        product_name: "Windows Server 2025 Datacenter",
        build: "26100",
        ubr: 4652,
    },
];

/// Windows Server 2012 R2, which the Exchange 2010 servers run.
const WS2012R2: Os = Os {
    product_name: "Windows Server 2012 R2 Standard",
    build: "9600",
    ubr: 0,
};

/// One simulated server.
#[derive(Debug, Clone, Serialize)]
pub struct HostSpec {
    /// NetBIOS name (upper case).
    pub name: String,
    /// DNS domain.
    pub domain: String,
    /// AD site.
    pub site: String,
    /// DAG, when the host is in one.
    pub dag: Option<String>,
    /// Role group label.
    pub role_group: String,
    /// Owner label.
    pub owner: String,
    /// The CU line the registry says is installed.
    #[serde(serialize_with = "line_name")]
    pub line: &'static Line,
    /// Index of the installed update of `line` (`None` = CU base build).
    pub update: Option<usize>,
    /// The build ExSetup.exe carries.
    pub exsetup_build: [u16; 4],
    /// The operating system.
    pub os: Os,
    /// .NET Framework release DWORD.
    pub dotnet_release: u32,
    /// ANSI code page of the system locale (Nls\CodePage ACP).
    pub code_page: &'static str,
    /// Drive Exchange is installed on.
    pub install_drive: char,
    /// Whether the triage copy has one folder per drive.
    pub drive_folders: bool,
    /// Whether the Default Web Site's root was moved from `%SystemDrive%\inetpub\wwwroot` to
    /// [`MOVED_WEB_ROOT`] (its `aspnet_client` with it).
    pub web_root_moved: bool,
    /// Faults planted.
    pub faults: Vec<Fault>,
}

fn line_name<S: serde::Serializer>(l: &&'static Line, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{} {}", l.product, l.cu))
}

impl HostSpec {
    /// Whether a fault was planted.
    pub fn has(&self, f: Fault) -> bool {
        self.faults.contains(&f)
    }

    /// Exchange's install root with its trailing backslash, as MsiInstallPath holds it.
    pub fn install_path(&self) -> String {
        format!(
            r"{}:\Program Files\Microsoft\Exchange Server\{}\",
            self.install_drive,
            if self.line.is_2010() { "V14" } else { "V15" }
        )
    }

    /// The setup key under SOFTWARE\Microsoft\ExchangeServer ("v15", "v14").
    pub fn setup_key(&self) -> &'static str {
        if self.line.is_2010() {
            "v14"
        } else {
            "v15"
        }
    }

    /// The Default Web Site's root folder.
    pub fn web_root(&self) -> &'static str {
        if self.web_root_moved {
            MOVED_WEB_ROOT
        } else {
            r"C:\inetpub\wwwroot"
        }
    }

    /// Fully qualified DNS name.
    pub fn fqdn(&self) -> String {
        format!("{}.{}", self.name.to_lowercase(), self.domain)
    }
}

/// Parameters of a simulated fleet.
#[derive(Debug, Clone)]
pub struct FleetConfig {
    /// Seed: the same seed gives the same fleet, byte for byte.
    pub seed: u64,
    /// Number of servers.
    pub servers: usize,
    /// Chance that a host beyond the first few (which carry one fault kind each) has a fault.
    pub fault_rate: f64,
}

impl Default for FleetConfig {
    fn default() -> Self {
        FleetConfig {
            seed: 1,
            servers: EXCHANGE_2010_FROM,
            fault_rate: 0.4,
        }
    }
}

const SITES: [&str; 4] = ["Paris", "Seattle", "Singapore", "Frankfurt"];
/// Fleets of at least this many servers end with a pair of Exchange 2010 Client Access
/// servers in their own site (the faults only Exchange 2010 has).
pub const EXCHANGE_2010_FROM: usize = Fault::ALL.len() + 3;
const OWNERS: [&str; 3] = ["messaging-team", "infra-emea", "infra-apac"];
/// Servers per DAG.
const DAG_SIZE: usize = 4;
/// Where a host whose Exchange is on D: has its Default Web Site's root, and the web-shell
/// host too (so that the shell is found below a moved root): the collector must read the root
/// from applicationHost.config and label its files as on the other servers.
pub const MOVED_WEB_ROOT: &str = r"D:\wwwroot";

/// Generates the fleet's host specifications.
pub fn generate(cfg: &FleetConfig) -> Vec<HostSpec> {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let legacy = if cfg.servers >= EXCHANGE_2010_FROM {
        2
    } else {
        0
    };
    let modern = cfg.servers - legacy;
    // Every fault kind is planted at least once when the fleet is large enough, so that a
    // ground-truth test over a default fleet exercises every rule.
    let mut planned: Vec<Vec<Fault>> = vec![Vec::new(); modern];
    let mut order: Vec<usize> = (0..modern).collect();
    order.shuffle(&mut rng);
    for (slot, fault) in order.iter().zip(Fault::ALL) {
        planned[*slot].push(fault);
    }
    // Two hosts share the same wrong-CU SU, so that the fleet shows a pattern.
    if let Some(&second) = order.get(Fault::ALL.len()) {
        planned[second].push(Fault::SuWrongCu);
    }
    for (i, faults) in planned.iter_mut().enumerate() {
        if order.iter().position(|&o| o == i).unwrap_or(0) > Fault::ALL.len()
            && rng.random_bool(cfg.fault_rate)
        {
            let f = Fault::ALL[rng.random_range(0..Fault::ALL.len())];
            faults.push(f);
        }
    }
    let mut hosts = Vec::with_capacity(cfg.servers);
    for (i, mut faults) in planned.into_iter().enumerate() {
        faults.sort();
        faults.dedup();
        let mut taken: Vec<u8> = Vec::new();
        faults.retain(|f| {
            let free = f.groups().iter().all(|g| !taken.contains(g));
            if free {
                taken.extend(f.groups());
            }
            free
        });
        let site = SITES[i % SITES.len()];
        let dag_index = i / DAG_SIZE;
        hosts.push(host(&mut rng, i, site, dag_index, faults));
    }
    plant_iocs(&mut hosts, cfg.seed);
    for h in &mut hosts {
        h.web_root_moved = h.install_drive == 'D' || h.has(Fault::IocWebShell);
    }
    for i in modern..cfg.servers {
        hosts.push(exchange_2010_cas(i, i == modern));
    }
    hosts
}

/// Which hosts a plant wants.
type Wants<'a> = dyn Fn(&HostSpec) -> bool + 'a;

/// Fewest Exchange 2013 or later hosts a fleet has for the indicators to be planted.
pub const IOC_FROM: usize = 12;

/// Plants the indicators of compromise ([`Fault::IOC`]) on hosts drawn with a generator of
/// their own: the CVE-2021-26855 one on two hosts, every other on one, each host at most one
/// (its Unified Messaging one on an Exchange 2016 host when there is one; the web shell on a
/// host whose build another host shares, so that the fleet can judge it).
fn plant_iocs(hosts: &mut [HostSpec], seed: u64) {
    if hosts.len() < IOC_FROM {
        return;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x10c0_10c0);
    let mut order: Vec<usize> = (0..hosts.len()).collect();
    order.shuffle(&mut rng);
    let mut free = order.into_iter().collect::<std::collections::VecDeque<_>>();
    let mut take = |hosts: &[HostSpec], want: &dyn Fn(&HostSpec) -> bool| {
        let at = free
            .iter()
            .position(|&i| want(&hosts[i]))
            .or_else(|| (!free.is_empty()).then_some(0))?;
        free.remove(at)
    };
    let builds: Vec<[u16; 4]> = hosts.iter().map(|h| h.exsetup_build).collect();
    let shared = |h: &HostSpec| builds.iter().filter(|b| **b == h.exsetup_build).count() >= 2;
    let plan: [(Fault, &Wants); 9] = [
        (Fault::IocSsrf, &|_| true),
        (Fault::IocSsrf, &|_| true),
        (Fault::IocUmDeserialization, &|h| {
            h.line.product == "Exchange 2016"
        }),
        (Fault::IocOabWrite, &|_| true),
        (Fault::IocEcpWrite, &|_| true),
        (Fault::IocNotShell, &|_| true),
        (Fault::IocLsassDump, &|_| true),
        (Fault::IocArchive, &|_| true),
        (Fault::IocWebShell, &shared),
    ];
    for (fault, want) in plan {
        if let Some(i) = take(hosts, want) {
            hosts[i].faults.push(fault);
            hosts[i].faults.sort();
        }
    }
}

/// One of the Exchange 2010 pair: the Internet-facing CAS, on a Japanese system locale
/// where Rollup 32 would not install, is left on Rollup 31; the internal one took Rollup 32.
fn exchange_2010_cas(i: usize, internet_facing: bool) -> HostSpec {
    let line = &builds::EX2010_SP3;
    let (update, role_group, code_page, faults) = if internet_facing {
        (
            line.latest() - 1,
            "cas-internet",
            "932",
            vec![Fault::SuBehind, Fault::DbcsLocale],
        )
    } else {
        (line.latest(), "cas", "1252", vec![Fault::CasProxyOrder])
    };
    HostSpec {
        name: format!("EXOSA{:02}", i + 1),
        domain: "contoso.local".to_string(),
        site: "Osaka".to_string(),
        dag: None,
        role_group: role_group.to_string(),
        owner: "infra-apac".to_string(),
        line,
        update: Some(update),
        exsetup_build: line.build(Some(update)),
        os: WS2012R2,
        dotnet_release: 528040,
        code_page,
        install_drive: 'C',
        drive_folders: false,
        web_root_moved: false,
        faults,
    }
}

fn host(
    rng: &mut ChaCha8Rng,
    i: usize,
    site: &str,
    dag_index: usize,
    faults: Vec<Fault>,
) -> HostSpec {
    let has = |f| faults.contains(&f);
    // A DAG runs one CU line; DAG membership comes from the index, so the line does too.
    let mut line: &'static Line = match dag_index % 5 {
        0..=2 => &builds::SE_RTM,
        3 => &builds::EX2019_CU15,
        _ => &builds::EX2016_CU23,
    };
    if has(Fault::CuOutOfSupport) {
        line = &builds::EX2019_CU13;
    }
    if has(Fault::KnownBad) {
        line = &builds::SE_RTM;
    }
    if has(Fault::UmDirectoryMissing) {
        // Unified Messaging's folders are Exchange 2013's and 2016's.
        line = &builds::EX2016_CU23;
    }
    if has(Fault::FileRegistryMismatch) || has(Fault::SuWrongCu) || has(Fault::DotnetUpgradeOrder) {
        // Both plant an Exchange 2019 CU14/CU15 story; keep the host on CU15.
        line = &builds::EX2019_CU15;
    }
    let update = if has(Fault::KnownBad) {
        // Exchange SE RTM itself: the hybrid online archiving issue, fixed in 15.2.2562.27.
        None
    } else if has(Fault::SuBehind) {
        let choices = builds::behind_choices(line);
        Some(choices[rng.random_range(0..choices.len())])
    } else if has(Fault::SuFailedNoLog) {
        // The newest SU failed: the server is on the last good one before it.
        builds::behind_choices(line).last().copied()
    } else {
        Some(line.latest())
    };
    let mut exsetup_build = line.build(update);
    if has(Fault::FileRegistryMismatch) {
        // The file rolled back to CU14's newest SU while the registry still says CU15.
        exsetup_build = builds::EX2019_CU14.build(Some(builds::EX2019_CU14.latest()));
    }
    if has(Fault::UnknownBuild) {
        exsetup_build[3] = 990 + rng.random_range(0..9);
    }
    let os = OSES[rng.random_range(0..OSES.len())];
    let dotnet_release = if has(Fault::DotnetUnsupported) || has(Fault::DotnetUpgradeOrder) {
        461808 // 4.7.2
    } else if os.build == "17763" || line.cu == "CU13" {
        // .NET 4.8.1 is validated for Exchange 2019 CU14 and later, 2016 CU23 and SE only.
        528040 // 4.8
    } else {
        533320 // 4.8.1
    };
    let install_drive = if rng.random_bool(0.3) { 'D' } else { 'C' };
    let site_code = &site[..3].to_uppercase();
    HostSpec {
        name: format!("EX{site_code}{:02}", i + 1),
        domain: "contoso.local".to_string(),
        site: site.to_string(),
        dag: Some(format!("DAG{:02}", dag_index + 1)),
        role_group: "mailbox".to_string(),
        owner: OWNERS[i % OWNERS.len()].to_string(),
        line,
        update,
        exsetup_build,
        os,
        dotnet_release,
        code_page: "1252",
        install_drive,
        // A host on D: is always copied with drive folders, as collection tools do.
        drive_folders: install_drive != 'C' || rng.random_bool(0.3),
        web_root_moved: false,
        faults,
    }
}

/// Writes a fleet as [`crate::write_fleet`] does, every host's artifacts at `sizes` (see
/// [`ArtifactSizes`]; [`ArtifactSizes::DEFAULT`] gives the same bytes as `write_fleet`). The
/// ground truth is the same: padding is never evidence.
pub fn write_fleet_sized(
    cfg: &FleetConfig,
    sizes: &ArtifactSizes,
    out: &std::path::Path,
) -> std::io::Result<truth::GroundTruth> {
    let truth = crate::write_fleet(cfg, out)?;
    if !sizes.is_default() {
        // The default copies are small; writing each host again at size keeps one way of
        // writing labels and ground truth (`write_fleet`).
        for h in generate(cfg) {
            render::write_sized(&h, cfg.seed, sizes, &out.join("hosts").join(&h.name))?;
        }
    }
    Ok(truth)
}
