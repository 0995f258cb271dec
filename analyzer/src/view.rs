//! The typed view of one host that rules read: its latest snapshot (as of the analysis
//! time), the dataset's typed rows grouped by host, runs with their lines. Rules never read
//! files or frames.

use std::collections::HashMap;
use std::ops::Deref;

use exfleet_dataset::{
    BindingKind, BindingRow, BuildRow, CertificateRow, CollectionErrorRow, ConfigFileRow, EventRow,
    HostRow, IisLocationRow, InstallerPackageRow, IocMatchRow, IocScanRow, MsiLineRow, MsiLogRow,
    PendingRebootRow, ProgramRow, Row, ScActionRow, ScRunRow, ServiceRow, ServiceStateRow,
    SettingRow, SetupLineRow, SetupRunRow, StateFileRow, UpdateRow, VdirRow,
};
use exfleet_proto::kinds::EventKind;
use polars::prelude::*;

use crate::catalog::Build;
use crate::input::Frames;

/// A setup run of ExchangeSetup.log with its lines that matter, in log order.
#[derive(Debug, Clone, Default)]
pub struct Run {
    /// The run.
    pub run: SetupRunRow,
    /// Its lines that matter, in log order.
    pub lines: Vec<SetupLineRow>,
}

impl Deref for Run {
    type Target = SetupRunRow;
    fn deref(&self) -> &SetupRunRow {
        &self.run
    }
}

/// A ServiceControl.ps1 run with its actions, in log order.
#[derive(Debug, Clone, Default)]
pub struct ScRun {
    /// The run.
    pub run: ScRunRow,
    /// What it did, in log order.
    pub actions: Vec<ScActionRow>,
}

impl Deref for ScRun {
    type Target = ScRunRow;
    fn deref(&self) -> &ScRunRow {
        &self.run
    }
}

/// An MSI verbose log of an SU install with its lines that matter, in log order.
#[derive(Debug, Clone, Default)]
pub struct MsiLog {
    /// The log.
    pub log: MsiLogRow,
    /// Its lines that matter.
    pub lines: Vec<MsiLineRow>,
}

impl Deref for MsiLog {
    type Target = MsiLogRow;
    fn deref(&self) -> &MsiLogRow {
        &self.log
    }
}

/// Everything rules know about one host. Derefs to its `hosts` row (identity, labels,
/// platform, the install's files).
#[derive(Debug, Clone, Default)]
pub struct HostView {
    /// NetBIOS name.
    pub host: String,
    /// Snapshot the view comes from.
    pub snapshot_id: String,
    /// Collection time (UTC ms).
    pub collected_at_ms: i64,
    /// The snapshot's `hosts` row.
    pub facts: HostRow,
    /// ExSetup.exe's build: the running build.
    pub exsetup: Option<Build>,
    /// Where ExSetup.exe was read.
    pub exsetup_provenance: String,
    /// The CU build the registry's Msi* values record.
    pub msi: Option<Build>,
    /// Where the setup key was read.
    pub msi_provenance: String,
    /// Role keys (`builds` rows of source `role:<component>`).
    pub roles: Vec<BuildRow>,
    /// Installed updates.
    pub updates: Vec<UpdateRow>,
    /// Setup runs in log order.
    pub runs: Vec<Run>,
    /// HTTP.sys TLS bindings.
    pub tls_bindings: Vec<BindingRow>,
    /// IIS site bindings.
    pub site_bindings: Vec<BindingRow>,
    /// Service keys.
    pub services: Vec<ServiceRow>,
    /// ServiceControl.ps1 runs in log order.
    pub sc_runs: Vec<ScRun>,
    /// Saved service-state files left behind.
    pub state_files: Vec<StateFileRow>,
    /// MSI verbose logs, in path order.
    pub msi_logs: Vec<MsiLog>,
    /// Reboot-pending indicators.
    pub pending_reboots: Vec<PendingRebootRow>,
    /// Events that matter, in time order.
    pub events: Vec<EventRow>,
    /// Running state of services (empty = not captured: unknown).
    pub run_states: Vec<ServiceStateRow>,
    /// IIS virtual directories.
    pub vdirs: Vec<VdirRow>,
    /// Config files OWA and ECP need.
    pub config_files: Vec<ConfigFileRow>,
    /// ExchangeSetup.log as the reference reviewer reads it, computed once by the first setup
    /// rule that asks.
    pub setup_review: std::sync::OnceLock<Option<crate::rules::setup::reviewer::Review>>,
    /// Registry values of the settings checks.
    pub settings: Vec<SettingRow>,
    /// What the collector could not read.
    pub errors: Vec<CollectionErrorRow>,
    /// `<location>` elements of applicationHost.config, in file order.
    pub iis_locations: Vec<IisLocationRow>,
    /// Certificates of LocalMachine\My.
    pub certificates: Vec<CertificateRow>,
    /// Programs and Features (the 64-bit Uninstall key).
    pub programs: Vec<ProgramRow>,
    /// Windows Installer's products and patches, with their cached packages.
    pub installer_packages: Vec<InstallerPackageRow>,
    /// Matches of the indicators of compromise, in time order.
    pub ioc_matches: Vec<IocMatchRow>,
    /// What each indicator's scan covered.
    pub ioc_scans: Vec<IocScanRow>,
    /// The build the host ran at each of its snapshots up to the analysis, oldest first (the
    /// latest included; empty when the view was not built from a history).
    pub build_history: Vec<BuildAt>,
}

