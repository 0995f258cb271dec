//! The only place that maps finding ids to rules: the host rules in the order they run (the
//! first pass), the second-pass rules, the fleet rules, and the ids not implemented yet with
//! the issue that brings them. The project's finding catalog, `analyzer/FINDINGS.md`, is
//! generated from it ([`catalog_markdown`]; a test keeps the file equal to it).

use super::build::{
    cu_out_of_support::CuOutOfSupport, file_registry_mismatch::FileRegistryMismatch,
    iu_blocks_su::IuBlocksSu, known_bad::KnownBad, product_eol::ProductEol,
    product_eol_soon::ProductEolSoon, su_behind::SuBehind, su_wrong_cu::SuWrongCu,
    unknown::Unknown,
};
use super::cert::{
    expiring::Expiring, expiring_soon::ExpiringSoon, weak_key::WeakKey,
    weak_signature::WeakSignature,
};
use super::config::{
    customizations_overwritten::CustomizationsOverwritten, customized::Customized,
};
use super::dotnet::{unsupported::DotnetUnsupported, upgrade_order::DotnetUpgradeOrder};
use super::fleet::{
    build_drift::BuildDrift, failure_correlate::FailureCorrelate, incident_window::IncidentWindow,
    mismatch_pattern::MismatchPattern, stale_collection::StaleCollection, tls_drift::TlsDrift,
    FleetRule,
};
use super::iis::{
    backend_binding_cert::BackendBindingCert, config_variable_unexpanded::ConfigVariableUnexpanded,
    shared_web_config_missing::SharedWebConfigMissing, vdir_path_wrong::VdirPathWrong,
    web_config_missing::WebConfigMissing,
};
use super::iis::{
    backend_binding_ip::BackendBindingIp, binding_cert::BindingCert, ep_not_secured::EpNotSecured,
    ep_suppressed::EpSuppressed, ep_unsupported::EpUnsupported,
};
use super::ioc::{
    self, aspx_outlier::AspxOutlier, aspx_uncompared::AspxUncompared, coverage_gap::CoverageGap,
    shared_source::SharedSource,
};
use super::os::not_rebooted_after_update::NotRebootedAfterUpdate;
use super::os::{
    dbcs_locale::DbcsLocale, defender_exclusions::DefenderExclusions, pending_reboot::PendingReboot,
};
use super::owa::{assembly_load_500::AssemblyLoad500, missing_images::MissingImages};
use super::security::{
    cve_open::CveOpen, cve_unverified::CveUnverified, identity_mismatch::IdentityMismatch,
    march_2021_su_unsupported_cu::March2021SuUnsupportedCu,
};
use super::services::crash_after_update::CrashAfterUpdate;
use super::services::{
    disabled_after_update::DisabledAfterUpdate, maintenance_mode::MaintenanceMode,
    not_running::NotRunning, state_cache_left::StateCacheLeft,
};
use super::setup::ready::{
    installer_cache::InstallerCache, ucma_missing::UcmaMissing,
    um_directory_missing::UmDirectoryMissing, url_rewrite_missing::UrlRewriteMissing,
    vcredist_missing::VcredistMissing,
};
use super::setup::su_failed_no_log::SuFailedNoLog;
use super::setup::{
    self, install_from_bin::InstallFromBin, interrupted::Interrupted, ngen_slow::NgenSlow, prereq,
    services_stop_failed::ServicesStopFailed, success::Success, unknown_error::UnknownError,
};
use super::tls::{
    legacy_enabled::LegacyEnabled, misconfigured::Misconfigured, values_missing::ValuesMissing,
};
use super::topology::cas_proxy_order::CasProxyOrder;
use super::{section, Rule, SecondPassRule};
use crate::finding::Severity;

