//! `plan`: for each host, what the target means for it and what blocks it, from an analysis
//! already made (the host rules' findings, judged against the target by
//! [`super::blockers`]); then the waves of the hosts nothing blocks, the fleet's Active
//! Directory line, and the servers that should report and did not.

use serde::Serialize;

use super::ad::{self, AdLine};
use super::blockers::{self, Blocker, Effect};
use super::expected::{netbios, BadRow, ExpectedList};
use super::target::{for_host, ForHost, Spec};
use super::waves::{self, Member, Wave};
use crate::analyze::Analysis;
use crate::catalog::{Catalog, Release};
use crate::finding::Evidence;
use crate::rules::topology::cas_proxy_order::{cas_kind, CasKind};
use crate::rules::utc;
use crate::view::HostView;

/// Where a host stands in the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// In a wave.
    Scheduled,
    /// Not scheduled: blockers first.
    Blocked,
    /// Already on the target or past it.
    AlreadyThere,
    /// The target is of another product.
    OtherProduct,
    /// Its build is unknown: nothing to plan from.
    UnknownBuild,
}

impl Status {
    /// As the outputs write it.
    pub fn name(self) -> &'static str {
        match self {
            Status::Scheduled => "scheduled",
            Status::Blocked => "blocked",
            Status::AlreadyThere => "already-there",
            Status::OtherProduct => "other-product",
            Status::UnknownBuild => "unknown-build",
        }
    }
}

/// One host's line of the plan.
#[derive(Debug, Clone, Serialize)]
pub struct HostPlan {
    /// Host name.
    pub host: String,
    /// Site label (from `--expected` when it gives one, else the collector's AD site).
    pub site: String,
    /// DAG label.
    pub dag: String,
    /// Role label.
    pub role: String,
    /// The running build (ExSetup.exe, else the setup key).
    pub build: String,
    /// The running build by name.
    pub build_name: String,
    /// The target build for this host (empty when there is none).
    pub target_build: String,
    /// The target by name.
    pub target_name: String,
    /// A CU upgrade rather than an update of the host's CU.
    pub cu_upgrade: bool,
    /// Where it stands.
    pub status: Status,
    /// Its wave, when scheduled.
    pub wave: Option<usize>,
    /// What blocks it.
    pub blockers: Vec<Blocker>,
    /// What to do before its update (the files to back up, the order to keep).
    pub prepare: Vec<Blocker>,
}

/// A server that should report and did not (or stopped).
#[derive(Debug, Clone, Serialize)]
pub struct NotCollected {
    /// Host name.
    pub host: String,
    /// Site label.
    pub site: String,
    /// DAG label.
    pub dag: String,
    /// Role label.
    pub role: String,
    /// `never reported`, or since when it is silent.
    pub why: String,
}

/// The plan.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The target as given.
    pub target: String,
    /// The analysis date.
    pub as_of: chrono::NaiveDate,
    /// The build catalog's as-of date.
    pub catalog_as_of: chrono::NaiveDate,
    /// Active Directory preparation, for the fleet.
    pub ad: AdLine,
    /// Blockers of the target itself (a known-bad target build), for every host going to it.
    pub target_blockers: Vec<Blocker>,
    /// The waves, in order.
    pub waves: Vec<Wave>,
    /// Every collected host.
    pub hosts: Vec<HostPlan>,
    /// Servers of `--expected` that never reported, and servers that went silent.
    pub not_collected: Vec<NotCollected>,
    /// Rows of `--expected` that could not be read.
    pub expected_errors: Vec<BadRow>,
    /// What the plan could not judge and how it played safe (Mailbox servers without a DAG
    /// label, Exchange 2010 CAS without an Internet-facing label).
    pub warnings: Vec<String>,
}

impl Plan {
    /// Nothing holds the rollout back: no host blocked, every expected server collected (the
    /// command's exit code is 0, else 1).
    pub fn clear(&self) -> bool {
        self.not_collected.is_empty() && self.hosts.iter().all(|h| h.status != Status::Blocked)
    }
}

/// The labels of a host (site, DAG, role). Site and DAG: `--expected`'s when it gives them
/// (the operator's labels; the collector only knows the AD site), else the collector's. Role:
/// the role group the collector was given when it has one, since it carries what
/// `Get-ExchangeServer`'s ServerRole cannot say (an Exchange 2010 CAS being Internet-facing),
/// else the file's.
pub fn labels(h: &HostView, expected: Option<&ExpectedList>) -> (String, String, String) {
    let e = expected.and_then(|x| x.get(&h.host));
    let pick = |from_file: Option<&String>, own: &str| {
        from_file
            .filter(|v| !v.is_empty())
            .cloned()
            .unwrap_or_else(|| own.to_string())
    };
    let role = if h.role_group.is_empty() {
        pick(e.map(|e| &e.role), "")
    } else {
        h.role_group.clone()
    };
    (
        pick(e.map(|e| &e.site), &h.ad_site),
        pick(e.map(|e| &e.dag), &h.dag),
        role,
    )
}

