//! What stands between a host and the target: the one table that maps finding ids to
//! blockers ([`TABLE`]), and the judgements that depend on the target itself, computed from
//! the catalog against it (.NET the target CU needs, the update not published for the host's
//! CU, a known-bad target build). A blocker is a finding judged against the target, never a
//! second copy of its check: the finding's title, evidence and action come along unchanged.

use serde::Serialize;

use crate::catalog::{Catalog, Release};
use crate::finding::{Evidence, Finding};
use crate::rules::build::known_bad;
use crate::rules::dotnet::unsupported as dotnet;
use crate::view::HostView;

/// What a blocker does to the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Effect {
    /// The host is not scheduled until it is fixed.
    Blocks,
    /// The host is scheduled, with this step first (back up the files the update replaces,
    /// mind the order the waves keep).
    Prepare,
}

/// Which targets a mapped finding matters for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Any update.
    Always,
    /// Only a CU upgrade (setup.exe): what an SU's MSI does not touch.
    CuUpgrade,
}

/// One row of the table: a finding id and what it means for a rollout.
#[derive(Debug, Clone, Copy)]
pub struct Mapping {
    /// The finding id.
    pub id: &'static str,
    /// The heading the plan groups it under.
    pub category: &'static str,
    /// Blocks or prepares.
    pub effect: Effect,
    /// For which targets.
    pub when: When,
}

const fn row(id: &'static str, category: &'static str, effect: Effect, when: When) -> Mapping {
    Mapping {
        id,
        category,
        effect,
        when,
    }
}

/// Finding ids that are blockers, and for which targets (the `setup.ready.*` ids are
/// SetupAssist's checks of the server's disk).
pub const TABLE: &[Mapping] = &[
    row(
        "build.iu-blocks-su",
        "Interim Update installed",
        Effect::Blocks,
        When::Always,
    ),
    row(
        "build.su-wrong-cu",
        "update of another CU installed",
        Effect::Blocks,
        When::Always,
    ),
    row(
        "dotnet.upgrade-order",
        ".NET Framework",
        Effect::Blocks,
        When::Always,
    ),
    row(
        "os.pending-reboot",
        "pending reboot",
        Effect::Blocks,
        When::Always,
    ),
    row(
        "os.not-rebooted-after-update",
        "pending reboot",
        Effect::Blocks,
        When::Always,
    ),
    row(
        "setup.prereq.reboot-pending",
        "pending reboot",
        Effect::Blocks,
        When::CuUpgrade,
    ),
    row(
        "services.disabled-after-update",
        "services disabled or stopped",
        Effect::Blocks,
        When::Always,
    ),
    row(
        "services.not-running",
        "services disabled or stopped",
        Effect::Blocks,
        When::Always,
    ),
    row(
        "services.state-cache-left",
        "services disabled or stopped",
        Effect::Blocks,
        When::Always,
    ),
    row(
        "services.maintenance-mode",
        "maintenance mode left on",
        Effect::Blocks,
        When::Always,
    ),
    row(
        "setup.interrupted",
        "setup interrupted",
        Effect::Blocks,
        When::Always,
    ),
    row(
        "setup.msi-installer-cache",
        "Windows Installer cache",
        Effect::Blocks,
        When::Always,
    ),
    row(
        "setup.ready.installer-cache",
        "Windows Installer cache",
        Effect::Blocks,
        When::Always,
    ),
    row(
        "setup.ready.vcredist-missing",
        "missing prerequisites",
        Effect::Blocks,
        When::CuUpgrade,
    ),
    row(
        "setup.ready.url-rewrite-missing",
        "missing prerequisites",
        Effect::Blocks,
        When::CuUpgrade,
    ),
    row(
        "setup.ready.ucma-missing",
        "missing prerequisites",
        Effect::Blocks,
        When::CuUpgrade,
    ),
    row(
        "setup.ready.um-directory-missing",
        "missing prerequisites",
        Effect::Blocks,
        When::CuUpgrade,
    ),
    row(
        "setup.prereq.url-rewrite-missing",
        "missing prerequisites",
        Effect::Blocks,
        When::CuUpgrade,
    ),
    row(
        "setup.prereq.msdtc-stopped",
        "missing prerequisites",
        Effect::Blocks,
        When::CuUpgrade,
    ),
    row(
        "setup.prereq.remote-registry",
        "missing prerequisites",
        Effect::Blocks,
        When::CuUpgrade,
    ),
    row(
        "config.customized",
        "customized files to back up",
        Effect::Prepare,
        When::Always,
    ),
];