/// Host rules, the first pass. Each sees one host and the context only, so their order is
/// only the order of their findings in the output.
pub static HOST_RULES: &[&dyn Rule] = &[
    &Unknown,
    &CuOutOfSupport,
    &ProductEol,
    &ProductEolSoon,
    &SuBehind,
    &FileRegistryMismatch,
    &SuWrongCu,
    &IuBlocksSu,
    &KnownBad,
    &CveOpen,
    &CveUnverified,
    &March2021SuUnsupportedCu,
    &BackendBindingCert,
    &VdirPathWrong,
    &SharedWebConfigMissing,
    &WebConfigMissing,
    &ConfigVariableUnexpanded,
    &MissingImages,
    &AssemblyLoad500,
    &PendingReboot,
    &DefenderExclusions,
    &Misconfigured,
    &ValuesMissing,
    &LegacyEnabled,
    &DotnetUnsupported,
    &DbcsLocale,
    &Success,
    &Interrupted,
    &InstallFromBin,
    &setup::ad_validation::RULE,
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
    &setup::security_groups_ou_deleted::RULE,
    &setup::ldif_error::RULE,
    &setup::wk_object_wrong_group_type::RULE,
    &setup::wk_object_invalid::RULE,
    &setup::ad_access_denied::RULE,
    &setup::disabled_service::RULE,
    &setup::ad_object_exists::RULE,
    &setup::msi_installer_cache::RULE,
    &setup::arbitration_upn::RULE,
    &setup::servicecontrol_reverse::RULE,
    &setup::vdir_failure::RULE,
    &setup::fips_access_denied::RULE,
    &setup::multi_eas_vdir::RULE,
    &setup::missing_directory::RULE,
    &setup::firewall_endpoint_mapper::RULE,
    &setup::mount_database::RULE,
    &setup::search_foundation::RULE,
    &setup::missing_homemdb::RULE,
    &setup::shared_config_dc::RULE,
    &setup::expired_certificate::RULE,
    &setup::hybrid_object::RULE,
    &setup::delegated_rights::RULE,
    &ServicesStopFailed,
    &DotnetUpgradeOrder,
    &NgenSlow,
    &DisabledAfterUpdate,
    &NotRunning,
    &StateCacheLeft,
    &MaintenanceMode,
    &SuFailedNoLog,
    &InstallerCache,
    &VcredistMissing,
    &UrlRewriteMissing,
    &UcmaMissing,
    &UmDirectoryMissing,
    &NotRebootedAfterUpdate,
    &CrashAfterUpdate,
    &EpNotSecured,
    &EpUnsupported,
    &EpSuppressed,
    &BindingCert,
    &BackendBindingIp,
    &ExpiringSoon,
    &Expiring,
    &WeakKey,
    &WeakSignature,
    &ioc::cve_2021_26855::RULE,
    &ioc::cve_2021_26857::RULE,
    &ioc::cve_2021_26858::RULE,
    &ioc::cve_2021_27065::RULE,
    &ioc::cve_2022_41040::RULE,
    &ioc::lsass_dump::RULE,
    &ioc::suspicious_archive::RULE,
];

/// Second-pass rules: for each host, after every host rule, given that host's first-pass
/// findings.
pub static SECOND_PASS_RULES: &[&dyn SecondPassRule] = &[&UnknownError];

/// Fleet rules, run after the host rules (both passes).
pub static FLEET_RULES: &[&dyn FleetRule] = &[
    &BuildDrift,
    &MismatchPattern,
    &CasProxyOrder,
    &StaleCollection,
    &IncidentWindow,
    &FailureCorrelate,
    &CustomizationsOverwritten,
    &Customized,
    &IdentityMismatch,
    &TlsDrift,
    &AspxOutlier,
    &AspxUncompared,
    &SharedSource,
    &CoverageGap,
];

/// Ids of the catalog not implemented yet, and the issue that brings each (none: every id is
/// implemented).
pub const PENDING: &[(&str, &str)] = &[];

/// What a rule is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One host (a host rule or a second-pass rule).
    Host,
    /// A group of hosts (a fleet rule).
    Fleet,
}

impl Scope {
    /// `host` or `fleet`.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Host => "host",
            Scope::Fleet => "fleet",
        }
    }
}

/// An implemented rule as the catalog lists it.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// Finding id.
    pub id: &'static str,
    /// Default severity.
    pub severity: Severity,
    /// Host or fleet.
    pub scope: Scope,
    /// The catalog entry.
    pub doc: &'static str,
    /// `module_path!()` of the rule's file.
    pub module_path: &'static str,
}

/// Every implemented rule, in the order they run: host rules, second-pass rules, fleet rules.
pub fn entries() -> Vec<Entry> {
    let host = HOST_RULES.iter().map(|r| Entry {
        id: r.id(),
        severity: r.severity(),
        scope: Scope::Host,
        doc: r.doc(),
        module_path: r.module_path(),
    });
    let second = SECOND_PASS_RULES.iter().map(|r| Entry {
        id: r.id(),
        severity: r.severity(),
        scope: Scope::Host,
        doc: r.doc(),
        module_path: r.module_path(),
    });
    let fleet = FLEET_RULES.iter().map(|r| Entry {
        id: r.id(),
        severity: r.severity(),
        scope: Scope::Fleet,
        doc: r.doc(),
        module_path: r.module_path(),
    });
    host.chain(second).chain(fleet).collect()
}

/// Every implemented id with its doc.
pub fn implemented() -> Vec<(&'static str, &'static str)> {
    entries().into_iter().map(|e| (e.id, e.doc)).collect()
}

/// The doc of an implemented id.
pub fn doc_of(id: &str) -> Option<&'static str> {
    entries().into_iter().find(|e| e.id == id).map(|e| e.doc)
}

