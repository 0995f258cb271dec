//! A rollout over time, for `plan` and `verify`: daily snapshots of a fleet of fifteen
//! servers in three sites (two DAGs in Seattle, one in Paris, an Exchange 2010 CAS-CAS
//! proxying pair in Osaka), written directly as snapshots, with blockers planted before the
//! plan day and a rollout of Aug26SU the day after it in which some hosts fail.
//!
//! Planted before the plan (each the evidence its host rule reads):
//! - EXPAR02: an Interim Update installed (`build.iu-blocks-su`);
//! - EXPAR04: a pending reboot (`os.pending-reboot`);
//! - EXSEA02: HubTransport left inactive by the Maintenance requester
//!   (`services.maintenance-mode`);
//! - EXSEA05: .NET Framework 4.7.2, below what CU15 needs (`dotnet.unsupported`, judged
//!   against the target);
//! - EXSEA06: MSExchangeTransport stopped with start type Automatic (`services.not-running`);
//! - EXPAR05: a customized OWA web.config (`config.customized`: back up first, not a blocker);
//! - EXOSA01 runs CU13, for which Aug26SU is not published (`build.su-wrong-cu` when the
//!   target is Aug26SU);
//! - EXSEA03 stops reporting before the plan day; EXPAR09 is expected and never reports.
//!
//! The rollout (Aug26SU on the CU15 servers nothing blocks), the day after the plan:
//! - EXPAR03: the MSI fails with 1603 and the server stays on Jul26SU (`setup.unknown-error`);
//! - EXSEA04: updated, MSExchangeTransport stopped after it (`services.not-running`);
//! - EXPAR01: updated, MSExchange ADAccess errors it had never logged begin (new error events);
//! - EXPAR05, EXSEA01, EXOSA02: updated and healthy (EXPAR05's customization comes back stock);
//! - the blocked hosts are not touched (EXOSA01 among them: Aug26SU is not for CU13);
//!   EXPAR02's MSExchangeTransport stops the day after the rollout without any update run: a
//!   new finding on an untouched host, which leaves it not started, not failed.
//!
//! Every host logs a DCOM 10016 error daily, before and after: an error of a kind it already
//! logged is not new. Every updated host logs a search service error while the update runs
//! (setup stops the services): an error inside its own update run is not new either.

use std::collections::BTreeMap;

use exfleet_proto::v1::{
    provenance::Locator, setup_run::Outcome, ConfigFile, Event, ExchangeFiles, ExchangeInstall,
    FileVersion, HostIdentity, HostLabels, InstalledUpdate, MsiLog, PendingReboot, Platform,
    Provenance, RegistrySetting, ServiceConfig, ServiceRunState, SetupRun, Snapshot,
    StoredSnapshot,
};

use crate::fleet::builds::{self, text, Line};
use crate::history::{DAY_MS, OWA_WEB_CONFIG};

const HOUR_MS: i64 = 3_600_000;
const MINUTE_MS: i64 = 60_000;
/// Days of snapshots.
pub const DAYS: usize = 12;
/// The plan day (0-based): the blockers are there, the rollout is not yet.
pub const PLAN_DAY: usize = 7;
/// The rollout's day: updates run at 02:00 UTC.
pub const ROLLOUT_DAY: usize = 8;
/// The silent host's last day of snapshots.
pub const SILENT_FROM_DAY: usize = 4;
/// .NET Framework 4.7.2.
pub const DOTNET_472: u32 = 461_808;

/// What was planted on a host before the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Planted {
    /// An Interim Update installed.
    InterimUpdate,
    /// A reboot pending.
    PendingReboot,
    /// Maintenance mode left on.
    MaintenanceMode,
    /// An Exchange service stopped.
    ServiceStopped,
    /// .NET below the target's.
    DotnetBelow,
}

/// What the rollout does to a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rollout {
    /// Updated and healthy.
    Done,
    /// The SU's MSI failed with 1603.
    MsiFailed,
    /// Updated, a service stopped after it.
    ServicesDown,
    /// Updated, new error events after it.
    NewErrors,
}

