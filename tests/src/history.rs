//! A fleet over time: daily snapshots of N Exchange servers for D days, written directly as
//! snapshots (no triage copies: the collectors are tested elsewhere), with the patterns the
//! fleet-history rules look for planted, or shuffled so that only chance remains.
//!
//! The fleet: four AD sites, DAGs of four inside a site, Exchange 2019 CU15 on Jul26SU until
//! an update wave installs Aug26SU over five days, three weeks before the last day. Planted:
//! - `site_stuck`: one site's servers stay on CU13 (out of support);
//! - `su_fails_with_dotnet`: Aug26SU fails (MSI 1603) on every CU15 server with .NET 4.8.1;
//! - `errors_after_wave`: ASP.NET 1309 errors begin within the hour after the update on a
//!   fifth of the updated servers;
//! - `silent_host`: one server stops reporting ten days before the end;
//! - `customization_lost`: two servers' customized OWA web.config comes back stock after the
//!   update;
//! - `compromised`: on one server the wave updated, CVE-2022-41040 hunting-query matches in its
//!   IIS logs begin five days before its update (its build changed after the compromise began);
//! - `late_scan`: one server's collector scans for indicators only from two days after the
//!   compromise began, and its logs then reach back one day: a hole in its coverage, which
//!   does not matter (ioc.coverage-gap stays silent) as its build carried the fix of the
//!   compromise's CVE then.
//!
//! Every other server scans for indicators from the first day, its logs reaching back 30 days;
//! each later scan reads the bytes written since the previous one (the collector's read marks).
//!
//! Shuffled, the same numbers of stuck servers, failed updates, erroring servers and
//! customized files are drawn without regard to site, .NET release or update times, the
//! customized files keep their customization, and no server goes silent.

use exfleet_proto::v1::{
    provenance::Locator, ConfigFile, Event, EventDatum, ExchangeFiles, ExchangeInstall,
    FileVersion, HostIdentity, HostLabels, InstalledUpdate, MsiLog, Platform, Provenance, Snapshot,
    StoredSnapshot,
};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::fleet::builds::{self, text, Line};

/// One day in ms.
pub const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;
const MINUTE_MS: i64 = 60_000;
const SITES: [&str; 4] = ["Paris", "Seattle", "Singapore", "Frankfurt"];
const OWNERS: [&str; 3] = ["messaging-team", "infra-emea", "infra-apac"];
/// .NET Framework 4.8 and 4.8.1 Release values.
pub const DOTNET_48: u32 = 528040;
/// .NET Framework 4.8.1.
pub const DOTNET_481: u32 = 533320;
/// The OWA web.config whose customization the fleet tracks.
pub const OWA_WEB_CONFIG: &str = r"ClientAccess\Owa\web.config";

/// Parameters of a fleet's history.
#[derive(Debug, Clone)]
pub struct HistoryConfig {
    /// Seed: the same seed gives the same snapshots.
    pub seed: u64,
    /// Number of servers.
    pub servers: usize,
    /// Days of daily snapshots.
    pub days: usize,
    /// Midnight (UTC ms) of the last day.
    pub last_day_ms: i64,
    /// Plant the patterns (`false`: shuffle them away).
    pub planted: bool,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig {
            seed: 7,
            servers: 40,
            days: 90,
            // 2026-11-23
            last_day_ms: crate::SIM_NOW_MS - 12 * HOUR_MS,
            planted: true,
        }
    }
}

/// One server over time.
#[derive(Debug, Clone)]
pub struct HistoryHost {
    /// NetBIOS name.
    pub name: String,
    /// AD site.
    pub site: &'static str,
    /// DAG.
    pub dag: String,
    /// Owner label.
    pub owner: &'static str,
    /// CU line.
    pub line: &'static Line,
    /// .NET release.
    pub dotnet: u32,
    /// (ProductName, CurrentBuild, UBR).
    pub os: (&'static str, &'static str, u32),
    /// When the wave's update ran on it (UTC ms); `None` off the wave (CU13).
    pub update_ms: Option<i64>,
    /// The update failed (MSI 1603) and the server stayed on Jul26SU.
    pub update_failed: bool,
    /// When ASP.NET 1309 errors begin, if they do.
    pub errors_from_ms: Option<i64>,
    /// Its last collection day, when it stops reporting early.
    pub silent_from_day: Option<usize>,
    /// OWA's web.config is customized.
    pub customized: bool,
    /// The customization is applied again after the update (shuffled), or lost (planted).
    pub keeps_customization: bool,
    /// When indicator matches begin in its IIS logs, if they do.
    pub compromised_from_ms: Option<i64>,
    /// The first day its collector scans for indicators (0: from the first day).
    pub scans_from_day: usize,
}

