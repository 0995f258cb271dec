//! The values of the contract's string-typed `kind` fields, written once: the collector
//! writes them with [`as_str`](SetupLineKind::as_str), the dataset and the analyzer parse them
//! with [`parse`](SetupLineKind::parse). A value this build does not know (written by a newer
//! collector) parses as `Other` and keeps its text, so nothing is lost on the way through.

macro_rules! kinds {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
            /// Empty, or a value this build does not know, as written.
            Other(String),
        }

        impl Default for $name {
            fn default() -> Self {
                $name::Other(String::new())
            }
        }

        impl $name {
            /// The value as the contract writes it.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)*
                    $name::Other(s) => s,
                }
            }

            /// Parses a written value; unknown ones are `Other`, with their text.
            pub fn parse(s: &str) -> $name {
                match s {
                    $($text => $name::$variant,)*
                    _ => $name::Other(s.to_string()),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

kinds!(
    /// What a line that matters of ExchangeSetup.log is (`SetupLogLine.kind`).
    SetupLineKind {
        /// `[ERROR]`.
        Error = "error",
        /// `[ERROR-REFERENCE]`.
        ErrorReference = "error_reference",
        /// `[WARNING]`.
        Warning = "warning",
        /// `Failed [Rule:...]`.
        FailedRule = "failed_rule",
        /// A prerequisite rule evaluated to True.
        RuleTrue = "rule_true",
        /// An evaluated setting or rule the reference reviewer reads (the admin groups, the
        /// domain controller and its site, the prerequisite rules; the last of each per run).
        Setting = "setting",
        /// `[REQUIRED]`.
        Required = "required",
        /// Domain controller, schema master, site, SID, ldif and AD preparation lines.
        Fact = "fact",
        /// A line a reference check matches (AD preparation status, certificates installed,
        /// MSI installs and removals, hybrid URIs, shared config DC errors, ...).
        Check = "check",
    }
);

kinds!(
    /// What a ServiceControl.ps1 action did (`ServiceControlAction.kind`).
    ScActionKind {
        /// Saved the services' start modes.
        SaveState = "save_state",
        /// Stopped a service.
        Stop = "stop",
        /// Timed out stopping a service.
        StopFailed = "stop_failed",
        /// Killed a service's process.
        Kill = "kill",
        /// Disabled the services of the roles.
        DisableRoles = "disable_roles",
        /// Disabled one service.
        Disable = "disable",
        /// Re-enabled the services of the roles.
        EnableRoles = "enable_roles",
        /// Re-enabled one service.
        Enable = "enable",
        /// Started a service.
        Start = "start",
        /// Removed the saved state file.
        RemoveState = "remove_state",
        /// A warning line.
        Warning = "warning",
        /// An error line.
        Error = "error",
    }
);

kinds!(
    /// What a line that matters of an MSI verbose log is (`MsiLogLine.kind`).
    MsiLineKind {
        /// The patch sequencer found the patch not applicable.
        NotApplicable = "not_applicable",
        /// An error line ("Error 1603", "could not be installed").
        Error = "error",
        /// An action that returned 3.
        FailedAction = "failed_action",
        /// "Installation success or error status".
        Status = "status",
        /// An action that took a minute or more.
        SlowAction = "slow_action",
    }
);

kinds!(
    /// What a config file OWA and ECP need is (`ConfigFile.kind`).
    ConfigFileKind {
        /// SharedWebConfig.config of FrontEnd\HttpProxy or ClientAccess.
        SharedWebConfig = "shared_web_config",
        /// A virtual directory's web.config.
        WebConfig = "web_config",
    }
);

kinds!(
    /// What an event that matters says (`Event.kind`), named from its provider and id.
    EventKind {
        /// ASP.NET 1309/1310, Front End HTTP Proxy 1003: a web application's error.
        WebError = "web_error",
        /// HttpEvent 15021: an endpoint's TLS configuration cannot be used.
        TlsError = "tls_error",
        /// Service Control Manager 7040: a service's start type changed.
        StartTypeChanged = "start_type_changed",
        /// Service Control Manager 7036: a service's state changed.
        StateChanged = "state_changed",
        /// WindowsUpdateClient 43: an update's installation started.
        UpdateStarted = "update_started",
        /// MsiInstaller 1022, 11707, 1033/1036 with status 0 or 3010, WindowsUpdateClient 19:
        /// an update or product installed (3010: a reboot is required to finish it).
        UpdateInstalled = "update_installed",
        /// MsiInstaller 1023, 1024, 11708, 1033/1036 with another status, WindowsUpdateClient
        /// 20: an update or product did not install (1642: not applicable).
        UpdateFailed = "update_failed",
        /// WindowsUpdateClient 21: installed updates wait for a restart.
        RebootRequired = "reboot_required",
        /// EventLog 6005, Kernel-General 12: the system started.
        Boot = "boot",
        /// EventLog 6006, Kernel-General 13, User32 1074: the system shut down or was asked to.
        Shutdown = "shutdown",
        /// EventLog 6008: the previous shutdown was unexpected.
        UnexpectedShutdown = "unexpected_shutdown",
        /// Service Control Manager 7000, 7009: a service failed to start.
        ServiceStartFailed = "service_start_failed",
        /// Service Control Manager 7011: a service did not answer a control in time.
        ServiceHung = "service_hung",
        /// Service Control Manager 7023, 7031, 7034: a service stopped with an error or
        /// terminated unexpectedly.
        ServiceCrashed = "service_crashed",
        /// Application Error 1000, .NET Runtime 1026, MSExchange Common 4999: a process crashed.
        ProcessCrashed = "process_crashed",
    }
);

kinds!(
    /// What a Windows Installer package is (`InstallerPackage.kind`).
    InstallerPackageKind {
        /// A product (`.msi`), under `UserData\S-1-5-18\Products`.
        Product = "product",
        /// A patch (`.msp`), under `UserData\S-1-5-18\Patches`.
        Patch = "patch",
    }
);

kinds!(
    /// Where a cached installer package stands (`InstallerPackage.file_state`).
    CachedFileState {
        /// The file is in the cache and was read.
        Present = "present",
        /// The cache folder is in the copy, the file is not.
        Missing = "missing",
        /// The cache folder is not in the copy: nothing is known of the file.
        NotCollected = "not_collected",
        /// The file is there but its summary information could not be read.
        Unreadable = "unreadable",
    }
);

kinds!(
    /// Which indicator of compromise a match is (`IocMatch.indicator`), after the reference's
    /// checks (Test-ProxyLogon) and Microsoft's CVE-2022-41040 hunting query.
    IocKind {
        /// HttpProxy logs: `AnchorMailbox` `ServerInfo~*/*`, not autodiscover nor localhost
        /// (CVE-2021-26855, server-side request forgery).
        Cve2021_26855 = "cve_2021_26855",
        /// Application log: MSExchange Unified Messaging error with
        /// `System.InvalidCastException` (CVE-2021-26857).
        Cve2021_26857 = "cve_2021_26857",
        /// OAB generator logs: a temporary file to remove outside `ClientAccess\OAB`
        /// (CVE-2021-26858, arbitrary file write).
        Cve2021_26858 = "cve_2021_26858",
        /// HttpProxy ECP logs: `ServerInfo~*/*Reset*VirtualDirectory#` with status 200
        /// (CVE-2021-27065, signal a).
        Cve2021_27065Proxy = "cve_2021_27065_proxy",
        /// ECP server logs: `Set-*VirtualDirectory` with markup in a URL parameter
        /// (CVE-2021-27065, signal b).
        Cve2021_27065Ecp = "cve_2021_27065_ecp",
        /// IIS W3SVC logs: `powershell.*autodiscover\.json.*@.*200` (CVE-2022-41040,
        /// Microsoft's hunting query).
        Cve2022_41040 = "cve_2022_41040",
        /// `lsass.*dmp` under `C:\root` or `%WINDIR%\Temp`.
        LsassDump = "lsass_dump",
        /// A .7z, .zip or .rar under `%ProgramData%`.
        SuspiciousArchive = "suspicious_archive",
        /// A file of a folder where web shells were found: any file of a site's `aspnet_client`,
        /// a page, handler or configuration file (.aspx, .ashx, web.config, ...) of the front
        /// end's `owa\auth` or `ecp\auth` (listed on every server, judged against the fleet by
        /// the analyzer; the name is the contract's, from when only .aspx files were listed).
        AspxFile = "aspx_file",
    }
);