/// Servers that should report and did not: in `--expected` without a snapshot, or named by
/// `fleet.stale-collection` (silent for longer than their cadence).
pub fn not_collected(a: &Analysis, expected: Option<&ExpectedList>) -> Vec<NotCollected> {
    let mut out = Vec::new();
    if let Some(x) = expected {
        for e in &x.servers {
            // The list's names are NetBIOS names; a collector may report an FQDN.
            if !a.hosts.iter().any(|h| netbios(&h.host) == e.name) {
                out.push(NotCollected {
                    host: e.name.clone(),
                    site: e.site.clone(),
                    dag: e.dag.clone(),
                    role: e.role.clone(),
                    why: "never reported".into(),
                });
            }
        }
    }
    for h in silent(a) {
        let (site, dag, role) = labels(h, expected);
        out.push(NotCollected {
            host: h.host.clone(),
            site,
            dag,
            role,
            why: format!("went silent: last snapshot {}", utc(h.collected_at_ms)),
        });
    }
    out
}

/// Hosts `fleet.stale-collection` names.
pub fn silent(a: &Analysis) -> Vec<&HostView> {
    a.hosts
        .iter()
        .filter(|h| {
            a.findings.iter().any(|f| {
                f.id == "fleet.stale-collection"
                    && f.hosts.iter().any(|x| x.eq_ignore_ascii_case(&h.host))
            })
        })
        .collect()
}