/// One server.
#[derive(Debug, Clone)]
pub struct RolloutHost {
    /// NetBIOS name.
    pub name: String,
    /// AD site.
    pub site: &'static str,
    /// DAG (empty: none).
    pub dag: &'static str,
    /// Role-group label.
    pub role: &'static str,
    /// CU line.
    pub line: &'static Line,
    /// The update installed before the rollout (index in the line's updates).
    pub update: usize,
    /// .NET release.
    pub dotnet: u32,
    /// Planted before the plan.
    pub planted: Option<Planted>,
    /// The OWA web.config is customized (until an update replaces it).
    pub customized: bool,
    /// What the rollout does to it (none: not touched).
    pub rollout: Option<Rollout>,
    /// Last day of snapshots, when it goes silent.
    pub silent_from_day: Option<usize>,
    /// From this day on, MSExchangeTransport is stopped whatever the rollout did.
    pub transport_stops_on_day: Option<usize>,
}

/// What `plan` and `verify` must answer.
#[derive(Debug, Clone, Default)]
pub struct RolloutTruth {
    /// Blockers per host, for the target `latest` (finding ids).
    pub blockers_latest: BTreeMap<String, Vec<String>>,
    /// Blockers per host, for the target `Aug26SU`.
    pub blockers_aug26su: BTreeMap<String, Vec<String>>,
    /// Hosts whose files must be backed up first.
    pub back_up_first: Vec<String>,
    /// The waves for `latest`, with the sites in the order of [`expected_csv`] (Seattle,
    /// Paris, Osaka).
    pub waves_latest: Vec<Vec<String>>,
    /// After the rollout: the hosts done.
    pub done: Vec<String>,
    /// After the rollout: the hosts failed, with the finding id that says why (empty: new
    /// error events without a finding).
    pub failed: BTreeMap<String, String>,
    /// After the rollout: the hosts not started (the blocked ones).
    pub not_started: Vec<String>,
    /// Servers that should report and did not: silent or never seen.
    pub not_collected: Vec<String>,
}

/// The expected server that never reports.
pub const NEVER_REPORTED: &str = "EXPAR09";

fn host(
    name: &str,
    site: &'static str,
    dag: &'static str,
    role: &'static str,
    line: &'static Line,
) -> RolloutHost {
    let update = if line.cu == "CU15" {
        // Jul26SU: Aug26SU is the rollout's.
        line.latest() - 1
    } else {
        line.latest() - usize::from(line.is_2010())
    };
    RolloutHost {
        name: name.into(),
        site,
        dag,
        role,
        line,
        update,
        dotnet: if line.is_2010() { 0 } else { 528_040 },
        planted: None,
        customized: false,
        rollout: None,
        silent_from_day: None,
        transport_stops_on_day: None,
    }
}

