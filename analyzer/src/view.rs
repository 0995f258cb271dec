//! The typed view of one host that rules read: its latest snapshot (as of the analysis
//! time), flattened from the dataset tables. Rules never read files.

use std::collections::HashMap;

use polars::prelude::*;

use crate::catalog::Build;
use crate::input::Frames;

/// A cut-off run shorter than this (in log lines) stopped before it did anything: a real
/// run logs its banner, parameters and domain controller choice in its first hundred lines.
pub const SHORT_RUN_LINES: i64 = 40;

/// An installed-update key.
#[derive(Debug, Clone, Default)]
pub struct Update {
    /// Updates folder ("Exchange 2019").
    pub product: String,
    /// KB.
    pub kb: String,
    /// PackageName (names the targeted CU).
    pub package_name: String,
    /// Where it was read.
    pub provenance: String,
}

/// A role key's setup state.
#[derive(Debug, Clone, Default)]
pub struct Role {
    /// Component key ("MailboxRole").
    pub component: String,
    /// ConfiguredVersion.
    pub version: String,
    /// Leftover Watermark.
    pub watermark: String,
    /// Action of the watermark.
    pub action: String,
    /// Where it was read.
    pub provenance: String,
}

/// A line that matters of a setup run.
#[derive(Debug, Clone, Default)]
pub struct LogLine {
    /// Line number.
    pub line: i64,
    /// `error`, `error_reference`, `warning`, `failed_rule`, `rule_true`, `setting`, `required`, `fact`.
    pub kind: String,
    /// Component of the error's [ERROR-REFERENCE].
    pub component: String,
    /// The text after the prefix.
    pub text: String,
    /// Continuation lines, newline-joined.
    pub continuation: String,
    /// For errors: the task setup was running.
    pub task: String,
}

/// A setup run.
#[derive(Debug, Clone, Default)]
pub struct Run {
    /// Setup version.
    pub setup_version: String,
    /// Mode.
    pub mode: String,
    /// Locally installed version before the run.
    pub previous_version: String,
    /// /sourcedir.
    pub source_dir: String,
    /// Logged-on user.
    pub user: String,
    /// Start (UTC ms).
    pub started_at_ms: i64,
    /// First and last line.
    pub start_line: i64,
    /// Last line (0 = no end).
    pub end_line: i64,
    /// `succeeded`, `failed`, `ended_unknown`, `cut_off`.
    pub outcome: String,
    /// `[ERROR]` lines.
    pub error_count: i64,
    /// First `[ERROR]` line number and text.
    pub first_error_line: i64,
    /// Text of the first error.
    pub first_error: String,
    /// Where the run starts.
    pub provenance: String,
    /// "The backup copy of the previously installed version".
    pub backup_version: String,
    /// The lines that matter, in log order.
    pub lines: Vec<LogLine>,
    /// Lines of the log the run spans (0 = not known).
    pub line_count: i64,
}

/// An HTTP.sys TLS binding.
#[derive(Debug, Clone, Default)]
pub struct TlsBinding {
    /// `0.0.0.0:444`.
    pub endpoint: String,
    /// Certificate thumbprint (empty = none).
    pub thumbprint: String,
    /// The certificate is in LocalMachine\My.
    pub in_store: bool,
    /// Its NotAfter (UTC ms).
    pub not_after_ms: i64,
    /// Where it was read.
    pub provenance: String,
}

/// An IIS site binding.
#[derive(Debug, Clone, Default)]
pub struct SiteBinding {
    /// Site name.
    pub site: String,
    /// Protocol.
    pub protocol: String,
    /// bindingInformation.
    pub endpoint: String,
    /// Where it was read.
    pub provenance: String,
}

/// A service key.
#[derive(Debug, Clone, Default)]
pub struct Service {
    /// Key name.
    pub name: String,
    /// Start type: 2 automatic, 3 manual, 4 disabled.
    pub start: i64,
    /// Where it was read.
    pub provenance: String,
}

/// An action of a ServiceControl.ps1 run.
#[derive(Debug, Clone, Default)]
pub struct ScAction {
    /// Line number.
    pub line: i64,
    /// UTC ms (0 = the run's date is unknown).
    pub time_ms: i64,
    /// `stop`, `kill`, `disable`, `enable_roles`, ... (DATASET.md).
    pub kind: String,
    /// Service key name.
    pub service: String,
    /// The line's text.
    pub text: String,
    /// Unprefixed lines after it.
    pub continuation: String,
}

