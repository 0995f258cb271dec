//! Setup run rules (ExchangeSetup.log, role watermarks).

pub mod install_from_bin;
pub mod interrupted;
pub mod known;
pub mod prereq;
pub mod success;
pub mod unknown_error;

use crate::finding::Evidence;
use crate::view::{HostView, Run};

/// The last run of a host when it did not succeed: what the failure rules judge.
pub fn unsuccessful_last_run(h: &HostView) -> Option<&Run> {
    h.last_run().filter(|r| r.outcome != "succeeded")
}

/// The facts that identify a run: its version, mode, user and where it starts.
pub fn run_evidence(r: &Run) -> Evidence {
    let when = chrono::DateTime::from_timestamp_millis(r.started_at_ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default();
    Evidence::new(
        format!(
            "setup run of {when}: version {}, mode {}, user {}",
            r.setup_version, r.mode, r.user
        ),
        &r.provenance,
    )
}