/// What was planted, for tests to compare with.
#[derive(Debug, Clone, Default)]
pub struct HistoryTruth {
    /// The site stuck on CU13 and its servers.
    pub stuck_site: Option<(String, Vec<String>)>,
    /// Servers whose update failed.
    pub failed: Vec<String>,
    /// Servers whose errors began right after their update.
    pub errors_after_update: Vec<String>,
    /// The server that went silent.
    pub silent: Option<String>,
    /// Servers whose customization the update overwrote.
    pub customization_lost: Vec<String>,
    /// The compromised server, when its indicator matches begin, and the builds it ran then
    /// and at the end.
    pub compromised: Option<(String, i64, String, String)>,
    /// The server whose indicator scans do not reach back to the compromise.
    pub late_scan: Option<String>,
}

const OSES: [(&str, &str, u32); 3] = [
    ("Windows Server 2019 Datacenter", "17763", 6532),
    ("Windows Server 2022 Datacenter", "20348", 3807),
    ("Windows Server 2025 Datacenter", "26100", 4652),
];

/// The servers of a history and what was planted.
pub fn hosts(cfg: &HistoryConfig) -> (Vec<HistoryHost>, HistoryTruth) {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let first_day = cfg.last_day_ms - (cfg.days as i64 - 1) * DAY_MS;
    let wave_day = cfg.days.saturating_sub(21).max(cfg.days / 2);
    let n = cfg.servers;
    // Servers are numbered site by site so that DAGs stay inside a site.
    let mut hosts: Vec<HistoryHost> = (0..n)
        .map(|i| {
            let site_index = i * SITES.len() / n;
            let in_site = i - (site_index * n).div_ceil(SITES.len());
            let site = SITES[site_index];
            HistoryHost {
                name: format!("EX{}{:04}", &site[..3].to_uppercase(), i + 1),
                site,
                dag: format!("DAG-{}-{}", &site[..3].to_uppercase(), in_site / 4 + 1),
                owner: OWNERS[rng.random_range(0..OWNERS.len())],
                line: &builds::EX2019_CU15,
                dotnet: if rng.random_bool(0.5) {
                    DOTNET_48
                } else {
                    DOTNET_481
                },
                os: OSES[rng.random_range(0..OSES.len())],
                update_ms: None,
                update_failed: false,
                errors_from_ms: None,
                silent_from_day: None,
                customized: false,
                keeps_customization: false,
                compromised_from_ms: None,
                scans_from_day: 0,
            }
        })
        .collect();
    let mut truth = HistoryTruth::default();

    // A site on CU13 (planted), or as many CU13 servers anywhere (shuffled).
    let stuck_site = SITES[3];
    let stuck_count = hosts.iter().filter(|h| h.site == stuck_site).count();
    let stuck: Vec<usize> = if cfg.planted {
        (0..n).filter(|&i| hosts[i].site == stuck_site).collect()
    } else {
        sample(&mut rng, (0..n).collect(), stuck_count)
    };
    for &i in &stuck {
        hosts[i].line = &builds::EX2019_CU13;
        // CU13 is validated up to .NET 4.8.
        hosts[i].dotnet = DOTNET_48;
    }
    if cfg.planted {
        truth.stuck_site = Some((
            stuck_site.to_string(),
            stuck.iter().map(|&i| hosts[i].name.clone()).collect(),
        ));
    }

    // The wave: every CU15 server updates within five days, in the small hours.
    let cu15: Vec<usize> = (0..n).filter(|&i| hosts[i].line.cu == "CU15").collect();
    for &i in &cu15 {
        let day = wave_day + rng.random_range(0..5);
        let at = first_day + day as i64 * DAY_MS + HOUR_MS + rng.random_range(0..120) * MINUTE_MS;
        hosts[i].update_ms = Some(at);
    }
    let on_481: Vec<usize> = cu15
        .iter()
        .copied()
        .filter(|&i| hosts[i].dotnet == DOTNET_481)
        .collect();
    let failed: Vec<usize> = if cfg.planted {
        on_481
    } else {
        sample(&mut rng, cu15.clone(), on_481.len())
    };
    for &i in &failed {
        hosts[i].update_failed = true;
    }
    truth.failed = failed.iter().map(|&i| hosts[i].name.clone()).collect();

    // 1309s: a fifth of the updated servers (at least three), within the hour after their
    // update; shuffled, as many servers, from any moment of the period.
    let updated: Vec<usize> = cu15
        .iter()
        .copied()
        .filter(|&i| !hosts[i].update_failed)
        .collect();
    let erroring = (updated.len() / 5).max(3).min(updated.len());
    if cfg.planted {
        for i in sample(&mut rng, updated.clone(), erroring) {
            let at = hosts[i].update_ms.unwrap_or(first_day) + rng.random_range(5..60) * MINUTE_MS;
            hosts[i].errors_from_ms = Some(at);
            truth.errors_after_update.push(hosts[i].name.clone());
        }
    } else {
        let span = (cfg.days as i64 - 2) * DAY_MS;
        for i in sample(&mut rng, (0..n).collect(), erroring) {
            hosts[i].errors_from_ms = Some(first_day + rng.random_range(0..span.max(1)));
        }
    }

    // Customized OWA web.configs on two updated servers.
    for i in sample(&mut rng, updated, 2) {
        hosts[i].customized = true;
        hosts[i].keeps_customization = !cfg.planted;
        if cfg.planted {
            truth.customization_lost.push(hosts[i].name.clone());
        }
    }

    if cfg.planted && cfg.days > 12 {
        let i = rng.random_range(0..n);
        hosts[i].silent_from_day = Some(cfg.days - 11);
        truth.silent = Some(hosts[i].name.clone());
    }
    // Indicators on an updated server, from five days before its update (a generator of its
    // own: the draws above stay as they were).
    let mut ioc_rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x10c);
    let reporting: Vec<usize> = (0..n)
        .filter(|&i| hosts[i].silent_from_day.is_none())
        .collect();
    let updated_reporting: Vec<usize> = reporting
        .iter()
        .copied()
        .filter(|&i| hosts[i].update_ms.is_some() && !hosts[i].update_failed)
        .collect();
    if cfg.planted && cfg.days > 12 && updated_reporting.len() >= 2 {
        let i = updated_reporting[ioc_rng.random_range(0..updated_reporting.len())];
        let update = hosts[i].update_ms.unwrap_or(first_day);
        let from = update - 5 * DAY_MS + ioc_rng.random_range(0..60) * MINUTE_MS;
        hosts[i].compromised_from_ms = Some(from);
        let line = hosts[i].line;
        truth.compromised = Some((
            hosts[i].name.clone(),
            from,
            text(line.build(Some(line.latest() - 1))),
            text(line.build(Some(line.latest()))),
        ));
        let others: Vec<usize> = reporting.iter().copied().filter(|&j| j != i).collect();
        let late = others[ioc_rng.random_range(0..others.len())];
        hosts[late].scans_from_day = ((from - first_day) / DAY_MS + 2) as usize;
        truth.late_scan = Some(hosts[late].name.clone());
    }
    truth.errors_after_update.sort();
    truth.failed.sort();
    truth.customization_lost.sort();
    (hosts, truth)
}