/// A ServiceControl.ps1 run of ServiceControl.log.
#[derive(Debug, Clone, Default)]
pub struct ScRun {
    /// The header's local date and time as written.
    pub header_time: String,
    /// Start (UTC ms).
    pub started_at_ms: i64,
    /// First line.
    pub start_line: i64,
    /// `succeeded`, `errors`, `cut_off`.
    pub outcome: String,
    /// Where the run starts.
    pub provenance: String,
    /// What it did, in log order.
    pub actions: Vec<ScAction>,
}

/// A saved service-state file left in ExchangeSetupLogs.
#[derive(Debug, Clone, Default)]
pub struct StateFile {
    /// File name.
    pub name: String,
    /// Last write (UTC ms).
    pub modified_at_ms: i64,
    /// `name=start mode` pairs, comma-separated.
    pub services: String,
    /// Where it was read.
    pub provenance: String,
}

/// A line that matters of an MSI log.
#[derive(Debug, Clone, Default)]
pub struct MsiLine {
    /// Line number.
    pub line: i64,
    /// `not_applicable`, `error`, `failed_action`, `status`, `slow_action`.
    pub kind: String,
    /// Text.
    pub text: String,
    /// Slow actions: how long.
    pub duration_ms: i64,
}

/// An MSI verbose log of an SU install.
#[derive(Debug, Clone, Default)]
pub struct MsiLog {
    /// Local start as written.
    pub header_time: String,
    /// Start (UTC ms).
    pub started_at_ms: i64,
    /// The .msp.
    pub patch: String,
    /// The update's display name.
    pub update_name: String,
    /// "Error code N" (0 = none).
    pub error_code: i64,
    /// "Installation success or error status: N" (-1 = absent).
    pub install_status: i64,
    /// The installed product's version.
    pub product_version: String,
    /// The patch sequencer found the patch not applicable.
    pub not_applicable: bool,
    /// Where it was read.
    pub provenance: String,
    /// Its lines that matter.
    pub lines: Vec<MsiLine>,
}

