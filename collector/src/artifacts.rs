//! Every artifact the readers read on a server, listed once: which reader reads it, where it
//! lives, and how a stager on the server copies it.
//!
//! The readers take their paths from here, and the stager script for servers the collector
//! cannot run on (`deploy/windows/stage-triage.ps1`, below Windows Server 2016) has its list
//! of artifacts generated from here ([`stager_block`]); a test fails when the two differ. A
//! path a reader reads that is not in this table is a path the stager does not copy.
//!
//! Paths are Windows paths without a drive: on the system drive ([`Base::SystemDrive`]),
//! under the Exchange install folder that the SOFTWARE hive's setup key names
//! ([`Base::Install`]), or under each IIS web site's root folder ([`Base::SiteRoot`]). A last component may be a file name pattern, where `*` stands for any
//! characters (the only wildcard, so that PowerShell's `-like` and [`Artifact::matches`]
//! agree); names compare without regard to case, as Windows compares them.

use crate::registry::Mount;
use std::fmt::Write;

use crate::readers::{
    event_log::EventLogs, exchange_files::ExchangeFiles, exsetup::ExSetup, hive,
    iis_config::IisConfig, installer_cache::InstallerCache, ioc::Ioc, msi_log::MsiLogs,
    sc_queryex::ScQueryex, service_control::ServiceControlLog, service_state::ServiceState,
    setup_log::SetupLog, Reader,
};

/// Where an artifact's path starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Base {
    /// The system drive's root (`C:\`).
    SystemDrive,
    /// The Exchange install folder: `MsiInstallPath` of the setup key ([`SETUP_KEYS`]), or
    /// one of [`DEFAULT_INSTALL_PATHS`] when the registry does not say.
    Install,
    /// The root folder of each IIS web site: the physical path of the root virtual directory
    /// (`/`) of the site's root application (`/`) in applicationHost.config ([`IIS_CONFIG`]),
    /// environment variables expanded; [`DEFAULT_SITE_ROOT`] on the system drive when the file
    /// names none.
    SiteRoot,
}

/// How a stager on the server copies an artifact into a triage copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capture {
    /// `reg save <key> <file> /y`: a hive in use cannot be copied as a file, and the saved
    /// one is consistent, so the transaction logs (`.LOG1`/`.LOG2`) the reader replays onto a
    /// hive copied dirty are not needed.
    RegSave(&'static str),
    /// The file, copied with its last write time (a saved service-state file's time says
    /// when a run stopped the services). When the file is missing and its folder is not, the
    /// folder is made in the copy: a virtual directory without its web.config is evidence.
    File,
    /// Every file of the folder whose name matches the last component; not recursive.
    Matching,
    /// [`Capture::Matching`], keeping only the files whose text starts with one of these
    /// (after a byte order mark and white space): the folder holds much else (a temp folder).
    MatchingText(&'static [&'static str]),
    /// `wevtutil epl <log> <file>`: the EventLog service holds its files open.
    EventLog(&'static str),
    /// The folder's subfolders, made empty in the copy: the reader reads their names only.
    Subfolders,
    /// The output of `sc.exe <arguments>`, written to the file: the running state of
    /// services is in no file.
    Sc(&'static str),
    /// Every file below the folder, recursively, whose name matches the last component (the
    /// logs the indicator scans read: a stager copies them whole, the collector on the server
    /// reads them where they are).
    Tree,
    /// [`Capture::Tree`], keeping only the files whose extension (after the last `.`) is one
    /// of these, case ignored: the folder holds much else (the front end's `owa\auth` keeps
    /// thousands of images and scripts in its per-version folders).
    TreeExtensions(&'static [&'static str]),
}

/// One artifact: a file, a file pattern or a folder a reader reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Artifact {
    /// The reader's [`Reader::NAME`].
    pub reader: &'static str,
    /// Where [`Artifact::path`] starts.
    pub base: Base,
    /// The path below the base, with `\` (its last component may be a pattern).
    pub path: &'static str,
    /// How a stager copies it.
    pub capture: Capture,
}

