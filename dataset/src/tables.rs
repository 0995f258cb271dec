//! The tables of the dataset, each written once: its name, what a row is, and each column
//! with its type and meaning. Everything else (the table list, typed rows, frames, reading
//! back, DATASET.md) is generated from here. Columns are only ever added, at the end of
//! their table.

use exfleet_proto::kinds::{
    CachedFileState, ConfigFileKind, EventKind, InstallerPackageKind, IocKind, MsiLineKind,
    ScActionKind, SetupLineKind,
};
use exfleet_proto::v1::collection_source::Kind as SourceKind;
use exfleet_proto::v1::stored_snapshot::IdentityKind;
use exfleet_proto::v1::{service_control_run, setup_run};

use crate::schema::tables;
use crate::value::{BindingKind, JsonList, List};

tables! {
    /// One row per snapshot: identity, labels, platform and the build facts.
    hosts: Hosts => HostRow {
        /// subject CN of the collector's client certificate
        collector_id: String,
        /// when the aggregator stored the snapshot (UTC ms)
        received_at_ms: i64,
        /// collector version
        collector_version: String,
        /// Tcpip\Parameters Hostname
        dns_hostname: String,
        /// Tcpip\Parameters Domain
        dns_domain: String,
        /// Netlogon DynamicSiteName
        ad_site: String,
        /// operator label: the DAG
        dag: String,
        /// operator label: the role group
        role_group: String,
        /// operator label: the owner
        owner: String,
        /// Windows NT\CurrentVersion ProductName
        os_product_name: String,
        /// Windows NT\CurrentVersion CurrentBuild
        os_current_build: String,
        /// update build revision
        os_ubr: i64,
        /// .NET Framework v4 Full Release (0 = absent)
        dotnet_release: i64,
        /// Nls\CodePage ACP
        ansi_code_page: String,
        /// TimeZoneKeyName
        time_zone: String,
        /// reboot-pending indicators, comma-separated (empty = none)
        pending_reboot: List,
        /// `v15` or `v14`
        exchange_setup_key: String,
        /// MsiInstallPath
        install_path: String,
        /// CU build from MsiProductMajor/Minor, MsiBuildMajor/Minor
        msi_version: String,
        /// OwaVersion
        owa_version: String,
        /// ExSetup.exe fixed FileVersion: the running build
        exsetup_version: String,
        /// ExSetup.exe FileVersion string (`15.02.1748.039`)
        exsetup_string_version: String,
        /// collection errors in the snapshot
        error_count: i64,
        /// where the .NET `Release` value was read
        dotnet_provenance: String,
        /// the install's FrontEnd\HttpProxy folder was in the copy (a file missing under it is
        /// missing, not uncollected)
        front_end_present: bool,
        /// the install's ClientAccess folder was in the copy
        client_access_present: bool,
        /// version folders under ClientAccess\Owa\prem, comma-separated
        owa_prem_versions: List,
        /// version folders under FrontEnd\HttpProxy\owa\auth, comma-separated
        owa_auth_versions: List,
        /// version folders under ClientAccess\ecp, comma-separated
        ecp_versions: List,
        /// FileVersion of ClientAccess\ecp\bin\Microsoft.Exchange.Management.ControlPanel.dll
        /// (names the ECP folder in use)
        ecp_dll_version: String,
        /// the install folder looked at
        exchange_files_provenance: String,
        /// the install's UnifiedMessaging folder was in the copy
        unified_messaging_present: bool,
        /// folders under the install's UnifiedMessaging present (`Grammars`, `Prompts`),
        /// comma-separated
        um_folders: List,
        /// where the ANSI code page (ACP) was read
        code_page_provenance: String,
        /// start of the window the snapshot's events cover, UTC ms (0 = the whole logs)
        events_since_ms: i64,
        /// how the evidence was read: `live` (the running server: registry API, Service Control
        /// Manager, files in place) or `triage` (a copy of its files)
        source: SourceKind,
        /// what the collector's certificate may speak for: `server` (itself only), `triage` (the
        /// hosts the aggregator allows it), empty for snapshots not received over the wire
        collector_kind: IdentityKind,
        /// a server certificate sent a snapshot naming another computer: kept as evidence, never
        /// taken as that host's state
        identity_mismatch: bool,
    }

    /// One row per build fact: ExSetup.exe, Msi*, OwaVersion, role ConfiguredVersion.
    builds: Builds => BuildRow {
        /// `exsetup`, `msi`, `owa`, or `role:<component>`
        source: String,
        /// the build it states (ConfiguredVersion for roles)
        version: String,
        /// a setup watermark left in the role key
        watermark: String,
        /// the watermark's Action
        action: String,
        /// where it was read
        provenance: String,
    }

    /// One row per installed-update key (SUs, IUs, hotfixes).
    installed_updates: InstalledUpdates => UpdateRow {
        /// `Exchange 2016`, `Exchange 2019`, ... (Updates folder)
        product: String,
        /// subkey name, normally the KB
        kb: String,
        /// PackageName: names the CU the update targets
        package_name: String,
        /// InstalledDate as written
        installed_date: String,
        /// where it was read
        provenance: String,
    }

    /// One row per service key with a Start value.
    services: Services => ServiceRow {
        /// service key name
        name: String,
        /// DisplayName
        display_name: String,
        /// 0 boot, 1 system, 2 automatic, 3 manual, 4 disabled
        start: i64,
        /// DelayedAutostart
        delayed_autostart: bool,
        /// where it was read
        provenance: String,
    }

    /// One row per binding: IIS site bindings and HTTP.sys TLS bindings.
    bindings: Bindings => BindingRow {
        /// `iis` (applicationHost.config) or `http_sys` (SslBindingInfo)
        kind: BindingKind,
        /// IIS site name (iis rows)
        site: String,
        /// IIS site id (iis rows)
        site_id: i64,
        /// `http`, `https`, `net.tcp`, ...
        protocol: String,
        /// bindingInformation (`*:444:`), or the HTTP.sys endpoint (`0.0.0.0:444`)
        endpoint: String,
        /// certificate thumbprint (http_sys rows)
        cert_thumbprint: String,
        /// certificate store (http_sys rows)
        cert_store: String,
        /// the bound certificate is in LocalMachine\My
        cert_in_store: bool,
        /// its NotAfter, UTC ms (0 = not in the store)
        cert_not_after_ms: i64,
        /// where it was read
        provenance: String,
    }

    /// One row per certificate of LocalMachine\My.
    certificates: Certificates => CertificateRow {
        /// SHA-1 thumbprint, upper-case hex
        thumbprint: String,
        /// subject
        subject: String,
        /// issuer
        issuer: String,
        /// NotBefore, UTC ms
        not_before_ms: i64,
        /// NotAfter, UTC ms
        not_after_ms: i64,
        /// subject alternative DNS names, comma-separated
        dns_names: List,
        /// where it was read
        provenance: String,
        /// public key algorithm: `RSA`, `DSA`, `EC`, `Ed25519`, ... or the OID
        key_algorithm: String,
        /// key size in bits (0 = unknown)
        key_size_bits: i64,
        /// signature algorithm OID
        signature_algorithm: String,
        /// the signature's hash (`SHA-1`, `SHA-256`, `MD5`, ...; empty = none or unknown)
        signature_hash: String,
    }

    /// One row per setup run of ExchangeSetup.log.
    setup_runs: SetupRuns => SetupRunRow {
        /// position in ExchangeSetup.log, from 0: the last run has the highest
        run_index: i64,
        /// the last run of the log
        is_last: bool,
        /// product of the run header
        product: String,
        /// setup version of the run header
        setup_version: String,
        /// mode (Install, Upgrade, ...): the command line's, else the one setup chose
        mode: String,
        /// the command line's `mode` parameter only (empty when not given): what the reference
        /// reviewer calls SetupMode
        mode_parameter: String,
        /// the locally installed version before the run
        previous_version: String,
        /// "The backup copy of the previously installed version"
        backup_version: String,
        /// /sourcedir: where setup was started from
        source_dir: String,
        /// the logged-on user
        logged_on_user: String,
        /// start, UTC ms
        started_at_ms: i64,
        /// end, UTC ms (0 = no end)
        ended_at_ms: i64,
        /// first log line
        start_line: i64,
        /// last log line (0 = no end)
        end_line: i64,
        /// `succeeded`, `failed`, `ended_unknown`, `cut_off`
        outcome: setup_run::Outcome,
        /// `[ERROR]` lines
        error_count: i64,
        /// line of the first `[ERROR]`
        first_error_line: i64,
        /// text of the first `[ERROR]`
        first_error: String,
        /// where the run starts
        provenance: String,
        /// lines of the log the run spans, unprefixed ones included (0 in datasets written
        /// before this column)
        line_count: i64,
    }

    /// One row per line that matters of a setup run (errors, warnings, prerequisite rules,
    /// facts), with its continuation lines and, for errors, the lines before it.
    ///
    /// Marker lines are kept up to 2,000 per run, fact lines up to 200 (AD reads that only
    /// name their domain controller are left out).
    setup_lines: SetupLines => SetupLineRow {
        /// the run (see setup_runs)
        run_index: i64,
        /// line number
        line: i64,
        /// UTC ms
        time_ms: i64,
        /// `error`, `error_reference`, `warning`, `failed_rule`, `rule_true` (a prerequisite
        /// rule evaluated to True), `setting` (the last evaluation per run of a setting or rule
        /// the reference reviewer reads: admin groups, domain controller and site, prerequisite
        /// rules), `required`, `fact` (domain controller, schema master, site, SID, ldif, AD
        /// preparation lines), `check` (other lines a reference check matches: MSI installs and
        /// removals, certificates, hybrid URIs, AD preparation status)
        kind: SetupLineKind,
        /// for errors: the component of the `[ERROR-REFERENCE]` that follows
        component: String,
        /// the line after its prefix
        text: String,
        /// continuation lines (stack traces, script text), newline-joined, at most 40
        continuation: String,
        /// for errors: the 3 prefixed lines before, `<line>: <text>`, newline-joined
        context: String,
        /// for errors: the task setup was running (its last `Beginning processing <task>`)
        task: String,
    }

    /// One row per collection error (a damaged or unreadable artifact).
    collection_errors: CollectionErrors => CollectionErrorRow {
        /// `system_hive`, `software_hive`, `exsetup`, `iis_config`, `setup_log`,
        /// `service_control`, `service_state`, `msi_log`, `event_log`, `sc_queryex`,
        /// `exchange_files`
        reader: String,
        /// stable snake_case (`truncated`, `dirty_hive`, `malformed_xml`, ...)
        kind: String,
        /// artifact path in the triage copy
        path: String,
        /// offset, line or registry value
        location: String,
        /// what went wrong, with where
        message: String,
    }

    /// One row per ServiceControl.ps1 run of ServiceControl.log (SU installs).
    service_control_runs: ServiceControlRuns => ScRunRow {
        /// position in the log, from 0: the last run has the highest
        run_index: i64,
        /// the last run of the log
        is_last: bool,
        /// the run header's local date and time, as written
        header_time: String,
        /// start, UTC, converted with the host's time zone bias at collection (0 = date unknown)
        started_at_ms: i64,
        /// end, UTC (0 = unknown)
        ended_at_ms: i64,
        /// first log line
        start_line: i64,
        /// last log line
        end_line: i64,
        /// `succeeded` ("Script completed succesfully."), `errors`, `cut_off` (no completion
        /// line)
        outcome: service_control_run::Outcome,
        /// "Performing service control with options: ..."
        options: String,
        /// the header's date read both ways (both parts <= 12) and was read month first
        date_order_assumed: bool,
        /// where the run starts
        provenance: String,
    }

    /// One row per action of a ServiceControl.ps1 run. Actions are kept up to 2,000 per run.
    service_control_actions: ServiceControlActions => ScActionRow {
        /// the run
        run_index: i64,
        /// line number
        line: i64,
        /// UTC ms (0 = the run's date is unknown)
        time_ms: i64,
        /// `save_state`, `stop`, `stop_failed` (timed out, did not stop), `kill`,
        /// `disable_roles`, `disable`, `enable_roles`, `enable`, `start`, `remove_state`,
        /// `warning`, `error`
        kind: ScActionKind,
        /// the service key name, for actions on one service
        service: String,
        /// the line after its time
        text: String,
        /// the unprefixed lines after it (at most 20), newline-joined
        continuation: String,
    }

    /// One row per saved service-state file left in ExchangeSetupLogs.
    service_state_files: ServiceStateFiles => StateFileRow {
        /// `ServiceState.xml`, `ServiceState<version>.xml`, `ServiceStartupMode.xml`
        name: String,
        /// last write time of the copy's file (UTC ms)
        modified_at_ms: i64,
        /// bytes
        size: i64,
        /// `name=start mode` pairs the file saved, comma-separated
        services: List,
        /// the file
        provenance: String,
    }

    /// One row per Windows Installer verbose log of an SU install found in the copy.
    msi_logs: MsiLogs => MsiLogRow {
        /// position among the host's MSI logs (path order)
        log_index: i64,
        /// "Verbose logging started" local time as written
        header_time: String,
        /// the same, UTC ms
        started_at_ms: i64,
        /// the .msp the log names
        patch: String,
        /// `"Update '<name>'"` (names the CU the SU is for)
        update_name: String,
        /// "could not be installed. Error code N" (0 = none)
        error_code: i64,
        /// "Installation success or error status: N" (-1 = absent)
        install_status: i64,
        /// "MainEngineThread is returning N" (-1 = absent)
        main_engine_return: i64,
        /// the installed product's ProductVersion
        product_version: String,
        /// "PATCH SEQUENCER: QFE patch ... is not applicable."
        not_applicable: bool,
        /// the log
        provenance: String,
    }

    /// One row per line that matters of an MSI log.
    msi_lines: MsiLines => MsiLineRow {
        /// the log
        log_index: i64,
        /// line number
        line: i64,
        /// UTC ms
        time_ms: i64,
        /// `not_applicable`, `error`, `failed_action` (Return value 3), `status`, `slow_action`
        kind: MsiLineKind,
        /// the line after its engine prefix; for slow actions, the action and its progress text
        text: String,
        /// slow actions: from "Action start" to "Action ended" (kept at 60 s or more)
        duration_ms: i64,
    }

    /// One row per event of the Windows event logs that matters: ASP.NET 1309/1310,
    /// MSExchange Front End HTTP Proxy 1003, HttpEvent 15021, Service Control Manager
    /// 7040/7036/7000/7009/7011/7023/7031/7034, MsiInstaller
    /// 1022/1023/1024/1033/1036/11707/11708, WindowsUpdateClient 19/20/21/43, EventLog
    /// 6005/6006/6008, User32 1074,
    /// Kernel-General 12/13, Application Error 1000, .NET Runtime 1026, MSExchange Common 4999
    /// (keyed on provider and id), up to 50,000 per log, written at or after the snapshot's
    /// `events_since_ms`; with what each says as typed columns.
    events: Events => EventRow {
        /// `Application`, `System`
        log: String,
        /// System/Provider/@Name
        provider: String,
        /// event id
        event_id: i64,
        /// EventRecordID
        record_id: i64,
        /// when the record was written, UTC ms
        time_ms: i64,
        /// 1 critical, 2 error, 3 warning, 4 information (0 = not given)
        level: i64,
        /// EventData values in order, a JSON array of strings
        data: JsonList,
        /// their names, a JSON array (`""` for positional values)
        data_names: JsonList,
        /// EventData/Binary, upper-case hex
        binary: String,
        /// `path#record N`
        provenance: String,
        /// what the event says: `web_error`, `tls_error`, `start_type_changed`,
        /// `state_changed`, `update_started`, `update_installed`, `update_failed`,
        /// `reboot_required`, `boot`, `shutdown`, `unexpected_shutdown`,
        /// `service_start_failed`, `service_hung`, `service_crashed`, `process_crashed`
        kind: EventKind,
        /// what it is about: the update's name, the service's key name, the crashed process,
        /// the process that asked for a shutdown
        subject: String,
        /// MsiInstaller's product name
        product: String,
        /// the KB the update's name holds (`KB5041552`)
        kb: String,
        /// the result code it carries (MSI 0, 1603, 1642, 3010; Windows Update's errorCode;
        /// a service's error; a crash's exception code); -1 = none
        result_code: i64,
        /// the shutdown type and user, a service's display name and error, a crash's module
        /// or exception
        detail: String,
    }

    /// One row per reboot-pending indicator found.
    pending_reboots: PendingReboots => PendingRebootRow {
        /// `PendingFileRenameOperations`, `UpdateExeVolatile`, `RebootPending`, `RebootRequired`
        indicator: String,
        /// the value found (the pending renames, the Flags value, "key exists")
        detail: String,
        /// the registry value or key
        provenance: String,
    }

    /// One row per service with its running state: read live from the Service Control
    /// Manager, or from a saved `sc queryex` capture when the copy holds
    /// `exfleet/sc-queryex.txt` (saved there by whoever made the copy); otherwise running state
    /// is unknown and the table has no rows for the host.
    service_states: ServiceStates => ServiceStateRow {
        /// SERVICE_NAME
        name: String,
        /// DISPLAY_NAME
        display_name: String,
        /// `RUNNING`, `STOPPED`, `START_PENDING`, ...
        state: String,
        /// 1 stopped, 2 start pending, 3 stop pending, 4 running, ...
        state_code: i64,
        /// PID
        pid: i64,
        /// WIN32_EXIT_CODE
        exit_code: i64,
        /// `AUTO_START`, `DEMAND_START`, `DISABLED`, ... as the Service Control Manager has it
        /// (read live); empty from a capture, which does not show it
        start_type: String,
        /// `path:line` of the SERVICE_NAME line; live, the Service Control Manager
        provenance: String,
    }

    /// One row per IIS virtual directory (applicationHost.config).
    iis_vdirs: IisVdirs => VdirRow {
        /// the IIS site ("Default Web Site", "Exchange Back End")
        site: String,
        /// its id (1, 2)
        site_id: i64,
        /// the application's path (`/owa`)
        app_path: String,
        /// the virtual directory inside it (`/` for the application's root)
        vdir_path: String,
        /// physicalPath as written (may hold variables such as `%SystemDrive%`)
        physical_path: String,
        /// `path:line`
        provenance: String,
    }

    /// One row per config file OWA and ECP need (SharedWebConfig.config, vdir web.config).
    config_files: ConfigFiles => ConfigFileRow {
        /// relative to the install root (`FrontEnd\HttpProxy\SharedWebConfig.config`,
        /// `ClientAccess\ecp\web.config`)
        path: String,
        /// `shared_web_config` or `web_config`
        kind: ConfigFileKind,
        /// the file is in the copy (its folder is)
        exists: bool,
        /// why it is not well-formed XML, with the line; empty when it is
        xml_error: String,
        /// lines holding a literal `%ExchangeInstallDir%`, comma-separated
        unexpanded_lines: List<i64>,
        /// the file (or where it should be)
        provenance: String,
        /// SHA-256 of the file's bytes, lower-case hex (empty when absent or unreadable)
        sha256: String,
    }

    /// One row per registry value the settings checks read (the collector's `settings`
    /// keys: SCHANNEL, LSA, .NET strong crypto, server component states, Defender, ...).
    registry_settings: RegistrySettings => SettingRow {
        /// the key, `CurrentControlSet` for the control set in use
        reg_key: String,
        /// the value's name
        name: String,
        /// `REG_SZ`, `REG_MULTI_SZ`, `REG_DWORD`, `REG_QWORD`, `REG_BINARY`, `REG_NONE`
        reg_type: String,
        /// the data as text (numbers in decimal, multi-strings joined by a line feed, binary
        /// as hex)
        data: String,
        /// where it was read
        provenance: String,
    }

    /// One row per `<location>` element of applicationHost.config: the security settings Extended
    /// Protection is judged on, as written there (empty = not set there: inherited).
    iis_locations: IisLocations => IisLocationRow {
        /// the path attribute (`Default Web Site/owa`, `Exchange Back End/mapi/emsmdb`)
        path: String,
        /// extendedProtection tokenChecking (`None`, `Allow`, `Require`)
        token_checking: String,
        /// access sslFlags (`Ssl, Ssl128`)
        ssl_flags: String,
        /// ipSecurity allowUnlisted (`false` = IP filtering on)
        ip_allow_unlisted: String,
        /// `<add>` entries of that ipSecurity
        ip_filter_entries: i64,
        /// `path:line` of the `<location>` element
        provenance: String,
    }

    /// One row per entry of Programs and Features (the 64-bit Uninstall key).
    installed_programs: InstalledPrograms => ProgramRow {
        /// the entry's key name (a product code, or a name)
        entry_key: String,
        /// DisplayName
        display_name: String,
        /// DisplayVersion
        display_version: String,
        /// the DWORD `Version` (major << 24 | minor << 16 | build); 0 when absent
        version: i64,
        /// InstallDate as written (yyyyMMdd)
        install_date: String,
        /// where it was read
        provenance: String,
    }

    /// One row per product and patch Windows Installer installed for the machine, with its
    /// cached package (`%WINDIR%\Installer`).
    installer_packages: InstallerPackages => InstallerPackageRow {
        /// `product` or `patch`
        kind: InstallerPackageKind,
        /// the product or patch code (`{GUID}`, upper case)
        code: String,
        /// DisplayName (a patch's, under the product it patches)
        display_name: String,
        /// DisplayVersion (products)
        display_version: String,
        /// LocalPackage: the cached file's Windows path
        local_package: String,
        /// the GUID the cached file's revision number must hold (package code, patch code)
        expected_revision: String,
        /// `present`, `missing`, `not_collected` (the cache is not in the copy), `unreadable`
        file_state: CachedFileState,
        /// the cached file's revision number (summary information property 9)
        file_revision: String,
        /// why the cached file could not be read
        file_error: String,
        /// for a patch, the product code it was installed for
        product_code: String,
        /// where LocalPackage was read
        provenance: String,
    }

    /// One row per match of an indicator of compromise the collector found on the server
    /// (the log scans of Test-ProxyLogon, Microsoft's CVE-2022-41040 hunting query over the IIS
    /// logs, LSASS dumps, archives in ProgramData, the files of the web folders): the
    /// collector ships matches only, at most 1,000 per indicator per snapshot.
    ioc_matches: IocMatches => IocMatchRow {
        /// `cve_2021_26855`, `cve_2021_26857`, `cve_2021_26858`, `cve_2021_27065_proxy`,
        /// `cve_2021_27065_ecp`, `cve_2022_41040`, `lsass_dump`, `suspicious_archive`,
        /// `aspx_file`
        indicator: IocKind,
        /// the file (path in the copy; live, its Windows path)
        file: String,
        /// 1-based line (0 = an event or a file)
        line: i64,
        /// when the record was written (a file: its last write time), UTC ms; 0 = unknown
        time_ms: i64,
        /// ClientIpAddress / c-ip
        client_ip: String,
        /// AuthenticatedUser / cs-username
        user: String,
        /// UrlStem / cs-uri-stem, or the path the log names
        url: String,
        /// HttpStatus / sc-status
        status: String,
        /// the other fields the reference reports (AnchorMailbox, RoutingHint, UserAgent,
        /// RequestId; the event's message; the file's size), or the line, cut
        detail: String,
        /// SHA-256 of a file, lower-case hex
        sha256: String,
        /// `path:line`, `path#record N` or the file
        provenance: String,
    }

    /// One row per indicator scanned per snapshot and log folder: what the scan covered.
    ioc_scans: IocScans => IocScanRow {
        /// the indicator (see `ioc_matches.indicator`)
        indicator: IocKind,
        /// files looked at
        files: i64,
        /// bytes read
        bytes: i64,
        /// matches found
        matches: i64,
        /// matches beyond the bound, counted and not shipped
        overflow: i64,
        /// oldest record time in the files scanned, UTC ms (0 = none)
        oldest_ms: i64,
        /// newest record time, UTC ms (0 = none)
        newest_ms: i64,
        /// only records at or after this time were scanned (UTC ms; 0 = all)
        since_ms: i64,
        /// the folder covered: an HttpProxy protocol folder (`Ecp`, `Owa`, ...), one row
        /// each, `(root)` for the files directly in `Logging\HttpProxy`; for `aspx_file` the
        /// web folder listed (`<site name>\aspnet_client`, `FrontEnd\HttpProxy\owa\auth`,
        /// ...), the empty row then their totals; empty: all the indicator's logs (and
        /// snapshots of older collectors)
        folder: String,
    }
}

impl BuildRow {
    /// The role component of a `role:<component>` row.
    pub fn role(&self) -> Option<&str> {
        self.source.strip_prefix("role:")
    }
}

impl EventRow {
    /// The value of a named datum.
    pub fn named(&self, name: &str) -> Option<&str> {
        self.data_names
            .iter()
            .position(|n| n == name)
            .and_then(|i| self.data.get(i))
            .map(String::as_str)
    }

    /// All data values, joined, for substring tests.
    pub fn text(&self) -> String {
        self.data.join(" | ")
    }
}

impl MsiLogRow {
    /// The install's result: the error code, else the status (-1 = not logged).
    pub fn result(&self) -> i64 {
        if self.error_code != 0 {
            self.error_code
        } else {
            self.install_status
        }
    }

    /// Whether the install succeeded (0, or 3010: success, reboot required).
    pub fn succeeded(&self) -> bool {
        matches!(self.result(), 0 | 3010)
    }
}