/// The build one snapshot of a host showed.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildAt {
    /// When the snapshot was collected, UTC ms.
    pub collected_at_ms: i64,
    /// ExSetup's build (`None`: not read).
    pub build: Option<Build>,
    /// The snapshot.
    pub snapshot_id: String,
}

impl HostView {
    /// The build the host ran at `at_ms`: that of its last snapshot collected at or before
    /// then (`None`: no snapshot is that old, the build then is unknown).
    pub fn build_at(&self, at_ms: i64) -> Option<BuildAt> {
        let own = [BuildAt {
            collected_at_ms: self.collected_at_ms,
            build: self.exsetup,
            snapshot_id: self.snapshot_id.clone(),
        }];
        let history = if self.build_history.is_empty() {
            &own[..]
        } else {
            &self.build_history[..]
        };
        history
            .iter()
            .filter(|b| b.collected_at_ms <= at_ms)
            .max_by_key(|b| b.collected_at_ms)
            .cloned()
    }
}

/// Collection errors after which a hive's settings cannot be taken as complete: an absent
/// value may only be unread.
pub const UNCLEAN_HIVE: [&str; 5] = [
    "access_denied",
    "damaged_hive",
    "malformed_hive",
    "unreadable_key",
    "limit_reached",
];

impl HostView {
    /// A registry value of the settings checks: key and name compare without regard to case,
    /// as Windows compares them.
    pub fn setting(&self, key: &str, name: &str) -> Option<&SettingRow> {
        self.settings
            .iter()
            .find(|s| s.reg_key.eq_ignore_ascii_case(key) && s.name.eq_ignore_ascii_case(name))
    }

    /// The first error that makes `reader`'s hive incomplete (`system_hive`, `software_hive`):
    /// rules that read an absent value as "not set" do not judge such a hive.
    pub fn hive_unclean(&self, reader: &str) -> Option<&CollectionErrorRow> {
        self.errors
            .iter()
            .find(|e| e.reader == reader && UNCLEAN_HIVE.contains(&e.kind.as_str()))
    }

    /// Lsa `SuppressExtendedProtection` when it is set non-zero, with where it was read: read
    /// as a number whatever its registry type, as HealthChecker reads it.
    pub fn suppress_extended_protection(&self) -> Option<(i64, String)> {
        self.setting(
            r"HKLM\SYSTEM\CurrentControlSet\Control\Lsa",
            "SuppressExtendedProtection",
        )
        .and_then(|s| {
            s.data
                .trim()
                .parse::<i64>()
                .ok()
                .map(|v| (v, s.provenance.clone()))
        })
        .filter(|(v, _)| *v != 0)
    }

    /// Whether the server runs the Edge Transport role (its role key).
    pub fn is_edge(&self) -> bool {
        self.roles.iter().any(|r| {
            r.role()
                .is_some_and(|x| x.eq_ignore_ascii_case("EdgeTransportRole"))
        })
    }