impl Artifact {
    /// The folder of the path (`""` for the base itself).
    pub fn folder(&self) -> &'static str {
        self.path.rsplit_once('\\').map_or("", |(folder, _)| folder)
    }

    /// The last component: a file or folder name, or a pattern.
    pub fn name(&self) -> &'static str {
        self.path
            .rsplit_once('\\')
            .map_or(self.path, |(_, name)| name)
    }

    /// Whether a file name matches the last component, `*` standing for any characters and
    /// case ignored, and, for [`Capture::TreeExtensions`], has one of its extensions.
    pub fn matches(&self, file_name: &str) -> bool {
        let name = file_name.to_ascii_lowercase();
        let extension_kept = match self.capture {
            Capture::TreeExtensions(extensions) => name
                .rsplit_once('.')
                .is_some_and(|(_, ext)| extensions.iter().any(|e| e.eq_ignore_ascii_case(ext))),
            _ => true,
        };
        extension_kept && wildcard(self.name().to_ascii_lowercase().as_bytes(), name.as_bytes())
    }
}

/// `*`-only matching, by bytes (patterns are ASCII).
fn wildcard(pattern: &[u8], name: &[u8]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|skip| wildcard(rest, &name[skip..])),
        Some((c, rest)) => name
            .split_first()
            .is_some_and(|(n, tail)| n == c && wildcard(rest, tail)),
    }
}

const fn system_drive(reader: &'static str, path: &'static str, capture: Capture) -> Artifact {
    Artifact {
        reader,
        base: Base::SystemDrive,
        path,
        capture,
    }
}

const fn site_root(reader: &'static str, path: &'static str, capture: Capture) -> Artifact {
    Artifact {
        reader,
        base: Base::SiteRoot,
        path,
        capture,
    }
}

const fn install(reader: &'static str, path: &'static str, capture: Capture) -> Artifact {
    Artifact {
        reader,
        base: Base::Install,
        path,
        capture,
    }
}

/// The setup keys below `HKLM\SOFTWARE` whose `MsiInstallPath` ([`INSTALL_PATH_VALUE`]) is
/// the install folder, in the order they are tried: Exchange 2013 and later, then 2010.
pub const SETUP_KEYS: [&str; 2] = [
    r"Microsoft\ExchangeServer\v15\Setup",
    r"Microsoft\ExchangeServer\v14\Setup",
];

/// The setup key's value that holds the install folder (with a trailing `\`).
pub const INSTALL_PATH_VALUE: &str = "MsiInstallPath";

/// The install folders tried when the registry names none (setup's defaults).
pub const DEFAULT_INSTALL_PATHS: [&str; 2] = [
    r"C:\Program Files\Microsoft\Exchange Server\V15\",
    r"C:\Program Files\Microsoft\Exchange Server\V14\",
];

/// The SYSTEM hive.
pub const SYSTEM_HIVE: Artifact = system_drive(
    hive::system::SystemHive::NAME,
    r"Windows\System32\config\SYSTEM",
    Capture::RegSave(Mount::System.name()),
);

/// The SOFTWARE hive.
pub const SOFTWARE_HIVE: Artifact = system_drive(
    hive::software::SoftwareHive::NAME,
    r"Windows\System32\config\SOFTWARE",
    Capture::RegSave(Mount::Software.name()),
);

/// ExSetup.exe, whose version resource is the server's build.
pub const EXSETUP: Artifact = install(ExSetup::NAME, r"Bin\ExSetup.exe", Capture::File);

/// IIS's configuration.
pub const IIS_CONFIG: Artifact = system_drive(
    IisConfig::NAME,
    r"Windows\System32\inetsrv\config\applicationHost.config",
    Capture::File,
);

/// ExchangeSetup.log, every setup run appended.
pub const SETUP_LOG: Artifact = system_drive(
    SetupLog::NAME,
    r"ExchangeSetupLogs\ExchangeSetup.log",
    Capture::File,
);

/// ServiceControl.log of SU installs.
pub const SERVICE_CONTROL_LOG: Artifact = system_drive(
    ServiceControlLog::NAME,
    r"ExchangeSetupLogs\ServiceControl.log",
    Capture::File,
);

/// The saved service-state files (one folder: the reader lists it once).
pub const SERVICE_STATE: [Artifact; 2] = [
    system_drive(
        ServiceState::NAME,
        r"ExchangeSetupLogs\ServiceState*.xml",
        Capture::Matching,
    ),
    system_drive(
        ServiceState::NAME,
        r"ExchangeSetupLogs\ServiceStartupMode.xml",
        Capture::Matching,
    ),
];

