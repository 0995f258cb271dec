//! A stored snapshot flattened into rows of every table.

use exfleet_proto::kinds::{
    CachedFileState, ConfigFileKind, EventKind, InstallerPackageKind, IocKind, MsiLineKind,
    ScActionKind, SetupLineKind,
};
use exfleet_proto::v1::provenance::Locator;
use exfleet_proto::v1::stored_snapshot::IdentityKind;
use exfleet_proto::v1::{
    service_control_run, setup_run, Provenance, ServiceControlRun, SetupRun, Snapshot,
    StoredSnapshot,
};

use crate::schema::Key;
use crate::tables::*;
use crate::value::{BindingKind, JsonList, List};
use crate::Batch;

impl Batch {
    /// Adds one stored snapshot's rows.
    pub fn add(&mut self, stored: &StoredSnapshot) {
        let Some(s) = stored.snapshot.as_ref() else {
            return;
        };
        let id = s.host.clone().unwrap_or_default();
        let key = Key {
            snapshot_id: s.snapshot_id.clone(),
            host: id.computer_name.clone(),
            collected_at_ms: s.collected_at_ms,
        };
        self.add_host(&key, stored, s);
        self.add_builds(&key, s);
        self.add_platform(&key, s);
        self.add_bindings(&key, s);
        for (i, r) in s.setup_runs.iter().enumerate() {
            self.add_setup_run(&key, i, i + 1 == s.setup_runs.len(), r);
        }
        for (i, r) in s.service_control_runs.iter().enumerate() {
            self.add_service_control_run(&key, i, i + 1 == s.service_control_runs.len(), r);
        }
        self.add_install_logs(&key, s);
        self.add_iis_vdirs(&key, s);
        for x in &s.settings {
            self.registry_settings.push(SettingRow {
                key: key.clone(),
                reg_key: x.key.clone(),
                name: x.name.clone(),
                reg_type: x.kind.clone(),
                data: x.data.clone(),
                provenance: provenance(&x.provenance),
            });
        }
        self.add_iis_locations(&key, s);
        self.add_installed(&key, s);
        self.add_iocs(&key, s);
    }

    fn add_installed(&mut self, key: &Key, s: &Snapshot) {
        for p in &s.installed_programs {
            self.installed_programs.push(ProgramRow {
                key: key.clone(),
                entry_key: p.key.clone(),
                display_name: p.display_name.clone(),
                display_version: p.display_version.clone(),
                version: p.version.into(),
                install_date: p.install_date.clone(),
                provenance: provenance(&p.provenance),
            });
        }
        for p in &s.installer_packages {
            self.installer_packages.push(InstallerPackageRow {
                key: key.clone(),
                kind: InstallerPackageKind::parse(&p.kind),
                code: p.code.clone(),
                display_name: p.display_name.clone(),
                display_version: p.display_version.clone(),
                local_package: p.local_package.clone(),
                expected_revision: p.expected_revision.clone(),
                file_state: CachedFileState::parse(&p.file_state),
                file_revision: p.file_revision.clone(),
                file_error: p.file_error.clone(),
                product_code: p.product_code.clone(),
                provenance: provenance(&p.provenance),
            });
        }
    }