/// The fleet and the truth.
pub fn fleet() -> (Vec<RolloutHost>, RolloutTruth) {
    use builds::{EX2010_SP3 as SP3, EX2019_CU13 as CU13, EX2019_CU15 as CU15};
    let mut hosts = vec![
        host("EXPAR01", "Paris", "DAG-PAR", "mailbox", &CU15),
        host("EXPAR02", "Paris", "DAG-PAR", "mailbox", &CU15),
        host("EXPAR03", "Paris", "DAG-PAR", "mailbox", &CU15),
        host("EXPAR04", "Paris", "DAG-PAR", "mailbox", &CU15),
        host("EXPAR05", "Paris", "", "mailbox", &CU15),
        host("EXSEA01", "Seattle", "DAG-SEA1", "mailbox", &CU15),
        host("EXSEA02", "Seattle", "DAG-SEA1", "mailbox", &CU15),
        host("EXSEA03", "Seattle", "DAG-SEA1", "mailbox", &CU15),
        host("EXSEA04", "Seattle", "DAG-SEA2", "mailbox", &CU15),
        host("EXSEA05", "Seattle", "DAG-SEA2", "mailbox", &CU15),
        host("EXSEA06", "Seattle", "DAG-SEA2", "mailbox", &CU15),
        host("CASNET01", "Osaka", "", "cas internet-facing", &SP3),
        host("CASINT01", "Osaka", "", "cas internal", &SP3),
        host("EXOSA01", "Osaka", "", "mailbox", &CU13),
        host("EXOSA02", "Osaka", "", "mailbox", &CU15),
    ];
    let set = |hosts: &mut Vec<RolloutHost>, name: &str, f: &dyn Fn(&mut RolloutHost)| {
        if let Some(h) = hosts.iter_mut().find(|h| h.name == name) {
            f(h);
        }
    };
    set(&mut hosts, "EXPAR02", &|h| {
        h.planted = Some(Planted::InterimUpdate);
        h.transport_stops_on_day = Some(ROLLOUT_DAY + 1);
    });
    set(&mut hosts, "EXPAR04", &|h| {
        h.planted = Some(Planted::PendingReboot)
    });
    set(&mut hosts, "EXSEA02", &|h| {
        h.planted = Some(Planted::MaintenanceMode)
    });
    set(&mut hosts, "EXSEA05", &|h| {
        h.planted = Some(Planted::DotnetBelow);
        h.dotnet = DOTNET_472;
    });
    set(&mut hosts, "EXSEA06", &|h| {
        h.planted = Some(Planted::ServiceStopped)
    });
    set(&mut hosts, "EXPAR05", &|h| {
        h.customized = true;
        h.rollout = Some(Rollout::Done);
    });
    set(&mut hosts, "EXSEA03", &|h| {
        h.silent_from_day = Some(SILENT_FROM_DAY)
    });
    set(&mut hosts, "EXPAR03", &|h| {
        h.rollout = Some(Rollout::MsiFailed)
    });
    set(&mut hosts, "EXSEA04", &|h| {
        h.rollout = Some(Rollout::ServicesDown)
    });
    set(&mut hosts, "EXPAR01", &|h| {
        h.rollout = Some(Rollout::NewErrors)
    });
    set(&mut hosts, "EXSEA01", &|h| h.rollout = Some(Rollout::Done));
    set(&mut hosts, "EXOSA02", &|h| h.rollout = Some(Rollout::Done));

    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut truth = RolloutTruth::default();
    for (h, id) in [
        ("EXPAR02", "build.iu-blocks-su"),
        ("EXPAR04", "os.pending-reboot"),
        ("EXSEA02", "services.maintenance-mode"),
        ("EXSEA05", "dotnet.unsupported"),
        ("EXSEA06", "services.not-running"),
    ] {
        truth.blockers_latest.insert(h.into(), vec![id.into()]);
        truth.blockers_aug26su.insert(h.into(), vec![id.into()]);
    }
    truth
        .blockers_aug26su
        .insert("EXOSA01".into(), vec!["build.su-wrong-cu".into()]);
    truth.back_up_first = names(&["EXPAR05"]);
    // EXPAR05, EXOSA01 and EXOSA02 are Mailbox servers without a DAG label: each alone.
    truth.waves_latest = vec![
        names(&["CASNET01"]),
        names(&["EXSEA01", "EXSEA04"]),
        names(&["EXPAR01"]),
        names(&["EXPAR03"]),
        names(&["EXPAR05"]),
        names(&["CASINT01"]),
        names(&["EXOSA01"]),
        names(&["EXOSA02"]),
    ];
    truth.done = names(&["EXOSA02", "EXPAR05", "EXSEA01"]);
    truth.failed = [
        ("EXPAR01", ""),
        ("EXPAR03", "setup.unknown-error"),
        ("EXSEA04", "services.not-running"),
    ]
    .into_iter()
    .map(|(h, w)| (h.to_string(), w.to_string()))
    .collect();
    truth.not_started = names(&[
        "EXOSA01", "EXPAR02", "EXPAR04", "EXSEA02", "EXSEA05", "EXSEA06",
    ]);
    truth.not_collected = names(&["EXPAR09", "EXSEA03"]);
    (hosts, truth)
}

/// The servers that should report, as `Get-ExchangeServer | Export-Csv` writes them (a
/// `#TYPE` line, every value quoted, the site as its AD path), Seattle first, then Paris and
/// Osaka: the operator's site order. It lists [`NEVER_REPORTED`] too.
pub fn expected_csv(hosts: &[RolloutHost]) -> String {
    let mut s = String::from(
        "#TYPE Microsoft.Exchange.Data.Directory.Management.ExchangeServer\r\n\
\"Name\",\"Site\",\"ServerRole\",\"Edition\",\"AdminDisplayVersion\",\"Fqdn\"\r\n",
    );
    let mut rows: Vec<(&str, String, &str)> = hosts
        .iter()
        .map(|h| (h.site, h.name.clone(), h.role))
        .collect();
    rows.push(("Paris", NEVER_REPORTED.into(), "mailbox"));
    let order = |site: &str| {
        ["Seattle", "Paris", "Osaka"]
            .iter()
            .position(|s| *s == site)
    };
    rows.sort_by_key(|(site, name, _)| (order(site), name.clone()));
    for (site, name, role) in rows {
        let role = if role == "mailbox" { "Mailbox" } else { role };
        s.push_str(&format!(
            "\"{name}\",\"contoso.local/Configuration/Sites/{site}\",\"{role}\",\"Enterprise\",\"Version 15.2 (Build 1748.48)\",\"{}.contoso.local\"\r\n",
            name.to_lowercase()
        ));
    }
    s
}

