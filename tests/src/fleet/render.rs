//! Turns a [`HostSpec`] into its triage directory: SYSTEM and SOFTWARE hives, ExSetup.exe,
//! applicationHost.config and ExchangeSetup.log, with its faults planted.

use std::path::Path;

use chrono::NaiveDate;

use super::builds::{self, text};
use super::cert::{self, StoreCert};
use super::real_size::{self, ArtifactSizes};
use super::setup_log::{self, RunEnd, RunSpec};
use super::{events, iis, install_files, prereqs, service_control, settings, Fault, HostSpec};
use crate::pe::{image_with_version, VersionInfo};
use crate::regf::{HiveBuilder, RegData};
use crate::triage::{triage, TriageBuilder};

/// Exchange's AppId on its HTTP.sys bindings.
const EXCHANGE_APP_ID: [u8; 16] = [
    0x81, 0xe1, 0xc3, 0x4d, 0x4b, 0xe1, 0x21, 0x4a, 0xb0, 0x22, 0x59, 0xfc, 0x66, 0x9b, 0x09, 0x14,
];

/// Services every simulated Exchange server has: key name, display name, start type.
pub const SERVICES: [(&str, &str, u32); 24] = [
    (
        "MSExchangeADTopology",
        "Microsoft Exchange Active Directory Topology",
        2,
    ),
    (
        "MSExchangeAntispamUpdate",
        "Microsoft Exchange Anti-spam Update",
        2,
    ),
    ("MSExchangeDagMgmt", "Microsoft Exchange DAG Management", 2),
    (
        "MSExchangeDelivery",
        "Microsoft Exchange Mailbox Transport Delivery",
        2,
    ),
    ("MSExchangeDiagnostics", "Microsoft Exchange Diagnostics", 2),
    (
        "MSExchangeFrontEndTransport",
        "Microsoft Exchange Frontend Transport",
        2,
    ),
    ("MSExchangeHM", "Microsoft Exchange Health Manager", 2),
    ("MSExchangeIMAP4", "Microsoft Exchange IMAP4", 3),
    ("MSExchangeIMAP4BE", "Microsoft Exchange IMAP4 Backend", 3),
    ("MSExchangeIS", "Microsoft Exchange Information Store", 2),
    (
        "MSExchangeMailboxAssistants",
        "Microsoft Exchange Mailbox Assistants",
        2,
    ),
    (
        "MSExchangeMailboxReplication",
        "Microsoft Exchange Mailbox Replication",
        2,
    ),
    ("MSExchangePOP3", "Microsoft Exchange POP3", 3),
    ("MSExchangePOP3BE", "Microsoft Exchange POP3 Backend", 3),
    ("MSExchangeRepl", "Microsoft Exchange Replication", 2),
    ("MSExchangeRPC", "Microsoft Exchange RPC Client Access", 2),
    (
        "MSExchangeServiceHost",
        "Microsoft Exchange Service Host",
        2,
    ),
    (
        "MSExchangeSubmission",
        "Microsoft Exchange Mailbox Transport Submission",
        2,
    ),
    ("MSExchangeTransport", "Microsoft Exchange Transport", 2),
    ("FMS", "Microsoft Filtering Management Service", 2),
    ("HostControllerService", "Search Host Controller", 2),
    ("W3SVC", "World Wide Web Publishing Service", 2),
    ("IISADMIN", "IIS Admin Service", 2),
    ("Winmgmt", "Windows Management Instrumentation", 2),
];

/// Services of a simulated Exchange 2010 Client Access server.
pub const SERVICES_2010: [(&str, &str, u32); 13] = [
    ("MSExchangeAB", "Microsoft Exchange Address Book", 2),
    (
        "MSExchangeADTopology",
        "Microsoft Exchange Active Directory Topology",
        2,
    ),
    (
        "MSExchangeFBA",
        "Microsoft Exchange Forms-Based Authentication service",
        2,
    ),
    ("MSExchangeFDS", "Microsoft Exchange File Distribution", 2),
    ("MSExchangeIMAP4", "Microsoft Exchange IMAP4", 3),
    ("MSExchangePOP3", "Microsoft Exchange POP3", 3),
    (
        "MSExchangeProtectedServiceHost",
        "Microsoft Exchange Protected Service Host",
        2,
    ),
    ("MSExchangeRPC", "Microsoft Exchange RPC Client Access", 2),
    (
        "MSExchangeServiceHost",
        "Microsoft Exchange Service Host",
        2,
    ),
    ("W3SVC", "World Wide Web Publishing Service", 2),
    ("IISADMIN", "IIS Admin Service", 2),
    ("WAS", "Windows Process Activation Service", 3),
    ("Winmgmt", "Windows Management Instrumentation", 2),
];