    fn add_host(&mut self, key: &Key, stored: &StoredSnapshot, s: &Snapshot) {
        let id = s.host.clone().unwrap_or_default();
        let labels = s.labels.clone().unwrap_or_default();
        let p = s.platform.clone().unwrap_or_default();
        let ex = s.exchange.clone().unwrap_or_default();
        let exsetup = s.exsetup.clone().unwrap_or_default();
        let files = s.exchange_files.clone().unwrap_or_default();
        let reg_value = |name: &str| {
            let found = p
                .provenance
                .iter()
                .find(|x| matches!(&x.locator, Some(Locator::RegValue(r)) if r.value == name));
            provenance(&found.cloned())
        };
        self.hosts.push(HostRow {
            key: key.clone(),
            collector_id: stored.collector_id.clone(),
            received_at_ms: stored.received_at_ms,
            collector_version: s.collector_version.clone(),
            dns_hostname: id.dns_hostname,
            dns_domain: id.dns_domain,
            ad_site: id.ad_site,
            dag: labels.dag,
            role_group: labels.role_group,
            owner: labels.owner,
            os_product_name: p.os_product_name.clone(),
            os_current_build: p.os_current_build.clone(),
            os_ubr: p.os_ubr.into(),
            dotnet_release: p.dotnet_release.into(),
            ansi_code_page: p.ansi_code_page.clone(),
            time_zone: p.time_zone.clone(),
            pending_reboot: p.pending_reboot.iter().map(|r| &r.indicator).collect(),
            exchange_setup_key: ex.setup_key,
            install_path: ex.install_path,
            msi_version: ex.msi_version,
            owa_version: ex.owa_version,
            exsetup_version: exsetup.fixed_version,
            exsetup_string_version: exsetup.string_version,
            error_count: s.errors.len() as i64,
            dotnet_provenance: reg_value("Release"),
            front_end_present: files.front_end_present,
            client_access_present: files.client_access_present,
            owa_prem_versions: List(files.owa_prem_versions),
            owa_auth_versions: List(files.owa_auth_versions),
            ecp_versions: List(files.ecp_versions),
            ecp_dll_version: files.ecp_dll_version,
            exchange_files_provenance: provenance(&files.provenance),
            unified_messaging_present: files.unified_messaging_present,
            um_folders: List(files.um_folders.clone()),
            code_page_provenance: reg_value("ACP"),
            events_since_ms: s.events_since_ms,
            source: s.source.as_ref().map(|x| x.kind()).unwrap_or_default(),
            collector_kind: stored.identity_kind(),
            identity_mismatch: identity_mismatch(stored, &key.host),
        });
        for f in &files.config_files {
            self.config_files.push(ConfigFileRow {
                key: key.clone(),
                path: f.path.clone(),
                kind: ConfigFileKind::parse(&f.kind),
                exists: f.exists,
                xml_error: f.xml_error.clone(),
                unexpanded_lines: List(f.unexpanded_lines.iter().map(|&l| l.into()).collect()),
                provenance: provenance(&f.provenance),
                sha256: f.sha256.clone(),
            });
        }
        for e in &s.errors {
            self.collection_errors.push(CollectionErrorRow {
                key: key.clone(),
                reader: e.reader.clone(),
                kind: e.kind.clone(),
                path: e.path.clone(),
                location: provenance(&e.location),
                message: e.message.clone(),
            });
        }
    }

    fn add_builds(&mut self, key: &Key, s: &Snapshot) {
        let mut build = |source: String, version: &str, wm: &str, action: &str, prov| {
            self.builds.push(BuildRow {
                key: key.clone(),
                source,
                version: version.into(),
                watermark: wm.into(),
                action: action.into(),
                provenance: provenance(prov),
            })
        };
        if let Some(x) = &s.exsetup {
            build("exsetup".into(), &x.fixed_version, "", "", &x.provenance);
        }
        if let Some(ex) = &s.exchange {
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
            self.installed_updates.push(UpdateRow {
                key: key.clone(),
                product: u.product.clone(),
                kb: u.kb.clone(),
                package_name: u.package_name.clone(),
                installed_date: u.installed_date.clone(),
                provenance: provenance(&u.provenance),
            });
        }
    }