    /// Whether the settings hold any value of `key` or below it: the key was collected.
    pub fn has_settings_under(&self, key: &str) -> bool {
        let key = key.to_ascii_lowercase();
        self.settings
            .iter()
            .any(|s| s.reg_key.to_ascii_lowercase().starts_with(&key))
    }
}

impl Deref for HostView {
    type Target = HostRow;
    fn deref(&self) -> &HostRow {
        &self.facts
    }
}

impl HostView {
    /// The setup run the setup rules judge, selected as the reference reviewer selects it
    /// ([`Scope::new`](crate::rules::setup::reviewer::Scope::new)): the last one, unless fewer
    /// than 30 lines follow its start (setup started and stopped at once: it changed nothing)
    /// and the one before started less than 30 days before it.
    pub fn last_run(&self) -> Option<&Run> {
        crate::rules::setup::reviewer::Scope::new(self).map(|s| s.run)
    }

    /// MSI logs of installs that did not succeed and were not followed by a successful one:
    /// failures that still stand.
    pub fn standing_msi_failures(&self) -> Vec<&MsiLog> {
        let last_success = self
            .msi_logs
            .iter()
            .filter(|l| l.succeeded())
            .map(|l| l.started_at_ms)
            .max()
            .unwrap_or(i64::MIN);
        self.msi_logs
            .iter()
            .filter(|l| !l.succeeded() && l.result() > 0 && l.started_at_ms > last_success)
            .collect()
    }
}

/// An update run as the host's evidence shows it: an install event of the event logs, a
/// setup run of ExchangeSetup.log, or an MSI verbose log.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateRun {
    /// When it ran (UTC ms).
    pub at_ms: i64,
    /// What it was, in words ("MsiInstaller 1022 Security Update ... (KB5041552)").
    pub what: String,
    /// Where it is recorded.
    pub provenance: String,
    /// A Defender definition update (Windows Update installs several a day): it replaces no
    /// binary of Windows or Exchange.
    pub definition_update: bool,
}

/// How Windows Update names Defender definition updates ("Security Intelligence Update for
/// Microsoft Defender Antivirus - KB2267602 ...", formerly "Definition Update for ...").
pub const DEFINITION_UPDATES: [&str; 2] = ["Security Intelligence Update", "Definition Update"];

/// Whether an update's name is a Defender definition update.
pub fn definition_update(name: &str) -> bool {
    DEFINITION_UPDATES.iter().any(|p| name.starts_with(p))
}

impl HostView {
    /// Events of `kinds`, in time order.
    pub fn events_of<'a>(&'a self, kinds: &'a [EventKind]) -> impl Iterator<Item = &'a EventRow> {
        self.events.iter().filter(|e| kinds.contains(&e.kind))
    }

    /// Boots: EventLog 6005 and Kernel-General 12 (both are logged at each start).
    pub fn boots(&self) -> impl Iterator<Item = &EventRow> {
        self.events_of(&[EventKind::Boot])
    }

    /// The host's update runs, oldest first: install events (MsiInstaller, Windows Update),
    /// setup runs and MSI logs.
    pub fn update_runs(&self) -> Vec<UpdateRun> {
        let mut out: Vec<UpdateRun> = self
            .events_of(&[EventKind::UpdateInstalled, EventKind::UpdateFailed])
            .map(|e| UpdateRun {
                at_ms: e.time_ms,
                what: format!("{} {} {}", e.provider, e.event_id, e.subject),
                provenance: e.provenance.clone(),
                definition_update: definition_update(&e.subject),
            })
            .chain(self.runs.iter().map(|r| UpdateRun {
                at_ms: r.started_at_ms,
                what: format!("setup run {}", r.setup_version),
                provenance: r.provenance.clone(),
                definition_update: false,
            }))
            .chain(self.msi_logs.iter().map(|l| UpdateRun {
                at_ms: l.started_at_ms,
                what: format!("MSI log of {}", l.patch),
                provenance: l.provenance.clone(),
                definition_update: false,
            }))
            .filter(|u| u.at_ms > 0)
            .collect();
        out.sort_by_key(|u| u.at_ms);
        out
    }
}

