//! The fact tables: each stored snapshot flattened into rows of nineteen tables, every row
//! keyed by `snapshot_id`, `host` and `collected_at_ms`. The schema is documented in
//! `aggregator/DATASET.md`; columns are only ever added.

use exfleet_proto::v1::provenance::Locator;
use exfleet_proto::v1::setup_run::Outcome;
use exfleet_proto::v1::{Provenance, StoredSnapshot};
use polars::prelude::*;

/// Declares a table: a struct of column vectors, and its conversion to a DataFrame.
macro_rules! table {
    ($(#[$doc:meta])* $name:ident { $($(#[$cdoc:meta])* $col:ident : $ty:ty),* $(,)? }) => {
        $(#[$doc])*
        ///
        /// Columns are documented in `aggregator/DATASET.md`.
        #[derive(Debug, Default)]
        #[allow(missing_docs)]
        pub struct $name {
            /// Snapshot the row comes from.
            pub snapshot_id: Vec<String>,
            /// Host NetBIOS name (from the snapshot's identity).
            pub host: Vec<String>,
            /// When the snapshot was collected (UTC ms).
            pub collected_at_ms: Vec<i64>,
            $($(#[$cdoc])* pub $col: Vec<$ty>,)*
        }

        impl $name {
            /// Number of rows.
            pub fn len(&self) -> usize {
                self.snapshot_id.len()
            }

            /// Whether the table has no rows.
            pub fn is_empty(&self) -> bool {
                self.snapshot_id.is_empty()
            }

            fn key(&mut self, k: &Key) {
                self.snapshot_id.push(k.snapshot_id.clone());
                self.host.push(k.host.clone());
                self.collected_at_ms.push(k.collected_at_ms);
            }

            /// The rows as a DataFrame.
            pub fn frame(&self) -> PolarsResult<DataFrame> {
                DataFrame::new(self.len(), vec![
                    Column::new("snapshot_id".into(), &self.snapshot_id),
                    Column::new("host".into(), &self.host),
                    Column::new("collected_at_ms".into(), &self.collected_at_ms),
                    $(Column::new(stringify!($col).into(), &self.$col),)*
                ])
            }
        }
    };
}

table!(
    /// One row per snapshot: identity, labels, platform and the build facts.
    Hosts {
        /// Collector identity (client certificate CN).
        collector_id: String,
        /// When the aggregator stored it (UTC ms).
        received_at_ms: i64,
        collector_version: String,
        dns_hostname: String,
        dns_domain: String,
        ad_site: String,
        dag: String,
        role_group: String,
        owner: String,
        os_product_name: String,
        os_current_build: String,
        os_ubr: i64,
        dotnet_release: i64,
        ansi_code_page: String,
        time_zone: String,
        /// Reboot-pending indicators found, comma-separated (empty = none).
        pending_reboot: String,
        exchange_setup_key: String,
        install_path: String,
        /// CU build the registry's Msi* values record.
        msi_version: String,
        owa_version: String,
        /// ExSetup.exe fixed FileVersion: the running build.
        exsetup_version: String,
        exsetup_string_version: String,
        /// Collection errors in the snapshot.
        error_count: i64,
        /// Where the .NET Release value was read.
        dotnet_provenance: String,
        /// The install's FrontEnd\HttpProxy and ClientAccess folders were in the copy.
        front_end_present: bool,
        client_access_present: bool,
        /// Version folders of OWA (ClientAccess\Owa\prem, FrontEnd\HttpProxy\owa\auth) and
        /// ECP (ClientAccess\ecp), comma-separated.
        owa_prem_versions: String,
        owa_auth_versions: String,
        ecp_versions: String,
        /// FileVersion of the ECP DLL that selects the ECP folder.
        ecp_dll_version: String,
        /// Where the install's files were looked at.
        exchange_files_provenance: String,
        /// Where the ANSI code page (ACP) was read.
        code_page_provenance: String,
        /// Start of the event window the snapshot's events cover (UTC ms; 0 = whole logs).
        events_since_ms: i64,
    }
);

table!(
    /// One row per build fact: ExSetup.exe, Msi*, OwaVersion, role ConfiguredVersion.
    Builds {
        /// `exsetup`, `msi`, `owa`, or `role:<component>`.
        source: String,
        version: String,
        /// For role rows: a leftover setup watermark and its action.
        watermark: String,
        action: String,
        provenance: String,
    }
);

table!(
    /// One row per installed-update key (SUs, IUs, hotfixes).
    InstalledUpdates {
        product: String,
        kb: String,
        package_name: String,
        installed_date: String,
        provenance: String,
    }
);

table!(
    /// One row per service key with a Start value.
    Services {
        name: String,
        display_name: String,
        /// 2 automatic, 3 manual, 4 disabled.
        start: i64,
        delayed_autostart: bool,
        provenance: String,
    }
);

table!(
    /// One row per binding: IIS site bindings and HTTP.sys TLS bindings.
    Bindings {
        /// `iis` or `http_sys`.
        kind: String,
        /// IIS site name (iis rows).
        site: String,
        site_id: i64,
        protocol: String,
        /// IIS bindingInformation, or the HTTP.sys endpoint (`0.0.0.0:444`).
        endpoint: String,
        cert_thumbprint: String,
        cert_store: String,
        /// Whether the bound certificate is in the machine store (http_sys rows).
        cert_in_store: bool,
        /// NotAfter of that certificate (UTC ms; 0 = not in the store).
        cert_not_after_ms: i64,
        provenance: String,
    }
);

table!(
    /// One row per certificate of LocalMachine\My.
    Certificates {
        thumbprint: String,
        subject: String,
        issuer: String,
        not_before_ms: i64,
        not_after_ms: i64,
        dns_names: String,
        provenance: String,
    }
);

table!(
    /// One row per setup run of ExchangeSetup.log.
    SetupRuns {
        /// 0-based position in the log; the last run has the highest.
        run_index: i64,
        is_last: bool,
        product: String,
        setup_version: String,
        mode: String,
        previous_version: String,
        backup_version: String,
        source_dir: String,
        logged_on_user: String,
        started_at_ms: i64,
        ended_at_ms: i64,
        start_line: i64,
        end_line: i64,
        /// `succeeded`, `failed`, `ended_unknown`, `cut_off`.
        outcome: String,
        error_count: i64,
        first_error_line: i64,
        first_error: String,
        provenance: String,
        /// Lines of the log the run spans.
        line_count: i64,
    }
);

table!(
    /// One row per line that matters of a setup run (errors, warnings, prerequisite rules,
    /// facts), with its continuation lines and, for errors, the lines before it.
    SetupLines {
        run_index: i64,
        line: i64,
        time_ms: i64,
        /// `error`, `error_reference`, `warning`, `failed_rule`, `rule_true`, `setting`, `required`, `fact`.
        kind: String,
        component: String,
        text: String,
        /// Continuation lines, joined with newlines.
        continuation: String,
        /// Context lines before an error, joined with newlines.
        context: String,
        /// For errors: the task setup was running.
        task: String,
    }
);

table!(
    /// One row per ServiceControl.ps1 run of ServiceControl.log (SU installs).
    ServiceControlRuns {
        /// 0-based position in the log; the last run has the highest.
        run_index: i64,
        is_last: bool,
        /// The header's local date and time as written.
        header_time: String,
        started_at_ms: i64,
        ended_at_ms: i64,
        start_line: i64,
        end_line: i64,
        /// `succeeded`, `errors`, `cut_off`.
        outcome: String,
        options: String,
        /// The header's date could be read both ways and was read month first.
        date_order_assumed: bool,
        provenance: String,
    }
);

table!(
    /// One row per action of a ServiceControl.ps1 run.
    ServiceControlActions {
        run_index: i64,
        line: i64,
        time_ms: i64,
        /// `save_state`, `stop`, `stop_failed`, `kill`, `disable_roles`, `disable`,
        /// `enable_roles`, `enable`, `start`, `remove_state`, `warning`, `error`.
        kind: String,
        service: String,
        text: String,
        continuation: String,
    }
);

table!(
    /// One row per saved service-state file left in ExchangeSetupLogs.
    ServiceStateFiles {
        name: String,
        modified_at_ms: i64,
        size: i64,
        /// `name=start mode` pairs, comma-separated.
        services: String,
        provenance: String,
    }
);

table!(
    /// One row per MSI verbose log of an SU install.
    MsiLogs {
        /// 0-based position among the host's MSI logs.
        log_index: i64,
        header_time: String,
        started_at_ms: i64,
        patch: String,
        update_name: String,
        error_code: i64,
        install_status: i64,
        main_engine_return: i64,
        product_version: String,
        not_applicable: bool,
        provenance: String,
    }
);

table!(
    /// One row per line that matters of an MSI log.
    MsiLines {
        log_index: i64,
        line: i64,
        time_ms: i64,
        /// `not_applicable`, `error`, `failed_action`, `status`, `slow_action`.
        kind: String,
        text: String,
        duration_ms: i64,
    }
);

table!(
    /// One row per service of a saved `sc queryex` capture (running state).
    ServiceStates {
        name: String,
        display_name: String,
        /// `RUNNING`, `STOPPED`, `START_PENDING`, ...
        state: String,
        state_code: i64,
        pid: i64,
        exit_code: i64,
        provenance: String,
    }
);

table!(
    /// One row per config file OWA and ECP need (SharedWebConfig.config, vdir web.config).
    ConfigFiles {
        /// Relative to the install root.
        path: String,
        /// `shared_web_config` or `web_config`.
        kind: String,
        exists: bool,
        /// Why it is not well-formed XML ("line 12: ..."), empty when it is.
        xml_error: String,
        /// Lines holding a literal %ExchangeInstallDir%, comma-separated.
        unexpanded_lines: String,
        provenance: String,
        /// SHA-256 of the file, lower-case hex.
        sha256: String,
    }
);

table!(
    /// One row per IIS virtual directory (applicationHost.config).
    IisVdirs {
        site: String,
        site_id: i64,
        /// The application's path (`/owa`).
        app_path: String,
        /// The virtual directory's path inside the application (`/` for its root).
        vdir_path: String,
        physical_path: String,
        provenance: String,
    }
);

table!(
    /// One row per reboot-pending indicator found.
    PendingReboots {
        /// `PendingFileRenameOperations`, `UpdateExeVolatile`, `RebootPending`, `RebootRequired`.
        indicator: String,
        detail: String,
        provenance: String,
    }
);

table!(
    /// One row per event of the Windows event logs that matters.
    Events {
        /// `Application`, `System`.
        log: String,
        provider: String,
        event_id: i64,
        record_id: i64,
        time_ms: i64,
        level: i64,
        /// EventData values in order, as a JSON array of strings.
        data: String,
        /// Their names ("" for positional values), as a JSON array of strings.
        data_names: String,
        /// EventData/Binary, upper-case hex.
        binary: String,
        provenance: String,
    }
);

table!(
    /// One row per collection error (a damaged or unreadable artifact).
    CollectionErrors {
        reader: String,
        kind: String,
        path: String,
        location: String,
        message: String,
    }
);

/// All tables of a batch.
#[derive(Debug, Default)]
pub struct Tables {
    /// `hosts`.
    pub hosts: Hosts,
    /// `builds`.
    pub builds: Builds,
    /// `installed_updates`.
    pub installed_updates: InstalledUpdates,
    /// `services`.
    pub services: Services,
    /// `bindings`.
    pub bindings: Bindings,
    /// `certificates`.
    pub certificates: Certificates,
    /// `setup_runs`.
    pub setup_runs: SetupRuns,
    /// `setup_lines`.
    pub setup_lines: SetupLines,
    /// `collection_errors`.
    pub collection_errors: CollectionErrors,
    /// `service_control_runs`.
    pub service_control_runs: ServiceControlRuns,
    /// `service_control_actions`.
    pub service_control_actions: ServiceControlActions,
    /// `service_state_files`.
    pub service_state_files: ServiceStateFiles,
    /// `msi_logs`.
    pub msi_logs: MsiLogs,
    /// `msi_lines`.
    pub msi_lines: MsiLines,
    /// `events`.
    pub events: Events,
    /// `pending_reboots`.
    pub pending_reboots: PendingReboots,
    /// `service_states`.
    pub service_states: ServiceStates,
    /// `iis_vdirs`.
    pub iis_vdirs: IisVdirs,
    /// `config_files`.
    pub config_files: ConfigFiles,
}

/// Names of the tables, as directory names of the dataset.
pub const TABLES: [&str; 19] = [
    "hosts",
    "builds",
    "installed_updates",
    "services",
    "bindings",
    "certificates",
    "setup_runs",
    "setup_lines",
    "collection_errors",
    "service_control_runs",
    "service_control_actions",
    "service_state_files",
    "msi_logs",
    "msi_lines",
    "events",
    "pending_reboots",
    "service_states",
    "iis_vdirs",
    "config_files",
];

struct Key {
    snapshot_id: String,
    host: String,
    collected_at_ms: i64,
}

impl Tables {
    /// The tables as (name, frame) pairs, in [`TABLES`] order.
    pub fn frames(&self) -> PolarsResult<Vec<(&'static str, DataFrame)>> {
        Ok(vec![
            ("hosts", self.hosts.frame()?),
            ("builds", self.builds.frame()?),
            ("installed_updates", self.installed_updates.frame()?),
            ("services", self.services.frame()?),
            ("bindings", self.bindings.frame()?),
            ("certificates", self.certificates.frame()?),
            ("setup_runs", self.setup_runs.frame()?),
            ("setup_lines", self.setup_lines.frame()?),
            ("collection_errors", self.collection_errors.frame()?),
            ("service_control_runs", self.service_control_runs.frame()?),
            (
                "service_control_actions",
                self.service_control_actions.frame()?,
            ),
            ("service_state_files", self.service_state_files.frame()?),
            ("msi_logs", self.msi_logs.frame()?),
            ("msi_lines", self.msi_lines.frame()?),
            ("events", self.events.frame()?),
            ("pending_reboots", self.pending_reboots.frame()?),
            ("service_states", self.service_states.frame()?),
            ("iis_vdirs", self.iis_vdirs.frame()?),
            ("config_files", self.config_files.frame()?),
        ])
    }

    /// Adds one stored snapshot's rows.
    pub fn add(&mut self, stored: &StoredSnapshot) {
        let s = stored.snapshot.clone().unwrap_or_default();
        let id = s.host.clone().unwrap_or_default();
        let k = Key {
            snapshot_id: s.snapshot_id.clone(),
            host: id.computer_name.clone(),
            collected_at_ms: s.collected_at_ms,
        };
        let labels = s.labels.clone().unwrap_or_default();
        let p = s.platform.clone().unwrap_or_default();
        let ex = s.exchange.clone().unwrap_or_default();
        let exsetup = s.exsetup.clone().unwrap_or_default();

        let h = &mut self.hosts;
        h.key(&k);
        h.collector_id.push(stored.collector_id.clone());
        h.received_at_ms.push(stored.received_at_ms);
        h.collector_version.push(s.collector_version.clone());
        h.dns_hostname.push(id.dns_hostname.clone());
        h.dns_domain.push(id.dns_domain.clone());
        h.ad_site.push(id.ad_site.clone());
        h.dag.push(labels.dag.clone());
        h.role_group.push(labels.role_group.clone());
        h.owner.push(labels.owner.clone());
        h.os_product_name.push(p.os_product_name.clone());
        h.os_current_build.push(p.os_current_build.clone());
        h.os_ubr.push(p.os_ubr.into());
        h.dotnet_release.push(p.dotnet_release.into());
        h.ansi_code_page.push(p.ansi_code_page.clone());
        h.time_zone.push(p.time_zone.clone());
        let pending: Vec<&str> = p
            .pending_reboot
            .iter()
            .map(|r| r.indicator.as_str())
            .collect();
        h.pending_reboot.push(pending.join(","));
        h.exchange_setup_key.push(ex.setup_key.clone());
        h.install_path.push(ex.install_path.clone());
        h.msi_version.push(ex.msi_version.clone());
        h.owa_version.push(ex.owa_version.clone());
        h.exsetup_version.push(exsetup.fixed_version.clone());
        h.exsetup_string_version
            .push(exsetup.string_version.clone());
        h.error_count.push(s.errors.len() as i64);
        let dotnet = p
            .provenance
            .iter()
            .find(|x| matches!(&x.locator, Some(Locator::RegValue(r)) if r.value == "Release"));
        h.dotnet_provenance.push(provenance(&dotnet.cloned()));
        let acp = p
            .provenance
            .iter()
            .find(|x| matches!(&x.locator, Some(Locator::RegValue(r)) if r.value == "ACP"));
        h.code_page_provenance.push(provenance(&acp.cloned()));
        h.events_since_ms.push(s.events_since_ms);
        let files = s.exchange_files.clone().unwrap_or_default();
        h.front_end_present.push(files.front_end_present);
        h.client_access_present.push(files.client_access_present);
        h.owa_prem_versions.push(files.owa_prem_versions.join(","));
        h.owa_auth_versions.push(files.owa_auth_versions.join(","));
        h.ecp_versions.push(files.ecp_versions.join(","));
        h.ecp_dll_version.push(files.ecp_dll_version.clone());
        h.exchange_files_provenance
            .push(provenance(&files.provenance));
        for f in &files.config_files {
            let t = &mut self.config_files;
            t.key(&k);
            t.path.push(f.path.clone());
            t.kind.push(f.kind.clone());
            t.exists.push(f.exists);
            t.xml_error.push(f.xml_error.clone());
            let lines: Vec<String> = f.unexpanded_lines.iter().map(u32::to_string).collect();
            t.unexpanded_lines.push(lines.join(","));
            t.provenance.push(provenance(&f.provenance));
            t.sha256.push(f.sha256.clone());
        }
        for r in &p.pending_reboot {
            let t = &mut self.pending_reboots;
            t.key(&k);
            t.indicator.push(r.indicator.clone());
            t.detail.push(r.detail.clone());
            t.provenance.push(provenance(&r.provenance));
        }

        let b = &mut self.builds;
        let mut build =
            |source: String, version: &str, wm: &str, action: &str, prov: &Option<Provenance>| {
                b.key(&k);
                b.source.push(source);
                b.version.push(version.to_string());
                b.watermark.push(wm.to_string());
                b.action.push(action.to_string());
                b.provenance.push(provenance(prov));
            };
        if s.exsetup.is_some() {
            build(
                "exsetup".into(),
                &exsetup.fixed_version,
                "",
                "",
                &exsetup.provenance,
            );
        }
        if s.exchange.is_some() {
            build("msi".into(), &ex.msi_version, "", "", &ex.provenance);
            build("owa".into(), &ex.owa_version, "", "", &ex.provenance);
        }
        for w in &s.watermarks {
            build(
                format!("role:{}", w.component),
                &w.configured_version,
                &w.watermark,
                &w.action,
                &w.provenance,
            );
        }

        for u in &s.installed_updates {
            let t = &mut self.installed_updates;
            t.key(&k);
            t.product.push(u.product.clone());
            t.kb.push(u.kb.clone());
            t.package_name.push(u.package_name.clone());
            t.installed_date.push(u.installed_date.clone());
            t.provenance.push(provenance(&u.provenance));
        }
        for x in &s.services {
            let t = &mut self.services;
            t.key(&k);
            t.name.push(x.name.clone());
            t.display_name.push(x.display_name.clone());
            t.start.push(x.start.into());
            t.delayed_autostart.push(x.delayed_autostart);
            t.provenance.push(provenance(&x.provenance));
        }
        for site in &s.iis_sites {
            for bi in &site.bindings {
                let t = &mut self.bindings;
                t.key(&k);
                t.kind.push("iis".into());
                t.site.push(site.name.clone());
                t.site_id.push(site.id.into());
                t.protocol.push(bi.protocol.clone());
                t.endpoint.push(bi.binding_information.clone());
                t.cert_thumbprint.push(String::new());
                t.cert_store.push(String::new());
                t.cert_in_store.push(false);
                t.cert_not_after_ms.push(0);
                t.provenance.push(provenance(&bi.provenance));
            }
        }
        for bi in &s.ssl_bindings {
            let cert = s
                .certificates
                .iter()
                .find(|c| c.thumbprint.eq_ignore_ascii_case(&bi.cert_thumbprint));
            let t = &mut self.bindings;
            t.key(&k);
            t.kind.push("http_sys".into());
            t.site.push(String::new());
            t.site_id.push(0);
            t.protocol.push("https".into());
            t.endpoint.push(bi.endpoint.clone());
            t.cert_thumbprint.push(bi.cert_thumbprint.clone());
            t.cert_store.push(bi.cert_store.clone());
            t.cert_in_store.push(cert.is_some());
            t.cert_not_after_ms.push(cert.map_or(0, |c| c.not_after_ms));
            t.provenance.push(provenance(&bi.provenance));
        }
        for c in &s.certificates {
            let t = &mut self.certificates;
            t.key(&k);
            t.thumbprint.push(c.thumbprint.clone());
            t.subject.push(c.subject.clone());
            t.issuer.push(c.issuer.clone());
            t.not_before_ms.push(c.not_before_ms);
            t.not_after_ms.push(c.not_after_ms);
            t.dns_names.push(c.dns_names.join(","));
            t.provenance.push(provenance(&c.provenance));
        }
        let last = s.setup_runs.len().saturating_sub(1);
        for (i, r) in s.setup_runs.iter().enumerate() {
            let t = &mut self.setup_runs;
            t.key(&k);
            t.run_index.push(i as i64);
            t.is_last.push(i == last);
            t.product.push(r.product.clone());
            t.setup_version.push(r.setup_version.clone());
            t.mode.push(r.mode.clone());
            t.previous_version.push(r.previous_version.clone());
            t.backup_version.push(r.backup_version.clone());
            t.source_dir.push(r.source_dir.clone());
            t.logged_on_user.push(r.logged_on_user.clone());
            t.started_at_ms.push(r.started_at_ms);
            t.ended_at_ms.push(r.ended_at_ms);
            t.start_line.push(r.start_line.into());
            t.end_line.push(r.end_line.into());
            t.outcome.push(outcome(r.outcome).to_string());
            t.error_count.push(r.errors.len() as i64);
            t.first_error_line
                .push(r.errors.first().map_or(0, |e| e.line.into()));
            t.first_error
                .push(r.errors.first().map(|e| e.text.clone()).unwrap_or_default());
            t.provenance.push(provenance(&r.provenance));
            t.line_count.push(r.line_count.into());
            for l in &r.lines {
                let t = &mut self.setup_lines;
                t.key(&k);
                t.run_index.push(i as i64);
                t.line.push(l.line.into());
                t.time_ms.push(l.time_ms);
                t.kind.push(l.kind.clone());
                t.component.push(l.component.clone());
                t.text.push(l.text.clone());
                t.continuation.push(l.continuation.join("\n"));
                t.context.push(l.context.join("\n"));
                t.task.push(l.task.clone());
            }
        }
        for e in &s.errors {
            let t = &mut self.collection_errors;
            t.key(&k);
            t.reader.push(e.reader.clone());
            t.kind.push(e.kind.clone());
            t.path.push(e.path.clone());
            t.location.push(provenance(&e.location));
            t.message.push(e.message.clone());
        }
        let last = s.service_control_runs.len().saturating_sub(1);
        for (i, r) in s.service_control_runs.iter().enumerate() {
            let t = &mut self.service_control_runs;
            t.key(&k);
            t.run_index.push(i as i64);
            t.is_last.push(i == last);
            t.header_time.push(r.header_time.clone());
            t.started_at_ms.push(r.started_at_ms);
            t.ended_at_ms.push(r.ended_at_ms);
            t.start_line.push(r.start_line.into());
            t.end_line.push(r.end_line.into());
            t.outcome
                .push(service_control_outcome(r.outcome).to_string());
            t.options.push(r.options.clone());
            t.date_order_assumed.push(r.date_order_assumed);
            t.provenance.push(provenance(&r.provenance));
            for a in &r.actions {
                let t = &mut self.service_control_actions;
                t.key(&k);
                t.run_index.push(i as i64);
                t.line.push(a.line.into());
                t.time_ms.push(a.time_ms);
                t.kind.push(a.kind.clone());
                t.service.push(a.service.clone());
                t.text.push(a.text.clone());
                t.continuation.push(a.continuation.join("\n"));
            }
        }
        for f in &s.service_state_files {
            let t = &mut self.service_state_files;
            t.key(&k);
            t.name.push(f.name.clone());
            t.modified_at_ms.push(f.modified_at_ms);
            t.size.push(f.size as i64);
            let services: Vec<String> = f
                .services
                .iter()
                .map(|s| format!("{}={}", s.name, s.start_mode))
                .collect();
            t.services.push(services.join(","));
            t.provenance.push(provenance(&f.provenance));
        }
        for (i, m) in s.msi_logs.iter().enumerate() {
            let t = &mut self.msi_logs;
            t.key(&k);
            t.log_index.push(i as i64);
            t.header_time.push(m.header_time.clone());
            t.started_at_ms.push(m.started_at_ms);
            t.patch.push(m.patch.clone());
            t.update_name.push(m.update_name.clone());
            t.error_code.push(m.error_code.into());
            t.install_status.push(m.install_status);
            t.main_engine_return.push(m.main_engine_return);
            t.product_version.push(m.product_version.clone());
            t.not_applicable.push(m.not_applicable);
            t.provenance.push(provenance(&m.provenance));
            for l in &m.lines {
                let t = &mut self.msi_lines;
                t.key(&k);
                t.log_index.push(i as i64);
                t.line.push(l.line.into());
                t.time_ms.push(l.time_ms);
                t.kind.push(l.kind.clone());
                t.text.push(l.text.clone());
                t.duration_ms.push(l.duration_ms);
            }
        }
        self.add_events(&k, &s);
        self.add_service_states(&k, &s);
        self.add_iis_vdirs(&k, &s);
    }
}

impl Tables {
    fn add_iis_vdirs(&mut self, k: &Key, s: &exfleet_proto::v1::Snapshot) {
        for site in &s.iis_sites {
            for app in &site.applications {
                for v in &app.virtual_directories {
                    let t = &mut self.iis_vdirs;
                    t.key(k);
                    t.site.push(site.name.clone());
                    t.site_id.push(site.id.into());
                    t.app_path.push(app.path.clone());
                    t.vdir_path.push(v.path.clone());
                    t.physical_path.push(v.physical_path.clone());
                    t.provenance.push(provenance(&v.provenance));
                }
            }
        }
    }

    fn add_service_states(&mut self, k: &Key, s: &exfleet_proto::v1::Snapshot) {
        for x in &s.service_states {
            let t = &mut self.service_states;
            t.key(k);
            t.name.push(x.name.clone());
            t.display_name.push(x.display_name.clone());
            t.state.push(x.state.clone());
            t.state_code.push(x.state_code.into());
            t.pid.push(x.pid.into());
            t.exit_code.push(x.exit_code.into());
            t.provenance.push(provenance(&x.provenance));
        }
    }

    fn add_events(&mut self, k: &Key, s: &exfleet_proto::v1::Snapshot) {
        for e in &s.events {
            let t = &mut self.events;
            t.key(k);
            t.log.push(e.log.clone());
            t.provider.push(e.provider.clone());
            t.event_id.push(e.event_id.into());
            t.record_id.push(e.record_id as i64);
            t.time_ms.push(e.time_ms);
            t.level.push(e.level.into());
            let values: Vec<&str> = e.data.iter().map(|d| d.value.as_str()).collect();
            let names: Vec<&str> = e.data.iter().map(|d| d.name.as_str()).collect();
            t.data
                .push(serde_json::to_string(&values).unwrap_or_default());
            t.data_names
                .push(serde_json::to_string(&names).unwrap_or_default());
            t.binary.push(e.binary.clone());
            t.provenance.push(provenance(&e.provenance));
        }
    }
}

/// ServiceControl run outcomes as the dataset writes them.
pub fn service_control_outcome(o: i32) -> &'static str {
    use exfleet_proto::v1::service_control_run::Outcome as Sc;
    match Sc::try_from(o).unwrap_or(Sc::Unspecified) {
        Sc::Succeeded => "succeeded",
        Sc::Errors => "errors",
        Sc::CutOff => "cut_off",
        Sc::Unspecified => "",
    }
}

/// Outcome names as the dataset writes them.
pub fn outcome(o: i32) -> &'static str {
    match Outcome::try_from(o).unwrap_or(Outcome::Unspecified) {
        Outcome::Succeeded => "succeeded",
        Outcome::Failed => "failed",
        Outcome::EndedUnknown => "ended_unknown",
        Outcome::CutOff => "cut_off",
        Outcome::Unspecified => "",
    }
}

/// Provenance as one string an administrator can follow by hand: `path:line`,
/// `path@0x1f00`, `path#HKLM\...\Key\Value` or `path#record 42`.
pub fn provenance(p: &Option<Provenance>) -> String {
    let Some(p) = p else { return String::new() };
    match &p.locator {
        None => p.path.clone(),
        Some(Locator::Line(l)) => format!("{}:{l}", p.path),
        Some(Locator::Offset(o)) => format!("{}@0x{o:x}", p.path),
        Some(Locator::RegValue(r)) => format!("{}#{}\\{}", p.path, r.key, r.value),
        Some(Locator::EventRecordId(r)) => format!("{}#record {r}", p.path),
    }
}