    fn add_platform(&mut self, key: &Key, s: &Snapshot) {
        if let Some(p) = &s.platform {
            for r in &p.pending_reboot {
                self.pending_reboots.push(PendingRebootRow {
                    key: key.clone(),
                    indicator: r.indicator.clone(),
                    detail: r.detail.clone(),
                    provenance: provenance(&r.provenance),
                });
            }
        }
        for x in &s.services {
            self.services.push(ServiceRow {
                key: key.clone(),
                name: x.name.clone(),
                display_name: x.display_name.clone(),
                start: x.start.into(),
                delayed_autostart: x.delayed_autostart,
                provenance: provenance(&x.provenance),
            });
        }
        for x in &s.service_states {
            self.service_states.push(ServiceStateRow {
                key: key.clone(),
                name: x.name.clone(),
                display_name: x.display_name.clone(),
                state: x.state.clone(),
                state_code: x.state_code.into(),
                pid: x.pid.into(),
                exit_code: x.exit_code.into(),
                start_type: x.start_type.clone(),
                provenance: provenance(&x.provenance),
            });
        }
        for c in &s.certificates {
            self.certificates.push(CertificateRow {
                key: key.clone(),
                thumbprint: c.thumbprint.clone(),
                subject: c.subject.clone(),
                issuer: c.issuer.clone(),
                not_before_ms: c.not_before_ms,
                not_after_ms: c.not_after_ms,
                dns_names: c.dns_names.iter().collect(),
                provenance: provenance(&c.provenance),
                key_algorithm: c.key_algorithm.clone(),
                key_size_bits: c.key_size_bits.into(),
                signature_algorithm: c.signature_algorithm.clone(),
                signature_hash: c.signature_hash.clone(),
            });
        }
        for e in &s.events {
            self.events.push(EventRow {
                key: key.clone(),
                log: e.log.clone(),
                provider: e.provider.clone(),
                event_id: e.event_id.into(),
                record_id: e.record_id as i64,
                time_ms: e.time_ms,
                level: e.level.into(),
                data: JsonList(e.data.iter().map(|d| d.value.clone()).collect()),
                data_names: JsonList(e.data.iter().map(|d| d.name.clone()).collect()),
                binary: e.binary.clone(),
                provenance: provenance(&e.provenance),
                kind: EventKind::parse(&e.kind),
                subject: e.subject.clone(),
                product: e.product.clone(),
                kb: e.kb.clone(),
                result_code: e.result_code.unwrap_or(-1),
                detail: e.detail.clone(),
            });
        }
    }

    fn add_bindings(&mut self, key: &Key, s: &Snapshot) {
        for site in &s.iis_sites {
            for b in &site.bindings {
                self.bindings.push(BindingRow {
                    key: key.clone(),
                    kind: BindingKind::Iis,
                    site: site.name.clone(),
                    site_id: site.id.into(),
                    protocol: b.protocol.clone(),
                    endpoint: b.binding_information.clone(),
                    cert_thumbprint: String::new(),
                    cert_store: String::new(),
                    cert_in_store: false,
                    cert_not_after_ms: 0,
                    provenance: provenance(&b.provenance),
                });
            }
        }
        for b in &s.ssl_bindings {
            let cert = s
                .certificates
                .iter()
                .find(|c| c.thumbprint.eq_ignore_ascii_case(&b.cert_thumbprint));
            self.bindings.push(BindingRow {
                key: key.clone(),
                kind: BindingKind::HttpSys,
                site: String::new(),
                site_id: 0,
                protocol: "https".into(),
                endpoint: b.endpoint.clone(),
                cert_thumbprint: b.cert_thumbprint.clone(),
                cert_store: b.cert_store.clone(),
                cert_in_store: cert.is_some(),
                cert_not_after_ms: cert.map_or(0, |c| c.not_after_ms),
                provenance: provenance(&b.provenance),
            });
        }
    }

    fn add_setup_run(&mut self, key: &Key, i: usize, is_last: bool, r: &SetupRun) {
        self.setup_runs.push(SetupRunRow {
            key: key.clone(),
            run_index: i as i64,
            is_last,
            product: r.product.clone(),
            setup_version: r.setup_version.clone(),
            mode: r.mode.clone(),
            mode_parameter: r.parameters.get("mode").cloned().unwrap_or_default(),
            previous_version: r.previous_version.clone(),
            backup_version: r.backup_version.clone(),
            source_dir: r.source_dir.clone(),
            logged_on_user: r.logged_on_user.clone(),
            started_at_ms: r.started_at_ms,
            ended_at_ms: r.ended_at_ms,
            start_line: r.start_line.into(),
            end_line: r.end_line.into(),
            outcome: setup_run::Outcome::try_from(r.outcome).unwrap_or_default(),
            error_count: r.errors.len() as i64,
            first_error_line: r.errors.first().map_or(0, |e| e.line.into()),
            first_error: r.errors.first().map(|e| e.text.clone()).unwrap_or_default(),
            provenance: provenance(&r.provenance),
            line_count: r.line_count.into(),
        });
        for l in &r.lines {
            self.setup_lines.push(SetupLineRow {
                key: key.clone(),
                run_index: i as i64,
                line: l.line.into(),
                time_ms: l.time_ms,
                kind: SetupLineKind::parse(&l.kind),
                component: l.component.clone(),
                text: l.text.clone(),
                continuation: l.continuation.join("\n"),
                context: l.context.join("\n"),
                task: l.task.clone(),
            });
        }
    }

