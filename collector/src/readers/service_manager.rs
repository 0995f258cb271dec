//! The live counterpart of the `sc queryex` capture: every Win32 service's running state and
//! start type from the Service Control Manager, asked for query rights only.
//!
//! The service list is the SCM's own database, `HKLM\SYSTEM\CurrentControlSet\Services`: the
//! subkeys whose `Type` is a Win32 service (own or shared process), which is what
//! `sc queryex type= service` lists.

use std::ffi::OsString;

use exfleet_proto::v1::ServiceRunState;
use windows_service::service::{
    ServiceAccess, ServiceExitCode, ServiceStartType, ServiceState, ServiceStatus,
};
use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};

use crate::provenance;
use crate::registry::live::LiveHive;
use crate::registry::{Mount, Source};
use crate::sink::Sink;

/// How provenance names the Service Control Manager.
pub const PATH: &str = "Service Control Manager";

/// SERVICE_WIN32_OWN_PROCESS | SERVICE_WIN32_SHARE_PROCESS.
const SERVICE_WIN32: u32 = 0x30;

/// Reads every Win32 service's state into `out` as `reader`'s evidence.
pub fn read(reader: &'static str, out: &mut Sink) {
    use exfleet_proto::v1::artifact_status::State;
    let names = match service_names() {
        Ok(names) => names,
        Err(e) => {
            out.artifact(reader, PATH, State::Unreadable);
            out.error(reader, "unreadable_key", PATH, None, format!("{PATH}: {e}"));
            return;
        }
    };
    let manager = match ServiceManager::local_computer(
        None::<&str>,
        ServiceManagerAccess::CONNECT | ServiceManagerAccess::ENUMERATE_SERVICE,
    ) {
        Ok(m) => m,
        Err(e) => {
            out.artifact(reader, PATH, State::Unreadable);
            out.error(
                reader,
                "access_denied",
                PATH,
                None,
                format!("{PATH}: {e:#}"),
            );
            return;
        }
    };
    let mut failed = false;
    for name in names {
        match query(&manager, &name) {
            Ok(mut s) => {
                s.provenance = Some(provenance::file(reader, PATH));
                out.evidence_mut().service_states.push(s);
            }
            Err(e) => {
                failed = true;
                out.error(
                    reader,
                    "unreadable_service",
                    PATH,
                    None,
                    format!("{PATH}: service {name}: {e}"),
                );
            }
        }
    }
    let state = if failed { State::Partial } else { State::Read };
    out.artifact(reader, PATH, state);
}

/// The names of the Win32 services in the SCM's database.
fn service_names() -> std::io::Result<Vec<String>> {
    let mut hive = LiveHive::open(Mount::System)?;
    let mut damage = Vec::new();
    let names = hive
        .subkeys(r"CurrentControlSet\Services", &mut damage)
        .into_iter()
        .filter(|k| {
            k.values.iter().any(|(n, v)| {
                n.eq_ignore_ascii_case("Type")
                    && matches!(v, crate::registry::Value::Dword(t) if t & SERVICE_WIN32 != 0)
            })
        })
        .map(|k| k.name)
        .collect();
    Ok(names)
}

fn query(manager: &ServiceManager, name: &str) -> windows_service::Result<ServiceRunState> {
    let service = manager.open_service(
        name,
        ServiceAccess::QUERY_STATUS | ServiceAccess::QUERY_CONFIG,
    )?;
    let status = service.query_status()?;
    let config = service.query_config()?;
    let (state_code, state) = state(&status);
    Ok(ServiceRunState {
        name: name.to_string(),
        display_name: text(&config.display_name),
        state: state.to_string(),
        state_code,
        pid: status.process_id.unwrap_or(0),
        exit_code: exit_code(&status.exit_code),
        start_type: start_type(config.start_type).to_string(),
        provenance: None,
    })
}

/// The state's code and word, as `sc queryex` prints them.
fn state(status: &ServiceStatus) -> (u32, &'static str) {
    match status.current_state {
        ServiceState::Stopped => (1, "STOPPED"),
        ServiceState::StartPending => (2, "START_PENDING"),
        ServiceState::StopPending => (3, "STOP_PENDING"),
        ServiceState::Running => (4, "RUNNING"),
        ServiceState::ContinuePending => (5, "CONTINUE_PENDING"),
        ServiceState::PausePending => (6, "PAUSE_PENDING"),
        ServiceState::Paused => (7, "PAUSED"),
    }
}

/// WIN32_EXIT_CODE: a service-specific code shows as ERROR_SERVICE_SPECIFIC_ERROR (1066).
fn exit_code(code: &ServiceExitCode) -> u32 {
    match code {
        ServiceExitCode::Win32(n) => *n,
        ServiceExitCode::ServiceSpecific(_) => 1066,
    }
}

/// START_TYPE as `sc qc` names it.
fn start_type(t: ServiceStartType) -> &'static str {
    match t {
        ServiceStartType::AutoStart => "AUTO_START",
        ServiceStartType::OnDemand => "DEMAND_START",
        ServiceStartType::Disabled => "DISABLED",
        ServiceStartType::SystemStart => "SYSTEM_START",
        ServiceStartType::BootStart => "BOOT_START",
    }
}

fn text(s: &OsString) -> String {
    s.to_string_lossy().into_owned()
}