/// How an MSI log's text starts: the verbose header, and the plain one of a log written
/// without `v`.
pub const MSI_LOG_STARTS: &[&str] = &["=== Verbose logging started", "=== Logging started"];

/// MSI logs: they have no fixed name (an administrator picks one with `/lxv`, installers write
/// theirs to the temp folder), so these folders are searched for logs by their first line.
/// The system drive's root is where an administrator may have written one.
pub const MSI_LOGS: [Artifact; 6] = [
    system_drive(
        MsiLogs::NAME,
        r"ExchangeSetupLogs\*.log",
        Capture::MatchingText(MSI_LOG_STARTS),
    ),
    system_drive(
        MsiLogs::NAME,
        r"ExchangeSetupLogs\*.txt",
        Capture::MatchingText(MSI_LOG_STARTS),
    ),
    system_drive(
        MsiLogs::NAME,
        r"Windows\Temp\*.log",
        Capture::MatchingText(MSI_LOG_STARTS),
    ),
    system_drive(
        MsiLogs::NAME,
        r"Windows\Temp\*.txt",
        Capture::MatchingText(MSI_LOG_STARTS),
    ),
    system_drive(
        MsiLogs::NAME,
        "*.log",
        Capture::MatchingText(MSI_LOG_STARTS),
    ),
    system_drive(
        MsiLogs::NAME,
        "*.txt",
        Capture::MatchingText(MSI_LOG_STARTS),
    ),
];

/// The Application and System event logs.
pub const EVENT_LOGS: [Artifact; 2] = [
    system_drive(
        EventLogs::NAME,
        r"Windows\System32\winevt\Logs\Application.evtx",
        Capture::EventLog("Application"),
    ),
    system_drive(
        EventLogs::NAME,
        r"Windows\System32\winevt\Logs\System.evtx",
        Capture::EventLog("System"),
    ),
];

/// The running state of services, captured into the copy (exfleet's own convention). `bufsize=`
/// lets one call list every service (sc's default buffer is smaller than a server's list).
pub const SC_QUERYEX: Artifact = system_drive(
    ScQueryex::NAME,
    r"exfleet\sc-queryex.txt",
    Capture::Sc("queryex type= service state= all bufsize= 65536"),
);

/// The front end's SharedWebConfig.config; its folder present says the front end is.
pub const FRONT_END_SHARED_WEB_CONFIG: Artifact = install(
    ExchangeFiles::NAME,
    r"FrontEnd\HttpProxy\SharedWebConfig.config",
    Capture::File,
);

/// The back end's SharedWebConfig.config; its folder present says the back end is.
pub const CLIENT_ACCESS_SHARED_WEB_CONFIG: Artifact = install(
    ExchangeFiles::NAME,
    r"ClientAccess\SharedWebConfig.config",
    Capture::File,
);

/// The web.config of each virtual directory checked (when its folder exists).
pub const WEB_CONFIGS: [Artifact; 16] = [
    install(
        ExchangeFiles::NAME,
        r"FrontEnd\HttpProxy\owa\web.config",
        Capture::File,
    ),
    install(
        ExchangeFiles::NAME,
        r"FrontEnd\HttpProxy\ecp\web.config",
        Capture::File,
    ),
    install(
        ExchangeFiles::NAME,
        r"FrontEnd\HttpProxy\EWS\web.config",
        Capture::File,
    ),
    install(
        ExchangeFiles::NAME,
        r"FrontEnd\HttpProxy\mapi\web.config",
        Capture::File,
    ),
    install(
        ExchangeFiles::NAME,
        r"FrontEnd\HttpProxy\sync\web.config",
        Capture::File,
    ),
    install(
        ExchangeFiles::NAME,
        r"FrontEnd\HttpProxy\OAB\web.config",
        Capture::File,
    ),
    install(
        ExchangeFiles::NAME,
        r"FrontEnd\HttpProxy\PowerShell\web.config",
        Capture::File,
    ),
    install(
        ExchangeFiles::NAME,
        r"FrontEnd\HttpProxy\autodiscover\web.config",
        Capture::File,
    ),
    install(
        ExchangeFiles::NAME,
        r"ClientAccess\Owa\web.config",
        Capture::File,
    ),
    install(
        ExchangeFiles::NAME,
        r"ClientAccess\ecp\web.config",
        Capture::File,
    ),
    install(
        ExchangeFiles::NAME,
        r"ClientAccess\exchweb\EWS\web.config",
        Capture::File,
    ),
    install(
        ExchangeFiles::NAME,
        r"ClientAccess\mapi\emsmdb\web.config",
        Capture::File,
    ),
    install(
        ExchangeFiles::NAME,
        r"ClientAccess\sync\web.config",
        Capture::File,
    ),
    install(
        ExchangeFiles::NAME,
        r"ClientAccess\OAB\web.config",
        Capture::File,
    ),
    install(
        ExchangeFiles::NAME,
        r"ClientAccess\PowerShell-Proxy\web.config",
        Capture::File,
    ),
    install(
        ExchangeFiles::NAME,
        r"ClientAccess\Autodiscover\web.config",
        Capture::File,
    ),
];