    fn add_service_control_run(
        &mut self,
        key: &Key,
        i: usize,
        is_last: bool,
        r: &ServiceControlRun,
    ) {
        self.service_control_runs.push(ScRunRow {
            key: key.clone(),
            run_index: i as i64,
            is_last,
            header_time: r.header_time.clone(),
            started_at_ms: r.started_at_ms,
            ended_at_ms: r.ended_at_ms,
            start_line: r.start_line.into(),
            end_line: r.end_line.into(),
            outcome: service_control_run::Outcome::try_from(r.outcome).unwrap_or_default(),
            options: r.options.clone(),
            date_order_assumed: r.date_order_assumed,
            provenance: provenance(&r.provenance),
        });
        for a in &r.actions {
            self.service_control_actions.push(ScActionRow {
                key: key.clone(),
                run_index: i as i64,
                line: a.line.into(),
                time_ms: a.time_ms,
                kind: ScActionKind::parse(&a.kind),
                service: a.service.clone(),
                text: a.text.clone(),
                continuation: a.continuation.join("\n"),
            });
        }
    }

    fn add_install_logs(&mut self, key: &Key, s: &Snapshot) {
        for f in &s.service_state_files {
            self.service_state_files.push(StateFileRow {
                key: key.clone(),
                name: f.name.clone(),
                modified_at_ms: f.modified_at_ms,
                size: f.size as i64,
                services: f
                    .services
                    .iter()
                    .map(|s| format!("{}={}", s.name, s.start_mode))
                    .collect(),
                provenance: provenance(&f.provenance),
            });
        }
        for (i, m) in s.msi_logs.iter().enumerate() {
            self.msi_logs.push(MsiLogRow {
                key: key.clone(),
                log_index: i as i64,
                header_time: m.header_time.clone(),
                started_at_ms: m.started_at_ms,
                patch: m.patch.clone(),
                update_name: m.update_name.clone(),
                error_code: m.error_code.into(),
                install_status: m.install_status,
                main_engine_return: m.main_engine_return,
                product_version: m.product_version.clone(),
                not_applicable: m.not_applicable,
                provenance: provenance(&m.provenance),
            });
            for l in &m.lines {
                self.msi_lines.push(MsiLineRow {
                    key: key.clone(),
                    log_index: i as i64,
                    line: l.line.into(),
                    time_ms: l.time_ms,
                    kind: MsiLineKind::parse(&l.kind),
                    text: l.text.clone(),
                    duration_ms: l.duration_ms,
                });
            }
        }
    }

    fn add_iis_vdirs(&mut self, key: &Key, s: &Snapshot) {
        for site in &s.iis_sites {
            for app in &site.applications {
                for v in &app.virtual_directories {
                    self.iis_vdirs.push(VdirRow {
                        key: key.clone(),
                        site: site.name.clone(),
                        site_id: site.id.into(),
                        app_path: app.path.clone(),
                        vdir_path: v.path.clone(),
                        physical_path: v.physical_path.clone(),
                        provenance: provenance(&v.provenance),
                    });
                }
            }
        }
    }
}

impl Batch {
    fn add_iis_locations(&mut self, key: &Key, s: &Snapshot) {
        for l in &s.iis_locations {
            self.iis_locations.push(IisLocationRow {
                key: key.clone(),
                path: l.path.clone(),
                token_checking: l.token_checking.clone(),
                ssl_flags: l.ssl_flags.clone(),
                ip_allow_unlisted: l.ip_allow_unlisted.clone(),
                ip_filter_entries: l.ip_filter_entries.into(),
                provenance: provenance(&l.provenance),
            });
        }
    }
}