/// Midnight (UTC ms) of day `day`, the last day being 2026-11-23.
pub fn day_ms(day: usize) -> i64 {
    let last = crate::SIM_NOW_MS - 12 * HOUR_MS;
    last - (DAYS - 1 - day) as i64 * DAY_MS
}

fn update_ms(i: usize) -> i64 {
    day_ms(ROLLOUT_DAY) + 2 * HOUR_MS + i as i64 * 10 * MINUTE_MS
}

fn collected_at(i: usize, day: usize) -> i64 {
    day_ms(day) + 6 * HOUR_MS + i as i64 * MINUTE_MS
}

/// The snapshots of day `day`, one per reporting server.
pub fn day(hosts: &[RolloutHost], day: usize) -> Vec<StoredSnapshot> {
    hosts
        .iter()
        .enumerate()
        .filter(|(_, h)| h.silent_from_day.is_none_or(|last| day <= last))
        .map(|(i, h)| snapshot(h, i, day))
        .collect()
}

fn reg(key: &str, value: &str) -> Provenance {
    Provenance {
        reader: "software_hive".into(),
        path: r"Windows\System32\config\SOFTWARE".into(),
        locator: Some(Locator::RegValue(exfleet_proto::v1::RegValue {
            key: key.into(),
            value: value.into(),
        })),
    }
}