/// OWA's per-version resource folders (named by `OwaVersion`).
pub const OWA_PREM_VERSIONS: Artifact = install(
    ExchangeFiles::NAME,
    r"ClientAccess\Owa\prem",
    Capture::Subfolders,
);

/// OWA's sign-in page per-version folders.
pub const OWA_AUTH_VERSIONS: Artifact = install(
    ExchangeFiles::NAME,
    r"FrontEnd\HttpProxy\owa\auth",
    Capture::Subfolders,
);

/// ECP's per-version resource folders (named by the ECP DLL's version).
pub const ECP_VERSIONS: Artifact = install(
    ExchangeFiles::NAME,
    r"ClientAccess\ecp",
    Capture::Subfolders,
);

/// The ECP DLL whose file version names ECP's resource folder in use.
pub const ECP_DLL: Artifact = install(
    ExchangeFiles::NAME,
    r"ClientAccess\ecp\bin\Microsoft.Exchange.Management.ControlPanel.dll",
    Capture::File,
);

/// The folders under the install root's `UnifiedMessaging` that setup of Exchange 2013 and
/// 2016 expects (SetupAssist's `Missing Directories` test): an upgrade fails when one is gone.
pub const UM_FOLDERS: [&str; 2] = ["Grammars", "Prompts"];

/// The Unified Messaging folders setup of Exchange 2013 and 2016 expects ([`UM_FOLDERS`]).
pub const UNIFIED_MESSAGING: Artifact =
    install(ExchangeFiles::NAME, "UnifiedMessaging", Capture::Subfolders);

/// The Windows Installer cache's packages (`%WINDIR%\Installer`), which the SOFTWARE hive's
/// `LocalPackage` values name. The reader reads only each package's summary information, but
/// a stager copies the files whole: the cache's patches are large (an Exchange SU's `.msp` is
/// a few hundred MB), so a copy with it can take gigabytes.
pub const INSTALLER_CACHE: [Artifact; 2] = [
    system_drive(
        InstallerCache::NAME,
        r"Windows\Installer\*.msi",
        Capture::Matching,
    ),
    system_drive(
        InstallerCache::NAME,
        r"Windows\Installer\*.msp",
        Capture::Matching,
    ),
];

/// The logs the indicator scans read, each below its folder, recursively (ioc.md): the
/// HttpProxy logs of every protocol (their `Ecp` folder for CVE-2021-27065 too), the ECP server
/// logs, the OAB generator logs (every file), and the IIS W3SVC logs (their default folder).
pub const IOC_LOGS: [Artifact; 4] = [
    install(Ioc::NAME, r"Logging\HttpProxy\*.log", Capture::Tree),
    install(Ioc::NAME, r"Logging\ECP\Server\*.log", Capture::Tree),
    install(Ioc::NAME, r"Logging\OABGeneratorLog\*", Capture::Tree),
    system_drive(Ioc::NAME, r"inetpub\logs\LogFiles\*.log", Capture::Tree),
];

/// The files the indicator scans list: LSASS dumps under `C:\root` and `%WINDIR%\Temp`, and
/// archives under `%ProgramData%`.
pub const IOC_FILES: [Artifact; 5] = [
    system_drive(Ioc::NAME, r"root\lsass.*dmp", Capture::Tree),
    system_drive(Ioc::NAME, r"Windows\Temp\lsass.*dmp", Capture::Tree),
    system_drive(Ioc::NAME, r"ProgramData\*.7z", Capture::Tree),
    system_drive(Ioc::NAME, r"ProgramData\*.zip", Capture::Tree),
    system_drive(Ioc::NAME, r"ProgramData\*.rar", Capture::Tree),
];