impl Batch {
    fn add_iocs(&mut self, key: &Key, s: &Snapshot) {
        for m in &s.ioc_matches {
            self.ioc_matches.push(IocMatchRow {
                key: key.clone(),
                indicator: IocKind::parse(&m.indicator),
                file: m.file.clone(),
                line: m.line.into(),
                time_ms: m.time_ms,
                client_ip: m.client_ip.clone(),
                user: m.user.clone(),
                url: m.url.clone(),
                status: m.status.clone(),
                detail: m.detail.clone(),
                sha256: m.sha256.clone(),
                provenance: provenance(&m.provenance),
            });
        }
        for c in &s.ioc_scans {
            self.ioc_scans.push(IocScanRow {
                key: key.clone(),
                indicator: IocKind::parse(&c.indicator),
                files: c.files as i64,
                bytes: c.bytes as i64,
                matches: c.matches as i64,
                overflow: c.overflow as i64,
                oldest_ms: c.oldest_ms,
                newest_ms: c.newest_ms,
                since_ms: s.ioc_since_ms,
                folder: c.folder.clone(),
            });
        }
    }
}

/// Whether a server identity sent a snapshot of another computer (names compared without
/// regard to case, as Windows does).
fn identity_mismatch(stored: &StoredSnapshot, host: &str) -> bool {
    stored.identity_kind() == IdentityKind::Server
        && !stored.collector_id.eq_ignore_ascii_case(host)
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

#[cfg(test)]
mod tests {
    use exfleet_proto::v1::*;

    use super::*;
    use crate::{Row, Table};

    fn at(line: u32) -> Option<Provenance> {
        Some(Provenance {
            reader: "setup_log".into(),
            path: "ExchangeSetupLogs/ExchangeSetup.log".into(),
            locator: Some(provenance::Locator::Line(line)),
        })
    }

    /// A snapshot touching every table.
    fn snapshot() -> StoredSnapshot {
        let s = Snapshot {
            snapshot_id: "5f0c-1".into(),
            collected_at_ms: 1_795_000_000_000,
            host: Some(HostIdentity {
                computer_name: "EX01".into(),
                ad_site: "Paris".into(),
                ..Default::default()
            }),
            exsetup: Some(FileVersion {
                fixed_version: "15.2.1748.24".into(),
                ..Default::default()
            }),
            exchange: Some(ExchangeInstall {
                msi_version: "15.2.1748.10".into(),
                ..Default::default()
            }),
            installed_updates: vec![InstalledUpdate {
                kb: "KB5049233".into(),
                ..Default::default()
            }],
            services: vec![ServiceConfig {
                name: "MSExchangeIS".into(),
                start: 4,
                ..Default::default()
            }],
            setup_runs: vec![SetupRun {
                outcome: setup_run::Outcome::Failed as i32,
                lines: vec![SetupLogLine {
                    line: 12,
                    kind: "error_reference".into(),
                    continuation: vec!["a".into(), "b".into()],
                    ..Default::default()
                }],
                provenance: at(3),
                ..Default::default()
            }],
            service_control_runs: vec![ServiceControlRun {
                outcome: service_control_run::Outcome::Errors as i32,
                actions: vec![ServiceControlAction {
                    kind: "stop_failed".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            msi_logs: vec![MsiLog {
                error_code: 1603,
                lines: vec![MsiLogLine {
                    kind: "slow_action".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            events: vec![Event {
                event_id: 1309,
                data: vec![EventDatum {
                    name: "".into(),
                    value: "a, \"quoted\" value".into(),
                }],
                ..Default::default()
            }],
            ssl_bindings: vec![SslBinding {
                endpoint: "0.0.0.0:444".into(),
                cert_thumbprint: "AB".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        StoredSnapshot {
            snapshot: Some(s),
            collector_id: "EX01".into(),
            received_at_ms: 7,
            ..Default::default()
        }
    }

    #[test]
    fn rows_read_back_from_their_frames_are_the_rows_written() {
        let mut b = Batch::default();
        b.add(&snapshot());
        b.add(&snapshot());
        let frames = b.frames().unwrap();
        for (t, df) in frames.iter() {
            assert_eq!(**df.schema(), t.schema(), "{}", t.name());
        }
        assert_eq!(Batch::from_frames(&frames).unwrap(), b);
        assert_eq!(b.setup_runs[0].outcome, setup_run::Outcome::Failed);
        assert_eq!(b.setup_lines[0].kind, SetupLineKind::ErrorReference);
        assert_eq!(b.service_control_actions[0].kind, ScActionKind::StopFailed);
        assert_eq!(b.msi_lines[0].kind, MsiLineKind::SlowAction);
        assert_eq!(b.bindings[0].kind, BindingKind::HttpSys);
        assert_eq!(b.events[0].named(""), Some("a, \"quoted\" value"));
    }

    #[test]
    fn stored_text_is_what_the_contract_documents() {
        let mut b = Batch::default();
        b.add(&snapshot());
        let f = b.frames().unwrap();
        let text = |t: Table, c: &str| {
            let col = f.get(t).column(c).unwrap().str().unwrap().clone();
            col.get(0).unwrap().to_string()
        };
        assert_eq!(text(Table::SetupRuns, "outcome"), "failed");
        assert_eq!(
            text(Table::SetupRuns, "provenance"),
            "ExchangeSetupLogs/ExchangeSetup.log:3"
        );
        assert_eq!(text(Table::SetupLines, "continuation"), "a\nb");
        assert_eq!(text(Table::ServiceControlRuns, "outcome"), "errors");
        assert_eq!(text(Table::Bindings, "kind"), "http_sys");
        assert_eq!(text(Table::Events, "data"), r#"["a, \"quoted\" value"]"#);
    }

    #[test]
    fn a_missing_column_is_an_error_naming_table_and_column() {
        let mut b = Batch::default();
        b.add(&snapshot());
        let df = b.frames().unwrap().hosts.drop("ad_site").unwrap();
        let e = crate::HostRow::read(&df).unwrap_err().to_string();
        assert!(e.contains("hosts") && e.contains("ad_site"), "{e}");
    }

    #[test]
    fn table_names_are_unique_and_found_by_name() {
        for &t in Table::ALL {
            assert_eq!(Table::from_name(t.name()), Some(t));
        }
    }
}

#[cfg(test)]
mod identity_tests {
    use exfleet_proto::v1::stored_snapshot::IdentityKind;
    use exfleet_proto::v1::{HostIdentity, Snapshot, StoredSnapshot};

    use crate::Batch;

    fn stored(cn: &str, host: &str, kind: IdentityKind) -> StoredSnapshot {
        StoredSnapshot {
            snapshot: Some(Snapshot {
                snapshot_id: format!("{cn}-{host}"),
                host: Some(HostIdentity {
                    computer_name: host.into(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            collector_id: cn.into(),
            identity_kind: kind as i32,
            ..Default::default()
        }
    }

    /// A server certificate speaks for its own computer only; triage and unreceived snapshots
    /// are not judged here.
    #[test]
    fn a_server_identity_naming_another_computer_is_a_mismatch() {
        let mut b = Batch::default();
        b.add(&stored("EX01", "ex01", IdentityKind::Server));
        b.add(&stored("EX01", "EXPAR01", IdentityKind::Server));
        b.add(&stored("TRIAGE1", "EXPAR01", IdentityKind::Triage));
        b.add(&stored("", "EXPAR01", IdentityKind::Unspecified));
        let got: Vec<(IdentityKind, bool)> = b
            .hosts
            .iter()
            .map(|h| (h.collector_kind, h.identity_mismatch))
            .collect();
        assert_eq!(
            got,
            [
                (IdentityKind::Server, false),
                (IdentityKind::Server, true),
                (IdentityKind::Triage, false),
                (IdentityKind::Unspecified, false),
            ]
        );
    }
}