fn sample(rng: &mut ChaCha8Rng, mut from: Vec<usize>, k: usize) -> Vec<usize> {
    from.shuffle(rng);
    from.truncate(k);
    from.sort();
    from
}

/// The snapshots of day `day` (0 = the first), one per reporting server.
pub fn day(cfg: &HistoryConfig, hosts: &[HistoryHost], day: usize) -> Vec<StoredSnapshot> {
    hosts
        .iter()
        .enumerate()
        .filter(|(_, h)| h.silent_from_day.is_none_or(|last| day <= last))
        .map(|(i, h)| snapshot(cfg, h, i, day))
        .collect()
}

/// When server `i` is collected on day `day`: 06:00 UTC plus a few minutes per server.
fn collected_at(cfg: &HistoryConfig, i: usize, day: usize) -> i64 {
    let first_day = cfg.last_day_ms - (cfg.days as i64 - 1) * DAY_MS;
    first_day + day as i64 * DAY_MS + 6 * HOUR_MS + (i as i64 % 90) * MINUTE_MS
}

fn snapshot(cfg: &HistoryConfig, h: &HistoryHost, i: usize, day: usize) -> StoredSnapshot {
    let at = collected_at(cfg, i, day);
    let since = if day == 0 {
        at - DAY_MS
    } else {
        collected_at(cfg, i, day - 1)
    };
    let updated = h.update_ms.is_some_and(|u| u <= at) && !h.update_failed;
    let line = h.line;
    let update = if updated {
        line.latest()
    } else if line.cu == "CU15" {
        line.latest() - 1
    } else {
        line.latest()
    };
    let build = line.build(Some(update));
    let (_, _, kb, date) = line.updates[update];
    let reg = |key: &str, value: &str| Provenance {
        reader: "software_hive".into(),
        path: r"Windows\System32\config\SOFTWARE".into(),
        locator: Some(Locator::RegValue(exfleet_proto::v1::RegValue {
            key: key.into(),
            value: value.into(),
        })),
    };
    let mut s = Snapshot {
        snapshot_id: format!("{:016x}-{:04}-{:06}", cfg.seed, day, i),
        host: Some(HostIdentity {
            computer_name: h.name.clone(),
            dns_hostname: h.name.to_lowercase(),
            dns_domain: "contoso.local".into(),
            ad_site: h.site.into(),
            provenance: None,
        }),
        collector_version: "history".into(),
        collected_at_ms: at,
        labels: Some(HostLabels {
            dag: h.dag.clone(),
            role_group: "mailbox".into(),
            owner: h.owner.into(),
            extra: Default::default(),
        }),
        platform: Some(Platform {
            os_product_name: h.os.0.into(),
            os_current_build: h.os.1.into(),
            os_ubr: h.os.2,
            dotnet_release: h.dotnet,
            ansi_code_page: "1252".into(),
            time_zone: "UTC".into(),
            provenance: vec![reg(
                r"HKLM\SOFTWARE\Microsoft\NET Framework Setup\NDP\v4\Full",
                "Release",
            )],
            ..Default::default()
        }),
        exchange: Some(ExchangeInstall {
            setup_key: "v15".into(),
            install_path: r"C:\Program Files\Microsoft\Exchange Server\V15\".into(),
            msi_version: text(line.base),
            owa_version: text(build),
            provenance: Some(reg(
                r"HKLM\SOFTWARE\Microsoft\ExchangeServer\v15\Setup",
                "MsiInstallPath",
            )),
        }),
        exsetup: Some(FileVersion {
            path: r"C:\Program Files\Microsoft\Exchange Server\V15\Bin\ExSetup.exe".into(),
            fixed_version: text(build),
            string_version: format!(
                "{}.{:02}.{:04}.{:03}",
                build[0], build[1], build[2], build[3]
            ),
            product_version: text(build),
            provenance: None,
        }),
        installed_updates: vec![InstalledUpdate {
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
        }],
        exchange_files: Some(ExchangeFiles {
            front_end_present: true,
            client_access_present: true,
            config_files: vec![owa_web_config(h, build, updated)],
            install_path: r"C:\Program Files\Microsoft\Exchange Server\V15\".into(),
            ..Default::default()
        }),
        events_since_ms: since,
        ..Default::default()
    };
    s.events = events(h, since, at);
    if day >= h.scans_from_day {
        indicators(&mut s, h, day == h.scans_from_day, since, at);
    }
    if let Some(u) = h.update_ms.filter(|&u| h.update_failed && u <= at) {
        s.msi_logs.push(failed_msi_log(h, u));
    }
    StoredSnapshot {
        snapshot: Some(s),
        collector_id: h.name.to_lowercase(),
        received_at_ms: at + 2_000,
        ..Default::default()
    }
}