fn snapshot(h: &RolloutHost, i: usize, day: usize) -> StoredSnapshot {
    let at = collected_at(i, day);
    let since = if day == 0 {
        at - DAY_MS
    } else {
        collected_at(i, day - 1)
    };
    let line = h.line;
    let updated = h.rollout.is_some_and(|r| r != Rollout::MsiFailed) && update_ms(i) <= at;
    let update = if updated { h.update + 1 } else { h.update };
    let build = line.build(Some(update));
    let (_, _, kb, date) = line.updates[update];
    let setup_key = if line.is_2010() { "v14" } else { "v15" };
    let root = if line.is_2010() {
        r"C:\Program Files\Microsoft\Exchange Server\V14\"
    } else {
        r"C:\Program Files\Microsoft\Exchange Server\V15\"
    };
    let mut updates = vec![InstalledUpdate {
        product: line.updates_folder.into(),
        kb: kb.into(),
        package_name: line.package_name(update),
        installed_date: date.into(),
        provenance: Some(reg(
            &format!(
                r"HKLM\SOFTWARE\Microsoft\Updates\{}\{kb}",
                line.updates_folder
            ),
            "PackageName",
        )),
    }];
    if h.planted == Some(Planted::InterimUpdate) {
        updates.push(InstalledUpdate {
            product: line.updates_folder.into(),
            kb: "KB5099001".into(),
            package_name: format!(
                "Interim Update for {} {} (KB5099001)",
                line.product_words, line.cu_words
            ),
            installed_date: "20261102".into(),
            provenance: Some(reg(
                &format!(
                    r"HKLM\SOFTWARE\Microsoft\Updates\{}\KB5099001",
                    line.updates_folder
                ),
                "PackageName",
            )),
        });
    }
    let mut pending = Vec::new();
    if h.planted == Some(Planted::PendingReboot) {
        pending.push(PendingReboot {
            indicator: "RebootRequired".into(),
            detail: "Windows Update".into(),
            provenance: Some(reg(
                r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired",
                "",
            )),
        });
    }
    let mut settings = Vec::new();
    if h.planted == Some(Planted::MaintenanceMode) {
        // .NET ticks of 2026-11-10 22:00 UTC.
        let ticks = (day_ms(0) - 2 * HOUR_MS) * 10_000 + 621_355_968_000_000_000;
        let key = r"HKLM\SOFTWARE\Microsoft\ExchangeServer\v15\ServerComponentStates\HubTransport";
        settings.push(RegistrySetting {
            key: key.into(),
            name: "Maintenance".into(),
            kind: "REG_SZ".into(),
            data: format!("0:{ticks}"),
            provenance: Some(reg(key, "Maintenance")),
        });
    }
    let (mut services, mut states) = (Vec::new(), Vec::new());
    if !line.is_2010() {
        let stopped = h.planted == Some(Planted::ServiceStopped)
            || (h.rollout == Some(Rollout::ServicesDown) && updated)
            || h.transport_stops_on_day.is_some_and(|d| day >= d);
        let scm = Provenance {
            reader: "service_states".into(),
            path: "exfleet/sc-queryex.txt".into(),
            locator: None,
        };
        services.push(ServiceConfig {
            name: "MSExchangeTransport".into(),
            display_name: "Microsoft Exchange Transport".into(),
            start: 2,
            delayed_autostart: false,
            provenance: Some(reg(
                r"HKLM\SYSTEM\CurrentControlSet\Services\MSExchangeTransport",
                "Start",
            )),
        });
        states.push(ServiceRunState {
            name: "MSExchangeTransport".into(),
            display_name: "Microsoft Exchange Transport".into(),
            state: if stopped { "STOPPED" } else { "RUNNING" }.into(),
            state_code: if stopped { 1 } else { 4 },
            pid: if stopped { 0 } else { 4000 + i as u32 },
            exit_code: if stopped { 1067 } else { 0 },
            provenance: Some(scm),
            start_type: String::new(),
        });
    }
    let mut setup_runs = Vec::new();
    if h.name == "EXPAR01" {
        // The CU15 install, a year before: AD was prepared for CU15 then.
        let started = crate::history::DAY_MS * 20_130 + 8 * HOUR_MS;
        setup_runs.push(SetupRun {
            product: "Microsoft Exchange Server 2019".into(),
            setup_version: text(line.base),
            mode: "Upgrade".into(),
            previous_version: "15.2.1544.4".into(),
            source_dir: r"D:\".into(),
            started_at_ms: started,
            ended_at_ms: started + 2 * HOUR_MS,
            start_line: 1,
            end_line: 2_000,
            line_count: 2_000,
            outcome: Outcome::Succeeded as i32,
            provenance: Some(Provenance {
                reader: "setup_log".into(),
                path: r"ExchangeSetupLogs\ExchangeSetup.log".into(),
                locator: Some(Locator::Line(1)),
            }),
            ..Default::default()
        });
    }
    let mut s = Snapshot {
        snapshot_id: format!("rollout-{day:04}-{i:04}"),
        host: Some(HostIdentity {
            computer_name: h.name.clone(),
            dns_hostname: h.name.to_lowercase(),
            dns_domain: "contoso.local".into(),
            ad_site: h.site.into(),
            provenance: None,
        }),
        collector_version: "rollout".into(),
        collected_at_ms: at,
        labels: Some(HostLabels {
            dag: h.dag.into(),
            role_group: h.role.into(),
            owner: "messaging-team".into(),
            extra: Default::default(),
        }),
        platform: Some(Platform {
            os_product_name: "Windows Server 2022 Datacenter".into(),
            os_current_build: "20348".into(),
            os_ubr: 3807,
            dotnet_release: h.dotnet,
            ansi_code_page: "1252".into(),
            time_zone: "UTC".into(),
            pending_reboot: pending,
            provenance: vec![reg(
                r"HKLM\SOFTWARE\Microsoft\NET Framework Setup\NDP\v4\Full",
                "Release",
            )],
            ..Default::default()
        }),
        exchange: Some(ExchangeInstall {
            setup_key: setup_key.into(),
            install_path: root.into(),
            msi_version: text(line.base),
            owa_version: text(build),
            provenance: Some(reg(
                &format!(r"HKLM\SOFTWARE\Microsoft\ExchangeServer\{setup_key}\Setup"),
                "MsiInstallPath",
            )),
        }),
        exsetup: Some(FileVersion {
            path: format!(r"{root}Bin\ExSetup.exe"),
            fixed_version: text(build),
            string_version: text(build),
            product_version: text(build),
            provenance: None,
        }),
        installed_updates: updates,
        services,
        service_states: states,
        settings,
        setup_runs,
        exchange_files: (!line.is_2010()).then(|| ExchangeFiles {
            front_end_present: true,
            client_access_present: true,
            config_files: vec![owa_web_config(h, build, updated)],
            install_path: root.into(),
            ..Default::default()
        }),
        events_since_ms: since,
        ..Default::default()
    };
    s.events = events(h, i, since, at);
    if h.rollout == Some(Rollout::MsiFailed) && update_ms(i) <= at {
        let kb = line.updates[h.update + 1].2;
        s.msi_logs.push(MsiLog {
            started_at_ms: update_ms(i),
            patch: format!(r"C:\Patches\Exchange2019-{kb}-x64-en.msp"),
            update_name: line.package_name(h.update + 1),
            error_code: 1603,
            install_status: 1603,
            main_engine_return: 1603,
            product_version: text(line.base),
            provenance: Some(Provenance {
                reader: "msi_log".into(),
                path: format!(r"Windows\Temp\{kb}.log"),
                locator: None,
            }),
            ..Default::default()
        });
    }
    StoredSnapshot {
        snapshot: Some(s),
        collector_id: h.name.to_lowercase(),
        received_at_ms: at + 2_000,
        ..Default::default()
    }
}