/// The extensions of the files IIS and ASP.NET run when a URL names them, or that tell IIS
/// what to run: the web shells of the folders [`WEB_FILES`] lists were pages (`.aspx`), but a
/// handler, a service or a classic ASP page runs code from a request as well, and a dropped
/// `web.config` can map any other extension to a handler. ASP.NET: pages, user controls,
/// generic handlers, web services, the application file (`aspx`, `ascx`, `ashx`, `asmx`,
/// `asax`); WCF and workflow services (`svc`, `xamlx`, and `xoml`, which .NET 4's root
/// web.config maps to WCF's `System.ServiceModel.Activation.HttpHandler`); .NET remoting
/// endpoints (`rem`, `soap`); Razor pages of ASP.NET Web Pages (`cshtml`, `vbhtml`); classic ASP and the
/// extensions IIS maps to it (`asp`, `asa`, `cer`, `cdx`); server-side includes, which can run
/// commands (`shtml`, `shtm`, `stm`); and configuration (`config`). Compared without case.
pub const WEB_EXTENSIONS: [&str; 20] = [
    "aspx", "ascx", "ashx", "asmx", "asax", "svc", "xamlx", "xoml", "rem", "soap", "cshtml",
    "vbhtml", "asp", "asa", "cer", "cdx", "shtml", "shtm", "stm", "config",
];

/// The default web site's root folder on the system drive (`%SystemDrive%\inetpub\wwwroot`,
/// where setup leaves it): the [`Base::SiteRoot`] when applicationHost.config names none.
pub const DEFAULT_SITE_ROOT: &str = r"inetpub\wwwroot";

/// The folder below a web site's root where ASP.NET keeps its client files.
pub const ASPNET_CLIENT: &str = "aspnet_client";

/// The web folders where the 2021 web shells were found (ioc.md, "Web shells"), listed with
/// each file's SHA-256 so that the analyzer can tell a file other servers of the build do not
/// have: every file below a site's `aspnet_client` (its stock content is a few .NET files, the
/// same on every server), and the files with [`WEB_EXTENSIONS`] below the front end's
/// `owa\auth` and `ecp\auth`.
pub const WEB_FILES: [Artifact; 3] = [
    site_root(Ioc::NAME, r"aspnet_client\*", Capture::Tree),
    install(
        Ioc::NAME,
        r"FrontEnd\HttpProxy\owa\auth\*",
        Capture::TreeExtensions(&WEB_EXTENSIONS),
    ),
    install(
        Ioc::NAME,
        r"FrontEnd\HttpProxy\ecp\auth\*",
        Capture::TreeExtensions(&WEB_EXTENSIONS),
    ),
];

/// The whole table, in the order [`crate::readers::read_all`] runs the readers.
pub const ALL: &[&[Artifact]] = &[
    &[
        SYSTEM_HIVE,
        SOFTWARE_HIVE,
        EXSETUP,
        IIS_CONFIG,
        SETUP_LOG,
        SERVICE_CONTROL_LOG,
    ],
    &SERVICE_STATE,
    &MSI_LOGS,
    &EVENT_LOGS,
    &[
        SC_QUERYEX,
        FRONT_END_SHARED_WEB_CONFIG,
        CLIENT_ACCESS_SHARED_WEB_CONFIG,
    ],
    &WEB_CONFIGS,
    &[
        OWA_PREM_VERSIONS,
        OWA_AUTH_VERSIONS,
        ECP_VERSIONS,
        ECP_DLL,
        UNIFIED_MESSAGING,
    ],
    &INSTALLER_CACHE,
    &IOC_LOGS,
    &IOC_FILES,
    &WEB_FILES,
];

/// Every artifact of [`ALL`], in order.
pub fn all() -> impl Iterator<Item = &'static Artifact> {
    ALL.iter().flat_map(|group| group.iter())
}

/// The marker lines around the stager's generated block.
pub const STAGER_BEGIN: &str = "# BEGIN GENERATED ARTIFACTS";
/// See [`STAGER_BEGIN`].
pub const STAGER_END: &str = "# END GENERATED ARTIFACTS";

/// The stager script, relative to the workspace root.
pub const STAGER_SCRIPT: &str = "deploy/windows/stage-triage.ps1";