/// What a daily indicator scan ships: the coverage of the HttpProxy and IIS log scans (on
/// its first scan the logs reach back 30 days, or one day on the server that scans late; then
/// the bytes written since the previous scan), and the CVE-2022-41040 matches written since.
fn indicators(s: &mut Snapshot, h: &HistoryHost, first: bool, since: i64, at: i64) {
    let oldest = if !first {
        since
    } else if h.scans_from_day > 0 {
        at - DAY_MS
    } else {
        at - 30 * DAY_MS
    };
    let mut matches = Vec::new();
    if let Some(from) = h.compromised_from_ms {
        // One request a day at the same minute, from the first on.
        let mut t = from;
        while t <= at {
            if t > since || (first && t >= oldest) {
                matches.push(exfleet_proto::v1::IocMatch {
                    indicator: "cve_2022_41040".into(),
                    file: format!(r"C:\inetpub\logs\LogFiles\W3SVC1\u_ex{}.log", day_name(t)),
                    line: 5,
                    time_ms: t,
                    client_ip: "192.0.2.41".into(),
                    url: "/autodiscover/autodiscover.json".into(),
                    status: "200".into(),
                    detail: "@evil.example/powershell".into(),
                    provenance: Some(Provenance {
                        reader: "ioc".into(),
                        path: format!(r"inetpub\logs\LogFiles\W3SVC1\u_ex{}.log", day_name(t)),
                        locator: None,
                    }),
                    ..Default::default()
                });
            }
            t += DAY_MS;
        }
    }
    for kind in ["cve_2021_26855", "cve_2022_41040"] {
        let n = matches.iter().filter(|m| m.indicator == kind).count() as u64;
        s.ioc_scans.push(exfleet_proto::v1::IocScan {
            indicator: kind.into(),
            files: 10,
            bytes: 1 << 20,
            matches: n,
            overflow: 0,
            oldest_ms: oldest,
            newest_ms: at,
            folder: String::new(),
        });
    }
    s.ioc_matches = matches;
}

