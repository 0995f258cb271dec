//! The only place that maps finding ids to rules, in the order they run, and the ids of
//! reference/findings.md not implemented yet with the issue that brings them. Implemented plus
//! pending is always the whole catalog (a test checks it).

use super::build::{
    cu_out_of_support::CuOutOfSupport, file_registry_mismatch::FileRegistryMismatch,
    iu_blocks_su::IuBlocksSu, known_bad::KnownBad, product_eol::ProductEol, su_behind::SuBehind,
    su_wrong_cu::SuWrongCu, unknown::Unknown,
};
use super::config::customizations_overwritten::CustomizationsOverwritten;
use super::fleet::{
    build_drift::BuildDrift, cas_proxy_order::CasProxyOrder, failure_correlate::FailureCorrelate,
    incident_window::IncidentWindow, mismatch_pattern::MismatchPattern,
    stale_collection::StaleCollection, FleetRule,
};
use super::iis::{
    backend_binding_cert::BackendBindingCert, config_variable_unexpanded::ConfigVariableUnexpanded,
    shared_web_config_missing::SharedWebConfigMissing, vdir_path_wrong::VdirPathWrong,
};
use super::owa::{assembly_load_500::AssemblyLoad500, missing_images::MissingImages};
use super::platform::{
    dbcs_locale::DbcsLocale, dotnet_unsupported::DotnetUnsupported,
    dotnet_upgrade_order::DotnetUpgradeOrder, pending_reboot::PendingReboot,
};
use super::services::{
    disabled_after_update::DisabledAfterUpdate, not_running::NotRunning,
    state_cache_left::StateCacheLeft,
};
use super::setup::{
    install_from_bin::InstallFromBin, interrupted::Interrupted, known, ngen_slow::NgenSlow, prereq,
    services_stop_failed::ServicesStopFailed, success::Success, unknown_error::UnknownError,
};
use super::Rule;

/// Host rules in the order they run. `setup.unknown-error` comes after every setup rule.
pub static HOST_RULES: &[&dyn Rule] = &[
    &Unknown,
    &CuOutOfSupport,
    &ProductEol,
    &SuBehind,
    &FileRegistryMismatch,
    &SuWrongCu,
    &IuBlocksSu,
    &KnownBad,
    &BackendBindingCert,
    &VdirPathWrong,
    &SharedWebConfigMissing,
    &ConfigVariableUnexpanded,
    &MissingImages,
    &AssemblyLoad500,
    &PendingReboot,
    &DotnetUnsupported,
    &DbcsLocale,
    &Success,
    &Interrupted,
    &InstallFromBin,
    &prereq::ad_validation::RULE,
    &prereq::reboot_pending::RULE,
    &prereq::process_open::RULE,
    &prereq::dc_out_of_site::RULE,
    &prereq::remote_registry::RULE,
    &prereq::msdtc_stopped::RULE,
    &prereq::url_rewrite_missing::RULE,
    &prereq::domain_prep_required::RULE,
    &prereq::schema_admin_required::RULE,
    &prereq::enterprise_admin_required::RULE,
    &prereq::org_management_required::RULE,
    &known::security_groups_ou_deleted::RULE,
    &known::ldif_error::RULE,
    &known::wk_object_wrong_group_type::RULE,
    &known::wk_object_invalid::RULE,
    &known::ad_access_denied::RULE,
    &known::disabled_service::RULE,
    &known::ad_object_exists::RULE,
    &known::msi_installer_cache::RULE,
    &known::arbitration_upn::RULE,
    &known::servicecontrol_reverse::RULE,
    &known::vdir_failure::RULE,
    &known::fips_access_denied::RULE,
    &known::multi_eas_vdir::RULE,
    &known::missing_directory::RULE,
    &known::firewall_endpoint_mapper::RULE,
    &known::mount_database::RULE,
    &known::search_foundation::RULE,
    &known::missing_homemdb::RULE,
    &known::shared_config_dc::RULE,
    &known::expired_certificate::RULE,
    &known::hybrid_object::RULE,
    &known::delegated_rights::RULE,
    &ServicesStopFailed,
    &DotnetUpgradeOrder,
    &NgenSlow,
    &DisabledAfterUpdate,
    &NotRunning,
    &StateCacheLeft,
    &UnknownError,
];

/// Fleet rules, run after the host rules.
pub static FLEET_RULES: &[&dyn FleetRule] = &[
    &BuildDrift,
    &MismatchPattern,
    &CasProxyOrder,
    &StaleCollection,
    &IncidentWindow,
    &FailureCorrelate,
    &CustomizationsOverwritten,
];

/// Ids of reference/findings.md not implemented yet, and the issue that brings each (none:
/// every id of the catalog is implemented).
pub const PENDING: &[(&str, &str)] = &[];

/// Every implemented id with its doc.
pub fn implemented() -> Vec<(&'static str, &'static str)> {
    HOST_RULES
        .iter()
        .map(|r| (r.id(), r.doc()))
        .chain(FLEET_RULES.iter().map(|r| (r.id(), r.doc())))
        .collect()
}

/// The doc of an implemented id.
pub fn doc_of(id: &str) -> Option<&'static str> {
    implemented()
        .into_iter()
        .find(|(i, _)| *i == id)
        .map(|(_, d)| d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn catalog_ids() -> BTreeSet<String> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/reference/findings.md");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        text.lines()
            .filter_map(|l| l.strip_prefix("| `"))
            .filter_map(|l| l.split('`').next())
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn implemented_plus_pending_is_the_whole_catalog() {
        let mut ours: BTreeSet<String> = implemented().iter().map(|(i, _)| i.to_string()).collect();
        let n = ours.len();
        ours.extend(PENDING.iter().map(|(i, _)| i.to_string()));
        assert_eq!(
            ours.len(),
            n + PENDING.len(),
            "an id is both implemented and pending"
        );
        assert_eq!(ours, catalog_ids());
    }

    #[test]
    fn every_rule_has_its_catalog_entry() {
        for (id, doc) in implemented() {
            for heading in ["## Detects", "## Evidence", "## Action", "## Source"] {
                assert!(doc.contains(heading), "{id} lacks {heading}");
            }
        }
    }
}