/// The areas of the catalog, by id prefix (the rules' folder), in the order they are listed.
const AREAS: &[(&str, &str)] = &[
    (
        "build",
        "Build and patch level (ExSetup.exe, the setup key, installed-update keys)",
    ),
    ("dotnet", ".NET Framework"),
    ("os", "Operating system"),
    (
        "tls",
        "TLS: the SCHANNEL protocol settings and .NET strong crypto (SYSTEM and SOFTWARE hives)",
    ),
    (
        "setup",
        "Setup runs (ExchangeSetup.log, ServiceControl.log, MSI logs, watermarks)",
    ),
    ("setup.prereq", "Setup's prerequisite checks"),
    (
        "setup.ready",
        "Ready for the next setup run (SetupAssist's checks of the server's disk)",
    ),
    (
        "services",
        "Services (start types, ServiceControl.ps1, saved service state)",
    ),
    ("iis", "Web front end (IIS, HTTP.sys, config files)"),
    ("cert", "Certificates of LocalMachine\\My"),
    ("owa", "OWA and ECP"),
    ("config", "Configuration files across updates (fleet rule)"),
    ("topology", "Update order across servers (fleet rule)"),
    (
        "ioc",
        "Indicators of compromise (the collector's scans of the HttpProxy, ECP, OAB generator and IIS logs, the Application log, suspicious files; two fleet rules)",
    ),
    (
        "security",
        "Security: the CVEs a server is still open to (analyzer/CVE.md), and who sent the evidence (certificate identities; fleet rule)",
    ),
    (
        "fleet",
        "Across the fleet (emitted once for the fleet or a group of hosts)",
    ),
];

/// The id's prefix: everything before its last dot (`setup.prereq` for
/// `setup.prereq.reboot-pending`).
pub fn prefix(id: &str) -> &str {
    id.rsplit_once('.').map_or("", |(p, _)| p)
}

/// The first sentence of a section: up to the first ". " before a capital letter that does
/// not end an abbreviation.
fn first_sentence(text: &str) -> &str {
    let mut from = 0;
    while let Some(i) = text[from..].find(". ") {
        let end = from + i;
        let before = &text[..end];
        let next = text[end + 2..].chars().next();
        let abbreviation = ["e.g", "i.e", "etc", "vs"]
            .iter()
            .any(|a| before.ends_with(a));
        if next.is_some_and(char::is_uppercase) && !abbreviation {
            return &text[..=end];
        }
        from = end + 2;
    }
    text
}