/// A table's rows grouped by snapshot id.
struct BySnapshot<R>(HashMap<String, Vec<R>>);

impl<R: Row> BySnapshot<R> {
    fn read(df: &DataFrame) -> PolarsResult<Self> {
        let mut out: HashMap<String, Vec<R>> = HashMap::new();
        for r in R::read(df)? {
            out.entry(key_of(&r)).or_default().push(r);
        }
        Ok(BySnapshot(out))
    }

    fn take(&mut self, id: &str) -> Vec<R> {
        self.0.remove(id).unwrap_or_default()
    }
}

fn key_of<R: Row>(r: &R) -> String {
    r.key().snapshot_id.clone()
}

/// Builds the view of every host in `frames` (one per row of `hosts`).
pub fn host_views(frames: &Frames) -> PolarsResult<Vec<HostView>> {
    let mut builds = BySnapshot::<BuildRow>::read(&frames.builds)?;
    let mut updates = BySnapshot::<UpdateRow>::read(&frames.installed_updates)?;
    let mut runs = BySnapshot::<SetupRunRow>::read(&frames.setup_runs)?;
    let mut lines = BySnapshot::<SetupLineRow>::read(&frames.setup_lines)?;
    let mut bindings = BySnapshot::<BindingRow>::read(&frames.bindings)?;
    let mut services = BySnapshot::<ServiceRow>::read(&frames.services)?;
    let mut sc_runs = BySnapshot::<ScRunRow>::read(&frames.service_control_runs)?;
    let mut sc_actions = BySnapshot::<ScActionRow>::read(&frames.service_control_actions)?;
    let mut state_files = BySnapshot::<StateFileRow>::read(&frames.service_state_files)?;
    let mut msi_logs = BySnapshot::<MsiLogRow>::read(&frames.msi_logs)?;
    let mut msi_lines = BySnapshot::<MsiLineRow>::read(&frames.msi_lines)?;
    let mut pending = BySnapshot::<PendingRebootRow>::read(&frames.pending_reboots)?;
    let mut events = BySnapshot::<EventRow>::read(&frames.events)?;
    let mut run_states = BySnapshot::<ServiceStateRow>::read(&frames.service_states)?;
    let mut vdirs = BySnapshot::<VdirRow>::read(&frames.iis_vdirs)?;
    let mut config_files = BySnapshot::<ConfigFileRow>::read(&frames.config_files)?;
    let mut settings = BySnapshot::<SettingRow>::read(&frames.registry_settings)?;
    let mut errors = BySnapshot::<CollectionErrorRow>::read(&frames.collection_errors)?;
    let mut iis_locations = BySnapshot::<IisLocationRow>::read(&frames.iis_locations)?;
    let mut certificates = BySnapshot::<CertificateRow>::read(&frames.certificates)?;
    let mut programs = BySnapshot::<ProgramRow>::read(&frames.installed_programs)?;
    let mut packages = BySnapshot::<InstallerPackageRow>::read(&frames.installer_packages)?;
    let mut ioc_matches = BySnapshot::<IocMatchRow>::read(&frames.ioc_matches)?;
    let mut ioc_scans = BySnapshot::<IocScanRow>::read(&frames.ioc_scans)?;
    let mut out = Vec::with_capacity(frames.hosts.height());
    for facts in HostRow::read(&frames.hosts)? {
        let id = facts.key.snapshot_id.clone();
        let mut v = HostView {
            host: facts.key.host.clone(),
            snapshot_id: id.clone(),
            collected_at_ms: facts.key.collected_at_ms,
            exsetup: Build::parse(&facts.exsetup_version),
            msi: Build::parse(&facts.msi_version),
            facts,
            ..Default::default()
        };
        for b in builds.take(&id) {
            match b.source.as_str() {
                "exsetup" => v.exsetup_provenance = b.provenance,
                "msi" => v.msi_provenance = b.provenance,
                _ if b.role().is_some() => v.roles.push(b),
                _ => {}
            }
        }
        v.updates = updates.take(&id);
        v.runs = nest(
            runs.take(&id),
            |r| r.run_index,
            lines.take(&id),
            |l| (l.run_index, l.line),
            |run, lines| Run { run, lines },
        );
        for b in bindings.take(&id) {
            match b.kind {
                BindingKind::HttpSys => v.tls_bindings.push(b),
                BindingKind::Iis => v.site_bindings.push(b),
            }
        }
        v.services = services.take(&id);
        v.sc_runs = nest(
            sc_runs.take(&id),
            |r| r.run_index,
            sc_actions.take(&id),
            |a| (a.run_index, a.line),
            |run, actions| ScRun { run, actions },
        );
        v.state_files = state_files.take(&id);
        v.msi_logs = nest(
            msi_logs.take(&id),
            |l| l.log_index,
            msi_lines.take(&id),
            |l| (l.log_index, l.line),
            |log, lines| MsiLog { log, lines },
        );
        v.pending_reboots = pending.take(&id);
        v.events = events.take(&id);
        v.events.sort_by_key(|e| (e.time_ms, e.record_id));
        v.run_states = run_states.take(&id);
        v.vdirs = vdirs.take(&id);
        v.config_files = config_files.take(&id);
        v.settings = settings.take(&id);
        v.errors = errors.take(&id);
        v.iis_locations = iis_locations.take(&id);
        v.certificates = certificates.take(&id);
        v.programs = programs.take(&id);
        v.installer_packages = packages.take(&id);
        v.ioc_matches = ioc_matches.take(&id);
        v.ioc_matches.sort_by_key(|m| (m.time_ms, m.line));
        v.ioc_scans = ioc_scans.take(&id);
        out.push(v);
    }
    Ok(out)
}