/// The row of a finding id.
pub fn mapping(id: &str) -> Option<&'static Mapping> {
    TABLE.iter().find(|m| m.id == id)
}

/// One blocker of a host.
#[derive(Debug, Clone, Serialize)]
pub struct Blocker {
    /// The finding id it comes from (or whose judgement it applies to the target).
    pub id: String,
    /// The plan's heading for it.
    pub category: String,
    /// Blocks or prepares.
    pub effect: Effect,
    /// Judged against the target (from the catalog) rather than taken from a finding as is.
    pub against_target: bool,
    /// What is wrong.
    pub title: String,
    /// The facts, with where they were read.
    pub evidence: Vec<Evidence>,
    /// What to do.
    pub action: String,
}

/// The findings of `host` that the table maps to blockers for this kind of target; fleet
/// findings count for each host they name.
pub fn from_findings(host: &str, findings: &[Finding], cu_upgrade: bool) -> Vec<Blocker> {
    findings
        .iter()
        .filter(|f| {
            f.host.eq_ignore_ascii_case(host)
                || f.hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
        })
        .filter_map(|f| {
            let m = mapping(&f.id)?;
            (m.when == When::Always || cu_upgrade).then(|| Blocker {
                id: f.id.clone(),
                category: m.category.to_string(),
                effect: m.effect,
                against_target: false,
                title: f.title.clone(),
                evidence: f.evidence.clone(),
                action: f.action.clone(),
            })
        })
        .collect()
}

/// The blockers that depend on the target: the .NET Framework the target CU supports (the
/// `dotnet.unsupported` judgement made against the target), and a target build with a known
/// issue (`build.known-bad` judged on the target).
pub fn against_target(h: &HostView, target: &Release) -> Vec<Blocker> {
    let mut out = Vec::new();
    if let Some((lo, hi)) = dotnet::supported(&target.product, &target.cu) {
        if h.dotnet_release != 0 {
            let installed = dotnet::family(h.dotnet_release);
            let range = if lo == hi {
                dotnet::name(lo).to_string()
            } else {
                format!("{} to {}", dotnet::name(lo), dotnet::name(hi))
            };
            let installed_name = installed.map_or("older than 4.5", dotnet::name);
            let problem = match installed {
                Some(i) if i > hi => Some(format!(
                    ".NET Framework {installed_name} is newer than {} {} supports ({range})",
                    target.product, target.cu
                )),
                Some(i) if i >= lo => None,
                _ => Some(format!(
                    ".NET Framework {installed_name} is below what {} {} needs ({range})",
                    target.product, target.cu
                )),
            };
            if let Some(title) = problem {
                out.push(Blocker {
                    id: "dotnet.unsupported".into(),
                    category: ".NET Framework".into(),
                    effect: Effect::Blocks,
                    against_target: true,
                    title,
                    evidence: vec![Evidence::new(
                        format!("Release {} ({installed_name})", h.dotnet_release),
                        &h.dotnet_provenance,
                    )],
                    action: format!(
                        "Install .NET Framework {} (the newest {} {} supports), reboot, then install the update",
                        dotnet::name(hi),
                        target.product,
                        target.cu
                    ),
                });
            }
        }
    }
    if let Some(b) = known_bad(target) {
        out.push(b);
    }
    out
}

/// The target's own known issue, if it has one: a fleet-wide blocker (every host going to it).
pub fn known_bad(target: &Release) -> Option<Blocker> {
    let (fix, what) = known_bad::issue(&target.build)?;
    let mut fixed = target.build;
    fixed.0[3] = u32::from(fix);
    Some(Blocker {
        id: "build.known-bad".into(),
        category: "known-bad target build".into(),
        effect: Effect::Blocks,
        against_target: true,
        title: format!(
            "The target {} ({}) has a known issue: {what}",
            target.friendly(),
            target.build
        ),
        evidence: vec![Evidence::new(
            format!("{} is fixed by {fixed}", target.build),
            "analyzer/src/rules/build/known_bad.rs",
        )],
        action: format!("Target {fixed} (or the newest update of the CU) instead"),
    })
}

