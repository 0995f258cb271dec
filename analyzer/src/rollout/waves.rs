//! The order of the rollout: waves of hosts patched together. Three constraints, from the
//! update's own guidance and the operator's labels:
//!
//! - Exchange 2010 with CAS-CAS proxying: every Internet-facing Client Access server before
//!   any internal one (the update rollup's "How to install this update for customers who deploy
//!   CAS-CAS Proxying"); they go first, in a wave of their own, fleet-wide, since proxying
//!   crosses sites.
//! - DAG members one at a time: never two members of one DAG in the same wave, so that the
//!   DAG keeps its copies while a member is down. A Mailbox server without a DAG label may be
//!   a member of any DAG (`Get-ExchangeServer` exports have no DAG column), so it goes alone,
//!   in a wave of its own. Servers outside a DAG that share a site and a role (a pool behind a
//!   load balancer: Client Access, Edge) go one at a time the same way, so that the pool
//!   keeps serving.
//! - Sites as the operator labels them, one after the other, in the order the `--expected`
//!   file lists them (else by name): one site's users at a time.
//!
//! Hosts with blockers never reach this module: the plan lists them as blocked.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::rules::topology::cas_proxy_order::CasKind;

/// A host to schedule.
#[derive(Debug, Clone)]
pub struct Member {
    /// Host name.
    pub host: String,
    /// Site label (empty: none).
    pub site: String,
    /// DAG label (empty: none).
    pub dag: String,
    /// For an Exchange 2010 Client Access server, its side of CAS-CAS proxying.
    pub cas2010: Option<CasKind>,
    /// A Mailbox server (the role that can be in a DAG).
    pub mailbox: bool,
    /// Role label: servers outside a DAG with the same one in a site are a pool.
    pub role: String,
}

/// One wave.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Wave {
    /// 1-based.
    pub number: usize,
    /// The site (or `all sites` for the Internet-facing CAS wave).
    pub site: String,
    /// Why these hosts are together.
    pub why: String,
    /// The hosts, by name.
    pub hosts: Vec<String>,
}

/// The waves, in order. `site_order` lists sites in the operator's order; others follow by
/// name, hosts without a site last.
pub fn waves(members: &[Member], site_order: &[String]) -> Vec<Wave> {
    let mut out: Vec<Wave> = Vec::new();
    let internet: Vec<&Member> = members
        .iter()
        .filter(|m| m.cas2010 == Some(CasKind::InternetFacing))
        .collect();
    for round in dag_rounds(&internet) {
        let round = round.hosts;
        out.push(Wave {
            number: 0,
            site: "all sites".into(),
            why: "Exchange 2010 Internet-facing Client Access servers first (CAS-CAS proxying)"
                .into(),
            hosts: round,
        });
    }
    let mut by_site: BTreeMap<String, Vec<&Member>> = BTreeMap::new();
    for m in members
        .iter()
        .filter(|m| m.cas2010 != Some(CasKind::InternetFacing))
    {
        by_site.entry(m.site.clone()).or_default().push(m);
    }
    let mut sites: Vec<String> = site_order
        .iter()
        .filter(|s| by_site.contains_key(*s))
        .cloned()
        .collect();
    let mut rest: Vec<String> = by_site
        .keys()
        .filter(|s| !sites.contains(s))
        .cloned()
        .collect();
    // Unlabelled hosts last.
    rest.sort_by_key(|s| (s.is_empty(), s.clone()));
    sites.extend(rest);
    for site in sites {
        let in_site = &by_site[&site];
        let name = if site.is_empty() {
            "(no site label)".to_string()
        } else {
            site.clone()
        };
        for round in dag_rounds(in_site) {
            let why = match round.kind {
                Round::First => {
                    format!("site {name}: one server of each pool outside a DAG and one member of each DAG")
                }
                Round::Next => format!("site {name}: the next server of each pool and member of each DAG"),
                Round::Unlabelled => format!(
                    "site {name}: a Mailbox server without a DAG label, alone (its DAG is not known)"
                ),
            };
            out.push(Wave {
                number: 0,
                site: name.clone(),
                why,
                hosts: round.hosts,
            });
        }
    }
    for (i, w) in out.iter_mut().enumerate() {
        w.number = i + 1;
    }
    out
}

/// What a round holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Round {
    /// Hosts outside a DAG and the first member of each DAG.
    First,
    /// The next member of each DAG.
    Next,
    /// One Mailbox server without a DAG label.
    Unlabelled,
}

struct Rounds {
    kind: Round,
    hosts: Vec<String>,
}