/// Plans `spec` over an analysis.
pub fn plan(a: &Analysis, catalog: &Catalog, spec: &Spec, expected: Option<&ExpectedList>) -> Plan {
    let silent: Vec<&str> = silent(a).iter().map(|h| h.host.as_str()).collect();
    let mut hosts = Vec::new();
    let table = ad::Table::embedded();
    let mut targets: Vec<&Release> = Vec::new();
    // Targets that need more AD preparation than the CU their host runs: a host that runs a
    // CU shows AD prepared for it, so only these need a look.
    let mut raising: Vec<&Release> = Vec::new();
    let mut target_blockers: Vec<Blocker> = Vec::new();
    for h in a
        .hosts
        .iter()
        .filter(|h| !silent.contains(&h.host.as_str()))
    {
        let (site, dag, role) = labels(h, expected);
        let build = h.exsetup.or(h.msi);
        let mut p = HostPlan {
            host: h.host.clone(),
            site,
            dag,
            role,
            build: build.map(|b| b.to_string()).unwrap_or_default(),
            build_name: build.map(|b| catalog.describe(&b)).unwrap_or_default(),
            target_build: String::new(),
            target_name: String::new(),
            cu_upgrade: false,
            status: Status::UnknownBuild,
            wave: None,
            blockers: Vec::new(),
            prepare: Vec::new(),
        };
        let mut found = Vec::new();
        match for_host(spec, catalog, a.as_of, build) {
            ForHost::Update { target, cu_upgrade } => {
                p.target_build = target.build.to_string();
                p.target_name = target.friendly();
                p.cu_upgrade = cu_upgrade;
                found.extend(blockers::from_findings(&h.host, &a.findings, cu_upgrade));
                found.extend(blockers::against_target(h, target));
                if !targets.iter().any(|t| t.build == target.build) {
                    targets.push(target);
                    target_blockers.extend(blockers::known_bad(target));
                }
                let current = build
                    .and_then(|b| catalog.exact(&b).or_else(|| catalog.cu_of(&b)))
                    .and_then(|r| table.needs(r));
                if ad::raises(table.needs(target), current) {
                    raising.push(target);
                }
                p.status = Status::Scheduled;
            }
            ForHost::NotForThisCu {
                update,
                host_cu,
                published_for,
            } => {
                p.target_name = update.clone();
                found.extend(blockers::from_findings(&h.host, &a.findings, false));
                found.push(blockers::not_for_this_cu(
                    h,
                    &update,
                    &host_cu,
                    &published_for,
                    catalog,
                ));
                p.status = Status::Scheduled;
            }
            ForHost::AlreadyThere(t) => {
                p.target_build = t.build.to_string();
                p.target_name = t.friendly();
                p.status = Status::AlreadyThere;
            }
            ForHost::OtherProduct => p.status = Status::OtherProduct,
            ForHost::UnknownBuild => p.status = Status::UnknownBuild,
        }
        for b in found {
            match b.effect {
                Effect::Blocks => p.blockers.push(b),
                Effect::Prepare => p.prepare.push(b),
            }
        }
        if p.status == Status::Scheduled && !p.blockers.is_empty() {
            p.status = Status::Blocked;
        }
        hosts.push(p);
    }
    hosts.sort_by(|a, b| a.host.cmp(&b.host));
    let v14 = |p: &HostPlan| {
        a.hosts
            .iter()
            .find(|h| h.host.eq_ignore_ascii_case(&p.host))
            .is_some_and(|h| h.exchange_setup_key.eq_ignore_ascii_case("v14"))
    };
    let cas2010 = |p: &HostPlan| if v14(p) { cas_kind(&p.role) } else { None };
    let mut warnings = Vec::new();
    let silent_internet: Vec<String> = a
        .hosts
        .iter()
        .filter(|h| silent.contains(&h.host.as_str()))
        .filter(|h| {
            h.exchange_setup_key.eq_ignore_ascii_case("v14")
                && cas_kind(&labels(h, expected).2) == Some(CasKind::InternetFacing)
        })
        .map(|h| h.host.clone())
        .collect();
    hold_internal_cas(&mut hosts, &cas2010, &silent_internet, &mut warnings);
    let members: Vec<Member> = hosts
        .iter()
        .filter(|p| p.status == Status::Scheduled)
        .map(|p| Member {
            host: p.host.clone(),
            site: p.site.clone(),
            dag: p.dag.clone(),
            cas2010: cas2010(p),
            mailbox: mailbox(&p.role),
            role: p.role.clone(),
        })
        .collect();
    let unlabelled: Vec<&str> = members
        .iter()
        .filter(|m| m.mailbox && m.dag.is_empty())
        .map(|m| m.host.as_str())
        .collect();
    if !unlabelled.is_empty() {
        warnings.push(format!(
            "DAG membership not known for {} Mailbox server(s) ({}): each is scheduled alone, in a wave of its own; give their DAG (a collector DAG label, or a DatabaseAvailabilityGroup column in --expected: Get-MailboxServer | Export-Csv) to patch DAG by DAG",
            unlabelled.len(),
            unlabelled.join(", ")
        ));
    }
    let site_order: Vec<String> = expected
        .map(|x| {
            let mut s: Vec<String> = Vec::new();
            for e in &x.servers {
                if !e.site.is_empty() && !s.contains(&e.site) {
                    s.push(e.site.clone());
                }
            }
            s
        })
        .unwrap_or_default();
    let waves = waves::waves(&members, &site_order);
    for w in &waves {
        for name in &w.hosts {
            if let Some(p) = hosts.iter_mut().find(|p| p.host == *name) {
                p.wave = Some(w.number);
            }
        }
    }
    // The release whose preparation matters is the highest the fleet moves to.
    let ad_target = raising
        .iter()
        .copied()
        .filter_map(|t| table.needs(t).map(|n| (t, n)))
        .max_by_key(|(_, n)| (n.schema, n.org, n.meso))
        .map(|(t, _)| t);
    let ad = match ad_target {
        Some(t) => ad::line(Some(t), ad::recorded(&a.hosts, catalog, &table), &table),
        None => ad::not_needed(),
    };
    Plan {
        target: spec.to_string(),
        as_of: a.as_of,
        catalog_as_of: a.catalog_as_of,
        ad,
        target_blockers,
        waves,
        hosts,
        not_collected: not_collected(a, expected),
        expected_errors: expected.map(|x| x.bad.clone()).unwrap_or_default(),
        warnings,
    }
}

/// Whether a role label names a Mailbox server (the role DAG members have); an unknown role
/// may be one.
fn mailbox(role: &str) -> bool {
    role.trim().is_empty() || role.to_ascii_lowercase().contains("mailbox")
}