/// The services of `h`: (key name, display name, start type).
pub fn services(h: &HostSpec) -> &'static [(&'static str, &'static str, u32)] {
    if h.line.is_2010() {
        &SERVICES_2010
    } else {
        &SERVICES
    }
}

/// The KB of the Interim Update the IuInstalled fault installs.
pub const IU_KB: &str = "KB5099901";

/// Services ServiceControl.ps1 disables during an SU install (collector/EVIDENCE.md); the
/// ServicesDisabled fault leaves them so. POP/IMAP are Manual by default and not among them.
pub fn disabled_by_fault() -> Vec<&'static str> {
    SERVICES
        .iter()
        .filter(|(n, _, start)| *start == 2 && !n.starts_with("MSExchangeAntispam"))
        .map(|(n, _, _)| *n)
        .collect()
}

/// The certificates a host's store holds and which one the :444 binding uses.
pub struct HostCerts {
    /// The Exchange self-signed certificate, bound to 0.0.0.0:443 and present in the store.
    pub front: StoreCert,
    /// The certificate 0.0.0.0:444 is bound to (absent from the store for BackendCertMissing).
    pub back: StoreCert,
    /// The CA-issued certificate of the organization's namespace (RSA 2048, SHA-256), in the
    /// store of every server since Exchange 2013.
    pub namespace: StoreCert,
    /// The certificate the SNI binding [`SNI_ENDPOINT`] names (absent from the store for
    /// SniBindingCertMissing).
    pub sni: StoreCert,
    /// Other certificates of the store (CertExpiring, CertWeak).
    pub others: Vec<StoreCert>,
}

/// The SNI binding of the organization's namespace.
pub const SNI_ENDPOINT: &str = "mail.contoso.com:443";

/// Certificates of `h`, deterministic from its name and the seed.
pub fn certs(h: &HostSpec, seed: u64) -> HostCerts {
    let sans = vec![h.name.clone(), h.fqdn()];
    let front = cert::self_signed(
        seed ^ hash(&h.name),
        "Microsoft Exchange",
        &sans,
        (2025, 1, 6),
        (2030, 1, 6),
    );
    let back = if h.has(Fault::BackendCertExpired) {
        cert::self_signed(
            seed ^ hash(&h.name) ^ 1,
            "Microsoft Exchange Back End",
            &sans,
            (2021, 6, 1),
            (2026, 6, 1),
        )
    } else if h.has(Fault::BackendCertMissing) {
        // A certificate that was renewed and deleted, while the binding still names it.
        cert::self_signed(
            seed ^ hash(&h.name) ^ 2,
            "Microsoft Exchange (deleted)",
            &sans,
            (2020, 1, 6),
            (2025, 1, 6),
        )
    } else {
        front.clone()
    };
    let namespace = cert::from_der(
        include_bytes!("../../fixtures/certs/rsa2048-sha256.der"),
        "mail.contoso.com",
        "2046-11-19",
    );
    let sni = if h.has(Fault::SniBindingCertMissing) {
        // Renewed and deleted, while the SNI binding still names it.
        cert::self_signed(
            seed ^ hash(&h.name) ^ 3,
            "mail.contoso.com (deleted)",
            &sans,
            (2023, 3, 1),
            (2026, 3, 1),
        )
    } else {
        namespace.clone()
    };
    let mut others = Vec::new();
    if h.has(Fault::CertExpiring) {
        others.push(cert::self_signed(
            seed ^ hash(&h.name) ^ 4,
            "Exchange Delegated Federation",
            &sans,
            (2022, 1, 5),
            (2027, 1, 5),
        ));
    }
    if h.has(Fault::CertWeak) {
        others.push(cert::from_der(
            include_bytes!("../../fixtures/certs/rsa1024-sha1.der"),
            "legacy",
            "2046-11-19",
        ));
    }
    HostCerts {
        front,
        back,
        namespace,
        sni,
        others,
    }
}