/// Parents (runs, logs) in index order, each with its children (lines, actions) in line
/// order.
fn nest<P, C, T>(
    mut parents: Vec<P>,
    index: impl Fn(&P) -> i64,
    mut children: Vec<C>,
    child_key: impl Fn(&C) -> (i64, i64),
    make: impl Fn(P, Vec<C>) -> T,
) -> Vec<T> {
    parents.sort_by_key(&index);
    children.sort_by_key(&child_key);
    let mut by_parent: HashMap<i64, Vec<C>> = HashMap::new();
    for c in children {
        by_parent.entry(child_key(&c).0).or_default().push(c);
    }
    parents
        .into_iter()
        .map(|p| {
            let kids = by_parent.remove(&index(&p)).unwrap_or_default();
            make(p, kids)
        })
        .collect()
}

/// Events for the rules' unit tests.
#[cfg(test)]
pub(crate) mod test_events {
    use exfleet_dataset::EventRow;
    use exfleet_proto::kinds::EventKind;

    /// An hour, in ms.
    pub const HOUR: i64 = 3_600_000;
    /// When the updates of the tests run.
    pub const T0: i64 = 1_792_575_000_000;

    /// An event of `kind` from `provider` `id`, `hours` after [`T0`], about `subject`.
    pub fn event(provider: &str, id: i64, kind: EventKind, hours: f64, subject: &str) -> EventRow {
        EventRow {
            provider: provider.into(),
            event_id: id,
            kind,
            time_ms: T0 + (hours * HOUR as f64) as i64,
            subject: subject.into(),
            kb: exfleet_collector::readers::event_log::facts::kb(subject),
            result_code: -1,
            provenance: format!("System.evtx#record {}", (hours * 10.0) as i64 + 1000),
            ..Default::default()
        }
    }

    /// The same with a result code.
    pub fn with_code(mut e: EventRow, code: i64) -> EventRow {
        e.result_code = code;
        e
    }
}

#[cfg(test)]
pub(crate) mod test_settings {
    use exfleet_dataset::SettingRow;

    /// Lsa SuppressExtendedProtection as the collector keeps it.
    pub(crate) fn lsa_suppress(value: u32) -> SettingRow {
        SettingRow {
            reg_key: r"HKLM\SYSTEM\CurrentControlSet\Control\Lsa".into(),
            name: "SuppressExtendedProtection".into(),
            reg_type: "REG_DWORD".into(),
            data: value.to_string(),
            provenance: r"Windows/System32/config/SYSTEM#HKLM\SYSTEM\ControlSet001\Control\Lsa\SuppressExtendedProtection".into(),
            ..Default::default()
        }
    }
}