/// `text` as Markdown shows it: outside code spans, backslashes (Windows paths), `<`, `>`, `*`,
/// `_`, `[` and `]` are escaped so that they read as written.
fn markdown_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for (i, part) in text.split('`').enumerate() {
        if i > 0 {
            out.push('`');
        }
        if i % 2 == 1 {
            out.push_str(part);
            continue;
        }
        for c in part.chars() {
            if matches!(c, '\\' | '<' | '>' | '*' | '_' | '[' | ']') {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}

/// The project's finding catalog (`analyzer/FINDINGS.md`): every id with its severity, scope,
/// what it detects (the first sentence of `## Detects`) and its `## Source`, by area.
pub fn catalog_markdown() -> String {
    use std::fmt::Write as _;
    let entries = entries();
    let mut s = String::new();
    s.push_str(
        "# Finding catalog\n\n\
         <!-- Generated from analyzer/src/rules/registry.rs: do not edit. After a change to a rule,\n\
         regenerate it with `UPDATE_FINDINGS=1 cargo test -p exfleet-analyzer --lib findings_md`. -->\n\n\
         Every finding exfleet-analyzer emits carries a stable id from this catalog, a severity\n\
         (`critical` when something is broken for users now, `error` when an update failed or is\n\
         half-applied, `warning` for risk and lag, `info` for facts), the host it concerns (or\n\
         `fleet` and the hosts of the group), the evidence it rests on with its provenance, and\n\
         the action to take. Ids are an interface: reports, exports and scripts key on them, so\n\
         an id never changes meaning once released; new ids may be added. The id's prefix is the\n\
         folder of its rule under `analyzer/src/rules/`.\n\n\
         `exfleet-analyzer explain <id>` prints an entry in full (what it detects, the evidence,\n\
         the action, the source); `exfleet-analyzer rules --format markdown` prints this file.\n",
    );
    let mut areas: Vec<(&str, &str)> = AREAS.to_vec();
    for e in &entries {
        if !areas.iter().any(|(p, _)| *p == prefix(e.id)) {
            areas.push((prefix(e.id), prefix(e.id)));
        }
    }
    for (area, title) in areas {
        let mine: Vec<&Entry> = entries.iter().filter(|e| prefix(e.id) == area).collect();
        if mine.is_empty() {
            continue;
        }
        let _ = write!(s, "\n## {title}\n");
        for e in mine {
            let _ = write!(
                s,
                "\n### `{}`\n\n{}, {}. {}\n\nSource: {}\n",
                e.id,
                e.severity.name(),
                e.scope.name(),
                markdown_text(first_sentence(&section(e.doc, "Detects"))),
                markdown_text(&section(e.doc, "Source"))
            );
        }
    }
    if !PENDING.is_empty() {
        s.push_str("\n## Not implemented yet\n\n");
        for (id, issue) in PENDING {
            let _ = writeln!(s, "- `{id}`: issue {issue}");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn ids_are_unique_and_never_both_implemented_and_pending() {
        let mut seen = BTreeSet::new();
        for e in entries() {
            assert!(seen.insert(e.id), "{} is registered twice", e.id);
        }
        for (id, _) in PENDING {
            assert!(!seen.contains(id), "{id} is both implemented and pending");
        }
    }

    #[test]
    fn every_id_prefix_is_the_folder_of_its_rule() {
        for e in entries() {
            let path = e
                .module_path
                .strip_prefix(concat!(env!("CARGO_CRATE_NAME"), "::rules::"))
                .unwrap_or_else(|| panic!("{} is defined outside rules: {}", e.id, e.module_path));
            let (folder, file) = path.rsplit_once("::").unwrap_or(("", path));
            assert_eq!(
                folder.replace("::", "."),
                prefix(e.id),
                "{} is defined in {}: its prefix must be its folder",
                e.id,
                e.module_path
            );
            let name = e.id.rsplit('.').next().unwrap_or_default();
            assert_eq!(
                file,
                name.replace('-', "_"),
                "{} is defined in {}: one rule per file, named after the id",
                e.id,
                e.module_path
            );
        }
    }

    #[test]
    fn every_rule_has_its_catalog_entry() {
        for e in entries() {
            for heading in ["## Detects", "## Evidence", "## Action", "## Source"] {
                assert!(e.doc.contains(heading), "{} lacks {heading}", e.id);
            }
            for heading in ["Detects", "Evidence", "Action", "Source"] {
                assert!(
                    !section(e.doc, heading).is_empty(),
                    "{}: {heading} is empty",
                    e.id
                );
            }
        }
    }

    /// What `explain` prints must cite what a user can open: a Microsoft article, KB or tool,
    /// or the project's own documentation, not files of the developers' reference material.
    #[test]
    fn sources_cite_what_users_can_open() {
        for e in entries() {
            let source = section(e.doc, "Source");
            for private in [
                "reference/",
                "shared/",
                "seeds",
                "fixtures",
                "findings.md",
                "../",
            ] {
                assert!(
                    !source.contains(private),
                    "{}: its Source cites {private:?}: {source}",
                    e.id
                );
            }
            for (heading, text) in ["Detects", "Evidence", "Action"].map(|h| (h, section(e.doc, h)))
            {
                for private in ["reference/", "shared/", "seeds"] {
                    assert!(
                        !text.contains(private),
                        "{}: its {heading} cites {private:?}",
                        e.id
                    );
                }
            }
        }
    }

    #[test]
    fn every_area_has_a_title() {
        for e in entries() {
            assert!(
                AREAS.iter().any(|(p, _)| *p == prefix(e.id)),
                "{}: add its prefix to AREAS",
                e.id
            );
        }
    }

    #[test]
    fn markdown_escapes_outside_code_spans() {
        assert_eq!(
            markdown_text(r"FrontEnd\HttpProxy\<folder> and `..\V15\Bin` *"),
            r"FrontEnd\\HttpProxy\\\<folder\> and `..\V15\Bin` \*"
        );
    }

    #[test]
    fn first_sentences() {
        assert_eq!(first_sentence("One. Two."), "One.");
        assert_eq!(
            first_sentence("An object (e.g. The hierarchy) exists. More."),
            "An object (e.g. The hierarchy) exists."
        );
        assert_eq!(first_sentence("No end"), "No end");
        assert_eq!(first_sentence("Version 4.8. Then"), "Version 4.8.");
    }

    /// `analyzer/FINDINGS.md` is the registry's catalog. `UPDATE_FINDINGS=1` rewrites it.
    #[test]
    fn findings_md_is_the_registry_catalog() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("FINDINGS.md");
        let want = catalog_markdown();
        if std::env::var_os("UPDATE_FINDINGS").is_some() {
            std::fs::write(&path, &want).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            return;
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "{} differs from the registry: regenerate it with \
             `UPDATE_FINDINGS=1 cargo test -p exfleet-analyzer --lib findings_md`",
            path.display()
        );
    }
}
