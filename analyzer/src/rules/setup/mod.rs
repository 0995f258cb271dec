//! Setup run rules (ExchangeSetup.log, role watermarks).

pub mod install_from_bin;
pub mod interrupted;
pub mod known;
pub mod ngen_slow;
pub mod prereq;
pub mod services_stop_failed;
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
    let when = crate::rules::utc(r.started_at_ms);
    Evidence::new(
        format!(
            "setup run of {when}: version {}, mode {}, user {}",
            r.setup_version, r.mode, r.user
        ),
        &r.provenance,
    )
}
