//! Setup run rules (`setup.*`: ExchangeSetup.log, role watermarks, ServiceControl.log and MSI
//! logs of SU installs). One rule per file; the failures the reference reviewer recognises
//! are [`known::Known`] values whose check (`detect`) [`reviewer`] runs in the reference's
//! order, and the `setup.prereq.*` rules in `prereq/` share its prerequisite block.

pub mod ad_access_denied;
pub mod ad_object_exists;
pub mod ad_validation;
pub mod arbitration_upn;
pub mod delegated_rights;
pub mod disabled_service;
pub mod expired_certificate;
pub mod fips_access_denied;
pub mod firewall_endpoint_mapper;
pub mod hybrid_object;
pub mod install_from_bin;
pub mod interrupted;
pub mod known;
pub mod ldif_error;
pub mod missing_directory;
pub mod missing_homemdb;
pub mod mount_database;
pub mod msi_installer_cache;
pub mod multi_eas_vdir;
pub mod ngen_slow;
pub mod prereq;
pub mod ready;
pub mod reviewer;
pub mod search_foundation;
pub mod security_groups_ou_deleted;
pub mod servicecontrol_reverse;
pub mod services_stop_failed;
pub mod shared_config_dc;
pub mod su_failed_no_log;
pub mod success;
pub mod unknown_error;
pub mod vdir_failure;
pub mod wk_object_invalid;
pub mod wk_object_wrong_group_type;

use crate::finding::Evidence;
use crate::view::{HostView, Run};
use exfleet_proto::v1::setup_run::Outcome;

/// The last run of a host when it did not succeed: what the failure rules judge.
pub fn unsuccessful_last_run(h: &HostView) -> Option<&Run> {
    h.last_run().filter(|r| r.outcome != Outcome::Succeeded)
}

/// The facts that identify a run: its version, mode, user and where it starts.
pub fn run_evidence(r: &Run) -> Evidence {
    let when = crate::rules::utc(r.started_at_ms);
    Evidence::new(
        format!(
            "setup run of {when}: version {}, mode {}, user {}",
            r.setup_version, r.mode, r.logged_on_user
        ),
        &r.provenance,
    )
}