fn owa_web_config(h: &RolloutHost, build: [u16; 4], updated: bool) -> ConfigFile {
    let stock = format!("stock OWA web.config of {}", text(build));
    let content = if h.customized && !updated {
        format!("{stock} with {}'s redirect to the portal", h.name)
    } else {
        stock
    };
    let digest = ring::digest::digest(&ring::digest::SHA256, content.as_bytes());
    ConfigFile {
        path: OWA_WEB_CONFIG.into(),
        kind: "web_config".into(),
        exists: true,
        sha256: digest.as_ref().iter().map(|b| format!("{b:02x}")).collect(),
        provenance: Some(Provenance {
            reader: "exchange_files".into(),
            path: format!(r"Program Files\Microsoft\Exchange Server\V15\{OWA_WEB_CONFIG}"),
            locator: None,
        }),
        ..Default::default()
    }
}

/// The events of (since, until]: DCOM 10016 daily on every host, the update's MsiInstaller
/// event, and ADAccess 2142 every two hours after EXPAR01's update.
fn events(h: &RolloutHost, i: usize, since: i64, until: i64) -> Vec<Event> {
    let within = |t: i64| t > since && t <= until;
    let event = |log: &str, provider: &str, id: u32, level: u32, t: i64, data: Vec<&str>| {
        let record = (t / MINUTE_MS) as u64;
        let mut e = Event {
            log: log.into(),
            provider: provider.into(),
            event_id: id,
            record_id: record,
            time_ms: t,
            level,
            data: data
                .into_iter()
                .map(|v| exfleet_proto::v1::EventDatum {
                    name: String::new(),
                    value: v.into(),
                })
                .collect(),
            provenance: Some(Provenance {
                reader: "event_log".into(),
                path: format!(r"Windows\System32\winevt\Logs\{log}.evtx"),
                locator: Some(Locator::EventRecordId(record)),
            }),
            ..Default::default()
        };
        exfleet_collector::readers::event_log::facts::fill(&mut e);
        e
    };
    let mut out = Vec::new();
    for d in 0..DAYS {
        let t = day_ms(d) + 4 * HOUR_MS + i as i64 * MINUTE_MS;
        if within(t) {
            out.push(event(
                "System",
                "Microsoft-Windows-DistributedCOM",
                10016,
                2,
                t,
                vec!["application-specific", "Local", "Activation"],
            ));
        }
    }
    let u = update_ms(i);
    let during = u - 5 * MINUTE_MS;
    if h.rollout.is_some_and(|r| r != Rollout::MsiFailed) && within(during) {
        out.push(event(
            "Application",
            "MSExchangeFastSearch",
            1006,
            2,
            during,
            vec!["The FastSearch service stopped while the update ran"],
        ));
    }
    if let Some(r) = h.rollout.filter(|_| within(u)) {
        let package = h.line.package_name(h.update + 1);
        if r == Rollout::MsiFailed {
            out.push(event(
                "Application",
                "MsiInstaller",
                1023,
                2,
                u,
                vec!["Microsoft Exchange Server", &package, "1603"],
            ));
        } else {
            out.push(event(
                "Application",
                "MsiInstaller",
                1022,
                4,
                u,
                vec!["Microsoft Exchange Server", &package],
            ));
        }
    }
    if h.rollout == Some(Rollout::NewErrors) {
        let mut t = u + 30 * MINUTE_MS;
        while t <= until {
            if within(t) {
                out.push(event(
                    "Application",
                    "MSExchange ADAccess",
                    2142,
                    2,
                    t,
                    vec!["w3wp.exe", "Topology discovery failed"],
                ));
            }
            t += 2 * HOUR_MS;
        }
    }
    out
}