/// FNV-1a of a name: per-host variation that stays the same from run to run.
pub(crate) fn hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Builds the triage copy of `h`.
pub fn triage_of(h: &HostSpec, seed: u64) -> TriageBuilder {
    let certs = certs(h, seed);
    let install = h.install_path();
    let exsetup = image_with_version(&VersionInfo::exchange(h.exsetup_build));
    let sep = setup_log_separator(h);
    let mut t = triage()
        .drive_folders(h.drive_folders)
        .system(|s| system_hive(s, h, &certs))
        .software(|s| software_hive(s, h, &certs))
        .file(&format!(r"{install}Bin\ExSetup.exe"), exsetup)
        .file(
            r"C:\Windows\System32\inetsrv\config\applicationHost.config",
            iis::application_host_config(
                &install,
                h.web_root_moved.then(|| h.web_root()),
                h.line.is_2010(),
                h.has(Fault::VdirPathWrong),
                iis::Ep {
                    configured: iis::ep_capable(h.exsetup_build),
                    front_ecp_none: h.has(Fault::EpNotSecured),
                    front_autodiscover_require: h.has(Fault::EpUnsupported),
                },
                h.has(Fault::BackendBindingIp),
            ),
        )
        .file(SETUP_LOG, setup_log::render(&runs(h), sep));
    let (application, system) = events::logs(h);
    t = t
        .file(events::Log::Application.windows_path(), application)
        .file(events::Log::System.windows_path(), system);
    t = t.file(r"exfleet\sc-queryex.txt", service_control::sc_queryex(h));
    for (path, content) in install_files::files(h).into_iter().chain(prereqs::files(h)) {
        t = t.file(&path, content);
    }
    for (path, content, modified) in super::ioc::files(h, seed) {
        t = t.file(&path, content).modified(&path, modified);
    }
    if let Some(log) = service_control::log(h) {
        t = t.file(r"C:\ExchangeSetupLogs\ServiceControl.log", log);
    }
    if let Some(state) = service_control::state_file(h) {
        let path = r"C:\ExchangeSetupLogs\ServiceState.xml";
        t = t
            .file(path, state)
            .modified(path, service_control::STATE_SAVED_MS);
    }
    t
}

/// Writes the triage copy of `h` under `dir`.
pub fn write(h: &HostSpec, seed: u64, dir: &Path) -> std::io::Result<()> {
    triage_of(h, seed).build(dir).map(|_| ())
}

/// Writes the triage copy of `h` under `dir` with its artifacts at `sizes` (see
/// [`ArtifactSizes`]); with [`ArtifactSizes::DEFAULT`] the same bytes as [`write()`]. The hive is
/// built in memory, as every hive is; the logs are written after the copy, streamed over the
/// small ones, so that hundreds of MB of them are never held at once.
pub fn write_sized(
    h: &HostSpec,
    seed: u64,
    sizes: &ArtifactSizes,
    dir: &Path,
) -> std::io::Result<()> {
    let t = sized_triage_of(h, seed, sizes);
    t.build(dir)?;
    write_padded_logs(h, seed, sizes, |windows_path| {
        Ok(t.host_path(dir, windows_path))
    })
}

/// The triage copy of `h` with its SOFTWARE hive at `sizes` (the logs are padded apart, by
/// [`write_padded_logs`], once the copy is written).
pub fn sized_triage_of(h: &HostSpec, seed: u64, sizes: &ArtifactSizes) -> TriageBuilder {
    let t = triage_of(h, seed);
    if sizes.software_hive == 0 {
        return t;
    }
    t.software(|s| {
        real_size::pad_software(s, h, seed, sizes.software_hive);
    })
}

