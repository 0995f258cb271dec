//! Service rules: start types from the SYSTEM hive, what ServiceControl.ps1 did to services
//! during SU installs (ServiceControl.log, the saved state files), and Exchange's server
//! component states (maintenance mode).

pub mod crash_after_update;
pub mod disabled_after_update;
pub mod maintenance_mode;
pub mod not_running;
pub mod state_cache_left;

use crate::view::{HostView, ScRun};
use exfleet_proto::kinds::ScActionKind;
use exfleet_proto::v1::service_control_run::Outcome;

/// Services ServiceControl.ps1 disables during an SU install besides the MSExchange* ones (its
/// 'Disabling service' lines in ExchangeSetupLogs\ServiceControl.log).
const ALSO_DISABLED: [&str; 9] = [
    "FMS",
    "HostControllerService",
    "IISAdmin",
    "W3Svc",
    "WinMgmt",
    "pla",
    "RemoteRegistry",
    "SearchExchangeTracing",
    "wsbexchange",
];

/// Services an administrator or a hardening baseline commonly disables on purpose: only the
/// log's word makes them a leftover of an update.
const OFTEN_DISABLED_ON_PURPOSE: [&str; 2] = ["pla", "RemoteRegistry"];

/// POP3 and IMAP4 are Manual or Disabled by default: never a fault.
pub fn disabled_by_default(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.starts_with("msexchangeimap4") || n.starts_with("msexchangepop3")
}

/// A service the update process stops and disables, whose Disabled start type alone says an
/// update left it so.
pub fn update_managed(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    !disabled_by_default(name)
        && (n.starts_with("msexchange")
            || ALSO_DISABLED
                .iter()
                .filter(|s| !OFTEN_DISABLED_ON_PURPOSE.contains(s))
                .any(|s| s.eq_ignore_ascii_case(name)))
}

/// The last ServiceControl.ps1 run that stopped services: the before-patch step of the last
/// SU install (the restore step after it is a run of its own).
pub fn last_stopping_run(h: &HostView) -> Option<&ScRun> {
    h.sc_runs.iter().rev().find(|r| {
        r.actions.iter().any(|a| {
            matches!(
                a.kind,
                ScActionKind::Stop | ScActionKind::Kill | ScActionKind::StopFailed
            )
        })
    })
}

/// How a run is named in evidence: its header time (local, as written, which an
/// administrator finds in the log) and outcome.
pub fn sc_run_fact(r: &ScRun) -> String {
    let outcome = match r.outcome {
        Outcome::Succeeded => "completed",
        Outcome::Errors => "completed with errors",
        _ => "has no completion line (stopped or cut off)",
    };
    let when = if r.header_time.is_empty() {
        "of unknown date".to_string()
    } else {
        format!("of {} (local time)", r.header_time)
    };
    format!("ServiceControl.ps1 run {when} {outcome}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_services_an_update_manages() {
        assert!(update_managed("MSExchangeTransport"));
        assert!(update_managed("W3SVC"));
        assert!(update_managed("Winmgmt"));
        assert!(!update_managed("MSExchangeIMAP4BE"));
        assert!(!update_managed("RemoteRegistry"));
        assert!(!update_managed("Spooler"));
    }
}