/// `yyMMdd` of a time, as IIS names its daily logs.
fn day_name(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%y%m%d").to_string())
        .unwrap_or_default()
}

/// OWA's web.config: the stock file of the build, or a customized one. A customization is
/// lost in an update when planted, and kept (re-applied) when shuffled.
fn owa_web_config(h: &HistoryHost, build: [u16; 4], updated: bool) -> ConfigFile {
    let stock = format!("stock OWA web.config of {}", text(build));
    let content = if h.customized && (!updated || h.keeps_customization) {
        format!(
            "{stock} with {}'s forms-based authentication settings",
            h.name
        )
    } else {
        stock
    };
    ConfigFile {
        path: OWA_WEB_CONFIG.into(),
        kind: "web_config".into(),
        exists: true,
        sha256: sha256_hex(content.as_bytes()),
        provenance: Some(Provenance {
            reader: "exchange_files".into(),
            path: format!(r"Program Files\Microsoft\Exchange Server\V15\{OWA_WEB_CONFIG}"),
            locator: None,
        }),
        ..Default::default()
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn failed_msi_log(h: &HistoryHost, at: i64) -> MsiLog {
    let line = h.line;
    let kb = line.updates[line.latest()].2;
    MsiLog {
        started_at_ms: at,
        header_time: String::new(),
        patch: format!(r"C:\Patches\Exchange2019-{kb}-x64-en.msp"),
        update_name: line.package_name(line.latest()),
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
    }
}

/// The events of (since, until]: the update's MsiInstaller event, and 1309s every three
/// hours once they began.
fn events(h: &HistoryHost, since: i64, until: i64) -> Vec<Event> {
    let mut out = Vec::new();
    let within = |t: i64| t > since && t <= until;
    let event = |provider: &str, id: u32, level: u32, t: i64, data: Vec<&str>| {
        let record = (t / MINUTE_MS) as u64;
        let log = if provider == "MsiInstaller" || provider.starts_with("ASP.NET") {
            "Application"
        } else {
            "System"
        };
        let mut e = Event {
            log: log.into(),
            provider: provider.into(),
            event_id: id,
            record_id: record,
            time_ms: t,
            level,
            data: data
                .into_iter()
                .map(|v| EventDatum {
                    name: String::new(),
                    value: v.into(),
                })
                .collect(),
            binary: String::new(),
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
    if let Some(u) = h.update_ms.filter(|&u| within(u)) {
        let package = h.line.package_name(h.line.latest());
        if h.update_failed {
            out.push(event(
                "MsiInstaller",
                1023,
                2,
                u,
                vec!["Microsoft Exchange Server", &package, "1603"],
            ));
        } else {
            out.push(event(
                "MsiInstaller",
                1022,
                4,
                u,
                vec!["Microsoft Exchange Server", &package],
            ));
        }
    }
    if let Some(from) = h.errors_from_ms {
        let mut t = from;
        while t <= until {
            if within(t) {
                out.push(event(
                    "ASP.NET 4.0.30319.0",
                    1309,
                    3,
                    t,
                    vec![
                        "3005",
                        "An unhandled exception has occurred.",
                        "/LM/W3SVC/1/ROOT/owa",
                        "FileNotFoundException",
                        "Could not load file or assembly 'Microsoft.Exchange.Clients.Owa2.Server'",
                    ],
                ));
            }
            t += 3 * HOUR_MS;
        }
    }
    out
}