/// Writes the logs of `h` that `sizes` pads (the event logs and ExchangeSetup.log) over the
/// files `place` says a Windows path is (in a triage copy, or under a Wine prefix's drive).
pub fn write_padded_logs(
    h: &HostSpec,
    seed: u64,
    sizes: &ArtifactSizes,
    place: impl Fn(&str) -> std::io::Result<std::path::PathBuf>,
) -> std::io::Result<()> {
    for (log, target) in [
        (events::Log::Application, sizes.application_evtx),
        (events::Log::System, sizes.system_evtx),
    ] {
        if target > 0 {
            events::write_padded(h, seed, log, target, &place(log.windows_path())?)?;
        }
    }
    if sizes.setup_log > 0 {
        let path = place(SETUP_LOG)?;
        let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
        setup_log::write_padded(&runs(h), setup_log_separator(h), sizes.setup_log, &mut w)?;
        std::io::Write::flush(&mut w)?;
    }
    Ok(())
}

/// Where setup writes its log.
const SETUP_LOG: &str = r"C:\ExchangeSetupLogs\ExchangeSetup.log";

/// The date separator of `h`'s setup log: machines differ ('/', '-' or '.').
fn setup_log_separator(h: &HostSpec) -> char {
    ['/', '-', '.'][(hash(&h.name) % 3) as usize]
}

fn system_hive(s: &mut HiveBuilder, h: &HostSpec, certs: &HostCerts) {
    let ccs = "ControlSet001";
    settings::system(s, h, ccs);
    s.set("Select", "Current", RegData::Dword(1));
    s.set("Select", "Default", RegData::Dword(1));
    s.set("Select", "LastKnownGood", RegData::Dword(1));
    s.set(
        &format!(r"{ccs}\Control\ComputerName\ComputerName"),
        "ComputerName",
        RegData::Sz(h.name.clone()),
    );
    let tcpip = format!(r"{ccs}\Services\Tcpip\Parameters");
    s.set(&tcpip, "Hostname", RegData::Sz(h.name.to_lowercase()));
    s.set(&tcpip, "Domain", RegData::Sz(h.domain.clone()));
    s.set(&tcpip, "NV Domain", RegData::Sz(h.domain.clone()));
    s.set(
        &format!(r"{ccs}\Services\Netlogon\Parameters"),
        "DynamicSiteName",
        RegData::Sz(h.site.clone()),
    );
    let tz = format!(r"{ccs}\Control\TimeZoneInformation");
    s.set(&tz, "TimeZoneKeyName", RegData::Sz("UTC".into()));
    s.set(&tz, "ActiveTimeBias", RegData::Dword(0));
    s.set(
        &format!(r"{ccs}\Control\Nls\CodePage"),
        "ACP",
        RegData::Sz(h.code_page.into()),
    );
    s.key(&format!(r"{ccs}\Control\Session Manager"));
    if h.has(Fault::PendingReboot) {
        s.set(
            &format!(r"{ccs}\Control\Session Manager"),
            "PendingFileRenameOperations",
            RegData::MultiSz(vec![
                format!(
                    r"\??\{}Bin\Microsoft.Exchange.Data.Common.dll.pending",
                    h.install_path()
                ),
                String::new(),
            ]),
        );
    }
    let disabled = if h.has(Fault::ServicesDisabled) {
        disabled_by_fault()
    } else {
        Vec::new()
    };
    for &(name, display, start) in services(h) {
        let key = format!(r"{ccs}\Services\{name}");
        let start = if disabled.contains(&name) { 4 } else { start };
        s.set(&key, "Start", RegData::Dword(start));
        s.set(&key, "DisplayName", RegData::Sz(display.into()));
        s.set(&key, "Type", RegData::Dword(16));
        // Wine's Service Control Manager registers no service without a binary, so the live
        // tests need it; Wine's own WMI service keeps its own.
        if let Some(image) = image_path(h, name) {
            s.set(&key, "ImagePath", RegData::ExpandSz(image));
        }
    }
    let mut bindings = vec![
        ("0.0.0.0:443", &certs.front),
        ("127.0.0.1:443", &certs.front),
    ];
    // The back-end site on 444 came with Exchange 2013.
    if !h.line.is_2010() {
        bindings.push(("0.0.0.0:444", &certs.back));
    }
    // Bound to one address, IIS adds that address's binding (0.0.0.0:444 stays from setup).
    let single = format!("{}:444", iis::BACKEND_SINGLE_IP);
    if h.has(Fault::BackendBindingIp) {
        bindings.push((single.as_str(), &certs.back));
    }
    for (endpoint, cert) in bindings {
        let key = format!(r"{ccs}\Services\HTTP\Parameters\SslBindingInfo\{endpoint}");
        s.set(&key, "SslCertHash", RegData::Binary(cert.hash.clone()));
        s.set(&key, "AppId", RegData::Binary(EXCHANGE_APP_ID.to_vec()));
        s.set(&key, "SslCertStoreName", RegData::Sz("MY".into()));
        s.set(&key, "DefaultSslCertCheckMode", RegData::Dword(0));
    }
    // The namespace certificate and its SNI binding, on the servers since Exchange 2013.
    if !h.line.is_2010() {
        let key = format!(r"{ccs}\Services\HTTP\Parameters\SslSniBindingInfo\{SNI_ENDPOINT}");
        s.set(&key, "SslCertHash", RegData::Binary(certs.sni.hash.clone()));
        s.set(&key, "AppId", RegData::Binary(EXCHANGE_APP_ID.to_vec()));
        s.set(&key, "SslCertStoreName", RegData::Sz("MY".into()));
    }
    let lsa = format!(r"{ccs}\Control\Lsa");
    s.set(&lsa, "LimitBlankPasswordUse", RegData::Dword(1));
    if h.has(Fault::EpSuppressed) {
        s.set(&lsa, "SuppressExtendedProtection", RegData::Dword(1));
    }
}