/// Exchange 2010 CAS-CAS proxying: the internal Client Access servers wait while an
/// Internet-facing one is not updated (blocked, of unknown build, or silent: `silent` names
/// the Internet-facing ones that stopped reporting), since an internal CAS newer than the
/// Internet-facing one breaks the proxying. With internal CAS and no Internet-facing label
/// at all, the order cannot be judged: a warning says so.
fn hold_internal_cas(
    hosts: &mut [HostPlan],
    cas2010: &dyn Fn(&HostPlan) -> Option<CasKind>,
    silent: &[String],
    warnings: &mut Vec<String>,
) {
    let kinds: Vec<Option<CasKind>> = hosts.iter().map(cas2010).collect();
    let internal = kinds.contains(&Some(CasKind::Internal));
    if !kinds.contains(&Some(CasKind::InternetFacing)) && silent.is_empty() {
        if internal {
            warnings.push(
                "CAS order not judged: no Exchange 2010 Client Access server has an Internet-facing role label (update the Internet-facing ones before the internal ones)"
                    .into(),
            );
        }
        return;
    }
    let waiting: Vec<&HostPlan> = hosts
        .iter()
        .zip(&kinds)
        .filter(|(p, k)| {
            **k == Some(CasKind::InternetFacing)
                && !matches!(p.status, Status::Scheduled | Status::AlreadyThere)
        })
        .map(|(p, _)| p)
        .collect();
    if waiting.is_empty() && silent.is_empty() {
        return;
    }
    let evidence: Vec<Evidence> = waiting
        .iter()
        .map(|p| {
            Evidence::new(
                format!(
                    "Internet-facing CAS {} ({}): {}",
                    p.host,
                    p.build_name,
                    p.status.name()
                ),
                "",
            )
        })
        .chain(silent.iter().map(|h| {
            Evidence::new(
                format!("Internet-facing CAS {h}: not collected (went silent)"),
                "",
            )
        }))
        .collect();
    let names: Vec<String> = waiting
        .iter()
        .map(|p| p.host.clone())
        .chain(silent.iter().cloned())
        .collect();
    for (p, k) in hosts.iter_mut().zip(&kinds) {
        if *k == Some(CasKind::Internal) && p.status == Status::Scheduled {
            p.blockers.push(Blocker {
                id: "topology.cas-proxy-order".into(),
                category: "CAS-CAS proxying order".into(),
                effect: Effect::Blocks,
                against_target: true,
                title: format!(
                    "internal Exchange 2010 CAS held: the Internet-facing {} not updated first",
                    names.join(", ")
                ),
                evidence: evidence.clone(),
                action: "Unblock and update the Internet-facing Client Access servers first, then the internal ones.".into(),
            });
            p.status = Status::Blocked;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: &str, role: &str, status: Status) -> HostPlan {
        HostPlan {
            host: name.into(),
            site: "Osaka".into(),
            dag: String::new(),
            role: role.into(),
            build: "14.3.509.0".into(),
            build_name: "Exchange 2010 SP3 RU31".into(),
            target_build: String::new(),
            target_name: String::new(),
            cu_upgrade: false,
            status,
            wave: None,
            blockers: Vec::new(),
            prepare: Vec::new(),
        }
    }

    #[test]
    fn internal_cas_wait_while_an_internet_facing_one_is_blocked() {
        let mut hosts = vec![
            host("CASNET01", "cas internet-facing", Status::Blocked),
            host("CASINT01", "cas internal", Status::Scheduled),
            host("EX01", "mailbox", Status::Scheduled),
        ];
        let kind = |p: &HostPlan| cas_kind(&p.role);
        let mut warnings = Vec::new();
        hold_internal_cas(&mut hosts, &kind, &[], &mut warnings);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(hosts[1].status, Status::Blocked);
        assert_eq!(hosts[1].blockers[0].id, "topology.cas-proxy-order");
        assert!(
            hosts[1].blockers[0].evidence[0].fact.contains("CASNET01"),
            "{:?}",
            hosts[1].blockers
        );
        assert_eq!(hosts[2].status, Status::Scheduled);
        // Once the Internet-facing one is there, the internal one goes.
        let mut hosts = vec![
            host("CASNET01", "cas internet-facing", Status::AlreadyThere),
            host("CASINT01", "cas internal", Status::Scheduled),
        ];
        hold_internal_cas(&mut hosts, &kind, &[], &mut warnings);
        assert_eq!(hosts[1].status, Status::Scheduled);
        // An Internet-facing CAS that went silent holds them too.
        let mut hosts = vec![host("CASINT01", "cas internal", Status::Scheduled)];
        hold_internal_cas(&mut hosts, &kind, &["CASNET02".into()], &mut warnings);
        assert_eq!(hosts[0].status, Status::Blocked);
        assert!(
            hosts[0].blockers[0].evidence[0]
                .fact
                .contains("CASNET02: not collected"),
            "{:?}",
            hosts[0].blockers
        );
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn without_an_internet_facing_label_the_cas_order_is_not_judged() {
        let mut hosts = vec![host("CASINT01", "cas", Status::Scheduled)];
        let mut warnings = Vec::new();
        hold_internal_cas(
            &mut hosts,
            &|p: &HostPlan| cas_kind(&p.role),
            &[],
            &mut warnings,
        );
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].starts_with("CAS order not judged"),
            "{warnings:?}"
        );
        assert_eq!(hosts[0].status, Status::Scheduled);
    }
}
