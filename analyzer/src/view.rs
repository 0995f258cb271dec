//! The typed view of one host that rules read: its latest snapshot (as of the analysis
//! time), the dataset's typed rows grouped by host, runs with their lines. Rules never read
//! files or frames.

use std::collections::HashMap;
use std::ops::Deref;

use exfleet_dataset::{
    BindingKind, BindingRow, BuildRow, CertificateRow, ConfigFileRow, EventRow, HostRow,
    IisLocationRow, MsiLineRow, MsiLogRow, PendingRebootRow, Row, ScActionRow, ScRunRow,
    ServiceRow, ServiceStateRow, SetupLineRow, SetupRunRow, StateFileRow, UpdateRow, VdirRow,
};
use exfleet_proto::v1::setup_run::Outcome;
use polars::prelude::*;

use crate::catalog::Build;
use crate::input::Frames;

/// A cut-off run shorter than this (in log lines) stopped before it did anything: a real
/// run logs its banner, parameters and domain controller choice in its first hundred lines.
pub const SHORT_RUN_LINES: i64 = 40;

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
    // Issue 22 (Extended Protection, certificates), begin.
    /// `<location>` elements of applicationHost.config, in file order.
    pub iis_locations: Vec<IisLocationRow>,
    /// Certificates of LocalMachine\My.
    pub certificates: Vec<CertificateRow>,
    // Issue 22, end.
}

impl Deref for HostView {
    type Target = HostRow;
    fn deref(&self) -> &HostRow {
        &self.facts
    }
}

impl HostView {
    /// The setup run the setup rules judge: the last one, unless it was cut off after a few
    /// lines (setup started and stopped at once: it changed nothing), in which case the run
    /// before it tells how the server stands.
    pub fn last_run(&self) -> Option<&Run> {
        let last = self.runs.last()?;
        let stub = last.outcome == Outcome::CutOff
            && last.line_count > 0
            && last.line_count < SHORT_RUN_LINES;
        match self.runs.len() {
            n if stub && n > 1 => self.runs.get(n - 2),
            _ => Some(last),
        }
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
    let mut iis_locations = BySnapshot::<IisLocationRow>::read(&frames.iis_locations)?;
    let mut certificates = BySnapshot::<CertificateRow>::read(&frames.certificates)?;
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
        v.iis_locations = iis_locations.take(&id);
        v.certificates = certificates.take(&id);
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