/// Rounds in which no DAG and no pool (servers outside a DAG with one role) has two
/// members: member `r` of each DAG and of each pool (by name) in round `r`, then each
/// Mailbox server without a DAG label alone.
fn dag_rounds(members: &[&Member]) -> Vec<Rounds> {
    let mut rounds: Vec<Vec<String>> = Vec::new();
    let mut groups: BTreeMap<(bool, String), Vec<String>> = BTreeMap::new();
    let mut unlabelled: Vec<String> = Vec::new();
    for m in members {
        if m.dag.is_empty() && m.mailbox {
            unlabelled.push(m.host.clone());
        } else if m.dag.is_empty() {
            groups
                .entry((false, m.role.trim().to_ascii_lowercase()))
                .or_default()
                .push(m.host.clone());
        } else {
            groups
                .entry((true, m.dag.to_ascii_lowercase()))
                .or_default()
                .push(m.host.clone());
        }
    }
    for hosts in groups.values_mut() {
        hosts.sort();
        for (r, h) in hosts.iter().enumerate() {
            if rounds.len() <= r {
                rounds.push(Vec::new());
            }
            rounds[r].push(h.clone());
        }
    }
    let mut out: Vec<Rounds> = rounds
        .into_iter()
        .enumerate()
        .map(|(i, mut hosts)| {
            hosts.sort();
            Rounds {
                kind: if i == 0 { Round::First } else { Round::Next },
                hosts,
            }
        })
        .collect();
    unlabelled.sort();
    out.extend(unlabelled.into_iter().map(|h| Rounds {
        kind: Round::Unlabelled,
        hosts: vec![h],
    }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(host: &str, site: &str, dag: &str, cas: Option<CasKind>) -> Member {
        Member {
            host: host.into(),
            site: site.into(),
            dag: dag.into(),
            cas2010: cas,
            mailbox: false,
            role: String::new(),
        }
    }

    #[test]
    fn dag_members_one_at_a_time_internet_facing_cas_first_sites_in_order() {
        let members = [
            m("EX1", "Paris", "DAG1", None),
            m("EX2", "Paris", "DAG1", None),
            m("EX3", "Paris", "DAG1", None),
            m("EX4", "Paris", "", None),
            m("EX5", "Lyon", "DAG2", None),
            m("EX6", "Lyon", "DAG2", None),
            m("CAS-IN", "Osaka", "", Some(CasKind::Internal)),
            m("CAS-NET", "Osaka", "", Some(CasKind::InternetFacing)),
        ];
        let w = waves(&members, &["Paris".into(), "Osaka".into()]);
        let hosts: Vec<Vec<&str>> = w
            .iter()
            .map(|w| w.hosts.iter().map(String::as_str).collect())
            .collect();
        assert_eq!(
            hosts,
            [
                vec!["CAS-NET"],
                vec!["EX1", "EX4"],
                vec!["EX2"],
                vec!["EX3"],
                vec!["CAS-IN"],
                vec!["EX5"],
                vec!["EX6"],
            ]
        );
        assert_eq!(w[1].site, "Paris");
        assert_eq!(w[4].site, "Osaka");
        assert_eq!(w[6].number, 7);
        for wave in &w {
            let mut dags: Vec<&str> = wave
                .hosts
                .iter()
                .filter_map(|h| members.iter().find(|m| m.host == *h))
                .filter(|m| !m.dag.is_empty())
                .map(|m| m.dag.as_str())
                .collect();
            let n = dags.len();
            dags.sort();
            dags.dedup();
            assert_eq!(
                n,
                dags.len(),
                "two members of a DAG in wave {}",
                wave.number
            );
        }
    }

    #[test]
    fn a_mailbox_server_without_a_dag_label_goes_alone() {
        let mut members = vec![
            m("EX1", "Paris", "DAG1", None),
            m("EX2", "Paris", "DAG1", None),
            m("EX3", "Paris", "", None),
            m("EX4", "Paris", "", None),
            m("EX5", "Paris", "", None),
        ];
        for x in &mut members[2..4] {
            x.mailbox = true;
        }
        let w = waves(&members, &[]);
        let hosts: Vec<Vec<&str>> = w
            .iter()
            .map(|w| w.hosts.iter().map(String::as_str).collect())
            .collect();
        // EX5 is no Mailbox server (an Edge or a 2010 CAS): outside any DAG.
        assert_eq!(
            hosts,
            [vec!["EX1", "EX5"], vec!["EX2"], vec!["EX3"], vec!["EX4"]]
        );
        assert!(w[2].why.contains("without a DAG label"), "{}", w[2].why);
    }

    #[test]
    fn a_pool_outside_a_dag_goes_one_server_at_a_time_per_site() {
        let mut members = vec![
            m("CAS1", "Paris", "", None),
            m("CAS2", "Paris", "", None),
            m("EDGE1", "Paris", "", None),
            m("CAS3", "Lyon", "", None),
        ];
        for x in &mut members {
            x.role = if x.host.starts_with("CAS") {
                "ClientAccess"
            } else {
                "Edge"
            }
            .into();
        }
        let w = waves(&members, &["Paris".into(), "Lyon".into()]);
        let hosts: Vec<Vec<&str>> = w
            .iter()
            .map(|w| w.hosts.iter().map(String::as_str).collect())
            .collect();
        assert_eq!(hosts, [vec!["CAS1", "EDGE1"], vec!["CAS2"], vec!["CAS3"]]);
    }
}