/// The table as PowerShell 2.0 data: the text between the stager's markers.
pub fn stager_block() -> String {
    let mut s = String::new();
    s.push_str(
        "# Generated from collector/src/artifacts.rs: do not edit here. After a change there,\n\
         # UPDATE_STAGER=1 cargo test -p exfleet-collector --lib artifacts rewrites this block.\n",
    );
    s.push_str("$SetupKeys = @(\n");
    list(&mut s, SETUP_KEYS.iter().map(|k| ps(k)));
    s.push_str(")\n");
    let _ = writeln!(s, "$InstallPathValue = {}", ps(INSTALL_PATH_VALUE));
    let _ = writeln!(s, "$IisConfigPath = {}", ps(IIS_CONFIG.path));
    let _ = writeln!(s, "$DefaultSiteRoot = {}", ps(DEFAULT_SITE_ROOT));
    s.push_str("$DefaultInstallPaths = @(\n");
    list(&mut s, DEFAULT_INSTALL_PATHS.iter().map(|p| ps(p)));
    s.push_str(")\n");
    s.push_str("$Artifacts = @(\n");
    list(
        &mut s,
        all().map(|a| {
            let base = match a.base {
                Base::SystemDrive => "SystemDrive",
                Base::Install => "Install",
                Base::SiteRoot => "SiteRoot",
            };
            let (capture, argument) = match a.capture {
                Capture::RegSave(key) => ("RegSave", ps(key)),
                Capture::File => ("File", ps("")),
                Capture::Matching => ("Matching", ps("")),
                Capture::MatchingText(starts) => (
                    "MatchingText",
                    format!(
                        "@({})",
                        starts.iter().map(|t| ps(t)).collect::<Vec<_>>().join(", ")
                    ),
                ),
                Capture::EventLog(log) => ("EventLog", ps(log)),
                Capture::Subfolders => ("Subfolders", ps("")),
                Capture::Sc(arguments) => ("Sc", ps(arguments)),
                Capture::Tree => ("Tree", ps("")),
                Capture::TreeExtensions(extensions) => (
                    "TreeExtensions",
                    format!(
                        "@({})",
                        extensions.iter().map(|t| ps(t)).collect::<Vec<_>>().join(", ")
                    ),
                ),
            };
            format!(
                "@{{ Reader = {}; Base = '{base}'; Path = {}; Capture = '{capture}'; Argument = {argument} }}",
                ps(a.reader),
                ps(a.path)
            )
        }),
    );
    s.push_str(")\n");
    s
}

/// Items of a PowerShell array, one a line, commas between them.
fn list(s: &mut String, items: impl Iterator<Item = String>) {
    let items: Vec<String> = items.collect();
    for (i, item) in items.iter().enumerate() {
        let comma = if i + 1 < items.len() { "," } else { "" };
        let _ = writeln!(s, "    {item}{comma}");
    }
}