/// A service's `ImagePath`: Exchange's services run from the install's `Bin`, IIS's in svchost.
fn image_path(h: &HostSpec, name: &str) -> Option<String> {
    match name {
        "Winmgmt" => None,
        "W3SVC" | "IISADMIN" | "WAS" => {
            Some(r"%SystemRoot%\system32\svchost.exe -k iissvcs".to_string())
        }
        _ => Some(format!(r#""{}Bin\{name}.exe""#, h.install_path())),
    }
}

fn software_hive(s: &mut HiveBuilder, h: &HostSpec, certs: &HostCerts) {
    settings::software(s, h);
    prereqs::software(s, h);
    let base = h.line.base;
    let root = format!(r"Microsoft\ExchangeServer\{}", h.setup_key());
    let setup = format!(r"{root}\Setup");
    let setup = setup.as_str();
    s.set(setup, "MsiInstallPath", RegData::Sz(h.install_path()));
    s.set(setup, "MsiProductMajor", RegData::Dword(base[0].into()));
    s.set(setup, "MsiProductMinor", RegData::Dword(base[1].into()));
    s.set(setup, "MsiBuildMajor", RegData::Dword(base[2].into()));
    s.set(setup, "MsiBuildMinor", RegData::Dword(base[3].into()));
    let roles: &[&str] = if h.line.is_2010() {
        &["ClientAccessRole", "AdminTools"]
    } else {
        s.set(
            setup,
            "OwaVersion",
            RegData::Sz(text(h.line.build(h.update))),
        );
        &[
            "MailboxRole",
            "ClientAccessRole",
            "HubTransportRole",
            "AdminTools",
        ]
    };
    for role in roles {
        let key = format!(r"{root}\{role}");
        s.set(&key, "ConfiguredVersion", RegData::Sz(text(base)));
        s.set(&key, "UnpackedVersion", RegData::Sz(text(base)));
    }
    if h.has(Fault::SetupInterrupted) {
        let key = r"Microsoft\ExchangeServer\v15\MailboxRole";
        s.set(
            key,
            "Watermark",
            RegData::Sz("MailboxServiceControlLast___d9b8f2a1c3e44b5c9d7e6f5a4b3c2d1e".into()),
        );
        s.set(key, "Action", RegData::Sz("Install".into()));
    }
    // Exchange 2010's rollups are known by ExSetup.exe's version: collector/EVIDENCE.md lists update
    // keys for Exchange 2013 and later only.
    if let Some(i) = h.update.filter(|_| !h.line.is_2010()) {
        let (_, _, kb, date) = h.line.updates[i];
        let key = format!(r"Microsoft\Updates\{}\{kb}", h.line.updates_folder);
        s.set(&key, "PackageName", RegData::Sz(h.line.package_name(i)));
        s.set(&key, "InstalledDate", RegData::Sz(date.into()));
    }
    if h.has(Fault::IuInstalled) {
        let key = format!(r"Microsoft\Updates\{}\{IU_KB}", h.line.updates_folder);
        let name = format!(
            "Interim Update for {} {} ({IU_KB})",
            h.line.product_words, h.line.cu_words
        );
        s.set(&key, "PackageName", RegData::Sz(name));
        s.set(&key, "InstalledDate", RegData::Sz("11/02/2026".into()));
    }
    if h.has(Fault::SuWrongCu) {
        // An SU for CU14 put on a CU15 server: the same one on every host with this fault.
        let cu14 = &builds::EX2019_CU14;
        let i = cu14.latest();
        let key = format!(
            r"Microsoft\Updates\{}\{}",
            cu14.updates_folder, cu14.updates[i].2
        );
        s.set(&key, "PackageName", RegData::Sz(cu14.package_name(i)));
        s.set(&key, "InstalledDate", RegData::Sz("11/17/2026".into()));
    }
    let ndp = r"Microsoft\NET Framework Setup\NDP\v4\Full";
    s.set(ndp, "Release", RegData::Dword(h.dotnet_release));
    s.set(ndp, "Install", RegData::Dword(1));
    let nt = r"Microsoft\Windows NT\CurrentVersion";
    s.set(nt, "ProductName", RegData::Sz(h.os.product_name.into()));
    s.set(nt, "CurrentBuild", RegData::Sz(h.os.build.into()));
    s.set(nt, "CurrentBuildNumber", RegData::Sz(h.os.build.into()));
    s.set(nt, "UBR", RegData::Dword(h.os.ubr));
    let mut store = vec![&certs.front];
    if h.has(Fault::BackendCertExpired) {
        store.push(&certs.back);
    }
    // The namespace certificate (since Exchange 2013) and the planted ones.
    if !h.line.is_2010() {
        store.push(&certs.namespace);
    }
    store.extend(&certs.others);
    for c in store {
        let key = format!(
            r"Microsoft\SystemCertificates\MY\Certificates\{}",
            c.thumbprint
        );
        s.set(&key, "Blob", RegData::Binary(c.blob.clone()));
    }
}

/// The setup runs of a host: its CU's install, then the planted last run, if any.
pub fn runs(h: &HostSpec) -> Vec<RunSpec> {
    let install_dir = h.install_path().trim_end_matches('\\').to_string();
    let base = text(h.line.base);
    let day = |y, m, d| {
        NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|d| d.and_hms_opt(9, 12, 5))
            .expect("valid date")
    };
    let run = |version: String, previous: Option<String>, source_dir: String, start, end| RunSpec {
        banner: h.line.banner,
        setup_version: version,
        previous,
        source_dir,
        install_dir: install_dir.clone(),
        user: "CONTOSO".into(),
        start,
        end,
    };
    let mut runs = vec![run(
        base.clone(),
        None,
        r"E:\".into(),
        day(2025, 7, 15),
        RunEnd::Success,
    )];
    let last = day(2026, 11, 16);
    if h.has(Fault::SetupInterrupted) {
        runs.push(run(
            base.clone(),
            Some(base.clone()),
            r"E:\".into(),
            last,
            RunEnd::CutOff,
        ));
    } else if h.has(Fault::InstallFromBin) {
        // The installed setup.exe carries the SU revision.
        let version = text(h.exsetup_build);
        runs.push(run(
            version,
            Some(base),
            format!(r"{install_dir}\Bin"),
            last,
            RunEnd::FailedFromBin,
        ));
    } else if h.has(Fault::DotnetUpgradeOrder) {
        // An in-place upgrade to Exchange SE, stopped by a .NET older than SE supports.
        runs.push(run(
            builds::text(builds::SE_RTM.base),
            Some(base),
            r"E:\".into(),
            last,
            RunEnd::FailedUnknown,
        ));
    } else if h.has(Fault::SetupUnknownError) {
        runs.push(run(
            base.clone(),
            Some(base),
            r"E:\".into(),
            last,
            RunEnd::FailedUnknown,
        ));
    }
    runs
}