impl MsiLog {
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

/// A reboot-pending indicator.
#[derive(Debug, Clone, Default)]
pub struct PendingReboot {
    /// `PendingFileRenameOperations`, `UpdateExeVolatile`, `RebootPending`, `RebootRequired`.
    pub indicator: String,
    /// The value found.
    pub detail: String,
    /// Where it was read.
    pub provenance: String,
}

/// An event of the Windows event logs that matters.
#[derive(Debug, Clone, Default)]
pub struct EventRec {
    /// `Application`, `System`.
    pub log: String,
    /// Provider (source).
    pub provider: String,
    /// Event id.
    pub event_id: i64,
    /// EventRecordID.
    pub record_id: i64,
    /// When written (UTC ms).
    pub time_ms: i64,
    /// EventData values in order.
    pub data: Vec<String>,
    /// Their names ("" for positional).
    pub names: Vec<String>,
    /// EventData/Binary, hex.
    pub binary: String,
    /// `path#record N`.
    pub provenance: String,
}

impl EventRec {
    /// The value of a named datum.
    pub fn named(&self, name: &str) -> Option<&str> {
        self.names
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

/// A service's running state from a saved capture.
#[derive(Debug, Clone, Default)]
pub struct RunState {
    /// Key name.
    pub name: String,
    /// `RUNNING`, `STOPPED`, ...
    pub state: String,
    /// WIN32_EXIT_CODE.
    pub exit_code: i64,
    /// Where it was read.
    pub provenance: String,
}

/// An IIS virtual directory.
#[derive(Debug, Clone, Default)]
pub struct Vdir {
    /// Site name.
    pub site: String,
    /// The application's path (`/owa`).
    pub app_path: String,
    /// The virtual directory inside it (`/`).
    pub vdir_path: String,
    /// physicalPath as written.
    pub physical_path: String,
    /// Where it was read.
    pub provenance: String,
}

/// A config file OWA and ECP need.
#[derive(Debug, Clone, Default)]
pub struct ConfigFileRec {
    /// Relative to the install root.
    pub path: String,
    /// `shared_web_config` or `web_config`.
    pub kind: String,
    /// Present in the copy.
    pub exists: bool,
    /// Not well-formed: why, with the line.
    pub xml_error: String,
    /// Lines with a literal %ExchangeInstallDir%.
    pub unexpanded_lines: Vec<i64>,
    /// The file.
    pub provenance: String,
}

/// The install's OWA/ECP files.
#[derive(Debug, Clone, Default)]
pub struct InstallFiles {
    /// FrontEnd\HttpProxy was in the copy.
    pub front_end_present: bool,
    /// ClientAccess was in the copy.
    pub client_access_present: bool,
    /// Version folders of ClientAccess\Owa\prem.
    pub owa_prem_versions: Vec<String>,
    /// Version folders of FrontEnd\HttpProxy\owa\auth.
    pub owa_auth_versions: Vec<String>,
    /// Version folders of ClientAccess\ecp.
    pub ecp_versions: Vec<String>,
    /// The ECP DLL's FileVersion.
    pub ecp_dll_version: String,
    /// Where they were looked at.
    pub provenance: String,
    /// Config files.
    pub config_files: Vec<ConfigFileRec>,
}

/// Everything rules know about one host.
#[derive(Debug, Clone, Default)]
pub struct HostView {
    /// NetBIOS name.
    pub host: String,
    /// Snapshot the view comes from.
    pub snapshot_id: String,
    /// Collection time (UTC ms).
    pub collected_at_ms: i64,
    /// Labels and site.
    pub dag: String,
    /// AD site.
    pub ad_site: String,
    /// Install root.
    pub install_path: String,
    /// ExSetup.exe's build (the running build), and where it was read.
    pub exsetup: Option<Build>,
    /// Provenance of ExSetup.exe.
    pub exsetup_provenance: String,
    /// The CU build the registry's Msi* values record.
    pub msi: Option<Build>,
    /// Provenance of the setup key.
    pub msi_provenance: String,
    /// Role keys.
    pub roles: Vec<Role>,
    /// Installed updates.
    pub updates: Vec<Update>,
    /// Setup runs in log order.
    pub runs: Vec<Run>,
    /// HTTP.sys TLS bindings.
    pub tls_bindings: Vec<TlsBinding>,
    /// IIS site bindings.
    pub site_bindings: Vec<SiteBinding>,
    /// Service keys.
    pub services: Vec<Service>,
    /// ServiceControl.ps1 runs in log order.
    pub sc_runs: Vec<ScRun>,
    /// Saved service-state files left behind.
    pub state_files: Vec<StateFile>,
    /// MSI verbose logs.
    pub msi_logs: Vec<MsiLog>,
    /// OS ProductName.
    pub os_product_name: String,
    /// OS CurrentBuild.
    pub os_current_build: String,
    /// .NET Framework 4 Release DWORD (0 = absent).
    pub dotnet_release: i64,
    /// Where it was read.
    pub dotnet_provenance: String,
    /// Reboot-pending indicators.
    pub pending_reboots: Vec<PendingReboot>,
    /// Events that matter, in time order.
    pub events: Vec<EventRec>,
    /// Running state of services (empty = not captured: unknown).
    pub run_states: Vec<RunState>,
    /// IIS virtual directories.
    pub vdirs: Vec<Vdir>,
    /// OwaVersion of the setup key.
    pub owa_version: String,
    /// The Exchange setup key (`v15`, `v14` for Exchange 2010).
    pub setup_key: String,
    /// ANSI code page (ACP).
    pub ansi_code_page: String,
    /// Where it was read.
    pub code_page_provenance: String,
    /// The install's OWA/ECP files.
    pub files: InstallFiles,
}

impl HostView {
    /// The setup run the setup rules judge: the last one, unless it was cut off after a few
    /// lines (setup started and stopped at once: it changed nothing), in which case the run
    /// before it tells how the server stands.
    pub fn last_run(&self) -> Option<&Run> {
        let last = self.runs.last()?;
        let stub =
            last.outcome == "cut_off" && last.line_count > 0 && last.line_count < SHORT_RUN_LINES;
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

/// Row indices of a table, by snapshot id.
fn rows_by_snapshot(df: &DataFrame) -> PolarsResult<HashMap<String, Vec<usize>>> {
    let mut out: HashMap<String, Vec<usize>> = HashMap::new();
    if df.height() == 0 {
        return Ok(out);
    }
    for (i, id) in df.column("snapshot_id")?.str()?.iter().enumerate() {
        out.entry(id.unwrap_or_default().to_string())
            .or_default()
            .push(i);
    }
    Ok(out)
}

/// Column accessors that tolerate a missing column (an older dataset): empty or zero.
struct Cols<'a>(&'a DataFrame);

impl Cols<'_> {
    fn s(&self, col: &str, i: usize) -> String {
        self.0
            .column(col)
            .ok()
            .and_then(|c| c.str().ok().and_then(|s| s.get(i).map(str::to_string)))
            .unwrap_or_default()
    }

    fn i(&self, col: &str, i: usize) -> i64 {
        self.0
            .column(col)
            .ok()
            .and_then(|c| c.cast(&DataType::Int64).ok())
            .and_then(|c| c.i64().ok().and_then(|s| s.get(i)))
            .unwrap_or_default()
    }

    fn b(&self, col: &str, i: usize) -> bool {
        self.0
            .column(col)
            .ok()
            .and_then(|c| c.bool().ok().and_then(|s| s.get(i)))
            .unwrap_or_default()
    }
}

/// Builds the view of every host in `frames` (one per row of `hosts`).
pub fn host_views(frames: &Frames) -> PolarsResult<Vec<HostView>> {
    let builds = rows_by_snapshot(&frames.builds)?;
    let updates = rows_by_snapshot(&frames.installed_updates)?;
    let runs = rows_by_snapshot(&frames.setup_runs)?;
    let lines = rows_by_snapshot(&frames.setup_lines)?;
    let bindings = rows_by_snapshot(&frames.bindings)?;
    let services = rows_by_snapshot(&frames.services)?;
    let sc_runs = rows_by_snapshot(&frames.service_control_runs)?;
    let sc_actions = rows_by_snapshot(&frames.service_control_actions)?;
    let state_files = rows_by_snapshot(&frames.service_state_files)?;
    let msi_logs = rows_by_snapshot(&frames.msi_logs)?;
    let msi_lines = rows_by_snapshot(&frames.msi_lines)?;
    let pending = rows_by_snapshot(&frames.pending_reboots)?;
    let events = rows_by_snapshot(&frames.events)?;
    let run_states = rows_by_snapshot(&frames.service_states)?;
    let vdirs = rows_by_snapshot(&frames.iis_vdirs)?;
    let config_files = rows_by_snapshot(&frames.config_files)?;
    let h = Cols(&frames.hosts);
    let mut out = Vec::with_capacity(frames.hosts.height());
    for i in 0..frames.hosts.height() {
        let id = h.s("snapshot_id", i);
        let mut v = HostView {
            host: h.s("host", i),
            snapshot_id: id.clone(),
            collected_at_ms: h.i("collected_at_ms", i),
            dag: h.s("dag", i),
            ad_site: h.s("ad_site", i),
            install_path: h.s("install_path", i),
            exsetup: Build::parse(&h.s("exsetup_version", i)),
            msi: Build::parse(&h.s("msi_version", i)),
            os_product_name: h.s("os_product_name", i),
            os_current_build: h.s("os_current_build", i),
            dotnet_release: h.i("dotnet_release", i),
            dotnet_provenance: h.s("dotnet_provenance", i),
            owa_version: h.s("owa_version", i),
            setup_key: h.s("exchange_setup_key", i),
            ansi_code_page: h.s("ansi_code_page", i),
            code_page_provenance: h.s("code_page_provenance", i),
            files: InstallFiles {
                front_end_present: h.b("front_end_present", i),
                client_access_present: h.b("client_access_present", i),
                owa_prem_versions: split(&h.s("owa_prem_versions", i)),
                owa_auth_versions: split(&h.s("owa_auth_versions", i)),
                ecp_versions: split(&h.s("ecp_versions", i)),
                ecp_dll_version: h.s("ecp_dll_version", i),
                provenance: h.s("exchange_files_provenance", i),
                config_files: Vec::new(),
            },
            ..Default::default()
        };
        let b = Cols(&frames.builds);
        for &r in rows_of(&builds, &id) {
            let source = b.s("source", r);
            match source.as_str() {
                "exsetup" => v.exsetup_provenance = b.s("provenance", r),
                "msi" => v.msi_provenance = b.s("provenance", r),
                s if s.starts_with("role:") => v.roles.push(Role {
                    component: s.trim_start_matches("role:").to_string(),
                    version: b.s("version", r),
                    watermark: b.s("watermark", r),
                    action: b.s("action", r),
                    provenance: b.s("provenance", r),
                }),
                _ => {}
            }
        }
        let u = Cols(&frames.installed_updates);
        for &r in rows_of(&updates, &id) {
            v.updates.push(Update {
                product: u.s("product", r),
                kb: u.s("kb", r),
                package_name: u.s("package_name", r),
                provenance: u.s("provenance", r),
            });
        }
        let s = Cols(&frames.setup_runs);
        let mut rs: Vec<(i64, Run)> = runs
            .get(&id)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|&r| {
                (
                    s.i("run_index", r),
                    Run {
                        setup_version: s.s("setup_version", r),
                        mode: s.s("mode", r),
                        previous_version: s.s("previous_version", r),
                        source_dir: s.s("source_dir", r),
                        user: s.s("logged_on_user", r),
                        started_at_ms: s.i("started_at_ms", r),
                        start_line: s.i("start_line", r),
                        end_line: s.i("end_line", r),
                        outcome: s.s("outcome", r),
                        error_count: s.i("error_count", r),
                        first_error_line: s.i("first_error_line", r),
                        first_error: s.s("first_error", r),
                        provenance: s.s("provenance", r),
                        backup_version: s.s("backup_version", r),
                        lines: Vec::new(),
                        line_count: s.i("line_count", r),
                    },
                )
            })
            .collect();
        rs.sort_by_key(|(k, _)| *k);
        let l = Cols(&frames.setup_lines);
        let mut rows: Vec<usize> = rows_of(&lines, &id).to_vec();
        rows.sort_by_key(|&r| l.i("line", r));
        for r in rows {
            let index = l.i("run_index", r);
            if let Some((_, run)) = rs.iter_mut().find(|(k, _)| *k == index) {
                run.lines.push(LogLine {
                    line: l.i("line", r),
                    kind: l.s("kind", r),
                    component: l.s("component", r),
                    text: l.s("text", r),
                    continuation: l.s("continuation", r),
                    task: l.s("task", r),
                });
            }
        }
        v.runs = rs.into_iter().map(|(_, r)| r).collect();
        let bi = Cols(&frames.bindings);
        for &r in rows_of(&bindings, &id) {
            if bi.s("kind", r) == "http_sys" {
                v.tls_bindings.push(TlsBinding {
                    endpoint: bi.s("endpoint", r),
                    thumbprint: bi.s("cert_thumbprint", r),
                    in_store: bi.b("cert_in_store", r),
                    not_after_ms: bi.i("cert_not_after_ms", r),
                    provenance: bi.s("provenance", r),
                });
            } else {
                v.site_bindings.push(SiteBinding {
                    site: bi.s("site", r),
                    protocol: bi.s("protocol", r),
                    endpoint: bi.s("endpoint", r),
                    provenance: bi.s("provenance", r),
                });
            }
        }
        let sv = Cols(&frames.services);
        for &r in rows_of(&services, &id) {
            v.services.push(Service {
                name: sv.s("name", r),
                start: sv.i("start", r),
                provenance: sv.s("provenance", r),
            });
        }
        let sc = Cols(&frames.service_control_runs);
        let mut runs: Vec<(i64, ScRun)> = rows_of(&sc_runs, &id)
            .iter()
            .map(|&r| {
                (
                    sc.i("run_index", r),
                    ScRun {
                        header_time: sc.s("header_time", r),
                        started_at_ms: sc.i("started_at_ms", r),
                        start_line: sc.i("start_line", r),
                        outcome: sc.s("outcome", r),
                        provenance: sc.s("provenance", r),
                        actions: Vec::new(),
                    },
                )
            })
            .collect();
        runs.sort_by_key(|(k, _)| *k);
        let a = Cols(&frames.service_control_actions);
        let mut rs: Vec<usize> = rows_of(&sc_actions, &id).to_vec();
        rs.sort_by_key(|&r| a.i("line", r));
        for r in rs {
            let index = a.i("run_index", r);
            if let Some((_, run)) = runs.iter_mut().find(|(k, _)| *k == index) {
                run.actions.push(ScAction {
                    line: a.i("line", r),
                    time_ms: a.i("time_ms", r),
                    kind: a.s("kind", r),
                    service: a.s("service", r),
                    text: a.s("text", r),
                    continuation: a.s("continuation", r),
                });
            }
        }
        v.sc_runs = runs.into_iter().map(|(_, r)| r).collect();
        let sf = Cols(&frames.service_state_files);
        for &r in rows_of(&state_files, &id) {
            v.state_files.push(StateFile {
                name: sf.s("name", r),
                modified_at_ms: sf.i("modified_at_ms", r),
                services: sf.s("services", r),
                provenance: sf.s("provenance", r),
            });
        }
        let m = Cols(&frames.msi_logs);
        let mut logs: Vec<(i64, MsiLog)> = rows_of(&msi_logs, &id)
            .iter()
            .map(|&r| {
                (
                    m.i("log_index", r),
                    MsiLog {
                        header_time: m.s("header_time", r),
                        started_at_ms: m.i("started_at_ms", r),
                        patch: m.s("patch", r),
                        update_name: m.s("update_name", r),
                        error_code: m.i("error_code", r),
                        install_status: m.i("install_status", r),
                        product_version: m.s("product_version", r),
                        not_applicable: m.b("not_applicable", r),
                        provenance: m.s("provenance", r),
                        lines: Vec::new(),
                    },
                )
            })
            .collect();
        logs.sort_by_key(|(k, _)| *k);
        let ml = Cols(&frames.msi_lines);
        let mut rs: Vec<usize> = rows_of(&msi_lines, &id).to_vec();
        rs.sort_by_key(|&r| ml.i("line", r));
        for r in rs {
            let index = ml.i("log_index", r);
            if let Some((_, log)) = logs.iter_mut().find(|(k, _)| *k == index) {
                log.lines.push(MsiLine {
                    line: ml.i("line", r),
                    kind: ml.s("kind", r),
                    text: ml.s("text", r),
                    duration_ms: ml.i("duration_ms", r),
                });
            }
        }
        v.msi_logs = logs.into_iter().map(|(_, l)| l).collect();
        let pr = Cols(&frames.pending_reboots);
        for &r in rows_of(&pending, &id) {
            v.pending_reboots.push(PendingReboot {
                indicator: pr.s("indicator", r),
                detail: pr.s("detail", r),
                provenance: pr.s("provenance", r),
            });
        }
        let ev = Cols(&frames.events);
        for &r in rows_of(&events, &id) {
            let list = |col: &str| -> Vec<String> {
                serde_json::from_str(&ev.s(col, r)).unwrap_or_default()
            };
            v.events.push(EventRec {
                log: ev.s("log", r),
                provider: ev.s("provider", r),
                event_id: ev.i("event_id", r),
                record_id: ev.i("record_id", r),
                time_ms: ev.i("time_ms", r),
                data: list("data"),
                names: list("data_names"),
                binary: ev.s("binary", r),
                provenance: ev.s("provenance", r),
            });
        }
        v.events.sort_by_key(|e| (e.time_ms, e.record_id));
        let cf = Cols(&frames.config_files);
        for &r in rows_of(&config_files, &id) {
            v.files.config_files.push(ConfigFileRec {
                path: cf.s("path", r),
                kind: cf.s("kind", r),
                exists: cf.b("exists", r),
                xml_error: cf.s("xml_error", r),
                unexpanded_lines: split(&cf.s("unexpanded_lines", r))
                    .iter()
                    .filter_map(|l| l.parse().ok())
                    .collect(),
                provenance: cf.s("provenance", r),
            });
        }
        let vd = Cols(&frames.iis_vdirs);
        for &r in rows_of(&vdirs, &id) {
            v.vdirs.push(Vdir {
                site: vd.s("site", r),
                app_path: vd.s("app_path", r),
                vdir_path: vd.s("vdir_path", r),
                physical_path: vd.s("physical_path", r),
                provenance: vd.s("provenance", r),
            });
        }
        let rs = Cols(&frames.service_states);
        for &r in rows_of(&run_states, &id) {
            v.run_states.push(RunState {
                name: rs.s("name", r),
                state: rs.s("state", r),
                exit_code: rs.i("exit_code", r),
                provenance: rs.s("provenance", r),
            });
        }
        out.push(v);
    }
    Ok(out)
}

/// A comma-separated column as its items.
fn split(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

/// The rows of one snapshot in a by-snapshot index.
fn rows_of<'a>(index: &'a HashMap<String, Vec<usize>>, id: &str) -> &'a [usize] {
    index.get(id).map(Vec::as_slice).unwrap_or_default()
}
