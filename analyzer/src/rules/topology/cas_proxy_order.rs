//! `topology.cas-proxy-order`.

use polars::prelude::*;

use crate::catalog::Build;
use crate::finding::{Evidence, Finding, Severity};
use crate::rules::fleet::{Fleet, FleetRule};
use crate::rules::{action_of, Context};

/// The catalog entry.
pub const DOC: &str = "## Detects
Exchange 2010 with CAS-CAS proxying: an internal Client Access server runs a newer build than an Internet-facing one, so the Internet-facing CAS proxies to a newer version (Exchange 2010 requires the Internet-facing CAS servers to be updated first). Labels are read without case, dashes, underscores or spaces: internal servers are those whose role-group label says \"non-internet\", \"not internet\" or \"internal\", or contains \"cas\" without \"internet\"; Internet-facing ones those whose label otherwise contains \"internet\".
## Evidence
Each internal CAS with its build, and the Internet-facing CAS that are older.
## Action
Update the Internet-facing Client Access servers to the same rollup now, and next time update them first, then the internal ones.
## Source
Update Rollup 32 for Exchange Server 2010 SP3 (KB 5000978), \"How to install this update for customers who deploy CAS-CAS Proxying\", also in Repair failed installations of Exchange cumulative and security updates (Microsoft Learn).";

/// Which side of CAS-CAS proxying an Exchange 2010 Client Access server is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CasKind {
    /// Takes the clients' connections and proxies them: updated first.
    InternetFacing,
    /// Receives the proxied connections: updated after the Internet-facing ones.
    Internal,
}

/// The side a role-group label names, read without case, dashes, underscores or spaces. The
/// negative first: "non-internet-facing", "not internet facing" and "internal" are internal
/// (they contain "internet" or read like it); then one containing "internet" is
/// Internet-facing, one containing "cas" without it internal; other labels are neither.
pub fn cas_kind(label: &str) -> Option<CasKind> {
    let l: String = label
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | ' ' | '\u{2010}'..='\u{2015}'))
        .collect::<String>()
        .to_lowercase();
    if ["noninternet", "notinternet", "internal"]
        .iter()
        .any(|n| l.contains(n))
    {
        Some(CasKind::Internal)
    } else if l.contains("internet") {
        Some(CasKind::InternetFacing)
    } else if l.contains("cas") {
        Some(CasKind::Internal)
    } else {
        None
    }
}

/// `topology.cas-proxy-order`; its catalog entry is [`DOC`].
pub struct CasProxyOrder;

impl FleetRule for CasProxyOrder {
    fn id(&self) -> &'static str {
        "topology.cas-proxy-order"
    }
    fn severity(&self) -> Severity {
        Severity::Warning
    }
    fn doc(&self) -> &'static str {
        DOC
    }
    fn module_path(&self) -> &'static str {
        module_path!()
    }
    fn check(&self, fleet: &Fleet, _: &Context, out: &mut Vec<Finding>) -> PolarsResult<()> {
        let frames = fleet.latest;
        if frames.hosts.height() == 0 {
            return Ok(());
        }
        let cas = frames
            .hosts
            .clone()
            .lazy()
            .filter(col("exchange_setup_key").eq(lit("v14")))
            .select([
                col("host"),
                col("role_group").str().to_lowercase().alias("group"),
                col("exsetup_version"),
            ])
            .sort(["host"], Default::default())
            .collect()?;
        let hosts = cas.column("host")?.str()?.clone();
        let groups = cas.column("group")?.str()?.clone();
        let builds = cas.column("exsetup_version")?.str()?.clone();
        let (mut internet, mut internal) = (Vec::new(), Vec::new());
        for i in 0..cas.height() {
            let (Some(h), Some(g), Some(b)) = (hosts.get(i), groups.get(i), builds.get(i)) else {
                continue;
            };
            let Some(b) = Build::parse(b) else { continue };
            match cas_kind(g) {
                Some(CasKind::InternetFacing) => internet.push((h.to_string(), b)),
                Some(CasKind::Internal) => internal.push((h.to_string(), b)),
                None => {}
            }
        }
        let mut ev = Vec::new();
        let mut concerned: Vec<String> = Vec::new();
        for (h, b) in &internal {
            let older: Vec<String> = internet
                .iter()
                .filter(|(_, ib)| ib < b)
                .map(|(ih, ib)| format!("{ih} ({ib})"))
                .collect();
            if older.is_empty() {
                continue;
            }
            ev.push(Evidence::new(
                format!(
                    "internal CAS {h} runs {b}, newer than Internet-facing {}",
                    older.join(", ")
                ),
                "hosts.exsetup_version, hosts.role_group",
            ));
            concerned.push(h.clone());
            for (ih, ib) in &internet {
                if ib < b && !concerned.contains(ih) {
                    concerned.push(ih.clone());
                }
            }
        }
        if ev.is_empty() {
            return Ok(());
        }
        concerned.sort();
        out.push(Finding {
            id: self.id().into(),
            severity: self.severity(),
            host: "fleet".into(),
            snapshot_id: String::new(),
            title: "Internal Exchange 2010 CAS updated before the Internet-facing ones".into(),
            evidence: ev,
            action: action_of(DOC),
            group: "exchange-2010-cas".into(),
            hosts: concerned,
            signature: String::new(),
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_negative_label_is_internal_not_internet_facing() {
        for internal in [
            "cas non-internet-facing",
            "CAS Non Internet Facing",
            "cas_not_internet_facing",
            "cas internal",
            "internal",
            "cas non\u{2011}internet\u{2011}facing",
            "cas",
        ] {
            assert_eq!(cas_kind(internal), Some(CasKind::Internal), "{internal}");
        }
        for facing in [
            "cas internet-facing",
            "CAS Internet Facing",
            "internet_facing",
        ] {
            assert_eq!(cas_kind(facing), Some(CasKind::InternetFacing), "{facing}");
        }
        assert_eq!(cas_kind("mailbox"), None);
    }
}