/// A PowerShell single-quoted string (no expansion; `'` doubled).
fn ps(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The stager script with its generated block replaced by [`stager_block`]; `None` when the
/// markers are missing.
pub fn regenerate_stager(script: &str) -> Option<String> {
    let (head, rest) = script.split_once(STAGER_BEGIN)?;
    let (_, tail) = rest.split_once(STAGER_END)?;
    Some(format!(
        "{head}{STAGER_BEGIN}\n{}{STAGER_END}{tail}",
        stager_block()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stager's block agrees with the table; `UPDATE_STAGER=1` rewrites it.
    #[test]
    fn stager_script_block_is_generated_from_the_table() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(STAGER_SCRIPT);
        let script = std::fs::read_to_string(&path).unwrap();
        let want =
            regenerate_stager(&script).expect("the stager has the generated block's markers");
        if std::env::var("UPDATE_STAGER").as_deref() == Ok("1") {
            std::fs::write(&path, &want).unwrap();
        } else {
            assert!(
                script == want,
                "{STAGER_SCRIPT} is out of date: run UPDATE_STAGER=1 cargo test -p \
                 exfleet-collector --lib artifacts"
            );
        }
    }

    #[test]
    fn every_reader_is_in_the_table_in_read_order() {
        let mut readers: Vec<&str> = all().map(|a| a.reader).collect();
        readers.dedup();
        assert_eq!(readers, crate::readers::NAMES);
    }

    #[test]
    fn paths_are_relative_plain_and_ascii() {
        for a in all() {
            let p = a.path;
            assert!(p.is_ascii() && !p.contains('/') && !p.contains('?'), "{p}");
            assert!(!p.starts_with('\\') && !p.contains(':'), "{p}");
            assert!(
                p.split('\\')
                    .all(|c| !c.is_empty() && c != "." && c != ".."),
                "{p}"
            );
            // Only a last component is a pattern.
            assert!(!a.folder().contains('*'), "{p}");
            let pattern = matches!(
                a.capture,
                Capture::Matching
                    | Capture::MatchingText(_)
                    | Capture::Tree
                    | Capture::TreeExtensions(_)
            );
            assert!(pattern || !p.contains('*'), "{p}");
        }
        let mut paths: Vec<(Base, String)> = all()
            .map(|a| (a.base, a.path.to_ascii_lowercase()))
            .collect();
        let n = paths.len();
        paths.sort();
        paths.dedup();
        assert_eq!(paths.len(), n, "each artifact is listed once");
    }

    #[test]
    fn patterns_match_as_windows_does() {
        let state = SERVICE_STATE[0];
        assert_eq!(
            (state.folder(), state.name()),
            ("ExchangeSetupLogs", "ServiceState*.xml")
        );
        assert!(state.matches("ServiceState.xml"));
        assert!(state.matches("servicestate15.2.1544.4.XML"));
        assert!(!state.matches("ServiceState.xml.bak"));
        assert!(!state.matches("ServiceControl.log"));
        assert!(SERVICE_STATE[1].matches("SERVICESTARTUPMODE.xml"));
        assert_eq!((MSI_LOGS[4].folder(), MSI_LOGS[4].name()), ("", "*.log"));
        assert!(MSI_LOGS[4].matches("su.log") && !MSI_LOGS[4].matches("su.log1"));
        // A workflow service IIS runs through WCF's handler; a script it only serves.
        assert!(WEB_FILES[1].matches("Shell.XOML") && !WEB_FILES[1].matches("owa.js"));
    }

    #[test]
    fn the_auth_folders_keep_what_iis_runs_and_aspnet_client_keeps_everything() {
        let [aspnet_client, owa, ecp] = WEB_FILES;
        assert_eq!(
            (aspnet_client.base, aspnet_client.folder()),
            (Base::SiteRoot, ASPNET_CLIENT)
        );
        for name in [
            "readme.txt",
            "x5kqk2vc.aspx",
            "WebUIValidation.js",
            "no-extension",
        ] {
            assert!(aspnet_client.matches(name), "{name}");
        }
        for a in [owa, ecp] {
            for name in [
                "logon.aspx",
                "SHELL.ASHX",
                "x.asmx",
                "c.ascx",
                "global.asax",
                "old.asp",
                "s.svc",
                "p.cshtml",
                "p.vbhtml",
                "web.config",
                "Web.Config",
                "a.b.aspx",
            ] {
                assert!(a.matches(name), "{name}");
            }
            for name in [
                "logon.js",
                "logon.css",
                "sprite.png",
                "x.gif",
                "aspx",
                "x.aspx.bak",
                "x.aspxx",
                "config.txt",
                "readme",
            ] {
                assert!(!a.matches(name), "{name}");
            }
        }
        // Each extension once, lower case, no dot.
        let mut set: Vec<&str> = WEB_EXTENSIONS.to_vec();
        set.sort();
        set.dedup();
        assert_eq!(set.len(), WEB_EXTENSIONS.len());
        assert!(WEB_EXTENSIONS
            .iter()
            .all(|e| !e.contains('.') && e.to_ascii_lowercase() == *e));
    }

    #[test]
    fn the_block_is_powershell_data() {
        let block = stager_block();
        assert!(block.is_ascii());
        assert!(block.contains(
            "@{ Reader = 'system_hive'; Base = 'SystemDrive'; Path = \
             'Windows\\System32\\config\\SYSTEM'; Capture = 'RegSave'; Argument = 'HKLM\\SYSTEM' },"
        ));
        assert!(
            block.contains("Argument = @('=== Verbose logging started', '=== Logging started')")
        );
        assert!(block.ends_with("}\n)\n"), "{block}");
        assert_eq!(ps("it's"), "'it''s'");
    }
}