/// The update named by the target is not published for the host's CU (`build.su-wrong-cu`
/// judged against the target): the host must move to a CU it is published for first.
pub fn not_for_this_cu(
    h: &HostView,
    update: &str,
    host_cu: &str,
    published_for: &[String],
    catalog: &Catalog,
) -> Blocker {
    let build = h.exsetup.or(h.msi);
    Blocker {
        id: "build.su-wrong-cu".into(),
        category: "update not published for the host's CU".into(),
        effect: Effect::Blocks,
        against_target: true,
        title: format!("{update} is not published for {host_cu}, the CU this server runs"),
        evidence: vec![Evidence::new(
            format!(
                "ExSetup.exe {} ({}); {update} is published for {}",
                build.map(|b| b.to_string()).unwrap_or_default(),
                build.map(|b| catalog.describe(&b)).unwrap_or_default(),
                published_for.join(", ")
            ),
            &h.exsetup_provenance,
        )],
        action: format!(
            "Install a CU {update} is published for ({}) first, then {update}",
            published_for.join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Build;
    use crate::finding::Severity;

    fn finding(id: &str, host: &str) -> Finding {
        Finding {
            id: id.into(),
            severity: Severity::Error,
            host: host.into(),
            snapshot_id: String::new(),
            title: format!("{id} title"),
            evidence: vec![Evidence::new("fact", "C:\\x.log:3")],
            action: "fix it".into(),
            group: String::new(),
            hosts: Vec::new(),
            signature: String::new(),
        }
    }

    #[test]
    fn setupassist_ids_are_blockers_with_their_evidence() {
        let f = [
            finding("setup.ready.installer-cache", "EX1"),
            finding("setup.ready.ucma-missing", "EX1"),
            finding("build.su-behind", "EX1"),
            finding("os.pending-reboot", "EX2"),
        ];
        let b = from_findings("ex1", &f, true);
        let ids: Vec<&str> = b.iter().map(|b| b.id.as_str()).collect();
        assert_eq!(
            ids,
            ["setup.ready.installer-cache", "setup.ready.ucma-missing"]
        );
        assert_eq!(b[0].evidence[0].provenance, "C:\\x.log:3");
        assert_eq!(b[0].category, "Windows Installer cache");
        // An SU's MSI needs no UCMA: only the installer cache blocks it.
        let su: Vec<String> = from_findings("EX1", &f, false)
            .into_iter()
            .map(|b| b.id)
            .collect();
        assert_eq!(su, ["setup.ready.installer-cache"]);
    }

    #[test]
    fn every_id_of_the_table_is_in_the_catalog() {
        for m in TABLE {
            assert!(
                crate::rules::registry::doc_of(m.id).is_some(),
                "{} is not a finding id",
                m.id
            );
        }
    }

    #[test]
    fn dotnet_is_judged_against_the_target_cu() {
        let c = Catalog::embedded();
        let cu15 = c.exact(&Build::parse("15.2.1748.49").unwrap()).unwrap();
        let h = HostView {
            facts: exfleet_dataset::HostRow {
                dotnet_release: 461_808,
                dotnet_provenance: "SOFTWARE#Release".into(),
                ..Default::default()
            },
            ..Default::default()
        };
        let b = against_target(&h, cu15);
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].id, "dotnet.unsupported");
        assert!(b[0].title.contains("4.7.2 is below"), "{}", b[0].title);
        let ok = HostView {
            facts: exfleet_dataset::HostRow {
                dotnet_release: 528_040,
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(against_target(&ok, cu15).is_empty());
        // A target with a known issue blocks, and names the build that fixes it.
        let bad = c.exact(&Build::parse("15.2.1748.24").unwrap()).unwrap();
        let k = against_target(&ok, bad);
        assert_eq!(k[0].id, "build.known-bad");
        assert!(k[0].action.contains("15.2.1748.37"), "{}", k[0].action);
    }
}
